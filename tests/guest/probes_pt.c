/*
 * probes_pt.c: page tables a careless or hostile kernel builds (SDM Vol. 3A, chapter 4:
 * 4.5 for 4-level paging, 4.7 for the #PF error code, 4.8 for the A and D flags, 4.10.4
 * for INVLPG and INVPCID).
 *
 * Each probe builds a scratch tree hung in PML4 slot 1 (linear 0x8000000000 up), reads and
 * writes through it, and checks the result with reads of its own. Under EPT the CPU walks
 * these tables; under shadow paging slatvisor's walker has to give the same answers, and
 * its shadow tables must follow every change the guest makes, with or without INVLPG.
 */
#include "guest.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define TABLE (PTE_P | PTE_RW)
#define PAGE 4096ULL
#define SCRATCH_SLOT 1ULL
#define RECURSIVE_SLOT 2ULL
#define SCRATCH (SCRATCH_SLOT << 39)
#define LARGE_2M (1ULL << 21)
#define LARGE_1G (1ULL << 30)
#define ADDR_MASK 0x000FFFFFFFFFF000ULL
#define CPUID_EXT_ADDR_SIZES 0x80000008
#define CPUID7_EBX_INVPCID BIT(10)
#define CPUID_EXT_FEATURES 0x80000001
#define CPUID_EXT_EDX_PAGE1GB BIT(26)
#define MSR_EFER 0xC0000080
#define EFER_NXE BIT(11)
#define PATTERN0 0x5A5A5A5A00000000ULL
#define PATTERN1 0xA5A5A5A500000001ULL

static u64 s_pdpt[512] __attribute__((aligned(4096)));
static u64 s_pd[512] __attribute__((aligned(4096)));
static u64 s_pt[512] __attribute__((aligned(4096)));
static volatile u64 data[2][512] __attribute__((aligned(4096)));

static u64 phys(const volatile void *p) { return (u64)(uintptr_t)p; } /* identity-mapped */

static void flush_all(void) { write_cr3(read_cr3()); }

/* scratch -> data[0], scratch + 4 KiB -> data[1]; everything else in the slot not present. */
static void scratch_reset(void)
{
	memset(s_pdpt, 0, sizeof(s_pdpt));
	memset(s_pd, 0, sizeof(s_pd));
	memset(s_pt, 0, sizeof(s_pt));
	s_pdpt[0] = phys(s_pd) | TABLE;
	s_pd[0] = phys(s_pt) | TABLE;
	s_pt[0] = phys(data[0]) | TABLE;
	s_pt[1] = phys(data[1]) | TABLE;
	data[0][0] = PATTERN0;
	data[1][0] = PATTERN1;
	pml4[SCRATCH_SLOT] = phys(s_pdpt) | TABLE;
	flush_all();
}

static void scratch_remove(void)
{
	pml4[SCRATCH_SLOT] = 0;
	pml4[RECURSIVE_SLOT] = 0;
	flush_all();
}

static volatile u64 loaded;
static void load(u64 a) { loaded = *(volatile u64 *)(uintptr_t)a; }
static void store(u64 a) { *(volatile u64 *)(uintptr_t)a = PATTERN1 ^ a; }

static unsigned maxphyaddr(void)
{
	u32 a, b, c, d;
	cpuid(CPUID_EXT_ADDR_SIZES, &a, &b, &c, &d);
	return a & 0xFF;
}

/* A read through @va must be a #PF with P and RSVD set and CR2 = @va. */
static const char *expect_rsvd(const char *what, u64 va)
{
	const char *why = expect_fault(VEC_PF, what, load, va);
	if (why)
		return why;
	if ((fault_error & (PF_ERR_P | PF_ERR_RSVD)) != (PF_ERR_P | PF_ERR_RSVD) || read_cr2() != va)
		return failf("%s: #PF error 0x%lx cr2 0x%lx, P and RSVD at 0x%lx expected", what, fault_error,
			     read_cr2(), va);
	return NULL;
}

struct rsvd_case {
	const char *what;
	u64 *entry;
	u64 bit;
};

