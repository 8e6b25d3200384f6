/* shadow.c: shadow paging on VT-x: the engine's memory, paging phases per vCPU, TLB shootdowns. */
#include "shadow.h"
#include "shadow_stats.h"
#include "apic_start.h"
#include "ept.h"
#include "guest_mem.h"
#include "open_bus.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/msr.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/tsc.h"
#include "../kernel/log.h"
#include "../kernel/options.h"
#include "../kernel/spinlock.h"
#include "../mm/palloc.h"

/* A shootdown unanswered this long is worth a warning (the preemption timer bounds it at 1 ms). */
#define KICK_LATE_US 20000
#define KICK_RETRY_US 1000

static struct shadow_mmu mmu;
static spinlock_t mmu_lock;
static bool hidden_logged;
static unsigned maxphyaddr;
static bool gbpages;

/* ---- the engine's view of the machine ---- */

static u64 *guest_table(void *ctx, u64 gpa)
{
	(void)ctx;
	return ept_gpa_kind(gpa) == GPA_RAM ? (u64 *)(uintptr_t)ALIGN_DOWN(gpa, PAGE_SIZE) : NULL;
}

static u64 *shadow_table(void *ctx, u64 hpa)
{
	(void)ctx;
	return (u64 *)(uintptr_t)hpa; /* the pool is in slatvisor's identity map */
}

static enum gpa_kind kind(void *ctx, u64 gpa)
{
	(void)ctx;
	return ept_gpa_kind(gpa);
}

static bool trap_write(void *ctx, u64 gpa)
{
	(void)ctx;
	return apic_start_owns(gpa);
}

static bool others_running(void)
{
	struct vcpu *self = this_cpu()->vcpu;
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (o && o != self && o->state == VCPU_RUNNING)
			return true;
	}
	return false;
}

/* ---- the CR3-target list in this vCPU's VMCS (shadow/roots.c decides) ---- */

static void targets_fill(struct vcpu *v, const u64 t[2])
{
	vmcs_writenat(VMCS_CR3_TARGET_VALUE0, t[0]);
	vmcs_writenat(VMCS_CR3_TARGET_VALUE1, t[1]);
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 2);
	if (vmx.cr3_reads_free)
		vmcs_write32(VMCS_PROC_BASED_CONTROLS,
			     vmcs_read32(VMCS_PROC_BASED_CONTROLS) & ~(u32)PROC_CR3_STORE_EXITING);
	v->hw_armed = true;
}

/*
 * SDM Vol. 3C, 25.1.3: with the count 0, every MOV to CR3 exits again. The
 * root the guest is on is taken from the VMCS first: after this, no exit does.
 */
static void targets_empty(struct vcpu *v)
{
	shadow_follow_cr3(&mmu, &v->sv, vmcs_readnat(VMCS_GUEST_CR3));
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	if (vmx.cr3_reads_free)
		vmcs_write32(VMCS_PROC_BASED_CONTROLS,
			     vmcs_read32(VMCS_PROC_BASED_CONTROLS) | PROC_CR3_STORE_EXITING);
	v->hw_armed = false;
}

/*
 * Another vCPU asked this one to flush (and maybe to empty its target
 * list): note it, and say it is done (this CPU is in root mode now). In an
 * NMI handler (@in_nmi) the VMCS is not touched, since the interrupted code
 * may be writing it: a disarm request is then answered before the entry.
 */
static void ack_kicks_from(struct vcpu *v, bool in_nmi)
{
	if (v->disarm_req) {
		if (in_nmi)
			return;
		if (v->hw_armed)
			targets_empty(v);
		v->disarm_req = false;
	}
	u32 req = v->kick_req;
	if (v->kick_ack != req) {
		v->kick_flush = true;
		__atomic_store_n(&v->kick_ack, req, __ATOMIC_RELEASE);
	}
}

static void ack_kicks(struct vcpu *v)
{
	ack_kicks_from(v, false);
}

