/* types.h: fixed-width types, bit helpers and the one status type used across slatvisor. */
#ifndef SLAT_TYPES_H
#define SLAT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(n) (1ULL << (n))
/* Bits lo..hi inclusive, as the SDM writes field ranges ("bits 51:12"). */
#define GENMASK(hi, lo) ((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1))

#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((u64)(x) + (a) - 1, (a))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a) - 1)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define PAGE_SIZE 4096ULL
#define PAGE_SHIFT 12

#define PACKED __attribute__((packed))
#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/*
 * One status type for every fallible path. Values are negative so that a
 * function returning a count can also return a status.
 */
typedef enum status {
	ST_OK = 0,
	ST_INVALID = -1,   /* malformed input (bad checksum, bad length, bad magic) */
	ST_NOT_FOUND = -2, /* the thing asked for is absent */
	ST_NO_MEMORY = -3, /* an allocator or a fixed table is full */
	ST_UNSUPPORTED = -4, /* the hardware or the input needs a feature we lack */
	ST_TIMEOUT = -5,   /* hardware did not answer in the bounded time */
	ST_CONFLICT = -6,  /* overlapping ranges, double free */
} status_t;

const char *status_name(status_t st);

#endif
