/* test_pmm.c: the physical allocator never hands out what it must not, and keeps exact books. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../mm/pmm.h"

static struct pmm p;

/* QEMU's BIOS map, with the kernel at 2 MiB, boot info and two modules. */
static const struct mem_region qemu_map[] = {
	{ 0, 0x9fc00, MB2_MEM_AVAILABLE },
	{ 0x9fc00, 0x400, MB2_MEM_RESERVED },
	{ 0xf0000, 0x10000, MB2_MEM_RESERVED },
	{ 0x100000, 0x1fee0000, MB2_MEM_AVAILABLE },
	{ 0x1ffe0000, 0x20000, MB2_MEM_RESERVED },
	{ 0xfffc0000, 0x40000, MB2_MEM_RESERVED },
};
static const struct phys_range reserved[] = {
	{ 0x200000, 0x23f000 },   /* kernel image */
	{ 0x10000ff8, 0x10001100 }, /* boot information: unaligned on both ends */
	{ 0x400000, 0x1400000 },  /* guest kernel module */
	{ 0x1400000, 0x1400001 }, /* a one-byte module */
};

static bool overlaps(u64 a, u64 n, u64 lo, u64 hi)
{
	return a < hi && a + n * PAGE_SIZE > lo;
}

static bool allowed(u64 a, u64 n)
{
	if (a < PMM_LOW_LIMIT)
		return false;
	for (unsigned i = 0; i < ARRAY_SIZE(reserved); i++)
		if (overlaps(a, n, ALIGN_DOWN(reserved[i].base, PAGE_SIZE),
			     ALIGN_UP(reserved[i].end, PAGE_SIZE)))
			return false;
	for (unsigned i = 0; i < ARRAY_SIZE(qemu_map); i++)
		if (qemu_map[i].type != MB2_MEM_AVAILABLE &&
		    overlaps(a, n, qemu_map[i].base, qemu_map[i].base + qemu_map[i].length))
			return false;
	return true;
}

static void init(void)
{
	CHECK_EQ(pmm_init(&p, qemu_map, ARRAY_SIZE(qemu_map), reserved, ARRAY_SIZE(reserved)), ST_OK);
}

TEST(pmm_counts_usable_memory_exactly)
{
	init();
	/* 1 MiB..0x1ffe0000 minus the kernel (63 pages), boot info (2 pages), modules (4097 pages). */
	u64 expect = (0x1ffe0000 - 0x100000) / PAGE_SIZE - 63 - 2 - 4096 - 1;
	CHECK_EQ(p.total_pages, expect);
	CHECK_EQ(p.free_pages, expect);
}

TEST(pmm_drains_without_touching_reserved_memory)
{
	init();
	u64 got = 0, a;
	while ((a = pmm_alloc(&p, 1, PAGE_SIZE, ~0ULL)) != 0) {
		if (!allowed(a, 1)) {
			CHECK(allowed(a, 1));
			break;
		}
		got++;
	}
	CHECK_EQ(got, p.total_pages);
	CHECK_EQ(p.free_pages, 0);
	CHECK_EQ(pmm_alloc(&p, 1, PAGE_SIZE, ~0ULL), 0);
}

TEST(pmm_allocates_top_down_aligned_and_below_a_limit)
{
	init();
	u64 a = pmm_alloc(&p, 1, PAGE_SIZE, ~0ULL);
	CHECK_EQ(a, 0x1ffe0000 - PAGE_SIZE);
	u64 b = pmm_alloc(&p, 512, 2 * MiB, ~0ULL);
	CHECK(b && IS_ALIGNED(b, 2 * MiB) && allowed(b, 512));
	u64 c = pmm_alloc(&p, 4, PAGE_SIZE, 0x300000);
	CHECK(c && c + 4 * PAGE_SIZE <= 0x300000 && allowed(c, 4));
	CHECK_EQ(pmm_alloc(&p, 1, PAGE_SIZE, PMM_LOW_LIMIT), 0);
	CHECK_EQ(pmm_alloc(&p, 0, PAGE_SIZE, ~0ULL), 0);
	CHECK_EQ(pmm_alloc(&p, 1ULL << 40, PAGE_SIZE, ~0ULL), 0);
}

TEST(pmm_free_merges_and_catches_double_frees)
{
	init();
	u64 n0 = p.n, f0 = p.free_pages;
	u64 a = pmm_alloc(&p, 16, PAGE_SIZE, ~0ULL);
	CHECK_EQ(pmm_free(&p, a + 4 * PAGE_SIZE, 4), ST_OK);
	CHECK_EQ(pmm_free(&p, a + 4 * PAGE_SIZE, 1), ST_CONFLICT);
	CHECK_EQ(pmm_free(&p, a, 4), ST_OK);
	CHECK_EQ(pmm_free(&p, a + 8 * PAGE_SIZE, 8), ST_OK);
	CHECK_EQ(p.free_pages, f0);
	CHECK_EQ(p.n, n0); /* everything merged back */
	CHECK_EQ(pmm_free(&p, a + 1, 1), ST_INVALID);
	CHECK_EQ(pmm_free(&p, 0x1000, 1), ST_INVALID); /* below 1 MiB is never ours */
}