/*
 * One NMI to every other CPU (the all-excluding-self shorthand, as the stop
 * path uses): where it arrives, the wait ends at once. Where it does not
 * (in Bochs, while the guest starts its APs, these NMIs took seconds to
 * bring the other vCPU out, for a reason not established), the
 * VMX-preemption timer brings each vCPU out of the guest within 1 ms.
 */
static void kick(void)
{
	lapic_send_nmi_others();
}

/*
 * Shootdown: an NMI to every other running vCPU (NMIs exit the guest), then
 * wait until each has acknowledged from root mode. Acknowledging our own
 * requests while waiting keeps two CPUs that shoot at once from deadlocking.
 */
static void flush_others(void *ctx)
{
	(void)ctx;
	struct vcpu *self = this_cpu()->vcpu;
	u32 want[MAX_CPUS];
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (!o || o == self)
			continue;
		want[i] = __atomic_add_fetch(&o->kick_req, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&o->kick_nmis, 1, __ATOMIC_SEQ_CST);
	}
	kick();
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (!o || o == self)
			continue;
		u64 late = rdtsc() + tsc_from_us(KICK_LATE_US), again = rdtsc() + tsc_from_us(KICK_RETRY_US);
		bool warned = false;
		while (o->state == VCPU_RUNNING && (s32)(o->kick_ack - want[i]) < 0) {
			if (self)
				ack_kicks(self);
			/*
			 * Without the preemption timer (Core 2), a lost or late NMI
			 * would leave this wait to the other vCPU's next exit, and a
			 * vCPU that spins in the guest waiting for this one has none:
			 * send it another NMI now and then.
			 */
			if (!vmx.preemption_ticks && (s64)(rdtsc() - again) > 0) {
				again = rdtsc() + tsc_from_us(KICK_RETRY_US);
				__atomic_add_fetch(&o->kick_nmis, 1, __ATOMIC_SEQ_CST);
				lapic_send_ipi(o->cpu->apic_id, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
			}
			if (!warned && (s64)(rdtsc() - late) > 0) {
				warned = true;
				pr_warn("shadow: vcpu%u has not answered a TLB shootdown for %u us (its exits so far %llu, NMIs not yet seen %u); still waiting",
					o->index, KICK_LATE_US, (unsigned long long)o->exit_seq, o->kick_nmis);
			}
			cpu_relax();
		}
	}
}

/*
 * A table goes out of sync while other vCPUs may switch CR3 from their
 * target lists: each that has one filled is asked to empty it and kicked,
 * as for a shootdown, and the writer waits for every answer.
 */
static u32 disarm_others(void *ctx)
{
	struct vcpu *self = this_cpu()->vcpu;
	u32 n = 0;
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (o && o != self && __atomic_load_n(&o->hw_armed, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&o->disarm_req, true, __ATOMIC_SEQ_CST);
			n++;
		}
	}
	if (n)
		flush_others(ctx);
	return n;
}

static void lock(struct vcpu *v)
{
	while (!spin_trylock(&mmu_lock)) {
		ack_kicks(v); /* the holder may be waiting for this CPU's acknowledgement */
		cpu_relax();
	}
	mmu.others_running = others_running();
}

static void unlock(void)
{
	spin_unlock(&mmu_lock);
}

