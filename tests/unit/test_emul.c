/* test_emul.c: the AP start-up interpreter: Linux's trampoline, flags against the host CPU, and every documented stop. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../../emul/alu.h"
#include "../../emul/emul.h"

/* ---- a machine: 640 KiB of RAM, a model of the CR/MSR policy, the host's CPUID shape ---- */

#define RAM_SIZE 0xA0000
#define TRAMPOLINE_BASE 0x9A000
#define TR_START 0x200
#define TR_EFER (TR_START + 8)
#define TR_CR4 (TR_START + 16)
#define TR_GDT 0x220
#define VMENTRY_OFFSET 0x300
#define TRAMPOLINE_PGD 0x1000
#define RM_STACK_END 0x2400

#define MSR_EFER 0xC0000080
#define MSR_MISC_ENABLE 0x1A0
#define MISC_XD_DISABLE (1ULL << 34)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static u8 ram[RAM_SIZE];

struct machine {
	u64 cr0, cr3, cr4, efer, misc_enable;
	unsigned efer_writes, misc_writes;
	bool intel; /* CPUID vendor */
};

static enum emul_access m_read(void *ctx, u64 gpa, void *buf, unsigned len)
{
	(void)ctx;
	if (gpa + len > RAM_SIZE)
		return ACC_NO_RAM;
	memcpy(buf, ram + gpa, len);
	return ACC_OK;
}

static enum emul_access m_write(void *ctx, u64 gpa, const void *buf, unsigned len)
{
	(void)ctx;
	if (gpa + len > RAM_SIZE)
		return ACC_NO_RAM;
	memcpy(ram + gpa, buf, len);
	return ACC_OK;
}

static u64 m_read_ctl(void *ctx, enum emul_ctl w)
{
	struct machine *m = ctx;
	return w == CTL_CR0 ? m->cr0 : w == CTL_CR3 ? m->cr3 : w == CTL_CR4 ? m->cr4 : m->efer;
}

/* The architectural rules of MOV to CR0 (SDM Vol. 3A, 2.5, 10.8.5), as the hypervisor's policy applies them. */
static enum emul_access m_write_ctl(void *ctx, enum emul_ctl w, u64 v)
{
	struct machine *m = ctx;
	switch (w) {
	case CTL_CR0:
		if ((v >> 32) || ((v & (1u << 31)) && !(v & 1)))
			return ACC_GP;
		if ((v & (1u << 31)) && !(m->cr0 & (1u << 31)) && (m->efer & EFER_LME)) {
			if (!(m->cr4 & 0x20))
				return ACC_GP;
			m->efer |= EFER_LMA;
		}
		m->cr0 = v;
		return ACC_OK;
	case CTL_CR3:
		m->cr3 = v;
		return ACC_OK;
	case CTL_CR4:
		if (v & (1u << 13)) /* VMXE stays hidden */
			return ACC_GP;
		m->cr4 = v;
		return ACC_OK;
	default:
		return ACC_GP;
	}
}

static void m_cpuid(void *ctx, u32 leaf, u32 sub, struct emul_cpuid *r)
{
	struct machine *m = ctx;
	(void)sub;
	memset(r, 0, sizeof(*r));
	switch (leaf) {
	case 0:
		r->eax = 0xD;
		if (m->intel) {
			r->ebx = 0x756e6547;
			r->edx = 0x49656e69;
			r->ecx = 0x6c65746e;
		}
		break;
	case 1:
		r->eax = 0x10676; /* family 6, model 0x17: Penryn */
		r->edx = 0x0700A179 | (1u << 9) | (1u << 11);
		break;
	case 0x80000000:
		r->eax = 0x80000008;
		break;
	case 0x80000001:
		r->edx = (1u << 29) | (1u << 20);
		break;
	default:
		break;
	}
}

static enum emul_access m_rdmsr(void *ctx, u32 msr, u64 *v)
{
	struct machine *m = ctx;
	if (msr == MSR_EFER)
		*v = m->efer;
	else if (msr == MSR_MISC_ENABLE)
		*v = m->misc_enable;
	else
		return ACC_GP;
	return ACC_OK;
}

