/* palloc.h: the hypervisor's page allocator, shared by all CPUs (a locked wrapper around pmm). */
#ifndef SLAT_PALLOC_H
#define SLAT_PALLOC_H

#include "pmm.h"

/* Addresses a 32-bit CR3 load (the AP trampoline) can reach. */
#define PALLOC_BELOW_4G (4 * GiB)
#define PALLOC_ANYWHERE (~0ULL)

status_t palloc_init(const struct boot_info *bi, const struct phys_range *reserved, unsigned nres);
/* Zeroed, page-aligned memory; 0 when out of memory. */
u64 palloc(u64 npages, u64 limit);
void pfree(u64 phys, u64 npages);
void palloc_report(void);

#endif
