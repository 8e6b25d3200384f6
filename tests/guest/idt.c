/* idt.c: the IDT (a stub per vector, isr.asm) and the fault expectations probes are built on. */
#include "guest.h"

#define GDT_CODE64 0x08
#define GATE_INTERRUPT 0x8E /* present, DPL 0, 64-bit interrupt gate: IF cleared on entry */

struct idt_gate {
	u16 off_lo, sel;
	u8 ist, type;
	u16 off_mid;
	u32 off_hi, zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const u64 isr_table[256];

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		u64 a = isr_table[v];
		idt[v] = (struct idt_gate){ (u16)a, GDT_CODE64, 0, GATE_INTERRUPT, (u16)(a >> 16),
					    (u32)(a >> 32), 0 };
	}
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) ptr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

void idt_set_ist(unsigned vec, unsigned ist)
{
	idt[vec].ist = (u8)ist;
}

const char *vec_name(unsigned v)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9",
		"#TS", "#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM",
		"#VE", "#CP", "vector 22", "vector 23", "vector 24", "vector 25", "vector 26",
		"vector 27", "#HV", "#VC", "#SX", "vector 31",
	};
	return v < 32 ? names[v] : "an external interrupt";
}

const char *failf(const char *fmt, ...)
{
	/* Formatted aside first: an argument may be the previous message itself. */
	static char msg[200];
	char tmp[sizeof(msg)];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(msg, tmp, sizeof(msg));
	return msg;
}

const char *expect_fault(unsigned vec, const char *what, void (*fn)(u64), u64 arg)
{
	if (!fault_call(fn, arg))
		return failf("%s: no exception, %s expected", what, vec_name(vec));
	if (fault_vector != vec)
		return failf("%s: %s (vector %lu, error 0x%lx, rip 0x%lx), %s expected", what,
			     vec_name((unsigned)fault_vector), fault_vector, fault_error, fault_rip,
			     vec_name(vec));
	return NULL;
}

const char *expect_no_fault(const char *what, void (*fn)(u64), u64 arg)
{
	if (fault_call(fn, arg))
		return failf("%s: %s (vector %lu, error 0x%lx, rip 0x%lx), none expected", what,
			     vec_name((unsigned)fault_vector), fault_vector, fault_error, fault_rip);
	return NULL;
}

/* An exception no probe asked for: report it as a failure and stop the machine. */
_Noreturn void unexpected_exception(u64 vec, u64 error, u64 rip);
_Noreturn void unexpected_exception(u64 vec, u64 error, u64 rip)
{
	u64 cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("FAIL test-guest: unexpected %s (vector %lu, error 0x%lx, rip 0x%lx, cr2 0x%lx)\n",
		vec_name((unsigned)vec), vec, error, rip, cr2);
	guest_finish(0, 1);
}
