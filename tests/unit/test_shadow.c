/* test_shadow.c: the shadow engine against a reference walker over simulated guest memory. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "shadow_sim.h"

/* CR0.WP during a differential run: set as Linux keeps it, clear, or flipped now and then. */
enum wp_mode { WP_SET, WP_CLEAR, WP_FLIPS };

static void differential_wp(u32 capacity, unsigned steps, bool pcide, unsigned seed, enum wp_mode wp)
{
	setup(capacity);
	srandom(seed);
	vary_link_rights = wp != WP_SET;
	build_guest();
	mismatches = 0;
	unsigned cur = 0;
	bool nxe = true, smep = true;
	struct gw_paging gpg = guest_pg(pml4[cur], nxe, smep);
	gpg.wp = wp == WP_SET;
	CHECK(shadow_set_cr3(&m, &cpu->sv, &gpg, pcide, true) != 0);
	for (unsigned step = 0; step < steps; step++) {
		switch (rnd(10)) {
		case 0: case 1: case 2: { /* edit a guest table (never the direct map's own) */
			unsigned t = (unsigned)rnd(ntables);
			unsigned i = (unsigned)rnd(8);
			if (table_level[t] == 4 && i == 0 && !rnd(2))
				i = 0;
			else if (table_level[t] == 4)
				i = (unsigned)rnd(2); /* the user half's first entries */
			guest_write(&gpg, tables[t] + i * 8, random_entry(table_level[t]));
			break;
		}
		case 3: { /* switch address space, with or without a flush */
			cur = (unsigned)rnd(NSPACES);
			bool flush = !pcide || rnd(2);
			bool wp_now = wp == WP_FLIPS ? rnd(2) : gpg.wp;
			gpg = guest_pg(pml4[cur] | (pcide ? cur + 1 : 0), nxe, smep);
			gpg.wp = wp_now; /* a CR0.WP change takes the same path: another root role */
			CHECK(shadow_set_cr3(&m, &cpu->sv, &gpg, pcide, flush) != 0);
			if (flush)
				check_all(&gpg);
			break;
		}
		case 4: /* INVLPG; now and then, the last resort of starting the shadow over */
			if (!rnd(8)) {
				shadow_zap_all(&m, &cpu->sv);
				CHECK(shadow_set_cr3(&m, &cpu->sv, &gpg, pcide, false) != 0);
			}
			shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
			check_all(&gpg);
			break;
		default: { /* an access, which fills (and may meet a stale entry: allowed until a flush) */
			u64 va = random_va();
			cpu_access(&gpg, va, accesses[rnd(ARRAY_SIZE(accesses))]);
			break;
		}
		}
	}
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	check_all(&gpg);
	CHECK_EQ(mismatches, 0);
	vary_link_rights = false;
}

static void differential(u32 capacity, unsigned steps, bool pcide, unsigned seed)
{
	differential_wp(capacity, steps, pcide, seed, WP_SET);
}

TEST(shadow_differential_random_edits_switches_invlpg)
{
	for (unsigned seed = 1; seed <= 6; seed++)
		differential(MAX_POOL, 3000, false, seed);
	CHECK(m.stats.fault_unsync > 0); /* the edits really went through write protection */
	CHECK(m.stats.zap_alls > 0);
	CHECK(m.stats.pages_resynced > 0);
	CHECK(m.stats.unshadowed > 0); /* tables written flush after flush were freed, and it still matched */
}

TEST(shadow_differential_with_pcids_and_no_flush_switches)
{
	for (unsigned seed = 11; seed <= 14; seed++)
		differential(MAX_POOL, 3000, true, seed);
}

TEST(shadow_differential_in_a_pool_that_runs_full)
{
	for (unsigned seed = 21; seed <= 24; seed++)
		differential(20, 3000, false, seed);
	CHECK(m.stats.reclaims > 0);
}

/*
 * CR0.WP=0: supervisor writes ignore R/W at every level (SDM Vol. 3A,
 * 4.6.1), so read-only links and leaves, supervisor-only and user pages
 * must all give what the CPU gives, lent leaves included (shadow/cr0_wp.h).
 */
