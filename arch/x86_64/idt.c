/* idt.c: fill the IDT from the stub table in isr.asm and route every vector to one C dispatcher. */
#include "idt.h"
#include "gdt.h"
#include "lapic.h"
#include "percpu.h"
#include "../../kernel/log.h"
#include "../../kernel/panic.h"

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type;
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} PACKED;
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes");

extern const u64 isr_stub_table[256];
static struct idt_gate idt[256] __attribute__((aligned(16)));

static const char *const exception_names[32] = {
	[VEC_DE] = "divide error (#DE)",
	[VEC_DB] = "debug (#DB)",
	[VEC_NMI] = "NMI",
	[VEC_BP] = "breakpoint (#BP)",
	[VEC_OF] = "overflow (#OF)",
	[VEC_BR] = "bound range (#BR)",
	[VEC_UD] = "invalid opcode (#UD)",
	[VEC_NM] = "device not available (#NM)",
	[VEC_DF] = "double fault (#DF)",
	[VEC_TS] = "invalid TSS (#TS)",
	[VEC_NP] = "segment not present (#NP)",
	[VEC_SS] = "stack fault (#SS)",
	[VEC_GP] = "general protection (#GP)",
	[VEC_PF] = "page fault (#PF)",
	[VEC_MF] = "x87 floating point (#MF)",
	[VEC_AC] = "alignment check (#AC)",
	[VEC_MC] = "machine check (#MC)",
	[VEC_XM] = "SIMD floating point (#XM)",
	[VEC_VE] = "virtualization exception (#VE)",
	[VEC_CP] = "control protection (#CP)",
};

const char *exception_name(unsigned vector)
{
	if (vector < 32 && exception_names[vector])
		return exception_names[vector];
	return vector < 32 ? "reserved exception" : "external interrupt";
}

static void set_gate(unsigned vec, u64 handler, u8 ist)
{
	idt[vec] = (struct idt_gate){
		.offset_lo = (u16)handler,
		.selector = SEL_CODE64,
		.ist = ist,
		.type = IDT_GATE_INTERRUPT,
		.offset_mid = (u16)(handler >> 16),
		.offset_hi = (u32)(handler >> 32),
	};
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		set_gate(v, isr_stub_table[v], 0);
	/* These may arrive on a broken stack or in the middle of anything. */
	set_gate(VEC_DF, isr_stub_table[VEC_DF], IST_DOUBLE_FAULT);
	set_gate(VEC_NMI, isr_stub_table[VEC_NMI], IST_NMI);
	set_gate(VEC_MC, isr_stub_table[VEC_MC], IST_MACHINE_CHECK);
}

void idt_load(void)
{
	struct desc_ptr idtr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

u64 idt_base(void)
{
	return (u64)(uintptr_t)idt;
}

bool (*nmi_hook)(void);

void isr_dispatch(struct regs *r)
{
	if (r->vector == VEC_NMI) {
		/* The panic path stops the other CPUs with an NMI. */
		if (panic_in_progress())
			panic_stop_this_cpu();
		if (nmi_hook && nmi_hook())
			return;
		pr_warn("idt: unexpected NMI at rip 0x%llx; ignored", (unsigned long long)r->rip);
		return;
	}
	if (r->vector == VEC_SPURIOUS)
		return; /* SDM Vol. 3A, 11.9: no EOI for spurious interrupts */
	if (r->vector == VEC_WAKE) {
		lapic_eoi(); /* the woken CPU looks for its work itself */
		return;
	}
	/*
	 * The local APIC accepts fixed interrupts with vectors 16-31, and the guest
	 * owns the APIC: an IPI it aims at a CPU idling in slatvisor lands here. An
	 * in-service bit tells it from an exception.
	 */
	if (r->vector < VEC_FIRST_EXTERNAL && lapic_ready() && lapic_in_service((u8)r->vector)) {
		lapic_eoi();
		return;
	}
	if (r->vector < VEC_FIRST_EXTERNAL)
		panic_exception(r);
	/* Nothing is routed to the hypervisor yet: note it and acknowledge. */
	pr_warn("idt: unexpected interrupt vector %llu; acknowledged", (unsigned long long)r->vector);
	lapic_eoi();
}
