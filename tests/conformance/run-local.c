/* Runs the conformance suite against the built-in in-process provider. */
#include <stddef.h>

#include <openfault/lock.h>

#include "conformance.h"
#include "lock/providers/local.h"

static int create_local(void *ctx, of_lock_provider **out)
{
    (void)ctx;
    return of_lock_local_create(out);
}

static int lapse_local(void *ctx, of_lock_provider *p, const void *name, size_t len)
{
    (void)ctx;
    return ofi_lock_local_force_lapse(p, name, len);
}

int main(int argc, char **argv)
{
    const of_conformance_target targets[] = {
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "local",
            .create = create_local,
            .force_lapse = lapse_local,
            .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_WAIT,
            .short_ttl_ms = 200,
        },
        /* The same provider with no lapse hook: every lapse is waited out in real time. */
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "local-nohooks",
            .create = create_local,
            .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_WAIT,
            .short_ttl_ms = 200,
        },
    };
    return of_conformance_main(argc, argv, targets, sizeof targets / sizeof targets[0]);
}
