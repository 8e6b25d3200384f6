/* paging.h: the hypervisor's own page tables (IA-32e paging, identity mapped). */
#ifndef SLAT_PAGING_H
#define SLAT_PAGING_H

#include "../kernel/multiboot2.h"
#include "../kernel/types.h"

/* SDM Vol. 3A, table 4-19/4-20: IA-32e paging entry bits. */
#define PTE_P BIT(0)   /* present */
#define PTE_RW BIT(1)  /* writable */
#define PTE_US BIT(2)  /* user: never set in the hypervisor's map */
#define PTE_PWT BIT(3) /* write-through */
#define PTE_PCD BIT(4) /* cache disable: with PWT, PAT entry 3 = UC at reset */
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7) /* a 2 MiB or 1 GiB leaf in a PD or PDPT */
#define PTE_G BIT(8)
#define PTE_NX BIT(63)

/* Build the identity map of all memory and switch this CPU to it. */
status_t paging_init(const struct boot_info *bi);
/* The CR3 the other CPUs load (below 4 GiB). */
u64 paging_root(void);

#endif