/* Set @bit in the entry, flush as @how says, and the read must be a reserved-bit #PF. */
static const char *one_rsvd(const struct rsvd_case *c, u64 va, int how)
{
	u64 old = *c->entry;
	if (how == 0) {
		*c->entry = old | c->bit;
		flush_all();
	} else {
		/* Translation cached first, then the bit set and INVLPG: nothing stale may survive it. */
		const char *why = expect_no_fault(c->what, load, va);
		*c->entry = old | c->bit;
		invlpg(va);
		if (why) {
			*c->entry = old;
			return why;
		}
	}
	const char *why = expect_rsvd(c->what, va);
	*c->entry = old;
	flush_all();
	if (!why)
		why = expect_no_fault(c->what, load, va); /* the control: without the bit it maps */
	return why;
}

PROBE(pt_rsvd)
{
	unsigned m = maxphyaddr();
	if (m < 36 || m > 52)
		return failf("CPUID says MAXPHYADDR is %u", m);
	scratch_reset();
	/* A 2 MiB page at scratch + 2 MiB and a 1 GiB page at scratch + 1 GiB, over the guest's own image. */
	u64 big = phys(data[0]) & ~(LARGE_1G - 1), mid = phys(data[0]) & ~(LARGE_2M - 1);
	s_pd[1] = mid | TABLE | PTE_PS;
	s_pdpt[1] = big | TABLE | PTE_PS;
	flush_all();
	u64 low = m < 52 ? BIT(m) : 0;
	bool nxe = rdmsr(MSR_EFER) & EFER_NXE;
	const struct rsvd_case cases[] = {
		{ "PML4E bit MAXPHYADDR", &pml4[SCRATCH_SLOT], low },
		{ "PML4E bit 51", &pml4[SCRATCH_SLOT], BIT(51) },
		{ "PML4E PS (bit 7)", &pml4[SCRATCH_SLOT], PTE_PS },
		{ "PDPTE bit MAXPHYADDR", &s_pdpt[0], low },
		{ "PDE bit MAXPHYADDR", &s_pd[0], low },
		{ "PTE bit MAXPHYADDR", &s_pt[0], low },
		{ "PTE bit 51", &s_pt[0], BIT(51) },
		{ "PTE XD with EFER.NXE clear", &s_pt[0], nxe ? 0 : PTE_NX },
	};
	u32 a, b, c, d;
	cpuid(CPUID_EXT_FEATURES, &a, &b, &c, &d);
	bool gbpages = d & CPUID_EXT_EDX_PAGE1GB;
	const struct rsvd_case big_cases[] = {
		{ "2 MiB PDE bit 13", &s_pd[1], BIT(13) },
		{ "2 MiB PDE bit 20", &s_pd[1], BIT(20) },
		{ "2 MiB PDE bit MAXPHYADDR", &s_pd[1], low },
		{ "1 GiB PDPTE bit 13", &s_pdpt[1], gbpages ? BIT(13) : 0 },
		{ "1 GiB PDPTE bit 29", &s_pdpt[1], gbpages ? BIT(29) : 0 },
	};
	/* Without 1 GiB pages in CPUID, PS in a PDPTE is itself reserved. */
	const char *why = gbpages ? NULL : expect_rsvd("PDPTE PS without 1 GiB pages", SCRATCH + LARGE_1G);
	for (int how = 0; how < 2 && !why; how++) {
		for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]) && !why; i++)
			if (cases[i].bit)
				why = one_rsvd(&cases[i], SCRATCH, how);
		for (unsigned i = 0; i < sizeof(big_cases) / sizeof(big_cases[0]) && !why; i++) {
			u64 va = big_cases[i].entry == &s_pd[1] ? SCRATCH + LARGE_2M + (phys(data[0]) - mid)
								 : SCRATCH + LARGE_1G + (phys(data[0]) - big);
			if (!big_cases[i].bit)
				continue;
			why = one_rsvd(&big_cases[i], va, how);
			if (!why && loaded != data[0][0])
				why = failf("%s: read 0x%lx through the large page, 0x%lx expected", big_cases[i].what,
					    loaded, data[0][0]);
		}
	}
	scratch_remove();
	return why;
}

