/* internal.h: the interpreter's state for one run, shared by its decode, segment and execute parts. */
#ifndef SLAT_EMUL_INTERNAL_H
#define SLAT_EMUL_INTERNAL_H

#include "emul.h"

/* Exception vectors (SDM Vol. 3A, table 6-1). */
#define VEC_DE 0
#define VEC_UD 6
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13

#define CR0_PE_BIT BIT(0)
#define CR0_PG_BIT BIT(31)

/* A memory operand or a register, as ModRM names it. */
struct operand {
	bool is_reg;
	unsigned reg;       /* register number when is_reg */
	enum emul_sreg seg; /* memory: the segment */
	u32 off;            /* memory: the effective address, masked to the address size */
};

/* One instruction being decoded and executed. */
struct insn {
	u32 start;            /* EIP of its first byte */
	unsigned len;         /* bytes fetched so far */
	u8 bytes[EMUL_MAX_INSN];
	unsigned opsize;      /* 2 or 4 */
	unsigned addrsize;    /* 2 or 4 */
	int seg_override;     /* -1 or an enum emul_sreg */
	bool rep, repne, lock;
	u8 modrm;
	bool has_modrm;
	struct operand rm;
};

struct emul {
	struct emul_cpu *cpu;
	const struct emul_ops *ops;
	struct emul_result *res;
	struct insn in;
	bool stopped;         /* res->why is set */
};

/* Stop the run (the first reason wins); the instruction has no further effect. */
void emul_fault(struct emul *e, u8 vector, u32 error);
void emul_stop(struct emul *e, enum emul_stop why);

/* ---- segment.c ---- */
bool emul_protected(const struct emul *e);
unsigned emul_cpl(const struct emul *e);
/*
 * Data access of @len bytes at @seg:@off, with the segment's limit and type
 * checks (SDM Vol. 3A, 5.3 and 5.4); false after stopping the run.
 */
bool emul_read(struct emul *e, enum emul_sreg seg, u32 off, void *buf, unsigned len);
bool emul_write(struct emul *e, enum emul_sreg seg, u32 off, const void *buf, unsigned len);
bool emul_read_n(struct emul *e, enum emul_sreg seg, u32 off, unsigned size, u32 *val);
bool emul_write_n(struct emul *e, enum emul_sreg seg, u32 off, unsigned size, u32 val);
/* Instruction fetch at CS:@off, with the CS limit check. */
bool emul_fetch(struct emul *e, u32 off, u8 *byte);
/* MOV/POP to a data segment register or SS: real-mode or protected-mode rules. */
bool emul_load_data_seg(struct emul *e, enum emul_sreg seg, u16 sel);
/* A far JMP or CALL's CS load and jump to @sel:@off. */
bool emul_far_jump(struct emul *e, u16 sel, u32 off);

/* ---- stack (exec.c) ---- */
bool emul_push(struct emul *e, unsigned size, u32 val);
bool emul_pop(struct emul *e, unsigned size, u32 *val);

/* ---- decode.c ---- */
bool emul_fetch8(struct emul *e, u8 *b);
bool emul_fetch_imm(struct emul *e, unsigned size, u32 *val);
/* Prefixes and the default sizes; leaves the first opcode byte in *@op. */
bool emul_decode_prefixes(struct emul *e, u8 *op);
/* The ModRM byte (and SIB, displacement) into e->in.rm. */
bool emul_decode_modrm(struct emul *e);
#define MODRM_REG(m) (((m) >> 3) & 7)
#define MODRM_MOD(m) ((m) >> 6)
#define MODRM_RM(m) ((m) & 7)

/* Register access by size: 1 = AL..BH (4-7 are the high bytes), 2, 4. */
u32 emul_get_reg(const struct emul *e, unsigned reg, unsigned size);
void emul_set_reg(struct emul *e, unsigned reg, unsigned size, u32 val);
bool emul_get_rm(struct emul *e, unsigned size, u32 *val);
bool emul_set_rm(struct emul *e, unsigned size, u32 val);

/* ---- exec.c, exec_0f.c ---- */
void emul_execute(struct emul *e, u8 op);
void emul_execute_0f(struct emul *e);
/* A jump within CS: the new EIP must lie within its limit. */
void emul_jump(struct emul *e, u32 target);
/* Move EIP past the current instruction. */
void emul_advance(struct emul *e);

#endif
