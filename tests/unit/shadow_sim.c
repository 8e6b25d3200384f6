/* shadow_sim.c: the simulated machine of the shadow engine's tests: guest memory, CPUs, a reference walker. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "shadow_sim.h"

u64 (*ram)[512];
static u64 (*spt)[512];
static struct spt_page pages[MAX_POOL];
static struct gfn_meta meta[RAM_PAGES];
struct shadow_mmu m;
struct sim_cpu cpus[2];
struct sim_cpu *cpu = &cpus[0];
bool break_remote_disarm; /* a deliberately wrong disarm_others, to see the checks catch it */
u64 remote_kicks;
static u64 next_free_gfn;

static u64 *guest_table(void *ctx, u64 gpa)
{
	(void)ctx;
	if (gpa >= RAM_TOP || (gpa >= HIDDEN_LO && gpa < HIDDEN_HI))
		return NULL;
	return ram[gpa / PAGE_SIZE];
}

static u64 *shadow_table(void *ctx, u64 hpa)
{
	(void)ctx;
	if (hpa < SPT_BASE || hpa >= SPT_BASE + (u64)MAX_POOL * PAGE_SIZE)
		return NULL;
	return spt[(hpa - SPT_BASE) / PAGE_SIZE];
}

enum gpa_kind kind(void *ctx, u64 gpa)
{
	(void)ctx;
	if (gpa >= HIDDEN_LO && gpa < HIDDEN_HI)
		return GPA_HIDDEN;
	return gpa < RAM_TOP ? GPA_RAM : gpa < MMIO_TOP ? GPA_MMIO : GPA_NONE;
}

void sim_exit_begin(struct sim_cpu *c)
{
	if (c->armed_hw)
		shadow_follow_cr3(&m, &c->sv, c->hw_cr3); /* as at every exit: the root from the VMCS */
}

/* The other CPU is kicked: it exits, and empties its list before it answers. */
static u32 disarm_others(void *ctx)
{
	(void)ctx;
	u32 n = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(cpus); i++) {
		struct sim_cpu *o = &cpus[i];
		if (o == cpu || !o->armed_hw)
			continue;
		n++;
		remote_kicks++;
		if (break_remote_disarm)
			continue;
		sim_exit_begin(o);
		o->armed_hw = false;
	}
	return n;
}

/* Before entry, as vmx/shadow.c does: the list the engine wants. */
void sim_before_entry(struct sim_cpu *c)
{
	if (c->sv.root)
		c->hw_cr3 = c->sv.root->table; /* the VMCS holds the root the exit handler chose */
	if (c->armed_hw && !c->sv.armed)
		c->armed_hw = false;
	if (c->armed_hw)
		return;
	if (c->sv.armed)
		shadow_disarm(&m, &c->sv, DISARM_REMOTE);
	u64 t[2];
	if (shadow_arm(&m, &c->sv, t)) {
		c->armed_hw = true;
		c->target[0] = t[0];
		c->target[1] = t[1];
	}
}

void setup(u32 capacity)
{
	if (!ram) {
		ram = aligned_alloc(PAGE_SIZE, RAM_PAGES * PAGE_SIZE);
		spt = aligned_alloc(PAGE_SIZE, MAX_POOL * PAGE_SIZE);
	}
	memset(ram, 0, RAM_PAGES * PAGE_SIZE);
	memset(spt, 0xAB, MAX_POOL * PAGE_SIZE); /* the engine must zero what it uses */
	struct shadow_env env = { guest_table, shadow_table, kind, NULL, disarm_others, NULL, SCRATCH, OPEN_BUS, NULL };
	shadow_init(&m, pages, capacity, SPT_BASE, meta, RAM_PAGES, &env);
	memset(cpus, 0, sizeof(cpus));
	cpu = &cpus[0];
	next_free_gfn = 16;
}

u64 alloc_gpage(void)
{
	if (next_free_gfn * PAGE_SIZE == HIDDEN_LO)
		next_free_gfn = HIDDEN_HI / PAGE_SIZE;
	u64 gpa = next_free_gfn++ * PAGE_SIZE;
	memset(ram[gpa / PAGE_SIZE], 0, PAGE_SIZE);
	return gpa;
}

struct gw_paging guest_pg(u64 cr3, bool nxe, bool smep)
{
	return (struct gw_paging){ .cr3 = cr3, .nxe = nxe, .wp = true, .smep = smep,
				   .gbpages = true, .maxphyaddr = 46 };
}

/* ---- the simulated CPU: walks the shadow tables, takes #PF exits to the engine ---- */

