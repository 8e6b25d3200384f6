/*
 * probes_msr.c: RDMSR and WRMSR as the SDM defines them: feature control, any index, reserved bits.
 *
 * IA32_FEATURE_CONTROL (0x3A) exists when CPUID.1:ECX reports VMX or SMX (SDM Vol. 4, table
 * 2-2); once its lock bit (0) is set, a WRMSR to it is #GP, and without VMX its VMX-enable bits
 * (1 and 2) cannot be set. An MSR that does not exist is #GP on RDMSR (Vol. 2B, RDMSR), and
 * nothing else happens. A WRMSR that sets a reserved bit or an undefined memory type is #GP
 * (Vol. 3A, chapters "Memory Cache Control" and "Advanced Programmable Interrupt Controller",
 * whose numbers differ between editions): EFER (2.2.1; LME may not change while paging is on,
 * 10.8.5), IA32_PAT ("Programming the PAT": types 2 and 3 and every value above 7),
 * IA32_APIC_BASE ("Relocating the Local APIC Registers", "x2APIC State Transitions": bits 0-7,
 * 9, 63 to MAXPHYADDR, EXTD without x2APIC, EXTD=1 with EN=0, x2APIC back to xAPIC), and the
 * MTRRs ("Setting Memory Ranges with MTRRs": IA32_MTRR_DEF_TYPE bits 8, 9, 63:12; PHYSBASE
 * bits 11:8 and PHYSMASK bits 10:0, both above MAXPHYADDR; memory types other than 0, 1, 4,
 * 5, 6 in any type field).
 */
#include "guest.h"

#define MSR_IA32_FEATURE_CONTROL 0x3A
#define FC_LOCK BIT(0)
#define FC_VMX_IN_SMX BIT(1)
#define FC_VMX_OUTSIDE_SMX BIT(2)
#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_EXTD BIT(10)
#define APIC_BASE_EN BIT(11)
#define MSR_IA32_MTRRCAP 0xFE
#define MTRRCAP_VCNT(c) ((unsigned)((c) & 0xFF))
#define MTRRCAP_FIX BIT(8)
#define MSR_IA32_MTRR_PHYSBASE(n) (0x200 + 2 * (n))
#define MSR_IA32_MTRR_PHYSMASK(n) (0x201 + 2 * (n))
#define MSR_IA32_MTRR_DEF_TYPE 0x2FF
#define MSR_IA32_PAT 0x277
#define MSR_IA32_EFER 0xC0000080
#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)

#define CPUID1_ECX_SMX BIT(6)
#define CPUID1_ECX_X2APIC BIT(21)
#define CPUID1_EDX_MTRR BIT(12)
#define CPUID1_EDX_PAT BIT(16)
#define CPUID80000001_EDX_NX BIT(20)

/* The fixed-range MTRRs ("Fixed Range MTRRs": 64K_00000, 16K_80000 and A0000, 4K_C0000 to F8000). */
static const u32 fixed_mtrrs[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26A,
				   0x26B, 0x26C, 0x26D, 0x26E, 0x26F };

static u64 msr_value; /* what the last RDMSR read, or what the next WRMSR writes */
static void try_rdmsr(u64 msr) { msr_value = rdmsr((u32)msr); }
static void try_wrmsr(u64 msr) { wrmsr((u32)msr, msr_value); }

static u32 cpuid_reg(u32 leaf, unsigned reg)
{
	u32 r[4], max;
	cpuid(leaf & 0x80000000, &max, &r[1], &r[2], &r[3]);
	if (leaf > max)
		return 0;
	cpuid(leaf, &r[0], &r[1], &r[2], &r[3]);
	return r[reg];
}
enum { EAX, EBX, ECX, EDX };

static unsigned maxphyaddr(void)
{
	u32 a = cpuid_reg(0x80000008, EAX);
	return a ? a & 0xFF : 36;
}

/* WRMSR @msr <- @v must be #GP. Should it be taken, the value from before is put back. */
static const char *wr_gp(u32 msr, u64 v, const char *what)
{
	u64 old = rdmsr(msr);
	msr_value = v;
	const char *why = expect_fault(VEC_GP, "WRMSR", try_wrmsr, msr);
	if (why) {
		msr_value = old;
		fault_call(try_wrmsr, msr);
		return failf("MSR 0x%x <- 0x%lx (%s): %s", msr, v, what, why);
	}
	return NULL;
}

/* WRMSR @msr <- @v must be taken (the control beside each #GP case). */
static const char *wr_ok(u32 msr, u64 v, const char *what)
{
	msr_value = v;
	const char *why = expect_no_fault("WRMSR", try_wrmsr, msr);
	return why ? failf("MSR 0x%x <- 0x%lx (%s): %s", msr, v, what, why) : NULL;
}

