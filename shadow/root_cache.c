/* root_cache.c: a small fully associative cache with LRU replacement (pure logic, host-tested). */
#include "root_cache.h"
#include "../mm/pt.h"

#define CR3_PCID_MASK 0xFFFULL

u64 root_key(u64 cr3, bool pcide)
{
	/* Bit 63 (no flush) is an instruction to the CPU, not part of the address space's name. */
	return (cr3 & PT_ADDR_MASK) | (pcide ? cr3 & CR3_PCID_MASK : 0);
}

struct spt_page *root_cache_get(struct root_cache *rc, u64 key)
{
	for (unsigned i = 0; i < rc->n; i++) {
		if (rc->slot[i].key == key) {
			rc->slot[i].stamp = ++rc->clock;
			rc->hits++;
			return rc->slot[i].root;
		}
	}
	rc->misses++;
	return NULL;
}

static void remove_at(struct root_cache *rc, unsigned i)
{
	rc->slot[i].root->pins--;
	rc->slot[i] = rc->slot[--rc->n];
}

void root_cache_put(struct root_cache *rc, u64 key, struct spt_page *root)
{
	for (unsigned i = 0; i < rc->n; i++)
		if (rc->slot[i].key == key)
			remove_at(rc, i--); /* replaced: a CR3 names one root at a time */
	if (rc->n == ROOT_CACHE_SLOTS) {
		unsigned lru = 0;
		for (unsigned i = 1; i < rc->n; i++)
			if (rc->slot[i].stamp < rc->slot[lru].stamp)
				lru = i;
		remove_at(rc, lru);
		rc->evictions++;
	}
	root->pins++;
	rc->slot[rc->n++] = (struct root_slot){ key, root, ++rc->clock };
}

void root_cache_drop(struct root_cache *rc, const struct spt_page *root)
{
	for (unsigned i = 0; i < rc->n; i++)
		if (rc->slot[i].root == root)
			remove_at(rc, i--);
}

bool root_cache_holds(const struct root_cache *rc, const struct spt_page *root)
{
	for (unsigned i = 0; i < rc->n; i++)
		if (rc->slot[i].root == root)
			return true;
	return false;
}