TEST(shadow_differential_with_cr0_wp_clear_and_flipping)
{
	for (unsigned seed = 31; seed <= 34; seed++)
		differential_wp(MAX_POOL, 3000, false, seed, WP_CLEAR);
	for (unsigned seed = 41; seed <= 43; seed++)
		differential_wp(MAX_POOL, 3000, seed & 1, seed, WP_FLIPS);
	differential_wp(20, 3000, false, 51, WP_CLEAR);
}

/* ---- targeted cases ---- */

static u64 simple_space(u64 leaf_flags, u64 frame, u64 va)
{
	setup(MAX_POOL);
	u64 p4 = alloc_gpage(), p3 = alloc_gpage(), p2 = alloc_gpage(), p1 = alloc_gpage();
	*gentry(p4, pt_index(va, 4)) = p3 | P | RW | US;
	*gentry(p3, pt_index(va, 3)) = p2 | P | RW | US;
	*gentry(p2, pt_index(va, 2)) = p1 | P | RW | US;
	*gentry(p1, pt_index(va, 1)) = frame | leaf_flags;
	/* The direct map, so the guest can write its tables as it would. */
	u64 m3 = alloc_gpage(), m2 = alloc_gpage();
	*gentry(p4, pt_index(PHYSMAP, 4)) = m3 | P | RW;
	*gentry(m3, 0) = m2 | P | RW;
	for (unsigned i = 0; i < 2; i++)
		*gentry(m2, i) = (i * 2 * MiB) | P | RW | PS | A | D;
	return p4;
}

/* simple_space's tables on the way to @va. */
static u64 simple_space_pd(u64 p4, u64 va)
{
	u64 p3 = *gentry(p4, pt_index(va, 4)) & PT_ADDR_MASK;
	return *gentry(p3, pt_index(va, 3)) & PT_ADDR_MASK;
}

static u64 simple_space_pt(u64 p4, u64 va)
{
	return *gentry(simple_space_pd(p4, va), pt_index(va, 2)) & PT_ADDR_MASK;
}

TEST(shadow_sets_accessed_and_dirty_as_the_cpu_would)
{
	u64 va = 0x401000, frame = 0x80000;
	u64 p4 = simple_space(P | RW | US, frame, va);
	struct gw_paging pg = guest_pg(p4, true, false);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	u64 pte_gpa = (*gentry(*gentry(*gentry(p4, 0) & PT_ADDR_MASK, 0) & PT_ADDR_MASK, 2) & PT_ADDR_MASK) + 8;
	u64 *pte = (u64 *)((u8 *)ram + pte_gpa);
	struct result r = cpu_access(&pg, va, GW_USER);
	CHECK(r.o == OK && r.gpa == frame);
	CHECK((*pte & (A | D)) == A); /* a read: accessed, not dirty */
	r = cpu_access(&pg, va, GW_USER | GW_WRITE);
	CHECK(r.o == OK);
	CHECK((*pte & (A | D)) == (A | D)); /* the first write reached the engine and set dirty */
	CHECK(m.stats.fault_dirty == 1);
	/* The guest cleans the page (as writeback does) and flushes; the next write dirties it again. */
	guest_write(&pg, pte_gpa, *pte & ~(u64)D);
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	r = cpu_access(&pg, va, GW_USER | GW_WRITE);
	CHECK(r.o == OK);
	CHECK((*pte & (A | D)) == (A | D));
}