PROBE(feature_control)
{
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	bool vmx = c & CPUID1_ECX_VMX, smx = c & CPUID1_ECX_SMX;
	if (fault_call(try_rdmsr, MSR_IA32_FEATURE_CONTROL)) {
		if (fault_vector != VEC_GP)
			return failf("RDMSR 0x3A: vector %lu, #GP or a value expected", fault_vector);
		/* Without VMX and SMX the MSR need not exist; with either it must. */
		if (vmx || smx)
			return failf("RDMSR 0x3A is #GP although CPUID.1:ECX reports %s", vmx ? "VMX" : "SMX");
		msr_value = 0;
		return expect_fault(VEC_GP, "WRMSR 0x3A, absent by RDMSR", try_wrmsr, MSR_IA32_FEATURE_CONTROL);
	}
	u64 fc = msr_value;
	if (!(fc & FC_LOCK))
		return failf("IA32_FEATURE_CONTROL 0x%lx is not locked", fc);
	if (!vmx && (fc & (FC_VMX_IN_SMX | FC_VMX_OUTSIDE_SMX)))
		return failf("IA32_FEATURE_CONTROL 0x%lx enables VMX, CPUID.1:ECX.VMX=0", fc);
	const char *why = wr_gp(MSR_IA32_FEATURE_CONTROL, fc, "its own value, locked");
	if (!why)
		why = wr_gp(MSR_IA32_FEATURE_CONTROL, fc | FC_VMX_OUTSIDE_SMX, "VMX on, locked");
	if (!why && rdmsr(MSR_IA32_FEATURE_CONTROL) != fc)
		why = failf("IA32_FEATURE_CONTROL changed to 0x%lx", rdmsr(MSR_IA32_FEATURE_CONTROL));
	return why;
}

/* ---- msr_sweep ---- */

