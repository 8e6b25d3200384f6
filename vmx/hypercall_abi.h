/*
 * hypercall_abi.h: the VMCALL interface a guest uses to talk to slatvisor, shared by the
 * hypervisor (vmx/) and the guest tools (iso/initramfs/src/slatmon.c). Plain C with no
 * includes, so both a freestanding kernel and a static Linux program can use it.
 * docs/hypercalls.md is the prose version; keep the two in step.
 *
 * Discovery: CPUID leaf 0x40000000 returns the "slatvisor" signature; leaf
 * SLAT_CPUID_FEATURES (0x40000002) returns in EAX the feature bits below. A guest must not
 * issue VMCALL unless the bit for the function group is set: without it, VMCALL is #UD as on
 * a CPU without VMX.
 *
 * Calling convention (64-bit guest code):
 *   RAX = function (SLAT_HC_*), RBX, RCX, RDX, RSI = arguments.
 *   On return RAX = SLAT_OK (0) or a negative SLAT_E_* code; RBX = the result, if any.
 *   Every other register is preserved. A call never stops the guest: bad arguments give an
 *   error code. An unknown function number in the 0x534C0000-0x534CFFFF range gives
 *   SLAT_E_NOSYS; a VMCALL with any other RAX is not a hypercall and is #UD, as on a CPU
 *   without VMX (so a stray VMCALL behaves as it does without slatvisor).
 *   With shadow paging the feature bit is clear and every function gives SLAT_E_NOTSUP;
 *   with monitor=off every VMCALL is #UD.
 *   Calls from CPL 3 give SLAT_E_PERM unless slatvisor was booted with monitor_cpl3=1.
 */
#ifndef SLAT_HYPERCALL_ABI_H
#define SLAT_HYPERCALL_ABI_H

#define SLAT_CPUID_FEATURES 0x40000002u
#define SLAT_FEATURE_MONITOR (1u << 0) /* the SLAT_HC_MON_* functions work */

/* Function numbers ("SL" in the high half, so a stray VMCALL with RAX=0 is never one). */
#define SLAT_HC_MON_ADD   0x534C0001u /* add a monitor */
#define SLAT_HC_MON_DEL   0x534C0002u /* remove a monitor */
#define SLAT_HC_MON_RING  0x534C0003u /* register this CPU's event ring */
#define SLAT_HC_MON_STATS 0x534C0004u /* copy the statistics out */
#define SLAT_HC_MON_LIST  0x534C0005u /* copy the monitor table out */
#define SLAT_HC_MON_RIPS  0x534C0006u /* copy a SLAT_MON_FIRST_RIP monitor's per-RIP counts out */

/* Status codes in RAX. */
#define SLAT_OK          0
#define SLAT_E_INVAL    (-1) /* a malformed argument: flags, alignment, zero length */
#define SLAT_E_NOENT    (-2) /* no monitor with that id */
#define SLAT_E_RANGE    (-3) /* an address outside guest RAM (MMIO, hypervisor memory, past the end) */
#define SLAT_E_NOSPC    (-4) /* the page pool or the monitor table is full (monitor_pool= sets the pool) */
#define SLAT_E_PERM     (-5) /* called from CPL 3 without monitor_cpl3=1 */
#define SLAT_E_NOSYS    (-6) /* an unknown function */
#define SLAT_E_NOTSUP   (-7) /* not available in this paging mode */
#define SLAT_E_FAULT    (-8) /* a guest-linear range that does not translate, or a buffer not in RAM */

/*
 * SLAT_HC_MON_ADD
 *   RBX = start address (guest-physical, or guest-linear with SLAT_MON_LINEAR)
 *   RCX = length in bytes (> 0; the monitor covers every 4 KiB page the range touches)
 *   RDX = flags: the accesses to watch (SLAT_ACC_*) and SLAT_MON_* options
 *   RSI = CPU set: bit N = vCPU N; 0 means every vCPU
 *   returns RBX = the monitor id (> 0)
 * A guest-linear range is translated through the calling CPU's current CR3 when the monitor
 * is added; the monitor stays on those frames (it does not follow a page the guest moves).
 * Errors: SLAT_E_INVAL for flags, length 0, a wrapping range, or CPU-set bits past the last
 * vCPU; SLAT_E_RANGE for a page that is not guest RAM; SLAT_E_FAULT for a linear page that
 * does not translate; SLAT_E_NOSPC past 64 monitors, past 4096 watched pages in all, or when
 * the private pages every vCPU's view would need exceed the pool (monitor_pool=).
 * When ADD or DEL returns, every vCPU runs on the new views from its next guest instruction.
 * A read watch also takes writes away (and fetches, where the EPT has no execute-only
 * pages): those accesses exit and are stepped, but give no record.
 */
#define SLAT_ACC_R (1u << 0)
#define SLAT_ACC_W (1u << 1)
#define SLAT_ACC_X (1u << 2)
#define SLAT_ACC_MASK 7u
#define SLAT_MON_LINEAR   (1u << 8) /* RBX is guest-linear */
#define SLAT_MON_FIRST_RIP (1u << 9) /* log only the first access from each RIP, count the rest */

/* SLAT_HC_MON_DEL: RBX = monitor id. */