struct result cpu_access(const struct gw_paging *gpg, u64 va, u32 access)
{
	struct pt_ops hw = { P, PS, 0, 3, shadow_table, NULL, NULL, { 0 } };
	/* The hardware runs with WP set and the guest's NXE/SMEP/SMAP on the shadow root. */
	struct gw_paging hpg = *gpg;
	hpg.cr3 = cpu->armed_hw ? cpu->hw_cr3 : cpu->sv.root->table;
	hpg.wp = true;
	hpg.maxphyaddr = 46;
	for (int tries = 0; tries < 8; tries++) {
		struct gw_result r;
		if (guest_walk(&hw, &hpg, va, access, &r))
			return (struct result){ OK, r.gpa, 0 };
		u32 gpfec = 0;
		u64 gpa = 0;
		sim_exit_begin(cpu);
		struct gw_paging epg = *gpg;
		epg.cr3 = cpu->sv.guest_cr3; /* what the exit handler knows of the guest's CR3 */
		enum shadow_fault f = shadow_page_fault(&m, &cpu->sv, &epg, va, r.pfec, &gpfec, &gpa);
		sim_before_entry(cpu);
		switch (f) {
		case SF_RETRY:
			hpg.cr3 = cpu->armed_hw ? cpu->hw_cr3 : cpu->sv.root->table;
			continue;
		case SF_INJECT:
			return (struct result){ GUEST_PF, 0, gpfec };
		default:
			return (struct result){ STOPPED, gpa, 0 };
		}
	}
	return (struct result){ STOPPED, ~0ULL, 0 }; /* the engine keeps "fixing" the same fault */
}

/*
 * What the architecture says, on a snapshot so the reference walk changes no
 * A/D bit. One snapshot serves a whole check (snap_stale): between its
 * walks the engine changes only A/D bits, which decide no outcome.
 */
static bool snap_stale = true;
static struct result reference(const struct gw_paging *gpg, u64 va, u32 access)
{
	static u64 (*snap)[512];
	if (!snap)
		snap = aligned_alloc(PAGE_SIZE, RAM_PAGES * PAGE_SIZE);
	if (snap_stale)
		memcpy(snap, ram, RAM_PAGES * PAGE_SIZE);
	snap_stale = false;
	u64 (*live)[512] = ram;
	ram = snap;
	struct pt_ops gm = { P, PS, 0, 3, guest_table, NULL, NULL, { 0 } };
	struct gw_result r;
	bool ok = guest_walk(&gm, gpg, va, access, &r);
	ram = live;
	if (!ok)
		return (struct result){ GUEST_PF, 0, r.pfec };
	/* Where nothing is: reads see the page of all ones, a write is slatvisor's to drop. */
	if (kind(NULL, r.gpa) == GPA_NONE && (access & GW_WRITE))
		return (struct result){ STOPPED, r.gpa, 0 };
	return (struct result){ OK, r.gpa, 0 };
}

static bool same(struct result want, struct result got)
{
	if (want.o != got.o)
		return false;
	if (want.o == GUEST_PF)
		return want.pfec == got.pfec;
	if (want.o == OK && kind(NULL, want.gpa) == GPA_HIDDEN) /* never the hypervisor's memory */
		return (got.gpa & ~(PAGE_SIZE - 1)) == SCRATCH;
	if (want.o == OK && kind(NULL, want.gpa) == GPA_NONE)
		return got.gpa == OPEN_BUS + (want.gpa & (PAGE_SIZE - 1));
	return want.gpa == got.gpa;
}

/* No shadow leaf maps hypervisor memory or a frame beyond everything. */
static bool leaves_safe(void)
{
	for (u32 s = 0; s < m.pool.capacity; s++) {
		struct spt_page *sp = &m.pool.pages[s];
		if (!sp->in_use || sp->role.level != 1)
			continue;
		u64 *t = shadow_table(NULL, sp->table);
		for (unsigned i = 0; i < 512; i++) {
			u64 a = t[i] & PT_ADDR_MASK;
			if ((t[i] & P) && a != SCRATCH && (a != OPEN_BUS || (t[i] & RW)) && kind(NULL, a) != GPA_RAM &&
			    kind(NULL, a) != GPA_MMIO) {
				fprintf(stderr, "    shadow page %u (gfn 0x%llx role 0x%x) entry %u = 0x%llx\n", s,
					(unsigned long long)sp->gfn, sp->role.word, i, (unsigned long long)t[i]);
				return false;
			}
		}
	}
	return true;
}

/* ---- a guest with several address spaces sharing a kernel half and a direct map ---- */

u64 pml4[NSPACES], kpdpt, physmap_pdpt, physmap_pd;
u64 tables[64]; /* every guest table the random edits may change */
int table_level[64];
unsigned ntables;
static u64 touched[48];
static unsigned ntouched;

u64 *gentry(u64 table, unsigned i)
{
	return &ram[table / PAGE_SIZE][i];
}

/* The guest writes its page tables as Linux does: through its direct map, so protection is exercised. */
void guest_write(const struct gw_paging *gpg, u64 gpa, u64 val)
{
	struct result r = cpu_access(gpg, PHYSMAP + gpa, GW_WRITE);
	CHECK(r.o == OK && r.gpa == PHYSMAP - PHYSMAP + gpa);
	*(u64 *)((u8 *)ram + gpa) = val;
}

static void add_table(u64 t, int level)
{
	tables[ntables] = t;
	table_level[ntables++] = level;
}

void build_guest(void)
{
	build_guest_kpti(false);
}

