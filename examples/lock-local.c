/* Shows: of_lock_local_create, of_lock_options_init, of_lock_acquire, of_lock_fence,
 *        of_lock_release, of_lock_provider_destroy */
#include <stdint.h>
#include <stdio.h>

#include <openfault/openfault.h>

#include "check.h"

/* Stands for the guarded resource: it remembers the newest fence it saw and refuses older ones,
 * so a holder whose lease ended while it was paused cannot overwrite a newer holder's work. */
static uint64_t newest_fence_seen;

static void write_to_storage_with_fence(uint64_t fence)
{
    if (fence <= newest_fence_seen) {
        printf("storage: refused stale fence %llu\n", (unsigned long long)fence);
        return;
    }
    newest_fence_seen = fence;
    printf("storage: write with fence %llu\n", (unsigned long long)fence);
}

int main(void)
{
    of_lock_provider *p = NULL;
    CHECK(of_lock_local_create(&p));

    of_lock_options o;
    CHECK(of_lock_options_init(&o, sizeof o)); /* ttl 30 s, wait 0 (try once), no flags */
    o.ttl_ms = 10000;
    o.wait_ms = 2000;                     /* 0 = try once, < 0 = forever, > 0 = at most this long */

    for (int round = 0; round < 2; round++) {
        of_lock *l = NULL;
        CHECK(of_lock_acquire(p, "orders/42", 9, &o, &l));
        uint64_t fence;
        CHECK(of_lock_fence(l, &fence));
        write_to_storage_with_fence(fence);   /* the storage refuses fences older than it saw */
        CHECK(of_lock_release(l));            /* always frees the handle */
    }
    of_lock_provider_destroy(p);              /* after every handle was released */
    return 0;
}
