/* Shows: of_lock_provider_ops, of_lock_provider_create: a backend of your own behind the lock API.
 * The backend here is a table of 8 slots guarded by a mutex, to keep the example short; a real
 * one (etcd, PostgreSQL advisory locks) makes the same three steps network calls.
 * examples/file-provider.c is a complete one that passes the conformance suite. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openfault/openfault.h>

#include "check.h"

struct slot {
    char name[32];
    size_t name_len;
    of_lock_token owner;
    int64_t expires_ns;
};
struct table {
    pthread_mutex_t mu;
    struct slot slots[8];
    uint64_t next_fence;
};

/* The slot for name, or a free (or expired) one when take is set; the caller holds mu. */
static struct slot *find(struct table *t, const void *name, size_t len, int take)
{
    int64_t now = of_clock_monotonic_ns();
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < 8; i++) {
        struct slot *s = &t->slots[i];
        int live = s->name_len && s->expires_ns > now;
        if (live && s->name_len == len && memcmp(s->name, name, len) == 0)
            return s;
        if (!live && !free_slot)
            free_slot = s;
    }
    return take ? free_slot : NULL;
}

static int try_acquire(void *self, const void *name, size_t len, const of_lock_token *token,
                       uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,
                       int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms)
{
    (void)ttl_ms, (void)deadline_ns, (void)out_retry_after_ms; /* nothing blocks or hints here */
    struct table *t = self;
    if (len > sizeof t->slots[0].name)
        return OF_ERR_INVALID;
    pthread_mutex_lock(&t->mu);
    int rc = OF_ERR_BUSY;
    struct slot *s = NULL;
    if (!find(t, name, len, 0)) {
        s = find(t, name, len, 1);
        rc = s ? OF_OK : OF_ERR_NOSPACE; /* a full table is this backend's own limit */
    }
    if (s) {
        memcpy(s->name, name, len);
        s->name_len = len;
        s->owner = *token;
        /* The engine pre-set valid_until to (time before the call + ttl_ms): expire then. */
        s->expires_ns = *out_valid_until_ns;
        *out_fence = ++t->next_fence;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* Release and extend act only while our token holds the name: compare, then change. */
static int release(void *self, const void *name, size_t len, const of_lock_token *token,
                   int64_t deadline_ns)
{
    (void)deadline_ns;
    struct table *t = self;
    pthread_mutex_lock(&t->mu);
    struct slot *s = find(t, name, len, 0);
    int rc = s && memcmp(&s->owner, token, sizeof *token) == 0 ? OF_OK : OF_ERR_NOT_OWNER;
    if (rc == OF_OK)
        s->name_len = 0;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static int extend(void *self, const void *name, size_t len, const of_lock_token *token,
                  uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns)
{
    (void)deadline_ns, (void)ttl_ms;
    struct table *t = self;
    pthread_mutex_lock(&t->mu);
    struct slot *s = find(t, name, len, 0);
    int rc = s && memcmp(&s->owner, token, sizeof *token) == 0 ? OF_OK : OF_ERR_NOT_OWNER;
    if (rc == OF_OK)
        s->expires_ns = *out_valid_until_ns;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static const of_lock_provider_ops table_ops = {
    .abi_version = OF_LOCK_PROVIDER_ABI,        /* the ABI you compiled against */
    .struct_size = sizeof(of_lock_provider_ops),
    .name = "table",                            /* static text */
    .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE,
    .try_acquire = try_acquire,                 /* required */
    .release = release,                         /* required */
    .extend = extend,                           /* required with OF_LOCK_CAP_EXTEND */
};

int main(void)
{
    static struct table t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    of_lock_provider *p = NULL;
    CHECK(of_lock_provider_create(&table_ops, &t, &p)); /* the engine adds waits, renewals, stats */

    of_lock *a = NULL, *b = NULL;
    CHECK(of_lock_acquire(p, "job", 3, NULL, &a));
    int rc = of_lock_acquire(p, "job", 3, NULL, &b); /* default options: try once */
    printf("second owner: %s\n", of_status_name(rc));
    CHECK(of_lock_extend(a, 5000));
    CHECK(of_lock_release(a));
    CHECK(of_lock_acquire(p, "job", 3, NULL, &b));
    uint64_t fence;
    CHECK(of_lock_fence(b, &fence));
    printf("after release: acquired with fence %llu\n", (unsigned long long)fence);
    CHECK(of_lock_release(b));
    of_lock_provider_destroy(p);
    return rc == OF_ERR_BUSY ? 0 : 1;
}
