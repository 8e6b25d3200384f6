/* paging.c: identity-map all physical memory, RAM write-back and everything else uncached. */
#include "paging.h"
#include "memmap.h"
#include "palloc.h"
#include "pt.h"
#include "../arch/x86_64/cpu.h"
#include "../kernel/log.h"

static u64 root;

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

status_t paging_init(const struct boot_info *bi)
{
	bool gib_pages = cpuid_max_ext() >= 0x80000001 &&
			 (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_PAGE1GB);
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
	for (unsigned i = 0; i < ns; i++) {
		u64 flags = PTE_P | PTE_RW | (spans[i].ram ? 0 : PTE_PCD | PTE_PWT);
		status_t st = pt_map_range(&ops, new_root, spans[i].base, spans[i].base,
					   spans[i].end - spans[i].base, flags);
		if (st != ST_OK)
			return st;
	}
	write_cr3(new_root);
	root = new_root;
	pr_info("paging: identity map of 0-%llu GiB in %u spans, largest pages %s; tables: %u PDPT, %u PD, %u PT",
		(unsigned long long)(top / GiB), ns, gib_pages ? "1 GiB" : "2 MiB",
		ops.tables_allocated[3], ops.tables_allocated[2], ops.tables_allocated[1]);
	return ST_OK;
}
