/* palloc.c: the one global struct pmm, locked, zeroing what it hands out. */
#include "palloc.h"
#include "../kernel/kstring.h"
#include "../kernel/log.h"
#include "../kernel/spinlock.h"
#include "../arch/x86_64/tsc.h"

static struct pmm ram;  /* all usable RAM: only used to place the pool */
static struct pmm pmm;  /* the pool */
static struct phys_range pool;
static spinlock_t lock;

status_t palloc_init(const struct boot_info *bi, const struct phys_range *reserved, unsigned nres,
		     u64 pool_bytes)
{
	status_t st = pmm_init(&ram, bi->mmap, bi->nmmap, reserved, nres);
	if (st != ST_OK)
		pr_warn("mm: the memory map has more pieces than the allocator tracks (%s); some RAM is unused",
			status_name(st));
	pool_bytes = ALIGN_UP(pool_bytes, 2 * MiB);
	u64 base = pmm_alloc(&ram, pool_bytes / PAGE_SIZE, 2 * MiB, PALLOC_BELOW_4G);
	if (!base) {
		pr_err("mm: no 2 MiB-aligned %llu MiB below 4 GiB for the hypervisor's memory",
		       (unsigned long long)(pool_bytes / MiB));
		return ST_NO_MEMORY;
	}
	pool = (struct phys_range){ base, base + pool_bytes };
	struct mem_region r = { base, pool_bytes, MB2_MEM_AVAILABLE };
	pmm_init(&pmm, &r, 1, NULL, 0);
	pr_info("mm: hypervisor memory 0x%llx-0x%llx (%llu MiB, hvmem=)", (unsigned long long)base,
		(unsigned long long)(base + pool_bytes - 1), (unsigned long long)(pool_bytes / MiB));
	return ST_OK;
}

struct phys_range palloc_pool(void)
{
	return pool;
}

/*
 * hvmem_fill=on: every free page of the pool gets the same 16 bytes over and over, the tag
 * PALLOC_FILL_TAG and the page's own physical address, so a guest that ever reads a word of
 * slatvisor's free memory recognises it (and knows which page it came from). Pages handed out
 * later are zeroed by palloc_aligned as always.
 */
void palloc_fill_pattern(void)
{
	u64 t0 = tsc_us_since_boot(), bytes = 0;
	spin_lock(&lock);
	for (unsigned i = 0; i < pmm.n; i++)
		for (u64 a = pmm.ext[i].base; a < pmm.ext[i].end; a += PAGE_SIZE) {
			u64 *w = (u64 *)(uintptr_t)a;
			for (unsigned j = 0; j < PAGE_SIZE / 8; j += 2) {
				w[j] = PALLOC_FILL_TAG;
				w[j + 1] = a;
			}
			bytes += PAGE_SIZE;
		}
	spin_unlock(&lock);
	pr_info("mm: hvmem_fill: %llu KiB of free hypervisor memory filled with tag 0x%016llx and each page's address (%llu us)",
		(unsigned long long)(bytes / KiB), (unsigned long long)PALLOC_FILL_TAG,
		(unsigned long long)(tsc_us_since_boot() - t0));
}

u64 palloc_aligned(u64 npages, u64 align, u64 limit)
{
	spin_lock(&lock);
	u64 phys = pmm_alloc(&pmm, npages, align, limit);
	spin_unlock(&lock);
	if (phys)
		memset((void *)(uintptr_t)phys, 0, npages * PAGE_SIZE);
	return phys;
}

u64 palloc(u64 npages, u64 limit)
{
	return palloc_aligned(npages, PAGE_SIZE, limit);
}

void pfree(u64 phys, u64 npages)
{
	spin_lock(&lock);
	status_t st = pmm_free(&pmm, phys, npages);
	spin_unlock(&lock);
	if (st != ST_OK)
		pr_err("mm: bad free of %llu pages at 0x%llx (%s)", (unsigned long long)npages,
		       (unsigned long long)phys, status_name(st));
}

void palloc_report(void)
{
	spin_lock(&lock);
	u64 total = pmm.total_pages, freep = pmm.free_pages;
	spin_unlock(&lock);
	pr_info("mm: %llu KiB of RAM for the guest; hypervisor memory %llu KiB, of which %llu KiB in use",
		(unsigned long long)(ram.free_pages * 4), (unsigned long long)(total * 4),
		(unsigned long long)((total - freep) * 4));
}
