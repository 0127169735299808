/* Runs the lock-provider conformance suite against the etcd provider on a private single-member
 * etcd. Each case gets a provider with its own key prefix, so names never leak between cases.
 * "etcd": the lapse hook revokes the key's lease on the server; "etcd-nohooks": every lapse is
 * waited out in real time (leases end by etcd's own expiry). */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openfault/openfault.h>

#include "conformance.h"
#include "etcd-harness.h"
#include "lock/engine.h"
#include "lock/providers/etcd.h"

static test_etcd server;
static atomic_uint case_no;

static int create_etcd(void *ctx, of_lock_provider **out)
{
    (void)ctx;
    char tail[96], url[512];
    snprintf(tail, sizeof tail, "/conf%u/?command_timeout_ms=5000", atomic_fetch_add(&case_no, 1));
    test_etcd_url(&server, tail, url, sizeof url);
    return of_lock_etcd_create_url(url, out);
}

/* Revoke the key's lease: on etcd, that is exactly what the end of a TTL does. */
static int lapse_etcd(void *ctx, of_lock_provider *p, const void *name, size_t len)
{
    (void)ctx;
    char *key = ofi_etcd_key_b64(ofi_lock_provider_self(p), name, len);
    int rc = key != NULL && test_etcd_lapse(&server, key) == 0 ? OF_OK : OF_ERR_PROTOCOL;
    free(key);
    return rc;
}

int main(int argc, char **argv)
{
    if (test_etcd_start(&server, 1) != 0) {
        fprintf(stderr, "cannot start etcd\n");
        printf("1..1\nnot ok 1 - start etcd\n");
        return 1;
    }
    const uint32_t caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE |
                          OF_LOCK_CAP_WAIT | OF_LOCK_CAP_SHARED;
    /* etcd leases are whole seconds: the shortest lease is 1 s. */
    const of_conformance_target targets[] = {
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "etcd",
            .create = create_etcd,
            .force_lapse = lapse_etcd,
            .caps = caps,
            .short_ttl_ms = 1000,
        },
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "etcd-nohooks",
            .create = create_etcd,
            .caps = caps,
            .short_ttl_ms = 1000,
        },
    };
    int rc = of_conformance_main(argc, argv, targets, sizeof targets / sizeof targets[0]);
    test_etcd_stop(&server);
    return rc;
}
