/*
 * ept_view.h: one CPU's private view of the shared EPT (pure logic, host unit tested).
 *
 * Memory monitoring keeps one shared EPT hierarchy for every vCPU. A vCPU that watches pages
 * gets a view: a private PML4, and private copies of only the paging-structure pages on the
 * path to each watched 4 KiB page (one PDPT per 512 GiB slot, one PD per 1 GiB, one PT per
 * 2 MiB region). Every other entry of a private table points where the shared one does, so
 * the rest of guest memory stays shared. A 2 MiB (or 1 GiB) shared leaf on the path is split
 * in the private copy into 512 leaves with the same attributes, memory type included: the
 * shared map only uses a large leaf where the MTRR type is uniform over it, so each 4 KiB page
 * keeps its exact type. The watched leaf then loses the access rights it denies.
 *
 * A view is a pure function of the shared EPT and the watches: slatvisor rebuilds it from
 * scratch whenever either changes (ept_view_free, then ept_view_build), on the vCPU that owns
 * it, while that vCPU is in root operation. Freeing everything is the merge: when the last
 * watch in a region goes, its private pages go with it.
 */
#ifndef SLAT_EPT_VIEW_H
#define SLAT_EPT_VIEW_H

#include "../mm/pt.h"

/* Private paging-structure pages one view may hold (the pool size is the real limit). */
#define EPT_VIEW_MAX_PAGES 1024

/* One watched 4 KiB guest-physical page, and the EPT access bits (EPT_READ...) it takes away. */
struct ept_watch {
	u64 gpa;  /* 4 KiB aligned */
	u64 deny; /* a subset of EPT_RWX */
};

/* Where private pages come from: a fixed pool, so a monitor never fails halfway for memory. */
struct ept_view_pool {
	u64 (*alloc)(void *ctx);          /* a zeroed page, or 0 when the pool is empty */
	void (*free)(void *ctx, u64 phys);
	void *ctx;
};

struct ept_view {
	u64 root;                         /* the private PML4, or 0: this vCPU uses the shared root */
	unsigned npages;                  /* private pages now (root included) */
	u64 pages[EPT_VIEW_MAX_PAGES];    /* which they are */
	u64 splits;                       /* large shared leaves split in private copies, ever */
	u64 merges;                       /* private tables from a split freed again, ever */
	unsigned split_now;               /* private tables now that came from a split */
};

/*
 * Private pages a view of these watches needs: 0 for none, else 1 (the PML4) plus one per
 * distinct 512 GiB slot, 1 GiB region and 2 MiB region among the watched pages. Duplicate
 * pages count once. The same figure whatever the shared tables look like. O(n log n), for up
 * to 4096 watches (more give EPT_VIEW_MAX_PAGES + 1: more than a view holds); not reentrant.
 */
unsigned ept_view_pages_needed(const struct ept_watch *w, unsigned n);

/*
 * Build @view (empty: root 0, npages 0) for @n watches over the shared hierarchy at
 * @shared_root. @ops reaches tables (ops->table) and describes the EPT format; its
 * alloc_table is not used: private pages come from @pool. Two watches of one page deny the
 * union of their bits. Returns ST_OK; ST_NO_MEMORY if the pool ran dry (the view is then
 * freed again, root 0); ST_INVALID if a watched page is not mapped in the shared EPT. With
 * n == 0 the view stays empty.
 */
status_t ept_view_build(struct pt_ops *ops, u64 shared_root, const struct ept_watch *w, unsigned n,
			struct ept_view *view, const struct ept_view_pool *pool);

/* Give every private page back to @pool; the view is empty again (root 0). Counts merges. */
void ept_view_free(struct ept_view *view, const struct ept_view_pool *pool);

/* The view's private 4 KiB leaf for @gpa, or NULL when @gpa is not on a private path. */
u64 *ept_view_leaf(struct pt_ops *ops, const struct ept_view *view, u64 gpa);

#endif
