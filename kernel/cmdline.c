/* cmdline.c: parse "key=value" options against a table; report, never reject, bad input. */
#include "cmdline.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool word_eq(const char *a, size_t alen, const char *b)
{
	size_t i = 0;
	for (; i < alen; i++)
		if (b[i] != a[i])
			return false;
	return b[i] == '\0';
}

bool cmdline_parse_u64(const char *s, size_t len, u64 *out)
{
	unsigned base = 10;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	u64 v = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (v > (~0ULL - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

/* Index of @val among the '|'-separated words of @choices, or -1. */
static int choice_index(const char *choices, const char *val, size_t vlen)
{
	int idx = 0;
	const char *w = choices;
	while (*w) {
		size_t n = 0;
		while (w[n] && w[n] != '|')
			n++;
		if (n == vlen) {
			size_t i = 0;
			while (i < n && w[i] == val[i])
				i++;
			if (i == n)
				return idx;
		}
		w += n;
		if (*w == '|')
			w++;
		idx++;
	}
	return -1;
}

static void apply(const struct opt_desc *o, const char *key, size_t klen, const char *val,
		  size_t vlen, bool has_val, struct diag_list *d)
{
	u64 v;
	switch (o->type) {
	case OPT_BOOL:
		if (!has_val) {
			*o->value = 1;
			return;
		}
		if (choice_index("0|off|no|false", val, vlen) >= 0) {
			*o->value = 0;
			return;
		}
		if (choice_index("1|on|yes|true", val, vlen) >= 0) {
			*o->value = 1;
			return;
		}
		diag_add(d, "option %.*s=%.*s: expected on or off; ignored", (int)klen, key, (int)vlen,
		     val);
		return;
	case OPT_CHOICE: {
		int idx = has_val ? choice_index(o->choices, val, vlen) : -1;
		if (idx < 0) {
			diag_add(d, "option %.*s=%.*s: expected one of %s; ignored", (int)klen, key,
			     (int)vlen, val, o->choices);
			return;
		}
		*o->value = (u64)idx;
		return;
	}
	case OPT_UINT:
		if (!has_val || !cmdline_parse_u64(val, vlen, &v) || v < o->min || v > o->max) {
			diag_add(d, "option %.*s=%.*s: expected a number from %llu to %llu; ignored",
			     (int)klen, key, (int)vlen, val, (unsigned long long)o->min,
			     (unsigned long long)o->max);
			return;
		}
		*o->value = v;
		return;
	}
}

unsigned cmdline_parse(const char *line, const struct opt_desc *opts, size_t nopts,
		       struct diag_list *d)
{
	unsigned before = d->n;
	if (!line)
		return 0;

	bool first = true;
	const char *p = line;
	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		const char *tok = p;
		while (*p && !is_space(*p))
			p++;
		size_t tlen = (size_t)(p - tok);

		size_t klen = 0;
		while (klen < tlen && tok[klen] != '=')
			klen++;
		bool has_val = klen < tlen;
		const char *val = has_val ? tok + klen + 1 : tok + tlen;
		size_t vlen = has_val ? tlen - klen - 1 : 0;

		/* Some loaders pass the image path as the first word. */
		if (first && !has_val && tok[0] == '/') {
			first = false;
			continue;
		}
		first = false;

		const struct opt_desc *o = NULL;
		for (size_t i = 0; i < nopts; i++)
			if (word_eq(tok, klen, opts[i].name))
				o = &opts[i];
		if (!o) {
			diag_add(d, "unknown option '%.*s'; ignored", (int)tlen, tok);
			continue;
		}
		apply(o, tok, klen, val, vlen, has_val, d);
	}
	return d->n - before;
}
