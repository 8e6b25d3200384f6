/* spt_pool.c: the hash, the free list and the LRU of shadow pages; pure logic, host-tested. */
#include "spt_pool.h"
#include "../kernel/kstring.h"

static u32 idx(const struct spt_pool *p, const struct spt_page *sp)
{
	return (u32)(sp - p->pages);
}

/* By frame alone: every role of one guest table is in one chain (write protection needs them all). */
static u32 bucket_of(u64 gfn)
{
	u64 h = gfn * 0x9E3779B97F4A7C15ULL;
	return (u32)(h >> 54) & (SPT_HASH_BUCKETS - 1);
}

static void lru_unlink(struct spt_pool *p, struct spt_page *sp)
{
	if (sp->lru_prev != SPT_NONE)
		p->pages[sp->lru_prev].lru_next = sp->lru_next;
	else
		p->lru_head = sp->lru_next;
	if (sp->lru_next != SPT_NONE)
		p->pages[sp->lru_next].lru_prev = sp->lru_prev;
	else
		p->lru_tail = sp->lru_prev;
	sp->lru_prev = sp->lru_next = SPT_NONE;
}

static void lru_push_front(struct spt_pool *p, struct spt_page *sp)
{
	u32 i = idx(p, sp);
	sp->lru_prev = SPT_NONE;
	sp->lru_next = p->lru_head;
	if (p->lru_head != SPT_NONE)
		p->pages[p->lru_head].lru_prev = i;
	p->lru_head = i;
	if (p->lru_tail == SPT_NONE)
		p->lru_tail = i;
}

void spt_pool_init(struct spt_pool *p, struct spt_page *pages, u32 capacity)
{
	p->pages = pages;
	p->capacity = capacity;
	p->used = 0;
	p->lru_head = p->lru_tail = SPT_NONE;
	for (u32 b = 0; b < SPT_HASH_BUCKETS; b++)
		p->bucket[b] = SPT_NONE;
	/* The free list reuses hash_next. */
	p->free_head = capacity ? 0 : SPT_NONE;
	for (u32 i = 0; i < capacity; i++) {
		memset(&pages[i], 0, sizeof(pages[i]));
		pages[i].hash_next = i + 1 < capacity ? i + 1 : SPT_NONE;
		pages[i].lru_prev = pages[i].lru_next = SPT_NONE;
	}
	memset(&p->stats, 0, sizeof(p->stats));
}

struct spt_page *spt_lookup(struct spt_pool *p, u64 gfn, union spt_role role)
{
	p->stats.lookups++;
	for (u32 i = p->bucket[bucket_of(gfn)]; i != SPT_NONE; i = p->pages[i].hash_next) {
		struct spt_page *sp = &p->pages[i];
		if (sp->gfn == gfn && sp->role.word == role.word) {
			p->stats.hits++;
			lru_unlink(p, sp);
			lru_push_front(p, sp);
			return sp;
		}
	}
	return NULL;
}

static void hash_remove(struct spt_pool *p, struct spt_page *sp)
{
	u32 *link = &p->bucket[bucket_of(sp->gfn)];
	u32 i = idx(p, sp);
	while (*link != i)
		link = &p->pages[*link].hash_next;
	*link = sp->hash_next;
}

void spt_free(struct spt_pool *p, struct spt_page *sp)
{
	hash_remove(p, sp);
	lru_unlink(p, sp);
	if (p->table_free && !p->table_base)
		p->table_free(p->ctx, sp->table);
	sp->in_use = false;
	sp->hash_next = SPT_NONE;
	p->used--;
	if (spt_is_root_slot(sp, p))
		return; /* a root slot waits for its pair's next root, off the free list */
	sp->hash_next = p->free_head;
	p->free_head = idx(p, sp);
}

/* Reclaim the least recently used page nobody pins. */
static bool reclaim_one(struct spt_pool *p)
{
	for (u32 i = p->lru_tail; i != SPT_NONE; i = p->pages[i].lru_prev) {
		struct spt_page *sp = &p->pages[i];
		if (sp->pins || spt_is_root_slot(sp, p))
			continue;
		if (p->unlink)
			p->unlink(p->ctx, sp);
		spt_free(p, sp);
		p->stats.reclaims++;
		return true;
	}
	return false;
}

