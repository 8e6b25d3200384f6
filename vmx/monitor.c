/*
 * monitor.c: the monitors, the pool of private EPT pages, and each vCPU's view (monitor.h).
 *
 * One lock guards the monitor table. A change bumps the generation and kicks every vCPU;
 * each rebuilds its own view before its next VM entry, so a view is only ever changed by the
 * vCPU that runs on it, in root operation, and no other vCPU can see its tables change.
 */
#include "monitor.h"
#include "mon_internal.h"
#include "ept.h"
#include "guest_mem.h"
#include "shadow.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/tsc.h"
#include "../kernel/kstring.h"
#include "../kernel/log.h"
#include "../kernel/options.h"
#include "../mm/palloc.h"

#define VIEW_WAIT_US 20000 /* how long a change waits for another vCPU's rebuild before it says so */
#define MON_MAX_ID 0x7FFFFFFF

struct mon_state mon;
struct mon_cpu *mon_cpus[MAX_CPUS];

/* ---- the pool of private paging-structure pages ---- */

static u64 pool_alloc(void *ctx)
{
	(void)ctx;
	for (unsigned i = 0; i < mon.pool_n; i++) {
		if (mon.pool_used[i])
			continue;
		mon.pool_used[i] = 1;
		mon.pool_free--;
		memset((void *)(uintptr_t)mon.pool[i], 0, PAGE_SIZE);
		return mon.pool[i];
	}
	return 0;
}

static void pool_release(void *ctx, u64 phys)
{
	(void)ctx;
	for (unsigned i = 0; i < mon.pool_n; i++)
		if (mon.pool[i] == phys && mon.pool_used[i]) {
			mon.pool_used[i] = 0;
			mon.pool_free++;
			return;
		}
}

static const struct ept_view_pool pool_ops = { pool_alloc, pool_release, NULL };

static u64 *pages_of(u64 bytes)
{
	return (u64 *)(uintptr_t)palloc(ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE, PALLOC_ANYWHERE);
}

bool monitor_available(void)
{
	return mon.ready;
}

bool monitor_stepping(struct vcpu *v)
{
	return mon.ready && mon.mtf && mon_cpus[v->index]->stepping;
}

void monitor_init(void)
{
	if (!opts.monitor)
		return;
	if (!vmx.eptp || vmx.shadow) {
		pr_info("monitor: guest memory monitoring needs EPT paging; with shadow paging every SLAT_HC_MON_* call answers SLAT_E_NOTSUP");
		return;
	}
	mon.pool_n = (unsigned)opts.monitor_pool;
	mon.pool = pages_of(mon.pool_n * sizeof(u64));
	mon.pool_used = (u8 *)pages_of(mon.pool_n);
	for (unsigned i = 0; mon.pool && mon.pool_used && i < mon.pool_n; i++)
		if (!(mon.pool[i] = palloc(1, PALLOC_ANYWHERE)))
			mon.pool = NULL;
	for (unsigned c = 0; mon.pool && c < ncpus_online; c++)
		if (!(mon_cpus[c] = (struct mon_cpu *)pages_of(sizeof(struct mon_cpu))))
			mon.pool = NULL;
	if (!mon.pool || !mon.pool_used) {
		pr_warn("monitor: no hypervisor memory for a pool of %u pages (monitor_pool=); monitoring is off",
			mon.pool_n);
		return;
	}
	mon.pool_free = mon.pool_n;
	mon.next_id = 1;
	/* An EPT entry that denies reads must deny writes (R=0, W=1 is a misconfiguration). */
	mon.exec_only = vmx.caps.msr[MSR_IA32_VMX_EPT_VPID_CAP - MSR_IA32_VMX_FIRST] & EPT_CAP_EXECUTE_ONLY;
	mon.mtf = opts.monitor_step == MONITOR_STEP_AUTO && ((vmx.caps.proc_ctls >> 32) & PROC_MONITOR_TRAP_FLAG);
	mon.ready = true;
	pr_info("monitor: ready: a pool of %u private EPT pages (%u KiB), steps by %s, calls from CPL 0%s",
		mon.pool_n, mon.pool_n * 4,
		mon.mtf ? "the monitor trap flag"
			: opts.monitor_step == MONITOR_STEP_TF ? "RFLAGS.TF with #DB intercepted (monitor_step=tf)"
							       : "RFLAGS.TF with #DB intercepted (no monitor trap flag)",
		opts.monitor_cpl3 ? " and CPL 3 (monitor_cpl3=on)" : " only");
}

