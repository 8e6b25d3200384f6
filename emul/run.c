/* run.c: the interpreter's loop: the state after SIPI, one instruction per step, the VM-entry check, the stop message. */
#include "internal.h"
#include "../kernel/fmt.h"
#include "../kernel/kstring.h"

void emul_cpu_sipi(struct emul_cpu *cpu, u8 vector)
{
	/* SDM Vol. 3A, table 10-1 (after INIT) and 9.4.4 (SIPI: CS = vector << 8, base vector << 12, IP 0). */
	u32 data = 0x3 | EMUL_AR_S | EMUL_AR_P; /* read/write data, accessed */
	memset(cpu, 0, sizeof(*cpu));
	for (unsigned s = SR_ES; s <= SR_GS; s++)
		cpu->seg[s] = (struct emul_seg){ .sel = 0, .base = 0, .limit = 0xFFFF, .ar = data };
	cpu->seg[SR_CS] = (struct emul_seg){ .sel = (u16)(vector << 8), .base = (u32)vector << 12,
					      .limit = 0xFFFF, .ar = 0xB | EMUL_AR_S | EMUL_AR_P };
	cpu->seg[SR_LDTR] = (struct emul_seg){ .limit = 0xFFFF, .ar = SEG_TYPE_LDT | EMUL_AR_P };
	cpu->seg[SR_TR] = (struct emul_seg){ .limit = 0xFFFF, .ar = SEG_TYPE_TSS_BUSY | EMUL_AR_P };
	cpu->gdt_limit = cpu->idt_limit = 0xFFFF;
	cpu->eflags = FL_FIXED1;
}

static void stop_at(struct emul *e, enum emul_stop why)
{
	if (e->stopped)
		return; /* the first reason wins */
	e->stopped = true;
	e->res->why = why;
	e->res->cs = e->cpu->seg[SR_CS].sel;
	e->res->eip = e->in.start;
	memcpy(e->res->bytes, e->in.bytes, e->in.len);
	e->res->nbytes = e->in.len;
}

void emul_stop(struct emul *e, enum emul_stop why)
{
	stop_at(e, why);
}

void emul_fault(struct emul *e, u8 vector, u32 error)
{
	if (e->stopped)
		return;
	e->res->vector = vector;
	e->res->error = error;
	stop_at(e, EMUL_FAULT);
}

/* SDM Vol. 3C, 26.3.1.2: limit and G agree (bits 11:0 all 1 if G = 1; bits 31:20 all 0 if G = 0). */
static bool limit_granularity_ok(const struct emul_seg *s)
{
	if ((s->limit & 0xFFF) != 0xFFF && (s->ar & EMUL_AR_G))
		return false;
	if ((s->limit & 0xFFF00000) && !(s->ar & EMUL_AR_G))
		return false;
	return true;
}

static const char *check_data_seg(const struct emul_seg *s)
{
	if (s->ar & EMUL_AR_UNUSABLE)
		return NULL;
	u32 type = EMUL_AR_TYPE(s->ar);
	if (!(type & SEG_TYPE_ACCESSED))
		return "a data segment is not accessed";
	if ((type & SEG_TYPE_CODE) && !(type & SEG_TYPE_CODE_READABLE))
		return "a data segment register holds execute-only code";
	if (!(s->ar & EMUL_AR_S) || !(s->ar & EMUL_AR_P))
		return "a data segment is a system segment or not present";
	/* Data and non-conforming code: DPL >= RPL. */
	if ((!(type & SEG_TYPE_CODE) || !(type & SEG_TYPE_CODE_CONFORMING)) && EMUL_AR_DPL(s->ar) < (s->sel & 3u))
		return "a data segment's DPL is below its RPL";
	return limit_granularity_ok(s) ? NULL : "a data segment's limit and G disagree";
}

