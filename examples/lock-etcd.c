/* Shows: of_lock_etcd_create_url, of_lock_acquire with a wait, of_lock_fence, of_lock_valid_until_ns
 * Usage: lock-etcd URL   e.g. lock-etcd etcd://10.0.0.5:2379,10.0.0.6:2379/locks/ */
#include <stdint.h>
#include <stdio.h>

#include <openfault/openfault.h>

#include "check.h"

int main(int argc, char **argv)
{
    if (argc != 2 || !of_lock_etcd_available()) {
        fprintf(stderr, "usage: lock-etcd URL (needs a build with libcurl and jansson)\n");
        return 2;
    }
    of_lock_provider *p = NULL;
    CHECK(of_lock_etcd_create_url(argv[1], &p)); /* tries the endpoints in turn */

    of_lock_options o;
    CHECK(of_lock_options_init(&o, sizeof o));
    o.ttl_ms = 10000;
    o.wait_ms = 2000; /* waits on a watch of the key until then */
    of_lock *l = NULL;
    CHECK(of_lock_acquire(p, "nightly-report", 14, &o, &l));

    /* The fence (on etcd, the key's create revision: cluster-wide, increasing across owners) goes
     * with every write to the guarded resource; valid_until (CLOCK_MONOTONIC) is when the lease
     * may already have ended on the server, drift allowance included. */
    uint64_t fence;
    CHECK(of_lock_fence(l, &fence));
    int64_t left_ms = (of_lock_valid_until_ns(l) - of_clock_monotonic_ns()) / 1000000;
    printf("holding nightly-report with fence %llu, %s\n", (unsigned long long)fence,
           left_ms > 0 ? "lease running" : "lease already ended");

    CHECK(of_lock_release(l));
    of_lock_provider_destroy(p);
    return 0;
}
