/* slatmon: drive slatvisor's guest memory monitoring from the test guest (add, delete, list, stats, events) and check it end to end (selftest). */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../../vmx/hypercall_abi.h"
#include "checks.h"

/*
 * usage: see usage() below.
 * slatvisor writes into the buffers it is given (rings, statistics, the monitor list) through
 * their guest-physical frames, behind Linux's back: every such buffer is touched (so its page
 * table entries are present and dirty) and mlocked (so the frames stay where they were when
 * the hypervisor translated them) before its address is passed.
 *
 * The tool assumes Linux CPU N is slatvisor's vCPU N (both count the processors in the order
 * they were started); the selftest checks the cpu field of the records against it.
 */

typedef unsigned long long u64;

/* The header's prose gives these sizes; a change to the structures must be a change to the ABI. */
_Static_assert(sizeof(struct slat_ring_header) == 64, "ring header is 64 bytes");
_Static_assert(sizeof(struct slat_event) == 72, "event record is 72 bytes");

#define PG 4096UL
#define RING_PAGES SLAT_RING_MAX_PAGES
#define ANY (~0ULL)		/* "don't compare this field" in an expected record */

/* ---- the hypervisor interface ---- */

/*
 * One VMCALL. slatvisor preserves every register but RAX and RBX; "memory" because it may
 * have written any buffer whose address we passed (and the rings, at any call).
 */
static long hc(unsigned long fn, unsigned long b, unsigned long c, unsigned long d, unsigned long s,
	       unsigned long *rbx_out)
{
	unsigned long rax = fn, rbx = b;

	asm volatile("vmcall" : "+a"(rax), "+b"(rbx) : "c"(c), "d"(d), "S"(s) : "memory");
	if (rbx_out)
		*rbx_out = rbx;
	return (long)rax;
}

static const char *ename(long rc)
{
	switch (rc) {
	case SLAT_OK: return "SLAT_OK";
	case SLAT_E_INVAL: return "SLAT_E_INVAL";
	case SLAT_E_NOENT: return "SLAT_E_NOENT";
	case SLAT_E_RANGE: return "SLAT_E_RANGE";
	case SLAT_E_NOSPC: return "SLAT_E_NOSPC";
	case SLAT_E_PERM: return "SLAT_E_PERM";
	case SLAT_E_NOSYS: return "SLAT_E_NOSYS";
	case SLAT_E_NOTSUP: return "SLAT_E_NOTSUP";
	case SLAT_E_FAULT: return "SLAT_E_FAULT";
	}
	return "an unknown status";
}

/* What to add to a message about rc: SLAT_E_PERM has one cause the reader can fix. */
static const char *ehint(long rc)
{
	return rc == SLAT_E_PERM ? " (slatvisor refuses monitor calls from CPL 3: boot it with monitor_cpl3=1)" :
	       rc == SLAT_E_NOTSUP ? " (monitoring needs slatvisor's EPT paging)" : "";
}

/*
 * VMCALL is #UD unless slatvisor advertises the monitor functions, so look before calling.
 * Returns 0, or -1 with the reason in why.
 */
static int monitor_offered(char *why, size_t len)
{
	unsigned int a, b, c, d, max;
	char sig[13] = { 0 };

	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 31))) {
		snprintf(why, len, "no hypervisor (CPUID.1:ECX bit 31 clear): cannot monitor memory");
		return -1;
	}
	/* The hypervisor leaves directly: __get_cpuid would reject them as above the basic maximum. */
	__cpuid(0x40000000, max, b, c, d);
	memcpy(sig + 0, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	if (memcmp(sig, "slatvisor\0\0\0", 12)) {
		for (int i = 0; i < 12; i++)
			if (sig[i] && (sig[i] < ' ' || sig[i] > '~'))
				sig[i] = '?';
		snprintf(why, len, "the hypervisor is not slatvisor (signature \"%s\"): cannot monitor memory", sig);
		return -1;
	}
	if (max < SLAT_CPUID_FEATURES) {
		snprintf(why, len, "slatvisor has no feature leaf (highest leaf %#x): no memory monitoring", max);
		return -1;
	}
	__cpuid(SLAT_CPUID_FEATURES, a, b, c, d);
	if (!(a & SLAT_FEATURE_MONITOR)) {
		snprintf(why, len, "slatvisor does not offer memory monitoring (feature bits %#x: booted with monitor=off, or with shadow paging)", a);
		return -1;
	}
	return 0;
}

/* A buffer the hypervisor may write: present, dirty and locked in place. NULL on failure. */
static void *pinned(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);
	if (mlock(p, len)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

static int ncpus;		/* online CPUs, numbered 0 to ncpus-1 */

/* Run the calling thread on cpu only; the kernel has moved it there when this returns 0. */
static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		return -1;
	return sched_getcpu() == cpu ? 0 : -1;
}

