/*
 * probes_monitor.c: guest memory monitoring through VMCALL (vmx/hypercall_abi.h), from the
 * guest kernel (CPL 0) of vCPU 0. This guest's memory is identity-mapped, so a guest-linear
 * address here is its guest-physical one too.
 *
 * With the feature announced (EPT paging), every watched access must give exactly one record
 * with the right kind, address and RIP, an unwatched neighbour in the same 2 MiB region none,
 * and every bad argument its error code. Without it (shadow paging), every call must answer
 * SLAT_E_NOTSUP. The per-vCPU and SMP cases run in the Linux guest (slatmon selftest).
 */
#include "guest.h"
#include "../../vmx/hypercall_abi.h"

#define LEAF_HV_BASE 0x40000000
#define RING_PAGES 4
#define N_READS 10
#define N_WRITES 10
#define N_CALLS 5
#define ADD_DEL_ROUNDS 1000

static u8 ring_mem[RING_PAGES][4096] __attribute__((aligned(4096)));
static volatile u8 area[4][4096] __attribute__((aligned(4096))); /* watched, neighbour, code, another */
static struct slat_mon_stats stats;

struct hc_result {
	long status;
	u64 rbx;
};

static struct hc_result hc(u64 fn, u64 b, u64 c, u64 d, u64 s)
{
	u64 rax = fn;
	__asm__ volatile("vmcall" : "+a"(rax), "+b"(b) : "c"(c), "d"(d), "S"(s) : "memory", "cc");
	return (struct hc_result){ (long)rax, b };
}

static volatile struct slat_ring_header *ring(void)
{
	return (volatile struct slat_ring_header *)ring_mem;
}

static const struct slat_event *record(u64 n)
{
	return (const struct slat_event *)(ring_mem[0] + sizeof(struct slat_ring_header)) + n % ring()->capacity;
}

/* Records since the last drain; drain() makes them consumed. */
static u64 pending(void)
{
	return ring()->head - ring()->tail;
}

static void drain(void)
{
	ring()->tail = ring()->head;
}

/* Register the 4-page ring on vCPU 0 (again: a probe may run alone). */
static const char *ring_on(void)
{
	struct hc_result r = hc(SLAT_HC_MON_RING, (u64)(uintptr_t)ring_mem, sizeof(ring_mem), 0, 0);
	if (r.status)
		return failf("SLAT_HC_MON_RING returned %ld", r.status);
	return NULL;
}

static bool announced(void)
{
	u32 a, b, c, d;
	cpuid(LEAF_HV_BASE, &a, &b, &c, &d);
	if (b != 0x74616c73 || c != 0x6f736976 || a < SLAT_CPUID_FEATURES)
		return false;
	cpuid(SLAT_CPUID_FEATURES, &a, &b, &c, &d);
	return a & SLAT_FEATURE_MONITOR;
}

/* One read and one write whose instruction addresses come back in *rip. */
static u64 read_at(volatile u8 *p, u64 *rip)
{
	u64 v;
	__asm__ volatile("1: movq (%2), %0\n\tleaq 1b(%%rip), %1" : "=r"(v), "=r"(*rip) : "r"(p) : "memory");
	return v;
}

static void write_at(volatile u8 *p, u64 v, u64 *rip)
{
	__asm__ volatile("1: movq %2, (%1)\n\tleaq 1b(%%rip), %0" : "=r"(*rip) : "r"(p), "r"(v) : "memory");
}

static u64 page_of(volatile void *p)
{
	return (u64)(uintptr_t)p & ~0xFFFULL;
}

/* The records since the last drain must be @n of @access at @gpa's page from @rip (0: any). */
static const char *expect(const char *what, u64 n, u32 access, u64 gpa, u64 rip, u32 mon)
{
	if (pending() != n)
		return failf("%s: %lu records, %lu expected (dropped %lu)", what, pending(), n, ring()->dropped);
	for (u64 i = ring()->tail; i < ring()->head; i++) {
		const struct slat_event *e = record(i);
		if (e->seq != i || e->access != access || page_of((void *)(uintptr_t)e->gpa) != page_of((void *)(uintptr_t)gpa) ||
		    (rip && e->rip != rip) || e->monitor != mon || e->cpu != 0 || e->cpl != 0)
			return failf("%s: record %lu: seq %lu access %u gpa 0x%lx rip 0x%lx monitor %u cpu %u cpl %u; expected access %u gpa 0x%lx rip 0x%lx monitor %u on cpu 0 at cpl 0",
				     what, i, e->seq, e->access, e->gpa, e->rip, e->monitor, e->cpu, e->cpl, access, gpa, rip, mon);
	}
	drain();
	return NULL;
}

