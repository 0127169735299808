/* Internals of the Redlock provider shared with its tests: the state (one Redis connection pool
 * per server) and the vtable steps. Built only with hiredis. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_REDLOCK_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_REDLOCK_H

#include <stdatomic.h>

#include <openfault/lock.h>
#include <openfault/lock_redis.h>

#include "lock/providers/redis_conn.h"
#include "lock/providers/redlock_config.h"

typedef struct ofi_redlock {
    size_t count;  /* servers */
    size_t quorum; /* count / 2 + 1 */
    uint32_t drift_ppm, drift_extra_ms;
    ofi_redis_pool pools[OF_LOCK_REDLOCK_MAX_SERVERS];
    /* Counters for tests: second rounds made to raise fence counters, and their successes. */
    _Atomic uint64_t st_raise_rounds, st_raised;
    /* Server i last failed to answer (unreachable, no reply in time): logged on each change. */
    _Atomic int out_of_quorum[OF_LOCK_REDLOCK_MAX_SERVERS];
} ofi_redlock;

int ofi_redlock_provider_create(const ofi_redlock_config *cfg, of_lock_provider **out_provider);

int ofi_redlock_try_acquire(void *self, const void *name, size_t name_len,
                            const of_lock_token *token, uint32_t ttl_ms, int64_t deadline_ns,
                            uint64_t *out_fence, int64_t *out_valid_until_ns,
                            uint32_t *out_retry_after_ms);
int ofi_redlock_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                        int64_t deadline_ns);
int ofi_redlock_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                       uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns);

#endif
