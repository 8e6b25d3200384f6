/* open_bus.c: reads where nothing is give all ones, writes are dropped (open_bus.h). */
#include "open_bus.h"
#include "guest_mem.h"
#include "insn.h"
#include "vmcs.h"
#include "vmx.h"
#include "../kernel/kstring.h"
#include "../kernel/log.h"
#include "../kernel/spinlock.h"
#include "../mm/palloc.h"

static u64 ones;
static spinlock_t lock;
static bool write_logged;

u64 open_bus_page(void)
{
	spin_lock(&lock);
	if (!ones) {
		u64 p = palloc(1, PALLOC_ANYWHERE);
		if (p)
			memset((void *)(uintptr_t)p, 0xFF, PAGE_SIZE);
		ones = p;
	}
	spin_unlock(&lock);
	return ones;
}

enum exit_action open_bus_write(struct vcpu *v, u64 gpa)
{
	struct mmio_store st;
	u64 value;
	u64 rip = vmcs_readnat(VMCS_GUEST_RIP);
	if (!guest_decode_store(v, &st, &value))
		guest_stop(v, STOP_HALT,
			   "guest: vcpu%u wrote to guest-physical 0x%llx, where nothing is, with an instruction slatvisor does not decode (rip 0x%llx); the guest is stopped",
			   v->index, (unsigned long long)gpa, (unsigned long long)rip);
	v->stats.open_bus_writes++;
	if (!__atomic_exchange_n(&write_logged, true, __ATOMIC_RELAXED))
		pr_warn("guest: vcpu%u wrote 0x%llx to guest-physical 0x%llx, where nothing is (rip 0x%llx); dropped, as a bare machine would (said once)",
			v->index, (unsigned long long)value, (unsigned long long)gpa, (unsigned long long)rip);
	vmcs_writenat(VMCS_GUEST_RIP, rip + st.length);
	return EXIT_RESUME;
}
