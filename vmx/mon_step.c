/*
 * mon_step.c: a watched access: log it, open the page on this vCPU only, step the one
 * instruction, close the page again (monitor.h).
 *
 * The step uses the monitor trap flag where the CPU has it, with interrupts held off for the
 * one instruction; elsewhere (Bochs 2.7, Core 2) RFLAGS.TF with #DB intercepted. What the
 * guest can see of either is in docs/architecture.md, "Guest memory monitoring".
 */
#include "monitor.h"
#include "mon_internal.h"
#include "ept.h"
#include "shadow.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../kernel/log.h"

/* SDM Vol. 3C, table 28-7: exit qualification for EPT violations. */
#define EPTQ_ACCESS 7u              /* bits 0-2: read, write, fetch, as SLAT_ACC_R/W/X */
#define EPTQ_LINEAR_VALID BIT(7)
#define EPTQ_FINAL_TRANSLATION BIT(8) /* with bit 7: the access was to the page, not to a guest paging structure */

/* Table 28-1: exit qualification for #DB, as DR6 would have it. */
#define DBGQ_BREAKPOINTS 0xFu
#define DBGQ_BD BIT(13)
#define DBGQ_BS BIT(14)
#define DR6_FIXED 0xFFFF0FF0ULL

_Static_assert(SLAT_ACC_R == 1 && SLAT_ACC_W == 2 && SLAT_ACC_X == 4, "access bits as the EPT qualification's");

/* SLAT_MON_FIRST_RIP: true if this RIP was seen before (counted now), so nothing is logged. */
static bool rip_seen(struct monitor *m, u64 rip)
{
	for (unsigned i = 0; i < m->nrips; i++)
		if (m->rips[i].rip == rip) {
			m->rips[i].count++;
			return true;
		}
	if (m->nrips < SLAT_MAX_RIPS)
		m->rips[m->nrips++] = (struct slat_rip_count){ rip, 1 };
	return false;
}

/* One record per monitor and per access kind it watches. The lock is held. */
static void log_access(struct vcpu *v, struct mon_cpu *c, u64 gpa, u64 q)
{
	u64 page = ALIGN_DOWN(gpa, PAGE_SIZE);
	u64 rip = vmcs_readnat(VMCS_GUEST_RIP);
	struct slat_event e = {
		.tsc = rdtsc(), .cpu = v->index, .cpl = vcpu_guest_cpl(), .gpa = gpa,
		.gla = (q & EPTQ_LINEAR_VALID) && (q & EPTQ_FINAL_TRANSLATION) ? vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS) : ~0ULL,
		.rip = rip, .cr3 = vcpu_guest_cr3(v), .count = 1,
	};
	for (unsigned i = 0; i < mon.nmons; i++) {
		struct monitor *m = &mon.mons[i];
		u32 kinds = (u32)q & EPTQ_ACCESS & m->flags;
		if (!kinds || !mon_watches(m, v->index, page))
			continue;
		m->hits++;
		if ((m->flags & SLAT_MON_FIRST_RIP) && rip_seen(m, rip))
			continue;
		e.monitor = m->id;
		for (u32 k = SLAT_ACC_R; k <= SLAT_ACC_X; k <<= 1) {
			if (!(kinds & k))
				continue;
			e.access = k;
			if (mon_ring_put(&c->ring, &e))
				c->events++;
		}
	}
}

static void intercept_db(bool on)
{
	u32 bm = vmcs_read32(VMCS_EXCEPTION_BITMAP);
	vmcs_write32(VMCS_EXCEPTION_BITMAP, on ? bm | BIT(VEC_DB) : bm & ~(u32)BIT(VEC_DB));
}

static void trap_flag(bool on)
{
	vcpu_proc_control(PROC_MONITOR_TRAP_FLAG, on);
}

/*
 * Begin the step of the instruction that made the first violation. With TF, 26.3.1.5 wants a
 * single-step trap pending (BS) whenever TF is set in the shadow of MOV SS or STI. Under
 * MOV SS that trap is held past the next instruction, as a real single step would be; under
 * STI it would come before it, so the STI shadow is given up instead: an interrupt may then
 * come one instruction early, before the stepped instruction rather than after it.
 */
static void step_begin(struct mon_cpu *c)
{
	c->stepping = true;
	if (mon.mtf) {
		trap_flag(true);
		return;
	}
	u64 rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	c->guest_tf = rflags & RFLAGS_TF;
	vmcs_writenat(VMCS_GUEST_RFLAGS, rflags | RFLAGS_TF);
	u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & INTERRUPTIBILITY_MOV_SS)
		vmcs_writenat(VMCS_GUEST_PENDING_DEBUG_EXCEPTIONS,
			      vmcs_readnat(VMCS_GUEST_PENDING_DEBUG_EXCEPTIONS) | PENDING_DBG_BS);
	else if (intr & INTERRUPTIBILITY_STI)
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(u32)INTERRUPTIBILITY_STI);
	intercept_db(true);
}

/* Put back every page opened so far. Tightening needs INVEPT. */
static void close_all(struct mon_cpu *c)
{
	while (c->nopen) {
		c->nopen--;
		*c->open[c->nopen].leaf = c->open[c->nopen].closed;
	}
	ept_invalidate_all(vmcs_read64(VMCS_EPT_POINTER));
}

/* The instruction is done: close every page it opened and stop stepping. */
static void step_end(struct mon_cpu *c)
{
	close_all(c);
	c->stepping = false;
	c->steps++;
	if (mon.mtf) {
		trap_flag(false);
		return;
	}
	if (!c->guest_tf)
		vmcs_writenat(VMCS_GUEST_RFLAGS, vmcs_readnat(VMCS_GUEST_RFLAGS) & ~(u64)RFLAGS_TF);
	intercept_db(false);
}

