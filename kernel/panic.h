/* panic.h: stop every CPU and print why. Only for broken invariants of the hypervisor itself. */
#ifndef SLAT_PANIC_H
#define SLAT_PANIC_H

#include "types.h"
#include "../arch/x86_64/frame.h"

NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* An exception the hypervisor itself took: decode it, then panic. */
NORETURN void panic_exception(const struct regs *r);
bool panic_in_progress(void);
/* Called from the NMI handler on the CPUs a panic stops. */
NORETURN void panic_stop_this_cpu(void);

void regs_capture(struct regs *r);

#endif
