/* test_shadow_kpti.c: KPTI's CR3 switches taken from CR3-target lists, against the reference walker. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "shadow_sim.h"

static bool reads_exit; /* CR3-store exiting kept on, as on a real Core 2 */
static u64 cr3_exits;

/* MOV to CR3 on @c: the CPU's own if the value is in its filled target list, else an exit. */
static void sim_write_cr3(struct sim_cpu *c, u64 val)
{
	if (c->armed_hw && (val == c->target[0] || val == c->target[1])) {
		c->hw_cr3 = val; /* no exit: the engine does not see it, nothing is synced */
		c->target_hits++;
		return;
	}
	cr3_exits++;
	sim_exit_begin(c);
	u64 g;
	if (shadow_root_value(&m, &c->sv, val, &g))
		val = g; /* a shadow root the guest read while armed */
	struct gw_paging pg = guest_pg(val, true, true);
	CHECK(shadow_set_cr3(&m, &c->sv, &pg, false, true) != 0);
	sim_before_entry(c);
}

static u64 sim_read_cr3(struct sim_cpu *c)
{
	if (c->armed_hw && !reads_exit)
		return c->hw_cr3;
	cr3_exits++;
	sim_exit_begin(c);
	u64 v = c->armed_hw ? c->hw_cr3 : c->sv.guest_cr3;
	sim_before_entry(c);
	return v;
}

/*
 * Random edits, accesses, INVLPG, context switches and KPTI switches
 * (read CR3, flip bit 12, write) on two CPUs; after every flushing CR3 write
 * that CPU's shadow must agree with the guest's tables for every address
 * touched, and the engine's idea of its guest CR3 with the guest's own.
 */
static unsigned kpti_differential(u32 capacity, unsigned steps, unsigned seed)
{
	setup(capacity);
	srandom(seed);
	build_guest_kpti(true);
	mismatches = 0;
	unsigned cur[2] = { 0, 1 };
	bool user[2] = { false, false };
	for (unsigned c = 0; c < 2; c++) {
		cpu = &cpus[c];
		sim_write_cr3(cpu, pml4[cur[c]]);
	}
	for (unsigned step = 0; step < steps; step++) {
		unsigned c = (unsigned)rnd(2);
		cpu = &cpus[c];
		struct gw_paging gpg = guest_pg(pml4[cur[c]] + (user[c] ? PAGE_SIZE : 0), true, true);
		bool check = false;
		switch (rnd(14)) {
		case 0: case 1: { /* edit a guest table */
			unsigned t = (unsigned)rnd(ntables);
			unsigned i = table_level[t] == 4 ? (unsigned)rnd(2) : (unsigned)rnd(8);
			guest_write(&gpg, tables[t] + i * 8, random_entry(table_level[t]));
			break;
		}
		case 2: /* a context switch: the kernel writes the next process's PGD */
			cur[c] = (unsigned)rnd(NSPACES);
			user[c] = false;
			sim_write_cr3(cpu, pml4[cur[c]]);
			check = true;
			break;
		case 3: case 4: case 5: case 6: { /* a system call's entry or exit */
			u64 v = sim_read_cr3(cpu);
			sim_write_cr3(cpu, user[c] ? v & ~0x1800ULL : v | 0x1000);
			user[c] = !user[c];
			check = true;
			break;
		}
		case 7: /* flush_tlb_local: the same value written back */
			sim_write_cr3(cpu, sim_read_cr3(cpu));
			check = true;
			break;
		case 8: /* INVLPG */
			sim_exit_begin(cpu);
			shadow_flush_point(&m, &cpu->sv, FLUSH_ALL);
			sim_before_entry(cpu);
			check = true;
			break;
		default: {
			u64 va = random_va();
			cpu_access(&gpg, va, accesses[rnd(ARRAY_SIZE(accesses))]);
			break;
		}
		}
		if (check) {
			gpg = guest_pg(pml4[cur[c]] + (user[c] ? PAGE_SIZE : 0), true, true);
			sim_exit_begin(cpu);
			if (cpu->sv.guest_cr3 != gpg.cr3 && mismatches++ < 5 && !break_remote_disarm)
				fprintf(stderr, "    cpu%u: engine has guest CR3 0x%llx, the guest 0x%llx\n", c,
					(unsigned long long)cpu->sv.guest_cr3, (unsigned long long)gpg.cr3);
			check_all(&gpg);
		}
	}
	return mismatches;
}

TEST(shadow_kpti_switches_from_target_lists_stay_exact_on_two_cpus)
{
	u64 hits = 0, arms = 0, unsync_disarms = 0;
	remote_kicks = 0;
	for (unsigned seed = 31; seed <= 36; seed++) {
		reads_exit = seed & 1;
		CHECK_EQ(kpti_differential(MAX_POOL, 3000, seed), 0);
		hits += cpus[0].target_hits + cpus[1].target_hits;
		arms += m.stats.arms;
		unsync_disarms += m.stats.disarms[DISARM_UNSYNC];
	}
	/* The lists were really used, disarmed by writes, and the other CPU kicked. */
	CHECK(hits > 1000);
	CHECK(arms > 100);
	CHECK(unsync_disarms > 0);
	CHECK(remote_kicks > 0);
}

TEST(shadow_kpti_targets_in_a_pool_that_runs_full)
{
	for (unsigned seed = 41; seed <= 44; seed++)
		CHECK_EQ(kpti_differential(24, 3000, seed), 0);
	CHECK(m.stats.reclaims > 0);
	CHECK(m.stats.arms > 0);
}

TEST(shadow_kpti_a_cpu_left_armed_by_a_write_elsewhere_is_caught)
{
	/* The check itself: with the other CPU not disarmed, its same-value flush keeps stale entries. */
	unsigned caught = 0;
	break_remote_disarm = true;
	for (unsigned seed = 51; seed <= 56; seed++)
		caught += kpti_differential(MAX_POOL, 3000, seed) > 0;
	break_remote_disarm = false;
	CHECK(caught > 0);
}

TEST(shadow_a_root_value_read_while_armed_maps_back)
{
	setup(MAX_POOL);
	srandom(7);
	build_guest_kpti(true);
	cpu = &cpus[0];
	sim_write_cr3(cpu, pml4[0]);
	sim_write_cr3(cpu, sim_read_cr3(cpu) | 0x1000); /* exits: the switch that arms */
	CHECK(cpu->armed_hw);
	u64 saved = sim_read_cr3(cpu);                  /* the user root's address, as an NMI saves it */
	CHECK(saved == cpu->target[1]);
	sim_write_cr3(cpu, saved & ~0x1800ULL);         /* no exit */
	CHECK(cpu->target_hits == 1);
	/* A write puts a table out of sync: the CPU is disarmed, then the NMI's restore exits. */
	struct gw_paging pg = guest_pg(pml4[0], true, true);
	guest_write(&pg, pml4[0] + PAGE_SIZE + 5 * 8, 0); /* an unused entry of the user half */
	CHECK(!cpu->armed_hw);
	sim_write_cr3(cpu, saved);
	CHECK(cpu->sv.guest_cr3 == pml4[0] + PAGE_SIZE);
	CHECK(cpu->sv.root->table == saved);
}