/*
 * The shared EPT's page count when the guest first asks for monitoring: slatvisor's own traps
 * (the APIC page it watches for startup IPIs) split shared pages before that; monitoring
 * never adds any, and the statistics show it.
 */
static void baseline(void)
{
	if (!mon.baseline) {
		mon.shared_before = ept_shared_pages();
		mon.baseline = true;
	}
}

/* ---- monitors ---- */

u64 mon_deny_bits(u32 acc)
{
	u64 d = 0;
	if (acc & SLAT_ACC_W)
		d |= EPT_WRITE;
	if (acc & SLAT_ACC_X)
		d |= EPT_EXEC;
	/* 29.3.3.1: no read with write is a misconfiguration; no read with fetch needs execute-only. */
	if (acc & SLAT_ACC_R)
		d |= EPT_READ | EPT_WRITE | (mon.exec_only ? 0 : EPT_EXEC);
	return d;
}

bool mon_applies(const struct monitor *m, unsigned cpu)
{
	/* The CPU set has 64 bits: a vCPU past them is only in "every vCPU". */
	return !m->cpus || (cpu < 64 && (m->cpus & (1ULL << cpu)));
}

bool mon_watches(const struct monitor *m, unsigned cpu, u64 page)
{
	if (!mon_applies(m, cpu))
		return false;
	for (unsigned p = 0; p < m->npages; p++)
		if (mon.watched[m->first + p] == page)
			return true;
	return false;
}

/* Collect the watches of vCPU @cpu (the lock held), plus @extra pages of a monitor being added. */
static unsigned collect(unsigned cpu, const struct monitor *extra, const u64 *extra_pages)
{
	unsigned n = 0;
	for (unsigned i = 0; i < mon.nmons; i++) {
		const struct monitor *m = &mon.mons[i];
		if (!mon_applies(m, cpu))
			continue;
		for (unsigned p = 0; p < m->npages; p++)
			mon.scratch[n++] = (struct ept_watch){ mon.watched[m->first + p], mon_deny_bits(m->flags) };
	}
	if (extra && mon_applies(extra, cpu))
		for (unsigned p = 0; p < extra->npages; p++)
			mon.scratch[n++] = (struct ept_watch){ extra_pages[p], mon_deny_bits(extra->flags) };
	return n;
}

static void changed(void)
{
	__atomic_add_fetch(&mon.gen, 1, __ATOMIC_SEQ_CST);
}

void monitor_shared_changed(void)
{
	if (mon.ready)
		changed();
}

/*
 * Guest-physical frame of page @i of a range: translated through the caller's CR3, or as is.
 * With @user_write (a buffer slatvisor writes, for a caller at CPL 3) it must be linear and a
 * page that caller may write itself: monitoring must not write where the caller could not.
 */
static long frame_of(u64 addr, u64 i, bool linear, bool user_write, u64 *frame)
{
	u64 a = ALIGN_DOWN(addr, PAGE_SIZE) + i * PAGE_SIZE, phys = a;
	if (user_write && !linear)
		return SLAT_E_PERM;
	if (linear && !guest_linear_to_phys(a, &phys, user_write))
		return SLAT_E_FAULT;
	if (ept_gpa_kind(phys) != GPA_RAM)
		return SLAT_E_RANGE;
	*frame = ALIGN_DOWN(phys, PAGE_SIZE);
	return SLAT_OK;
}

/* A buffer slatvisor writes for this caller: from user space, only the caller's own memory. */
static bool user_buffer(void)
{
	return vcpu_guest_cpl() != 0;
}

/*
 * After a change: wait until every other vCPU running the guest has rebuilt its view (it
 * does before its next entry; the shootdown made each exit). Meanwhile this vCPU, also in
 * root operation, rebuilds its own, so two vCPUs changing monitors at once cannot wait on
 * each other. A vCPU not running (halted, offline, waiting for its SIPI) rebuilds before it
 * runs again.
 */
