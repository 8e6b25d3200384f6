/* test_acpi.c: ACPI parsing on real tables captured from Bochs and QEMU (tools/capture-acpi). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../arch/x86_64/acpi.h"

/* Captured tables placed back at their physical addresses in a sparse memory. */
struct chunk {
	char sig[5];
	u64 phys;
	u32 len;
	u8 *bytes;
};
struct fixture {
	struct chunk c[32];
	unsigned n;
	struct chunk *rsdp;
};

static void fixture_free(struct fixture *fx)
{
	for (unsigned i = 0; i < fx->n; i++)
		free(fx->c[i].bytes);
	fx->n = 0;
}

static bool load(struct fixture *fx, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/acpi/%s.dump", SOURCE_DIR, name);
	FILE *fp = fopen(path, "r");
	if (!fp) {
		check_fail(__FILE__, __LINE__, path);
		return false;
	}
	memset(fx, 0, sizeof(*fx));
	char line[256];
	struct chunk *cur = NULL;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long phys;
		unsigned len, off;
		char sig[8];
		if (sscanf(line, "table %4s phys=0x%llx len=%u", sig, &phys, &len) == 3) {
			cur = &fx->c[fx->n++];
			memcpy(cur->sig, sig, 5);
			cur->phys = phys;
			cur->len = len;
			cur->bytes = calloc(1, len);
			if (!strcmp(sig, "RSDP"))
				fx->rsdp = cur;
		} else if (cur && sscanf(line, "+%x:", &off) == 1) {
			const char *p = strchr(line, ':') + 1;
			unsigned b;
			int used;
			while (off < cur->len && sscanf(p, "%x%n", &b, &used) == 1) {
				cur->bytes[off++] = (u8)b;
				p += used;
			}
		}
	}
	fclose(fp);
	return fx->rsdp != NULL;
}

static const void *fixture_map(void *ctx, u64 phys, u64 len)
{
	struct fixture *fx = ctx;
	for (unsigned i = 0; i < fx->n; i++) {
		struct chunk *c = &fx->c[i];
		if (c != fx->rsdp && phys >= c->phys && phys + len <= c->phys + c->len)
			return c->bytes + (phys - c->phys);
	}
	return NULL;
}

static struct chunk *find(struct fixture *fx, const char *sig)
{
	for (unsigned i = 0; i < fx->n; i++)
		if (!strcmp(fx->c[i].sig, sig) && &fx->c[i] != fx->rsdp)
			return &fx->c[i];
	return NULL;
}

static status_t parse(struct fixture *fx, struct acpi_info *info, struct diag_list *d)
{
	struct acpi_mem mem = { fixture_map, fx };
	memset(d, 0, sizeof(*d));
	return acpi_parse(fx->rsdp->bytes, fx->rsdp->len, &mem, info, d);
}

static struct acpi_info info;

