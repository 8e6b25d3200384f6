/* mmu.c: shadow pages filled on faults, guest tables write-protected, synced lazily at flush points. */
#include "mmu_internal.h"
#include "cr0_wp.h"
#include "../kernel/kstring.h"

#define RIGHTS (PTE_RW | PTE_US | PTE_XD)
#define LEAF_ATTRS (PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_PAT | PTE_G | PTE_XD)

/* How many pages one reclaim frees: one pass over the pool and one remote flush pay for all. */
#define RECLAIM_BATCH 32

/*
 * A guest table that went out of sync this many times in a row without a
 * fill walking through it is most likely no longer a page table (a freed
 * table reused as a pipe buffer or a stack). Protecting it again at every
 * flush point would cost a write fault after every flush for as long as the
 * frame lives: its shadow page is emptied and left unprotected instead.
 */
#define FLOOD_LIMIT 3

static u64 gfn_of(u64 e)
{
	return (e & PT_ADDR_MASK) >> PAGE_SHIFT;
}

u64 *table_of(struct shadow_mmu *m, const struct spt_page *sp)
{
	return m->env.shadow_table(m->env.ctx, sp->table);
}

/* The shadow page a present upper-level shadow entry points to. */
static struct spt_page *child_of(struct shadow_mmu *m, u64 e)
{
	return &m->pool.pages[((e & PT_ADDR_MASK) - m->pool.table_base) / PAGE_SIZE];
}

static struct gfn_meta *meta_of(struct shadow_mmu *m, u64 gfn)
{
	return gfn < m->nr_gfns ? &m->meta[gfn] : NULL;
}

union spt_role shadow_role(const struct gw_paging *pg, int level)
{
	/* SMEP and SMAP are the hardware's to enforce: shadow entries copy U/S, so they are not in the role. */
	union spt_role r = { .word = 0 };
	r.level = (u32)level;
	r.cr0_wp = pg->wp;
	r.nxe = pg->nxe;
	/* With WP clear, whether a leaf may be lent depends on SMAP (cr0_wp.h): a change builds anew. */
	r.smap = !pg->wp && pg->smap;
	return r;
}

/* The role of the shadow page standing in at @level for part of the guest large page @leaf. */
static union spt_role direct_role(int level, u64 leaf)
{
	union spt_role r = { .word = 0 };
	r.level = (u32)level;
	r.direct = 1;
	/* Writable only once the guest's dirty flag is set, so the first write reaches slatvisor. */
	r.access = (leaf & PTE_RW) && (leaf & PTE_D);
	r.memtype = (u32)(((leaf & (PTE_PWT | PTE_PCD)) >> 3) | (leaf & PTE_PAT_LARGE ? 4 : 0));
	r.global = !!(leaf & PTE_G);
	return r;
}

/* Leaf attributes of a direct page's 4 KiB entries: the rights are in the entry pointing to it. */
static u64 direct_attrs(union spt_role r)
{
	return PTE_US | (r.access ? PTE_RW : 0) | ((u64)(r.memtype & 3) << 3) | (r.memtype & 4 ? PTE_PAT : 0) |
	       (r.global ? PTE_G : 0);
}

/* ---- who maps a frame writable ---- */

static u32 ref_of(struct shadow_mmu *m, const struct spt_page *sp, unsigned i)
{
	return (spt_index(&m->pool, sp) << 9 | i) + 1;
}

static void rmap_add(struct shadow_mmu *m, u64 gfn, u32 ref)
{
	struct gfn_meta *g = &m->meta[gfn];
	if (!g->rmap[0])
		g->rmap[0] = ref;
	else if (!g->rmap[1])
		g->rmap[1] = ref;
	else
		g->overflow = 1;
}

static void rmap_del(struct shadow_mmu *m, u64 gfn, u32 ref)
{
	struct gfn_meta *g = &m->meta[gfn];
	if (g->rmap[0] == ref)
		g->rmap[0] = 0;
	else if (g->rmap[1] == ref)
		g->rmap[1] = 0;
	/* else it was one of the overflow: the next protection scan finds it gone */
}

