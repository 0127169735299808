/* The Redis provider in a build without hiredis: the same symbols, answering
 * OF_ERR_NOT_SUPPORTED (DESIGN.md, ABI: headers and exports do not depend on the build machine).
 * of_lock_redis_options_init() lives in redis_config.c and of_lock_redlock_options_init() in
 * redlock_config.c, which every build compiles. */
#include <openfault/lock_redis.h>

#include "common/error.h"

OF_API int of_lock_redis_available(void)
{
    return 0;
}

static int not_built(void)
{
    return ofi_fail(OF_ERR_NOT_SUPPORTED,
                    "libopenfault was built without hiredis: the redis provider is not available");
}

OF_API int of_lock_redis_create(const of_lock_redis_options *opts,
                                of_lock_provider **out_provider)
{
    (void)opts;
    (void)out_provider;
    return not_built();
}

OF_API int of_lock_redis_create_url(const char *url, of_lock_provider **out_provider)
{
    (void)url;
    (void)out_provider;
    return not_built();
}

OF_API int of_lock_redlock_create(const char *const *urls, size_t count,
                                  const of_lock_redlock_options *opts,
                                  of_lock_provider **out_provider)
{
    (void)urls;
    (void)count;
    (void)opts;
    (void)out_provider;
    return ofi_fail(OF_ERR_NOT_SUPPORTED,
                    "libopenfault was built without hiredis: the redlock provider is not available");
}

OF_API int of_lock_redlock_create_list(const char *list, const of_lock_redlock_options *opts,
                                       of_lock_provider **out_provider)
{
    (void)list;
    (void)opts;
    (void)out_provider;
    return ofi_fail(OF_ERR_NOT_SUPPORTED,
                    "libopenfault was built without hiredis: the redlock provider is not available");
}
