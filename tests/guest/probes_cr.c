/*
 * probes_cr.c: control-register writes the SDM refuses, CR0.WP, and CR0.CD/NW.
 *
 * MOV to CR3 with a bit at or above MAXPHYADDR (bits 52-62 are above it on every CPU) is #GP
 * (SDM Vol. 3A, 4.5 and Vol. 2B, MOV CR: "If an attempt is made to write a 1 to any reserved
 * bit in CR3"). MOV to CR0 with any of bits 63:32 set is #GP, and so is clearing PE while
 * PG stays set ("set the PG flag to 1 when the PE flag is set to 0"). With CR0.WP = 0 a
 * supervisor write to a read-only page succeeds; with WP = 1 it is #PF (SDM Vol. 3A, 4.6.1).
 * NW = 1 with CD = 0 is #GP ("setting the CD flag to 0 when the NW flag is set to 1"); CD = 1
 * with NW = 0 or 1 is allowed (Vol. 3A, "Cache Control Registers and Bits": the cache-control
 * modes) and reads back as written.
 */
#include "guest.h"

#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define MAXPHYADDR_LIMIT 52 /* the architectural maximum: bits 52-62 are reserved everywhere */

static void do_write_cr3(u64 v) { write_cr3(v); }
static void do_write_cr0(u64 v) { write_cr0(v); }

/*
 * @write of @value is accepted (the control), then of @value with each bit @lo..@hi set is #GP.
 * The caller puts its register back.
 */
static const char *each_bit_gp(const char *what, void (*write)(u64), u64 value, unsigned lo,
			       unsigned hi)
{
	const char *why = expect_no_fault(failf("%s of its own value", what), write, value);
	for (unsigned b = lo; !why && b <= hi; b++) {
		why = expect_fault(VEC_GP, what, write, value | BIT(b));
		if (why)
			why = failf("bit %u: %s", b, why);
	}
	return why;
}

PROBE(cr3_reserved)
{
	u64 cr3 = read_cr3();
	const char *why = each_bit_gp("MOV CR3", do_write_cr3, cr3, MAXPHYADDR_LIMIT, 62);
	write_cr3(cr3);
	return why;
}

PROBE(cr0_reserved)
{
	u64 cr0 = read_cr0();
	const char *why = each_bit_gp("MOV CR0", do_write_cr0, cr0, 32, 63);
	write_cr0(cr0);
	return why;
}

/* CR0's reserved bits below 32 (6-15, 17, 19-28) are ignored when written: no fault, read as 0. */
PROBE(cr0_low_reserved)
{
	u64 cr0 = read_cr0();
	const char *why = NULL;
	for (unsigned b = 6; b <= 28 && !why; b++) {
		if (b == 16 || b == 18)
			continue; /* WP and AM */
		why = expect_no_fault("MOV CR0 with a reserved bit below 32", do_write_cr0, cr0 | BIT(b));
		u64 now = read_cr0();
		write_cr0(cr0);
		if (why)
			why = failf("bit %u: %s", b, why);
		else if (now != cr0)
			why = failf("bit %u: CR0 reads 0x%lx after writing 0x%lx, 0x%lx expected", b, now, cr0 | BIT(b), cr0);
	}
	return why;
}

PROBE(cr0_pg_no_pe)
{
	u64 cr0 = read_cr0();
	const char *why = expect_fault(VEC_GP, "MOV CR0 with PG=1 and PE=0", do_write_cr0, cr0 & ~CR0_PE);
	write_cr0(cr0);
	return why;
}

/*
 * Leave IA-32e mode and come back (paging_off.asm): from compatibility mode clear CR0.PG, run
 * 32-bit code with paging off, set PG again. With paging off EFER.LMA reads clear and LME set
 * (SDM Vol. 3A, 10.8.5.4). Without unrestricted guest, slatvisor runs the paging-off part in its
 * interpreter; with it, the CPU does.
 */
u32 paging_off_roundtrip(volatile u32 *cell);
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define PAGING_OFF_MARK 0x600DF00Du

