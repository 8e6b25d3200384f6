/* acpi.c: find and validate the ACPI tables, and read the CPUs, IOAPICs and power registers. */
#include "acpi.h"
#include "../../kernel/kstring.h"
#include "../../kernel/unaligned.h"

#define BDA_EBDA_SEGMENT 0x40E /* BIOS data area word: EBDA segment */
#define BIOS_ROM_START 0xE0000
#define BIOS_ROM_END 0x100000

u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;
	while (len--)
		sum = (u8)(sum + *b++);
	return sum;
}

status_t acpi_check_rsdp(const void *p, size_t len, struct diag_list *d)
{
	const struct acpi_rsdp *r = p;
	if (len < ACPI_RSDP_V1_LEN || memcmp(r->signature, "RSD PTR ", 8) != 0) {
		diag_add(d, "RSDP signature missing");
		return ST_INVALID;
	}
	if (acpi_checksum(r, ACPI_RSDP_V1_LEN) != 0) {
		diag_add(d, "RSDP checksum is wrong");
		return ST_INVALID;
	}
	if (r->revision >= 2) {
		if (len < sizeof(*r) || r->length < sizeof(*r) || r->length > len) {
			diag_add(d, "RSDP length %u does not fit its %zu bytes", r->revision >= 2 ? r->length : 0,
				 len);
			return ST_INVALID;
		}
		if (acpi_checksum(r, r->length) != 0) {
			diag_add(d, "RSDP extended checksum is wrong");
			return ST_INVALID;
		}
	}
	return ST_OK;
}

u64 acpi_find_rsdp_bios(const struct acpi_mem *mem)
{
	struct diag_list quiet = { 0 };
	const u16 *seg = mem->map(mem->ctx, BDA_EBDA_SEGMENT, 2);
	u64 areas[2][2] = { { 0, 0 }, { BIOS_ROM_START, BIOS_ROM_END } };
	if (seg && *seg) {
		areas[0][0] = (u64)*seg << 4;
		areas[0][1] = areas[0][0] + 1024;
	}
	for (int a = 0; a < 2; a++) {
		for (u64 phys = areas[a][0]; phys + ACPI_RSDP_V1_LEN <= areas[a][1]; phys += 16) {
			const struct acpi_rsdp *r = mem->map(mem->ctx, phys, ACPI_RSDP_V1_LEN);
			if (!r || memcmp(r->signature, "RSD PTR ", 8) != 0)
				continue;
			size_t len = r->revision >= 2 ? sizeof(*r) : ACPI_RSDP_V1_LEN;
			if (!mem->map(mem->ctx, phys, len))
				continue;
			quiet.n = 0;
			if (acpi_check_rsdp(r, len, &quiet) == ST_OK)
				return phys;
		}
	}
	return 0;
}

/* Map a whole table and check its length and checksum. */
static const struct acpi_sdt_header *map_table(const struct acpi_mem *mem, u64 phys,
					       const char *expect, struct diag_list *d)
{
	const struct acpi_sdt_header *h = mem->map(mem->ctx, phys, sizeof(*h));
	if (!h) {
		diag_add(d, "table at 0x%llx is outside readable memory; skipped", (unsigned long long)phys);
		return NULL;
	}
	if (expect && memcmp(h->signature, expect, 4) != 0) {
		diag_add(d, "expected %s at 0x%llx, found '%.4s'; skipped", expect,
			 (unsigned long long)phys, h->signature);
		return NULL;
	}
	if (h->length < sizeof(*h) || h->length > ACPI_MAX_TABLE_LEN) {
		diag_add(d, "%.4s at 0x%llx has an impossible length %u; skipped", h->signature,
			 (unsigned long long)phys, h->length);
		return NULL;
	}
	h = mem->map(mem->ctx, phys, h->length);
	if (!h) {
		diag_add(d, "table at 0x%llx runs outside readable memory; skipped", (unsigned long long)phys);
		return NULL;
	}
	if (acpi_checksum(h, h->length) != 0) {
		diag_add(d, "%.4s at 0x%llx has a bad checksum; skipped", h->signature,
			 (unsigned long long)phys);
		return NULL;
	}
	return h;
}

