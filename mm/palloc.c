/* palloc.c: the one global struct pmm, locked, zeroing what it hands out. */
#include "palloc.h"
#include "../kernel/kstring.h"
#include "../kernel/log.h"
#include "../kernel/spinlock.h"

static struct pmm pmm;
static spinlock_t lock;

status_t palloc_init(const struct boot_info *bi, const struct phys_range *reserved, unsigned nres)
{
	status_t st = pmm_init(&pmm, bi->mmap, bi->nmmap, reserved, nres);
	if (st != ST_OK)
		pr_warn("mm: the memory map has more pieces than the allocator tracks (%s); some RAM is unused",
			status_name(st));
	return st;
}

u64 palloc(u64 npages, u64 limit)
{
	spin_lock(&lock);
	u64 phys = pmm_alloc(&pmm, npages, PAGE_SIZE, limit);
	spin_unlock(&lock);
	if (phys)
		memset((void *)(uintptr_t)phys, 0, npages * PAGE_SIZE);
	return phys;
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
	unsigned n = pmm.n;
	spin_unlock(&lock);
	pr_info("mm: %llu KiB usable, %llu KiB free, %llu KiB used by the hypervisor (%u free extents)",
		(unsigned long long)(total * 4), (unsigned long long)(freep * 4),
		(unsigned long long)((total - freep) * 4), n);
}
