/* exit.c: dispatch each VM exit through a table indexed by basic reason; count it; stop the guest. */
#include <stdarg.h>
#include "exit.h"
#include "ap_emul.h"
#include "ept.h"
#include "vmcs.h"
#include "vmx.h"
#include "launch.h"
#include "monitor.h"
#include "power.h"
#include "shadow.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/lapic.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/tsc.h"
#include "../kernel/fmt.h"
#include "../kernel/log.h"
#include "../kernel/panic.h"

static const char *const reason_names[EXIT_REASON_COUNT] = {
#define EXIT_REASON_NAME(n, name) [n] = #name,
	EXIT_REASON_LIST(EXIT_REASON_NAME)
#undef EXIT_REASON_NAME
};

const char *exit_reason_name(unsigned reason)
{
	return reason < EXIT_REASON_COUNT && reason_names[reason] ? reason_names[reason] : "UNKNOWN";
}

static void dump_guest(struct vcpu *v)
{
	/*
	 * EFER through vcpu_efer(): a CPU without the EFER entry/exit controls
	 * (Core 2) has no guest IA32_EFER field, and VMREAD of it fails.
	 */
	pr_err("vcpu%u: rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx",
	       v->index, (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP),
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_RSP),
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_RFLAGS),
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_CR0),
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_CR3),
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_CR4),
	       (unsigned long long)vcpu_efer(v));
	pr_err("vcpu%u: cs %04x base 0x%llx ar 0x%x; activity %u interruptibility 0x%x",
	       v->index, vmcs_read16(VMCS_GUEST_CS_SELECTOR),
	       (unsigned long long)vmcs_readnat(VMCS_GUEST_CS_BASE),
	       vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS), vmcs_read32(VMCS_GUEST_ACTIVITY_STATE),
	       vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY));
}

/* ---- handlers that need no file of their own ---- */

static enum exit_action handle_exception_or_nmi(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u32 info = vmcs_read32(VMCS_EXIT_INTERRUPTION_INFO);
	if (INTR_INFO_TYPE(info) == INTR_TYPE_HW_EXCEPTION && (info & 0xFF) == VEC_PF)
		return handle_page_fault(v); /* intercepted only with shadow paging */
	/* Intercepted only while memory monitoring steps an instruction. */
	if ((INTR_INFO_TYPE(info) == INTR_TYPE_HW_EXCEPTION || INTR_INFO_TYPE(info) == INTR_TYPE_PRIV_SW_EXCEPTION) &&
	    (info & 0xFF) == VEC_DB && monitor_debug_exit(v, exit_qualification(), info))
		return EXIT_RESUME;
	if (INTR_INFO_TYPE(info) != INTR_TYPE_NMI) {
		guest_stop(v, STOP_HALT, "guest: unexpected exception exit (info 0x%x) on vcpu%u", info,
			   v->index);
		return EXIT_STOP;
	}
	cpu_unblock_nmi(); /* so the next NMI reaches this vCPU too (Bochs 2.7 keeps the block past VM entry) */
	/* Not a stop request (that is checked before every entry): a shootdown, or the guest's NMI. */
	if (!shadow_nmi_is_kick(v, false))
		v->nmi_pending = true;
	return EXIT_RESUME;
}

void guest_triple_fault(struct vcpu *v, const char *how)
{
	dump_guest(v);
	guest_stop(v, STOP_HALT, "guest: triple fault on vcpu%u%s; the guest is stopped", v->index, how);
}

static enum exit_action handle_triple_fault(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	guest_triple_fault(v, "");
	return EXIT_STOP;
}

static enum exit_action handle_init(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	/* 26.2 / 9.4: the guest's own INIT to this CPU: reset it and wait for its SIPI. */
	monitor_vcpu_reset(v);
	vmcs_guest_init_state();
	/* SDM Vol. 3A, table 10-1: general registers are zero after INIT, EDX the signature. */
	for (unsigned r = 0; r < 16; r++)
		v->regs.gpr[r] = 0;
	v->regs.gpr[GPR_RDX] = cpuid(1, 0).eax;
	invvpid_vcpu(v);
	v->state = VCPU_WAIT_SIPI;
	return EXIT_RESUME;
}

