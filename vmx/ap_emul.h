/* ap_emul.h: a started vCPU's real-mode start-up code, run in the interpreter until VT-x can enter it. */
#ifndef SLAT_AP_EMUL_H
#define SLAT_AP_EMUL_H

#include "vcpu.h"

enum ap_emul_result {
	AP_EMUL_ENTER,   /* the VMCS holds a state VM entry accepts: launch or resume */
	AP_EMUL_HALTED,  /* the start-up code halted (HLT with interrupts off): wait for INIT again */
	AP_EMUL_STOPPED, /* the interpreter stopped this vCPU (it said why); the others go on */
	AP_EMUL_GP,      /* ap_emul_paging_off only: the MOV to CR0 itself faults (#GP) */
};

/*
 * Without unrestricted guest: interpret from the SIPI vector (the VMCS holds
 * the state after INIT and SIPI) to the first instruction whose state passes
 * the VM-entry checks, through the same CPUID, MSR and control-register
 * policy as the exit handlers; then write that state into the current VMCS.
 */
enum ap_emul_result ap_emul_start(struct vcpu *v, u8 vector);

/*
 * Without unrestricted guest: the guest's MOV to CR0 (at the current exit)
 * clears PE or PG, which VT-x cannot run. Write it, and interpret from the
 * next instruction to the next state VM entry accepts (back in the VMCS).
 */
enum ap_emul_result ap_emul_paging_off(struct vcpu *v, u64 cr0);

/* Park a vCPU the interpreter stopped: halted in VMX root operation, for good. */
NORETURN void ap_emul_park(struct vcpu *v);

#endif
