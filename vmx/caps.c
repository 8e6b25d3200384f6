/* caps.c: discover VT-x, explain why it is unusable when it is, and dump the capability MSRs. */
#include "caps.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/msr.h"
#include "../kernel/fmt.h"
#include "../kernel/kstring.h"
#include "../kernel/log.h"

struct named_bit {
	u8 bit;
	const char *name;
};

static const struct named_bit pin_bits[] = {
	{ 0, "external_interrupt_exiting" }, { 3, "nmi_exiting" }, { 5, "virtual_nmis" },
	{ 6, "preemption_timer" }, { 7, "posted_interrupts" },
};
static const struct named_bit proc_bits[] = {
	{ 2, "interrupt_window_exiting" }, { 3, "tsc_offsetting" }, { 7, "hlt_exiting" },
	{ 9, "invlpg_exiting" }, { 10, "mwait_exiting" }, { 11, "rdpmc_exiting" },
	{ 12, "rdtsc_exiting" }, { 15, "cr3_load_exiting" }, { 16, "cr3_store_exiting" },
	{ 17, "tertiary_controls" }, { 19, "cr8_load_exiting" }, { 20, "cr8_store_exiting" },
	{ 21, "tpr_shadow" }, { 22, "nmi_window_exiting" }, { 23, "mov_dr_exiting" },
	{ 24, "unconditional_io_exiting" }, { 25, "io_bitmaps" }, { 27, "monitor_trap_flag" },
	{ 28, "msr_bitmaps" }, { 29, "monitor_exiting" }, { 30, "pause_exiting" },
	{ 31, "secondary_controls" },
};
static const struct named_bit proc2_bits[] = {
	{ 0, "virtualize_apic_accesses" }, { 1, "ept" }, { 2, "descriptor_table_exiting" },
	{ 3, "rdtscp" }, { 4, "virtualize_x2apic" }, { 5, "vpid" }, { 6, "wbinvd_exiting" },
	{ 7, "unrestricted_guest" }, { 8, "apic_register_virtualization" },
	{ 9, "virtual_interrupt_delivery" }, { 10, "pause_loop_exiting" }, { 11, "rdrand_exiting" },
	{ 12, "invpcid" }, { 13, "vmfunc" }, { 14, "vmcs_shadowing" }, { 15, "encls_exiting" },
	{ 16, "rdseed_exiting" }, { 17, "pml" }, { 18, "ept_violation_ve" },
	{ 19, "conceal_vmx_from_pt" }, { 20, "xsaves" }, { 22, "mode_based_ept_execute" },
	{ 23, "sub_page_write_permissions" }, { 24, "pt_uses_guest_physical" },
	{ 25, "tsc_scaling" }, { 26, "user_wait_pause" }, { 28, "encls_exiting_v" },
};
static const struct named_bit exit_bits[] = {
	{ 2, "save_debug_controls" }, { 9, "host_address_space_size" },
	{ 12, "load_perf_global_ctrl" }, { 15, "acknowledge_interrupt_on_exit" },
	{ 18, "save_pat" }, { 19, "load_pat" }, { 20, "save_efer" }, { 21, "load_efer" },
	{ 22, "save_preemption_timer" }, { 23, "clear_bndcfgs" }, { 24, "conceal_vmx_from_pt" },
	{ 31, "secondary_exit_controls" },
};
static const struct named_bit entry_bits[] = {
	{ 2, "load_debug_controls" }, { 9, "ia32e_mode_guest" }, { 10, "entry_to_smm" },
	{ 11, "deactivate_dual_monitor" }, { 13, "load_perf_global_ctrl" }, { 14, "load_pat" },
	{ 15, "load_efer" }, { 16, "load_bndcfgs" }, { 17, "conceal_vmx_from_pt" },
};
static const struct named_bit ept_bits[] = {
	{ 0, "execute_only_pages" }, { 6, "page_walk_length_4" }, { 7, "page_walk_length_5" },
	{ 8, "memory_type_uncacheable" }, { 14, "memory_type_write_back" },
	{ 16, "pde_2mb_pages" }, { 17, "pdpte_1gb_pages" }, { 20, "invept" },
	{ 21, "ept_accessed_and_dirty_flags" }, { 22, "advanced_vmexit_ept_violations_information" },
	{ 23, "supervisor_shadow_stack" }, { 25, "invept_single_context" },
	{ 26, "invept_all_contexts" }, { 32, "invvpid" }, { 40, "invvpid_individual_address" },
	{ 41, "invvpid_single_context" }, { 42, "invvpid_all_contexts" },
	{ 43, "invvpid_single_context_retain_globals" },
};
static const struct named_bit misc_bits[] = {
	{ 5, "efer_lma_in_ia32e_mode_guest" }, { 6, "activity_hlt" }, { 7, "activity_shutdown" },
	{ 8, "activity_wait_for_sipi" }, { 15, "rdmsr_smbase_in_smm" },
	{ 28, "smm_monitor_ctl_bit2" }, { 29, "vmwrite_to_exit_information" },
	{ 30, "inject_zero_length_events" },
};

