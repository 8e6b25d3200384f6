/* apic_start.c: emulate INIT and STARTUP IPIs for vCPUs that wait in slatvisor. */
#include "apic_start.h"
#include "monitor.h"
#include "ap_emul.h"
#include "ept.h"
#include "guest_mem.h"
#include "insn.h"
#include "shadow.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/percpu.h"
#include "../kernel/log.h"
#include "../kernel/spinlock.h"

static u64 page;             /* the APIC page while trapped (xAPIC), 0 otherwise */
static volatile u32 waiting; /* vCPUs that wait for the guest to start them; the ICR is trapped while nonzero */
static spinlock_t count_lock; /* waiting, with the trap and release that follow it */

/* Trap the ICR: the MSR always (x2APIC), the page in xAPIC mode. */
static status_t trap(bool announce)
{
	vmx_trap_msr(X2APIC_MSR_BASE + LAPIC_ICR_LO / 16, false, true, true);
	if (lapic_is_x2apic())
		return ST_OK;
	page = lapic_mmio_base();
	/* Without an EPT, shadow paging maps the page read-only while apic_start_owns() says so. */
	status_t st = vmx.eptp ? ept_set_page_access(page, EPT_READ) : ST_OK;
	if (st == ST_OK && announce)
		pr_info("vmx: the guest's local APIC page 0x%llx is trapped until it has started its %u other CPUs",
			(unsigned long long)page, waiting);
	return st;
}

status_t apic_start_init(unsigned waiting_vcpus)
{
	if (!waiting_vcpus)
		return ST_OK;
	if (lapic_is_x2apic())
		return ST_UNSUPPORTED; /* x2APIC guests use MSRs; the hardware INIT/SIPI path serves them */
	waiting = waiting_vcpus;
	return trap(true);
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
	if (p && vmx.eptp) {
		ept_set_page_access(p, EPT_RWX);
		ept_invalidate(); /* the other CPUs catch up on their next write (see the EPT handler) */
	}
	pr_info("vmx: every vCPU is started; the guest's local APIC page is its own again");
}

/* Spin for count_lock, answering shootdowns meanwhile: its holder may be waiting for this CPU's. */
static void count_lock_take(struct vcpu *v)
{
	while (!spin_trylock(&count_lock)) {
		vcpu_ack_shootdowns(v);
		cpu_relax();
	}
}

/* @v entered the guest: one fewer to wait for. */
static void count_started(struct vcpu *v)
{
	count_lock_take(v);
	if (waiting && --waiting == 0)
		release();
	spin_unlock(&count_lock);
}

/*
 * @v went offline: trap the ICR again, so the guest's next INIT-SIPI to it
 * is emulated. Narrowing access needs every other vCPU to drop what its TLB
 * holds of the page before this returns: its next write must exit.
 */
static void count_offline(struct vcpu *v)
{
	count_lock_take(v);
	if (waiting++ == 0) {
		trap(false);
		if (page && vmx.shadow)
			shadow_trap_page(v, page); /* leaves already writable lose it; the shootdown included */
		v->ept_flush_req = vmx.eptp != 0;
		vcpu_shootdown();
	}
	spin_unlock(&count_lock);
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
	/*
	 * A vCPU whose start-up code halted waits for INIT-SIPI as a fresh one
	 * does. One whose start-up code is running takes them too: an INIT
	 * there resets it once the interpreter is done (start()).
	 */
	if (!t || (t->state != VCPU_WAIT_SIPI && t->state != VCPU_HALTED && t->state != VCPU_EMULATING))
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

/* Sleep in slatvisor until the guest's SIPI for @v (or, if @nmi_wakes, an NMI for it) or a stop. */
static void wait_for_sipi(struct vcpu *v, bool nmi_wakes)
{
	while (!__atomic_load_n(&v->sipi_posted, __ATOMIC_ACQUIRE) && !guest_stopping() &&
	       !(nmi_wakes && v->nmi_pending))
		__asm__ volatile("sti; hlt; cli" ::: "memory"); /* woken by the poster's IPI */
}

/*
 * The guest's SIPI for @v arrived: reset it as INIT and SIPI do and start it,
 * natively in real mode (unrestricted guest) or in the interpreter, which
 * brings it to VM entry. AP_EMUL_HALTED: it waits for INIT again.
 */
static enum ap_emul_result start(struct vcpu *v)
{
	if (vmx.shadow)
		shadow_vcpu_reset(v); /* before the INIT state: CR0 is loaded for paging off */
	monitor_vcpu_reset(v);
	u8 vector = v->sipi_vector;
	/* Taken before it runs: an INIT-SIPI that comes once its start-up code halts must count. */
	v->state = VCPU_EMULATING;
	v->init_received = false;
	__atomic_store_n(&v->sipi_posted, false, __ATOMIC_RELEASE);
	v->nmi_pending = false; /* INIT resets the CPU: an NMI held for it is gone */
	vmcs_guest_init_state();
	vmcs_guest_sipi(vector);
	/* SDM Vol. 3A, table 10-1: general registers are zero after INIT, EDX the signature. */
	for (unsigned r = 0; r < 16; r++)
		v->regs.gpr[r] = 0;
	v->regs.gpr[GPR_RDX] = cpuid(1, 0).eax;
	invvpid_vcpu(v); /* a fresh CPU: nothing cached under its VPID may survive */
	v->starts++;
	pr_info("vcpu%u: started by the guest at 0x%x (SIPI vector 0x%02x)%s", v->index,
		(unsigned)vector << 12, vector, v->starts > 1 ? ", again" : "");
	enum ap_emul_result r = vmx.unrestricted ? AP_EMUL_ENTER : ap_emul_start(v, vector);
	if (r == AP_EMUL_STOPPED)
		ap_emul_park(v);
	if (r == AP_EMUL_ENTER && v->init_received)
		r = AP_EMUL_HALTED; /* the guest sent INIT meanwhile: wait for its SIPI, maybe there already */
	if (r == AP_EMUL_ENTER)
		count_started(v);
	else
		v->state = VCPU_HALTED; /* deliver() takes INIT and SIPI for it again */
	return r;
}

void apic_start_wait_and_launch(struct vcpu *v)
{
	v->state = VCPU_WAIT_SIPI;
	do {
		wait_for_sipi(v, false);
		if (guest_stopping())
			return; /* the guest stopped while this vCPU waited: never enter it */
	} while (start(v) != AP_EMUL_ENTER);
	vcpu_launch(v);
}

enum exit_action apic_start_offline(struct vcpu *v, bool nmi_resumes)
{
	v->init_received = false;
	__atomic_store_n(&v->sipi_posted, false, __ATOMIC_RELEASE);
	v->state = VCPU_HALTED;
	v->offlines++;
	/* Trap first, say so after: the guest may send its INIT as soon as it sees this CPU halt. */
	count_offline(v);
	if (nmi_resumes) /* else the interpreter said where its code halted */
		pr_info("vcpu%u: halted with interrupts off at rip 0x%llx (the guest took it offline); it waits for INIT-SIPI",
			v->index, (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP));
	for (;;) {
		wait_for_sipi(v, nmi_resumes);
		if (guest_stopping())
			return EXIT_RESUME; /* the stop is taken before the entry */
		if (!v->sipi_posted) {
			/* An NMI ends a halt even with interrupts off: back after the HLT, the NMI injected. */
			v->state = VCPU_RUNNING;
			count_started(v);
			return EXIT_RESUME;
		}
		if (start(v) == AP_EMUL_ENTER)
			break;
	}
	v->state = VCPU_RUNNING;
	return EXIT_RESUME;
}
