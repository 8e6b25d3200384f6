/* unmap: clear a leaf and give back every table that became empty. */
#include "ptlab.h"

static int table_empty(const uint64_t *t)
{
	for (int i = 0; i < PT_ENTRIES; i++)
		if (t[i] & PTE_P)
			return 0;
	return 1;
}

/* Returns 1 if the table at this level is now empty (and may be freed by the caller). */
static int unmap_level(uint32_t table_frame, uint64_t va, int level)
{
	uint64_t *t = frame_ptr(table_frame);
	uint64_t *e = &t[pte_index(va, level)];

	if (!(*e & PTE_P))
		return 0;
	if (level == 1)
		*e = 0;
	else if (unmap_level(pte_frame(*e), va, level - 1)) {
		frame_free(pte_frame(*e));
		*e = 0;
	}
	return table_empty(t);
}

int pt_unmap(uint32_t root, uint64_t va)
{
	uint64_t leaf;

	if (pt_walk(root, va, &leaf))
		return -1;
	unmap_level(root, va, PT_LEVELS);	/* the root itself is never freed */
	stat_add(ST_UNMAPS);
	return 0;
}