static enum emul_access m_wrmsr(void *ctx, u32 msr, u64 v)
{
	struct machine *m = ctx;
	if (msr == MSR_EFER) {
		if (v & ~0xD01ULL)
			return ACC_GP;
		m->efer = (v & ~EFER_LMA) | (m->efer & EFER_LMA);
		m->efer_writes++;
	} else if (msr == MSR_MISC_ENABLE) {
		m->misc_enable = v;
		m->misc_writes++;
	} else {
		return ACC_GP;
	}
	return ACC_OK;
}

static struct machine mach;
static const struct emul_ops ops = {
	.read = m_read, .write = m_write, .read_ctl = m_read_ctl, .write_ctl = m_write_ctl,
	.cpuid = m_cpuid, .rdmsr = m_rdmsr, .wrmsr = m_wrmsr, .ctx = &mach,
};

static void reset_machine(void)
{
	memset(ram, 0, sizeof(ram));
	mach = (struct machine){ .cr0 = 0x60000010, .intel = true, .misc_enable = 0x850089 | MISC_XD_DISABLE };
}

static size_t load_trampoline(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/trampoline.bin", EMUL_TEST_DIR);
	FILE *f = fopen(path, "rb");
	if (!f) {
		check_fail(__FILE__, __LINE__, path);
		return 0;
	}
	size_t n = fread(ram + TRAMPOLINE_BASE, 1, RAM_SIZE - TRAMPOLINE_BASE, f);
	fclose(f);
	return n;
}

static u32 ram32(u32 at)
{
	u32 v;
	memcpy(&v, ram + at, 4);
	return v;
}

TEST(emul_linux_trampoline_reaches_vm_entry)
{
	reset_machine();
	CHECK(load_trampoline() > VMENTRY_OFFSET);
	struct emul_cpu cpu;
	struct emul_result res;
	emul_cpu_sipi(&cpu, TRAMPOLINE_BASE >> 12);
	emul_run(&cpu, &ops, 1000, &res);
	char msg[256];
	printf("    %s\n", emul_describe(&res, msg, sizeof(msg)));
	CHECK_EQ(res.why, EMUL_READY);
	CHECK_EQ(cpu.eip, TRAMPOLINE_BASE + ram32(TRAMPOLINE_BASE + VMENTRY_OFFSET));
	CHECK_EQ(ram[cpu.eip], 0xEA); /* the far jump to the 64-bit CS runs in VMX */
	CHECK_EQ(mach.cr0, 0x80050033);
	CHECK_EQ(mach.cr3, TRAMPOLINE_BASE + TRAMPOLINE_PGD);
	CHECK_EQ(mach.cr4, ram32(TRAMPOLINE_BASE + TR_CR4));
	CHECK_EQ(mach.efer, ram32(TRAMPOLINE_BASE + TR_EFER) | EFER_LMA);
	CHECK_EQ(mach.efer_writes, 1);
	/* verify_cpu cleared XD_DISABLE with one write (Intel, family 6, model >= 0xD). */
	CHECK_EQ(mach.misc_writes, 1);
	CHECK_EQ(mach.misc_enable & MISC_XD_DISABLE, 0);
	CHECK_EQ(cpu.seg[SR_CS].sel, 0x08);
	CHECK_EQ(cpu.seg[SR_CS].base, 0);
	CHECK_EQ(cpu.seg[SR_CS].limit, 0xFFFFFFFF);
	CHECK_EQ(cpu.seg[SR_CS].ar, 0xC09B);
	CHECK_EQ(cpu.seg[SR_SS].sel, 0x18);
	CHECK_EQ(cpu.seg[SR_DS].ar, 0xC093);
	CHECK_EQ(cpu.seg[SR_GS].sel, 0x18);
	CHECK_EQ(cpu.gdt_base, TRAMPOLINE_BASE + TR_GDT);
	CHECK_EQ(cpu.gdt_limit, 0x1F);
	CHECK_EQ(cpu.idt_limit, 0);
	CHECK_EQ(cpu.gpr[R_ESP], TRAMPOLINE_BASE + RM_STACK_END);
	CHECK_EQ(cpu.eflags & FL_IF, 0);
	CHECK(res.steps > 50 && res.steps < 200);
	CHECK(emul_vmentry_ready(&cpu, &ops, NULL));
}

