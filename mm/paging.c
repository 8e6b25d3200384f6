/* paging.c: identity-map all physical memory (RAM write-back, the rest uncached), and protect slatvisor's own image. */
#include "paging.h"
#include "memmap.h"
#include "palloc.h"
#include "pt.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/msr.h"
#include "../kernel/log.h"
#include "../kernel/spinlock.h"

/* The image's sections, from linker.ld. */
extern u8 _kernel_start[], _text_end[], _readonly_end[], _kernel_end[];
extern u8 boot_tables[], boot_tables_end[]; /* boot/entry.asm's page tables */

static u64 root;
static u64 nx_bit; /* PTE_XD where the CPU has execute-disable, else 0 (the bit would be reserved) */

/* Guard pages: unmapped, so an overflow faults; remembered so the fault handler can name them. */
#define MAX_GUARDS (4 * 256)
static struct guard {
	u64 page;
	u32 cpu;
	const char *what;
} guards[MAX_GUARDS];
static unsigned nguards, guards_applied;
static spinlock_t guard_lock;

static u64 *host_table(void *ctx, u64 phys)
{
	(void)ctx;
	return (u64 *)(uintptr_t)phys; /* the boot map is identity */
}

static u64 host_alloc(void *ctx)
{
	(void)ctx;
	return palloc(1, PALLOC_BELOW_4G);
}

u64 paging_root(void)
{
	return root;
}

static struct pt_ops host_ops(void)
{
	return (struct pt_ops){ .present = PTE_P, .large = PTE_PS, .table_flags = PTE_P | PTE_RW,
				.max_leaf_level = 3, .table = host_table, .alloc_table = host_alloc };
}

/*
 * Give the 4 KiB pages of [start, end) the rights @flags (PTE_P, PTE_RW, PTE_XD; 0 unmaps),
 * splitting larger pages on the way. Only this CPU's TLB is flushed: callers change pages no
 * other CPU has reached yet (boot, a CPU not yet started) or no longer uses.
 */
static status_t set_rights(u64 start, u64 end, u64 flags)
{
	struct pt_ops ops = host_ops();
	for (u64 a = ALIGN_DOWN(start, PAGE_SIZE); a < end; a += PAGE_SIZE) {
		int level;
		u64 *e = pt_walk(&ops, root, a, 1, true, &level);
		if (!e || level != 1)
			return ST_NO_MEMORY;
		*e = (*e & ~(PTE_P | PTE_RW | PTE_XD)) | flags;
		__asm__ volatile("invlpg (%0)" : : "r"(a) : "memory");
	}
	return ST_OK;
}

status_t paging_set_rights(u64 start, u64 end, u64 flags)
{
	return set_rights(start, end, flags & (PTE_P | PTE_RW | (flags & PTE_XD ? nx_bit : 0)));
}

void paging_add_guard(u64 page, u32 cpu, const char *what)
{
	spin_lock(&guard_lock);
	if (nguards < MAX_GUARDS) {
		guards[nguards++] = (struct guard){ page, cpu, what };
		/* Before paging_init the tables do not exist yet; it unmaps what is registered. */
		if (root && set_rights(page, page + PAGE_SIZE, 0) == ST_OK)
			guards_applied = nguards;
	}
	spin_unlock(&guard_lock);
}

bool paging_guard_hit(u64 addr, u32 *cpu, const char **what)
{
	for (unsigned i = 0; i < guards_applied; i++) {
		if (addr - guards[i].page < PAGE_SIZE) {
			*cpu = guards[i].cpu;
			*what = guards[i].what;
			return true;
		}
	}
	return false;
}

/* What each part of the image may do (W^X); the image is 4 KiB aligned by linker.ld. */
static status_t protect_image(void)
{
	u64 text = (u64)(uintptr_t)_kernel_start, rodata = (u64)(uintptr_t)_text_end,
	    data = (u64)(uintptr_t)_readonly_end, end = (u64)(uintptr_t)_kernel_end;
	status_t st = set_rights(text, rodata, PTE_P);
	if (st == ST_OK)
		st = set_rights(rodata, data, PTE_P | nx_bit);
	if (st == ST_OK)
		st = set_rights(data, end, PTE_P | PTE_RW | nx_bit);
	for (unsigned i = 0; st == ST_OK && i < nguards; i++)
		st = set_rights(guards[i].page, guards[i].page + PAGE_SIZE, 0);
	if (st == ST_OK)
		guards_applied = nguards;
	return st;
}

