/*
 * fuzz_pt.c: page-table edits, then an access through them, checked against a walk of the
 * same tables in C (SDM Vol. 3A, 4.5 "4-Level Paging", 4.6 "Access Rights", 4.7 "Page-Fault
 * Exceptions").
 *
 * A scratch tree of the fuzzer's own hangs in PML4 slot 1 (linear 0x8000000000): one PDPT,
 * one PD, one PT whose 512 entries all start as the data page. Each operation writes one
 * entry of it with random flags (present 7 times in 8, writable 3 in 4, XD 1 in 4), one
 * time in 8 a bit of MAXPHYADDR-51 (reserved), as often one of a 2 MiB page's bits 20:13 and
 * always one of a 1 GiB page's 29:13; it puts the entries above it back to plain
 * present-and-writable pointers, INVLPGs the address (which also drops the paging-structure
 * caches, 4.10.4.1) and reads, writes or fetches through it. Every frame in the tree is the
 * tree's own table or one scratch data page filled with 0xC3 (RET, so a fetch returns at
 * once, and a known value to read). A 2 MiB page maps the 2 MiB that hold the data page,
 * inside the guest's own memory, and only the data page is accessed through it. A 1 GiB page
 * always carries a reserved bit: 0-1 GiB is more than this guest's memory, so it must never
 * map.
 *
 * One access in 4 runs with CR0.WP cleared, and one in 4 with EFER.NXE cleared (where the CPU
 * has NX), both put back right after it: the paging rules change under the same tables, which
 * a shadow-paging hypervisor has to follow (WP: supervisor writes to read-only pages are
 * taken; NXE: XD is then a reserved bit).
 *
 * The walk gives the outcome: taken (a read returns the 0xC3 pattern) or #PF with CR2 the
 * address and the error code's P, W and RSVD bits as the walk says. Accesses are supervisor
 * ones; XD counts with EFER.NXE; SMEP and SMAP (EFLAGS.AC = 0) as CR4 says.
 */
#include "fuzz.h"

#define SCRATCH_SLOT 1
#define SCRATCH_BASE (1ULL << 39)
#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PS BIT(7)
#define PTE_PAT_LARGE BIT(12)
#define PTE_XD BIT(63)
/* The flags an operation chooses at random: RW US PWT PCD A D G, 9-11, 52-62 and XD. */
#define PTE_RANDOM (0x17EULL | 0xE00ULL | (0x7FFULL << 52) | PTE_XD)
#define PTE_PAT_4K BIT(7)
#define PF_P BIT(0)
#define PF_W BIT(1)
#define PF_RSVD BIT(3)
#define PF_CHECKED (PF_P | PF_W | PF_RSVD)
#define SIZE_2M 0x200000ULL
#define SIZE_1G 0x40000000ULL
#define FILL 0xC3C3C3C3C3C3C3C3ULL
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define MSR_IA32_EFER 0xC0000080
#define EFER_NXE BIT(11)
#define CPUID80000001_EDX_PAGE1GB BIT(26)

static u64 spdpt[512] __attribute__((aligned(4096)));
static u64 spd[512] __attribute__((aligned(4096)));
static u64 spt[512] __attribute__((aligned(4096)));
static u8 sdata[4096] __attribute__((aligned(4096)));
static bool page1gb;

static u64 phys(const void *p) { return (u64)(uintptr_t)p; }
static u64 table(const void *p) { return phys(p) | PTE_P | PTE_RW; }

void fz_pt_init(void)
{
	memset(sdata, 0xC3, sizeof(sdata));
	/* Every PT entry starts as the data page, so that an edit above the PT reaches a page. */
	for (unsigned i = 0; i < 512; i++)
		spt[i] = table(sdata);
	spdpt[0] = table(spd);
	spd[0] = table(spt);
	paging_set_pml4(SCRATCH_SLOT, table(spdpt));
	u32 a, b, c, d;
	cpuid(0x80000000, &a, &b, &c, &d);
	if (a >= 0x80000001) {
		cpuid(0x80000001, &a, &b, &c, &d);
		page1gb = d & CPUID80000001_EDX_PAGE1GB;
	}
}