status_t shadow_setup(u64 top)
{
	u32 capacity = (u32)opts.shadow_pages;
	u64 nr_gfns = top >> PAGE_SHIFT;
	u64 meta_pages = ALIGN_UP(nr_gfns * sizeof(struct gfn_meta), PAGE_SIZE) / PAGE_SIZE;
	u64 desc_pages = ALIGN_UP((u64)capacity * sizeof(struct spt_page), PAGE_SIZE) / PAGE_SIZE;
	/* 8 KiB-aligned, so the roots of a pair differ in CR3 bit 12 alone (shadow/roots.c). */
	u64 tables = palloc_aligned(capacity, 2 * PAGE_SIZE, PALLOC_ANYWHERE);
	u64 pages = palloc(desc_pages, PALLOC_ANYWHERE);
	u64 meta = palloc(meta_pages, PALLOC_ANYWHERE);
	u64 scratch = palloc(1, PALLOC_ANYWHERE);
	if (!tables || !pages || !meta || !scratch) {
		pr_err("shadow: %u shadow pages and %llu KiB of frame data for %llu MiB of guest-physical space do not fit in the hypervisor's memory; raise hvmem= or lower shadow_pages=",
		       capacity, (unsigned long long)(meta_pages * 4), (unsigned long long)(top / MiB));
		return ST_NO_MEMORY;
	}
	struct shadow_env env = { guest_table, shadow_table, kind, trap_write, disarm_others, flush_others,
				  scratch, open_bus_page(), NULL };
	shadow_init(&mmu, (struct spt_page *)(uintptr_t)pages, capacity, tables,
		    (struct gfn_meta *)(uintptr_t)meta, nr_gfns, &env);
	maxphyaddr = cpu_maxphyaddr();
	gbpages = cpuid(0x80000001, 0).edx & CPUID80000001_EDX_PAGE1GB;
	pr_info("shadow: %u shadow pages (%u KiB), %llu KiB of frame data for guest-physical 0-%llu MiB; %u cached roots per vCPU",
		capacity, capacity * 4, (unsigned long long)(meta_pages * 4),
		(unsigned long long)(top / MiB), ROOT_CACHE_SLOTS);
	return ST_OK;
}

/* ---- paging phases ---- */

u64 vcpu_guest_cr3(struct vcpu *v)
{
	return v->shadow_on ? v->sv.guest_cr3 : vmcs_readnat(VMCS_GUEST_CR3);
}

static void paging_rules(struct vcpu *v, struct gw_paging *pg)
{
	u64 cr0 = vcpu_guest_cr0(), cr4 = vcpu_guest_cr4();
	*pg = (struct gw_paging){
		.cr3 = v->sv.guest_cr3,
		.nxe = vcpu_efer(v) & EFER_NXE,
		.wp = cr0 & CR0_WP,
		.smep = cr4 & CR4_SMEP,
		.smap = cr4 & CR4_SMAP,
		.ac = vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_AC,
		.gbpages = gbpages,
		.maxphyaddr = maxphyaddr,
	};
}

/* Point the hardware at the shadow root for the guest's CR3. False: the pool cannot hold one. */
static bool load_root(struct vcpu *v, u64 cr3, bool flush)
{
	struct gw_paging pg;
	v->sv.guest_cr3 = cr3;
	paging_rules(v, &pg);
	bool pcide = vcpu_guest_cr4() & CR4_PCIDE;
	lock(v);
	u64 root = shadow_set_cr3(&mmu, &v->sv, &pg, pcide, flush);
	unlock();
	if (!root)
		return false;
	vmcs_writenat(VMCS_GUEST_CR3, root);
	return true;
}

static void stop_no_root(struct vcpu *v, u64 cr3)
{
	guest_stop(v, STOP_HALT,
		   "shadow: no shadow root for guest CR3 0x%llx on vcpu%u (the table is not guest RAM, or every shadow page is pinned: raise shadow_pages=)",
		   (unsigned long long)cr3, v->index);
}

bool shadow_paging_on(struct vcpu *v)
{
	u64 cr3 = vmcs_readnat(VMCS_GUEST_CR3); /* the guest's own while paging was off */
	v->shadow_on = true;
	if (vmx.proc & PROC_ACTIVATE_SECONDARY)
		vmcs_write32(VMCS_SECONDARY_PROC_BASED_CONTROLS, vmx.proc2);
	vmcs_write32(VMCS_EXCEPTION_BITMAP, BIT(VEC_PF));
	vcpu_load_cr0(v, vcpu_guest_cr0());
	vcpu_load_cr4(v, vcpu_guest_cr4());
	if (!load_root(v, cr3, true)) {
		stop_no_root(v, cr3);
		return false;
	}
	if (!v->paging_announced) {
		v->paging_announced = true;
		pr_info("shadow: vcpu%u turned paging on: it runs on shadow tables from CR3 0x%llx",
			v->index, (unsigned long long)cr3);
	}
	return true;
}

