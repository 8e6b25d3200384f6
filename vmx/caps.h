/* caps.h: what this CPU's VT-x can do, read from CPUID and the IA32_VMX_* MSRs. */
#ifndef SLAT_VMX_CAPS_H
#define SLAT_VMX_CAPS_H

#include "controls.h"

#define VMX_NMSRS (MSR_IA32_VMX_LAST - MSR_IA32_VMX_FIRST + 1)

struct vmx_caps {
	u64 feature_control;
	u64 msr[VMX_NMSRS];   /* indexed by MSR - 0x480 */
	bool exists[VMX_NMSRS]; /* the SDM's rules for which MSRs a CPU has */
	/* The control MSRs to compute controls from (TRUE_ variants where present). */
	u64 pin_ctls, proc_ctls, proc2_ctls, exit_ctls, entry_ctls;
	u32 revision;
	bool ept, vpid, unrestricted_guest, ept_1g, ept_wb, ept_uc, invept_single, invept_all,
		invvpid_single, invvpid_all, invvpid_single_retaining_globals, wait_for_sipi;
};

/*
 * Is VT-x usable on this CPU? Returns ST_OK, or ST_UNSUPPORTED with one
 * sentence in @why (no VMX in CPUID, disabled and locked by firmware, ...).
 */
status_t vmx_check_available(char *why, size_t len);

/* Turn VMX on in IA32_FEATURE_CONTROL if the firmware left it unlocked. */
void vmx_enable_feature_control(void);

/* Read every capability MSR this CPU has. */
void vmx_read_caps(struct vmx_caps *c);

/* Print the MSRs with their decoded features (the boot CPU does this once). */
void vmx_print_caps(const struct vmx_caps *c);

/* Index of the first MSR that differs, or -1. */
int vmx_caps_differ(const struct vmx_caps *a, const struct vmx_caps *b);

#endif