TEST(shadow_large_pages_and_a_table_inside_one)
{
	/* A 2 MiB guest page over RAM that also holds the guest's own page table. */
	setup(MAX_POOL);
	u64 p4 = alloc_gpage(), p3 = alloc_gpage(), p2 = alloc_gpage();
	u64 va = 0x40000000;
	*gentry(p4, 0) = p3 | P | RW;
	*gentry(p3, 1) = p2 | P | RW;
	*gentry(p2, 0) = 0 | P | RW | PS | A | D; /* maps guest-physical 0-2 MiB, tables included */
	struct gw_paging pg = guest_pg(p4, true, false);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	/* Reading through the large page works; writing to the shadowed table p2 goes out of sync. */
	struct result r = cpu_access(&pg, va + p2, 0);
	CHECK(r.o == OK && r.gpa == p2);
	r = cpu_access(&pg, va + p2 + 8, GW_WRITE);
	CHECK(r.o == OK && r.gpa == p2 + 8);
	CHECK(m.stats.fault_unsync == 1);
	/* The guest turns the large page into 4 KiB pages of another frame, flushes: the shadow follows. */
	u64 p1 = alloc_gpage();
	for (unsigned i = 0; i < 512; i++)
		*gentry(p1, i) = (0x200000 + i * PAGE_SIZE) | P | RW;
	*gentry(p2, 0) = p1 | P | RW;
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	r = cpu_access(&pg, va + 0x5123, 0);
	CHECK(r.o == OK && r.gpa == 0x205123);
	/* A 1 GiB guest page. */
	*gentry(p3, 2) = 0 | P | RW | PS | A | D;
	r = cpu_access(&pg, 0x80000000 + 0x1F0123, 0);
	CHECK(r.o == OK && r.gpa == 0x1F0123);
}

TEST(shadow_injects_nx_smep_and_user_faults_with_the_guests_error_code)
{
	u64 va = 0x401000;
	u64 p4 = simple_space(P | RW | US | XD, 0x80000, va);
	struct gw_paging pg = guest_pg(p4, true, true);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	struct result r = cpu_access(&pg, va, GW_USER | GW_FETCH);
	CHECK(r.o == GUEST_PF && r.pfec == (PFEC_P | PFEC_U | PFEC_I));
	r = cpu_access(&pg, va, GW_FETCH); /* supervisor fetch from a user page under SMEP */
	CHECK(r.o == GUEST_PF && r.pfec == (PFEC_P | PFEC_I));
	r = cpu_access(&pg, va + 0x1000, GW_USER | GW_WRITE); /* not present */
	CHECK(r.o == GUEST_PF && r.pfec == (PFEC_W | PFEC_U | PFEC_I * 0));
	CHECK(m.stats.fault_guest == 3);
	/* No access the guest forbids was ever mapped: no fill happened for the faulting ones. */
	r = cpu_access(&pg, va, GW_USER);
	CHECK(r.o == OK && r.gpa == 0x80000);
}

TEST(shadow_never_maps_hypervisor_memory)
{
	u64 va = 0x401000;
	u64 p4 = simple_space(P | RW | US, HIDDEN_LO + 0x1000, va);
	struct gw_paging pg = guest_pg(p4, true, false);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	struct result r = cpu_access(&pg, va + 0x10, GW_USER | GW_WRITE);
	CHECK(r.o == OK && r.gpa == SCRATCH + 0x10);
	CHECK(m.hidden_seen);
	/* And a guest table placed in hypervisor memory is a reserved-bit fault, not a read of it. */
	guest_write(&pg, (*gentry(p4, 0) & PT_ADDR_MASK) + 0, HIDDEN_LO | P | RW | US);
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	r = cpu_access(&pg, va, GW_USER);
	CHECK(r.o == GUEST_PF && (r.pfec & PFEC_RSVD));
}

