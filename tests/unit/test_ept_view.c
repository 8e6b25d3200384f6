/* test_ept_view.c: private EPT views: the same translations as the shared EPT but for the watched rights. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../vmx/ept.h"
#include "../../vmx/ept_view.h"
#include "mtrr_fixture.h"
#include "simmem.h"

#define TOP (4 * GiB)
#define POOL_PAGES 128
#define OPEN_BUS_END (1ULL << 40) /* slot 0 past the top, and all of slot 1 */

/* Which large leaves the shared map uses, by the MTRRs and page sizes it is built with. */
enum layout {
	LAYOUT_GIB,      /* 1 GiB leaves, 2 MiB ones in the first GiB, 4 KiB in the first 2 MiB */
	LAYOUT_2M,       /* no 1 GiB pages: 2 MiB leaves everywhere but the first 2 MiB */
	LAYOUT_4K,       /* a UC page and hidden memory inside RAM: regions of 4 KiB leaves */
	LAYOUT_OPEN_BUS, /* LAYOUT_GIB plus the open bus past the top, tables shared many times */
	LAYOUT_COUNT
};

static struct pt_ops ops;
static u64 shared_root;
static struct mtrr_state m;
static struct ept_hidden hidden;
static unsigned shared_pages; /* sim pages 0..shared_pages-1 are the shared EPT's */
static struct ept_view view;

/* The pool: pages taken from simulated memory after the shared EPT, handed out from a stack. */
static struct {
	u64 page[POOL_PAGES];  /* every page the pool owns */
	bool out[POOL_PAGES];  /* by index into page[]: handed out now */
	u64 stack[POOL_PAGES]; /* the free ones */
	unsigned nfree;
	unsigned budget; /* how many may be out at once, for exhaustion tests */
	unsigned bad_frees; /* pages freed twice or never the pool's */
} pool;

static int pool_index(u64 phys)
{
	for (int i = 0; i < POOL_PAGES; i++)
		if (pool.page[i] == phys)
			return i;
	return -1;
}

static u64 pool_alloc(void *ctx)
{
	(void)ctx;
	if (!pool.nfree || POOL_PAGES - pool.nfree >= pool.budget)
		return 0;
	u64 phys = pool.stack[--pool.nfree];
	pool.out[pool_index(phys)] = true;
	memset(sim_table(NULL, phys), 0, PAGE_SIZE);
	return phys;
}

static void pool_free(void *ctx, u64 phys)
{
	(void)ctx;
	int i = pool_index(phys);
	if (i < 0 || !pool.out[i]) {
		pool.bad_frees++;
		return;
	}
	pool.out[i] = false;
	pool.stack[pool.nfree++] = phys;
	/* Dirty it, so a view that kept using a freed page would show. */
	memset(sim_table(NULL, phys), 0xA5, PAGE_SIZE);
}

static const struct ept_view_pool vpool = { pool_alloc, pool_free, NULL };

static void pool_init(void)
{
	memset(&pool, 0, sizeof(pool));
	for (unsigned i = 0; i < POOL_PAGES; i++)
		pool.stack[i] = pool.page[i] = sim_alloc(NULL);
	pool.nfree = POOL_PAGES;
	pool.budget = POOL_PAGES;
}

static bool pool_whole(void)
{
	return pool.nfree == POOL_PAGES && pool.bad_frees == 0;
}

static void shared_build(enum layout layout)
{
	sim_reset(SIM_PAGES);
	bochs_like_mtrrs(&m);
	memset(&hidden, 0, sizeof(hidden));
	if (layout == LAYOUT_4K) {
		m.fixed_enabled = false;
		m.var[1].base = 0x00A01000 | MEMTYPE_UC;
		m.var[1].mask = (m.addr_mask & ~0xFFFULL) | MTRR_PHYSMASK_VALID;
		m.nvar = 2;
		hidden = (struct ept_hidden){ { { 0x00C01000, 0x00E00000 } }, 1 };
	}
	int max_leaf = layout == LAYOUT_2M ? 2 : 3;
	ops = (struct pt_ops){ EPT_RWX, EPT_LARGE, EPT_RWX, max_leaf, sim_table, sim_alloc, NULL, { 0 } };
	shared_root = sim_alloc(NULL);
	struct ept_map_stats st = { { 0 } };
	CHECK_EQ(ept_map_identity(&ops, shared_root, &m, TOP, &hidden, &st), ST_OK);
	if (layout == LAYOUT_OPEN_BUS) {
		u64 ones = sim_alloc(NULL), pt = sim_alloc(NULL), pd = sim_alloc(NULL), pdpt = sim_alloc(NULL);
		CHECK_EQ(ept_map_open_bus(&ops, shared_root, TOP, OPEN_BUS_END, ones, pt, pd, pdpt), ST_OK);
	}
	shared_pages = sim_used();
	pool_init();
	memset(&view, 0, sizeof(view));
}