/*
 * Before each entry mid-step. An instruction slatvisor emulated into the HLT activity state
 * (a stepped HLT) is done: end the step there, as 26.3.1.5 allows neither the STI shadow nor
 * a forced TF without a pending trap in that state. With the monitor trap flag, an interrupt
 * taken before the instruction would end the step at the handler's first instruction, and
 * the instruction would fault, and be recorded, again after it: blocking by STI holds
 * interrupts off for exactly one instruction. It may be set only with RFLAGS.IF = 1 and TF
 * = 0, in the active state, and not while an event goes in.
 */
void mon_step_before_entry(struct vcpu *v, struct mon_cpu *c)
{
	(void)v;
	if (vmcs_read32(VMCS_GUEST_ACTIVITY_STATE) != ACTIVITY_ACTIVE) {
		step_end(c);
		return;
	}
	u64 rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	if (!mon.mtf || (vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & INTR_INFO_VALID) ||
	    !(rflags & RFLAGS_IF) || (rflags & RFLAGS_TF))
		return;
	u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (!(intr & INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr | INTERRUPTIBILITY_STI);
}

void monitor_vcpu_reset(struct vcpu *v)
{
	struct mon_cpu *c = mon.ready ? mon_cpus[v->index] : NULL;
	if (!c)
		return;
	/*
	 * INIT resets the CPU: its ring goes (the guest that registered it may be gone and its
	 * pages reused; it registers again once it runs), and a step in progress ends without
	 * its instruction.
	 */
	c->ring.nframes = 0;
	if (!c->stepping)
		return;
	step_end(c);
	c->steps--;
}

enum exit_action handle_monitor_trap(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	struct mon_cpu *c = mon.ready ? mon_cpus[v->index] : NULL;
	u64 start = rdtsc();
	if (c && c->stepping && mon.mtf) {
		step_end(c);
		c->cycles += rdtsc() - start;
	} else {
		trap_flag(false);
	}
	return EXIT_RESUME;
}

/* The EPT rights this vCPU's monitors take away at @page (the lock held): 0 if none. */
static u64 denied_here(unsigned cpu, u64 page)
{
	u64 deny = 0;
	for (unsigned i = 0; i < mon.nmons; i++)
		if (mon_watches(&mon.mons[i], cpu, page))
			deny |= mon_deny_bits(mon.mons[i].flags);
	return deny;
}

bool monitor_violation(struct vcpu *v, u64 gpa, u64 q, enum exit_action *a)
{
	if (!mon.ready)
		return false;
	struct mon_cpu *c = mon_cpus[v->index];
	u64 page = ALIGN_DOWN(gpa, PAGE_SIZE);
	u64 *leaf = c->view.root ? ept_view_leaf(ept_shared_ops(), &c->view, page) : NULL;
	if (!leaf)
		return false;
	u64 start = rdtsc();
	spin_lock(&mon.lock);
	/*
	 * Only an access a watch of this vCPU denies: anything else on a private path (the hidden
	 * or trapped pages a copied table also holds) is the shared EPT's business. The EPT bits
	 * and the qualification's access bits are both read, write, fetch.
	 */
	bool watched = denied_here(v->index, page) & q & EPTQ_ACCESS & ~*leaf;
	if (watched)
		log_access(v, c, gpa, q);
	spin_unlock(&mon.lock);
	if (!watched)
		return false;
	c->violations++;
	/*
	 * Open it in this view only; loosening needs no INVEPT (the violation dropped what was
	 * cached). A full list (a TF step running through a handler that touches many watched
	 * pages) is closed first: what then faults again is a new access.
	 */
	if (c->nopen == MON_MAX_OPEN)
		close_all(c);
	c->open[c->nopen++] = (struct mon_open){ leaf, *leaf };
	*leaf |= EPT_RWX;
	if (!c->stepping)
		step_begin(c);
	c->cycles += rdtsc() - start;
	*a = EXIT_RESUME;
	return true;
}

bool monitor_debug_exit(struct vcpu *v, u64 q, u32 info)
{
	if (!mon.ready)
		return false;
	struct mon_cpu *c = mon_cpus[v->index];
	if (!c->stepping || mon.mtf)
		return false;
	u64 start = rdtsc();
	if (INTR_INFO_TYPE(info) == INTR_TYPE_PRIV_SW_EXCEPTION) {
		/* The guest's own INT1 (ICEBP), seen because #DB is intercepted: it goes in as it came. */
		vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, info & ~(u32)BIT(12));
		vmcs_write32(VMCS_ENTRY_INSTRUCTION_LENGTH, vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH));
		return true;
	}
	bool guest_tf = c->guest_tf;
	if (q & DBGQ_BS)
		step_end(c);
	/* A breakpoint of the guest's own, or its own single step: it gets its #DB. */
	if ((q & (DBGQ_BREAKPOINTS | DBGQ_BD)) || ((q & DBGQ_BS) && guest_tf)) {
		u64 dr6 = DR6_FIXED | (q & (DBGQ_BREAKPOINTS | DBGQ_BD | (guest_tf ? DBGQ_BS : 0)));
		__asm__ volatile("mov %0, %%dr6" : : "r"(dr6));
		vcpu_inject_exception(v, VEC_DB, false, 0);
	}
	c->cycles += rdtsc() - start;
	return true;
}