static const char *not_supported(void)
{
	struct hc_result r = hc(SLAT_HC_MON_ADD, page_of(area[0]), 4096, SLAT_ACC_R, 0);
	if (r.status != SLAT_E_NOTSUP)
		return failf("monitoring not announced, yet SLAT_HC_MON_ADD returned %ld, not SLAT_E_NOTSUP", r.status);
	return NULL;
}

static const char *read_stats(void)
{
	struct hc_result r = hc(SLAT_HC_MON_STATS, (u64)(uintptr_t)&stats, sizeof(stats), 0, 0);
	return r.status ? failf("SLAT_HC_MON_STATS returned %ld", r.status) : NULL;
}

PROBE(monitor_exact)
{
	if (!announced())
		return not_supported();
	const char *why = ring_on();
	if (why)
		return why;
	if (ring()->magic != SLAT_RING_MAGIC || ring()->record_size != sizeof(struct slat_event) ||
	    ring()->capacity != (sizeof(ring_mem) - 64) / sizeof(struct slat_event))
		return failf("ring header: magic 0x%x record_size %u capacity %lu", ring()->magic,
			     ring()->record_size, ring()->capacity);
	volatile u8 *a = area[0], *nb = area[1], *x = area[2];
	if (page_of(a) >> 21 != page_of(nb) >> 21)
		nb = area[3]; /* keep the neighbour in the watched page's 2 MiB region */
	static const u8 code[] = { 0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3 }; /* mov eax, 42; ret */
	memcpy((void *)x, code, sizeof(code));
	if (read_stats())
		return read_stats();
	u64 pool_free = stats.pool_free;

	struct hc_result r = hc(SLAT_HC_MON_ADD, page_of(a), 4096, SLAT_ACC_R | SLAT_ACC_W | SLAT_ACC_X, 0);
	if (r.status)
		return failf("SLAT_HC_MON_ADD (rwx) returned %ld", r.status);
	u32 id = (u32)r.rbx;
	u64 rip = 0;
	for (int i = 0; i < N_READS; i++)
		read_at(a + 64, &rip);
	if ((why = expect("reads", N_READS, SLAT_ACC_R, page_of(a), rip, id)))
		return why;
	for (int i = 0; i < N_WRITES; i++)
		write_at(a + 128, (u64)i, &rip);
	if ((why = expect("writes", N_WRITES, SLAT_ACC_W, page_of(a), rip, id)))
		return why;
	for (int i = 0; i < N_READS; i++) {
		u64 ignored;
		read_at(nb, &ignored);
		write_at(nb + 8, (u64)i, &ignored);
	}
	if ((why = expect("the unwatched neighbour", 0, 0, 0, 0, 0)))
		return why;

	r = hc(SLAT_HC_MON_ADD, page_of(x), 4096, SLAT_ACC_X, 0);
	if (r.status)
		return failf("SLAT_HC_MON_ADD (x) returned %ld", r.status);
	u32 xid = (u32)r.rbx;
	int (*fn)(void) = (int (*)(void))(uintptr_t)x;
	for (int i = 0; i < N_CALLS; i++)
		if (fn() != 42)
			return failf("the code in the watched page returned something else");
	/* Each call fetches two instructions from the page, each an access of its own. */
	if (pending() != 2 * N_CALLS)
		return failf("fetches: %lu records, %u expected", pending(), 2 * N_CALLS);
	for (u64 i = ring()->tail; i < ring()->head; i++) {
		const struct slat_event *e = record(i);
		u64 want = page_of(x) + ((i - ring()->tail) % 2 ? 5 : 0);
		if (e->access != SLAT_ACC_X || e->rip != want || e->gpa != want || e->monitor != xid)
			return failf("fetch record %lu: access %u rip 0x%lx gpa 0x%lx monitor %u; expected X at 0x%lx monitor %u",
				     i, e->access, e->rip, e->gpa, e->monitor, want, xid);
	}
	drain();

	if (hc(SLAT_HC_MON_DEL, id, 0, 0, 0).status || hc(SLAT_HC_MON_DEL, xid, 0, 0, 0).status)
		return failf("SLAT_HC_MON_DEL failed");
	read_at(a, &rip);
	if ((why = expect("after removal", 0, 0, 0, 0, 0)) || (why = read_stats()))
		return why;
	if (stats.monitors || stats.private_pages[0] || stats.shared_pages != stats.shared_before || stats.pool_free != pool_free)
		return failf("after removal: monitors %lu, private pages %lu, shared pages %lu (boot %lu), pool free %lu (%lu before)",
			     stats.monitors, stats.private_pages[0], stats.shared_pages, stats.shared_before,
			     stats.pool_free, pool_free);
	return NULL;
}

