/* Configuration of the Redlock provider: options, the server list (URL array or comma list),
 * and its checks (odd count 3..15, no server twice). Pure C (no hiredis), so it is compiled and
 * unit-tested in every build; each server's URL goes through the Redis provider's parser. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_REDLOCK_CONFIG_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_REDLOCK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/lock_redis.h>

#include "lock/providers/redis_config.h"

/* Longest comma list accepted by of_lock_redlock_create_list(). */
#define OFI_REDLOCK_LIST_MAX (OF_LOCK_REDLOCK_MAX_SERVERS * OFI_REDIS_URL_MAX + OF_LOCK_REDLOCK_MAX_SERVERS - 1)

typedef struct ofi_redlock_config {
    size_t count;
    ofi_redis_config servers[OF_LOCK_REDLOCK_MAX_SERVERS]; /* timeouts already resolved */
    uint32_t drift_ppm;
    uint32_t drift_extra_ms;
} ofi_redlock_config;

/* Parse and check @p count URLs with @p opts (NULL = defaults) into @p out. On error @p out is
 * untouched and the detail names the server by position. OF_OK, OF_ERR_INVALID, OF_ERR_ABI,
 * OF_ERR_NOT_SUPPORTED (rediss://), OF_ERR_NOMEM. */
int ofi_redlock_config_from_urls(const char *const *urls, size_t count,
                                 const of_lock_redlock_options *opts, ofi_redlock_config *out);

/* The same from one comma-separated list. */
int ofi_redlock_config_from_list(const char *list, const of_lock_redlock_options *opts,
                                 ofi_redlock_config *out);

void ofi_redlock_config_free(ofi_redlock_config *cfg);

/* Clock-drift allowance of a lease of @p ttl_ms, in ns. */
int64_t ofi_redlock_drift_ns(uint32_t drift_ppm, uint32_t drift_extra_ms, uint32_t ttl_ms);

#endif
