/*
 * shadow_tlb.c: the guest's TLB instructions under shadow paging. INVLPG and INVPCID exit
 * (INVLPG exiting); INVPCID's operands are checked here as the CPU would before the flush.
 */
#include "shadow.h"
#include "guest_mem.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"

enum exit_action handle_invlpg(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	return shadow_guest_tlb_flush(v);
}

/* SDM Vol. 3C, table 28-13: instruction information for INVEPT, INVPCID and INVVPID. */
#define II_SCALE(i) ((i) & 3)
#define II_ADDR_SIZE(i) (((i) >> 7) & 7)
#define II_SEG(i) (((i) >> 15) & 7)
#define II_INDEX(i) (((i) >> 18) & 0xF)
#define II_INDEX_INVALID BIT(22)
#define II_BASE(i) (((i) >> 23) & 0xF)
#define II_BASE_INVALID BIT(27)
#define II_REG2(i) (((i) >> 28) & 0xF)

enum { INVPCID_ADDRESS, INVPCID_SINGLE, INVPCID_ALL_GLOBAL, INVPCID_ALL };

enum exit_action handle_invpcid(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u32 info = vmcs_read32(VMCS_EXIT_INSTRUCTION_INFO);
	u64 type = vcpu_gpr(v, II_REG2(info));
	u64 addr = exit_qualification(); /* the displacement */
	if (!(info & II_BASE_INVALID))
		addr += vcpu_gpr(v, II_BASE(info));
	if (!(info & II_INDEX_INVALID))
		addr += vcpu_gpr(v, II_INDEX(info)) << II_SCALE(info);
	if (II_ADDR_SIZE(info) == 1)
		addr = (u32)addr;
	/* 64-bit mode: only FS and GS have bases. */
	if (II_SEG(info) == 4)
		addr += vmcs_readnat(VMCS_GUEST_FS_BASE);
	else if (II_SEG(info) == 5)
		addr += vmcs_readnat(VMCS_GUEST_GS_BASE);
	u64 desc[2];
	if (!guest_read_linear(addr, desc, sizeof(desc))) {
		vcpu_inject_exception(v, VEC_GP, true, 0); /* the descriptor is unreadable */
		return EXIT_RESUME;
	}
	u64 pcid = desc[0] & 0xFFF;
	bool pcide = vcpu_guest_cr4() & CR4_PCIDE;
	/* The INVPCID reference: #GP for a bad type, reserved bits, a PCID without PCIDE, a non-canonical address. */
	bool canonical = (u64)(((s64)desc[1] << 16) >> 16) == desc[1];
	if (type > INVPCID_ALL || (desc[0] >> 12) ||
	    ((type == INVPCID_ADDRESS || type == INVPCID_SINGLE) && pcid && !pcide) ||
	    (type == INVPCID_ADDRESS && !canonical)) {
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return EXIT_RESUME;
	}
	return shadow_guest_tlb_flush(v);
}
