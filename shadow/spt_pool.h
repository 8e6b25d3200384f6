/* spt_pool.h: shadow pages, found by (guest frame, role) in a hash, from a bounded pool. */
#ifndef SLAT_SPT_POOL_H
#define SLAT_SPT_POOL_H

#include "../kernel/types.h"

/*
 * What a shadow page stands for besides the guest frame it shadows: the same
 * guest table seen under other rules needs another shadow page. Packed into
 * one word so (gfn, role) compares in one instruction.
 */
union spt_role {
	struct {
		u32 level : 3;  /* 1-4: the level of the guest table shadowed */
		u32 direct : 1; /* shadows part of a guest large page: no guest table behind it */
		u32 access : 3; /* direct pages: the large page's rights (bit 0 W, 1 U, 2 X) */
		u32 cr0_wp : 1; /* supervisor writes to read-only pages differ with WP */
		u32 smep : 1;
		u32 smap : 1;
		u32 nxe : 1;
		/* direct pages: the large page's memory type (PWT, PCD, PAT) and global bit */
		u32 memtype : 3;
		u32 global : 1;
		/* CR0.WP=0 roles only (cr0_wp.h): an entry above this page is read-only, supervisor-only */
		u32 path_ro : 1;
		u32 path_sup : 1;
		u32 reserved : 15;
	};
	u32 word;
};
_Static_assert(sizeof(union spt_role) == 4, "a role packs into one word");

struct spt_page {
	u64 gfn;             /* guest frame of the table shadowed (direct: of the large page's base) */
	union spt_role role;
	u64 table;           /* the shadow table page (host-physical) */
	u32 hash_next;       /* index chain; SPT_NONE ends it */
	u32 lru_prev, lru_next;
	u32 pins;            /* roots in use or cached: never reclaimed while pinned */
	bool in_use;
	bool unsync;         /* the guest may have written the table since it was last synced */
	bool dying;          /* picked for reclaim: entries pointing at it are being cut */
	u8 flood;            /* times it went out of sync since a fill last walked through it */
	/*
	 * Emptied and left unprotected, because the guest kept writing it and
	 * nothing walked it: a fill that reaches it protects it again first.
	 */
	bool husk;
	u32 unsync_next;     /* the engine's list of unsync pages; SPT_NONE ends it */
};

#define SPT_NONE 0xFFFFFFFFu
#define SPT_HASH_BUCKETS 1024

struct spt_pool_stats {
	u64 lookups, hits, allocs, reclaims, exhausted;
};

struct spt_pool {
	struct spt_page *pages; /* @capacity of them */
	/*
	 * Nonzero: page i's table is always table_base + i * 4 KiB, so the engine
	 * finds the shadow page behind any table address by arithmetic.
	 */
	u64 table_base;
	u32 capacity, used;
	u32 free_head;
	/*
	 * Pages [0, 2 * root_pairs) hold only top-level tables, two by two: pair k
	 * is pages 2k (a guest frame with bit 0 clear) and 2k + 1 (its odd
	 * neighbour), so with an 8 KiB-aligned table_base the two roots of a KPTI
	 * process are an aligned pair. They are off the free list and never
	 * reclaimed one by one.
	 */
	u32 root_pairs;
	u32 lru_head, lru_tail; /* head = most recently used */
	u32 bucket[SPT_HASH_BUCKETS];
	/* Where a shadow table page comes from and goes: the engine's allocator. */
	u64 (*table_alloc)(void *ctx);
	void (*table_free)(void *ctx, u64 table);
	/* Called before a page is reclaimed, so the engine can unlink every entry pointing at it. */
	void (*unlink)(void *ctx, struct spt_page *p);
	void *ctx;
	struct spt_pool_stats stats;
};

/* Set up a pool of @capacity pages over @pages (the caller's array). */
void spt_pool_init(struct spt_pool *p, struct spt_page *pages, u32 capacity);

/* The shadow page for (gfn, role), or NULL. A hit counts as a use (LRU). */
struct spt_page *spt_lookup(struct spt_pool *p, u64 gfn, union spt_role role);

/*
 * A new shadow page for (gfn, role), with a zeroed table. When the pool is
 * full, the least recently used unpinned page is reclaimed first. Returns
 * NULL only if every page is pinned or no table page can be had.
 */
struct spt_page *spt_alloc(struct spt_pool *p, u64 gfn, union spt_role role);

/* Count a use of @sp (LRU) without a lookup. */
void spt_touch(struct spt_pool *p, struct spt_page *sp);

/* Give a page back (its table too). It must not be pinned. */
void spt_free(struct spt_pool *p, struct spt_page *sp);

/*
 * Up to @n of the least recently used unpinned pages, marked dying, into
 * @out (indices). The engine cuts every link to them, then frees them: one
 * pass over the pool for a whole batch instead of one per page.
 */
u32 spt_pick_victims(struct spt_pool *p, u32 *out, u32 n);

/*
 * Set aside the first @pairs pairs of pages for roots (right after
 * spt_pool_init, before any allocation).
 */
void spt_reserve_roots(struct spt_pool *p, u32 pairs);

static inline bool spt_is_root_slot(const struct spt_page *sp, const struct spt_pool *p)
{
	return (u32)(sp - p->pages) < 2 * p->root_pairs;
}

/*
 * A top-level page for (gfn, role) in its pair: beside its partner (gfn ^ 1,
 * same role) if that is there, else in a pair with both pages free. NULL if
 * there is none; the caller frees a pair (spt_pick_root_pair) and asks again.
 */
struct spt_page *spt_alloc_root(struct spt_pool *p, u64 gfn, union spt_role role);

/* The least recently used pair whose pages nobody pins (its first index), or SPT_NONE. */
u32 spt_pick_root_pair(struct spt_pool *p);

/* The other page of @sp's pair if it is in use as @sp's partner, else NULL. */
struct spt_page *spt_partner(struct spt_pool *p, const struct spt_page *sp);

/* The first page in @gfn's hash chain; follow hash_next, comparing gfn. */
u32 spt_chain(const struct spt_pool *p, u64 gfn);

static inline u32 spt_index(const struct spt_pool *p, const struct spt_page *sp)
{
	return (u32)(sp - p->pages);
}

#endif
