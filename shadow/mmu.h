/* mmu.h: the shadow page table engine: shadow pages filled from guest walks, synced lazily. */
#ifndef SLAT_SHADOW_MMU_H
#define SLAT_SHADOW_MMU_H

#include "guest_walk.h"
#include "root_cache.h"
#include "spt_pool.h"

/*
 * What a guest-physical address is, for the engine. Guest-physical equals
 * host-physical in slatvisor, so a shadow leaf maps a guest frame directly;
 * only hypervisor memory is replaced (by a scratch page).
 */
enum gpa_kind { GPA_RAM, GPA_MMIO, GPA_HIDDEN, GPA_NONE };

/* The world around the engine: the hypervisor supplies these, the host tests simulate them. */
struct shadow_env {
	u64 *(*guest_table)(void *ctx, u64 gpa);  /* a guest RAM page slatvisor may read, else NULL */
	u64 *(*shadow_table)(void *ctx, u64 hpa); /* a shadow table page */
	enum gpa_kind (*kind)(void *ctx, u64 gpa);
	/* Writes to this page must exit whatever the guest's tables say (the trapped APIC page). */
	bool (*trap_write)(void *ctx, u64 gpa);
	/*
	 * Empty the CR3-target list of every other vCPU whose list is filled
	 * (making it exit: only a vCPU itself can write its VMCS) and return
	 * once each has; the result is how many had to be made to exit.
	 */
	u32 (*disarm_others)(void *ctx);
	/*
	 * Make every other running vCPU drop its TLB for the guest and return
	 * only when each has (or is outside the guest). Needed before a
	 * write-protected page is trusted and before a shadow table is reused.
	 */
	void (*flush_others)(void *ctx);
	u64 scratch; /* what the guest sees in place of hypervisor memory */
	u64 open_bus; /* a page of all ones, read-only where nothing is (GPA_NONE); 0: such a fill stops */
	void *ctx;
};

/*
 * Per guest frame: who maps it writable (two shadow entries, or "more,
 * scan"), and how many shadow pages shadow it as a guest table (all, and
 * those in sync, which must stay write-protected).
 */
struct gfn_meta {
	u32 rmap[2];    /* 1 + (shadow page index << 9 | entry index); 0 = empty */
	u8 overflow;    /* more writable entries than rmap[] holds: write protection scans */
	u8 shadowed;    /* shadow pages (not direct) for this frame */
	u8 protect;     /* of those, the ones in sync */
	u8 unused;
};

/* Why a vCPU's CR3-target list was emptied (see shadow_arm). */
enum disarm_cause {
	DISARM_UNSYNC, /* this vCPU's write made a guest table out of sync */
	DISARM_REMOTE, /* another vCPU's did: it was kicked, or found already out */
	DISARM_SWITCH, /* a CR3 write that exited went to a root outside the pair */
	DISARM_RESET,  /* this vCPU's roots were dropped (paging rules changed, full rebuild) */
	DISARM_CAUSES
};

struct shadow_stats {
	u64 fault_fill;      /* a shadow entry was missing: filled from the guest's tables */
	u64 fault_guest;     /* the guest's own tables forbid the access: #PF injected */
	u64 fault_dirty;     /* first write to a clean page: the guest's dirty flag set */
	u64 fault_unsync;    /* a write to a guest page table: the table goes out of sync */
	u64 fault_spurious;  /* nothing to fix: a stale TLB entry on this CPU */
	u64 fault_mmio;      /* a write to a trapped page, emulated by the caller */
	u64 resyncs;         /* flush points that found tables out of sync */
	u64 pages_resynced;
	u64 entries_zapped;
	u64 unshadowed;      /* shadow pages emptied and left unprotected: written flush after flush, never walked */
	u64 protects;        /* guest frames write-protected */
	u64 rmap_scans;      /* write protection that had to scan every leaf table */
	u64 reclaims;        /* shadow pages reclaimed from a full pool */
	u64 remote_flushes;
	u64 resets;          /* every root dropped: the guest changed NXE or paging mode */
	u64 zap_alls;        /* every shadow page freed: a fault the shadow allows kept coming back */
	u64 arms;            /* arming periods begun: a vCPU's CR3-target list filled */
	u64 disarms[DISARM_CAUSES];
	u64 disarm_kicks;    /* other vCPUs made to exit so their target lists could be emptied */
};

