/* exec_0f.c: the two-byte (0F) opcodes of start-up code: system instructions, Jcc rel16/32, BT family, MOVZX/MOVSX. */
#include "alu.h"
#include "internal.h"

/* EDX:EAX, as RDMSR and WRMSR use them. */
static u64 edx_eax(const struct emul_cpu *c)
{
	return (u64)c->gpr[R_EDX] << 32 | c->gpr[R_EAX];
}

/* A control or MSR access the policy refused: the fault it named, or its stop. */
static bool policy(struct emul *e, enum emul_access a)
{
	switch (a) {
	case ACC_OK:
		return true;
	case ACC_GP:
		emul_fault(e, VEC_GP, 0);
		return false;
	case ACC_NO_RAM:
		emul_stop(e, EMUL_NO_RAM);
		return false;
	case ACC_STOP:
	default:
		emul_stop(e, EMUL_POLICY);
		return false;
	}
}

/* The privileged instructions need CPL 0 (always so in real mode). */
static bool cpl0(struct emul *e)
{
	if (emul_cpl(e) == 0)
		return true;
	emul_fault(e, VEC_GP, 0);
	return false;
}

/* 0F 01: group 7: SGDT, SIDT, LGDT, LIDT, SMSW, LMSW. */
static void group7(struct emul *e)
{
	struct emul_cpu *c = e->cpu;
	const struct emul_ops *o = e->ops;
	if (!emul_decode_modrm(e))
		return;
	unsigned sub = MODRM_REG(e->in.modrm);
	bool mem = !e->in.rm.is_reg;
	const struct operand *rm = &e->in.rm;
	u32 v, limit, base;
	/* SDM Vol. 2, LGDT/LIDT: with a 16-bit operand size only 24 bits of the base are loaded. */
	u32 base_mask = e->in.opsize == 2 ? 0xFFFFFF : 0xFFFFFFFF;
	switch (sub) {
	case 0:
	case 1: /* SGDT, SIDT */
		if (!mem) {
			emul_fault(e, VEC_UD, 0);
			return;
		}
		limit = sub == 0 ? c->gdt_limit : c->idt_limit;
		base = (sub == 0 ? c->gdt_base : c->idt_base) & base_mask;
		if (!emul_write_n(e, rm->seg, rm->off, 2, limit) || !emul_write_n(e, rm->seg, rm->off + 2, 4, base))
			return;
		break;
	case 2:
	case 3: /* LGDT, LIDT */
		if (!mem) {
			emul_fault(e, VEC_UD, 0);
			return;
		}
		if (!cpl0(e) || !emul_read_n(e, rm->seg, rm->off, 2, &limit) ||
		    !emul_read_n(e, rm->seg, rm->off + 2, 4, &base))
			return;
		if (sub == 2) {
			c->gdt_limit = (u16)limit;
			c->gdt_base = base & base_mask;
		} else {
			c->idt_limit = (u16)limit;
			c->idt_base = base & base_mask;
		}
		break;
	case 4: /* SMSW: CR0 bits 15:0 (a register destination takes the operand size) */
		v = (u32)o->read_ctl(o->ctx, CTL_CR0);
		if (!emul_set_rm(e, rm->is_reg ? e->in.opsize : 2, v))
			return;
		break;
	case 6: { /* LMSW: CR0 bits 3:0; it can set PE but not clear it */
		if (!cpl0(e) || !emul_get_rm(e, 2, &v))
			return;
		u64 cr0 = o->read_ctl(o->ctx, CTL_CR0);
		u64 next = (cr0 & ~0xFULL) | (v & 0xF) | (cr0 & CR0_PE_BIT);
		if (!policy(e, o->write_ctl(o->ctx, CTL_CR0, next)))
			return;
		break;
	}
	default:
		emul_stop(e, EMUL_UNKNOWN);
		return;
	}
	emul_advance(e);
}

/* 0F 20, 0F 22: MOV from and to CR0, CR3, CR4 (the ModRM mod field is ignored: always registers). */
static void mov_cr(struct emul *e, bool to_cr)
{
	const struct emul_ops *o = e->ops;
	if (!emul_decode_modrm(e))
		return;
	unsigned cr = MODRM_REG(e->in.modrm), gpr = MODRM_RM(e->in.modrm);
	enum emul_ctl which;
	switch (cr) {
	case 0: which = CTL_CR0; break;
	case 3: which = CTL_CR3; break;
	case 4: which = CTL_CR4; break;
	default:
		/* CR2 and CR8 hold nothing start-up code needs; CR1 and CR5-7 are #UD. */
		emul_stop(e, EMUL_UNKNOWN);
		return;
	}
	if (!cpl0(e))
		return;
	if (to_cr) {
		if (!policy(e, o->write_ctl(o->ctx, which, e->cpu->gpr[gpr])))
			return;
	} else {
		e->cpu->gpr[gpr] = (u32)o->read_ctl(o->ctx, which);
	}
	emul_advance(e);
}

static void msr(struct emul *e, bool write)
{
	const struct emul_ops *o = e->ops;
	struct emul_cpu *c = e->cpu;
	if (!cpl0(e))
		return;
	u32 index = c->gpr[R_ECX];
	if (write) {
		if (!policy(e, o->wrmsr(o->ctx, index, edx_eax(c))))
			return;
	} else {
		u64 v;
		if (!policy(e, o->rdmsr(o->ctx, index, &v)))
			return;
		c->gpr[R_EAX] = (u32)v;
		c->gpr[R_EDX] = (u32)(v >> 32);
	}
	emul_advance(e);
}

