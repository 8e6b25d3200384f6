/* rng: xorshift64*, so the workload is the same wherever ptlab runs. */
#include "ptlab.h"

static uint64_t state = 1;

void rng_seed(uint64_t seed)
{
	state = seed ? seed : 1;	/* zero is xorshift's fixed point */
}

uint64_t rng_next(void)
{
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 0x2545f4914f6cdd1dull;
}