TEST(emul_trampoline_no_long_mode_halts)
{
	/* A CPU without LM in CPUID 0x80000001: verify_cpu fails and the trampoline parks in HLT. */
	reset_machine();
	load_trampoline();
	mach.intel = false;
	struct emul_cpu cpu;
	struct emul_result res;
	emul_cpu_sipi(&cpu, TRAMPOLINE_BASE >> 12);
	/* Not Intel: no MISC_ENABLE access; SSE present so it gets to the LM check: hide LM by patching REQUIRED_MASK1. */
	for (u32 i = TRAMPOLINE_BASE; i < TRAMPOLINE_BASE + 0x200; i++)
		if (ram32(i) == 0x20000000)
			ram[i + 3] = 0x40; /* ask for bit 30, which the model does not have */
	emul_run(&cpu, &ops, 1000, &res);
	CHECK_EQ(res.why, EMUL_HALT);
	CHECK_EQ(mach.misc_writes, 0);
}

/* ---- small programs ---- */

#define PROG_VECTOR 0x10
#define PROG_BASE (PROG_VECTOR << 12)

static void run_program(const u8 *code, size_t len, u64 budget, struct emul_cpu *cpu, struct emul_result *res)
{
	reset_machine();
	memcpy(ram + PROG_BASE, code, len);
	emul_cpu_sipi(cpu, PROG_VECTOR);
	emul_run(cpu, &ops, budget, res);
}

/*
 * Real mode: LGDT from a descriptor table at PROG_BASE + 0x100, PE on,
 * then ljmpl to selector @sel. The GDT: 0x08 a 32-bit code segment,
 * 0x10 the same not present, 0x18 a data segment, limit 0x1F (0x20 and up
 * lie beyond it), 0x28 (beyond) anything.
 */
static void far_jump_program(u16 sel, struct emul_cpu *cpu, struct emul_result *res)
{
	u8 code[64] = {
		0x8C, 0xC8, 0x8E, 0xD8,             /* mov ax, cs; mov ds, ax */
		0x66, 0x0F, 0x01, 0x16, 0x00, 0x01, /* lgdtl [0x100] */
		0x0F, 0x20, 0xC0,                   /* mov eax, cr0 */
		0x0C, 0x01,                         /* or al, 1 */
		0x0F, 0x22, 0xC0,                   /* mov cr0, eax */
		0x66, 0xEA, 0x40, 0x00, 0x01, 0x00, (u8)sel, (u8)(sel >> 8), /* ljmpl sel:0x10040 */
	};
	u8 gdt[48] = { 0 };
	u64 d[5] = { 0, 0x00cf9a000000ffffULL, 0x00cf1b000000ffffULL, 0x00cf93000000ffffULL, 0x00cf9b000000ffffULL };
	memcpy(gdt + 8, d + 1, 32);
	u16 limit = 0x1F;
	u32 base = PROG_BASE + 0x108;
	reset_machine();
	memcpy(ram + PROG_BASE, code, sizeof(code));
	memcpy(ram + PROG_BASE + 0x100, &limit, 2);
	memcpy(ram + PROG_BASE + 0x102, &base, 4);
	memcpy(ram + PROG_BASE + 0x108, gdt, sizeof(gdt));
	ram[PROG_BASE + 0x40] = 0xF4; /* hlt at the target */
	emul_cpu_sipi(cpu, PROG_VECTOR);
	emul_run(cpu, &ops, 100, res);
}

TEST(emul_far_jump_loads_cs_and_sets_accessed)
{
	struct emul_cpu cpu;
	struct emul_result res;
	far_jump_program(0x08, &cpu, &res);
	CHECK_EQ(res.why, EMUL_HALT);
	CHECK_EQ(cpu.seg[SR_CS].sel, 0x08);
	CHECK_EQ(cpu.seg[SR_CS].ar, 0xC09B);
	CHECK_EQ(cpu.eip, 0x10041);
	/* The descriptor in memory now has its accessed bit (type 0xA -> 0xB). */
	CHECK_EQ(ram[PROG_BASE + 0x108 + 8 + 5], 0x9B);
}

