/* ept.c: allocate and build the shared EPT, and answer EPT violations and misconfigurations. */
#include "ept.h"
#include "exit.h"
#include "vmcs.h"
#include "vmx.h"
#include "apic_start.h"
#include "open_bus.h"
#include "monitor.h"
#include "../arch/x86_64/cpu.h"
#include "../kernel/log.h"
#include "../kernel/spinlock.h"
#include "../mm/palloc.h"

/* SDM Vol. 3C, table 28-7: exit qualification for EPT violations. */
#define EPTQ_READ BIT(0)
#define EPTQ_WRITE BIT(1)
#define EPTQ_FETCH BIT(2)
#define EPTQ_LINEAR_VALID BIT(7)

static struct ept_hidden hidden;
static u64 root;
static spinlock_t lock;
static u64 scratch_2m;   /* what the guest sees instead of hypervisor memory, once it looks */
static bool hidden_warned;
static struct mem_span ram[MEMMAP_MAX_SPANS];
static unsigned nram;
static u64 guest_top;

static u64 *ept_table(void *ctx, u64 phys)
{
	(void)ctx;
	return (u64 *)(uintptr_t)phys; /* EPT tables live in slatvisor's identity-mapped memory */
}

static u64 ept_alloc(void *ctx)
{
	(void)ctx;
	return palloc(1, PALLOC_ANYWHERE);
}

static struct pt_ops ops = {
	.present = EPT_RWX,
	.large = EPT_LARGE,
	.table_flags = EPT_RWX,
	.table = ept_table,
	.alloc_table = ept_alloc,
};

void ept_describe(u64 top, const struct ept_hidden *h, const struct mem_region *map, unsigned nmap)
{
	hidden = *h;
	guest_top = top;
	nram = memmap_spans(map, nmap, top, ram, MEMMAP_MAX_SPANS);
}

status_t ept_init(void)
{
	u64 top = guest_top;
	ops.max_leaf_level = vmx.caps.ept_1g ? 3 : 2;
	struct mtrr_state mtrr;
	mtrr_read(&mtrr);
	pr_info("ept: MTRRs %s, default type %s, %u variable ranges%s", mtrr.enabled ? "on" : "off",
		memtype_name(mtrr.default_type), mtrr.nvar,
		mtrr.fixed_enabled ? ", fixed ranges on" : "");
	root = ept_alloc(NULL);
	if (!root)
		return ST_NO_MEMORY;
	struct ept_map_stats st = { 0 };
	status_t s = ept_map_identity(&ops, root, &mtrr, top, &hidden, &st);
	if (s != ST_OK)
		return s;
	/* Where nothing is, the guest reads all ones (open_bus.h): four pages, whatever the size. */
	u64 end = 1ULL << cpu_maxphyaddr();
	if (top < end) {
		u64 ones = open_bus_page(), pt = ept_alloc(NULL), pd = ept_alloc(NULL), pdpt = ept_alloc(NULL);
		if (!ones || !pt || !pd || !pdpt)
			return ST_NO_MEMORY;
		s = ept_map_open_bus(&ops, root, top, end, ones, pt, pd, pdpt);
		if (s != ST_OK)
			return s;
		pr_info("ept: guest-physical 0x%llx-0x%llx holds nothing: it reads all ones, writes there are dropped (3 shared paging-structure pages)",
			(unsigned long long)top, (unsigned long long)end - 1);
	}
	vmx.eptp = root | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4;
	unsigned pages = ept_shared_pages();
	pr_info("ept: %u paging-structure pages: 1 PML4, %u PDPT, %u PD, %u PT; leaves: %llu x 1 GiB, %llu x 2 MiB, %llu x 4 KiB; guest-physical 0-%llu GiB",
		pages, ops.tables_allocated[3], ops.tables_allocated[2], ops.tables_allocated[1],
		(unsigned long long)st.leaves[3], (unsigned long long)st.leaves[2],
		(unsigned long long)st.leaves[1], (unsigned long long)(top / GiB));
	for (unsigned i = 0; i < hidden.n; i++)
		pr_info("ept: hypervisor memory 0x%llx-0x%llx is not mapped for the guest",
			(unsigned long long)hidden.r[i].base, (unsigned long long)hidden.r[i].end - 1);
	return ST_OK;
}

struct pt_ops *ept_shared_ops(void)
{
	return &ops;
}

u64 ept_shared_root(void)
{
	return root;
}

unsigned ept_shared_pages(void)
{
	return 1 + ops.tables_allocated[3] + ops.tables_allocated[2] + ops.tables_allocated[1];
}

/* INVEPT of one kind, else the other; @single_first picks which is tried first. */
static void invept_either(u64 eptp, bool single_first)
{
	enum vmx_result r = VMX_FAIL_INVALID;
	if (single_first && vmx.caps.invept_single)
		r = invept(INVEPT_SINGLE_CONTEXT, eptp);
	if (r != VMX_OK && vmx.caps.invept_all)
		r = invept(INVEPT_ALL_CONTEXTS, 0);
	if (r != VMX_OK && !single_first && vmx.caps.invept_single)
		r = invept(INVEPT_SINGLE_CONTEXT, eptp);
	if (r != VMX_OK)
		pr_warn("ept: INVEPT is not available; stale translations may remain");
}

