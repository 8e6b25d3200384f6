/*
 * fuzz_cpuid.c: CPUID of a random leaf and subleaf. At CPL 0 CPUID raises nothing (SDM Vol.
 * 2A, CPUID: no exceptions but #UD for LOCK), whatever the leaf: leaves past the maximum
 * answer as the highest basic leaf does. Leaves 0-0x20, the extended 0x80000000-0x80000008,
 * the hypervisor range 0x40000000-0x40000010, and any 32-bit value.
 */
#include "fuzz.h"

static u32 subleaf;
static void do_cpuid(u64 leaf)
{
	u32 a, b, c, d;
	cpuid_count((u32)leaf, subleaf, &a, &b, &c, &d);
}

void fz_cpuid(const u64 *w, struct fz_out *o)
{
	static const u32 base[] = { 0, 0x80000000, 0x40000000, 0 };
	static const u32 span[] = { 0x21, 9, 0x11, 0 };
	unsigned r = (unsigned)(w[0] % 4);
	u32 leaf = span[r] ? base[r] + (u32)(w[1] % span[r]) : (u32)w[1];
	subleaf = (w[2] & 1) ? (u32)(w[3] % 8) : (u32)w[3];
	o->what = "CPUID leaf 0x%lx subleaf 0x%lx";
	o->a = leaf;
	o->b = subleaf;
	o->allowed = FZ_OK;
	o->vec = fz_call(do_cpuid, leaf);
}