TEST(pmm_overlapping_and_hostile_maps)
{
	static const struct mem_region m[] = {
		{ 0x100000, 0x1000000, MB2_MEM_AVAILABLE },
		{ 0x800000, 0x1000000, MB2_MEM_AVAILABLE }, /* overlaps the first */
		{ 0x900000, 0x1000, MB2_MEM_RESERVED },     /* a hole inside both */
		{ 0x2000000, 0x1800, MB2_MEM_AVAILABLE },   /* not a whole number of pages */
		{ 0xfffffffffffff000ULL, 0x2000, MB2_MEM_AVAILABLE }, /* wraps around */
		{ 0x3000000, 0, MB2_MEM_AVAILABLE },
	};
	CHECK_EQ(pmm_init(&p, m, ARRAY_SIZE(m), NULL, 0), ST_OK);
	/* The hole costs a page, the ragged entry gives one whole page, the wrapping one none. */
	u64 expect = (0x1800000 - 0x100000) / PAGE_SIZE - 1 + 1;
	CHECK_EQ(p.total_pages, expect);
	u64 a;
	while ((a = pmm_alloc(&p, 1, PAGE_SIZE, ~0ULL)) != 0)
		CHECK(a != 0x900000);
}

/* Random allocations and frees against a page-by-page model. */
TEST(pmm_random_against_a_model)
{
	static const struct mem_region m[] = { { 0x100000, 64 * MiB, MB2_MEM_AVAILABLE } };
	CHECK_EQ(pmm_init(&p, m, 1, NULL, 0), ST_OK);
	enum { PAGES = 64 * 256 };
	static u8 used[PAGES];
	/* At most 200 live blocks keep the free list within PMM_MAX_EXTENTS. */
	static struct { u64 a, n; } live[200];
	unsigned nlive = 0;
	memset(used, 0, sizeof(used));
	srand(1);
	for (int step = 0; step < 20000; step++) {
		if (nlive < ARRAY_SIZE(live) && (rand() % 3 || !nlive)) {
			u64 n = 1 + (u64)(rand() % 40);
			u64 align = PAGE_SIZE << (rand() % 6);
			u64 a = pmm_alloc(&p, n, align, ~0ULL);
			if (!a)
				continue;
			CHECK(IS_ALIGNED(a, align));
			for (u64 i = 0; i < n; i++) {
				u64 idx = (a - 0x100000) / PAGE_SIZE + i;
				if (idx >= PAGES || used[idx]) {
					CHECK(!"allocated twice or out of range");
					return;
				}
				used[idx] = 1;
			}
			live[nlive].a = a;
			live[nlive++].n = n;
		} else {
			unsigned k = (unsigned)rand() % nlive;
			CHECK_EQ(pmm_free(&p, live[k].a, live[k].n), ST_OK);
			for (u64 i = 0; i < live[k].n; i++)
				used[(live[k].a - 0x100000) / PAGE_SIZE + i] = 0;
			live[k] = live[--nlive];
		}
		u64 in_use = 0;
		for (unsigned i = 0; i < nlive; i++)
			in_use += live[i].n;
		if (p.free_pages + in_use != PAGES) {
			CHECK_EQ(p.free_pages + in_use, PAGES);
			return;
		}
	}
}

TEST(pmm_extent_table_full_is_reported)
{
	static struct mem_region m[PMM_MAX_EXTENTS + 10];
	for (unsigned i = 0; i < ARRAY_SIZE(m); i++)
		m[i] = (struct mem_region){ 0x100000 + i * 0x2000ULL, 0x1000, MB2_MEM_AVAILABLE };
	CHECK_EQ(pmm_init(&p, m, ARRAY_SIZE(m), NULL, 0), ST_NO_MEMORY);
	CHECK_EQ(p.total_pages, PMM_MAX_EXTENTS);
}

TEST(pmm_full_extent_table_never_loses_pages)
{
	static const struct mem_region m[] = { { 0x100000, 64 * MiB, MB2_MEM_AVAILABLE } };
	CHECK_EQ(pmm_init(&p, m, 1, NULL, 0), ST_OK);
	/* Free every other page of a drained allocator until the table is full. */
	u64 first = 0x100000;
	while (pmm_alloc(&p, 1, PAGE_SIZE, ~0ULL))
		;
	unsigned freed = 0;
	for (u64 a = first; p.n < PMM_MAX_EXTENTS; a += 2 * PAGE_SIZE, freed++)
		CHECK_EQ(pmm_free(&p, a, 1), ST_OK);
	CHECK_EQ(p.free_pages, freed);
	/* A free that needs a new extent fails, and says so; one that merges still works. */
	u64 beyond = first + 2 * PAGE_SIZE * (PMM_MAX_EXTENTS + 4);
	CHECK_EQ(pmm_free(&p, beyond, 1), ST_NO_MEMORY);
	CHECK_EQ(pmm_free(&p, first + PAGE_SIZE, 1), ST_OK);
	/* Carving out of the middle of an extent needs a split: the allocator goes elsewhere. */
	u64 before = p.free_pages;
	u64 a = pmm_alloc(&p, 1, PAGE_SIZE, ~0ULL);
	CHECK(a != 0);
	CHECK_EQ(p.free_pages, before - 1);
}
