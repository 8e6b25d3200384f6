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

/*
 * Build the identity map of all memory and switch this CPU to it: slatvisor's .text read-only
 * and executable, .rodata read-only, everything else not executable (where the CPU has NX),
 * guard pages unmapped; CR0.WP and EFER.NXE on.
 */
status_t paging_init(const struct boot_info *bi);
/* Give [start, end) the rights in @flags (PTE_P, PTE_RW, PTE_NX; 0 unmaps), in 4 KiB pages. */
status_t paging_set_rights(u64 start, u64 end, u64 flags);
/* Unmap @page as the guard of CPU @cpu's stack @what (now, or at paging_init). */
void paging_add_guard(u64 page, u32 cpu, const char *what);
/* Whether @addr lies in a guard page, and whose. */
bool paging_guard_hit(u64 addr, u32 *cpu, const char **what);
/* With loglevel=debug: the rights of every part of the image, read back from the tables. */
void paging_dump_image(void);
/* Unmap boot/entry.asm's page tables, once no CPU can be on them. */
void paging_drop_boot_tables(void);
/* The CR3 the other CPUs load (below 4 GiB). */
u64 paging_root(void);

#endif