static enum exit_action handle_sipi(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u8 vector = (u8)(exit_qualification() & 0xFF);
	vmcs_guest_sipi(vector);
	v->starts++;
	pr_info("vcpu%u: started by the guest at 0x%x (SIPI vector 0x%02x)", v->index,
		(unsigned)vector << 12, vector);
	if (!vmx.unrestricted) {
		/* VT-x cannot run the real-mode start: interpret it, or wait for the next INIT. */
		enum ap_emul_result r = ap_emul_start(v, vector);
		if (r == AP_EMUL_STOPPED)
			ap_emul_park(v);
		if (r == AP_EMUL_HALTED)
			return handle_init(v, x);
	}
	v->state = VCPU_RUNNING;
	return EXIT_RESUME;
}

static void nmi_window(bool on)
{
	vcpu_proc_control(PROC_NMI_WINDOW_EXITING, on);
}

static enum exit_action handle_nmi_window(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	(void)v; /* the pending NMI goes in before the entry (inject_pending_nmi) */
	nmi_window(false);
	return EXIT_RESUME;
}

static enum exit_action handle_preemption_timer(struct vcpu *v, const struct exit_info *x)
{
	(void)v;
	(void)x;
	return EXIT_RESUME; /* only to pass through root mode: pending shootdowns are answered before entry */
}

static enum exit_action handle_invd(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	/* INVD would drop slatvisor's own dirty cache lines too: write them back instead. */
	wbinvd();
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

static enum exit_action handle_vmx_instruction(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	/* CPUID says this CPU has no VMX, so its instructions are undefined. */
	vcpu_inject_exception(v, VEC_UD, false, 0);
	return EXIT_RESUME;
}

static enum exit_action handle_entry_failure(struct vcpu *v, const struct exit_info *x)
{
	dump_guest(v);
	guest_stop(v, STOP_HALT, "vmx: VM entry failed on vcpu%u: %s (qualification %llu)", v->index,
		   exit_reason_name(x->reason), (unsigned long long)exit_qualification());
	return EXIT_STOP;
}

static enum exit_action handle_unexpected(struct vcpu *v, const struct exit_info *x)
{
	dump_guest(v);
	guest_stop(v, STOP_HALT, "vmx: unexpected VM exit %s (%u) on vcpu%u, qualification 0x%llx",
		   exit_reason_name(x->reason), x->reason, v->index,
		   (unsigned long long)exit_qualification());
	return EXIT_STOP;
}

static const exit_handler handlers[EXIT_REASON_COUNT] = {
	[EXIT_EXCEPTION_OR_NMI] = handle_exception_or_nmi,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_NMI_WINDOW] = handle_nmi_window,
	[EXIT_INIT] = handle_init,
	[EXIT_SIPI] = handle_sipi,
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_HLT] = handle_hlt,
	[EXIT_INVD] = handle_invd,
	[EXIT_VMCALL] = handle_vmcall,
	[EXIT_VMCLEAR] = handle_vmx_instruction,
	[EXIT_VMLAUNCH] = handle_vmx_instruction,
	[EXIT_VMPTRLD] = handle_vmx_instruction,
	[EXIT_VMPTRST] = handle_vmx_instruction,
	[EXIT_VMREAD] = handle_vmx_instruction,
	[EXIT_VMRESUME] = handle_vmx_instruction,
	[EXIT_VMWRITE] = handle_vmx_instruction,
	[EXIT_VMXOFF] = handle_vmx_instruction,
	[EXIT_VMXON] = handle_vmx_instruction,
	[EXIT_INVEPT] = handle_vmx_instruction,
	[EXIT_INVVPID] = handle_vmx_instruction,
	[EXIT_VMFUNC] = handle_vmx_instruction,
	[EXIT_CR_ACCESS] = handle_cr_access,
	[EXIT_INVLPG] = handle_invlpg,
	[EXIT_PREEMPTION_TIMER] = handle_preemption_timer,
	[EXIT_INVPCID] = handle_invpcid,
	[EXIT_IO_INSTRUCTION] = handle_io,
	[EXIT_RDMSR] = handle_rdmsr,
	[EXIT_WRMSR] = handle_wrmsr,
	[EXIT_ENTRY_FAIL_GUEST_STATE] = handle_entry_failure,
	[EXIT_ENTRY_FAIL_MSR_LOADING] = handle_entry_failure,
	[EXIT_ENTRY_FAIL_MACHINE_CHECK] = handle_entry_failure,
	[EXIT_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_EPT_MISCONFIG] = handle_ept_misconfig,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_MONITOR_TRAP_FLAG] = handle_monitor_trap,
};

