/* alu.c: integer operations and their flags (SDM Vol. 1, appendix A, "EFLAGS cross-reference"). */
#include "alu.h"
#include "emul.h"

static u32 mask_of(unsigned size)
{
	return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

static u32 sign_of(unsigned size)
{
	return 1u << (8 * size - 1);
}

/* PF: set when the low byte of the result has an even number of 1 bits. */
static bool parity_even(u32 v)
{
	v &= 0xFF;
	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return !(v & 1);
}

/* ZF, SF, PF from a result; the others are the caller's. */
static u32 szp(u32 res, unsigned size)
{
	u32 f = 0;
	res &= mask_of(size);
	if (!res)
		f |= FL_ZF;
	if (res & sign_of(size))
		f |= FL_SF;
	if (parity_even(res))
		f |= FL_PF;
	return f;
}

static void set_flags(u32 *flags, u32 which, u32 value)
{
	*flags = (*flags & ~which) | (value & which);
}

/* Addition dst + src + carry_in, all flags. */
static u32 add(u32 dst, u32 src, u32 cin, unsigned size, u32 *flags)
{
	u32 m = mask_of(size), s = sign_of(size);
	u64 wide = (u64)(dst & m) + (src & m) + cin;
	u32 res = (u32)wide & m;
	u32 f = szp(res, size);
	if (wide > m)
		f |= FL_CF;
	if ((dst ^ src ^ res) & 0x10)
		f |= FL_AF;
	if (~(dst ^ src) & (dst ^ res) & s)
		f |= FL_OF;
	set_flags(flags, FL_ARITH, f);
	return res;
}

/* Subtraction dst - src - borrow_in, all flags. */
static u32 sub(u32 dst, u32 src, u32 bin, unsigned size, u32 *flags)
{
	u32 m = mask_of(size), s = sign_of(size);
	dst &= m;
	src &= m;
	u32 res = (dst - src - bin) & m;
	u32 f = szp(res, size);
	if ((u64)src + bin > dst)
		f |= FL_CF;
	if ((dst ^ src ^ res) & 0x10)
		f |= FL_AF;
	if ((dst ^ src) & (dst ^ res) & s)
		f |= FL_OF;
	set_flags(flags, FL_ARITH, f);
	return res;
}

u32 alu_binary(enum alu_op op, u32 dst, u32 src, unsigned size, u32 *flags)
{
	u32 m = mask_of(size), res;
	switch (op) {
	case ALU_ADD:
		return add(dst, src, 0, size, flags);
	case ALU_ADC:
		return add(dst, src, *flags & FL_CF, size, flags);
	case ALU_SUB:
		return sub(dst, src, 0, size, flags);
	case ALU_SBB:
		return sub(dst, src, *flags & FL_CF, size, flags);
	case ALU_CMP:
		sub(dst, src, 0, size, flags);
		return dst & m;
	case ALU_OR:
		res = (dst | src) & m;
		break;
	case ALU_AND:
		res = dst & src & m;
		break;
	case ALU_XOR:
	default:
		res = (dst ^ src) & m;
		break;
	}
	/* Logic: OF = CF = 0, SF ZF PF from the result, AF undefined (0 on Intel CPUs). */
	set_flags(flags, FL_ARITH, szp(res, size));
	return res;
}

u32 alu_inc_dec(bool dec, u32 dst, unsigned size, u32 *flags)
{
	/* INC and DEC leave CF alone (SDM Vol. 2, INC/DEC "Flags Affected"). */
	u32 cf = *flags & FL_CF;
	u32 res = dec ? sub(dst, 1, 0, size, flags) : add(dst, 1, 0, size, flags);
	*flags = (*flags & ~FL_CF) | cf;
	return res;
}

u32 alu_neg(u32 dst, unsigned size, u32 *flags)
{
	/* NEG is 0 - dst: CF = (dst != 0), the rest as for SUB. */
	return sub(0, dst, 0, size, flags);
}

bool alu_shift(enum shift_op op, u32 dst, u8 count, unsigned size, u32 *flags, u32 *result)
{
	u32 m = mask_of(size), s = sign_of(size), bits = 8 * size;
	dst &= m;
	/* The count is masked to 5 bits; a masked count of 0 changes nothing, flags included. */
	count &= 0x1F;
	*result = dst;
	if (op == SH_RCL || op == SH_RCR || op == 6)
		return false;
	if (!count)
		return true;
	u32 res, f = *flags;
	switch (op) {
	case SH_ROL:
	case SH_ROR: {
		unsigned n = count % bits;
		res = op == SH_ROL ? ((dst << n) | (n ? dst >> (bits - n) : 0)) & m
				   : ((dst >> n) | (n ? dst << (bits - n) : 0)) & m;
		/* Rotates change CF and OF only; OF is defined for a count of 1 and computed the same way otherwise. */
		bool cf = op == SH_ROL ? res & 1 : !!(res & s);
		bool of = op == SH_ROL ? (!!(res & s)) ^ cf : (!!(res & s)) ^ (!!(res & (s >> 1)));
		f = (f & ~(FL_CF | FL_OF)) | (cf ? FL_CF : 0) | (of ? FL_OF : 0);
		*flags = f;
		*result = res;
		return true;
	}
	case SH_SHL:
	case SH_SAL: {
		u64 wide = (u64)dst << count;
		res = (u32)wide & m;
		bool cf = count <= bits ? (wide >> bits) & 1 : 0;
		bool of = (!!(res & s)) ^ cf;
		f = (f & ~FL_ARITH) | szp(res, size) | (cf ? FL_CF : 0) | (of ? FL_OF : 0);
		break;
	}
	case SH_SHR: {
		res = count < bits ? dst >> count : 0;
		bool cf = count <= bits ? (dst >> (count - 1)) & 1 : 0;
		bool of = dst & s;
		f = (f & ~FL_ARITH) | szp(res, size) | (cf ? FL_CF : 0) | (of ? FL_OF : 0);
		break;
	}
	case SH_SAR:
	default: {
		/* Sign-extend to 32 bits, then an arithmetic shift; counts past the width give all sign bits. */
		s32 sx = (s32)(dst << (32 - bits)) >> (32 - bits);
		unsigned c = count < bits ? count : bits - 1;
		res = (u32)(sx >> c) & m;
		bool cf = count < bits ? (u32)(sx >> (count - 1)) & 1 : (dst & s) != 0;
		f = (f & ~FL_ARITH) | szp(res, size) | (cf ? FL_CF : 0); /* OF = 0 for SAR */
		break;
	}
	}
	*flags = f;
	*result = res;
	return true;
}

u32 alu_bit(enum bit_op op, u32 value, unsigned bit, u32 *flags)
{
	u32 b = 1u << (bit & 31);
	*flags = (*flags & ~FL_CF) | ((value & b) ? FL_CF : 0);
	switch (op) {
	case BITOP_BTS:
		return value | b;
	case BITOP_BTR:
		return value & ~b;
	case BITOP_BTC:
		return value ^ b;
	case BITOP_BT:
	default:
		return value;
	}
}

bool alu_condition(unsigned cc, u32 flags)
{
	bool cf = flags & FL_CF, zf = flags & FL_ZF, sf = flags & FL_SF, of = flags & FL_OF,
	     pf = flags & FL_PF;
	bool r;
	switch (cc >> 1) {
	case 0: r = of; break;             /* O */
	case 1: r = cf; break;             /* B */
	case 2: r = zf; break;             /* E */
	case 3: r = cf || zf; break;       /* BE */
	case 4: r = sf; break;             /* S */
	case 5: r = pf; break;             /* P */
	case 6: r = sf != of; break;       /* L */
	default: r = zf || sf != of; break; /* LE */
	}
	return (cc & 1) ? !r : r;
}
