/* ap_emul.c: run a started vCPU's start-up code in the interpreter (emul/), backed by guest RAM and the exit handlers' policy. */
#include "ap_emul.h"
#include "ept.h"
#include "exit.h"
#include "shadow.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/msr.h"
#include "../emul/emul.h"
#include "../kernel/fmt.h"
#include "../kernel/kstring.h"
#include "../kernel/log.h"

/* Linux 6.1 needs about a hundred instructions; a start-up sequence far past this is not one. */
#define AP_EMUL_BUDGET 20000
#define MSR_IA32_MISC_ENABLE 0x1A0

/* Guest RAM only: the hypervisor's memory, MMIO and holes stop the vCPU. */
static bool ram(u64 gpa, unsigned len)
{
	for (u64 p = ALIGN_DOWN(gpa, PAGE_SIZE); p < gpa + len; p += PAGE_SIZE)
		if (ept_gpa_kind(p) != GPA_RAM)
			return false;
	return true;
}

static enum emul_access mem_read(void *ctx, u64 gpa, void *buf, unsigned len)
{
	(void)ctx;
	if (!ram(gpa, len))
		return ACC_NO_RAM;
	memcpy(buf, (const void *)(uintptr_t)gpa, len); /* guest RAM is identity-mapped in slatvisor */
	return ACC_OK;
}

/*
 * Writes bypass shadow paging's write protection: start-up code writes its
 * stack and GDT accessed bits in low memory, which Linux never uses for
 * page tables.
 */
static enum emul_access mem_write(void *ctx, u64 gpa, const void *buf, unsigned len)
{
	(void)ctx;
	if (!ram(gpa, len))
		return ACC_NO_RAM;
	memcpy((void *)(uintptr_t)gpa, buf, len);
	return ACC_OK;
}

static u64 read_ctl(void *ctx, enum emul_ctl which)
{
	struct vcpu *v = ctx;
	switch (which) {
	case CTL_CR0: return vcpu_guest_cr0();
	case CTL_CR3: return vcpu_guest_cr3(v);
	case CTL_CR4: return vcpu_guest_cr4();
	default: return vcpu_efer(v);
	}
}

static enum emul_access from_policy(enum policy p)
{
	return p == POLICY_OK ? ACC_OK : p == POLICY_GP ? ACC_GP : ACC_STOP;
}

static enum emul_access write_ctl(void *ctx, enum emul_ctl which, u64 value)
{
	struct vcpu *v = ctx;
	switch (which) {
	case CTL_CR0: return from_policy(vcpu_write_cr0(v, value));
	case CTL_CR3: return from_policy(vcpu_write_cr3(v, value));
	case CTL_CR4: return from_policy(vcpu_write_cr4(v, value));
	default: return from_policy(vcpu_write_msr(v, MSR_IA32_EFER, value));
	}
}

static void do_cpuid(void *ctx, u32 leaf, u32 sub, struct emul_cpuid *out)
{
	struct cpuid_regs r;
	vcpu_cpuid(ctx, leaf, sub, &r);
	*out = (struct emul_cpuid){ r.eax, r.ebx, r.ecx, r.edx };
}

/*
 * An MSR the bitmap does not trap runs natively in VMX non-root operation,
 * faulting there if the CPU lacks it; slatvisor's own RDMSR must not fault.
 * Of those, start-up code reads IA32_MISC_ENABLE (Linux's verify_cpu, on the
 * Intel CPUs that have it: family 6 from model 0xD, or a later family).
 */
static bool native_msr(u32 msr)
{
	if (msr != MSR_IA32_MISC_ENABLE)
		return false;
	u32 sig = cpuid(1, 0).eax;
	unsigned family = (sig >> 8) & 0xF, model = ((sig >> 4) & 0xF) | ((sig >> 12) & 0xF0);
	return family > 6 || (family == 6 && model >= 0xD);
}

static enum emul_access do_rdmsr(void *ctx, u32 msr, u64 *value)
{
	struct vcpu *v = ctx;
	if (msr == MSR_IA32_EFER || vmx_msr_trapped(msr, false))
		return from_policy(vcpu_read_msr(v, msr, value));
	if (native_msr(msr)) {
		*value = rdmsr(msr);
		return ACC_OK;
	}
	pr_err("vcpu%u: start-up code reads MSR 0x%x, which the interpreter does not pass through", v->index, msr);
	return ACC_STOP;
}

static enum emul_access do_wrmsr(void *ctx, u32 msr, u64 value)
{
	struct vcpu *v = ctx;
	if (msr == MSR_IA32_EFER || vmx_msr_trapped(msr, true))
		return from_policy(vcpu_write_msr(v, msr, value));
	if (native_msr(msr)) {
		wrmsr(msr, value);
		return ACC_OK;
	}
	pr_err("vcpu%u: start-up code writes MSR 0x%x, which the interpreter does not pass through", v->index, msr);
	return ACC_STOP;
}

