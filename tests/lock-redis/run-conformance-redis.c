/* Runs the lock-provider conformance suite against the Redis provider, on a private
 * redis-server, over TCP ("redis-tcp") or a unix socket ("redis-unix"). Each case gets a provider
 * with its own key prefix, so names never leak between cases. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openfault/openfault.h>

#include "conformance.h"
#include "lock/engine.h"
#include "lock/providers/redis.h"
#include "redis-harness.h"

static test_redis server;
static atomic_uint case_no;

typedef struct target_ctx {
    int unix_socket;
} target_ctx;

static int create_redis(void *ctx, of_lock_provider **out)
{
    const target_ctx *t = ctx;
    char tail[96], url[512];
    snprintf(tail, sizeof tail, "?prefix=conf%u%%3A&command_timeout_ms=5000",
             atomic_fetch_add(&case_no, 1));
    test_redis_url(&server, t->unix_socket, tail, url, sizeof url);
    return of_lock_redis_create_url(url, out);
}

/* PEXPIRE the lock key to 1 ms and wait until it is gone: the lease lapses on the server while
 * the engine's handle still believes it valid. */
static int lapse_redis(void *ctx, of_lock_provider *p, const void *name, size_t len)
{
    (void)ctx;
    ofi_redis_provider *rp = ofi_lock_provider_self(p);
    const ofi_redis_config *cfg = &rp->pool.cfg;
    char key[OFI_REDIS_KEY_CAP(OFI_REDIS_PREFIX_MAX)];
    size_t klen = ofi_redis_key(cfg->prefix, cfg->prefix_len, name, len, OFI_REDIS_LOCK_SUFFIX,
                                key);
    int rc = test_redis_expire_now(&server, key, klen);
    return rc == 0 ? OF_OK : rc < 0 ? OF_ERR_UNAVAILABLE : OF_ERR_PROTOCOL;
}

int main(int argc, char **argv)
{
    if (test_redis_start(&server, NULL, NULL) != 0) {
        fprintf(stderr, "cannot start redis-server\n");
        printf("1..1\nnot ok 1 - start redis-server\n");
        return 1;
    }
    static target_ctx tcp = {0}, unx = {1};
    const uint32_t caps =
        OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED;
    const of_conformance_target targets[] = {
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "redis-tcp",
            .ctx = &tcp,
            .create = create_redis,
            .force_lapse = lapse_redis,
            .caps = caps,
            .short_ttl_ms = 300,
        },
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "redis-unix",
            .ctx = &unx,
            .create = create_redis,
            .force_lapse = lapse_redis,
            .caps = caps,
            .short_ttl_ms = 300,
        },
        /* TCP again without the lapse hook: every lapse is waited out in real time. */
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "redis-tcp-nohooks",
            .ctx = &tcp,
            .create = create_redis,
            .caps = caps,
            .short_ttl_ms = 300,
        },
    };
    int rc = of_conformance_main(argc, argv, targets, sizeof targets / sizeof targets[0]);
    test_redis_stop(&server);
    return rc;
}
