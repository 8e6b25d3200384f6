/* unaligned.h: little-endian reads and writes at any byte offset, for firmware and boot formats. */
#ifndef SLAT_UNALIGNED_H
#define SLAT_UNALIGNED_H

#include "kstring.h"

/* memcpy, not a cast: table fields sit at odd offsets, and C forbids misaligned access. */
static inline u16 get_u16(const void *p)
{
	u16 v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline u32 get_u32(const void *p)
{
	u32 v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline u64 get_u64(const void *p)
{
	u64 v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void put_u32(void *p, u32 v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void put_u64(void *p, u64 v)
{
	memcpy(p, &v, sizeof(v));
}

#endif