static void unpin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int c = 0; c < ncpus; c++)
		CPU_SET(c, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* ---- rings ---- */

struct ring {
	struct slat_ring_header *h;	/* NULL: none registered by us on this CPU */
};
static struct ring rings[SLAT_MAX_CPUS];

static const struct slat_event *ring_slot(const struct slat_ring_header *h, u64 n)
{
	return (const struct slat_event *)((const char *)h + sizeof *h + (n % h->capacity) * h->record_size);
}

/* Returned by ring_register when the ring could not be mapped: not a status of slatvisor's. */
#define NO_RING 1

/*
 * Register a ring for cpu, which the caller runs on (each vCPU has its own ring and the call
 * registers the caller's). Returns the status, or NO_RING; the ring is kept in rings[cpu] only
 * on success.
 */
static long ring_register(int cpu)
{
	const size_t len = RING_PAGES * PG;
	struct slat_ring_header *h;
	long rc;

	if (!rings[cpu].h && !(rings[cpu].h = pinned(len, PROT_READ | PROT_WRITE)))
		return NO_RING;
	h = rings[cpu].h;
	rc = hc(SLAT_HC_MON_RING, (unsigned long)h, len, SLAT_MON_LINEAR, 0, NULL);
	if (rc) {
		munmap(h, len);
		rings[cpu].h = NULL;
	}
	return rc;
}

/*
 * Unregister every ring we registered, on its own CPU: once this process is gone its frames
 * belong to someone else, and slatvisor must not write records into them.
 */
static int rings_unregister(void)
{
	int bad = 0;

	for (int c = 0; c < ncpus; c++) {
		if (!rings[c].h)
			continue;
		if (pin(c) || hc(SLAT_HC_MON_RING, 0, 0, 0, 0, NULL)) {
			fprintf(stderr, "slatmon: cannot unregister the ring of cpu%d\n", c);
			bad = 1;
			continue;
		}
		munlock(rings[c].h, RING_PAGES * PG);
		munmap(rings[c].h, RING_PAGES * PG);
		rings[c].h = NULL;
	}
	unpin();
	return bad ? -1 : 0;
}

/*
 * Copy up to max of the records cpu's ring holds into out, then consume all of them
 * (tail = head). Returns how many there were: more than max means some were not copied.
 */
static size_t ring_take(int cpu, struct slat_event *out, size_t max)
{
	struct slat_ring_header *h = rings[cpu].h;
	u64 head, tail, n;

	if (!h || !h->capacity)
		return 0;
	/* Acquire: the records slatvisor wrote before it moved head are visible after this load. */
	head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
	tail = h->tail;
	n = head - tail;
	for (u64 i = 0; i < n && i < max && i < h->capacity; i++)
		memcpy(&out[i], ring_slot(h, tail + i), sizeof out[i]);
	__atomic_store_n(&h->tail, head, __ATOMIC_RELEASE);
	return (size_t)n;
}

static void rings_drain(void)
{
	for (int c = 0; c < ncpus; c++)
		if (rings[c].h)
			__atomic_store_n(&rings[c].h->tail, __atomic_load_n(&rings[c].h->head, __ATOMIC_ACQUIRE),
					 __ATOMIC_RELEASE);
}

static char acc_name(unsigned int a)
{
	return a == SLAT_ACC_R ? 'R' : a == SLAT_ACC_W ? 'W' : a == SLAT_ACC_X ? 'X' : '?';
}

/* ---- statistics and the monitor list ---- */

static struct slat_mon_stats *statbuf;	/* pinned, for the hypervisor to write */

static long get_stats(struct slat_mon_stats *out)
{
	long rc;

	memset(statbuf, 0, sizeof *statbuf);
	rc = hc(SLAT_HC_MON_STATS, (unsigned long)statbuf, sizeof *statbuf, SLAT_MON_LINEAR, 0, NULL);
	memcpy(out, statbuf, sizeof *out);
	return rc;
}

static void flags_str(unsigned int f, char *s, size_t len)
{
	snprintf(s, len, "%s%s%s%s%s", f & SLAT_ACC_R ? "r" : "", f & SLAT_ACC_W ? "w" : "",
		 f & SLAT_ACC_X ? "x" : "", f & SLAT_MON_LINEAR ? " linear" : "",
		 f & SLAT_MON_FIRST_RIP ? " first-rip" : "");
}

/* ---- the selftest ---- */


static int call_fail(const char *what, long rc)
{
	return fail("%s returned %s (%ld)%s", what, ename(rc), rc, ehint(rc));
}

static void report(const char *name, int rc)
{
	if (rc == 0) {
		n_ok++;
		printf("slatmon: ok %s%s%s\n", name, detail[0] ? " " : "", detail);
	} else {
		n_fail++;
		printf("slatmon: FAIL %s: %s\n", name, detail);
	}
	detail[0] = 0;
}

/* Monitors the selftest added and has not deleted yet: whatever a failed check leaves, the next one starts without. */
static unsigned long live[64];
static int nlive;

static long mon_add(u64 addr, u64 len, unsigned int flags, u64 cpus, unsigned long *id)
{
	unsigned long got = 0;
	long rc = hc(SLAT_HC_MON_ADD, addr, len, flags, cpus, &got);

	if (rc == 0 && nlive < (int)(sizeof live / sizeof live[0]))
		live[nlive++] = got;
	if (id)
		*id = got;
	return rc;
}

static long mon_del(unsigned long id)
{
	long rc = hc(SLAT_HC_MON_DEL, id, 0, 0, 0, NULL);

	for (int i = 0; rc == 0 && i < nlive; i++)
		if (live[i] == id) {
			live[i] = live[--nlive];
			break;
		}
	return rc;
}

static void mon_del_all(void)
{
	while (nlive > 0)
		if (mon_del(live[nlive - 1]))
			nlive--;	/* already gone, or undeletable: either way not ours to retry */
}

/* The pages the checks watch, and their guest-physical addresses (from /proc/self/pagemap). */
#define BUF_PAGES 1024
static int pagemap = -1;
static char *buf;		/* BUF_PAGES pinned pages that A, N and B are taken from */
static char *pA, *pN, *pB, *pX;	/* watched, its unwatched neighbour, the stress test's second page, code */
static u64 gA, gN, gB, gX;	/* their guest-physical addresses */
static int (*xfn)(void);	/* the code copied into X */
static struct slat_event ev[4096];
static struct slat_mon_stats st0;	/* the statistics after setup */

/* p's guest-physical page address, or 0 with the reason in detail. */
static u64 phys_of(const void *p)
{
	u64 e;

	if (pread(pagemap, &e, sizeof e, (off_t)((uintptr_t)p / PG * sizeof e)) != (ssize_t)sizeof e)
		return fail("cannot read /proc/self/pagemap at %p: %s", p, strerror(errno)), 0;
	if (!(e >> 63))
		return fail("page %p not present", p), 0;
	if (!(e & ((1ULL << 55) - 1)))
		return fail("/proc/self/pagemap gives no frame numbers (needs CAP_SYS_ADMIN)"), 0;
	return (e & ((1ULL << 55) - 1)) * PG;
}

/* The monitors watch frames: a page the kernel migrated meanwhile would explain any count. */
static int frames_moved(void)
{
	const struct { const char *name; char *p; u64 g; } pages[] = {
		{ "A", pA, gA }, { "N", pN, gN }, { "B", pB, gB }, { "X", pX, gX },
	};

	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		u64 now = phys_of(pages[i].p);
		if (!now)
			return -1;	/* phys_of said why */
		if (now != pages[i].g)
			return fail("page %s moved from %#llx to %#llx: the counts mean nothing", pages[i].name,
				    pages[i].g, now);
	}
	return 0;
}

/*
 * Whether record e is the one expected: want's fields that are not ANY must match. Returns 0,
 * or -1 with both records in detail.
 */
