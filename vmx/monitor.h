/*
 * monitor.h: guest memory monitoring (docs/hypercalls.md, docs/architecture.md).
 *
 * The guest watches reads, writes and fetches of chosen 4 KiB pages, per vCPU. The EPT stays
 * one shared hierarchy; a vCPU with monitors runs on its own view (ept_view.h): a private
 * root and private copies of only the tables on the path to each watched page. A watched
 * access is an EPT violation on that vCPU alone: slatvisor logs it into the vCPU's ring
 * (mon_ring.h), opens the page in that view only, steps the one instruction with RFLAGS.TF
 * (#DB intercepted), and closes it again. No other vCPU ever sees the page open.
 *
 * monitor.c keeps the monitors and the views; mon_step.c handles the accesses;
 * hypercall.c is the VMCALL interface.
 */
#ifndef SLAT_MONITOR_H
#define SLAT_MONITOR_H

#include "exit.h"
#include "hypercall_abi.h"

struct vcpu;

/* Set up the pool and the per-vCPU state (the boot CPU, once the shared EPT is built). */
void monitor_init(void);
/* Monitoring works here: EPT paging and monitor=on. */
bool monitor_available(void);

/* The SLAT_HC_MON_* functions; each returns SLAT_OK or a SLAT_E_* code, and *out the result. */
long monitor_add(struct vcpu *v, u64 start, u64 len, u64 flags, u64 cpu_set, u64 *out);
long monitor_del(struct vcpu *v, u64 id);
long monitor_ring(struct vcpu *v, u64 addr, u64 len, u64 flags);
long monitor_stats(struct vcpu *v, u64 addr, u64 len, u64 flags);
long monitor_list(struct vcpu *v, u64 addr, u64 len, u64 flags, u64 *out);
long monitor_rips(struct vcpu *v, u64 addr, u64 len, u64 flags, u64 id, u64 *out);

/*
 * Before every VM entry: bring this vCPU's view up to date with the monitors and the shared
 * EPT (a rebuild, while no step is in progress) and load its EPT pointer.
 */
void monitor_before_entry(struct vcpu *v);

/* An EPT violation at @gpa: true if it was a watched access (handled: *a says how to go on). */
bool monitor_violation(struct vcpu *v, u64 gpa, u64 qualification, enum exit_action *a);
/* A #DB exit (@info: its interruption information): true if monitoring handled it. */
bool monitor_debug_exit(struct vcpu *v, u64 qualification, u32 info);
/* The monitor-trap-flag exit: the stepped instruction is done. */
enum exit_action handle_monitor_trap(struct vcpu *v, const struct exit_info *x);
/* The guest's INIT resets this vCPU: a step in progress ends without its instruction. */
void monitor_vcpu_reset(struct vcpu *v);
/* A watched access is being stepped with the monitor trap flag: no NMI goes in until it is done. */
bool monitor_stepping(struct vcpu *v);

/* The shared EPT changed: every view is rebuilt before its vCPU's next entry. */
void monitor_shared_changed(void);

/* The statistics lines at power-off. */
void monitor_print_stats(void);

#endif
