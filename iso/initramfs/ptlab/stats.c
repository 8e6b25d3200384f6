/* stats: what the model did, printed and folded into the digest. */
#include <stdio.h>
#include "ptlab.h"

static uint64_t counts[ST_COUNT];
static const char *const names[ST_COUNT] = {
	[ST_MAPS] = "maps", [ST_WALKS] = "walks", [ST_FAULTS] = "faults",
	[ST_TLB_HITS] = "tlb_hits", [ST_TLB_MISSES] = "tlb_misses", [ST_UNMAPS] = "unmaps",
};

void stat_add(enum stat s)
{
	counts[s]++;
}

uint64_t stat_get(enum stat s)
{
	return counts[s];
}

void stats_print(void)
{
	printf("ptlab:");
	for (int s = 0; s < ST_COUNT; s++) {
		printf(" %s=%llu", names[s], (unsigned long long)counts[s]);
		digest_add(counts[s]);
	}
	printf(" frames=%u\n", frames_used());
}