bool emul_vmentry_ready(const struct emul_cpu *cpu, const struct emul_ops *ops, const char **why)
{
	u64 cr0 = ops->read_ctl(ops->ctx, CTL_CR0), cr4 = ops->read_ctl(ops->ctx, CTL_CR4);
	u64 efer = ops->read_ctl(ops->ctx, CTL_EFER);
	const struct emul_seg *cs = &cpu->seg[SR_CS], *ss = &cpu->seg[SR_SS], *tr = &cpu->seg[SR_TR],
			      *ldtr = &cpu->seg[SR_LDTR];
	bool ia32e = efer & BIT(10); /* EFER.LMA: the IA-32e mode guest entry control follows it */
	const char *w = NULL;
	u32 cs_type = EMUL_AR_TYPE(cs->ar);
	/* 26.3.1.1: without unrestricted guest, CR0.PE and CR0.PG are fixed to 1 (IA32_VMX_CR0_FIXED0). */
	if (!(cr0 & CR0_PE_BIT))
		w = "CR0.PE is clear";
	else if (!(cr0 & CR0_PG_BIT))
		w = "CR0.PG is clear";
	else if (ia32e && !(cr4 & BIT(5)))
		w = "IA-32e mode without CR4.PAE";
	else if (cpu->eflags & FL_VM)
		w = "virtual-8086 mode";
	/* 26.3.1.2, CS: accessed code, S, P; DPL against SS.DPL; L and D not both in IA-32e mode. */
	else if (!(cs_type & SEG_TYPE_CODE) || !(cs_type & SEG_TYPE_ACCESSED) || !(cs->ar & EMUL_AR_S) ||
		 !(cs->ar & EMUL_AR_P))
		w = "CS is not a present, accessed code segment";
	else if ((cs_type & SEG_TYPE_CODE_CONFORMING) ? EMUL_AR_DPL(cs->ar) > EMUL_AR_DPL(ss->ar)
						      : EMUL_AR_DPL(cs->ar) != EMUL_AR_DPL(ss->ar))
		w = "CS.DPL does not match SS.DPL";
	else if (ia32e && (cs->ar & EMUL_AR_L) && (cs->ar & EMUL_AR_DB))
		w = "CS has both L and D set";
	else if (!limit_granularity_ok(cs))
		w = "CS's limit and G disagree";
	/* SS: RPL equals CS's; if usable, writable data with DPL = RPL. */
	else if ((ss->sel & 3) != (cs->sel & 3))
		w = "SS.RPL differs from CS.RPL";
	else if (!(ss->ar & EMUL_AR_UNUSABLE) &&
		 ((EMUL_AR_TYPE(ss->ar) != 3 && EMUL_AR_TYPE(ss->ar) != 7) || !(ss->ar & EMUL_AR_S) ||
		  !(ss->ar & EMUL_AR_P) || EMUL_AR_DPL(ss->ar) != (ss->sel & 3u) || !limit_granularity_ok(ss)))
		w = "SS is not a present, writable data segment with DPL = RPL";
	else if ((w = check_data_seg(&cpu->seg[SR_DS])) || (w = check_data_seg(&cpu->seg[SR_ES])) ||
		 (w = check_data_seg(&cpu->seg[SR_FS])) || (w = check_data_seg(&cpu->seg[SR_GS])))
		;
	/* TR: a busy TSS from the GDT (a 64-bit one in IA-32e mode); LDTR: an LDT if usable. */
	else if ((tr->sel & BIT(2)) || (tr->ar & (EMUL_AR_UNUSABLE | EMUL_AR_S)) || !(tr->ar & EMUL_AR_P) ||
		 (EMUL_AR_TYPE(tr->ar) != SEG_TYPE_TSS_BUSY && (ia32e || EMUL_AR_TYPE(tr->ar) != SEG_TYPE_TSS16_BUSY)) ||
		 !limit_granularity_ok(tr))
		w = "TR is not a present busy TSS";
	else if (!(ldtr->ar & EMUL_AR_UNUSABLE) &&
		 ((ldtr->sel & BIT(2)) || (ldtr->ar & EMUL_AR_S) || EMUL_AR_TYPE(ldtr->ar) != SEG_TYPE_LDT ||
		  !(ldtr->ar & EMUL_AR_P) || !limit_granularity_ok(ldtr)))
		w = "LDTR is not a present LDT";
	if (why)
		*why = w;
	return w == NULL;
}

