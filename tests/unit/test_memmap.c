/* test_memmap.c: RAM/non-RAM spans for the host map and the trampoline page choice. */
#include <string.h>
#include "check.h"
#include "../../mm/memmap.h"

static const struct mem_region ovmf[] = {
	{ 0, 0xa0000, MB2_MEM_AVAILABLE },
	{ 0x100000, 0x706000, MB2_MEM_AVAILABLE },
	{ 0x806000, 0x2000, MB2_MEM_NVS },
	{ 0x808000, 0x8000, MB2_MEM_AVAILABLE },
	{ 0x1ea8a000, 0x102000, MB2_MEM_RESERVED },
	{ 0x900000, 0x1e18a000, MB2_MEM_AVAILABLE },
	{ 0xb0000000, 0x10000000, MB2_MEM_RESERVED },
};

TEST(memmap_spans_cover_everything_in_order)
{
	struct mem_span s[MEMMAP_MAX_SPANS];
	unsigned n = memmap_spans(ovmf, ARRAY_SIZE(ovmf), 4 * GiB, s, MEMMAP_MAX_SPANS);
	CHECK(n > 0);
	CHECK_EQ(s[0].base, 0);
	CHECK_EQ(s[n - 1].end, 4 * GiB);
	for (unsigned i = 0; i + 1 < n; i++) {
		CHECK_EQ(s[i].end, s[i + 1].base);
		CHECK(s[i].ram != s[i + 1].ram); /* neighbours of one kind are merged */
	}
	/* Spot checks: low RAM, the legacy hole, NVS counts as RAM, a reserved range, MMIO. */
	struct {
		u64 addr;
		bool ram;
	} probe[] = { { 0x1000, true }, { 0xb0000, false }, { 0x806000, true }, { 0x810000, false },
		      { 0x1ea8a000, false }, { 0x1eb8c000, false }, { 0x1000000, true },
		      { 0xfee00000, false }, { 0xb0000000, false } };
	for (unsigned k = 0; k < ARRAY_SIZE(probe); k++) {
		for (unsigned i = 0; i < n; i++)
			if (probe[k].addr >= s[i].base && probe[k].addr < s[i].end)
				CHECK_EQ(s[i].ram, probe[k].ram);
	}
	CHECK_EQ(memmap_top(ovmf, ARRAY_SIZE(ovmf)), 0xc0000000);
}

TEST(memmap_reserved_inside_ram_wins)
{
	static const struct mem_region m[] = {
		{ 0, 64 * MiB, MB2_MEM_AVAILABLE },
		{ 16 * MiB, 4096, MB2_MEM_BAD },
	};
	struct mem_span s[8];
	unsigned n = memmap_spans(m, 2, 64 * MiB, s, 8);
	CHECK_EQ(n, 3);
	CHECK(s[0].ram && !s[1].ram && s[2].ram);
	CHECK_EQ(s[1].base, 16 * MiB);
	CHECK_EQ(s[1].end, 16 * MiB + 4096);
}

TEST(memmap_low_page_avoids_boot_data)
{
	static const struct mem_region m[] = {
		{ 0, 0x9fc00, MB2_MEM_AVAILABLE },
		{ 0x9fc00, 0x400, MB2_MEM_RESERVED },
	};
	struct phys_range avoid[] = { { 0x1000, 0x2800 } };
	CHECK_EQ(memmap_low_pages(m, 2, 1, avoid, 1), 0x3000);
	CHECK_EQ(memmap_low_pages(m, 2, 1, NULL, 0), 0x1000);
	static const struct mem_region none[] = { { 0x100000, 0x100000, MB2_MEM_AVAILABLE } };
	CHECK_EQ(memmap_low_pages(none, 1, 1, NULL, 0), 0);
	/* A page the last available entry only partly covers is not used. */
	static const struct mem_region partial[] = { { 0x5000, 0x800, MB2_MEM_AVAILABLE } };
	CHECK_EQ(memmap_low_pages(partial, 1, 1, NULL, 0), 0);
}