PROBE(pt_ad_bits)
{
	scratch_reset();
	const char *why = NULL;
	for (unsigned round = 0; round < 2 && !why; round++) {
		/* Cleared by hand, then set again by the next access: A on a read, D on a write. */
		s_pt[0] &= ~(PTE_A | PTE_D);
		s_pd[0] &= ~PTE_A;
		invlpg(SCRATCH);
		why = expect_no_fault("read", load, SCRATCH);
		if (!why && (!(s_pt[0] & PTE_A) || (s_pt[0] & PTE_D) || !(s_pd[0] & PTE_A)))
			why = failf("round %u: after a read, PTE 0x%lx PDE 0x%lx: A set, D clear expected", round,
				    s_pt[0], s_pd[0]);
		if (!why)
			why = expect_no_fault("write", store, SCRATCH);
		if (!why && !(s_pt[0] & PTE_D))
			why = failf("round %u: after a write, PTE 0x%lx: D set expected", round, s_pt[0]);
		if (!why && data[0][0] != (PATTERN1 ^ SCRATCH))
			why = failf("round %u: the write did not reach the page", round);
		data[0][0] = PATTERN0;
	}
	/* D cleared while the translation is cached writable: the next write sets it again after INVLPG. */
	if (!why) {
		s_pt[0] &= ~PTE_D;
		invlpg(SCRATCH);
		why = expect_no_fault("write after D cleared", store, SCRATCH);
		if (!why && !(s_pt[0] & PTE_D))
			why = failf("after D was cleared and a write: PTE 0x%lx, D set expected", s_pt[0]);
	}
	scratch_remove();
	return why;
}

static u64 recursive(u64 l4, u64 l3, u64 l2, u64 l1)
{
	u64 va = l4 << 39 | l3 << 30 | l2 << 21 | l1 << 12;
	return va; /* slots below 256: canonical without sign extension */
}

PROBE(pt_self_ref)
{
	scratch_reset();
	pml4[RECURSIVE_SLOT] = phys(pml4) | TABLE;
	flush_all();
	const char *why = NULL;
	/* (2,2,2,2) is the PML4 itself; (2,2,2,1) the scratch PDPT; (2,2,1,0) the scratch PD. */
	struct {
		u64 va;
		const u64 *table;
		const char *what;
	} views[] = {
		{ recursive(2, 2, 2, 2), pml4, "the PML4 through itself four times" },
		{ recursive(2, 2, 2, 1), s_pdpt, "the scratch PDPT" },
		{ recursive(2, 2, 1, 0), s_pd, "the scratch PD" },
		{ recursive(2, 1, 0, 0), s_pt, "the scratch PT" },
	};
	for (unsigned i = 0; i < 4 && !why; i++) {
		for (unsigned e = 0; e < 3 && !why; e++) {
			why = expect_no_fault(views[i].what, load, views[i].va + 8 * e);
			/* Compare the address and the flags the access cannot change (A and D can). */
			if (!why && (loaded & ~(PTE_A | PTE_D)) != (views[i].table[e] & ~(PTE_A | PTE_D)))
				why = failf("%s, entry %u: read 0x%lx, the table holds 0x%lx", views[i].what, e, loaded,
					    views[i].table[e]);
		}
	}
	scratch_remove();
	return why;
}

/* A page table mapped writable, by itself and through the recursive slot: a write to it is a remap. */
PROBE(pt_self_map_rw)
{
	scratch_reset();
	s_pt[5] = phys(s_pt) | TABLE; /* scratch + 20 KiB is the PT itself */
	pml4[RECURSIVE_SLOT] = phys(pml4) | TABLE;
	flush_all();
	const char *why = expect_no_fault("read scratch", load, SCRATCH);
	if (!why && loaded != PATTERN0)
		why = failf("scratch read 0x%lx, 0x%lx expected", loaded, PATTERN0);
	const u64 ways[2] = { SCRATCH + 5 * PAGE, recursive(2, 1, 0, 0) };
	for (unsigned w = 0; w < 2 && !why; w++) {
		/* Entry 0 remapped to the other data page, written through a mapping of the PT itself. */
		u64 target = phys(data[(w + 1) % 2]) | TABLE, want = w == 0 ? PATTERN1 : PATTERN0;
		*(volatile u64 *)(uintptr_t)ways[w] = target;
		invlpg(SCRATCH);
		why = expect_no_fault("read after the remap", load, SCRATCH);
		if (!why && loaded != want)
			why = failf("write %u through the table's own mapping: scratch reads 0x%lx, 0x%lx expected", w,
				    loaded, want);
		if (!why && (s_pt[0] & ADDR_MASK) != (target & ADDR_MASK))
			why = failf("write %u: the PT holds 0x%lx, 0x%lx written", w, s_pt[0], target);
	}
	scratch_remove();
	return why;
}

