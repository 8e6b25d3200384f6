/* emul.h: a bounded x86 interpreter for a CPU's start-up code, from its SIPI vector to the first state VT-x can enter. */
#ifndef SLAT_EMUL_H
#define SLAT_EMUL_H

#include "../kernel/types.h"

/*
 * What the interpreter covers is what real AP start-up code uses (Linux's
 * trampoline_64.S and verify_cpu.S): real mode and 16/32-bit protected mode
 * with paging off. It stops at the first instruction boundary where the
 * state passes the VM-entry checks of a CPU without unrestricted guest (SDM
 * Vol. 3C, 26.3.1), and at anything it does not do; it never raises an
 * exception in the guest (a guest in the middle of a mode switch has no
 * usable IDT), so every fault stops the vCPU.
 *
 * It is pure C: memory, CPUID, MSRs and control registers are reached only
 * through struct emul_ops, which the hypervisor backs with the same policy
 * as its VM-exit handlers and the unit tests with a model.
 */

/* Segment registers in the order of their encoding (SDM Vol. 2, 3.1.1.3), which is also the VMCS's. */
enum emul_sreg { SR_ES, SR_CS, SR_SS, SR_DS, SR_FS, SR_GS, SR_LDTR, SR_TR, SR_COUNT };

/* General registers in encoding order (SDM Vol. 2, table 2-2). */
enum emul_gpr { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };

/*
 * A segment register with its hidden part (SDM Vol. 3A, 3.4.3). @ar is in
 * the VMCS format (SDM Vol. 3C, 25.4.1, table 25-2): type 3:0, S 4, DPL 6:5,
 * P 7, AVL 12, L 13, D/B 14, G 15, unusable 16. @limit is the byte limit.
 */
struct emul_seg {
	u16 sel;
	u32 base;
	u32 limit;
	u32 ar;
};

#define EMUL_AR_TYPE(ar) ((ar) & 0xF)
#define EMUL_AR_S BIT(4)
#define EMUL_AR_DPL(ar) (((ar) >> 5) & 3)
#define EMUL_AR_P BIT(7)
#define EMUL_AR_L BIT(13)
#define EMUL_AR_DB BIT(14)
#define EMUL_AR_G BIT(15)
#define EMUL_AR_UNUSABLE BIT(16)

/* Segment types (SDM Vol. 3A, 3.4.5.1, table 3-1), for S = 1. */
#define SEG_TYPE_ACCESSED BIT(0)
#define SEG_TYPE_DATA_WRITABLE BIT(1) /* data: writable; code: readable */
#define SEG_TYPE_CODE_READABLE BIT(1)
#define SEG_TYPE_DATA_EXPAND_DOWN BIT(2)
#define SEG_TYPE_CODE_CONFORMING BIT(2)
#define SEG_TYPE_CODE BIT(3)
/* System types (table 3-2), for S = 0. */
#define SEG_TYPE_LDT 0x2
#define SEG_TYPE_TSS16_BUSY 0x3
#define SEG_TYPE_TSS_BUSY 0xB

/* The interpreted CPU's registers; control registers and MSRs live behind emul_ops. */
struct emul_cpu {
	u32 gpr[8];
	u32 eip;
	u32 eflags;
	struct emul_seg seg[SR_COUNT];
	u32 gdt_base, idt_base;
	u16 gdt_limit, idt_limit;
	/* An interrupt shadow after STI or MOV SS (SDM Vol. 3C, 25.4.2): the VM entry must keep it. */
	bool sti_shadow, movss_shadow;
};

/* RFLAGS bits (SDM Vol. 1, 3.4.3). */
#define FL_CF BIT(0)
#define FL_FIXED1 BIT(1)
#define FL_PF BIT(2)
#define FL_AF BIT(4)
#define FL_ZF BIT(6)
#define FL_SF BIT(7)
#define FL_TF BIT(8)
#define FL_IF BIT(9)
#define FL_DF BIT(10)
#define FL_OF BIT(11)
#define FL_IOPL (BIT(12) | BIT(13))
#define FL_NT BIT(14)
#define FL_RF BIT(16)
#define FL_VM BIT(17)
#define FL_AC BIT(18)
#define FL_ID BIT(21)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* The control state the interpreter reads and writes through emul_ops. */
enum emul_ctl { CTL_CR0, CTL_CR3, CTL_CR4, CTL_EFER };