struct want {
	unsigned int access, monitor, cpu;
	u64 gpa, gla, rip;
	int page_only;	/* gpa and gla need only be in the right page */
};

static int same(u64 seen, u64 want, int page_only)
{
	return want == ANY || (page_only ? seen >> 12 == want >> 12 : seen == want);
}

static int record_is(const char *where, size_t i, const struct slat_event *e, const struct want *w)
{
	if (e->access == w->access && e->monitor == w->monitor && e->cpu == w->cpu && e->cpl == 3 &&
	    e->count == 1 && same(e->gpa, w->gpa, w->page_only) && same(e->gla, w->gla, w->page_only) &&
	    same(e->rip, w->rip, 0))
		return 0;
	return fail("%s record %zu (seq %llu): %c monitor %u cpu %u cpl %u count %llu gpa %#llx gla %#llx rip %#llx; "
		    "expected %c monitor %u cpu %u cpl 3 count 1 gpa %#llx gla %#llx rip %#llx", where, i, e->seq,
		    acc_name(e->access), e->monitor, e->cpu, e->cpl, e->count, e->gpa, e->gla, e->rip,
		    acc_name(w->access), w->monitor, w->cpu, w->gpa, w->gla, w->rip);
}

/* Sequence numbers count the records a CPU wrote: n records taken in one go must be consecutive. */
static int seq_consecutive(const char *where, const struct slat_event *e, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (e[i].seq != e[0].seq + i)
			return fail("%s: record %zu has seq %llu after %llu at record 0: not consecutive", where, i,
				    e[i].seq, e[0].seq);
	return 0;
}

static int not_dropped(int cpu)
{
	u64 d = rings[cpu].h->dropped;
	return d ? fail("cpu%d ring dropped %llu records", cpu, d) : 0;
}

/* Every CPU's ring must be empty but those the caller already took. */
static int rings_empty(const char *when)
{
	for (int c = 0; c < ncpus; c++) {
		size_t n = ring_take(c, ev, sizeof ev / sizeof ev[0]);
		if (n)
			return fail("%s: %zu records in cpu%d's ring, expected none (the first: %c monitor %u gpa %#llx rip %#llx)",
				    when, n, c, acc_name(ev[0].access), ev[0].monitor, ev[0].gpa, ev[0].rip);
	}
	return 0;
}

/*
 * One 8-byte read of p and one write, each by an instruction whose address is returned: the
 * record's rip is that of the access, since an EPT violation stops the guest before it.
 */
static u64 read_at(const void *p, u64 *rip)
{
	u64 v;
	asm volatile("1: movq (%2), %0\n\tleaq 1b(%%rip), %1" : "=r"(v), "=r"(*rip) : "r"(p) : "memory");
	return v;
}

static void write_at(void *p, u64 v, u64 *rip)
{
	asm volatile("1: movq %1, (%2)\n\tleaq 1b(%%rip), %0" : "=&r"(*rip) : "r"(v), "r"(p) : "memory");
}

/* 1. setup: a ring on every CPU, as the hypervisor describes it in its header. */
static int check_setup(void)
{
	const u64 cap = (RING_PAGES * PG - sizeof(struct slat_ring_header)) / sizeof(struct slat_event);
	long rc;

	if (!(statbuf = pinned(PG, PROT_READ | PROT_WRITE)))
		return fail("cannot map and lock a page for the statistics");
	for (int c = 0; c < ncpus; c++) {
		struct slat_ring_header *h;
		if (pin(c))
			return fail("cannot run on cpu%d", c);
		if ((rc = ring_register(c)) == NO_RING)
			return fail("cpu%d: cannot map and lock %d pages for the ring", c, RING_PAGES);
		if (rc)
			return fail("cpu%d: SLAT_HC_MON_RING returned %s (%ld)%s", c, ename(rc), rc, ehint(rc));
		h = rings[c].h;
		if (h->magic != SLAT_RING_MAGIC || h->record_size != sizeof(struct slat_event) || h->capacity != cap)
			return fail("cpu%d ring header: magic %#x record_size %u capacity %llu; expected %#x, %zu, %llu", c,
				    h->magic, h->record_size, h->capacity, SLAT_RING_MAGIC, sizeof(struct slat_event), cap);
		if (h->head != h->tail || h->dropped)
			return fail("cpu%d ring: head %llu tail %llu dropped %llu at registration", c, h->head, h->tail, h->dropped);
	}
	pin(0);
	if ((rc = get_stats(&st0)))
		return call_fail("SLAT_HC_MON_STATS", rc);
	if (st0.nr_cpus != (unsigned int)ncpus)
		return fail("statistics say %u CPUs, Linux has %d online", st0.nr_cpus, ncpus);
	/* The per-CPU and SMP checks use CPUs 0 and 1; the test boots give the guest exactly 2. */
	if (ncpus < 2)
		return fail("%d online CPU, the checks need 2", ncpus);
	snprintf(detail, sizeof detail, "(%d rings of %llu records, pool %llu pages, %llu free)", ncpus, cap,
		 st0.pool_pages, st0.pool_free);
	return 0;
}

