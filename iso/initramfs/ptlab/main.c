/* main: run the model with a fixed seed and print its statistics and digest. */
#include <stdio.h>
#include <stdlib.h>
#include "ptlab.h"

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	uint32_t root;

	rng_seed(0x5eed);
	frames_init();
	if (frame_alloc(&root)) {
		puts("ptlab: no frame for the root");
		return 1;
	}
	tlb_flush();
	if (workload_run(root, rounds)) {
		puts("ptlab: out of frames");
		return 1;
	}
	stats_print();
	printf("ptlab: digest=%016llx\n", (unsigned long long)digest_value());
	return 0;
}
