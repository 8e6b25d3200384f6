/* mtrr.h: memory types from the MTRRs (SDM Vol. 3A, 12.11), as pure logic over a captured state. */
#ifndef SLAT_MTRR_H
#define SLAT_MTRR_H

#include "../kernel/types.h"

/* Table 12-8: memory type encodings (the same numbers EPT uses, 30.3.7). */
#define MEMTYPE_UC 0
#define MEMTYPE_WC 1
#define MEMTYPE_WT 4
#define MEMTYPE_WP 5
#define MEMTYPE_WB 6

#define MSR_IA32_MTRRCAP 0xFE
#define MTRRCAP_VCNT(v) ((v) & 0xFF)
#define MTRRCAP_FIX BIT(8)
#define MSR_IA32_MTRR_DEF_TYPE 0x2FF
#define MTRR_DEF_TYPE_MASK 0xFF
#define MTRR_DEF_FIXED_ENABLE BIT(10)
#define MTRR_DEF_ENABLE BIT(11)
#define MSR_IA32_MTRR_PHYSBASE0 0x200 /* PHYSMASKn = 0x201 + 2n */
#define MTRR_PHYSMASK_VALID BIT(11)
#define MSR_IA32_MTRR_FIX64K_00000 0x250
#define MSR_IA32_MTRR_FIX16K_80000 0x258
#define MSR_IA32_MTRR_FIX16K_A0000 0x259
#define MSR_IA32_MTRR_FIX4K_C0000 0x268 /* through 0x26F */

#define MTRR_MAX_VAR 32
#define MTRR_FIXED_ENTRIES 88 /* 8 x 64 KiB, 16 x 16 KiB, 64 x 4 KiB: the first 1 MiB */
#define MTRR_FIXED_LIMIT 0x100000

struct mtrr_state {
	bool enabled;       /* MTRRs on at all: off means everything is UC */
	bool fixed_enabled; /* the fixed ranges govern the first 1 MiB */
	u8 default_type;
	u8 fixed[MTRR_FIXED_ENTRIES];
	unsigned nvar;
	struct {
		u64 base; /* IA32_MTRR_PHYSBASEn: type in 7:0 */
		u64 mask; /* IA32_MTRR_PHYSMASKn: valid in bit 11 */
	} var[MTRR_MAX_VAR];
	u64 addr_mask; /* bits MAXPHYADDR-1:12 */
};

/* The memory type of the 4 KiB page holding @addr. */
u8 mtrr_type(const struct mtrr_state *s, u64 addr);

/*
 * If all of [base, base+size) has one memory type, store it and return true.
 * @base and @size are 4 KiB aligned.
 */
bool mtrr_uniform(const struct mtrr_state *s, u64 base, u64 size, u8 *type);

const char *memtype_name(u8 type);

/* Read this CPU's MTRRs. */
void mtrr_read(struct mtrr_state *s);

#endif
