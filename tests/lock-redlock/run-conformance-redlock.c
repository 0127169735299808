/* Runs the lock-provider conformance suite against the Redlock provider on private
 * redis-servers: "redlock-3" (3 servers), "redlock-5" (5 servers), and "redlock-3-nohooks"
 * (every lapse waited out in real time). Each case gets its own key prefix on every server. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openfault/openfault.h>

#include "conformance.h"
#include "lock/engine.h"
#include "lock/providers/redlock.h"
#include "redis-harness.h"

#define MAX_SERVERS 5
static test_redis servers[MAX_SERVERS];
static atomic_uint case_no;

typedef struct target_ctx {
    int count;
} target_ctx;

static int create_redlock(void *ctx, of_lock_provider **out)
{
    const target_ctx *t = ctx;
    char tail[96], urls[MAX_SERVERS][256];
    const char *list[MAX_SERVERS];
    unsigned no = atomic_fetch_add(&case_no, 1);
    for (int i = 0; i < t->count; i++) {
        /* Generous per-server timeouts: sanitizers and valgrind slow every round trip. */
        snprintf(tail, sizeof tail, "?prefix=conf%u%%3A&command_timeout_ms=2000", no);
        test_redis_url(&servers[i], 0, tail, urls[i], sizeof urls[i]);
        list[i] = urls[i];
    }
    of_lock_redlock_options o;
    of_lock_redlock_options_init(&o, sizeof o);
    o.connect_timeout_ms = 2000;
    return of_lock_redlock_create(list, (size_t)t->count, &o, out);
}

/* PEXPIRE the lock key to 1 ms on every server and wait until it is gone everywhere. */
static int lapse_redlock(void *ctx, of_lock_provider *p, const void *name, size_t len)
{
    (void)ctx;
    ofi_redlock *rl = ofi_lock_provider_self(p);
    for (size_t s = 0; s < rl->count; s++) {
        const ofi_redis_config *cfg = &rl->pools[s].cfg;
        char key[OFI_REDIS_KEY_CAP(OFI_REDIS_PREFIX_MAX)];
        size_t klen = ofi_redis_key(cfg->prefix, cfg->prefix_len, name, len,
                                    OFI_REDIS_LOCK_SUFFIX, key);
        /* 1 (no such key) is fine: a server the acquisition did not reach holds none. */
        if (test_redis_expire_now(&servers[s], key, klen) < 0)
            return OF_ERR_UNAVAILABLE;
    }
    return OF_OK;
}

int main(int argc, char **argv)
{
    int need = argc > 1 && strcmp(argv[1], "redlock-5") == 0 ? 5 : 3;
    if (test_redis_start_n(servers, need) != 0) {
        fprintf(stderr, "cannot start redis-server\n");
        printf("1..1\nnot ok 1 - start redis-server\n");
        return 1;
    }
    static target_ctx three = {3}, five = {5};
    const uint32_t caps =
        OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED;
    const of_conformance_target targets[] = {
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "redlock-3",
            .ctx = &three,
            .create = create_redlock,
            .force_lapse = lapse_redlock,
            .caps = caps,
            .short_ttl_ms = 300,
        },
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "redlock-5",
            .ctx = &five,
            .create = create_redlock,
            .force_lapse = lapse_redlock,
            .caps = caps,
            .short_ttl_ms = 300,
        },
        {
            .struct_size = sizeof(of_conformance_target),
            .name = "redlock-3-nohooks",
            .ctx = &three,
            .create = create_redlock,
            .caps = caps,
            .short_ttl_ms = 300,
        },
    };
    int rc = of_conformance_main(argc, argv, targets, sizeof targets / sizeof targets[0]);
    for (int i = 0; i < need; i++)
        test_redis_stop(&servers[i]);
    return rc;
}