TEST(emul_far_jump_bad_descriptors_fault)
{
	struct emul_cpu cpu;
	struct emul_result res;
	char msg[256];
	far_jump_program(0x10, &cpu, &res); /* not present: #NP(sel) */
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.vector, 11);
	CHECK_EQ(res.error, 0x10);
	emul_describe(&res, msg, sizeof(msg));
	CHECK(strstr(msg, "exception #NP (vector 11, error 0x10) at 1000:00000012 after 6 instructions") != NULL);
	CHECK(strstr(msg, "bytes 66 ea 40 00 01 00 10 00") != NULL);
	CHECK_EQ(ram[PROG_BASE + 0x108 + 16 + 5], 0x1B); /* no accessed bit set on a failed load */
	far_jump_program(0x18, &cpu, &res); /* a data segment: #GP(sel) */
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.vector, 13);
	CHECK_EQ(res.error, 0x18);
	far_jump_program(0x20, &cpu, &res); /* beyond the GDT limit: #GP(sel) */
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.vector, 13);
	CHECK_EQ(res.error, 0x20);
	far_jump_program(0x00, &cpu, &res); /* null: #GP(0) */
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.vector, 13);
	CHECK_EQ(res.error, 0);
	far_jump_program(0x0B, &cpu, &res); /* RPL 3 > CPL 0 into non-conforming code: #GP(sel) */
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.error, 0x08);
	CHECK_EQ(cpu.seg[SR_CS].sel, PROG_VECTOR << 8); /* CS unchanged */
}

TEST(emul_fetch_past_cs_limit_faults)
{
	/* A jump to IP 0xFFFE, where a 3-byte MOV crosses the 64 KiB limit of the real-mode CS. */
	u8 code[] = { 0xE9, 0xFB, 0xFF }; /* jmp 0xFFFE (rel16 = 0xFFFE - 3) */
	struct emul_cpu cpu;
	struct emul_result res;
	reset_machine();
	memcpy(ram + PROG_BASE, code, sizeof(code));
	ram[PROG_BASE + 0xFFFE] = 0xB8; /* mov ax, imm16 */
	ram[PROG_BASE + 0xFFFF] = 0x34;
	emul_cpu_sipi(&cpu, PROG_VECTOR);
	emul_run(&cpu, &ops, 100, &res);
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.vector, 13);
	CHECK_EQ(res.eip, 0xFFFE);
	CHECK_EQ(res.nbytes, 2);
	CHECK_EQ(res.steps, 1);
}

TEST(emul_fifteen_byte_cap)
{
	u8 code[20];
	memset(code, 0x66, 15);
	code[15] = 0x90;
	struct emul_cpu cpu;
	struct emul_result res;
	run_program(code, 16, 100, &cpu, &res);
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.vector, 13);
	CHECK_EQ(res.nbytes, 15);
	memset(code, 0x66, 14); /* 14 prefixes and the opcode: 15 bytes, allowed */
	code[14] = 0x90;
	code[15] = 0xF4;
	run_program(code, 16, 100, &cpu, &res);
	CHECK_EQ(res.why, EMUL_HALT);
}

TEST(emul_unknown_opcode_stops)
{
	u8 code[] = { 0x90, 0x0F, 0x0B, 0xAA }; /* nop; ud2 */
	struct emul_cpu cpu;
	struct emul_result res;
	char msg[256];
	run_program(code, sizeof(code), 100, &cpu, &res);
	CHECK_EQ(res.why, EMUL_UNKNOWN);
	CHECK_EQ(res.eip, 1);
	CHECK_EQ(res.steps, 1);
	emul_describe(&res, msg, sizeof(msg));
	CHECK(strstr(msg, "an instruction it does not interpret at 1000:00000001 after 1 instructions; bytes 0f 0b aa 00") != NULL);
}

TEST(emul_budget_runs_out)
{
	u8 code[] = { 0xEB, 0xFE }; /* jmp $ */
	struct emul_cpu cpu;
	struct emul_result res;
	run_program(code, sizeof(code), 500, &cpu, &res);
	CHECK_EQ(res.why, EMUL_BUDGET);
	CHECK_EQ(res.steps, 500);
	CHECK_EQ(res.eip, 0);
}

TEST(emul_access_outside_ram_stops)
{
	/* mov ax, 0xB000; mov ds, ax; mov al, [0] : 0xB0000 is beyond the machine's RAM. */
	u8 code[] = { 0xB8, 0x00, 0xB0, 0x8E, 0xD8, 0xA0, 0x00, 0x00 };
	struct emul_cpu cpu;
	struct emul_result res;
	run_program(code, sizeof(code), 100, &cpu, &res);
	CHECK_EQ(res.why, EMUL_NO_RAM);
	CHECK_EQ(res.addr, 0xB0000);
	CHECK_EQ(res.eip, 5);
	/* A SIPI vector outside RAM stops at the first fetch. */
	reset_machine();
	emul_cpu_sipi(&cpu, 0xC0);
	emul_run(&cpu, &ops, 100, &res);
	CHECK_EQ(res.why, EMUL_NO_RAM);
	CHECK_EQ(res.nbytes, 0);
}