/* 2. frames: pages A, N and B in one 2 MiB physical region (so A's split puts N and B in the same private table), X for code. */
static int check_frames(void)
{
	static const unsigned char code[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 };	/* mov eax, 42; ret */
	static u64 g[BUF_PAGES];
	int a = -1, n = -1, b = -1;

	if ((pagemap = open("/proc/self/pagemap", O_RDONLY)) < 0)
		return fail("cannot open /proc/self/pagemap: %s", strerror(errno));
	if (!(buf = pinned(BUF_PAGES * PG, PROT_READ | PROT_WRITE)))
		return fail("cannot map and lock %d pages", BUF_PAGES);
	for (int i = 0; i < BUF_PAGES; i++)
		if (!(g[i] = phys_of(buf + i * PG)))
			return -1;
	/* The first page with two others in its 2 MiB region; failing that, one with one (B then lies elsewhere). */
	for (int want = 2; want >= 1 && a < 0; want--)
		for (int i = 0; i < BUF_PAGES && a < 0; i++) {
			int found[2] = { -1, -1 }, k = 0;
			for (int j = 0; j < BUF_PAGES && k < want; j++)
				if (j != i && g[j] >> 21 == g[i] >> 21 && g[j] != g[i] && (k == 0 || g[j] != g[found[0]]))
					found[k++] = j;
			if (k == want) {
				a = i;
				n = found[0];
				b = found[1];
			}
		}
	if (a < 0)
		return fail("no two of %d locked pages share a 2 MiB physical region", BUF_PAGES);
	if (b < 0)
		for (int j = 0; j < BUF_PAGES && b < 0; j++)
			if (g[j] != g[a] && g[j] != g[n])
				b = j;
	if (b < 0)
		return fail("no third distinct frame among %d locked pages", BUF_PAGES);
	pA = buf + a * PG, gA = g[a];
	pN = buf + n * PG, gN = g[n];
	pB = buf + b * PG, gB = g[b];
	/* The code goes in before any monitor watches X: these writes must not be events. */
	if (!(pX = pinned(PG, PROT_READ | PROT_WRITE | PROT_EXEC)))
		return fail("cannot map and lock an executable page");
	memcpy(pX, code, sizeof code);
	xfn = (int (*)(void))(uintptr_t)pX;
	if (!(gX = phys_of(pX)))
		return -1;
	if (gX >> 12 == gA >> 12 || gX >> 12 == gN >> 12 || gX >> 12 == gB >> 12)
		return fail("X shares a frame with A, N or B");
	snprintf(detail, sizeof detail, "(A %#llx, N %#llx, B %#llx%s, X %#llx)", gA, gN, gB,
		 gB >> 21 == gA >> 21 ? "" : " in another region", gX);
	return 0;
}

enum { NR = 10, NW = 10, NX = 5 };

/* 3. exact counts on one CPU: every read, write and fetch of a watched page is one record, and nothing else is. */
static int check_exact(void)
{
	struct want want[NR + NW + 2 * NX];
	unsigned long ma, mx;
	size_t n, nr = 0, nw = 0, nx = 0, k = 0;
	u64 rip, v = 0;
	long rc;
	int sum = 0;

	if (pin(0))
		return fail("cannot run on cpu0");
	rings_drain();
	if ((rc = mon_add(gA, PG, SLAT_ACC_MASK, 0, &ma)))
		return call_fail("add rwx on A", rc);
	if ((rc = mon_add(gX, PG, SLAT_ACC_X, 0, &mx)))
		return call_fail("add x on X", rc);
	for (int i = 0; i < NR; i++) {
		v += read_at(pA + 8 * i, &rip);
		want[k++] = (struct want){ SLAT_ACC_R, (unsigned int)ma, 0, gA + 8 * i, (uintptr_t)(pA + 8 * i), rip, 0 };
	}
	for (int i = 0; i < NW; i++) {
		write_at(pA + 8 * i, v + (u64)i, &rip);
		want[k++] = (struct want){ SLAT_ACC_W, (unsigned int)ma, 0, gA + 8 * i, (uintptr_t)(pA + 8 * i), rip, 0 };
	}
	/*
	 * Each call fetches two instructions from X, the mov and the ret, and each fetch is an
	 * access: slatvisor lets the mov through by stepping it with X allowed, then denies
	 * execution again, so the ret faults afresh. The call itself and the return address it
	 * pushes are outside X. Hence 2 records per call, with rip X and X+5. Their gpa and gla
	 * need only be in X's page: a fetch may be reported at the start of the block the
	 * processor fetched rather than at the instruction.
	 */
	for (int i = 0; i < NX; i++) {
		sum += xfn();
		want[k++] = (struct want){ SLAT_ACC_X, (unsigned int)mx, 0, gX, (uintptr_t)pX, (uintptr_t)pX, 1 };
		want[k++] = (struct want){ SLAT_ACC_X, (unsigned int)mx, 0, gX + 5, (uintptr_t)pX + 5, (uintptr_t)pX + 5, 1 };
	}
	if (sum != 42 * NX)
		return fail("the code in X returned %d over %d calls, expected %d", sum, NX, 42 * NX);
	n = ring_take(0, ev, sizeof ev / sizeof ev[0]);
	for (size_t i = 0; i < n && i < sizeof ev / sizeof ev[0]; i++) {
		nr += ev[i].access == SLAT_ACC_R;
		nw += ev[i].access == SLAT_ACC_W;
		nx += ev[i].access == SLAT_ACC_X;
	}
	if (n != k)
		return fail("cpu0 ring has %zu records (%zu R, %zu W, %zu X), expected %zu (%d R, %d W, %d X)", n, nr, nw,
			    nx, k, NR, NW, 2 * NX);
	for (size_t i = 0; i < n; i++)
		if (record_is("cpu0", i, &ev[i], &want[i]))
			return -1;
	if (seq_consecutive("cpu0", ev, n) || not_dropped(0) || rings_empty("other CPUs"))
		return -1;
	/* N shares A's private page table but not its leaf: touching it must log nothing. */
	for (int i = 0; i < 10; i++) {
		v += read_at(pN + 8 * i, &rip);
		write_at(pN + 8 * i, v, &rip);
	}
	if (rings_empty("after 10 reads and writes of the neighbour page N"))
		return -1;
	if ((rc = mon_del(ma)))
		return call_fail("delete A's monitor", rc);
	if ((rc = mon_del(mx)))
		return call_fail("delete X's monitor", rc);
	if (frames_moved())
		return -1;
	snprintf(detail, sizeof detail, "(%d R, %d W, %d X records)", NR, NW, 2 * NX);
	return 0;
}