/* The target list no longer fits this vCPU's paging: empty it (the hardware's before entry). */
static void disarm_self(struct vcpu *v)
{
	if (!v->sv.armed)
		return;
	lock(v);
	shadow_disarm(&mmu, &v->sv, DISARM_RESET);
	unlock();
}

/* Off shadow tables: with unrestricted guest onto the EPT, where linear is physical. */
static void paging_off(struct vcpu *v)
{
	disarm_self(v);
	if (v->hw_armed)
		targets_empty(v);
	v->shadow_on = false;
	if (vmx.unrestricted) {
		vmcs_write32(VMCS_SECONDARY_PROC_BASED_CONTROLS,
			     vmx.proc2 | PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST);
		vmcs_write32(VMCS_EXCEPTION_BITMAP, 0);
	}
	v->sv.flush = FLUSH_ALL;
}

void shadow_paging_off(struct vcpu *v)
{
	/* Only with unrestricted guest (checked by the caller). */
	u64 cr3 = v->sv.guest_cr3;
	paging_off(v);
	vmcs_writenat(VMCS_GUEST_CR3, cr3);
}

void shadow_vcpu_reset(struct vcpu *v)
{
	if (v->shadow_on)
		paging_off(v);
}

void shadow_trap_page(struct vcpu *v, u64 gpa)
{
	lock(v);
	shadow_write_protect_frame(&mmu, &v->sv, gpa >> PAGE_SHIFT);
	unlock();
}

void vcpu_ack_shootdowns(struct vcpu *v)
{
	if (v)
		ack_kicks(v);
}

void vcpu_shootdown(void)
{
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (o && vmx.eptp)
			__atomic_store_n(&o->ept_flush_req, true, __ATOMIC_SEQ_CST);
	}
	flush_others(NULL);
}

bool shadow_load_cr3(struct vcpu *v, u64 val)
{
	bool pcide = vcpu_guest_cr4() & CR4_PCIDE;
	/* With PCIDE, bit 63 asks the CPU to keep the PCID's translations (SDM Vol. 3A, 4.10.4.1). */
	bool flush = !(pcide && (val & CR3_NO_FLUSH));
	val &= ~CR3_NO_FLUSH;
	v->sv.cr3_write_exits++;
	if (v->shadow_on && vmx.cr3_targets && shadow_in_root_slots(&mmu, val)) {
		/*
		 * A root's address the guest read while armed and writes back now
		 * (RESTORE_CR3 after an NMI): the guest's CR3 for that root.
		 */
		u64 guest;
		lock(v);
		bool shadow_value = shadow_root_value(&mmu, &v->sv, val, &guest);
		unlock();
		if (shadow_value)
			val = guest;
	}
	if (!v->shadow_on) {
		vmcs_writenat(VMCS_GUEST_CR3, val);
		v->sv.flush = FLUSH_ALL;
	} else if (!load_root(v, val, flush)) {
		stop_no_root(v, val);
		return false;
	}
	return true;
}

void shadow_paging_rules_changed(struct vcpu *v, bool flush)
{
	if (!v->shadow_on)
		return;
	disarm_self(v); /* PCIDE, say, changes what the guest writes to CR3 */
	/* A root built under other rules is replaced by shadow_set_cr3 itself. */
	if (!load_root(v, v->sv.guest_cr3, flush))
		stop_no_root(v, v->sv.guest_cr3);
	if (flush)
		v->sv.flush = FLUSH_ALL;
}

/*
 * The KPTI fast path. A guest with KPTI reads and writes CR3 twice per
 * system call, and each is a VM exit; what makes it cost is the generic
 * exit path around the few lines of real work. Here, before any of it: a
 * CR3 read, and a CR3 write whose root is cached and which finds nothing
 * out of sync. Everything else (and anything pending for this vCPU) takes
 * the full path. The root cache is this vCPU's alone, so no lock is needed.
 */
