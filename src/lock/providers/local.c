/* The in-process lock provider: named leases in a sharded hash table.
 *
 * It fills the public vtable like any third-party provider would. Each shard has a spin lock
 * (common/spin.h), a chained hash table and a small free list of entries, so an uncontended
 * try_acquire + release is two short critical sections, no allocation, no libc lock call and no
 * fine-grained clock read (the lease end is the engine's conservative pre-set valid_until; expiry
 * checks on the release path use the coarse clock, which is never ahead of the real one). An
 * entry exists only while its name is held or waited for, so idle names cost no memory. Waiters
 * sleep on a per-entry condition variable until a release or the holder's lease end: no polling.
 *
 * Locks: the shard's spin lock `mu` over its table, entries and counters; `wait_mu`, a mutex only
 * for the condition variables, taken while holding `mu` (never the other way round). A waiter
 * counts itself (e->waiters) under mu, takes wait_mu, then drops mu and sleeps on e->cv. A waker
 * that sees waiters > 0 under mu pins the entry (e->waking), drops mu, takes and drops wait_mu
 * (which it gets only once every counted waiter sleeps: no lost wake-up) and broadcasts holding
 * neither lock, so the woken thread never runs into a lock its waker holds (on one CPU each such
 * collision cost a round of context switches per hand-off).
 *
 * Tokens are the engine's private ones (lock/engine.h): besides an id unique to the acquisition
 * each carries ofi_hash64(name, seed) under this provider's seed, so the steps that get a token
 * (try_acquire, release, extend) do not hash the name again; only the engine calls them, always
 * with a token it made for that name. wait_release and the test hook hash the name themselves.
 *
 * Fencing tokens come from a per-shard counter: a name always maps to the same shard, so its
 * fences strictly increase across owners even after its entry was recycled. */
#include "lock/providers/local.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/spin.h"
#include "common/token.h"
#include "lock/engine.h"

#define SHARD_BITS 6
#define NSHARDS (1u << SHARD_BITS)
#define MIN_BUCKETS 16u
/* Recycled entries per shard: at most 64 x 16 x (~200 B + a name of up to 1 KiB) idle. */
#define ENTRY_FREE_MAX 16u
#define NAME_INLINE 48

static const char local_name[] = "local";

typedef struct entry {
    struct entry *next;
    uint64_t hash;
    int64_t expires;
    of_lock_token token;
    int held;
    unsigned waiters;
    unsigned waking; /* wakers between dropping and retaking mu: the entry must stay */
    pthread_cond_t cv;
    size_t name_len;
    char *name;
    char *heap;
    size_t heap_cap;
    char name_inline[NAME_INLINE];
} entry;

/* Aligned so two shards' locks never share a cache line. */
typedef struct shard {
    _Alignas(64) ofi_spin mu;
    entry **buckets;
    size_t nbuckets;
    size_t count;
    entry *free;
    unsigned nfree;
    uint64_t last_fence;
    pthread_mutex_t wait_mu; /* for the entries' cv only, see the top of the file */
} shard;

typedef struct local_provider {
    uint64_t seed;
    pthread_condattr_t cattr;
    _Alignas(64) shard shards[NSHARDS];
} local_provider;

