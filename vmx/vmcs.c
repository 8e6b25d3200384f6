/* vmcs.c: VMREAD/VMWRITE with width checks, and VM-instruction error decoding. */
#include "vmcs.h"
#include "../kernel/fmt.h"
#include "../kernel/panic.h"

static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

const char *vm_instruction_error_name(u32 err)
{
	if (err < ARRAY_SIZE(insn_errors) && insn_errors[err])
		return insn_errors[err];
	return "unknown VM-instruction error";
}

const char *vmx_describe_failure(enum vmx_result r, char *buf, size_t len)
{
	if (r == VMX_FAIL_INVALID) {
		fmt_snprintf(buf, len, "VMfailInvalid (no current VMCS)");
	} else {
		u64 err = 0;
		vmx_vmread(VMCS_VM_INSTRUCTION_ERROR, &err);
		fmt_snprintf(buf, len, "VMfailValid, error %llu: %s", (unsigned long long)err,
			     vm_instruction_error_name((u32)err));
	}
	return buf;
}

NORETURN void vmcs_access_failed(enum vmcs_field f, u64 v, enum vmcs_width w, bool write,
				 enum vmx_result r)
{
	if (VMCS_FIELD_WIDTH(f) != w)
		panic("vmcs: field 0x%x is of width class %u, accessed as %u", f, VMCS_FIELD_WIDTH(f), w);
	if (write && r == VMX_FAIL_INVALID)
		panic("vmcs: value 0x%llx does not fit field 0x%x", (unsigned long long)v, f);
	char why[96];
	panic("vmcs: %s of field 0x%x failed: %s", write ? "VMWRITE" : "VMREAD", f,
	      vmx_describe_failure(r, why, sizeof(why)));
}
