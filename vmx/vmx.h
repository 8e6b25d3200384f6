/* vmx.h: VMX operation: the choices made once for all CPUs, and each CPU's way into VMX. */
#ifndef SLAT_VMX_H
#define SLAT_VMX_H

#include "caps.h"
#include "event.h"
#include "vcpu.h"

/* SDM Vol. 3C, 25.4.1: activity states. */
#define ACTIVITY_ACTIVE 0
#define ACTIVITY_HLT 1
#define ACTIVITY_SHUTDOWN 2
#define ACTIVITY_WAIT_FOR_SIPI 3

/* 25.4.2: guest interruptibility state. */
#define INTERRUPTIBILITY_STI BIT(0)
#define INTERRUPTIBILITY_MOV_SS BIT(1)
#define INTERRUPTIBILITY_NMI BIT(3)

/* 25.4.2: pending debug exceptions, BS = a single-step trap is due. */
#define PENDING_DBG_BS BIT(14)

/* Segment access rights in the VMCS (25.4.1, table 25-2). */
#define AR_TYPE_CODE_XR_A 0xB
#define AR_TYPE_DATA_RW_A 0x3
#define AR_TYPE_TSS_BUSY 0xB
#define AR_TYPE_LDT 0x2
#define AR_S BIT(4)
#define AR_P BIT(7)
#define AR_L BIT(13)
#define AR_DB BIT(14)
#define AR_G BIT(15)
#define AR_UNUSABLE BIT(16)

/* SDM Vol. 3C, 25.7.2: an entry of the VM-entry/exit MSR-load lists. */
struct msr_entry {
	u32 index;
	u32 reserved;
	u64 value;
};

struct vmx_config {
	struct vmx_caps caps;
	bool use_ept, use_vpid;
	bool shadow;       /* guest paging runs on shadow page tables (vmx/shadow.c) */
	/*
	 * Unrestricted guest: real mode and paging-off code run natively on the
	 * EPT identity map. With shadow paging, only while the guest's paging is off.
	 */
	bool unrestricted;
	/*
	 * Virtual NMIs (SDM Vol. 3C, 25.6.1): the guest's IRET ends the blocking an injected NMI
	 * sets, and NMI-window exiting says when the next one may go in. Without them, with NMI
	 * exiting on, nothing ends that blocking (26.3, IRET), so a guest gets one NMI only.
	 */
	bool virtual_nmis;
	bool trap_efer;    /* the guest's EFER is kept by slatvisor (shadow paging, or MSR-load lists) */
	bool efer_by_list; /* no VM-entry "load IA32_EFER": EFER is switched by MSR-load lists */
	/*
	 * Shadow paging: KPTI's CR3 switches run from the CR3-target list
	 * (shadow/roots.c). cr3_targets: how many values the CPU takes (0: not
	 * used); cr3_reads_free: CR3-store exiting may be cleared while armed.
	 */
	unsigned cr3_targets;
	bool cr3_reads_free;
	u32 preemption_ticks; /* nonzero: every vCPU exits at least this often (preemption timer units) */
	u32 pin, proc, proc2, exit, entry; /* controls every vCPU starts with */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 cr0_mask, cr4_mask;            /* guest/host masks: bits the guest may not own */
	u64 eptp;
	u64 msr_bitmap, io_bitmap_a, io_bitmap_b;
	bool hide_rdtscp, hide_invpcid, hide_xsaves, hide_waitpkg; /* CPUID features the controls cannot back */
	bool hlt_exiting;  /* several vCPUs: HLT exits (exit_hlt.c) */
	bool hide_mwait;   /* MONITOR/MWAIT not offered: the guest idles and goes offline with HLT */
};

extern struct vmx_config vmx;

/* Boot CPU: read and print capabilities, choose the controls, build the bitmaps. */
status_t vmx_global_init(void);

/* Trap (@on) or pass through guest reads and/or writes of @msr in the shared MSR bitmap. */
void vmx_trap_msr(u32 msr, bool read, bool write, bool on);
/* Does a guest read (or write) of @msr exit? */
bool vmx_msr_trapped(u32 msr, bool write);

/* Trap guest I/O to @port (@len bytes wide) in the shared I/O bitmaps. */
void vmx_trap_io_port(u16 port, unsigned len);

/* This CPU: enable VMX, VMXON, and make a fresh VMCS current. NULL on failure (reported). */
struct vcpu *vmx_cpu_on(unsigned index);

/* Fill the VMCS controls and host state of the current VMCS. */
void vmcs_init(struct vcpu *v);

/* Guest state: 64-bit Linux entry, the post-INIT state, and a SIPI's real-mode start. */
struct guest_entry {
	u64 rip, rsi, cr3, gdt_base;
	u16 gdt_limit;
	u16 cs, ds; /* selectors of the flat code and data descriptors in that GDT */
};
void vmcs_guest_long_mode(const struct guest_entry *e);
void vmcs_guest_init_state(void);
void vmcs_guest_sipi(u8 vector);
/* Guest segment registers, by index (the VMCS's and the SDM's encoding order): ES CS SS DS FS GS LDTR TR. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };
void vmcs_guest_segment(unsigned seg, u16 sel, u64 base, u32 limit, u32 ar);
void vmcs_guest_segment_read(unsigned seg, u16 *sel, u64 *base, u32 *limit, u32 *ar);

/* Launch the current VMCS on this CPU; returns only if VM entry failed (after reporting it). */
void vcpu_launch(struct vcpu *v);

/* Guest register and event helpers used by the exit handlers. */
void vcpu_skip_instruction(struct vcpu *v);
void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error);
u64 vcpu_gpr(struct vcpu *v, unsigned reg);
/* Drop every translation cached under this vCPU's VPID (after INIT or a fresh start). */
void invvpid_vcpu(struct vcpu *v);
/* CR0/CR4 as the guest sees them: its own bits from the VMCS, slatvisor's from the read shadow. */
u64 vcpu_guest_cr0(void);
u64 vcpu_guest_cr4(void);
/* The guest's CPL: SS.DPL (SDM Vol. 3C, 25.4.1). */
unsigned vcpu_guest_cpl(void);
/* Set or clear one primary processor-based control of the current VMCS (NMI window, MTF). */
void vcpu_proc_control(u32 bit, bool on);
/* Set the guest's CR0/CR4: the read shadow holds the guest's value, the CPU what VMX and shadow paging need. */
void vcpu_load_cr0(struct vcpu *v, u64 val);
void vcpu_load_cr4(struct vcpu *v, u64 val);
/* The guest's EFER, and setting it (with the IA-32e mode entry control that follows LMA). */
u64 vcpu_efer(struct vcpu *v);
void vcpu_set_efer(struct vcpu *v, u64 efer);
void vcpu_set_gpr(struct vcpu *v, unsigned reg, u64 value);

#endif