/* Every change to a leaf shadow entry goes through here, so the rmap stays exact. */
static void set_leaf(struct shadow_mmu *m, struct spt_page *sp, unsigned i, u64 val)
{
	u64 *e = &table_of(m, sp)[i];
	u64 old = *e;
	if (old & SPTE_RMAPPED)
		rmap_del(m, gfn_of(old), ref_of(m, sp, i));
	if (val & SPTE_RMAPPED)
		rmap_add(m, gfn_of(val), ref_of(m, sp, i));
	__atomic_store_n(e, val, __ATOMIC_RELEASE); /* other CPUs walk this table */
}

static void unwritable(struct shadow_mmu *m, struct spt_page *sp, unsigned i)
{
	u64 *e = &table_of(m, sp)[i];
	__atomic_store_n(e, *e & ~(u64)(PTE_RW | SPTE_RMAPPED), __ATOMIC_RELEASE);
}

/*
 * Every leaf entry for @gfn with @bit set becomes read-only. Shadow leaves
 * are all 4 KiB (a guest large page is shadowed by a direct table of them),
 * so level 1 is the only level to scan.
 */
static void scan_unwritable(struct shadow_mmu *m, u64 gfn, u64 bit)
{
	m->stats.rmap_scans++;
	for (u32 s = 0; s < m->pool.capacity; s++) {
		struct spt_page *sp = &m->pool.pages[s];
		if (!sp->in_use || sp->role.level != 1)
			continue;
		u64 *t = table_of(m, sp);
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if ((t[i] & bit) && (t[i] & PTE_P) && gfn_of(t[i]) == gfn)
				unwritable(m, sp, i);
	}
}

/*
 * Make @gfn read-only in every shadow leaf. Other CPUs may still hold a
 * writable translation in their TLBs: the caller settles (flushes them)
 * before it trusts the frame's contents.
 */
static void write_protect(struct shadow_mmu *m, u64 gfn)
{
	struct gfn_meta *g = &m->meta[gfn];
	m->stats.protects++;
	for (unsigned k = 0; k < 2; k++) {
		u32 ref = g->rmap[k];
		if (!ref)
			continue;
		unwritable(m, &m->pool.pages[(ref - 1) >> 9], (ref - 1) & 511);
		g->rmap[k] = 0;
	}
	if (g->overflow) {
		scan_unwritable(m, gfn, SPTE_RMAPPED);
		g->overflow = 0;
	}
	m->remote_owed = true;
}

void shadow_write_protect_frame(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 gfn)
{
	if (gfn < m->nr_gfns) {
		write_protect(m, gfn);
	} else {
		/* No frame data out here, so no rmap: every leaf table is looked at. */
		scan_unwritable(m, gfn, PTE_RW);
		m->remote_owed = true;
	}
	settle(m, sv);
}

void protect_inc(struct shadow_mmu *m, u64 gfn)
{
	if (m->meta[gfn].protect++ == 0)
		write_protect(m, gfn);
}

/* Write protection changed, or a table is about to be reused: every TLB must let go first. */
void settle(struct shadow_mmu *m, struct shadow_vcpu *sv)
{
	if (!m->remote_owed)
		return;
	m->remote_owed = false;
	sv->flush = FLUSH_ALL;
	if (m->others_running && m->env.flush_others) {
		m->stats.remote_flushes++;
		m->env.flush_others(m->env.ctx);
	}
}

void owe(struct shadow_vcpu *sv, enum shadow_flush f)
{
	if (f > sv->flush)
		sv->flush = f;
}

/* ---- the pool ---- */

static void unsync_remove(struct shadow_mmu *m, struct spt_page *sp)
{
	u32 want = spt_index(&m->pool, sp);
	for (u32 *link = &m->unsync_head; *link != SPT_NONE; link = &m->pool.pages[*link].unsync_next) {
		if (*link == want) {
			*link = sp->unsync_next;
			m->unsync_count--;
			return;
		}
	}
}

void shadow_free_page(struct shadow_mmu *m, struct spt_page *sp)
{
	if (sp->role.level == 1)
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			set_leaf(m, sp, i, 0);
	if (!sp->role.direct) {
		struct gfn_meta *g = &m->meta[sp->gfn];
		g->shadowed--;
		if (sp->unsync)
			unsync_remove(m, sp);
		else if (!sp->husk)
			g->protect--;
	}
	sp->dying = false;
	spt_free(&m->pool, sp);
}

