/* main.c: the boot CPU's path from the Multiboot2 hand-off to every CPU online. */
#include "console.h"
#include "image.h"
#include "kstring.h"
#include "log.h"
#include "modules.h"
#include "multiboot2.h"
#include "options.h"
#include "panic.h"
#include "../arch/x86_64/acpi.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/smp.h"
#include "../arch/x86_64/tsc.h"
#include "../mm/memmap.h"
#include "../mm/palloc.h"
#include "../mm/paging.h"
#include "../vmx/launch.h"

#define SLATVISOR_VERSION "0.1"
#define BOOT_MAP_LIMIT (4 * GiB) /* boot/entry.asm maps this much */
#define ACPI_DUMP_ROW 16

extern u8 _kernel_start[], _kernel_end[], boot_stack_bottom[], boot_stack_top[];

static struct boot_info bi;
static struct acpi_info acpi;

static void print_diags(const char *who, enum log_level lvl, const struct diag_list *d)
{
	for (unsigned i = 0; i < d->n; i++)
		log_msg(lvl, "%s: %s", who, d->msg[i]);
	if (d->dropped)
		log_msg(lvl, "%s: %u more messages dropped", who, d->dropped);
}

static void print_cpu(void)
{
	struct cpuid_regs v = cpuid(0, 0);
	char vendor[13];
	memcpy(vendor, &v.ebx, 4);
	memcpy(vendor + 4, &v.edx, 4);
	memcpy(vendor + 8, &v.ecx, 4);
	vendor[12] = '\0';
	char brand[49] = "";
	if (cpuid_max_ext() >= 0x80000004) {
		for (u32 i = 0; i < 3; i++) {
			struct cpuid_regs b = cpuid(0x80000002 + i, 0);
			memcpy(brand + 16 * i, &b, 16);
		}
		brand[48] = '\0';
	}
	const char *b = brand;
	while (*b == ' ')
		b++;
	u32 sig = cpuid(1, 0).eax;
	pr_info("cpu: %s \"%s\" family 0x%x model 0x%x stepping %u; TSC %llu kHz from %s", vendor, b,
		((sig >> 8) & 0xF) + ((sig >> 20) & 0xFF), ((sig >> 4) & 0xF) | ((sig >> 12) & 0xF0),
		sig & 0xF, (unsigned long long)tsc_khz(), tsc_source());
}

static void print_memory_map(void)
{
	u64 usable = 0;
	for (unsigned i = 0; i < bi.nmmap; i++) {
		const struct mem_region *r = &bi.mmap[i];
		pr_info("mm: map %016llx-%016llx %s", (unsigned long long)r->base,
			(unsigned long long)(r->base + r->length - 1), mb2_mem_type_name(r->type));
		if (r->type == MB2_MEM_AVAILABLE)
			usable += r->length;
	}
	if (bi.mmap_dropped)
		pr_warn("mm: %u memory map entries beyond %u ignored", bi.mmap_dropped, MB2_MAX_MMAP);
	pr_info("mm: %llu MiB available in %u entries", (unsigned long long)(usable / MiB), bi.nmmap);
}

/* The kernel reads ACPI tables in place through the boot identity map. */
static const void *acpi_identity(void *ctx, u64 phys, u64 len)
{
	(void)ctx;
	if (phys + len < phys || phys + len > BOOT_MAP_LIMIT)
		return NULL;
	return (const void *)(uintptr_t)phys;
}

static void acpi_dump_bytes(const char *sig, u64 phys, const u8 *p, u32 len)
{
	pr_info("acpidump: table %s phys=0x%llx len=%u", sig, (unsigned long long)phys, len);
	for (u32 off = 0; off < len; off += ACPI_DUMP_ROW) {
		char row[ACPI_DUMP_ROW * 3 + 1];
		u32 n = MIN(ACPI_DUMP_ROW, len - off);
		for (u32 i = 0; i < n; i++) {
			static const char hex[] = "0123456789abcdef";
			row[i * 3] = hex[p[off + i] >> 4];
			row[i * 3 + 1] = hex[p[off + i] & 15];
			row[i * 3 + 2] = ' ';
		}
		row[n * 3 - 1] = '\0';
		pr_info("acpidump: +%04x: %s", off, row);
	}
}