/* Page @i (free) becomes the shadow page of (gfn, role). */
static struct spt_page *take(struct spt_pool *p, u32 i, u64 table, u64 gfn, union spt_role role)
{
	struct spt_page *sp = &p->pages[i];
	*sp = (struct spt_page){ .gfn = gfn, .role = role, .table = table, .hash_next = SPT_NONE,
				 .lru_prev = SPT_NONE, .lru_next = SPT_NONE, .in_use = true,
				 .unsync_next = SPT_NONE };
	u32 b = bucket_of(gfn);
	sp->hash_next = p->bucket[b];
	p->bucket[b] = i;
	lru_push_front(p, sp);
	p->used++;
	p->stats.allocs++;
	return sp;
}

struct spt_page *spt_alloc(struct spt_pool *p, u64 gfn, union spt_role role)
{
	if (p->free_head == SPT_NONE && !reclaim_one(p)) {
		p->stats.exhausted++;
		return NULL;
	}
	u32 i = p->free_head;
	u64 table = p->table_base ? p->table_base + (u64)i * PAGE_SIZE
				  : p->table_alloc ? p->table_alloc(p->ctx) : 0;
	if (!table) {
		p->stats.exhausted++;
		return NULL;
	}
	p->free_head = p->pages[i].hash_next;
	return take(p, i, table, gfn, role);
}

void spt_reserve_roots(struct spt_pool *p, u32 pairs)
{
	if (2 * pairs > p->capacity)
		pairs = p->capacity / 2;
	p->root_pairs = pairs;
	p->free_head = 2 * pairs < p->capacity ? 2 * pairs : SPT_NONE;
	for (u32 i = 0; i < 2 * pairs; i++)
		p->pages[i].hash_next = SPT_NONE;
}

struct spt_page *spt_partner(struct spt_pool *p, const struct spt_page *sp)
{
	if (!spt_is_root_slot(sp, p))
		return NULL;
	struct spt_page *o = &p->pages[idx(p, sp) ^ 1];
	return o->in_use && o->gfn == (sp->gfn ^ 1) && o->role.word == sp->role.word ? o : NULL;
}

struct spt_page *spt_alloc_root(struct spt_pool *p, u64 gfn, union spt_role role)
{
	u32 i = SPT_NONE;
	for (u32 j = p->bucket[bucket_of(gfn ^ 1)]; j != SPT_NONE; j = p->pages[j].hash_next) {
		struct spt_page *o = &p->pages[j];
		if (o->gfn == (gfn ^ 1) && o->role.word == role.word && spt_is_root_slot(o, p) &&
		    !p->pages[j ^ 1].in_use) {
			i = j ^ 1;
			break;
		}
	}
	for (u32 k = 0; i == SPT_NONE && k < p->root_pairs; k++)
		if (!p->pages[2 * k].in_use && !p->pages[2 * k + 1].in_use)
			i = 2 * k + (u32)(gfn & 1);
	u64 table = i == SPT_NONE ? 0 : p->table_base ? p->table_base + (u64)i * PAGE_SIZE
				  : p->table_alloc ? p->table_alloc(p->ctx) : 0;
	if (!table) {
		p->stats.exhausted++;
		return NULL;
	}
	return take(p, i, table, gfn, role);
}

u32 spt_pick_root_pair(struct spt_pool *p)
{
	for (u32 i = p->lru_tail; i != SPT_NONE; i = p->pages[i].lru_prev) {
		struct spt_page *sp = &p->pages[i], *o = &p->pages[i ^ 1];
		if (spt_is_root_slot(sp, p) && !sp->pins && !sp->dying && !(o->in_use && (o->pins || o->dying)))
			return i & ~1u;
	}
	return SPT_NONE;
}

u32 spt_pick_victims(struct spt_pool *p, u32 *out, u32 n)
{
	u32 got = 0;
	for (u32 i = p->lru_tail; i != SPT_NONE && got < n; i = p->pages[i].lru_prev) {
		if (p->pages[i].pins || p->pages[i].dying || spt_is_root_slot(&p->pages[i], p))
			continue;
		p->pages[i].dying = true;
		out[got++] = i;
	}
	return got;
}

u32 spt_chain(const struct spt_pool *p, u64 gfn)
{
	return p->bucket[bucket_of(gfn)];
}

void spt_touch(struct spt_pool *p, struct spt_page *sp)
{
	if (p->lru_head == idx(p, sp))
		return;
	lru_unlink(p, sp);
	lru_push_front(p, sp);
}
