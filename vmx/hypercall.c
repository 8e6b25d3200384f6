/*
 * hypercall.c: VMCALL, the guest's way to ask slatvisor for memory monitoring
 * (hypercall_abi.h, docs/hypercalls.md). One table maps function numbers to handlers.
 */
#include "exit.h"
#include "monitor.h"
#include "vmcs.h"
#include "vmx.h"
#include "../arch/x86_64/idt.h"
#include "../kernel/options.h"

#define HC_PREFIX_MASK 0xFFFF0000u
#define HC_PREFIX 0x534C0000u /* "SL": a VMCALL with any other RAX is not a hypercall */

struct hc_args {
	u64 b, c, d, s; /* RBX, RCX, RDX, RSI */
	u64 out;        /* what goes back in RBX */
};
typedef long (*hc_fn)(struct vcpu *v, struct hc_args *a);

static long hc_add(struct vcpu *v, struct hc_args *a) { return monitor_add(v, a->b, a->c, a->d, a->s, &a->out); }
static long hc_del(struct vcpu *v, struct hc_args *a) { return monitor_del(v, a->b); }
static long hc_ring(struct vcpu *v, struct hc_args *a) { return monitor_ring(v, a->b, a->c, a->d); }
static long hc_stats(struct vcpu *v, struct hc_args *a) { return monitor_stats(v, a->b, a->c, a->d); }
static long hc_list(struct vcpu *v, struct hc_args *a) { return monitor_list(v, a->b, a->c, a->d, &a->out); }
static long hc_rips(struct vcpu *v, struct hc_args *a) { return monitor_rips(v, a->b, a->c, a->d, a->s, &a->out); }

static const hc_fn functions[] = {
	[SLAT_HC_MON_ADD - HC_PREFIX] = hc_add,
	[SLAT_HC_MON_DEL - HC_PREFIX] = hc_del,
	[SLAT_HC_MON_RING - HC_PREFIX] = hc_ring,
	[SLAT_HC_MON_STATS - HC_PREFIX] = hc_stats,
	[SLAT_HC_MON_LIST - HC_PREFIX] = hc_list,
	[SLAT_HC_MON_RIPS - HC_PREFIX] = hc_rips,
};

enum exit_action handle_vmcall(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u64 fn = v->regs.gpr[GPR_RAX];
	if (!opts.monitor || (fn & ~(u64)0xFFFF) != HC_PREFIX) {
		/* Not a hypercall: CPUID says this CPU has no VMX, so VMCALL is undefined. */
		vcpu_inject_exception(v, VEC_UD, false, 0);
		return EXIT_RESUME;
	}
	struct hc_args a = { v->regs.gpr[GPR_RBX], v->regs.gpr[GPR_RCX], v->regs.gpr[GPR_RDX],
			     v->regs.gpr[GPR_RSI], v->regs.gpr[GPR_RBX] /* RBX stays unless there is a result */ };
	u64 i = fn - HC_PREFIX;
	long r;
	if (!monitor_available())
		r = SLAT_E_NOTSUP;
	else if (i >= ARRAY_SIZE(functions) || !functions[i])
		r = SLAT_E_NOSYS;
	/* The guest kernel decides who may watch memory; its user space may not unless allowed. */
	else if (vcpu_guest_cpl() != 0 && !opts.monitor_cpl3)
		r = SLAT_E_PERM;
	else
		r = functions[i](v, &a);
	v->regs.gpr[GPR_RAX] = (u64)r;
	if (r == SLAT_OK)
		v->regs.gpr[GPR_RBX] = a.out;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
