/* smp.h: start every CPU the MADT lists with INIT-SIPI-SIPI. */
#ifndef SLAT_SMP_H
#define SLAT_SMP_H

#include "acpi.h"
#include "../../kernel/multiboot2.h"

/*
 * Start the CPUs the MADT lists (at most @maxcpus, 0 = all) through a
 * trampoline at @trampoline_page (below 1 MiB; 0 = none free). Each CPU
 * that does not report in within @timeout_ms is reported and skipped.
 */
void smp_boot(const struct acpi_info *acpi, u64 trampoline_page, unsigned maxcpus,
	      unsigned timeout_ms);

/*
 * Run fn(arg) on the idle CPU with index @index: the work is left in its
 * per-CPU block and a wake-up IPI sent. Returns at once; fn may never return.
 */
void smp_call(unsigned index, void (*fn)(void *), void *arg);

/*
 * Once every CPU is up: wipe the trampoline page and unmap it from slatvisor's view (it stays
 * hypervisor memory, hidden from the guest). Returns the page, 0 if there was none.
 */
u64 smp_release_trampoline(void);
/* The trampoline page smp_boot used (0: none); hypervisor memory for the whole run. */
u64 smp_trampoline_page(void);

#endif
