/* options.c: defaults and the table of every hypervisor option (docs/options.md mirrors it). */
#include "options.h"

struct hv_options opts = {
	.console = 0,  /* com1 */
	.loglevel = 2, /* info */
	.apic = 0,     /* auto */
	.maxcpus = 0,
	.smp_timeout_ms = 100,
	.acpi_dump = 0,
	.test_fault = TEST_FAULT_NONE,
	.paging = PAGING_AUTO,
	.hvmem_mb = 32,
	.shadow_pages = 2048,
	.cr3_store_exiting = CR3_STORE_AUTO,
	.monitor = 1,
	.monitor_cpl3 = 0,
	.monitor_pool = 256,
};

const struct opt_desc option_table[] = {
	{ "console", OPT_CHOICE, "com1|com2|e9", 0, 0, &opts.console,
	  "where the log goes: a 16550 UART at 0x3f8 or 0x2f8, or the 0xe9 debug port" },
	{ "loglevel", OPT_CHOICE, "error|warn|info|debug", 0, 0, &opts.loglevel,
	  "the least important messages still printed" },
	{ "apic", OPT_CHOICE, "auto|xapic|x2apic", 0, 0, &opts.apic,
	  "local APIC mode; auto keeps the mode the firmware chose (the guest inherits it)" },
	{ "maxcpus", OPT_UINT, NULL, 1, 256, &opts.maxcpus,
	  "start at most this many CPUs, the boot CPU included" },
	{ "smp_timeout_ms", OPT_UINT, NULL, 1, 10000, &opts.smp_timeout_ms,
	  "how long to wait for each CPU to report in after its startup IPIs" },
	{ "acpi_dump", OPT_BOOL, NULL, 0, 0, &opts.acpi_dump,
	  "hex-dump every ACPI table to the log (for bug reports and test fixtures)" },
	{ "paging", OPT_CHOICE, "auto|ept|shadow", 0, 0, &opts.paging,
	  "how guest memory is virtualized: EPT, or shadow page tables; auto picks EPT where the CPU has it" },
	{ "hvmem", OPT_UINT, NULL, 4, 1024, &opts.hvmem_mb,
	  "MiB of RAM slatvisor keeps for itself (page tables, shadow pages, VMX regions, stacks)" },
	{ "shadow_pages", OPT_UINT, NULL, 64, 262144, &opts.shadow_pages,
	  "shadow paging: the pool of shadow page-table pages (4 KiB each); when full, the least recently used are reclaimed" },
	{ "cr3_store_exiting", OPT_CHOICE, "auto|always", 0, 0, &opts.cr3_store_exiting,
	  "shadow paging: auto lets guest CR3 reads run without an exit while the CR3-target list is armed, where the CPU allows it; always makes them exit, as on a real Core 2" },
	{ "hvmem_fill", OPT_BOOL, NULL, 0, 0, &opts.hvmem_fill,
	  "testing only: fill the free hypervisor memory with a tag and each page's address at boot, for guest isolation probes" },
	{ "monitor", OPT_BOOL, NULL, 0, 0, &opts.monitor,
	  "guest memory monitoring through VMCALL (docs/hypercalls.md); off makes every VMCALL #UD" },
	{ "monitor_cpl3", OPT_BOOL, NULL, 0, 0, &opts.monitor_cpl3,
	  "accept monitoring calls from CPL 3 (guest user space, e.g. the bundled slatmon) as well as from the guest kernel" },
	{ "monitor_pool", OPT_UINT, NULL, 16, 65536, &opts.monitor_pool,
	  "monitoring: private EPT paging-structure pages (4 KiB each) for all vCPUs' views together; a monitor that would not fit is refused (SLAT_E_NOSPC)" },
	{ "monitor_step", OPT_CHOICE, "auto|tf", 0, 0, &opts.monitor_step,
	  "monitoring: how a watched access is stepped: auto uses the monitor trap flag where the CPU has it, else RFLAGS.TF with #DB intercepted; tf always uses TF" },
	{ "test_fault", OPT_CHOICE, "none|panic|pagefault|ud|code|stack", 0, 0, &opts.test_fault,
	  "testing only: make the hypervisor fail on purpose once all CPUs are up" },
};
const size_t option_count = ARRAY_SIZE(option_table);

void options_parse(const char *cmdline, struct diag_list *d)
{
	cmdline_parse(cmdline, option_table, option_count, d);
}
