/* spinlock.h: a test-and-test-and-set lock for the few structures CPUs share. */
#ifndef SLAT_SPINLOCK_H
#define SLAT_SPINLOCK_H

#include "types.h"
#include "../arch/x86_64/cpu.h"

typedef struct {
	volatile u32 locked;
} spinlock_t;

static inline bool spin_trylock(spinlock_t *l)
{
	return __atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void spin_lock(spinlock_t *l)
{
	while (!spin_trylock(l))
		while (l->locked)
			cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