/* Reclaim a batch of least recently used pages: cut every link to them, then free them. */
void shadow_reclaim(struct shadow_mmu *m, struct shadow_vcpu *sv)
{
	u32 victims[RECLAIM_BATCH];
	u32 n = spt_pick_victims(&m->pool, victims, MIN(RECLAIM_BATCH, m->pool.capacity / 8 + 1));
	if (!n)
		return;
	for (u32 s = 0; s < m->pool.capacity; s++) {
		struct spt_page *sp = &m->pool.pages[s];
		if (!sp->in_use || sp->dying || sp->role.level < 2)
			continue;
		u64 *t = table_of(m, sp);
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if ((t[i] & PTE_P) && child_of(m, t[i])->dying)
				__atomic_store_n(&t[i], 0, __ATOMIC_RELEASE);
	}
	for (u32 k = 0; k < n; k++)
		shadow_free_page(m, &m->pool.pages[victims[k]]);
	m->stats.reclaims += n;
	/* A CPU may still walk a freed table through its paging-structure caches. */
	m->remote_owed = true;
	settle(m, sv);
}

static void fill_direct(struct shadow_mmu *m, struct spt_page *sp);
static void resync_page(struct shadow_mmu *m, struct spt_page *sp);

/* A husk is about to be used as a table again: protect its frame, as for a new shadow page. */
static void rearm(struct shadow_mmu *m, struct spt_page *sp, bool *protected_new)
{
	sp->husk = false;
	protect_inc(m, sp->gfn);
	*protected_new = true;
}

/* The shadow page for (gfn, role), made if need be. New guest-table shadows write-protect the frame. */
struct spt_page *get_page(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 gfn,
				 union spt_role role, bool *protected_new)
{
	struct spt_page *sp = spt_lookup(&m->pool, gfn, role);
	if (sp) {
		if (sp->husk)
			rearm(m, sp, protected_new);
		return sp;
	}
	if (role.level == PT_LEVELS && !role.direct) {
		sp = alloc_root(m, sv, gfn, role); /* a root: in its pair's slot */
	} else {
		if (m->pool.free_head == SPT_NONE)
			shadow_reclaim(m, sv);
		sp = spt_alloc(&m->pool, gfn, role);
	}
	if (!sp)
		return NULL;
	memset(table_of(m, sp), 0, PAGE_SIZE);
	if (role.direct) {
		if (role.level == 1)
			fill_direct(m, sp);
	} else {
		m->meta[gfn].shadowed++;
		protect_inc(m, gfn);
		*protected_new = true;
	}
	return sp;
}

/* ---- leaves ---- */

/*
 * The shadow leaf for guest frame @target with the guest's @attrs: writable
 * only if the guest allows it (@write_ok), the frame is not a guest table in
 * sync, and writes to it need not trap. False when nothing may be mapped.
 */
static bool leaf_value(struct shadow_mmu *m, u64 target, u64 attrs, bool write_ok, u64 *val)
{
	enum gpa_kind kind = m->env.kind(m->env.ctx, target);
	attrs &= ~(u64)PTE_RW;
	if (kind == GPA_NONE) {
		/* Nothing is there: all ones, read-only; a write faults and is dropped by the caller's caller. */
		if (!m->env.open_bus)
			return false;
		*val = m->env.open_bus | PTE_P | PTE_A | attrs;
		return true;
	}
	if (kind == GPA_HIDDEN) {
		/* Never hypervisor memory: the scratch page, which holds nothing of slatvisor's. */
		m->hidden_seen = true;
		*val = m->env.scratch | PTE_P | PTE_A | attrs | (write_ok ? PTE_RW | PTE_D : 0);
		return true;
	}
	struct gfn_meta *g = kind == GPA_RAM ? meta_of(m, target >> PAGE_SHIFT) : NULL;
	bool w = write_ok && !(g && g->protect) && !(m->env.trap_write && m->env.trap_write(m->env.ctx, target));
	*val = target | PTE_P | PTE_A | attrs | (w ? PTE_RW | PTE_D : 0) | (w && g ? SPTE_RMAPPED : 0);
	return true;
}