/* One translation, non-present entries included (a fully denied leaf is one). */
struct xlat {
	bool present;
	u64 phys;
	u64 attrs; /* the leaf's bits but the address and the page-size bit */
	int level;
};

static struct xlat xlat(u64 root, u64 gpa)
{
	struct xlat x = { 0 };
	u64 *e = pt_walk(&ops, root, gpa, 1, false, &x.level);
	if (!e)
		return x;
	u64 size = pt_level_size(x.level);
	x.present = *e & EPT_RWX;
	x.phys = (*e & PT_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1));
	x.attrs = *e & ~PT_ADDR_MASK & ~(x.level > 1 ? EPT_LARGE : 0);
	return x;
}

static u64 denied(const struct ept_watch *w, unsigned n, u64 gpa)
{
	u64 deny = 0;
	for (unsigned i = 0; i < n; i++)
		if (w[i].gpa == gpa)
			deny |= w[i].deny;
	return deny;
}

/* Through the view as through the shared EPT, but for the denied bits; returns mismatches. */
static unsigned compare_page(const struct ept_watch *w, unsigned n, u64 gpa)
{
	struct xlat s = xlat(shared_root, gpa), v = xlat(view.root, gpa);
	u64 deny = denied(w, n, gpa);
	if (!s.level || !v.level)
		return 1;
	if (!s.present)
		return v.present || v.attrs != s.attrs;
	if (v.phys != s.phys || v.attrs != (s.attrs & ~deny))
		return 1;
	if (deny && v.level != 1)
		return 1;
	/* Below TOP the map is an identity one with the MTRRs' type for each 4 KiB page. */
	if (gpa < TOP && (((v.attrs >> EPT_MEMTYPE_SHIFT) & 7) != mtrr_type(&m, gpa) || v.phys != gpa))
		return 1;
	return 0;
}

static unsigned compare_range(const struct ept_watch *w, unsigned n, u64 base, u64 end, u64 stride)
{
	unsigned bad = 0;
	for (u64 gpa = base; gpa < end; gpa += stride)
		bad += compare_page(w, n, gpa);
	return bad;
}

/* Every page of [0, TOP), every page of each watched 2 MiB region, a sample of the rest. */
static unsigned compare_all(const struct ept_watch *w, unsigned n)
{
	unsigned bad = compare_range(w, n, 0, TOP, PAGE_SIZE);
	for (unsigned i = 0; i < n; i++) {
		u64 region = ALIGN_DOWN(w[i].gpa, 2 * MiB);
		bad += compare_range(w, n, region, region + 2 * MiB, PAGE_SIZE);
	}
	bad += compare_range(w, n, TOP, OPEN_BUS_END, 3 * GiB + 0x5000);
	return bad;
}

static u8 *snapshot_shared(void)
{
	u8 *s = malloc(shared_pages * PAGE_SIZE);
	for (unsigned i = 0; i < shared_pages; i++)
		memcpy(s + i * PAGE_SIZE, sim_table(NULL, SIM_BASE + i * PAGE_SIZE), PAGE_SIZE);
	return s;
}

static bool shared_unchanged(const u8 *s)
{
	for (unsigned i = 0; i < shared_pages; i++)
		if (memcmp(s + i * PAGE_SIZE, sim_table(NULL, SIM_BASE + i * PAGE_SIZE), PAGE_SIZE))
			return false;
	return true;
}

static status_t build(const struct ept_watch *w, unsigned n)
{
	return ept_view_build(&ops, shared_root, w, n, &view, &vpool);
}

