/* palloc.h: the hypervisor's page allocator, shared by all CPUs (a locked wrapper around pmm). */
#ifndef SLAT_PALLOC_H
#define SLAT_PALLOC_H

#include "pmm.h"

/* Addresses a 32-bit CR3 load (the AP trampoline) can reach. */
#define PALLOC_BELOW_4G (4 * GiB)
#define PALLOC_ANYWHERE (~0ULL)

/*
 * Build the allocator over usable RAM, then set aside slatvisor's own pool of
 * @pool_bytes (2 MiB aligned, below 4 GiB): every later allocation comes from
 * the pool, so the guest can have everything else and EPT can hide the pool
 * with whole 2 MiB pages.
 */
status_t palloc_init(const struct boot_info *bi, const struct phys_range *reserved, unsigned nres,
		     u64 pool_bytes);
/* Zeroed, page-aligned memory from the pool; 0 when out of memory. */
u64 palloc(u64 npages, u64 limit);
/* The same with a larger power-of-two alignment. */
u64 palloc_aligned(u64 npages, u64 align, u64 limit);
/* Where the pool is. */
struct phys_range palloc_pool(void);
/* "SLATPOOL" in memory order: the word hvmem_fill=on writes into free pool pages. */
#define PALLOC_FILL_TAG 0x4C4F4F5054414C53ULL
/* Fill every free pool page with the tag and the page's address, and say how much (hvmem_fill=). */
void palloc_fill_pattern(void);
void pfree(u64 phys, u64 npages);
void palloc_report(void);

#endif
