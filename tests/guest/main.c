/*
 * main.c: bring the test guest up, run the probes its command line names, report, power off.
 *
 * Command line (boot_params cmd_line_ptr): test=all, test=NAME[,NAME...] or test=list.
 * Output on COM1, one line per probe: "ok NAME" or "FAIL NAME: what happened", then
 * "test-guest: N passed, N failed". With no test= option it runs them all. With
 * end=triple_fault (no IDT) or end=df_triple_fault (a double fault whose delivery faults)
 * the guest then triple-faults instead of powering off, for the boot tests of what the
 * hypervisor does with a guest that does.
 *
 * test=fuzz runs the seeded fuzzer instead of the probes (test=all does not): seed=S n=N
 * (decimal, 1 and 10000 by default), first=I, skip=KIND[,KIND] and trace=1 (fuzz.c).
 */
#include "guest.h"

#define NPROBES ((unsigned)(__probes_end - __probes_start))
static const struct probe *const probes = __probes_start;

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

/* end=triple_fault: no IDT at all. end=df_triple_fault: a #DF whose own delivery faults. */
static enum { END_POWER_OFF, END_NO_IDT, END_DF_FAULTS } end_how;

/* The value of option @opt ("name=") in @cmd (NULL if absent), its length in @len. */
static const char *find_option(const char *cmd, const char *opt, size_t *len)
{
	size_t n = strlen(opt);
	while (cmd && *cmd) {
		while (*cmd == ' ')
			cmd++;
		const char *w = cmd;
		while (*cmd && *cmd != ' ')
			cmd++;
		if ((size_t)(cmd - w) >= n && !memcmp(w, opt, n)) {
			*len = (size_t)(cmd - w) - n;
			return w + n;
		}
	}
	return NULL;
}

static const char *cmdline = "";

bool guest_option_is(const char *opt, const char *value)
{
	size_t len;
	const char *v = find_option(cmdline, opt, &len);
	return v && word_is(v, len, value);
}

/* Decimal option @opt as a number, @def when absent; false (with a FAIL line) when malformed. */
static bool number_option(const char *cmd, const char *opt, u64 def, u64 *out)
{
	size_t len;
	const char *v = find_option(cmd, opt, &len);
	*out = def;
	if (!v)
		return true;
	u64 n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (~0ULL - 9) / 10) {
			kprintf("FAIL fuzz: option %s wants a decimal number\n", opt);
			return false;
		}
		n = n * 10 + (u64)(v[i] - '0');
	}
	*out = len ? n : def;
	return true;
}

/* test=fuzz: the options, the run, the summary (one test: passed or failed). */
static _Noreturn void run_fuzz(const char *cmd)
{
	u64 seed = 1, n = 0, trace = 0;
	bool ok = number_option(cmd, "seed=", 1, &seed) && number_option(cmd, "n=", 10000, &n) &&
		  number_option(cmd, "first=", 0, &fuzz_opt.first) && number_option(cmd, "trace=", 0, &trace);
	fuzz_opt.trace = trace != 0;
	size_t len = 0;
	const char *skip = find_option(cmd, "skip=", &len);
	for (const char *p = skip, *end = skip + len; ok && skip && p < end;) {
		const char *q = p;
		while (q < end && *q != ',')
			q++;
		u32 bit = fuzz_kind_bit(p, (size_t)(q - p));
		if (!bit) {
			kprintf("FAIL fuzz: skip=: no such kind of operation\n");
			ok = false;
		}
		fuzz_opt.skip |= bit;
		p = q + 1;
	}
	ok = ok && fuzz_run(seed, n);
	guest_finish(ok ? 1 : 0, ok ? 0 : 1);
}

_Noreturn void guest_finish(unsigned passed, unsigned failed)
{
	kprintf("test-guest: %u passed, %u failed\n", passed, failed);
	if (end_how == END_NO_IDT) {
		/* No IDT: INT3 cannot be delivered, nor the #GP, nor the #DF (SDM Vol. 3A, "Double Fault Exception"). */
		kprintf("test-guest: ending with a triple fault\n");
		static const struct {
			u16 limit;
			u64 base;
		} __attribute__((packed)) no_idt = { 0, 0 };
		__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
	}
	if (end_how == END_DF_FAULTS) {
		/* A push onto an unmapped stack: #PF, then #PF delivering it (#DF), then #PF delivering that. */
		kprintf("test-guest: ending with a double fault that faults\n");
		tss_drop_df_stack();
		__asm__ volatile("mov %0, %%rsp; push %%rax" : : "r"(UNMAPPED_ADDR) : "memory");
	}
	acpi_power_off(&acpi);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_main(const u8 *bp)
{
	guest_boot_params = bp;
	serial_init();
	idt_init();
	tss_init();
	paging_init();
	u64 cmd_addr = *(const u32 *)(bp + BP_CMD_LINE_PTR) | (u64) * (const u32 *)(bp + BP_EXT_CMD_LINE_PTR) << 32;
	const char *cmd = cmd_addr ? (const char *)(uintptr_t)cmd_addr : "";
	cmdline = cmd;
	kprintf("test-guest: command line \"%s\"\n", cmd);
	acpi_init(bp, &acpi);
	kprintf("test-guest: PM1a_CNT 0x%x, S5 sleep type %u, %u CPUs in the MADT\n", acpi.pm1a_cnt,
		acpi.s5_type, cpus.n);

	size_t len = 0;
	const char *then = find_option(cmd, "end=", &len);
	if (then && word_is(then, len, "triple_fault"))
		end_how = END_NO_IDT;
	else if (then && word_is(then, len, "df_triple_fault"))
		end_how = END_DF_FAULTS;
	const char *sel = find_option(cmd, "test=", &len);
	if (!sel) {
		sel = "all";
		len = 3;
	}
	if (word_is(sel, len, "fuzz"))
		run_fuzz(cmd);
	if (word_is(sel, len, "list")) {
		for (unsigned i = 0; i < NPROBES; i++)
			kprintf("test %s%s\n", probes[i].name, probes[i].named_only ? " (only when named)" : "");
		guest_finish(0, 0);
	}

	unsigned passed = 0, failed = 0;
	bool all = word_is(sel, len, "all");
	/* Names that match no probe are failures, so a typo cannot pass as an empty run. */
	for (const char *p = sel, *end = sel + len; !all && p < end;) {
		const char *q = p;
		while (q < end && *q != ',')
			q++;
		bool known = false;
		for (unsigned i = 0; i < NPROBES; i++)
			known |= word_is(p, (size_t)(q - p), probes[i].name);
		if (!known) {
			char name[64];
			size_t n = (size_t)(q - p) < sizeof(name) - 1 ? (size_t)(q - p) : sizeof(name) - 1;
			memcpy(name, p, n);
			name[n] = 0;
			kprintf("FAIL %s: no such test (test=list names them)\n", name);
			failed++;
		}
		p = q + 1;
	}
	for (unsigned i = 0; i < NPROBES; i++) {
		bool chosen = all && !probes[i].named_only;
		for (const char *p = sel, *end = sel + len; !chosen && p < end;) {
			const char *q = p;
			while (q < end && *q != ',')
				q++;
			chosen = word_is(p, (size_t)(q - p), probes[i].name);
			p = q + 1;
		}
		if (!chosen)
			continue;
		const char *why = probes[i].fn();
		if (why) {
			kprintf("FAIL %s: %s\n", probes[i].name, why);
			failed++;
		} else {
			kprintf("ok %s\n", probes[i].name);
			passed++;
		}
	}
	guest_finish(passed, failed);
}
