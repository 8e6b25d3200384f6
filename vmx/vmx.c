/* vmx.c: choose the VMX controls once, turn VMX on per CPU, and set up each VMCS. */
#include "vmx.h"
#include "exit.h"
#include "vmcs.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/gdt.h"
#include "../arch/x86_64/idt.h"
#include "../arch/x86_64/msr.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/tsc.h"
#include "../kernel/kstring.h"
#include "../kernel/log.h"
#include "../kernel/options.h"
#include "../mm/palloc.h"

struct vmx_config vmx;

/* With shadow paging on several vCPUs, no vCPU stays in the guest longer than this. */
#define SHOOTDOWN_BOUND_US 1000

/* MSR bitmap layout (25.6.9): read-low, read-high, write-low, write-high, 1 KiB each. */
#define MSRBM_READ_LOW 0
#define MSRBM_READ_HIGH 1024
#define MSRBM_WRITE_LOW 2048
#define MSRBM_WRITE_HIGH 3072

void vmx_trap_msr(u32 msr, bool read, bool write, bool on)
{
	u8 *bm = (u8 *)(uintptr_t)vmx.msr_bitmap;
	u32 base = msr >= 0xC0000000 ? MSRBM_READ_HIGH : MSRBM_READ_LOW;
	u32 bit = msr & 0x1FFF;
	u8 mask = (u8)BIT(bit % 8);
	u8 *r = &bm[base + bit / 8], *w = &bm[base + MSRBM_WRITE_LOW + bit / 8];
	if (read)
		*r = on ? *r | mask : *r & (u8)~mask;
	if (write)
		*w = on ? *w | mask : *w & (u8)~mask;
}

bool vmx_msr_trapped(u32 msr, bool write)
{
	/* 25.6.9: MSRs outside the two ranges the bitmap covers always exit. */
	if (msr > 0x1FFF && (msr < 0xC0000000 || msr > 0xC0001FFF))
		return true;
	const u8 *bm = (const u8 *)(uintptr_t)vmx.msr_bitmap;
	u32 base = (msr >= 0xC0000000 ? MSRBM_READ_HIGH : MSRBM_READ_LOW) + (write ? MSRBM_WRITE_LOW : 0);
	u32 bit = msr & 0x1FFF;
	return bm[base + bit / 8] & BIT(bit % 8);
}

static void trap_msr(u32 msr)
{
	vmx_trap_msr(msr, true, true, true);
}

void vmx_trap_io_port(u16 port, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		u32 p = (u32)port + i;
		u8 *bm = (u8 *)(uintptr_t)(p < 0x8000 ? vmx.io_bitmap_a : vmx.io_bitmap_b);
		bm[(p & 0x7FFF) / 8] |= (u8)BIT(p % 8);
	}
}

static u32 adjust(const char *what, u64 cap, u32 want, u32 need)
{
	u32 missing;
	u32 v = vmx_adjust_controls(cap, want, &missing);
	if (missing & need)
		pr_warn("vmx: %s controls 0x%x are not supported", what, missing & need);
	return v;
}