/* Watches on every kind of leaf each layout has, the open bus included where there is one. */
static const struct ept_watch mixed[] = {
	{ 0x000A0000, EPT_WRITE },               /* 4 KiB leaves (fixed MTRRs) */
	{ 0x000A1000, EPT_RWX },                 /* the same PT, every right */
	{ 0x00A01000, EPT_WRITE | EPT_EXEC },    /* a UC page in RAM */
	{ 0x00C00000, EPT_EXEC },                /* next to hidden memory */
	{ 16 * MiB + 0x3000, EPT_WRITE },        /* a 2 MiB leaf */
	{ 1 * GiB + 0x7000, EPT_READ | EPT_WRITE }, /* a 1 GiB leaf */
	{ 1 * GiB + 9 * MiB, EPT_WRITE },        /* another 2 MiB region of that GiB */
	{ 3 * GiB + 0xFEE00000 % GiB, EPT_WRITE }, /* UC */
	{ TOP - PAGE_SIZE, EPT_EXEC },
};

static const struct ept_watch open_bus[] = {
	{ 5 * GiB, EPT_READ },
	{ 5 * GiB + 2 * MiB + 0x3000, EPT_READ },
	{ 6 * GiB, EPT_READ },
	{ 512 * GiB + 7 * GiB, EPT_READ },
};

TEST(ept_view_translates_as_the_shared_ept_but_for_the_denied_rights)
{
	for (int layout = 0; layout < LAYOUT_COUNT; layout++) {
		shared_build(layout);
		CHECK_EQ(build(mixed, ARRAY_SIZE(mixed)), ST_OK);
		CHECK_EQ(compare_all(mixed, ARRAY_SIZE(mixed)), 0);
		ept_view_free(&view, &vpool);
		if (layout != LAYOUT_OPEN_BUS)
			continue;
		CHECK_EQ(build(open_bus, ARRAY_SIZE(open_bus)), ST_OK);
		CHECK_EQ(compare_all(open_bus, ARRAY_SIZE(open_bus)), 0);
		CHECK_EQ(compare_range(open_bus, ARRAY_SIZE(open_bus), 5 * GiB, 7 * GiB, 0x1000 * 97), 0);
		ept_view_free(&view, &vpool);
	}
}

TEST(ept_view_leaves_the_shared_tables_untouched)
{
	for (int layout = 0; layout < LAYOUT_COUNT; layout++) {
		shared_build(layout);
		u8 *before = snapshot_shared();
		CHECK_EQ(build(mixed, ARRAY_SIZE(mixed)), ST_OK);
		CHECK(shared_unchanged(before));
		ept_view_free(&view, &vpool);
		CHECK(shared_unchanged(before));
		free(before);
	}
}

TEST(ept_view_copies_only_the_pages_on_the_watched_paths)
{
	shared_build(LAYOUT_GIB);
	struct ept_watch one[] = { { GiB + 0x5000, EPT_WRITE } };
	CHECK_EQ(build(one, 1), ST_OK);
	CHECK_EQ(view.npages, 4); /* PML4, PDPT, PD and PT from splitting the GiB, then 2 MiB */
	CHECK_EQ(ept_view_pages_needed(one, 1), 4);
	CHECK_EQ(view.splits, 2);
	CHECK_EQ(view.split_now, 2);
	ept_view_free(&view, &vpool);

	struct ept_watch same_2m[] = { { GiB + 0x5000, EPT_WRITE }, { GiB + 0x1FF000, EPT_EXEC } };
	CHECK_EQ(build(same_2m, 2), ST_OK);
	CHECK_EQ(view.npages, 4);
	CHECK_EQ(ept_view_pages_needed(same_2m, 2), 4);
	CHECK_EQ(view.split_now, 2);
	ept_view_free(&view, &vpool);

	struct ept_watch two_2m[] = { { GiB + 0x5000, EPT_WRITE }, { GiB + 2 * MiB, EPT_WRITE } };
	CHECK_EQ(build(two_2m, 2), ST_OK);
	CHECK_EQ(view.npages, 5); /* the second region's PT is split from the private PD's leaf */
	CHECK_EQ(ept_view_pages_needed(two_2m, 2), 5);
	CHECK_EQ(view.split_now, 3);
	CHECK_EQ(view.splits, 2 + 2 + 3);
	ept_view_free(&view, &vpool);

	struct ept_watch two_gib[] = { { GiB, EPT_WRITE }, { 2 * GiB, EPT_WRITE } };
	CHECK_EQ(build(two_gib, 2), ST_OK);
	CHECK_EQ(view.npages, 6);
	CHECK_EQ(ept_view_pages_needed(two_gib, 2), 6);
	ept_view_free(&view, &vpool);

	CHECK_EQ(ept_view_pages_needed(NULL, 0), 0);
	CHECK_EQ(build(NULL, 0), ST_OK);
	CHECK_EQ(view.root, 0);
	CHECK_EQ(view.npages, 0);
}

