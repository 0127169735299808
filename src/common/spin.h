/* A spin lock for critical sections of a few dozen instructions (the lock engine's stripes, the
 * local provider's shards): one atomic exchange to take it and one release store to drop it,
 * inline, against ~55 instructions through libc for a pthread mutex pair. A waiter spins on a
 * plain load (no cache-line ping-pong), then yields the CPU so a holder that was preempted (two
 * threads on one CPU) can finish. It never sleeps on a condition: code that must wait for an event
 * pairs it with a mutex and condition variable of its own (see the local provider). */
#ifndef OPENFAULT_SRC_COMMON_SPIN_H
#define OPENFAULT_SRC_COMMON_SPIN_H

#include <sched.h>
#include <stdatomic.h>

typedef struct ofi_spin {
    _Atomic int held;
} ofi_spin;

static inline void ofi_spin_init(ofi_spin *l)
{
    atomic_init(&l->held, 0);
}

static inline void ofi_spin_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void ofi_spin_lock(ofi_spin *l)
{
    while (atomic_exchange_explicit(&l->held, 1, memory_order_acquire)) {
        unsigned spins = 0;
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (++spins > 64) {
                sched_yield();
                spins = 0;
            } else {
                ofi_spin_relax();
            }
        }
    }
}

static inline void ofi_spin_unlock(ofi_spin *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

#endif
