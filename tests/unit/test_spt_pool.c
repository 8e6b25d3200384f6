/* test_spt_pool.c: shadow page lookup by (gfn, role), bounded pool with LRU reclaim, root cache. */
#include <string.h>
#include "check.h"
#include "../../shadow/root_cache.h"
#include "../../shadow/spt_pool.h"

static struct spt_pool pool;
static struct spt_page pages[8];
static u64 next_table, tables_live, unlinked;
static bool no_tables;

static u64 t_alloc(void *ctx)
{
	(void)ctx;
	if (no_tables)
		return 0;
	tables_live++;
	return 0x100000 + 0x1000 * next_table++;
}

static void t_free(void *ctx, u64 table)
{
	(void)ctx;
	(void)table;
	tables_live--;
}

static void t_unlink(void *ctx, struct spt_page *sp)
{
	(void)ctx;
	(void)sp;
	unlinked++;
}

static void setup(u32 capacity)
{
	spt_pool_init(&pool, pages, capacity);
	pool.table_alloc = t_alloc;
	pool.table_free = t_free;
	pool.unlink = t_unlink;
	next_table = tables_live = unlinked = 0;
	no_tables = false;
}

static union spt_role role(unsigned level, bool wp)
{
	union spt_role r = { .word = 0 };
	r.level = level;
	r.cr0_wp = wp;
	return r;
}

TEST(spt_lookup_by_gfn_and_role)
{
	setup(8);
	struct spt_page *a = spt_alloc(&pool, 0x1234, role(1, true));
	struct spt_page *b = spt_alloc(&pool, 0x1234, role(1, false)); /* same table, other rules */
	struct spt_page *c = spt_alloc(&pool, 0x1234, role(2, true));
	CHECK(a && b && c && a != b && b != c);
	CHECK(spt_lookup(&pool, 0x1234, role(1, true)) == a);
	CHECK(spt_lookup(&pool, 0x1234, role(1, false)) == b);
	CHECK(spt_lookup(&pool, 0x1234, role(2, true)) == c);
	CHECK(spt_lookup(&pool, 0x1235, role(1, true)) == NULL);
	CHECK_EQ(pool.stats.hits, 3);
	CHECK_EQ(pool.used, 3);
	spt_free(&pool, b);
	CHECK(spt_lookup(&pool, 0x1234, role(1, false)) == NULL);
	CHECK(spt_lookup(&pool, 0x1234, role(1, true)) == a); /* the chain survives a removal */
	CHECK_EQ(tables_live, 2);
}

TEST(spt_many_pages_share_buckets)
{
	static struct spt_page big[3000];
	spt_pool_init(&pool, big, 3000);
	pool.table_alloc = t_alloc;
	pool.table_free = t_free;
	pool.unlink = NULL;
	next_table = tables_live = 0;
	for (u64 g = 0; g < 3000; g++) /* more pages than buckets: chains */
		CHECK(spt_alloc(&pool, g * 7, role(1 + (unsigned)(g % 4), true)) != NULL);
	for (u64 g = 0; g < 3000; g += 37)
		CHECK(spt_lookup(&pool, g * 7, role(1 + (unsigned)(g % 4), true)) != NULL);
	CHECK(spt_lookup(&pool, 7, role(2, true)) != NULL); /* g = 1: gfn 7 at level 2 */
	CHECK(spt_lookup(&pool, 7, role(3, true)) == NULL); /* right gfn, wrong role */
}

TEST(spt_full_pool_reclaims_the_least_recently_used_unpinned_page)
{
	setup(4);
	struct spt_page *p[4];
	for (int i = 0; i < 4; i++)
		p[i] = spt_alloc(&pool, 100 + (u64)i, role(1, true));
	spt_lookup(&pool, 100, role(1, true)); /* 100 is now the most recent; 101 the least */
	p[1]->pins = 1;                        /* ...but 101 is pinned (a cached root) */
	struct spt_page *n = spt_alloc(&pool, 200, role(1, true));
	CHECK(n != NULL);
	CHECK_EQ(pool.stats.reclaims, 1);
	CHECK_EQ(unlinked, 1); /* the engine was told before the page went */
	CHECK(spt_lookup(&pool, 102, role(1, true)) == NULL); /* 102 was the oldest unpinned */
	CHECK(spt_lookup(&pool, 101, role(1, true)) != NULL);
	CHECK(spt_lookup(&pool, 100, role(1, true)) != NULL);
	CHECK_EQ(pool.used, 4);
	CHECK_EQ(tables_live, 4); /* never more tables than the pool holds */
}

