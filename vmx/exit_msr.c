/* exit_msr.c: the MSRs the bitmap traps: VMX and feature control are virtualized, the rest #GP. */
#include "exit.h"
#include "controls.h"
#include "vmx.h"
#include "apic_start.h"
#include "shadow.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/msr.h"

/*
 * Only MSRs that the MSR bitmap traps, or that lie outside the ranges it
 * covers, exit here. Everything inside those ranges and not trapped runs
 * natively: the CPU itself raises #GP for MSRs it does not have.
 */
enum policy vcpu_read_msr(struct vcpu *v, u32 msr, u64 *val)
{
	if (msr == MSR_IA32_EFER) {
		/* Trapped when slatvisor keeps the guest's EFER (shadow paging, MSR-load lists). */
		*val = vcpu_efer(v);
		return POLICY_OK;
	}
	if (msr != MSR_IA32_FEATURE_CONTROL)
		return POLICY_GP; /* the IA32_VMX_* MSRs, and MSRs no CPU has: as on a CPU without VMX */
	/* Locked, with VMX off: what a guest should believe about this CPU. */
	*val = FEATURE_CONTROL_LOCK;
	return POLICY_OK;
}

enum exit_action handle_rdmsr(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u64 val;
	if (vcpu_read_msr(v, (u32)v->regs.gpr[GPR_RCX], &val) != POLICY_OK) {
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	v->regs.gpr[GPR_RAX] = (u32)val;
	v->regs.gpr[GPR_RDX] = val >> 32;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

/* The bits a guest may set; LMA is the CPU's (SDM Vol. 3A, 2.2.1 and 10.8.5). */
#define EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

static enum policy write_efer(struct vcpu *v, u64 value)
{
	u64 old = vcpu_efer(v);
	bool paging = vcpu_guest_cr0() & CR0_PG;
	bool nx = cpuid_max_ext() >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_NX);
	u64 allowed = EFER_SCE | EFER_LME | EFER_LMA | (nx ? EFER_NXE : 0);
	/* #GP: reserved bits, or LME changed while paging is on. LMA written is ignored. */
	if ((value & ~allowed) || (paging && ((value ^ old) & EFER_LME)))
		return POLICY_GP;
	vcpu_set_efer(v, (value & EFER_WRITABLE) | (old & EFER_LMA));
	if ((value ^ old) & EFER_NXE)
		shadow_paging_rules_changed(v, false); /* XD bits now mean something else */
	return POLICY_OK;
}

enum policy vcpu_write_msr(struct vcpu *v, u32 msr, u64 value)
{
	if (msr == X2APIC_MSR_BASE + LAPIC_ICR_LO / 16) {
		/* Trapped only while vCPUs wait to be started (apic_start.c). */
		if (!apic_start_x2apic_icr(v, value))
			wrmsr(msr, value);
		return POLICY_OK;
	}
	if (msr == MSR_IA32_EFER)
		return write_efer(v, value);
	/* IA32_FEATURE_CONTROL is locked and the VMX MSRs are read-only: #GP for every write here. */
	return POLICY_GP;
}

enum exit_action handle_wrmsr(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u64 value = (v->regs.gpr[GPR_RDX] << 32) | (u32)v->regs.gpr[GPR_RAX];
	if (vcpu_write_msr(v, (u32)v->regs.gpr[GPR_RCX], value) != POLICY_OK) {
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
