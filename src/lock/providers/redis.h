/* Internals of the Redis provider shared with its tests (and usable by redlock): the provider
 * state and its vtable steps, callable directly on a `self`. Built only with hiredis. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_H

#include <openfault/lock.h>
#include <openfault/lock_redis.h>

#include "lock/providers/redis_config.h"
#include "lock/providers/redis_conn.h"

typedef struct ofi_redis_provider {
    ofi_redis_pool pool;
} ofi_redis_provider;

/* Wrap a new provider for @p cfg (copied) in the engine. */
int ofi_redis_provider_create(const ofi_redis_config *cfg, of_lock_provider **out_provider);

/* The vtable steps (lock.h documents their contracts). */
int ofi_redis_try_acquire(void *self, const void *name, size_t name_len,
                          const of_lock_token *token, uint32_t ttl_ms, int64_t deadline_ns,
                          uint64_t *out_fence, int64_t *out_valid_until_ns,
                          uint32_t *out_retry_after_ms);
int ofi_redis_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                      int64_t deadline_ns);
int ofi_redis_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                     uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns);

/* The scripts (acquire, release, extend), for the test that checks their SHA-1 digests. */
const ofi_redis_script *ofi_redis_scripts(size_t *count);

#endif