static inline int token_eq(const of_lock_token *a, const of_lock_token *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static inline shard *shard_of(local_provider *l, uint64_t h)
{
    return &l->shards[h >> (64 - SHARD_BITS)];
}

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Short names (the common case) are compared inline: a libc call costs more than the bytes.
 * 8..32 bytes as up to four 8-byte words, the last one overlapping the one before it. */
static inline int same_name(const char *a, const char *b, size_t len)
{
    if (len > 32)
        return memcmp(a, b, len) == 0;
    if (len >= 8) {
        uint64_t diff = load64(a + len - 8) ^ load64(b + len - 8);
        for (size_t i = 0; i + 8 < len; i += 8)
            diff |= load64(a + i) ^ load64(b + i);
        return diff == 0;
    }
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* Inlined into each step: as a call its register saves cost as much as the walk. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline entry *find(shard *s, uint64_t h, const void *name, size_t len, entry ***out_link)
{
    entry **link = &s->buckets[h & (s->nbuckets - 1)];
    for (entry *e = *link; e; link = &e->next, e = e->next) {
        if (e->hash == h && e->name_len == len && same_name(e->name, name, len)) {
            if (out_link)
                *out_link = link;
            return e;
        }
    }
    return NULL;
}

static void entry_free(entry *e)
{
    pthread_cond_destroy(&e->cv);
    free(e->heap);
    free(e);
}

/* Resize the bucket array; on allocation failure keep the old one (chains just get longer). */
static void rehash(shard *s, size_t nb)
{
    /* An array of pointers, so sizeof(entry *) is meant.
     * NOLINTNEXTLINE(bugprone-sizeof-expression) */
    entry **nbk = calloc(nb, sizeof *nbk);
    if (!nbk)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry *e = s->buckets[i];
        while (e) {
            entry *next = e->next;
            entry **b = &nbk[e->hash & (nb - 1)];
            e->next = *b;
            *b = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = nbk;
    s->nbuckets = nb;
}

static entry *entry_new(local_provider *l, shard *s, uint64_t h, const void *name, size_t len)
{
    entry *e = s->free;
    if (e) {
        s->free = e->next;
        s->nfree--;
    } else {
        e = malloc(sizeof *e);
        if (!e)
            return NULL;
        if (pthread_cond_init(&e->cv, &l->cattr) != 0) {
            free(e);
            return NULL;
        }
        e->heap = NULL;
        e->heap_cap = 0;
    }
    if (len <= NAME_INLINE) {
        e->name = e->name_inline;
    } else {
        if (e->heap_cap < len) {
            char *nb = malloc(len);
            if (!nb) {
                e->next = s->free;
                s->free = e;
                s->nfree++;
                return NULL;
            }
            free(e->heap);
            e->heap = nb;
            e->heap_cap = len;
        }
        e->name = e->heap;
    }
    ofi_lock_copy_name(e->name, name, len);
    e->name_len = len;
    e->hash = h;
    e->held = 0;
    e->waiters = 0;
    e->waking = 0;
    e->expires = 0;
    entry **b = &s->buckets[h & (s->nbuckets - 1)];
    e->next = *b;
    *b = e;
    s->count++;
    if (s->count > s->nbuckets)
        rehash(s, s->nbuckets * 2);
    return e;
}

/* Called and returns with s->mu held, but drops it meanwhile: wake @p e's waiters (see the top
 * of the file). The caller must not trust what it read under mu before (links, held). */
static void wake_waiters(shard *s, entry *e)
{
    e->waking++;
    ofi_spin_unlock(&s->mu);
    pthread_mutex_lock(&s->wait_mu);
    pthread_mutex_unlock(&s->wait_mu);
    pthread_cond_broadcast(&e->cv);
    ofi_spin_lock(&s->mu);
    e->waking--;
}

static void entry_drop(shard *s, entry *e, entry **link);

/* Under s->mu: recycle @p e if nobody holds, waits for or wakes it. */
static void drop_if_idle(shard *s, entry *e)
{
    if (e->held || e->waiters || e->waking)
        return;
    entry **link = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*link != e)
        link = &(*link)->next;
    entry_drop(s, e, link);
}

/* Under s->mu: @p e (at @p link) is no longer held: wake its waiters, or recycle it. */
static void entry_clear(shard *s, entry *e, entry **link)
{
    e->held = 0;
    if (e->waiters) {
        wake_waiters(s, e);
        drop_if_idle(s, e);
    } else if (!e->waking) {
        entry_drop(s, e, link);
    }
}

/* Unlink an idle entry (not held, no waiters) and recycle it. */
static void entry_drop(shard *s, entry *e, entry **link)
{
    *link = e->next;
    s->count--;
    if (s->nfree < ENTRY_FREE_MAX) {
        e->next = s->free;
        s->free = e;
        s->nfree++;
    } else {
        entry_free(e);
    }
    if (s->nbuckets > MIN_BUCKETS && s->count < s->nbuckets / 8)
        rehash(s, s->nbuckets / 2);
}

static int local_try_acquire(void *self, const void *name, size_t name_len,
                             const of_lock_token *token, uint32_t ttl_ms, int64_t deadline_ns,
                             uint64_t *out_fence,
                             /* cppcheck-suppress constParameter ; read here, but the type is
                              * fixed by of_lock_provider_ops (other providers write it) */
                             int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms)
{
    local_provider *l = self;
    uint64_t h = ofi_lock_private_token_hash(token); /* = ofi_hash64(name, l->seed) */
    shard *s = shard_of(l, h);
    ofi_spin_lock(&s->mu);
    entry *e = find(s, h, name, name_len, NULL);
    if (e) {
        /* The fine clock only here: a takeover must see the lease truly over. */
        if (e->held && ofi_now_ns() < e->expires) {
            ofi_spin_unlock(&s->mu);
            return OF_ERR_BUSY;
        }
    } else {
        e = entry_new(l, s, h, name, name_len);
        if (!e) {
            ofi_spin_unlock(&s->mu);
            return ofi_fail_plain(OF_ERR_NOMEM);
        }
    }
    e->held = 1;
    e->token = *token;
    /* The engine pre-sets valid_until to (a time no later than now) + ttl: the holder's view and
     * ours are then the same instant, with no drift between them. */
    e->expires = *out_valid_until_ns;
    *out_fence = ++s->last_fence;
    ofi_spin_unlock(&s->mu);
    return OF_OK;
}

static int local_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                         int64_t deadline_ns)
{
    local_provider *l = self;
    uint64_t h = ofi_lock_private_token_hash(token); /* = ofi_hash64(name, l->seed) */
    shard *s = shard_of(l, h);
    ofi_spin_lock(&s->mu);
    entry **link;
    entry *e = find(s, h, name, name_len, &link);
    if (!e || !e->held || !token_eq(&e->token, token)) {
        ofi_spin_unlock(&s->mu);
        return OF_ERR_NOT_OWNER;
    }
    /* An expired lease is no longer ours (as on a backend whose key expired), but nobody took it:
     * clear it either way, and answer as a backend would. From of_lock_release() the engine's
     * own coarse reading at the call's start serves (see ofi_lock_release_now): one clock read
     * per release instead of two. */
    int64_t now = ofi_lock_release_now;
    if (!now)
        now = ofi_now_coarse_ns();
    int expired = now >= e->expires;
    entry_clear(s, e, link);
    ofi_spin_unlock(&s->mu);
    return expired ? OF_ERR_NOT_OWNER : OF_OK;
}

static int local_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                        uint32_t ttl_ms, int64_t deadline_ns,
                        /* cppcheck-suppress constParameter ; as in local_try_acquire */
                        int64_t *out_valid_until_ns)
{
    local_provider *l = self;
    uint64_t h = ofi_lock_private_token_hash(token); /* = ofi_hash64(name, l->seed) */
    shard *s = shard_of(l, h);
    ofi_spin_lock(&s->mu);
    entry **link;
    entry *e = find(s, h, name, name_len, &link);
    if (!e || !e->held || !token_eq(&e->token, token)) {
        ofi_spin_unlock(&s->mu);
        return OF_ERR_NOT_OWNER;
    }
    if (ofi_now_ns() >= e->expires) {
        entry_clear(s, e, link);
        ofi_spin_unlock(&s->mu);
        return OF_ERR_NOT_OWNER;
    }
    e->expires = *out_valid_until_ns;
    ofi_spin_unlock(&s->mu);
    return OF_OK;
}

