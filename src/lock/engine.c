/* The lock engine: one implementation of acquire/release/extend, auto-renewal, loss callbacks,
 * the cleanup queue for unknown outcomes, stats and logging, over any provider vtable.
 *
 * Hot path (uncontended acquire + release) budget: a handful of nanoseconds beyond the provider's
 * own work, so it takes no engine mutex, reads only the coarse clock (a conservative send time),
 * recycles handles through a bounded free list, and counts stats with relaxed atomics. Everything
 * that may block or allocate (renewals, cleanups, logging) happens off that path. */
#include "lock/engine.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/token.h"

/* Names up to this long live inside the handle; longer ones in a heap buffer that stays with the
 * handle while it sits on the free list. */
#define NAME_INLINE 64
/* Bound on recycled handles per provider (each is ~200 bytes, plus a name buffer for long names). */
#define HANDLE_FREE_MAX 256
/* Cleanup retries back off from this to CLEANUP_CAP_MS. */
#define CLEANUP_BASE_MS 10
#define CLEANUP_CAP_MS 1000
/* Destroy's one last attempt (every queued cleanup and every handle still held, together) is
 * bounded by min(step timeout, this) in total. */
#define DESTROY_ATTEMPT_MS 1000
/* A grant whose lease ends within this of the coarse clock's "now" is checked against the fine
 * clock (the coarse one may lag by a tick): only then is the fine clock read on the hot path. */
#define LATE_CHECK_NS (50 * OFI_NS_PER_MS)

#define OPS_V1_SIZE sizeof(of_lock_provider_ops)
#define OPTIONS_V1_SIZE sizeof(of_lock_options)
#define STATS_V1_SIZE sizeof(of_lock_stats)
#define CONFIG_V1_SIZE sizeof(of_lock_provider_config)

struct of_lock {
    of_lock_provider *p;
    of_lock_token token;
    uint64_t fence;
    _Atomic int64_t valid_until;
    _Atomic int lost;
    uint32_t ttl_ms;
    uint32_t flags;
    of_lock_lost_fn on_lost;
    void *on_lost_ctx;
    /* Renewal bookkeeping; under p->mu. */
    of_lock *rn_prev, *rn_next;
    int registered;
    int busy; /* an extend (renewal or user) is in flight on this handle */
    int want; /* callers (release, extend) waiting for busy to clear: no new renewal starts */
    int notified;
    int64_t next_renew_ns;
    /* Name: points at name_inline or heap. */
    size_t name_len;
    char *name;
    char *heap;
    size_t heap_cap;
    of_lock *free_next;
    /* Handles in use (taken from the free list, not yet put back), under p->fl_lock: destroy
     * finds the ones the caller never released. */
    of_lock *live_prev, *live_next;
    char name_inline[NAME_INLINE + 1];
};

/* A waiter of of_lock_acquire() queued on its name (on its stack): within one provider, waiters
 * of one name try in arrival order and a new acquire with a wait queues behind them instead of
 * taking the name from under them. */
typedef struct waiter {
    struct waiter *next;
    struct wait_queue *q;
} waiter;

typedef struct wait_queue {
    struct wait_queue *next;
    waiter *head, *tail;
    size_t name_len;
    char name[];
} wait_queue;

typedef struct cleanup_item {
    struct cleanup_item *next;
    of_lock_token token;
    int64_t until_ns;
    int64_t next_ns;
    uint32_t attempt;
    size_t name_len;
    char name[];
} cleanup_item;

typedef struct stats_block {
    /* `attempts` is derived: every acquire call that reached the provider ended as exactly one of
     * acquired/busy/timeouts/acq_failed, plus its retries; so the uncontended path pays one
     * counter, not two. */
    _Atomic uint64_t retries, acq_failed, acquired, busy, timeouts, lost, errors, wait_ns, released,
        extended, cleanups_queued, cleanups_done, cleanups_dropped;
} stats_block;

struct of_lock_provider {
    of_lock_provider_ops ops;
    void *self;
    ofi_token_gen tokens;

    _Atomic uint32_t step_timeout_ms;
    _Atomic uint32_t backoff_base_ms;
    _Atomic uint32_t backoff_cap_ms;
    _Atomic int log_level;

    _Alignas(64) stats_block st;

    /* Handle free list behind a tiny spin lock: the critical section is two pointer moves, far
     * cheaper than a mutex pair on the hot path. */
    _Alignas(64) atomic_flag fl_lock;
    of_lock *fl_head;
    unsigned fl_count;
    of_lock *live_head;

    _Alignas(64) pthread_mutex_t log_mu;
    of_lock_log_fn log;
    void *log_ctx;

    /* Engine thread state. */
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* the engine thread sleeps here (CLOCK_MONOTONIC) */
    pthread_cond_t idle_cv; /* handles waiting for an in-flight renewal or callback */
    int thread_started;
    int stop;
    pthread_t thread;
    of_lock *rn_first;
    cleanup_item *cq_head;
    size_t cq_count;
    size_t cq_inflight; /* detached while the engine thread's release call runs */
    of_lock *cb_handle; /* handle whose loss callback is running */
    _Atomic int paused;

    /* Wait queues per name (see waiter), under wq_mu; `waiting` counts queued waiters so an
     * acquire with nobody waiting in this provider pays one relaxed load. */
    _Alignas(64) _Atomic size_t waiting;
    pthread_mutex_t wq_mu;
    pthread_cond_t wq_cv; /* CLOCK_MONOTONIC; broadcast when a queue's head changes */
    wait_queue *wq_first;
};

#define STAT_ADD(p, field, n) atomic_fetch_add_explicit(&(p)->st.field, (uint64_t)(n), memory_order_relaxed)

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                               */

static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static inline int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    return a + b;
}

/* Big-endian hi then lo: the token's bytes, and so its hex, read as the 128-bit number hi:lo. */
static inline void token_from_internal(ofi_token t, of_lock_token *out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t hi = __builtin_bswap64(t.hi), lo = __builtin_bswap64(t.lo);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint64_t hi = t.hi, lo = t.lo;
#else
#error "unknown byte order"
#endif
    memcpy(out->bytes, &hi, 8);
    memcpy(out->bytes + 8, &lo, 8);
}

static uint64_t token_seed(const of_lock_token *t)
{
    uint64_t s;
    memcpy(&s, t->bytes + 8, sizeof s);
    return s;
}

static void spin_lock(atomic_flag *f)
{
    unsigned spins = 0;
    while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) {
        if (++spins > 64) {
            sched_yield();
            spins = 0;
        }
    }
}

static void spin_unlock(atomic_flag *f)
{
    atomic_flag_clear_explicit(f, memory_order_release);
}

static void logf_(of_lock_provider *p, int level, const char *fmt, ...) OFI_PRINTF(3, 4);

static void logf_(of_lock_provider *p, int level, const char *fmt, ...)
{
    if (level > atomic_load_explicit(&p->log_level, memory_order_relaxed))
        return;
    pthread_mutex_lock(&p->log_mu);
    of_lock_log_fn fn = p->log;
    void *ctx = p->log_ctx;
    pthread_mutex_unlock(&p->log_mu);
    if (!fn)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(ctx, level, buf);
}