static void cpuid(struct emul *e)
{
	struct emul_cpu *c = e->cpu;
	struct emul_cpuid r;
	e->ops->cpuid(e->ops->ctx, c->gpr[R_EAX], c->gpr[R_ECX], &r);
	c->gpr[R_EAX] = r.eax;
	c->gpr[R_EBX] = r.ebx;
	c->gpr[R_ECX] = r.ecx;
	c->gpr[R_EDX] = r.edx;
	emul_advance(e);
}

/*
 * BT, BTS, BTR, BTC. With a register bit offset and a memory operand the
 * offset is signed and may address outside the operand (SDM Vol. 2, BT,
 * "bit base, bit offset"); with an immediate it is taken modulo the size.
 */
static void bit_op(struct emul *e, enum bit_op op, bool imm_form)
{
	unsigned size = e->in.opsize, bits = 8 * size;
	u32 offset, value;
	if (!emul_decode_modrm(e))
		return;
	if (imm_form) {
		if (!emul_fetch_imm(e, 1, &offset))
			return;
		offset &= bits - 1;
	} else {
		offset = emul_get_reg(e, MODRM_REG(e->in.modrm), size);
		if (!e->in.rm.is_reg) {
			s32 signed_off = size == 2 ? (s16)offset : (s32)offset;
			s32 unit = signed_off >= 0 ? signed_off / (s32)bits : -((-(signed_off + 1)) / (s32)bits) - 1;
			e->in.rm.off += (u32)(unit * (s32)size);
			if (e->in.addrsize == 2)
				e->in.rm.off &= 0xFFFF;
		}
		offset &= bits - 1;
	}
	if (!emul_get_rm(e, size, &value))
		return;
	u32 next = alu_bit(op, value, offset, &e->cpu->eflags);
	if (op != BITOP_BT && !emul_set_rm(e, size, next))
		return;
	emul_advance(e);
}

static void movx(struct emul *e, u8 op)
{
	unsigned from = (op & 1) ? 2 : 1;
	u32 v;
	if (!emul_decode_modrm(e) || !emul_get_rm(e, from, &v))
		return;
	if (op >= 0xBE) /* MOVSX */
		v = from == 1 ? (u32)(s32)(s8)v : (u32)(s32)(s16)v;
	emul_set_reg(e, MODRM_REG(e->in.modrm), e->in.opsize, v);
	emul_advance(e);
}

void emul_execute_0f(struct emul *e)
{
	u8 op;
	u32 v;
	if (!emul_fetch8(e, &op))
		return;
	switch (op) {
	case 0x01:
		group7(e);
		return;
	case 0x08: case 0x09:
		/*
		 * INVD, WBINVD: caches are coherent for everything the
		 * interpreter does, and the hypervisor never runs INVD for a
		 * guest (it would drop its own dirty lines): both complete here.
		 */
		if (cpl0(e))
			emul_advance(e);
		return;
	case 0x20: case 0x22:
		mov_cr(e, op == 0x22);
		return;
	case 0x30: case 0x32:
		msr(e, op == 0x30);
		return;
	case 0x80 ... 0x8F: {
		if (!emul_fetch_imm(e, e->in.opsize, &v))
			return;
		emul_advance(e);
		if (alu_condition(op & 0xF, e->cpu->eflags))
			emul_jump(e, e->cpu->eip + (e->in.opsize == 2 ? (u32)(s32)(s16)v : v));
		return;
	}
	case 0xA0: case 0xA8: /* PUSH FS, PUSH GS */
		if (emul_push(e, e->in.opsize, e->cpu->seg[op == 0xA0 ? SR_FS : SR_GS].sel))
			emul_advance(e);
		return;
	case 0xA1: case 0xA9: /* POP FS, POP GS */
		if (emul_pop(e, e->in.opsize, &v) && emul_load_data_seg(e, op == 0xA1 ? SR_FS : SR_GS, (u16)v))
			emul_advance(e);
		return;
	case 0xA2:
		cpuid(e);
		return;
	case 0xA3: bit_op(e, BITOP_BT, false); return;
	case 0xAB: bit_op(e, BITOP_BTS, false); return;
	case 0xB3: bit_op(e, BITOP_BTR, false); return;
	case 0xBB: bit_op(e, BITOP_BTC, false); return;
	case 0xBA: {
		/* Group 8: /4 BT, /5 BTS, /6 BTR, /7 BTC with imm8; peek at ModRM.reg (the ModRM is decoded again). */
		u8 modrm;
		if (!emul_fetch(e, e->in.start + e->in.len, &modrm))
			return;
		if (MODRM_REG(modrm) < 4) {
			emul_stop(e, EMUL_UNKNOWN);
			return;
		}
		bit_op(e, (enum bit_op)(MODRM_REG(modrm) - 4), true);
		return;
	}
	case 0xB6: case 0xB7: case 0xBE: case 0xBF:
		movx(e, op);
		return;
	default:
		emul_stop(e, EMUL_UNKNOWN);
		return;
	}
}