/* How an access behind emul_ops went. */
enum emul_access {
	ACC_OK,
	ACC_GP,      /* the architecture faults it: #GP(0) */
	ACC_STOP,    /* the policy stopped the vCPU (it said why) */
	ACC_NO_RAM,  /* not guest RAM (hypervisor memory, MMIO, nothing) */
};

struct emul_cpuid {
	u32 eax, ebx, ecx, edx;
};

struct emul_ops {
	/* Guest-physical memory: RAM the guest owns, nothing else. */
	enum emul_access (*read)(void *ctx, u64 gpa, void *buf, unsigned len);
	enum emul_access (*write)(void *ctx, u64 gpa, const void *buf, unsigned len);
	u64 (*read_ctl)(void *ctx, enum emul_ctl which);
	/* MOV to CR0/CR3/CR4, LMSW (as the CR0 value it makes): checked and applied, or refused. */
	enum emul_access (*write_ctl)(void *ctx, enum emul_ctl which, u64 value);
	void (*cpuid)(void *ctx, u32 leaf, u32 subleaf, struct emul_cpuid *out);
	enum emul_access (*rdmsr)(void *ctx, u32 msr, u64 *value);
	enum emul_access (*wrmsr)(void *ctx, u32 msr, u64 value);
	void *ctx;
};

/* Why the interpreter returned. */
enum emul_stop {
	EMUL_READY,          /* the state passes the VM-entry checks: enter at cpu.eip */
	EMUL_HALT,           /* HLT: the CPU waits for INIT (interrupts are not emulated) */
	EMUL_FAULT,          /* an exception: @vector, @error */
	EMUL_UNKNOWN,        /* an instruction the interpreter does not do */
	EMUL_BUDGET,         /* the step budget ran out */
	EMUL_NO_RAM,         /* a memory access outside guest RAM, at @addr */
	EMUL_POLICY,         /* a CR/MSR policy stopped it (and said why) */
	EMUL_NOT_ENTERABLE,  /* paging is on, but the state is not one VT-x can enter */
};

#define EMUL_MAX_INSN 15 /* SDM Vol. 2, 2.3.11: longer instructions raise #GP */

struct emul_result {
	enum emul_stop why;
	u8 vector;
	u32 error;
	u64 addr;
	u64 steps;               /* instructions completed */
	const char *detail;      /* EMUL_NOT_ENTERABLE: the VM-entry rule broken */
	/* Where the instruction that stopped it began, and its bytes (as many as could be fetched). */
	u16 cs;
	u32 eip;
	u8 bytes[EMUL_MAX_INSN];
	unsigned nbytes;
};

/* The state after INIT and a STARTUP IPI with @vector (SDM Vol. 3A, table 10-1 and 9.4.4). */
void emul_cpu_sipi(struct emul_cpu *cpu, u8 vector);

/* Interpret from cpu->eip until one of enum emul_stop, at most @budget instructions. */
void emul_run(struct emul_cpu *cpu, const struct emul_ops *ops, u64 budget, struct emul_result *res);

/*
 * Whether the state passes the guest-state checks of VM entry without
 * unrestricted guest (SDM Vol. 3C, 26.3.1.1-26.3.1.4, the parts a start-up
 * sequence can break). On false, @why names the first rule broken.
 */
bool emul_vmentry_ready(const struct emul_cpu *cpu, const struct emul_ops *ops, const char **why);

/* One line for the serial log: the reason, vector, CS:IP and the bytes. Returns @buf. */
const char *emul_describe(const struct emul_result *res, char *buf, size_t size);

#endif