TEST(ept_view_copies_a_page_table_the_shared_map_already_has)
{
	shared_build(LAYOUT_GIB);
	struct ept_watch vga[] = { { 0xA0000, EPT_WRITE } };
	CHECK_EQ(build(vga, 1), ST_OK);
	CHECK_EQ(view.npages, 4);
	CHECK_EQ(view.splits, 0);
	CHECK_EQ(view.split_now, 0);
	ept_view_free(&view, &vpool);
	CHECK_EQ(view.merges, 0);

	/* Under a 2 MiB leaf only the last level is split. */
	shared_build(LAYOUT_2M);
	struct ept_watch ram[] = { { 16 * MiB, EPT_WRITE } };
	CHECK_EQ(build(ram, 1), ST_OK);
	CHECK_EQ(view.npages, 4);
	CHECK_EQ(view.splits, 1);
	ept_view_free(&view, &vpool);
}

TEST(ept_view_pages_needed_matches_the_build_on_every_layout)
{
	u64 seed = 12345;
	for (int layout = 0; layout < LAYOUT_COUNT; layout++) {
		shared_build(layout);
		u64 end = layout == LAYOUT_OPEN_BUS ? OPEN_BUS_END : TOP;
		for (int round = 0; round < 50; round++) {
			struct ept_watch w[12];
			unsigned n = 0;
			while (n < ARRAY_SIZE(w)) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				/* Cluster half of them in the first 16 MiB, where the 4 KiB regions are. */
				u64 span = (seed >> 63) ? 16 * MiB : end;
				u64 gpa = ALIGN_DOWN((seed >> 8) % span, PAGE_SIZE);
				u64 phys, leaf;
				int l;
				if (!pt_translate(&ops, shared_root, gpa, &phys, &leaf, &l))
					continue;
				w[n++] = (struct ept_watch){ gpa, ((seed >> 4) & EPT_RWX) | EPT_WRITE };
			}
			if (round % 5 == 0)
				w[3] = w[1]; /* a duplicate page */
			CHECK_EQ(build(w, n), ST_OK);
			CHECK_EQ(view.npages, ept_view_pages_needed(w, n));
			CHECK_EQ(view.splits, view.merges + view.split_now);
			for (unsigned i = 0; i < n; i++)
				CHECK_EQ(compare_page(w, n, w[i].gpa), 0);
			ept_view_free(&view, &vpool);
			CHECK(pool_whole());
		}
	}
}

TEST(ept_view_free_returns_every_page_and_counts_merges)
{
	shared_build(LAYOUT_GIB);
	CHECK_EQ(build(mixed, ARRAY_SIZE(mixed)), ST_OK);
	CHECK_EQ(pool.nfree, POOL_PAGES - view.npages);
	u64 splits = view.split_now;
	CHECK(splits > 0);
	ept_view_free(&view, &vpool);
	CHECK(pool_whole());
	CHECK_EQ(view.root, 0);
	CHECK_EQ(view.npages, 0);
	CHECK_EQ(view.split_now, 0);
	CHECK_EQ(view.merges, splits);
	for (int i = 0; i < 1000; i++) {
		CHECK_EQ(build(mixed, ARRAY_SIZE(mixed)), ST_OK);
		ept_view_free(&view, &vpool);
	}
	CHECK(pool_whole());
	CHECK_EQ(view.splits, 1001 * splits);
	CHECK_EQ(view.merges, 1001 * splits);
	/* Freeing an empty view is harmless. */
	ept_view_free(&view, &vpool);
	CHECK(pool_whole());
}

