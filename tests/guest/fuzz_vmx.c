/*
 * fuzz_vmx.c: VMX instructions with random operands. Outside VMX operation every one of them
 * but VMXON is #UD, and VMXON is #UD with CR4.VMXE = 0 (SDM Vol. 3C, 31.3), which is how this
 * guest runs: CPUID tells it there is no VMX. So each of them must give #UD, whatever the
 * operands, VMCALL with random RAX, RBX, RCX, RDX, RSI and RDI included. Where slatvisor
 * announces hypercalls (hypercall_abi.h: functions 0x534Cxxxx), RAX is kept out of that range.
 */
#include "fuzz.h"

#define HC_PREFIX 0x534CULL /* "SL": the high half of every hypercall function number */

static u64 mem_operand; /* what VMXON, VMPTRLD and VMCLEAR point at: a random address */
static struct {
	u64 lo, hi;
} inv_desc;
static u64 regs[6];

static void do_vmxon(u64 a) { (void)a; __asm__ volatile("vmxon %0" : : "m"(mem_operand) : "memory", "cc"); }
static void do_vmptrld(u64 a) { (void)a; __asm__ volatile("vmptrld %0" : : "m"(mem_operand) : "memory", "cc"); }
static void do_vmclear(u64 a) { (void)a; __asm__ volatile("vmclear %0" : : "m"(mem_operand) : "memory", "cc"); }
static void do_vmlaunch(u64 a) { (void)a; __asm__ volatile("vmlaunch" : : : "memory", "cc"); }
static void do_vmread(u64 field)
{
	u64 v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "cc");
}
static void do_vmwrite(u64 field) { __asm__ volatile("vmwrite %1, %0" : : "r"(field), "r"(regs[0]) : "cc"); }
static void do_invept(u64 type) { __asm__ volatile("invept %0, %1" : : "m"(inv_desc), "r"(type) : "memory", "cc"); }
static void do_invvpid(u64 type) { __asm__ volatile("invvpid %0, %1" : : "m"(inv_desc), "r"(type) : "memory", "cc"); }
static void do_vmcall(u64 a)
{
	(void)a;
	u64 rax = regs[0], rbx = regs[1], rcx = regs[2], rdx = regs[3], rsi = regs[4], rdi = regs[5];
	__asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx), "+S"(rsi), "+D"(rdi) : : "memory", "cc");
}

void fz_vmx(const u64 *w, struct fz_out *o)
{
	static const struct {
		const char *what;
		void (*fn)(u64);
	} ops[] = {
		{ "VMXON [0x%lx]", do_vmxon },     { "VMCALL RAX=0x%lx RBX=0x%lx", do_vmcall },
		{ "VMREAD field 0x%lx", do_vmread }, { "VMWRITE field 0x%lx <- 0x%lx", do_vmwrite },
		{ "VMPTRLD [0x%lx]", do_vmptrld }, { "INVEPT type 0x%lx, descriptor 0x%lx", do_invept },
		{ "INVVPID type 0x%lx, descriptor 0x%lx", do_invvpid },
		{ "VMCLEAR [0x%lx]", do_vmclear }, { "VMLAUNCH", do_vmlaunch },
	};
	unsigned sub = (unsigned)(w[0] % (sizeof(ops) / sizeof(ops[0])));
	for (unsigned i = 0; i < 6; i++)
		regs[i] = w[1 + i % 3] ^ (w[1 + (i + 1) % 3] << i);
	if (fz_mach.hypercalls && (regs[0] >> 16 & 0xFFFF) == HC_PREFIX)
		regs[0] ^= BIT(31);
	mem_operand = w[2];
	inv_desc.lo = w[2];
	inv_desc.hi = w[3];
	u64 arg = w[1];
	o->what = ops[sub].what;
	o->a = sub == 1 ? regs[0] : sub == 3 ? arg : sub == 5 || sub == 6 ? arg : mem_operand;
	o->b = sub == 1 ? regs[1] : sub == 3 ? regs[0] : w[2];
	o->allowed = FZ_ALLOW(VEC_UD);
	o->vec = fz_call(ops[sub].fn, arg);
}