static void wait_for_views(struct vcpu *self, u64 gen)
{
	u64 late = rdtsc() + tsc_from_us(VIEW_WAIT_US);
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (!o || o == self)
			continue;
		while (o->state == VCPU_RUNNING && (s64)(__atomic_load_n(&mon_cpus[i]->gen, __ATOMIC_ACQUIRE) - gen) < 0) {
			if ((s64)(rdtsc() - late) > 0) {
				pr_warn("monitor: vcpu%u has not rebuilt its EPT view after %u us; it will before its next entry",
					i, VIEW_WAIT_US);
				return;
			}
			monitor_before_entry(self);
			cpu_relax();
		}
	}
}

static u64 online_mask(void)
{
	return ncpus_online >= 64 ? ~0ULL : (1ULL << ncpus_online) - 1;
}

long monitor_add(struct vcpu *v, u64 start, u64 len, u64 flags, u64 cpu_set, u64 *out)
{
	if (flags & ~(u64)(SLAT_ACC_MASK | SLAT_MON_LINEAR | SLAT_MON_FIRST_RIP) || !(flags & SLAT_ACC_MASK) ||
	    !len || start + len < start || (cpu_set & ~online_mask()))
		return SLAT_E_INVAL;
	u64 npages = (ALIGN_UP(start + len, PAGE_SIZE) - ALIGN_DOWN(start, PAGE_SIZE)) / PAGE_SIZE;
	if (npages > MON_MAX_PAGES)
		return SLAT_E_NOSPC;
	static u64 frames[MON_MAX_PAGES]; /* used under the lock only */
	spin_lock(&mon.lock);
	baseline();
	long r = SLAT_OK;
	for (u64 i = 0; r == SLAT_OK && i < npages; i++)
		r = frame_of(start, i, flags & SLAT_MON_LINEAR, false, &frames[i]);
	struct monitor m = { .id = mon.next_id, .flags = (u32)flags, .cpus = cpu_set, .start = start,
			     .length = len, .first = mon.nwatched, .npages = (unsigned)npages };
	if (r == SLAT_OK && (mon.nmons == MON_MAX || mon.nwatched + npages > MON_MAX_PAGES))
		r = SLAT_E_NOSPC;
	/*
	 * Every view rebuilt at once must fit in the pool, and each in a view: refuse now rather
	 * than fail later. A vCPU not running keeps its old view until it runs again, so it
	 * counts with the larger of the two.
	 */
	u64 need = 0;
	for (unsigned c = 0; r == SLAT_OK && c < ncpus_online; c++) {
		u64 n = ept_view_pages_needed(mon.scratch, collect(c, &m, frames));
		struct vcpu *o = cpus[c]->vcpu;
		if (n > EPT_VIEW_MAX_PAGES)
			r = SLAT_E_NOSPC;
		need += o && o->state != VCPU_RUNNING ? MAX(n, (u64)mon_cpus[c]->view.npages) : n;
	}
	if (r == SLAT_OK && need > mon.pool_n)
		r = SLAT_E_NOSPC;
	if (r == SLAT_OK) {
		memcpy(&mon.watched[mon.nwatched], frames, npages * sizeof(u64));
		mon.nwatched += (unsigned)npages;
		mon.mons[mon.nmons++] = m;
		/* Ids are never in use twice, even once they wrap. */
		do
			mon.next_id = mon.next_id == MON_MAX_ID ? 1 : mon.next_id + 1;
		while (mon_find(mon.next_id));
		mon.ever_used = true;
		*out = m.id;
		changed();
	}
	u64 gen = mon.gen;
	spin_unlock(&mon.lock);
	if (r == SLAT_OK) {
		vcpu_shootdown(); /* the others rebuild their views before they run on */
		wait_for_views(v, gen);
	}
	return r;
}

long monitor_del(struct vcpu *v, u64 id)
{
	spin_lock(&mon.lock);
	struct monitor *m = mon_find(id);
	if (!m) {
		spin_unlock(&mon.lock);
		return SLAT_E_NOENT;
	}
	unsigned first = m->first, n = m->npages;
	memmove(&mon.watched[first], &mon.watched[first + n], (mon.nwatched - first - n) * sizeof(u64));
	mon.nwatched -= n;
	unsigned idx = (unsigned)(m - mon.mons);
	memmove(m, m + 1, (mon.nmons - idx - 1) * sizeof(*m));
	mon.nmons--;
	for (unsigned i = 0; i < mon.nmons; i++)
		if (mon.mons[i].first > first)
			mon.mons[i].first -= n;
	changed();
	u64 gen = mon.gen;
	spin_unlock(&mon.lock);
	vcpu_shootdown();
	wait_for_views(v, gen);
	return SLAT_OK;
}