struct shadow_mmu {
	struct spt_pool pool;
	struct gfn_meta *meta;
	u64 nr_gfns;           /* meta covers guest frames [0, nr_gfns) */
	u32 unsync_head;       /* list through spt_page.unsync_next */
	u32 unsync_count;
	struct shadow_env env;
	struct pt_ops gops;    /* the guest's tables, for guest_walk */
	struct pt_ops sops;    /* the shadow tables, for the shared walk loop */
	bool others_running;   /* false: flush_others has nobody to wait for */
	bool remote_owed;      /* write protection changed or tables were freed: flush the others */
	bool hidden_seen;      /* the guest mapped hypervisor memory (for one log line) */
	u32 armed;             /* vCPUs holding an armed pair (shadow_arm), their hardware's list maybe already empty */
	struct shadow_stats stats;
};

/* One vCPU's view: its cached roots and what its hardware TLB needs before the next entry. */
enum shadow_flush { FLUSH_NONE, FLUSH_NONGLOBAL, FLUSH_ALL };

struct shadow_vcpu {
	struct root_cache rc;
	struct spt_page *root;
	u64 guest_cr3;
	enum shadow_flush flush; /* the strongest flush owed to this CPU's TLB */
	u64 cr3_switches;        /* per vCPU: the fast path counts without the engine's lock */
	/*
	 * The root pair in this vCPU's CR3-target list (its page at the even
	 * index), pinned while it is there; NULL: none.
	 */
	struct spt_page *armed;
	/*
	 * A CR3 write of this vCPU's that exited went between the two roots of a
	 * pair: the guest runs KPTI on 8 KiB pairs (set once, never cleared).
	 */
	bool kpti_seen;
	u64 cr3_read_exits, cr3_write_exits;
};

/*
 * Set up over @pages (@capacity entries), whose tables are the contiguous
 * @capacity pages at @table_base, and @meta for guest frames [0, @nr_gfns).
 */
void shadow_init(struct shadow_mmu *m, struct spt_page *pages, u32 capacity, u64 table_base,
		 struct gfn_meta *meta, u64 nr_gfns, const struct shadow_env *env);

/* The role of a guest table under @pg (what a shadow page of it depends on). */
union spt_role shadow_role(const struct gw_paging *pg, int level);

/*
 * The guest wrote CR3 (or started paging): switch to the root for @cr3,
 * building it if need be. @flush: the write flushes the TLB (no no-flush bit),
 * so tables out of sync are synced first; with none, this is O(1).
 * Returns the shadow root's address, or 0 if the pool cannot hold a root.
 */
u64 shadow_set_cr3(struct shadow_mmu *m, struct shadow_vcpu *sv, const struct gw_paging *pg,
		   bool pcide, bool flush);

/*
 * Make guest frame @gfn read-only in every shadow leaf, and every TLB let go
 * of it (settle), whether or not the frame has frame data: later fills ask
 * env.trap_write. For a page whose writes must exit from now on.
 */
void shadow_write_protect_frame(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 gfn);

/* INVLPG, INVPCID, a CR4 change to PGE/PCIDE/SMEP, a flushing CR3 write: sync what is out of sync. */
void shadow_flush_point(struct shadow_mmu *m, struct shadow_vcpu *sv, enum shadow_flush hw);

/*
 * Free every shadow page nothing pins (this vCPU's roots unpinned first):
 * the last resort when a fault the shadow allows keeps coming back. The
 * caller reloads the root with shadow_set_cr3.
 */
void shadow_zap_all(struct shadow_mmu *m, struct shadow_vcpu *sv);

