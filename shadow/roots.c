/* roots.c: shadow roots: 8 KiB-aligned pairs, switched at CR3 writes, armed in CR3-target lists. */
#include "mmu_internal.h"

struct spt_page *alloc_root(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 gfn, union spt_role role)
{
	struct spt_page *sp = spt_alloc_root(&m->pool, gfn, role);
	if (sp)
		return sp;
	/* No pair for it: the least recently used pair nobody pins goes, both roots at once. */
	u32 k = spt_pick_root_pair(&m->pool);
	if (k == SPT_NONE)
		return NULL;
	for (u32 i = k; i < k + 2; i++) {
		if (m->pool.pages[i].in_use) {
			shadow_free_page(m, &m->pool.pages[i]);
			m->stats.reclaims++;
		}
	}
	/* A CPU may still hold paging-structure entries read from the freed roots. */
	m->remote_owed = true;
	settle(m, sv);
	return spt_alloc_root(&m->pool, gfn, role);
}

static void drop_roots(struct shadow_mmu *m, struct shadow_vcpu *sv)
{
	if (sv->armed)
		shadow_disarm(m, sv, DISARM_RESET);
	while (sv->rc.n)
		root_cache_drop(&sv->rc, sv->rc.slot[0].root);
	sv->root = NULL;
}

void shadow_zap_all(struct shadow_mmu *m, struct shadow_vcpu *sv)
{
	m->stats.zap_alls++;
	drop_roots(m, sv);
	/* Roots are not in the reclaim batches: every one nobody pins goes first. */
	for (u32 i = 0; i < 2 * m->pool.root_pairs; i++) {
		struct spt_page *sp = &m->pool.pages[i];
		if (sp->in_use && !sp->pins) {
			shadow_free_page(m, sp);
			m->stats.reclaims++;
			m->remote_owed = true;
		}
	}
	u32 before;
	do {
		before = m->pool.used;
		shadow_reclaim(m, sv);
	} while (m->pool.used && m->pool.used < before);
	settle(m, sv);
	owe(sv, FLUSH_ALL);
}

void shadow_reset(struct shadow_mmu *m, struct shadow_vcpu *sv)
{
	m->stats.resets++;
	drop_roots(m, sv);
	owe(sv, FLUSH_ALL);
}

u64 shadow_set_cr3(struct shadow_mmu *m, struct shadow_vcpu *sv, const struct gw_paging *pg,
		   bool pcide, bool flush)
{
	sv->cr3_switches++;
	if (flush)
		sync_all(m, sv);
	union spt_role role = shadow_role(pg, PT_LEVELS);
	if (sv->root && sv->root->role.word != role.word)
		shadow_reset(m, sv); /* NXE or WP changed: the cached roots were built under other rules */
	struct spt_page *before = sv->root;
	u64 key = root_key(pg->cr3, pcide);
	struct spt_page *root = root_cache_get(&sv->rc, key);
	if (!root || root->role.word != role.word) {
		u64 gfn = (pg->cr3 & PT_ADDR_MASK) >> PAGE_SHIFT;
		if (!m->env.guest_table(m->env.ctx, gfn << PAGE_SHIFT) || gfn >= m->nr_gfns)
			return 0;
		bool protected_new = false;
		root = get_page(m, sv, gfn, role, &protected_new);
		if (!root) {
			/* Every page pinned: give up this CPU's cached roots and try once more. */
			drop_roots(m, sv);
			before = NULL;
			root = get_page(m, sv, gfn, role, &protected_new);
			if (!root)
				return 0;
		}
		root_cache_put(&sv->rc, key, root);
	}
	if (root != sv->root)
		owe(sv, FLUSH_NONGLOBAL); /* the hardware TLB is tagged by VPID, not by shadow root */
	if (flush)
		owe(sv, FLUSH_NONGLOBAL);
	if (sv->armed && root != sv->armed && root != sv->armed + 1)
		shadow_disarm(m, sv, DISARM_SWITCH);
	if (!pcide && shadow_same_pair(m, before, root))
		sv->kpti_seen = true;
	sv->root = root;
	sv->guest_cr3 = pg->cr3;
	settle(m, sv);
	return root->table;
}

