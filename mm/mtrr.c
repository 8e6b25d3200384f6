/* mtrr.c: the SDM's MTRR precedence rules; mtrr_read is the only part that touches hardware. */
#include "mtrr.h"

const char *memtype_name(u8 type)
{
	switch (type) {
	case MEMTYPE_UC:
		return "UC";
	case MEMTYPE_WC:
		return "WC";
	case MEMTYPE_WT:
		return "WT";
	case MEMTYPE_WP:
		return "WP";
	case MEMTYPE_WB:
		return "WB";
	default:
		return "??";
	}
}

/* Fixed-range index for an address below 1 MiB (12.11.2.2). */
static unsigned fixed_index(u64 addr)
{
	if (addr < 0x80000)
		return (unsigned)(addr >> 16);
	if (addr < 0xC0000)
		return 8 + (unsigned)((addr - 0x80000) >> 14);
	return 24 + (unsigned)((addr - 0xC0000) >> 12);
}

static bool var_matches(const struct mtrr_state *s, unsigned i, u64 addr)
{
	u64 mask = s->var[i].mask & s->addr_mask;
	return (addr & mask) == (s->var[i].base & mask);
}

u8 mtrr_type(const struct mtrr_state *s, u64 addr)
{
	if (!s->enabled)
		return MEMTYPE_UC;
	if (s->fixed_enabled && addr < MTRR_FIXED_LIMIT)
		return s->fixed[fixed_index(addr)];

	/*
	 * 12.11.4.1: where variable ranges overlap, UC wins; WT and WB together
	 * give WT; any other mix is undefined, and slatvisor takes UC for it.
	 */
	bool any = false, mixed = false, only_wt_wb = true, uc = false;
	u8 first = 0;
	for (unsigned i = 0; i < s->nvar; i++) {
		if (!(s->var[i].mask & MTRR_PHYSMASK_VALID) || !var_matches(s, i, addr))
			continue;
		u8 t = (u8)(s->var[i].base & 0xFF);
		if (!any)
			first = t;
		any = true;
		mixed |= t != first;
		uc |= t == MEMTYPE_UC;
		only_wt_wb &= t == MEMTYPE_WT || t == MEMTYPE_WB;
	}
	if (!any)
		return s->default_type;
	if (uc)
		return MEMTYPE_UC;
	if (!mixed)
		return first;
	return only_wt_wb ? MEMTYPE_WT : MEMTYPE_UC;
}

/*
 * A variable range with a contiguous mask covers aligned blocks of one size.
 * Blocks at least as large as an aligned region either contain it or miss it;
 * a smaller block inside it may change the type part-way. Returns true when
 * range @i cannot change the type inside [base, base+size).
 */
static bool var_leaves_uniform(const struct mtrr_state *s, unsigned i, u64 base, u64 size)
{
	if (!(s->var[i].mask & MTRR_PHYSMASK_VALID))
		return true;
	u64 mask = s->var[i].mask & s->addr_mask & ~0xFFFULL;
	u64 block = mask & -mask; /* lowest set bit: the block size, if the mask is contiguous */
	bool contiguous = mask && mask == (s->addr_mask & ~(block - 1));
	if (contiguous && block >= size && IS_ALIGNED(base, size))
		return true;
	/* Smaller block (or odd mask): uniform only if no address of the range matches. */
	if (contiguous) {
		u64 bbase = s->var[i].base & mask;
		return bbase + block <= base || bbase >= base + size;
	}
	return false; /* a mask with holes matches scattered blocks: let the slow path decide */
}

bool mtrr_uniform(const struct mtrr_state *s, u64 base, u64 size, u8 *type)
{
	u8 t = mtrr_type(s, base);
	bool fast = s->enabled && !(s->fixed_enabled && base < MTRR_FIXED_LIMIT);
	for (unsigned i = 0; fast && i < s->nvar; i++)
		fast = var_leaves_uniform(s, i, base, size);
	if (!s->enabled || fast) {
		*type = t;
		return true;
	}
	/* Slow path: compare page by page (a 2 MiB region is 512 pages). */
	for (u64 a = base + PAGE_SIZE; a < base + size; a += PAGE_SIZE)
		if (mtrr_type(s, a) != t)
			return false;
	*type = t;
	return true;
}

#ifndef HOST_TEST
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/msr.h"
#include "../kernel/kstring.h"

void mtrr_read(struct mtrr_state *s)
{
	memset(s, 0, sizeof(*s));
	s->addr_mask = GENMASK(cpu_maxphyaddr() - 1, 12);
	if (!(cpuid(1, 0).edx & BIT(12))) /* CPUID.1:EDX.MTRR */
		return;
	u64 cap = rdmsr(MSR_IA32_MTRRCAP), def = rdmsr(MSR_IA32_MTRR_DEF_TYPE);
	s->enabled = def & MTRR_DEF_ENABLE;
	s->fixed_enabled = (def & MTRR_DEF_FIXED_ENABLE) && (cap & MTRRCAP_FIX);
	s->default_type = (u8)(def & MTRR_DEF_TYPE_MASK);
	s->nvar = MIN(MTRRCAP_VCNT(cap), MTRR_MAX_VAR);
	for (unsigned i = 0; i < s->nvar; i++) {
		s->var[i].base = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i);
		s->var[i].mask = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i + 1);
	}
	if (s->fixed_enabled) {
		static const u32 fixed_msrs[11] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26A,
						    0x26B, 0x26C, 0x26D, 0x26E, 0x26F };
		for (unsigned m = 0; m < 11; m++) {
			u64 v = rdmsr(fixed_msrs[m]);
			memcpy(&s->fixed[m * 8], &v, 8);
		}
	}
}
#endif
