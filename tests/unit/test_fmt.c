/* test_fmt.c: the kernel's vsnprintf against the formats the log uses. */
#include <string.h>
#include "check.h"
#include "../../kernel/fmt.h"

static const char *f(const char *fmt, ...)
{
	static char buf[256];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

TEST(fmt_integers)
{
	CHECK_STR(f("%d %i %u", -42, 7, 4000000000u), "-42 7 4000000000");
	CHECK_STR(f("%x %X", 0xbeefu, 0xbeefu), "beef BEEF");
	CHECK_STR(f("%llx", 0xfedcba9876543210ULL), "fedcba9876543210");
	CHECK_STR(f("%lld", (long long)-9223372036854775807LL - 1), "-9223372036854775808");
	CHECK_STR(f("%zu", (size_t)123456), "123456");
	CHECK_STR(f("%hhx %hx", 0x1ff, 0x1ffff), "ff ffff");
	CHECK_STR(f("%u", 0u), "0");
}

TEST(fmt_width_and_flags)
{
	CHECK_STR(f("[%5d]", 42), "[   42]");
	CHECK_STR(f("[%-5d]", 42), "[42   ]");
	CHECK_STR(f("[%05d]", -42), "[-0042]");
	CHECK_STR(f("[%016llx]", 0x1234ULL), "[0000000000001234]");
	CHECK_STR(f("[%*d]", 4, 7), "[   7]");
	CHECK_STR(f("[%5llu.%06llu]", 3ULL, 4567ULL), "[    3.004567]");
}

TEST(fmt_strings_and_chars)
{
	CHECK_STR(f("%s|%-4s|%4s", "ab", "c", "d"), "ab|c   |   d");
	CHECK_STR(f("%.3s", "abcdef"), "abc");
	CHECK_STR(f("%.*s", 2, "abcdef"), "ab");
	CHECK_STR(f("%s", (char *)NULL), "(null)");
	CHECK_STR(f("%c%c%%", 'o', 'k'), "ok%");
	CHECK_STR(f("%p", (void *)0x1000), "0x1000");
}

TEST(fmt_truncates_and_reports_full_length)
{
	char buf[8];
	int n = fmt_snprintf(buf, sizeof(buf), "%s", "0123456789");
	CHECK_EQ(n, 10);
	CHECK_STR(buf, "0123456");
	n = fmt_snprintf(buf, 1, "abc");
	CHECK_EQ(n, 3);
	CHECK_EQ(buf[0], 0);
}

TEST(fmt_odd_conversions_do_not_crash)
{
	CHECK_STR(f("100%"), "100");
	CHECK_STR(f("%q"), "%q");
}
