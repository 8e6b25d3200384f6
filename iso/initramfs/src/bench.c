/*
 * bench: guest-timed microbenchmarks (system calls, pipes, fork+exec, page faults) and a build
 * (make with tcc, the seed workload's kind) for comparing slatvisor's paging modes with no hypervisor.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define EXIT_ARG "--exit-now"	/* forkexec re-executes this binary with it as the trivial program */

static int fail(const char *why)
{
	printf("bench: FAIL %s\n", why);
	return -1;
}

/* Every test returns 0, or -1 after printing the failure. */
static int t_getppid(long n)
{
	/* Direct syscall: libc could otherwise answer from a cache without entering the kernel. */
	for (long i = 0; i < n; i++)
		if (syscall(SYS_getppid) < 0)
			return fail("getppid");
	return 0;
}

static int t_pipe(long n)
{
	int to[2], from[2], st;
	char c = 'x';
	pid_t pid;

	if (pipe(to) || pipe(from))
		return fail("pipe");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {		/* echo each byte back */
		for (long i = 0; i < n; i++)
			if (read(to[0], &c, 1) != 1 || write(from[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	for (long i = 0; i < n; i++)
		if (write(to[1], &c, 1) != 1 || read(from[0], &c, 1) != 1)
			return fail("pipe round trip");
	close(to[0]); close(to[1]); close(from[0]); close(from[1]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("pipe child");
	return 0;
}

static int t_forkexec(long n)
{
	char *argv[] = { "bench", EXIT_ARG, NULL }, *envp[] = { NULL };
	int st;

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return fail("fork");
		if (pid == 0) {
			execve("/proc/self/exe", argv, envp);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return fail("execve /proc/self/exe");
	}
	return 0;
}

static int t_mmap(long n)
{
	const size_t len = 1 << 20;

	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return fail("mmap");
		/* One write per page so every page takes a fault (and, under a hypervisor, a fresh EPT walk). */
		for (size_t off = 0; off < len; off += 4096)
			((volatile char *)p)[off] = 1;
		if (munmap(p, len))
			return fail("munmap");
	}
	return 0;
}

#define PTLAB_SRC "/usr/src/ptlab"
#define PTLAB_DIR "/tmp/ptlab"

/* A clean build of ptlab (12 C files) with make -jN, N the CPUs online; n builds in a row. */
static int t_build(long n)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf " PTLAB_DIR " && cp -r " PTLAB_SRC " " PTLAB_DIR
		 " && make -s -C " PTLAB_DIR " -j%ld", sysconf(_SC_NPROCESSORS_ONLN));
	for (long i = 0; i < n; i++)
		if (system(cmd))
			return fail("build: make");
	return 0;
}

/* Untimed: the program the guest built must print what the host's gcc build printed. */
static int check_build(void)
{
	if (system("cd " PTLAB_DIR " && ./ptlab | cmp -s - expected"))
		return fail("build: ptlab built in the guest prints other results than the host build");
	return 0;
}

static const struct test {
	const char *name;
	int (*fn)(long);
	long n;
	int (*check)(void);	/* after the timed part, if not NULL */
} tests[] = {
	{ "getppid", t_getppid, 20000, NULL },
	{ "pipe", t_pipe, 2000, NULL },
	{ "forkexec", t_forkexec, 100, NULL },
	{ "mmap", t_mmap, 50, NULL },
	{ "build", t_build, 2, check_build },
};
#define NTESTS (int)(sizeof(tests) / sizeof(tests[0]))

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Under slatvisor, CPUID leaf 0x40000001 returns the VM exits taken so far
 * by all vCPUs (EAX low, EBX high). Elsewhere the count is unknown: -1.
 */
static long long hv_exits(void)
{
	unsigned a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 31)))
		return -1;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
	if (b != 0x74616c73 /* "slat" */ || a < 0x40000001)
		return -1;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000001), "c"(0));
	return ((long long)b << 32) | a;
}

static int run(const struct test *t, int quick)
{
	long n = !quick ? t->n : t->n >= 10 ? t->n / 10 : 1;
	long long e0 = hv_exits();
	double t0 = now(), s;

	if (t->fn(n))
		return -1;
	s = now() - t0;
	long long e1 = hv_exits();
	printf("bench: %s n=%ld seconds=%.6f us_per_op=%.3f", t->name, n, s, s * 1e6 / n);
	/* The second reading costs three exits of its own (its CPUIDs): leave them out. */
	if (e0 >= 0 && e1 >= 0)
		printf(" exits=%lld exits_per_op=%.4f", e1 - e0 - 3, (double)(e1 - e0 - 3) / n);
	printf("\n");
	return t->check ? t->check() : 0;
}

int main(int argc, char **argv)
{
	int quick = 0, named = 0, rc = 0;

	if (argc == 2 && !strcmp(argv[1], EXIT_ARG))
		return 0;
	/* Line-buffered even on a pipe, so results appear as they happen and forks never duplicate them. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else
			named++;
	}
	/* Check every name first so a typo fails before any test runs. */
	for (int i = 1; i < argc; i++) {
		int j = 0;
		if (!strcmp(argv[i], "--quick"))
			continue;
		while (j < NTESTS && strcmp(argv[i], tests[j].name))
			j++;
		if (j == NTESTS) {
			printf("bench: FAIL unknown test %s (usage: bench [--quick] [getppid|pipe|forkexec|mmap|build]...)\n", argv[i]);
			return 2;
		}
	}
	for (int j = 0; j < NTESTS && !rc; j++) {
		int want = !named;
		for (int i = 1; i < argc; i++)
			want |= !strcmp(argv[i], tests[j].name);
		if (want && run(&tests[j], quick))
			rc = 1;
	}
	if (!rc)
		puts("bench: done");
	return rc;
}
