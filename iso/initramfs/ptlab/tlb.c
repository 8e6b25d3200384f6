/* tlb: a direct-mapped translation cache; a flush empties it, as a CR3 write would. */
#include "ptlab.h"

#define TLB_SETS 64

static struct { uint64_t vpn, leaf; int valid; } tlb[TLB_SETS];

void tlb_flush(void)
{
	for (int i = 0; i < TLB_SETS; i++)
		tlb[i].valid = 0;
}

int tlb_lookup(uint64_t va, uint64_t *leaf)
{
	uint64_t vpn = va >> PAGE_SHIFT;
	int set = (int)(vpn % TLB_SETS);

	if (tlb[set].valid && tlb[set].vpn == vpn) {
		stat_add(ST_TLB_HITS);
		*leaf = tlb[set].leaf;
		return 0;
	}
	stat_add(ST_TLB_MISSES);
	return -1;
}

void tlb_fill(uint64_t va, uint64_t leaf)
{
	uint64_t vpn = va >> PAGE_SHIFT;
	int set = (int)(vpn % TLB_SETS);

	tlb[set].vpn = vpn;
	tlb[set].leaf = leaf;
	tlb[set].valid = 1;
}
