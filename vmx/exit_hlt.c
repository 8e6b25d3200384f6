/* exit_hlt.c: HLT exits (several vCPUs only): an idle vCPU sleeps in the guest, one halted with interrupts off goes offline. */
#include "exit.h"
#include "apic_start.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"

enum exit_action handle_hlt(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	vcpu_skip_instruction(v);
	/*
	 * An idle HLT: enter again in the HLT activity state (SDM Vol. 3C,
	 * 26.6.2), so the guest sleeps in VMX non-root operation and its next
	 * interrupt or NMI wakes it there, with no further exit.
	 */
	if (vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_IF) {
		vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
		return EXIT_RESUME;
	}
	/*
	 * With interrupts off only an NMI, SMI or INIT ends the halt: this is
	 * how an operating system parks a CPU it takes offline (Linux's
	 * hlt_play_dead). The vCPU waits in slatvisor for the guest's INIT-SIPI.
	 */
	return apic_start_offline(v, true);
}
