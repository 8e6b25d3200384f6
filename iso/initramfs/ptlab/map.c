/* map: install a leaf, allocating the tables on the way down. */
#include "ptlab.h"

int pt_map(uint32_t root, uint64_t va, uint32_t frame, int writable)
{
	uint64_t *table = frame_ptr(root);

	for (int level = PT_LEVELS; level > 1; level--) {
		uint64_t *e = &table[pte_index(va, level)];
		if (!(*e & PTE_P)) {
			uint32_t next;
			if (frame_alloc(&next))
				return -1;
			*e = pte_make(next, 1);
		}
		table = frame_ptr(pte_frame(*e));
	}
	table[pte_index(va, 1)] = pte_make(frame, writable);
	stat_add(ST_MAPS);
	return 0;
}
