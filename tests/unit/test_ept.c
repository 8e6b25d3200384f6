/* test_ept.c: the EPT identity map: page sizes, memory types, hidden hypervisor memory. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../vmx/ept.h"
#include "mtrr_fixture.h"
#include "simmem.h"

static struct pt_ops ops;
static u64 root;
static struct mtrr_state m;
static struct ept_map_stats st;

static status_t build(bool gib, const struct ept_hidden *h)
{
	sim_reset(64);
	ops = (struct pt_ops){ EPT_RWX, EPT_LARGE, EPT_RWX, gib ? 3 : 2, sim_table, sim_alloc, NULL, { 0 } };
	root = sim_alloc(NULL);
	memset(&st, 0, sizeof(st));
	return ept_map_identity(&ops, root, &m, 4 * GiB, h, &st);
}

static void leaf_at(u64 gpa, int level, u8 type, bool present)
{
	u64 phys, leaf;
	int l;
	bool ok = pt_translate(&ops, root, gpa, &phys, &leaf, &l);
	CHECK_EQ(ok, present);
	if (!ok || !present)
		return;
	CHECK_EQ(phys, gpa);
	CHECK_EQ(l, level);
	CHECK_EQ((leaf >> EPT_MEMTYPE_SHIFT) & 7, type);
	CHECK_EQ(leaf & EPT_RWX, EPT_RWX);
}

TEST(ept_512m_guest_needs_few_pages)
{
	bochs_like_mtrrs(&m);
	struct ept_hidden h = { { { 2 * MiB, 4 * MiB }, { 0x1EE00000, 0x1FE00000 } }, 2 };
	CHECK_EQ(build(true, &h), ST_OK);
	/* PML4 + PDPT + the PD of the first GiB + one PT for the first 2 MiB (fixed MTRRs). */
	CHECK_EQ(sim_used(), 4);
	CHECK_EQ(st.leaves[3], 3);
	CHECK_EQ(st.leaves[1], 512);
	leaf_at(0x1000, 1, MEMTYPE_WB, true);
	leaf_at(0xA0000, 1, MEMTYPE_UC, true);
	leaf_at(16 * MiB, 2, MEMTYPE_WB, true);
	leaf_at(3 * GiB + 0xFEE00000 % GiB, 3, MEMTYPE_UC, true);
	/* Hypervisor memory is simply absent. */
	leaf_at(2 * MiB, 0, 0, false);
	leaf_at(4 * MiB - 1, 0, 0, false);
	leaf_at(0x1EE00000, 0, 0, false);
	leaf_at(0x1FDFFFFF, 0, 0, false);
	leaf_at(0x1FE00000, 2, MEMTYPE_WB, true);
}

TEST(ept_without_1g_pages)
{
	bochs_like_mtrrs(&m);
	struct ept_hidden h = { .n = 0 };
	CHECK_EQ(build(false, &h), ST_OK);
	CHECK_EQ(st.leaves[3], 0);
	CHECK_EQ(sim_used(), 1 + 1 + 4 + 1); /* PML4, PDPT, four PDs, one PT */
	leaf_at(3 * GiB, 2, MEMTYPE_UC, true);
}

TEST(ept_splits_only_where_types_or_hiding_require)
{
	bochs_like_mtrrs(&m);
	m.fixed_enabled = false;
	/* A UC page in the middle of RAM, and hidden memory that starts off a 2 MiB boundary. */
	m.var[1].base = 0x00A01000 | MEMTYPE_UC;
	m.var[1].mask = (m.addr_mask & ~0xFFFULL) | MTRR_PHYSMASK_VALID;
	m.nvar = 2;
	struct ept_hidden h = { { { 0x00C01000, 0x00E00000 } }, 1 };
	CHECK_EQ(build(true, &h), ST_OK);
	CHECK_EQ(sim_used(), 1 + 1 + 1 + 2); /* two PTs: the UC page's region and the hidden edge */
	leaf_at(0x00A00000, 1, MEMTYPE_WB, true);
	leaf_at(0x00A01000, 1, MEMTYPE_UC, true);
	leaf_at(0x00C00000, 1, MEMTYPE_WB, true);
	leaf_at(0x00C01000, 0, 0, false);
	leaf_at(0x00E00000, 2, MEMTYPE_WB, true);
	leaf_at(0, 2, MEMTYPE_WB, true); /* fixed ranges off: the first 2 MiB is one page */
	CHECK(ept_hidden_find(&h, 0x00C05000) != NULL);
	CHECK(ept_hidden_find(&h, 0x00E00000) == NULL);
}

TEST(ept_reports_running_out_of_tables)
{
	bochs_like_mtrrs(&m);
	struct ept_hidden h = { .n = 0 };
	sim_reset(2); /* room for the root and one more */
	ops = (struct pt_ops){ EPT_RWX, EPT_LARGE, EPT_RWX, 3, sim_table, sim_alloc, NULL, { 0 } };
	root = sim_alloc(NULL);
	CHECK_EQ(ept_map_identity(&ops, root, &m, 4 * GiB, &h, &st), ST_NO_MEMORY);
}

TEST(ept_open_bus_maps_everything_past_the_top_to_one_read_only_page)
{
	static const struct ept_hidden none = { 0 };
	bochs_like_mtrrs(&m);
	CHECK_EQ(build(true, &none), ST_OK);
	unsigned before = ops.tables_allocated[1] + ops.tables_allocated[2] + ops.tables_allocated[3];
	u64 ones = sim_alloc(NULL), pt = sim_alloc(NULL), pd = sim_alloc(NULL), pdpt = sim_alloc(NULL);
	/* MAXPHYADDR 46: slot 0 from 4 GiB on, then 127 whole 512 GiB slots. */
	CHECK_EQ(ept_map_open_bus(&ops, root, 4 * GiB, 1ULL << 46, ones, pt, pd, pdpt), ST_OK);
	CHECK_EQ(ops.tables_allocated[1] + ops.tables_allocated[2] + ops.tables_allocated[3], before);
	static const u64 probes[] = { 4 * GiB, 4 * GiB + 0x1234, 511 * GiB + 0xFFF, 512 * GiB,
				      (1ULL << 46) - 8, 0x123456789000ULL };
	for (unsigned i = 0; i < ARRAY_SIZE(probes); i++) {
		u64 phys, leaf;
		int l;
		CHECK(pt_translate(&ops, root, probes[i], &phys, &leaf, &l));
		CHECK_EQ(phys, ones + (probes[i] & 0xFFF));
		CHECK_EQ(l, 1);
		CHECK_EQ(leaf & EPT_RWX, EPT_READ); /* a write is a violation slatvisor drops */
	}
	leaf_at(4 * GiB - PAGE_SIZE, 3, MEMTYPE_UC, true); /* below the top: as before */
	u64 phys, leaf;
	int l;
	CHECK(!pt_translate(&ops, root, 1ULL << 46, &phys, &leaf, &l)); /* beyond MAXPHYADDR: nothing */
	/* A top that is not the end of a 512 GiB slot, and an end inside one. */
	CHECK_EQ(build(true, &none), ST_OK);
	ones = sim_alloc(NULL), pt = sim_alloc(NULL), pd = sim_alloc(NULL), pdpt = sim_alloc(NULL);
	CHECK_EQ(ept_map_open_bus(&ops, root, 4 * GiB, 1ULL << 39, ones, pt, pd, pdpt), ST_OK);
	CHECK(pt_translate(&ops, root, (1ULL << 39) - 1, &phys, &leaf, &l) && phys == ones + 0xFFF);
	CHECK(!pt_translate(&ops, root, 1ULL << 39, &phys, &leaf, &l));
}
