/* simmem.c: a bump allocator over one aligned host buffer, addressed as physical memory. */
#include <stdlib.h>
#include <string.h>
#include "simmem.h"

static u64 (*mem)[512];
static unsigned used, limit;

void sim_reset(unsigned lim)
{
	if (!mem)
		mem = aligned_alloc(PAGE_SIZE, SIM_PAGES * PAGE_SIZE);
	used = 0;
	limit = lim < SIM_PAGES ? lim : SIM_PAGES;
}

u64 *sim_table(void *ctx, u64 phys)
{
	(void)ctx;
	if (phys < SIM_BASE || phys >= SIM_BASE + (u64)used * PAGE_SIZE)
		return NULL;
	return mem[(phys - SIM_BASE) / PAGE_SIZE];
}

u64 sim_alloc(void *ctx)
{
	(void)ctx;
	if (used == limit)
		return 0;
	memset(mem[used], 0, PAGE_SIZE);
	return SIM_BASE + (u64)used++ * PAGE_SIZE;
}

unsigned sim_used(void)
{
	return used;
}