/* A watched read in the shadow of STI, and in that of MOV SS (what VM entry checks then differs). */
static u64 read_after_sti(volatile u8 *p, u64 *rip)
{
	u64 v;
	__asm__ volatile("sti\n1: movq (%2), %0\n\tcli\n\tleaq 1b(%%rip), %1" : "=r"(v), "=r"(*rip) : "r"(p) : "memory");
	return v;
}

static u64 read_after_mov_ss(volatile u8 *p, u64 *rip)
{
	u64 v, ss;
	__asm__ volatile("mov %%ss, %2\n\tmov %2, %%ss\n1: movq (%3), %0\n\tleaq 1b(%%rip), %1"
			 : "=r"(v), "=r"(*rip), "=&r"(ss) : "r"(p) : "memory");
	return v;
}

/* Both shadows, each with its own monitor: @mov_ss picks which. */
static const char *shadow_reads(bool mov_ss)
{
	if (!announced())
		return not_supported();
	const char *err = ring_on();
	if (err)
		return err;
	drain();
	pic_mask_all(); /* the firmware's 8259 timer would come in on vector 8, like a #DF */
	volatile u8 *a = area[0];
	struct hc_result r = hc(SLAT_HC_MON_ADD, page_of(a), 4096, SLAT_ACC_R, 0);
	if (r.status)
		return failf("SLAT_HC_MON_ADD returned %ld", r.status);
	u64 rip = 0;
	irq_counting = 1; /* an interrupt may come in while IF is set for one instruction */
	for (int i = 0; i < N_READS; i++)
		if (mov_ss)
			read_after_mov_ss(a + 8, &rip);
		else
			read_after_sti(a, &rip);
	irq_counting = 0;
	const char *why = expect(mov_ss ? "reads in the shadow of MOV SS" : "reads in the shadow of STI",
				 N_READS, SLAT_ACC_R, page_of(a), rip, (u32)r.rbx);
	hc(SLAT_HC_MON_DEL, r.rbx, 0, 0, 0);
	drain();
	return why;
}

PROBE(monitor_sti_shadow)
{
	return shadow_reads(false);
}

PROBE(monitor_mov_ss_shadow)
{
	return shadow_reads(true);
}

PROBE(monitor_add_del)
{
	if (!announced())
		return not_supported();
	if (ring_on())
		return ring_on();
	drain();
	if (read_stats())
		return read_stats();
	u64 pool_free = stats.pool_free, peak = stats.private_peak[0];
	volatile u8 *a = area[0];
	for (int i = 0; i < ADD_DEL_ROUNDS; i++) {
		struct hc_result r = hc(SLAT_HC_MON_ADD, page_of(a), 4096, SLAT_ACC_W, 0);
		if (r.status)
			return failf("round %d: SLAT_HC_MON_ADD returned %ld", i, r.status);
		/* Touch it, so the view is really built each round, not only asked for. */
		u64 rip;
		write_at(a, (u64)i, &rip);
		if (hc(SLAT_HC_MON_DEL, r.rbx, 0, 0, 0).status)
			return failf("round %d: SLAT_HC_MON_DEL failed", i);
		const char *why = expect("a watched write", 1, SLAT_ACC_W, page_of(a), rip, (u32)r.rbx);
		if (why)
			return why; /* the first round that went wrong */
	}
	const char *why = read_stats();
	if (why)
		return why;
	if (stats.pool_free != pool_free || stats.private_pages[0] || stats.shared_pages != stats.shared_before)
		return failf("after %u rounds: pool free %lu (%lu before), private pages %lu, shared pages %lu (boot %lu)",
			     ADD_DEL_ROUNDS, stats.pool_free, pool_free, stats.private_pages[0],
			     stats.shared_pages, stats.shared_before);
	if (stats.private_peak[0] > (peak > 4 ? peak : 4))
		return failf("private pages peaked at %lu for one watched page", stats.private_peak[0]);
	return NULL;
}

PROBE(monitor_first_rip)
{
	if (!announced())
		return not_supported();
	if (ring_on())
		return ring_on();
	drain();
	volatile u8 *a = area[0];
	struct hc_result r = hc(SLAT_HC_MON_ADD, page_of(a), 4096, SLAT_ACC_R | SLAT_MON_FIRST_RIP, 0);
	if (r.status)
		return failf("SLAT_HC_MON_ADD (first RIP) returned %ld", r.status);
	u64 id = r.rbx, rip1 = 0, rip2 = 0;
	for (int i = 0; i < N_READS; i++) {
		read_at(a, &rip1);
		read_at(a + 8, &rip2);
	}
	static struct slat_rip_count rips[SLAT_MAX_RIPS];
	r = hc(SLAT_HC_MON_RIPS, (u64)(uintptr_t)rips, sizeof(rips), 0, id);
	hc(SLAT_HC_MON_DEL, id, 0, 0, 0);
	u64 n = pending();
	drain();
	if (n != 2)
		return failf("%lu records for reads from 2 RIPs, 2 expected", n);
	if (r.status || r.rbx != 2)
		return failf("SLAT_HC_MON_RIPS returned %ld with %lu RIPs", r.status, r.rbx);
	for (int i = 0; i < 2; i++)
		if ((rips[i].rip != rip1 && rips[i].rip != rip2) || rips[i].count != N_READS)
			return failf("RIP 0x%lx counted %lu times; 0x%lx and 0x%lx %u times each expected",
				     rips[i].rip, rips[i].count, rip1, rip2, N_READS);
	return NULL;
}

