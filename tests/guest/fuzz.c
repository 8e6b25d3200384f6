/*
 * fuzz.c: the seeded fuzzer's driver (test=fuzz seed=S n=N). Operation i picks one kind
 * uniformly, then the kind's file turns FZ_WORDS random words into an operation and runs it
 * under fault_call. The driver counts operations by kind and faults by vector, and stops at
 * the first impossible result: a vector the operation cannot architecturally raise, or what
 * the operation itself found wrong (a value not restored, an interrupt not delivered).
 */
#include "fuzz.h"

/* splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators"). */
#define SPLITMIX_GAMMA 0x9E3779B97F4A7C15ULL
#define DRAWS_PER_OP (1 + FZ_WORDS)
#define PROGRESS_EVERY 10000

static u64 sm_state;

static u64 splitmix64(void)
{
	u64 z = (sm_state += SPLITMIX_GAMMA);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static const struct {
	const char *name;
	void (*run)(const u64 *w, struct fz_out *o);
} kinds[] = {
	{ "msr_read", fz_msr_read }, { "msr_write", fz_msr_write }, { "cr", fz_cr },
	{ "cpuid", fz_cpuid },       { "io", fz_io },               { "tlb", fz_tlb },
	{ "pt", fz_pt },             { "vmx", fz_vmx },             { "apic", fz_apic },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct fuzz_options fuzz_opt;
struct fz_machine fz_mach;

static u64 kind_ops[NKINDS], kind_faults[NKINDS], kind_skipped[NKINDS];
static u64 vec_count[256];

u32 fuzz_kind_bit(const char *name, size_t len)
{
	for (unsigned k = 0; k < NKINDS; k++)
		if (strlen(kinds[k].name) == len && !memcmp(kinds[k].name, name, len))
			return 1u << k;
	return 0;
}

unsigned fz_call(void (*fn)(u64), u64 arg)
{
	return fault_call(fn, arg) ? (unsigned)fault_vector : FZ_NONE;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

#define CPUID1_ECX_PCID BIT(17)
#define CR4_OSXSAVE BIT(18)
#define CPUID1_EDX_MTRR BIT(12)
#define CPUID1_EDX_PAT BIT(16)
#define CPUID7_EBX_INVPCID BIT(10)
#define CPUID80000001_EDX_NX BIT(20)
#define MSR_IA32_MTRRCAP 0xFE
#define MTRRCAP_FIX BIT(8)
#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_EXTD BIT(10)
#define APIC_BASE_EN BIT(11)
#define HV_CPUID_SIGNATURE 0x40000000
#define HV_CPUID_FEATURES 0x40000002

static void read_machine(void)
{
	u32 a, b, c, d, max, maxext;
	cpuid(0, &max, &b, &c, &d);
	cpuid(0x80000000, &maxext, &b, &c, &d);
	cpuid(1, &a, &b, &c, &d);
	fz_mach.pcid = c & CPUID1_ECX_PCID;
	fz_mach.mtrr = d & CPUID1_EDX_MTRR;
	fz_mach.pat = d & CPUID1_EDX_PAT;
	if (max >= 7) {
		cpuid_count(7, 0, &a, &b, &c, &d);
		fz_mach.invpcid = b & CPUID7_EBX_INVPCID;
	}
	fz_mach.maxphyaddr = 36;
	if (maxext >= 0x80000001) {
		cpuid(0x80000001, &a, &b, &c, &d);
		fz_mach.nx = d & CPUID80000001_EDX_NX;
	}
	if (maxext >= 0x80000008) {
		cpuid(0x80000008, &a, &b, &c, &d);
		fz_mach.maxphyaddr = a & 0xFF;
	}
	if (fz_mach.mtrr) {
		u64 cap = rdmsr(MSR_IA32_MTRRCAP);
		fz_mach.mtrr_vcnt = cap & 0xFF;
		fz_mach.mtrr_fixed = cap & MTRRCAP_FIX;
	}
	u64 apic_base = rdmsr(MSR_IA32_APIC_BASE);
	fz_mach.apic = (apic_base & APIC_BASE_EN) && !(apic_base & APIC_BASE_EXTD);
	/* "slatvisor" in EBX, ECX, EDX; then the feature bits of hypercall_abi.h in EAX. */
	cpuid(HV_CPUID_SIGNATURE, &a, &b, &c, &d);
	if (b == 0x74616c73 && c == 0x6f736976 && (d & 0xFF) == 'r' && a >= HV_CPUID_FEATURES) {
		cpuid(HV_CPUID_FEATURES, &a, &b, &c, &d);
		fz_mach.hypercalls = a != 0;
	}
}

int fz_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static const char *outcome(unsigned vec)
{
	return vec == FZ_NONE ? "no exception" : vec_name(vec);
}

/* The allowed outcomes, for a FAIL line: "#GP or none". */
static const char *allowed_text(u64 allowed)
{
	static char buf[96];
	size_t len = 0;
	buf[0] = 0;
	for (unsigned v = 0; v <= 32; v++) {
		if (!(allowed & BIT(v)))
			continue;
		const char *n = v == 32 ? "none" : vec_name(v);
		if (len)
			len += (size_t)fz_format(buf + len, sizeof(buf) - len, " or ");
		if (len < sizeof(buf))
			len += (size_t)fz_format(buf + len, sizeof(buf) - len, "%s", n);
		if (len >= sizeof(buf))
			break;
	}
	return buf;
}

static void report(u64 seed, u64 done, u64 tsc)
{
	u64 faulted = 0;
	for (unsigned k = 0; k < NKINDS; k++)
		faulted += kind_faults[k];
	kprintf("fuzz: seed %lu, %lu operations, %lu faulted, %lu completed\n", seed, done, faulted,
		done - faulted);
	for (unsigned v = 0; v < 256; v++)
		if (vec_count[v])
			kprintf("fuzz: %s %lu\n", v < 32 ? vec_name(v) : "interrupt", vec_count[v]);
	for (unsigned k = 0; k < NKINDS; k++)
		kprintf("fuzz: kind %s %lu ops %lu faults %lu skipped\n", kinds[k].name, kind_ops[k],
			kind_faults[k], kind_skipped[k]);
	kprintf("fuzz: %lu self-IPIs delivered\n", fz_ipis);
	kprintf("fuzz: tsc delta %lu\n", tsc);
}

bool fuzz_run(u64 seed, u64 n)
{
	read_machine();
	fz_pt_init();
	fz_cr_init();
	fz_apic_init();
	kprintf("fuzz: seed %lu, operations %lu to %lu, maxphyaddr %u, %s%s%s%s%s\n", seed, fuzz_opt.first,
		fuzz_opt.first + n, fz_mach.maxphyaddr, (read_cr4() & CR4_OSXSAVE) ? "OSXSAVE " : "",
		fz_mach.invpcid ? "INVPCID " : "",
		fz_mach.pcid ? "PCID " : "", fz_mach.apic ? "xAPIC " : "no xAPIC ",
		fz_mach.nx ? "NX" : "no NX");
	sm_state = seed + fuzz_opt.first * DRAWS_PER_OP * SPLITMIX_GAMMA;
	const char *fail = NULL;
	u64 done = 0, t0 = rdtsc();
	for (u64 i = fuzz_opt.first; i < fuzz_opt.first + n; i++) {
		unsigned k = (unsigned)(splitmix64() % NKINDS);
		u64 w[FZ_WORDS];
		for (unsigned j = 0; j < FZ_WORDS; j++)
			w[j] = splitmix64();
		if (i % PROGRESS_EVERY == 0 && i != fuzz_opt.first)
			kprintf("fuzz: at operation %lu\n", i);
		kind_ops[k]++;
		done++;
		if (fuzz_opt.skip & (1u << k)) {
			kind_skipped[k]++;
			continue;
		}
		if (fuzz_opt.trace)
			kprintf("fuzz: op %lu %s 0x%lx 0x%lx 0x%lx 0x%lx\n", i, kinds[k].name, w[0], w[1], w[2], w[3]);
		struct fz_out o = { FZ_NONE, FZ_OK, NULL, "?", 0, 0 };
		kinds[k].run(w, &o);
		if (fuzz_opt.trace)
			kprintf("fuzz: op %lu gave %s (error 0x%lx)\n", i, outcome(o.vec), o.vec == FZ_NONE ? 0 : fault_error);
		if (o.vec != FZ_NONE) {
			kind_faults[k]++;
			vec_count[o.vec & 0xFF]++;
		}
		char what[96];
		if (o.why || !((o.vec == FZ_NONE ? FZ_OK : o.vec < 32 ? BIT(o.vec) : 0) & o.allowed)) {
			fz_format(what, sizeof(what), o.what, o.a, o.b);
			fail = o.why ? failf("op %lu (%s, %s): %s", i, kinds[k].name, what, o.why)
				     : failf("op %lu (%s, %s): %s (error 0x%lx, rip 0x%lx), %s expected", i,
					     kinds[k].name, what, outcome(o.vec), fault_error, fault_rip,
					     allowed_text(o.allowed));
			break;
		}
	}
	u64 t1 = rdtsc();
	report(seed, done, t1 - t0);
	if (fail)
		kprintf("FAIL fuzz: %s\n", fail);
	return !fail;
}
