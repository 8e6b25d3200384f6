/* mmu_internal.h: what the shadow engine's own files (mmu.c, roots.c) share, and nobody else. */
#ifndef SLAT_SHADOW_MMU_INTERNAL_H
#define SLAT_SHADOW_MMU_INTERNAL_H

#include "mmu.h"
#include "../mm/pte.h"

/* Bits 9-11 are ignored by the CPU: slatvisor marks entries that are in a frame's rmap. */
#define SPTE_RMAPPED BIT(9)

/*
 * One in ROOT_SHARE pool pages is set aside for top-level tables, two by two
 * (spt_reserve_roots), and at least ROOT_PAIRS_MIN pairs (up to a quarter of
 * the pool): a vCPU that gives up its own cached roots then still finds a
 * pair while another vCPU pins all of its ROOT_CACHE_SLOTS.
 */
#define ROOT_SHARE 16
#define ROOT_PAIRS_MIN (ROOT_CACHE_SLOTS + 8)

u64 *table_of(struct shadow_mmu *m, const struct spt_page *sp);
/* Write protection changed, or a table is about to be reused: every TLB must let go first. */
void settle(struct shadow_mmu *m, struct shadow_vcpu *sv);
/* This CPU's TLB owes at least @f before the next entry. */
void owe(struct shadow_vcpu *sv, enum shadow_flush f);
/* One more in-sync shadow page for @gfn: write-protect it when it is the first. */
void protect_inc(struct shadow_mmu *m, u64 gfn);
/* A flush point: every table out of sync is protected and synced again. */
void sync_all(struct shadow_mmu *m, struct shadow_vcpu *sv);
/* Free a batch of the least recently used unpinned pages (root slots excepted). */
void shadow_reclaim(struct shadow_mmu *m, struct shadow_vcpu *sv);
/* Free @sp (unpinned, nothing pointing to it any more), with its frame's counts. */
void shadow_free_page(struct shadow_mmu *m, struct spt_page *sp);
/* The shadow page for (gfn, role), made if need be; *@protected_new when it write-protected its frame. */
struct spt_page *get_page(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 gfn, union spt_role role,
			  bool *protected_new);
/* A new top-level page for (gfn, role) in its pair, freeing the least recently used pair if need be. */
struct spt_page *alloc_root(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 gfn, union spt_role role);

#endif