PROBE(monitor_bad_input)
{
	if (!announced())
		return not_supported();
	if (ring_on())
		return ring_on();
	drain();
	u64 a = page_of(area[0]);
	static const struct {
		const char *what;
		u64 fn, b, c, d, s;
		long want;
	} cases[] = {
		{ "add of length 0", SLAT_HC_MON_ADD, 0, 0, SLAT_ACC_R, 0, SLAT_E_INVAL },
		{ "add with unknown flags", SLAT_HC_MON_ADD, 0, 4096, SLAT_ACC_R | (1u << 20), 0, SLAT_E_INVAL },
		{ "add of no access", SLAT_HC_MON_ADD, 0, 4096, 0, 0, SLAT_E_INVAL },
		{ "add for a vCPU that does not exist", SLAT_HC_MON_ADD, 0, 4096, SLAT_ACC_R, 1ULL << 63, SLAT_E_INVAL },
		{ "add on the local APIC (MMIO)", SLAT_HC_MON_ADD, 0xFEE00000, 4096, SLAT_ACC_R, 0, SLAT_E_RANGE },
		{ "add past the end of guest memory", SLAT_HC_MON_ADD, 1ULL << 40, 4096, SLAT_ACC_R, 0, SLAT_E_RANGE },
		{ "add of 1 GiB (more than the pool)", SLAT_HC_MON_ADD, 0x1000000, 1ULL << 30, SLAT_ACC_R, 0, SLAT_E_NOSPC },
		{ "del of an unknown id", SLAT_HC_MON_DEL, 0x7FFFFFFF, 0, 0, 0, SLAT_E_NOENT },
		{ "ring on the local APIC", SLAT_HC_MON_RING, 0xFEE00000, 4096, 0, 0, SLAT_E_RANGE },
		{ "ring not page aligned", SLAT_HC_MON_RING, 0x100010, 4096, 0, 0, SLAT_E_INVAL },
		{ "ring too large", SLAT_HC_MON_RING, 0x100000, (SLAT_RING_MAX_PAGES + 1) * 4096ULL, 0, 0, SLAT_E_INVAL },
		{ "stats into MMIO", SLAT_HC_MON_STATS, 0xFEE00000, sizeof(struct slat_mon_stats), 0, 0, SLAT_E_RANGE },
		{ "a linear address nothing maps", SLAT_HC_MON_ADD, UNMAPPED_ADDR, 4096, SLAT_ACC_R | SLAT_MON_LINEAR, 0, SLAT_E_FAULT },
		{ "an unknown function", 0x534C00FF, 0, 0, 0, 0, SLAT_E_NOSYS },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hc_result r = hc(cases[i].fn, cases[i].b ? cases[i].b : a, cases[i].c, cases[i].d, cases[i].s);
		if (r.status != cases[i].want)
			return failf("%s: %ld, %ld expected", cases[i].what, r.status, cases[i].want);
	}
	/* slatvisor's own memory, where the guest's e820 shows it reserved between RAM. */
	u64 hv = e820_hidden_page(0x100000);
	if (!hv)
		return failf("no reserved range between RAM in the e820: where is slatvisor's memory?");
	static const long want = SLAT_E_RANGE;
	struct hc_result h = hc(SLAT_HC_MON_ADD, hv, 4096, SLAT_ACC_R, 0);
	if (h.status != want)
		return failf("add on hypervisor memory at 0x%lx: %ld, %ld expected", hv, h.status, want);
	if ((h = hc(SLAT_HC_MON_RING, hv, 4096, 0, 0)).status != want)
		return failf("ring on hypervisor memory at 0x%lx: %ld, %ld expected", hv, h.status, want);
	/* The ring registered before still works after all that. */
	struct hc_result r = hc(SLAT_HC_MON_ADD, a, 4096, SLAT_ACC_W, 0);
	u64 rip;
	write_at(area[0], 1, &rip);
	hc(SLAT_HC_MON_DEL, r.rbx, 0, 0, 0);
	return r.status ? failf("add after the bad calls: %ld", r.status) : expect("after bad calls", 1, SLAT_ACC_W, a, rip, (u32)r.rbx);
}
