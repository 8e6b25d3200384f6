/* memcheck: guest memory-integrity checks (copy-on-write, protections, unmaps, remaps, huge pages, threads) that stress slatvisor's shadow page tables. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "checks.h"

/*
 * usage: memcheck [--scale N]
 * Every check changes the guest's page tables in a way the hypervisor must
 * follow (a write-protect, an unmap, a move, a huge-page split, an unmap on
 * another CPU) and then looks at the memory through the changed mapping: a
 * stale or wrong shadow entry shows up as a wrong word or a missing fault.
 * N multiplies the rounds of the repeated checks; 1 suits an emulator.
 */

#define HUGE_SIZE (2UL << 20)	/* one x86-64 huge page (a 2 MiB PD leaf) */

static size_t pg;		/* the page size */
static long scale = 1;
static const char *current;	/* the check under way */
static pid_t memcheck_pid;	/* forked children never print */

static void *map(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- patterns ---- */

static uint64_t seed3(int tag, uint64_t a, uint64_t b)
{
	return ((uint64_t)tag << 56) ^ (a << 28) ^ b;
}

/*
 * Word i of a region filled with seed. Seed and index are mixed so that a
 * page from another region, or from another offset of this one, does not
 * match; never zero, so a freshly zeroed page mapped in by mistake cannot
 * pass either.
 */
static inline uint64_t pat(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0xd6e8feb86659fd93ULL ^ i * 0x9e3779b97f4a7c15ULL;
	return (x ^ (x >> 32)) | 1;
}

/* Volatile accesses: the compiler must not prove a check true from the fill just before it. */
static void fill(void *base, size_t off, size_t len, uint64_t seed)
{
	volatile uint64_t *w = base;
	for (size_t i = off / 8; i < (off + len) / 8; i++)
		w[i] = pat(seed, i);
}

/* The byte offset of the first word of base[off, off+len) that is not seed's pattern, or -1. */
static long check(const void *base, size_t off, size_t len, uint64_t seed)
{
	const volatile uint64_t *w = base;
	for (size_t i = off / 8; i < (off + len) / 8; i++)
		if (w[i] != pat(seed, i))
			return (long)(i * 8);
	return -1;
}

static long check_zero(const void *p, size_t len)
{
	const volatile uint64_t *w = p;
	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return (long)(i * 8);
	return -1;
}

/* ---- catching the faults that must happen ---- */

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probing;
static void *volatile fault_addr;
static volatile int fault_sig, fault_code;

/*
 * A fault nobody expected ends the run: the check under way fails and the
 * rest would start from state it left half done. (snprintf is not on the
 * async-signal-safe list, but nothing else runs in this process any more.)
 * A forked child dies by the signal instead, and its parent reports that.
 */
static void unexpected(int sig, siginfo_t *si)
{
	char line[200];
	ssize_t r;
	int n;

	if (getpid() != memcheck_pid) {
		signal(sig, SIG_DFL);
		return;		/* the access repeats and the signal kills the child */
	}
	n = snprintf(line, sizeof line, "memcheck: %s FAIL unexpected %s at %p\nmemcheck: %d ok, %d FAIL\n",
		     current, sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", si->si_addr, n_ok, n_fail + 1);
	r = write(STDOUT_FILENO, line, (size_t)n);
	(void)r;
	_exit(1);
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (!probing) {
		unexpected(sig, si);
		return;
	}
	probing = 0;
	fault_addr = si->si_addr;
	fault_sig = sig;
	fault_code = si->si_code;
	siglongjmp(probe_jmp, 1);
}

/* Reads, or writes v to, the byte at p: 1 if that raised a fault signal, 0 if not. */
static int faults(volatile char *p, int write, char v)
{
	if (sigsetjmp(probe_jmp, 1))
		return 1;
	probing = 1;
	if (write)
		*p = v;
	else
		(void)*p;
	probing = 0;
	return 0;
}

/* The access must fault at exactly p, for the reason the kernel's mappings give (si_code). */
static int expect_fault(const char *what, char *p, int write, int code)
{
	if (!faults(p, write, 0x5a))
		return fail("%s: no fault", what);
	if (fault_sig != SIGSEGV)
		return fail("%s: SIGBUS, not SIGSEGV", what);
	if ((uintptr_t)fault_addr != (uintptr_t)p)
		return fail("%s: fault at %p, not %p", what, fault_addr, (void *)p);
	if (fault_code != code)
		return fail("%s: si_code %d, not %d", what, fault_code, code);
	return 0;
}

/* The byte at p must take a write and read it back; its old value is put back. */
static int expect_writable(const char *what, char *p)
{
	char old = *(volatile char *)p;
	if (faults(p, 1, (char)~old))
		return fail("%s: write faults", what);
	if (*(volatile char *)p != (char)~old)
		return fail("%s: write lost", what);
	*(volatile char *)p = old;
	return 0;
}

/* ---- fork-cow ---- */

enum { COW_PAGES = 10 };
/* Who writes each page after the fork: the child, the parent, both, or neither. */
static const char cow_writer[COW_PAGES + 1] = "cccpppbbnn";

static uint64_t cow_seed(int side, long round, int page)
{
	int w = cow_writer[page];
	return seed3(w == side || w == 'b' ? side : 'o', (uint64_t)round, (uint64_t)page);
}

/* The first page of buf that side ('p' or 'c', or 'o' before anyone wrote) does not see as its own, or -1. */
static int cow_verify(const char *buf, int side, long round)
{
	for (int i = 0; i < COW_PAGES; i++)
		if (check(buf, i * pg, pg, side == 'o' ? seed3('o', round, i) : cow_seed(side, round, i)) >= 0)
			return i;
	return -1;
}

static void cow_write(char *buf, int side, long round)
{
	for (int i = 0; i < COW_PAGES; i++)
		if (cow_writer[i] == side || cow_writer[i] == 'b')
			fill(buf, i * pg, pg, cow_seed(side, round, i));
}

static int send(int fd) { return write(fd, "k", 1) == 1 ? 0 : -1; }
static int wait_for(int fd) { char c; return read(fd, &c, 1) == 1 ? 0 : -1; }

/*
 * The child's half; its exit status is the verdict: 0, 1 (pipe), 10+page
 * (wrong before its writes), 30+page (wrong after both sides wrote).
 */
static int cow_child(char *buf, long round, int to_parent, int from_parent)
{
	int bad;

	/* Read every page first, so the shared frames are mapped read-only before the writes break the sharing. */
	if ((bad = cow_verify(buf, 'o', round)) >= 0)
		return 10 + bad;
	cow_write(buf, 'c', round);
	if (send(to_parent) || wait_for(from_parent))
		return 1;	/* end-of-file too: the parent failed and does not want the rest */
	if ((bad = cow_verify(buf, 'c', round)) >= 0)
		return 30 + bad;
	return 0;
}

static int fork_cow_round(long round)
{
	char *buf = map(COW_PAGES * pg, MAP_PRIVATE);
	int to_parent[2], to_child[2], st, bad, rc = 0;
	pid_t pid;

	if (!buf || pipe(to_parent) || pipe(to_child))
		return fail("setup");
	/* Filled before the fork: the parent's mappings are writable until the fork write-protects them. */
	for (int i = 0; i < COW_PAGES; i++)
		fill(buf, i * pg, pg, seed3('o', round, i));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		close(to_parent[0]);
		close(to_child[1]);
		_exit(cow_child(buf, round, to_parent[1], to_child[0]));
	}
	/* Only the child keeps these ends: if it stops early, the parent reads end-of-file instead of waiting. */
	close(to_parent[1]);
	close(to_child[0]);

	if (wait_for(to_parent[0]))
		rc = fail("pipe from child");
	else if ((bad = cow_verify(buf, 'o', round)) >= 0)
		rc = fail("parent page %d wrong after the child wrote", bad);
	else {
		cow_write(buf, 'p', round);
		if ((bad = cow_verify(buf, 'p', round)) >= 0)
			rc = fail("parent page %d wrong after its writes", bad);
	}
	if (!rc)
		send(to_child[1]);
	close(to_child[1]);	/* after a failure, end-of-file tells the child to stop */
	close(to_parent[0]);
	if (waitpid(pid, &st, 0) != pid)
		return fail("waitpid");
	/* The child's own verdict first: a failing child also makes the parent's pipe read fail. */
	if (WIFSIGNALED(st))
		rc = fail("child killed by signal %d", WTERMSIG(st));
	else if (WEXITSTATUS(st) >= 30)
		rc = fail("child page %d wrong after both wrote", WEXITSTATUS(st) - 30);
	else if (WEXITSTATUS(st) >= 10)
		rc = fail("child page %d wrong after fork", WEXITSTATUS(st) - 10);
	else if (!rc && WEXITSTATUS(st))
		rc = fail("child pipe error");
	/* The child's exit freed its copies: the parent's pages must not have changed with it. */
	if (!rc && (bad = cow_verify(buf, 'p', round)) >= 0)
		rc = fail("parent page %d wrong after the child exited", bad);
	munmap(buf, COW_PAGES * pg);
	return rc;
}

static int check_fork_cow(void)
{
	for (long r = 0; r < 4 * scale; r++)
		if (fork_cow_round(r))
			return -1;
	return 0;
}

/* ---- mprotect-fault ---- */

static int check_mprotect_fault(void)
{
	char *p = map(2 * pg, MAP_PRIVATE);
	uint64_t s0 = seed3('m', 0, 0), s1 = seed3('m', 1, 0);

	if (!p)
		return fail("mmap");
	/* Written before each change, so a writable translation exists that the change must revoke. */
	fill(p, 0, 2 * pg, s0);
	if (mprotect(p, pg, PROT_READ))
		return fail("mprotect PROT_READ");
	if (check(p, 0, pg, s0) >= 0)
		return fail("read-only page reads wrong");
	if (expect_fault("write to PROT_READ", p + 123, 1, SEGV_ACCERR))
		return -1;
	if (check(p, 0, 2 * pg, s0) >= 0)
		return fail("faulting write changed memory");
	if (expect_writable("page after the read-only one", p + pg + 8))
		return -1;
	if (mprotect(p, pg, PROT_READ | PROT_WRITE))
		return fail("mprotect back to RW");
	if (expect_writable("write after restoring RW", p + 123))
		return -1;
	fill(p, 0, pg, s1);
	if (mprotect(p, pg, PROT_NONE))
		return fail("mprotect PROT_NONE");
	if (expect_fault("read of PROT_NONE", p + 77, 0, SEGV_ACCERR) ||
	    expect_fault("write to PROT_NONE", p + 78, 1, SEGV_ACCERR))
		return -1;
	if (mprotect(p, pg, PROT_READ | PROT_WRITE))
		return fail("mprotect back to RW");
	if (check(p, 0, pg, s1) >= 0 || check(p, pg, pg, s0) >= 0)
		return fail("contents changed across PROT_NONE");
	munmap(p, 2 * pg);
	return 0;
}

/* ---- munmap-fault ---- */

static int check_munmap_fault(void)
{
	char *p = map(3 * pg, MAP_PRIVATE);
	uint64_t s = seed3('u', 0, 0);

	if (!p)
		return fail("mmap");
	fill(p, 0, 3 * pg, s);
	if (munmap(p + pg, pg))
		return fail("munmap");
	if (expect_fault("read of unmapped page", p + pg + 100, 0, SEGV_MAPERR) ||
	    expect_fault("write to unmapped page", p + 2 * pg - 8, 1, SEGV_MAPERR))
		return -1;
	if (check(p, 0, pg, s) >= 0 || check(p, 2 * pg, pg, s) >= 0)
		return fail("neighbouring pages changed");
	munmap(p, pg);
	munmap(p + 2 * pg, pg);
	return 0;
}

/* ---- mremap ---- */

static int check_mremap(void)
{
	const size_t old = 16 * pg, grown = 64 * pg;
	uint64_t s = seed3('r', 0, 0), sb = seed3('r', 1, 0), sg = seed3('r', 2, 0);
	char *p = map(old + pg, MAP_PRIVATE), *q;

	if (!p)
		return fail("mmap");
	fill(p, 0, old + pg, s);
	/* The page after the region, made a mapping of its own: the region cannot grow in place and must move. */
	fill(p, old, pg, sb);
	if (mprotect(p + old, pg, PROT_READ))
		return fail("mprotect blocker");
	q = mremap(p, old, grown, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return fail("mremap");
	if (q == p)
		return fail("did not move");
	if (check(q, 0, old, s) >= 0)
		return fail("moved contents wrong at +0x%lx", check(q, 0, old, s));
	if (check_zero(q + old, grown - old) >= 0)
		return fail("grown part not zero");
	if (expect_fault("old first page", p, 0, SEGV_MAPERR) ||
	    expect_fault("old middle page", p + old / 2 + 8, 0, SEGV_MAPERR) ||
	    expect_fault("old last byte", p + old - 1, 0, SEGV_MAPERR))
		return -1;
	if (check(p, old, pg, sb) >= 0)
		return fail("blocker page changed");
	fill(q, old, grown - old, sg);
	if (check(q, old, grown - old, sg) >= 0 || check(q, 0, old, s) >= 0)
		return fail("writes to the grown part");
	munmap(q, grown);
	munmap(p + old, pg);
	return 0;
}

/* ---- madv-dontneed ---- */

static int check_madv_dontneed(void)
{
	const size_t len = 16 * pg;
	uint64_t s = seed3('d', 0, 0), s2 = seed3('d', 1, 0);
	char *p = map(len, MAP_PRIVATE);

	if (!p)
		return fail("mmap");
	fill(p, 0, len, s);
	if (madvise(p + len / 2, len / 2, MADV_DONTNEED))
		return fail("madvise");
	if (check(p, 0, len / 2, s) >= 0)
		return fail("half not advised changed");
	if (check_zero(p + len / 2, len / 2) >= 0)
		return fail("advised half not zero");
	if (madvise(p, len, MADV_DONTNEED))
		return fail("madvise");
	if (check_zero(p, len) >= 0)
		return fail("not zero after the second madvise");
	fill(p, 0, len, s2);
	if (check(p, 0, len, s2) >= 0)
		return fail("refill reads wrong");
	munmap(p, len);
	return 0;
}

/* ---- shared ---- */

enum { SHARED_PAGES = 4 };

/* The child's half of check_shared: in each round, check the parent's page, then overwrite it. */
static int shared_child(char *buf, long rounds, int to_parent, int from_parent)
{
	for (long r = 0; r < rounds; r++) {
		size_t off = (size_t)(r % SHARED_PAGES) * pg;
		if (wait_for(from_parent))
			return 1;
		if (check(buf, off, pg, seed3('P', r, 0)) >= 0)
			return 2;
		fill(buf, off, pg, seed3('C', r, 0));
		if (send(to_parent))
			return 1;
	}
	return 0;
}

static int check_shared(void)
{
	const long rounds = 8 * scale;
	char *buf = map(SHARED_PAGES * pg, MAP_SHARED);
	int to_parent[2], to_child[2], st, rc = 0;
	pid_t pid;

	if (!buf || pipe(to_parent) || pipe(to_child))
		return fail("setup");
	/* Touched before the fork: both sides then start with the page mapped. */
	memset(buf, 0, SHARED_PAGES * pg);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		close(to_parent[0]);
		close(to_child[1]);
		_exit(shared_child(buf, rounds, to_parent[1], to_child[0]));
	}
	close(to_parent[1]);
	close(to_child[0]);
	for (long r = 0; r < rounds && !rc; r++) {
		size_t off = (size_t)(r % SHARED_PAGES) * pg;
		fill(buf, off, pg, seed3('P', r, 0));
		if (send(to_child[1]) || wait_for(to_parent[0]))
			rc = fail("child did not answer round %ld", r);
		else if (check(buf, off, pg, seed3('C', r, 0)) >= 0)
			rc = fail("parent does not see the child's write, round %ld", r);
	}
	close(to_child[1]);	/* a child still waiting then reads end-of-file and exits */
	close(to_parent[0]);
	if (waitpid(pid, &st, 0) != pid)
		return fail("waitpid");
	/* The child's verdict first: a failing child also makes the parent's pipe read fail. */
	if (WIFSIGNALED(st))
		rc = fail("child killed by signal %d", WTERMSIG(st));
	else if (WEXITSTATUS(st) == 2)
		rc = fail("child does not see the parent's write");
	munmap(buf, SHARED_PAGES * pg);
	return rc;
}

/* ---- thp ---- */

/* The AnonHugePages kB of the mappings overlapping [p, p+len), from /proc/self/smaps; -1 if unreadable. */
static long anon_huge_kb(const char *p, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	unsigned long start, end, kb;
	long total = 0;
	int in = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		/* Field lines never parse as "hex-hex": "AnonHugePages:" stops after the 'A'. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start < (uintptr_t)p + len && end > (uintptr_t)p;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			total += (long)kb;
	}
	fclose(f);
	return total;
}

/* Whether the kernel offers this process transparent huge pages: not turned off by prctl, built in, not "never". */
static int thp_offered(void)
{
	char line[128] = "";
	FILE *f;

	if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1)
		return 0;
	if (!(f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r")))
		return 0;
	if (!fgets(line, sizeof line, f))
		line[0] = 0;
	fclose(f);
	return line[0] && !strstr(line, "[never]");
}

static int check_thp(void)
{
	const size_t len = 2 * HUGE_SIZE;
	uint64_t s = seed3('h', 0, 0);
	char *raw = map(len + HUGE_SIZE, MAP_PRIVATE), *p, *ro, *gone;
	long kb;

	if (!raw)
		return fail("mmap");
	/* Only a 2 MiB-aligned range can hold huge pages: keep the aligned part, give back the rest. */
	p = (char *)(((uintptr_t)raw + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + len + HUGE_SIZE > p + len)
		munmap(p + len, (size_t)(raw + len + HUGE_SIZE - (p + len)));
	madvise(p, len, MADV_HUGEPAGE);	/* fails where THP is not built in: the split checks still run */
	fill(p, 0, len, s);
	kb = anon_huge_kb(p, len);
	if (kb < 0)
		return fail("cannot read /proc/self/smaps");
	if (check(p, 0, len, s) >= 0)
		return fail("pattern wrong at +0x%lx before the split", check(p, 0, len, s));

	/* One page in each 2 MiB half: both huge pages must be split into 4 KiB mappings. */
	ro = p + HUGE_SIZE / 2;
	gone = p + HUGE_SIZE + HUGE_SIZE / 2;
	if (mprotect(ro, pg, PROT_READ))
		return fail("mprotect");
	if (munmap(gone, pg))
		return fail("munmap");
	if (check(p, 0, (size_t)(gone - p), s) >= 0)
		return fail("pattern wrong at +0x%lx after the split", check(p, 0, (size_t)(gone - p), s));
	if (check(p, (size_t)(gone - p) + pg, len - (size_t)(gone - p) - pg, s) >= 0)
		return fail("pattern wrong after the unmapped page");
	if (expect_fault("write to the read-only page", ro + 64, 1, SEGV_ACCERR) ||
	    expect_fault("read of the unmapped page", gone + 64, 0, SEGV_MAPERR) ||
	    expect_writable("page before the read-only one", ro - 8) ||
	    expect_writable("page after the read-only one", ro + pg) ||
	    expect_writable("page after the unmapped one", gone + pg))
		return -1;
	if (check(p, (size_t)(ro - p) - pg, 3 * pg, s) >= 0)
		return fail("pattern changed by the fault checks");
	munmap(p, len);
	if (kb > 0)
		snprintf(detail, sizeof detail, "(%ld kB huge, split checked)", kb);
	else if (!thp_offered())
		snprintf(detail, sizeof detail, "(0 kB huge: THP not available)");
	else
		snprintf(detail, sizeof detail, "(0 kB huge: THP enabled but none given)");
	return 0;
}

/* ---- threads-mmap ---- */

enum { COMMON_PAGES = 16 };

struct worker {
	pthread_t tid;
	int cpu, idx;
	char why[96];		/* empty while all is well */
};

static char *common;		/* filled before the threads start; only ever read after */
static atomic_int go, running;
static long worker_iters;

static uint64_t common_seed(void) { return seed3('s', 0, 0); }

/*
 * Each iteration maps a fresh range, which the kernel will often place where
 * another CPU just unmapped one: a translation left over from that range
 * would show the other thread's pattern (or its page) instead of this one's.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	int e;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if ((e = pthread_setaffinity_np(pthread_self(), sizeof set, &set)))
		snprintf(w->why, sizeof w->why, "cannot pin a thread to cpu%d: %s", w->cpu, strerror(e));
	while (!atomic_load(&go))
		sched_yield();
	for (long i = 0; i < worker_iters && !w->why[0]; i++) {
		size_t len = (size_t)(1 + (i + w->idx) % 4) * pg, c = (size_t)(i + w->idx) % COMMON_PAGES * pg;
		uint64_t s = seed3('t', (uint64_t)w->idx, (uint64_t)i);
		char *p = map(len, MAP_PRIVATE);
		if (!p) {
			snprintf(w->why, sizeof w->why, "cpu%d: mmap", w->cpu);
			break;
		}
		fill(p, 0, len, s);
		if (check(p, 0, len, s) >= 0)
			snprintf(w->why, sizeof w->why, "cpu%d iteration %ld: own pages wrong", w->cpu, i);
		else if (check(common, c, pg, common_seed()) >= 0)
			snprintf(w->why, sizeof w->why, "cpu%d: shared buffer corrupted", w->cpu);
		if (munmap(p, len) && !w->why[0])
			snprintf(w->why, sizeof w->why, "cpu%d: munmap", w->cpu);
	}
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static int check_threads_mmap(void)
{
	cpu_set_t set;
	int ncpu, n = 0, rc = 0;
	struct worker *w;

	if (sched_getaffinity(0, sizeof set, &set))
		return fail("sched_getaffinity");
	ncpu = CPU_COUNT(&set);
	if (ncpu < 1 || !(w = calloc((size_t)ncpu, sizeof *w)) || !(common = map(COMMON_PAGES * pg, MAP_PRIVATE)))
		return fail("setup");
	fill(common, 0, COMMON_PAGES * pg, common_seed());
	worker_iters = 64 * scale;
	atomic_store(&go, 0);
	atomic_store(&running, ncpu);
	/* One thread per CPU this process may run on, so every vCPU maps and unmaps in the same address space. */
	for (int cpu = 0; cpu < CPU_SETSIZE && n < ncpu; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		w[n].cpu = cpu;
		w[n].idx = n;
		if (pthread_create(&w[n].tid, NULL, worker_main, &w[n])) {
			rc = fail("pthread_create");
			atomic_fetch_sub(&running, ncpu - n);
			break;
		}
		n++;
	}
	atomic_store(&go, 1);
	/* Meanwhile this thread keeps reading the whole shared buffer (yielding, for the single-CPU case). */
	while (atomic_load(&running) > 0) {
		if (!rc && check(common, 0, COMMON_PAGES * pg, common_seed()) >= 0)
			rc = fail("shared buffer corrupted (main thread)");
		sched_yield();
	}
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		if (!rc && w[i].why[0])
			rc = fail("%s", w[i].why);
	}
	if (!rc && check(common, 0, COMMON_PAGES * pg, common_seed()) >= 0)
		rc = fail("shared buffer corrupted");
	if (!rc)
		snprintf(detail, sizeof detail, "(%d thread%s)", n, n == 1 ? "" : "s");
	munmap(common, COMMON_PAGES * pg);
	free(w);
	return rc;
}

/* ---- the checks, in order ---- */

static const struct check checks[] = {
	{ "fork-cow", check_fork_cow },
	{ "mprotect-fault", check_mprotect_fault },
	{ "munmap-fault", check_munmap_fault },
	{ "mremap", check_mremap },
	{ "madv-dontneed", check_madv_dontneed },
	{ "shared", check_shared },
	{ "thp", check_thp },
	{ "threads-mmap", check_threads_mmap },
};

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	int usage = argc != 1;
	char *end;

	if (argc == 3 && !strcmp(argv[1], "--scale")) {
		scale = strtol(argv[2], &end, 10);
		usage = !*argv[2] || *end || scale < 1 || scale > 1000;
	}
	if (usage) {
		fprintf(stderr, "usage: memcheck [--scale N]   (N from 1 to 1000)\n");
		return 2;
	}
	/* Line-buffered even on a pipe, so each result appears when it is known and forks never repeat it. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	pg = (size_t)sysconf(_SC_PAGESIZE);
	memcheck_pid = getpid();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGBUS, &sa, NULL)) {
		perror("memcheck: sigaction");
		return 1;
	}
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		current = checks[i].name;
		detail[0] = 0;
		if (checks[i].fn() == 0) {
			n_ok++;
			printf("memcheck: %s ok%s%s\n", current, detail[0] ? " " : "", detail);
		} else {
			n_fail++;
			printf("memcheck: %s FAIL %s\n", current, detail);
		}
	}
	printf("memcheck: %d ok, %d FAIL\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
