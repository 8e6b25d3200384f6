/* simmem.h: simulated physical memory for page-table tests (tables from 1 MiB up, bounded). */
#ifndef SLAT_SIMMEM_H
#define SLAT_SIMMEM_H

#include "../../kernel/types.h"

#define SIM_BASE 0x100000ULL
#define SIM_PAGES 2048

/* Start over with room for @limit table pages (at most SIM_PAGES). */
void sim_reset(unsigned limit);
/* The pt_ops callbacks: reach a table page, allocate a zeroed one (0 when full). */
u64 *sim_table(void *ctx, u64 phys);
u64 sim_alloc(void *ctx);
/* Pages allocated since the reset. */
unsigned sim_used(void);

#endif