/* 4. per CPU: a monitor for CPU 1 only leaves CPU 0 on the shared EPT and logs nothing there. */
static int check_per_cpu(void)
{
	struct slat_mon_stats s1, s2;
	unsigned long m;
	u64 rip[10], v = 0;
	size_t n;
	long rc;

	if (ncpus < 2)
		return fail("needs 2 online CPUs, found %d", ncpus);
	if (pin(0))
		return fail("cannot run on cpu0");
	rings_drain();
	if ((rc = mon_add(gA, PG, SLAT_ACC_R | SLAT_ACC_W, 1ULL << 1, &m)))
		return call_fail("add rw on A for cpu1", rc);
	if ((rc = get_stats(&s1)))
		return call_fail("SLAT_HC_MON_STATS", rc);
	for (int i = 0; i < 10; i++)
		v += read_at(pA + 8 * i, &rip[i]);
	if ((rc = get_stats(&s2)))
		return call_fail("SLAT_HC_MON_STATS", rc);
	if (rings_empty("after 10 reads on cpu0"))
		return -1;
	if (s2.cpu_violations[0] != s1.cpu_violations[0] || s2.private_pages[0])
		return fail("after 10 reads on cpu0: cpu_violations[0] %llu (was %llu), private_pages[0] %llu; expected unchanged and 0",
			    s2.cpu_violations[0], s1.cpu_violations[0], s2.private_pages[0]);
	if (pin(1))
		return fail("cannot run on cpu1");
	for (int i = 0; i < 10; i++)
		v += read_at(pA + 8 * i, &rip[i]);
	pin(0);
	n = ring_take(1, ev, sizeof ev / sizeof ev[0]);
	if (n != 10)
		return fail("after 10 reads on cpu1: %zu records in cpu1's ring, expected 10", n);
	for (size_t i = 0; i < n; i++) {
		struct want w = { SLAT_ACC_R, (unsigned int)m, 1, gA + 8 * i, (uintptr_t)(pA + 8 * i), rip[i], 0 };
		if (record_is("cpu1", i, &ev[i], &w))
			return -1;
	}
	if (seq_consecutive("cpu1", ev, n) || not_dropped(1) || rings_empty("after 10 reads on cpu1"))
		return -1;
	if ((rc = mon_del(m)))
		return call_fail("delete A's monitor", rc);
	if (frames_moved())
		return -1;
	(void)v;
	return 0;
}

/*
 * Whether the statistics show no monitor and no private page (and, unless pool_free is -1,
 * that many free pool pages). A view is rebuilt by the vCPU that owns it, so another CPU may
 * give its pages back a little after the call that deleted the monitor returned: wait up to
 * a second for that.
 */
static int settled(struct slat_mon_stats *s, long long pool_free, const char *when)
{
	for (int tries = 0;; tries++) {
		long rc = get_stats(s);
		int ok = !rc && !s->monitors && s->shared_pages == s->shared_before &&
			 (pool_free < 0 || s->pool_free == (u64)pool_free);
		for (int c = 0; c < ncpus; c++)
			ok = ok && !s->private_pages[c];
		if (ok)
			return 0;
		if (rc)
			return call_fail("SLAT_HC_MON_STATS", rc);
		if (tries == 50)
			return fail("%s: monitors %llu, private_pages %llu/%llu (cpu0/cpu1), shared_pages %llu (%llu before monitoring), pool_free %llu (expected %lld)",
				    when, s->monitors, s->private_pages[0], ncpus > 1 ? s->private_pages[1] : 0,
				    s->shared_pages, s->shared_before, s->pool_free, pool_free);
		usleep(20000);
	}
}

/* 5. split and merge: a thousand adds and deletes leave the EPT and the pool as they were, and monitoring still works. */
static int check_split_merge(void)
{
	struct slat_mon_stats s0, s1;
	unsigned long m;
	u64 rip[10];
	size_t n;
	long rc;

	if (pin(0))
		return fail("cannot run on cpu0");
	if (settled(&s0, -1, "before"))
		return -1;
	for (int i = 0; i < 1000; i++) {
		if ((rc = mon_add(gA, PG, SLAT_ACC_R | SLAT_ACC_W, 0, &m)))
			return fail("round %d: add returned %s (%ld)", i, ename(rc), rc);
		if ((rc = mon_del(m)))
			return fail("round %d: delete of %lu returned %s (%ld)", i, m, ename(rc), rc);
	}
	if (settled(&s1, (long long)s0.pool_free, "after 1000 adds and deletes"))
		return -1;
	rings_drain();
	if ((rc = mon_add(gA, PG, SLAT_ACC_R | SLAT_ACC_W, 0, &m)))
		return call_fail("add after the rounds", rc);
	for (int i = 0; i < 10; i++)
		write_at(pA + 8 * i, (u64)i, &rip[i]);
	n = ring_take(0, ev, sizeof ev / sizeof ev[0]);
	if (n != 10)
		return fail("after 1000 rounds, 10 writes give %zu records, expected 10", n);
	for (size_t i = 0; i < n; i++) {
		struct want w = { SLAT_ACC_W, (unsigned int)m, 0, gA + 8 * i, (uintptr_t)(pA + 8 * i), rip[i], 0 };
		if (record_is("cpu0", i, &ev[i], &w))
			return -1;
	}
	if (seq_consecutive("cpu0", ev, n) || not_dropped(0) || rings_empty("other CPUs"))
		return -1;
	if ((rc = mon_del(m)))
		return call_fail("delete A's monitor", rc);
	if (frames_moved())
		return -1;
	snprintf(detail, sizeof detail, "(1000 rounds: splits +%llu, merges +%llu, pool_free %llu)",
		 s1.splits - s0.splits, s1.merges - s0.merges, s1.pool_free);
	return 0;
}

/* 6. SMP: writes on both CPUs while the views are rebuilt under them, again and again. */
enum { K = 1000 };

struct writer {
	pthread_t tid;
	int cpu;
	char why[96];
};
static atomic_int ready, go, finished;

static volatile u64 *slot(int cpu) { return (volatile u64 *)(pA + 512 + 8 * cpu); }

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	cpu_set_t set;
	int e;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if ((e = pthread_setaffinity_np(pthread_self(), sizeof set, &set)) || sched_getcpu() != w->cpu)
		snprintf(w->why, sizeof w->why, "cannot pin a thread to cpu%d: %s", w->cpu, e ? strerror(e) : "runs elsewhere");
	atomic_fetch_add(&ready, 1);
	while (!atomic_load(&go))
		sched_yield();
	for (int i = 0; i < K && !w->why[0]; i++)
		*slot(w->cpu) = (u64)i;
	atomic_fetch_add(&finished, 1);
	return NULL;
}

