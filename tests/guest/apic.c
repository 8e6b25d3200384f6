/*
 * apic.c: the local APIC in xAPIC mode, for the IPI probes (SDM Vol. 3A, chapter 11: the
 * register offsets, the ICR of 11.6.1 and the ESR of 11.5.3). Every access is a plain 32-bit
 * MOV: while slatvisor still starts other vCPUs it decodes the guest's APIC stores.
 */
#include "guest.h"

#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_ENABLE BIT(11)
#define APIC_BASE_ADDR_MASK 0xFFFFFF000ULL
#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define SVR_APIC_ENABLE BIT(8)
#define SPURIOUS_VECTOR 0xFF
#define ICR_DELIVERY_PENDING BIT(12)
#define ICR_WAIT_LOOPS 1000000

static u64 base;

static volatile u32 *reg(u32 off) { return (volatile u32 *)(uintptr_t)(base + off); }
u32 lapic_read(u32 off) { return *reg(off); }
void lapic_write(u32 off, u32 v) { *reg(off) = v; }

#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1
#define OCW1_MASK_ALL 0xFF

void pic_mask_all(void)
{
	/* The firmware left the 8259s' timer on vectors 8-15: they would look like exceptions. */
	outb(PIC1_DATA, OCW1_MASK_ALL);
	outb(PIC2_DATA, OCW1_MASK_ALL);
}

bool lapic_init(void)
{
	u64 msr = rdmsr(MSR_IA32_APIC_BASE);
	if (!(msr & APIC_BASE_ENABLE))
		return false;
	base = msr & APIC_BASE_ADDR_MASK;
	lapic_eoi_addr = base + LAPIC_EOI;
	/* Software-enabled, every priority accepted: the self-IPI probe needs each vector. */
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_APIC_ENABLE | SPURIOUS_VECTOR);
	lapic_write(LAPIC_TPR, 0);
	return true;
}

u8 lapic_id(void) { return (u8)(lapic_read(LAPIC_ID) >> 24); }

bool lapic_send(u8 dest, u32 icr)
{
	lapic_write(LAPIC_ICR_HI, (u32)dest << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	for (unsigned i = 0; i < ICR_WAIT_LOOPS; i++)
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING))
			return true;
	return false;
}

u32 lapic_esr(void)
{
	lapic_write(LAPIC_ESR, 0); /* a write latches the errors seen since the last one */
	return lapic_read(LAPIC_ESR);
}
