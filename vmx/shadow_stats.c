/* shadow_stats.c: the shadow engine's statistics, printed with the exit statistics. */
#include "shadow_stats.h"
#include "vcpu.h"
#include "../arch/x86_64/percpu.h"
#include "../kernel/log.h"

void shadow_stats_print(const struct shadow_mmu *e)
{
	const struct shadow_stats *s = &e->stats;
	u64 hits = 0, misses = 0, evictions = 0, switches = 0, reads = 0, writes = 0;
	for (unsigned i = 0; i < ncpus_online; i++) {
		struct vcpu *v = cpus[i]->vcpu;
		if (!v)
			continue;
		hits += v->sv.rc.hits;
		misses += v->sv.rc.misses;
		evictions += v->sv.rc.evictions;
		switches += v->sv.cr3_switches;
		reads += v->sv.cr3_read_exits;
		writes += v->sv.cr3_write_exits;
	}
	pr_info("stat shadow faults fill=%llu guest=%llu dirty=%llu unsync=%llu spurious=%llu mmio=%llu",
		(unsigned long long)s->fault_fill, (unsigned long long)s->fault_guest,
		(unsigned long long)s->fault_dirty, (unsigned long long)s->fault_unsync,
		(unsigned long long)s->fault_spurious, (unsigned long long)s->fault_mmio);
	pr_info("stat shadow cr3 switches=%llu root_hits=%llu root_misses=%llu root_evictions=%llu",
		(unsigned long long)switches, (unsigned long long)hits,
		(unsigned long long)misses, (unsigned long long)evictions);
	pr_info("stat shadow targets arms=%llu disarms_unsync=%llu disarms_remote=%llu disarms_switch=%llu disarms_reset=%llu disarm_kicks=%llu cr3_read_exits=%llu cr3_write_exits=%llu",
		(unsigned long long)s->arms, (unsigned long long)s->disarms[DISARM_UNSYNC],
		(unsigned long long)s->disarms[DISARM_REMOTE], (unsigned long long)s->disarms[DISARM_SWITCH],
		(unsigned long long)s->disarms[DISARM_RESET], (unsigned long long)s->disarm_kicks,
		(unsigned long long)reads, (unsigned long long)writes);
	pr_info("stat shadow sync resyncs=%llu pages_resynced=%llu entries_zapped=%llu unsync_writes=%llu unshadowed=%llu",
		(unsigned long long)s->resyncs, (unsigned long long)s->pages_resynced,
		(unsigned long long)s->entries_zapped, (unsigned long long)s->fault_unsync,
		(unsigned long long)s->unshadowed);
	pr_info("stat shadow pool pages=%u used=%u reclaims=%llu protects=%llu rmap_scans=%llu remote_flushes=%llu resets=%llu zap_alls=%llu",
		e->pool.capacity, e->pool.used, (unsigned long long)s->reclaims,
		(unsigned long long)s->protects, (unsigned long long)s->rmap_scans,
		(unsigned long long)s->remote_flushes, (unsigned long long)s->resets,
		(unsigned long long)s->zap_alls);
}
