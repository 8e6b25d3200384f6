/* smp.c: bring up the application processors one at a time through the low-memory trampoline. */
#include "smp.h"
#include "cpu.h"
#include "idt.h"
#include "lapic.h"
#include "msr.h"
#include "percpu.h"
#include "trampoline.h"
#include "tsc.h"
#include "../../kernel/kstring.h"
#include "../../kernel/log.h"
#include "../../mm/palloc.h"
#include "../../mm/paging.h"

/* SDM Vol. 3A, 9.4.4.1: INIT, wait 10 ms, SIPI, wait 200 us, SIPI. */
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200
#define PERCPU_PAGES (ALIGN_UP(sizeof(struct percpu), PAGE_SIZE) / PAGE_SIZE)
#define STACK_PAGES (STACK_SIZE / PAGE_SIZE)

static NORETURN void ap_entry(struct percpu *pc)
{
	percpu_install(pc, pc->index, pc->stack_base, pc->stack_top);
	lapic_enable_this_cpu();
	pc->apic_id = lapic_id();
	pr_info("smp: online, APIC id %u", pc->apic_id);
	__atomic_store_n(&pc->online, 1, __ATOMIC_RELEASE);
	/*
	 * Idle until smp_call() leaves work. STI takes effect after the next
	 * instruction, so a wake-up between the check and HLT still ends the HLT.
	 */
	for (;;) {
		void (*fn)(void *) = __atomic_exchange_n(&pc->call_fn, NULL, __ATOMIC_ACQUIRE);
		if (fn)
			fn(pc->call_arg);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

void smp_call(unsigned index, void (*fn)(void *), void *arg)
{
	struct percpu *pc = cpus[index];
	pc->call_arg = arg;
	__atomic_store_n(&pc->call_fn, fn, __ATOMIC_RELEASE);
	lapic_send_ipi(pc->apic_id, VEC_WAKE);
}

static struct trampoline_params *install_trampoline(u64 page)
{
	u8 *blob = (u8 *)(uintptr_t)page;
	u64 size = (u64)(trampoline_end - trampoline_start);
	memcpy(blob, trampoline_start, size);
	struct trampoline_params *p = (void *)(blob + (trampoline_params - trampoline_start));

	u16 limit = 4 * 8 - 1;
	u32 gdt_base = (u32)page + (u32)(trampoline_gdt - trampoline_start);
	memcpy(&p->gdtr[0], &limit, 2);
	memcpy(&p->gdtr[2], &gdt_base, 4);
	p->pm32_jump = (struct far_ptr32){ (u32)page + (u32)(trampoline_pm32 - trampoline_start),
					   0x18, 0 };
	p->lm64_jump = (struct far_ptr32){ (u32)page + (u32)(trampoline_lm64 - trampoline_start),
					   SEL_CODE64, 0 };
	p->cr3 = paging_root();
	p->cr4 = CR4_PAE;
	p->efer = rdmsr(MSR_IA32_EFER) & ~EFER_LMA; /* LMA is the CPU's to set */
	p->cr0 = read_cr0();
	p->entry = (u64)(uintptr_t)ap_entry;
	return p;
}

static bool wait_online(struct percpu *pc, u64 us)
{
	u64 deadline = rdtsc() + tsc_from_us(us);
	while (!__atomic_load_n(&pc->online, __ATOMIC_ACQUIRE)) {
		if ((s64)(rdtsc() - deadline) > 0)
			return false;
		cpu_relax();
	}
	return true;
}

static bool start_ap(u32 apic_id, struct percpu *pc, u64 page, unsigned timeout_ms)
{
	if (!lapic_send_ipi(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL))
		return false;
	udelay(INIT_DELAY_US);
	for (int sipi = 0; sipi < 2; sipi++) {
		lapic_send_ipi(apic_id, ICR_DELIVERY_STARTUP | (u32)(page >> PAGE_SHIFT));
		if (wait_online(pc, SIPI_DELAY_US))
			return true;
	}
	return wait_online(pc, (u64)timeout_ms * 1000);
}

static struct percpu *alloc_cpu(unsigned index)
{
	/* One page more than the stack: its guard, unmapped below it. */
	u64 pc_phys = palloc(PERCPU_PAGES, PALLOC_ANYWHERE);
	u64 stack = palloc(STACK_PAGES + 1, PALLOC_ANYWHERE);
	if (!pc_phys || !stack) {
		if (pc_phys)
			pfree(pc_phys, PERCPU_PAGES);
		if (stack)
			pfree(stack, STACK_PAGES + 1);
		return NULL;
	}
	struct percpu *pc = (struct percpu *)(uintptr_t)pc_phys;
	pc->index = index;
	pc->stack_base = stack + PAGE_SIZE;
	pc->stack_top = pc->stack_base + STACK_SIZE;
	percpu_add_guards(pc);
	return pc;
}

static u64 trampoline_page;

u64 smp_trampoline_page(void)
{
	return trampoline_page;
}

u64 smp_release_trampoline(void)
{
	if (!trampoline_page)
		return 0;
	memset((void *)(uintptr_t)trampoline_page, 0, PAGE_SIZE);
	if (paging_set_rights(trampoline_page, trampoline_page + PAGE_SIZE, 0) != ST_OK)
		pr_warn("smp: could not unmap the startup trampoline at 0x%llx",
			(unsigned long long)trampoline_page);
	return trampoline_page;
}

void smp_boot(const struct acpi_info *acpi, u64 page, unsigned maxcpus, unsigned timeout_ms)
{
	struct percpu *bsp = this_cpu();
	bsp->apic_id = lapic_id();
	bsp->online = 1;
	ncpus_online = 1;

	unsigned listed = acpi->ncpus;
	bool bsp_listed = false;
	for (unsigned i = 0; i < acpi->ncpus; i++)
		bsp_listed |= acpi->cpus[i].apic_id == bsp->apic_id;
	if (!bsp_listed) {
		if (acpi->ncpus)
			pr_warn("smp: the boot CPU (APIC id %u) is missing from the MADT", bsp->apic_id);
		listed++;
	}

	unsigned skipped = 0;
	struct trampoline_params *tp = NULL;
	if (listed > 1 && !page)
		pr_err("smp: no free page below 1 MiB for the startup trampoline; other CPUs stay off");
	else if (listed > 1 && paging_set_rights(page, page + PAGE_SIZE, PTE_P | PTE_RW) == ST_OK)
		tp = install_trampoline(page); /* the APs run its 64-bit part there: executable */
	if (tp)
		trampoline_page = page;
	else if (listed > 1)
		pr_err("smp: cannot map the startup trampoline; other CPUs stay off");

	for (unsigned i = 0; tp && i < acpi->ncpus; i++) {
		u32 id = acpi->cpus[i].apic_id;
		if (id == bsp->apic_id)
			continue;
		if ((maxcpus && ncpus_online >= maxcpus) || ncpus_online >= MAX_CPUS) {
			skipped++;
			continue;
		}
		struct percpu *pc = alloc_cpu(ncpus_online);
		if (!pc) {
			pr_err("smp: out of memory for CPU with APIC id %u; skipped", id);
			continue;
		}
		tp->stack = pc->stack_top;
		tp->percpu = (u64)(uintptr_t)pc;
		if (start_ap(id, pc, page, timeout_ms)) {
			ncpus_online++;
			continue;
		}
		/*
		 * Park it again with INIT, so a late start cannot run on the next CPU's
		 * parameters; its memory stays allocated in case it already touched it.
		 */
		lapic_send_ipi(id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
		pr_err("smp: CPU with APIC id %u did not report in within %u ms; skipped", id, timeout_ms);
	}
	if (skipped)
		pr_info("smp: %u CPUs left off by maxcpus=%u", skipped, maxcpus);
	pr_info("smp: %u of %u CPUs online", ncpus_online, listed);
}