static const char *section_of(u64 a)
{
	if (a < (u64)(uintptr_t)_text_end)
		return ".text";
	if (a < (u64)(uintptr_t)_readonly_end)
		return ".rodata";
	return ".data/.bss";
}

void paging_dump_image(void)
{
	struct pt_ops ops = host_ops();
	u64 start = (u64)(uintptr_t)_kernel_start, end = (u64)(uintptr_t)_kernel_end;
	u64 run = start, run_flags = ~0ULL;
	const char *run_sec = section_of(start);
	/* One line per run of pages with the same rights in the same section, read from the tables. */
	for (u64 a = start; a <= end; a += PAGE_SIZE) {
		u64 phys, leaf = 0, flags = 0;
		int level;
		if (a < end && pt_translate(&ops, root, a, &phys, &leaf, &level))
			flags = leaf & (PTE_P | PTE_RW | PTE_XD);
		const char *sec = a < end ? section_of(a) : "";
		if (a < end && flags == run_flags && sec == run_sec)
			continue;
		if (run_flags != ~0ULL)
			pr_debug("paging: %016llx-%016llx %c%c%c %s", (unsigned long long)run,
				 (unsigned long long)a - 1, run_flags & PTE_P ? 'r' : '-',
				 run_flags & PTE_RW ? 'w' : '-',
				 (run_flags & PTE_P) && !(run_flags & PTE_XD) ? 'x' : '-',
				 run_flags & PTE_P ? run_sec : "(unmapped: guard page or boot tables)");
		run = a;
		run_flags = flags;
		run_sec = sec;
	}
}

status_t paging_init(const struct boot_info *bi)
{
	bool gib_pages = cpuid_max_ext() >= 0x80000001 &&
			 (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_PAGE1GB);
	bool nx = cpuid_max_ext() >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_NX);
	nx_bit = nx ? PTE_XD : 0;
	struct pt_ops ops = {
		.present = PTE_P,
		.large = PTE_PS,
		.table_flags = PTE_P | PTE_RW,
		.max_leaf_level = gib_pages ? 3 : 2,
		.table = host_table,
		.alloc_table = host_alloc,
	};
	/* Always cover the low 4 GiB: the local APIC, IOAPIC and PCI holes live there. */
	u64 top = ALIGN_UP(MAX(memmap_top(bi->mmap, bi->nmmap), 4 * GiB), GiB);
	struct mem_span spans[MEMMAP_MAX_SPANS];
	unsigned ns = memmap_spans(bi->mmap, bi->nmmap, top, spans, MEMMAP_MAX_SPANS);

	u64 new_root = host_alloc(NULL);
	if (!new_root)
		return ST_NO_MEMORY;
	/* Nothing but the image's code is executable: data, the heap and MMIO are NX. */
	for (unsigned i = 0; i < ns; i++) {
		u64 flags = PTE_P | PTE_RW | nx_bit | (spans[i].ram ? 0 : PTE_PCD | PTE_PWT);
		status_t st = pt_map_range(&ops, new_root, spans[i].base, spans[i].base,
					   spans[i].end - spans[i].base, flags);
		if (st != ST_OK)
			return st;
	}
	root = new_root;
	status_t st = protect_image();
	if (st != ST_OK)
		return st;
	/*
	 * NXE before the switch (an NX bit is reserved without it), WP so that read-only pages
	 * bind slatvisor itself too. The VMCS host state and the AP trampoline copy both.
	 */
	if (nx)
		wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_NXE);
	write_cr3(new_root);
	write_cr0(read_cr0() | CR0_WP);
	pr_info("paging: identity map of 0-%llu GiB in %u spans, largest pages %s; tables: %u PDPT, %u PD, %u PT",
		(unsigned long long)(top / GiB), ns, gib_pages ? "1 GiB" : "2 MiB",
		ops.tables_allocated[3], ops.tables_allocated[2], ops.tables_allocated[1]);
	pr_info("paging: image W^X: .text read-only, .rodata read-only%s, data%s; %u guard pages; CR0.WP on%s",
		nx ? " and not executable" : "", nx ? " not executable" : " executable (no NX)",
		guards_applied, nx ? ", EFER.NXE on" : "");
	return ST_OK;
}

void paging_drop_boot_tables(void)
{
	/* CR3 left them in paging_init, on every CPU: nothing reads or writes them again. */
	if (set_rights((u64)(uintptr_t)boot_tables, (u64)(uintptr_t)boot_tables_end, 0) != ST_OK)
		pr_warn("paging: could not unmap the boot page tables");
}
