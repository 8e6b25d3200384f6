/* shadow_sim.h: the simulated machine the shadow engine's tests run on (shadow_sim.c). */
#ifndef SLAT_TEST_SHADOW_SIM_H
#define SLAT_TEST_SHADOW_SIM_H

#include "pte_short.h"
#include "../../shadow/mmu.h"

/*
 * The simulated machine: 4 MiB of guest RAM at guest-physical 0, of which
 * [HIDDEN_LO, HIDDEN_HI) is the hypervisor's; MMIO up to 8 MiB; nothing
 * above. Shadow tables live in their own "host-physical" range.
 */
#define RAM_PAGES 1024
#define RAM_TOP ((u64)RAM_PAGES * PAGE_SIZE)
#define HIDDEN_LO 0x300000ULL
#define HIDDEN_HI 0x340000ULL
#define MMIO_TOP 0x800000ULL
#define SPT_BASE 0x40000000ULL
#define SCRATCH 0x50000000ULL
#define OPEN_BUS 0x50001000ULL /* the page of all ones the engine maps where nothing is */
#define MAX_POOL 512

/*
 * A simulated CPU: its shadow_vcpu, and what its VMCS holds: the CR3 it runs
 * on while its CR3-target list is filled (else the engine's root), the list.
 */
struct sim_cpu {
	struct shadow_vcpu sv;
	bool armed_hw;
	u64 hw_cr3;
	u64 target[2];
	u64 target_hits; /* CR3 writes the CPU made itself, without the engine */
};
enum outcome { OK, GUEST_PF, STOPPED };
struct result {
	enum outcome o;
	u64 gpa;
	u32 pfec;
};

#define NSPACES 4
#define PHYSMAP 0xFFFF888000000000ULL /* all guest RAM, 2 MiB pages, supervisor RW */
#define KERNEL 0xFFFFFFFF80000000ULL

extern u64 (*ram)[512];
extern struct shadow_mmu m;
extern struct sim_cpu cpus[2];
extern struct sim_cpu *cpu;
extern bool break_remote_disarm;
extern u64 remote_kicks;
extern u64 pml4[NSPACES];
extern u64 tables[64];
extern int table_level[64];
extern unsigned ntables;
extern const u32 accesses[6];
extern unsigned mismatches; /* found by check_all */
/* random_entry makes links to lower tables read-only or supervisor-only too (else always RW and U/S) */
extern bool vary_link_rights;

/* A fresh machine with a pool of @capacity shadow pages; CPU 0 current. */
void setup(u32 capacity);
u64 alloc_gpage(void);
struct gw_paging guest_pg(u64 cr3, bool nxe, bool smep);
/* At every simulated exit: the root from the "VMCS"; before every entry: the target list the engine wants. */
void sim_exit_begin(struct sim_cpu *c);
void sim_before_entry(struct sim_cpu *c);
/* An access by the current CPU through its hardware CR3, taking #PF exits to the engine. */
struct result cpu_access(const struct gw_paging *gpg, u64 va, u32 access);
u64 *gentry(u64 table, unsigned i);
void guest_write(const struct gw_paging *gpg, u64 gpa, u64 val);
/* NSPACES address spaces sharing a kernel half and a direct map; with @kpti, top tables in 8 KiB pairs. */
void build_guest(void);
void build_guest_kpti(bool kpti);
u64 rnd(u64 n);
u64 random_entry(int level);
u64 random_va(void);
/* The shadow agrees with the guest's tables for every address touched (mismatches counts). */
void check_all(const struct gw_paging *gpg);
enum gpa_kind kind(void *ctx, u64 gpa);

#endif
