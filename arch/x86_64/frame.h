/* frame.h: the register frame the interrupt stubs build; offsets shared by C and NASM. */
#ifndef SLAT_FRAME_H
#define SLAT_FRAME_H

/*
 * Only '#define NAME value' lines between the markers: the build turns them
 * into frame.inc for NASM, so the layout is written once and checked below.
 */
/* BEGIN NASM */
#define FRAME_R15 0
#define FRAME_R14 8
#define FRAME_R13 16
#define FRAME_R12 24
#define FRAME_R11 32
#define FRAME_R10 40
#define FRAME_R9 48
#define FRAME_R8 56
#define FRAME_RBP 64
#define FRAME_RDI 72
#define FRAME_RSI 80
#define FRAME_RDX 88
#define FRAME_RCX 96
#define FRAME_RBX 104
#define FRAME_RAX 112
#define FRAME_VECTOR 120
#define FRAME_ERROR 128
#define FRAME_RIP 136
#define FRAME_CS 144
#define FRAME_RFLAGS 152
#define FRAME_RSP 160
#define FRAME_SS 168
#define FRAME_SIZE 176
/* END NASM */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include "../../kernel/types.h"

/* What an interrupt or exception leaves on the stack, lowest address first. */
struct regs {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error; /* pushed by the stub (error is 0 where the CPU pushes none) */
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

_Static_assert(offsetof(struct regs, r15) == FRAME_R15, "frame");
_Static_assert(offsetof(struct regs, r8) == FRAME_R8, "frame");
_Static_assert(offsetof(struct regs, rbp) == FRAME_RBP, "frame");
_Static_assert(offsetof(struct regs, rdi) == FRAME_RDI, "frame");
_Static_assert(offsetof(struct regs, rax) == FRAME_RAX, "frame");
_Static_assert(offsetof(struct regs, vector) == FRAME_VECTOR, "frame");
_Static_assert(offsetof(struct regs, error) == FRAME_ERROR, "frame");
_Static_assert(offsetof(struct regs, rip) == FRAME_RIP, "frame");
_Static_assert(offsetof(struct regs, ss) == FRAME_SS, "frame");
_Static_assert(sizeof(struct regs) == FRAME_SIZE, "frame");
_Static_assert(FRAME_SIZE % 16 == 0, "the stubs keep the stack 16-byte aligned for C");
#endif

#endif