/* One page as the PD and, through its own entry 1, as the PT of scratch + 2 MiB. */
PROBE(pt_shared_levels)
{
	scratch_reset();
	s_pd[1] = phys(s_pd) | TABLE;
	flush_all();
	/* scratch + 2 MiB + i * 4 KiB maps what s_pd[i] points at: s_pt, then s_pd itself. */
	const char *why = expect_no_fault("read s_pd[0]'s page", load, SCRATCH + LARGE_2M);
	if (!why && (loaded & ~(PTE_A | PTE_D)) != (s_pt[0] & ~(PTE_A | PTE_D)))
		why = failf("PD used as PT, entry 0: read 0x%lx, the scratch PT's entry 0 is 0x%lx", loaded, s_pt[0]);
	if (!why)
		why = expect_no_fault("read s_pd[1]'s page", load, SCRATCH + LARGE_2M + PAGE + 8);
	if (!why && (loaded & ~(PTE_A | PTE_D)) != (s_pd[1] & ~(PTE_A | PTE_D)))
		why = failf("PD used as PT, entry 1: read 0x%lx, s_pd[1] is 0x%lx", loaded, s_pd[1]);
	/* A write through the PD-as-PT view changes the PD: entry 2 becomes a real mapping. */
	if (!why) {
		*(volatile u64 *)(uintptr_t)(SCRATCH + LARGE_2M + PAGE + 2 * 8) = phys(s_pt) | TABLE;
		flush_all();
		why = expect_no_fault("read through the new PD entry", load, SCRATCH + 2 * LARGE_2M + PAGE);
		if (!why && loaded != PATTERN1)
			why = failf("the PD entry written through its PT view maps 0x%lx, 0x%lx expected", loaded, PATTERN1);
	}
	scratch_remove();
	return why;
}

static void do_invlpg(u64 a) { invlpg(a); }

PROBE(invlpg_noncanonical)
{
	/* INVLPG of a non-canonical address is a no-op, never a fault (SDM Vol. 2, INVLPG). */
	static const u64 addrs[] = { 0x8000000000000000ULL, 0x0000800000000000ULL, 0x7FFF000000000000ULL,
				     0xFFFF7FFFFFFFF000ULL };
	for (unsigned i = 0; i < 4; i++) {
		const char *why = expect_no_fault("INVLPG of a non-canonical address", do_invlpg, addrs[i]);
		if (why)
			return failf("0x%lx: %s", addrs[i], why);
	}
	return NULL;
}

static struct {
	u64 pcid, addr;
} __attribute__((aligned(16))) desc;
static u64 invpcid_type;
static void do_invpcid(u64 unused)
{
	(void)unused;
	__asm__ volatile("invpcid %0, %1" : : "m"(desc), "r"(invpcid_type) : "memory");
}

PROBE(invpcid)
{
	u32 a, b, c, d;
	cpuid_count(7, 0, &a, &b, &c, &d);
	desc.pcid = 0;
	desc.addr = 0;
	invpcid_type = 2;
	if (!(b & CPUID7_EBX_INVPCID))
		return expect_fault(VEC_UD, "INVPCID without CPUID.7:EBX.INVPCID", do_invpcid, 0);
	/* SDM Vol. 2, INVPCID: #GP for a type above 3, PCID bits 63:12 set, a non-canonical address
	 * in type 0, and (CR4.PCIDE clear) a PCID other than 0 in types 0 and 1. */
	struct {
		u64 type, pcid, addr;
		bool gp;
		const char *what;
	} cases[] = {
		{ 0, 0, SCRATCH, false, "type 0, PCID 0" },
		{ 1, 0, 0, false, "type 1, PCID 0" },
		{ 2, 0, 0, false, "type 2" },
		{ 3, 0, 0, false, "type 3" },
		{ 2, 0x1000, 0, true, "descriptor bits 63:12 set" },
		{ 0, 0, 0x8000000000000000ULL, true, "type 0, non-canonical address" },
		{ 0, 1, SCRATCH, !(read_cr4() & BIT(17)), "type 0, PCID 1" },
		{ 1, 1, 0, !(read_cr4() & BIT(17)), "type 1, PCID 1" },
		{ 4, 0, 0, true, "type 4" },
		{ 0xFFFFFFFF, 0, 0, true, "type 0xFFFFFFFF" },
		/*
		 * Not tested: a type above 2^32 (#GP on a CPU, whose 64-bit mode reads the whole
		 * register). Bochs 2.7 reads 32 bits of it unless REX.W is given, so under EPT, where
		 * the instruction does not exit, 2^32 runs as type 0 there.
		 */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		invpcid_type = cases[i].type;
		desc.pcid = cases[i].pcid;
		desc.addr = cases[i].addr;
		const char *why = cases[i].gp ? expect_fault(VEC_GP, cases[i].what, do_invpcid, 0)
					      : expect_no_fault(cases[i].what, do_invpcid, 0);
		if (why)
			return why;
	}
	return NULL;
}

