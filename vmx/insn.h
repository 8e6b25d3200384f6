/* insn.h: decode the x86 store instructions a guest uses on MMIO registers (pure, host-tested). */
#ifndef SLAT_INSN_H
#define SLAT_INSN_H

#include "../kernel/types.h"

/*
 * EPT violations do not report the instruction length or the value written,
 * so a trapped MMIO store is decoded: MOV r/m, r (0x88/0x89) and MOV r/m, imm
 * (0xC6/0xC7 /0), with operand-size, REX and segment prefixes, any
 * ModRM/SIB/displacement form, in 64-bit mode. Anything else (XCHG, which
 * would also need the old value loaded) is refused.
 */
struct mmio_store {
	unsigned length;  /* bytes of the whole instruction */
	unsigned size;    /* bytes stored: 1, 2, 4 or 8 */
	bool from_reg;    /* the value is in general register @reg, else @imm */
	unsigned reg;     /* 0-15, in encoding order (RAX, RCX, RDX, RBX, RSP, ...) */
	bool high_byte;   /* a byte store of AH/CH/DH/BH: bits 15:8 of register @reg */
	u64 imm;
};

/* Decode @len bytes at @code. Returns false for anything else (the caller stops the guest). */
bool insn_decode_store(const u8 *code, unsigned len, struct mmio_store *out);

#endif
