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

/* The guest's CPL: SS.DPL (SDM Vol. 3C, 25.4.1). */
static unsigned guest_cpl(void)
{
	return (vmcs_read32(VMCS_GUEST_SS_ACCESS_RIGHTS) >> 5) & 3;
}

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
		.tsc = rdtsc(), .cpu = v->index, .cpl = guest_cpl(), .gpa = gpa,
		.gla = (q & EPTQ_LINEAR_VALID) && (q & EPTQ_FINAL_TRANSLATION) ? vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS) : ~0ULL,
		.rip = rip, .cr3 = vcpu_guest_cr3(v), .count = 1,
	};
	for (unsigned i = 0; i < mon.nmons; i++) {
		struct monitor *m = &mon.mons[i];
		if (!mon_applies(m, v->index))
			continue;
		bool covers = false;
		for (unsigned p = 0; p < m->npages && !covers; p++)
			covers = mon.watched[m->first + p] == page;
		u32 kinds = (u32)q & EPTQ_ACCESS & m->flags;
		if (!covers || !kinds)
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
	u32 proc = vmcs_read32(VMCS_PROC_BASED_CONTROLS);
	vmcs_write32(VMCS_PROC_BASED_CONTROLS, on ? proc | PROC_MONITOR_TRAP_FLAG : proc & ~(u32)PROC_MONITOR_TRAP_FLAG);
}

/* Begin the step of the instruction that made the first violation. */
static void step_begin(struct mon_cpu *c)
{
	if (mon.mtf) {
		trap_flag(true);
		return;
	}
	u64 rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	c->guest_tf = rflags & RFLAGS_TF;
	vmcs_writenat(VMCS_GUEST_RFLAGS, rflags | RFLAGS_TF);
	intercept_db(true);
}

/* The instruction is done: close every page it opened. Tightening needs INVEPT. */
static void step_end(struct mon_cpu *c)
{
	while (c->nopen) {
		c->nopen--;
		*c->open[c->nopen].leaf = c->open[c->nopen].closed;
	}
	ept_invalidate_all(vmcs_read64(VMCS_EPT_POINTER));
	c->steps++;
}

/*
 * 26.3.1.5: with the monitor trap flag, an interrupt taken before the instruction would end
 * the step at the handler's first instruction, and the instruction would fault again after
 * it: a second record for one access. Blocking by STI holds interrupts off for exactly one
 * instruction; it may be set only with RFLAGS.IF = 1, and not while an event goes in.
 */
void mon_step_before_entry(struct vcpu *v, struct mon_cpu *c)
{
	(void)v;
	(void)c;
	if (!mon.mtf || (vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & INTR_INFO_VALID) ||
	    !(vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_IF))
		return;
	u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (!(intr & INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr | INTERRUPTIBILITY_STI);
}

void monitor_vcpu_reset(struct vcpu *v)
{
	struct mon_cpu *c = mon.ready ? mon_cpus[v->index] : NULL;
	if (!c || !c->nopen)
		return;
	/* INIT in the middle of a step: the instruction never completes; close what it opened. */
	step_end(c);
	c->steps--;
	if (mon.mtf)
		trap_flag(false);
	else
		intercept_db(false);
}

enum exit_action handle_monitor_trap(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	struct mon_cpu *c = mon.ready ? mon_cpus[v->index] : NULL;
	u64 start = rdtsc();
	trap_flag(false);
	if (c && c->nopen) {
		step_end(c);
		c->cycles += rdtsc() - start;
	}
	return EXIT_RESUME;
}

bool monitor_violation(struct vcpu *v, u64 gpa, u64 q, enum exit_action *a)
{
	if (!mon.ready)
		return false;
	struct mon_cpu *c = mon_cpus[v->index];
	u64 *leaf = c->view.root ? ept_view_leaf(ept_shared_ops(), &c->view, ALIGN_DOWN(gpa, PAGE_SIZE)) : NULL;
	/* Only a right this view took away: anything else is the shared EPT's business. */
	if (!leaf || (*leaf & EPT_RWX) == EPT_RWX)
		return false;
	u64 start = rdtsc();
	c->violations++;
	spin_lock(&mon.lock);
	log_access(v, c, gpa, q);
	spin_unlock(&mon.lock);
	if (c->nopen == MON_MAX_OPEN) {
		guest_stop(v, STOP_HALT, "monitor: vcpu%u: one instruction at rip 0x%llx touched more than %u watched pages; the guest is stopped",
			   v->index, (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP), MON_MAX_OPEN);
		*a = EXIT_STOP;
		return true;
	}
	/* Open it in this view only. Loosening needs no INVEPT: the violation dropped what was cached. */
	c->open[c->nopen++] = (struct mon_open){ leaf, *leaf };
	*leaf |= EPT_RWX;
	if (c->nopen == 1)
		step_begin(c);
	c->cycles += rdtsc() - start;
	*a = EXIT_RESUME;
	return true;
}

bool monitor_debug_exit(struct vcpu *v, u64 q)
{
	if (!mon.ready)
		return false;
	struct mon_cpu *c = mon_cpus[v->index];
	if (!c->nopen || mon.mtf)
		return false;
	u64 start = rdtsc();
	bool guest_tf = c->guest_tf;
	if (q & DBGQ_BS) {
		step_end(c);
		if (!guest_tf)
			vmcs_writenat(VMCS_GUEST_RFLAGS, vmcs_readnat(VMCS_GUEST_RFLAGS) & ~(u64)RFLAGS_TF);
		intercept_db(false);
	}
	/* A breakpoint of the guest's own, or its own single step: it gets its #DB. */
	if ((q & (DBGQ_BREAKPOINTS | DBGQ_BD)) || ((q & DBGQ_BS) && guest_tf)) {
		u64 dr6 = DR6_FIXED | (q & (DBGQ_BREAKPOINTS | DBGQ_BD | (guest_tf ? DBGQ_BS : 0)));
		__asm__ volatile("mov %0, %%dr6" : : "r"(dr6));
		vcpu_inject_exception(v, VEC_DB, false, 0);
	}
	c->cycles += rdtsc() - start;
	return true;
}
