/*
 * ptlab: a small four-level page-table model, the program the guest compiles in the build
 * benchmark (tools/bench). It maps, walks, caches and unmaps a pseudo-random set of pages and
 * prints a digest of everything it saw, so a build that went wrong shows as a different digest.
 */
#ifndef PTLAB_H
#define PTLAB_H

#include <stdint.h>

#define PT_LEVELS	4
#define PT_ENTRIES	512
#define PAGE_SHIFT	12
#define FRAMES		4096		/* frames in the model's physical memory */

#define PTE_P		(1ull << 0)	/* present */
#define PTE_W		(1ull << 1)	/* writable */
#define PTE_ADDR	0x000ffffffffff000ull

/* rng.c: xorshift64*, the same sequence on every machine. */
void rng_seed(uint64_t seed);
uint64_t rng_next(void);

/* frames.c: the model's physical memory, one table of 512 entries per frame. */
void frames_init(void);
uint64_t *frame_ptr(uint32_t frame);
int frame_alloc(uint32_t *frame);
void frame_free(uint32_t frame);
uint32_t frames_used(void);

/* pte.c */
uint64_t pte_make(uint32_t frame, int writable);
uint32_t pte_frame(uint64_t pte);
int pte_index(uint64_t va, int level);

/* map.c, walk.c, unmap.c: level 4 is the root, level 1 holds the leaves. */
int pt_map(uint32_t root, uint64_t va, uint32_t frame, int writable);
int pt_walk(uint32_t root, uint64_t va, uint64_t *leaf);
int pt_unmap(uint32_t root, uint64_t va);

/* tlb.c: a direct-mapped cache of translations. */
void tlb_flush(void);
int tlb_lookup(uint64_t va, uint64_t *leaf);
void tlb_fill(uint64_t va, uint64_t leaf);

/* stats.c */
enum stat { ST_MAPS, ST_WALKS, ST_FAULTS, ST_TLB_HITS, ST_TLB_MISSES, ST_UNMAPS, ST_COUNT };
void stat_add(enum stat s);
uint64_t stat_get(enum stat s);
void stats_print(void);

/* digest.c: FNV-1a over 64-bit values. */
void digest_add(uint64_t v);
uint64_t digest_value(void);

/* workload.c: the access pattern. */
int workload_run(uint32_t root, int rounds);

/* sort.c */
void sort_u64(uint64_t *v, int n);

#endif
