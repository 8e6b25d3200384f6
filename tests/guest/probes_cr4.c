/*
 * probes_cr4.c: CR4 bits the CPU does not have, and XCR0 (XSETBV, XGETBV).
 *
 * MOV to CR4 is #GP when it sets a reserved bit (SDM Vol. 2B, MOV CR; Vol. 3A, 2.5): a bit of
 * 63:32 other than FRED, bits 15, 26, 29-31, and every bit whose feature CPUID does not
 * report (Vol. 3A, 2.5: PCIDE needs CPUID.1:ECX.PCID, OSXSAVE needs XSAVE, SMXE needs SMX;
 * SMEP, SMAP, FSGSBASE, PKE, UMIP, CET and the newer ones their CPUID.7 bits). It is #GP
 * too when it clears PAE or changes LA57 in IA-32e mode, and when it sets PCIDE while
 * CR3[11:0] is not 0. Bits the CPU has can be set and cleared, and read back as written.
 *
 * XSETBV (Vol. 2C, XSETBV; Vol. 1, 13.3) is #UD while CR4.OSXSAVE = 0, and so is XGETBV; it
 * is #GP for ECX other than 0, for a bit that CPUID.(EAX=0DH,ECX=0):EDX:EAX does not report,
 * for XCR0 without x87 (bit 0), for AVX without SSE, for part of AVX-512's three bits or
 * AVX-512 without AVX, and for one of a pair (MPX's 3 and 4, AMX's 17 and 18) without the
 * other. XGETBV is #GP for ECX other than 0 and, where CPUID.(EAX=0DH,ECX=1):EAX[2] says so, 1.
 */
#include "guest.h"

#define CR4_PAE BIT(5)
#define CR4_LA57 BIT(12)
#define CR4_SMXE BIT(14)
#define CR4_PCIDE BIT(17)
#define CR4_OSXSAVE BIT(18)
#define CR4_CET BIT(23)
#define CR0_WP BIT(16)
#define CR3_PWT BIT(3)

#define CPUID1_ECX_XSAVE BIT(26)
#define CPUID1_ECX_OSXSAVE BIT(27)

#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_BNDREGS BIT(3)
#define XCR0_BNDCSR BIT(4)
#define XCR0_AVX512 (BIT(5) | BIT(6) | BIT(7))
#define XCR0_TILECFG BIT(17)
#define XCR0_TILEDATA BIT(18)

void read_features(struct features *f)
{
	u32 max, a, b, c, d;
	cpuid(0, &max, &b, &c, &d);
	memset(f, 0, sizeof(*f));
	cpuid(1, &a, &b, &f->ecx1, &f->edx1);
	if (max >= 7) {
		cpuid_count(7, 0, &a, &f->ebx7, &f->ecx7, &f->edx7);
		if (a >= 1)
			cpuid_count(7, 1, &f->eax71, &b, &c, &d);
	}
}

/*
 * Does this CPU have CR4 bit @b (SDM Vol. 3A, 2.5 and Vol. 2A, CPUID)? LA57 is left out: in
 * IA-32e mode it cannot change either way.
 */
bool cr4_bit_exists(unsigned b, const struct features *f)
{
	switch (b) {
	case 0: case 1: return f->edx1 & BIT(1);    /* VME, PVI */
	case 2: return f->edx1 & BIT(4);            /* TSD: TSC */
	case 3: return f->edx1 & BIT(2);            /* DE */
	case 4: return f->edx1 & BIT(3);            /* PSE */
	case 5: return f->edx1 & BIT(6);            /* PAE */
	case 6: return f->edx1 & BIT(7);            /* MCE */
	case 7: return f->edx1 & BIT(13);           /* PGE */
	case 8: return true;                        /* PCE */
	case 9: return f->edx1 & BIT(24);           /* OSFXSR: FXSR */
	case 10: return f->edx1 & BIT(25);          /* OSXMMEXCPT: SSE */
	case 11: return f->ecx7 & BIT(2);           /* UMIP */
	case 13: return f->ecx1 & BIT(5);           /* VMXE: VMX */
	case 14: return f->ecx1 & BIT(6);           /* SMXE: SMX */
	case 16: return f->ebx7 & BIT(0);           /* FSGSBASE */
	case 17: return f->ecx1 & BIT(17);          /* PCIDE: PCID */
	case 18: return f->ecx1 & CPUID1_ECX_XSAVE; /* OSXSAVE: XSAVE */
	case 19: return f->ecx7 & BIT(23);          /* KL */
	case 20: return f->ebx7 & BIT(7);           /* SMEP */
	case 21: return f->ebx7 & BIT(20);          /* SMAP */
	case 22: return f->ecx7 & BIT(3);           /* PKE: PKU */
	case 23: return (f->ecx7 & BIT(7)) || (f->edx7 & BIT(20)); /* CET: CET_SS or CET_IBT */
	case 24: return f->ecx7 & BIT(31);          /* PKS */
	case 25: return f->edx7 & BIT(5);           /* UINTR */
	case 27: return f->eax71 & BIT(6);          /* LASS */
	case 28: return f->eax71 & BIT(26);         /* LAM_SUP: LAM */
	case 32: return f->eax71 & BIT(17);         /* FRED */
	default: return false;                      /* 15, 26, 29-31, 33-63: reserved */
	}
}