status_t vmx_global_init(void)
{
	struct vmx_caps *c = &vmx.caps;
	vmx_enable_feature_control();
	vmx_read_caps(c);
	vmx_print_caps(c);

	bool want_ept = opts.paging != PAGING_SHADOW;
	vmx.use_ept = c->ept && want_ept && c->ept_wb;
	vmx.shadow = !vmx.use_ept;
	vmx.use_vpid = c->vpid && c->invvpid_single;
	/* Shadow paging on a CPU with EPT still runs paging-off code (AP start-up) this way. */
	vmx.unrestricted = c->ept && c->ept_wb && c->unrestricted_guest && c->wait_for_sipi;

	/*
	 * The guest owns its interrupts: no external-interrupt exiting. NMIs
	 * exit so slatvisor can stop the guest; guest NMIs are re-injected.
	 */
	/*
	 * Shadow paging on several vCPUs: a shootdown needs every other vCPU to
	 * leave the guest. NMIs do that on hardware, but in Bochs, while the
	 * guest starts its APs, they took seconds to (reason not established),
	 * so the preemption timer also bounds the wait.
	 */
	u32 pin_want = PIN_NMI_EXITING;
	/* Virtual NMIs only with NMI-window exiting, to inject an NMI the guest still blocks later. */
	if ((c->proc_ctls >> 32) & PROC_NMI_WINDOW_EXITING)
		pin_want |= PIN_VIRTUAL_NMIS;
	bool smp_shadow = vmx.shadow && ncpus_online > 1;
	if (smp_shadow)
		pin_want |= PIN_PREEMPTION_TIMER;
	vmx.pin = adjust("pin-based", c->pin_ctls, pin_want, PIN_NMI_EXITING);
	vmx.virtual_nmis = vmx.pin & PIN_VIRTUAL_NMIS;
	if (!vmx.virtual_nmis)
		pr_warn("vmx: no virtual NMIs: the guest gets its first NMI, and no other");
	if (vmx.pin & PIN_PREEMPTION_TIMER) {
		/* SDM Vol. 3C, 26.5.1: the timer counts down at the TSC rate divided by 2^(MISC bits 4:0). */
		unsigned rate = (unsigned)(c->msr[MSR_IA32_VMX_MISC - MSR_IA32_VMX_FIRST] & 0x1F);
		vmx.preemption_ticks = (u32)MAX(tsc_from_us(SHOOTDOWN_BOUND_US) >> rate, 1ULL);
	}
	/* Shadow paging: every CR3 load and store, and every INVLPG (and INVPCID), is slatvisor's. */
	u32 paging = vmx.shadow ? PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING : 0;
	/*
	 * Several vCPUs: HLT exits, so a vCPU the guest takes offline (HLT with
	 * interrupts off) waits in slatvisor, and the guest's next INIT-SIPI to
	 * it is emulated (apic_start.c) rather than left to the INIT VM exit.
	 * An idle HLT goes back in the HLT activity state (exit_hlt.c).
	 */
	u32 hlt = ncpus_online > 1 && (c->msr[MSR_IA32_VMX_MISC - MSR_IA32_VMX_FIRST] & VMX_MISC_ACTIVITY_HLT)
			  ? PROC_HLT_EXITING : 0;
	vmx.proc = adjust("processor-based", c->proc_ctls,
			  PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY | paging | hlt,
			  PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | paging);
	vmx.hlt_exiting = vmx.proc & PROC_HLT_EXITING;
	/* An offline CPU would wait in MWAIT, out of slatvisor's sight: offer HLT only, as KVM does. */
	vmx.hide_mwait = vmx.hlt_exiting;
	if (ncpus_online > 1 && !vmx.hlt_exiting)
		pr_warn("vmx: no HLT activity state: a CPU the guest takes offline cannot be started again");
	if (vmx.shadow) {
		/*
		 * SDM Vol. 3C, A.6: IA32_VMX_MISC bits 24:16 count the CR3-target
		 * values. CR3-store exiting can be cleared only where the (TRUE)
		 * control MSR allows it (not on the first VT-x parts, whose
		 * VMX_BASIC bit 55 is 0).
		 */
		unsigned n = (unsigned)((c->msr[MSR_IA32_VMX_MISC - MSR_IA32_VMX_FIRST] >> 16) & 0x1FF);
		vmx.cr3_targets = n >= 2 ? 2 : 0;
		vmx.cr3_reads_free = vmx.cr3_targets && !(c->proc_ctls & PROC_CR3_STORE_EXITING) &&
				     opts.cr3_store_exiting == CR3_STORE_AUTO;
		pr_info("vmx: shadow paging: %u CR3-target values; %s", n,
			!vmx.cr3_targets ? "KPTI's CR3 switches all exit"
			: vmx.cr3_reads_free ? "KPTI's CR3 switches run without exits while armed"
			: (c->proc_ctls & PROC_CR3_STORE_EXITING) ? "CR3 writes run from the target list, CR3 reads exit (the CPU cannot clear CR3-store exiting)"
							      : "CR3 writes run from the target list, CR3 reads exit (cr3_store_exiting=always)");
	}
	u32 want2 = PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES |
		    PROC2_ENABLE_USER_WAIT_PAUSE;
	if (vmx.use_ept)
		want2 |= PROC2_ENABLE_EPT;
	if (vmx.use_vpid)
		want2 |= PROC2_ENABLE_VPID;
	if (vmx.unrestricted && vmx.use_ept)
		want2 |= PROC2_UNRESTRICTED_GUEST;
	u32 missing2 = 0;
	vmx.proc2 = (vmx.proc & PROC_ACTIVATE_SECONDARY) ? vmx_adjust_controls(c->proc2_ctls, want2, &missing2) : 0;
	/* A feature the guest sees in CPUID but cannot use without its control: hide it. */
	vmx.hide_rdtscp = !(vmx.proc2 & PROC2_ENABLE_RDTSCP);
	vmx.hide_invpcid = !(vmx.proc2 & PROC2_ENABLE_INVPCID);
	vmx.hide_xsaves = !(vmx.proc2 & PROC2_ENABLE_XSAVES);
	vmx.hide_waitpkg = !(vmx.proc2 & PROC2_ENABLE_USER_WAIT_PAUSE);
	vmx.exit = adjust("VM-exit", c->exit_ctls,
			  EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER |
				  EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_DEBUG_CONTROLS,
			  EXIT_HOST_ADDRESS_SPACE_SIZE);
	vmx.entry = adjust("VM-entry", c->entry_ctls,
			   ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_DEBUG_CONTROLS, 0);
	/*
	 * CPUs of the Core 2 era cannot switch EFER in VM entry and exit
	 * controls: the VM-entry and VM-exit MSR-load lists do it (SDM Vol. 3C,
	 * 26.4 and 27.6), and slatvisor keeps the guest's value, trapping its
	 * EFER accesses, since no exit saves it.
	 */
	vmx.efer_by_list = !(vmx.entry & ENTRY_LOAD_IA32_EFER) || !(vmx.exit & EXIT_LOAD_IA32_EFER) ||
			   !(vmx.exit & EXIT_SAVE_IA32_EFER);
	if (vmx.efer_by_list) {
		vmx.entry &= ~(u32)ENTRY_LOAD_IA32_EFER;
		vmx.exit &= ~(u32)(EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_EFER);
	}
	/* Shadow paging follows EFER.NXE (the XD bit) and EFER.LME, so it keeps EFER too. */
	vmx.trap_efer = vmx.shadow || vmx.efer_by_list;

	vmx.cr0_fixed0 = c->msr[MSR_IA32_VMX_CR0_FIXED0 - MSR_IA32_VMX_FIRST];
	vmx.cr0_fixed1 = c->msr[MSR_IA32_VMX_CR0_FIXED1 - MSR_IA32_VMX_FIRST];
	vmx.cr4_fixed0 = c->msr[MSR_IA32_VMX_CR4_FIXED0 - MSR_IA32_VMX_FIRST];
	vmx.cr4_fixed1 = c->msr[MSR_IA32_VMX_CR4_FIXED1 - MSR_IA32_VMX_FIRST];
	if (vmx.unrestricted) /* 25.8: with unrestricted guest, PE and PG may be 0 */
		vmx.cr0_fixed0 &= ~(CR0_PE | CR0_PG);
	/* Bits the guest cannot freely own: fixed ones (NE, VMXE), reserved ones, SMXE (hidden). */
	vmx.cr0_mask = (vmx.cr0_fixed0 | ~vmx.cr0_fixed1) & 0xFFFFFFFFULL;
	vmx.cr4_mask = vmx.cr4_fixed0 | ~vmx.cr4_fixed1 | CR4_SMXE;
	if (vmx.shadow) {
		/* The bits that decide how the guest's page tables read: shadow paging must see each change. */
		vmx.cr0_mask |= CR0_PE | CR0_PG | CR0_WP;
		/*
		 * CD and NW too: the guest must read back exactly what it wrote
		 * (Core 2 era VT-x, as Bochs models it, returns NW set after the
		 * guest set CD alone, and Linux's next MOV to CR0 then faults).
		 */
		vmx.cr0_mask |= CR0_CD | CR0_NW;
		vmx.cr4_mask |= CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_LA57;
	}

	vmx.msr_bitmap = palloc(1, PALLOC_ANYWHERE);
	vmx.io_bitmap_a = palloc(1, PALLOC_ANYWHERE);
	vmx.io_bitmap_b = palloc(1, PALLOC_ANYWHERE);
	if (!vmx.msr_bitmap || !vmx.io_bitmap_a || !vmx.io_bitmap_b)
		return ST_NO_MEMORY;
	/* VMX itself stays invisible: the guest gets #GP for these, as on a CPU without VT-x. */
	trap_msr(MSR_IA32_FEATURE_CONTROL);
	for (u32 m = MSR_IA32_VMX_FIRST; m <= MSR_IA32_VMX_LAST; m++)
		trap_msr(m);
	if (vmx.trap_efer)
		trap_msr(MSR_IA32_EFER);

	pr_info("vmx: EPT %s, VPID %s, unrestricted guest %s%s; controls pin 0x%x proc 0x%x proc2 0x%x exit 0x%x entry 0x%x",
		vmx.use_ept ? "on" : "off", vmx.use_vpid ? "on" : "off",
		vmx.unrestricted ? (vmx.use_ept ? "on" : "on while guest paging is off") : "off",
		vmx.efer_by_list ? ", EFER by MSR-load lists" : "", vmx.pin, vmx.proc, vmx.proc2,
		vmx.exit, vmx.entry);
	return ST_OK;
}

