/* test_cmdline.c: option parsing, including everything a user can get wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../kernel/cmdline.h"
#include "../../kernel/options.h"

static u64 mode, count, flag;
static const struct opt_desc table[] = {
	{ "mode", OPT_CHOICE, "auto|ept|shadow", 0, 0, &mode, "" },
	{ "count", OPT_UINT, NULL, 1, 64, &count, "" },
	{ "flag", OPT_BOOL, NULL, 0, 0, &flag, "" },
};

static unsigned parse(const char *line, struct diag_list *d)
{
	mode = 0, count = 5, flag = 0;
	memset(d, 0, sizeof(*d));
	return cmdline_parse(line, table, 3, d);
}

TEST(cmdline_parses_each_type)
{
	struct diag_list d;
	CHECK_EQ(parse("mode=shadow count=0x10 flag", &d), 0);
	CHECK_EQ(mode, 2);
	CHECK_EQ(count, 16);
	CHECK_EQ(flag, 1);
	CHECK_EQ(parse("  flag=off\tcount=64  ", &d), 0);
	CHECK_EQ(flag, 0);
	CHECK_EQ(count, 64);
	CHECK_EQ(parse("", &d), 0);
	CHECK_EQ(parse(NULL, &d), 0);
}

TEST(cmdline_reports_unknown_keys_and_goes_on)
{
	struct diag_list d;
	CHECK_EQ(parse("bogus=1 mode=ept nosuchflag", &d), 2);
	CHECK_EQ(mode, 1);
	CHECK(diag_contains(&d, "unknown option 'bogus=1'"));
	CHECK(diag_contains(&d, "unknown option 'nosuchflag'"));
}

TEST(cmdline_rejects_bad_values_and_keeps_defaults)
{
	struct diag_list d;
	CHECK_EQ(parse("mode=fast count=65 flag=maybe", &d), 3);
	CHECK_EQ(mode, 0);
	CHECK_EQ(count, 5);
	CHECK_EQ(flag, 0);
	CHECK(diag_contains(&d, "expected one of auto|ept|shadow"));
	CHECK(diag_contains(&d, "from 1 to 64"));
	CHECK_EQ(parse("count= count=abc count=99999999999999999999999", &d), 3);
	CHECK_EQ(count, 5);
	CHECK_EQ(parse("mode", &d), 1); /* a choice needs a value */
}

TEST(cmdline_skips_a_leading_image_path)
{
	struct diag_list d;
	CHECK_EQ(parse("/boot/slatvisor.elf mode=ept", &d), 0);
	CHECK_EQ(mode, 1);
	CHECK_EQ(parse("mode=ept /boot/x", &d), 1); /* only as the first word */
}

TEST(cmdline_bounds_the_number_of_messages)
{
	struct diag_list d;
	char line[4096] = "";
	for (int i = 0; i < 40; i++)
		strcat(line, "x=1 ");
	CHECK_EQ(parse(line, &d), DIAG_MAX);
	CHECK_EQ(d.dropped, 40 - DIAG_MAX);
}

TEST(cmdline_parse_u64_edges)
{
	u64 v;
	CHECK(cmdline_parse_u64("18446744073709551615", 20, &v) && v == ~0ULL);
	CHECK(!cmdline_parse_u64("18446744073709551616", 20, &v));
	CHECK(cmdline_parse_u64("0xFFFFFFFFFFFFFFFF", 18, &v) && v == ~0ULL);
	CHECK(!cmdline_parse_u64("0x", 2, &v));
	CHECK(!cmdline_parse_u64("12a", 3, &v));
	CHECK(cmdline_parse_u64("0", 1, &v) && v == 0);
}

/* Every option the hypervisor accepts is documented for users. */
TEST(options_are_all_documented)
{
	FILE *fp = fopen(SOURCE_DIR "/docs/options.md", "r");
	CHECK(fp != NULL);
	if (!fp)
		return;
	static char doc[65536];
	size_t n = fread(doc, 1, sizeof(doc) - 1, fp);
	doc[n] = 0;
	fclose(fp);
	for (size_t i = 0; i < option_count; i++) {
		char key[64];
		snprintf(key, sizeof(key), "`%s=", option_table[i].name);
		if (!strstr(doc, key))
			check_fail(__FILE__, __LINE__, option_table[i].name);
	}
}

TEST(options_defaults_parse_cleanly)
{
	struct diag_list d = { 0 };
	options_parse("console=com2 loglevel=debug apic=xapic maxcpus=2 acpi_dump", &d);
	CHECK_EQ(d.n, 0);
	CHECK_EQ(opts.console, 1);
	CHECK_EQ(opts.loglevel, 3);
	CHECK_EQ(opts.maxcpus, 2);
	CHECK_EQ(opts.acpi_dump, 1);
}
