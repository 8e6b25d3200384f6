/* test_pt.c: the shared page-table walk: mapping, page-size choice, splitting, translation. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../mm/pt.h"
#include "simmem.h"

#define P BIT(0)
#define RW BIT(1)
#define PS BIT(7)

static struct pt_ops ops;
static u64 root;

static void setup(int max_leaf)
{
	sim_reset(SIM_PAGES);
	ops = (struct pt_ops){ P, PS, P | RW, max_leaf, sim_table, sim_alloc, NULL, { 0 } };
	root = sim_alloc(NULL);
}

static void expect(u64 va, u64 pa, int level)
{
	u64 phys, leaf;
	int l;
	CHECK(pt_translate(&ops, root, va, &phys, &leaf, &l));
	CHECK_EQ(phys, pa);
	CHECK_EQ(l, level);
}

TEST(pt_uses_the_largest_pages_alignment_allows)
{
	setup(3);
	/* A 4 KiB head, a 2 MiB page, two 1 GiB pages, a 2 MiB page and a 4 KiB tail. */
	u64 start = GiB - 2 * MiB - PAGE_SIZE, size = 2 * GiB + 4 * MiB + 2 * PAGE_SIZE;
	CHECK_EQ(pt_map_range(&ops, root, start, start, size, P | RW), ST_OK);
	expect(start, start, 1);
	expect(GiB - 2 * MiB + 5, GiB - 2 * MiB + 5, 2);
	expect(GiB + 12345, GiB + 12345, 3);
	expect(2 * GiB + 3 * MiB, 2 * GiB + 3 * MiB, 3);
	expect(3 * GiB + MiB, 3 * GiB + MiB, 2);
	expect(start + size - 1, start + size - 1, 1);
	u64 phys, leaf;
	int l;
	CHECK(!pt_translate(&ops, root, start - 1, &phys, &leaf, &l));
	CHECK(!pt_translate(&ops, root, start + size, &phys, &leaf, &l));
	CHECK_EQ(ops.tables_allocated[3], 1); /* one PDPT */
	CHECK_EQ(ops.tables_allocated[2], 2); /* PDs around the 1 GiB page */
	CHECK_EQ(ops.tables_allocated[1], 2); /* PTs for the two 4 KiB ends */
}

TEST(pt_without_1g_pages_uses_2m)
{
	setup(2);
	CHECK_EQ(pt_map_range(&ops, root, 0, 0, 4 * GiB, P | RW), ST_OK);
	expect(3 * GiB + 7, 3 * GiB + 7, 2);
	CHECK_EQ(ops.tables_allocated[2], 4);
	CHECK_EQ(ops.tables_allocated[1], 0);
}

TEST(pt_maps_to_a_different_physical_address)
{
	setup(3);
	CHECK_EQ(pt_map_range(&ops, root, 0x40000000, 0x1234000, 8 * PAGE_SIZE, P), ST_OK);
	expect(0x40000000 + 3 * PAGE_SIZE + 9, 0x1234000 + 3 * PAGE_SIZE + 9, 1);
	/* Misaligned requests are refused, not rounded. */
	CHECK_EQ(pt_map_range(&ops, root, 0x1001, 0x1000, PAGE_SIZE, P), ST_INVALID);
}

TEST(pt_walk_splits_large_pages_keeping_attributes)
{
	setup(3);
	CHECK_EQ(pt_map_range(&ops, root, 0, 0, GiB, P | RW), ST_OK);
	int l;
	u64 *e = pt_walk(&ops, root, 5 * MiB + 3 * PAGE_SIZE, 1, true, &l);
	CHECK(e != NULL);
	CHECK_EQ(l, 1);
	/* The split 1 GiB -> 2 MiB -> 4 KiB keeps every translation. */
	CHECK_EQ(*e, (5 * MiB + 3 * PAGE_SIZE) | P | RW);
	*e &= ~RW;
	for (u64 va = 0; va < GiB; va += 997 * PAGE_SIZE + 13) {
		u64 phys, leaf;
		CHECK(pt_translate(&ops, root, va, &phys, &leaf, &l));
		CHECK_EQ(phys, va);
	}
	expect(5 * MiB + 3 * PAGE_SIZE, 5 * MiB + 3 * PAGE_SIZE, 1);
	expect(7 * MiB, 7 * MiB, 2);
	expect(512 * MiB, 512 * MiB, 2);
	u64 phys, leaf;
	pt_translate(&ops, root, 5 * MiB + 3 * PAGE_SIZE, &phys, &leaf, &l);
	CHECK(!(leaf & RW));
	CHECK(!(leaf & PS)); /* bit 7 is PAT in a 4 KiB entry: not inherited */
	pt_translate(&ops, root, 5 * MiB + 4 * PAGE_SIZE, &phys, &leaf, &l);
	CHECK(leaf & RW);
}

TEST(pt_reports_running_out_of_table_pages)
{
	sim_reset(3); /* root + PDPT + one PD */
	ops = (struct pt_ops){ P, PS, P | RW, 3, sim_table, sim_alloc, NULL, { 0 } };
	root = sim_alloc(NULL);
	CHECK_EQ(pt_map_range(&ops, root, 0, 0, 4 * MiB, P), ST_OK);
	CHECK_EQ(pt_map_range(&ops, root, 4 * MiB, 4 * MiB, PAGE_SIZE, P), ST_NO_MEMORY);
	CHECK_EQ(pt_map_range(&ops, root, 0, 0, PAGE_SIZE, P), ST_NO_MEMORY); /* split needs one */
}
