/* ept_map.c: build the shared EPT identity map with the largest pages memory types allow (pure logic). */
#include "ept.h"

const struct phys_range *ept_hidden_find(const struct ept_hidden *h, u64 gpa)
{
	for (unsigned i = 0; i < h->n; i++)
		if (gpa >= h->r[i].base && gpa < h->r[i].end)
			return &h->r[i];
	return NULL;
}

int ept_hidden_overlap(const struct ept_hidden *h, u64 base, u64 size)
{
	int result = 0;
	for (unsigned i = 0; i < h->n; i++) {
		if (h->r[i].base >= base + size || h->r[i].end <= base)
			continue;
		if (h->r[i].base <= base && h->r[i].end >= base + size)
			return 2;
		result = 1;
	}
	return result;
}

static status_t leaf(struct pt_ops *ops, u64 root, u64 addr, u64 size, u8 type,
		     struct ept_map_stats *st, int level)
{
	st->leaves[level]++;
	return pt_map_range(ops, root, addr, addr, size, EPT_RWX | ((u64)type << EPT_MEMTYPE_SHIFT));
}

/* Map one region of @size (2 MiB or 1 GiB) whole, or fall back to its smaller pieces. */
static status_t map_region(struct pt_ops *ops, u64 root, const struct mtrr_state *m, u64 base,
			   int level, const struct ept_hidden *h, struct ept_map_stats *st)
{
	u64 size = pt_level_size(level);
	int ov = ept_hidden_overlap(h, base, size);
	if (ov == 2)
		return ST_OK;
	u8 type;
	if (ov == 0 && level <= ops->max_leaf_level && mtrr_uniform(m, base, size, &type))
		return leaf(ops, root, base, size, type, st, level);
	if (level == 1)
		return ST_OK; /* a hidden 4 KiB page */
	u64 sub = pt_level_size(level - 1);
	for (u64 a = base; a < base + size; a += sub) {
		status_t s = map_region(ops, root, m, a, level - 1, h, st);
		if (s != ST_OK)
			return s;
	}
	return ST_OK;
}

status_t ept_map_open_bus(struct pt_ops *ops, u64 root, u64 top, u64 end, u64 ones, u64 pt, u64 pd, u64 pdpt)
{
	u64 *t = ops->table(ops->ctx, pt), *d = ops->table(ops->ctx, pd), *p = ops->table(ops->ctx, pdpt);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		t[i] = ones | EPT_READ | ((u64)MEMTYPE_WB << EPT_MEMTYPE_SHIFT);
		d[i] = pt | EPT_RWX;
		p[i] = pd | EPT_RWX;
	}
	const u64 slot = pt_level_size(4);
	for (u64 a = top; a < end;) {
		int level;
		if (a % slot == 0 && a + slot <= end) {
			u64 *e = pt_walk(ops, root, a, 4, true, &level);
			if (!e || level != 4)
				return ST_NO_MEMORY;
			*e = pdpt | EPT_RWX; /* a whole 512 GiB slot */
			a += slot;
			continue;
		}
		u64 *e = pt_walk(ops, root, a, 3, true, &level);
		if (!e || level != 3)
			return ST_NO_MEMORY;
		if (!(*e & EPT_RWX))
			*e = pd | EPT_RWX;
		a += GiB;
	}
	return ST_OK;
}

status_t ept_map_identity(struct pt_ops *ops, u64 root, const struct mtrr_state *m, u64 top,
			  const struct ept_hidden *hidden, struct ept_map_stats *st)
{
	for (u64 base = 0; base < top; base += GiB) {
		status_t s = map_region(ops, root, m, base, 3, hidden, st);
		if (s != ST_OK)
			return s;
	}
	return ST_OK;
}
