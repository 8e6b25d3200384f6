/*
 * event.c: an exception raised while another event is delivered.
 *
 * With shadow paging every guest #PF exits and slatvisor injects it, so a #PF that the
 * delivery of an injected #PF raises again is a VM exit, not a double fault: the CPU never
 * sees the pair. slatvisor has to combine them itself, by the same table the CPU uses.
 * External interrupts, NMIs and software interrupts are benign as the first event; only
 * hardware exceptions count as contributory or page faults.
 */
#include "event.h"
#include "../arch/x86_64/idt.h"

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT, EXC_DOUBLE_FAULT };

static enum exc_class classify(u8 v)
{
	switch (v) {
	case VEC_DE: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP:
	case VEC_CP: /* control protection joins the contributory class (SDM Vol. 1, CET) */
		return EXC_CONTRIBUTORY;
	case VEC_PF: case VEC_VE:
		return EXC_PAGE_FAULT;
	case VEC_DF:
		return EXC_DOUBLE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

enum event_combination event_combine(u32 idt_info, u8 vector)
{
	if (!(idt_info & INTR_INFO_VALID) || INTR_INFO_TYPE(idt_info) != INTR_TYPE_HW_EXCEPTION)
		return EVENT_SERIAL;
	enum exc_class first = classify((u8)INTR_INFO_VECTOR(idt_info)), second = classify(vector);
	if (second == EXC_BENIGN)
		return EVENT_SERIAL;
	switch (first) {
	case EXC_DOUBLE_FAULT:
		return EVENT_SHUTDOWN;
	case EXC_PAGE_FAULT:
		return EVENT_DOUBLE_FAULT; /* a contributory exception or a #PF after a #PF */
	case EXC_CONTRIBUTORY:
		return second == EXC_CONTRIBUTORY ? EVENT_DOUBLE_FAULT : EVENT_SERIAL;
	default:
		return EVENT_SERIAL;
	}
}