bool shadow_fast_cr_exit(struct vcpu *v)
{
	if (!v->shadow_on || v->nmi_pending || v->cr2_due || v->kick_ack != v->kick_req ||
	    v->kick_flush || guest_stopping())
		return false;
	u64 q = exit_qualification();
	if (CRQ_NUMBER(q) != 3)
		return false;
	if (CRQ_ACCESS_TYPE(q) == CR_MOV_FROM) {
		vcpu_set_gpr(v, CRQ_GPR(q), shadow_read_cr3(v));
	} else if (CRQ_ACCESS_TYPE(q) == CR_MOV_TO) {
		if (v->hw_armed)
			return false; /* a write outside the pair: the target list follows it, under the lock */
		u64 val = vcpu_gpr(v, CRQ_GPR(q));
		bool pcide = vmcs_readnat(VMCS_CR4_READ_SHADOW) & CR4_PCIDE;
		bool flush = !(pcide && (val & CR3_NO_FLUSH));
		val &= ~CR3_NO_FLUSH;
		/* Reserved bits (the root cache keys on the address alone): the full path raises #GP. */
		if (val >> maxphyaddr)
			return false;
		if ((flush && __atomic_load_n(&mmu.unsync_count, __ATOMIC_ACQUIRE)) || !v->sv.root)
			return false;
		struct spt_page *root = root_cache_get(&v->sv.rc, root_key(val, pcide));
		/* A root built under other rules (NXE, WP) goes through shadow_set_cr3. */
		if (!root || root->role.word != v->sv.root->role.word)
			return false;
		v->sv.cr3_switches++;
		v->sv.cr3_write_exits++;
		if (!pcide && shadow_same_pair(&mmu, v->sv.root, root))
			v->sv.kpti_seen = true;
		if (root != v->sv.root || flush)
			v->sv.flush = v->sv.flush > FLUSH_NONGLOBAL ? v->sv.flush : FLUSH_NONGLOBAL;
		v->sv.root = root;
		v->sv.guest_cr3 = val;
		vmcs_writenat(VMCS_GUEST_CR3, root->table);
	} else {
		return false;
	}
	vcpu_skip_instruction(v);
	shadow_before_entry(v);
	return true;
}

u64 shadow_read_cr3(struct vcpu *v)
{
	if (!v->shadow_on)
		return vmcs_readnat(VMCS_GUEST_CR3);
	v->sv.cr3_read_exits++;
	/* Armed, the guest must read the root it runs on: it flips bit 12 of that and writes it back. */
	return v->hw_armed ? vmcs_readnat(VMCS_GUEST_CR3) : v->sv.guest_cr3;
}

void shadow_follow_hw_cr3(struct vcpu *v)
{
	/* The armed pair is pinned and only this vCPU moves its own root: no lock needed. */
	shadow_follow_cr3(&mmu, &v->sv, vmcs_readnat(VMCS_GUEST_CR3));
}

/*
 * Before entry: the target list as the engine wants it. Emptied at once
 * when the engine disarmed this vCPU; filled, under the lock, once this
 * vCPU made a KPTI switch, whenever it runs on a pair and nothing is out of
 * sync (shadow_arm).
 */
static void targets_before_entry(struct vcpu *v)
{
	if (v->hw_armed && !v->sv.armed)
		targets_empty(v);
	if (v->hw_armed || !vmx.cr3_targets || (!v->sv.armed && !v->sv.kpti_seen))
		return; /* the last: every entry of a guest without KPTI pairs (or with PCID) */
	if (!v->sv.armed && (!shadow_may_arm(&mmu, &v->sv) || v->disarm_req ||
			     (vmcs_readnat(VMCS_CR4_READ_SHADOW) & CR4_PCIDE)))
		return;
	u64 t[2];
	lock(v);
	if (v->sv.armed)
		shadow_disarm(&mmu, &v->sv, DISARM_REMOTE); /* another vCPU emptied the hardware's list */
	if (!v->disarm_req && !(vmcs_readnat(VMCS_CR4_READ_SHADOW) & CR4_PCIDE) && shadow_arm(&mmu, &v->sv, t))
		targets_fill(v, t);
	unlock();
}

