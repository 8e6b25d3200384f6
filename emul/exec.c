/* exec.c: the one-byte opcodes the interpreter executes (SDM Vol. 2, appendix A, table A-2). */
#include "alu.h"
#include "internal.h"

/* SDM Vol. 1, 6.2.3: the stack's width comes from SS.B, not from the operand size. */
/* The next instruction's EIP: where relative jumps and calls count from (IP wraps in 16-bit code). */
void emul_advance(struct emul *e)
{
	u32 next = e->in.start + e->in.len;
	e->cpu->eip = (e->cpu->seg[SR_CS].ar & EMUL_AR_DB) ? next : next & 0xFFFF;
}

static bool stack32(const struct emul *e)
{
	return e->cpu->seg[SR_SS].ar & EMUL_AR_DB;
}

static u32 sp_get(const struct emul *e)
{
	u32 sp = e->cpu->gpr[R_ESP];
	return stack32(e) ? sp : sp & 0xFFFF;
}

static void sp_set(struct emul *e, u32 sp)
{
	emul_set_reg(e, R_ESP, stack32(e) ? 4 : 2, sp);
}

bool emul_push(struct emul *e, unsigned size, u32 val)
{
	u32 sp = sp_get(e) - size;
	if (!stack32(e))
		sp &= 0xFFFF;
	if (!emul_write_n(e, SR_SS, sp, size, val))
		return false;
	sp_set(e, sp);
	return true;
}

bool emul_pop(struct emul *e, unsigned size, u32 *val)
{
	u32 sp = sp_get(e);
	if (!emul_read_n(e, SR_SS, sp, size, val))
		return false;
	sp_set(e, sp + size);
	return true;
}

void emul_jump(struct emul *e, u32 target)
{
	if (e->in.opsize == 2)
		target &= 0xFFFF;
	/* SDM Vol. 2, JMP: a near target beyond the CS limit is #GP(0). */
	if (target > e->cpu->seg[SR_CS].limit) {
		emul_fault(e, VEC_GP, 0);
		return;
	}
	e->cpu->eip = target;
}

static void jump_rel(struct emul *e, unsigned size)
{
	u32 imm;
	if (!emul_fetch_imm(e, size, &imm))
		return;
	s32 rel = size == 1 ? (s8)imm : size == 2 ? (s16)imm : (s32)imm;
	emul_advance(e);
	emul_jump(e, e->cpu->eip + (u32)rel);
}


/* EFLAGS bits POPF may change at CPL 0 with paging off (SDM Vol. 2, POPF): VM and RF stay. */
#define POPF_WRITABLE (FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_AC | FL_ID)

static void popf(struct emul *e)
{
	u32 val;
	if (!emul_pop(e, e->in.opsize, &val))
		return;
	u32 mask = POPF_WRITABLE;
	if (e->in.opsize == 2)
		mask &= 0xFFFF;
	/* Not at CPL 0: IOPL stays, and IF stays unless CPL <= IOPL. */
	unsigned cpl = emul_cpl(e);
	if (cpl > 0)
		mask &= ~(u32)FL_IOPL;
	if (cpl > ((e->cpu->eflags & FL_IOPL) >> 12))
		mask &= ~(u32)FL_IF;
	/* AC and ID are bits a 486/Pentium-class CPU keeps writable; Linux probes them this way. */
	e->cpu->eflags = (e->cpu->eflags & ~mask) | (val & mask) | FL_FIXED1;
}

/* ALU forms 00-3F: Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz. */
static void alu_form(struct emul *e, u8 op)
{
	enum alu_op aop = (enum alu_op)(op >> 3);
	unsigned form = op & 7, size = (form & 1) ? e->in.opsize : 1;
	u32 *fl = &e->cpu->eflags;
	u32 a, b, r;
	if (form >= 4) {
		if (!emul_fetch_imm(e, size == 1 ? 1 : size, &b))
			return;
		a = emul_get_reg(e, R_EAX, size);
		r = alu_binary(aop, a, b, size, fl);
		if (aop != ALU_CMP)
			emul_set_reg(e, R_EAX, size, r);
		emul_advance(e);
		return;
	}
	if (!emul_decode_modrm(e))
		return;
	unsigned reg = MODRM_REG(e->in.modrm);
	if (!emul_get_rm(e, size, &a))
		return;
	b = emul_get_reg(e, reg, size);
	if (form & 2) { /* the register is the destination */
		r = alu_binary(aop, b, a, size, fl);
		if (aop != ALU_CMP)
			emul_set_reg(e, reg, size, r);
	} else {
		r = alu_binary(aop, a, b, size, fl);
		if (aop != ALU_CMP && !emul_set_rm(e, size, r))
			return;
	}
	emul_advance(e);
}

