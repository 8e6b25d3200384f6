/* idt.h: the interrupt descriptor table shared by all CPUs. */
#ifndef SLAT_IDT_H
#define SLAT_IDT_H

#include "frame.h"

/* SDM Vol. 3A, table 6-1: exception vectors. */
enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6,
	VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14,
	VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19, VEC_VE = 20, VEC_CP = 21,
	VEC_FIRST_EXTERNAL = 32,
	VEC_WAKE = 0xF0,     /* an IPI that only wakes a halted CPU to look for work */
	VEC_SPURIOUS = 0xFF, /* the local APIC's spurious-interrupt vector */
};

/* #PF error code bits (SDM Vol. 3A, 4.7). */
#define PFEC_PRESENT BIT(0)
#define PFEC_WRITE BIT(1)
#define PFEC_USER BIT(2)
#define PFEC_RSVD BIT(3)
#define PFEC_FETCH BIT(4)

/* Gate type: 64-bit interrupt gate, present, DPL 0. */
#define IDT_GATE_INTERRUPT 0x8E

void idt_init(void);
void idt_load(void);
u64 idt_base(void);
/* A hook the NMI handler asks first (VMX uses it to stop a guest); true = handled. */
extern bool (*nmi_hook)(void);
void isr_dispatch(struct regs *r);
const char *exception_name(unsigned vector);

#endif
