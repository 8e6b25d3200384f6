/* trampoline.h: the parameters the boot CPU leaves for an AP in the low-memory trampoline. */
#ifndef SLAT_TRAMPOLINE_H
#define SLAT_TRAMPOLINE_H

/* BEGIN NASM */
#define TRAMP_CR3 0
#define TRAMP_CR4 8
#define TRAMP_EFER 16
#define TRAMP_CR0 24
#define TRAMP_STACK 32
#define TRAMP_ENTRY 40
#define TRAMP_PERCPU 48
#define TRAMP_GDTR 56
#define TRAMP_PM32_JUMP 64
#define TRAMP_LM64_JUMP 72
#define TRAMP_PARAMS_SIZE 80
/* END NASM */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include "../../kernel/types.h"

struct far_ptr32 {
	u32 offset;
	u16 selector;
	u16 pad;
} PACKED;

struct trampoline_params {
	u64 cr3;   /* must be below 4 GiB: loaded in 32-bit mode */
	u64 cr4;
	u64 efer;
	u64 cr0;
	u64 stack;  /* top of the AP's stack */
	u64 entry;  /* void entry(struct percpu *) */
	u64 percpu;
	u8 gdtr[8]; /* limit (2 bytes) and 32-bit base, patched with the blob's address */
	struct far_ptr32 pm32_jump;
	struct far_ptr32 lm64_jump;
} PACKED;

_Static_assert(offsetof(struct trampoline_params, cr3) == TRAMP_CR3, "trampoline");
_Static_assert(offsetof(struct trampoline_params, efer) == TRAMP_EFER, "trampoline");
_Static_assert(offsetof(struct trampoline_params, cr0) == TRAMP_CR0, "trampoline");
_Static_assert(offsetof(struct trampoline_params, stack) == TRAMP_STACK, "trampoline");
_Static_assert(offsetof(struct trampoline_params, entry) == TRAMP_ENTRY, "trampoline");
_Static_assert(offsetof(struct trampoline_params, percpu) == TRAMP_PERCPU, "trampoline");
_Static_assert(offsetof(struct trampoline_params, gdtr) == TRAMP_GDTR, "trampoline");
_Static_assert(offsetof(struct trampoline_params, pm32_jump) == TRAMP_PM32_JUMP, "trampoline");
_Static_assert(offsetof(struct trampoline_params, lm64_jump) == TRAMP_LM64_JUMP, "trampoline");
_Static_assert(sizeof(struct trampoline_params) == TRAMP_PARAMS_SIZE, "trampoline");

/* Symbols of boot/trampoline.asm; offsets from trampoline_start locate things in the copy. */
extern const u8 trampoline_start[], trampoline_end[], trampoline_params[], trampoline_gdt[],
	trampoline_pm32[], trampoline_lm64[];
#endif

#endif