TEST(spt_pool_exhausted_when_everything_is_pinned_or_no_table)
{
	setup(2);
	struct spt_page *a = spt_alloc(&pool, 1, role(4, true));
	struct spt_page *b = spt_alloc(&pool, 2, role(4, true));
	a->pins = b->pins = 1;
	CHECK(spt_alloc(&pool, 3, role(4, true)) == NULL);
	CHECK_EQ(pool.stats.exhausted, 1);
	a->pins = 0;
	no_tables = true; /* the reclaim happens; the table allocator then says no */
	CHECK(spt_alloc(&pool, 3, role(4, true)) == NULL);
	CHECK_EQ(pool.stats.exhausted, 2);
	no_tables = false;
	CHECK(spt_alloc(&pool, 3, role(4, true)) != NULL);
}

TEST(root_cache_keeps_kpti_pairs_and_evicts_lru)
{
	setup(8);
	static struct spt_page roots[20];
	static struct root_cache rc;
	memset(&rc, 0, sizeof(rc));
	/* Eight processes, two roots each (KPTI): sixteen slots hold them all. */
	for (u64 p = 0; p < 8; p++)
		for (u64 half = 0; half < 2; half++)
			root_cache_put(&rc, root_key((0x1000000 + p * 0x2000 + half * 0x1000), false),
				       &roots[p * 2 + half]);
	CHECK_EQ(rc.n, ROOT_CACHE_SLOTS);
	CHECK_EQ(rc.evictions, 0);
	for (int syscall = 0; syscall < 100; syscall++)
		for (u64 p = 0; p < 8; p++) {
			CHECK(root_cache_get(&rc, root_key(0x1000000 + p * 0x2000, false)) == &roots[p * 2]);
			CHECK(root_cache_get(&rc, root_key(0x1001000 + p * 0x2000, false)) == &roots[p * 2 + 1]);
		}
	CHECK_EQ(rc.misses, 0);
	CHECK_EQ(roots[0].pins, 1);
	/*
	 * A ninth process evicts the least recently used root, which is unpinned.
	 * The last round used process 0's pair first; refresh its kernel root, so
	 * its user root is now the oldest.
	 */
	root_cache_get(&rc, root_key(0x1000000, false));
	root_cache_put(&rc, root_key(0x3000000, false), &roots[16]);
	CHECK_EQ(rc.evictions, 1);
	CHECK(root_cache_get(&rc, root_key(0x1000000, false)) == &roots[0]);
	CHECK(root_cache_get(&rc, root_key(0x1001000, false)) == NULL);
	CHECK_EQ(roots[1].pins, 0);
	CHECK(root_cache_get(&rc, root_key(0x1002000, false)) == &roots[2]);
}

TEST(root_cache_keys_pcids_and_ignores_no_flush)
{
	CHECK_EQ(root_key(0x1234000 | 0x5 | BIT(63), true), 0x1234005);
	CHECK_EQ(root_key(0x1234000 | 0x5 | BIT(63), false), 0x1234000);
	static struct spt_page r1, r2;
	static struct root_cache rc;
	memset(&rc, 0, sizeof(rc));
	root_cache_put(&rc, root_key(0x1234001, true), &r1);
	root_cache_put(&rc, root_key(0x1234002, true), &r2); /* same tables, other PCID */
	CHECK(root_cache_get(&rc, root_key(0x1234001 | BIT(63), true)) == &r1);
	root_cache_put(&rc, root_key(0x1234001, true), &r2); /* re-pointing a key unpins the old root */
	CHECK_EQ(r1.pins, 0);
	CHECK_EQ(r2.pins, 2);
	root_cache_drop(&rc, &r2);
	CHECK_EQ(r2.pins, 0);
	CHECK_EQ(rc.n, 0);
}
