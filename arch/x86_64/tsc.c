/* tsc.c: calibrate the TSC against CPUID leaf 0x15 or the 8254 PIT, then use it for time. */
#include "tsc.h"
#include "cpu.h"
#include "io.h"

/* 8254 PIT (Intel 8254 data sheet): channel 2 is gated through port 0x61. */
#define PIT_HZ 1193182ULL
#define PIT_CH2_DATA 0x42
#define PIT_CMD 0x43
#define PIT_CMD_CH2_LOHI_MODE0 0xB0 /* channel 2, lobyte/hibyte, mode 0, binary */
#define PORT_61 0x61
#define PORT_61_GATE2 BIT(0)
#define PORT_61_SPEAKER BIT(1)
#define PORT_61_OUT2 BIT(5)
#define CALIBRATE_MS 20
#define PIT_SPIN_LIMIT 100000000ULL /* a machine without a PIT must not hang here */
#define FALLBACK_KHZ 1000000ULL     /* 1 GHz: only timestamps and delays get less exact */

static u64 tsc_boot;
static u64 khz;
static const char *source = "not calibrated";

static u64 from_cpuid(void)
{
	if (cpuid(0, 0).eax < 0x15)
		return 0;
	struct cpuid_regs r = cpuid(0x15, 0);
	/* EAX/EBX is the TSC / crystal ratio; ECX the crystal in Hz, when the CPU says. */
	if (!r.eax || !r.ebx || !r.ecx)
		return 0;
	return (u64)r.ecx * r.ebx / r.eax / 1000;
}

static u64 from_pit(void)
{
	u64 latch = PIT_HZ * CALIBRATE_MS / 1000;
	outb(PORT_61, (u8)((inb(PORT_61) & ~PORT_61_SPEAKER) | PORT_61_GATE2));
	outb(PIT_CMD, PIT_CMD_CH2_LOHI_MODE0);
	outb(PIT_CH2_DATA, (u8)latch);
	outb(PIT_CH2_DATA, (u8)(latch >> 8));
	u64 t0 = rdtsc();
	/* In mode 0, OUT2 goes high when the count reaches zero. */
	for (u64 spins = 0; !(inb(PORT_61) & PORT_61_OUT2); spins++)
		if (spins == PIT_SPIN_LIMIT)
			return 0;
	u64 t1 = rdtsc();
	return (t1 - t0) / CALIBRATE_MS;
}

void tsc_calibrate(void)
{
	tsc_boot = rdtsc();
	u64 k = from_cpuid();
	source = "CPUID leaf 0x15";
	if (!k) {
		k = from_pit();
		source = "PIT channel 2";
	}
	if (!k) {
		k = FALLBACK_KHZ;
		source = "a 1 GHz guess (no CPUID 0x15, PIT did not count)";
	}
	khz = k;
}

u64 tsc_khz(void)
{
	return khz;
}

const char *tsc_source(void)
{
	return source;
}

u64 tsc_us_since_boot(void)
{
	if (!khz)
		return 0;
	/* Split to avoid overflow over long uptimes. */
	u64 d = rdtsc() - tsc_boot;
	return d / khz * 1000 + (d % khz) * 1000 / khz;
}

u64 tsc_from_us(u64 us)
{
	return us * (khz ? khz : FALLBACK_KHZ) / 1000;
}

void udelay(u64 us)
{
	u64 end = rdtsc() + tsc_from_us(us);
	while ((s64)(rdtsc() - end) < 0)
		cpu_relax();
}