/* ---- stopping the guest ---- */

static volatile u32 stop_requested; /* 1 + index of the vCPU that asked */
static volatile u32 stopped_count;

/* A vCPU parks here once the guest is stopped: halted in VMX root, NMIs ignored. */
static NORETURN void park(struct vcpu *v)
{
	v->state = VCPU_STOPPED;
	__atomic_add_fetch(&stopped_count, 1, __ATOMIC_SEQ_CST);
	cpu_halt_forever();
}

bool guest_stopping(void)
{
	return stop_requested != 0;
}

/*
 * An NMI that reached slatvisor itself, in root mode: a stop request, or one
 * meant for the guest (a PMI, an NMI IPI) that arrived during an exit. The
 * guest's is kept and injected before the next entry. Nothing here may log:
 * the interrupted code could hold the log lock.
 */
static bool nmi_in_root(void)
{
	struct vcpu *v = this_cpu()->vcpu;
	if (!stop_requested && v && !shadow_nmi_is_kick(v, true))
		v->nmi_pending = true;
	return stop_requested || v;
}

/*
 * 26.3.1.5: an NMI may be injected only while the guest does not block NMIs. While it
 * does, or another event goes in first, NMI-window exiting brings the vCPU back as soon
 * as it may take the NMI (with virtual NMIs; without, it waits for the next exit).
 */
static void inject_pending_nmi(struct vcpu *v)
{
	u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if ((vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & INTR_INFO_VALID) ||
	    (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI))) {
		if (vmx.virtual_nmis)
			nmi_window(true);
		return;
	}
	v->nmi_pending = false;
	if (vmx.virtual_nmis)
		nmi_window(false);
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO,
		     INTR_INFO_VALID | ((u32)INTR_TYPE_NMI << INTR_TYPE_SHIFT) | VEC_NMI);
}

void exit_init(void)
{
	nmi_hook = nmi_in_root;
}

static void print_stats(const char *who, const struct exit_stats *s)
{
	u64 total = 0;
	pr_info("stat: %s", who);
	for (unsigned r = 0; r < EXIT_REASON_COUNT; r++) {
		if (!s->count[r])
			continue;
		pr_info("stat exit %s count=%llu cycles=%llu", exit_reason_name(r),
			(unsigned long long)s->count[r], (unsigned long long)s->cycles[r]);
		total += s->count[r];
	}
	pr_info("stat total exits=%llu", (unsigned long long)total);
	if (s->open_bus_writes)
		pr_info("stat open-bus writes dropped=%llu", (unsigned long long)s->open_bus_writes);
}

u64 exits_total(void)
{
	u64 total = 0;
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *v = cpus[i] ? cpus[i]->vcpu : NULL;
		for (unsigned r = 0; v && r < EXIT_REASON_COUNT; r++)
			total += v->stats.count[r];
	}
	return total;
}

#define STOP_WAIT_US 1000000
#define STOP_RETRY_US 10000