enum access { READ, WRITE, FETCH };

static volatile u64 pt_read;
static void do_read(u64 a) { pt_read = *(volatile u64 *)a; }
static void do_write(u64 a) { *(volatile u64 *)a = FILL; }
static void do_fetch(u64 a) { ((void (*)(void))a)(); }

/* The access under the CR0 and EFER it is to run with; the caller puts both back. */
static u64 run_cr0, run_efer, saved_cr0, saved_efer;
static void (*run_access)(u64);
static void do_access(u64 a)
{
	if (run_cr0 != saved_cr0)
		write_cr0(run_cr0);
	if (run_efer != saved_efer)
		wrmsr(MSR_IA32_EFER, run_efer);
	run_access(a);
	if (run_efer != saved_efer)
		wrmsr(MSR_IA32_EFER, saved_efer);
	if (run_cr0 != saved_cr0)
		write_cr0(saved_cr0);
}

static u64 bits(unsigned lo, unsigned hi) { return (BIT(hi) - 1) & ~(BIT(lo) - 1); }

/* The reserved bits of a present entry: 1 for PDPT, 2 for PD, 3 for PT (4.5, tables 4-15 to 4-20). */
static u64 reserved(unsigned level, u64 e, bool nxe)
{
	u64 r = bits(fz_mach.maxphyaddr, 52) | (nxe ? 0 : PTE_XD);
	if (level == 1 && (e & PTE_PS))
		r |= page1gb ? bits(13, 30) : PTE_PS;
	if (level == 2 && (e & PTE_PS))
		r |= bits(13, 21);
	if (!fz_mach.pat) /* without PAT the PAT bits are reserved */
		r |= level == 3 ? PTE_PAT_4K : (e & PTE_PS) ? PTE_PAT_LARGE : 0;
	return r;
}

/* The error code the walk predicts for @acc at the current tables, or 0 when it is taken. */
static u64 predict(enum access acc, unsigned k, bool wp, bool nxe, bool *fault)
{
	u64 cr4 = read_cr4();
	u64 ac = acc == WRITE ? PF_W : 0;
	u64 path[4] = { table(spdpt), spdpt[0], 0, 0 };
	unsigned n = 2;
	if (!(path[1] & PTE_P) || (path[1] & reserved(1, path[1], nxe)))
		goto stop;
	if (!(path[1] & PTE_PS)) {
		path[n++] = spd[0];
		if (!(path[2] & PTE_P) || (path[2] & reserved(2, path[2], nxe)))
			goto stop;
		if (!(path[2] & PTE_PS)) {
			path[n++] = spt[k];
			if (!(path[3] & PTE_P) || (path[3] & reserved(3, path[3], nxe)))
				goto stop;
		}
	}
	bool rw = true, user = true, xd = false;
	for (unsigned i = 0; i < n; i++) {
		rw &= (path[i] & PTE_RW) != 0;
		user &= (path[i] & PTE_US) != 0;
		xd |= nxe && (path[i] & PTE_XD);
	}
	*fault = (acc == WRITE && !rw && wp) || (acc == FETCH && (xd || (user && (cr4 & CR4_SMEP)))) ||
		 (acc != FETCH && user && (cr4 & CR4_SMAP));
	return *fault ? PF_P | ac : 0;
stop:
	*fault = true;
	/* The last entry read is the one that stopped the walk: not present, or a reserved bit. */
	return (path[n - 1] & PTE_P) ? PF_P | PF_RSVD | ac : ac;
}

