/* bzimage.h: the Linux/x86 boot protocol (Documentation/x86/boot.rst): setup header and zero page. */
#ifndef SLAT_BZIMAGE_H
#define SLAT_BZIMAGE_H

#include "diag.h"
#include "types.h"
#include "../mm/memmap.h"

/* Offsets into the bzImage's first sector and into the zero page (struct boot_params). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE 0x0C4
#define BP_EXT_CMD_LINE_PTR 0x0C8
#define BP_E820_ENTRIES 0x1E8
#define BP_SETUP_HEADER 0x1F1
#define BP_SETUP_SECTS 0x1F1
#define BP_SYSSIZE 0x1F4
#define BP_BOOT_FLAG 0x1FE
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21C
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22C
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE_KERNEL 0x234
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2D0
#define BP_E820_MAX 128
#define BP_SIZE 4096

#define BZ_BOOT_FLAG 0xAA55
#define BZ_HEADER_MAGIC 0x53726448 /* "HdrS" */
#define BZ_MIN_VERSION 0x020C      /* 2.12: xloadflags, the 64-bit entry contract */
#define LOADFLAGS_LOADED_HIGH BIT(0)
#define XLF_KERNEL_64 BIT(0)       /* the 64-bit entry at load address + 0x200 */
#define XLF_CAN_BE_LOADED_ABOVE_4G BIT(1)
#define BZ_ENTRY64_OFFSET 0x200
#define BZ_LOADER_UNDEFINED 0xFF

struct bzimage {
	u16 version;
	u8 setup_sects;
	u16 xloadflags;
	bool relocatable;
	u32 alignment;
	u64 pref_address;
	u32 init_size;      /* memory the kernel needs from its load address while it decompresses */
	u32 cmdline_max;    /* longest command line it takes, without the NUL */
	u32 initrd_addr_max;
	u64 payload_offset; /* where the protected-mode kernel starts in the file */
	u64 payload_size;
};

/* Check a bzImage of @len bytes and read its setup header. Refusals are explained in @d. */
status_t bzimage_parse(const u8 *img, u64 len, struct bzimage *bz, struct diag_list *d);

/*
 * Where to put the kernel: its preferred address if [pref, pref+init_size)
 * is usable RAM clear of @avoid and ends by @limit (what the initial page
 * tables map), else (if relocatable) the lowest suitably aligned such place.
 * Returns 0 when nothing fits.
 */
u64 bzimage_load_address(const struct bzimage *bz, const struct e820_entry *e820, unsigned n,
			 const struct phys_range *avoid, unsigned navoid, u64 limit);

struct linux_boot_args {
	u64 cmdline_addr;
	u64 initrd_addr, initrd_size;
	u64 rsdp_addr;
	const struct e820_entry *e820;
	unsigned ne820;
};

/* Fill the 4 KiB zero page @zp from the image's setup header and @a. */
void bzimage_build_zero_page(u8 *zp, const u8 *img, const struct linux_boot_args *a);

#endif
