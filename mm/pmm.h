/* pmm.h: the physical page allocator, a sorted list of free extents built from the memory map. */
#ifndef SLAT_PMM_H
#define SLAT_PMM_H

#include "../kernel/multiboot2.h"
#include "../kernel/types.h"

/* Below 1 MiB live the real-mode IVT, the BIOS data area, the EBDA and option ROMs. */
#define PMM_LOW_LIMIT (1 * MiB)
#define PMM_MAX_EXTENTS 256
/* SDM Vol. 3A, 4.1.4: no x86-64 CPU addresses more than 52 bits of physical memory. */
#define PMM_MAX_PHYS (1ULL << 52)

struct phys_range {
	u64 base;
	u64 end; /* exclusive */
};

struct pmm {
	struct phys_range ext[PMM_MAX_EXTENTS]; /* sorted, disjoint, non-adjacent */
	unsigned n;
	u64 total_pages; /* usable pages after reservations */
	u64 free_pages;
};

/*
 * Build the allocator from the loader's memory map. Only "available" memory
 * above PMM_LOW_LIMIT counts; any other map entry that overlaps it wins (some
 * firmware reports overlaps), and so does every range in @reserved (the
 * hypervisor image, the boot information, the modules, the ACPI tables).
 */
status_t pmm_init(struct pmm *p, const struct mem_region *map, unsigned nmap,
		  const struct phys_range *reserved, unsigned nreserved);

/*
 * Allocate @npages contiguous pages aligned to @align bytes, ending at or
 * below @limit. Allocation is top-down: the hypervisor's memory gathers at
 * the top of RAM and leaves low memory contiguous for the guest.
 * Returns the physical address, or 0 when nothing fits.
 */
u64 pmm_alloc(struct pmm *p, u64 npages, u64 align, u64 limit);

/* Return pages. ST_CONFLICT if any of them is already free (a double free). */
status_t pmm_free(struct pmm *p, u64 base, u64 npages);

/* Take [base, end) out of the free list, whatever part of it is free. */
status_t pmm_remove(struct pmm *p, u64 base, u64 end);

#endif
