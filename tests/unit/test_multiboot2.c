/* test_multiboot2.c: boot information parsing, well-formed and hostile. */
#include <string.h>
#include "check.h"
#include "../../kernel/multiboot2.h"

/* A boot information builder: tags appended 8-byte aligned, as a loader lays them out. */
static _Alignas(8) u8 mbi[4096];
static size_t len;

static void begin(void)
{
	memset(mbi, 0, sizeof(mbi));
	len = 8;
}

static void *tag(u32 type, u32 size)
{
	u8 *t = mbi + len;
	memcpy(t, &type, 4);
	memcpy(t + 4, &size, 4);
	len += (size + 7) & ~7u;
	return t;
}

static void end(void)
{
	tag(MB2_TAG_END, 8);
	u32 total = (u32)len;
	memcpy(mbi, &total, 4);
}

static void add_string(u32 type, const char *s)
{
	u8 *t = tag(type, 8 + (u32)strlen(s) + 1);
	strcpy((char *)t + 8, s);
}

static void add_module(u32 start, u32 endaddr, const char *s)
{
	struct mb2_tag_module *m = tag(MB2_TAG_MODULE, 16 + (u32)strlen(s) + 1);
	m->mod_start = start;
	m->mod_end = endaddr;
	strcpy(m->string, s);
}

static void add_mmap(const struct mb2_mmap_entry *e, unsigned n)
{
	struct mb2_tag_mmap *m = tag(MB2_TAG_MMAP, 16 + 24 * n);
	m->entry_size = 24;
	memcpy((u8 *)m + 16, e, 24 * n);
}

TEST(mb2_parses_a_grub_like_structure)
{
	struct boot_info bi;
	begin();
	add_string(MB2_TAG_CMDLINE, "loglevel=debug");
	add_string(MB2_TAG_LOADER_NAME, "GRUB 2.06");
	add_module(0x400000, 0x500000, "console=ttyS0 quiet");
	add_module(0x600000, 0x601000, "");
	struct mb2_mmap_entry e[3] = {
		{ 0, 0x9fc00, MB2_MEM_AVAILABLE, 0 },
		{ 0x100000, 0x1ff00000, MB2_MEM_AVAILABLE, 0 },
		{ 0xfffc0000, 0x40000, MB2_MEM_RESERVED, 0 },
	};
	add_mmap(e, 3);
	u8 *r = tag(MB2_TAG_ACPI_OLD, 8 + 20);
	memcpy(r + 8, "RSD PTR ", 8);
	end();

	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_OK);
	CHECK_STR(bi.cmdline, "loglevel=debug");
	CHECK_STR(bi.loader_name, "GRUB 2.06");
	CHECK_EQ(bi.nmodules, 2);
	CHECK_EQ(bi.modules[0].start, 0x400000);
	CHECK_EQ(bi.modules[0].end, 0x500000);
	CHECK_STR(bi.modules[0].string, "console=ttyS0 quiet");
	CHECK_STR(bi.modules[1].string, "");
	CHECK_EQ(bi.nmmap, 3);
	CHECK_EQ(bi.mmap[1].base, 0x100000);
	CHECK_EQ(bi.mmap[2].type, MB2_MEM_RESERVED);
	CHECK(bi.rsdp == r + 8);
	CHECK_EQ(bi.rsdp_len, 20);
	CHECK(bi.error == NULL);
}

TEST(mb2_prefers_the_acpi2_rsdp_in_any_order)
{
	struct boot_info bi;
	begin();
	u8 *n = tag(MB2_TAG_ACPI_NEW, 8 + 36);
	tag(MB2_TAG_ACPI_OLD, 8 + 20);
	end();
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_OK);
	CHECK(bi.rsdp == n + 8);
	CHECK_EQ(bi.rsdp_len, 36);
}

TEST(mb2_without_modules_or_cmdline)
{
	struct boot_info bi;
	begin();
	end();
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_OK);
	CHECK_EQ(bi.nmodules, 0);
	CHECK_STR(bi.cmdline, "");
	CHECK(bi.rsdp == NULL);
}

TEST(mb2_rejects_bad_sizes)
{
	struct boot_info bi;
	begin();
	end();
	u32 total = 4;
	memcpy(mbi, &total, 4);
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_INVALID);
	CHECK(bi.error != NULL);

	begin();
	end();
	CHECK_EQ(mb2_parse(mbi, 8, &bi), ST_INVALID); /* total_size beyond what is readable */
	CHECK_EQ(mb2_parse(NULL, 100, &bi), ST_INVALID);
	CHECK_EQ(mb2_parse(mbi + 4, 100, &bi), ST_INVALID); /* misaligned */
}

TEST(mb2_rejects_a_tag_that_overruns)
{
	struct boot_info bi;
	begin();
	add_string(MB2_TAG_CMDLINE, "ok");
	u8 *t = tag(MB2_TAG_LOADER_NAME, 16);
	end();
	u32 huge = 4000;
	memcpy(t + 4, &huge, 4);
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_INVALID);
	CHECK_STR(bi.cmdline, "ok"); /* what came before the damage is kept */
}

TEST(mb2_needs_an_end_tag)
{
	struct boot_info bi;
	begin();
	add_string(MB2_TAG_CMDLINE, "x");
	u32 total = (u32)len;
	memcpy(mbi, &total, 4);
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_INVALID);
	CHECK(strstr(bi.error, "end tag") != NULL);
}

TEST(mb2_tolerates_hostile_module_tags)
{
	struct boot_info bi;
	begin();
	add_module(0x500000, 0x400000, "backwards"); /* end before start: treated as empty */
	struct mb2_tag_module *m = tag(MB2_TAG_MODULE, 16 + 4);
	memcpy(m->string, "abcd", 4); /* no terminating NUL inside the tag */
	end();
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_OK);
	CHECK_EQ(bi.modules[0].end, bi.modules[0].start);
	CHECK_STR(bi.modules[1].string, "");
}

TEST(mb2_bounds_modules_and_map_entries)
{
	struct boot_info bi;
	begin();
	for (int i = 0; i < MB2_MAX_MODULES + 3; i++)
		add_module(0x100000 * (u32)(i + 1), 0x100000 * (u32)(i + 1) + 10, "m");
	struct mb2_mmap_entry e[MB2_MAX_MMAP + 5];
	for (unsigned i = 0; i < MB2_MAX_MMAP + 5; i++)
		e[i] = (struct mb2_mmap_entry){ i * 0x1000ULL, 0x1000, MB2_MEM_AVAILABLE, 0 };
	add_mmap(e, MB2_MAX_MMAP + 5);
	end();
	CHECK(len < sizeof(mbi));
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_OK);
	CHECK_EQ(bi.nmodules, MB2_MAX_MODULES);
	CHECK_EQ(bi.modules_dropped, 3);
	CHECK_EQ(bi.nmmap, MB2_MAX_MMAP);
	CHECK_EQ(bi.mmap_dropped, 5);
}

TEST(mb2_rejects_a_bad_mmap_entry_size)
{
	struct boot_info bi;
	begin();
	struct mb2_tag_mmap *m = tag(MB2_TAG_MMAP, 16 + 24);
	m->entry_size = 8;
	end();
	CHECK_EQ(mb2_parse(mbi, sizeof(mbi), &bi), ST_INVALID);
}