static int local_wait_release(void *self, const void *name, size_t name_len, int64_t until_ns)
{
    local_provider *l = self;
    uint64_t h = ofi_hash64(name, name_len, l->seed);
    shard *s = shard_of(l, h);
    ofi_spin_lock(&s->mu);
    entry *e = find(s, h, name, name_len, NULL);
    int64_t now = ofi_now_ns();
    if (!e || !e->held || now >= e->expires) {
        ofi_spin_unlock(&s->mu);
        return OF_OK;
    }
    int64_t wake = e->expires < until_ns ? e->expires : until_ns;
    struct timespec ts = ofi_timespec_from_ns(wake);
    e->waiters++;
    /* One wait: any wake-up (release, lapse, spurious) sends the engine back to try_acquire.
     * wait_mu is taken before mu is dropped, so a waker cannot broadcast before we sleep. */
    pthread_mutex_lock(&s->wait_mu);
    ofi_spin_unlock(&s->mu);
    pthread_cond_timedwait(&e->cv, &s->wait_mu, &ts);
    pthread_mutex_unlock(&s->wait_mu);
    ofi_spin_lock(&s->mu);
    e->waiters--;
    drop_if_idle(s, e);
    ofi_spin_unlock(&s->mu);
    return ofi_now_ns() >= until_ns ? OF_ERR_TIMEOUT : OF_OK;
}