void emul_run(struct emul_cpu *cpu, const struct emul_ops *ops, u64 budget, struct emul_result *res)
{
	struct emul e = { .cpu = cpu, .ops = ops, .res = res };
	memset(res, 0, sizeof(*res));
	for (;;) {
		const char *why;
		memset(&e.in, 0, sizeof(e.in));
		e.in.start = cpu->eip;
		if (emul_vmentry_ready(cpu, ops, &why)) {
			stop_at(&e, EMUL_READY);
			break;
		}
		/* Paging on is past what the interpreter does (it has no page walker): VT-x must take over here. */
		if (ops->read_ctl(ops->ctx, CTL_CR0) & CR0_PG_BIT) {
			res->detail = why;
			stop_at(&e, EMUL_NOT_ENTERABLE);
			break;
		}
		if (res->steps >= budget) {
			stop_at(&e, EMUL_BUDGET);
			break;
		}
		/* Interrupts are not delivered here, so an interrupt shadow just ends with the next instruction. */
		cpu->sti_shadow = cpu->movss_shadow = false;
		u8 op;
		if (emul_decode_prefixes(&e, &op))
			emul_execute(&e, op);
		if (e.stopped)
			break;
		res->steps++;
	}
	if (res->why == EMUL_HALT || res->why == EMUL_READY)
		return;
	/* For the message: the stopping instruction's bytes, as far as they can be read within the CS limit. */
	const struct emul_seg *c = &cpu->seg[SR_CS];
	unsigned n = res->nbytes;
	while (n < EMUL_MAX_INSN && res->eip + n <= c->limit &&
	       ops->read(ops->ctx, (u32)(c->base + res->eip + n), &res->bytes[n], 1) == ACC_OK)
		n++;
	res->nbytes = n;
}

static const char *const vector_names[32] = {
	[0] = "DE", [1] = "DB", [3] = "BP", [4] = "OF", [5] = "BR", [6] = "UD", [7] = "NM",
	[8] = "DF", [10] = "TS", [11] = "NP", [12] = "SS", [13] = "GP", [14] = "PF", [16] = "MF",
	[17] = "AC", [18] = "MC", [19] = "XM",
};

const char *emul_describe(const struct emul_result *res, char *buf, size_t size)
{
	char what[96];
	switch (res->why) {
	case EMUL_READY:
		fmt_snprintf(what, sizeof(what), "the state is valid for VM entry");
		break;
	case EMUL_HALT:
		fmt_snprintf(what, sizeof(what), "HLT");
		break;
	case EMUL_FAULT: {
		const char *n = res->vector < 32 && vector_names[res->vector] ? vector_names[res->vector] : "??";
		fmt_snprintf(what, sizeof(what), "exception #%s (vector %u, error 0x%x)", n, res->vector, res->error);
		break;
	}
	case EMUL_UNKNOWN:
		fmt_snprintf(what, sizeof(what), "an instruction it does not interpret");
		break;
	case EMUL_BUDGET:
		fmt_snprintf(what, sizeof(what), "its step budget ran out");
		break;
	case EMUL_NO_RAM:
		fmt_snprintf(what, sizeof(what), "an access to guest-physical 0x%llx, which is not guest RAM",
			     (unsigned long long)res->addr);
		break;
	case EMUL_POLICY:
		fmt_snprintf(what, sizeof(what), "a control-register or MSR access that stops the vCPU");
		break;
	case EMUL_NOT_ENTERABLE:
	default:
		fmt_snprintf(what, sizeof(what), "paging is on but VM entry would fail (%s)",
			     res->detail ? res->detail : "?");
		break;
	}
	int at = fmt_snprintf(buf, size, "%s at %04x:%08x after %llu instructions; bytes", what, res->cs,
			      res->eip, (unsigned long long)res->steps);
	for (unsigned i = 0; i < res->nbytes && at > 0 && (size_t)at < size; i++)
		at += fmt_snprintf(buf + at, size - (size_t)at, " %02x", res->bytes[i]);
	if (!res->nbytes && at > 0 && (size_t)at < size)
		fmt_snprintf(buf + at, size - (size_t)at, " (none readable)");
	return buf;
}