/* ---- exits ---- */

/*
 * The same fault fixed at back-to-back exits, with no change to the shadow
 * state by any vCPU in between, this often, means the fix does not take:
 * every shadow page is freed and rebuilt from the guest's tables, and if it
 * still comes back (after STOP_AFTER more, or at the next rebuild it would
 * cause) the guest is stopped with the path printed. Anything else in
 * between is progress: a guest that writes a page-table entry, flushes and
 * writes it again (each write an unsync fault), or another vCPU's flush point
 * protecting again a table this one writes.
 */
#define ZAP_ALL_AFTER 3
#define STOP_AFTER 64

/*
 * Changes any vCPU made to write protection or to the shadow tables as a
 * whole. Another vCPU's flush point between two faults is progress too (it
 * protects again what this vCPU had just unprotected): read without the lock,
 * as a hint.
 */
static u64 shadow_generation(void)
{
	const struct shadow_stats *s = &mmu.stats;
	return __atomic_load_n(&s->protects, __ATOMIC_RELAXED) + __atomic_load_n(&s->resyncs, __ATOMIC_RELAXED) +
	       __atomic_load_n(&s->reclaims, __ATOMIC_RELAXED) + __atomic_load_n(&s->zap_alls, __ATOMIC_RELAXED);
}

/* The shadow path to @va, for a bug report. */
static void explain(struct vcpu *v, u64 va, u64 gpa)
{
	struct shadow_explain x;
	lock(v);
	shadow_explain(&mmu, &v->sv, va, gpa, &x);
	unlock();
	for (int l = PT_LEVELS; l >= 1; l--)
		pr_err("shadow: level %d entry 0x%llx in shadow page of frame 0x%llx role 0x%x", l,
		       (unsigned long long)x.entry[l], (unsigned long long)x.gfn[l], x.role[l]);
	pr_err("shadow: target 0x%llx: protect %u shadowed %u overflow %u; %u tables out of sync",
	       (unsigned long long)gpa, x.protect, x.shadowed, x.overflow, x.unsync_count);
	u8 code[8] = { 0 };
	guest_read_linear(vmcs_readnat(VMCS_GUEST_RIP), code, sizeof(code));
	pr_err("shadow: hardware CR3 0x%llx, root table 0x%llx, guest CR3 0x%llx, hardware CR0 0x%llx CR4 0x%llx EFER 0x%llx",
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_CR3), (unsigned long long)(v->sv.root ? v->sv.root->table : 0),
	       (unsigned long long)v->sv.guest_cr3, (unsigned long long)vmcs_readnat(VMCS_GUEST_CR0),
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_CR4), (unsigned long long)rdmsr(MSR_IA32_EFER));
	if (v->msr_lists) {
		const struct msr_entry *l = (const struct msr_entry *)(uintptr_t)v->msr_lists;
		pr_err("shadow: guest EFER 0x%llx; entry list %u: 0x%x=0x%llx, exit list %u: 0x%x=0x%llx",
		       (unsigned long long)vcpu_efer(v), vmcs_read32(VMCS_ENTRY_MSR_LOAD_COUNT), l[0].index,
		       (unsigned long long)l[0].value, vmcs_read32(VMCS_EXIT_MSR_LOAD_COUNT), l[1].index,
		       (unsigned long long)l[1].value);
	}
	pr_err("shadow: instruction bytes %02x %02x %02x %02x %02x %02x %02x %02x, rcx 0x%llx rdi 0x%llx rsi 0x%llx",
	       code[0], code[1], code[2], code[3], code[4], code[5], code[6], code[7],
	       (unsigned long long)v->regs.gpr[GPR_RCX], (unsigned long long)v->regs.gpr[GPR_RDI],
	       (unsigned long long)v->regs.gpr[GPR_RSI]);
}

