/* pt.c: the page-table walk, split and map loop; format details come in through struct pt_ops. */
#include "pt.h"

bool pt_split(struct pt_ops *ops, u64 *entry, int level)
{
	u64 phys = ops->alloc_table(ops->ctx);
	u64 *t = phys ? ops->table(ops->ctx, phys) : NULL;
	if (!t)
		return false;
	ops->tables_allocated[level - 1]++;
	u64 base = *entry & PT_ADDR_MASK & ~(pt_level_size(level) - 1);
	u64 attrs = *entry & ~PT_ADDR_MASK;
	/* Level 1 has no page-size bit; there bit 7 means PAT and must be clear here. */
	if (level - 1 == 1)
		attrs &= ~ops->large;
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		t[i] = (base + i * pt_level_size(level - 1)) | attrs;
	*entry = phys | ops->table_flags;
	return true;
}

u64 *pt_descend(struct pt_ops *ops, u64 root, u64 addr, pt_step_fn step, void *arg, int *out_level)
{
	u64 *table = ops->table(ops->ctx, root);
	for (int l = PT_LEVELS; table && l >= 1; l--) {
		u64 *e = &table[pt_index(addr, l)];
		switch (step(ops, e, l, arg)) {
		case PT_STOP:
			*out_level = l;
			return e;
		case PT_FAIL:
			return NULL;
		case PT_DESCEND:
			break;
		}
		table = l > 1 ? ops->table(ops->ctx, *e & PT_ADDR_MASK) : NULL;
	}
	return NULL;
}

struct walk_arg {
	int level;
	bool create;
};

/* pt_walk's step: make the path exist down to the wanted level if asked to. */
static enum pt_step walk_step(struct pt_ops *ops, u64 *e, int l, void *arg)
{
	const struct walk_arg *w = arg;
	if (l == w->level)
		return PT_STOP;
	bool present = *e & ops->present;
	bool leaf = present && l <= 3 && (*e & ops->large);
	if (!present) {
		if (!w->create)
			return PT_STOP;
		u64 phys = ops->alloc_table(ops->ctx);
		if (!phys)
			return PT_FAIL;
		ops->tables_allocated[l - 1]++;
		*e = phys | ops->table_flags;
	} else if (leaf) {
		if (!w->create)
			return PT_STOP;
		if (!pt_split(ops, e, l))
			return PT_FAIL;
	}
	return PT_DESCEND;
}

u64 *pt_walk(struct pt_ops *ops, u64 root, u64 addr, int level, bool create, int *out_level)
{
	struct walk_arg w = { level, create };
	return pt_descend(ops, root, addr, walk_step, &w, out_level);
}

status_t pt_map_range(struct pt_ops *ops, u64 root, u64 addr, u64 phys, u64 size, u64 leaf_flags)
{
	if (!IS_ALIGNED(addr | phys | size, PAGE_SIZE))
		return ST_INVALID;
	while (size) {
		int level = ops->max_leaf_level;
		while (level > 1 && (!IS_ALIGNED(addr | phys, pt_level_size(level)) ||
				     size < pt_level_size(level)))
			level--;
		int got;
		u64 *e = pt_walk(ops, root, addr, level, true, &got);
		if (!e)
			return ST_NO_MEMORY;
		*e = phys | leaf_flags | (level > 1 ? ops->large : 0);
		addr += pt_level_size(level);
		phys += pt_level_size(level);
		size -= pt_level_size(level);
	}
	return ST_OK;
}

bool pt_translate(struct pt_ops *ops, u64 root, u64 addr, u64 *phys, u64 *leaf, int *level)
{
	int l;
	u64 *e = pt_walk(ops, root, addr, 1, false, &l);
	if (!e || !(*e & ops->present))
		return false;
	u64 size = pt_level_size(l);
	*phys = (*e & PT_ADDR_MASK & ~(size - 1)) | (addr & (size - 1));
	*leaf = *e;
	*level = l;
	return true;
}
