/* cpu.h: control registers, CPUID, TSC and the small instructions the kernel needs. */
#ifndef SLAT_CPU_H
#define SLAT_CPU_H

#include "../../kernel/types.h"

/* SDM Vol. 3A, 2.5: control register bits. */
#define CR3_NO_FLUSH BIT(63) /* with CR4.PCIDE: keep the PCID's cached translations */
#define CR3_LAM_U57 BIT(61)  /* linear-address masking for user pointers (CPUs with LAM) */
#define CR3_LAM_U48 BIT(62)
#define CR0_PE BIT(0)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_PGE BIT(7)
#define CR4_VMXE BIT(13)
#define CR4_SMXE BIT(14)
#define CR4_LA57 BIT(12)
#define CR4_OSXSAVE BIT(18)
#define CR4_PCIDE BIT(17)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)

#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)
#define RFLAGS_AC BIT(18)

/* CPUID feature bits (SDM Vol. 2A, CPUID). */
#define CPUID1_ECX_MONITOR BIT(3)
#define CPUID1_ECX_VMX BIT(5)
#define CPUID1_ECX_SMX BIT(6)
#define CPUID1_ECX_PCID BIT(17)
#define CPUID1_ECX_X2APIC BIT(21)
#define CPUID1_ECX_XSAVE BIT(26)
#define CPUID1_ECX_OSXSAVE BIT(27)
#define CPUID1_ECX_HYPERVISOR BIT(31)
#define CPUID1_EDX_APIC BIT(9)
#define CPUID1_EDX_MSR BIT(5)
#define CPUID80000001_EDX_NX BIT(20)
#define CPUID80000001_EDX_PAGE1GB BIT(26)
#define CPUID80000001_EDX_RDTSCP BIT(27)
#define CPUID7_EBX_INVPCID BIT(10)
#define CPUID7_ECX_WAITPKG BIT(5)
#define CPUID7_ECX_LA57 BIT(16)
#define CPUID7_EDX_PCONFIG BIT(18)
#define CPUID71_EAX_LAM BIT(26)
#define CPUIDD1_EAX_XSAVES BIT(3)
#define CPUID80000001_EDX_LM BIT(29)

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline u32 cpuid_max_ext(void)
{
	return cpuid(0x80000000, 0).eax;
}

/* MAXPHYADDR: CPUID 0x80000008 EAX[7:0]; 36 on a CPU without that leaf (SDM Vol. 3A, 4.1.4). */
static inline unsigned cpu_maxphyaddr(void)
{
	return cpuid_max_ext() >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xFF : 36;
}

/*
 * The CR3 bits a MOV to CR3 must find clear, or #GP (SDM Vol. 3A, 4.5,
 * table 4-12, and the MOV to CR reference): 63 down to MAXPHYADDR, except
 * LAM's two where the CPU has LAM. Bit 63 counts too: with CR4.PCIDE the
 * caller has taken it off first as the no-flush hint.
 */
static inline u64 cr3_reserved_mask(unsigned maxphyaddr, bool lam)
{
	return (~0ULL << maxphyaddr) & ~(lam ? CR3_LAM_U57 | CR3_LAM_U48 : 0);
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#define DEFINE_CR(n)                                                   \
	static inline u64 read_cr##n(void)                             \
	{                                                              \
		u64 v;                                                 \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));      \
		return v;                                              \
	}                                                              \
	static inline void write_cr##n(u64 v)                          \
	{                                                              \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline u64 xgetbv(u32 index)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((u64)hi << 32) | lo;
}

static inline void xsetbv(u32 index, u64 v)
{
	__asm__ volatile("xsetbv" : : "c"(index), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline void wbinvd(void)
{
	__asm__ volatile("wbinvd" ::: "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void hlt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

/*
 * End NMI blocking with an IRET to the next instruction (SDM Vol. 3A,
 * 6.7.1: IRET unblocks NMIs). A VM exit caused by an NMI leaves NMIs
 * blocked (SDM Vol. 3C, chapter 28, on VM exits caused by NMIs); VM entry ends it on
 * hardware but not in Bochs 2.7, whose later NMIs then never reach the
 * vCPU. An IRET in root operation unblocks them either way.
 */
static inline void cpu_unblock_nmi(void)
{
	__asm__ volatile("mov %%rsp, %%rax\n\t"
			 "mov %%ss, %%ecx\n\t"
			 "push %%rcx\n\t"
			 "push %%rax\n\t"
			 "pushfq\n\t"
			 "mov %%cs, %%ecx\n\t"
			 "push %%rcx\n\t"
			 "lea 1f(%%rip), %%rcx\n\t"
			 "push %%rcx\n\t"
			 "iretq\n"
			 "1:"
			 ::: "rax", "rcx", "memory", "cc");
}

/* Stop this CPU for good: NMIs and SMIs wake HLT, so loop. */
static inline NORETURN void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

#endif