TEST(emul_garbage_vector_stops_cleanly)
{
	/* Random bytes from the vector on: each run ends in a documented stop, never READY, within the budget. */
	struct emul_cpu cpu;
	struct emul_result res;
	unsigned seen[EMUL_NOT_ENTERABLE + 1] = { 0 };
	u64 x = 10;
	for (int run = 0; run < 500; run++) {
		reset_machine();
		for (u32 i = 0; i < 0x10000; i += 8) {
			x ^= x << 13; /* xorshift64: cheap enough to refill 64 KiB per run */
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(ram + PROG_BASE + i, &x, 8);
		}
		emul_cpu_sipi(&cpu, PROG_VECTOR);
		emul_run(&cpu, &ops, 1000, &res);
		CHECK(res.why != EMUL_READY);
		CHECK(res.steps <= 1000);
		CHECK(res.why <= EMUL_NOT_ENTERABLE);
		if (res.why <= EMUL_NOT_ENTERABLE)
			seen[res.why]++;
		char msg[256];
		emul_describe(&res, msg, sizeof(msg));
		CHECK(strstr(msg, " at ") != NULL);
	}
	CHECK(seen[EMUL_UNKNOWN] > 0);
	CHECK(seen[EMUL_FAULT] + seen[EMUL_HALT] > 0);
}

TEST(emul_real_mode_segment_cache)
{
	/* A real-mode MOV to DS changes selector and base only: a big limit stays (unreal mode). */
	u8 code[] = { 0xB8, 0x34, 0x12, 0x8E, 0xD8, 0xF4 };
	struct emul_cpu cpu;
	struct emul_result res;
	reset_machine();
	memcpy(ram + PROG_BASE, code, sizeof(code));
	emul_cpu_sipi(&cpu, PROG_VECTOR);
	cpu.seg[SR_DS].limit = 0xFFFFFFFF;
	cpu.seg[SR_DS].ar |= EMUL_AR_G;
	emul_run(&cpu, &ops, 100, &res);
	CHECK_EQ(res.why, EMUL_HALT);
	CHECK_EQ(cpu.seg[SR_DS].sel, 0x1234);
	CHECK_EQ(cpu.seg[SR_DS].base, 0x12340);
	CHECK_EQ(cpu.seg[SR_DS].limit, 0xFFFFFFFF);
}

TEST(emul_lgdt_16bit_operand_loads_24_bits)
{
	/* lgdt [0x100] with a 16-bit operand size: the base's top byte is ignored. */
	u8 code[] = { 0x8C, 0xC8, 0x8E, 0xD8, 0x0F, 0x01, 0x16, 0x00, 0x01, 0xF4 };
	u8 pseudo[6] = { 0x17, 0x00, 0x56, 0x34, 0x12, 0xFF };
	struct emul_cpu cpu;
	struct emul_result res;
	reset_machine();
	memcpy(ram + PROG_BASE, code, sizeof(code));
	memcpy(ram + PROG_BASE + 0x100, pseudo, sizeof(pseudo));
	emul_cpu_sipi(&cpu, PROG_VECTOR);
	emul_run(&cpu, &ops, 100, &res);
	CHECK_EQ(res.why, EMUL_HALT);
	CHECK_EQ(cpu.gdt_limit, 0x17);
	CHECK_EQ(cpu.gdt_base, 0x123456);
}

TEST(emul_policy_refusal_and_paging_without_long_mode)
{
	struct emul_cpu cpu;
	struct emul_result res;
	/* mov eax, 0x2000 (VMXE); mov cr4, eax: the policy's #GP stops the vCPU. */
	u8 vmxe[] = { 0x66, 0xB8, 0x00, 0x20, 0x00, 0x00, 0x0F, 0x22, 0xE0 };
	run_program(vmxe, sizeof(vmxe), 100, &cpu, &res);
	CHECK_EQ(res.why, EMUL_FAULT);
	CHECK_EQ(res.vector, 13);
	/* PE and PG at once after a real-mode MOV SS with RPL 3: VM entry would fail (26.3.1.2). */
	u8 pg[] = { 0xB8, 0x03, 0x10, 0x8E, 0xD0, 0x66, 0xB8, 0x01, 0x00, 0x00, 0x80, 0x0F, 0x22, 0xC0, 0x90 };
	run_program(pg, sizeof(pg), 100, &cpu, &res);
	CHECK_EQ(res.why, EMUL_NOT_ENTERABLE);
	CHECK(res.detail && strcmp(res.detail, "SS.RPL differs from CS.RPL") == 0);
	CHECK_EQ(res.eip, 14);
}