/* A direct page is filled whole at once: the guest's large page says everything about it. */
static void fill_direct(struct shadow_mmu *m, struct spt_page *sp)
{
	u64 attrs = direct_attrs(sp->role);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		u64 val;
		if (leaf_value(m, (sp->gfn + i) << PAGE_SHIFT, attrs, sp->role.access, &val))
			set_leaf(m, sp, i, val);
	}
}

/* A write to a guest table in sync: let it go out of sync (every role of it) instead of trapping each write. */
static void unsync_frame(struct shadow_mmu *m, u64 gfn)
{
	for (u32 i = spt_chain(&m->pool, gfn); i != SPT_NONE; i = m->pool.pages[i].hash_next) {
		struct spt_page *sp = &m->pool.pages[i];
		if (sp->gfn != gfn || sp->role.direct || sp->unsync || sp->husk)
			continue;
		sp->unsync = true;
		if (sp->flood < FLOOD_LIMIT)
			sp->flood++;
		m->meta[gfn].protect--;
		sp->unsync_next = m->unsync_head;
		m->unsync_head = i;
		m->unsync_count++;
	}
}

/* ---- filling a path from a guest walk ---- */

/*
 * What the shadow entry at @level (>= 2) on the path to @va should point to,
 * per the walk @r, from a page whose role is @parent, for @access.
 */
static void want_child(const struct gw_paging *pg, const struct gw_result *r, union spt_role parent,
		       u32 access, int level, u64 *gfn, union spt_role *role, u64 *rights)
{
	bool wp0 = !pg->wp;
	if (level > r->level) {
		*gfn = gfn_of(r->entry[level]);
		*role = shadow_role(pg, level - 1);
		*rights = r->entry[level] & RIGHTS;
		if (wp0) {
			wp0_path(parent, r->entry[level], role);
			*rights |= PTE_RW;
		}
		return;
	}
	/* Inside a guest large page: a direct page covers this entry's share of it. */
	u64 leaf = r->entry[r->level];
	u64 base = r->gpa & ~(pt_level_size(level) - 1);
	*gfn = base >> PAGE_SHIFT;
	*role = direct_role(level - 1, leaf);
	*rights = level == r->level ? leaf & RIGHTS : PTE_RW | PTE_US;
	if (wp0) {
		bool lent = wp0_lend(pg, r, access);
		role->access = wp0_writable(leaf & PTE_D, r->writable, r->user, lent);
		if (level == r->level) {
			*rights |= PTE_RW;
			if (lent)
				*rights = (*rights & ~(u64)PTE_US) | PTE_XD;
		}
	}
}

/* Shadow pages a fill protected (new, or husks armed again): at most one per level below the root. */
struct armed {
	struct spt_page *page[PT_LEVELS];
	unsigned n;
};

/* One fill, as a step on the shared walk (mm/pt.c) over the shadow tables. */
struct fill_walk {
	struct shadow_mmu *m;
	struct shadow_vcpu *sv;
	const struct gw_paging *pg;
	const struct gw_result *r;
	u32 access;
	u64 *gpa;
	struct armed *armed;
	struct spt_page *sp; /* the shadow page holding the entry the step is given */
	enum shadow_fault result;
};