NORETURN void guest_stop(struct vcpu *v, enum stop_then then, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	u32 expected = 0;
	if (!__atomic_compare_exchange_n(&stop_requested, &expected, v->index + 1, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		pr_info("%s (the guest is already stopping)", msg);
		park(v);
	}
	log_msg(then == STOP_HALT ? LOG_ERROR : LOG_INFO, "%s", msg);

	/* Running vCPUs exit on an NMI; one that raced back into root mode gets another. */
	unsigned others = 0;
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (o && o != v && (o->state == VCPU_RUNNING))
			others++;
	}
	u64 deadline = rdtsc() + tsc_from_us(STOP_WAIT_US);
	while (stopped_count < others && (s64)(rdtsc() - deadline) < 0) {
		lapic_send_nmi_others();
		udelay(STOP_RETRY_US);
	}
	v->state = VCPU_STOPPED;
	if (stopped_count < others)
		pr_warn("guest: %u of %u other vCPUs did not stop", others - stopped_count, others);

	struct exit_stats sum = { 0 };
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *o = cpus[i]->vcpu;
		if (!o)
			continue;
		char who[48];
		fmt_snprintf(who, sizeof(who), "vcpu%u (cpu%u, APIC id %u)", o->index, i,
			     cpus[i]->apic_id);
		print_stats(who, &o->stats);
		if (o->index)
			pr_info("stat vcpu%u starts=%u offline=%u", o->index, o->starts, o->offlines);
		for (unsigned r = 0; r < EXIT_REASON_COUNT; r++) {
			sum.count[r] += o->stats.count[r];
			sum.cycles[r] += o->stats.cycles[r];
		}
		sum.open_bus_writes += o->stats.open_bus_writes;
	}
	print_stats("all vcpus", &sum);
	shadow_print_stats();
	monitor_print_stats();
	launch_check_image();
	power_finish(then);
	park(v);
}

/*
 * Shadow paging on several vCPUs without the preemption timer (Core 2): TLB
 * shootdowns reach a vCPU in the guest only by NMI, so NMIs must never stay
 * blocked into the guest.
 */
static bool smp_shadow_needs_nmis(void)
{
	return vmx.shadow && ncpus_online > 1 && !vmx.preemption_ticks;
}

/* ---- the dispatcher, called by vmx_exit_stub ---- */

u64 exit_qualification(void)
{
	return vmcs_readnat(VMCS_EXIT_QUALIFICATION);
}

/*
 * 28.2.4: an event whose delivery the exit interrupted must be delivered
 * again. Only exits that can happen during event delivery carry one.
 */
static bool may_interrupt_delivery(u32 reason)
{
	return reason == EXIT_EXCEPTION_OR_NMI || reason == EXIT_EPT_VIOLATION ||
	       reason == EXIT_EPT_MISCONFIG || reason == EXIT_TASK_SWITCH ||
	       reason == EXIT_APIC_ACCESS || reason == EXIT_TRIPLE_FAULT;
}

/*
 * 28.2.3: an exit in the middle of an IRET that had already ended virtual-NMI blocking
 * (a #PF or an EPT violation on the IRET frame): the IRET runs again, so the blocking is
 * put back, or a second NMI could nest inside the first handler.
 */
static void reblock_nmi_after_iret(u32 reason)
{
	if (!vmx.virtual_nmis || (vmcs_read32(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		return;
	bool unblocked = false;
	if (reason == EXIT_EXCEPTION_OR_NMI)
		unblocked = vmcs_read32(VMCS_EXIT_INTERRUPTION_INFO) & INTR_INFO_NMI_UNBLOCKED_BY_IRET;
	else if (reason == EXIT_EPT_VIOLATION)
		unblocked = exit_qualification() & EPT_QUAL_NMI_UNBLOCKED_BY_IRET;
	if (unblocked)
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

static void reinject_vectoring(void)
{
	u32 idt = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID) || (vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & INTR_INFO_VALID))
		return;
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, idt & ~(u32)BIT(12));
	/* 26.3.1.5: injecting an NMI needs blocking by NMI (virtual-NMI blocking) clear. */
	if (INTR_INFO_TYPE(idt) == INTR_TYPE_NMI) {
		u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
		if (intr & INTERRUPTIBILITY_NMI)
			vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(u32)INTERRUPTIBILITY_NMI);
	}
	if (idt & INTR_INFO_DELIVER_ERROR)
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE));
	u32 type = INTR_INFO_TYPE(idt);
	if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmcs_write32(VMCS_ENTRY_INSTRUCTION_LENGTH, vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH));
}

