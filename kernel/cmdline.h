/* cmdline.h: a table-driven parser for the hypervisor's "key=value" Multiboot2 command line. */
#ifndef SLAT_CMDLINE_H
#define SLAT_CMDLINE_H

#include "diag.h"
#include "types.h"

enum opt_type {
	OPT_CHOICE, /* value is one of the '|'-separated words in .choices; stores its index */
	OPT_UINT,   /* decimal or 0x-prefixed hex, within [min, max] */
	OPT_BOOL,   /* bare "key", or key=1|0|on|off|yes|no */
};

struct opt_desc {
	const char *name;
	enum opt_type type;
	const char *choices; /* OPT_CHOICE: "com1|com2|e9" */
	u64 min, max;        /* OPT_UINT */
	u64 *value;          /* where the parsed value goes; left untouched on error */
	const char *help;    /* one line, shown in docs and when a value is rejected */
};

/*
 * Parse a whitespace-separated command line against a table. Unknown keys and
 * bad values are reported in @d and otherwise ignored: a typo must never stop
 * a boot. A leading word that looks like a path (the image name some loaders
 * pass first) is skipped. Returns the number of diagnostics.
 */
unsigned cmdline_parse(const char *line, const struct opt_desc *opts, size_t nopts,
		       struct diag_list *d);

/* Parse "123" or "0x7b". Returns false on anything else, including overflow. */
bool cmdline_parse_u64(const char *s, size_t len, u64 *out);

#endif