#define NAMED(t) t, ARRAY_SIZE(t)
enum decode { D_RAW, D_BASIC, D_CTLS, D_ALLOWED1, D_BITS, D_MISC };

static const struct {
	const char *name;
	enum decode how;
	const struct named_bit *bits;
	size_t nbits;
} msr_info[VMX_NMSRS] = {
	[0x0] = { "IA32_VMX_BASIC", D_BASIC, NULL, 0 },
	[0x1] = { "IA32_VMX_PINBASED_CTLS", D_CTLS, NAMED(pin_bits) },
	[0x2] = { "IA32_VMX_PROCBASED_CTLS", D_CTLS, NAMED(proc_bits) },
	[0x3] = { "IA32_VMX_EXIT_CTLS", D_CTLS, NAMED(exit_bits) },
	[0x4] = { "IA32_VMX_ENTRY_CTLS", D_CTLS, NAMED(entry_bits) },
	[0x5] = { "IA32_VMX_MISC", D_MISC, NAMED(misc_bits) },
	[0x6] = { "IA32_VMX_CR0_FIXED0", D_RAW, NULL, 0 },
	[0x7] = { "IA32_VMX_CR0_FIXED1", D_RAW, NULL, 0 },
	[0x8] = { "IA32_VMX_CR4_FIXED0", D_RAW, NULL, 0 },
	[0x9] = { "IA32_VMX_CR4_FIXED1", D_RAW, NULL, 0 },
	[0xA] = { "IA32_VMX_VMCS_ENUM", D_RAW, NULL, 0 },
	[0xB] = { "IA32_VMX_PROCBASED_CTLS2", D_ALLOWED1, NAMED(proc2_bits) },
	[0xC] = { "IA32_VMX_EPT_VPID_CAP", D_BITS, NAMED(ept_bits) },
	[0xD] = { "IA32_VMX_TRUE_PINBASED_CTLS", D_CTLS, NAMED(pin_bits) },
	[0xE] = { "IA32_VMX_TRUE_PROCBASED_CTLS", D_CTLS, NAMED(proc_bits) },
	[0xF] = { "IA32_VMX_TRUE_EXIT_CTLS", D_CTLS, NAMED(exit_bits) },
	[0x10] = { "IA32_VMX_TRUE_ENTRY_CTLS", D_CTLS, NAMED(entry_bits) },
	[0x11] = { "IA32_VMX_VMFUNC", D_RAW, NULL, 0 },
	[0x12] = { "IA32_VMX_PROCBASED_CTLS3", D_RAW, NULL, 0 },
	[0x13] = { "IA32_VMX_EXIT_CTLS2", D_RAW, NULL, 0 },
};

status_t vmx_check_available(char *why, size_t len)
{
	struct cpuid_regs v = cpuid(0, 0);
	bool intel = v.ebx == 0x756E6547 && v.edx == 0x49656E69 && v.ecx == 0x6C65746E; /* GenuineIntel */
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX)) {
		fmt_snprintf(why, len, "%s",
			     intel ? "this CPU does not report VMX (CPUID.1:ECX[5] is 0); in a virtual machine, enable nested virtualization"
				   : "this is not an Intel CPU with VMX (CPUID.1:ECX[5] is 0); slatvisor needs Intel VT-x");
		return ST_UNSUPPORTED;
	}
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		fmt_snprintf(why, len,
			     "the firmware disabled VT-x and locked it (IA32_FEATURE_CONTROL = 0x%llx); enable Intel Virtualization Technology in the firmware setup",
			     (unsigned long long)fc);
		return ST_UNSUPPORTED;
	}
	return ST_OK;
}

void vmx_enable_feature_control(void)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
}

static bool allowed1(u64 msr, u32 bit)
{
	return (msr >> 32) & BIT(bit);
}