void vmx_handle_exit(struct vcpu *v)
{
	u64 start = rdtsc();
	u32 raw = vmcs_read32(VMCS_EXIT_REASON);
	v->exit_seq++;
	/* The fast path needs no root for a CR3 read, and takes no CR3 write of an armed vCPU. */
	if (raw == EXIT_CR_ACCESS && vmx.shadow && shadow_fast_cr_exit(v)) {
		v->stats.count[EXIT_CR_ACCESS]++;
		v->stats.cycles[EXIT_CR_ACCESS] += rdtsc() - start;
		return;
	}
	if (v->hw_armed)
		shadow_follow_hw_cr3(v); /* the guest may have switched CR3 without an exit */
	struct exit_info x = { EXIT_REASON_BASIC(raw) };

	if (stop_requested) {
		/* An NMI, or any exit that came after a stop request: say where this vCPU was. */
		pr_info("vcpu%u: stopped at rip 0x%llx (cs %04x base 0x%llx, cr0 0x%llx), exit %s",
			v->index, (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP),
			vmcs_read16(VMCS_GUEST_CS_SELECTOR),
			(unsigned long long)vmcs_readnat(VMCS_GUEST_CS_BASE),
			(unsigned long long)vcpu_guest_cr0(), exit_reason_name(x.reason));
		park(v);
	}

	exit_handler h = handle_unexpected;
	if (raw & EXIT_REASON_ENTRY_FAILURE)
		h = handle_entry_failure;
	else if (x.reason < EXIT_REASON_COUNT && handlers[x.reason])
		h = handlers[x.reason];

	if (x.reason < EXIT_REASON_COUNT)
		v->stats.count[x.reason]++;
	else
		v->stats.other++;
	enum exit_action a = h(v, &x);
	if (a == EXIT_STOP)
		park(v); /* guest_stop() normally parks first; this is the backstop */
	if (may_interrupt_delivery(x.reason)) {
		reblock_nmi_after_iret(x.reason);
		reinject_vectoring();
	}
	/* Mid-step an NMI would be taken with the watched page open: it goes in once the step is over. */
	if (v->nmi_pending && !monitor_stepping(v))
		inject_pending_nmi(v);
	if (vmx.shadow)
		shadow_before_entry(v);
	if (v->ept_flush_req) {
		v->ept_flush_req = false; /* acknowledged already: this vCPU is in root mode until here */
		ept_invalidate();
	}
	monitor_before_entry(v);
	if (x.reason < EXIT_REASON_COUNT)
		v->stats.cycles[x.reason] += rdtsc() - start;
	/* VM entry does not end NMI blocking in Bochs 2.7 (see cpu_unblock_nmi); IRET does. */
	if (smp_shadow_needs_nmis())
		cpu_unblock_nmi();
}

NORETURN void vmx_resume_failed(struct vcpu *v, int invalid)
{
	char why[96];
	vmx_describe_failure(invalid ? VMX_FAIL_INVALID : VMX_FAIL_VALID, why, sizeof(why));
	dump_guest(v);
	guest_stop(v, STOP_HALT, "vmx: VMRESUME failed on vcpu%u: %s", v->index, why);
	park(v);
}

void vcpu_launch(struct vcpu *v)
{
	if (smp_shadow_needs_nmis())
		cpu_unblock_nmi();
	v->state = vmcs_read32(VMCS_GUEST_ACTIVITY_STATE) == ACTIVITY_WAIT_FOR_SIPI ? VCPU_WAIT_SIPI
										     : VCPU_RUNNING;
	int r = vmx_launch(v);
	char why[96];
	vmx_describe_failure(r == 1 ? VMX_FAIL_INVALID : VMX_FAIL_VALID, why, sizeof(why));
	dump_guest(v);
	v->state = VCPU_OFF;
	pr_err("vmx: VMLAUNCH failed on vcpu%u: %s", v->index, why);
}