struct monitor *mon_find(u64 id)
{
	for (unsigned i = 0; i < mon.nmons; i++)
		if (mon.mons[i].id == id)
			return &mon.mons[i];
	return NULL;
}

/* ---- guest buffers ---- */

static u8 *frame_ptr(u64 frame)
{
	return (u8 *)(uintptr_t)frame; /* guest RAM is identity-mapped in slatvisor */
}

/* Copy @len bytes out to the guest at @addr (guest-linear with SLAT_MON_LINEAR). */
static long copy_out(u64 addr, u64 flags, const void *src, u64 len)
{
	const u8 *s = src;
	while (len) {
		u64 frame;
		long r = frame_of(addr, 0, flags & SLAT_MON_LINEAR, user_buffer(), &frame);
		if (r != SLAT_OK)
			return r;
		u64 chunk = MIN(len, PAGE_SIZE - (addr & (PAGE_SIZE - 1)));
		memcpy(frame_ptr(frame) + (addr & (PAGE_SIZE - 1)), s, chunk);
		s += chunk;
		addr += chunk;
		len -= chunk;
	}
	return SLAT_OK;
}

long monitor_ring(struct vcpu *v, u64 addr, u64 len, u64 flags)
{
	struct mon_cpu *c = mon_cpus[v->index];
	if (flags & ~(u64)SLAT_MON_LINEAR || (addr | len) & (PAGE_SIZE - 1) ||
	    len > SLAT_RING_MAX_PAGES * PAGE_SIZE)
		return SLAT_E_INVAL;
	u64 frames[SLAT_RING_MAX_PAGES];
	unsigned n = (unsigned)(len / PAGE_SIZE);
	for (unsigned i = 0; i < n; i++) {
		long r = frame_of(addr, i, flags & SLAT_MON_LINEAR, user_buffer(), &frames[i]);
		if (r != SLAT_OK)
			return r;
	}
	if (!n) {
		c->ring.nframes = 0;
		return SLAT_OK;
	}
	spin_lock(&mon.lock);
	baseline();
	spin_unlock(&mon.lock);
	mon_ring_init(&c->ring, frames, n, frame_ptr);
	mon.ever_used = true;
	return SLAT_OK;
}

static void fill_stats(struct slat_mon_stats *s)
{
	baseline();
	memset(s, 0, sizeof(*s));
	s->monitors = mon.nmons;
	s->pool_pages = mon.pool_n;
	s->pool_free = mon.pool_free;
	s->shared_pages = ept_shared_pages();
	s->shared_before = mon.shared_before;
	s->nr_cpus = ncpus_online;
	for (unsigned i = 0; i < ncpus_online; i++) {
		const struct mon_cpu *c = mon_cpus[i];
		s->events += c->events;
		s->dropped += c->ring.dropped;
		s->violations += c->violations;
		s->steps += c->steps;
		s->splits += c->view.splits;
		s->merges += c->view.merges;
		s->exit_cycles += c->cycles;
		if (i < SLAT_MAX_CPUS) {
			s->private_pages[i] = c->view.npages;
			s->private_peak[i] = c->peak;
			s->cpu_violations[i] = c->violations;
			s->cpu_events[i] = c->events;
		}
	}
}

long monitor_stats(struct vcpu *v, u64 addr, u64 len, u64 flags)
{
	(void)v;
	if (flags & ~(u64)SLAT_MON_LINEAR)
		return SLAT_E_INVAL;
	static struct slat_mon_stats s; /* filled and copied under the lock */
	spin_lock(&mon.lock);
	fill_stats(&s);
	long r = copy_out(addr, flags, &s, MIN(len, sizeof(s)));
	spin_unlock(&mon.lock);
	return r;
}

