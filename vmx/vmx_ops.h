/* vmx_ops.h: the VMX instructions, each reporting VMsucceed / VMfailInvalid / VMfailValid. */
#ifndef SLAT_VMX_OPS_H
#define SLAT_VMX_OPS_H

#include "../kernel/types.h"

/* SDM Vol. 3C, 31.2: CF=1 is VMfailInvalid, ZF=1 is VMfailValid (error in the VMCS). */
enum vmx_result { VMX_OK = 0, VMX_FAIL_INVALID = 1, VMX_FAIL_VALID = 2 };

static inline enum vmx_result vmx_result(u8 cf, u8 zf)
{
	return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

#define VMX_INSN_MEM(insn, operand)                                                      \
	({                                                                               \
		u8 cf_, zf_;                                                             \
		__asm__ volatile(insn " %2; setc %0; setz %1"                             \
				 : "=qm"(cf_), "=qm"(zf_)                                 \
				 : "m"(operand)                                           \
				 : "cc", "memory");                                       \
		vmx_result(cf_, zf_);                                                    \
	})

static inline enum vmx_result vmxon(u64 region)
{
	return VMX_INSN_MEM("vmxon", region);
}

static inline enum vmx_result vmclear(u64 vmcs)
{
	return VMX_INSN_MEM("vmclear", vmcs);
}

static inline enum vmx_result vmptrld(u64 vmcs)
{
	return VMX_INSN_MEM("vmptrld", vmcs);
}

static inline enum vmx_result vmx_vmread(u64 field, u64 *value)
{
	u8 cf, zf;
	__asm__ volatile("vmread %3, %0; setc %1; setz %2"
			 : "=rm"(*value), "=qm"(cf), "=qm"(zf)
			 : "r"(field)
			 : "cc");
	return vmx_result(cf, zf);
}

static inline enum vmx_result vmx_vmwrite(u64 field, u64 value)
{
	u8 cf, zf;
	__asm__ volatile("vmwrite %2, %3; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf)
			 : "rm"(value), "r"(field)
			 : "cc", "memory");
	return vmx_result(cf, zf);
}

/* INVEPT / INVVPID types (SDM Vol. 3C, 31.3). */
#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXTS 2
#define INVVPID_ADDRESS 0
#define INVVPID_SINGLE_CONTEXT 1
#define INVVPID_ALL_CONTEXTS 2
#define INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS 3

/* INVEPT and INVVPID take a type in a register and a 16-byte descriptor in memory. */
#define VMX_INVALIDATE(insn, type, d0, d1)                                               \
	({                                                                               \
		struct {                                                                 \
			u64 lo, hi;                                                      \
		} desc_ = { (d0), (d1) };                                                \
		u8 cf_, zf_;                                                             \
		__asm__ volatile(insn " %2, %3; setc %0; setz %1"                         \
				 : "=qm"(cf_), "=qm"(zf_)                                 \
				 : "m"(desc_), "r"((u64)(type))                           \
				 : "cc", "memory");                                       \
		vmx_result(cf_, zf_);                                                    \
	})

static inline enum vmx_result invept(u64 type, u64 eptp)
{
	return VMX_INVALIDATE("invept", type, eptp, 0);
}

static inline enum vmx_result invvpid(u64 type, u16 vpid, u64 addr)
{
	return VMX_INVALIDATE("invvpid", type, vpid, addr);
}

#endif
