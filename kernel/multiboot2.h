/* multiboot2.h: the Multiboot2 boot information format and its bounds-checked parser. */
#ifndef SLAT_MULTIBOOT2_H
#define SLAT_MULTIBOOT2_H

#include "types.h"

/* Multiboot2 specification 1.0, section 3.1: the header the loader looks for. */
#define MB2_HEADER_MAGIC 0xE85250D6u
/* Section 3.3: the value in EAX when the loader jumps to us. */
#define MB2_BOOTLOADER_MAGIC 0x36D76289u

/* Section 3.6: information tag types. */
enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_MMAP = 6,
	MB2_TAG_ACPI_OLD = 14, /* a copy of the ACPI 1.0 RSDP */
	MB2_TAG_ACPI_NEW = 15, /* a copy of the ACPI 2.0+ RSDP */
	MB2_TAG_EFI_BS = 18,   /* boot services were left running: not something we ask for */
};

/* Section 3.6.8: memory map entry types (the same numbering as the BIOS e820 call). */
enum mb2_mem_type {
	MB2_MEM_AVAILABLE = 1,
	MB2_MEM_RESERVED = 2,
	MB2_MEM_ACPI_RECLAIMABLE = 3,
	MB2_MEM_NVS = 4,
	MB2_MEM_BAD = 5,
};

struct mb2_info_header {
	u32 total_size;
	u32 reserved;
} PACKED;

struct mb2_tag {
	u32 type;
	u32 size;
} PACKED;

struct mb2_tag_module {
	u32 type;
	u32 size;
	u32 mod_start;
	u32 mod_end;
	char string[];
} PACKED;

struct mb2_tag_mmap {
	u32 type;
	u32 size;
	u32 entry_size;
	u32 entry_version;
} PACKED;

struct mb2_mmap_entry {
	u64 base;
	u64 length;
	u32 type;
	u32 reserved;
} PACKED;

_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "Multiboot2 mmap entry is 24 bytes");
_Static_assert(sizeof(struct mb2_tag_module) == 16, "module tag header is 16 bytes");

#define MB2_MAX_MMAP 128
#define MB2_MAX_MODULES 16
#define MB2_MAX_INFO_SIZE (1u * 1024 * 1024) /* sanity bound on total_size */

struct mem_region {
	u64 base;
	u64 length;
	u32 type; /* enum mb2_mem_type */
};

struct boot_module {
	u64 start;
	u64 end; /* exclusive */
	const char *string;
};

/* Everything slatvisor takes from the loader, copied out of the tags. */
struct boot_info {
	const char *cmdline;
	const char *loader_name;
	struct mem_region mmap[MB2_MAX_MMAP];
	unsigned nmmap;
	unsigned mmap_dropped; /* entries beyond MB2_MAX_MMAP */
	struct boot_module modules[MB2_MAX_MODULES];
	unsigned nmodules;
	unsigned modules_dropped;
	const void *rsdp; /* points into the info structure */
	u32 rsdp_len;
	bool efi_boot_services; /* the loader left boot services running */
	u64 base; /* where the structure itself is */
	u32 total_size;
	const char *error; /* set when parsing stopped early */
};

/*
 * Parse the boot information at @mbi, which the caller can read for
 * @readable bytes. Returns ST_INVALID and sets bi->error on a malformed
 * structure; what was parsed before the fault is kept.
 */
status_t mb2_parse(const void *mbi, size_t readable, struct boot_info *bi);

const char *mb2_mem_type_name(u32 type);

#endif
