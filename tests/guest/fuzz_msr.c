/*
 * fuzz_msr.c: the fuzzer's RDMSR and WRMSR operations.
 *
 * RDMSR of any index is a value or #GP (SDM Vol. 2B, RDMSR), never anything else, and the
 * same one of the two when read again right after (the MSR exists or it does not). The
 * x2APIC range 0x800-0x8FF is left out: in xAPIC mode it is #GP anyway, and a hypervisor
 * that runs the guest in x2APIC mode may pass it through.
 *
 * WRMSR only ever writes a value and then the old one back inside one fault_call, and only
 * to MSRs whose value this guest can live without for those few instructions: a reserved bit
 * of IA32_APIC_BASE or EFER (#GP, SDM Vol. 3A, "Relocating the Local APIC Registers" and
 * 2.2.1), random memory types in IA32_PAT and the MTRRs ("Programming the PAT", "MTRR Memory
 * Types": a valid type is taken, any other is #GP). The value read afterwards must be the one
 * from before. Never the TSC, TSC_ADJUST, MISC_ENABLE, the microcode MSRs or feature control:
 * a new value there changes what every later operation sees.
 */
#include "fuzz.h"

#define MSR_IA32_APIC_BASE 0x1B
#define MSR_IA32_MTRR_PHYSBASE(n) (0x200 + 2 * (n))
#define MSR_IA32_PAT 0x277
#define MSR_IA32_EFER 0xC0000080
#define EFER_SCE 0
#define EFER_LME 8
#define EFER_LMA 10
#define EFER_NXE 11
#define APIC_BASE_BSP 8
#define X2APIC_FIRST 0x800
#define X2APIC_LAST 0x8FF
#define MSR_RANGE 0x2000 /* the MSR bitmap's ranges: 0-0x1FFF, 0xC0000000-0xC0001FFF */
#define MSR_HIGH 0xC0000000u

static const u32 fixed_mtrrs[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26A,
				   0x26B, 0x26C, 0x26D, 0x26E, 0x26F };
/* Valid MTRR types (0, 1, 4, 5, 6) and PAT types (the same and 7, UC-). */
static const u8 mtrr_types[] = { 0, 1, 4, 5, 6 };
static const u8 pat_types[] = { 0, 1, 4, 5, 6, 7 };

static u64 msr_old, msr_new;

static void do_rdmsr(u64 msr) { msr_old = rdmsr((u32)msr); }
static void do_write_back(u64 msr)
{
	wrmsr((u32)msr, msr_new);
	wrmsr((u32)msr, msr_old);
}

void fz_msr_read(const u64 *w, struct fz_out *o)
{
	u32 msr = (u32)w[1];
	if (w[0] % 3 == 1)
		msr = (u32)(w[1] % MSR_RANGE);
	else if (w[0] % 3 == 2)
		msr = MSR_HIGH + (u32)(w[1] % MSR_RANGE);
	if (msr >= X2APIC_FIRST && msr <= X2APIC_LAST)
		msr += X2APIC_LAST - X2APIC_FIRST + 1;
	o->what = "RDMSR 0x%lx";
	o->a = msr;
	o->allowed = FZ_OK | FZ_ALLOW(VEC_GP);
	o->vec = fz_call(do_rdmsr, msr);
	unsigned again = fz_call(do_rdmsr, msr);
	if (again != o->vec)
		o->why = failf("RDMSR 0x%x gave %s, then %s", msr, o->vec == FZ_NONE ? "a value" : vec_name(o->vec),
			       again == FZ_NONE ? "a value" : vec_name(again));
}

/* A type byte: a valid type most of the time, the random byte itself one time in 16. */
static u8 type_byte(const u8 *valid, unsigned nvalid, u64 r)
{
	u8 b = (u8)r;
	return ((r >> 8) & 0xF) == 0 ? b : valid[b % nvalid];
}

/* Bit @i of the reserved bits of IA32_APIC_BASE: 0-7, 9, MAXPHYADDR-63 (not EXTD, EN or the base). */
static unsigned apic_base_reserved(u64 r)
{
	unsigned low = 9, high = 64 - fz_mach.maxphyaddr, i = (unsigned)(r % (low + high));
	if (i < 8)
		return i;
	if (i == 8)
		return APIC_BASE_BSP + 1;
	return fz_mach.maxphyaddr + (i - low);
}

static unsigned efer_reserved(u64 r)
{
	for (;;) {
		unsigned b = (unsigned)(r % 64);
		if (b != EFER_SCE && b != EFER_LME && b != EFER_LMA && !(b == EFER_NXE && fz_mach.nx))
			return b;
		r = r / 64 + 1;
	}
}

void fz_msr_write(const u64 *w, struct fz_out *o)
{
	unsigned sub = (unsigned)(w[0] % 5);
	/* Without the MTRRs (or PAT) the operation falls back to PAT (or IA32_APIC_BASE). */
	if ((sub == 3 && !fz_mach.mtrr_vcnt) || (sub == 4 && !fz_mach.mtrr_fixed))
		sub = 2;
	if (sub == 2 && !fz_mach.pat)
		sub = 0;
	u32 msr;
	bool must_gp = false;
	switch (sub) {
	case 0:
		msr = MSR_IA32_APIC_BASE;
		msr_old = rdmsr(msr);
		msr_new = msr_old ^ BIT(apic_base_reserved(w[1]));
		must_gp = true;
		break;
	case 1:
		msr = MSR_IA32_EFER;
		msr_old = rdmsr(msr);
		msr_new = msr_old ^ BIT(efer_reserved(w[1]));
		must_gp = true;
		break;
	case 2:
		msr = MSR_IA32_PAT;
		msr_old = rdmsr(msr);
		msr_new = 0;
		for (unsigned e = 0; e < 8; e++)
			msr_new |= (u64)type_byte(pat_types, sizeof(pat_types), w[1] >> (8 * e) | w[2] >> (4 * e) << 8) << (8 * e);
		break;
	case 3:
		msr = MSR_IA32_MTRR_PHYSBASE((u32)(w[1] % fz_mach.mtrr_vcnt));
		msr_old = rdmsr(msr);
		msr_new = (msr_old & ~0xFFULL) | type_byte(mtrr_types, sizeof(mtrr_types), w[2]);
		break;
	default: {
		msr = fixed_mtrrs[w[1] % (sizeof(fixed_mtrrs) / sizeof(fixed_mtrrs[0]))];
		unsigned e = (unsigned)(w[2] % 8);
		msr_old = rdmsr(msr);
		msr_new = (msr_old & ~(0xFFULL << (8 * e))) |
			  (u64)type_byte(mtrr_types, sizeof(mtrr_types), w[3]) << (8 * e);
		break;
	}
	}
	u64 old = msr_old;
	o->what = "WRMSR 0x%lx <- 0x%lx, then the old value";
	o->a = msr;
	o->b = msr_new;
	o->allowed = must_gp ? FZ_ALLOW(VEC_GP) : FZ_OK | FZ_ALLOW(VEC_GP);
	o->vec = fz_call(do_write_back, msr);
	u64 now = rdmsr(msr);
	if (now != old)
		o->why = failf("MSR 0x%x reads 0x%lx afterwards, 0x%lx before", msr, now, old);
}
