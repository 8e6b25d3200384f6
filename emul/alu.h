/* alu.h: the integer operations of the interpreter, with the flags exactly as the CPU sets them. */
#ifndef SLAT_EMUL_ALU_H
#define SLAT_EMUL_ALU_H

#include "../kernel/types.h"

/* The eight operations of opcodes 00-3F and group 1 (80-83), in their /reg order (SDM Vol. 2, table A-6). */
enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
/* Group 2 (C0, C1, D0-D3) in /reg order; RCL (2), RCR (3) and /6 are not interpreted. */
enum shift_op { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };
/* BT, BTS, BTR, BTC in the /reg order of group 8 (0F BA /4../7). */
enum bit_op { BITOP_BT, BITOP_BTS, BITOP_BTR, BITOP_BTC };

/*
 * Each takes operands of @size bytes (1, 2 or 4) in the low bits, the
 * current EFLAGS in *@flags, and returns the result, updating the flags
 * the instruction defines. Flags the SDM leaves undefined are set as
 * Intel CPUs set them where that is known (AF = 0 after logic operations),
 * and otherwise left as they were.
 */
u32 alu_binary(enum alu_op op, u32 dst, u32 src, unsigned size, u32 *flags);
u32 alu_inc_dec(bool dec, u32 dst, unsigned size, u32 *flags);
u32 alu_neg(u32 dst, unsigned size, u32 *flags);
/* Returns false for RCL/RCR and /6: not interpreted. */
bool alu_shift(enum shift_op op, u32 dst, u8 count, unsigned size, u32 *flags, u32 *result);
/* BT family on a value: returns the new value (unchanged for BT); CF is the bit's old value. */
u32 alu_bit(enum bit_op op, u32 value, unsigned bit, u32 *flags);
/* The condition of Jcc/SETcc/CMOVcc number @cc (SDM Vol. 2, appendix B.1.4.7). */
bool alu_condition(unsigned cc, u32 flags);

#endif