/* With @kpti, each address space's top table is an 8 KiB-aligned pair, user half at +4 KiB. */
void build_guest_kpti(bool kpti)
{
	ntables = ntouched = 0;
	kpdpt = alloc_gpage();
	physmap_pdpt = alloc_gpage();
	physmap_pd = alloc_gpage();
	for (unsigned i = 0; i < 2; i++) /* 0-4 MiB */
		*gentry(physmap_pd, i) = (i * 2 * MiB) | P | RW | A | D | PS | G;
	*gentry(physmap_pdpt, 0) = physmap_pd | P | RW | A;
	/* A kernel half shared by every address space: one PD, one PT. */
	u64 kpd = alloc_gpage(), kpt = alloc_gpage();
	*gentry(kpdpt, pt_index(KERNEL, 3)) = kpd | P | RW | A;
	*gentry(kpd, 0) = kpt | P | RW | A;
	add_table(kpd, 2);
	add_table(kpt, 1);
	for (unsigned s = 0; s < NSPACES; s++) {
		if (kpti && (next_free_gfn & 1))
			next_free_gfn++;
		pml4[s] = alloc_gpage();
		u64 upml4 = kpti ? alloc_gpage() : 0;
		u64 pdpt = alloc_gpage(), pd = alloc_gpage(), pt = alloc_gpage();
		*gentry(pml4[s], pt_index(PHYSMAP, 4)) = physmap_pdpt | P | RW | A;
		*gentry(pml4[s], pt_index(KERNEL, 4)) = kpdpt | P | RW | A;
		*gentry(pml4[s], 0) = pdpt | P | RW | US | A;
		*gentry(pdpt, 0) = pd | P | RW | US | A;
		*gentry(pd, 0) = pt | P | RW | US | A;
		add_table(pml4[s], 4);
		add_table(pdpt, 3);
		add_table(pd, 2);
		add_table(pt, 1);
		if (kpti) {
			memcpy(ram[upml4 / PAGE_SIZE], ram[pml4[s] / PAGE_SIZE], PAGE_SIZE);
			add_table(upml4, 4);
		}
	}
}

bool vary_link_rights;

u64 rnd(u64 n)
{
	return (u64)random() % n;
}

/* A random but well-formed entry for a table at @level. */
u64 random_entry(int level)
{
	u64 rights = (rnd(4) ? P : 0) | (rnd(2) ? RW : 0) | (rnd(3) ? US : 0) | (rnd(4) ? A : 0) |
		     (rnd(2) ? D : 0) | (rnd(5) ? 0 : XD);
	if (level == 1 || (level == 2 && !rnd(4))) {
		/* A frame anywhere: RAM (page tables included), hypervisor memory, MMIO, or beyond. */
		u64 frame = rnd(10) ? rnd(RAM_PAGES) * PAGE_SIZE
			    : rnd(3) * PAGE_SIZE + (u64[]){ HIDDEN_LO, RAM_TOP, MMIO_TOP }[rnd(3)];
		if (level == 2) /* now and then with a reserved bit (20:13): a #PF with RSVD */
			return (frame & ~(2 * MiB - 1)) | rights | PS | (rnd(10) ? 0 : BIT(13 + rnd(8)));
		return frame | rights | (rnd(8) ? 0 : G);
	}
	/* A table one level down, from those the guest has. */
	for (int tries = 0; tries < 16; tries++) {
		unsigned t = (unsigned)rnd(ntables);
		if (table_level[t] == level - 1)
			return tables[t] | rights | (vary_link_rights && rnd(3) ? 0 : RW | US);
	}
	return 0;
}

u64 random_va(void)
{
	if (ntouched && rnd(4))
		return touched[rnd(ntouched)];
	u64 va = rnd(3) ? (rnd(8) << 21) | (rnd(16) << 12) : KERNEL + (rnd(16) << 12);
	if (ntouched < ARRAY_SIZE(touched))
		touched[ntouched++] = va;
	return va | rnd(PAGE_SIZE);
}

const u32 accesses[] = { 0, GW_WRITE, GW_FETCH, GW_USER, GW_USER | GW_WRITE, GW_USER | GW_FETCH };

unsigned mismatches;

/* After a flush point the shadow must agree with the guest's tables for every address touched. */
void check_all(const struct gw_paging *gpg)
{
	snap_stale = true;
	for (unsigned t = 0; t < ntouched; t++) {
		for (unsigned a = 0; a < ARRAY_SIZE(accesses); a++) {
			struct result want = reference(gpg, touched[t], accesses[a]);
			struct result got = cpu_access(gpg, touched[t], accesses[a]);
			if (!same(want, got) && mismatches++ < 5 && !break_remote_disarm)
				fprintf(stderr, "    va 0x%llx access %u: want %d/0x%llx/0x%x got %d/0x%llx/0x%x\n",
					(unsigned long long)touched[t], accesses[a], want.o,
					(unsigned long long)want.gpa, want.pfec, got.o,
					(unsigned long long)got.gpa, got.pfec);
		}
	}
	CHECK(leaves_safe());
}

