/* segment.c: segmented memory access, descriptor loads and far jumps of the interpreter (SDM Vol. 3A, chapters 3 and 5). */
#include "internal.h"

/* A segment descriptor's fields (SDM Vol. 3A, 3.4.5, figure 3-8). */
#define DESC_LIMIT(lo, hi) (((lo) & 0xFFFF) | ((hi) & 0xF0000))
#define DESC_BASE(lo, hi) (((lo) >> 16) | (((hi) & 0xFF) << 16) | ((hi) & 0xFF000000))
/* Bits 8-15 (type, S, DPL, P) and 20-23 (AVL, L, D/B, G) of the high dword are the VMCS's AR bits 0-7 and 12-15. */
#define DESC_AR(hi) (((hi) >> 8) & 0xF0FF)
#define DESC_ACCESSED_BYTE 5 /* the byte holding the type field */
#define SEL_RPL(s) ((s) & 3)
#define SEL_TI BIT(2)
#define SEL_INDEX_MASK 0xFFF8
#define SEL_ERROR(s) ((s) & 0xFFFC) /* the error code of a selector fault: the selector without RPL */

bool emul_protected(const struct emul *e)
{
	return e->ops->read_ctl(e->ops->ctx, CTL_CR0) & CR0_PE_BIT;
}

unsigned emul_cpl(const struct emul *e)
{
	/* SDM Vol. 3C, 25.4.1: the CPL is SS.DPL (0 in real mode, where SS keeps DPL 0). */
	return emul_protected(e) ? EMUL_AR_DPL(e->cpu->seg[SR_SS].ar) : 0;
}

static bool phys(struct emul *e, bool write, u64 gpa, void *buf, unsigned len)
{
	enum emul_access a = write ? e->ops->write(e->ops->ctx, gpa, buf, len)
				   : e->ops->read(e->ops->ctx, gpa, buf, len);
	if (a == ACC_OK)
		return true;
	e->res->addr = gpa;
	emul_stop(e, EMUL_NO_RAM);
	return false;
}

/* SDM Vol. 3A, 5.3: is [off, off + len) inside the segment's limit? */
static bool within_limit(const struct emul_seg *s, u32 off, unsigned len)
{
	u64 last = (u64)off + len - 1;
	bool data = (s->ar & EMUL_AR_S) && !(EMUL_AR_TYPE(s->ar) & SEG_TYPE_CODE);
	if (data && (EMUL_AR_TYPE(s->ar) & SEG_TYPE_DATA_EXPAND_DOWN)) {
		u64 upper = (s->ar & EMUL_AR_DB) ? 0xFFFFFFFFULL : 0xFFFF;
		return off > s->limit && last <= upper;
	}
	return last <= s->limit;
}

static bool access(struct emul *e, enum emul_sreg seg, u32 off, void *buf, unsigned len, bool write)
{
	const struct emul_seg *s = &e->cpu->seg[seg];
	u8 vector = seg == SR_SS ? VEC_SS : VEC_GP;
	if (emul_protected(e)) {
		u32 type = EMUL_AR_TYPE(s->ar);
		bool code = type & SEG_TYPE_CODE;
		/* SDM Vol. 3A, 5.4.1: a null (unusable) segment, execute-only code, writes to code or read-only data. */
		if ((s->ar & EMUL_AR_UNUSABLE) || (!write && code && !(type & SEG_TYPE_CODE_READABLE)) ||
		    (write && (code || !(type & SEG_TYPE_DATA_WRITABLE)))) {
			emul_fault(e, vector, 0);
			return false;
		}
	}
	if (!within_limit(s, off, len)) {
		emul_fault(e, vector, 0);
		return false;
	}
	/* Paging is off while the interpreter runs: the linear address is the physical one (32 bits). */
	u64 linear = (u32)(s->base + off);
	if (linear + len > BIT(32)) {
		emul_fault(e, vector, 0); /* wrapping past 4 GiB: no start-up code does it */
		return false;
	}
	return phys(e, write, linear, buf, len);
}

bool emul_read(struct emul *e, enum emul_sreg seg, u32 off, void *buf, unsigned len)
{
	return access(e, seg, off, buf, len, false);
}

