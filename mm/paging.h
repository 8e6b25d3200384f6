/* paging.h: the hypervisor's own page tables (IA-32e paging, identity mapped). */
#ifndef SLAT_PAGING_H
#define SLAT_PAGING_H

#include "../kernel/multiboot2.h"
#include "../kernel/types.h"
#include "pte.h"

/*
 * Build the identity map of all memory and switch this CPU to it: slatvisor's .text read-only
 * and executable, .rodata read-only, everything else not executable (where the CPU has NX),
 * guard pages unmapped; CR0.WP and EFER.NXE on.
 */
status_t paging_init(const struct boot_info *bi);
/* Give [start, end) the rights in @flags (PTE_P, PTE_RW, PTE_XD; 0 unmaps), in 4 KiB pages. */
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