TEST(shadow_stops_protecting_a_table_written_flush_after_flush_but_never_walked)
{
	/* A page table the guest unlinks and reuses as data, as Linux does with freed pages. */
	u64 va = 0x401000;
	u64 p4 = simple_space(P | RW | US, 0x80000, va);
	struct gw_paging pg = guest_pg(p4, true, false);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	CHECK(cpu_access(&pg, va, GW_USER).o == OK); /* p1 is shadowed now */
	u64 p3 = *gentry(p4, pt_index(va, 4)) & PT_ADDR_MASK, p2 = *gentry(p3, pt_index(va, 3)) & PT_ADDR_MASK;
	u64 p1 = *gentry(p2, pt_index(va, 2)) & PT_ADDR_MASK;
	guest_write(&pg, p2 + pt_index(va, 2) * 8, 0);
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	/* Each write after a flush meets write protection until the third flush frees the shadow page. */
	for (unsigned round = 0; round < 6; round++) {
		u64 unsync = m.stats.fault_unsync;
		guest_write(&pg, p1 + round * 8, 0x1234);
		CHECK((m.stats.fault_unsync > unsync) == (round < 3));
		shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	}
	CHECK(m.stats.unshadowed == 1);
	/* Linked again as a table, it is shadowed and protected anew, and translates. */
	for (unsigned i = 0; i < 6; i++)
		guest_write(&pg, p1 + i * 8, 0);
	guest_write(&pg, p1 + pt_index(va, 1) * 8, 0x81000 | P | RW | US);
	guest_write(&pg, p2 + pt_index(va, 2) * 8, p1 | P | RW | US);
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	struct result r = cpu_access(&pg, va + 0x10, GW_USER);
	CHECK(r.o == OK && r.gpa == 0x81010);
	u64 unsync = m.stats.fault_unsync;
	guest_write(&pg, p1 + 8, 0);
	CHECK(m.stats.fault_unsync == unsync + 1);
}

TEST(shadow_protects_a_husk_again_when_a_fill_reaches_it_with_new_rights)
{
	u64 va = 0x401000;
	u64 p4 = simple_space(P | RW | US, 0x80000, va);
	struct gw_paging pg = guest_pg(p4, true, false);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	CHECK(cpu_access(&pg, va, GW_USER).o == OK);
	u64 p3 = *gentry(p4, pt_index(va, 4)) & PT_ADDR_MASK, p2 = *gentry(p3, pt_index(va, 3)) & PT_ADDR_MASK;
	u64 p1 = *gentry(p2, pt_index(va, 2)) & PT_ADDR_MASK;
	/* p1 stays linked, but the guest writes it flush after flush with no access through it. */
	for (unsigned round = 0; round < 3; round++) {
		guest_write(&pg, p1 + (pt_index(va, 1) + 1 + round) * 8, 0);
		shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	}
	CHECK(m.stats.unshadowed == 1);
	/* The guest changes the rights of the entry pointing to p1 and uses it before any flush. */
	guest_write(&pg, p2 + pt_index(va, 2) * 8, p1 | P | RW);
	struct result r = cpu_access(&pg, va, 0);
	CHECK(r.o == OK && r.gpa == 0x80000);
	/* p1 is a table again: the guest's next change to it is trapped and followed at the flush. */
	u64 unsync = m.stats.fault_unsync;
	guest_write(&pg, p1 + pt_index(va, 1) * 8, 0x81000 | P | RW | US);
	CHECK(m.stats.fault_unsync == unsync + 1);
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	r = cpu_access(&pg, va, 0);
	CHECK(r.o == OK && r.gpa == 0x81000);
}

TEST(shadow_cr3_switch_with_nothing_unsynced_resyncs_nothing)
{
	setup(MAX_POOL);
	srandom(5);
	build_guest();
	for (unsigned round = 0; round < 200; round++) {
		struct gw_paging pg = guest_pg(pml4[round % NSPACES], true, false);
		CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
		cpu_access(&pg, round % 7 * PAGE_SIZE, GW_USER);
	}
	CHECK(m.stats.resyncs == 0);
	CHECK(cpu->sv.rc.misses == NSPACES); /* each root built once, then always found */
}

