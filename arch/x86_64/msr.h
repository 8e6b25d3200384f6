/* msr.h: model-specific register numbers (SDM Vol. 4, chapter 2) and RDMSR/WRMSR. */
#ifndef SLAT_MSR_H
#define SLAT_MSR_H

#include "../../kernel/types.h"

#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_BSP BIT(8)    /* this CPU is the bootstrap processor */
#define APIC_BASE_EXTD BIT(10)  /* x2APIC mode */
#define APIC_BASE_ENABLE BIT(11) /* APIC global enable */
#define APIC_BASE_ADDR_MASK GENMASK(51, 12)

#define MSR_IA32_FEATURE_CONTROL 0x3A
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_DEBUGCTL 0x1D9
#define MSR_IA32_PAT 0x277
#define PAT_POWER_ON_DEFAULT 0x0007040600070406ULL
#define MSR_IA32_EFER 0xC0000080
#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

#endif