void vmx_read_caps(struct vmx_caps *c)
{
	memset(c, 0, sizeof(*c));
	c->feature_control = rdmsr(MSR_IA32_FEATURE_CONTROL);
	/* 0x480-0x48A exist on every VMX CPU; the rest by the rules of SDM Vol. 3D, appendix A. */
	for (u32 i = 0; i <= 0xA; i++)
		c->exists[i] = true;
	u64 basic = rdmsr(MSR_IA32_VMX_BASIC), proc = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	u64 exitc = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
	c->exists[0xB] = allowed1(proc, 31);
	u64 proc2 = c->exists[0xB] ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
	c->exists[0xC] = allowed1(proc2, 1) || allowed1(proc2, 5); /* EPT or VPID */
	for (u32 i = 0xD; i <= 0x10; i++)
		c->exists[i] = basic & VMX_BASIC_TRUE_CTLS;
	c->exists[0x11] = allowed1(proc2, 13);
	c->exists[0x12] = allowed1(proc, 17);
	c->exists[0x13] = allowed1(exitc, 31);
	for (u32 i = 0; i < VMX_NMSRS; i++)
		if (c->exists[i])
			c->msr[i] = rdmsr(MSR_IA32_VMX_FIRST + i);

	bool t = basic & VMX_BASIC_TRUE_CTLS;
	c->pin_ctls = c->msr[t ? 0xD : 0x1];
	c->proc_ctls = c->msr[t ? 0xE : 0x2];
	c->exit_ctls = c->msr[t ? 0xF : 0x3];
	c->entry_ctls = c->msr[t ? 0x10 : 0x4];
	c->proc2_ctls = proc2;
	c->revision = (u32)(basic & VMX_BASIC_REVISION_MASK);
	u64 ev = c->msr[0xC];
	c->ept = allowed1(proc2, 1) && (ev & EPT_CAP_WALK_LENGTH_4) && (ev & EPT_CAP_PAGE_2M);
	c->vpid = allowed1(proc2, 5) && (ev & VPID_CAP_INVVPID);
	c->unrestricted_guest = c->ept && allowed1(proc2, 7);
	c->ept_1g = ev & EPT_CAP_PAGE_1G;
	c->ept_wb = ev & EPT_CAP_MEMTYPE_WB;
	c->ept_uc = ev & EPT_CAP_MEMTYPE_UC;
	c->invept_single = (ev & EPT_CAP_INVEPT) && (ev & EPT_CAP_INVEPT_SINGLE_CONTEXT);
	c->invept_all = (ev & EPT_CAP_INVEPT) && (ev & EPT_CAP_INVEPT_ALL_CONTEXTS);
	c->invvpid_single = c->vpid && (ev & VPID_CAP_INVVPID_SINGLE_CONTEXT);
	c->invvpid_all = c->vpid && (ev & VPID_CAP_INVVPID_ALL_CONTEXTS);
	c->invvpid_single_retaining_globals = c->vpid && (ev & VPID_CAP_INVVPID_SINGLE_RETAINING_GLOBALS);
	c->wait_for_sipi = c->msr[0x5] & VMX_MISC_ACTIVITY_WAIT_SIPI;
}

/* Append the names of the set bits of @v to @buf. */
static void names(char *buf, size_t len, u64 v, const struct named_bit *bits, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		if (v & BIT(bits[i].bit))
			used += (size_t)fmt_snprintf(buf + used, len - used, "%s%s", used ? " " : "",
						     bits[i].name);
	if (!used)
		fmt_snprintf(buf, len, "(none)");
}

void vmx_print_caps(const struct vmx_caps *c)
{
	char buf[400];
	pr_info("vmx: msr 0x3a IA32_FEATURE_CONTROL = 0x%llx (lock=%u vmx_outside_smx=%u)",
		(unsigned long long)c->feature_control,
		(unsigned)(c->feature_control & FEATURE_CONTROL_LOCK),
		(unsigned)!!(c->feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX));
	for (u32 i = 0; i < VMX_NMSRS; i++) {
		u32 msr = MSR_IA32_VMX_FIRST + i;
		if (!c->exists[i]) {
			pr_info("vmx: msr 0x%x %s: not present on this CPU", msr, msr_info[i].name);
			continue;
		}
		u64 v = c->msr[i];
		pr_info("vmx: msr 0x%x %s = 0x%016llx", msr, msr_info[i].name, (unsigned long long)v);
		switch (msr_info[i].how) {
		case D_BASIC:
			pr_info("vmx:   revision_id=0x%llx vmcs_size=%llu memory_type=%llu ins_outs_info=%u true_controls=%u",
				(unsigned long long)(v & VMX_BASIC_REVISION_MASK),
				(unsigned long long)VMX_BASIC_VMCS_SIZE(v),
				(unsigned long long)VMX_BASIC_MEMTYPE(v), !!(v & VMX_BASIC_INS_OUTS_INFO),
				!!(v & VMX_BASIC_TRUE_CTLS));
			break;
		case D_CTLS:
			names(buf, sizeof(buf), v & 0xFFFFFFFF, msr_info[i].bits, msr_info[i].nbits);
			pr_info("vmx:   must be 1: 0x%08llx %s", (unsigned long long)(v & 0xFFFFFFFF), buf);
			__attribute__((fallthrough)); /* a control MSR also says what may be 1 */
		case D_ALLOWED1:
			names(buf, sizeof(buf), v >> 32, msr_info[i].bits, msr_info[i].nbits);
			pr_info("vmx:   may be 1: %s", buf);
			break;
		case D_BITS:
			names(buf, sizeof(buf), v, msr_info[i].bits, msr_info[i].nbits);
			pr_info("vmx:   %s", buf);
			break;
		case D_MISC:
			names(buf, sizeof(buf), v, msr_info[i].bits, msr_info[i].nbits);
			pr_info("vmx:   preemption_timer_rate=%llu cr3_targets=%llu max_msr_list=%llu %s",
				(unsigned long long)(v & 0x1F), (unsigned long long)((v >> 16) & 0x1FF),
				(unsigned long long)(512 * (((v >> 25) & 7) + 1)), buf);
			break;
		case D_RAW:
			break;
		}
	}
}

int vmx_caps_differ(const struct vmx_caps *a, const struct vmx_caps *b)
{
	for (int i = 0; i < (int)VMX_NMSRS; i++)
		if (a->exists[i] != b->exists[i] || a->msr[i] != b->msr[i])
			return i;
	return -1;
}
