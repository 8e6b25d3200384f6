/*
 * fuzz.h: what the fuzzer's files share (fuzz.c drives, fuzz_*.c each hold one kind of
 * operation). docs/testing.md describes the operations and their masks.
 *
 * Every operation draws the same number of words from the generator, FZ_WORDS, whatever it
 * does with them: operation i then depends on the seed and i alone, so a skipped kind or a
 * run started at first=I leaves every other operation as it was.
 */
#ifndef TEST_GUEST_FUZZ_H
#define TEST_GUEST_FUZZ_H

#include "guest.h"

#define FZ_WORDS 4
#define FZ_NONE 0xFFu /* no exception: not a vector the CPU can raise (it is an interrupt's) */

/* The outcomes an operation may architecturally have: a vector's bit, or FZ_OK for none. */
#define FZ_ALLOW(vec) BIT(vec)
#define FZ_OK BIT(32)

struct fz_out {
	unsigned vec;     /* the vector of the operation's fault_call, FZ_NONE if none */
	u64 allowed;      /* FZ_ALLOW and FZ_OK bits */
	const char *why;  /* an impossible result the operation saw itself (a value, a delivery) */
	const char *what; /* the operation: a format with two %lx, for a FAIL line */
	u64 a, b;
};

/* snprintf for the operations' descriptions (kprintf's conversions). */
int fz_format(char *buf, size_t size, const char *fmt, ...);

/* Run fn(arg) under fault_call: the vector it raised, or FZ_NONE. */
unsigned fz_call(void (*fn)(u64), u64 arg);

/* What the machine offers, read once before the first operation. */
struct fz_machine {
	unsigned maxphyaddr;
	bool nx, pat, mtrr, mtrr_fixed, invpcid, pcid;
	unsigned mtrr_vcnt;
	bool apic;      /* the local APIC is enabled in xAPIC mode: the apic kind runs */
	bool hypercalls; /* slatvisor announces VMCALL functions (CPUID 0x40000002) */
};
extern struct fz_machine fz_mach;

void fz_msr_read(const u64 *w, struct fz_out *o);
void fz_msr_write(const u64 *w, struct fz_out *o);
void fz_cr(const u64 *w, struct fz_out *o);
void fz_cpuid(const u64 *w, struct fz_out *o);
void fz_io(const u64 *w, struct fz_out *o);
void fz_tlb(const u64 *w, struct fz_out *o);
void fz_pt(const u64 *w, struct fz_out *o);
void fz_vmx(const u64 *w, struct fz_out *o);
void fz_apic(const u64 *w, struct fz_out *o);

/* Set-up for the kinds that need it (the scratch page tables; CR4.OSXSAVE; the PICs and the APIC's LVTs masked). */
void fz_pt_init(void);
void fz_cr_init(void);
void fz_apic_init(void);
extern u64 fz_ipis; /* self-IPIs delivered */

#endif
