/* exit_cr.c: writes to the CR0/CR4 bits slatvisor owns (VMX's fixed bits), and XSETBV. */
#include "exit.h"
#include "ap_emul.h"
#include "apic_start.h"
#include "vmcs.h"
#include "vmx.h"
#include "shadow.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/msr.h"
#include "../kernel/log.h"


static enum exit_action gp(struct vcpu *v)
{
	vcpu_inject_exception(v, VEC_GP, true, 0);
	return EXIT_RESUME;
}

/* The handlers' side of the policy: skip the instruction, or raise #GP, or stop. */
static enum exit_action finish(struct vcpu *v, enum policy p)
{
	if (p == POLICY_GP)
		return gp(v);
	if (p == POLICY_STOP)
		return EXIT_STOP;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

enum policy vcpu_write_cr0(struct vcpu *v, u64 val)
{
	/* 2.5 and 26.3: the architectural #GP conditions of MOV to CR0. */
	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
		return POLICY_GP;
	/*
	 * Without unrestricted guest, PE and PG stay set under VMX: refusing is
	 * all a handler can do. The start-up interpreter runs exactly the code
	 * before they are set.
	 */
	if (v->state != VCPU_EMULATING && (~val & vmx.cr0_fixed0 & (CR0_PE | CR0_PG)))
		return POLICY_GP;
	/*
	 * Paging switched on or off while EFER.LME is set: the CPU would enter or
	 * leave IA-32e mode (SDM Vol. 3A, 10.8.5). The VM entry must see the same.
	 */
	u64 old = vcpu_guest_cr0();
	u64 efer = vcpu_efer(v);
	bool paging_on = !(old & CR0_PG) && (val & CR0_PG), paging_off = (old & CR0_PG) && !(val & CR0_PG);
	if ((paging_on || paging_off) && (efer & EFER_LME)) {
		if (paging_on && !(vcpu_guest_cr4() & CR4_PAE))
			return POLICY_GP;
		if (paging_off && v->state != VCPU_EMULATING && (vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & AR_L))
			return POLICY_GP; /* leaving paging from 64-bit code */
		vcpu_set_efer(v, paging_on ? efer | EFER_LMA : efer & ~(u64)EFER_LMA);
	}
	if (vmx.shadow && paging_on && !(efer & EFER_LME)) {
		guest_stop(v, STOP_HALT, "shadow: vcpu%u turned on 32-bit paging; shadow paging covers 4-level (IA-32e) paging only; the guest is stopped",
			   v->index);
		return POLICY_STOP;
	}
	/* Off shadow tables first: while a vCPU is on them, its hardware CR0 keeps PG (vcpu_load_cr0). */
	if (vmx.shadow && paging_off)
		shadow_paging_off(v);
	vcpu_load_cr0(v, val);
	if (vmx.shadow) {
		if (paging_on && !shadow_paging_on(v))
			return POLICY_STOP;
		if (!paging_on && ((old ^ val) & CR0_WP))
			shadow_paging_rules_changed(v, false);
	}
	return POLICY_OK;
}

static bool cpu_has_lam(void)
{
	return cpuid(7, 0).eax >= 1 && (cpuid(7, 1).eax & CPUID71_EAX_LAM);
}

enum policy vcpu_write_cr3(struct vcpu *v, u64 val)
{
	static u64 reserved;
	if (!reserved)
		reserved = cr3_reserved_mask(cpu_maxphyaddr(), cpu_has_lam());
	u64 bits = vcpu_guest_cr4() & CR4_PCIDE ? val & ~CR3_NO_FLUSH : val;
	if (bits & reserved)
		return POLICY_GP;
	if (vmx.shadow)
		return shadow_load_cr3(v, val) ? POLICY_OK : POLICY_STOP;
	vmcs_writenat(VMCS_GUEST_CR3, val); /* with EPT, CR3 loads exit only from the interpreter's path */
	return POLICY_OK;
}

enum policy vcpu_write_cr4(struct vcpu *v, u64 val)
{
	/* VMXE and SMXE are hidden from the guest (CPUID), and reserved bits fault as on hardware. */
	if ((val & (CR4_VMXE | CR4_SMXE)) || (val & ~vmx.cr4_fixed1))
		return POLICY_GP;
	u64 old = vcpu_guest_cr4();
	bool long_mode = vcpu_efer(v) & EFER_LMA;
	/* The MOV to CR4 reference: PAE stays on in IA-32e mode; PCIDE needs it and a CR3 with PCID 0. */
	if (long_mode && !(val & CR4_PAE))
		return POLICY_GP;
	if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && (!long_mode || (vcpu_guest_cr3(v) & 0xFFF)))
		return POLICY_GP;
	if (vmx.shadow && (val & CR4_LA57))
		return POLICY_GP; /* 5-level paging is not shadowed (and CPUID does not offer it then) */
	vcpu_load_cr4(v, val);
	/* SDM Vol. 3A, 4.10.4.1: changing PGE, PCIDE or SMEP flushes the TLB; SMAP changes what is allowed. */
	if ((old ^ val) & (CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP))
		shadow_paging_rules_changed(v, true);
	return POLICY_OK;
}

