/* exit.h: VM-exit dispatch: the handler table, its actions, and stopping the guest. */
#ifndef SLAT_EXIT_H
#define SLAT_EXIT_H

#include "vcpu.h"

/* What a handler asks for once it is done. */
/* SDM Vol. 3C, table 28-3: exit qualification for control-register accesses. */
#define CRQ_NUMBER(q) ((unsigned)(q) & 0xF)
#define CRQ_ACCESS_TYPE(q) (((unsigned)(q) >> 4) & 3)
#define CRQ_GPR(q) (((unsigned)(q) >> 8) & 0xF)
#define CRQ_LMSW_SOURCE(q) (((q) >> 16) & 0xFFFF)
enum { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };

enum exit_action {
	EXIT_RESUME, /* enter the guest again (the handler skipped or injected as needed) */
	EXIT_STOP,   /* stop the whole guest: the handler called guest_stop() with its reason */
};

struct exit_info {
	u32 reason; /* basic exit reason */
};

/*
 * The guest's view of CPUID, control registers and MSRs, shared by the exit
 * handlers and the start-up interpreter (vmx/ap_emul.c): one policy, two
 * callers. The caller skips the instruction on POLICY_OK and raises #GP on
 * POLICY_GP; on POLICY_STOP the policy has stopped the guest, saying why.
 */
enum policy { POLICY_OK, POLICY_GP, POLICY_STOP };
struct cpuid_regs;
void vcpu_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, struct cpuid_regs *r);
enum policy vcpu_write_cr0(struct vcpu *v, u64 val);
enum policy vcpu_write_cr3(struct vcpu *v, u64 val);
enum policy vcpu_write_cr4(struct vcpu *v, u64 val);
/* MSRs the MSR bitmap traps (and EFER, always): what a guest may read and write. */
enum policy vcpu_read_msr(struct vcpu *v, u32 msr, u64 *val);
enum policy vcpu_write_msr(struct vcpu *v, u32 msr, u64 val);

/* Read by the handlers that need it: most exits (CPUID above all) do not. */
u64 exit_qualification(void);

typedef enum exit_action (*exit_handler)(struct vcpu *v, const struct exit_info *x);

/* Handlers, one file per concern (exit_*.c). */
enum exit_action handle_cpuid(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_rdmsr(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_wrmsr(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_cr_access(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_xsetbv(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_vmcall(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_io(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_ept_violation(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_ept_misconfig(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_hlt(struct vcpu *v, const struct exit_info *x);

/*
 * Stop every vCPU and print the exit statistics. The caller's vCPU is stopped
 * too. Safe to call from several CPUs at once: the first caller wins. After
 * it returns, @then decides what the machine does.
 */
enum stop_then { STOP_HALT, STOP_POWER_OFF, STOP_RESET };
NORETURN void guest_stop(struct vcpu *v, enum stop_then then, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* The guest triple-faulted (@how: "" or how slatvisor saw it): registers, stop; never returns. */
NORETURN void guest_triple_fault(struct vcpu *v, const char *how);

/* Has a stop been requested? (A vCPU about to enter the guest checks.) */
bool guest_stopping(void);

/* The running total of VM exits of all vCPUs (what CPUID leaf 0x40000001 reports). */
u64 exits_total(void);

/* Register the NMI hook that lets a vCPU in root operation see a stop request. */
void exit_init(void);

#endif
