/* test_guest_walk.c: the guest walker against the SDM's rules, one rule per case. */
#include <string.h>
#include "check.h"
#include "pte_short.h"
#include "simmem.h"
#include "../../shadow/guest_walk.h"

static struct pt_ops mem;
static u64 pml4, pdpt, pd, pt;
static struct gw_paging pg;

static u64 *entry(u64 table, u64 va, int level)
{
	return &sim_table(NULL, table)[pt_index(va, level)];
}

/* va 0x40201000 -> 4 KiB page at 0x7000, through tables with @flags at every level. */
#define VA 0x40201123ULL
static void build(u64 flags)
{
	sim_reset(16);
	mem = (struct pt_ops){ P, PS, 0, 3, sim_table, sim_alloc, NULL, { 0 } };
	pml4 = sim_alloc(NULL), pdpt = sim_alloc(NULL), pd = sim_alloc(NULL), pt = sim_alloc(NULL);
	*entry(pml4, VA, 4) = pdpt | flags;
	*entry(pdpt, VA, 3) = pd | flags;
	*entry(pd, VA, 2) = pt | flags;
	*entry(pt, VA, 1) = 0x7000 | flags;
	pg = (struct gw_paging){ .cr3 = pml4, .nxe = true, .wp = true, .gbpages = true, .maxphyaddr = 46 };
}

static u32 fault(u64 va, u32 access)
{
	struct gw_result r;
	CHECK(!guest_walk(&mem, &pg, va, access, &r));
	return r.pfec;
}

TEST(gw_translates_and_sets_accessed_then_dirty)
{
	build(P | RW | US);
	struct gw_result r;
	CHECK(guest_walk(&mem, &pg, VA, GW_USER, &r));
	CHECK_EQ(r.gpa, 0x7123);
	CHECK_EQ(r.level, 1);
	CHECK(r.writable && r.user && r.executable);
	CHECK(*entry(pml4, VA, 4) & A);
	CHECK(*entry(pd, VA, 2) & A);
	CHECK(*entry(pt, VA, 1) & A);
	CHECK(!(*entry(pt, VA, 1) & D)); /* a read sets no dirty flag */
	CHECK(guest_walk(&mem, &pg, VA, GW_USER | GW_WRITE, &r));
	CHECK(*entry(pt, VA, 1) & D);
	CHECK(!(*entry(pd, VA, 2) & D)); /* dirty only in the leaf */
	CHECK_EQ(r.entry_gpa[1], pt + pt_index(VA, 1) * 8);
	CHECK_EQ(r.entry_gpa[4], pml4 + pt_index(VA, 4) * 8);
}

TEST(gw_not_present_at_each_level)
{
	for (int level = 4; level >= 1; level--) {
		build(P | RW | US);
		u64 table = level == 4 ? pml4 : level == 3 ? pdpt : level == 2 ? pd : pt;
		*entry(table, VA, level) &= ~P;
		CHECK_EQ(fault(VA, GW_USER | GW_WRITE), PFEC_W | PFEC_U);
		CHECK(!(*entry(pml4, VA, 4) & A)); /* a faulting walk sets nothing */
	}
	/* A fetch that finds nothing reports the I/D bit (NXE is on). */
	build(P | RW | US);
	*entry(pt, VA, 1) = 0;
	CHECK_EQ(fault(VA, GW_FETCH), PFEC_I);
}

TEST(gw_read_only_and_cr0_wp)
{
	build(P | RW | US);
	*entry(pd, VA, 2) &= ~RW; /* one read-only level makes the page read-only */
	CHECK_EQ(fault(VA, GW_USER | GW_WRITE), PFEC_P | PFEC_W | PFEC_U);
	CHECK_EQ(fault(VA, GW_WRITE), PFEC_P | PFEC_W); /* WP=1: supervisor too */
	pg.wp = false;
	struct gw_result r;
	CHECK(guest_walk(&mem, &pg, VA, GW_WRITE, &r));
	CHECK(!r.writable);
	CHECK_EQ(fault(VA, GW_USER | GW_WRITE), PFEC_P | PFEC_W | PFEC_U); /* WP never helps users */
}

TEST(gw_user_supervisor)
{
	build(P | RW | US);
	*entry(pdpt, VA, 3) &= ~US;
	CHECK_EQ(fault(VA, GW_USER), PFEC_P | PFEC_U);
	struct gw_result r;
	CHECK(guest_walk(&mem, &pg, VA, 0, &r));
	CHECK(!r.user);
}