/*
 * SLAT_HC_MON_RING: RBX = address of the ring (4 KiB aligned), RCX = its size in bytes (a
 * multiple of 4 KiB, 1 to SLAT_RING_MAX_PAGES pages), RDX = flags: SLAT_MON_LINEAR makes RBX
 * guest-linear (each page is translated through the caller's CR3 once, at registration: the
 * guest keeps the pages where they are, mlock(2) from a Linux process), else RBX is
 * guest-physical and the ring contiguous. Registers the calling vCPU's ring; RCX = 0
 * unregisters it. slatvisor writes records into it and never blocks: when it is full, records
 * are dropped and counted.
 *
 * Layout: the 64-byte header below, then records of record_size bytes (sizeof(struct
 * slat_event), 72), packed; a record may cross a page boundary.
 *   head  is written by slatvisor: the number of records ever written (slot = head % capacity);
 *   tail  is written by the guest: the number of records it has consumed;
 *   the ring is full when head - tail == capacity (or when tail is not in [head - capacity,
 *   head]: a tail the guest corrupted counts as a full ring, never as room).
 *   seq numbers count records written; a dropped record takes none (dropped says how many).
 *   capacity = (pages * 4096 - 64) / record_size.
 */
#define SLAT_RING_MAX_PAGES 64
#define SLAT_RING_MAGIC 0x474E5253u /* "SRNG" */
struct slat_ring_header {
	unsigned int magic;       /* SLAT_RING_MAGIC, written by slatvisor at registration */
	unsigned int record_size; /* sizeof(struct slat_event) */
	unsigned long long capacity; /* records that fit after the header */
	volatile unsigned long long head;    /* slatvisor: records written */
	volatile unsigned long long tail;    /* guest: records consumed */
	volatile unsigned long long dropped; /* slatvisor: records lost to a full ring */
	unsigned long long reserved[3];
};

struct slat_event {
	unsigned long long seq;  /* per-CPU sequence number, from 0 */
	unsigned long long tsc;  /* the guest's TSC at the exit */
	unsigned int cpu;        /* vCPU index */
	unsigned int monitor;    /* monitor id */
	unsigned int access;     /* SLAT_ACC_R, _W or _X: the one access this record is about */
	unsigned int cpl;
	unsigned long long gpa;  /* guest-physical address accessed */
	unsigned long long gla;  /* guest-linear address, or ~0 when the exit gives none */
	unsigned long long rip;
	unsigned long long cr3;
	unsigned long long count; /* 1, or with SLAT_MON_FIRST_RIP the hits from this RIP so far */
};

/*
 * SLAT_HC_MON_STATS: RBX = address of a struct slat_mon_stats, RCX = its size, RDX = flags
 * (SLAT_MON_LINEAR: RBX is guest-linear). Copies min(RCX, sizeof) bytes.
 */
#define SLAT_MAX_CPUS 64
struct slat_mon_stats {
	unsigned long long monitors;      /* monitors now */
	unsigned long long events;        /* records written, all CPUs */
	unsigned long long dropped;       /* records dropped, all CPUs */
	unsigned long long violations;    /* EPT violations on watched pages, all CPUs */
	unsigned long long steps;         /* single steps through a watched access */
	unsigned long long splits;        /* large pages split */
	unsigned long long merges;        /* split pages merged back */
	unsigned long long pool_pages;    /* the pool's size in pages */
	unsigned long long shared_pages;  /* paging-structure pages of the shared EPT now */
	unsigned long long shared_before; /* ... before the guest's first monitoring call (monitoring never changes it) */
	unsigned long long exit_cycles;   /* TSC cycles slatvisor spent on watched accesses (violation and step exits) */
	unsigned long long pool_free;     /* private paging-structure pages left in the pool */
	unsigned int nr_cpus;
	unsigned int reserved;
	unsigned long long private_pages[SLAT_MAX_CPUS];      /* private pages per CPU now */
	unsigned long long private_peak[SLAT_MAX_CPUS];       /* ... and at peak */
	unsigned long long cpu_violations[SLAT_MAX_CPUS];     /* watched-page EPT violations per CPU */
	unsigned long long cpu_events[SLAT_MAX_CPUS];         /* records per CPU */
};

/*
 * SLAT_HC_MON_LIST: RBX = address of an array of struct slat_mon_info, RCX = its size in bytes,
 * RDX = flags (SLAT_MON_LINEAR: RBX is guest-linear). Returns RBX = the number of monitors
 * (which may exceed what fitted).
 */
struct slat_mon_info {
	unsigned int id;
	unsigned int flags;           /* as given to SLAT_HC_MON_ADD */
	unsigned long long cpus;      /* as given (0 = all) */
	unsigned long long start;     /* as given */
	unsigned long long length;
	unsigned long long first_gpa; /* the first frame watched */
	unsigned long long hits;      /* accesses seen */
};

/*
 * SLAT_HC_MON_RIPS: RBX = address of an array of struct slat_rip_count, RCX = its size in bytes,
 * RDX = flags (SLAT_MON_LINEAR: RBX is guest-linear), RSI = monitor id (one added with
 * SLAT_MON_FIRST_RIP). Returns RBX = the number of RIPs seen (at most SLAT_MAX_RIPS; accesses
 * from further RIPs are logged as records every time).
 */
#define SLAT_MAX_RIPS 32
struct slat_rip_count {
	unsigned long long rip;
	unsigned long long count; /* accesses from this RIP, the logged first one included */
};

#endif
