/* walk: translate an address the way the hardware would, or report the fault. */
#include "ptlab.h"

int pt_walk(uint32_t root, uint64_t va, uint64_t *leaf)
{
	uint64_t *table = frame_ptr(root);

	stat_add(ST_WALKS);
	for (int level = PT_LEVELS; level >= 1; level--) {
		uint64_t e = table[pte_index(va, level)];
		if (!(e & PTE_P)) {
			stat_add(ST_FAULTS);
			return -1;
		}
		if (level == 1) {
			*leaf = e;
			return 0;
		}
		table = frame_ptr(pte_frame(e));
	}
	return -1;
}
