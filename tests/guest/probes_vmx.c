/*
 * probes_vmx.c: a guest that CPUID tells has no VMX must see none (slatvisor hides it).
 *
 * Outside VMX operation every VMX instruction but VMXON raises #UD (SDM Vol. 3C, 31.3: "IF
 * (not in VMX operation) ... THEN #UD"), and VMXON itself does with CR4.VMXE = 0, which is
 * how this guest runs. VMCALL is #UD there too, whatever RAX holds: no hypercall interface
 * answers it. Setting CR4.VMXE and reading the VMX capability MSRs 0x480-0x491 need
 * CPUID.1:ECX.VMX = 1 and raise #GP without it (SDM Vol. 3A, 2.5; Vol. 4, IA32_VMX_* "If
 * CPUID.01H:ECX.[5] = 1"). When CPUID does report VMX they must work instead.
 */
#include "guest.h"

#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_LAST 0x491 /* IA32_VMX_VMFUNC; 0x492 (PROCBASED_CTLS3) is newer */

static u64 vmx_region[512] __attribute__((aligned(4096)));
static struct {
	u64 eptp_or_vpid, gpa;
} inv_desc;

static void do_vmxon(u64 a) { __asm__ volatile("vmxon %0" : : "m"(*(u64 *)a) : "memory", "cc"); }
static void do_vmxoff(u64 a) { (void)a; __asm__ volatile("vmxoff" : : : "memory", "cc"); }
static void do_vmcall(u64 junk)
{
	u64 rax = junk;
	__asm__ volatile("vmcall" : "+a"(rax) : "b"(junk), "c"(junk), "d"(junk) : "memory", "cc");
}
static void do_vmread(u64 field)
{
	u64 v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "cc");
}
static void do_vmwrite(u64 field) { __asm__ volatile("vmwrite %1, %0" : : "r"(field), "r"(field) : "cc"); }
static void do_vmptrld(u64 a) { __asm__ volatile("vmptrld %0" : : "m"(*(u64 *)a) : "memory", "cc"); }
static void do_vmptrst(u64 a) { __asm__ volatile("vmptrst %0" : "=m"(*(u64 *)a) : : "memory", "cc"); }
static void do_vmclear(u64 a) { __asm__ volatile("vmclear %0" : : "m"(*(u64 *)a) : "memory", "cc"); }
static void do_vmlaunch(u64 a) { (void)a; __asm__ volatile("vmlaunch" : : : "memory", "cc"); }
static void do_vmresume(u64 a) { (void)a; __asm__ volatile("vmresume" : : : "memory", "cc"); }
static void do_invept(u64 type) { __asm__ volatile("invept %0, %1" : : "m"(inv_desc), "r"(type) : "memory", "cc"); }
static void do_invvpid(u64 type) { __asm__ volatile("invvpid %0, %1" : : "m"(inv_desc), "r"(type) : "memory", "cc"); }

PROBE(vmx_ud)
{
	if (read_cr4() & CR4_VMXE)
		return failf("CR4.VMXE is set at start (CR4 0x%lx)", read_cr4());
	u64 region = (u64)(uintptr_t)&vmx_region;
	u64 pregion = (u64)(uintptr_t)&region; /* VMXON and co. take the address of a physical address */
	static const struct {
		const char *what;
		void (*fn)(u64);
		u64 arg;
	} cases[] = {
		{ "VMXON", do_vmxon, 0 },
		{ "VMCALL with RAX=0xdeadbeefcafef00d", do_vmcall, 0xDEADBEEFCAFEF00DULL },
		{ "VMCALL with RAX=0", do_vmcall, 0 },
		{ "VMREAD of field 0x6800 (guest CR0)", do_vmread, 0x6800 },
		{ "VMWRITE of field 0x6800 (guest CR0)", do_vmwrite, 0x6800 },
		{ "VMPTRLD", do_vmptrld, 0 },
		{ "VMPTRST", do_vmptrst, 0 },
		{ "VMCLEAR", do_vmclear, 0 },
		{ "VMLAUNCH", do_vmlaunch, 0 },
		{ "VMRESUME", do_vmresume, 0 },
		{ "VMXOFF", do_vmxoff, 0 },
		{ "INVEPT type 2 (all contexts)", do_invept, 2 },
		{ "INVVPID type 2 (all contexts)", do_invvpid, 2 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool mem = cases[i].fn == do_vmxon || cases[i].fn == do_vmptrld || cases[i].fn == do_vmptrst ||
			   cases[i].fn == do_vmclear;
		const char *why = expect_fault(VEC_UD, cases[i].what, cases[i].fn, mem ? pregion : cases[i].arg);
		if (why)
			return why;
	}
	return NULL;
}

static void set_vmxe(u64 a) { (void)a; write_cr4(read_cr4() | CR4_VMXE); }

PROBE(cr4_vmxe)
{
	u64 cr4 = read_cr4();
	if (!cpu_has_vmx())
		return expect_fault(VEC_GP, "MOV CR4 with VMXE set, CPUID.1:ECX.VMX=0", set_vmxe, 0);
	const char *why = expect_no_fault("MOV CR4 with VMXE set, CPUID.1:ECX.VMX=1", set_vmxe, 0);
	write_cr4(cr4);
	return why;
}

static void do_rdmsr(u64 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"((u32)msr));
}

PROBE(vmx_msrs)
{
	if (cpu_has_vmx())
		return expect_no_fault("RDMSR 0x480 (IA32_VMX_BASIC), CPUID.1:ECX.VMX=1", do_rdmsr,
				       MSR_IA32_VMX_BASIC);
	for (u32 m = MSR_IA32_VMX_BASIC; m <= MSR_IA32_VMX_LAST; m++) {
		const char *why = expect_fault(VEC_GP, "RDMSR", do_rdmsr, m);
		if (why)
			return failf("MSR 0x%x: %s", m, why);
	}
	return NULL;
}
