/* string.c: the few memory functions the compiler may call even in freestanding code. */
#include "guest.h"

void *memset(void *p, int c, size_t n)
{
	u8 *d = p;
	while (n--)
		*d++ = (u8)c;
	return p;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *a = d;
	const u8 *b = s;
	while (n--)
		*a++ = *b++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
