/* gdt.c: build and load each CPU's GDT and TSS, and hand out its GS base. */
#include "percpu.h"
#include "idt.h"
#include "msr.h"
#include "../../kernel/kstring.h"
#include "../../mm/paging.h"

struct percpu *cpus[MAX_CPUS];
unsigned ncpus_online;

static struct percpu bsp_percpu;

struct percpu *percpu_bsp(void)
{
	return &bsp_percpu;
}

static void build_gdt(struct percpu *pc)
{
	u64 flat = DESC_PRESENT | DESC_CODE_DATA | DESC_RW | DESC_ACCESSED | DESC_LIMIT_MAX | DESC_GRAN;
	pc->gdt[0] = 0;
	pc->gdt[SEL_CODE64 / 8] = flat | DESC_EXEC | DESC_LONG;
	pc->gdt[SEL_DATA / 8] = flat | DESC_DB;

	u64 base = (u64)(uintptr_t)&pc->tss;
	u64 limit = sizeof(pc->tss) - 1;
	pc->gdt[SEL_TSS / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
			       (DESC_TYPE_TSS_AVAIL << 40) | DESC_PRESENT |
			       (((base >> 24) & 0xFF) << 56);
	pc->gdt[SEL_TSS / 8 + 1] = base >> 32;
}

void percpu_install(struct percpu *pc, u32 index, u64 stack_base, u64 stack_top)
{
	pc->self = pc;
	pc->index = index;
	pc->stack_base = stack_base;
	pc->stack_top = stack_top;
	memset(&pc->tss, 0, sizeof(pc->tss));
	for (int i = 0; i < IST_COUNT; i++)
		pc->tss.ist[i] = (u64)(uintptr_t)pc->ist[i].stack + IST_STACK_SIZE;
	pc->tss.iomap_base = sizeof(pc->tss); /* no I/O bitmap */
	build_gdt(pc);

	struct desc_ptr gdtr = { sizeof(pc->gdt) - 1, (u64)(uintptr_t)pc->gdt };
	/* Reload CS with a far return; data segments are flat and ignored in 64-bit mode. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(SEL_CODE64), "r"(SEL_DATA), "r"(SEL_TSS)
			 : "rax", "memory");
	/* Loading GS zeroed its base; set it last. */
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)pc);
	idt_load();
	cpus[index] = pc;
}

void percpu_add_guards(struct percpu *pc)
{
	static const char *const ist_name[IST_COUNT] = { "#DF IST", "NMI IST", "#MC IST" };
	paging_add_guard(pc->stack_base - PAGE_SIZE, pc->index, "kernel");
	for (int i = 0; i < IST_COUNT; i++)
		paging_add_guard((u64)(uintptr_t)pc->ist[i].guard, pc->index, ist_name[i]);
}
