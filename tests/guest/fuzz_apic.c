/*
 * fuzz_apic.c: the local APIC in xAPIC mode, through apic.c's plain 32-bit MOVs (SDM Vol.
 * 3A, chapter 11): self-IPIs, TPR writes, ESR reads.
 *
 * The LVTs are masked first, and every line of the two 8259 PICs (OCW1): nothing but the
 * fuzzer's own IPIs may interrupt it while it enables interrupts to take one. The PICs need
 * it too because the firmware leaves them at vectors 8-15, on top of the exceptions, and an
 * emulator may wire their INTR to the CPU past a masked LINT0 (Bochs does). A fixed self-IPI with a vector of 0x20-0xFF (0-15
 * are illegal, 16-31 the exceptions') is delivered exactly once, at once when IF is set and
 * the TPR is 0 (11.8.3.1), and its EOI leaves it neither in the ISR nor in the IRR; the
 * TPR's bits 7:0 read back as written (11.8.3.1 too). No access to the APIC page raises an
 * exception. Not vector 0xFF: it is the spurious vector apic.c programs, and Bochs (2.7)
 * leaves a delivered 0xFF in its ISR after the EOI, which then blocks every lower vector.
 */
#include "fuzz.h"

#define LAPIC_VERSION 0x30
#define LAPIC_TPR 0x80
#define LAPIC_ISR 0x100 /* 8 registers of 32 bits, 16 bytes apart */
#define LAPIC_IRR 0x200
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LVT_MASKED BIT(16)
#define VERSION_MAX_LVT(v) (((v) >> 16) & 0xFF)
#define FIRST_IPI_VECTOR 0x20
#define LAST_IPI_VECTOR 0xFE /* 0xFF is the spurious vector (above) */
#define IPI_WAIT_LOOPS 100000

u64 fz_ipis;

void fz_apic_init(void)
{
	pic_mask_all();
	if (!fz_mach.apic)
		return;
	lapic_init();
	lapic_write(LAPIC_TPR, 0);
	unsigned max = VERSION_MAX_LVT(lapic_read(LAPIC_VERSION));
	/* Timer, LINT0, LINT1 and error always; performance from entry 4 on, thermal from 5. */
	static const u32 always[] = { LAPIC_LVT_TIMER, LAPIC_LVT_LINT0, LAPIC_LVT_LINT1, LAPIC_LVT_ERROR };
	for (unsigned i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		lapic_write(always[i], lapic_read(always[i]) | LVT_MASKED);
	if (max >= 4)
		lapic_write(LAPIC_LVT_PERF, lapic_read(LAPIC_LVT_PERF) | LVT_MASKED);
	if (max >= 5)
		lapic_write(LAPIC_LVT_THERMAL, lapic_read(LAPIC_LVT_THERMAL) | LVT_MASKED);
}

static u32 total_irqs(void)
{
	u32 s = 0;
	for (unsigned v = 0; v < 256; v++)
		s += irq_count[v];
	return s;
}

static bool ipi_sent;
static void do_ipi(u64 vec)
{
	u32 before = irq_count[vec];
	ipi_sent = lapic_send(0, ICR_SELF | ICR_FIXED | (u32)vec);
	/* STI's shadow covers the NOP: the interrupt is taken before the CLI. */
	for (unsigned i = 0; ipi_sent && i < IPI_WAIT_LOOPS && irq_count[vec] == before; i++)
		__asm__ volatile("sti; nop; cli" : : : "memory");
}

static u32 tpr_new, tpr_read, tpr_old;
static void do_tpr(u64 unused)
{
	(void)unused;
	tpr_old = lapic_read(LAPIC_TPR);
	lapic_write(LAPIC_TPR, tpr_new);
	tpr_read = lapic_read(LAPIC_TPR);
	lapic_write(LAPIC_TPR, tpr_old);
}

static void do_esr(u64 unused)
{
	(void)unused;
	(void)lapic_esr();
}

void fz_apic(const u64 *w, struct fz_out *o)
{
	o->allowed = FZ_OK;
	if (!fz_mach.apic) {
		o->what = "no xAPIC: nothing done";
		return;
	}
	switch (w[0] % 3) {
	case 0: {
		u64 vec = FIRST_IPI_VECTOR + w[1] % (LAST_IPI_VECTOR - FIRST_IPI_VECTOR + 1);
		u32 before = irq_count[vec], all = total_irqs();
		o->what = "self-IPI vector 0x%lx";
		o->a = vec;
		irq_counting = 1;
		o->vec = fz_call(do_ipi, vec);
		irq_counting = 0;
		u32 got = irq_count[vec] - before, others = total_irqs() - all - got;
		u32 bit = 1u << (vec % 32), at = (u32)(vec / 32) * 16;
		if (!ipi_sent)
			o->why = "the ICR stayed busy (delivery status pending)";
		else if ((lapic_read(LAPIC_ISR + at) | lapic_read(LAPIC_IRR + at)) & bit)
			o->why = failf("vector 0x%lx still in the ISR (0x%x) or IRR (0x%x) after its EOI", vec,
				       lapic_read(LAPIC_ISR + at), lapic_read(LAPIC_IRR + at));
		else if (got != 1 || others)
			o->why = failf("vector 0x%lx delivered %u times, %u other interrupts", vec, got, others);
		fz_ipis += got;
		break;
	}
	case 1:
		tpr_new = (u32)(w[1] & 0xFF);
		o->what = "TPR <- 0x%lx, then the old value";
		o->a = tpr_new;
		o->vec = fz_call(do_tpr, 0);
		if (o->vec == FZ_NONE && (tpr_read & 0xFF) != tpr_new)
			o->why = failf("TPR 0x%x read back as 0x%x", tpr_new, tpr_read);
		else if (o->vec == FZ_NONE && lapic_read(LAPIC_TPR) != tpr_old)
			o->why = failf("TPR reads 0x%x afterwards, 0x%x before", lapic_read(LAPIC_TPR), tpr_old);
		break;
	default:
		o->what = "ESR write and read";
		o->vec = fz_call(do_esr, 0);
		break;
	}
}