bool emul_write(struct emul *e, enum emul_sreg seg, u32 off, const void *buf, unsigned len)
{
	return access(e, seg, off, (void *)buf, len, true);
}

bool emul_read_n(struct emul *e, enum emul_sreg seg, u32 off, unsigned size, u32 *val)
{
	u8 b[4] = { 0 };
	if (!emul_read(e, seg, off, b, size))
		return false;
	*val = (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
	return true;
}

bool emul_write_n(struct emul *e, enum emul_sreg seg, u32 off, unsigned size, u32 val)
{
	u8 b[4] = { (u8)val, (u8)(val >> 8), (u8)(val >> 16), (u8)(val >> 24) };
	return emul_write(e, seg, off, b, size);
}

bool emul_fetch(struct emul *e, u32 off, u8 *byte)
{
	const struct emul_seg *cs = &e->cpu->seg[SR_CS];
	/* SDM Vol. 3A, 5.3: every byte fetched must lie within the CS limit. */
	if (off > cs->limit) {
		emul_fault(e, VEC_GP, 0);
		return false;
	}
	return phys(e, false, (u32)(cs->base + off), byte, 1);
}

/*
 * The descriptor @sel names in the GDT or LDT, with the limit check of
 * SDM Vol. 3A, 3.5.1 (#GP with the selector as error code). @at gets its
 * linear address, for setting the accessed bit.
 */
static bool read_descriptor(struct emul *e, u16 sel, u32 *lo, u32 *hi, u64 *at)
{
	const struct emul_cpu *c = e->cpu;
	u32 base = c->gdt_base, limit = c->gdt_limit;
	if (sel & SEL_TI) {
		const struct emul_seg *ldt = &c->seg[SR_LDTR];
		if (ldt->ar & EMUL_AR_UNUSABLE) {
			emul_fault(e, VEC_GP, SEL_ERROR(sel));
			return false;
		}
		base = ldt->base;
		limit = ldt->limit;
	}
	u32 index = sel & SEL_INDEX_MASK;
	if ((u64)index + 7 > limit) {
		emul_fault(e, VEC_GP, SEL_ERROR(sel));
		return false;
	}
	u8 d[8];
	*at = (u32)(base + index);
	if (!phys(e, false, *at, d, sizeof(d)))
		return false;
	*lo = (u32)d[0] | (u32)d[1] << 8 | (u32)d[2] << 16 | (u32)d[3] << 24;
	*hi = (u32)d[4] | (u32)d[5] << 8 | (u32)d[6] << 16 | (u32)d[7] << 24;
	return true;
}

/* SDM Vol. 3A, 3.4.5.1: the processor sets the accessed bit in memory when it loads a descriptor. */
static bool set_accessed(struct emul *e, u64 at, u32 *hi)
{
	if (*hi & (SEG_TYPE_ACCESSED << 8))
		return true;
	*hi |= SEG_TYPE_ACCESSED << 8;
	u8 b = (u8)(*hi >> 8);
	return phys(e, true, at + DESC_ACCESSED_BYTE, &b, 1);
}

static void cache_descriptor(struct emul_seg *s, u16 sel, u32 lo, u32 hi)
{
	s->sel = sel;
	s->base = DESC_BASE(lo, hi);
	s->ar = DESC_AR(hi);
	u32 limit = DESC_LIMIT(lo, hi);
	s->limit = (s->ar & EMUL_AR_G) ? (limit << 12) | 0xFFF : limit;
}

bool emul_load_data_seg(struct emul *e, enum emul_sreg seg, u16 sel)
{
	struct emul_seg *s = &e->cpu->seg[seg];
	if (!emul_protected(e)) {
		/* Real mode: selector and base only; limit and attributes stay as they were (the "unreal" rule). */
		s->sel = sel;
		s->base = (u32)sel << 4;
		return true;
	}
	unsigned cpl = emul_cpl(e);
	if (!(sel & ~3u)) {
		/* SDM Vol. 2, MOV: a null selector faults for SS and makes any other data register unusable. */
		if (seg == SR_SS) {
			emul_fault(e, VEC_GP, 0);
			return false;
		}
		*s = (struct emul_seg){ .sel = sel, .ar = EMUL_AR_UNUSABLE };
		return true;
	}
	u32 lo, hi;
	u64 at;
	if (!read_descriptor(e, sel, &lo, &hi, &at))
		return false;
	u32 ar = DESC_AR(hi), type = EMUL_AR_TYPE(ar);
	unsigned dpl = EMUL_AR_DPL(ar), rpl = SEL_RPL(sel);
	bool code = type & SEG_TYPE_CODE;
	if (seg == SR_SS) {
		/* SS: a writable data segment with RPL = DPL = CPL; not present is #SS. */
		if (rpl != cpl || !(ar & EMUL_AR_S) || code || !(type & SEG_TYPE_DATA_WRITABLE) || dpl != cpl) {
			emul_fault(e, VEC_GP, SEL_ERROR(sel));
			return false;
		}
		if (!(ar & EMUL_AR_P)) {
			emul_fault(e, VEC_SS, SEL_ERROR(sel));
			return false;
		}
	} else {
		/* DS ES FS GS: data or readable code; privilege checked unless conforming code. */
		bool conforming = code && (type & SEG_TYPE_CODE_CONFORMING);
		if (!(ar & EMUL_AR_S) || (code && !(type & SEG_TYPE_CODE_READABLE)) ||
		    (!conforming && (rpl > dpl || cpl > dpl))) {
			emul_fault(e, VEC_GP, SEL_ERROR(sel));
			return false;
		}
		if (!(ar & EMUL_AR_P)) {
			emul_fault(e, VEC_NP, SEL_ERROR(sel));
			return false;
		}
	}
	if (!set_accessed(e, at, &hi))
		return false;
	cache_descriptor(s, sel, lo, hi);
	return true;
}

bool emul_far_jump(struct emul *e, u16 sel, u32 off)
{
	struct emul_cpu *c = e->cpu;
	if (!emul_protected(e)) {
		/* Real mode: CS gets selector and base; it keeps the rest of its cache until a protected-mode far jump. */
		if (off > c->seg[SR_CS].limit) {
			emul_fault(e, VEC_GP, 0);
			return false;
		}
		c->seg[SR_CS].sel = sel;
		c->seg[SR_CS].base = (u32)sel << 4;
		c->eip = off;
		return true;
	}
	/* SDM Vol. 2, JMP, "IF far jump and protected mode": the checks for a code-segment descriptor. */
	if (!(sel & ~3u)) {
		emul_fault(e, VEC_GP, 0);
		return false;
	}
	u32 lo, hi;
	u64 at;
	if (!read_descriptor(e, sel, &lo, &hi, &at))
		return false;
	u32 ar = DESC_AR(hi), type = EMUL_AR_TYPE(ar);
	unsigned cpl = emul_cpl(e), dpl = EMUL_AR_DPL(ar);
	/* Table 3-2: TSSs (1, 3, 9, 11), call gates (4, 12) and the task gate (5). */
	bool gate_or_tss = type == 1 || type == 3 || type == 4 || type == 5 || type == 9 || type == 11 || type == 12;
	if (!(ar & EMUL_AR_S) && gate_or_tss) {
		/* A task switch or a gate: real start-up code never jumps through them. */
		emul_stop(e, EMUL_UNKNOWN);
		return false;
	}
	bool conforming = type & SEG_TYPE_CODE_CONFORMING;
	if (!(ar & EMUL_AR_S) || !(type & SEG_TYPE_CODE) || (conforming && dpl > cpl) ||
	    (!conforming && (SEL_RPL(sel) > cpl || dpl != cpl))) {
		emul_fault(e, VEC_GP, SEL_ERROR(sel));
		return false;
	}
	if (!(ar & EMUL_AR_P)) {
		emul_fault(e, VEC_NP, SEL_ERROR(sel));
		return false;
	}
	struct emul_seg next;
	cache_descriptor(&next, (u16)((sel & ~3u) | cpl), lo, hi);
	if (off > next.limit) {
		emul_fault(e, VEC_GP, 0);
		return false;
	}
	if (!set_accessed(e, at, &hi))
		return false;
	next.ar |= SEG_TYPE_ACCESSED;
	c->seg[SR_CS] = next;
	c->eip = off;
	return true;
}
