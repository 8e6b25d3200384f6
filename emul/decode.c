/* decode.c: prefixes, ModRM, SIB and displacements of 16- and 32-bit code (SDM Vol. 2, chapter 2). */
#include "internal.h"

/* Legacy prefixes (SDM Vol. 2, 2.1.1). */
#define PFX_LOCK 0xF0
#define PFX_REPNE 0xF2
#define PFX_REP 0xF3
#define PFX_OPSIZE 0x66
#define PFX_ADDRSIZE 0x67

bool emul_fetch8(struct emul *e, u8 *b)
{
	struct insn *in = &e->in;
	/* SDM Vol. 2, 2.3.11: an instruction longer than 15 bytes raises #GP. */
	if (in->len == EMUL_MAX_INSN) {
		emul_fault(e, VEC_GP, 0);
		return false;
	}
	if (!emul_fetch(e, in->start + in->len, b))
		return false;
	in->bytes[in->len++] = *b;
	return true;
}

bool emul_fetch_imm(struct emul *e, unsigned size, u32 *val)
{
	*val = 0;
	for (unsigned i = 0; i < size; i++) {
		u8 b;
		if (!emul_fetch8(e, &b))
			return false;
		*val |= (u32)b << (8 * i);
	}
	return true;
}

bool emul_decode_prefixes(struct emul *e, u8 *op)
{
	struct insn *in = &e->in;
	/* The default sizes come from CS.D (SDM Vol. 3A, 3.4.5), real mode included (its cache has D = 0). */
	bool d = e->cpu->seg[SR_CS].ar & EMUL_AR_DB;
	in->opsize = in->addrsize = d ? 4 : 2;
	in->seg_override = -1;
	for (;;) {
		u8 b;
		if (!emul_fetch8(e, &b))
			return false;
		switch (b) {
		case 0x26: in->seg_override = SR_ES; break;
		case 0x2E: in->seg_override = SR_CS; break;
		case 0x36: in->seg_override = SR_SS; break;
		case 0x3E: in->seg_override = SR_DS; break;
		case 0x64: in->seg_override = SR_FS; break;
		case 0x65: in->seg_override = SR_GS; break;
		case PFX_OPSIZE: in->opsize = d ? 2 : 4; break;
		case PFX_ADDRSIZE: in->addrsize = d ? 2 : 4; break;
		case PFX_LOCK: in->lock = true; break;
		case PFX_REPNE: in->repne = true; break;
		case PFX_REP: in->rep = true; break;
		default:
			*op = b;
			return true;
		}
	}
}

static enum emul_sreg seg_or(const struct insn *in, enum emul_sreg dflt)
{
	return in->seg_override >= 0 ? (enum emul_sreg)in->seg_override : dflt;
}

/* SDM Vol. 2, table 2-1: 16-bit addressing. */
static bool modrm16(struct emul *e, unsigned mod, unsigned rm)
{
	const u32 *r = e->cpu->gpr;
	struct insn *in = &e->in;
	u32 ea = 0, disp = 0;
	enum emul_sreg seg = SR_DS;
	switch (rm) {
	case 0: ea = r[R_EBX] + r[R_ESI]; break;
	case 1: ea = r[R_EBX] + r[R_EDI]; break;
	case 2: ea = r[R_EBP] + r[R_ESI]; seg = SR_SS; break;
	case 3: ea = r[R_EBP] + r[R_EDI]; seg = SR_SS; break;
	case 4: ea = r[R_ESI]; break;
	case 5: ea = r[R_EDI]; break;
	case 6: ea = mod == 0 ? 0 : r[R_EBP]; seg = mod == 0 ? SR_DS : SR_SS; break;
	default: ea = r[R_EBX]; break;
	}
	if (mod == 1) {
		if (!emul_fetch_imm(e, 1, &disp))
			return false;
		disp = (u32)(s32)(s8)disp;
	} else if (mod == 2 || (mod == 0 && rm == 6)) {
		if (!emul_fetch_imm(e, 2, &disp))
			return false;
	}
	in->rm.seg = seg_or(in, seg);
	in->rm.off = (ea + disp) & 0xFFFF;
	return true;
}

/* SDM Vol. 2, tables 2-2 and 2-3: 32-bit addressing with SIB. */
static bool modrm32(struct emul *e, unsigned mod, unsigned rm)
{
	const u32 *r = e->cpu->gpr;
	struct insn *in = &e->in;
	u32 ea = 0, disp = 0;
	enum emul_sreg seg = SR_DS;
	unsigned disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) {
		u8 sib;
		if (!emul_fetch8(e, &sib))
			return false;
		unsigned scale = sib >> 6, index = (sib >> 3) & 7, base = sib & 7;
		if (index != R_ESP)
			ea = r[index] << scale;
		if (base == R_EBP && mod == 0) {
			disp_size = 4;
		} else {
			ea += r[base];
			if (base == R_ESP || base == R_EBP)
				seg = SR_SS;
		}
	} else if (rm == R_EBP && mod == 0) {
		disp_size = 4;
	} else {
		ea = r[rm];
		if (rm == R_EBP)
			seg = SR_SS;
	}
	if (disp_size && !emul_fetch_imm(e, disp_size, &disp))
		return false;
	if (disp_size == 1)
		disp = (u32)(s32)(s8)disp;
	in->rm.seg = seg_or(in, seg);
	in->rm.off = ea + disp;
	return true;
}

bool emul_decode_modrm(struct emul *e)
{
	struct insn *in = &e->in;
	if (!emul_fetch8(e, &in->modrm))
		return false;
	in->has_modrm = true;
	unsigned mod = MODRM_MOD(in->modrm), rm = MODRM_RM(in->modrm);
	if (mod == 3) {
		in->rm.is_reg = true;
		in->rm.reg = rm;
		return true;
	}
	in->rm.is_reg = false;
	return in->addrsize == 2 ? modrm16(e, mod, rm) : modrm32(e, mod, rm);
}

u32 emul_get_reg(const struct emul *e, unsigned reg, unsigned size)
{
	const u32 *r = e->cpu->gpr;
	if (size == 1)
		return reg < 4 ? r[reg] & 0xFF : (r[reg - 4] >> 8) & 0xFF; /* AH CH DH BH */
	return size == 2 ? r[reg] & 0xFFFF : r[reg];
}

void emul_set_reg(struct emul *e, unsigned reg, unsigned size, u32 val)
{
	u32 *r = e->cpu->gpr;
	if (size == 1) {
		if (reg < 4)
			r[reg] = (r[reg] & ~0xFFu) | (val & 0xFF);
		else
			r[reg - 4] = (r[reg - 4] & ~0xFF00u) | (val & 0xFF) << 8;
	} else if (size == 2) {
		r[reg] = (r[reg] & ~0xFFFFu) | (val & 0xFFFF);
	} else {
		r[reg] = val;
	}
}

bool emul_get_rm(struct emul *e, unsigned size, u32 *val)
{
	const struct operand *o = &e->in.rm;
	if (o->is_reg) {
		*val = emul_get_reg(e, o->reg, size);
		return true;
	}
	return emul_read_n(e, o->seg, o->off, size, val);
}

bool emul_set_rm(struct emul *e, unsigned size, u32 val)
{
	const struct operand *o = &e->in.rm;
	if (o->is_reg) {
		emul_set_reg(e, o->reg, size, val);
		return true;
	}
	return emul_write_n(e, o->seg, o->off, size, val);
}