enum exit_action handle_page_fault(struct vcpu *v)
{
	u64 va = exit_qualification();
	u32 pfec = vmcs_read32(VMCS_EXIT_INTERRUPTION_ERROR_CODE);
	u64 rip = vmcs_readnat(VMCS_GUEST_RIP);
	if (!v->shadow_on) {
		vcpu_inject_exception(v, VEC_PF, true, pfec); /* not intercepted in this phase; be safe */
		v->cr2_due = true;
		v->cr2 = va;
		return EXIT_RESUME;
	}
	struct gw_paging pg;
	paging_rules(v, &pg);
	u64 gen = shadow_generation();
	u32 guest_pfec = 0;
	u64 gpa = 0;
	lock(v);
	enum shadow_fault f = shadow_page_fault(&mmu, &v->sv, &pg, va, pfec, &guest_pfec, &gpa);
	bool hidden_first = mmu.hidden_seen && !hidden_logged;
	hidden_logged |= mmu.hidden_seen;
	unlock();
	/* loglevel=debug: each vCPU's first faults, to see a guest that makes no progress. */
	if (v->pf_traced < 200 && ++v->pf_traced)
		pr_debug("shadow: vcpu%u #PF va 0x%llx rip 0x%llx error 0x%x -> %s (guest error 0x%x, gpa 0x%llx)",
			 v->index, (unsigned long long)va, (unsigned long long)rip, pfec,
			 f == SF_RETRY ? "fixed" : f == SF_INJECT ? "guest #PF" : f == SF_EMULATE ? "emulate" : "stop",
			 guest_pfec, (unsigned long long)gpa);
	if (hidden_first)
		pr_warn("shadow: the guest mapped hypervisor memory (vcpu%u, linear 0x%llx, rip 0x%llx); it sees a scratch page there (said once)",
			v->index, (unsigned long long)va, (unsigned long long)rip);

	switch (f) {
	case SF_RETRY: {
		/* The same fault fixed over and over would hang the guest silently: a slatvisor bug. */
		bool again = va == v->pf_last_va && rip == v->pf_last_rip && v->exit_seq == v->pf_last_seq + 1 &&
			     gen == v->pf_last_gen;
		v->pf_repeat = again ? v->pf_repeat + 1 : 0;
		v->pf_last_va = va;
		v->pf_last_rip = rip;
		v->pf_last_seq = v->exit_seq;
		v->pf_last_gen = shadow_generation();
		bool rebuilt_for_it = va == v->pf_zap_va && rip == v->pf_zap_rip;
		if (v->pf_repeat == ZAP_ALL_AFTER && !rebuilt_for_it) {
			pr_warn("shadow: vcpu%u: the fault at 0x%llx (rip 0x%llx, error 0x%x) came back at %u exits in a row; every shadow page is rebuilt",
				v->index, (unsigned long long)va, (unsigned long long)rip, pfec, ZAP_ALL_AFTER + 1);
			v->pf_zap_va = va;
			v->pf_zap_rip = rip;
			lock(v);
			shadow_zap_all(&mmu, &v->sv);
			unlock();
			if (!load_root(v, v->sv.guest_cr3, false)) {
				stop_no_root(v, v->sv.guest_cr3);
				return EXIT_STOP;
			}
		} else if (v->pf_repeat > STOP_AFTER || (v->pf_repeat == ZAP_ALL_AFTER && rebuilt_for_it)) {
			explain(v, va, gpa);
			guest_stop(v, STOP_HALT, "shadow: vcpu%u faults at 0x%llx (rip 0x%llx, error 0x%x) again and again; the guest is stopped",
				   v->index, (unsigned long long)va, (unsigned long long)rip, pfec);
			return EXIT_STOP;
		}
		return EXIT_RESUME;
	}
	case SF_INJECT:
		vcpu_inject_exception(v, VEC_PF, true, guest_pfec);
		v->cr2_due = true;
		v->cr2 = va;
		return EXIT_RESUME;
	case SF_EMULATE: /* a store to the trapped APIC page, or where nothing is */
		return apic_start_owns(gpa) ? apic_start_write(v, gpa) : open_bus_write(v, gpa);
	case SF_STOP:
		break;
	}
	if (pfec & PFEC_RSVD)
		guest_stop(v, STOP_HALT, "shadow: a shadow entry for 0x%llx has reserved bits (error 0x%x, rip 0x%llx); the guest is stopped",
			   (unsigned long long)va, pfec, (unsigned long long)rip);
	else if (gpa && ept_gpa_kind(gpa) == GPA_NONE)
		guest_stop(v, STOP_HALT, "shadow: vcpu%u maps linear 0x%llx to guest-physical 0x%llx, where nothing is (rip 0x%llx); the guest is stopped",
			   v->index, (unsigned long long)va, (unsigned long long)gpa, (unsigned long long)rip);
	else if (gpa)
		guest_stop(v, STOP_HALT, "shadow: vcpu%u wrote to read-only user page 0x%llx with CR0.WP=0 under SMAP or without NXE (rip 0x%llx), which shadow paging does not support; the guest is stopped",
			   v->index, (unsigned long long)va, (unsigned long long)rip);
	else
		guest_stop(v, STOP_HALT, "shadow: out of shadow pages on vcpu%u (every page pinned); raise shadow_pages=", v->index);
	return EXIT_STOP;
}

