/* guest_walk.c: present, R/W, U/S, NX, SMEP, SMAP and reserved-bit checks on the shared walk loop. */
#include "guest_walk.h"
#include "../kernel/kstring.h"
#include "../mm/pte.h"

struct walk {
	const struct gw_paging *pg;
	struct gw_result *r;
	u64 va;
	u64 table_gpa;
	u64 rsvd_addr; /* address bits at or above MAXPHYADDR */
	bool rw, us, xd;
	bool faulted; /* the walk itself found a fault (else a table was unreachable) */
	u32 fault;    /* its error-code bits: 0 (not present) or P|RSVD */
};

/* SDM Vol. 3A, tables 4-14 to 4-20: reserved bits by level and page size. */
static bool reserved(const struct walk *w, u64 e, int level, bool leaf)
{
	if (e & w->rsvd_addr)
		return true;
	if ((e & PTE_XD) && !w->pg->nxe)
		return true;
	if (level == 4 && (e & PTE_PS))
		return true;
	if (level == 3 && leaf && !w->pg->gbpages)
		return true;
	if ((level == 2 || level == 3) && leaf && (e & gw_large_reserved(level)))
		return true;
	return false;
}

static enum pt_step step(struct pt_ops *ops, u64 *ep, int level, void *arg)
{
	(void)ops;
	struct walk *w = arg;
	u64 e = __atomic_load_n(ep, __ATOMIC_RELAXED); /* read once: the guest may change it */
	w->r->entry[level] = e;
	w->r->entry_gpa[level] = w->table_gpa + pt_index(w->va, level) * 8;
	if (!(e & PTE_P)) {
		w->faulted = true;
		w->fault = 0;
		return PT_FAIL;
	}
	bool leaf = level == 1 || (level <= 3 && (e & PTE_PS));
	if (reserved(w, e, level, leaf)) {
		w->faulted = true;
		w->fault = PFEC_P | PFEC_RSVD;
		return PT_FAIL;
	}
	w->rw &= !!(e & PTE_RW);
	w->us &= !!(e & PTE_US);
	w->xd |= !!(e & PTE_XD);
	if (leaf)
		return PT_STOP;
	w->table_gpa = e & PT_ADDR_MASK & ~w->rsvd_addr;
	return PT_DESCEND;
}

/* SDM Vol. 3A, 4.6: what the accumulated rights allow this access. */
static bool allowed(const struct walk *w, u32 access)
{
	const struct gw_paging *pg = w->pg;
	bool write = access & GW_WRITE, fetch = access & GW_FETCH;
	if (fetch && w->xd && pg->nxe)
		return false;
	if (access & GW_USER)
		return w->us && (!write || w->rw);
	if (write && !w->rw && pg->wp)
		return false;
	if (w->us && fetch && pg->smep)
		return false;
	if (w->us && !fetch && pg->smap && ((access & GW_IMPLICIT) || !pg->ac))
		return false;
	return true;
}

bool guest_walk(struct pt_ops *mem, const struct gw_paging *pg, u64 va, u32 access,
		struct gw_result *r)
{
	memset(r, 0, sizeof(*r));
	u64 rsvd = pg->maxphyaddr < 52 ? GENMASK(51, pg->maxphyaddr) : 0;
	struct walk w = { pg, r, va, pg->cr3 & PT_ADDR_MASK & ~rsvd, rsvd, true, true, false, false, 0 };
	/* The I/D bit is reported only where execute rights exist to be checked (4.7). */
	u32 id = (access & GW_FETCH) && (pg->nxe || pg->smep) ? PFEC_I : 0;
	u32 wu = access & (GW_WRITE | GW_USER);

	int level;
	u64 *leaf = pt_descend(mem, w.table_gpa, va, step, &w, &level);
	if (!leaf) {
		/* Not present, reserved bits, or a table outside guest RAM (taken as reserved). */
		r->pfec = (w.faulted ? w.fault : PFEC_P | PFEC_RSVD) | wu | id;
		return false;
	}
	if (!allowed(&w, access)) {
		r->pfec = PFEC_P | wu | id;
		return false;
	}

	/* 4.8: accessed in every entry used, dirty in the leaf on a write. */
	for (int l = PT_LEVELS; l >= level; l--) {
		u64 *ep = mem->table(mem->ctx, ALIGN_DOWN(r->entry_gpa[l], PAGE_SIZE));
		if (!ep)
			continue;
		ep += (r->entry_gpa[l] & (PAGE_SIZE - 1)) / 8;
		u64 set = PTE_A | (l == level && (access & GW_WRITE) ? PTE_D : 0);
		if ((r->entry[l] & set) != set)
			r->entry[l] = __atomic_or_fetch(ep, set, __ATOMIC_SEQ_CST);
	}
	u64 size = pt_level_size(level);
	r->level = level;
	r->gpa = (r->entry[level] & PT_ADDR_MASK & ~rsvd & ~(size - 1)) | (va & (size - 1));
	r->writable = w.rw;
	r->user = w.us;
	r->executable = !(w.xd && pg->nxe);
	return true;
}