/*
 * The bits that may be set and cleared again here without harm: they change what CPL 3,
 * virtual-8086 mode, user pages or the TLB do, none of which this guest uses. Not MCE, PAE,
 * CET, KL, PKS, UINTR, LASS (it would fault every access of this guest, all in the lower half),
 * LAM_SUP, FRED: when the CPU has them they are left as they are.
 */
#define CR4_TOGGLE (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(7) | BIT(8) | BIT(9) | BIT(10) | \
		    BIT(11) | BIT(13) | BIT(14) | BIT(16) | BIT(17) | BIT(18) | BIT(20) | BIT(21) | BIT(22))

static void do_write_cr4(u64 v) { write_cr4(v); }
/* GETSEC leaf @leaf with EBX = 0 (for CAPABILITIES, leaf 0: the chipset index). */
static void do_getsec(u64 leaf)
{
	u64 a = leaf, b = 0;
	__asm__ volatile("getsec" : "+a"(a), "+b"(b) : : "rcx", "rdx", "memory");
}

/* MOV CR4 of @v must be #GP and leave CR4 at @cr4. */
static const char *cr4_gp(u64 cr4, u64 v, const char *what)
{
	const char *why = expect_fault(VEC_GP, "MOV CR4", do_write_cr4, v);
	if (why) {
		write_cr4(cr4);
		return failf("CR4 0x%lx (%s): %s", v, what, why);
	}
	if (read_cr4() != cr4)
		return failf("CR4 0x%lx (%s) faulted but CR4 reads 0x%lx, not 0x%lx", v, what, read_cr4(), cr4);
	return NULL;
}

/* MOV CR4 of @v must be taken, and CR4 then read @v. */
static const char *cr4_ok(u64 v, const char *what)
{
	const char *why = expect_no_fault("MOV CR4", do_write_cr4, v);
	if (why)
		return failf("CR4 0x%lx (%s): %s", v, what, why);
	if (read_cr4() != v)
		return failf("CR4 0x%lx (%s) reads back as 0x%lx", v, what, read_cr4());
	return NULL;
}