long monitor_list(struct vcpu *v, u64 addr, u64 len, u64 flags, u64 *out)
{
	(void)v;
	if (flags & ~(u64)SLAT_MON_LINEAR)
		return SLAT_E_INVAL;
	long r = SLAT_OK;
	spin_lock(&mon.lock);
	for (unsigned i = 0; r == SLAT_OK && i < mon.nmons && (i + 1) * sizeof(struct slat_mon_info) <= len; i++) {
		const struct monitor *m = &mon.mons[i];
		struct slat_mon_info info = { m->id, m->flags, m->cpus, m->start, m->length,
					      mon.watched[m->first], m->hits };
		r = copy_out(addr + i * sizeof(info), flags, &info, sizeof(info));
	}
	*out = mon.nmons;
	spin_unlock(&mon.lock);
	return r;
}

long monitor_rips(struct vcpu *v, u64 addr, u64 len, u64 flags, u64 id, u64 *out)
{
	(void)v;
	if (flags & ~(u64)SLAT_MON_LINEAR)
		return SLAT_E_INVAL;
	spin_lock(&mon.lock);
	const struct monitor *m = mon_find(id);
	long r = !m ? SLAT_E_NOENT : !(m->flags & SLAT_MON_FIRST_RIP) ? SLAT_E_INVAL : SLAT_OK;
	if (r == SLAT_OK) {
		u64 bytes = MIN(len / sizeof(struct slat_rip_count), (u64)m->nrips) * sizeof(struct slat_rip_count);
		r = copy_out(addr, flags, m->rips, bytes);
		*out = m->nrips;
	}
	spin_unlock(&mon.lock);
	return r;
}

/* ---- views ---- */

static void load_eptp(struct mon_cpu *c)
{
	u64 eptp = c->view.root ? c->view.root | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4 : vmx.eptp;
	vmcs_write64(VMCS_EPT_POINTER, eptp);
	/* The old view's pages may come back in another: drop what any EPTP cached. */
	ept_invalidate_all(eptp);
}

void monitor_before_entry(struct vcpu *v)
{
	if (!mon.ready)
		return;
	struct mon_cpu *c = mon_cpus[v->index];
	u64 gen = __atomic_load_n(&mon.gen, __ATOMIC_SEQ_CST);
	/* Mid-step the open pages live in this view: rebuild once the step is over. */
	if (c->stepping) {
		mon_step_before_entry(v, c);
		return;
	}
	if (c->gen == gen)
		return;
	spin_lock(&mon.lock);
	gen = mon.gen;
	bool had = c->view.root != 0;
	ept_view_free(&c->view, &pool_ops);
	unsigned n = collect(v->index, NULL, NULL);
	status_t s = n ? ept_view_build(ept_shared_ops(), ept_shared_root(), mon.scratch, n, &c->view, &pool_ops)
		       : ST_OK;
	spin_unlock(&mon.lock);
	if (s == ST_OK)
		c->gen = gen;
	else if (!c->warned) {
		c->warned = true;
		pr_warn("monitor: vcpu%u: its view could not be built (%s); it runs on the shared EPT until it can (said once)",
			v->index, status_name(s));
	}
	if (c->view.npages > c->peak)
		c->peak = c->view.npages;
	if (had || c->view.root)
		load_eptp(c);
}

void monitor_print_stats(void)
{
	if (!mon.ready || !mon.ever_used)
		return;
	static struct slat_mon_stats s;
	fill_stats(&s);
	pr_info("stat monitor: monitors=%llu events=%llu dropped=%llu violations=%llu steps=%llu splits=%llu merges=%llu cycles_per_access=%llu",
		s.monitors, s.events, s.dropped, s.violations, s.steps, s.splits, s.merges,
		s.violations ? s.exit_cycles / s.violations : 0);
	pr_info("stat monitor: shared EPT pages=%llu (%llu before monitoring); pool %llu pages, %llu free",
		s.shared_pages, s.shared_before, s.pool_pages, s.pool_free);
	for (unsigned i = 0; i < ncpus_online && i < SLAT_MAX_CPUS; i++)
		pr_info("stat monitor vcpu%u: private_pages=%llu peak=%llu violations=%llu events=%llu dropped=%llu",
			i, s.private_pages[i], s.private_peak[i], s.cpu_violations[i], s.cpu_events[i],
			(unsigned long long)mon_cpus[i]->ring.dropped);
}
