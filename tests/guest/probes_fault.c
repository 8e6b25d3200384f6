/*
 * probes_fault.c: exceptions raised while another is delivered (SDM Vol. 3A, "Interrupt
 * 8-Double Fault Exception": Table 6-5, conditions for generating a double fault).
 *
 * Under EPT the CPU itself combines them. Under shadow paging every guest #PF is a VM exit
 * and slatvisor injects it, so slatvisor must combine the event it interrupted with the one
 * it injects as the CPU would: a #PF while a #PF is delivered is a #DF; a #PF while a #GP
 * is delivered is delivered as a #PF.
 */
#include "guest.h"

#define IST_GP 2

/* A push onto a stack no page maps: #PF, whose delivery pushes there too. */
__attribute__((noinline)) static void push_on_unmapped_stack(u64 unused)
{
	(void)unused;
	__asm__ volatile("mov %0, %%rsp; push %%rax" : : "r"(UNMAPPED_ADDR) : "memory");
}

PROBE(double_fault)
{
	const char *why = expect_fault(VEC_DF, "push with RSP on an unmapped page", push_on_unmapped_stack, 0);
	if (why)
		return why;
	if (fault_error != 0)
		return failf("#DF error code 0x%lx, 0 expected", fault_error);
	/* CR2 holds the address of the second #PF, whose delivery found no stack either. */
	if (read_cr2() != UNMAPPED_ADDR - 8)
		return failf("CR2 0x%lx after the double fault, 0x%lx expected", read_cr2(), UNMAPPED_ADDR - 8);
	return NULL;
}

static void load_noncanonical(u64 unused)
{
	(void)unused;
	(void)*(volatile u64 *)0x8000000000000000ULL;
}

PROBE(pf_during_gp)
{
	/* #GP runs on an IST stack that is not mapped: its delivery raises a #PF, which is delivered. */
	tss_use_stack(VEC_GP, IST_GP, UNMAPPED_ADDR);
	const char *why = expect_fault(VEC_PF, "#GP delivered onto an unmapped IST stack", load_noncanonical, 0);
	tss_use_stack(VEC_GP, IST_GP, 0);
	if (why)
		return why;
	if (read_cr2() != UNMAPPED_ADDR - 8)
		return failf("CR2 0x%lx, 0x%lx expected (the #GP frame's first push)", read_cr2(), UNMAPPED_ADDR - 8);
	return NULL;
}
