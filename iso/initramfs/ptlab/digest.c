/* digest: FNV-1a over each value's eight bytes, little end first. */
#include "ptlab.h"

static uint64_t hash = 0xcbf29ce484222325ull;

void digest_add(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		hash ^= (v >> (8 * i)) & 0xff;
		hash *= 0x100000001b3ull;
	}
}

uint64_t digest_value(void)
{
	return hash;
}
