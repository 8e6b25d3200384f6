/* fmt.h: printf-style formatting into a bounded buffer (no libc in the kernel). */
#ifndef SLAT_FMT_H
#define SLAT_FMT_H

#include <stdarg.h>
#include "types.h"

/*
 * Supports %d %i %u %x %X %p %s %c %% with the flags '-' and '0', a field
 * width (also '*'), a precision for %s, and the length modifiers hh h l ll z.
 * Always NUL-terminates when size > 0; returns the length the full output
 * would have had, like C99 vsnprintf, so callers can detect truncation.
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
