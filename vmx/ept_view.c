/* ept_view.c: a vCPU's private copy of the shared EPT paths to its watched pages (pure logic). */
#include "ept_view.h"
#include "ept.h"
#include "../kernel/kstring.h"

/* A 4-level EPT translates 48-bit guest-physical addresses; higher bits would alias slot 0. */
#define EPT_VIEW_GPA_BITS 48
/* The lowest level whose entries point at a private table: a PD entry points at a PT. */
#define EPT_VIEW_LOWEST_TABLE_LEVEL 2

/* One build in progress: the shared format's ops and where private pages come from. */
struct view_build {
	struct pt_ops *shared;
	struct ept_view *view;
	const struct ept_view_pool *pool;
	status_t err; /* why the walk failed, for ept_view_build to return */
};

static bool is_private(const struct ept_view *view, u64 phys)
{
	for (unsigned i = 0; i < view->npages; i++)
		if (view->pages[i] == phys)
			return true;
	return false;
}

/* Private ops callback: tables are reached exactly as in the shared hierarchy. */
static u64 *view_table(void *ctx, u64 phys)
{
	struct view_build *b = ctx;
	return b->shared->table(b->shared->ctx, phys);
}

/*
 * Private ops callback: a page from the pool, recorded in the view at once so that a build
 * failing later gives it back. pt_split allocates through this too.
 */
static u64 view_alloc(void *ctx)
{
	struct view_build *b = ctx;
	u64 phys = 0;
	if (b->view->npages < EPT_VIEW_MAX_PAGES)
		phys = b->pool->alloc(b->pool->ctx);
	if (!phys) {
		b->err = ST_NO_MEMORY;
		return 0;
	}
	b->view->pages[b->view->npages++] = phys;
	return phys;
}

static enum pt_step fail(struct view_build *b, status_t why)
{
	if (b->err == ST_OK)
		b->err = why;
	return PT_FAIL;
}

/*
 * Make *@e point at a private copy of the shared table it points at, keeping the entry's
 * other bits (rights, accessed) so that the translation through it is unchanged.
 */
static bool copy_table(struct pt_ops *ops, u64 *e)
{
	const u64 *src = ops->table(ops->ctx, *e & PT_ADDR_MASK);
	if (!src)
		return false;
	u64 phys = ops->alloc_table(ops->ctx);
	u64 *dst = phys ? ops->table(ops->ctx, phys) : NULL;
	if (!dst)
		return false;
	memcpy(dst, src, PT_ENTRIES * sizeof(*dst));
	*e = phys | (*e & ~PT_ADDR_MASK);
	return true;
}

static bool is_large_leaf(const struct pt_ops *ops, u64 e, int level)
{
	return level <= 3 && (e & ops->large);
}

/*
 * ept_view_build's step, always on an entry of a private table: make the table below private
 * (a copy, or the split of a large leaf) and go on, down to the 4 KiB leaf.
 */
static enum pt_step build_step(struct pt_ops *ops, u64 *e, int level, void *arg)
{
	struct view_build *b = arg;
	if (level == 1)
		return PT_STOP;
	if (!(*e & ops->present))
		return fail(b, ST_INVALID);
	if (is_large_leaf(ops, *e, level)) {
		if (!pt_split(ops, e, level))
			return fail(b, ST_INVALID);
		b->view->splits++;
		b->view->split_now++;
		return PT_DESCEND;
	}
	/* Already private: a second watch in this region shares the copy. */
	if (is_private(b->view, *e & PT_ADDR_MASK))
		return PT_DESCEND;
	return copy_table(ops, e) ? PT_DESCEND : fail(b, ST_INVALID);
}

/* The private PML4: a copy of the shared root, so everything starts out shared. */
static status_t copy_root(struct pt_ops *ops, u64 shared_root, struct ept_view *view)
{
	const u64 *src = ops->table(ops->ctx, shared_root);
	if (!src)
		return ST_INVALID;
	u64 phys = ops->alloc_table(ops->ctx);
	u64 *dst = phys ? ops->table(ops->ctx, phys) : NULL;
	if (!phys)
		return ST_NO_MEMORY;
	if (!dst)
		return ST_INVALID;
	memcpy(dst, src, PT_ENTRIES * sizeof(*dst));
	view->root = phys;
	return ST_OK;
}

/* Take @w's rights away in its private 4 KiB leaf, making the path private first. */
static status_t watch(struct pt_ops *ops, struct view_build *b, const struct ept_watch *w)
{
	int level;
	u64 *leaf = pt_descend(ops, b->view->root, w->gpa, build_step, b, &level);
	if (!leaf || level != 1)
		return b->err != ST_OK ? b->err : ST_INVALID;
	/* Clearing bits accumulates, so duplicate watches deny the union. */
	*leaf &= ~w->deny;
	return ST_OK;
}

/*
 * Everything is checked against the shared EPT before a page is taken, so that a bad watch
 * costs nothing. A fully denied leaf is non-present in the view, which is why presence is
 * judged here and not while walking the private copy.
 */