/* The leaf: writable as the guest's entry and write protection allow. */
static enum shadow_fault fill_leaf(struct fill_walk *w, unsigned i)
{
	struct shadow_mmu *m = w->m;
	const struct gw_result *r = w->r;
	struct spt_page *sp = w->sp;
	u64 target = ALIGN_DOWN(r->gpa, PAGE_SIZE);
	u64 attrs;
	bool write_ok;
	if (r->level == 1 && !w->pg->wp) {
		bool lent = wp0_lend(w->pg, r, w->access);
		attrs = r->entry[1] & LEAF_ATTRS;
		write_ok = wp0_writable(r->entry[1] & PTE_D, r->writable, r->user, lent);
		if (lent)
			attrs = (attrs & ~(u64)PTE_US) | PTE_XD;
	} else if (r->level == 1) {
		attrs = r->entry[1] & LEAF_ATTRS;
		write_ok = (r->entry[1] & PTE_RW) && (r->entry[1] & PTE_D);
	} else {
		attrs = direct_attrs(sp->role);
		write_ok = sp->role.access;
	}
	*w->gpa = r->gpa;
	bool write = w->access & GW_WRITE, unsynced = false;
	/* Frames with metadata are below the top, never where nothing is: no lookup on that common path. */
	if (write && write_ok && m->env.open_bus && !meta_of(m, target >> PAGE_SHIFT) &&
	    m->env.kind(m->env.ctx, target) == GPA_NONE) {
		m->stats.fault_mmio++;
		return SF_EMULATE; /* a store where nothing is: dropped */
	}
	if (write && write_ok) {
		if (m->env.trap_write && m->env.trap_write(m->env.ctx, target)) {
			m->stats.fault_mmio++;
			return SF_EMULATE;
		}
		struct gfn_meta *g = meta_of(m, target >> PAGE_SHIFT);
		if (g && g->protect && m->env.kind(m->env.ctx, target) == GPA_RAM) {
			unsync_frame(m, target >> PAGE_SHIFT);
			m->stats.fault_unsync++;
			unsynced = true;
			/* A CR3 write that does not exit cannot sync it: no vCPU may stay armed. */
			shadow_disarm_all(m, w->sv);
		}
	}
	u64 val;
	if (!leaf_value(m, target, attrs, write_ok, &val))
		return SF_STOP;
	u64 old = table_of(m, sp)[i];
	if (unsynced)
		; /* counted above */
	else if (!(old & PTE_P))
		m->stats.fault_fill++;
	else if (old == val)
		m->stats.fault_spurious++;
	else if (write && !(old & PTE_RW))
		m->stats.fault_dirty++;
	else
		m->stats.fault_fill++;
	if (old != val)
		set_leaf(m, sp, i, val);
	if (old & PTE_P)
		owe(w->sv, FLUSH_ALL); /* a stale translation of this address may be cached */
	return SF_RETRY;
}

/* Above the leaf: the entry must point to the shadow page the guest walk calls for. */
static enum pt_step fill_step(struct pt_ops *ops, u64 *e, int l, void *arg)
{
	(void)ops;
	struct fill_walk *w = arg;
	struct shadow_mmu *m = w->m;
	if (l == 1) {
		w->result = fill_leaf(w, (unsigned)(e - table_of(m, w->sp)));
		return PT_STOP;
	}
	u64 gfn, rights;
	union spt_role role;
	want_child(w->pg, w->r, w->sp->role, w->access, l, &gfn, &role, &rights);
	u64 old = *e;
	struct spt_page *child = NULL;
	if (old & PTE_P) {
		struct spt_page *c = child_of(m, old);
		if (c->gfn == gfn && c->role.word == role.word)
			child = c;
	}
	bool linked = child && (old & RIGHTS) == rights;
	bool armed = false;
	if (!child) {
		w->sp->pins++; /* a reclaim must not take the table this path is being linked into */
		child = get_page(m, w->sv, gfn, role, &armed);
		w->sp->pins--;
		if (!child) {
			w->result = SF_STOP;
			return PT_FAIL;
		}
	} else if (child->husk) {
		rearm(m, child, &armed);
	}
	if (armed && w->armed->n < PT_LEVELS)
		w->armed->page[w->armed->n++] = child;
	child->flood = 0; /* still a page table */
	if (linked) {
		spt_touch(&m->pool, child); /* in use: keep it away from reclaim */
	} else {
		__atomic_store_n(e, child->table | PTE_P | PTE_A | rights, __ATOMIC_RELEASE);
		if (old & PTE_P)
			owe(w->sv, FLUSH_ALL); /* this CPU may cache the old entry */
	}
	w->sp = child;
	return PT_DESCEND;
}

static enum shadow_fault fill(struct shadow_mmu *m, struct shadow_vcpu *sv, const struct gw_paging *pg,
			      u64 va, u32 access, const struct gw_result *r, u64 *gpa, struct armed *armed)
{
	struct fill_walk w = { m, sv, pg, r, access, gpa, armed, sv->root, SF_STOP };
	int level;
	pt_descend(&m->sops, sv->root->table, va, fill_step, &w, &level);
	return w.result;
}