/* Forget this vCPU's roots (its paging rules changed): the next set_cr3 rebuilds them. */
void shadow_reset(struct shadow_mmu *m, struct shadow_vcpu *sv);

/*
 * CR3-target lists. A KPTI system call flips CR3 bit 12 twice: between the
 * two roots of a pair, which are 8 KiB-aligned (kernel at S, user at
 * S + 4 KiB) because the guest's two tables are. With both roots in the
 * vCPU's CR3-target list the CPU makes those writes itself, without an
 * exit, so nothing is synced at them: a vCPU is armed only while no table
 * anywhere is out of sync, and the first write that puts one out of sync
 * disarms every vCPU before the writer goes on (shadow_disarm_all).
 */

/*
 * Arm @sv if it may be: it has switched between the roots of a pair by a
 * CR3 write that exited (kpti_seen), nothing is out of sync, and both roots
 * of the pair it is on are there. Pins the pair and gives the two values for
 * the target list. Checked at each entry (a context switch, a flush point
 * that synced everything), so shadow_may_arm says without the lock whether
 * to try.
 */
bool shadow_arm(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 targets[2]);
bool shadow_may_arm(struct shadow_mmu *m, const struct shadow_vcpu *sv);

/* Take @sv's pair out of its target list (the caller empties the hardware's list before entry). */
void shadow_disarm(struct shadow_mmu *m, struct shadow_vcpu *sv, enum disarm_cause why);

/* A table goes out of sync: disarm @sv, and every other vCPU through env.disarm_others. */
void shadow_disarm_all(struct shadow_mmu *m, struct shadow_vcpu *sv);

/*
 * At an exit of an armed vCPU: @hw is the CR3 the CPU runs on, which the
 * guest may have moved to the other root of the pair without an exit.
 * Brings sv->root and sv->guest_cr3 up to date.
 */
void shadow_follow_cr3(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 hw);

/*
 * A CR3 value the guest may have read while armed (a shadow root's
 * address, saved by an NMI handler and written back later): if @val names
 * one of the two roots of the pair @sv is on, *@guest is the guest's CR3
 * for it.
 */
bool shadow_root_value(struct shadow_mmu *m, const struct shadow_vcpu *sv, u64 val, u64 *guest);

/* Could @val be a root's address at all? (no lock: the slots never move) */
static inline bool shadow_in_root_slots(const struct shadow_mmu *m, u64 val)
{
	u64 a = val & PT_ADDR_MASK, base = m->pool.table_base;
	return base && a >= base && a < base + 2 * (u64)m->pool.root_pairs * PAGE_SIZE;
}

/* Are @a and @b the two roots of one pair? */
bool shadow_same_pair(struct shadow_mmu *m, const struct spt_page *a, const struct spt_page *b);

enum shadow_fault {
	SF_RETRY,   /* the shadow now maps the access: run the instruction again */
	SF_INJECT,  /* the guest's tables forbid it: inject #PF with *pfec */
	SF_EMULATE, /* a write to a trapped page (*gpa): the caller emulates it */
	SF_STOP,    /* nothing the guest may reach is there (*gpa), or no memory: stop the guest */
};

/* A #PF with shadow paging: @pfec is the hardware's error code, @va the linear address. */
enum shadow_fault shadow_page_fault(struct shadow_mmu *m, struct shadow_vcpu *sv,
				    const struct gw_paging *pg, u64 va, u32 pfec, u32 *guest_pfec,
				    u64 *gpa);

/* For a bug report: the shadow entries on the path to @va, and the target frame's counts. */
struct shadow_explain {
	u64 entry[PT_LEVELS + 1];
	u32 role[PT_LEVELS + 1]; /* of the shadow page holding entry[level] */
	u64 gfn[PT_LEVELS + 1];
	u8 protect, shadowed, overflow;
	u32 unsync_count;
};
void shadow_explain(struct shadow_mmu *m, struct shadow_vcpu *sv, u64 va, u64 target,
		    struct shadow_explain *out);

#endif
