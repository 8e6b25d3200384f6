/*
 * tss.c: a 64-bit TSS whose IST1 stack takes the double fault. A #DF raised because the
 * stack in use is unusable (the double_fault probe) must be delivered on a stack of its own,
 * or it would become a triple fault (SDM Vol. 3A, 6.14.5 and 8.7). The GDT of head.asm has
 * no room for the TSS descriptor, so this one replaces it: the same code and data
 * descriptors at the same selectors, the TSS after them.
 */
#include "guest.h"

#define GDT_TSS 0x18
#define TSS_TYPE_AVAILABLE_64 0x89 /* present, DPL 0, type 9 (available 64-bit TSS) */

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
} __attribute__((packed));

static struct tss64 tss __attribute__((aligned(16)));
static u8 df_stack[8192] __attribute__((aligned(16)));
static u64 gdt[6] __attribute__((aligned(16))) = {
	0,
	0x00AF9A000000FFFFULL, /* 0x08: 64-bit code, as in head.asm */
	0x00CF92000000FFFFULL, /* 0x10: data */
	0, 0,                  /* 0x18: the TSS */
	0x00CF9A000000FFFFULL, /* 0x28: 32-bit code (paging_off.asm) */
};

void tss_init(void)
{
	u64 base = (u64)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	tss.ist[0] = (u64)(uintptr_t)(df_stack + sizeof(df_stack));
	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */
	gdt[GDT_TSS / 8] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | (u64)TSS_TYPE_AVAILABLE_64 << 40 |
			   ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
	gdt[GDT_TSS / 8 + 1] = base >> 32;
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) ptr = { sizeof(gdt) - 1, (u64)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0" : : "m"(ptr));
	__asm__ volatile("ltr %w0" : : "r"((u16)GDT_TSS));
	idt_set_ist(VEC_DF, 1);
}

/* Take the IST stack away again, so that the next double fault is a triple fault. */
void tss_drop_df_stack(void)
{
	idt_set_ist(VEC_DF, 0);
}

/* Vector @vec runs on IST stack @ist (2-7; 1 is the double fault's), whose top is @top. */
void tss_use_stack(unsigned vec, unsigned ist, u64 top)
{
	tss.ist[ist - 1] = top;
	idt_set_ist(vec, top ? ist : 0);
}