/* 80, 81, 83: group 1 with an immediate. */
static void group1(struct emul *e, u8 op)
{
	unsigned size = op == 0x80 ? 1 : e->in.opsize;
	if (!emul_decode_modrm(e))
		return;
	u32 a, imm;
	unsigned isize = op == 0x81 ? size : 1;
	if (!emul_fetch_imm(e, isize, &imm))
		return;
	if (op == 0x83)
		imm = (u32)(s32)(s8)imm; /* sign-extended imm8 */
	if (!emul_get_rm(e, size, &a))
		return;
	enum alu_op aop = (enum alu_op)MODRM_REG(e->in.modrm);
	u32 r = alu_binary(aop, a, imm, size, &e->cpu->eflags);
	if (aop != ALU_CMP && !emul_set_rm(e, size, r))
		return;
	emul_advance(e);
}

/* C0, C1, D0-D3: group 2 shifts and rotates. */
static void group2(struct emul *e, u8 op)
{
	unsigned size = (op & 1) ? e->in.opsize : 1;
	if (!emul_decode_modrm(e))
		return;
	u32 count = 1, a, r;
	if (op == 0xC0 || op == 0xC1) {
		if (!emul_fetch_imm(e, 1, &count))
			return;
	} else if (op == 0xD2 || op == 0xD3) {
		count = e->cpu->gpr[R_ECX] & 0xFF;
	}
	if (!emul_get_rm(e, size, &a))
		return;
	if (!alu_shift((enum shift_op)MODRM_REG(e->in.modrm), a, (u8)count, size, &e->cpu->eflags, &r)) {
		emul_stop(e, EMUL_UNKNOWN);
		return;
	}
	if (emul_set_rm(e, size, r))
		emul_advance(e);
}

/* F6, F7: group 3: TEST, NOT, NEG. MUL and DIV are not in start-up code. */
static void group3(struct emul *e, u8 op)
{
	unsigned size = op == 0xF6 ? 1 : e->in.opsize;
	if (!emul_decode_modrm(e))
		return;
	unsigned sub = MODRM_REG(e->in.modrm);
	u32 a, imm;
	if (sub >= 4) {
		emul_stop(e, EMUL_UNKNOWN);
		return;
	}
	if (sub <= 1 && !emul_fetch_imm(e, size, &imm))
		return;
	if (!emul_get_rm(e, size, &a))
		return;
	if (sub <= 1) {
		alu_binary(ALU_AND, a, imm, size, &e->cpu->eflags);
	} else if (sub == 2) {
		if (!emul_set_rm(e, size, ~a)) /* NOT changes no flags */
			return;
	} else if (!emul_set_rm(e, size, alu_neg(a, size, &e->cpu->eflags))) {
		return;
	}
	emul_advance(e);
}

/* FE, FF: INC, DEC, near CALL and JMP through r/m, PUSH r/m. */
static void group45(struct emul *e, u8 op)
{
	unsigned size = op == 0xFE ? 1 : e->in.opsize;
	if (!emul_decode_modrm(e))
		return;
	unsigned sub = MODRM_REG(e->in.modrm);
	u32 a;
	if ((op == 0xFE && sub > 1) || sub == 3 || sub == 5 || sub == 7) {
		emul_stop(e, EMUL_UNKNOWN); /* far indirect CALL/JMP are not interpreted */
		return;
	}
	if (!emul_get_rm(e, size, &a))
		return;
	switch (sub) {
	case 0:
	case 1:
		if (!emul_set_rm(e, size, alu_inc_dec(sub == 1, a, size, &e->cpu->eflags)))
			return;
		emul_advance(e);
		return;
	case 2: /* CALL near indirect */
		emul_advance(e);
		if (emul_push(e, size, e->cpu->eip))
			emul_jump(e, a);
		return;
	case 4: /* JMP near indirect */
		emul_jump(e, a);
		return;
	default: /* 6: PUSH */
		if (emul_push(e, size, a))
			emul_advance(e);
		return;
	}
}

