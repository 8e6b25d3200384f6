/* pmm.c: a first-fit, top-down extent allocator; pure logic, unit-tested on the host. */
#include "pmm.h"
#include "../kernel/kstring.h"

static u64 range_pages(u64 base, u64 end)
{
	return (end - base) / PAGE_SIZE;
}

static status_t insert_at(struct pmm *p, unsigned i, u64 base, u64 end)
{
	if (p->n == PMM_MAX_EXTENTS)
		return ST_NO_MEMORY;
	memmove(&p->ext[i + 1], &p->ext[i], (p->n - i) * sizeof(p->ext[0]));
	p->ext[i] = (struct phys_range){ base, end };
	p->n++;
	return ST_OK;
}

static void delete_at(struct pmm *p, unsigned i)
{
	memmove(&p->ext[i], &p->ext[i + 1], (p->n - i - 1) * sizeof(p->ext[0]));
	p->n--;
}

/* Add a page-aligned free range, merging with neighbours. Fails on overlap. */
static status_t add_free(struct pmm *p, u64 base, u64 end)
{
	unsigned i = 0;
	while (i < p->n && p->ext[i].end < base)
		i++;
	/* ext[i] is the first extent that ends at or after base. */
	if (i < p->n && p->ext[i].base < end && p->ext[i].end > base)
		return ST_CONFLICT;
	bool join_prev = i < p->n && p->ext[i].end == base;
	if (join_prev) {
		p->ext[i].end = end;
		if (i + 1 < p->n && p->ext[i + 1].base == end) {
			p->ext[i].end = p->ext[i + 1].end;
			delete_at(p, i + 1);
		}
	} else if (i < p->n && p->ext[i].base == end) {
		p->ext[i].base = base;
	} else {
		status_t st = insert_at(p, i, base, end);
		if (st != ST_OK)
			return st;
	}
	p->free_pages += range_pages(base, end);
	return ST_OK;
}

/* How many extents removing [base, end) would split in two (each needs one more slot). */
static unsigned splits_needed(const struct pmm *p, u64 base, u64 end)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->n; i++)
		n += p->ext[i].base < base && p->ext[i].end > end;
	return n;
}

status_t pmm_remove(struct pmm *p, u64 base, u64 end)
{
	base = ALIGN_DOWN(base, PAGE_SIZE);
	end = ALIGN_UP(end, PAGE_SIZE);
	/* All or nothing: never lose track of pages because the table filled up halfway. */
	if (p->n + splits_needed(p, base, end) > PMM_MAX_EXTENTS)
		return ST_NO_MEMORY;
	for (unsigned i = 0; i < p->n && base < end; i++) {
		struct phys_range *e = &p->ext[i];
		if (e->end <= base || e->base >= end)
			continue;
		u64 cut_lo = MAX(e->base, base), cut_hi = MIN(e->end, end);
		p->free_pages -= range_pages(cut_lo, cut_hi);
		if (cut_lo == e->base && cut_hi == e->end) {
			delete_at(p, i--);
		} else if (cut_lo == e->base) {
			e->base = cut_hi;
		} else if (cut_hi == e->end) {
			e->end = cut_lo;
		} else {
			u64 tail_end = e->end;
			e->end = cut_lo;
			insert_at(p, i + 1, cut_hi, tail_end); /* room checked above */
		}
	}
	return ST_OK;
}

status_t pmm_init(struct pmm *p, const struct mem_region *map, unsigned nmap,
		  const struct phys_range *reserved, unsigned nreserved)
{
	memset(p, 0, sizeof(*p));
	status_t result = ST_OK;

	for (unsigned i = 0; i < nmap; i++) {
		if (map[i].type != MB2_MEM_AVAILABLE)
			continue;
		u64 base = ALIGN_UP(MAX(map[i].base, PMM_LOW_LIMIT), PAGE_SIZE);
		u64 top = map[i].base + map[i].length;
		if (top < map[i].base || top > PMM_MAX_PHYS) /* wraps or exceeds 52 bits: clamp */
			top = PMM_MAX_PHYS;
		u64 end = ALIGN_DOWN(top, PAGE_SIZE);
		if (base >= end)
			continue;
		/* Overlapping "available" entries: add only what is not already there. */
		pmm_remove(p, base, end);
		status_t st = add_free(p, base, end);
		if (st != ST_OK)
			result = st;
	}
	for (unsigned i = 0; i < nmap; i++)
		if (map[i].type != MB2_MEM_AVAILABLE)
			pmm_remove(p, map[i].base, map[i].base + map[i].length);
	for (unsigned i = 0; i < nreserved; i++) {
		status_t st = pmm_remove(p, reserved[i].base, reserved[i].end);
		if (st != ST_OK) {
			/* No slot to split around it: drop the whole extent rather than hand it out. */
			for (unsigned k = 0; k < p->n; k++)
				if (p->ext[k].base < reserved[i].end && p->ext[k].end > reserved[i].base) {
					p->free_pages -= range_pages(p->ext[k].base, p->ext[k].end);
					delete_at(p, k--);
				}
			result = st;
		}
	}
	p->total_pages = p->free_pages;
	return result;
}

u64 pmm_alloc(struct pmm *p, u64 npages, u64 align, u64 limit)
{
	if (npages == 0)
		return 0;
	if (align < PAGE_SIZE)
		align = PAGE_SIZE;
	u64 size = npages * PAGE_SIZE;
	for (unsigned i = p->n; i-- > 0;) {
		struct phys_range *e = &p->ext[i];
		u64 top = MIN(e->end, limit);
		if (top < e->base + size)
			continue;
		u64 base = ALIGN_DOWN(top - size, align);
		if (base < e->base)
			continue;
		if (pmm_remove(p, base, base + size) == ST_OK)
			return base;
		/* No room to split this extent: another one may fit without a split. */
	}
	return 0;
}

status_t pmm_free(struct pmm *p, u64 base, u64 npages)
{
	if (!IS_ALIGNED(base, PAGE_SIZE) || npages == 0 || base < PMM_LOW_LIMIT)
		return ST_INVALID;
	return add_free(p, base, base + npages * PAGE_SIZE);
}