PROBE(cr4_reserved)
{
	struct features f;
	read_features(&f);
	u64 cr4 = read_cr4();
	const char *why = cr4_ok(cr4, "its own value");
	for (unsigned b = 0; !why && b < 64; b++) {
		u64 bit = BIT(b);
		if (b == 12) {
			if (!(cr4 & CR4_LA57))
				why = cr4_gp(cr4, cr4 | bit, "LA57 set in IA-32e mode");
		} else if (!cr4_bit_exists(b, &f)) {
			why = (cr4 & bit) ? failf("CR4 0x%lx has it set, and the CPU does not have it", cr4)
					  : cr4_gp(cr4, cr4 | bit, "a bit CPUID does not report, or a reserved one");
			if (why)
				why = failf("bit %u: %s", b, why);
		} else if ((CR4_TOGGLE & bit) && !(b == 17 && (read_cr3() & 0xFFF))) {
			why = cr4_ok(cr4 ^ bit, (cr4 & bit) ? "a bit the CPU has, cleared" : "a bit the CPU has, set");
			if (!why)
				why = cr4_ok(cr4, "its value back");
			if (why)
				why = failf("bit %u: %s", b, why);
		}
	}
	if (!why)
		why = cr4_gp(cr4, cr4 & ~CR4_PAE, "PAE cleared in IA-32e mode");
	/* PCIDE from 0 to 1 needs PCID 0 in CR3; with PCIDE clear, CR3 bit 3 is PWT. */
	if (!why && cr4_bit_exists(17, &f) && !(cr4 & CR4_PCIDE)) {
		u64 cr3 = read_cr3();
		write_cr3(cr3 | CR3_PWT);
		why = cr4_gp(cr4, cr4 | CR4_PCIDE, "PCIDE set while CR3[11:0] is 0x008");
		write_cr3(cr3);
	}
	/* CET needs CR0.WP (Vol. 3A, 2.5). */
	if (!why && cr4_bit_exists(23, &f) && !(cr4 & CR4_CET)) {
		u64 cr0 = read_cr0();
		write_cr0(cr0 & ~CR0_WP);
		why = cr4_gp(cr4, cr4 | CR4_CET, "CET set while CR0.WP is 0");
		write_cr0(cr0);
	}
	/*
	 * GETSEC is #UD while CR4.SMXE = 0 (Vol. 2D, GETSEC), whatever CPUID says. Where CPUID
	 * reports SMX, GETSEC[CAPABILITIES] with SMXE = 1 answers at CPL 0 (a hypervisor that
	 * shows SMX must handle its VM exit; Bochs 2.7 itself panics on it, so not bare there).
	 */
	if (!why && !(cr4 & CR4_SMXE))
		why = expect_fault(VEC_UD, "GETSEC[CAPABILITIES] with CR4.SMXE=0", do_getsec, 0);
	if (!why && cr4_bit_exists(14, &f)) {
		write_cr4(cr4 | CR4_SMXE);
		why = expect_no_fault("GETSEC[CAPABILITIES] with CR4.SMXE=1", do_getsec, 0);
	}
	write_cr4(cr4);
	return why;
}

/* ---- XCR0 ---- */

static u64 xcr_value;
static void do_xsetbv(u64 index)
{
	__asm__ volatile("xsetbv" : : "c"((u32)index), "a"((u32)xcr_value), "d"((u32)(xcr_value >> 32)) : "memory");
}
static void do_xgetbv(u64 index)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"((u32)index));
	xcr_value = (u64)hi << 32 | lo;
}

static const char *xsetbv_fault(unsigned vec, u32 index, u64 v, const char *what)
{
	xcr_value = v;
	const char *why = expect_fault(vec, "XSETBV", do_xsetbv, index);
	return why ? failf("XCR%u <- 0x%lx (%s): %s", index, v, what, why) : NULL;
}

static const char *xsetbv_ok(u64 v, const char *what)
{
	xcr_value = v;
	const char *why = expect_no_fault("XSETBV", do_xsetbv, 0);
	if (why)
		return failf("XCR0 <- 0x%lx (%s): %s", v, what, why);
	do_xgetbv(0);
	return xcr_value == v ? NULL : failf("XCR0 <- 0x%lx (%s) reads back as 0x%lx", v, what, xcr_value);
}

static bool cpuid_osxsave(void)
{
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	return c & CPUID1_ECX_OSXSAVE;
}

