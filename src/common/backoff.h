/* Randomised waits between retries, and the small generator behind them. Retries of many clients
 * must not fall into step (the "thundering herd"), so every wait is drawn at random below a cap
 * that doubles per attempt (Brooker, "Exponential Backoff And Jitter", AWS 2015). */
#ifndef OPENFAULT_SRC_COMMON_BACKOFF_H
#define OPENFAULT_SRC_COMMON_BACKOFF_H

#include <stdint.h>

/* splitmix64 (Steele, Lea, Flood 2014): a fast, well-mixed sequence from a 64-bit state. Spreads
 * retries only; it is not a source of secrets (tokens come from common/token.c). */
static inline uint64_t ofi_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The cap of attempt @p attempt (0-based): min(base_ms << attempt, cap_ms), at least 1 ms when
 * base_ms is not 0. Never overflows, whatever the attempt count. */
uint64_t ofi_backoff_ceiling_ms(uint32_t base_ms, uint32_t cap_ms, uint32_t attempt);

/* "Full jitter": uniform in [0, ceiling] ns. The shortest average wait; right where a retry that
 * comes at once is harmless (a lock waiter retrying a busy name). */
int64_t ofi_backoff_full_ns(uint64_t ceiling_ms, uint64_t *rng);

/* "Equal jitter": uniform in [ceiling/2, ceiling] ns. Never a near-zero wait; right where a retry
 * costs the backend work (a reconnect, a cleanup command to a server that just failed). */
int64_t ofi_backoff_equal_ns(uint64_t ceiling_ms, uint64_t *rng);

#endif
