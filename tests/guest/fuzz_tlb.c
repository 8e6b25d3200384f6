/*
 * fuzz_tlb.c: INVLPG and INVPCID of random addresses.
 *
 * INVLPG raises nothing for a memory operand: a non-canonical address is a no-op (SDM Vol.
 * 2A, INVLPG). INVPCID (Vol. 2A, INVPCID) is #UD where CPUID.(7,0):EBX[10] is clear; where it
 * is set, #GP for a type above 3, for bits 63:12 of the descriptor's first quadword set, for
 * type 0 with a non-canonical address, and for types 0 and 1 with a PCID other than 0 while
 * CR4.PCIDE = 0; anything else is taken.
 */
#include "fuzz.h"

#define CR4_PCIDE BIT(17)
#define INVPCID_MAX_TYPE 3

static struct {
	u64 pcid, addr;
} __attribute__((aligned(16))) desc;

static void do_invlpg(u64 a) { invlpg(a); }
static void do_invpcid(u64 type) { __asm__ volatile("invpcid %0, %1" : : "m"(desc), "r"(type) : "memory"); }

static bool canonical(u64 a) { return (u64)((int64_t)(a << 16) >> 16) == a; }

/* A random linear address: low canonical, high canonical or non-canonical. */
static u64 address(u64 sel, u64 r)
{
	switch (sel % 3) {
	case 0: return r & 0x00007FFFFFFFFFFFULL;
	case 1: return r | 0xFFFF800000000000ULL;
	default: return canonical(r) ? r ^ BIT(60) : r;
	}
}

void fz_tlb(const u64 *w, struct fz_out *o)
{
	u64 a = address(w[0] >> 1, w[1]);
	if (w[0] & 1) {
		o->what = "INVLPG 0x%lx";
		o->a = a;
		o->allowed = FZ_OK;
		o->vec = fz_call(do_invlpg, a);
		return;
	}
	u64 type = w[2] % 8, pcid = (w[3] & 1) ? 0 : (w[3] >> 1) & 0xFFF;
	u64 reserved = ((w[3] >> 13) & 7) == 0 ? w[3] & ~0xFFFULL : 0;
	desc.pcid = pcid | reserved;
	desc.addr = a;
	bool pcide = read_cr4() & CR4_PCIDE;
	bool gp = type > INVPCID_MAX_TYPE || reserved || (type == 0 && !canonical(a)) ||
		  (type <= 1 && pcid && !pcide);
	o->what = "INVPCID type %lu, descriptor PCID quadword 0x%lx";
	o->a = type;
	o->b = desc.pcid;
	o->allowed = !fz_mach.invpcid ? FZ_ALLOW(VEC_UD) : gp ? FZ_ALLOW(VEC_GP) : FZ_OK;
	o->vec = fz_call(do_invpcid, type);
}
