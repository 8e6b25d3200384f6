/* exit_msr.c: the MSRs the bitmap traps: VMX and feature control are virtualized, the rest #GP. */
#include "exit.h"
#include "controls.h"
#include "vmx.h"
#include "apic_start.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/msr.h"

/*
 * Only MSRs that the MSR bitmap traps, or that lie outside the ranges it
 * covers, exit here. Everything inside those ranges and not trapped runs
 * natively: the CPU itself raises #GP for MSRs it does not have.
 */
enum exit_action handle_rdmsr(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u32 msr = (u32)v->regs.gpr[GPR_RCX];
	if (msr != MSR_IA32_FEATURE_CONTROL) {
		/* The IA32_VMX_* MSRs, and MSRs no CPU has: as on a CPU without VMX. */
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	/* Locked, with VMX off: what a guest should believe about this CPU. */
	v->regs.gpr[GPR_RAX] = (u32)FEATURE_CONTROL_LOCK;
	v->regs.gpr[GPR_RDX] = 0;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

enum exit_action handle_wrmsr(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u32 msr = (u32)v->regs.gpr[GPR_RCX];
	u64 value = (v->regs.gpr[GPR_RDX] << 32) | (u32)v->regs.gpr[GPR_RAX];
	if (msr == X2APIC_MSR_BASE + LAPIC_ICR_LO / 16) {
		/* Trapped only while vCPUs wait to be started (apic_start.c). */
		if (!apic_start_x2apic_icr(v, value))
			wrmsr(msr, value);
		vcpu_skip_instruction(v);
		return EXIT_RESUME;
	}
	/* IA32_FEATURE_CONTROL is locked and the VMX MSRs are read-only: #GP for every write here. */
	vcpu_inject_exception(v, VEC_GP, true, 0);
	return EXIT_RESUME;
}