static void remember(struct acpi_info *info, const struct acpi_sdt_header *h, u64 phys)
{
	if (info->ntables == ACPI_MAX_TABLES)
		return;
	struct acpi_table_ref *t = &info->tables[info->ntables++];
	memcpy(t->signature, h->signature, 4);
	t->signature[4] = '\0';
	t->phys = phys;
	t->length = h->length;
}

static void add_cpu(struct acpi_info *info, u32 apic_id, u32 uid, u32 flags)
{
	if (!(flags & MADT_CPU_ENABLED)) {
		info->cpus_disabled++;
		return;
	}
	/* Firmware may list a CPU both as a local APIC and as an x2APIC entry. */
	for (unsigned i = 0; i < info->ncpus; i++)
		if (info->cpus[i].apic_id == apic_id)
			return;
	if (info->ncpus == ACPI_MAX_CPUS) {
		info->cpus_dropped++;
		return;
	}
	info->cpus[info->ncpus++] = (struct acpi_cpu){ apic_id, uid, true };
}

static void parse_madt(const struct acpi_sdt_header *h, struct acpi_info *info, struct diag_list *d)
{
	const u8 *t = (const u8 *)h;
	if (h->length < sizeof(*h) + 8) {
		diag_add(d, "MADT is too short; skipped");
		return;
	}
	info->have_madt = true;
	info->lapic_base = get_u32(t + 36);
	for (u32 off = sizeof(*h) + 8; off + 2 <= h->length;) {
		u8 type = t[off], len = t[off + 1];
		if (len < 2 || off + len > h->length) {
			diag_add(d, "MADT entry at offset %u has a bad length %u; rest skipped", off, len);
			return;
		}
		const u8 *e = t + off;
		switch (type) {
		case MADT_LOCAL_APIC:
			if (len >= 8)
				add_cpu(info, e[3], e[2], get_u32(e + 4));
			break;
		case MADT_LOCAL_X2APIC:
			if (len >= 16)
				add_cpu(info, get_u32(e + 4), get_u32(e + 12), get_u32(e + 8));
			break;
		case MADT_IO_APIC:
			if (len >= 12 && info->nioapics < ACPI_MAX_IOAPICS)
				info->ioapics[info->nioapics++] =
					(struct acpi_ioapic){ e[2], get_u32(e + 4), get_u32(e + 8) };
			break;
		case MADT_LOCAL_APIC_OVERRIDE:
			if (len >= 12)
				info->lapic_base = get_u64(e + 4);
			break;
		default:
			break;
		}
		off += len;
	}
}

/*
 * The S5 sleep type lives in the DSDT's AML as Name(_S5_, Package(){a, b, ...}).
 * Reading it takes a byte search, not an interpreter: NameOp '_S5_' PackageOp
 * PkgLength NumElements, then the first element as a ZeroOp, OneOp or BytePrefix.
 */
static void parse_s5(const struct acpi_sdt_header *h, struct acpi_info *info)
{
	const u8 *t = (const u8 *)h;
	for (u32 i = sizeof(*h); i + 10 <= h->length; i++) {
		if (memcmp(t + i, "_S5_", 4) != 0 || t[i + 4] != 0x12 /* PackageOp */)
			continue;
		if (t[i - 1] != 0x08 /* NameOp */ && !(t[i - 1] == '\\' && t[i - 2] == 0x08))
			continue;
		u32 p = i + 5;
		p += 1 + (t[p] >> 6); /* PkgLength: bits 7:6 count the extra bytes */
		p++;                  /* NumElements */
		u8 v = t[p];
		if (v == 0x0A) /* BytePrefix */
			v = t[p + 1];
		else if (v > 1) /* only ZeroOp (0) and OneOp (1) carry a value in one byte */
			continue;
		info->have_s5 = true;
		info->s5_slp_typa = v;
		return;
	}
}

