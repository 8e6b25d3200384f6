/* diag.h: messages collected by pure parsing code, printed by the kernel (or a unit test) later. */
#ifndef SLAT_DIAG_H
#define SLAT_DIAG_H

#include "types.h"

#define DIAG_MAX 24
#define DIAG_LEN 120

/*
 * Parsers run before the console exists and inside host unit tests, so they
 * never print: they append here, and the caller decides where the words go.
 */
struct diag_list {
	unsigned n;
	unsigned dropped; /* messages beyond DIAG_MAX */
	char msg[DIAG_MAX][DIAG_LEN];
};

void diag_add(struct diag_list *d, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* True if any message contains @needle (for tests and for callers that branch on a finding). */
bool diag_contains(const struct diag_list *d, const char *needle);

#endif
