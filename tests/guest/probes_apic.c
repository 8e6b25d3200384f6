/*
 * probes_apic.c: interrupts the guest sends itself and the other vCPUs through its local
 * APIC (SDM Vol. 3A, chapter 11; the start-up protocol of 9.4.4).
 *
 * The guest owns its local APIC: slatvisor passes it through, and only while it still starts
 * vCPUs for the guest does it trap the APIC page and decode the guest's stores. Neither
 * way may lose, duplicate or misdirect an interrupt, and no INIT or SIPI the guest sends,
 * to a vCPU or to an APIC ID nobody has, may hurt slatvisor.
 */
#include "guest.h"

#define FIRST_IRQ_VECTOR 32 /* 0-31 are exceptions; 0-15 are illegal in an IPI */
#define FIRST_LEGAL_VECTOR 16
#define WAIT_LOOPS 2000000
#define NMI_ROUNDS 64
#define START_ROUNDS 8
#define REAL_MODE_TOP 0xA0000ULL /* the start-up code must be in real-mode reach, below the EBDA */
#define COUNTER_OFFSET 0x100

static bool wait_count(volatile u32 *c, u32 want)
{
	for (unsigned i = 0; i < WAIT_LOOPS; i++) {
		if (*c >= want)
			return true;
		__asm__ volatile("pause");
	}
	return *c >= want;
}

static void irq_counting_on(void)
{
	for (unsigned v = 0; v < 256; v++)
		irq_count[v] = 0;
	irq_counting = 1;
}

/*
 * A self-IPI of each legal vector arrives exactly once, and nothing else with it. Vectors
 * 16-31 are legal in an IPI though the architecture reserves them for exceptions; they are
 * sent only where their exception pushes no error code (an interrupt on 17, 21, 29 or 30
 * pushes none, so the stub would misread the frame).
 */
static bool sendable(unsigned v)
{
	return v >= FIRST_IRQ_VECTOR || (v >= FIRST_LEGAL_VECTOR && v != 17 && v != 21 && v != 29 && v != 30);
}

PROBE(self_ipi)
{
	pic_mask_all();
	if (!lapic_init())
		return failf("IA32_APIC_BASE says the local APIC is disabled");
	irq_counting_on();
	irq_counting = 2;
	const char *why = NULL;
	for (unsigned v = FIRST_LEGAL_VECTOR; v < 256 && !why; v++) {
		if (!sendable(v))
			continue;
		if (!lapic_send(0, ICR_SELF | ICR_FIXED | v))
			why = failf("vector %u: the ICR stayed busy", v);
		/* Interrupts on just long enough to take it: it is pending already, or about to be. */
		__asm__ volatile("sti");
		bool got = wait_count(&irq_count[v], 1);
		__asm__ volatile("cli");
		if (!why && !got)
			why = failf("vector %u: the self-IPI was not delivered", v);
		for (unsigned w = 0; w < 256 && !why; w++)
			if (irq_count[w] != (w <= v && sendable(w)))
				why = failf("after the self-IPI of vector %u, vector %u came %u times", v, w, irq_count[w]);
	}
	irq_counting = 1;
	/*
	 * Vectors 0-15 are illegal: not delivered, and the ESR says so (11.5.3). A self-IPI is
	 * both sent and received, so either error bit is the architectural answer (Bochs sets
	 * "receive illegal vector").
	 */
	for (unsigned v = 0; v < FIRST_LEGAL_VECTOR && !why; v++) {
		(void)lapic_esr();
		lapic_send(0, ICR_SELF | ICR_FIXED | v);
		__asm__ volatile("sti; nop; nop; nop; cli");
		u32 esr = lapic_esr();
		if (!(esr & (ESR_SEND_ILLEGAL_VECTOR | ESR_RECEIVE_ILLEGAL_VECTOR)))
			why = failf("self-IPI of illegal vector %u: ESR 0x%x, bit 5 or 6 (illegal vector) expected", v, esr);
	}
	irq_counting = 0;
	return why;
}

PROBE(nmi_storm)
{
	if (!lapic_init())
		return failf("IA32_APIC_BASE says the local APIC is disabled");
	irq_counting_on();
	const char *why = NULL;
	/* The Self shorthand is not valid for NMIs (11.6.1): a physical destination, its own ID. */
	for (unsigned i = 1; i <= NMI_ROUNDS && !why; i++) {
		if (!lapic_send(lapic_id(), ICR_NMI | ICR_LEVEL_ASSERT))
			why = failf("NMI %u: the ICR stayed busy", i);
		else if (!wait_count(&irq_count[VEC_NMI], i))
			why = failf("NMI %u of %u was not delivered (%u taken)", i, NMI_ROUNDS, irq_count[VEC_NMI]);
	}
	for (unsigned i = 0; i < 100000; i++)
		__asm__ volatile("pause");
	if (!why && irq_count[VEC_NMI] != NMI_ROUNDS)
		why = failf("%u NMIs sent, %u taken", NMI_ROUNDS, irq_count[VEC_NMI]);
	irq_counting = 0;
	return why;
}

/*
 * Real-mode start-up code: count one start in the word at COUNTER_OFFSET, then halt for
 * good. mov ax, cs / mov ds, ax / lock inc word [0x100] / cli / hlt / jmp back to the hlt.
 */
static const u8 start_code[] = { 0x8C, 0xC8, 0x8E, 0xD8, 0xF0, 0xFF, 0x06, 0x00, 0x01,
				 0xFA, 0xF4, 0xEB, 0xFD };