PROBE(cr0_paging_off)
{
	static volatile u32 cell;
	for (unsigned round = 0; round < 3; round++) {
		cell = 0;
		u32 efer = paging_off_roundtrip(&cell);
		if (cell != PAGING_OFF_MARK)
			return failf("round %u: the store with paging off left 0x%x", round + 1, cell);
		if ((efer & (EFER_LME | EFER_LMA)) != EFER_LME)
			return failf("round %u: EFER 0x%x with paging off (LME set, LMA clear expected)", round + 1, efer);
		if (!(read_cr0() & CR0_PG))
			return failf("round %u: CR0 0x%lx after the return: PG clear", round + 1, read_cr0());
	}
	return NULL;
}

static void write_ro(u64 v) { ro_page[0] = v; }

PROBE(cr0_wp_off)
{
	u64 cr0 = read_cr0();
	if (!(cr0 & CR0_WP))
		return failf("CR0.WP is clear at start (CR0 0x%lx)", cr0);
	u64 before = ro_page[0], v = before ^ 0x5A5AA5A5F00DCAFEULL;
	const char *why = expect_fault(VEC_PF, "write to a read-only page with CR0.WP=1", write_ro, v);
	if (!why && (fault_error & (PF_ERR_P | PF_ERR_W)) != (PF_ERR_P | PF_ERR_W))
		why = failf("the #PF error code 0x%lx lacks P and W", fault_error);
	if (!why && ro_page[0] != before)
		why = failf("the faulting write changed the page (0x%lx)", ro_page[0]);
	if (why)
		return why;

	write_cr0(cr0 & ~CR0_WP);
	why = expect_no_fault("write to a read-only page with CR0.WP=0", write_ro, v);
	u64 got = ro_page[0];
	write_cr0(cr0);
	if (why)
		return why;
	if (got != v)
		return failf("with CR0.WP=0 the write did not stick: read 0x%lx, wrote 0x%lx", got, v);
	if (!(read_cr0() & CR0_WP))
		return failf("CR0.WP did not come back on (CR0 0x%lx)", read_cr0());
	/* WP is back: the page is read-only again. */
	return expect_fault(VEC_PF, "write to a read-only page after CR0.WP is set again", write_ro, before);
}

/* One MOV to CR0, then CR0 read back: little runs with the caches off. */
static u64 cr0_read_back;
static void write_cr0_read_back(u64 v)
{
	write_cr0(v);
	cr0_read_back = read_cr0();
}

PROBE(cr0_cd_nw)
{
	u64 cr0 = read_cr0();
	if (cr0 & (CR0_CD | CR0_NW))
		return failf("CR0 0x%lx has CD or NW set at start", cr0);
	const char *why = expect_fault(VEC_GP, "MOV CR0 with NW=1, CD=0", do_write_cr0, cr0 | CR0_NW);
	static const u64 allowed[] = { CR0_CD, CR0_CD | CR0_NW };
	for (unsigned i = 0; !why && i < 2; i++) {
		u64 v = cr0 | allowed[i];
		why = expect_no_fault("MOV CR0 with CD=1", write_cr0_read_back, v);
		if (!why && cr0_read_back != v)
			why = failf("CR0 0x%lx reads back as 0x%lx", v, cr0_read_back);
		/* From CD=1 too, NW=1 with CD=0 is refused. */
		if (!why)
			why = expect_fault(VEC_GP, "MOV CR0 with NW=1, CD=0 after CD=1", do_write_cr0,
					   (cr0 & ~CR0_CD) | CR0_NW);
		if (!why && read_cr0() != v)
			why = failf("the refused MOV changed CR0 from 0x%lx to 0x%lx", v, read_cr0());
		write_cr0(cr0);
	}
	if (!why && read_cr0() != cr0)
		why = failf("CR0 reads 0x%lx after CD and NW were cleared again, not 0x%lx", read_cr0(), cr0);
	return why;
}
