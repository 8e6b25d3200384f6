/* workload: map a random set of pages, touch them through the TLB, then unmap half. */
#include "ptlab.h"

#define PAGES 1024

static uint64_t random_va(void)
{
	/* 16,384 pages in each of four 16 GiB-apart regions: enough sharing that tables fill up. */
	return rng_next() & 0x0000000c03fff000ull;
}

static void touch(uint32_t root, uint64_t va)
{
	uint64_t leaf;

	if (!tlb_lookup(va, &leaf) || !pt_walk(root, va, &leaf)) {
		tlb_fill(va, leaf);
		digest_add(leaf ^ va);
	} else {
		digest_add(va);	/* a fault is part of the result too */
	}
}

int workload_run(uint32_t root, int rounds)
{
	static uint64_t vas[PAGES];

	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < PAGES; i++) {
			uint32_t frame;
			vas[i] = random_va();
			if (frame_alloc(&frame) || pt_map(root, vas[i], frame, i & 1))
				return -1;	/* out of model memory */
		}
		sort_u64(vas, PAGES);
		for (int i = 0; i < 4 * PAGES; i++)
			touch(root, vas[rng_next() % PAGES]);
		tlb_flush();
		for (int i = 0; i < PAGES; i += 2) {
			uint64_t leaf;
			if (!pt_walk(root, vas[i], &leaf)) {
				frame_free(pte_frame(leaf));
				pt_unmap(root, vas[i]);
			}
		}
	}
	return 0;
}
