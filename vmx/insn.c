/* insn.c: a deliberately small decoder: stores to memory only, 64-bit mode only. */
#include "insn.h"

#define REX_W BIT(3)
#define REX_R BIT(2)
#define MODRM_MOD(m) ((m) >> 6)
#define MODRM_REG(m) (((m) >> 3) & 7)
#define MODRM_RM(m) ((m) & 7)

bool insn_decode_store(const u8 *code, unsigned len, struct mmio_store *out)
{
	unsigned i = 0;
	bool opsize16 = false;
	u8 rex = 0;

	/* Legacy prefixes: operand size, segment overrides (harmless for a store). */
	for (; i < len; i++) {
		u8 b = code[i];
		if (b == 0x66)
			opsize16 = true;
		else if (b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 || b == 0x64 || b == 0x65)
			continue;
		else
			break;
	}
	if (i < len && (code[i] & 0xF0) == 0x40) /* REX must come last, right before the opcode */
		rex = code[i++];
	if (i + 2 > len)
		return false;

	u8 op = code[i++];
	bool byte_op;
	switch (op) {
	case 0x88: case 0xC6:
		byte_op = true;
		break;
	case 0x89: case 0xC7:
		byte_op = false;
		break;
	default:
		return false;
	}
	u8 modrm = code[i++];
	if (MODRM_MOD(modrm) == 3)
		return false; /* register destination: not a memory store */
	if ((op == 0xC6 || op == 0xC7) && MODRM_REG(modrm) != 0)
		return false;

	/* Addressing bytes: SIB, then displacement (SDM Vol. 2A, 2.1.5). */
	unsigned disp = MODRM_MOD(modrm) == 1 ? 1 : MODRM_MOD(modrm) == 2 ? 4 : 0;
	if (MODRM_RM(modrm) == 4) {
		if (i >= len)
			return false;
		u8 sib = code[i++];
		if (MODRM_MOD(modrm) == 0 && (sib & 7) == 5)
			disp = 4; /* no base: disp32 */
	} else if (MODRM_MOD(modrm) == 0 && MODRM_RM(modrm) == 5) {
		disp = 4; /* RIP-relative */
	}
	i += disp;

	out->size = byte_op ? 1 : (rex & REX_W) ? 8 : opsize16 ? 2 : 4;
	out->from_reg = op != 0xC6 && op != 0xC7;
	out->reg = MODRM_REG(modrm) + ((rex & REX_R) ? 8 : 0);
	/* Without any REX prefix, byte registers 4-7 are AH, CH, DH, BH (SDM Vol. 2A, 3.1.1.1). */
	out->high_byte = byte_op && !rex && out->reg >= 4 && out->reg <= 7;
	if (out->high_byte)
		out->reg -= 4;
	out->imm = 0;
	if (!out->from_reg) {
		/* The immediate is at most 4 bytes (REX.W wins over 0x66), sign-extended for 8. */
		unsigned isz = byte_op ? 1 : (rex & REX_W) ? 4 : opsize16 ? 2 : 4;
		if (i + isz > len)
			return false;
		u64 v = 0;
		for (unsigned k = 0; k < isz; k++)
			v |= (u64)code[i + k] << (8 * k);
		if (out->size == 8 && (v & BIT(31)))
			v |= 0xFFFFFFFF00000000ULL;
		out->imm = v;
		i += isz;
	}
	if (i > len)
		return false;
	out->length = i;
	return true;
}