enum shadow_fault shadow_page_fault(struct shadow_mmu *m, struct shadow_vcpu *sv,
				    const struct gw_paging *pg, u64 va, u32 pfec, u32 *guest_pfec,
				    u64 *gpa)
{
	*gpa = 0;
	if ((pfec & PFEC_RSVD) || !sv->root)
		return SF_STOP; /* slatvisor built a bad entry, or there is no root: never the guest's doing */
	u32 access = (pfec & PFEC_W ? GW_WRITE : 0) | (pfec & PFEC_U ? GW_USER : 0) |
		     (pfec & PFEC_I ? GW_FETCH : 0);
	struct gw_result r;
	if (!guest_walk(&m->gops, pg, va, access, &r)) {
		m->stats.fault_guest++;
		*guest_pfec = r.pfec;
		return SF_INJECT;
	}
	if (wp0_lend(pg, &r, access) && !wp0_can_lend(pg)) {
		/* CR0.WP=0, a supervisor write to a read-only user page, under rules that forbid lending. */
		*gpa = r.gpa;
		return SF_STOP;
	}
	struct armed armed = { .n = 0 };
	enum shadow_fault f = fill(m, sv, pg, va, access, &r, gpa, &armed);
	settle(m, sv);
	/*
	 * A table this fill protected was read before the other CPUs let go of
	 * their writable translations (settle): what they wrote meanwhile is
	 * dropped now, as at a flush point, and the next access fills it anew.
	 */
	if (m->others_running)
		for (unsigned k = 0; k < armed.n; k++)
			resync_page(m, armed.page[k]);
	return f;
}

/* ---- flush points ---- */

/*
 * Is the shadow entry @s at @level, in a page of role @in, still what the
 * guest entry @g would make? A leaf lent under CR0.WP=0 is not: it is
 * dropped and filled again, which is always allowed.
 */
static bool still_valid(struct shadow_mmu *m, union spt_role in, int level, u64 s, u64 g)
{
	bool wp0 = !in.cr0_wp;
	if ((g & (PTE_P | PTE_A)) != (PTE_P | PTE_A))
		return false; /* gone, or its accessed flag was cleared and must be set again on use */
	bool eff_rw = !in.path_ro && (g & PTE_RW), eff_user = !in.path_sup && (g & PTE_US);
	if (level == 1) {
		u64 diff = (g ^ s) & (PTE_US | PTE_PWT | PTE_PCD | PTE_PAT | PTE_G | PTE_XD);
		enum gpa_kind stand_in = (s & PT_ADDR_MASK) == m->env.scratch	  ? GPA_HIDDEN
					 : (s & PT_ADDR_MASK) == m->env.open_bus ? GPA_NONE
										 : GPA_RAM;
		bool addr_ok = (g & PT_ADDR_MASK) == (s & PT_ADDR_MASK) ||
			       (stand_in != GPA_RAM && m->env.kind(m->env.ctx, g & PT_ADDR_MASK) == stand_in);
		bool w_ok = !(s & PTE_RW) ||
			    (wp0 ? wp0_writable(g & PTE_D, eff_rw, eff_user, false) : (g & PTE_RW) && (g & PTE_D));
		return !diff && addr_ok && w_ok;
	}
	const struct spt_page *c = child_of(m, s);
	u64 rights = (g & RIGHTS) | (wp0 ? PTE_RW : 0);
	bool large = g & PTE_PS;
	if (large) {
		/* The frame below masks these bits away: a reserved bit set since would go unseen. */
		if (g & gw_large_reserved(level))
			return false;
		union spt_role want = direct_role(level - 1, g);
		if (wp0)
			want.access = wp0_writable(g & PTE_D, eff_rw, eff_user, false);
		u64 base = (g & PT_ADDR_MASK & ~(pt_level_size(level) - 1)) >> PAGE_SHIFT;
		return c->role.word == want.word && c->gfn == base && (s & RIGHTS) == rights;
	}
	union spt_role path = c->role;
	if (wp0)
		wp0_path(in, g, &path);
	return !c->role.direct && c->gfn == gfn_of(g) && (s & RIGHTS) == rights &&
	       path.word == c->role.word;
}

static void resync_page(struct shadow_mmu *m, struct spt_page *sp)
{
	u64 *g = m->env.guest_table(m->env.ctx, sp->gfn << PAGE_SHIFT);
	u64 *t = table_of(m, sp);
	int level = (int)sp->role.level;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		u64 s = t[i];
		if (!(s & PTE_P))
			continue;
		u64 ge = g ? __atomic_load_n(&g[i], __ATOMIC_RELAXED) : 0;
		if (still_valid(m, sp->role, level, s, ge))
			continue;
		m->stats.entries_zapped++;
		if (level == 1)
			set_leaf(m, sp, i, 0);
		else
			__atomic_store_n(&t[i], 0, __ATOMIC_RELEASE);
	}
}