static void local_destroy(void *self)
{
    local_provider *l = self;
    for (unsigned i = 0; i < NSHARDS; i++) {
        shard *s = &l->shards[i];
        for (size_t b = 0; b < s->nbuckets; b++) {
            entry *e = s->buckets[b];
            while (e) {
                entry *next = e->next;
                entry_free(e);
                e = next;
            }
        }
        entry *e = s->free;
        while (e) {
            entry *next = e->next;
            entry_free(e);
            e = next;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->wait_mu);
    }
    pthread_condattr_destroy(&l->cattr);
    free(l);
}

static const of_lock_provider_ops local_ops = {
    .abi_version = OF_LOCK_PROVIDER_ABI,
    .struct_size = sizeof(of_lock_provider_ops),
    .name = local_name,
    .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_WAIT,
    .reserved0 = 0,
    .try_acquire = local_try_acquire,
    .release = local_release,
    .extend = local_extend,
    .wait_release = local_wait_release,
    .destroy = local_destroy,
};

OF_API int of_lock_local_create(of_lock_provider **out_provider)
{
    if (!out_provider)
        return ofi_fail(OF_ERR_INVALID, "of_lock_local_create: out_provider is NULL");
    local_provider *l = aligned_alloc(64, (sizeof *l + 63) / 64 * 64);
    if (!l)
        return ofi_fail_plain(OF_ERR_NOMEM);
    memset(l, 0, sizeof *l);
    /* A random hash seed keeps adversarial names from piling into one chain. */
    int rc = ofi_os_random(&l->seed, sizeof l->seed, 1, "/dev/urandom");
    if (rc != OF_OK) {
        free(l);
        return rc;
    }
    if (pthread_condattr_init(&l->cattr) != 0) {
        free(l);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    pthread_condattr_setclock(&l->cattr, CLOCK_MONOTONIC);
    unsigned i;
    for (i = 0; i < NSHARDS; i++) {
        shard *s = &l->shards[i];
        /* An array of pointers, so sizeof(entry *) is meant.
         * NOLINTNEXTLINE(bugprone-sizeof-expression) */
        s->buckets = calloc(MIN_BUCKETS, sizeof *s->buckets);
        if (!s->buckets)
            break;
        ofi_spin_init(&s->mu);
        if (pthread_mutex_init(&s->wait_mu, NULL) != 0) {
            free(s->buckets);
            break;
        }
        s->nbuckets = MIN_BUCKETS;
    }
    if (i < NSHARDS) {
        while (i-- > 0) {
            free(l->shards[i].buckets);
            pthread_mutex_destroy(&l->shards[i].wait_mu);
        }
        pthread_condattr_destroy(&l->cattr);
        free(l);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    of_lock_provider *p = NULL;
    rc = of_lock_provider_create(&local_ops, l, &p);
    if (rc != OF_OK) {
        local_destroy(l);
        return rc;
    }
    /* Tokens stay in this process and are only compared for equality: the engine's cheap ids
     * will do, and of_lock_token_get() still derives the unguessable token. */
    ofi_lock_provider_use_private_tokens(p, l->seed);
    *out_provider = p;
    return OF_OK;
}

int ofi_lock_local_force_lapse(of_lock_provider *provider, const void *name, size_t name_len)
{
    local_provider *l = of_lock_provider_self(provider, local_name);
    if (!l || !name)
        return ofi_fail(OF_ERR_INVALID, "force_lapse: not a local provider");
    uint64_t h = ofi_hash64(name, name_len, l->seed);
    shard *s = shard_of(l, h);
    ofi_spin_lock(&s->mu);
    entry *e = find(s, h, name, name_len, NULL);
    int rc = OF_OK;
    if (e && e->held) {
        e->expires = ofi_now_ns() - 1;
        if (e->waiters) {
            wake_waiters(s, e);
            drop_if_idle(s, e);
        }
    } else {
        rc = ofi_fail(OF_ERR_NOT_FOUND, "force_lapse: name not held");
    }
    ofi_spin_unlock(&s->mu);
    return rc;
}