static void parse_fadt(const struct acpi_sdt_header *h, const struct acpi_mem *mem,
		       struct acpi_info *info, struct diag_list *d)
{
	const u8 *t = (const u8 *)h;
	if (h->length < FADT_PM1A_CNT_BLK + 4) {
		diag_add(d, "FADT is too short; skipped");
		return;
	}
	info->have_fadt = true;
	info->pm1a_cnt = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, get_u32(t + FADT_PM1A_CNT_BLK) };
	if (h->length >= FADT_X_PM1A_CNT_BLK + sizeof(struct acpi_gas)) {
		struct acpi_gas x;
		memcpy(&x, t + FADT_X_PM1A_CNT_BLK, sizeof(x));
		if (x.address)
			info->pm1a_cnt = x;
	}
	if (h->length >= FADT_RESET_VALUE + 1 && (get_u32(t + FADT_FLAGS) & FADT_FLAG_RESET_REG_SUP)) {
		info->reset_supported = true;
		memcpy(&info->reset_reg, t + FADT_RESET_REG, sizeof(info->reset_reg));
		info->reset_value = t[FADT_RESET_VALUE];
	}
	u64 dsdt = get_u32(t + FADT_DSDT);
	if (h->length >= FADT_X_DSDT + 8 && get_u64(t + FADT_X_DSDT))
		dsdt = get_u64(t + FADT_X_DSDT);
	if (!dsdt)
		return;
	const struct acpi_sdt_header *ds = map_table(mem, dsdt, "DSDT", d);
	if (!ds)
		return;
	remember(info, ds, dsdt);
	parse_s5(ds, info);
}

/* Read the root table's entries (4-byte RSDT or 8-byte XSDT pointers). */
static void walk_root(const struct acpi_sdt_header *root, unsigned entsz,
			  const struct acpi_mem *mem, struct acpi_info *info, struct diag_list *d)
{
	const u8 *p = (const u8 *)root + sizeof(*root);
	unsigned n = (root->length - sizeof(*root)) / entsz;
	for (unsigned i = 0; i < n; i++) {
		u64 phys = entsz == 8 ? get_u64(p + i * 8) : get_u32(p + i * 4);
		if (!phys)
			continue;
		const struct acpi_sdt_header *h = map_table(mem, phys, NULL, d);
		if (!h)
			continue;
		remember(info, h, phys);
		if (!memcmp(h->signature, "APIC", 4) && !info->have_madt)
			parse_madt(h, info, d);
		else if (!memcmp(h->signature, "FACP", 4) && !info->have_fadt)
			parse_fadt(h, mem, info, d);
	}
}

status_t acpi_parse(const void *rsdp_buf, size_t rsdp_len, const struct acpi_mem *mem,
		    struct acpi_info *info, struct diag_list *d)
{
	memset(info, 0, sizeof(*info));
	status_t st = acpi_check_rsdp(rsdp_buf, rsdp_len, d);
	if (st != ST_OK)
		return st;
	const struct acpi_rsdp *r = rsdp_buf;
	info->revision = r->revision;
	memcpy(info->oem_id, r->oem_id, 6);

	const struct acpi_sdt_header *root = NULL;
	if (r->revision >= 2 && r->xsdt_address) {
		root = map_table(mem, r->xsdt_address, "XSDT", d);
		if (root) {
			info->use_xsdt = true;
			info->root_phys = r->xsdt_address;
		} else {
			diag_add(d, "falling back from the XSDT to the RSDT");
		}
	}
	if (!root && r->rsdt_address) {
		root = map_table(mem, r->rsdt_address, "RSDT", d);
		info->root_phys = r->rsdt_address;
	}
	if (!root) {
		diag_add(d, "no usable root table (RSDT/XSDT)");
		return ST_INVALID;
	}
	remember(info, root, info->root_phys);
	if (info->use_xsdt && r->rsdt_address) {
		/* Unused when the XSDT is good, but still firmware's memory: keep it off-limits. */
		struct diag_list quiet = { 0 };
		const struct acpi_sdt_header *rsdt = map_table(mem, r->rsdt_address, "RSDT", &quiet);
		if (rsdt)
			remember(info, rsdt, r->rsdt_address);
	}
	walk_root(root, info->use_xsdt ? 8 : 4, mem, info, d);
	if (!info->have_madt)
		diag_add(d, "no valid MADT: only the boot CPU will run");
	if (info->cpus_dropped)
		diag_add(d, "%u CPUs beyond the %u supported are ignored", info->cpus_dropped,
			 ACPI_MAX_CPUS);
	return ST_OK;
}
