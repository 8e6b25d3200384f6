/* bzimage.c: validate a bzImage, choose where it runs, and build its zero page (pure logic). */
#include "bzimage.h"
#include "kstring.h"
#include "unaligned.h"

status_t bzimage_parse(const u8 *img, u64 len, struct bzimage *bz, struct diag_list *d)
{
	memset(bz, 0, sizeof(*bz));
	if (len < BP_INIT_SIZE + 4 || get_u16(img + BP_BOOT_FLAG) != BZ_BOOT_FLAG ||
	    get_u32(img + BP_HEADER) != BZ_HEADER_MAGIC) {
		diag_add(d, "not a Linux bzImage (no 0xAA55 boot flag and \"HdrS\" header in its %llu bytes)",
			 (unsigned long long)len);
		return ST_INVALID;
	}
	bz->version = get_u16(img + BP_VERSION);
	if (bz->version < BZ_MIN_VERSION) {
		diag_add(d, "boot protocol %u.%02u is too old: slatvisor needs 2.12 or later",
			 bz->version >> 8, bz->version & 0xFF);
		return ST_UNSUPPORTED;
	}
	bz->xloadflags = get_u16(img + BP_XLOADFLAGS);
	if (!(bz->xloadflags & XLF_KERNEL_64) || !(img[BP_LOADFLAGS] & LOADFLAGS_LOADED_HIGH)) {
		diag_add(d, "the kernel has no 64-bit entry point (XLF_KERNEL_64): build it for x86-64");
		return ST_UNSUPPORTED;
	}
	bz->setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	bz->relocatable = img[BP_RELOCATABLE_KERNEL];
	bz->alignment = get_u32(img + BP_KERNEL_ALIGNMENT);
	bz->pref_address = get_u64(img + BP_PREF_ADDRESS);
	bz->init_size = get_u32(img + BP_INIT_SIZE);
	bz->cmdline_max = get_u32(img + BP_CMDLINE_SIZE);
	bz->initrd_addr_max = get_u32(img + BP_INITRD_ADDR_MAX);
	bz->payload_offset = (u64)(bz->setup_sects + 1) * 512;
	bz->payload_size = (u64)get_u32(img + BP_SYSSIZE) * 16;
	if (bz->alignment < PAGE_SIZE || (bz->alignment & (bz->alignment - 1)))
		bz->alignment = 2 * MiB; /* a nonsense alignment: use the common one */
	if (bz->payload_offset + bz->payload_size > len || !bz->payload_size) {
		diag_add(d, "the bzImage is truncated: its header promises %llu bytes, the module has %llu",
			 (unsigned long long)(bz->payload_offset + bz->payload_size),
			 (unsigned long long)len);
		return ST_INVALID;
	}
	if (bz->init_size < bz->payload_size) {
		diag_add(d, "the bzImage's init_size (%u) is smaller than its payload (%llu)", bz->init_size,
			 (unsigned long long)bz->payload_size);
		return ST_INVALID;
	}
	return ST_OK;
}

static bool fits(u64 addr, u64 size, const struct e820_entry *e820, unsigned n,
		 const struct phys_range *avoid, unsigned navoid, u64 limit)
{
	if (addr + size > limit)
		return false;
	bool in_ram = false;
	for (unsigned i = 0; i < n && !in_ram; i++)
		in_ram = e820[i].type == 1 && e820[i].addr <= addr && e820[i].addr + e820[i].size >= addr + size;
	for (unsigned i = 0; i < navoid && in_ram; i++)
		if (avoid[i].base < addr + size && avoid[i].end > addr)
			return false;
	return in_ram;
}

u64 bzimage_load_address(const struct bzimage *bz, const struct e820_entry *e820, unsigned n,
			 const struct phys_range *avoid, unsigned navoid, u64 limit)
{
	u64 size = ALIGN_UP(bz->init_size, PAGE_SIZE);
	if (bz->pref_address >= MiB && fits(bz->pref_address, size, e820, n, avoid, navoid, limit))
		return bz->pref_address;
	if (!bz->relocatable)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (e820[i].type != 1)
			continue;
		/* Skip candidates that hit an avoided range by jumping past it. */
		u64 a = ALIGN_UP(MAX(e820[i].addr, MiB), bz->alignment);
		while (a + size <= e820[i].addr + e820[i].size) {
			if (fits(a, size, e820, n, avoid, navoid, limit))
				return a;
			a += bz->alignment;
		}
	}
	return 0;
}

void bzimage_build_zero_page(u8 *zp, const u8 *img, const struct linux_boot_args *a)
{
	memset(zp, 0, BP_SIZE);
	/* The setup header runs from 0x1F1 to the end given by the jump at 0x200. */
	u32 hdr_end = 0x202 + img[BP_JUMP + 1];
	if (hdr_end > BP_E820_TABLE)
		hdr_end = BP_E820_TABLE;
	memcpy(zp + BP_SETUP_HEADER, img + BP_SETUP_HEADER, hdr_end - BP_SETUP_HEADER);

	zp[BP_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
	put_u32(zp + BP_CMD_LINE_PTR, (u32)a->cmdline_addr);
	put_u32(zp + BP_EXT_CMD_LINE_PTR, (u32)(a->cmdline_addr >> 32));
	put_u32(zp + BP_RAMDISK_IMAGE, (u32)a->initrd_addr);
	put_u32(zp + BP_EXT_RAMDISK_IMAGE, (u32)(a->initrd_addr >> 32));
	put_u32(zp + BP_RAMDISK_SIZE, (u32)a->initrd_size);
	put_u32(zp + BP_EXT_RAMDISK_SIZE, (u32)(a->initrd_size >> 32));
	put_u64(zp + BP_ACPI_RSDP_ADDR, a->rsdp_addr);
	unsigned n = MIN(a->ne820, BP_E820_MAX);
	zp[BP_E820_ENTRIES] = (u8)n;
	memcpy(zp + BP_E820_TABLE, a->e820, n * sizeof(struct e820_entry));
}
