/* diag.c: a bounded list of formatted messages. */
#include <stdarg.h>
#include "diag.h"
#include "fmt.h"

void diag_add(struct diag_list *d, const char *fmt, ...)
{
	if (d->n >= DIAG_MAX) {
		d->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(d->msg[d->n++], DIAG_LEN, fmt, ap);
	va_end(ap);
}

bool diag_contains(const struct diag_list *d, const char *needle)
{
	for (unsigned i = 0; i < d->n; i++) {
		for (const char *h = d->msg[i]; *h; h++) {
			const char *a = h, *b = needle;
			while (*a && *b && *a == *b)
				a++, b++;
			if (!*b)
				return true;
		}
	}
	return false;
}