static void mov_forms(struct emul *e, u8 op)
{
	unsigned size = (op & 1) ? e->in.opsize : 1;
	u32 v;
	if (!emul_decode_modrm(e))
		return;
	unsigned reg = MODRM_REG(e->in.modrm);
	if (op & 2) { /* 8A, 8B: to the register */
		if (!emul_get_rm(e, size, &v))
			return;
		emul_set_reg(e, reg, size, v);
	} else if (!emul_set_rm(e, size, emul_get_reg(e, reg, size))) {
		return;
	}
	emul_advance(e);
}

/* 8E: MOV Sreg, r/m16. MOV to CS is #UD; MOV SS opens an interrupt shadow. */
static void mov_to_sreg(struct emul *e)
{
	u32 v;
	if (!emul_decode_modrm(e))
		return;
	unsigned sreg = MODRM_REG(e->in.modrm);
	if (sreg == SR_CS || sreg > SR_GS) {
		emul_fault(e, VEC_UD, 0);
		return;
	}
	if (!emul_get_rm(e, 2, &v) || !emul_load_data_seg(e, (enum emul_sreg)sreg, (u16)v))
		return;
	if (sreg == SR_SS)
		e->cpu->movss_shadow = true;
	emul_advance(e);
}

static void mov_from_sreg(struct emul *e)
{
	if (!emul_decode_modrm(e))
		return;
	unsigned sreg = MODRM_REG(e->in.modrm);
	if (sreg > SR_GS) {
		emul_fault(e, VEC_UD, 0);
		return;
	}
	u16 sel = e->cpu->seg[sreg].sel;
	/* To a register with a 32-bit operand size the selector is zero-extended; to memory it is 16 bits. */
	unsigned size = e->in.rm.is_reg ? e->in.opsize : 2;
	if (emul_set_rm(e, size, sel))
		emul_advance(e);
}

static void push_pop_sreg(struct emul *e, enum emul_sreg s, bool pop)
{
	u32 v;
	if (!pop) {
		if (emul_push(e, e->in.opsize, e->cpu->seg[s].sel))
			emul_advance(e);
		return;
	}
	if (!emul_pop(e, e->in.opsize, &v) || !emul_load_data_seg(e, s, (u16)v))
		return;
	if (s == SR_SS)
		e->cpu->movss_shadow = true;
	emul_advance(e);
}

static void moffs(struct emul *e, u8 op)
{
	unsigned size = (op & 1) ? e->in.opsize : 1;
	u32 off, v;
	if (!emul_fetch_imm(e, e->in.addrsize, &off))
		return;
	enum emul_sreg seg = e->in.seg_override >= 0 ? (enum emul_sreg)e->in.seg_override : SR_DS;
	if (op < 0xA2) { /* A0, A1: to AL/eAX */
		if (!emul_read_n(e, seg, off, size, &v))
			return;
		emul_set_reg(e, R_EAX, size, v);
	} else if (!emul_write_n(e, seg, off, size, emul_get_reg(e, R_EAX, size))) {
		return;
	}
	emul_advance(e);
}

static void far_jump_direct(struct emul *e)
{
	u32 off, sel;
	if (!emul_fetch_imm(e, e->in.opsize, &off) || !emul_fetch_imm(e, 2, &sel))
		return;
	emul_far_jump(e, (u16)sel, off);
}

static void ret_near(struct emul *e, bool imm16)
{
	u32 n = 0, target;
	if (imm16 && !emul_fetch_imm(e, 2, &n))
		return;
	if (!emul_pop(e, e->in.opsize, &target))
		return;
	sp_set(e, sp_get(e) + n);
	emul_jump(e, target);
}

static void call_rel(struct emul *e)
{
	u32 imm;
	if (!emul_fetch_imm(e, e->in.opsize, &imm))
		return;
	emul_advance(e);
	u32 target = e->cpu->eip + imm;
	if (emul_push(e, e->in.opsize, e->cpu->eip))
		emul_jump(e, target);
}