void fz_pt(const u64 *w, struct fz_out *o)
{
	unsigned level = (unsigned)(w[0] % 3), k = (unsigned)(w[3] % 512);
	bool large = (w[0] >> 8) & 1;
	/* RW set 3 times in 4 and XD 1 time in 4 (bits 40 and 41 of w[1] are not flags): more accesses get through. */
	u64 flags = (w[1] & PTE_RANDOM & ~(PTE_RW | PTE_XD)) | (((w[0] >> 4) & 7) ? PTE_P : 0) |
		    ((w[1] & (PTE_RW | BIT(40))) ? PTE_RW : 0) | ((w[1] & PTE_XD) && (w[1] & BIT(41)) ? PTE_XD : 0);
	if (((w[2] >> 32) & 7) == 0 && fz_mach.maxphyaddr < 52)
		flags |= BIT(fz_mach.maxphyaddr + (unsigned)((w[2] >> 40) % (52 - fz_mach.maxphyaddr)));
	u64 e;
	if (level == 0) {
		e = phys(sdata) | flags | (w[1] & PTE_PAT_4K);
		spt[k] = e;
		spd[0] = table(spt);
		spdpt[0] = table(spd);
	} else if (level == 1) {
		if (large) {
			e = (phys(sdata) & ~(SIZE_2M - 1)) | flags | PTE_PS | (w[1] & PTE_PAT_LARGE);
			if (((w[2] >> 35) & 7) == 0)
				e |= BIT(13 + (unsigned)((w[2] >> 48) % 8));
		} else {
			e = phys(spt) | flags;
		}
		spd[0] = e;
		spdpt[0] = table(spd);
	} else {
		e = large ? (phys(sdata) & ~(SIZE_1G - 1)) | flags | PTE_PS | BIT(13 + (unsigned)((w[2] >> 48) % 17))
			  : phys(spd) | flags;
		spdpt[0] = e;
	}
	u64 off = (w[2] >> 2) & 0xFF8;
	u64 a = (spdpt[0] & PTE_PS) ? SCRATCH_BASE + (phys(sdata) & (SIZE_1G - 1)) + off
		: (spd[0] & PTE_PS) ? SCRATCH_BASE + (phys(sdata) & (SIZE_2M - 1)) + off
				    : SCRATCH_BASE + (u64)k * 4096 + off;
	enum access acc = (enum access)(w[2] % 3);
	o->a = a;
	o->b = e;
	saved_cr0 = read_cr0();
	saved_efer = rdmsr(MSR_IA32_EFER);
	run_cr0 = ((w[3] >> 9) & 3) == 0 ? saved_cr0 & ~CR0_WP : saved_cr0;
	run_efer = ((w[3] >> 11) & 3) == 0 ? saved_efer & ~EFER_NXE : saved_efer;
	static const char *const acc_name[] = { "read", "write", "fetch" }, *const table_name[] = { "PT", "PD", "PDPT" };
	static char what[96];
	fz_format(what, sizeof(what), "%s 0x%%lx, %s entry 0x%%lx, CR0.WP %u, EFER.NXE %u",
		  acc_name[acc], table_name[level], (run_cr0 & CR0_WP) != 0, (run_efer & EFER_NXE) != 0);
	o->what = what;
	bool fault;
	u64 err = predict(acc, k, run_cr0 & CR0_WP, run_efer & EFER_NXE, &fault);
	o->allowed = fault ? FZ_ALLOW(VEC_PF) : FZ_OK;
	invlpg(a);
	pt_read = 0;
	static void (*const fns[])(u64) = { do_read, do_write, do_fetch };
	run_access = fns[acc];
	o->vec = fz_call(do_access, a);
	/* After a #PF the access's CR0 and EFER are still in force. */
	if (read_cr0() != saved_cr0)
		write_cr0(saved_cr0);
	if (rdmsr(MSR_IA32_EFER) != saved_efer)
		wrmsr(MSR_IA32_EFER, saved_efer);
	if (o->vec == VEC_PF && fault && read_cr2() != a)
		o->why = failf("#PF with CR2 0x%lx, not the address", read_cr2());
	else if (o->vec == VEC_PF && fault && (fault_error & PF_CHECKED) != err)
		o->why = failf("#PF error code 0x%lx, the walk says P/W/RSVD 0x%lx", fault_error, err);
	else if (o->vec == FZ_NONE && acc == READ && pt_read != FILL)
		o->why = failf("read 0x%lx, not the data page's 0x%lx", pt_read, FILL);
	else if (*(volatile u64 *)(sdata + off) != FILL)
		o->why = failf("the data page holds 0x%lx at offset 0x%lx", *(volatile u64 *)(sdata + off), off);
}