/* With CR4.OSXSAVE set and XCR0 at @xcr0: every rule of XSETBV and XGETBV. */
static const char *xcr0_rules(u64 xcr0)
{
	u32 a, b, c, d;
	cpuid_count(0xD, 0, &a, &b, &c, &d);
	u64 supported = (u64)d << 32 | a;
	cpuid_count(0xD, 1, &a, &b, &c, &d);
	bool xgetbv1 = a & BIT(2);

	if (!(xcr0 & XCR0_X87))
		return failf("XCR0 0x%lx lacks x87", xcr0);
	const char *why = xsetbv_ok(xcr0, "its own value");
	if (!why)
		why = xsetbv_fault(VEC_GP, 0, xcr0 & ~XCR0_X87, "x87 clear");
	for (unsigned bit = 0; !why && bit < 64; bit++)
		if (!(supported & BIT(bit)))
			why = xsetbv_fault(VEC_GP, 0, xcr0 | BIT(bit), "a bit CPUID.(0DH,0) does not report");
	if (!why)
		why = xsetbv_fault(VEC_GP, 0, XCR0_X87 | XCR0_AVX, "AVX without SSE");
	if (!why && (supported & XCR0_SSE))
		why = xsetbv_ok(XCR0_X87 | XCR0_SSE, "x87 and SSE");
	if (!why && (supported & XCR0_AVX))
		why = xsetbv_ok(XCR0_X87 | XCR0_SSE | XCR0_AVX, "x87, SSE and AVX");
	if (!why && (supported & XCR0_AVX512) == XCR0_AVX512) {
		u64 base = XCR0_X87 | XCR0_SSE | XCR0_AVX;
		why = xsetbv_fault(VEC_GP, 0, base | BIT(5), "part of AVX-512");
		if (!why)
			why = xsetbv_fault(VEC_GP, 0, XCR0_X87 | XCR0_SSE | XCR0_AVX512, "AVX-512 without AVX");
		if (!why)
			why = xsetbv_ok(base | XCR0_AVX512, "AVX-512");
	}
	if (!why && (supported & (XCR0_BNDREGS | XCR0_BNDCSR)) == (XCR0_BNDREGS | XCR0_BNDCSR))
		why = xsetbv_fault(VEC_GP, 0, XCR0_X87 | XCR0_BNDREGS, "BNDREGS without BNDCSR");
	if (!why && (supported & (XCR0_TILECFG | XCR0_TILEDATA)) == (XCR0_TILECFG | XCR0_TILEDATA))
		why = xsetbv_fault(VEC_GP, 0, xcr0 | XCR0_TILECFG, "TILECFG without TILEDATA");
	/* No XCR but XCR0 can be written (XCR1 is read-only where it exists). */
	static const u32 bad_index[] = { 1, 2, 0x80000000, 0xFFFFFFFF };
	for (unsigned i = 0; !why && i < sizeof(bad_index) / sizeof(bad_index[0]); i++)
		why = xsetbv_fault(VEC_GP, bad_index[i], xcr0, "an XCR other than XCR0");
	if (!why && xgetbv1)
		why = expect_no_fault("XGETBV of XCR1, CPUID.(0DH,1):EAX[2]=1", do_xgetbv, 1);
	if (!why && !xgetbv1)
		why = expect_fault(VEC_GP, "XGETBV of XCR1, CPUID.(0DH,1):EAX[2]=0", do_xgetbv, 1);
	if (!why)
		why = expect_fault(VEC_GP, "XGETBV of XCR2", do_xgetbv, 2);
	return why;
}

PROBE(xcr0_reserved)
{
	struct features f;
	read_features(&f);
	u64 cr4 = read_cr4();
	bool xsave = f.ecx1 & CPUID1_ECX_XSAVE;
	const char *why = NULL;
	if (!(cr4 & CR4_OSXSAVE)) {
		/* #UD, with or without XSAVE in CPUID: CR4.OSXSAVE is clear. */
		if (cpuid_osxsave())
			return failf("CPUID.1:ECX.OSXSAVE is 1 with CR4.OSXSAVE clear");
		why = expect_fault(VEC_UD, "XGETBV with CR4.OSXSAVE=0", do_xgetbv, 0);
		if (!why)
			why = xsetbv_fault(VEC_UD, 0, XCR0_X87, "CR4.OSXSAVE=0");
		if (why || !xsave)
			return why;
		write_cr4(cr4 | CR4_OSXSAVE);
	}
	if (!cpuid_osxsave())
		why = failf("CPUID.1:ECX.OSXSAVE is 0 with CR4.OSXSAVE set (CR4 0x%lx)", read_cr4());
	u64 xcr0 = 0;
	if (!why)
		why = expect_no_fault("XGETBV of XCR0", do_xgetbv, 0);
	xcr0 = xcr_value;
	if (!why)
		why = xcr0_rules(xcr0);
	if (xcr0 & XCR0_X87) {
		xcr_value = xcr0;
		fault_call(do_xsetbv, 0);
	}
	write_cr4(cr4);
	if (!why && !(cr4 & CR4_OSXSAVE) && cpuid_osxsave())
		why = failf("CPUID.1:ECX.OSXSAVE stays 1 after CR4.OSXSAVE is cleared again");
	return why;
}