/* Empty a flooded table and leave its frame unprotected (see FLOOD_LIMIT). */
static void make_husk(struct shadow_mmu *m, struct spt_page *sp)
{
	u64 *t = table_of(m, sp);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (!(t[i] & PTE_P))
			continue;
		if (sp->role.level == 1)
			set_leaf(m, sp, i, 0);
		else
			__atomic_store_n(&t[i], 0, __ATOMIC_RELEASE);
	}
	sp->husk = true;
	m->stats.unshadowed++;
}

void sync_all(struct shadow_mmu *m, struct shadow_vcpu *sv)
{
	if (!m->unsync_count)
		return;
	m->stats.resyncs++;
	/* Protect first and let every CPU drop its writable translations, then read the tables. */
	for (u32 i = m->unsync_head; i != SPT_NONE; i = m->pool.pages[i].unsync_next) {
		struct spt_page *sp = &m->pool.pages[i];
		sp->unsync = false;
		if (sp->flood < FLOOD_LIMIT || sp->pins)
			protect_inc(m, sp->gfn);
	}
	settle(m, sv);
	for (u32 i = m->unsync_head; i != SPT_NONE; i = m->pool.pages[i].unsync_next) {
		struct spt_page *sp = &m->pool.pages[i];
		if (sp->flood >= FLOOD_LIMIT && !sp->pins) {
			make_husk(m, sp);
			continue;
		}
		resync_page(m, sp);
		m->stats.pages_resynced++;
	}
	m->unsync_head = SPT_NONE;
	m->unsync_count = 0;
	owe(sv, FLUSH_ALL);
}

void shadow_flush_point(struct shadow_mmu *m, struct shadow_vcpu *sv, enum shadow_flush hw)
{
	sync_all(m, sv);
	owe(sv, hw);
}

void shadow_init(struct shadow_mmu *m, struct spt_page *pages, u32 capacity, u64 table_base,
		 struct gfn_meta *meta, u64 nr_gfns, const struct shadow_env *env)
{
	memset(m, 0, sizeof(*m));
	spt_pool_init(&m->pool, pages, capacity);
	m->pool.table_base = table_base;
	m->meta = meta;
	m->nr_gfns = nr_gfns;
	memset(meta, 0, nr_gfns * sizeof(*meta));
	m->unsync_head = SPT_NONE;
	spt_reserve_roots(&m->pool, MIN(MAX(capacity / ROOT_SHARE, ROOT_PAIRS_MIN), capacity / 4));
	m->env = *env;
	m->gops = (struct pt_ops){ PTE_P, PTE_PS, 0, 3, env->guest_table, NULL, env->ctx, { 0 } };
	m->sops = (struct pt_ops){ PTE_P, PTE_PS, 0, 3, env->shadow_table, NULL, env->ctx, { 0 } };
}

struct explain_walk {
	struct shadow_mmu *m;
	struct spt_page *sp;
	struct shadow_explain *out;
};

static enum pt_step explain_step(struct pt_ops *ops, u64 *e, int l, void *arg)
{
	(void)ops;
	struct explain_walk *w = arg;
	w->out->entry[l] = *e;
	w->out->role[l] = w->sp->role.word;
	w->out->gfn[l] = w->sp->gfn;
	if (l == 1 || !(*e & PTE_P))
		return PT_STOP;
	w->sp = child_of(w->m, *e);
	return PT_DESCEND;
}

void shadow_explain(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 va, u64 target,
		    struct shadow_explain *out)
{
	memset(out, 0, sizeof(*out));
	if (sv->root) {
		struct explain_walk w = { m, sv->root, out };
		int level;
		pt_descend(&m->sops, sv->root->table, va, explain_step, &w, &level);
	}
	struct gfn_meta *g = meta_of(m, target >> PAGE_SHIFT);
	if (g) {
		out->protect = g->protect;
		out->shadowed = g->shadowed;
		out->overflow = g->overflow;
	}
	out->unsync_count = m->unsync_count;
}
