/* lapic.c: one interface over xAPIC MMIO and x2APIC MSRs. */
#include "lapic.h"
#include "cpu.h"
#include "msr.h"
#include "tsc.h"
#include "../../kernel/log.h"

#define IPI_DELIVERY_TIMEOUT_US 10000

static bool x2apic;
static bool ready;
static volatile u32 *mmio;

/*
 * The guest owns the local APIC once it runs and may switch it to x2APIC
 * (Linux does with interrupt remapping): follow the mode it is in now.
 */
static void follow_mode(void)
{
	if (ready)
		x2apic = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD;
}

static u32 lapic_read(u32 off)
{
	return x2apic ? (u32)rdmsr(X2APIC_MSR_BASE + off / 16) : mmio[off / 4];
}

static void lapic_write(u32 off, u32 v)
{
	if (x2apic)
		wrmsr(X2APIC_MSR_BASE + off / 16, v);
	else
		mmio[off / 4] = v;
}

void lapic_setup(enum apic_mode_choice choice)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);
	bool can_x2 = cpuid(1, 0).ecx & CPUID1_ECX_X2APIC;
	bool firmware_x2 = (base & APIC_BASE_ENABLE) && (base & APIC_BASE_EXTD);

	/* Leaving x2APIC mode takes a full APIC disable (SDM 11.12.5); keep what firmware chose. */
	if (firmware_x2) {
		x2apic = true;
		if (choice == APIC_XAPIC)
			pr_warn("lapic: firmware left x2APIC mode on; apic=xapic cannot be honoured");
	} else if (choice == APIC_X2APIC && !can_x2) {
		x2apic = false;
		pr_warn("lapic: apic=x2apic asked for, but this CPU has no x2APIC; using xAPIC");
	} else {
		/*
		 * The guest inherits the local APIC as slatvisor leaves it, and Linux
		 * without interrupt remapping wants the firmware's xAPIC mode: switch
		 * to x2APIC only when asked.
		 */
		x2apic = can_x2 && choice == APIC_X2APIC;
	}
	mmio = (volatile u32 *)(uintptr_t)(base & APIC_BASE_ADDR_MASK);
	lapic_enable_this_cpu();
	ready = true;
	pr_info("lapic: %s mode, base 0x%llx, boot CPU APIC id %u, version 0x%x",
		x2apic ? "x2APIC" : "xAPIC", (unsigned long long)(base & APIC_BASE_ADDR_MASK),
		lapic_id(), lapic_read(LAPIC_VERSION) & 0xFF);
}

void lapic_enable_this_cpu(void)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE) | APIC_BASE_ENABLE;
	if (x2apic)
		base |= APIC_BASE_EXTD;
	wrmsr(MSR_IA32_APIC_BASE, base);
	lapic_write(LAPIC_SVR, SVR_APIC_ENABLE | 0xFF); /* spurious vector 0xFF */
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_ESR, 0); /* a write re-arms the error status register */
}

bool lapic_ready(void)
{
	return ready;
}

bool lapic_is_x2apic(void)
{
	return x2apic;
}

u32 lapic_id(void)
{
	return x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24;
}

bool lapic_in_service(u8 vector)
{
	follow_mode();
	return lapic_read(LAPIC_ISR + 0x10 * (vector / 32)) & BIT(vector % 32);
}

void lapic_eoi(void)
{
	follow_mode();
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(u32 dest, u32 icr_lo)
{
	follow_mode();
	if (x2apic) {
		/* x2APIC: one 64-bit write, destination in bits 63:32 (SDM 11.12.9). */
		wrmsr(X2APIC_MSR_BASE + LAPIC_ICR_LO / 16, ((u64)dest << 32) | icr_lo);
		return true;
	}
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	u64 deadline = rdtsc() + tsc_from_us(IPI_DELIVERY_TIMEOUT_US);
	while (lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING)
		if ((s64)(rdtsc() - deadline) > 0)
			return false;
	return true;
}

bool lapic_send_nmi_others(void)
{
	return lapic_send_ipi(0, ICR_DEST_ALL_BUT_SELF | ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
}

u64 lapic_mmio_base(void)
{
	return (u64)(uintptr_t)mmio;
}

u32 lapic_mmio_read(u32 off)
{
	return mmio[off / 4];
}

void lapic_mmio_write(u32 off, u32 v)
{
	mmio[off / 4] = v;
}
