/*
 * checks.h: what the guest's self-checking programs (memcheck, slatmon selftest) share: a table
 * of named checks, and fail(), which keeps the reason for the check's report line. Each program
 * prints its own lines (the boot tests match their words), so only this part is common.
 */
#ifndef GUEST_CHECKS_H
#define GUEST_CHECKS_H

#include <stdarg.h>
#include <stdio.h>

struct check {
	const char *name;
	int (*fn)(void); /* 0, or -1 after fail() */
};

static char detail[512]; /* the FAIL reason, or a note for the ok line */
static int n_ok, n_fail;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return -1;
}

#endif