/* ---- flags against the host CPU ---- */

#define HOST_FLAGS (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* One two-operand instruction on the host, with @cf as carry in; returns the result, *flags the arithmetic flags. */
#define HOST_OP2(insn, suffix, reg, type)                                                             \
	static u32 host_##insn##suffix(u32 d, u32 s, bool cf, u32 *flags)                              \
	{                                                                                             \
		type dd = (type)d, ss = (type)s;                                                      \
		unsigned long f = cf ? 1 : 0;                                                        \
		__asm__ volatile("push %[f]\n\tpopf\n\t" #insn #suffix " %" reg "[s], %" reg "[d]\n\tpushf\n\tpop %[f]" \
				 : [d] "+r"(dd), [f] "+r"(f)                                         \
				 : [s] "r"(ss)                                                        \
				 : "cc");                                                             \
		*flags = (u32)f & HOST_FLAGS;                                                        \
		return (u32)dd;                                                                       \
	}
#define HOST_OP2_ALL(insn) HOST_OP2(insn, b, "b", u8) HOST_OP2(insn, w, "w", u16) HOST_OP2(insn, l, "k", u32)
HOST_OP2_ALL(add)
HOST_OP2_ALL(or)
HOST_OP2_ALL(adc)
HOST_OP2_ALL(sbb)
HOST_OP2_ALL(and)
HOST_OP2_ALL(sub)
HOST_OP2_ALL(xor)
HOST_OP2_ALL(cmp)

typedef u32 (*host2_fn)(u32, u32, bool, u32 *);
static const host2_fn host2[8][3] = {
	{ host_addb, host_addw, host_addl }, { host_orb, host_orw, host_orl },
	{ host_adcb, host_adcw, host_adcl }, { host_sbbb, host_sbbw, host_sbbl },
	{ host_andb, host_andw, host_andl }, { host_subb, host_subw, host_subl },
	{ host_xorb, host_xorw, host_xorl }, { host_cmpb, host_cmpw, host_cmpl },
};

/* Operands around every edge: 0, 1, the sign boundary, all ones, nibble carries; then random ones. */
static const u32 edges[] = { 0, 1, 2, 0x7F, 0x80, 0x81, 0xFF, 0x100, 0x0F, 0x10, 0x7FFF, 0x8000, 0x8001,
			     0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE,
			     0x12345678, 0xDEADBEEF };

static u32 operand(unsigned i)
{
	return i < ARRAY_SIZE(edges) ? edges[i] : (u32)rand() ^ ((u32)rand() << 16);
}

#define NOPERANDS (ARRAY_SIZE(edges) + 40)

TEST(emul_alu_flags_match_host)
{
	static const unsigned sizes[3] = { 1, 2, 4 };
	unsigned mismatches = 0, checked = 0;
	srand(1);
	for (unsigned op = 0; op < 8; op++)
		for (unsigned sz = 0; sz < 3; sz++)
			for (unsigned i = 0; i < NOPERANDS; i++)
				for (unsigned j = 0; j < NOPERANDS; j++)
					for (int cf = 0; cf < 2; cf++) {
						u32 a = operand(i), b = operand(j), hf;
						u32 m = sizes[sz] == 4 ? ~0u : (1u << (8 * sizes[sz])) - 1;
						u32 hr = host2[op][sz](a, b, cf, &hf) & m;
						u32 ef = FL_FIXED1 | (cf ? FL_CF : 0);
						u32 er = alu_binary((enum alu_op)op, a, b, sizes[sz], &ef);
						/* AF is undefined after logic operations: compare it only for arithmetic. */
						u32 care = HOST_FLAGS;
						if (op == ALU_OR || op == ALU_AND || op == ALU_XOR)
							care &= ~(u32)FL_AF;
						checked++;
						if ((er & m) != hr || (ef & care) != (hf & care)) {
							if (mismatches++ < 5)
								printf("    op %u size %u %x,%x cf %d: result %x/%x flags %x/%x\n", op,
								       sizes[sz], a, b, cf, er, hr, ef & care, hf & care);
						}
					}
	CHECK_EQ(mismatches, 0);
	CHECK(checked > 10000);
}