static void acpi_init(void)
{
	struct acpi_mem mem = { acpi_identity, NULL };
	const void *rsdp = bi.rsdp;
	size_t rsdp_len = bi.rsdp_len;
	const char *from = "the loader's copy";
	if (!rsdp) {
		u64 phys = acpi_find_rsdp_bios(&mem);
		if (!phys) {
			pr_warn("acpi: no RSDP from the loader or in the BIOS areas: one CPU, no power control");
			return;
		}
		rsdp = (const void *)(uintptr_t)phys;
		rsdp_len = sizeof(struct acpi_rsdp);
		from = "the BIOS area";
	}
	struct diag_list d = { 0 };
	status_t st = acpi_parse(rsdp, rsdp_len, &mem, &acpi, &d);
	print_diags("acpi", LOG_WARN, &d);
	if (st != ST_OK) {
		pr_warn("acpi: unusable (%s): one CPU, no power control", status_name(st));
		return;
	}
	pr_info("acpi: RSDP from %s, revision %u, OEM \"%s\", root %s at 0x%llx", from, acpi.revision,
		acpi.oem_id, acpi.use_xsdt ? "XSDT" : "RSDT", (unsigned long long)acpi.root_phys);
	for (unsigned i = 0; i < acpi.ntables; i++)
		pr_debug("acpi: table %s at 0x%llx, %u bytes", acpi.tables[i].signature,
			 (unsigned long long)acpi.tables[i].phys, acpi.tables[i].length);
	pr_info("acpi: MADT lists %u enabled CPUs (%u disabled), %u IOAPICs, local APIC at 0x%llx",
		acpi.ncpus, acpi.cpus_disabled, acpi.nioapics, (unsigned long long)acpi.lapic_base);
	for (unsigned i = 0; i < acpi.nioapics; i++)
		pr_info("acpi: IOAPIC id %u at 0x%x, GSI base %u", acpi.ioapics[i].id,
			acpi.ioapics[i].address, acpi.ioapics[i].gsi_base);
	if (acpi.have_fadt)
		pr_info("acpi: PM1a control at %s 0x%llx; S5 sleep type %s%u; reset register %s 0x%llx value 0x%x",
			acpi.pm1a_cnt.space_id == ACPI_GAS_IO ? "port" : "memory",
			(unsigned long long)acpi.pm1a_cnt.address, acpi.have_s5 ? "" : "unknown, using ",
			acpi.s5_slp_typa,
			acpi.reset_supported ? (acpi.reset_reg.space_id == ACPI_GAS_IO ? "port" : "memory")
					     : "none",
			(unsigned long long)acpi.reset_reg.address, acpi.reset_value);
	if (opts.acpi_dump) {
		acpi_dump_bytes("RSDP", 0, rsdp, (u32)rsdp_len);
		for (unsigned i = 0; i < acpi.ntables; i++)
			acpi_dump_bytes(acpi.tables[i].signature, acpi.tables[i].phys,
					(const u8 *)(uintptr_t)acpi.tables[i].phys, acpi.tables[i].length);
	}
}

/* Everything the allocator must never hand out, beyond what the map itself reserves. */
static unsigned collect_reserved(u64 mbi, struct phys_range *out, unsigned max)
{
	unsigned n = 0;
	out[n++] = (struct phys_range){ (u64)(uintptr_t)_kernel_start, (u64)(uintptr_t)_kernel_end };
	out[n++] = (struct phys_range){ mbi, mbi + bi.total_size };
	for (unsigned i = 0; i < bi.nmodules && n < max; i++)
		out[n++] = (struct phys_range){ bi.modules[i].start, bi.modules[i].end };
	for (unsigned i = 0; i < acpi.ntables && n < max; i++)
		out[n++] = (struct phys_range){ acpi.tables[i].phys,
						acpi.tables[i].phys + acpi.tables[i].length };
	return n;
}

/* A frame of 512 bytes per call that the compiler can neither drop nor turn into a loop. */
static __attribute__((noinline)) unsigned overflow_stack(unsigned depth)
{
	volatile u8 pad[512];
	pad[0] = (u8)depth;
	if (depth > 1000000)
		return depth;
	return overflow_stack(depth + 1) + pad[0];
}