static status_t check_watch(struct pt_ops *ops, u64 shared_root, const struct ept_watch *w)
{
	if (!IS_ALIGNED(w->gpa, PAGE_SIZE) || (w->gpa >> EPT_VIEW_GPA_BITS) || (w->deny & ~EPT_RWX))
		return ST_INVALID;
	u64 phys, leaf;
	int level;
	return pt_translate(ops, shared_root, w->gpa, &phys, &leaf, &level) ? ST_OK : ST_INVALID;
}

/* Heapsort @n keys in place: O(n log n) with no allocation, for the page count below. */
static void sift_down(u64 *k, unsigned root, unsigned n)
{
	for (unsigned child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && k[child + 1] > k[child])
			child++;
		if (k[root] >= k[child])
			return;
		u64 t = k[root];
		k[root] = k[child];
		k[child] = t;
	}
}

static void sort_keys(u64 *k, unsigned n)
{
	for (unsigned i = n / 2; i-- > 0;)
		sift_down(k, i, n);
	for (unsigned end = n; end-- > 1;) {
		u64 t = k[0];
		k[0] = k[end];
		k[end] = t;
		sift_down(k, 0, end);
	}
}

/*
 * Sorted by address, the watched pages of one 2 MiB region (or GiB, or slot) are neighbours,
 * and the regions nest: count where each level's region changes from one page to the next.
 * The sort buffer is static: callers hold the monitor lock (the unit tests run one at a time).
 */
#define EPT_VIEW_SORT_MAX 4096
static u64 sorted[EPT_VIEW_SORT_MAX];

unsigned ept_view_pages_needed(const struct ept_watch *w, unsigned n)
{
	if (!n)
		return 0;
	if (n > EPT_VIEW_SORT_MAX)
		return EPT_VIEW_MAX_PAGES + 1; /* more than slatvisor ever asks for: too many */
	for (unsigned i = 0; i < n; i++)
		sorted[i] = w[i].gpa;
	sort_keys(sorted, n);
	unsigned pages = 1; /* the PML4 */
	/* A 512 GiB slot needs a PDPT, a 1 GiB region a PD, a 2 MiB region a PT. */
	for (unsigned i = 0; i < n; i++)
		for (int level = EPT_VIEW_LOWEST_TABLE_LEVEL; level <= PT_LEVELS; level++)
			if (i == 0 || sorted[i - 1] / pt_level_size(level) != sorted[i] / pt_level_size(level))
				pages++;
	return pages;
}

status_t ept_view_build(struct pt_ops *ops, u64 shared_root, const struct ept_watch *w, unsigned n,
			struct ept_view *view, const struct ept_view_pool *pool)
{
	if (view->root || view->npages)
		return ST_INVALID; /* a view is only ever built from scratch */
	if (!n)
		return ST_OK;
	for (unsigned i = 0; i < n; i++)
		if (check_watch(ops, shared_root, &w[i]) != ST_OK)
			return ST_INVALID;
	if (ept_view_pages_needed(w, n) > EPT_VIEW_MAX_PAGES)
		return ST_NO_MEMORY;

	struct view_build b = { ops, view, pool, ST_OK };
	/* The shared format and tables, but every allocation from the pool, into the view. */
	struct pt_ops priv = *ops;
	priv.table = view_table;
	priv.alloc_table = view_alloc;
	priv.ctx = &b;

	status_t s = copy_root(&priv, shared_root, view);
	for (unsigned i = 0; s == ST_OK && i < n; i++)
		s = watch(&priv, &b, &w[i]);
	/* The splits of a failed build count too, and so their freeing: splits = merges + split_now. */
	if (s != ST_OK)
		ept_view_free(view, pool);
	return s;
}

void ept_view_free(struct ept_view *view, const struct ept_view_pool *pool)
{
	for (unsigned i = 0; i < view->npages; i++)
		pool->free(pool->ctx, view->pages[i]);
	view->merges += view->split_now;
	view->split_now = 0;
	view->npages = 0;
	view->root = 0;
}

/* ept_view_leaf's step: follow only private tables, down to the 4 KiB leaf. */
static enum pt_step leaf_step(struct pt_ops *ops, u64 *e, int level, void *arg)
{
	const struct ept_view *view = arg;
	if (level == 1)
		return PT_STOP;
	if (!(*e & ops->present) || is_large_leaf(ops, *e, level))
		return PT_FAIL;
	return is_private(view, *e & PT_ADDR_MASK) ? PT_DESCEND : PT_FAIL;
}

u64 *ept_view_leaf(struct pt_ops *ops, const struct ept_view *view, u64 gpa)
{
	if (!view->root || (gpa >> EPT_VIEW_GPA_BITS))
		return NULL;
	int level;
	/* pt_descend's step argument is not const; leaf_step only reads the view. */
	u64 *leaf = pt_descend(ops, view->root, gpa, leaf_step, (void *)view, &level);
	return leaf && level == 1 ? leaf : NULL;
}
