/* exit_cpuid.c: CPUID as the guest sees it: VMX and SMX hidden, a hypervisor signature, exit counters. */
#include "exit.h"
#include "monitor.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../kernel/kstring.h"

/* The hypervisor leaves (0x40000000 and up), where guests look for a hypervisor. */
#define LEAF_HV_BASE 0x40000000
#define LEAF_HV_EXITS 0x40000001 /* EAX:EBX = VM exits so far, all vCPUs */
#define LEAF_HV_MAX SLAT_CPUID_FEATURES /* EAX: the feature bits of hypercall_abi.h */
#define LEAF_HV_END 0x400000FF
static const char signature[12] = "slatvisor\0\0\0";

void vcpu_cpuid(struct vcpu *v, u32 leaf, u32 sub, struct cpuid_regs *out)
{
	(void)v;
	struct cpuid_regs r;

	if (leaf >= LEAF_HV_BASE && leaf <= LEAF_HV_END) {
		memset(&r, 0, sizeof(r));
		if (leaf == LEAF_HV_BASE) {
			r.eax = LEAF_HV_MAX;
			memcpy(&r.ebx, signature, 4);
			memcpy(&r.ecx, signature + 4, 4);
			memcpy(&r.edx, signature + 8, 4);
		} else if (leaf == LEAF_HV_EXITS) {
			u64 n = exits_total();
			r.eax = (u32)n;
			r.ebx = (u32)(n >> 32);
		} else if (leaf == SLAT_CPUID_FEATURES) {
			r.eax = monitor_available() ? SLAT_FEATURE_MONITOR : 0;
		}
	} else {
		r = cpuid(leaf, sub);
		switch (leaf) {
		case 1:
			/*
			 * SMX too: GETSEC exits unconditionally in VMX non-root
			 * operation (SDM Vol. 3C, "Instructions That Cause VM Exits
			 * Unconditionally") and slatvisor does not emulate it, so
			 * CR4.SMXE is refused as VMXE is.
			 */
			r.ecx &= ~(u32)(CPUID1_ECX_VMX | CPUID1_ECX_SMX);
			r.ecx |= CPUID1_ECX_HYPERVISOR;
			if (vmx.hide_mwait)
				r.ecx &= ~(u32)CPUID1_ECX_MONITOR;
			/* OSXSAVE mirrors the guest's CR4, not slatvisor's. */
			r.ecx &= ~(u32)CPUID1_ECX_OSXSAVE;
			if (vcpu_guest_cr4() & CR4_OSXSAVE)
				r.ecx |= CPUID1_ECX_OSXSAVE;
			break;
		case 7:
			if (sub != 0)
				break;
			if (vmx.hide_invpcid)
				r.ebx &= ~(u32)CPUID7_EBX_INVPCID;
			/* TPAUSE/UMWAIT #UD without their control; PCONFIG always exits. */
			if (vmx.hide_waitpkg)
				r.ecx &= ~(u32)CPUID7_ECX_WAITPKG;
			r.edx &= ~(u32)CPUID7_EDX_PCONFIG;
			/* Shadow paging is 4-level only: CR4.LA57 is refused (exit_cr.c), so not offered. */
			if (vmx.shadow)
				r.ecx &= ~(u32)CPUID7_ECX_LA57;
			break;
		case 0xD:
			if (sub == 1 && vmx.hide_xsaves)
				r.eax &= ~(u32)CPUIDD1_EAX_XSAVES;
			break;
		case 0x80000001:
			if (vmx.hide_rdtscp)
				r.edx &= ~(u32)CPUID80000001_EDX_RDTSCP;
			break;
		default:
			break;
		}
	}
	*out = r;
}

enum exit_action handle_cpuid(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	struct cpuid_regs r;
	vcpu_cpuid(v, (u32)v->regs.gpr[GPR_RAX], (u32)v->regs.gpr[GPR_RCX], &r);
	v->regs.gpr[GPR_RAX] = r.eax;
	v->regs.gpr[GPR_RBX] = r.ebx;
	v->regs.gpr[GPR_RCX] = r.ecx;
	v->regs.gpr[GPR_RDX] = r.edx;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