/* A printable, bounded rendering of a (binary) name for log lines. */
static void name_for_log(const void *name, size_t len, char out[72])
{
    const unsigned char *s = name;
    size_t o = 0;
    for (size_t i = 0; i < len && o < 64; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= 64 && len > 0)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* handles                                                                                    */

/* Under p->fl_lock. */
static void live_link(of_lock_provider *p, of_lock *h)
{
    h->live_prev = NULL;
    h->live_next = p->live_head;
    if (p->live_head)
        p->live_head->live_prev = h;
    p->live_head = h;
}

/* Under p->fl_lock. */
static void live_unlink(of_lock_provider *p, of_lock *h)
{
    if (h->live_prev)
        h->live_prev->live_next = h->live_next;
    else
        p->live_head = h->live_next;
    if (h->live_next)
        h->live_next->live_prev = h->live_prev;
    h->live_prev = h->live_next = NULL;
}

static of_lock *handle_get(of_lock_provider *p, const void *name, size_t name_len)
{
    spin_lock(&p->fl_lock);
    of_lock *h = p->fl_head;
    if (h) {
        p->fl_head = h->free_next;
        p->fl_count--;
        live_link(p, h);
    }
    spin_unlock(&p->fl_lock);
    if (!h) {
        h = malloc(sizeof *h);
        if (!h)
            return NULL;
        h->heap = NULL;
        h->heap_cap = 0;
        spin_lock(&p->fl_lock);
        live_link(p, h);
        spin_unlock(&p->fl_lock);
    }
    if (name_len <= NAME_INLINE) {
        h->name = h->name_inline;
    } else {
        if (h->heap_cap < name_len + 1) {
            char *nb = malloc(OF_NAME_MAX + 1);
            if (!nb) {
                spin_lock(&p->fl_lock);
                live_unlink(p, h);
                spin_unlock(&p->fl_lock);
                free(h->heap);
                free(h);
                return NULL;
            }
            free(h->heap);
            h->heap = nb;
            h->heap_cap = OF_NAME_MAX + 1;
        }
        h->name = h->heap;
    }
    memcpy(h->name, name, name_len);
    h->name[name_len] = '\0';
    h->name_len = name_len;
    h->p = p;
    h->fence = 0;
    atomic_store_explicit(&h->lost, 0, memory_order_relaxed);
    h->flags = 0;
    h->on_lost = NULL;
    h->on_lost_ctx = NULL;
    h->rn_prev = h->rn_next = NULL;
    h->registered = 0;
    h->busy = 0;
    h->want = 0;
    h->notified = 0;
    h->next_renew_ns = 0;
    return h;
}

static void handle_put(of_lock_provider *p, of_lock *h)
{
    spin_lock(&p->fl_lock);
    live_unlink(p, h);
    if (p->fl_count < HANDLE_FREE_MAX) {
        h->free_next = p->fl_head;
        p->fl_head = h;
        p->fl_count++;
        h = NULL;
    }
    spin_unlock(&p->fl_lock);
    if (h) {
        free(h->heap);
        free(h);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* engine thread                                                                               */

static void *engine_main(void *arg);

/* Under p->mu. */
static int ensure_thread(of_lock_provider *p)
{
    if (p->thread_started)
        return OF_OK;
    if (pthread_create(&p->thread, NULL, engine_main, p) != 0)
        return ofi_fail(OF_ERR_NOMEM, "cannot start the lock engine thread");
    p->thread_started = 1;
    return OF_OK;
}

/* Queue a cleanup release of (name, token) until @p until_ns; @p why says in the log line what
 * happened to the lease. Called without p->mu. */
static void queue_cleanup(of_lock_provider *p, const void *name, size_t name_len,
                          const of_lock_token *token, int64_t until_ns, const char *why)
{
    char nm[72];
    name_for_log(name, name_len, nm);
    cleanup_item *it = malloc(sizeof *it + name_len + 1);
    STAT_ADD(p, cleanups_queued, 1);
    if (!it) {
        STAT_ADD(p, cleanups_dropped, 1);
        logf_(p, OF_LOCK_LOG_ERROR, "lock '%s': out of memory queueing the cleanup of an unknown outcome", nm);
        return;
    }
    it->token = *token;
    it->until_ns = until_ns;
    it->next_ns = 0;
    it->attempt = 0;
    it->name_len = name_len;
    memcpy(it->name, name, name_len);
    it->name[name_len] = '\0';
    pthread_mutex_lock(&p->mu);
    it->next = p->cq_head;
    p->cq_head = it;
    p->cq_count++;
    int rc = ensure_thread(p);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    logf_(p, OF_LOCK_LOG_WARN, "lock '%s': %s; cleanup queued%s", nm, why,
          rc == OF_OK ? "" : " (no engine thread: provider destroy will make the attempt)");
}

static int64_t cleanup_delay_ns(cleanup_item *it)
{
    uint32_t shift = it->attempt < 16 ? it->attempt : 16;
    int64_t ceil_ms = (int64_t)CLEANUP_BASE_MS << shift;
    if (ceil_ms > CLEANUP_CAP_MS)
        ceil_ms = CLEANUP_CAP_MS;
    int64_t ceil_ns = ceil_ms * OFI_NS_PER_MS;
    uint64_t s = token_seed(&it->token) + it->attempt;
    /* Jitter in [ceil/2, ceil]: cleanups must keep trying, so never a near-zero spin. */
    return ceil_ns / 2 + (int64_t)(splitmix64(&s) % (uint64_t)(ceil_ns / 2 + 1));
}

/* Under p->mu: unlink a handle from the renewal list. */
static void rn_unlink(of_lock_provider *p, of_lock *h)
{
    if (!h->registered)
        return;
    if (h->rn_prev)
        h->rn_prev->rn_next = h->rn_next;
    else
        p->rn_first = h->rn_next;
    if (h->rn_next)
        h->rn_next->rn_prev = h->rn_prev;
    h->rn_prev = h->rn_next = NULL;
    h->registered = 0;
}

/* Under p->mu (dropped and retaken around the callback). After this returns, @p h may have been
 * released by the callback: the caller must not touch it. */
static void lose_locked(of_lock_provider *p, of_lock *h, int status)
{
    atomic_store_explicit(&h->lost, 1, memory_order_release);
    STAT_ADD(p, lost, 1);
    rn_unlink(p, h);
    char nm[72];
    name_for_log(h->name, h->name_len, nm);
    if (h->notified || !h->on_lost) {
        h->notified = 1;
        pthread_mutex_unlock(&p->mu);
        logf_(p, OF_LOCK_LOG_WARN, "lock '%s' lost (%s)", nm, of_status_name(status));
        pthread_mutex_lock(&p->mu);
        return;
    }
    h->notified = 1;
    of_lock_lost_fn fn = h->on_lost;
    void *ctx = h->on_lost_ctx;
    p->cb_handle = h;
    pthread_mutex_unlock(&p->mu);
    logf_(p, OF_LOCK_LOG_WARN, "lock '%s' lost (%s)", nm, of_status_name(status));
    fn(h, status, ctx);
    pthread_mutex_lock(&p->mu);
    p->cb_handle = NULL;
    pthread_cond_broadcast(&p->idle_cv);
}

static int is_engine_thread(of_lock_provider *p)
{
    return p->thread_started && pthread_equal(pthread_self(), p->thread);
}

static void renew_one_locked(of_lock_provider *p, of_lock *h, int64_t now)
{
    h->busy = 1;
    uint32_t ttl = h->ttl_ms;
    int64_t old_vu = atomic_load_explicit(&h->valid_until, memory_order_relaxed);
    pthread_mutex_unlock(&p->mu);

    int64_t t_send = ofi_now_coarse_ns();
    int64_t vu = t_send + (int64_t)ttl * OFI_NS_PER_MS;
    int64_t step = (int64_t)atomic_load_explicit(&p->step_timeout_ms, memory_order_relaxed) * OFI_NS_PER_MS;
    /* A renewal that lands after the lease ended is worthless: bound it by valid_until. */
    int64_t deadline = min64(now + step, old_vu);
    int rc = p->ops.extend(p->self, h->name, h->name_len, &h->token, ttl, deadline, &vu);
    int64_t after = ofi_now_ns();
    int64_t cap = t_send + (int64_t)ttl * OFI_NS_PER_MS;
    if (rc == OF_OK && after >= min64(vu, cap)) {
        /* The answer came after the lease it granted had ended by our clock: not a renewal. The
         * backend may still count it from when the request arrived, so clean it up. */
        rc = OF_ERR_UNKNOWN;
        STAT_ADD(p, errors, 1);
        queue_cleanup(p, h->name, h->name_len, &h->token, add_sat(after, (int64_t)ttl * OFI_NS_PER_MS),
                      "renewal answered after the renewed lease had ended");
    } else if (rc == OF_ERR_UNKNOWN) {
        /* Still marked busy, so no release can free the handle meanwhile. */
        STAT_ADD(p, errors, 1);
        queue_cleanup(p, h->name, h->name_len, &h->token, add_sat(after, (int64_t)ttl * OFI_NS_PER_MS),
                      "renewal sent, no reply: outcome unknown");
    }

    pthread_mutex_lock(&p->mu);
    h->busy = 0;
    pthread_cond_broadcast(&p->idle_cv);
    if (rc == OF_OK) {
        atomic_store_explicit(&h->valid_until, min64(vu, cap), memory_order_release);
        h->next_renew_ns = t_send + (int64_t)ttl * OFI_NS_PER_MS / 3;
        STAT_ADD(p, extended, 1);
        return;
    }
    if (rc == OF_ERR_NOT_OWNER || rc == OF_ERR_UNKNOWN) {
        lose_locked(p, h, rc);
        return;
    }
    /* Transient (nothing sent, or a backend error): try again soon; the lease's end decides. */
    STAT_ADD(p, errors, 1);
    int64_t retry = (int64_t)ttl * OFI_NS_PER_MS / 10;
    if (retry > OFI_NS_PER_SEC)
        retry = OFI_NS_PER_SEC;
    if (retry < OFI_NS_PER_MS)
        retry = OFI_NS_PER_MS;
    h->next_renew_ns = after + retry;
    char nm[72];
    name_for_log(h->name, h->name_len, nm);
    pthread_mutex_unlock(&p->mu);
    logf_(p, OF_LOCK_LOG_WARN, "lock '%s': renewal failed (%s), retrying", nm, of_status_name(rc));
    pthread_mutex_lock(&p->mu);
}

static void cleanup_one_locked(of_lock_provider *p, cleanup_item *it, int64_t now)
{
    /* Detach while the release runs so destroy never frees it under us. */
    cleanup_item **pp = &p->cq_head;
    while (*pp != it)
        pp = &(*pp)->next;
    *pp = it->next;
    p->cq_count--;
    p->cq_inflight++;
    pthread_mutex_unlock(&p->mu);

    int64_t step = (int64_t)atomic_load_explicit(&p->step_timeout_ms, memory_order_relaxed) * OFI_NS_PER_MS;
    int rc = p->ops.release(p->self, it->name, it->name_len, &it->token, now + step);
    int64_t after = ofi_now_ns();
    char nm[72];
    name_for_log(it->name, it->name_len, nm);
    if (rc == OF_OK) {
        STAT_ADD(p, cleanups_done, 1);
        logf_(p, OF_LOCK_LOG_INFO, "lock '%s': cleanup deleted a lease left by an unknown outcome", nm);
        free(it);
        pthread_mutex_lock(&p->mu);
        p->cq_inflight--;
        return;
    }
    if (now >= it->until_ns) {
        /* This attempt started after the lease would have run out: nothing can land anymore. */
        STAT_ADD(p, cleanups_dropped, 1);
        logf_(p, OF_LOCK_LOG_DEBUG, "lock '%s': cleanup finished, the lease has surely expired", nm);
        free(it);
        pthread_mutex_lock(&p->mu);
        p->cq_inflight--;
        return;
    }
    /* NOT_OWNER is not final: a stalled request may still land, so keep trying until its lease
     * would have run out. */
    it->attempt++;
    it->next_ns = min64(after + cleanup_delay_ns(it), it->until_ns);
    pthread_mutex_lock(&p->mu);
    p->cq_inflight--;
    it->next = p->cq_head;
    p->cq_head = it;
    p->cq_count++;
}

static void *engine_main(void *arg)
{
    of_lock_provider *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t now = ofi_now_ns();
        int64_t wake = INT64_MAX;
        int paused = atomic_load_explicit(&p->paused, memory_order_relaxed);
        of_lock *due = NULL;
        int expired = 0;
        for (of_lock *h = p->rn_first; h; h = h->rn_next) {
            /* A release or extend waiting for this handle goes first: never start another
             * renewal (however overdue) while one waits, or it could wait forever. */
            if (h->busy || h->want)
                continue;
            int64_t vu = atomic_load_explicit(&h->valid_until, memory_order_relaxed);
            if (atomic_load_explicit(&h->lost, memory_order_relaxed) || now >= vu) {
                due = h;
                expired = 1;
                break;
            }
            if (!paused && now >= h->next_renew_ns) {
                due = h;
                break;
            }
            wake = min64(wake, paused ? vu : min64(vu, h->next_renew_ns));
        }
        if (due) {
            if (expired) {
                if (atomic_load_explicit(&due->lost, memory_order_relaxed)) {
                    /* Marked lost by a user call: it only needs to leave the list. */
                    due->notified = 1;
                    rn_unlink(p, due);
                } else {
                    lose_locked(p, due, OF_ERR_LOST);
                }
            } else {
                renew_one_locked(p, due, now);
            }
            continue;
        }
        cleanup_item *cdue = NULL;
        for (cleanup_item *it = p->cq_head; it; it = it->next) {
            if (now >= it->next_ns) {
                cdue = it;
                break;
            }
            wake = min64(wake, it->next_ns);
        }
        if (cdue) {
            cleanup_one_locked(p, cdue, now);
            continue;
        }
        if (wake == INT64_MAX) {
            pthread_cond_wait(&p->cv, &p->mu);
        } else {
            struct timespec ts = ofi_timespec_from_ns(wake);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* provider lifecycle                                                                           */

OF_API int of_lock_provider_create(const of_lock_provider_ops *ops, void *self,
                                   of_lock_provider **out_provider)
{
    if (!ops || !out_provider)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_create: %s is NULL", ops ? "out_provider" : "ops");
    if (ops->abi_version == 0 || ops->abi_version > OF_LOCK_PROVIDER_ABI)
        return ofi_fail(OF_ERR_ABI, "provider ops abi_version %u (this library knows 1..%u)",
                        (unsigned)ops->abi_version, (unsigned)OF_LOCK_PROVIDER_ABI);
    if (ops->struct_size < OPS_V1_SIZE || ops->struct_size > sizeof(of_lock_provider_ops))
        return ofi_fail(OF_ERR_ABI, "provider ops struct_size %u (this library's is %zu)",
                        (unsigned)ops->struct_size, sizeof(of_lock_provider_ops));
    if (!ops->name || !ops->name[0])
        return ofi_fail(OF_ERR_INVALID, "provider ops: empty name");
    if (ops->caps & ~(uint32_t)OF_LOCK_CAP_ALL)
        return ofi_fail(OF_ERR_INVALID, "provider ops: unknown cap bits 0x%x",
                        (unsigned)(ops->caps & ~(uint32_t)OF_LOCK_CAP_ALL));
    if (ops->reserved0 != 0)
        return ofi_fail(OF_ERR_INVALID, "provider ops: reserved0 must be 0");
    if (!ops->try_acquire || !ops->release)
        return ofi_fail(OF_ERR_INVALID, "provider ops: try_acquire and release are required");
    if ((ops->caps & OF_LOCK_CAP_EXTEND) && !ops->extend)
        return ofi_fail(OF_ERR_INVALID, "provider ops: OF_LOCK_CAP_EXTEND without extend");
    if ((ops->caps & OF_LOCK_CAP_WAIT) && !ops->wait_release)
        return ofi_fail(OF_ERR_INVALID, "provider ops: OF_LOCK_CAP_WAIT without wait_release");

    of_lock_provider *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
    if (!p)
        return ofi_fail_plain(OF_ERR_NOMEM);
    memset(p, 0, sizeof *p);
    memcpy(&p->ops, ops, ops->struct_size);
    if (!(p->ops.caps & OF_LOCK_CAP_EXTEND))
        p->ops.extend = NULL;
    p->self = self;
    int rc = ofi_token_gen_init(&p->tokens);
    if (rc != OF_OK) {
        free(p);
        return rc;
    }
    atomic_init(&p->step_timeout_ms, 5000);
    atomic_init(&p->backoff_base_ms, 1);
    atomic_init(&p->backoff_cap_ms, 100);
    atomic_init(&p->log_level, OF_LOCK_LOG_WARN);
    atomic_flag_clear(&p->fl_lock);
    atomic_init(&p->paused, 0);

    atomic_init(&p->waiting, 0);

    /* Every mutex and condition variable, or none: undo what was made on the first failure. */
    pthread_condattr_t ca;
    int made = 0;
    int ok = pthread_condattr_init(&ca) == 0;
    if (ok) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        ok = pthread_mutex_init(&p->log_mu, NULL) == 0 && ++made &&
             pthread_mutex_init(&p->mu, NULL) == 0 && ++made &&
             pthread_cond_init(&p->cv, &ca) == 0 && ++made &&
             pthread_cond_init(&p->idle_cv, NULL) == 0 && ++made &&
             pthread_mutex_init(&p->wq_mu, NULL) == 0 && ++made &&
             pthread_cond_init(&p->wq_cv, &ca) == 0 && ++made;
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        if (made >= 5)
            pthread_mutex_destroy(&p->wq_mu);
        if (made >= 4)
            pthread_cond_destroy(&p->idle_cv);
        if (made >= 3)
            pthread_cond_destroy(&p->cv);
        if (made >= 2)
            pthread_mutex_destroy(&p->mu);
        if (made >= 1)
            pthread_mutex_destroy(&p->log_mu);
        free(p);
        return ofi_fail(OF_ERR_NOMEM, "cannot initialise provider synchronisation");
    }
    *out_provider = p;
    return OF_OK;
}

OF_API void of_lock_provider_destroy(of_lock_provider *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    int started = p->thread_started;
    pthread_mutex_unlock(&p->mu);
    if (started)
        pthread_join(p->thread, NULL);

    /* One bounded last attempt for everything together: the handles the caller never released
     * (their renewals have stopped with the thread) and the queued cleanups share one budget,
     * min(step timeout, DESTROY_ATTEMPT_MS) in total, however many there are. Each release gets
     * the remaining budget as its deadline; once it is spent the rest get no call. */
    int64_t budget_ms = (int64_t)atomic_load_explicit(&p->step_timeout_ms, memory_order_relaxed);
    if (budget_ms > DESTROY_ATTEMPT_MS)
        budget_ms = DESTROY_ATTEMPT_MS;
    const int64_t deadline = ofi_now_ns() + budget_ms * OFI_NS_PER_MS;

    size_t held = 0, renewed = 0, held_released = 0;
    of_lock *h = p->live_head;
    p->live_head = NULL;
    while (h) {
        of_lock *next = h->live_next;
        held++;
        if (h->registered)
            renewed++;
        if (ofi_now_ns() < deadline &&
            p->ops.release(p->self, h->name, h->name_len, &h->token, deadline) == OF_OK)
            held_released++;
        free(h->heap);
        free(h);
        h = next;
    }
    if (held)
        logf_(p, OF_LOCK_LOG_WARN,
              "provider '%s' destroyed with %zu lock(s) still held (%zu auto-renewed): renewals "
              "stopped; %zu released by the last attempt, the rest expire by their TTL; the "
              "handles are freed and must not be used", p->ops.name, held, renewed, held_released);

    size_t queued = 0, done = 0, skipped = 0;
    cleanup_item *it = p->cq_head;
    p->cq_head = NULL;
    while (it) {
        cleanup_item *next = it->next;
        queued++;
        int rc = OF_ERR_TIMEOUT;
        if (ofi_now_ns() < deadline)
            rc = p->ops.release(p->self, it->name, it->name_len, &it->token, deadline);
        else
            skipped++;
        if (rc == OF_OK) {
            done++;
            STAT_ADD(p, cleanups_done, 1);
        } else {
            STAT_ADD(p, cleanups_dropped, 1);
        }
        free(it);
        it = next;
    }
    if (skipped)
        logf_(p, OF_LOCK_LOG_WARN,
              "provider '%s' destroyed: %zu of %zu queued cleanup(s) got no last attempt (the "
              "%lld ms budget ran out); those leases expire by their TTL", p->ops.name, skipped,
              queued, (long long)budget_ms);
    else if (queued)
        logf_(p, OF_LOCK_LOG_INFO, "provider '%s' destroyed: last cleanup attempt deleted %zu of "
              "%zu lease(s) left by unknown outcomes", p->ops.name, done, queued);
    if (p->ops.destroy)
        p->ops.destroy(p->self);
    h = p->fl_head;
    while (h) {
        of_lock *next = h->free_next;
        free(h->heap);
        free(h);
        h = next;
    }
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->idle_cv);
    pthread_cond_destroy(&p->wq_cv);
    pthread_mutex_destroy(&p->wq_mu);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->log_mu);
    free(p);
}

void *ofi_lock_provider_self(const of_lock_provider *p)
{
    return p->self;
}

void ofi_lock_provider_pause_renewals(of_lock_provider *p, int paused)
{
    atomic_store(&p->paused, paused ? 1 : 0);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

size_t ofi_lock_provider_cleanup_pending(of_lock_provider *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->cq_count + p->cq_inflight;
    pthread_mutex_unlock(&p->mu);
    return n;
}

OF_API const char *of_lock_provider_name(const of_lock_provider *p)
{
    return p ? p->ops.name : NULL;
}

OF_API uint32_t of_lock_provider_caps(const of_lock_provider *p)
{
    return p ? p->ops.caps : 0;
}

OF_API void of_lock_provider_log(of_lock_provider *p, int level, const char *msg)
{
    if (!p || !msg)
        return;
    if (level > atomic_load_explicit(&p->log_level, memory_order_relaxed))
        return;
    pthread_mutex_lock(&p->log_mu);
    of_lock_log_fn fn = p->log;
    void *ctx = p->log_ctx;
    pthread_mutex_unlock(&p->log_mu);
    if (fn)
        fn(ctx, level, msg);
}

OF_API int of_lock_provider_config_init(of_lock_provider_config *cfg, size_t struct_size)
{
    if (!cfg)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_config_init: cfg is NULL");
    if (struct_size != CONFIG_V1_SIZE)
        return ofi_fail(OF_ERR_ABI, "of_lock_provider_config struct_size %zu (this library's is %zu)",
                        struct_size, sizeof(of_lock_provider_config));
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = (uint32_t)struct_size;
    cfg->step_timeout_ms = 5000;
    cfg->backoff_base_ms = 1;
    cfg->backoff_cap_ms = 100;
    cfg->log_level = OF_LOCK_LOG_WARN;
    return OF_OK;
}

OF_API int of_lock_provider_configure(of_lock_provider *p, const of_lock_provider_config *cfg)
{
    if (!p || !cfg)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_configure: %s is NULL", p ? "cfg" : "provider");
    if (cfg->struct_size != CONFIG_V1_SIZE)
        return ofi_fail(OF_ERR_ABI, "of_lock_provider_config struct_size %u (this library's is %zu)",
                        (unsigned)cfg->struct_size, sizeof(of_lock_provider_config));
    if (cfg->step_timeout_ms == 0)
        return ofi_fail(OF_ERR_INVALID, "step_timeout_ms must be > 0");
    if (cfg->backoff_base_ms == 0 || cfg->backoff_base_ms > cfg->backoff_cap_ms)
        return ofi_fail(OF_ERR_INVALID, "backoff_base_ms must be in 1..backoff_cap_ms");
    if (cfg->log_level < OF_LOCK_LOG_ERROR || cfg->log_level > OF_LOCK_LOG_DEBUG)
        return ofi_fail(OF_ERR_INVALID, "log_level %d outside 1..4", (int)cfg->log_level);
    if (cfg->reserved0 != 0)
        return ofi_fail(OF_ERR_INVALID, "reserved0 must be 0");
    atomic_store(&p->step_timeout_ms, cfg->step_timeout_ms);
    atomic_store(&p->backoff_base_ms, cfg->backoff_base_ms);
    atomic_store(&p->backoff_cap_ms, cfg->backoff_cap_ms);
    pthread_mutex_lock(&p->log_mu);
    p->log = cfg->log;
    p->log_ctx = cfg->log_ctx;
    pthread_mutex_unlock(&p->log_mu);
    atomic_store(&p->log_level, cfg->log ? (int)cfg->log_level : 0);
    return OF_OK;
}

OF_API int of_lock_provider_stats(const of_lock_provider *p, of_lock_stats *out)
{
    if (!p || !out)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_stats: %s is NULL", p ? "out_stats" : "provider");
    if (out->struct_size != STATS_V1_SIZE)
        return ofi_fail(OF_ERR_ABI, "of_lock_stats struct_size %u (this library's is %zu)",
                        (unsigned)out->struct_size, sizeof(of_lock_stats));
    stats_block *st = (stats_block *)&p->st;
#define RD(f) atomic_load_explicit(&st->f, memory_order_relaxed)
    out->reserved0 = 0;
    out->attempts = RD(acquired) + RD(busy) + RD(timeouts) + RD(acq_failed) + RD(retries);
    out->acquired = RD(acquired);
    out->busy = RD(busy);
    out->timeouts = RD(timeouts);
    out->lost = RD(lost);
    out->errors = RD(errors);
    out->wait_ns = RD(wait_ns);
    out->released = RD(released);
    out->extended = RD(extended);
    out->cleanups_queued = RD(cleanups_queued);
    out->cleanups_done = RD(cleanups_done);
    out->cleanups_dropped = RD(cleanups_dropped);
#undef RD
    return OF_OK;
}

OF_API size_t of_lock_provider_ops_size(void)
{
    return sizeof(of_lock_provider_ops);
}

OF_API size_t of_lock_options_size(void)
{
    return sizeof(of_lock_options);
}

OF_API size_t of_lock_stats_size(void)
{
    return sizeof(of_lock_stats);
}

OF_API size_t of_lock_provider_config_size(void)
{
    return sizeof(of_lock_provider_config);
}

OF_API uint32_t of_lock_ttl_max(void)
{
    return OF_LOCK_TTL_MAX;
}

OF_API void of_lock_token_to_hex(const of_lock_token *token, char *out)
{
    static const char digits[] = "0123456789abcdef";
    if (!out)
        return;
    if (!token) {
        out[0] = '\0';
        return;
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[token->bytes[i] >> 4];
        out[2 * i + 1] = digits[token->bytes[i] & 15];
    }
    out[OF_LOCK_TOKEN_HEX_LEN] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* locking                                                                                      */

OF_API int of_lock_options_init(of_lock_options *opts, size_t struct_size)
{
    if (!opts)
        return ofi_fail(OF_ERR_INVALID, "of_lock_options_init: opts is NULL");
    if (struct_size != OPTIONS_V1_SIZE)
        return ofi_fail(OF_ERR_ABI, "of_lock_options struct_size %zu (this library's is %zu)",
                        struct_size, sizeof(of_lock_options));
    memset(opts, 0, sizeof *opts);
    opts->struct_size = (uint32_t)struct_size;
    opts->ttl_ms = OF_LOCK_DEFAULT_TTL_MS;
    return OF_OK;
}

static const of_lock_options default_options = {
    sizeof(of_lock_options), OF_LOCK_DEFAULT_TTL_MS, 0, 0, 0, NULL, NULL,
};

static int check_options(const of_lock_options *o)
{
    if (o->struct_size != OPTIONS_V1_SIZE)
        return ofi_fail(OF_ERR_ABI, "of_lock_options struct_size %u (this library's is %zu)",
                        (unsigned)o->struct_size, sizeof(of_lock_options));
    if (o->ttl_ms == 0 || o->ttl_ms > OF_LOCK_TTL_MAX)
        return ofi_fail(OF_ERR_INVALID, "ttl_ms %u outside 1..%u", (unsigned)o->ttl_ms,
                        (unsigned)OF_LOCK_TTL_MAX);
    if (o->flags & ~(uint32_t)OF_LOCK_AUTO_RENEW)
        return ofi_fail(OF_ERR_INVALID, "unknown lock flags 0x%x", (unsigned)o->flags);
    if (o->reserved0 != 0)
        return ofi_fail(OF_ERR_INVALID, "of_lock_options.reserved0 must be 0");
    if (o->on_lost && !(o->flags & OF_LOCK_AUTO_RENEW))
        return ofi_fail(OF_ERR_INVALID, "on_lost is set without OF_LOCK_AUTO_RENEW: only a "
                        "renewed lock is watched, so the callback could never run");
    return OF_OK;
}

/* Sleep before the next attempt: the provider's hint, else full-jitter exponential backoff. */
static void backoff_sleep(of_lock_provider *p, uint64_t *rng, unsigned attempt, uint32_t hint_ms,
                          int64_t deadline)
{
    int64_t now = ofi_now_ns();
    uint32_t base = atomic_load_explicit(&p->backoff_base_ms, memory_order_relaxed);
    uint32_t cap = atomic_load_explicit(&p->backoff_cap_ms, memory_order_relaxed);
    unsigned shift = attempt < 31 ? attempt : 31;
    uint64_t ceil_ms = (uint64_t)base << shift;
    if (ceil_ms > cap)
        ceil_ms = cap;
    /* The provider's hint (e.g. the holder's remaining lease) caps the backoff: waking later
     * than the lease's end would only waste time, but the holder may release much earlier, so
     * the hint never lengthens the jittered wait. */
    if (hint_ms && hint_ms < ceil_ms)
        ceil_ms = hint_ms;
    uint64_t ceil_ns = ceil_ms * (uint64_t)OFI_NS_PER_MS;
    int64_t delay = (int64_t)(splitmix64(rng) % (ceil_ns + 1));
    int64_t until = min64(add_sat(now, delay), deadline);
    if (until > now)
        ofi_sleep_until_ns(until);
}

/* ---- wait queues (fairness between the waiters of one provider) ---- */

/* Queue @p me on @p name. With @p only_existing, join only a queue that already has waiters
 * (a new acquire defers to them); otherwise make one. Returns 1 if queued, 0 if not (nobody
 * waiting, or no memory: then the acquire simply competes as before). */
static int wq_join(of_lock_provider *p, const void *name, size_t name_len, waiter *me,
                   int only_existing)
{
    pthread_mutex_lock(&p->wq_mu);
    wait_queue *q = p->wq_first;
    while (q && !(q->name_len == name_len && memcmp(q->name, name, name_len) == 0))
        q = q->next;
    if (!q) {
        if (only_existing) {
            pthread_mutex_unlock(&p->wq_mu);
            return 0;
        }
        q = malloc(sizeof *q + name_len);
        if (!q) {
            pthread_mutex_unlock(&p->wq_mu);
            return 0;
        }
        q->head = q->tail = NULL;
        q->name_len = name_len;
        memcpy(q->name, name, name_len);
        q->next = p->wq_first;
        p->wq_first = q;
    }
    me->next = NULL;
    me->q = q;
    if (q->tail)
        q->tail->next = me;
    else
        q->head = me;
    q->tail = me;
    atomic_fetch_add_explicit(&p->waiting, 1, memory_order_relaxed);
    pthread_mutex_unlock(&p->wq_mu);
    return 1;
}

static void wq_leave(of_lock_provider *p, waiter *me)
{
    pthread_mutex_lock(&p->wq_mu);
    wait_queue *q = me->q;
    int was_head = q->head == me;
    waiter **pp = &q->head;
    waiter *prev = NULL;
    while (*pp != me) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = me->next;
    if (q->tail == me)
        q->tail = prev;
    if (!q->head) {
        wait_queue **qq = &p->wq_first;
        while (*qq != q)
            qq = &(*qq)->next;
        *qq = q->next;
        free(q);
    }
    atomic_fetch_sub_explicit(&p->waiting, 1, memory_order_relaxed);
    if (was_head)
        pthread_cond_broadcast(&p->wq_cv);
    pthread_mutex_unlock(&p->wq_mu);
}

/* Sleep until @p me heads its queue (1) or @p deadline passes (0). */
static int wq_wait_head(of_lock_provider *p, waiter *me, int64_t deadline)
{
    pthread_mutex_lock(&p->wq_mu);
    int head;
    while (!(head = me->q->head == me)) {
        if (deadline == INT64_MAX) {
            pthread_cond_wait(&p->wq_cv, &p->wq_mu);
            continue;
        }
        if (ofi_now_ns() >= deadline)
            break;
        struct timespec ts = ofi_timespec_from_ns(deadline);
        pthread_cond_timedwait(&p->wq_cv, &p->wq_mu, &ts);
    }
    pthread_mutex_unlock(&p->wq_mu);
    return head;
}

/* Hand back a lease we will not keep (bad fence, a grant that came too late, no engine thread
 * for auto-renew): release it now, and queue a cleanup if the answer leaves it possibly held.
 * Returns the release status. */
static int give_back(of_lock_provider *p, of_lock *h, int64_t step, const char *why)
{
    int rr = p->ops.release(p->self, h->name, h->name_len, &h->token, ofi_now_ns() + step);
    if (rr != OF_OK && rr != OF_ERR_NOT_OWNER)
        queue_cleanup(p, h->name, h->name_len, &h->token,
                      add_sat(ofi_now_ns(), (int64_t)h->ttl_ms * OFI_NS_PER_MS), why);
    return rr;
}

/* The detail of a BUSY answer: the holder's remaining lease when the provider's hint gives it. */
static int fail_busy(uint32_t hint_ms)
{
    if (hint_ms)
        return ofi_fail(OF_ERR_BUSY, "held by another owner; its lease ends within %u ms "
                        "(provider's retry-after hint)", (unsigned)hint_ms);
    return ofi_fail(OF_ERR_BUSY, "held by another owner");
}

OF_API int of_lock_acquire(of_lock_provider *p, const void *name, size_t name_len,
                           const of_lock_options *opts, of_lock **out_lock)
{
    if (!p || !name || !out_lock)
        return ofi_fail(OF_ERR_INVALID, "of_lock_acquire: %s is NULL",
                        !p ? "provider" : !name ? "name" : "out_lock");
    if (name_len == 0 || name_len > OF_NAME_MAX)
        return ofi_fail(OF_ERR_INVALID, "lock name length %zu outside 1..%d", name_len, OF_NAME_MAX);
    if (!opts)
        opts = &default_options;
    int rc = check_options(opts);
    if (rc != OF_OK)
        return rc;
    if ((opts->flags & OF_LOCK_AUTO_RENEW) && !p->ops.extend)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "provider '%s' cannot extend, so cannot auto-renew",
                        p->ops.name);

    of_lock *h = handle_get(p, name, name_len);
    if (!h)
        return ofi_fail_plain(OF_ERR_NOMEM);
    token_from_internal(ofi_token_next(&p->tokens), &h->token);
    h->ttl_ms = opts->ttl_ms;
    h->flags = opts->flags;
    h->on_lost = opts->on_lost;
    h->on_lost_ctx = opts->on_lost_ctx;

    const int64_t ttl_ns = (int64_t)opts->ttl_ms * OFI_NS_PER_MS;
    const int caps = (int)p->ops.caps;
    const int waits = opts->wait_ms != 0;
    int64_t start = 0, deadline = 0;
    if (waits) {
        /* The fine clock here: the caller's "never before the deadline" is measured on it. */
        start = ofi_now_ns();
        deadline = ofi_deadline_after_ms(start, opts->wait_ms);
    }
    uint64_t rng = token_seed(&h->token);
    unsigned attempt = 0; /* backoff exponent */
    unsigned wakes = 0;
    unsigned tries = 0;
    int reached = 0;   /* some attempt got an answer from the backend (not UNAVAILABLE) */
    uint32_t hint = 0; /* the last attempt's retry-after hint */
    char cause[256];   /* the last failed attempt's detail */
    cause[0] = '\0';
    waiter me;
    /* Others of this provider already wait for the name: queue behind them, don't overtake. */
    int queued = waits && atomic_load_explicit(&p->waiting, memory_order_relaxed) > 0 &&
                 wq_join(p, name, name_len, &me, 1);
    int out;
    for (;;) {
        if (queued)
            wq_wait_head(p, &me, deadline); /* at the deadline: one last attempt anyway */
        /* The coarse clock is never later than the real send time, so valid_until stays
         * conservative. */
        int64_t t_send = ofi_now_coarse_ns();
        int64_t step = (int64_t)atomic_load_explicit(&p->step_timeout_ms, memory_order_relaxed) * OFI_NS_PER_MS;
        uint64_t fence = 0;
        int64_t vu = t_send + ttl_ns;
        hint = 0;
        if (tries++) {
            STAT_ADD(p, retries, 1);
            ofi_fail_plain(OF_OK); /* a provider that sets no detail must not inherit ours */
        }
        rc = p->ops.try_acquire(p->self, h->name, h->name_len, &h->token, opts->ttl_ms,
                                t_send + step, &fence, &vu, &hint);
        if (rc == OF_OK) {
            if ((caps & OF_LOCK_CAP_FENCE) && (fence == 0 || fence > OF_LOCK_FENCE_MAX)) {
                give_back(p, h, step, "a grant with a bad fence could not be handed back");
                handle_put(p, h);
                STAT_ADD(p, errors, 1);
                STAT_ADD(p, acq_failed, 1);
                out = ofi_fail(OF_ERR_PROTOCOL, "provider '%s' reported fence %llu outside 1..2^53-1",
                               p->ops.name, (unsigned long long)fence);
                goto done;
            }
            vu = min64(vu, t_send + ttl_ns);
            /* A grant that arrives after its own lease ended (a slow reply) holds nothing: the
             * fine clock is read only when the coarse one says the end is near. */
            int64_t now = ofi_now_coarse_ns();
            if (vu - now <= LATE_CHECK_NS && (now = ofi_now_ns()) >= vu) {
                long long late_ms = (long long)((now - vu) / OFI_NS_PER_MS);
                int rr = give_back(p, h, step, "a grant that came after its lease ended was not released");
                handle_put(p, h);
                STAT_ADD(p, errors, 1);
                STAT_ADD(p, acq_failed, 1);
                if (start)
                    STAT_ADD(p, wait_ns, ofi_now_ns() - start);
                out = ofi_fail(OF_ERR_UNKNOWN,
                               "provider '%s': the grant arrived %lld ms after its lease ended "
                               "(ttl %u ms): not held; %s", p->ops.name, late_ms,
                               (unsigned)opts->ttl_ms,
                               rr == OF_OK ? "released" : rr == OF_ERR_NOT_OWNER
                                   ? "it had already expired" : "cleanup queued");
                goto done;
            }
            h->fence = fence;
            atomic_store_explicit(&h->valid_until, vu, memory_order_relaxed);
            if (h->flags & OF_LOCK_AUTO_RENEW) {
                pthread_mutex_lock(&p->mu);
                rc = ensure_thread(p);
                if (rc == OF_OK) {
                    h->next_renew_ns = t_send + ttl_ns / 3;
                    h->rn_prev = NULL;
                    h->rn_next = p->rn_first;
                    if (p->rn_first)
                        p->rn_first->rn_prev = h;
                    p->rn_first = h;
                    h->registered = 1;
                    pthread_cond_signal(&p->cv);
                }
                pthread_mutex_unlock(&p->mu);
                if (rc != OF_OK) {
                    give_back(p, h, step, "a grant that could not be auto-renewed was not released");
                    handle_put(p, h);
                    STAT_ADD(p, errors, 1);
                    STAT_ADD(p, acq_failed, 1);
                    out = ofi_fail(rc, "cannot start the lock engine thread for auto-renew");
                    goto done;
                }
            }
            if (start)
                STAT_ADD(p, wait_ns, ofi_now_ns() - start);
            STAT_ADD(p, acquired, 1);
            *out_lock = h;
            out = OF_OK;
            goto done;
        }
        if (rc == OF_ERR_UNKNOWN) {
            int64_t after = ofi_now_ns();
            queue_cleanup(p, h->name, h->name_len, &h->token, add_sat(after, ttl_ns),
                          "acquire sent, no reply: outcome unknown");
            if (start)
                STAT_ADD(p, wait_ns, after - start);
            handle_put(p, h);
            STAT_ADD(p, errors, 1);
            STAT_ADD(p, acq_failed, 1);
            out = ofi_fail(OF_ERR_UNKNOWN, "provider '%s': acquire sent, no reply; cleanup queued",
                           p->ops.name);
            goto done;
        }
        if (rc != OF_ERR_BUSY && rc != OF_ERR_UNAVAILABLE) {
            handle_put(p, h);
            STAT_ADD(p, errors, 1);
            STAT_ADD(p, acq_failed, 1);
            if (start)
                STAT_ADD(p, wait_ns, ofi_now_ns() - start);
            out = rc; /* the provider set the detail */
            goto done;
        }
        if (!waits) {
            handle_put(p, h);
            if (rc == OF_ERR_BUSY) {
                STAT_ADD(p, busy, 1);
                return fail_busy(hint);
            }
            STAT_ADD(p, errors, 1);
            STAT_ADD(p, acq_failed, 1);
            return rc; /* the provider set the detail */
        }
        if (rc == OF_ERR_BUSY)
            reached = 1;
        snprintf(cause, sizeof cause, "%s", ofi_error_detail());
        int64_t now = ofi_now_ns();
        if (now >= deadline) {
            handle_put(p, h);
            STAT_ADD(p, wait_ns, now - start);
            if (!reached) {
                /* Not one attempt reached the backend: "the backend is down", not "held". */
                STAT_ADD(p, errors, 1);
                STAT_ADD(p, acq_failed, 1);
                out = ofi_fail(OF_ERR_UNAVAILABLE,
                               "backend unavailable for the whole %lld ms wait (%u attempts); last: %s",
                               (long long)opts->wait_ms, tries, cause[0] ? cause : "no detail");
                goto done;
            }
            STAT_ADD(p, timeouts, 1);
            if (rc == OF_ERR_BUSY && hint)
                out = ofi_fail(OF_ERR_TIMEOUT, "lock still held after %lld ms (%u attempts); its "
                               "lease ends within %u ms", (long long)opts->wait_ms, tries,
                               (unsigned)hint);
            else if (rc == OF_ERR_BUSY)
                out = ofi_fail(OF_ERR_TIMEOUT, "lock still held after %lld ms (%u attempts)%s%s",
                               (long long)opts->wait_ms, tries, cause[0] ? "; last: " : "", cause);
            else
                out = ofi_fail(OF_ERR_TIMEOUT, "lock held, then the backend unavailable, after "
                               "%lld ms (%u attempts); last: %s", (long long)opts->wait_ms, tries,
                               cause[0] ? cause : "no detail");
            goto done;
        }
        if (!queued && rc == OF_ERR_BUSY)
            queued = wq_join(p, name, name_len, &me, 0);
        if (rc == OF_ERR_BUSY && p->ops.wait_release && !hint) {
            int wr = p->ops.wait_release(p->self, h->name, h->name_len, deadline);
            /* A wake-up means "try now"; but a run of them that keeps meeting BUSY (contention,
             * or a provider that wakes too eagerly) falls back to backoff so it cannot spin. */
            if ((wr == OF_OK || wr == OF_ERR_TIMEOUT) && ++wakes % 8 != 0)
                continue;
        }
        backoff_sleep(p, &rng, attempt, hint, deadline);
        if (attempt < 64)
            attempt++;
    }
done:
    if (queued)
        wq_leave(p, &me);
    return out;
}

/* Wait until no renewal or loss callback is using @p h (unless we are that callback), then take
 * it off the renewal list. Returns with p->mu held. */
static void quiesce_locked(of_lock_provider *p, of_lock *h)
{
    pthread_mutex_lock(&p->mu);
    int self_cb = is_engine_thread(p);
    h->want++;
    while (h->busy || (p->cb_handle == h && !self_cb))
        pthread_cond_wait(&p->idle_cv, &p->mu);
    h->want--;
}

OF_API int of_lock_release(of_lock *h)
{
    if (!h)
        return ofi_fail(OF_ERR_INVALID, "of_lock_release: lock is NULL");
    of_lock_provider *p = h->p;
    if (h->flags & OF_LOCK_AUTO_RENEW) {
        quiesce_locked(p, h);
        rn_unlink(p, h);
        pthread_mutex_unlock(&p->mu);
    }
    int was_lost = atomic_load_explicit(&h->lost, memory_order_acquire);
    int64_t step = (int64_t)atomic_load_explicit(&p->step_timeout_ms, memory_order_relaxed) * OFI_NS_PER_MS;
    int64_t t = ofi_now_coarse_ns();
    int rc = p->ops.release(p->self, h->name, h->name_len, &h->token, t + step);
    if (rc != OF_OK && rc != OF_ERR_NOT_OWNER) {
        /* Only OK (deleted) and NOT_OWNER (not ours) are final. Any other answer leaves the lease
         * possibly in place: UNKNOWN (sent, no reply), UNAVAILABLE or AUTH (refused before it
         * ran), PROTOCOL (an answer we cannot read), NOMEM... Keep trying to delete it until it
         * surely ran out; the release compares the token, so this never hurts a new owner. */
        int64_t after = ofi_now_ns();
        char why[128];
        if (rc == OF_ERR_UNKNOWN)
            snprintf(why, sizeof why, "release sent, no reply: outcome unknown");
        else if (rc == OF_ERR_UNAVAILABLE)
            snprintf(why, sizeof why, "release not sent (backend unavailable): the lease stays "
                     "until its TTL ends unless the cleanup deletes it first");
        else
            snprintf(why, sizeof why, "release failed (%s): the lease may still be held",
                     of_status_name(rc));
        const char *detail = ofi_error_detail();
        char keep[256];
        snprintf(keep, sizeof keep, "%s", detail); /* queue_cleanup must not lose the cause */
        queue_cleanup(p, h->name, h->name_len, &h->token,
                      add_sat(after, (int64_t)h->ttl_ms * OFI_NS_PER_MS), why);
        if (keep[0])
            ofi_fail(rc, "%s; cleanup queued", keep);
        else
            ofi_fail(rc, "%s; cleanup queued", why);
    }
    int out;
    if (was_lost) {
        out = ofi_fail(OF_ERR_LOST, "release of a lock already marked lost");
    } else if (rc == OF_OK) {
        STAT_ADD(p, released, 1);
        out = OF_OK;
    } else if (rc == OF_ERR_NOT_OWNER) {
        STAT_ADD(p, lost, 1);
        out = ofi_fail(OF_ERR_NOT_OWNER, "release: our token no longer holds the lock");
    } else {
        STAT_ADD(p, errors, 1);
        out = rc;
    }
    handle_put(p, h);
    return out;
}

OF_API int of_lock_extend(of_lock *h, uint32_t ttl_ms)
{
    if (!h)
        return ofi_fail(OF_ERR_INVALID, "of_lock_extend: lock is NULL");
    if (ttl_ms == 0 || ttl_ms > OF_LOCK_TTL_MAX)
        return ofi_fail(OF_ERR_INVALID, "ttl_ms %u outside 1..%u", (unsigned)ttl_ms,
                        (unsigned)OF_LOCK_TTL_MAX);
    of_lock_provider *p = h->p;
    if (!p->ops.extend)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "provider '%s' cannot extend", p->ops.name);
    const int renewed = (h->flags & OF_LOCK_AUTO_RENEW) != 0;
    if (renewed) {
        quiesce_locked(p, h);
        h->busy = 1;
        pthread_mutex_unlock(&p->mu);
    }
    int rc;
    if (atomic_load_explicit(&h->lost, memory_order_acquire)) {
        rc = ofi_fail(OF_ERR_LOST, "extend of a lock already marked lost");
        goto out;
    }
    int64_t now = ofi_now_ns();
    if (now >= atomic_load_explicit(&h->valid_until, memory_order_relaxed)) {
        /* The lease has run out by our own conservative clock: don't ask the backend. */
        atomic_store_explicit(&h->lost, 1, memory_order_release);
        STAT_ADD(p, lost, 1);
        rc = ofi_fail(OF_ERR_NOT_OWNER, "extend after valid_until: the lease has expired");
        goto out;
    }
    int64_t t_send = ofi_now_coarse_ns();
    int64_t ttl_ns = (int64_t)ttl_ms * OFI_NS_PER_MS;
    int64_t vu = t_send + ttl_ns;
    int64_t step = (int64_t)atomic_load_explicit(&p->step_timeout_ms, memory_order_relaxed) * OFI_NS_PER_MS;
    rc = p->ops.extend(p->self, h->name, h->name_len, &h->token, ttl_ms, now + step, &vu);
    int64_t after = ofi_now_ns();
    if (rc == OF_OK && after >= min64(vu, t_send + ttl_ns)) {
        /* The answer came after the lease it set had ended by our clock: not an extension. */
        atomic_store_explicit(&h->lost, 1, memory_order_release);
        STAT_ADD(p, lost, 1);
        STAT_ADD(p, errors, 1);
        queue_cleanup(p, h->name, h->name_len, &h->token, add_sat(after, ttl_ns),
                      "extend answered after the extended lease had ended");
        rc = ofi_fail(OF_ERR_UNKNOWN, "the extend answer arrived %lld ms after the extended lease "
                      "ended (ttl %u ms): lock given up, cleanup queued",
                      (long long)((after - min64(vu, t_send + ttl_ns)) / OFI_NS_PER_MS),
                      (unsigned)ttl_ms);
    } else if (rc == OF_OK) {
        atomic_store_explicit(&h->valid_until, min64(vu, t_send + ttl_ns), memory_order_release);
        h->ttl_ms = ttl_ms;
        if (renewed)
            h->next_renew_ns = t_send + ttl_ns / 3; /* published under p->mu below */
        STAT_ADD(p, extended, 1);
    } else if (rc == OF_ERR_NOT_OWNER) {
        atomic_store_explicit(&h->lost, 1, memory_order_release);
        STAT_ADD(p, lost, 1);
        rc = ofi_fail(OF_ERR_NOT_OWNER, "extend: our token no longer holds the lock");
    } else if (rc == OF_ERR_UNKNOWN) {
        /* Extended or not, nobody knows: give the lease up and clean it up. */
        atomic_store_explicit(&h->lost, 1, memory_order_release);
        STAT_ADD(p, lost, 1);
        STAT_ADD(p, errors, 1);
        queue_cleanup(p, h->name, h->name_len, &h->token, add_sat(after, ttl_ns),
                      "extend sent, no reply: outcome unknown, lock given up");
        rc = ofi_fail(OF_ERR_UNKNOWN, "extend sent, no reply: lock given up, cleanup queued");
    } else {
        STAT_ADD(p, errors, 1);
    }
out:
    if (renewed) {
        pthread_mutex_lock(&p->mu);
        h->busy = 0;
        if (atomic_load_explicit(&h->lost, memory_order_relaxed))
            h->notified = 1; /* the caller learnt it from us: no callback */
        pthread_cond_broadcast(&p->idle_cv);
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}

OF_API int of_lock_fence(const of_lock *h, uint64_t *out_fence)
{
    if (!h || !out_fence)
        return ofi_fail(OF_ERR_INVALID, "of_lock_fence: %s is NULL", h ? "out_fence" : "lock");
    if (!(h->p->ops.caps & OF_LOCK_CAP_FENCE))
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "provider '%s' has no fencing tokens", h->p->ops.name);
    *out_fence = h->fence;
    return OF_OK;
}

OF_API int64_t of_lock_valid_until_ns(const of_lock *h)
{
    return h ? atomic_load_explicit(&((of_lock *)h)->valid_until, memory_order_acquire) : 0;
}

OF_API int of_lock_is_lost(const of_lock *h)
{
    return h ? atomic_load_explicit(&((of_lock *)h)->lost, memory_order_acquire) : 1;
}

OF_API const void *of_lock_name(const of_lock *h, size_t *out_len)
{
    if (!h)
        return NULL;
    if (out_len)
        *out_len = h->name_len;
    return h->name;
}

OF_API int of_lock_token_get(const of_lock *h, of_lock_token *out_token)
{
    if (!h || !out_token)
        return ofi_fail(OF_ERR_INVALID, "of_lock_token_get: %s is NULL", h ? "out_token" : "lock");
    *out_token = h->token;
    return OF_OK;
}
