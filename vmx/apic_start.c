/* apic_start.c: emulate INIT and STARTUP IPIs for vCPUs that wait in slatvisor. */
#include "apic_start.h"
#include "ap_emul.h"
#include "ept.h"
#include "guest_mem.h"
#include "insn.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/percpu.h"
#include "../kernel/log.h"

static u64 page;           /* the APIC page while trapped, 0 once released */
static volatile u32 waiting; /* vCPUs the guest has not started yet */

status_t apic_start_init(unsigned waiting_vcpus)
{
	if (!waiting_vcpus)
		return ST_OK;
	if (lapic_is_x2apic())
		return ST_UNSUPPORTED; /* x2APIC guests use MSRs; the hardware INIT/SIPI path serves them */
	page = lapic_mmio_base();
	waiting = waiting_vcpus;
	vmx_trap_msr(X2APIC_MSR_BASE + LAPIC_ICR_LO / 16, false, true, true);
	/* Without an EPT, shadow paging maps the page read-only while apic_start_owns() says so. */
	status_t st = vmx.eptp ? ept_set_page_access(page, EPT_READ) : ST_OK;
	if (st == ST_OK)
		pr_info("vmx: the guest's local APIC page 0x%llx is trapped until it has started its %u other CPUs",
			(unsigned long long)page, waiting_vcpus);
	return st;
}

bool apic_start_owns(u64 gpa)
{
	return page && ALIGN_DOWN(gpa, PAGE_SIZE) == page;
}

static void release(void)
{
	u64 p = page;
	page = 0;
	vmx_trap_msr(X2APIC_MSR_BASE + LAPIC_ICR_LO / 16, false, true, false);
	if (vmx.eptp) {
		ept_set_page_access(p, EPT_RWX);
		ept_invalidate(); /* the other CPUs catch up on their next write (see the EPT handler) */
	}
	pr_info("vmx: every vCPU is started; the guest's local APIC page is its own again");
}

static struct vcpu *vcpu_by_apic_id(u32 apic_id)
{
	for (unsigned i = 0; i < ncpus_online; i++)
		if (cpus[i]->apic_id == apic_id)
			return cpus[i]->vcpu;
	return NULL; /* not a CPU slatvisor runs: deliver() drops INIT/SIPI to it */
}

/*
 * INIT or STARTUP for one target. Returns false only for a running vCPU (the
 * hardware delivers it as an INIT VM exit). A CPU slatvisor does not run as a
 * vCPU (left off by maxcpus=, or one that failed to start) must never run the
 * guest natively, outside EPT: its INIT and SIPI are dropped.
 */
static bool deliver(struct vcpu *t, u32 icr)
{
	if (t && t->state == VCPU_RUNNING)
		return false;
	/* A vCPU whose start-up code halted in the interpreter waits for INIT-SIPI as a fresh one does. */
	if (!t || (t->state != VCPU_WAIT_SIPI && t->state != VCPU_HALTED))
		return true;
	if (ICR_DELIVERY_MODE(icr) == (ICR_DELIVERY_INIT >> 8)) {
		if (icr & ICR_LEVEL_ASSERT)
			t->init_received = true; /* a de-assert (old 82489DX protocol) is a no-op */
		return true;
	}
	/* SDM Vol. 3A, 9.4.4: a SIPI counts only after an INIT, and only the first one. */
	if (t->init_received && !t->sipi_posted) {
		t->sipi_vector = (u8)icr;
		__atomic_store_n(&t->sipi_posted, true, __ATOMIC_RELEASE);
		lapic_send_ipi(t->cpu->apic_id, ICR_DELIVERY_FIXED | VEC_WAKE);
	}
	return true;
}

