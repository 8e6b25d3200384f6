/* shadow_stats.h: the shadow engine's statistics as `stat shadow` lines (a leaf: it calls nothing in vmx/). */
#ifndef SLAT_VMX_SHADOW_STATS_H
#define SLAT_VMX_SHADOW_STATS_H

#include "../shadow/mmu.h"

/* The engine's counters and every vCPU's (root cache, CR3 exits). */
void shadow_stats_print(const struct shadow_mmu *e);

#endif