/* ---- CR3-target lists ---- */

bool shadow_same_pair(struct shadow_mmu *m, const struct spt_page *a, const struct spt_page *b)
{
	return a && b && a != b && spt_partner(&m->pool, a) == b;
}

bool shadow_may_arm(struct shadow_mmu *m, const struct shadow_vcpu *sv)
{
	/* Read without the lock: a hint, which shadow_arm checks again under it. */
	return sv->kpti_seen && !sv->armed && sv->root && !__atomic_load_n(&m->unsync_count, __ATOMIC_RELAXED) &&
	       spt_partner(&m->pool, sv->root);
}

bool shadow_arm(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 targets[2])
{
	/* A target-list write is not a flush point: arm only with nothing to sync. */
	if (sv->armed || !sv->kpti_seen || m->unsync_count || !sv->root)
		return false;
	struct spt_page *other = spt_partner(&m->pool, sv->root);
	if (!other)
		return false;
	struct spt_page *k = spt_index(&m->pool, sv->root) & 1 ? other : sv->root;
	/* The guest flips CR3 bit 12: the pair must be 8 KiB-aligned and adjacent. */
	if ((k[0].table & (2 * PAGE_SIZE - 1)) || k[1].table != k[0].table + PAGE_SIZE)
		return false;
	k[0].pins++;
	k[1].pins++;
	sv->armed = k;
	m->armed++;
	m->stats.arms++;
	targets[0] = k[0].table;
	targets[1] = k[1].table;
	return true;
}

void shadow_disarm(struct shadow_mmu *m, struct shadow_vcpu *sv, enum disarm_cause why)
{
	struct spt_page *k = sv->armed;
	if (!k)
		return;
	/*
	 * The guest may have moved to the other root without an exit, so the
	 * root it is on may have left the cache meanwhile: cache (pin) it again.
	 */
	if (sv->root && !root_cache_holds(&sv->rc, sv->root))
		root_cache_put(&sv->rc, root_key(sv->guest_cr3, false), sv->root);
	k[0].pins--;
	k[1].pins--;
	sv->armed = NULL;
	m->armed--;
	m->stats.disarms[why]++;
}

void shadow_disarm_all(struct shadow_mmu *m, struct shadow_vcpu *sv)
{
	if (!m->armed)
		return;
	if (sv->armed)
		shadow_disarm(m, sv, DISARM_UNSYNC);
	if (m->armed && m->env.disarm_others)
		m->stats.disarm_kicks += m->env.disarm_others(m->env.ctx);
}

void shadow_follow_cr3(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 hw)
{
	(void)m;
	struct spt_page *k = sv->armed;
	if (!k)
		return;
	struct spt_page *r = hw == k[0].table ? &k[0] : hw == k[1].table ? &k[1] : NULL;
	if (!r || r == sv->root)
		return; /* the CPU loads only target values, or what slatvisor wrote */
	sv->root = r;
	sv->guest_cr3 = (r->gfn << PAGE_SHIFT) | (sv->guest_cr3 & ~PT_ADDR_MASK);
}

bool shadow_root_value(struct shadow_mmu *m, const struct shadow_vcpu *sv, u64 val, u64 *guest)
{
	u64 a = val & PT_ADDR_MASK;
	if (!m->pool.table_base || a < m->pool.table_base)
		return false;
	u64 i = (a - m->pool.table_base) / PAGE_SIZE;
	if (i >= 2 * (u64)m->pool.root_pairs)
		return false;
	const struct spt_page *sp = &m->pool.pages[i];
	/*
	 * Only the pair the vCPU is on: a saved value is written back within the
	 * same process (an NMI does not switch tasks), and a slot freed since
	 * may hold another process's root by now.
	 */
	if (!sp->in_use || !sv->root || (sp != sv->root && sp != spt_partner(&m->pool, sv->root)))
		return false;
	*guest = (sp->gfn << PAGE_SHIFT) | (val & ~PT_ADDR_MASK);
	return true;
}
