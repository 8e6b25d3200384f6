/* memmap.c: classify physical address space from the memory map (pure logic, host-tested). */
#include "memmap.h"

static u64 region_end(const struct mem_region *r)
{
	u64 end = r->base + r->length;
	return end < r->base ? ~0ULL : end;
}

u64 memmap_top(const struct mem_region *map, unsigned n)
{
	u64 top = 0;
	for (unsigned i = 0; i < n; i++)
		top = MAX(top, region_end(&map[i]));
	return top;
}

static void sort_u64(u64 *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		u64 v = a[i];
		unsigned j = i;
		for (; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/*
 * The sorted boundaries of @map's entries and of @extra, clipped to [0, top]
 * and aligned down to 4 KiB: between two neighbours, nothing changes.
 */
static unsigned boundaries(const struct mem_region *map, unsigned n, const struct phys_range *extra,
			   unsigned nextra, u64 top, u64 *pts, unsigned max)
{
	unsigned np = 0;
	top = ALIGN_DOWN(top, PAGE_SIZE);
	pts[np++] = 0;
	pts[np++] = top;
	for (unsigned i = 0; i < n && np + 2 <= max; i++) {
		pts[np++] = MIN(ALIGN_DOWN(map[i].base, PAGE_SIZE), top);
		pts[np++] = MIN(ALIGN_DOWN(region_end(&map[i]), PAGE_SIZE), top);
	}
	for (unsigned i = 0; i < nextra && np + 2 <= max; i++) {
		pts[np++] = MIN(ALIGN_DOWN(extra[i].base, PAGE_SIZE), top);
		pts[np++] = MIN(ALIGN_UP(extra[i].end, PAGE_SIZE), top);
	}
	sort_u64(pts, np);
	return np;
}

/*
 * The type firmware gives [lo, hi): where entries overlap, the most cautious
 * wins (bad, then reserved, then ACPI NVS, then ACPI data, then available);
 * 0 where no entry covers it. Types unknown to the e820 standard count as reserved.
 */
static u32 type_of(const struct mem_region *map, unsigned n, u64 lo, u64 hi)
{
	static const u8 rank[] = { [MB2_MEM_AVAILABLE] = 1, [MB2_MEM_ACPI_RECLAIMABLE] = 2,
				   [MB2_MEM_NVS] = 3, [MB2_MEM_RESERVED] = 4, [MB2_MEM_BAD] = 5 };
	u32 best = 0;
	for (unsigned i = 0; i < n; i++) {
		if (map[i].base >= hi || region_end(&map[i]) <= lo)
			continue;
		u32 t = map[i].type < ARRAY_SIZE(rank) && rank[map[i].type] ? map[i].type
									 : MB2_MEM_RESERVED;
		if (!best || rank[t] > rank[best])
			best = t;
	}
	return best;
}

static bool is_ram_type(u32 type)
{
	return type == MB2_MEM_AVAILABLE || type == MB2_MEM_ACPI_RECLAIMABLE || type == MB2_MEM_NVS;
}

u64 memmap_ram_top(const struct mem_region *map, unsigned n)
{
	u64 top = 0;
	for (unsigned i = 0; i < n; i++)
		if (is_ram_type(map[i].type))
			top = MAX(top, region_end(&map[i]));
	return top;
}

unsigned memmap_spans(const struct mem_region *map, unsigned n, u64 top, struct mem_span *out,
		      unsigned max)
{
	u64 pts[MEMMAP_MAX_POINTS];
	unsigned np = boundaries(map, n, NULL, 0, top, pts, MEMMAP_MAX_POINTS);
	unsigned ns = 0;
	for (unsigned i = 0; i + 1 < np; i++) {
		u64 lo = pts[i], hi = pts[i + 1];
		if (lo == hi)
			continue;
		bool ram = is_ram_type(type_of(map, n, lo, hi));
		if (ns && out[ns - 1].ram == ram && out[ns - 1].end == lo) {
			out[ns - 1].end = hi;
			continue;
		}
		if (ns == max)
			break;
		out[ns++] = (struct mem_span){ lo, hi, ram };
	}
	return ns;
}

unsigned memmap_e820(const struct mem_region *map, unsigned n, const struct phys_range *reserve,
		     unsigned nreserve, struct e820_entry *out, unsigned max)
{
	u64 pts[MEMMAP_MAX_POINTS];
	unsigned np = boundaries(map, n, reserve, nreserve, memmap_top(map, n), pts, MEMMAP_MAX_POINTS);
	unsigned ne = 0;
	for (unsigned i = 0; i + 1 < np; i++) {
		u64 lo = pts[i], hi = pts[i + 1];
		if (lo == hi)
			continue;
		u32 t = type_of(map, n, lo, hi);
		if (!t)
			continue; /* a hole stays a hole */
		for (unsigned k = 0; k < nreserve; k++)
			if (reserve[k].base < hi && reserve[k].end > lo)
				t = MB2_MEM_RESERVED;
		if (ne && out[ne - 1].type == t && out[ne - 1].addr + out[ne - 1].size == lo) {
			out[ne - 1].size += hi - lo;
			continue;
		}
		if (ne == max)
			break;
		out[ne++] = (struct e820_entry){ lo, hi - lo, t };
	}
	return ne;
}

u64 memmap_low_pages(const struct mem_region *map, unsigned n, unsigned npages,
		     const struct phys_range *avoid, unsigned navoid)
{
	u64 size = npages * PAGE_SIZE;
	for (u64 base = PAGE_SIZE; base + size <= PMM_LOW_LIMIT; base += PAGE_SIZE) {
		/* Nothing more cautious overlaps, and every page lies whole inside an available entry. */
		bool ok = type_of(map, n, base, base + size) == MB2_MEM_AVAILABLE;
		for (u64 a = base; ok && a < base + size; a += PAGE_SIZE) {
			ok = false;
			for (unsigned i = 0; i < n && !ok; i++)
				ok = map[i].type == MB2_MEM_AVAILABLE && map[i].base <= a &&
				     region_end(&map[i]) >= a + PAGE_SIZE;
		}
		for (unsigned i = 0; i < navoid && ok; i++)
			if (avoid[i].base < base + size && avoid[i].end > base)
				ok = false;
		if (ok)
			return base;
	}
	return 0;
}
