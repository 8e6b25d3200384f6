/* guest_mem.c: walk the guest's IA-32e page tables with the shared walker to reach its memory. */
#include "guest_mem.h"
#include "insn.h"
#include "ept.h"
#include "vmcs.h"
#include "vmx.h"
#include "shadow.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/msr.h"
#include "../kernel/kstring.h"
#include "../mm/paging.h"
#include "../mm/pt.h"
#include "../shadow/guest_walk.h"

/* The guest's tables are guest memory: refuse anything slatvisor hides from it. */
static u64 *guest_table(void *ctx, u64 phys)
{
	(void)ctx;
	return ept_guest_may_access(phys) ? (u64 *)(uintptr_t)phys : NULL;
}

static u64 no_alloc(void *ctx)
{
	(void)ctx;
	return 0; /* the guest's tables are read, never built */
}

static bool translate(u64 linear, u64 *phys, u32 access)
{
	if (!(vcpu_guest_cr0() & CR0_PG)) {
		*phys = linear;
		return true;
	}
	/* 4-level paging only: what a 64-bit guest runs in whenever it sends IPIs. */
	struct vcpu *v = this_cpu()->vcpu;
	u64 efer = vcpu_efer(v);
	if (!(efer & EFER_LMA) || (vcpu_guest_cr4() & CR4_LA57))
		return false;
	static unsigned maxphyaddr;
	static bool gbpages;
	if (!maxphyaddr) {
		maxphyaddr = cpu_maxphyaddr();
		gbpages = cpuid(0x80000001, 0).edx & CPUID80000001_EDX_PAGE1GB;
	}
	/*
	 * Access 0 is a supervisor read with no SMAP/WP rules: slatvisor only needs where the
	 * bytes the guest already executes or touches live, not whether it may.
	 */
	struct gw_paging pg = { .cr3 = vcpu_guest_cr3(v), .nxe = efer & EFER_NXE,
				.gbpages = gbpages, .maxphyaddr = maxphyaddr };
	struct pt_ops ops = { PTE_P, PTE_PS, 0, 3, guest_table, no_alloc, NULL, { 0 } };
	struct gw_result r;
	if (!guest_walk(&ops, &pg, linear, access, &r))
		return false;
	*phys = r.gpa;
	return true;
}

bool guest_linear_to_phys(u64 linear, u64 *phys, bool user_write)
{
	return translate(linear, phys, user_write ? GW_USER | GW_WRITE : 0);
}

bool guest_read_linear(u64 linear, void *buf, size_t len)
{
	u8 *out = buf;
	while (len) {
		u64 phys;
		if (!translate(linear, &phys, 0) || !ept_guest_may_access(phys))
			return false;
		size_t chunk = MIN(len, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
		memcpy(out, (const void *)(uintptr_t)phys, chunk);
		out += chunk;
		linear += chunk;
		len -= chunk;
	}
	return true;
}

#define MAX_INSN 15

bool guest_decode_store(struct vcpu *v, struct mmio_store *st, u64 *value)
{
	u8 code[MAX_INSN];
	u64 rip = vmcs_readnat(VMCS_GUEST_CS_BASE) + vmcs_readnat(VMCS_GUEST_RIP);
	unsigned avail = MAX_INSN;
	/* The decoder knows 64-bit mode only; 5-level paging is not walked. */
	bool long_mode = (vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & AR_L) && !(vcpu_guest_cr4() & CR4_LA57);
	/* Read as much as is mapped: an instruction may end just before an unmapped page. */
	while (long_mode && avail && !guest_read_linear(rip, code, avail))
		avail--;
	if (!long_mode || !avail || !insn_decode_store(code, avail, st))
		return false;
	u64 x = st->from_reg ? vcpu_gpr(v, st->reg) : st->imm;
	if (st->high_byte)
		x >>= 8;
	if (st->size < 8)
		x &= (1ULL << (8 * st->size)) - 1;
	*value = x;
	return true;
}
