/* gdt.h: the 64-bit GDT and TSS layout (SDM Vol. 3A, 3.4.5 and 8.7). */
#ifndef SLAT_GDT_H
#define SLAT_GDT_H

#include "../../kernel/types.h"

/* Selectors; boot/entry.asm and boot/trampoline.asm use the same numbers. */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define GDT_ENTRIES 5 /* null, code, data, and a 16-byte TSS descriptor */

/* Segment descriptor bits (SDM Vol. 3A, 3.4.5). */
#define DESC_ACCESSED BIT(40)
#define DESC_RW BIT(41)
#define DESC_EXEC BIT(43)
#define DESC_CODE_DATA BIT(44) /* S: code or data, not a system descriptor */
#define DESC_PRESENT BIT(47)
#define DESC_LONG BIT(53)
#define DESC_DB BIT(54)
#define DESC_GRAN BIT(55)
#define DESC_LIMIT_MAX (GENMASK(15, 0) | GENMASK(51, 48))
#define DESC_TYPE_TSS_AVAIL 0x9ULL /* 64-bit TSS, available */

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7]; /* ist[0] is IST1 */
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} PACKED;
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

struct desc_ptr {
	u16 limit;
	u64 base;
} PACKED;

#endif
