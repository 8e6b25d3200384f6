/* test_bzimage.c: checking a bzImage, placing it, its zero page, and the guest's e820. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../kernel/bzimage.h"

static u8 img[64 * 1024];

static void w16(u32 off, u16 v) { memcpy(img + off, &v, 2); }
static void w32(u32 off, u32 v) { memcpy(img + off, &v, 4); }
static void w64(u32 off, u64 v) { memcpy(img + off, &v, 8); }
static u32 r32(const u8 *p, u32 off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 r64(const u8 *p, u32 off) { u64 v; memcpy(&v, p + off, 8); return v; }

/* A minimal image with the setup header a 6.1 kernel has: 4 setup sectors, 32 KiB payload. */
static void make_image(void)
{
	memset(img, 0, sizeof(img));
	img[BP_SETUP_SECTS] = 4;
	w32(BP_SYSSIZE, 32 * 1024 / 16);
	w16(BP_BOOT_FLAG, BZ_BOOT_FLAG);
	img[BP_JUMP] = 0xEB;
	img[BP_JUMP + 1] = 0x6A; /* the header ends at 0x202 + 0x6A = 0x26C */
	w32(BP_HEADER, BZ_HEADER_MAGIC);
	w16(BP_VERSION, 0x020F);
	img[BP_LOADFLAGS] = LOADFLAGS_LOADED_HIGH;
	w32(BP_INITRD_ADDR_MAX, 0x7FFFFFFF);
	w32(BP_KERNEL_ALIGNMENT, 2 * MiB);
	img[BP_RELOCATABLE_KERNEL] = 1;
	w16(BP_XLOADFLAGS, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	w32(BP_CMDLINE_SIZE, 2047);
	w64(BP_PREF_ADDRESS, 16 * MiB);
	w32(BP_INIT_SIZE, 40 * MiB);
}

static const u64 image_len = 5 * 512 + 32 * 1024;

TEST(bzimage_parses_a_64bit_kernel)
{
	make_image();
	struct bzimage bz;
	struct diag_list d = { 0 };
	CHECK_EQ(bzimage_parse(img, image_len, &bz, &d), ST_OK);
	CHECK_EQ(d.n, 0);
	CHECK_EQ(bz.version, 0x020F);
	CHECK_EQ(bz.payload_offset, 5 * 512);
	CHECK_EQ(bz.payload_size, 32 * 1024);
	CHECK_EQ(bz.pref_address, 16 * MiB);
	CHECK_EQ(bz.init_size, 40 * MiB);
	CHECK(bz.relocatable);
	CHECK_EQ(bz.cmdline_max, 2047);
}

TEST(bzimage_refuses_bad_images_with_a_reason)
{
	struct bzimage bz;
	struct diag_list d = { 0 };
	make_image();
	img[BP_HEADER] = 'X';
	CHECK_EQ(bzimage_parse(img, image_len, &bz, &d), ST_INVALID);
	CHECK(diag_contains(&d, "not a Linux bzImage"));

	make_image();
	w16(BP_VERSION, 0x020B);
	CHECK_EQ(bzimage_parse(img, image_len, &bz, &d), ST_UNSUPPORTED);
	CHECK(diag_contains(&d, "2.11 is too old"));

	make_image();
	w16(BP_XLOADFLAGS, 0);
	CHECK_EQ(bzimage_parse(img, image_len, &bz, &d), ST_UNSUPPORTED);
	CHECK(diag_contains(&d, "no 64-bit entry point"));

	make_image();
	CHECK_EQ(bzimage_parse(img, image_len - 1, &bz, &d), ST_INVALID);
	CHECK(diag_contains(&d, "truncated"));

	make_image();
	CHECK_EQ(bzimage_parse(img, 100, &bz, &d), ST_INVALID); /* shorter than the header */
	w32(BP_INIT_SIZE, 4096);
	CHECK_EQ(bzimage_parse(img, image_len, &bz, &d), ST_INVALID);
	CHECK(diag_contains(&d, "init_size"));
}

static const struct e820_entry ram[] = {
	{ 0, 0x9F000, 1 },
	{ 0x100000, 0x1FF00000, 1 },
};

TEST(bzimage_load_address_prefers_pref_then_relocates)
{
	make_image();
	struct bzimage bz;
	struct diag_list d = { 0 };
	bzimage_parse(img, image_len, &bz, &d);
	CHECK_EQ(bzimage_load_address(&bz, ram, 2, NULL, 0, 4 * GiB), 16 * MiB);
	/*
	 * An initramfs at 40 MiB overlaps [16, 56) MiB, and so does every lower
	 * 2 MiB-aligned start: the first fit begins after it.
	 */
	struct phys_range initrd = { 40 * MiB, 40 * MiB + 3 * MiB + 5 };
	CHECK_EQ(bzimage_load_address(&bz, ram, 2, &initrd, 1, 4 * GiB), 44 * MiB);
	struct phys_range low = { 1 * MiB, 30 * MiB };
	CHECK_EQ(bzimage_load_address(&bz, ram, 2, &low, 1, 4 * GiB), 30 * MiB);
	img[BP_RELOCATABLE_KERNEL] = 0;
	bzimage_parse(img, image_len, &bz, &d);
	CHECK_EQ(bzimage_load_address(&bz, ram, 2, &initrd, 1, 4 * GiB), 0);
	static const struct e820_entry small[] = { { 0x100000, 8 * MiB, 1 } };
	img[BP_RELOCATABLE_KERNEL] = 1;
	bzimage_parse(img, image_len, &bz, &d);
	CHECK_EQ(bzimage_load_address(&bz, small, 1, NULL, 0, 4 * GiB), 0);
	/* Nothing may end beyond what the initial page tables map. */
	CHECK_EQ(bzimage_load_address(&bz, ram, 2, NULL, 0, 50 * MiB), 2 * MiB);
	CHECK_EQ(bzimage_load_address(&bz, ram, 2, NULL, 0, 40 * MiB), 0);
}

TEST(bzimage_zero_page_fields)
{
	make_image();
	static u8 zp[BP_SIZE];
	memset(zp, 0xCC, sizeof(zp));
	struct e820_entry e[2] = { { 0, 0x9F000, 1 }, { 0x100000, 0x1000000, 1 } };
	struct linux_boot_args a = { 0x2000, 0x12345000, 0x678000, 0xF5A40, e, 2 };
	bzimage_build_zero_page(zp, img, &a);
	CHECK_EQ(zp[0], 0); /* everything outside the header is cleared */
	CHECK_EQ(r32(zp, BP_HEADER), BZ_HEADER_MAGIC); /* the header is copied */
	CHECK_EQ(r64(zp, BP_PREF_ADDRESS), 16 * MiB);
	CHECK_EQ(zp[0x26C], 0); /* and no further than its end */
	CHECK_EQ(zp[BP_TYPE_OF_LOADER], BZ_LOADER_UNDEFINED);
	CHECK_EQ(r32(zp, BP_CMD_LINE_PTR), 0x2000);
	CHECK_EQ(r32(zp, BP_RAMDISK_IMAGE), 0x12345000);
	CHECK_EQ(r32(zp, BP_RAMDISK_SIZE), 0x678000);
	CHECK_EQ(r32(zp, BP_EXT_RAMDISK_IMAGE), 0);
	CHECK_EQ(r64(zp, BP_ACPI_RSDP_ADDR), 0xF5A40);
	CHECK_EQ(zp[BP_E820_ENTRIES], 2);
	CHECK_EQ(r64(zp, BP_E820_TABLE + 20), 0x100000);
	CHECK_EQ(r32(zp, BP_E820_TABLE + 20 + 16), 1);
	/* An initramfs above 4 GiB goes in the ext_ fields. */
	a.initrd_addr = 0x123456000ULL;
	bzimage_build_zero_page(zp, img, &a);
	CHECK_EQ(r32(zp, BP_RAMDISK_IMAGE), 0x23456000);
	CHECK_EQ(r32(zp, BP_EXT_RAMDISK_IMAGE), 1);
}

TEST(e820_for_the_guest_hides_hypervisor_memory)
{
	static const struct mem_region map[] = {
		{ 0, 0x9F000, MB2_MEM_AVAILABLE },
		{ 0x9F000, 0x1000, MB2_MEM_RESERVED },
		{ 0xE8000, 0x18000, MB2_MEM_RESERVED },
		{ 0x100000, 0x1FEF0000, MB2_MEM_AVAILABLE },
		{ 0x1FFF0000, 0x10000, MB2_MEM_ACPI_RECLAIMABLE },
		{ 0xFFFC0000, 0x40000, MB2_MEM_RESERVED },
		{ 0x100000000ULL, 0x1000, 20 }, /* an unknown type becomes reserved */
	};
	const struct phys_range hide[] = {
		{ 0x200000, 0x400000 },      /* the image */
		{ 0x1EE00000, 0x1FE00000 },  /* the pool */
		{ 0x1000, 0xA000 },          /* the guest's boot data */
	};
	struct e820_entry e[32];
	unsigned n = memmap_e820(map, 7, hide, 3, e, 32);
	static const struct e820_entry want[] = {
		{ 0, 0x1000, 1 },
		{ 0x1000, 0x9000, 2 },
		{ 0xA000, 0x95000, 1 },
		{ 0x9F000, 0x1000, 2 },
		{ 0xE8000, 0x18000, 2 },
		{ 0x100000, 0x100000, 1 },
		{ 0x200000, 0x200000, 2 },
		{ 0x400000, 0x1EA00000, 1 },
		{ 0x1EE00000, 0x1000000, 2 },
		{ 0x1FE00000, 0x1F0000, 1 },
		{ 0x1FFF0000, 0x10000, 3 },
		{ 0xFFFC0000, 0x41000, 2 }, /* merged with the unknown-type entry right after it */
	};
	CHECK_EQ(n, ARRAY_SIZE(want));
	for (unsigned i = 0; i < n && i < ARRAY_SIZE(want); i++) {
		CHECK_EQ(e[i].addr, want[i].addr);
		CHECK_EQ(e[i].size, want[i].size);
		CHECK_EQ(e[i].type, want[i].type);
	}
}
