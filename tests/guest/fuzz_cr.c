/*
 * fuzz_cr.c: the fuzzer's control-register writes, each a new value and the old one back
 * inside one fault_call, the register then read and compared with what it held before.
 *
 * CR0 (SDM Vol. 3A, 2.5; Vol. 2B, MOV CR): flipping CD, AM, NE, TS, MP or EM is taken, so is
 * NW while CD is set; NW=1 with CD=0 and any of bits 63:32 are #GP. The guest runs no x87 or
 * SSE code (-mgeneral-regs-only), so TS and EM cost it nothing.
 * CR4: one of bits 0-31, taken where CPUID reports the bit and #GP where not (the probes'
 * cr4_bit_exists; bits 15, 26, 29-31 are reserved everywhere): not PAE
 * (#GP in IA-32e mode, and must stay), LA57 (likewise), PCIDE (it needs CR3[11:0] = 0),
 * SMEP, SMAP, CET and LASS (set, they fault this guest's own accesses and fetches).
 * CR3: bits 52-62 are above every MAXPHYADDR, so #GP; its own value is taken (a TLB flush).
 * XCR0 (Vol. 1, 13.3; Vol. 2C, XSETBV): random bits are taken or #GP with CR4.OSXSAVE set,
 * any other XCR (ECX not 0, one time in 8) is #GP, and XSETBV is #UD with OSXSAVE clear.
 * fz_cr_init sets CR4.OSXSAVE where CPUID reports XSAVE, so that XSETBV reaches its VM exit
 * (with OSXSAVE clear the CPU raises the #UD before any exit).
 */
#include "fuzz.h"

#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_NE BIT(5)
#define CR0_AM BIT(18)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR4_OSXSAVE BIT(18)
#define CPUID1_ECX_XSAVE BIT(26)
#define CR3_RESERVED_SHIFT 52
#define CR3_RESERVED_BITS 11 /* 52-62 */
#define XCR0_LOW_BITS 0x3FF  /* x87 to PKRU: where the bits that exist are */

/* CR4 bits never flipped: PAE, LA57, PCIDE, SMEP, SMAP, CET, LASS. */
#define CR4_NEVER (BIT(5) | BIT(12) | BIT(17) | BIT(20) | BIT(21) | BIT(23) | BIT(27))

static const u64 cr0_flips[] = { CR0_CD, CR0_NW, CR0_AM, CR0_NE, CR0_TS, CR0_MP, CR0_EM };
#define NCR0 (sizeof(cr0_flips) / sizeof(cr0_flips[0]))

static u64 cr_old, cr_new;

static void cr0_pair(u64 unused)
{
	(void)unused;
	write_cr0(cr_new);
	write_cr0(cr_old);
}
static void cr4_pair(u64 unused)
{
	(void)unused;
	write_cr4(cr_new);
	write_cr4(cr_old);
}
static void cr3_pair(u64 unused)
{
	(void)unused;
	write_cr3(cr_new);
	write_cr3(cr_old);
}

static u32 xcr_index;
static void xsetbv(u64 v)
{
	__asm__ volatile("xsetbv" : : "c"(xcr_index), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
static u64 xgetbv(void)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (u64)hi << 32 | lo;
}
static void xcr0_pair(u64 index)
{
	xcr_index = (u32)index;
	xsetbv(cr_new);
	xcr_index = 0;
	xsetbv(cr_old);
}

void fz_cr_init(void)
{
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	if (c & CPUID1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);
}

static void check(struct fz_out *o, const char *reg, u64 now)
{
	if (now != cr_old)
		o->why = failf("%s reads 0x%lx afterwards, 0x%lx before", reg, now, cr_old);
}

void fz_cr(const u64 *w, struct fz_out *o)
{
	unsigned sub = (unsigned)(w[0] % 5);
	switch (sub) {
	case 0: {
		unsigned c = (unsigned)(w[1] % (NCR0 + 32));
		cr_old = read_cr0();
		cr_new = cr_old ^ (c < NCR0 ? cr0_flips[c] : BIT(32 + (c - NCR0)));
		bool gp = c >= NCR0 || ((cr_new & CR0_NW) && !(cr_new & CR0_CD));
		o->what = "MOV CR0 <- 0x%lx, then the old value";
		o->a = cr_new;
		o->allowed = gp ? FZ_ALLOW(VEC_GP) : FZ_OK;
		o->vec = fz_call(cr0_pair, 0);
		check(o, "CR0", read_cr0());
		break;
	}
	case 1: {
		unsigned b = (unsigned)(w[1] % 32);
		while (CR4_NEVER & BIT(b))
			b = (b + 1) % 32;
		struct features f;
		read_features(&f);
		cr_old = read_cr4();
		cr_new = cr_old ^ BIT(b);
		o->what = "MOV CR4 <- 0x%lx, then the old value";
		o->a = cr_new;
		/* Clearing a bit that is set is always taken: it was set, so the CPU has it. */
		o->allowed = (cr_old & BIT(b)) || cr4_bit_exists(b, &f) ? FZ_OK : FZ_ALLOW(VEC_GP);
		o->vec = fz_call(cr4_pair, 0);
		check(o, "CR4", read_cr4());
		break;
	}
	case 2:
	case 3: {
		u64 bits = (w[1] & (BIT(CR3_RESERVED_BITS) - 1)) << CR3_RESERVED_SHIFT;
		if (!bits)
			bits = BIT(CR3_RESERVED_SHIFT);
		cr_old = read_cr3();
		cr_new = sub == 2 ? cr_old | bits : cr_old;
		o->what = "MOV CR3 <- 0x%lx, then the old value";
		o->a = cr_new;
		o->allowed = sub == 2 ? FZ_ALLOW(VEC_GP) : FZ_OK;
		o->vec = fz_call(cr3_pair, 0);
		check(o, "CR3", read_cr3());
		break;
	}
	default: {
		bool osxsave = read_cr4() & CR4_OSXSAVE;
		cr_old = osxsave ? xgetbv() : 0;
		cr_new = (w[2] & 3) ? w[1] & XCR0_LOW_BITS : w[1];
		u32 index = ((w[2] >> 8) & 7) == 0 ? (u32)w[3] | 1 : 0;
		o->what = "XSETBV XCR%lu <- 0x%lx, then XCR0's old value";
		o->a = index;
		o->b = cr_new;
		o->allowed = !osxsave ? FZ_ALLOW(VEC_UD) : index ? FZ_ALLOW(VEC_GP) : FZ_OK | FZ_ALLOW(VEC_GP);
		o->vec = fz_call(xcr0_pair, index);
		if (osxsave)
			check(o, "XCR0", xgetbv());
		break;
	}
	}
}