struct vcpu *vmx_cpu_on(unsigned index)
{
	struct percpu *pc = this_cpu();
	vmx_enable_feature_control();

	/* 24.8: CR0 and CR4 must respect the fixed bits in VMX operation. */
	u64 cr4 = read_cr4() | CR4_VMXE;
	if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE; /* lets slatvisor run XSETBV for the guest */
	write_cr4((cr4 | vmx.cr4_fixed0) & vmx.cr4_fixed1);
	/*
	 * Caches on: firmware may leave CD and NW set from reset (Bochs's BIOS
	 * does), and VM entry keeps them for the guest (Bochs), whose writes
	 * through writable shadow entries then fault.
	 */
	write_cr0((read_cr0() | vmx.cr0_fixed0 | CR0_PE | CR0_PG) & vmx.cr0_fixed1 & ~(u64)(CR0_CD | CR0_NW));

	struct vcpu *v = (struct vcpu *)(uintptr_t)palloc(ALIGN_UP(sizeof(struct vcpu), PAGE_SIZE) / PAGE_SIZE,
						      PALLOC_ANYWHERE);
	u64 vmxon_region = palloc(1, PALLOC_ANYWHERE), vmcs = palloc(1, PALLOC_ANYWHERE);
	if (!v || !vmxon_region || !vmcs) {
		pr_err("vmx: out of hypervisor memory for this CPU's VMX regions");
		return NULL;
	}
	/* 25.2: both regions start with the VMCS revision identifier. */
	*(u32 *)(uintptr_t)vmxon_region = vmx.caps.revision;
	*(u32 *)(uintptr_t)vmcs = vmx.caps.revision;

