/* ept.h: the extended page tables: entry format, the shared identity map, and INVEPT. */
#ifndef SLAT_EPT_H
#define SLAT_EPT_H

#include "../mm/memmap.h"
#include "../mm/mtrr.h"
#include "../mm/pmm.h"
#include "../mm/pt.h"
#include "../shadow/mmu.h"

/* SDM Vol. 3C, 30.3.2, tables 30-1 to 30-6: EPT paging-structure entry bits. */
#define EPT_READ BIT(0)
#define EPT_WRITE BIT(1)
#define EPT_EXEC BIT(2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_SHIFT 3 /* bits 5:3 of a leaf: the memory type (table 12-8 numbering) */
#define EPT_IGNORE_PAT BIT(6)
#define EPT_LARGE BIT(7) /* a 2 MiB or 1 GiB leaf */

/* 25.6.11: the EPT pointer. */
#define EPTP_MEMTYPE_WB 6
#define EPTP_WALK_LENGTH_4 (3 << 3)

#define EPT_MAX_HIDDEN 8

/* Guest-physical ranges the guest must never reach: slatvisor's own memory. */
struct ept_hidden {
	struct phys_range r[EPT_MAX_HIDDEN];
	unsigned n;
};

struct ept_map_stats {
	u64 leaves[PT_LEVELS + 1]; /* by level: [1] 4 KiB, [2] 2 MiB, [3] 1 GiB */
};

/*
 * Identity-map guest-physical [0, top) in the EPT at @root with memory types
 * from @m: 1 GiB pages (if ops->max_leaf_level is 3) and 2 MiB pages where
 * the type is uniform and no hidden range interferes, 4 KiB pages only where
 * it is not. Hidden pages stay non-present.
 */
status_t ept_map_identity(struct pt_ops *ops, u64 root, const struct mtrr_state *m, u64 top,
			  const struct ept_hidden *hidden, struct ept_map_stats *st);

/*
 * Where nothing is: guest-physical [top, end) reads all ones, as a bus where no device
 * answers does, and a write is an EPT violation (slatvisor drops it). Every 4 KiB page
 * there maps the one page @ones (filled with 0xFF, read-only) through three shared tables
 * the caller provides, whatever the size of the range: a PT of 512 such leaves (@pt), a PD
 * whose entries all point at it (@pd) and a PDPT whose entries all point at that (@pdpt).
 * @top is a multiple of 1 GiB, and the PDPT covering [top, 512 GiB) is @root's first.
 */
status_t ept_map_open_bus(struct pt_ops *ops, u64 root, u64 top, u64 end, u64 ones, u64 pt, u64 pd, u64 pdpt);

/* 0: no hidden byte in [base, base+size); 2: all of it hidden by one range; 1: some. */
int ept_hidden_overlap(const struct ept_hidden *h, u64 base, u64 size);

/* Which hidden range holds @gpa, or NULL. */
const struct phys_range *ept_hidden_find(const struct ept_hidden *h, u64 gpa);

/*
 * Kernel side (ept.c). What the guest-physical space [0, top) holds: RAM
 * and MMIO from the firmware's map, and @hidden, slatvisor's own memory.
 * Shadow paging and the EPT both follow it.
 */
void ept_describe(u64 top, const struct ept_hidden *hidden, const struct mem_region *map,
		  unsigned nmap);
/* What @gpa is: guest RAM, MMIO (or a hole below top), hypervisor memory, or nothing. */
enum gpa_kind ept_gpa_kind(u64 gpa);
/*
 * Build the one EPT hierarchy all vCPUs share, covering [0, top) minus the
 * hidden ranges; sets vmx.eptp. Logs its paging-structure pages by level.
 */
status_t ept_init(void);
/* The shared hierarchy, for the private views of memory monitoring (ept_view.h). */
struct pt_ops *ept_shared_ops(void);
u64 ept_shared_root(void);
/* Paging-structure pages of the shared EPT now. */
unsigned ept_shared_pages(void);
/* Invalidate what this CPU cached for every EPTP (or @eptp where only single-context exists). */
void ept_invalidate_all(u64 eptp);
/* Invalidate EPT-derived translations on this CPU after the map changed. */
void ept_invalidate(void);
/* Change the permissions of the one 4 KiB guest page at @gpa (splitting larger pages). */
status_t ept_set_page_access(u64 gpa, u64 rwx);
/*
 * May slatvisor read this guest-physical address on the guest's behalf? Only
 * RAM the firmware described and the guest may reach: never MMIO (reads can
 * have side effects), never anything outside slatvisor's own map.
 */
bool ept_guest_may_access(u64 gpa);

#endif
