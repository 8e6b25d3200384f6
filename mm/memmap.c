/* memmap.c: classify physical address space from the memory map (pure logic, host-tested). */
#include "memmap.h"

static bool is_ram_type(u32 type)
{
	return type == MB2_MEM_AVAILABLE || type == MB2_MEM_ACPI_RECLAIMABLE || type == MB2_MEM_NVS;
}

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

static bool classify(const struct mem_region *map, unsigned n, u64 lo, u64 hi)
{
	bool ram = false;
	for (unsigned i = 0; i < n; i++) {
		if (map[i].base >= hi || region_end(&map[i]) <= lo)
			continue;
		if (!is_ram_type(map[i].type))
			return false;
		ram = true;
	}
	return ram;
}

unsigned memmap_spans(const struct mem_region *map, unsigned n, u64 top, struct mem_span *out,
		      unsigned max)
{
	u64 pts[MEMMAP_MAX_SPANS];
	unsigned np = 0;
	pts[np++] = 0;
	pts[np++] = ALIGN_DOWN(top, PAGE_SIZE);
	for (unsigned i = 0; i < n && np + 2 <= MEMMAP_MAX_SPANS; i++) {
		pts[np++] = MIN(ALIGN_DOWN(map[i].base, PAGE_SIZE), pts[1]);
		pts[np++] = MIN(ALIGN_DOWN(region_end(&map[i]), PAGE_SIZE), pts[1]);
	}
	sort_u64(pts, np);

	unsigned ns = 0;
	for (unsigned i = 0; i + 1 < np; i++) {
		u64 lo = pts[i], hi = pts[i + 1];
		if (lo == hi)
			continue;
		bool ram = classify(map, n, lo, hi);
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

u64 memmap_low_page(const struct mem_region *map, unsigned n, const struct phys_range *avoid,
		    unsigned navoid)
{
	for (u64 page = PAGE_SIZE; page < PMM_LOW_LIMIT; page += PAGE_SIZE) {
		bool ok = false;
		for (unsigned i = 0; i < n && !ok; i++)
			ok = map[i].type == MB2_MEM_AVAILABLE && map[i].base <= page &&
			     region_end(&map[i]) >= page + PAGE_SIZE;
		/* Any other entry overlapping the page wins, as in memmap_spans. */
		for (unsigned i = 0; i < n && ok; i++)
			if (map[i].type != MB2_MEM_AVAILABLE && map[i].base < page + PAGE_SIZE &&
			    region_end(&map[i]) > page)
				ok = false;
		for (unsigned i = 0; i < navoid && ok; i++)
			if (avoid[i].base < page + PAGE_SIZE && avoid[i].end > page)
				ok = false;
		if (ok)
			return page;
	}
	return 0;
}
