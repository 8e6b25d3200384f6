/*
 * acpi.c: find PM1a_CNT and the S5 sleep type, to power the machine off when the tests end.
 * RSDP from boot_params (acpi_rsdp_addr, as slatvisor passes it) or the BIOS area scan of the
 * ACPI specification (5.2.5.1); then RSDT/XSDT -> FADT ("FACP") -> DSDT's \_S5 package.
 * The MADT ("APIC") gives the local APIC IDs of the enabled CPUs, for the IPI probes.
 */
#include "guest.h"

#define FADT_DSDT 40
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_FLAGS 112
#define FADT_RESET_REG 116   /* a Generic Address Structure: space id, ..., address at +4 */
#define FADT_RESET_VALUE 128
#define FADT_RESET_REG_SUP BIT(10)
#define ACPI_GAS_IO 1
#define FADT_X_DSDT 140
#define SDT_HEADER 36
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN BIT(13)
#define AML_NAME_OP 0x08
#define AML_PACKAGE_OP 0x12
#define AML_BYTE_PREFIX 0x0A
#define MADT_ENTRIES 44
#define MADT_LOCAL_APIC 0 /* ACPI 6.x, 5.2.12.2: ACPI processor id, APIC id, flags */
#define MADT_LAPIC_ENABLED BIT(0)

struct acpi_power acpi;
struct acpi_cpus cpus;

static u32 get32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }
static u64 get64(const u8 *p) { return get32(p) | (u64)get32(p + 4) << 32; }

static bool checksum_ok(const u8 *p, u32 len)
{
	u8 s = 0;
	for (u32 i = 0; i < len; i++)
		s += p[i];
	return s == 0;
}

static const u8 *scan_rsdp(u64 from, u64 to)
{
	for (u64 a = from; a + 20 <= to; a += 16) {
		const u8 *p = (const u8 *)(uintptr_t)a;
		if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20))
			return p;
	}
	return NULL;
}

static const u8 *find_rsdp(const u8 *bp)
{
	u64 a = get64(bp + BP_ACPI_RSDP_ADDR);
	if (a)
		return (const u8 *)(uintptr_t)a;
	u32 seg; /* the BIOS data area's EBDA segment (read in asm: gcc rejects constant pointers) */
	__asm__ volatile("movzwl 0x40E, %0" : "=r"(seg));
	u64 ebda = (u64)seg << 4;
	const u8 *p = ebda ? scan_rsdp(ebda, ebda + 1024) : NULL;
	return p ? p : scan_rsdp(0xE0000, 0x100000);
}

/* Name(_S5_, Package() { SLP_TYPa, ... }): a byte search, as slatvisor's own acpi.c does. */
static bool find_s5(const u8 *dsdt, u8 *type)
{
	u32 len = get32(dsdt + 4);
	for (u32 i = SDT_HEADER; i + 10 <= len; i++) {
		const u8 *t = dsdt + i;
		if (memcmp(t, "_S5_", 4) || t[4] != AML_PACKAGE_OP)
			continue;
		if (t[-1] != AML_NAME_OP && !(t[-1] == '\\' && t[-2] == AML_NAME_OP))
			continue;
		const u8 *e = t + 5 + 1 + (t[5] >> 6) + 1; /* PkgLength, NumElements */
		if (*e == AML_BYTE_PREFIX)
			*type = e[1];
		else if (*e <= 1) /* ZeroOp, OneOp */
			*type = *e;
		else
			continue;
		return true;
	}
	return false;
}

static void read_madt(const u8 *madt)
{
	u32 len = get32(madt + 4);
	for (u32 off = MADT_ENTRIES; off + 2 <= len && madt[off + 1] >= 2; off += madt[off + 1]) {
		const u8 *e = madt + off;
		if (e[0] == MADT_LOCAL_APIC && e[1] >= 8 && (get32(e + 4) & MADT_LAPIC_ENABLED) &&
		    cpus.n < sizeof(cpus.apic_id))
			cpus.apic_id[cpus.n++] = e[3];
	}
}

void acpi_init(const u8 *boot_params, struct acpi_power *out)
{
	*out = (struct acpi_power){ 0 };
	const u8 *rsdp = find_rsdp(boot_params);
	if (!rsdp) {
		kprintf("test-guest: no ACPI RSDP\n");
		return;
	}
	bool x = rsdp[15] >= 2 && get64(rsdp + 24);
	const u8 *root = (const u8 *)(uintptr_t)(x ? get64(rsdp + 24) : get32(rsdp + 16));
	unsigned esz = x ? 8 : 4, n = (get32(root + 4) - SDT_HEADER) / esz;
	bool fadt = false;
	for (unsigned i = 0; i < n; i++) {
		const u8 *e = root + SDT_HEADER + i * esz;
		const u8 *h = (const u8 *)(uintptr_t)(x ? get64(e) : get32(e));
		if (h && !memcmp(h, "APIC", 4))
			read_madt(h);
		if (!h || memcmp(h, "FACP", 4) || fadt)
			continue;
		fadt = true;
		u32 len = get32(h + 4);
		out->pm1a_cnt = (u16)get32(h + FADT_PM1A_CNT_BLK);
		out->pm1a_evt = (u16)get32(h + FADT_PM1A_EVT_BLK);
		if (len >= FADT_RESET_VALUE + 1 && (get32(h + FADT_FLAGS) & FADT_RESET_REG_SUP) &&
		    h[FADT_RESET_REG] == ACPI_GAS_IO && get64(h + FADT_RESET_REG + 4) < 0x10000) {
			out->reset_port = (u16)get64(h + FADT_RESET_REG + 4);
			out->reset_value = h[FADT_RESET_VALUE];
		}
		u64 dsdt = get32(h + FADT_DSDT);
		if (len >= FADT_X_DSDT + 8 && get64(h + FADT_X_DSDT))
			dsdt = get64(h + FADT_X_DSDT);
		/* No \_S5 found: 0, the S5 type of QEMU's and Bochs's PIIX4. */
		if (dsdt && !find_s5((const u8 *)(uintptr_t)dsdt, &out->s5_type))
			out->s5_type = 0;
	}
	if (!fadt)
		kprintf("test-guest: no FADT in the ACPI tables\n");
}

void acpi_power_off(const struct acpi_power *p)
{
	if (p->pm1a_cnt)
		outw(p->pm1a_cnt, (u16)(p->s5_type << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SLP_EN));
	/* An emulator may finish the power-off a little after the write: give it time first. */
	for (unsigned i = 0; i < 50000000; i++)
		__asm__ volatile("pause");
	kprintf("test-guest: the ACPI power-off did not stop the machine; halting\n");
}