/* A flag-setting instruction without operands (F5, F8-FD). */
static void flag_op(struct emul *e, u8 op)
{
	u32 *fl = &e->cpu->eflags;
	switch (op) {
	case 0xF5: *fl ^= FL_CF; break;
	case 0xF8: *fl &= ~(u32)FL_CF; break;
	case 0xF9: *fl |= FL_CF; break;
	case 0xFA: *fl &= ~(u32)FL_IF; break;
	case 0xFB:
		/* STI delays interrupts by one instruction if IF was clear (SDM Vol. 2, STI). */
		if (!(*fl & FL_IF))
			e->cpu->sti_shadow = true;
		*fl |= FL_IF;
		break;
	case 0xFC: *fl &= ~(u32)FL_DF; break;
	default: *fl |= FL_DF; break;
	}
	emul_advance(e);
}

static void lea(struct emul *e)
{
	if (!emul_decode_modrm(e))
		return;
	if (e->in.rm.is_reg) {
		emul_fault(e, VEC_UD, 0);
		return;
	}
	emul_set_reg(e, MODRM_REG(e->in.modrm), e->in.opsize, e->in.rm.off);
	emul_advance(e);
}

static void xchg_rm(struct emul *e, u8 op)
{
	unsigned size = (op & 1) ? e->in.opsize : 1;
	u32 a;
	if (!emul_decode_modrm(e) || !emul_get_rm(e, size, &a))
		return;
	unsigned reg = MODRM_REG(e->in.modrm);
	if (!emul_set_rm(e, size, emul_get_reg(e, reg, size)))
		return;
	emul_set_reg(e, reg, size, a);
	emul_advance(e);
}

static void test_rm(struct emul *e, u8 op)
{
	unsigned size = (op & 1) ? e->in.opsize : 1;
	u32 a;
	if (!emul_decode_modrm(e) || !emul_get_rm(e, size, &a))
		return;
	alu_binary(ALU_AND, a, emul_get_reg(e, MODRM_REG(e->in.modrm), size), size, &e->cpu->eflags);
	emul_advance(e);
}

static void mov_rm_imm(struct emul *e, u8 op)
{
	unsigned size = op == 0xC6 ? 1 : e->in.opsize;
	u32 imm;
	if (!emul_decode_modrm(e))
		return;
	if (MODRM_REG(e->in.modrm) != 0) {
		emul_stop(e, EMUL_UNKNOWN);
		return;
	}
	if (emul_fetch_imm(e, size, &imm) && emul_set_rm(e, size, imm))
		emul_advance(e);
}

