/* test_mtrr.c: memory types from MTRR state, including the SDM's overlap rules. */
#include <string.h>
#include "check.h"
#include "../../mm/mtrr.h"

static struct mtrr_state st;

/* A variable range [base, base+size) of @type (size a power of two, base aligned). */
static void var(unsigned i, u64 base, u64 size, u8 type)
{
	st.var[i].base = base | type;
	st.var[i].mask = (st.addr_mask & ~(size - 1)) | MTRR_PHYSMASK_VALID;
	if (st.nvar <= i)
		st.nvar = i + 1;
}

static void reset(u8 def)
{
	memset(&st, 0, sizeof(st));
	st.enabled = true;
	st.default_type = def;
	st.addr_mask = GENMASK(35, 12); /* a 36-bit physical address width */
}

TEST(mtrr_disabled_means_uncached)
{
	reset(MEMTYPE_WB);
	st.enabled = false;
	u8 t;
	CHECK_EQ(mtrr_type(&st, 0x100000), MEMTYPE_UC);
	CHECK(mtrr_uniform(&st, 0, GiB, &t) && t == MEMTYPE_UC);
}

TEST(mtrr_default_and_single_ranges)
{
	reset(MEMTYPE_UC);
	var(0, 0, 512 * MiB, MEMTYPE_WB);
	CHECK_EQ(mtrr_type(&st, 0x1000), MEMTYPE_WB);
	CHECK_EQ(mtrr_type(&st, 512 * MiB - 1), MEMTYPE_WB);
	CHECK_EQ(mtrr_type(&st, 512 * MiB), MEMTYPE_UC);
	u8 t;
	CHECK(mtrr_uniform(&st, 256 * MiB, 2 * MiB, &t) && t == MEMTYPE_WB);
	CHECK(!mtrr_uniform(&st, 0, GiB, &t)); /* WB then UC inside one 1 GiB page */
	CHECK(mtrr_uniform(&st, 3 * GiB, GiB, &t) && t == MEMTYPE_UC);
}

TEST(mtrr_uc_range_inside_a_2m_page)
{
	/* Everything WB, but one 4 KiB page of a 2 MiB region uncached. */
	reset(MEMTYPE_WB);
	var(0, 0x00A01000, 0x1000, MEMTYPE_UC);
	u8 t;
	CHECK(!mtrr_uniform(&st, 0x00A00000, 2 * MiB, &t));
	CHECK(mtrr_uniform(&st, 0x00A00000, 0x1000, &t) && t == MEMTYPE_WB);
	CHECK(mtrr_uniform(&st, 0x00A01000, 0x1000, &t) && t == MEMTYPE_UC);
	CHECK(mtrr_uniform(&st, 0x00C00000, 2 * MiB, &t) && t == MEMTYPE_WB);
}

TEST(mtrr_overlapping_variable_ranges)
{
	/* SDM Vol. 3A, 12.11.4.1: UC wins; WT and WB give WT; other mixes are undefined (UC here). */
	reset(MEMTYPE_UC);
	var(0, 0, GiB, MEMTYPE_WB);
	var(1, 256 * MiB, 256 * MiB, MEMTYPE_WT);
	var(2, 128 * MiB, 2 * MiB, MEMTYPE_UC);
	var(3, 64 * MiB, 64 * MiB, MEMTYPE_WC);
	CHECK_EQ(mtrr_type(&st, 300 * MiB), MEMTYPE_WT);
	CHECK_EQ(mtrr_type(&st, 129 * MiB), MEMTYPE_UC);
	CHECK_EQ(mtrr_type(&st, 70 * MiB), MEMTYPE_UC);
	CHECK_EQ(mtrr_type(&st, 10 * MiB), MEMTYPE_WB);
	u8 t;
	CHECK(mtrr_uniform(&st, 300 * MiB, 2 * MiB, &t) && t == MEMTYPE_WT);
	CHECK(!mtrr_uniform(&st, 254 * MiB, 4 * MiB, &t));
}

TEST(mtrr_fixed_ranges_govern_the_first_megabyte)
{
	reset(MEMTYPE_WB);
	st.fixed_enabled = true;
	memset(st.fixed, MEMTYPE_WB, sizeof(st.fixed));
	for (unsigned i = 16; i < 24; i++) /* 0xA0000-0xBFFFF: the legacy VGA window */
		st.fixed[i] = MEMTYPE_UC;
	var(0, 0, GiB, MEMTYPE_WB);
	CHECK_EQ(mtrr_type(&st, 0x9F000), MEMTYPE_WB);
	CHECK_EQ(mtrr_type(&st, 0xA0000), MEMTYPE_UC);
	CHECK_EQ(mtrr_type(&st, 0xBC000), MEMTYPE_UC);
	CHECK_EQ(mtrr_type(&st, 0xC0000), MEMTYPE_WB);
	u8 t;
	CHECK(!mtrr_uniform(&st, 0, 2 * MiB, &t));
	CHECK(mtrr_uniform(&st, 2 * MiB, 2 * MiB, &t) && t == MEMTYPE_WB);
	st.fixed_enabled = false; /* then the variable ranges rule there too */
	CHECK_EQ(mtrr_type(&st, 0xA0000), MEMTYPE_WB);
}
