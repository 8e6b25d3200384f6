/* percpu.h: each CPU's private data, reached through the GS base. */
#ifndef SLAT_PERCPU_H
#define SLAT_PERCPU_H

#include "../../kernel/types.h"
#include "gdt.h"

#define MAX_CPUS 256
#define STACK_SIZE (16 * KiB)
#define IST_STACK_SIZE (8 * KiB)

/* Interrupt stack table slots (SDM Vol. 3A, 7.14.5): faults that must not trust RSP. */
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3
#define IST_COUNT 3

struct percpu {
	struct percpu *self; /* at GS:0, so this_cpu() is one load */
	u32 index;           /* 0 = the boot CPU; dense, in bring-up order */
	u32 apic_id;
	u64 stack_base, stack_top;
	volatile u32 online;        /* set by the CPU itself once it runs C code */
	u32 exception_depth;        /* nested faults on this CPU */
	void (*volatile call_fn)(void *); /* work handed over by smp_call() */
	void *call_arg;
	void *vcpu;                 /* this CPU's struct vcpu, once VMX is on */
	u64 gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss tss;
	/*
	 * Each IST stack sits above a guard page that paging unmaps (percpu_add_guards), so an
	 * overflow faults instead of running into the next stack; hence the page alignment.
	 */
	struct {
		u8 guard[PAGE_SIZE];
		u8 stack[IST_STACK_SIZE];
	} ist[IST_COUNT] __attribute__((aligned(PAGE_SIZE)));
};
_Static_assert(IST_STACK_SIZE % PAGE_SIZE == 0, "IST stacks end on a page boundary");

extern struct percpu *cpus[MAX_CPUS];
extern unsigned ncpus_online;

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* Load this CPU's GDT, TSS and the shared IDT, and point GS at @pc. */
void percpu_install(struct percpu *pc, u32 index, u64 stack_base, u64 stack_top);
struct percpu *percpu_bsp(void);
/* Have paging unmap the guard pages below @pc's stack (stack_base) and its IST stacks. */
void percpu_add_guards(struct percpu *pc);

#endif
