/* linux_guest.c: place the guest kernel and build what the 64-bit boot protocol hands it. */
#include "linux_guest.h"
#include "bzimage.h"
#include "fmt.h"
#include "kstring.h"
#include "log.h"
#include "../mm/memmap.h"
#include "../mm/paging.h"
#include "../mm/pt.h"

/* The guest's boot data: pages in low memory, reserved in its e820 so it survives boot. */
enum {
	BB_ZERO_PAGE,
	BB_CMDLINE,
	BB_GDT, /* the GDT, and at +0x800 a copy of the ACPI RSDP */
	BB_TABLES, /* PML4, PDPT and four page directories: 0-4 GiB in 2 MiB pages */
	BB_PAGES = BB_TABLES + 6,
};
#define BB_RSDP_OFFSET 0x800
#define GUEST_CS 0x10 /* __BOOT_CS and __BOOT_DS in boot.rst's 64-bit protocol */
#define GUEST_DS 0x18
#define MAX_E820 BP_E820_MAX

struct bump {
	u64 next, end;
};

static u64 *guest_table(void *ctx, u64 phys)
{
	(void)ctx;
	return (u64 *)(uintptr_t)phys; /* guest-physical = host-physical */
}

static u64 bump_alloc(void *ctx)
{
	struct bump *b = ctx;
	if (b->next >= b->end)
		return 0;
	u64 p = b->next;
	b->next += PAGE_SIZE;
	memset((void *)(uintptr_t)p, 0, PAGE_SIZE);
	return p;
}

static void print_diag(const struct diag_list *d)
{
	for (unsigned i = 0; i < d->n; i++)
		pr_err("linux: module #0: %s", d->msg[i]);
}