static void run_test_fault(void)
{
	switch (opts.test_fault) {
	case TEST_FAULT_PANIC:
		panic("test_fault=panic: a deliberate panic asked for on the command line");
	case TEST_FAULT_PAGEFAULT:
		pr_info("test: reading unmapped address 0x400000000000 (test_fault=pagefault)");
		(void)*(volatile u64 *)0x400000000000ULL;
		break;
	case TEST_FAULT_UD:
		pr_info("test: executing ud2 (test_fault=ud)");
		__asm__ volatile("ud2");
		break;
	case TEST_FAULT_CODE:
		pr_info("test: writing into slatvisor's own code at 0x%llx (test_fault=code)",
			(unsigned long long)(uintptr_t)&run_test_fault);
		*(volatile u8 *)(uintptr_t)&run_test_fault = 0xCC;
		break;
	case TEST_FAULT_STACK:
		pr_info("test: recursing until this CPU's stack overflows (test_fault=stack)");
		pr_info("test: no overflow after %u frames", overflow_stack(0));
		break;
	default:
		break;
	}
}

NORETURN void kmain(u32 magic, u64 mbi)
{
	struct percpu *bsp = percpu_bsp();
	percpu_install(bsp, 0, (u64)(uintptr_t)boot_stack_bottom, (u64)(uintptr_t)boot_stack_top);
	idt_init();

	if (magic != MB2_BOOTLOADER_MAGIC) {
		console_init(CONSOLE_COM1);
		pr_err("slatvisor was not started by a Multiboot2 loader (magic 0x%x); halting", magic);
		cpu_halt_forever();
	}
	status_t mb_st = mb2_parse((const void *)(uintptr_t)mbi, BOOT_MAP_LIMIT - mbi, &bi);
	struct diag_list opt_diag = { 0 };
	options_parse(bi.cmdline, &opt_diag);
	console_init((enum console_kind)opts.console);
	log_set_level((enum log_level)opts.loglevel);
	tsc_calibrate();

	pr_info("slatvisor %s: x86-64 hypervisor, console %s", SLATVISOR_VERSION, console_describe());
	pr_info("boot: loader \"%s\", command line \"%s\"", bi.loader_name, bi.cmdline);
	print_diags("cmdline", LOG_WARN, &opt_diag);
	if (mb_st != ST_OK)
		pr_err("boot: the boot information is damaged (%s); using what could be read", bi.error);
	print_cpu();
	print_memory_map();
	acpi_init();

	struct phys_range reserved[4 + MB2_MAX_MODULES + ACPI_MAX_TABLES];
	unsigned nres = collect_reserved(mbi, reserved, ARRAY_SIZE(reserved));
	if (palloc_init(&bi, reserved, nres, opts.hvmem_mb * MiB) != ST_OK) {
		/* Too little RAM is a boot input, not a hypervisor bug: say so and stop. */
		pr_err("boot: halting: not enough RAM for slatvisor itself (hvmem=%llu MiB)",
		       (unsigned long long)opts.hvmem_mb);
		cpu_halt_forever();
	}
	if (opts.hvmem_fill)
		palloc_fill_pattern(); /* before any allocation: the whole pool is free */
	percpu_add_guards(bsp); /* unmapped by paging_init */
	status_t st = paging_init(&bi);
	if (st != ST_OK)
		panic("paging: cannot build the hypervisor's page tables (%s)", status_name(st));
	image_report();

	lapic_setup((enum apic_mode_choice)opts.apic);
	modules_report(&bi);

	struct phys_range avoid[2 + MB2_MAX_MODULES];
	unsigned navoid = 0;
	avoid[navoid++] = (struct phys_range){ mbi, mbi + bi.total_size };
	for (unsigned i = 0; i < bi.nmodules; i++)
		avoid[navoid++] = (struct phys_range){ bi.modules[i].start, bi.modules[i].end };
	u64 tramp = memmap_low_pages(bi.mmap, bi.nmmap, 1, avoid, navoid);
	smp_boot(&acpi, tramp, (unsigned)opts.maxcpus, (unsigned)opts.smp_timeout_ms);
	/* Every CPU is on the final tables: what only the start-up needed goes out of view. */
	smp_release_trampoline();
	paging_drop_boot_tables();
	paging_dump_image();
	palloc_report();

	run_test_fault();
	pr_info("boot: complete");
	hv_launch(&bi, &acpi);
}