#define SWEEP_SEED 0x9E3779B97F4A7C15ULL /* fixed: every run reads the same indexes */
static u64 rng_state;
static u32 rng_next(void)
{
	/* xorshift64* (Marsaglia; Vigna's multiplier) */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (u32)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* The architectural ranges (and the MSR bitmap's, 0-0x1FFF and 0xC0000000-0xC0001FFF). */
static const struct {
	u32 lo, hi;
} msr_ranges[] = {
	{ 0x00000000, 0x00001FFF },
	{ 0x40000000, 0x400000FF },
	{ 0xC0000000, 0xC0001FFF },
	{ 0xC0010000, 0xC0011FFF },
};

#define SWEEP_RANDOM 4096

static unsigned sweep_read, sweep_gp;

/* Read @msr twice: #GP or a value, the same outcome both times. */
static const char *sweep_one(u32 msr)
{
	int f1 = fault_call(try_rdmsr, msr);
	u64 v1 = fault_vector;
	if (f1 && v1 != VEC_GP)
		return failf("RDMSR 0x%x: vector %lu (error 0x%lx), #GP or a value expected", msr, v1,
			     fault_error);
	int f2 = fault_call(try_rdmsr, msr);
	if (f1 != f2 || (f2 && fault_vector != v1))
		return failf("RDMSR 0x%x: %s the first time, %s the second", msr, f1 ? "#GP" : "a value",
			     !f2 ? "a value" : fault_vector == VEC_GP ? "#GP" : "another exception");
	sweep_read++;
	sweep_gp += f1 ? 1 : 0;
	return NULL;
}

PROBE(msr_sweep)
{
	rng_state = SWEEP_SEED;
	sweep_read = sweep_gp = 0;
	const char *why = NULL;
	/* Both ends of each range and their neighbours outside it, then the extremes. */
	for (unsigned r = 0; !why && r < sizeof(msr_ranges) / sizeof(msr_ranges[0]); r++) {
		u32 lo = msr_ranges[r].lo, hi = msr_ranges[r].hi;
		const u32 edge[] = { lo - 1, lo, lo + 1, hi - 1, hi, hi + 1 };
		for (unsigned i = 0; !why && i < sizeof(edge) / sizeof(edge[0]); i++)
			why = sweep_one(edge[i]);
	}
	/*
	 * Random indexes: half anywhere in the 32-bit space, half inside one of the ranges, so
	 * that the MSRs a CPU has are read as well as the far more numerous ones it does not.
	 */
	for (unsigned i = 0; !why && i < SWEEP_RANDOM; i++) {
		u32 x = rng_next(), msr = x;
		if (x & 1) {
			unsigned r = (x >> 1) % (sizeof(msr_ranges) / sizeof(msr_ranges[0]));
			msr = msr_ranges[r].lo + (rng_next() % (msr_ranges[r].hi - msr_ranges[r].lo + 1));
		}
		why = sweep_one(msr);
	}
	kprintf("test-guest: msr_sweep: %u indexes read twice, %u gave a value, %u #GP\n", sweep_read,
		sweep_read - sweep_gp, sweep_gp);
	return why;
}

/* ---- msr_reserved ---- */

static const char *efer_reserved(void)
{
	u64 efer = rdmsr(MSR_IA32_EFER);
	bool nx = cpuid_reg(0x80000001, EDX) & CPUID80000001_EDX_NX;
	u64 defined = EFER_SCE | EFER_LME | EFER_LMA | (nx ? EFER_NXE : 0);
	const char *why = wr_ok(MSR_IA32_EFER, efer, "EFER, its own value");
	/* SCE may change at any time: a control that the write path takes other values too. */
	if (!why)
		why = wr_ok(MSR_IA32_EFER, efer ^ EFER_SCE, "EFER with SCE flipped");
	if (!why)
		why = wr_ok(MSR_IA32_EFER, efer, "EFER, its value back");
	for (unsigned b = 0; !why && b < 64; b++)
		if (!(defined & BIT(b)))
			why = wr_gp(MSR_IA32_EFER, efer | BIT(b), "EFER, a reserved bit");
	if (!why)
		why = wr_gp(MSR_IA32_EFER, efer & ~EFER_LME, "EFER.LME cleared while paging is on");
	if (!why && rdmsr(MSR_IA32_EFER) != efer)
		why = failf("EFER changed from 0x%lx to 0x%lx", efer, rdmsr(MSR_IA32_EFER));
	return why;
}

/* The PAT memory types ("PAT Memory Types"): 2 and 3 are reserved, 8-255 too. */
static bool pat_type_valid(unsigned t)
{
	return t <= 7 && t != 2 && t != 3;
}

static const char *pat_reserved(void)
{
	if (!(cpuid_reg(1, EDX) & CPUID1_EDX_PAT))
		return NULL;
	static const u8 bad[] = { 2, 3, 8, 0x0F, 0x10, 0x40, 0x80, 0xFF };
	u64 pat = rdmsr(MSR_IA32_PAT);
	for (unsigned e = 0; e < 8; e++)
		if (!pat_type_valid((pat >> (8 * e)) & 0xFF))
			return failf("IA32_PAT 0x%lx holds an invalid type in entry %u", pat, e);
	const char *why = wr_ok(MSR_IA32_PAT, pat, "IA32_PAT, its own value");
	/* Entry 7 is not used by this guest's page tables (PAT=1, PCD=1, PWT=1): try every type there. */
	for (unsigned t = 0; !why && t < 8; t++) {
		u64 v = (pat & ~(0xFFULL << 56)) | (u64)t << 56;
		why = pat_type_valid(t) ? wr_ok(MSR_IA32_PAT, v, "IA32_PAT, a valid type in entry 7")
					: wr_gp(MSR_IA32_PAT, v, "IA32_PAT, a reserved type in entry 7");
	}
	if (!why)
		why = wr_ok(MSR_IA32_PAT, pat, "IA32_PAT, its value back");
	for (unsigned e = 0; !why && e < 8; e++)
		for (unsigned i = 0; !why && i < sizeof(bad); i++)
			why = wr_gp(MSR_IA32_PAT, (pat & ~(0xFFULL << (8 * e))) | (u64)bad[i] << (8 * e),
				    "IA32_PAT, a reserved type");
	if (!why && rdmsr(MSR_IA32_PAT) != pat)
		why = failf("IA32_PAT changed from 0x%lx to 0x%lx", pat, rdmsr(MSR_IA32_PAT));
	return why;
}

static const char *apic_base_reserved(void)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);
	if (!(base & APIC_BASE_EN))
		return NULL; /* a disabled APIC: the rules below are for an enabled one */
	bool x2apic = cpuid_reg(1, ECX) & CPUID1_ECX_X2APIC;
	const char *why = wr_ok(MSR_IA32_APIC_BASE, base, "IA32_APIC_BASE, its own value");
	for (unsigned b = 0; !why && b < 10; b++)
		if (b != 8) /* 8 is BSP */
			why = wr_gp(MSR_IA32_APIC_BASE, base | BIT(b), "IA32_APIC_BASE, a reserved bit");
	for (unsigned b = maxphyaddr(); !why && b < 64; b++)
		why = wr_gp(MSR_IA32_APIC_BASE, base | BIT(b), "IA32_APIC_BASE, a bit above MAXPHYADDR");
	if (!why && !x2apic)
		why = wr_gp(MSR_IA32_APIC_BASE, base | APIC_BASE_EXTD, "x2APIC mode, CPUID.1:ECX.x2APIC=0");
	/* EXTD=1 with EN=0 is the invalid state; x2APIC mode cannot go back to xAPIC mode directly. */
	if (!why && x2apic)
		why = wr_gp(MSR_IA32_APIC_BASE, (base | APIC_BASE_EXTD) & ~APIC_BASE_EN,
			    "IA32_APIC_BASE, EXTD=1 with EN=0");
	if (!why && x2apic && (base & APIC_BASE_EXTD))
		why = wr_gp(MSR_IA32_APIC_BASE, base & ~APIC_BASE_EXTD, "x2APIC mode back to xAPIC mode");
	if (!why && rdmsr(MSR_IA32_APIC_BASE) != base)
		why = failf("IA32_APIC_BASE changed from 0x%lx to 0x%lx", base, rdmsr(MSR_IA32_APIC_BASE));
	return why;
}