static void check_four_cpus(struct fixture *fx, u32 pm1a_port)
{
	struct diag_list d;
	CHECK_EQ(parse(fx, &info, &d), ST_OK);
	CHECK_EQ(d.n, 0);
	CHECK(info.have_madt);
	CHECK_EQ(info.ncpus, 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(info.cpus[i].apic_id, i);
	CHECK_EQ(info.lapic_base, 0xfee00000);
	CHECK_EQ(info.nioapics, 1);
	CHECK_EQ(info.ioapics[0].address, 0xfec00000);
	CHECK(info.have_fadt);
	CHECK_EQ(info.pm1a_cnt.space_id, ACPI_GAS_IO);
	CHECK_EQ(info.pm1a_cnt.address, pm1a_port);
	CHECK(info.have_s5);
	CHECK_EQ(info.s5_slp_typa, 0);
}

TEST(acpi_bochs_haswell_tables)
{
	struct fixture fx;
	if (!load(&fx, "bochs-haswell-4cpu"))
		return;
	check_four_cpus(&fx, 0xb004);
	CHECK(!info.use_xsdt); /* Bochs's BIOS gives an ACPI 1.0 RSDP */
	CHECK_EQ(info.ioapics[0].id, 4);
	fixture_free(&fx);
}

TEST(acpi_qemu_pc_tables)
{
	struct fixture fx;
	if (!load(&fx, "qemu-pc-4cpu"))
		return;
	check_four_cpus(&fx, 0x604);
	fixture_free(&fx);
}

TEST(acpi_qemu_q35_ovmf_tables)
{
	struct fixture fx;
	if (!load(&fx, "qemu-q35-ovmf-4cpu"))
		return;
	check_four_cpus(&fx, 0x604);
	CHECK(info.use_xsdt);
	CHECK(info.reset_supported);
	CHECK_EQ(info.reset_reg.address, 0xcf9);
	CHECK_EQ(info.reset_value, 0x0f);
	fixture_free(&fx);
}

TEST(acpi_corrupt_madt_checksum_is_reported_and_skipped)
{
	struct fixture fx;
	if (!load(&fx, "qemu-pc-4cpu"))
		return;
	find(&fx, "APIC")->bytes[40] ^= 0x55;
	struct diag_list d;
	CHECK_EQ(parse(&fx, &info, &d), ST_OK);
	CHECK(diag_contains(&d, "APIC at 0x"));
	CHECK(diag_contains(&d, "bad checksum"));
	CHECK(diag_contains(&d, "only the boot CPU"));
	CHECK(!info.have_madt);
	CHECK_EQ(info.ncpus, 0);
	CHECK(info.have_fadt); /* the other tables still count */
	fixture_free(&fx);
}

TEST(acpi_corrupt_rsdp_checksum_is_refused)
{
	struct fixture fx;
	if (!load(&fx, "bochs-haswell-4cpu"))
		return;
	fx.rsdp->bytes[9] ^= 1; /* an OEM ID byte */
	struct diag_list d;
	CHECK_EQ(parse(&fx, &info, &d), ST_INVALID);
	CHECK(diag_contains(&d, "RSDP checksum"));
	fixture_free(&fx);
}

TEST(acpi_corrupt_extended_rsdp_checksum_is_refused)
{
	struct fixture fx;
	if (!load(&fx, "qemu-q35-ovmf-4cpu"))
		return;
	fx.rsdp->bytes[24] ^= 1; /* the XSDT address: only the extended checksum covers it */
	struct diag_list d;
	CHECK_EQ(parse(&fx, &info, &d), ST_INVALID);
	CHECK(diag_contains(&d, "extended checksum"));
	fixture_free(&fx);
}

TEST(acpi_corrupt_xsdt_falls_back_to_rsdt)
{
	struct fixture fx;
	if (!load(&fx, "qemu-q35-ovmf-4cpu"))
		return;
	struct chunk *x = find(&fx, "XSDT");
	CHECK(x != NULL);
	if (!x)
		return;
	x->bytes[x->len - 1] ^= 0xff;
	struct diag_list d;
	CHECK_EQ(parse(&fx, &info, &d), ST_OK);
	CHECK(diag_contains(&d, "falling back"));
	CHECK(!info.use_xsdt);
	CHECK_EQ(info.ncpus, 4);
	fixture_free(&fx);
}

TEST(acpi_table_outside_memory_or_with_bad_length)
{
	struct fixture fx;
	if (!load(&fx, "qemu-pc-4cpu"))
		return;
	struct chunk *m = find(&fx, "APIC");
	m->phys += 0x10000000; /* the RSDT now points at nothing readable */
	struct diag_list d;
	CHECK_EQ(parse(&fx, &info, &d), ST_OK);
	CHECK(diag_contains(&d, "outside readable memory"));
	CHECK_EQ(info.ncpus, 0);
	m->phys -= 0x10000000;

	u32 huge = 0x7fffffff;
	memcpy(m->bytes + 4, &huge, 4);
	CHECK_EQ(parse(&fx, &info, &d), ST_OK);
	CHECK(diag_contains(&d, "impossible length"));
	fixture_free(&fx);
}

/* Re-checksum a modified table so the parser looks at its contents. */
static void fix_checksum(struct chunk *c)
{
	c->bytes[9] = 0;
	c->bytes[9] = (u8)(0x100 - acpi_checksum(c->bytes, c->len));
}

TEST(acpi_madt_entry_with_zero_length_stops_the_walk)
{
	struct fixture fx;
	if (!load(&fx, "qemu-pc-4cpu"))
		return;
	struct chunk *m = find(&fx, "APIC");
	m->bytes[44 + 8 + 1] = 0; /* the second entry's length */
	fix_checksum(m);
	struct diag_list d;
	CHECK_EQ(parse(&fx, &info, &d), ST_OK);
	CHECK(diag_contains(&d, "bad length"));
	CHECK_EQ(info.ncpus, 1);
	fixture_free(&fx);
}

TEST(acpi_disabled_cpus_are_counted_not_started)
{
	struct fixture fx;
	if (!load(&fx, "qemu-pc-4cpu"))
		return;
	struct chunk *m = find(&fx, "APIC");
	/* Entry 0 is processor-local APIC 0 (8 bytes): clear its enabled flag. */
	CHECK_EQ(m->bytes[44], MADT_LOCAL_APIC);
	m->bytes[44 + 4] &= (u8)~MADT_CPU_ENABLED;
	fix_checksum(m);
	struct diag_list d;
	CHECK_EQ(parse(&fx, &info, &d), ST_OK);
	CHECK_EQ(info.ncpus, 3);
	CHECK_EQ(info.cpus_disabled, 1);
	fixture_free(&fx);
}

/* The BIOS-area search over a synthetic low memory. */
static u8 lowmem[0x100000];
static const void *low_map(void *ctx, u64 phys, u64 len)
{
	(void)ctx;
	return phys + len <= sizeof(lowmem) ? lowmem + phys : NULL;
}

TEST(acpi_finds_rsdp_in_ebda_and_bios_rom)
{
	struct fixture fx;
	if (!load(&fx, "bochs-haswell-4cpu"))
		return;
	struct acpi_mem mem = { low_map, NULL };
	memset(lowmem, 0, sizeof(lowmem));
	CHECK_EQ(acpi_find_rsdp_bios(&mem), 0);
	memcpy(lowmem + 0xf5a40, fx.rsdp->bytes, 20);
	CHECK_EQ(acpi_find_rsdp_bios(&mem), 0xf5a40);
	u16 seg = 0x9fc0; /* the EBDA is searched first */
	memcpy(lowmem + 0x40e, &seg, 2);
	memcpy(lowmem + 0x9fc00 + 0x30, fx.rsdp->bytes, 20);
	CHECK_EQ(acpi_find_rsdp_bios(&mem), 0x9fc30);
	lowmem[0x9fc30 + 8] ^= 1; /* a bad checksum there: keep looking */
	CHECK_EQ(acpi_find_rsdp_bios(&mem), 0xf5a40);
	fixture_free(&fx);
}
