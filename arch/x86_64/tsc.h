/* tsc.h: the time-stamp counter as the hypervisor's clock: calibration, timestamps and delays. */
#ifndef SLAT_TSC_H
#define SLAT_TSC_H

#include "../../kernel/types.h"

/* Measure the TSC frequency. Before this runs, timestamps read 0. */
void tsc_calibrate(void);
u64 tsc_khz(void);
const char *tsc_source(void);
u64 tsc_us_since_boot(void);
u64 tsc_from_us(u64 us);
void udelay(u64 us);

#endif