/* CR0.WP=0: a supervisor write to a read-only page goes through; a user one still faults. */
TEST(shadow_cr0_wp_clear_lets_the_supervisor_write_read_only_pages)
{
	u64 va = 0x401000;
	u64 p4 = simple_space(P | US | A, 0x80000, va); /* a read-only user page */
	struct gw_paging pg = guest_pg(p4, true, false);
	pg.wp = false;
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	struct result r = cpu_access(&pg, va, GW_WRITE);
	CHECK(r.o == OK && r.gpa == 0x80000);
	CHECK(*gentry(simple_space_pt(p4, va), pt_index(va, 1)) & D); /* the write set the dirty flag */
	/* The user reads it, may not write it, and the supervisor writes it again: lent and given back. */
	r = cpu_access(&pg, va, GW_USER);
	CHECK(r.o == OK && r.gpa == 0x80000);
	r = cpu_access(&pg, va, GW_USER | GW_WRITE);
	CHECK(r.o == GUEST_PF && r.pfec == (PFEC_P | PFEC_W | PFEC_U));
	r = cpu_access(&pg, va, GW_WRITE);
	CHECK(r.o == OK);
	r = cpu_access(&pg, va, GW_FETCH); /* no SMEP: the supervisor may fetch from it */
	CHECK(r.o == OK);
	r = cpu_access(&pg, va, GW_USER);
	CHECK(r.o == OK);
	/* With WP set again, the same write faults as on the CPU. */
	pg.wp = true;
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	r = cpu_access(&pg, va, GW_WRITE);
	CHECK(r.o == GUEST_PF && r.pfec == (PFEC_P | PFEC_W));
	/* SMAP on (EFLAGS.AC set, so the CPU allows the write): a lent page would be wrong; the guest stops. */
	pg.wp = false;
	pg.smap = true;
	pg.ac = true;
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	r = cpu_access(&pg, va, GW_WRITE);
	CHECK(r.o == STOPPED && r.gpa == 0x80000);
}

TEST(shadow_cr0_wp_clear_through_a_read_only_link_to_a_supervisor_page)
{
	u64 va = 0x401000;
	u64 p4 = simple_space(P | RW | A, 0x80000, va); /* writable, supervisor-only leaf */
	u64 p1 = simple_space_pt(p4, va);
	*gentry(simple_space_pd(p4, va), pt_index(va, 2)) = p1 | P | US; /* a read-only link */
	struct gw_paging pg = guest_pg(p4, true, true);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	struct result r = cpu_access(&pg, va, GW_WRITE);
	CHECK(r.o == GUEST_PF && r.pfec == (PFEC_P | PFEC_W));
	pg.wp = false;
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	r = cpu_access(&pg, va, GW_WRITE);
	CHECK(r.o == OK && r.gpa == 0x80000);
}

TEST(shadow_drops_a_cached_large_page_whose_reserved_bits_are_set)
{
	/* A 2 MiB and a 1 GiB page, used (so shadowed), then a reserved bit set in each and flushed. */
	setup(MAX_POOL);
	u64 p4 = alloc_gpage(), p3 = alloc_gpage(), p2 = alloc_gpage();
	*gentry(p4, 0) = p3 | P | RW;
	*gentry(p3, 0) = p2 | P | RW;
	*gentry(p2, 1) = (2 * MiB) | P | RW | PS | A | D;
	*gentry(p3, 1) = 0 | P | RW | PS | A | D;
	u64 direct = alloc_gpage(); /* the direct map guest_write() writes the tables through */
	*gentry(p4, pt_index(PHYSMAP, 4)) = direct | P | RW | A;
	*gentry(direct, pt_index(PHYSMAP, 3)) = 0 | P | RW | PS | A | D;
	struct gw_paging pg = guest_pg(p4, true, false);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	static const struct {
		unsigned table, index;
		u64 va, bit;
	} cases[] = { { 2, 1, 2 * MiB + 0x123, BIT(13) }, { 2, 1, 2 * MiB + 0x123, BIT(20) },
		      { 3, 1, 0x40000000 + 0x123, BIT(13) }, { 3, 1, 0x40000000 + 0x123, BIT(29) } };
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 table = cases[i].table == 2 ? p2 : p3;
		u64 good = *gentry(table, cases[i].index);
		struct result r = cpu_access(&pg, cases[i].va, 0);
		CHECK(r.o == OK);
		guest_write(&pg, table + cases[i].index * 8, good | cases[i].bit);
		shadow_flush_point(&m, &cpu->sv, FLUSH_ALL); /* as a MOV to CR3 would */
		r = cpu_access(&pg, cases[i].va, 0);
		CHECK(r.o == GUEST_PF && (r.pfec & (PFEC_P | PFEC_RSVD)) == (PFEC_P | PFEC_RSVD));
		guest_write(&pg, table + cases[i].index * 8, good);
		shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	}
}