status_t linux_prepare(const struct boot_info *bi, const struct phys_range *hidden,
		       unsigned nhidden, struct guest_entry *out)
{
	if (bi->nmodules == 0 || bi->modules[0].end == bi->modules[0].start) {
		pr_err("linux: no guest kernel: module #0 is %s", bi->nmodules ? "empty" : "missing");
		return ST_NOT_FOUND;
	}
	const struct boot_module *km = &bi->modules[0];
	const u8 *img = (const u8 *)(uintptr_t)km->start;
	struct bzimage bz;
	struct diag_list d = { 0 };
	status_t st = bzimage_parse(img, km->end - km->start, &bz, &d);
	if (st != ST_OK) {
		print_diag(&d);
		return st;
	}

	/*
	 * Keep the boot data clear of what we still read (the boot information and modules) and
	 * of hypervisor memory (the start-up trampoline's page is low too).
	 */
	struct phys_range avoid[2 + MB2_MAX_MODULES + 8];
	unsigned navoid = 0;
	for (unsigned i = 0; i < bi->nmodules; i++)
		avoid[navoid++] = (struct phys_range){ bi->modules[i].start, bi->modules[i].end };
	avoid[navoid++] = (struct phys_range){ bi->base, bi->base + bi->total_size };
	for (unsigned i = 0; i < nhidden && i < 8; i++)
		avoid[navoid++] = hidden[i];
	u64 bb = memmap_low_pages(bi->mmap, bi->nmmap, BB_PAGES, avoid, navoid);
	if (!bb) {
		pr_err("linux: no %u free pages below 1 MiB for the guest's boot data", BB_PAGES);
		return ST_NO_MEMORY;
	}

	struct phys_range reserve[8 + 1];
	unsigned nres = 0;
	for (unsigned i = 0; i < nhidden && nres < 8; i++)
		reserve[nres++] = hidden[i];
	reserve[nres++] = (struct phys_range){ bb, bb + BB_PAGES * PAGE_SIZE };
	static struct e820_entry e820[MAX_E820];
	unsigned ne = memmap_e820(bi->mmap, bi->nmmap, reserve, nres, e820, MAX_E820);

	/* The command line: module 0's string. */
	char *cmdline = (char *)(uintptr_t)(bb + BB_CMDLINE * PAGE_SIZE);
	size_t max = MIN((size_t)bz.cmdline_max ? bz.cmdline_max : 255, PAGE_SIZE - 1);
	int n = fmt_snprintf(cmdline, max + 1, "%s", km->string);
	if (n > (int)max)
		pr_warn("linux: the guest command line is %d bytes, the kernel takes %zu; cut short", n, max);

	u64 initrd = 0, initrd_size = 0;
	if (bi->nmodules >= 2 && bi->modules[1].end > bi->modules[1].start) {
		initrd = bi->modules[1].start;
		initrd_size = bi->modules[1].end - initrd;
		if (initrd + initrd_size - 1 > bz.initrd_addr_max && !(bz.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G))
			pr_warn("linux: the initramfs ends above the kernel's initrd_addr_max 0x%x", bz.initrd_addr_max);
	}

	/* The boot information holds the RSDP and module strings: keep the kernel off it too. */
	struct phys_range keep[3] = { { initrd, initrd + initrd_size }, reserve[nres - 1],
				      { bi->base, bi->base + bi->total_size } };
	u64 load = bzimage_load_address(&bz, e820, ne, keep, 3, 4 * GiB);
	if (!load) {
		pr_err("linux: no room for the kernel: it needs %u bytes of RAM below 4 GiB%s", bz.init_size,
		       bz.relocatable ? "" : " at its fixed address");
		return ST_NO_MEMORY;
	}

	u8 *gdt_page = (u8 *)(uintptr_t)(bb + BB_GDT * PAGE_SIZE);
	u64 *gdt = (u64 *)gdt_page;
	gdt[GUEST_CS / 8] = 0x00AF9B000000FFFFULL; /* 64-bit code, execute/read */
	gdt[GUEST_DS / 8] = 0x00CF93000000FFFFULL; /* flat data, read/write */
	u64 rsdp = 0;
	if (bi->rsdp) {
		memcpy(gdt_page + BB_RSDP_OFFSET, bi->rsdp, MIN(bi->rsdp_len, 64u));
		rsdp = bb + BB_GDT * PAGE_SIZE + BB_RSDP_OFFSET;
	}

	struct bump b = { bb + BB_TABLES * PAGE_SIZE, bb + BB_PAGES * PAGE_SIZE };
	struct pt_ops ops = { PTE_P, PTE_PS, PTE_P | PTE_RW, 2, guest_table, bump_alloc, &b, { 0 } };
	u64 pml4 = bump_alloc(&b);
	if (pt_map_range(&ops, pml4, 0, 0, 4 * GiB, PTE_P | PTE_RW) != ST_OK) {
		pr_err("linux: the guest's initial page tables do not fit their pages");
		return ST_NO_MEMORY;
	}

	struct linux_boot_args args = { bb + BB_CMDLINE * PAGE_SIZE, initrd, initrd_size, rsdp, e820, ne };
	bzimage_build_zero_page((u8 *)(uintptr_t)bb, img, &args);
	/*
	 * Last, because the kernel's new place may overlap module #0 itself (the
	 * header read above lives there): memmove copes with the overlap.
	 */
	memmove((void *)(uintptr_t)load, img + bz.payload_offset, bz.payload_size);

	pr_info("linux: bzImage boot protocol %u.%02u, kernel %llu bytes at 0x%llx (needs %u bytes there), entry 0x%llx",
		bz.version >> 8, bz.version & 0xFF, (unsigned long long)bz.payload_size,
		(unsigned long long)load, bz.init_size, (unsigned long long)(load + BZ_ENTRY64_OFFSET));
	if (initrd_size)
		pr_info("linux: initramfs at 0x%llx, %llu bytes", (unsigned long long)initrd,
			(unsigned long long)initrd_size);
	else
		pr_warn("linux: no initramfs");
	pr_info("linux: command line \"%s\"", cmdline);
	pr_info("linux: boot data at 0x%llx-0x%llx; the guest's e820 has %u entries:", (unsigned long long)bb,
		(unsigned long long)(bb + BB_PAGES * PAGE_SIZE - 1), ne);
	for (unsigned i = 0; i < ne; i++)
		pr_info("linux:   e820 %016llx-%016llx %s", (unsigned long long)e820[i].addr,
			(unsigned long long)(e820[i].addr + e820[i].size - 1), mb2_mem_type_name(e820[i].type));

	*out = (struct guest_entry){
		.rip = load + BZ_ENTRY64_OFFSET,
		.rsi = bb + BB_ZERO_PAGE * PAGE_SIZE,
		.cr3 = pml4,
		.gdt_base = bb + BB_GDT * PAGE_SIZE,
		.gdt_limit = 4 * 8 - 1,
		.cs = GUEST_CS,
		.ds = GUEST_DS,
	};
	return ST_OK;
}