static void delay(void)
{
	for (unsigned i = 0; i < 200000; i++)
		__asm__ volatile("pause");
}

static bool sent(u8 dest, u32 icr, const char **why)
{
	if (!lapic_send(dest, icr) && !*why)
		*why = failf("the ICR stayed busy sending 0x%x to APIC ID %u", icr, dest);
	return !*why;
}

/* The start-up protocol (SDM Vol. 3A, 9.4.4): INIT, then two SIPIs; the second is ignored by a started CPU. */
static void init_sipi_sipi(u8 id, u8 vector, const char **why)
{
	sent(id, ICR_INIT | ICR_LEVEL_ASSERT, why);
	delay();
	sent(id, ICR_STARTUP | vector, why);
	delay();
	sent(id, ICR_STARTUP | vector, why);
}

static bool exists(u8 id)
{
	for (unsigned i = 0; i < cpus.n; i++)
		if (cpus.apic_id[i] == id)
			return true;
	return false;
}

/*
 * Every INIT-SIPI-SIPI to a vCPU starts it exactly once, as on real hardware: the first
 * while it waits in slatvisor since boot, the later ones after its start-up code halted
 * with interrupts off (slatvisor then traps the ICR again and emulates them; the INIT VM
 * exit is not used, Bochs 2.7 never clears the INIT it reports).
 */
PROBE(init_sipi_storm)
{
	if (!lapic_init())
		return failf("IA32_APIC_BASE says the local APIC is disabled");
	u64 page = e820_ram_page_below(0x1000, REAL_MODE_TOP);
	if (!page)
		return failf("no RAM page below 0x%lx in the e820 map for the start-up code", REAL_MODE_TOP);
	memcpy((void *)(uintptr_t)page, start_code, sizeof(start_code));
	volatile u16 *starts = (volatile u16 *)(uintptr_t)(page + COUNTER_OFFSET);
	*starts = 0;
	u8 vector = (u8)(page >> 12), self = lapic_id();
	const char *why = NULL;

	/* APIC IDs no CPU has: nothing may start, nor break. 0xFF is the broadcast, never sent. */
	static const u8 nobody[] = { 0x7F, 0x40, 0x3E, 0x11 };
	for (unsigned i = 0; i < sizeof(nobody) && !why; i++) {
		if (exists(nobody[i]))
			continue;
		init_sipi_sipi(nobody[i], vector, &why);
	}
	delay();
	if (!why && *starts)
		why = failf("INIT-SIPI to APIC IDs no CPU has started something: %u starts counted", *starts);

	/* Each other CPU: an INIT-SIPI-SIPI starts it once; a SIPI alone does nothing. */
	unsigned others = 0;
	for (unsigned c = 0; c < cpus.n && !why; c++) {
		u8 id = cpus.apic_id[c];
		if (id == self)
			continue;
		others++;
		for (unsigned r = 0; r < START_ROUNDS && !why; r++) {
			u16 before = *starts;
			init_sipi_sipi(id, vector, &why);
			for (unsigned i = 0; i < 50 && *starts == before; i++)
				delay();
			delay();
			u16 got = (u16)(*starts - before);
			if (!why && got != 1)
				why = failf("APIC ID %u, round %u: %u starts after INIT-SIPI-SIPI, 1 expected", id,
					    r + 1, got);
		}
		u16 before = *starts;
		sent(id, ICR_STARTUP | vector, &why);
		delay();
		delay();
		if (!why && *starts != before)
			why = failf("APIC ID %u: a SIPI without INIT started it", id);
	}
	if (!why)
		kprintf("test-guest: init_sipi_storm: %u other CPUs, %u starts, start-up code at 0x%lx\n", others,
			*starts, page);
	return why;
}

/*
 * A vCPU started at a vector that holds no code (UD2, then zeros): slatvisor must stop that
 * vCPU, say so, and let the rest go on. Named only: the vCPU stays stopped for the rest of the
 * run. Meant for CPUs whose start-up code slatvisor interprets (no unrestricted guest, or
 * paging=shadow); with unrestricted guest the CPU itself runs the garbage in real mode.
 */
PROBE_NAMED_ONLY(sipi_garbage)
{
	if (!lapic_init())
		return failf("IA32_APIC_BASE says the local APIC is disabled");
	u64 page = e820_ram_page_below(0x1000, REAL_MODE_TOP);
	if (!page)
		return failf("no RAM page below 0x%lx in the e820 map", REAL_MODE_TOP);
	static const u8 garbage[] = { 0x0F, 0x0B }; /* UD2 */
	memset((void *)(uintptr_t)page, 0, 0x200);
	memcpy((void *)(uintptr_t)page, garbage, sizeof(garbage));
	u8 self = lapic_id(), vector = (u8)(page >> 12);
	const char *why = NULL;
	unsigned others = 0;
	for (unsigned c = 0; c < cpus.n && !why; c++) {
		u8 id = cpus.apic_id[c];
		if (id == self)
			continue;
		others++;
		init_sipi_sipi(id, vector, &why);
		for (unsigned i = 0; i < 20; i++)
			delay();
	}
	if (!why && !others)
		why = failf("no other CPU in the MADT to start");
	if (!why)
		kprintf("test-guest: sipi_garbage: %u other CPUs sent to vector 0x%x (UD2); still running\n", others, vector);
	return why;
}
