/* kstring.h: the few C string and memory routines the freestanding kernel implements itself. */
#ifndef SLAT_KSTRING_H
#define SLAT_KSTRING_H

#include "types.h"

/* Same signatures as the C library, so host unit tests link against libc instead. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