static int check_smp(void)
{
	struct writer w[2];
	unsigned long ma, mb;
	long rc = 0;
	int rounds = 0, started = 0;

	if (ncpus < 2)
		return fail("needs 2 online CPUs, found %d", ncpus);
	if (pin(0))
		return fail("cannot run on cpu0");
	rings_drain();
	if ((rc = mon_add(gA, PG, SLAT_ACC_W, 0, &ma)))
		return call_fail("add w on A", rc);
	atomic_store(&ready, 0);
	atomic_store(&go, 0);
	atomic_store(&finished, 0);
	/* The main thread runs anywhere, so it competes with both writers and its calls land mid-stream on either CPU. */
	unpin();
	for (int i = 0; i < 2; i++) {
		w[i].cpu = i;
		w[i].why[0] = 0;
		if (pthread_create(&w[i].tid, NULL, writer_main, &w[i]))
			break;
		started++;
	}
	while (atomic_load(&ready) < started)
		sched_yield();
	atomic_store(&go, 1);
	rc = 0;
	do {
		long r = mon_add(gB, PG, SLAT_ACC_W, 0, &mb);
		if (r) {
			rc = rc ? rc : fail("round %d: add on B returned %s (%ld)", rounds, ename(r), r);
			break;
		}
		if ((r = mon_del(mb))) {
			rc = rc ? rc : fail("round %d: delete of B's monitor returned %s (%ld)", rounds, ename(r), r);
			break;
		}
		rounds++;
	} while (atomic_load(&finished) < started);
	for (int i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	pin(0);
	if (started < 2)
		return fail("cannot start the writer threads");
	for (int i = 0; i < 2; i++)
		if (w[i].why[0])
			return fail("%s", w[i].why);
	if (rc)
		return -1;
	for (int c = 0; c < 2; c++) {
		char where[16];
		size_t n = ring_take(c, ev, sizeof ev / sizeof ev[0]), mine = 0, other = 0;
		struct want want = { SLAT_ACC_W, (unsigned int)ma, (unsigned int)c, gA + 512 + 8 * (u64)c,
				     (uintptr_t)slot(c), ANY, 0 };

		snprintf(where, sizeof where, "cpu%d", c);
		for (size_t i = 0; i < n && i < sizeof ev / sizeof ev[0]; i++) {
			if (ev[i].monitor != ma) {
				other++;
				continue;
			}
			if (record_is(where, i, &ev[i], &want))
				return -1;
			mine++;
		}
		if (mine != K || other)
			return fail("cpu%d ring: %zu records of A's monitor, expected %d; %zu of others, expected 0 (dropped %llu, %d add/delete rounds)",
				    c, mine, K, other, rings[c].h->dropped, rounds);
		if (seq_consecutive(where, ev, n) || not_dropped(c))
			return -1;
	}
	if (rings_empty("other CPUs"))
		return -1;
	if ((rc = mon_del(ma)))
		return call_fail("delete A's monitor", rc);
	if (frames_moved())
		return -1;
	snprintf(detail, sizeof detail, "(%d writes on each CPU, %d add/delete rounds on B meanwhile)", K, rounds);
	return 0;
}

/* The largest 2 MiB-aligned System RAM range in /proc/iomem containing [*start, *start + *len), or else the largest of all. */
static void ram_range(u64 *start, u64 *len)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[160];
	u64 lo, hi, best_lo = 0, best_len = 0;
	int name;

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		/* Top-level lines only (no indent): "00100000-1fffffff : System RAM". */
		if (line[0] == ' ' || sscanf(line, "%llx-%llx : %n", &lo, &hi, &name) != 2 || strncmp(line + name, "System RAM", 10))
			continue;
		if (lo <= *start && *start + *len <= hi + 1) {
			fclose(f);
			return;	/* the range asked for is RAM */
		}
		lo = (lo + (2UL << 20) - 1) & ~((2ULL << 20) - 1);
		if (hi + 1 > lo && ((hi + 1 - lo) & ~((2ULL << 20) - 1)) > best_len) {
			best_lo = lo;
			best_len = (hi + 1 - lo) & ~((2ULL << 20) - 1);
		}
	}
	fclose(f);
	if (best_len) {
		*start = best_lo;
		*len = best_len;
	}
}

/* 7. bad input: each call fails with its code, and the program goes on. */
static void check_bad(void)
{
	u64 big = 0x1000000, big_len = 256ULL << 20;
	struct slat_mon_stats s;
	unsigned long id;
	const char *name;
	long rc, want;

	pin(0);
	ram_range(&big, &big_len);
	get_stats(&s);
#define BAD(label, expect, call)                                                                        \
	do {                                                                                            \
		name = "bad-" label;                                                                        \
		want = (expect);                                                                            \
		id = 0;                                                                                     \
		rc = (call);                                                                                \
		if (rc == want)                                                                             \
			report(name, 0);                                                                    \
		else {                                                                                      \
			fail("returned %s (%ld), expected %s", ename(rc), rc, ename(want));                 \
			if (rc == 0 && id)                                                                  \
				mon_del(id);                                                                \
			report(name, -1);                                                                   \
		}                                                                                           \
	} while (0)
	BAD("zero-length", SLAT_E_INVAL, mon_add(gA, 0, SLAT_ACC_R, 0, &id));
	BAD("unknown-flags", SLAT_E_INVAL, mon_add(gA, PG, SLAT_ACC_R | (1u << 20), 0, &id));
	BAD("no-access", SLAT_E_INVAL, mon_add(gA, PG, 0, 0, &id));
	BAD("mmio", SLAT_E_RANGE, mon_add(0xFEE00000, PG, SLAT_ACC_R, 0, &id));
	BAD("past-ram", SLAT_E_RANGE, mon_add(1ULL << 40, PG, SLAT_ACC_R, 0, &id));
	/* Writes only, so that if the pool ever did take it, the kernel runs on until it is deleted. */
	name = "bad-too-large";
	rc = mon_add(big, big_len, SLAT_ACC_W, 0, &id);
	if (rc == SLAT_E_NOSPC)
		report(name, 0);
	else {
		fail("%llu MiB from %#llx returned %s (%ld), expected SLAT_E_NOSPC (pool %llu pages, %llu free)",
		     big_len >> 20, big, ename(rc), rc, s.pool_pages, s.pool_free);
		if (rc == 0)
			mon_del(id);
		report(name, -1);
	}
	BAD("unknown-id", SLAT_E_NOENT, mon_del(0x7fffffff));
	/*
	 * From user space slatvisor writes only into the caller's own writable memory: a
	 * guest-physical buffer is refused, and so are a read-only page and a kernel page.
	 */
	BAD("ring-physical", SLAT_E_PERM, hc(SLAT_HC_MON_RING, 0xFEE00000, PG, 0, 0, NULL));
	void *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ro != MAP_FAILED) {
		volatile char c = *(volatile char *)ro; /* present, and read-only */
		(void)c;
		BAD("stats-read-only", SLAT_E_FAULT,
		    hc(SLAT_HC_MON_STATS, (u64)(uintptr_t)ro, sizeof s, SLAT_MON_LINEAR, 0, NULL));
		munmap(ro, PG);
	} else {
		fail("mmap of a read-only page failed");
		report("bad-stats-read-only", -1);
	}
	BAD("ring-kernel", SLAT_E_FAULT, hc(SLAT_HC_MON_RING, 0xffffffff81000000ULL, PG, SLAT_MON_LINEAR, 0, NULL));
	BAD("function", SLAT_E_NOSYS, hc(0x534C00FF, 0, 0, 0, 0, NULL));
	/* Page 0 is never mapped in a Linux process (mmap_min_addr). */
	BAD("unmapped", SLAT_E_FAULT, mon_add(0x10, 8, SLAT_ACC_R | SLAT_MON_LINEAR, 0, &id));
	BAD("unmapped-buffer", SLAT_E_FAULT, hc(SLAT_HC_MON_STATS, 0x10, sizeof s, SLAT_MON_LINEAR, 0, NULL));