TEST(shadow_maps_the_page_of_all_ones_read_only_where_nothing_is)
{
	setup(MAX_POOL);
	u64 p4 = alloc_gpage(), p3 = alloc_gpage(), p2 = alloc_gpage(), p1 = alloc_gpage();
	*gentry(p4, 0) = p3 | P | RW;
	*gentry(p3, 0) = p2 | P | RW;
	*gentry(p2, 0) = p1 | P | RW;
	*gentry(p1, 5) = (MMIO_TOP + 0x7000) | P | RW | A | D; /* past everything */
	*gentry(p2, 8) = (64 * MiB) | P | RW | PS | A | D;       /* a 2 MiB page there too */
	struct gw_paging pg = guest_pg(p4, true, false);
	CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
	struct result r = cpu_access(&pg, 5 * PAGE_SIZE + 0x10, 0);
	CHECK(r.o == OK && r.gpa == OPEN_BUS + 0x10);
	r = cpu_access(&pg, 16 * MiB + 0x3008, 0);
	CHECK(r.o == OK && r.gpa == OPEN_BUS + 8);
	/* A write is not mapped: it exits, for slatvisor to drop (SF_EMULATE, "stopped" here). */
	r = cpu_access(&pg, 5 * PAGE_SIZE, GW_WRITE);
	CHECK(r.o == STOPPED);
	r = cpu_access(&pg, 16 * MiB, GW_WRITE);
	CHECK(r.o == STOPPED);
	/* Kept across a resync, and the guest still reads it afterwards. */
	shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
	r = cpu_access(&pg, 5 * PAGE_SIZE + 0x10, 0);
	CHECK(r.o == OK && r.gpa == OPEN_BUS + 0x10);
}

/* The page the sim treats as trapped (slatvisor: the APIC page while a vCPU waits to be started). */
static u64 trapped_gpa;
static bool trap_one(void *ctx, u64 gpa)
{
	(void)ctx;
	return trapped_gpa && (gpa & ~(u64)(PAGE_SIZE - 1)) == trapped_gpa;
}

TEST(shadow_write_protects_a_frame_to_trap_it_with_or_without_frame_data)
{
	/* A RAM frame (frame data, rmap) and one above RAM (MMIO: no frame data, a scan). */
	const u64 frames[] = { 0x80000, RAM_TOP + 0x3000 };
	for (unsigned k = 0; k < 2; k++) {
		u64 va = 0x401000, frame = frames[k];
		u64 p4 = simple_space(P | RW | US | A | D, frame, va);
		struct gw_paging pg = guest_pg(p4, true, false);
		CHECK(shadow_set_cr3(&m, &cpu->sv, &pg, false, true) != 0);
		struct result r = cpu_access(&pg, va + 8, GW_USER | GW_WRITE);
		CHECK(r.o == OK && r.gpa == frame + 8); /* mapped writable */
		trapped_gpa = frame;
		m.env.trap_write = trap_one;
		shadow_write_protect_frame(&m, &cpu->sv, frame >> PAGE_SHIFT);
		r = cpu_access(&pg, va + 8, GW_USER | GW_WRITE);
		CHECK(r.o == STOPPED); /* the write exits, for slatvisor to decode */
		r = cpu_access(&pg, va + 8, GW_USER);
		CHECK(r.o == OK && r.gpa == frame + 8); /* reads still run */
		/* Released: the next write fault maps it writable again. */
		trapped_gpa = 0;
		r = cpu_access(&pg, va + 8, GW_USER | GW_WRITE);
		CHECK(r.o == OK && r.gpa == frame + 8);
		m.env.trap_write = NULL;
	}
}
