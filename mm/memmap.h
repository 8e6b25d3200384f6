/* memmap.h: turn the loader's memory map into cacheable and uncacheable spans for the host map. */
#ifndef SLAT_MEMMAP_H
#define SLAT_MEMMAP_H

#include "pmm.h"
#include "../kernel/multiboot2.h"
#include "../kernel/types.h"

#define MEMMAP_MAX_SPANS (2 * MB2_MAX_MMAP + 2)
#define MEMMAP_MAX_POINTS (2 * MB2_MAX_MMAP + 2 * 32 + 2)

/* One entry of the BIOS e820 table, as Linux's zero page holds it (boot_params.e820_table). */
struct e820_entry {
	u64 addr;
	u64 size;
	u32 type; /* the Multiboot2 numbering is the e820 numbering */
} PACKED;
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entries are 20 bytes");

struct mem_span {
	u64 base;
	u64 end; /* exclusive */
	bool ram; /* RAM the firmware described (usable or ACPI): mapped write-back */
};

/*
 * Cover [0, top) with page-aligned spans, each RAM or not. A range counts as
 * RAM when a usable or ACPI entry covers it and no reserved or bad entry does
 * (firmware maps overlap at times; the more cautious type wins). Adjacent
 * spans of one kind are merged. Returns the number of spans.
 */
unsigned memmap_spans(const struct mem_region *map, unsigned n, u64 top, struct mem_span *out,
		      unsigned max);

/* The end of the highest entry of the map (of any type). */
u64 memmap_top(const struct mem_region *map, unsigned n);
/* The end of the highest RAM entry (usable, ACPI reclaimable or NVS). */
u64 memmap_ram_top(const struct mem_region *map, unsigned n);

/*
 * The guest's e820 map: the firmware map with every range in @reserve (at most
 * 32: the hypervisor's memory, the guest boot data) turned reserved. Overlaps
 * resolve to the most cautious type, holes stay holes, and neighbours of one
 * type merge. Returns the number of entries.
 */
unsigned memmap_e820(const struct mem_region *map, unsigned n, const struct phys_range *reserve,
		     unsigned nreserve, struct e820_entry *out, unsigned max);

/*
 * The lowest @npages contiguous pages in [4 KiB, 1 MiB) that available memory
 * covers whole and that overlap none of @avoid (boot information, modules).
 * The AP trampoline runs there (a startup IPI can only name a page below 1 MiB),
 * and so does the guest's boot data. Returns 0 when there is no such place.
 */
u64 memmap_low_pages(const struct mem_region *map, unsigned n, unsigned npages,
		     const struct phys_range *avoid, unsigned navoid);

#endif
