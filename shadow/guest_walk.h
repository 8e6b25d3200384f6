/* guest_walk.h: the guest page-table walk the shadow engine fills from (SDM Vol. 3A, 4.5-4.8). */
#ifndef SLAT_GUEST_WALK_H
#define SLAT_GUEST_WALK_H

#include "../mm/pt.h"

/* The guest's paging controls that change what a walk allows. */
struct gw_paging {
	u64 cr3;           /* PCID bits (11:0) and the no-flush bit (63) are ignored here */
	bool nxe;          /* EFER.NXE: bit 63 means execute-disable; else it is reserved */
	bool wp;           /* CR0.WP: supervisor writes honour read-only pages */
	bool smep, smap;   /* CR4.SMEP, CR4.SMAP */
	bool ac;           /* EFLAGS.AC: lifts SMAP for explicit supervisor data accesses */
	bool gbpages;      /* the CPU maps 1 GiB pages (else PDPTE.PS is reserved) */
	unsigned maxphyaddr;
};

/*
 * The bits between the PAT bit and the frame address that a large leaf must keep clear:
 * 20:13 in a 2 MiB PDE (level 2), 29:13 in a 1 GiB PDPTE (level 3); SDM tables 4-16, 4-18.
 */
static inline u64 gw_large_reserved(int level)
{
	return level == 3 ? GENMASK(29, 13) : GENMASK(20, 13);
}

/* The access, in #PF error-code bits (SDM Vol. 3A, 4.7), plus "implicit supervisor". */
#define GW_WRITE BIT(1)
#define GW_USER BIT(2)
#define GW_FETCH BIT(4)
#define GW_IMPLICIT BIT(8) /* e.g. a descriptor-table access: SMAP applies whatever AC says */

#define PFEC_P BIT(0)
#define PFEC_W BIT(1)
#define PFEC_U BIT(2)
#define PFEC_RSVD BIT(3)
#define PFEC_I BIT(4)

struct gw_result {
	u64 gpa;                      /* the guest-physical address @va translates to */
	int level;                    /* of the leaf: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB */
	u64 entry[PT_LEVELS + 1];     /* the entry used at each level, by level */
	u64 entry_gpa[PT_LEVELS + 1]; /* where it lives: the tables the engine write-protects */
	bool writable, user, executable; /* what the whole path allows */
	u32 pfec;                     /* when the walk faults: the guest's #PF error code */
};

/*
 * Translate @va for @access as the CPU would in 4-level paging. On success,
 * set the accessed flag in every entry used and the dirty flag in the leaf
 * on a write (atomically: other CPUs walk the same tables), and return true.
 * On a fault, set nothing (the SDM lets a CPU do either; setting nothing is simpler to get right) and
 * return false with r->pfec. @mem's table() reaches guest-physical memory,
 * NULL outside guest RAM: such a table faults as a reserved-bit violation.
 */
bool guest_walk(struct pt_ops *mem, const struct gw_paging *pg, u64 va, u32 access,
		struct gw_result *r);

#endif
