/* root_cache.h: shadow roots kept across guest CR3 switches, keyed by CR3 and PCID. */
#ifndef SLAT_ROOT_CACHE_H
#define SLAT_ROOT_CACHE_H

#include "spt_pool.h"

/*
 * Under KPTI every process has two roots (user and kernel), and a system call
 * switches between them twice: with three cached roots a
 * few processes already thrash. Sixteen keep eight processes' pairs.
 */
#define ROOT_CACHE_SLOTS 16

struct root_slot {
	u64 key;
	struct spt_page *root; /* pinned while cached */
	u64 stamp;             /* last use */
};

struct root_cache {
	struct root_slot slot[ROOT_CACHE_SLOTS];
	unsigned n;
	u64 clock;
	u64 hits, misses, evictions;
};

/* The cache key of a guest CR3: its table address, and its PCID when CR4.PCIDE is set. */
u64 root_key(u64 cr3, bool pcide);

/* The cached root for @key, or NULL (counted as a miss). */
struct spt_page *root_cache_get(struct root_cache *rc, u64 key);

/*
 * Cache @root under @key and pin it. When every slot is taken, the least
 * recently used one is evicted and its root unpinned (it becomes reclaimable).
 */
void root_cache_put(struct root_cache *rc, u64 key, struct spt_page *root);

/* Is @root in a slot? (no use counted) */
bool root_cache_holds(const struct root_cache *rc, const struct spt_page *root);

/* Forget every slot holding @root (the engine is freeing it), unpinning it. */
void root_cache_drop(struct root_cache *rc, const struct spt_page *root);

#endif