TEST(gw_execute_disable_and_nxe)
{
	build(P | RW | US);
	*entry(pt, VA, 1) |= XD;
	CHECK_EQ(fault(VA, GW_USER | GW_FETCH), PFEC_P | PFEC_U | PFEC_I);
	struct gw_result r;
	CHECK(guest_walk(&mem, &pg, VA, GW_USER, &r)); /* reads are fine */
	CHECK(!r.executable);
	pg.nxe = false; /* without EFER.NXE bit 63 is reserved */
	CHECK_EQ(fault(VA, GW_USER), PFEC_P | PFEC_RSVD | PFEC_U);
	*entry(pt, VA, 1) &= ~XD;
	CHECK_EQ(fault(0xdead000, GW_USER | GW_FETCH) & PFEC_I, 0); /* no I/D bit without NXE or SMEP */
}

TEST(gw_smep_and_smap)
{
	build(P | RW | US);
	pg.smep = true;
	CHECK_EQ(fault(VA, GW_FETCH), PFEC_P | PFEC_I);
	struct gw_result r;
	CHECK(guest_walk(&mem, &pg, VA, GW_USER | GW_FETCH, &r)); /* users may fetch user pages */
	pg.smep = false;
	pg.smap = true;
	CHECK_EQ(fault(VA, 0), PFEC_P);
	CHECK_EQ(fault(VA, GW_WRITE), PFEC_P | PFEC_W);
	pg.ac = true; /* STAC: explicit accesses allowed, implicit ones still not */
	CHECK(guest_walk(&mem, &pg, VA, GW_WRITE, &r));
	CHECK_EQ(fault(VA, GW_IMPLICIT), PFEC_P);
	CHECK(guest_walk(&mem, &pg, VA, GW_FETCH, &r)); /* SMAP is about data, not fetches */
}

TEST(gw_large_pages_and_their_reserved_bits)
{
	build(P | RW | US);
	*entry(pd, VA, 2) = 0x40000000 | P | RW | US | PS; /* 2 MiB page */
	struct gw_result r;
	CHECK(guest_walk(&mem, &pg, VA, GW_USER | GW_WRITE, &r));
	CHECK_EQ(r.level, 2);
	CHECK_EQ(r.gpa, 0x40000000 | (VA & (2 * MiB - 1)));
	CHECK(r.entry[2] & D);
	*entry(pd, VA, 2) |= BIT(13); /* bits 20:13 of a 2 MiB leaf are reserved */
	CHECK_EQ(fault(VA, GW_USER), PFEC_P | PFEC_RSVD | PFEC_U);

	build(P | RW | US);
	*entry(pdpt, VA, 3) = 0x80000000 | P | RW | US | PS; /* 1 GiB page */
	CHECK(guest_walk(&mem, &pg, VA, GW_USER, &r));
	CHECK_EQ(r.level, 3);
	CHECK_EQ(r.gpa, 0x80000000 | (VA & (GiB - 1)));
	pg.gbpages = false;
	CHECK_EQ(fault(VA, GW_USER), PFEC_P | PFEC_RSVD | PFEC_U);
	pg.gbpages = true;
	*entry(pdpt, VA, 3) |= BIT(20);
	CHECK_EQ(fault(VA, GW_USER), PFEC_P | PFEC_RSVD | PFEC_U);

	build(P | RW | US);
	*entry(pml4, VA, 4) |= PS; /* PS is reserved in a PML4E */
	CHECK_EQ(fault(VA, 0), PFEC_P | PFEC_RSVD);
}

TEST(gw_maxphyaddr_and_pcid_bits)
{
	build(P | RW | US);
	pg.cr3 = pml4 | 0x5 | BIT(63); /* a PCID and the no-flush bit */
	struct gw_result r;
	CHECK(guest_walk(&mem, &pg, VA, 0, &r));
	*entry(pt, VA, 1) |= BIT(47); /* above MAXPHYADDR 46 */
	CHECK_EQ(fault(VA, 0), PFEC_P | PFEC_RSVD);
	pg.maxphyaddr = 48;
	CHECK(guest_walk(&mem, &pg, VA, 0, &r));
	CHECK_EQ(r.gpa, BIT(47) | 0x7123);
}

TEST(gw_table_outside_guest_memory)
{
	build(P | RW | US);
	*entry(pd, VA, 2) = 0x7FFFF000 | P | RW | US; /* no table there */
	CHECK_EQ(fault(VA, GW_USER), PFEC_P | PFEC_RSVD | PFEC_U);
}