/* The end of the last RAM range in the e820 map. */
static u64 ram_end(void)
{
	unsigned n;
	const struct e820_entry *e = e820_table(&n);
	u64 end = 0;
	for (unsigned i = 0; i < n; i++)
		if (e[i].type == E820_RAM && e[i].addr + e[i].size > end)
			end = e[i].addr + e[i].size;
	return end;
}

/*
 * Large pages over the end of RAM: through them the last RAM page reads what the identity
 * map reads there, and the first page past the end reads without a fault. Over the top of
 * everything (a 1 GiB page at the first 1 GiB boundary past 4 GiB and RAM), reads are all
 * ones and a write is dropped, as on a bare machine where no device answers (a 2 MiB page
 * there: every CPU has those).
 */
PROBE(pt_large_past_ram)
{
	u64 end = ram_end() & ~(PAGE - 1);
	if (!end || end > 3 * LARGE_1G)
		return failf("RAM ends at 0x%lx: the probe needs it below 3 GiB", end);
	u32 a, b, c, d;
	cpuid(CPUID_EXT_FEATURES, &a, &b, &c, &d);
	bool gbpages = d & CPUID_EXT_EDX_PAGE1GB;
	scratch_reset();
	u64 mid = (end - PAGE) & ~(LARGE_2M - 1), big = (end - PAGE) & ~(LARGE_1G - 1);
	u64 over = (4 * LARGE_1G > ((end + LARGE_1G - 1) & ~(LARGE_1G - 1))) ? 4 * LARGE_1G : (end + LARGE_1G - 1) & ~(LARGE_1G - 1);
	s_pd[1] = mid | TABLE | PTE_PS;
	s_pd[2] = over | TABLE | PTE_PS;
	if (gbpages)
		s_pdpt[1] = big | TABLE | PTE_PS;
	flush_all();
	const char *why = NULL;
	u64 last = *(volatile u64 *)(uintptr_t)(end - PAGE); /* the identity map's view */
	struct {
		u64 va;
		const char *what;
	} views[] = { { SCRATCH + LARGE_2M + (end - PAGE - mid), "the last RAM page through a 2 MiB page" },
		      { SCRATCH + LARGE_1G + (end - PAGE - big), "the last RAM page through a 1 GiB page" } };
	for (unsigned i = 0; i < (gbpages ? 2u : 1u) && !why; i++) {
		why = expect_no_fault(views[i].what, load, views[i].va);
		if (!why && loaded != last)
			why = failf("%s: 0x%lx, the identity map reads 0x%lx", views[i].what, loaded, last);
		/* Past the end of RAM, in the same large page where it reaches that far. */
		if (!why && views[i].va + PAGE < SCRATCH + (i ? 2 * LARGE_1G : 2 * LARGE_2M))
			why = expect_no_fault("the first page past RAM", load, views[i].va + PAGE);
	}
	if (!why) {
		u64 va = SCRATCH + 2 * LARGE_2M + 0x12340;
		why = expect_no_fault("a read past the top", load, va);
		if (!why && loaded != ~0ULL)
			why = failf("a read at physical 0x%lx, past everything, gave 0x%lx, not all ones", over + 0x12340, loaded);
		if (!why)
			why = expect_no_fault("a write past the top", store, va);
		if (!why)
			why = expect_no_fault("a read after the write", load, va);
		if (!why && loaded != ~0ULL)
			why = failf("a write at physical 0x%lx, past everything, left 0x%lx there", over + 0x12340, loaded);
	}
	scratch_remove();
	return why;
}
