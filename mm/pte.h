/* pte.h: the bits of an IA-32e paging entry, defined once for every page table slatvisor reads or builds. */
#ifndef SLAT_PTE_H
#define SLAT_PTE_H

#include "../kernel/types.h"

/* SDM Vol. 3A, tables 4-14 to 4-20 (IA-32e paging: PML4E, PDPTE, PDE and PTE formats). */
#define PTE_P BIT(0)          /* present: the other bits mean something only when set */
#define PTE_RW BIT(1)         /* writable: clear in any entry on the path makes the page read-only */
#define PTE_US BIT(2)         /* user: clear in any entry on the path makes it supervisor-only */
#define PTE_PWT BIT(3)        /* write-through: bit 0 of the PAT index (with PCD, PAT) */
#define PTE_PCD BIT(4)        /* cache disable: bit 1 of the PAT index */
#define PTE_A BIT(5)          /* accessed: set by the CPU when the entry is used */
#define PTE_D BIT(6)          /* dirty (leaves only): set by the CPU at the first write */
#define PTE_PS BIT(7)         /* page size, in a PDE or PDPTE: a 2 MiB or 1 GiB leaf (reserved in a PML4E) */
#define PTE_PAT BIT(7)        /* in a PTE (4 KiB leaf), the same bit is bit 2 of the PAT index */
#define PTE_G BIT(8)          /* global (leaves only, with CR4.PGE): kept across CR3 writes */
#define PTE_PAT_LARGE BIT(12) /* in a 2 MiB or 1 GiB leaf, bit 2 of the PAT index */
#define PTE_XD BIT(63)        /* execute disable (with EFER.NXE; reserved without it) */

_Static_assert(PTE_PS == PTE_PAT, "PS and a 4 KiB leaf's PAT bit share bit 7");

#endif