/* The interpreter's state where VM entry takes over: segments, tables, registers, interrupt shadow. */
static void to_vmcs(struct vcpu *v, const struct emul_cpu *c)
{
	for (unsigned s = SR_ES; s <= SR_TR; s++) {
		const struct emul_seg *g = &c->seg[s];
		vmcs_guest_segment(s, g->sel, g->base, g->limit, g->ar);
	}
	vmcs_writenat(VMCS_GUEST_GDTR_BASE, c->gdt_base);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, c->gdt_limit);
	vmcs_writenat(VMCS_GUEST_IDTR_BASE, c->idt_base);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, c->idt_limit);
	for (unsigned r = 0; r < 8; r++)
		vcpu_set_gpr(v, r, c->gpr[r]);
	vmcs_writenat(VMCS_GUEST_RIP, c->eip);
	vmcs_writenat(VMCS_GUEST_RFLAGS, c->eflags);
	u32 intr = (c->sti_shadow ? INTERRUPTIBILITY_STI : 0) | (c->movss_shadow ? INTERRUPTIBILITY_MOV_SS : 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
}

/* The guest state at an exit, for the interpreter: 32 bits of it, as it is about to leave IA-32e mode. */
static void from_vmcs(struct vcpu *v, struct emul_cpu *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned s = SR_ES; s <= SR_TR; s++) {
		u64 base;
		vmcs_guest_segment_read(s, &c->seg[s].sel, &base, &c->seg[s].limit, &c->seg[s].ar);
		c->seg[s].base = (u32)base;
	}
	c->gdt_base = (u32)vmcs_readnat(VMCS_GUEST_GDTR_BASE);
	c->gdt_limit = (u16)vmcs_read32(VMCS_GUEST_GDTR_LIMIT);
	c->idt_base = (u32)vmcs_readnat(VMCS_GUEST_IDTR_BASE);
	c->idt_limit = (u16)vmcs_read32(VMCS_GUEST_IDTR_LIMIT);
	for (unsigned r = 0; r < 8; r++)
		c->gpr[r] = (u32)vcpu_gpr(v, r);
	c->eip = (u32)vmcs_readnat(VMCS_GUEST_RIP);
	c->eflags = (u32)vmcs_readnat(VMCS_GUEST_RFLAGS);
}

/* Interpret from @cpu's state; @what names the code in the log ("start-up code"). */
static enum ap_emul_result run(struct vcpu *v, struct emul_cpu *cpu, const char *what, const char *from)
{
	const struct emul_ops ops = {
		.read = mem_read, .write = mem_write, .read_ctl = read_ctl, .write_ctl = write_ctl,
		.cpuid = do_cpuid, .rdmsr = do_rdmsr, .wrmsr = do_wrmsr, .ctx = v,
	};
	struct emul_result res;
	v->state = VCPU_EMULATING;
	emul_run(cpu, &ops, AP_EMUL_BUDGET, &res);
	if (res.why == EMUL_READY) {
		to_vmcs(v, cpu);
		pr_info("vcpu%u: the interpreter ran %llu instructions from %s to VM entry at %04x:%08x",
			v->index, (unsigned long long)res.steps, from, cpu->seg[SR_CS].sel, cpu->eip);
		return AP_EMUL_ENTER;
	}
	char msg[200];
	emul_describe(&res, msg, sizeof(msg));
	if (res.why == EMUL_HALT) {
		pr_info("vcpu%u: its %s halted (%s); it waits for INIT", v->index, what, msg);
		v->state = VCPU_HALTED;
		return AP_EMUL_HALTED;
	}
	pr_err("vcpu%u: %s stopped in the interpreter: %s; this vCPU is stopped, the others go on",
	       v->index, what, msg);
	v->state = VCPU_STOPPED;
	return AP_EMUL_STOPPED;
}

enum ap_emul_result ap_emul_start(struct vcpu *v, u8 vector)
{
	struct emul_cpu cpu;
	emul_cpu_sipi(&cpu, vector);
	/* SDM Vol. 3A, table 10-1: EDX holds the processor signature after INIT. */
	cpu.gpr[R_EDX] = cpuid(1, 0).eax;
	char from[24];
	fmt_snprintf(from, sizeof(from), "SIPI vector 0x%02x", vector);
	return run(v, &cpu, "start-up code", from);
}

enum ap_emul_result ap_emul_paging_off(struct vcpu *v, u64 cr0)
{
	struct emul_cpu cpu;
	from_vmcs(v, &cpu);
	char from[64];
	fmt_snprintf(from, sizeof(from), "the MOV to CR0 that cleared %s at %04x:%08x",
		     (cr0 & CR0_PE) ? "PG" : "PE", cpu.seg[SR_CS].sel, cpu.eip);
	cpu.eip += vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH); /* the MOV is done once CR0 is written */
	v->state = VCPU_EMULATING; /* the policy lets PE and PG go only there */
	enum policy p = vcpu_write_cr0(v, cr0);
	if (p != POLICY_OK) {
		v->state = VCPU_RUNNING;
		return p == POLICY_GP ? AP_EMUL_GP : AP_EMUL_STOPPED;
	}
	enum ap_emul_result r = run(v, &cpu, "code", from);
	if (r == AP_EMUL_ENTER)
		v->state = VCPU_RUNNING;
	return r;
}

void ap_emul_park(struct vcpu *v)
{
	v->state = VCPU_STOPPED;
	cpu_halt_forever();
}
