/* test_cr3.c: the CR3 bits a MOV to CR3 must find clear (arch/x86_64/cpu.h). */
#include "check.h"
#include "../../arch/x86_64/cpu.h"

TEST(cr3_reserved_bits_follow_maxphyaddr_and_lam)
{
	u64 r36 = cr3_reserved_mask(36, false), r46 = cr3_reserved_mask(46, false);
	CHECK_EQ(r36, 0xFFFFFFF000000000ULL);
	CHECK_EQ(r46, 0xFFFFC00000000000ULL);
	CHECK_EQ(cr3_reserved_mask(52, false), 0xFFF0000000000000ULL);
	/* Bits 62:52 and 63 (once the no-flush hint is off): all reserved. */
	for (unsigned b = 52; b < 64; b++)
		CHECK(r46 & BIT(b));
	/* The address, PWT/PCD, the PCID and the ignored low bits never are. */
	CHECK_EQ(r46 & 0x00003FFFFFFFFFFFULL, 0);
	u64 lam = cr3_reserved_mask(46, true);
	CHECK_EQ(lam & (CR3_LAM_U57 | CR3_LAM_U48), 0);
	CHECK(lam & CR3_NO_FLUSH);
	CHECK(lam & BIT(60));
}
