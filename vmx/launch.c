/* launch.c: from a booted hypervisor to a running guest: VT-x checks, EPT, the Linux guest, vCPUs. */
#include "launch.h"
#include "monitor.h"
#include "ept.h"
#include "apic_start.h"
#include "exit.h"
#include "power.h"
#include "shadow.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/smp.h"
#include "../arch/x86_64/tsc.h"
#include "../kernel/image.h"
#include "../kernel/linux_guest.h"
#include "../kernel/log.h"
#include "../kernel/options.h"
#include "../mm/memmap.h"
#include "../mm/palloc.h"

#define AP_READY_TIMEOUT_US 2000000

extern u8 _kernel_start[], _kernel_end[];

void launch_check_image(void)
{
	u64 now = image_checksum(), boot = image_boot_checksum();
	if (now == boot)
		pr_info("image: intact at the end (checksum 0x%016llx, as at boot)", (unsigned long long)now);
	else
		pr_err("image: CHANGED while slatvisor ran (checksum 0x%016llx, 0x%016llx at boot)",
		       (unsigned long long)now, (unsigned long long)boot);
}

static volatile u32 caps_mismatches;
static bool apic_trapped; /* AP starts are emulated (apic_start.c), not left to the hardware */
static volatile u32 aps_failed;

/* On each AP: VMX on, compare capabilities, and wait in wait-for-SIPI for the guest to start it. */
static void ap_start_vcpu(void *arg)
{
	(void)arg;
	unsigned index = this_cpu()->index;
	struct vcpu *v = vmx_cpu_on(index);
	if (!v) {
		__atomic_add_fetch(&aps_failed, 1, __ATOMIC_SEQ_CST);
		return;
	}
	struct vmx_caps mine;
	vmx_read_caps(&mine);
	int diff = vmx_caps_differ(&mine, &vmx.caps);
	if (diff >= 0) {
		pr_warn("vmx: this CPU's MSR 0x%x is 0x%llx, the boot CPU's 0x%llx", MSR_IA32_VMX_FIRST + diff,
			(unsigned long long)mine.msr[diff], (unsigned long long)vmx.caps.msr[diff]);
		__atomic_add_fetch(&caps_mismatches, 1, __ATOMIC_SEQ_CST);
	}
	vmcs_init(v);
	vmcs_guest_init_state();
	if (vmx.eptp)
		ept_invalidate();
	if (apic_trapped)
		apic_start_wait_and_launch(v); /* wait here for the guest's SIPI */
	else
		vcpu_launch(v); /* wait in the wait-for-SIPI activity state */
	/* Either returns only if VM entry failed; it said why. */
	__atomic_add_fetch(&aps_failed, 1, __ATOMIC_SEQ_CST);
}

static bool wait_aps(unsigned n)
{
	u64 deadline = rdtsc() + tsc_from_us(AP_READY_TIMEOUT_US);
	for (;;) {
		unsigned ready = 0;
		for (unsigned i = 1; i < ncpus_online; i++) {
			struct vcpu *v = cpus[i]->vcpu;
			ready += v && v->state == VCPU_WAIT_SIPI;
		}
		if (ready + aps_failed >= n)
			return aps_failed == 0;
		if ((s64)(rdtsc() - deadline) > 0)
			return false;
		cpu_relax();
	}
}

static NORETURN void halt(const char *why)
{
	pr_info("%s; all CPUs halted", why);
	cpu_halt_forever();
}

NORETURN void hv_launch(const struct boot_info *bi, const struct acpi_info *acpi)
{
	char why[256];
	if (vmx_check_available(why, sizeof(why)) != ST_OK) {
		pr_err("vmx: VT-x is not available: %s", why);
		halt("vmx: no guest can run without VT-x");
	}
	if (vmx_global_init() != ST_OK)
		halt("vmx: out of hypervisor memory for VMX");

	/* What the guest must never reach: the hypervisor image and its memory pool. */
	struct ept_hidden hidden = { .n = 2 };
	hidden.r[0] = (struct phys_range){ ALIGN_DOWN((u64)(uintptr_t)_kernel_start, 2 * MiB),
					   ALIGN_UP((u64)(uintptr_t)_kernel_end, 2 * MiB) };
	hidden.r[1] = palloc_pool();
	/* The start-up trampoline held slatvisor's code; it is wiped and out of slatvisor's view too. */
	if (smp_trampoline_page())
		hidden.r[hidden.n++] = (struct phys_range){ smp_trampoline_page(), smp_trampoline_page() + PAGE_SIZE };
	u64 top = ALIGN_UP(MAX(memmap_top(bi->mmap, bi->nmmap), 4 * GiB), GiB);
	ept_describe(top, &hidden, bi->mmap, bi->nmmap);
	/* With shadow paging the EPT still serves paging-off code where unrestricted guest needs it. */
	if ((vmx.use_ept || vmx.unrestricted) && ept_init() != ST_OK)
		halt("ept: out of hypervisor memory for the EPT");
	if (vmx.shadow) {
		if (opts.paging == PAGING_SHADOW)
			pr_info("vmx: paging=shadow: guest paging runs on shadow page tables");
		else
			pr_info("vmx: this CPU has no usable EPT: guest paging runs on shadow page tables");
		if (shadow_setup(ALIGN_UP(memmap_ram_top(bi->mmap, bi->nmmap), PAGE_SIZE)) != ST_OK)
			halt("shadow: the guest cannot run");
	}
	monitor_init();
	power_init(acpi);
	exit_init();

	/* Without unrestricted guest, each AP's start-up code runs in the interpreter (ap_emul.c). */
	bool smp = ncpus_online > 1;
	struct guest_entry entry;
	if (linux_prepare(bi, hidden.r, hidden.n, &entry) != ST_OK)
		halt("linux: the guest cannot start");

	if (smp) {
		/*
		 * Emulate the guest's INIT and SIPI where slatvisor can (xAPIC): it
		 * does not rely on the wait-for-SIPI activity state, which nested
		 * hypervisors and Bochs 2.7 (whose INIT VM exits never clear the
		 * pending INIT) do not handle.
		 */
		apic_trapped = apic_start_init(ncpus_online - 1) == ST_OK;
		for (unsigned i = 1; i < ncpus_online; i++)
			smp_call(i, ap_start_vcpu, NULL);
		if (!wait_aps(ncpus_online - 1))
			pr_warn("vmx: not every CPU is ready for the guest; it may find fewer CPUs");
		if (!caps_mismatches)
			pr_info("vmx: all %u CPUs report the same VMX capabilities", ncpus_online);
		pr_info("vmx: %u vCPUs wait for the guest's startup IPIs%s", ncpus_online - 1,
			vmx.unrestricted ? "" : "; their start-up code runs in the interpreter");
	}

	struct vcpu *v = vmx_cpu_on(0);
	if (!v)
		halt("vmx: VMX cannot start on the boot CPU");
	vmcs_init(v);
	vmcs_guest_long_mode(&entry);
	v->regs.gpr[GPR_RSI] = entry.rsi;
	if (vmx.shadow && !shadow_paging_on(v))
		halt("shadow: the guest cannot start");
	if (vmx.eptp)
		ept_invalidate();
	pr_info("vmx: launching the guest on vcpu0 at 0x%llx", (unsigned long long)entry.rip);
	vcpu_launch(v);
	halt("vmx: the guest could not be entered");
}