#undef BAD
}

/* 8. teardown: nothing is left behind, and every ring unregisters. */
static int check_teardown(void)
{
	struct slat_mon_stats s;
	int r;

	mon_del_all();
	pin(0);
	r = settled(&s, (long long)st0.pool_free, "at the end");
	if (rings_unregister())
		return r ? r : fail("SLAT_HC_MON_RING with size 0 failed");
	return r;
}

static const struct check checks[] = {
	{ "setup", check_setup },
	{ "frames", check_frames },
	{ "exact", check_exact },
	{ "per-cpu", check_per_cpu },
	{ "split-merge", check_split_merge },
	{ "smp", check_smp },
};

static int selftest(void)
{
	const char *blocked = NULL;

	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		detail[0] = 0;
		if (blocked) {
			fail("not run, %s failed", blocked);
			report(checks[i].name, -1);
			continue;
		}
		rings_drain();
		int rc = checks[i].fn();
		/* Only the first two build what the others stand on; a later failure leaves the next check a clean start. */
		if (rc && i < 2)
			blocked = checks[i].name;
		report(checks[i].name, rc);
		mon_del_all();
		rings_drain();
	}
	if (blocked) {
		printf("slatmon: FAIL bad-input: not run, %s failed\n", blocked);
		n_fail++;
	} else {
		check_bad();
	}
	mon_del_all();
	if (blocked) {
		rings_unregister();
	} else {
		detail[0] = 0;
		report("teardown", check_teardown());
	}
	printf("slatmon: selftest %d passed, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}

/* ---- the commands ---- */

static int usage(void)
{
	fprintf(stderr,
		"usage: slatmon add [-p|-l] ADDR LEN rwx [-c CPUMASK] [-f]   watch [ADDR, ADDR+LEN): ADDR hex,\n"
		"                      guest-physical (-p, the default) or linear in slatmon itself (-l);\n"
		"                      LEN decimal or 0x hex; CPUMASK hex, bit N = vCPU N (default 0: all);\n"
		"                      -f logs only the first access from each RIP\n"
		"       slatmon del ID\n"
		"       slatmon list\n"
		"       slatmon stats\n"
		"       slatmon rips ID            per-RIP counts of a -f monitor\n"
		"       slatmon events [-n SECONDS] register a ring on every CPU and print the records\n"
		"       slatmon selftest\n");
	return 2;
}

/* A complete number in base; -1 if s is not one. */
static int number(const char *s, int base, u64 *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, base);
	return !*s || *end || errno || *s == '-' ? -1 : 0;
}

/* Say what a failed call means and give the exit status for it. */
static int call_error(const char *what, long rc)
{
	printf("slatmon: %s: %s (%ld)%s\n", what, ename(rc), rc, ehint(rc));
	return 1;
}

static int cmd_add(int argc, char **argv)
{
	unsigned int flags = 0;
	u64 v[3] = { 0 }, cpus = 0;
	int npos = 0;
	unsigned long id;
	long rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-p"))
			flags &= ~SLAT_MON_LINEAR;
		else if (!strcmp(argv[i], "-l"))
			flags |= SLAT_MON_LINEAR;
		else if (!strcmp(argv[i], "-f"))
			flags |= SLAT_MON_FIRST_RIP;
		else if (!strcmp(argv[i], "-c")) {
			if (++i == argc || number(argv[i], 16, &cpus))
				return usage();
		} else if (npos == 0 || npos == 1) {
			if (number(argv[i], npos ? 0 : 16, &v[npos]))
				return usage();
			npos++;
		} else if (npos == 2) {
			for (const char *c = argv[i]; *c; c++) {
				if (*c == 'r')
					flags |= SLAT_ACC_R;
				else if (*c == 'w')
					flags |= SLAT_ACC_W;
				else if (*c == 'x')
					flags |= SLAT_ACC_X;
				else
					return usage();
			}
			npos++;
		} else
			return usage();
	}
	if (npos != 3)
		return usage();
	rc = hc(SLAT_HC_MON_ADD, v[0], v[1], flags, cpus, &id);
	if (rc)
		return call_error("add", rc);
	printf("slatmon: monitor %lu added\n", id);
	return 0;
}

static int cmd_del(int argc, char **argv)
{
	u64 id;
	long rc;

	if (argc != 1 || number(argv[0], 10, &id))
		return usage();
	if ((rc = hc(SLAT_HC_MON_DEL, id, 0, 0, 0, NULL)))
		return call_error("del", rc);
	printf("slatmon: monitor %llu deleted\n", id);
	return 0;
}

static int cmd_list(void)
{
	const size_t len = 16 * PG;
	struct slat_mon_info *m = pinned(len, PROT_READ | PROT_WRITE);
	unsigned long n;
	long rc;
	char f[40];

	if (!m)
		return printf("slatmon: cannot map and lock the list buffer\n"), 1;
	if ((rc = hc(SLAT_HC_MON_LIST, (unsigned long)m, len, SLAT_MON_LINEAR, 0, &n)))
		return call_error("list", rc);
	for (unsigned long i = 0; i < n && i < len / sizeof *m; i++) {
		flags_str(m[i].flags, f, sizeof f);
		printf("slatmon: monitor %u %s start %#llx length %#llx first_gpa %#llx cpus %#llx hits %llu\n", m[i].id, f,
		       m[i].start, m[i].length, m[i].first_gpa, m[i].cpus, m[i].hits);
	}
	if (n > len / sizeof *m)
		printf("slatmon: %lu more not shown\n", n - len / sizeof *m);
	printf("slatmon: %lu monitor%s\n", n, n == 1 ? "" : "s");
	return 0;
}