/*
 * Without unrestricted guest, VT-x cannot enter a guest with PE or PG clear:
 * the code after such a MOV to CR0 runs in the interpreter until it sets
 * them again (a guest leaving IA-32e mode, as kexec and real-mode reboots do).
 */
static bool leaves_vmx(struct vcpu *v, u64 val)
{
	return !vmx.unrestricted && v->state == VCPU_RUNNING && (~val & vmx.cr0_fixed0 & (CR0_PE | CR0_PG));
}

static enum exit_action interpret_paging_off(struct vcpu *v, u64 val)
{
	if (vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & AR_L)
		return gp(v); /* the MOV to CR0 reference: paging cannot be turned off in 64-bit mode */
	switch (ap_emul_paging_off(v, val)) {
	case AP_EMUL_ENTER:
		return EXIT_RESUME;
	case AP_EMUL_GP:
		return gp(v);
	case AP_EMUL_HALTED:
		return apic_start_offline(v, false); /* halted with paging off: only INIT-SIPI brings it back */
	default:
		ap_emul_park(v); /* it said why; the other vCPUs go on */
	}
}

enum exit_action handle_cr_access(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u64 q = exit_qualification();
	unsigned cr = CRQ_NUMBER(q);
	if (v->cr_traced < 40 && ++v->cr_traced)
		pr_debug("vcpu%u: CR%u access type %u value 0x%llx at rip 0x%llx", v->index, cr,
			 CRQ_ACCESS_TYPE(q), (unsigned long long)vcpu_gpr(v, CRQ_GPR(q)),
			 (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP));
	switch (CRQ_ACCESS_TYPE(q)) {
	case CR_MOV_TO: {
		u64 val = vcpu_gpr(v, CRQ_GPR(q));
		if (cr == 0 && leaves_vmx(v, val))
			return interpret_paging_off(v, val);
		if (cr == 0)
			return finish(v, vcpu_write_cr0(v, val));
		if (cr == 3)
			return finish(v, vcpu_write_cr3(v, val));
		if (cr == 4)
			return finish(v, vcpu_write_cr4(v, val));
		break;
	}
	case CR_MOV_FROM:
		if (cr == 3) {
			/* The guest's own CR3, or the root it may read without an exit while armed. */
			vcpu_set_gpr(v, CRQ_GPR(q), shadow_read_cr3(v));
			vcpu_skip_instruction(v);
			return EXIT_RESUME;
		}
		break;
	case CR_LMSW: {
		/* LMSW writes CR0 bits 3:0 but cannot clear PE. */
		u64 old = vcpu_guest_cr0();
		u64 src = CRQ_LMSW_SOURCE(q) & 0xF;
		return finish(v, vcpu_write_cr0(v, (old & ~0xEULL) | src | (old & CR0_PE)));
	}
	default:
		break;
	}
	guest_stop(v, STOP_HALT, "vmx: unexpected control-register exit 0x%llx on vcpu%u",
		   (unsigned long long)q, v->index);
	return EXIT_STOP;
}

/*
 * SDM Vol. 1, 13.3 and the XSETBV reference: every rule whose breach makes
 * XSETBV fault, checked here so that slatvisor's own XSETBV never does.
 */
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_BNDREGS BIT(3)
#define XCR0_BNDCSR BIT(4)
#define XCR0_AVX512 (BIT(5) | BIT(6) | BIT(7))
#define XCR0_TILECFG BIT(17)
#define XCR0_TILEDATA BIT(18)

static bool xcr0_valid(u64 val)
{
	struct cpuid_regs d = cpuid(0xD, 0);
	u64 supported = ((u64)d.edx << 32) | d.eax;
	if (!(val & XCR0_X87) || (val & ~supported))
		return false;
	if ((val & XCR0_AVX) && !(val & XCR0_SSE))
		return false;
	if (!!(val & XCR0_BNDREGS) != !!(val & XCR0_BNDCSR))
		return false;
	if ((val & XCR0_AVX512) && ((val & XCR0_AVX512) != XCR0_AVX512 || !(val & XCR0_AVX)))
		return false;
	if (!!(val & XCR0_TILECFG) != !!(val & XCR0_TILEDATA))
		return false;
	return true;
}

enum exit_action handle_xsetbv(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u32 index = (u32)v->regs.gpr[GPR_RCX];
	u64 val = (v->regs.gpr[GPR_RDX] << 32) | (u32)v->regs.gpr[GPR_RAX];
	if (!(vcpu_guest_cr4() & CR4_OSXSAVE)) {
		vcpu_inject_exception(v, VEC_UD, false, 0);
		return EXIT_RESUME;
	}
	if (index != 0 || !xcr0_valid(val))
		return gp(v);
	/* slatvisor never touches extended state itself, so XCR0 can simply be the guest's. */
	xsetbv(0, val);
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