#define HOST_SHIFT(insn, suffix, reg, type)                                                          \
	static u32 host_##insn##suffix(u32 d, u8 c, u32 fin, u32 *flags)                              \
	{                                                                                             \
		type dd = (type)d;                                                                    \
		unsigned long f = fin;                                                               \
		__asm__ volatile("push %[f]\n\tpopf\n\t" #insn #suffix " %%cl, %" reg "[d]\n\tpushf\n\tpop %[f]" \
				 : [d] "+r"(dd), [f] "+r"(f)                                         \
				 : "c"(c)                                                             \
				 : "cc");                                                             \
		*flags = (u32)f & HOST_FLAGS;                                                        \
		return (u32)dd;                                                                       \
	}
#define HOST_SHIFT_ALL(insn) HOST_SHIFT(insn, b, "b", u8) HOST_SHIFT(insn, w, "w", u16) HOST_SHIFT(insn, l, "k", u32)
HOST_SHIFT_ALL(rol)
HOST_SHIFT_ALL(ror)
HOST_SHIFT_ALL(shl)
HOST_SHIFT_ALL(shr)
HOST_SHIFT_ALL(sar)

typedef u32 (*host_shift_fn)(u32, u8, u32, u32 *);

TEST(emul_shift_flags_match_host)
{
	static const unsigned sizes[3] = { 1, 2, 4 };
	static const struct {
		enum shift_op op;
		host_shift_fn fn[3];
	} ops_[] = {
		{ SH_ROL, { host_rolb, host_rolw, host_roll } }, { SH_ROR, { host_rorb, host_rorw, host_rorl } },
		{ SH_SHL, { host_shlb, host_shlw, host_shll } }, { SH_SHR, { host_shrb, host_shrw, host_shrl } },
		{ SH_SAR, { host_sarb, host_sarw, host_sarl } },
	};
	unsigned mismatches = 0;
	srand(2);
	for (unsigned k = 0; k < ARRAY_SIZE(ops_); k++)
		for (unsigned sz = 0; sz < 3; sz++)
			for (unsigned i = 0; i < NOPERANDS; i++)
				for (u8 c = 0; c < 8 * sizes[sz]; c++) {
					u32 a = operand(i), m = sizes[sz] == 4 ? ~0u : (1u << (8 * sizes[sz])) - 1;
					u32 fin = FL_FIXED1 | FL_CF | FL_OF | FL_AF, hf, r;
					u32 hr = ops_[k].fn[sz](a, c, fin, &hf) & m;
					u32 ef = fin;
					CHECK(alu_shift(ops_[k].op, a, c, sizes[sz], &ef, &r));
					/* Undefined: AF after shifts, OF unless the count is 1. */
					u32 care = HOST_FLAGS & ~(u32)FL_AF;
					if ((c & 0x1F) != 1)
						care &= ~(u32)FL_OF;
					if ((r & m) != hr || (ef & care) != (hf & care)) {
						if (mismatches++ < 5)
							printf("    shift %u size %u %x by %u: result %x/%x flags %x/%x\n", ops_[k].op,
							       sizes[sz], a, c, r, hr, ef & care, hf & care);
					}
				}
	CHECK_EQ(mismatches, 0);
}

static u32 host_inc_dec(bool dec, u32 d, u32 fin, u32 *flags)
{
	unsigned long f = fin;
	if (dec)
		__asm__ volatile("push %[f]\n\tpopf\n\tdecl %k[d]\n\tpushf\n\tpop %[f]" : [d] "+r"(d), [f] "+r"(f) : : "cc");
	else
		__asm__ volatile("push %[f]\n\tpopf\n\tincl %k[d]\n\tpushf\n\tpop %[f]" : [d] "+r"(d), [f] "+r"(f) : : "cc");
	*flags = (u32)f & HOST_FLAGS;
	return d;
}