	char why[96];
	enum vmx_result r = vmxon(vmxon_region);
	if (r != VMX_OK) {
		pr_err("vmx: VMXON failed: %s", vmx_describe_failure(r, why, sizeof(why)));
		return NULL;
	}
	if ((r = vmclear(vmcs)) != VMX_OK || (r = vmptrld(vmcs)) != VMX_OK) {
		pr_err("vmx: cannot make the VMCS current: %s", vmx_describe_failure(r, why, sizeof(why)));
		return NULL;
	}
	v->cpu = pc;
	v->index = index;
	v->vpid = (u16)(index + 1); /* VPID 0 is the host's */
	v->vmxon_region = vmxon_region;
	v->vmcs = vmcs;
	if (vmx.efer_by_list && !(v->msr_lists = palloc(1, PALLOC_ANYWHERE))) {
		pr_err("vmx: out of hypervisor memory for this CPU's MSR-load lists");
		return NULL;
	}
	v->state = VCPU_OFF;
	pc->vcpu = v;
	return v;
}

static void host_state(struct vcpu *v)
{
	struct percpu *pc = v->cpu;
	vmcs_writenat(VMCS_HOST_CR0, read_cr0());
	vmcs_writenat(VMCS_HOST_CR3, read_cr3());
	vmcs_writenat(VMCS_HOST_CR4, read_cr4());
	vmcs_write16(VMCS_HOST_CS_SELECTOR, SEL_CODE64);
	vmcs_write16(VMCS_HOST_SS_SELECTOR, SEL_DATA);
	vmcs_write16(VMCS_HOST_DS_SELECTOR, SEL_DATA);
	vmcs_write16(VMCS_HOST_ES_SELECTOR, SEL_DATA);
	vmcs_write16(VMCS_HOST_FS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_GS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_TR_SELECTOR, SEL_TSS);
	vmcs_writenat(VMCS_HOST_FS_BASE, 0);
	vmcs_writenat(VMCS_HOST_GS_BASE, (u64)(uintptr_t)pc);
	vmcs_writenat(VMCS_HOST_TR_BASE, (u64)(uintptr_t)&pc->tss);
	vmcs_writenat(VMCS_HOST_GDTR_BASE, (u64)(uintptr_t)pc->gdt);
	vmcs_writenat(VMCS_HOST_IDTR_BASE, idt_base());
	vmcs_write32(VMCS_HOST_IA32_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	if (vmx.exit & EXIT_LOAD_IA32_EFER)
		vmcs_write64(VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	if (vmx.exit & EXIT_LOAD_IA32_PAT)
		vmcs_write64(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	/*
	 * Exits land on the top of this CPU's stack (the launch path's frames are
	 * abandoned), in a 16-byte aligned slot that holds the vCPU pointer.
	 */
	u64 slot = ALIGN_DOWN(pc->stack_top - 16, 16);
	*(struct vcpu **)(uintptr_t)slot = v;
	vmcs_writenat(VMCS_HOST_RSP, slot);
	vmcs_writenat(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);
}

void vmcs_init(struct vcpu *v)
{
	vmcs_write32(VMCS_PIN_BASED_CONTROLS, vmx.pin);
	vmcs_write32(VMCS_PROC_BASED_CONTROLS, vmx.proc);
	if (vmx.proc & PROC_ACTIVATE_SECONDARY)
		vmcs_write32(VMCS_SECONDARY_PROC_BASED_CONTROLS, vmx.proc2);
	vmcs_write32(VMCS_EXIT_CONTROLS, vmx.exit);
	vmcs_write32(VMCS_ENTRY_CONTROLS, vmx.entry);
	/* The VMCS layout is the CPU's own (25.11.3): every field used is written, none assumed zero. */
	vmcs_write32(VMCS_EXCEPTION_BITMAP, 0);
	if (vmx.preemption_ticks)
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, vmx.preemption_ticks);
	vmcs_write32(VMCS_PF_ERROR_CODE_MASK, 0);
	vmcs_write32(VMCS_PF_ERROR_CODE_MATCH, 0);
	vmcs_write64(VMCS_TSC_OFFSET, 0);
	if (vmx.proc2 & PROC2_ENABLE_XSAVES)
		vmcs_write64(VMCS_XSS_EXITING_BITMAP, 0);
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	if (v->msr_lists) {
		vmcs_write64(VMCS_ENTRY_MSR_LOAD_ADDR, v->msr_lists);
		vmcs_write64(VMCS_EXIT_MSR_LOAD_ADDR, v->msr_lists + sizeof(struct msr_entry));
	}
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	vmcs_write64(VMCS_MSR_BITMAP, vmx.msr_bitmap);
	vmcs_write64(VMCS_IO_BITMAP_A, vmx.io_bitmap_a);
	vmcs_write64(VMCS_IO_BITMAP_B, vmx.io_bitmap_b);
	vmcs_writenat(VMCS_CR0_GUEST_HOST_MASK, vmx.cr0_mask);
	vmcs_writenat(VMCS_CR4_GUEST_HOST_MASK, vmx.cr4_mask);
	if (vmx.eptp)
		vmcs_write64(VMCS_EPT_POINTER, vmx.eptp);
	/* Shadow paging: a vCPU starts with paging off (until its MOV to CR0 turns it on). */
	v->shadow_on = false;
	if (vmx.shadow && vmx.unrestricted)
		vmcs_write32(VMCS_SECONDARY_PROC_BASED_CONTROLS,
			     vmx.proc2 | PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST);
	if (vmx.proc2 & PROC2_ENABLE_VPID)
		vmcs_write16(VMCS_VPID, v->vpid);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	host_state(v);
}

void vmcs_guest_segment(unsigned seg, u16 sel, u64 base, u32 limit, u32 ar)
{
	/* The encodings of one kind are 2 apart in segment order (appendix B). */
	vmcs_write_checked(VMCS_GUEST_ES_SELECTOR + 2 * seg, sel, VMCS_W16);
	vmcs_write_checked(VMCS_GUEST_ES_BASE + 2 * seg, base, VMCS_WNAT);
	vmcs_write_checked(VMCS_GUEST_ES_LIMIT + 2 * seg, limit, VMCS_W32);
	vmcs_write_checked(VMCS_GUEST_ES_ACCESS_RIGHTS + 2 * seg, ar, VMCS_W32);
}

void vmcs_guest_segment_read(unsigned seg, u16 *sel, u64 *base, u32 *limit, u32 *ar)
{
	*sel = (u16)vmcs_read_checked(VMCS_GUEST_ES_SELECTOR + 2 * seg, VMCS_W16);
	*base = vmcs_read_checked(VMCS_GUEST_ES_BASE + 2 * seg, VMCS_WNAT);
	*limit = (u32)vmcs_read_checked(VMCS_GUEST_ES_LIMIT + 2 * seg, VMCS_W32);
	*ar = (u32)vmcs_read_checked(VMCS_GUEST_ES_ACCESS_RIGHTS + 2 * seg, VMCS_W32);
}

static void guest_common(u64 cr0, u64 cr4, u64 efer)
{
	struct vcpu *v = this_cpu()->vcpu;
	vcpu_load_cr0(v, cr0);
	vcpu_load_cr4(v, cr4);
	vcpu_set_efer(v, efer);
	if (vmx.entry & ENTRY_LOAD_IA32_PAT)
		vmcs_write64(VMCS_GUEST_IA32_PAT, PAT_POWER_ON_DEFAULT);
	if (vmx.entry & ENTRY_LOAD_DEBUG_CONTROLS)
		vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_writenat(VMCS_GUEST_DR7, 0x400);
	vmcs_writenat(VMCS_GUEST_RFLAGS, BIT(1));
	vmcs_writenat(VMCS_GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(VMCS_GUEST_IA32_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_GUEST_IA32_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_GUEST_IA32_SYSENTER_EIP, 0);
}

void vcpu_load_cr0(struct vcpu *v, u64 val)
{
	u64 hw = (val | vmx.cr0_fixed0) & vmx.cr0_fixed1;
	/* Shadow tables are 4-level tables and rely on write protection holding in supervisor mode too. */
	if (v->shadow_on)
		hw |= CR0_PE | CR0_PG | CR0_WP;
	/*
	 * With shadow paging the CPU keeps its caches on whatever the guest
	 * writes to CD and NW (the guest reads back its own values): Bochs
	 * faults writes through writable shadow entries while CD and NW are
	 * set. Linux sets CD only around MTRR updates, with WBINVD anyway.
	 */
	if (vmx.shadow)
		hw &= ~(u64)(CR0_CD | CR0_NW);
	vmcs_writenat(VMCS_CR0_READ_SHADOW, val);
	vmcs_writenat(VMCS_GUEST_CR0, hw);
}

void vcpu_load_cr4(struct vcpu *v, u64 val)
{
	u64 hw = (val | vmx.cr4_fixed0) & vmx.cr4_fixed1;
	/* Shadow roots are not PCIDs: the hardware runs without them (the root cache keys on the guest's). */
	if (v->shadow_on)
		hw = (hw | CR4_PAE) & ~(u64)CR4_PCIDE;
	vmcs_writenat(VMCS_CR4_READ_SHADOW, val);
	vmcs_writenat(VMCS_GUEST_CR4, hw);
}

u64 vcpu_efer(struct vcpu *v)
{
	return vmx.trap_efer ? v->guest_efer : vmcs_read64(VMCS_GUEST_IA32_EFER);
}

void vcpu_set_efer(struct vcpu *v, u64 efer)
{
	v->guest_efer = efer;
	u32 entry = vmcs_read32(VMCS_ENTRY_CONTROLS) & ~(u32)ENTRY_IA32E_MODE_GUEST;
	if (efer & EFER_LMA)
		entry |= ENTRY_IA32E_MODE_GUEST;
	vmcs_write32(VMCS_ENTRY_CONTROLS, entry);
	if (!vmx.efer_by_list) {
		vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
		return;
	}
	/* Entry loads the guest's EFER, exit restores slatvisor's; nothing to do when they agree. */
	struct msr_entry *l = (struct msr_entry *)(uintptr_t)v->msr_lists;
	u64 host = rdmsr(MSR_IA32_EFER);
	l[0] = (struct msr_entry){ MSR_IA32_EFER, 0, efer };
	l[1] = (struct msr_entry){ MSR_IA32_EFER, 0, host };
	u32 n = efer == host ? 0 : 1;
	vmcs_write32(VMCS_ENTRY_MSR_LOAD_COUNT, n);
	vmcs_write32(VMCS_EXIT_MSR_LOAD_COUNT, n);
}

void vmcs_guest_long_mode(const struct guest_entry *e)
{
	/* Documentation/x86/boot.rst, 64-bit boot protocol: flat segments, paging on. */
	u32 code = AR_TYPE_CODE_XR_A | AR_S | AR_P | AR_L | AR_G;
	u32 data = AR_TYPE_DATA_RW_A | AR_S | AR_P | AR_DB | AR_G;
	vmcs_guest_segment(SEG_CS, e->cs, 0, 0xFFFFFFFF, code);
	vmcs_guest_segment(SEG_SS, e->ds, 0, 0xFFFFFFFF, data);
	vmcs_guest_segment(SEG_DS, e->ds, 0, 0xFFFFFFFF, data);
	vmcs_guest_segment(SEG_ES, e->ds, 0, 0xFFFFFFFF, data);
	vmcs_guest_segment(SEG_FS, e->ds, 0, 0xFFFFFFFF, data);
	vmcs_guest_segment(SEG_GS, e->ds, 0, 0xFFFFFFFF, data);
	vmcs_guest_segment(SEG_LDTR, 0, 0, 0, AR_UNUSABLE);
	vmcs_guest_segment(SEG_TR, 0, 0, 0x67, AR_TYPE_TSS_BUSY | AR_P); /* 26.3.1.2: TR must be usable */
	vmcs_writenat(VMCS_GUEST_GDTR_BASE, e->gdt_base);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, e->gdt_limit);
	vmcs_writenat(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0);
	guest_common(CR0_PE | CR0_ET | CR0_NE | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA);
	vmcs_writenat(VMCS_GUEST_CR3, e->cr3);
	vmcs_writenat(VMCS_GUEST_RSP, 0);
	vmcs_writenat(VMCS_GUEST_RIP, e->rip);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
}

void vmcs_guest_init_state(void)
{
	/* SDM Vol. 3A, table 10-1: the state after INIT, real mode at F000:FFF0. */
	u32 data = AR_TYPE_DATA_RW_A | AR_S | AR_P;
	vmcs_guest_segment(SEG_CS, 0xF000, 0xFFFF0000, 0xFFFF, AR_TYPE_CODE_XR_A | AR_S | AR_P);
	vmcs_guest_segment(SEG_SS, 0, 0, 0xFFFF, data);
	vmcs_guest_segment(SEG_DS, 0, 0, 0xFFFF, data);
	vmcs_guest_segment(SEG_ES, 0, 0, 0xFFFF, data);
	vmcs_guest_segment(SEG_FS, 0, 0, 0xFFFF, data);
	vmcs_guest_segment(SEG_GS, 0, 0, 0xFFFF, data);
	vmcs_guest_segment(SEG_LDTR, 0, 0, 0xFFFF, AR_TYPE_LDT | AR_P);
	vmcs_guest_segment(SEG_TR, 0, 0, 0xFFFF, AR_TYPE_TSS_BUSY | AR_P);
	vmcs_writenat(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, 0xFFFF);
	vmcs_writenat(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0xFFFF);
	guest_common(CR0_ET, 0, 0);
	vmcs_writenat(VMCS_GUEST_CR3, 0);
	vmcs_writenat(VMCS_GUEST_RSP, 0);
	vmcs_writenat(VMCS_GUEST_RIP, 0xFFF0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_FOR_SIPI);
}

void vmcs_guest_sipi(u8 vector)
{
	/* SDM Vol. 3A, 9.4.4: the AP starts at vector:0000 in real mode. */
	vmcs_guest_segment(SEG_CS, (u16)(vector << 8), (u64)vector << 12, 0xFFFF,
		      AR_TYPE_CODE_XR_A | AR_S | AR_P);
	vmcs_writenat(VMCS_GUEST_RIP, 0);
	/* Nothing blocks events in a freshly started CPU (the wait may have left NMI/SMI blocking). */
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_writenat(VMCS_GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
}

void vcpu_skip_instruction(struct vcpu *v)
{
	(void)v;
	vmcs_writenat(VMCS_GUEST_RIP,
		      vmcs_readnat(VMCS_GUEST_RIP) + vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH));
	/* An emulated instruction ends any STI or MOV SS interrupt shadow. */
	u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     intr & ~(u32)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	/*
	 * Single-stepping: the emulated instruction completed, so its #DB is due.
	 * The BS bit of the pending debug exceptions delivers it at VM entry (25.4.2).
	 */
	if (vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_TF)
		vmcs_writenat(VMCS_GUEST_PENDING_DEBUG_EXCEPTIONS,
			      vmcs_readnat(VMCS_GUEST_PENDING_DEBUG_EXCEPTIONS) | PENDING_DBG_BS);
}

void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	/*
	 * An exit during event delivery (28.2.4): the exception meets the event it interrupted,
	 * as it would have in the CPU. An interrupted external interrupt or NMI is not delivered
	 * again: its delivery raised a fault the guest sees, as it would on bare metal.
	 */
	switch (event_combine(vmcs_read32(VMCS_IDT_VECTORING_INFO), vector)) {
	case EVENT_DOUBLE_FAULT:
		vector = VEC_DF;
		has_error = true;
		error = 0;
		break;
	case EVENT_SHUTDOWN:
		guest_triple_fault(v, " (a fault while its double fault was delivered)");
	case EVENT_SERIAL:
		break;
	}
	u32 info = INTR_INFO_VALID | ((u32)INTR_TYPE_HW_EXCEPTION << INTR_TYPE_SHIFT) | vector;
	/* 26.2.1.3: real mode (unrestricted guest) delivers exceptions without an error code. */
	if (has_error && (vmcs_readnat(VMCS_GUEST_CR0) & CR0_PE)) {
		info |= INTR_INFO_DELIVER_ERROR;
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, info);
}

u64 vcpu_guest_cr0(void)
{
	return (vmcs_readnat(VMCS_GUEST_CR0) & ~vmx.cr0_mask) |
	       (vmcs_readnat(VMCS_CR0_READ_SHADOW) & vmx.cr0_mask);
}

u64 vcpu_guest_cr4(void)
{
	return (vmcs_readnat(VMCS_GUEST_CR4) & ~vmx.cr4_mask) |
	       (vmcs_readnat(VMCS_CR4_READ_SHADOW) & vmx.cr4_mask);
}

unsigned vcpu_guest_cpl(void)
{
	return (vmcs_read32(VMCS_GUEST_SS_ACCESS_RIGHTS) >> 5) & 3;
}

void vcpu_proc_control(u32 bit, bool on)
{
	u32 proc = vmcs_read32(VMCS_PROC_BASED_CONTROLS);
	u32 want = on ? proc | bit : proc & ~bit;
	if (want != proc)
		vmcs_write32(VMCS_PROC_BASED_CONTROLS, want);
}

void invvpid_vcpu(struct vcpu *v)
{
	if (vmx.use_vpid)
		invvpid(INVVPID_SINGLE_CONTEXT, v->vpid, 0);
}

u64 vcpu_gpr(struct vcpu *v, unsigned reg)
{
	u64 val = reg == GPR_RSP ? vmcs_readnat(VMCS_GUEST_RSP) : v->regs.gpr[reg];
	/* SDM Vol. 1, 3.4.1.1: outside 64-bit mode the upper halves are not the program's. */
	if (!(vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & AR_L))
		val = (u32)val;
	return val;
}

void vcpu_set_gpr(struct vcpu *v, unsigned reg, u64 value)
{
	if (reg == GPR_RSP)
		vmcs_writenat(VMCS_GUEST_RSP, value);
	else
		v->regs.gpr[reg] = value;
}