/* The MTRR memory types ("MTRR Memory Types and Their Properties"): 0, 1, 4, 5, 6. */
static const u8 mtrr_bad_types[] = { 2, 3, 7, 8, 0x10, 0xFF };

static const char *mtrr_reserved(void)
{
	if (!(cpuid_reg(1, EDX) & CPUID1_EDX_MTRR))
		return NULL;
	u64 cap = rdmsr(MSR_IA32_MTRRCAP);
	u64 above = ~0ULL << maxphyaddr();
	const char *why = NULL;

	u64 def = rdmsr(MSR_IA32_MTRR_DEF_TYPE);
	why = wr_ok(MSR_IA32_MTRR_DEF_TYPE, def, "IA32_MTRR_DEF_TYPE, its own value");
	for (unsigned b = 8; !why && b < 64; b++)
		if (b != 10 && b != 11) /* FE and E */
			why = wr_gp(MSR_IA32_MTRR_DEF_TYPE, def | BIT(b), "IA32_MTRR_DEF_TYPE, a reserved bit");
	for (unsigned i = 0; !why && i < sizeof(mtrr_bad_types); i++)
		why = wr_gp(MSR_IA32_MTRR_DEF_TYPE, (def & ~0xFFULL) | mtrr_bad_types[i],
			    "IA32_MTRR_DEF_TYPE, an invalid type");

	for (unsigned n = 0; !why && n < MTRRCAP_VCNT(cap); n++) {
		u32 bm = MSR_IA32_MTRR_PHYSBASE(n), mm = MSR_IA32_MTRR_PHYSMASK(n);
		u64 base = rdmsr(bm), mask = rdmsr(mm);
		why = wr_ok(bm, base, "IA32_MTRR_PHYSBASE, its own value");
		if (!why)
			why = wr_ok(mm, mask, "IA32_MTRR_PHYSMASK, its own value");
		for (unsigned b = 8; !why && b < 12; b++)
			why = wr_gp(bm, base | BIT(b), "IA32_MTRR_PHYSBASE, a reserved bit");
		for (unsigned i = 0; !why && i < sizeof(mtrr_bad_types); i++)
			why = wr_gp(bm, (base & ~0xFFULL) | mtrr_bad_types[i], "IA32_MTRR_PHYSBASE, an invalid type");
		for (unsigned b = 0; !why && b < 11; b++)
			why = wr_gp(mm, mask | BIT(b), "IA32_MTRR_PHYSMASK, a reserved bit");
		for (unsigned b = 0; !why && b < 64; b++)
			if (above & BIT(b)) {
				why = wr_gp(bm, base | BIT(b), "IA32_MTRR_PHYSBASE, a bit above MAXPHYADDR");
				if (!why)
					why = wr_gp(mm, mask | BIT(b), "IA32_MTRR_PHYSMASK, a bit above MAXPHYADDR");
			}
		if (!why && (rdmsr(bm) != base || rdmsr(mm) != mask))
			why = failf("variable MTRR %u changed from 0x%lx/0x%lx to 0x%lx/0x%lx", n, base, mask,
				    rdmsr(bm), rdmsr(mm));
	}

	for (unsigned f = 0; !why && (cap & MTRRCAP_FIX) && f < sizeof(fixed_mtrrs) / sizeof(fixed_mtrrs[0]); f++) {
		u32 m = fixed_mtrrs[f];
		u64 v = rdmsr(m);
		why = wr_ok(m, v, "a fixed-range MTRR, its own value");
		for (unsigned e = 0; !why && e < 8; e++)
			for (unsigned i = 0; !why && i < sizeof(mtrr_bad_types); i++)
				why = wr_gp(m, (v & ~(0xFFULL << (8 * e))) | (u64)mtrr_bad_types[i] << (8 * e),
					    "a fixed-range MTRR, an invalid type");
		if (!why && rdmsr(m) != v)
			why = failf("fixed-range MTRR 0x%x changed from 0x%lx to 0x%lx", m, v, rdmsr(m));
	}
	return why;
}

PROBE(msr_reserved)
{
	const char *why = efer_reserved();
	if (!why)
		why = pat_reserved();
	if (!why)
		why = apic_base_reserved();
	if (!why)
		why = mtrr_reserved();
	return why;
}
