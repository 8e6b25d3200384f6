/*
 * cr0_wp.h: shadowing a guest that runs with CR0.WP=0.
 *
 * The hardware runs the shadow tables with CR0.WP set (write protection of
 * the guest's tables depends on it), but with the guest's WP clear a
 * supervisor write ignores R/W at every level (SDM Vol. 3A, 4.6.1). So in
 * a WP=0 role the shadow entries above the leaf are all writable and the
 * leaf alone decides; each page's role carries what the guest entries above
 * it allow (path_ro, path_sup), so a leaf is right for every path that
 * reaches its page.
 *
 * A read-only page that user code may also reach cannot be writable for the
 * supervisor and read-only for the user in one entry. The leaf is lent to
 * the supervisor on a supervisor write (writable, U/S clear, execute-disable
 * so a fetch comes back here), and given back (U/S set, read-only) by the
 * next fault of another kind. Lending needs EFER.NXE for the execute-disable
 * bit, and CR4.SMAP off (a lent page would let the supervisor reach a user
 * page with EFLAGS.AC clear): otherwise the engine stops the guest.
 */
#ifndef SLAT_SHADOW_CR0_WP_H
#define SLAT_SHADOW_CR0_WP_H

#include "guest_walk.h"
#include "spt_pool.h"
#include "../mm/pte.h"

/* A WP=0 page below an entry @e of the page whose role is @parent: the path's rights so far. */
static inline void wp0_path(union spt_role parent, u64 e, union spt_role *child)
{
	child->path_ro = parent.path_ro | !(e & PTE_RW);
	child->path_sup = parent.path_sup | !(e & PTE_US);
}

/* May a WP=0 leaf be writable: dirty, and writable for everyone who may reach it, or lent. */
static inline bool wp0_writable(bool dirty, bool eff_rw, bool eff_user, bool lent)
{
	return dirty && (eff_rw || !eff_user || lent);
}

/* Does this access, allowed by the walk @r, need the leaf lent to the supervisor? */
static inline bool wp0_lend(const struct gw_paging *pg, const struct gw_result *r, u32 access)
{
	return !pg->wp && r->user && !r->writable && (access & GW_WRITE) && !(access & GW_USER);
}

/* Can the engine lend a leaf under these rules at all? */
static inline bool wp0_can_lend(const struct gw_paging *pg)
{
	return pg->nxe && !pg->smap;
}

#endif