/* Returns true if slatvisor took the INIT/SIPI; false: the caller sends @icr as it is. */
static bool start_ipi(struct vcpu *self, u32 icr, u32 dest)
{
	unsigned mode = ICR_DELIVERY_MODE(icr);
	if (mode != (ICR_DELIVERY_INIT >> 8) && mode != (ICR_DELIVERY_STARTUP >> 8))
		return false;
	bool handled = false;
	switch (ICR_SHORTHAND(icr)) {
	case 0: /* physical destination (Linux starts CPUs this way) */
		handled = deliver(vcpu_by_apic_id(dest), icr);
		break;
	case 2: /* all including self */
	case 3: /* all excluding self */
		for (unsigned i = 0; i < ncpus_online; i++)
			if (cpus[i]->vcpu != self)
				handled |= deliver(cpus[i]->vcpu, icr);
		break;
	default:
		break;
	}
	return handled;
}

static void write_icr(struct vcpu *self, u32 icr)
{
	if (!start_ipi(self, icr, ICR_DEST_XAPIC(lapic_mmio_read(LAPIC_ICR_HI))))
		lapic_mmio_write(LAPIC_ICR_LO, icr);
}

bool apic_start_x2apic_icr(struct vcpu *v, u64 value)
{
	/* x2APIC: one 64-bit ICR, the destination APIC id in bits 63:32 (SDM 11.12.9). */
	return waiting && start_ipi(v, (u32)value, (u32)(value >> 32));
}

enum exit_action apic_start_write(struct vcpu *v, u64 gpa)
{
	struct mmio_store st;
	u64 value;
	if (!guest_decode_store(v, &st, &value)) {
		guest_stop(v, STOP_HALT,
			   "apic: vcpu%u wrote its local APIC (offset 0x%llx) with an instruction slatvisor does not decode, at rip 0x%llx",
			   v->index, (unsigned long long)(gpa & 0xFFF),
			   (unsigned long long)(vmcs_readnat(VMCS_GUEST_CS_BASE) + vmcs_readnat(VMCS_GUEST_RIP)));
	}
	u32 off = (u32)(gpa & 0xFFF) & ~3u;
	if (off == LAPIC_ICR_LO)
		write_icr(v, (u32)value);
	else
		lapic_mmio_write(off, (u32)value); /* 32-bit registers; narrower stores are rare and zero-extend */
	vmcs_writenat(VMCS_GUEST_RIP, vmcs_readnat(VMCS_GUEST_RIP) + st.length);
	return EXIT_RESUME;
}

void apic_start_wait_and_launch(struct vcpu *v)
{
	bool counted = false;
	v->state = VCPU_WAIT_SIPI;
	for (;;) {
		while (!__atomic_load_n(&v->sipi_posted, __ATOMIC_ACQUIRE))
			__asm__ volatile("sti; hlt; cli" ::: "memory"); /* woken by the poster's IPI */
		if (guest_stopping())
			return; /* the guest stopped while this vCPU waited: never enter it */
		vmcs_guest_init_state();
		vmcs_guest_sipi(v->sipi_vector);
		invvpid_vcpu(v); /* a fresh CPU: nothing cached under its VPID may survive */
		pr_info("vcpu%u: started by the guest at 0x%x (SIPI vector 0x%02x)", v->index,
			(unsigned)v->sipi_vector << 12, v->sipi_vector);
		if (!counted && __atomic_sub_fetch(&waiting, 1, __ATOMIC_SEQ_CST) == 0)
			release();
		counted = true;
		if (vmx.unrestricted)
			break; /* the CPU itself runs the real-mode start-up code */
		enum ap_emul_result r = ap_emul_start(v, v->sipi_vector);
		if (r == AP_EMUL_ENTER)
			break;
		if (r == AP_EMUL_STOPPED)
			ap_emul_park(v);
		/* Halted: the next INIT and SIPI start it again (VCPU_HALTED is deliverable). */
		v->init_received = false;
		__atomic_store_n(&v->sipi_posted, false, __ATOMIC_RELEASE);
	}
	vcpu_launch(v);
}
