/* mon_internal.h: the state monitor.c and mon_step.c share (not for other files). */
#ifndef SLAT_MON_INTERNAL_H
#define SLAT_MON_INTERNAL_H

#include "ept_view.h"
#include "hypercall_abi.h"
#include "mon_ring.h"
#include "../arch/x86_64/percpu.h"
#include "../kernel/spinlock.h"

#define MON_MAX 64          /* monitors at once */
#define MON_MAX_PAGES 4096  /* watched 4 KiB pages, all monitors together */
#define MON_MAX_OPEN 8      /* pages one instruction may open on a vCPU (fetch, data, stack, each may cross) */

struct monitor {
	u32 id, flags;       /* flags as given: SLAT_ACC_* and SLAT_MON_* */
	u64 cpus;            /* 0: every vCPU */
	u64 start, length;   /* as given */
	u64 hits;            /* watched accesses seen, every vCPU */
	unsigned first, npages; /* its frames: mon.watched[first .. first + npages) */
	struct slat_rip_count rips[SLAT_MAX_RIPS]; /* SLAT_MON_FIRST_RIP: RIPs seen and their counts */
	unsigned nrips;
};

struct mon_state {
	bool ready;          /* monitor=on, EPT paging, and the pool is there */
	bool exec_only;      /* the EPT allows execute-only leaves */
	bool mtf;            /* steps use the monitor trap flag (else RFLAGS.TF and #DB) */
	bool ever_used;      /* a monitor or a ring was set up: print statistics */
	spinlock_t lock;     /* the fields below */
	volatile u64 gen;    /* bumped by every change of monitors or of the shared EPT */
	struct monitor mons[MON_MAX];
	unsigned nmons;
	u32 next_id;
	u64 watched[MON_MAX_PAGES];
	unsigned nwatched;
	struct ept_watch scratch[MON_MAX_PAGES]; /* one vCPU's watches while its view is built */
	u64 *pool;           /* the private pages, and which are in use */
	u8 *pool_used;
	unsigned pool_n, pool_free;
	bool baseline;       /* shared_before is set */
	u64 shared_before;   /* shared EPT paging-structure pages before the guest's first call */
};

/* A page opened for the instruction being stepped, and the leaf to put back afterwards. */
struct mon_open {
	u64 *leaf;
	u64 closed;
};

struct mon_cpu {
	struct ept_view view;
	u64 gen;             /* the generation the view was built for */
	bool warned;
	struct mon_ring ring;
	struct mon_open open[MON_MAX_OPEN];
	unsigned nopen;      /* pages open now */
	bool stepping;       /* a watched access's instruction is being stepped */
	bool guest_tf;       /* the guest's own RFLAGS.TF when the step began */
	u64 violations, events, steps, peak, cycles;
};

extern struct mon_state mon;
extern struct mon_cpu *mon_cpus[MAX_CPUS];

bool mon_applies(const struct monitor *m, unsigned cpu);
/* Does @m watch the 4 KiB frame @page for vCPU @cpu? (the lock held) */
bool mon_watches(const struct monitor *m, unsigned cpu, u64 page);
/* The EPT bits a watch of these SLAT_ACC_* bits takes away. */
u64 mon_deny_bits(u32 acc);

/* Before entry, mid-step with the monitor trap flag: hold interrupts off for the one instruction. */
void mon_step_before_entry(struct vcpu *v, struct mon_cpu *c);
struct monitor *mon_find(u64 id);

#endif
