/* pt.h: one 4-level page-table walk shared by every table format slatvisor builds or reads. */
#ifndef SLAT_PT_H
#define SLAT_PT_H

#include "../kernel/types.h"

/*
 * Levels count as the SDM's paging structures do, from the leaf up:
 * 1 = page table (4 KiB), 2 = page directory (2 MiB), 3 = PDPT (1 GiB), 4 = PML4.
 */
#define PT_LEVELS 4
#define PT_ENTRIES 512
#define PT_ADDR_MASK GENMASK(51, 12)

static inline unsigned pt_index(u64 addr, int level)
{
	return (unsigned)(addr >> (PAGE_SHIFT + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

static inline u64 pt_level_size(int level)
{
	return 1ULL << (PAGE_SHIFT + 9 * (level - 1));
}

/* What differs between formats (host IA-32e paging, EPT) and how to reach memory. */
struct pt_ops {
	u64 present;     /* any of these bits makes an entry present */
	u64 large;       /* the page-size bit of a level-2/3 leaf */
	u64 table_flags; /* bits of a new non-leaf entry */
	int max_leaf_level; /* 2, or 3 where the CPU maps 1 GiB pages */
	u64 *(*table)(void *ctx, u64 phys); /* the table at @phys, or NULL */
	u64 (*alloc_table)(void *ctx);      /* a zeroed table page, or 0 when out of memory */
	void *ctx;
	unsigned tables_allocated[PT_LEVELS + 1]; /* by level, for the boot log */
};

/*
 * The one descent loop. From the root toward @addr, @step sees each entry
 * (top level first) and answers: descend into the table it points to, or
 * stop here. Returns the entry where it stopped (*out_level its level), or
 * NULL when a table cannot be reached. Everything below is built on it.
 */
enum pt_step { PT_DESCEND, PT_STOP, PT_FAIL };
typedef enum pt_step (*pt_step_fn)(struct pt_ops *ops, u64 *entry, int level, void *arg);
u64 *pt_descend(struct pt_ops *ops, u64 root, u64 addr, pt_step_fn step, void *arg, int *out_level);

/*
 * Replace the large leaf *@entry at @level (2 or 3) with a table of 512 leaves one level
 * down, each with the leaf's attributes (memory type and rights included), so the mapping
 * is unchanged. The table comes from ops->alloc_table (counted in ops->tables_allocated).
 * Returns false, leaving *@entry alone, when no table could be allocated or reached.
 */
bool pt_split(struct pt_ops *ops, u64 *entry, int level);

/*
 * Walk from the root toward @addr and return the entry at @level, or the
 * leaf or non-present entry that stops the walk sooner (*out_level says
 * which level it is). With @create, missing tables are allocated and any
 * larger leaf on the way is split into 512 smaller ones with the same
 * attributes, so the entry returned is exactly at @level.
 * Returns NULL only when a table cannot be read or allocated.
 */
u64 *pt_walk(struct pt_ops *ops, u64 root, u64 addr, int level, bool create, int *out_level);

/*
 * Map [addr, addr+size) to [phys, ...) with @leaf_flags, using the largest
 * pages that alignment and ops->max_leaf_level allow. All three must be 4 KiB
 * aligned. Returns ST_NO_MEMORY if a table could not be allocated.
 */
status_t pt_map_range(struct pt_ops *ops, u64 root, u64 addr, u64 phys, u64 size, u64 leaf_flags);

/* Translate @addr; returns false if not mapped. */
bool pt_translate(struct pt_ops *ops, u64 root, u64 addr, u64 *phys, u64 *leaf, int *level);

#endif
