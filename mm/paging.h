/* paging.h: the hypervisor's own page tables (IA-32e paging, identity mapped). */
#ifndef SLAT_PAGING_H
#define SLAT_PAGING_H

#include "../kernel/multiboot2.h"
#include "../kernel/types.h"
#include "pte.h"

/* Build the identity map of all memory and switch this CPU to it. */
status_t paging_init(const struct boot_info *bi);
/* The CR3 the other CPUs load (below 4 GiB). */
u64 paging_root(void);

#endif
