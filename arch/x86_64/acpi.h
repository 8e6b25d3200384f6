/* acpi.h: the ACPI tables slatvisor reads (RSDP, RSDT/XSDT, MADT, FADT, DSDT's \_S5) and their parser. */
#ifndef SLAT_ACPI_H
#define SLAT_ACPI_H

#include "../../kernel/diag.h"
#include "../../kernel/types.h"

/* ACPI 6.5, 5.2.5.3: Root System Description Pointer. */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	u8 checksum;       /* over the first 20 bytes */
	char oem_id[6];
	u8 revision; /* 0: ACPI 1.0 (RSDT only); 2: ACPI 2.0+ (XSDT) */
	u32 rsdt_address;
	u32 length; /* revision >= 2 from here on */
	u64 xsdt_address;
	u8 extended_checksum; /* over the whole structure */
	u8 reserved[3];
} PACKED;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");
#define ACPI_RSDP_V1_LEN 20

/* 5.2.6: the header every system description table starts with. */
struct acpi_sdt_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum; /* all bytes of the table sum to zero */
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} PACKED;
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header is 36 bytes");

/* 5.2.3.2: Generic Address Structure. */
struct acpi_gas {
	u8 space_id; /* ACPI_GAS_* */
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} PACKED;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1

/* 5.2.12: MADT interrupt controller structure types slatvisor uses. */
#define MADT_LOCAL_APIC 0
#define MADT_IO_APIC 1
#define MADT_LOCAL_APIC_OVERRIDE 5
#define MADT_LOCAL_X2APIC 9
/* 5.2.12.2: Local APIC flags. */
#define MADT_CPU_ENABLED BIT(0)
#define MADT_CPU_ONLINE_CAPABLE BIT(1)

/* 5.2.9: FADT field offsets (the table grew by revision; lengths are checked before use). */
#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_FLAG_RESET_REG_SUP BIT(10)
/* 4.8.4.2.1: PM1 control register fields used to enter a sleep state. */
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN BIT(13)

#define ACPI_MAX_TABLES 64
#define ACPI_MAX_CPUS 256
#define ACPI_MAX_IOAPICS 16
#define ACPI_MAX_TABLE_LEN (4u * 1024 * 1024) /* larger "tables" are corrupt headers */

/*
 * How the parser reads physical memory: the kernel maps identity, unit tests
 * serve captured tables. Returns NULL when [phys, phys+len) cannot be read.
 */
struct acpi_mem {
	const void *(*map)(void *ctx, u64 phys, u64 len);
	void *ctx;
};

struct acpi_table_ref {
	char signature[5];
	u64 phys;
	u32 length;
};

struct acpi_cpu {
	u32 apic_id;
	u32 uid;
	bool enabled;
};

struct acpi_ioapic {
	u32 id;
	u32 address;
	u32 gsi_base;
};

struct acpi_info {
	u8 revision; /* RSDP revision */
	bool use_xsdt;
	u64 root_phys;
	char oem_id[7];
	struct acpi_table_ref tables[ACPI_MAX_TABLES]; /* valid tables, root and DSDT included */
	unsigned ntables;

	bool have_madt;
	u64 lapic_base;
	struct acpi_cpu cpus[ACPI_MAX_CPUS]; /* enabled CPUs only, in MADT order */
	unsigned ncpus;
	unsigned cpus_disabled; /* present but not enabled (hot-plug slots) */
	unsigned cpus_dropped;  /* beyond ACPI_MAX_CPUS */
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	unsigned nioapics;

	bool have_fadt;
	struct acpi_gas pm1a_cnt; /* where a sleep state is entered; space_id IO or MEMORY */
	bool reset_supported;
	struct acpi_gas reset_reg;
	u8 reset_value;
	bool have_s5;
	u8 s5_slp_typa; /* SLP_TYPa value for S5 (soft off), from the DSDT's \_S5 package */
};

/* Checksum of @len bytes: zero for a valid table. */
u8 acpi_checksum(const void *p, size_t len);

/* Validate an RSDP image (signature, checksum, extended checksum for revision >= 2). */
status_t acpi_check_rsdp(const void *rsdp, size_t len, struct diag_list *d);

/*
 * Parse everything reachable from @rsdp. Tables with a bad checksum or length
 * are reported in @d and skipped; a corrupt XSDT falls back to the RSDT. Without
 * a usable MADT, ncpus stays 0 and the caller runs on the boot CPU alone.
 */
status_t acpi_parse(const void *rsdp, size_t rsdp_len, const struct acpi_mem *mem,
		    struct acpi_info *info, struct diag_list *d);

/* Find a valid RSDP in the legacy BIOS areas (EBDA first KiB, then 0xE0000-0xFFFFF). */
u64 acpi_find_rsdp_bios(const struct acpi_mem *mem);

#endif