/*
 * INVLPG and INVPCID: a flush point, then the instruction is done. INVLPG
 * also drops every paging-structure cache entry of the PCID (SDM Vol. 3A,
 * 4.10.4.1); flushing the whole VPID is the simple exact match for both.
 */
enum exit_action shadow_guest_tlb_flush(struct vcpu *v)
{
	if (v->shadow_on) {
		lock(v);
		shadow_flush_point(&mmu, &v->sv, FLUSH_ALL);
		unlock();
	}
	v->sv.flush = FLUSH_ALL;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

/* ---- around VM entry ---- */

bool shadow_nmi_is_kick(struct vcpu *v, bool in_nmi)
{
	/*
	 * NMIs do not queue: two shootdowns may arrive as one NMI, and then a
	 * later NMI of the guest's is taken for the second. The count errs on
	 * that side rather than injecting NMIs the guest never had.
	 */
	u32 n = v->kick_nmis;
	while (n && !__atomic_compare_exchange_n(&v->kick_nmis, &n, n - 1, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
		;
	ack_kicks_from(v, in_nmi);
	return n != 0;
}

void shadow_before_entry(struct vcpu *v)
{
	ack_kicks(v);
	if (v->shadow_on)
		targets_before_entry(v);
	enum shadow_flush f = v->sv.flush;
	if (v->kick_flush) {
		v->kick_flush = false;
		f = FLUSH_ALL;
	}
	if (f != FLUSH_NONE && vmx.use_vpid) {
		u64 type = f == FLUSH_NONGLOBAL && vmx.caps.invvpid_single_retaining_globals
				   ? INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS
				   : INVVPID_SINGLE_CONTEXT;
		invvpid(type, v->vpid, 0);
	} else if (f != FLUSH_NONE) {
		/*
		 * Without VPID the guest's translations share VPID 0 with slatvisor's.
		 * Do not count on VM entry to drop them (Bochs keeps them while CR3
		 * is unchanged): a CR3 reload drops the non-global ones, a CR4.PGE
		 * toggle all of them (SDM Vol. 3A, 4.10.4.1).
		 */
		if (f == FLUSH_ALL) {
			u64 cr4 = read_cr4();
			write_cr4(cr4 ^ CR4_PGE);
			write_cr4(cr4);
		} else {
			write_cr3(read_cr3());
		}
	}
	v->sv.flush = FLUSH_NONE;
	if (v->cr2_due) {
		/* VM entry does not load CR2, and slatvisor itself never faults: set it last. */
		v->cr2_due = false;
		write_cr2(v->cr2);
	}
}

void shadow_print_stats(void)
{
	if (!vmx.use_ept)
		shadow_stats_print(&mmu);
}
