/* panic.c: stop all CPUs with an NMI, then dump registers and a frame-pointer stack trace. */
#include <stdarg.h>
#include "panic.h"
#include "fmt.h"
#include "log.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/tsc.h"
#include "../mm/paging.h"

#define STOP_WAIT_US 100000
#define MAX_TRACE_FRAMES 16
#define PANIC_MSG_LEN 256

static volatile u32 panicking; /* 0, or 1 + index of the CPU that panicked */
static volatile u32 cpus_stopped;

bool panic_in_progress(void)
{
	return panicking != 0;
}

NORETURN void panic_stop_this_cpu(void)
{
	__atomic_add_fetch(&cpus_stopped, 1, __ATOMIC_SEQ_CST);
	cpu_halt_forever();
}

static void dump_regs(const struct regs *r)
{
	pr_err("  rip %016llx  rsp %016llx  rflags %016llx",
	       (unsigned long long)r->rip, (unsigned long long)r->rsp, (unsigned long long)r->rflags);
	pr_err("  rax %016llx  rbx %016llx  rcx %016llx", (unsigned long long)r->rax,
	       (unsigned long long)r->rbx, (unsigned long long)r->rcx);
	pr_err("  rdx %016llx  rsi %016llx  rdi %016llx", (unsigned long long)r->rdx,
	       (unsigned long long)r->rsi, (unsigned long long)r->rdi);
	pr_err("  rbp %016llx  r8  %016llx  r9  %016llx", (unsigned long long)r->rbp,
	       (unsigned long long)r->r8, (unsigned long long)r->r9);
	pr_err("  r10 %016llx  r11 %016llx  r12 %016llx", (unsigned long long)r->r10,
	       (unsigned long long)r->r11, (unsigned long long)r->r12);
	pr_err("  r13 %016llx  r14 %016llx  r15 %016llx", (unsigned long long)r->r13,
	       (unsigned long long)r->r14, (unsigned long long)r->r15);
	pr_err("  cr0 %016llx  cr2 %016llx  cr3 %016llx  cr4 %016llx",
	       (unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
	       (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	pr_err("  cs %04llx  ss %04llx", (unsigned long long)r->cs, (unsigned long long)r->ss);
}

/*
 * The kernel is built with frame pointers: [rbp] is the caller's rbp and
 * [rbp+8] the return address. Only frames inside this CPU's stack are followed,
 * so a corrupt chain ends the trace instead of faulting again.
 */
static void stack_trace(u64 rip, u64 rbp)
{
	const struct percpu *pc = this_cpu();
	pr_err("  stack trace (addr2line -e build/slatvisor.elf ADDR):");
	pr_err("    #0 0x%llx", (unsigned long long)rip);
	for (int i = 1; i < MAX_TRACE_FRAMES; i++) {
		if (rbp < pc->stack_base || rbp + 16 > pc->stack_top || (rbp & 7))
			break;
		const u64 *frame = (const u64 *)(uintptr_t)rbp;
		if (!frame[1])
			break;
		pr_err("    #%d 0x%llx", i, (unsigned long long)frame[1]);
		rbp = frame[0];
	}
}

static void stop_others(void)
{
	unsigned others = ncpus_online > 0 ? ncpus_online - 1 : 0;
	if (!others || !lapic_ready())
		return;
	lapic_send_nmi_others();
	u64 deadline = rdtsc() + tsc_from_us(STOP_WAIT_US);
	while (cpus_stopped < others && (s64)(rdtsc() - deadline) < 0)
		cpu_relax();
	pr_err("panic: stopped %u of %u other CPUs", cpus_stopped, others);
}

static NORETURN void panic_common(const struct regs *r, const char *msg)
{
	irq_disable();
	u32 me = this_cpu()->index + 1;
	u32 expected = 0;
	if (!__atomic_compare_exchange_n(&panicking, &expected, me, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		/* A second panic: another CPU is already stopping everyone, this one included. */
		cpu_halt_forever();
	}
	log_enter_panic_mode();
	pr_err("PANIC: %s", msg);
	stop_others();
	dump_regs(r);
	stack_trace(r->rip, r->rbp);
	pr_err("panic: system halted");
	cpu_halt_forever();
}

NORETURN void panic(const char *fmt, ...)
{
	struct regs r;
	regs_capture(&r);
	char msg[PANIC_MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	panic_common(&r, msg);
}

NORETURN void panic_exception(const struct regs *r)
{
	struct percpu *pc = this_cpu();
	if (pc->exception_depth++ > 0) {
		/* A fault while handling a fault: print the minimum and stop. */
		pr_err("nested exception %s at rip 0x%llx; halting this CPU",
		       exception_name((unsigned)r->vector), (unsigned long long)r->rip);
		cpu_halt_forever();
	}
	char msg[PANIC_MSG_LEN];
	/*
	 * A stack that overflows faults on its guard page; the #PF cannot be pushed there either,
	 * so it usually arrives as a #DF on its own IST stack, with CR2 still the guard address.
	 */
	u32 owner;
	const char *what;
	if ((r->vector == VEC_PF || r->vector == VEC_DF) && paging_guard_hit(read_cr2(), &owner, &what)) {
		fmt_snprintf(msg, sizeof(msg),
			     "stack overflow: cpu%u's %s stack ran into its guard page at 0x%llx (%s, rip 0x%llx)",
			     owner, what, (unsigned long long)ALIGN_DOWN(read_cr2(), PAGE_SIZE),
			     exception_name((unsigned)r->vector), (unsigned long long)r->rip);
		panic_common(r, msg);
	}
	int n = fmt_snprintf(msg, sizeof(msg), "%s in the hypervisor: vector %llu, error code 0x%llx, rip 0x%llx",
			     exception_name((unsigned)r->vector), (unsigned long long)r->vector,
			     (unsigned long long)r->error, (unsigned long long)r->rip);
	if (r->vector == VEC_PF && n < (int)sizeof(msg))
		fmt_snprintf(msg + n, sizeof(msg) - (size_t)n, ", cr2 0x%llx (%s %s)",
			     (unsigned long long)read_cr2(), r->error & PFEC_WRITE ? "write" : "read",
			     r->error & PFEC_PRESENT ? "protection" : "not-present");
	panic_common(r, msg);
}