void ept_invalidate_all(u64 eptp)
{
	invept_either(eptp, false);
}

void ept_invalidate(void)
{
	/* Single-context is enough: there is one shared EPTP. Fall back to all contexts. */
	invept_either(vmx.eptp, true);
}

status_t ept_set_page_access(u64 gpa, u64 rwx)
{
	spin_lock(&lock);
	int level;
	u64 *e = pt_walk(&ops, root, gpa, 1, true, &level);
	if (e)
		*e = (*e & ~(u64)EPT_RWX) | rwx;
	spin_unlock(&lock);
	monitor_shared_changed(); /* private views copied the old entry */
	return e ? ST_OK : ST_NO_MEMORY;
}

enum gpa_kind ept_gpa_kind(u64 gpa)
{
	if (ept_hidden_find(&hidden, gpa))
		return GPA_HIDDEN;
	for (unsigned i = 0; i < nram; i++)
		if (gpa >= ram[i].base && gpa < ram[i].end)
			return ram[i].ram ? GPA_RAM : GPA_MMIO;
	return gpa < guest_top ? GPA_MMIO : GPA_NONE;
}

bool ept_guest_may_access(u64 gpa)
{
	return ept_gpa_kind(gpa) == GPA_RAM;
}

/*
 * The guest touched slatvisor's memory. It must read no hypervisor data and
 * its writes must land elsewhere, yet it keeps running: map the 2 MiB (or
 * 4 KiB) piece to a scratch area the guest may scribble on, and say so once.
 */
static enum exit_action redirect_hidden(struct vcpu *v, u64 gpa, u64 q)
{
	spin_lock(&lock);
	if (!scratch_2m)
		scratch_2m = palloc_aligned(512, 2 * MiB, PALLOC_ANYWHERE); /* zeroed */
	/* The same test the map was built with: a 2 MiB region hidden whole was left unmapped whole. */
	bool whole = ept_hidden_overlap(&hidden, ALIGN_DOWN(gpa, 2 * MiB), 2 * MiB) == 2;
	int level = whole ? 2 : 1;
	int got;
	u64 *e = scratch_2m ? pt_walk(&ops, root, gpa, level, true, &got) : NULL;
	if (e && !(*e & EPT_RWX)) {
		u64 target = whole ? scratch_2m : scratch_2m + (gpa & (2 * MiB - 1) & ~(PAGE_SIZE - 1));
		*e = target | EPT_RWX | ((u64)MEMTYPE_WB << EPT_MEMTYPE_SHIFT) | (whole ? EPT_LARGE : 0);
	}
	bool first = !hidden_warned;
	hidden_warned = true;
	spin_unlock(&lock);
	monitor_shared_changed();
	if (!e) {
		guest_stop(v, STOP_HALT, "ept: no memory to isolate hypervisor memory from the guest");
		return EXIT_STOP;
	}
	if (first)
		pr_warn("ept: the guest %s hypervisor memory at 0x%llx (rip 0x%llx); it sees a scratch area there from now on (said once)",
			q & EPTQ_WRITE ? "wrote to" : q & EPTQ_FETCH ? "executed from" : "read",
			(unsigned long long)gpa, (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP));
	ept_invalidate();
	return EXIT_RESUME;
}

enum exit_action handle_ept_violation(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u64 gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS), q = exit_qualification();
	enum exit_action a;
	if (monitor_violation(v, gpa, q, &a))
		return a;
	if (ept_hidden_find(&hidden, gpa))
		return redirect_hidden(v, gpa, q);
	if (apic_start_owns(gpa) && (q & EPTQ_WRITE))
		return apic_start_write(v, gpa);
	if (ept_gpa_kind(gpa) == GPA_NONE && (q & EPTQ_WRITE) && !(q & EPTQ_FETCH))
		return open_bus_write(v, gpa);
	/* Another vCPU may already have widened this entry: drop this CPU's stale view. */
	u64 phys, leaf;
	int level;
	if (pt_translate(&ops, root, gpa, &phys, &leaf, &level) && (leaf & EPT_RWX) == EPT_RWX) {
		ept_invalidate();
		return EXIT_RESUME;
	}
	guest_stop(v, STOP_HALT,
		   "ept: violation on vcpu%u at guest-physical 0x%llx (%s%s%s), linear 0x%llx, rip 0x%llx: nothing is mapped there; the guest is stopped",
		   v->index, (unsigned long long)gpa, q & EPTQ_READ ? "read" : "",
		   q & EPTQ_WRITE ? "write" : "",
		   q & EPTQ_FETCH ? "fetch" : "",
		   (unsigned long long)(q & EPTQ_LINEAR_VALID
						? vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS)
						: 0),
		   (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP));
	return EXIT_STOP;
}

enum exit_action handle_ept_misconfig(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	guest_stop(v, STOP_HALT, "ept: misconfiguration on vcpu%u at guest-physical 0x%llx; the guest is stopped",
		   v->index, (unsigned long long)vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS));
	return EXIT_STOP;
}