TEST(ept_view_gives_everything_back_when_the_pool_runs_dry_or_a_watch_is_bad)
{
	shared_build(LAYOUT_4K);
	u8 *before = snapshot_shared();
	unsigned need = ept_view_pages_needed(mixed, ARRAY_SIZE(mixed));
	for (unsigned budget = 0; budget < need; budget++) {
		pool.budget = budget;
		CHECK_EQ(build(mixed, ARRAY_SIZE(mixed)), ST_NO_MEMORY);
		CHECK_EQ(view.root, 0);
		CHECK_EQ(view.npages, 0);
		CHECK_EQ(view.split_now, 0);
		CHECK(pool_whole());
	}
	pool.budget = need;
	CHECK_EQ(build(mixed, ARRAY_SIZE(mixed)), ST_OK);
	ept_view_free(&view, &vpool);
	CHECK(shared_unchanged(before));
	free(before);

	pool.budget = POOL_PAGES;
	static const struct ept_watch bad[][2] = {
		{ { 0x00A00000, EPT_WRITE }, { 0x00C01000, EPT_WRITE } }, /* hidden: not in the EPT */
		{ { 0x00A00000, EPT_WRITE }, { 5 * GiB, EPT_WRITE } },    /* past the top */
		{ { 0x00A00000, EPT_WRITE }, { 0x00A00800, EPT_WRITE } }, /* not page aligned */
		{ { 0x00A00000, EPT_WRITE }, { 0x00A02000, BIT(8) } },    /* not an access right */
		{ { 0x00A00000, EPT_WRITE }, { 1ULL << 48, EPT_WRITE } }, /* beyond 48 bits */
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(build(bad[i], 2), ST_INVALID);
		CHECK_EQ(view.root, 0);
		CHECK_EQ(view.npages, 0);
		CHECK(pool_whole());
	}
}

TEST(ept_view_leaf_is_the_private_leaf_on_private_paths_only)
{
	shared_build(LAYOUT_GIB);
	CHECK(ept_view_leaf(&ops, &view, GiB) == NULL); /* an empty view: all shared */
	struct ept_watch w[] = { { GiB + 0x5000, EPT_WRITE } };
	CHECK_EQ(build(w, 1), ST_OK);
	u64 *leaf = ept_view_leaf(&ops, &view, GiB + 0x5000);
	int l;
	CHECK(leaf != NULL);
	CHECK(leaf == pt_walk(&ops, view.root, GiB + 0x5000, 1, false, &l));
	CHECK(leaf && (*leaf & PT_ADDR_MASK) == GiB + 0x5000);
	CHECK(leaf && (*leaf & EPT_RWX) == (EPT_READ | EPT_EXEC));
	/* The rest of the private PT is private too, with every right. */
	u64 *next = ept_view_leaf(&ops, &view, GiB + 0x6000);
	CHECK(next && (*next & EPT_RWX) == EPT_RWX);
	CHECK(ept_view_leaf(&ops, &view, GiB + 2 * MiB) == NULL); /* private PD, shared leaf */
	CHECK(ept_view_leaf(&ops, &view, 2 * GiB) == NULL);       /* another GiB */
	CHECK(ept_view_leaf(&ops, &view, 0xA0000) == NULL);       /* a shared PT */
	/* Past what 4 levels translate: no alias of the watched page 2^48 higher. */
	CHECK(ept_view_leaf(&ops, &view, (1ULL << 48) + GiB + 0x5000) == NULL);
	ept_view_free(&view, &vpool);
	CHECK(ept_view_leaf(&ops, &view, GiB + 0x5000) == NULL);
}

TEST(ept_view_duplicate_watches_deny_the_union)
{
	shared_build(LAYOUT_GIB);
	struct ept_watch w[] = { { 0x00400000, EPT_WRITE }, { 0x00400000, EPT_EXEC }, { 0x00400000, EPT_WRITE } };
	CHECK_EQ(build(w, 3), ST_OK);
	CHECK_EQ(view.npages, 4);
	CHECK_EQ(ept_view_pages_needed(w, 3), 4);
	u64 *leaf = ept_view_leaf(&ops, &view, 0x00400000);
	CHECK(leaf && (*leaf & EPT_RWX) == EPT_READ);
	CHECK_EQ(compare_page(w, 3, 0x00400000), 0);
	ept_view_free(&view, &vpool);

	/* Every right taken, then taken again: the page is absent from the view, not an error. */
	struct ept_watch all[] = { { 0x00400000, EPT_RWX }, { 0x00400000, EPT_READ } };
	CHECK_EQ(build(all, 2), ST_OK);
	leaf = ept_view_leaf(&ops, &view, 0x00400000);
	CHECK(leaf && (*leaf & EPT_RWX) == 0 && (*leaf & PT_ADDR_MASK) == 0x00400000);
	u64 phys, e;
	int l;
	CHECK(!pt_translate(&ops, view.root, 0x00400000, &phys, &e, &l));
	ept_view_free(&view, &vpool);
	CHECK(pool_whole());
}
