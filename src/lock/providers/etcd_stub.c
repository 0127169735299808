/* The etcd provider in a build without libcurl or jansson: the same symbols, answering
 * OF_ERR_NOT_SUPPORTED (DESIGN.md, ABI: headers and exports do not depend on the build machine).
 * of_lock_etcd_options_init() lives in etcd_config.c, which every build compiles. */
#include <openfault/lock_etcd.h>

#include "common/error.h"

OF_API int of_lock_etcd_available(void)
{
    return 0;
}

static int not_built(void)
{
    return ofi_fail(OF_ERR_NOT_SUPPORTED, "libopenfault was built without libcurl and jansson: "
                                          "the etcd provider is not available");
}

OF_API int of_lock_etcd_create(const of_lock_etcd_options *opts, of_lock_provider **out_provider)
{
    (void)opts;
    (void)out_provider;
    return not_built();
}

OF_API int of_lock_etcd_create_url(const char *url, of_lock_provider **out_provider)
{
    (void)url;
    (void)out_provider;
    return not_built();
}