static int cmd_stats(void)
{
	struct slat_mon_stats s;
	long rc;
	unsigned int n;

	if ((rc = get_stats(&s)))
		return call_error("stats", rc);
	printf("slatmon: monitors %llu\nslatmon: events %llu\nslatmon: dropped %llu\nslatmon: violations %llu\n"
	       "slatmon: steps %llu\nslatmon: splits %llu\nslatmon: merges %llu\nslatmon: pool_pages %llu\n"
	       "slatmon: pool_free %llu\nslatmon: shared_pages %llu\nslatmon: shared_before %llu\n"
	       "slatmon: exit_cycles %llu\nslatmon: nr_cpus %u\n",
	       s.monitors, s.events, s.dropped, s.violations, s.steps, s.splits, s.merges, s.pool_pages, s.pool_free,
	       s.shared_pages, s.shared_before, s.exit_cycles, s.nr_cpus);
	n = s.nr_cpus < SLAT_MAX_CPUS ? s.nr_cpus : SLAT_MAX_CPUS;
	for (unsigned int c = 0; c < n; c++)
		printf("slatmon: cpu%u private_pages %llu private_peak %llu violations %llu events %llu\n", c,
		       s.private_pages[c], s.private_peak[c], s.cpu_violations[c], s.cpu_events[c]);
	return 0;
}

static int cmd_rips(int argc, char **argv)
{
	struct slat_rip_count *r = pinned(PG, PROT_READ | PROT_WRITE);
	unsigned long n;
	u64 id;
	long rc;

	if (argc != 1 || number(argv[0], 10, &id))
		return usage();
	if (!r)
		return printf("slatmon: cannot map and lock the buffer\n"), 1;
	if ((rc = hc(SLAT_HC_MON_RIPS, (unsigned long)r, PG, SLAT_MON_LINEAR, id, &n)))
		return call_error("rips", rc);
	for (unsigned long i = 0; i < n && i < PG / sizeof *r; i++)
		printf("slatmon: rip %#llx count %llu\n", r[i].rip, r[i].count);
	printf("slatmon: %lu rip%s\n", n, n == 1 ? "" : "s");
	return 0;
}

static volatile sig_atomic_t stop;
static void on_stop(int sig) { (void)sig; stop = 1; }

static int cmd_events(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	u64 secs = 0, total = 0;
	struct timespec t0, now;
	long rc;

	if (argc == 2 && !strcmp(argv[0], "-n")) {
		if (number(argv[1], 10, &secs))
			return usage();
	} else if (argc)
		return usage();
	/* Stopped by a signal too: the rings must be unregistered before the process goes. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int c = 0; c < ncpus; c++) {
		if (pin(c)) {
			printf("slatmon: cannot run on cpu%d\n", c);
			rc = NO_RING;
		} else if ((rc = ring_register(c)) == NO_RING)
			printf("slatmon: cpu%d: cannot map and lock %d pages for the ring\n", c, RING_PAGES);
		else if (rc)
			printf("slatmon: cpu%d: register a ring: %s (%ld)%s\n", c, ename(rc), rc, ehint(rc));
		if (rc) {
			rings_unregister();
			return 1;
		}
	}
	unpin();
	printf("slatmon: rings on %d CPU%s, %s\n", ncpus, ncpus == 1 ? "" : "s", secs ? "printing records" : "printing records until interrupted");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		for (int c = 0; c < ncpus; c++) {
			size_t n = ring_take(c, ev, sizeof ev / sizeof ev[0]);
			for (size_t i = 0; i < n && i < sizeof ev / sizeof ev[0]; i++) {
				const struct slat_event *e = &ev[i];
				char gla[24] = "-";
				if (e->gla != ~0ULL)
					snprintf(gla, sizeof gla, "%#llx", e->gla);
				printf("slatmon: cpu%u seq %llu tsc %llu monitor %u %c gpa %#llx gla %s rip %#llx cpl %u cr3 %#llx count %llu\n",
				       e->cpu, e->seq, e->tsc, e->monitor, acc_name(e->access), e->gpa, gla, e->rip, e->cpl,
				       e->cr3, e->count);
			}
			if (n > sizeof ev / sizeof ev[0])
				printf("slatmon: cpu%d: %zu records skipped\n", c, n - sizeof ev / sizeof ev[0]);
			total += n;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (secs && (u64)(now.tv_sec - t0.tv_sec) >= secs)
			break;
		usleep(100000);
	}
	for (int c = 0; c < ncpus; c++)
		printf("slatmon: cpu%d dropped %llu\n", c, rings[c].h->dropped);
	printf("slatmon: %llu records\n", total);
	return rings_unregister() ? 1 : 0;
}

int main(int argc, char **argv)
{
	char why[160];

	/* Line-buffered even on a pipe, so each result appears when it is known. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "add") && strcmp(argv[1], "del") && strcmp(argv[1], "list") && strcmp(argv[1], "stats") &&
	    strcmp(argv[1], "rips") && strcmp(argv[1], "events") && strcmp(argv[1], "selftest"))
		return usage();
	if (monitor_offered(why, sizeof why)) {
		printf("slatmon: %s\n", why);
		return 1;
	}
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus < 1 || ncpus > SLAT_MAX_CPUS) {
		printf("slatmon: %d online CPUs, at most %d supported\n", ncpus, SLAT_MAX_CPUS);
		return 1;
	}
	if (!strcmp(argv[1], "selftest"))
		return argc == 2 ? selftest() : usage();
	if (!strcmp(argv[1], "events"))
		return cmd_events(argc - 2, argv + 2);
	if (!(statbuf = pinned(PG, PROT_READ | PROT_WRITE)))
		return printf("slatmon: cannot map and lock a page\n"), 1;
	if (!strcmp(argv[1], "add"))
		return cmd_add(argc - 2, argv + 2);
	if (!strcmp(argv[1], "del"))
		return cmd_del(argc - 2, argv + 2);
	if (!strcmp(argv[1], "rips"))
		return cmd_rips(argc - 2, argv + 2);
	if (argc != 2)
		return usage();
	return !strcmp(argv[1], "list") ? cmd_list() : cmd_stats();
}