void emul_execute(struct emul *e, u8 op)
{
	struct emul_cpu *c = e->cpu;
	unsigned osz = e->in.opsize;
	u32 v;
	if (op < 0x40 && (op & 7) < 6) {
		alu_form(e, op);
		return;
	}
	switch (op) {
	case 0x06: case 0x0E: case 0x16: case 0x1E: /* PUSH ES/CS/SS/DS */
		push_pop_sreg(e, (enum emul_sreg)(op >> 3), false);
		return;
	case 0x07: case 0x17: case 0x1F: /* POP ES/SS/DS */
		push_pop_sreg(e, (enum emul_sreg)(op >> 3), true);
		return;
	case 0x0F:
		emul_execute_0f(e);
		return;
	case 0x40 ... 0x4F: /* INC/DEC r */
		emul_set_reg(e, op & 7, osz, alu_inc_dec(op >= 0x48, emul_get_reg(e, op & 7, osz), osz, &c->eflags));
		emul_advance(e);
		return;
	case 0x50 ... 0x57: /* PUSH r: the value of ESP before the push */
		if (emul_push(e, osz, emul_get_reg(e, op & 7, osz)))
			emul_advance(e);
		return;
	case 0x58 ... 0x5F:
		if (emul_pop(e, osz, &v)) {
			emul_set_reg(e, op & 7, osz, v);
			emul_advance(e);
		}
		return;
	case 0x68: case 0x6A: /* PUSH Iz, PUSH Ib (sign-extended) */
		if (!emul_fetch_imm(e, op == 0x68 ? osz : 1, &v))
			return;
		if (op == 0x6A)
			v = (u32)(s32)(s8)v;
		if (emul_push(e, osz, v))
			emul_advance(e);
		return;
	case 0x70 ... 0x7F: { /* Jcc rel8 */
		u32 imm;
		if (!emul_fetch_imm(e, 1, &imm))
			return;
		emul_advance(e);
		if (alu_condition(op & 0xF, c->eflags))
			emul_jump(e, c->eip + (u32)(s32)(s8)imm);
		return;
	}
	case 0x80: case 0x81: case 0x83:
		group1(e, op);
		return;
	case 0x84: case 0x85:
		test_rm(e, op);
		return;
	case 0x86: case 0x87:
		xchg_rm(e, op);
		return;
	case 0x88 ... 0x8B:
		mov_forms(e, op);
		return;
	case 0x8C:
		mov_from_sreg(e);
		return;
	case 0x8D:
		lea(e);
		return;
	case 0x8E:
		mov_to_sreg(e);
		return;
	case 0x8F:
		if (!emul_decode_modrm(e))
			return;
		if (MODRM_REG(e->in.modrm) != 0) {
			emul_stop(e, EMUL_UNKNOWN);
			return;
		}
		if (emul_pop(e, osz, &v) && emul_set_rm(e, osz, v))
			emul_advance(e);
		return;
	case 0x90: /* NOP (XCHG eAX, eAX); PAUSE with F3 */
		emul_advance(e);
		return;
	case 0x91 ... 0x97:
		v = emul_get_reg(e, op & 7, osz);
		emul_set_reg(e, op & 7, osz, emul_get_reg(e, R_EAX, osz));
		emul_set_reg(e, R_EAX, osz, v);
		emul_advance(e);
		return;
	case 0x98: /* CBW / CWDE */
		emul_set_reg(e, R_EAX, osz, osz == 2 ? (u32)(s16)(s8)c->gpr[R_EAX] : (u32)(s32)(s16)c->gpr[R_EAX]);
		emul_advance(e);
		return;
	case 0x99: /* CWD / CDQ */
		v = emul_get_reg(e, R_EAX, osz) & (osz == 2 ? 0x8000 : 0x80000000) ? 0xFFFFFFFF : 0;
		emul_set_reg(e, R_EDX, osz, v);
		emul_advance(e);
		return;
	case 0x9C: /* PUSHF: VM and RF read as 0 in the image */
		if (emul_push(e, osz, c->eflags & ~(u32)(FL_VM | FL_RF)))
			emul_advance(e);
		return;
	case 0x9D:
		popf(e);
		if (!e->stopped)
			emul_advance(e);
		return;
	case 0xA0 ... 0xA3:
		moffs(e, op);
		return;
	case 0xA8: case 0xA9:
		if (!emul_fetch_imm(e, op == 0xA8 ? 1 : osz, &v))
			return;
		alu_binary(ALU_AND, emul_get_reg(e, R_EAX, op == 0xA8 ? 1 : osz), v, op == 0xA8 ? 1 : osz, &c->eflags);
		emul_advance(e);
		return;
	case 0xB0 ... 0xB7:
		if (emul_fetch_imm(e, 1, &v)) {
			emul_set_reg(e, op & 7, 1, v);
			emul_advance(e);
		}
		return;
	case 0xB8 ... 0xBF:
		if (emul_fetch_imm(e, osz, &v)) {
			emul_set_reg(e, op & 7, osz, v);
			emul_advance(e);
		}
		return;
	case 0xC0: case 0xC1: case 0xD0 ... 0xD3:
		group2(e, op);
		return;
	case 0xC2: case 0xC3:
		ret_near(e, op == 0xC2);
		return;
	case 0xC6: case 0xC7:
		mov_rm_imm(e, op);
		return;
	case 0xE8:
		call_rel(e);
		return;
	case 0xE9:
		jump_rel(e, osz);
		return;
	case 0xEA:
		far_jump_direct(e);
		return;
	case 0xEB:
		jump_rel(e, 1);
		return;
	case 0xF4: /* HLT: stops here; the vCPU waits for INIT */
		emul_advance(e);
		emul_stop(e, EMUL_HALT);
		return;
	case 0xF5: case 0xF8 ... 0xFD:
		flag_op(e, op);
		return;
	case 0xF6: case 0xF7:
		group3(e, op);
		return;
	case 0xFE: case 0xFF:
		group45(e, op);
		return;
	default:
		emul_stop(e, EMUL_UNKNOWN);
		return;
	}
}
