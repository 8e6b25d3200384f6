/* vcpu.h: one virtual CPU per physical CPU: its saved guest registers, VMX regions and statistics. */
#ifndef SLAT_VCPU_H
#define SLAT_VCPU_H

/* BEGIN NASM */
#define GREG_RAX 0
#define GREG_RCX 8
#define GREG_RDX 16
#define GREG_RBX 24
#define GREG_RSP 32
#define GREG_RBP 40
#define GREG_RSI 48
#define GREG_RDI 56
#define GREG_R8 64
#define GREG_R9 72
#define GREG_R10 80
#define GREG_R11 88
#define GREG_R12 96
#define GREG_R13 104
#define GREG_R14 112
#define GREG_R15 120
#define GREG_SIZE 128
/* END NASM */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include "exit_reasons.h"
#include "../kernel/types.h"
#include "../shadow/mmu.h"

/*
 * Guest general registers in the order of their encoding (SDM Vol. 2, table 2-2),
 * so a register number from an exit qualification indexes gpr[] directly.
 * gpr[4] (RSP) is unused: the guest's RSP lives in the VMCS.
 */
struct guest_regs {
	u64 gpr[16];
};
enum { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI };

_Static_assert(offsetof(struct guest_regs, gpr[1]) == GREG_RCX, "guest regs");
_Static_assert(offsetof(struct guest_regs, gpr[15]) == GREG_R15, "guest regs");
_Static_assert(sizeof(struct guest_regs) == GREG_SIZE, "guest regs");

enum vcpu_state {
	VCPU_OFF,          /* not in VMX operation */
	VCPU_WAIT_SIPI,    /* launched, waiting for the guest to start it */
	VCPU_EMULATING,    /* started: its start-up code runs in the interpreter (vmx/ap_emul.c) */
	VCPU_RUNNING,      /* running guest code in VMX non-root operation */
	VCPU_HALTED,       /* its start-up code halted in the interpreter: waits for INIT */
	VCPU_STOPPED,      /* stopped (the guest, or this vCPU alone); halted in VMX root operation */
};

struct exit_stats {
	u64 count[EXIT_REASON_COUNT];
	u64 cycles[EXIT_REASON_COUNT]; /* TSC cycles spent in the handler */
	u64 other;                     /* reasons beyond the table */
	u64 open_bus_writes;           /* writes where nothing is, dropped (open_bus.c) */
};

struct percpu;

struct vcpu {
	struct guest_regs regs; /* first: the exit stub saves registers at offset 0 */
	struct percpu *cpu;
	u32 index;
	u16 vpid;
	volatile enum vcpu_state state;
	u64 vmxon_region;
	u64 vmcs;
	bool launched;
	struct exit_stats stats;
	/* The emulated start (apic_start.c): INIT seen, then the first SIPI's vector. */
	volatile bool init_received, sipi_posted;
	volatile bool nmi_pending; /* an NMI for the guest that reached slatvisor in root mode */
	u8 sipi_vector;

	/* Shadow paging (vmx/shadow.c). */
	bool shadow_on;          /* guest paging runs on shadow tables (else on the EPT, paging off) */
	struct shadow_vcpu sv;
	u64 guest_efer;          /* the guest's EFER where slatvisor keeps it (shadow mode) */
	u64 msr_lists;           /* VM-entry/exit MSR-load lists, for CPUs without the EFER controls */
	bool cr2_due;            /* a #PF is injected: load the guest's CR2 before entry */
	u64 cr2;
	u64 exit_seq;            /* VM exits so far on this vCPU, fast path included */
	/*
	 * The last #PF fixed, and which exit it was: the same fault at the very
	 * next exit means the fix did not take (a slatvisor bug).
	 */
	u64 pf_last_rip, pf_last_va, pf_last_seq, pf_last_gen;
	u64 pf_zap_rip, pf_zap_va; /* the fault behind the last full rebuild */
	u32 pf_repeat;
	u32 pf_traced, cr_traced; /* exits logged at loglevel=debug */
	bool paging_announced;
	/* TLB shootdown: another vCPU changed write protection or freed shadow tables. */
	volatile u32 kick_req, kick_ack;
	volatile u32 kick_nmis;  /* NMIs sent for shootdowns and not yet seen: not the guest's */
	volatile bool kick_flush;
	volatile bool ept_flush_req; /* INVEPT before the next entry: EPT access was narrowed (vcpu_shootdown) */
	u32 starts;                  /* times the guest started it with INIT-SIPI (apic_start.c) */
	u32 offlines;                /* times it halted with interrupts off and waited for INIT-SIPI */
	/* CR3-target list (vmx/cr3_targets.c): filled in this vCPU's VMCS; another vCPU asks it emptied. */
	bool hw_armed;
	volatile bool disarm_req;
};

/* The VM-entry stubs in vmx/entry.asm. They return only if the VM entry fails. */
int vmx_launch(struct vcpu *v);   /* 1 = VMfailInvalid, 2 = VMfailValid */
void vmx_exit_stub(void);          /* HOST_RIP */
#endif

#endif