static u32 host_neg(u32 d, u32 *flags)
{
	unsigned long f = FL_FIXED1;
	__asm__ volatile("push %[f]\n\tpopf\n\tnegl %k[d]\n\tpushf\n\tpop %[f]" : [d] "+r"(d), [f] "+r"(f) : : "cc");
	*flags = (u32)f & HOST_FLAGS;
	return d;
}

static u32 host_bt(int op, u32 d, u32 bit, u32 *flags)
{
	unsigned long f = FL_FIXED1;
	switch (op) {
	case BITOP_BT:
		__asm__ volatile("push %[f]\n\tpopf\n\tbtl %k[b], %k[d]\n\tpushf\n\tpop %[f]" : [d] "+r"(d), [f] "+r"(f) : [b] "r"(bit) : "cc");
		break;
	case BITOP_BTS:
		__asm__ volatile("push %[f]\n\tpopf\n\tbtsl %k[b], %k[d]\n\tpushf\n\tpop %[f]" : [d] "+r"(d), [f] "+r"(f) : [b] "r"(bit) : "cc");
		break;
	case BITOP_BTR:
		__asm__ volatile("push %[f]\n\tpopf\n\tbtrl %k[b], %k[d]\n\tpushf\n\tpop %[f]" : [d] "+r"(d), [f] "+r"(f) : [b] "r"(bit) : "cc");
		break;
	default:
		__asm__ volatile("push %[f]\n\tpopf\n\tbtcl %k[b], %k[d]\n\tpushf\n\tpop %[f]" : [d] "+r"(d), [f] "+r"(f) : [b] "r"(bit) : "cc");
		break;
	}
	*flags = (u32)f;
	return d;
}

TEST(emul_inc_dec_neg_bt_match_host)
{
	unsigned mismatches = 0;
	srand(3);
	for (unsigned i = 0; i < NOPERANDS; i++) {
		u32 a = operand(i);
		for (int dec = 0; dec < 2; dec++)
			for (int cf = 0; cf < 2; cf++) {
				u32 fin = FL_FIXED1 | (cf ? FL_CF : 0), hf, ef = fin;
				u32 hr = host_inc_dec(dec, a, fin, &hf);
				u32 er = alu_inc_dec(dec, a, 4, &ef);
				mismatches += er != hr || (ef & HOST_FLAGS) != hf;
			}
		u32 hf, ef = FL_FIXED1;
		u32 hr = host_neg(a, &hf);
		mismatches += alu_neg(a, 4, &ef) != hr || (ef & HOST_FLAGS) != hf;
		for (int op = 0; op < 4; op++)
			for (unsigned bit = 0; bit < 32; bit += 5) {
				ef = FL_FIXED1;
				hr = host_bt(op, a, bit, &hf);
				/* Only CF is defined for the BT family. */
				mismatches += alu_bit((enum bit_op)op, a, bit, &ef) != hr || (ef & FL_CF) != (hf & FL_CF);
			}
	}
	CHECK_EQ(mismatches, 0);
}

TEST(emul_conditions_match_host)
{
	/* Every Jcc condition against SETcc on the host, for every combination of the five flags it reads. */
	unsigned mismatches = 0;
	for (u32 combo = 0; combo < 32; combo++) {
		u32 fl = FL_FIXED1 | ((combo & 1) ? FL_CF : 0) | ((combo & 2) ? FL_ZF : 0) | ((combo & 4) ? FL_SF : 0) |
			 ((combo & 8) ? FL_OF : 0) | ((combo & 16) ? FL_PF : 0);
		u8 set[16];
		unsigned long f = fl;
#define SETCC(n, cc) __asm__ volatile("push %[f]\n\tpopf\n\tset" cc " %[r]" : [r] "=q"(set[n]) : [f] "r"(f) : "cc")
		SETCC(0, "o"); SETCC(1, "no"); SETCC(2, "b"); SETCC(3, "ae"); SETCC(4, "e"); SETCC(5, "ne");
		SETCC(6, "be"); SETCC(7, "a"); SETCC(8, "s"); SETCC(9, "ns"); SETCC(10, "p"); SETCC(11, "np");
		SETCC(12, "l"); SETCC(13, "ge"); SETCC(14, "le"); SETCC(15, "g");
#undef SETCC
		for (unsigned cc = 0; cc < 16; cc++)
			mismatches += alu_condition(cc, fl) != (set[cc] != 0);
	}
	CHECK_EQ(mismatches, 0);
}
