/* of_lock_acquire and what it needs: the options, the wait between attempts (the provider's
 * wait-for-release, or capped exponential backoff with full jitter), and the per-name FIFO queues
 * that keep the waiters of one provider in arrival order.
 *
 * Hot path (uncontended acquire + release) budget: a handful of nanoseconds beyond the provider's
 * own work, so it takes no engine mutex, reads only the coarse clock (a conservative send time),
 * recycles handles through the pool, and counts stats with relaxed atomics. Everything that may
 * block or allocate (renewals, cleanups, logging) happens off that path. */
#include "lock/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/backoff.h"

/* A grant whose lease ends within this of the coarse clock's "now" is checked against the fine
 * clock (the coarse one may lag by a tick): only then is the fine clock read on the hot path. */
#define LATE_CHECK_NS (50 * OFI_NS_PER_MS)

/* ------------------------------------------------------------------------------------------ */
/* options                                                                                      */

static const of_lock_options default_options = {
    .struct_size = sizeof(of_lock_options),
    .ttl_ms = OF_LOCK_DEFAULT_TTL_MS,
};

OF_API int of_lock_options_init(of_lock_options *opts, size_t struct_size)
{
    if (!opts)
        return ofi_fail(OF_ERR_INVALID, "of_lock_options_init: opts is NULL");
    return ofi_lock_struct_init(opts, struct_size, &default_options, OFI_LOCK_OPTIONS_V1_SIZE,
                                sizeof *opts, "of_lock_options");
}

/* Check @p o; on OF_OK, *view is @p o or, for an older caller's smaller struct, a copy in
 * @p full whose missing members have their defaults. */
static int check_options(const of_lock_options *o, of_lock_options *full,
                         const of_lock_options **view)
{
    if (!OFI_SIZE_KNOWN(o->struct_size, OFI_LOCK_OPTIONS_V1_SIZE, of_lock_options))
        return ofi_lock_size_error("of_lock_options", o->struct_size, OFI_LOCK_OPTIONS_V1_SIZE,
                                   sizeof *o);
    o = ofi_lock_struct_view(o, o->struct_size, &default_options, full, sizeof *full);
    *view = o;
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

/* ------------------------------------------------------------------------------------------ */
/* waiting between attempts                                                                     */

/* Sleep before the next attempt: the provider's hint, else full-jitter exponential backoff. */
static void backoff_sleep(of_lock_provider *p, uint64_t *rng, unsigned attempt, uint32_t hint_ms,
                          int64_t deadline)
{
    int64_t now = ofi_now_ns();
    uint64_t ceil_ms =
        ofi_backoff_ceiling_ms(atomic_load_explicit(&p->backoff_base_ms, memory_order_relaxed),
                               atomic_load_explicit(&p->backoff_cap_ms, memory_order_relaxed),
                               attempt);
    /* The provider's hint (e.g. the holder's remaining lease) caps the backoff: waking later
     * than the lease's end would only waste time, but the holder may release much earlier, so
     * the hint never lengthens the jittered wait. */
    if (hint_ms && hint_ms < ceil_ms)
        ceil_ms = hint_ms;
    int64_t until = ofi_lock_min_ns(ofi_add_sat_ns(now, ofi_backoff_full_ns(ceil_ms, rng)), deadline);
    if (until > now)
        ofi_sleep_until_ns(until);
}

/* Queue @p me on @p name. With @p only_existing, join only a queue that already has waiters
 * (a new acquire defers to them); otherwise make one. Returns 1 if queued, 0 if not (nobody
 * waiting, or no memory: then the acquire simply competes as before). */
static int wq_join(of_lock_provider *p, const void *name, size_t name_len, ofi_lock_waiter *me,
                   int only_existing)
{
    pthread_mutex_lock(&p->wq_mu);
    ofi_lock_wait_queue *q = p->wq_first;
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

static void wq_leave(of_lock_provider *p, ofi_lock_waiter *me)
{
    pthread_mutex_lock(&p->wq_mu);
    ofi_lock_wait_queue *q = me->q;
    int was_head = q->head == me;
    ofi_lock_waiter **pp = &q->head;
    ofi_lock_waiter *prev = NULL;
    while (*pp != me) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = me->next;
    if (q->tail == me)
        q->tail = prev;
    if (!q->head) {
        ofi_lock_wait_queue **qq = &p->wq_first;
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
static int wq_wait_head(of_lock_provider *p, ofi_lock_waiter *me, int64_t deadline)
{
    pthread_mutex_lock(&p->wq_mu);
    int head;
    while (!(head = (me->q->head == me))) {
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

/* ------------------------------------------------------------------------------------------ */
/* acquire                                                                                      */

/* Hand back a lease we will not keep (bad fence, a grant that came too late, no engine thread
 * for auto-renew): release it now, and queue a cleanup if the answer leaves it possibly held.
 * Returns the release status. */
static int give_back(of_lock_provider *p, of_lock *h, int64_t step, const char *why)
{
    int rr = p->ops.release(p->self, h->name, h->name_len, &h->token, ofi_now_ns() + step);
    if (rr != OF_OK && rr != OF_ERR_NOT_OWNER)
        ofi_lock_queue_cleanup(p, h->name, h->name_len, &h->token, h->fence,
                               ofi_add_sat_ns(ofi_now_ns(), (int64_t)h->ttl_ms * OFI_NS_PER_MS),
                               why);
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

/* Make the handle of an OK answer valid (fence, valid_until, renewal), or hand the lease back
 * and fail: a bad fence, a grant that arrived after its lease ended, no engine thread. */
static int take_grant(of_lock_provider *p, of_lock *h, uint64_t fence, int64_t vu, int64_t t_send,
                      int64_t step)
{
    const int64_t ttl_ns = (int64_t)h->ttl_ms * OFI_NS_PER_MS;
    if ((p->ops.caps & OF_LOCK_CAP_FENCE) && (fence == 0 || fence > OF_LOCK_FENCE_MAX)) {
        give_back(p, h, step, "a grant with a bad fence could not be handed back");
        return ofi_fail(OF_ERR_PROTOCOL, "provider '%s' reported fence %llu outside 1..2^53-1",
                        p->ops.name, (unsigned long long)fence);
    }
    h->fence = fence;
    vu = ofi_lock_min_ns(vu, t_send + ttl_ns);
    /* A grant that arrives after its own lease ended (a slow reply) holds nothing: the fine
     * clock is read only when the coarse one says the end is near. */
    int64_t now = ofi_now_coarse_ns();
    if (vu - now <= LATE_CHECK_NS && (now = ofi_now_ns()) >= vu) {
        long long late_ms = (long long)((now - vu) / OFI_NS_PER_MS);
        int rr = give_back(p, h, step, "a grant that came after its lease ended was not released");
        return ofi_fail(OF_ERR_UNKNOWN, "provider '%s': the grant arrived %lld ms after its lease "
                        "ended (ttl %u ms): not held; %s", p->ops.name, late_ms,
                        (unsigned)h->ttl_ms,
                        rr == OF_OK ? "released" : rr == OF_ERR_NOT_OWNER
                            ? "it had already expired" : "cleanup queued");
    }
    atomic_store_explicit(&h->valid_until, vu, memory_order_relaxed);
    /* Before the engine thread can see the handle, so ACQUIRED comes before its renewals. */
    OFI_LOCK_EVENT(p, OF_LOCK_EVENT_ACQUIRED, h->name, h->name_len, fence, OF_OK, NULL, vu);
    if ((h->flags & OF_LOCK_AUTO_RENEW) && ofi_lock_register_renewal(p, h, t_send) != OF_OK) {
        int rr = give_back(p, h, step, "a grant that could not be auto-renewed was not released");
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_RELEASED, h->name, h->name_len, fence, rr,
                       "handed back: no engine thread for auto-renew", vu);
        return ofi_fail(OF_ERR_NOMEM, "cannot start the lock engine thread for auto-renew");
    }
    return OF_OK;
}

/* The answer of a wait that reached its deadline without a grant. */
static int fail_deadline(const of_lock_options *opts, int rc, int reached, unsigned tries,
                         uint32_t hint, const char *cause)
{
    long long wait_ms = (long long)opts->wait_ms;
    if (!reached) /* not one attempt reached the backend: "the backend is down", not "held" */
        return ofi_fail(OF_ERR_UNAVAILABLE, "backend unavailable for the whole %lld ms wait (%u "
                        "attempts); last: %s", wait_ms, tries, cause[0] ? cause : "no detail");
    if (rc == OF_ERR_BUSY && hint)
        return ofi_fail(OF_ERR_TIMEOUT, "lock still held after %lld ms (%u attempts); its lease "
                        "ends within %u ms", wait_ms, tries, (unsigned)hint);
    if (rc == OF_ERR_BUSY)
        return ofi_fail(OF_ERR_TIMEOUT, "lock still held after %lld ms (%u attempts)%s%s", wait_ms,
                        tries, cause[0] ? "; last: " : "", cause);
    return ofi_fail(OF_ERR_TIMEOUT, "lock held, then the backend unavailable, after %lld ms (%u "
                    "attempts); last: %s", wait_ms, tries, cause[0] ? cause : "no detail");
}

/* The one attempt of an acquire with wait 0. Returns its outcome (with the detail set). */
static int acquire_once(of_lock_provider *p, of_lock *h, uint32_t ttl_ms)
{
    /* The coarse clock is never later than the real send time, so valid_until stays
     * conservative. */
    int64_t t_send = ofi_now_coarse_ns();
    int64_t step = ofi_lock_step_ns(p);
    uint64_t fence = 0;
    int64_t vu = t_send + (int64_t)ttl_ms * OFI_NS_PER_MS;
    uint32_t hint = 0;
    int rc = p->ops.try_acquire(p->self, h->name, h->name_len, &h->token, ttl_ms, t_send + step,
                                &fence, &vu, &hint);
    if (rc == OF_OK) {
        h->t_acquired = t_send;
        return take_grant(p, h, fence, vu, t_send, step);
    }
    if (rc == OF_ERR_UNKNOWN) {
        ofi_lock_queue_cleanup(p, h->name, h->name_len, &h->token, 0,
                               ofi_add_sat_ns(ofi_now_ns(), (int64_t)ttl_ms * OFI_NS_PER_MS),
                               "acquire sent, no reply: outcome unknown");
        return ofi_fail(OF_ERR_UNKNOWN, "provider '%s': acquire sent, no reply; cleanup queued",
                        p->ops.name);
    }
    /* BUSY: with our detail; UNAVAILABLE and the rest: the provider set the detail. */
    return rc == OF_ERR_BUSY ? fail_busy(hint) : rc;
}

/* The attempts of an acquire with a wait (@p opts->wait_ms != 0), until a grant, a final answer
 * or the deadline; *timed_out is set when the deadline passed after some attempt reached the
 * backend. Apart from the uncontended path so that path carries none of this loop's state. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int acquire_waiting(of_lock_provider *p, const void *name, size_t name_len,
                           const of_lock_options *opts, of_lock *h, int *timed_out)
{
    const int64_t ttl_ns = (int64_t)opts->ttl_ms * OFI_NS_PER_MS;
    /* The fine clock here: the caller's "never before the deadline" is measured on it. */
    const int64_t start = ofi_now_ns();
    const int64_t deadline = ofi_deadline_after_ms(start, opts->wait_ms);
    OFI_LOCK_STAT_ADD(p, wait_enter, 1);
    uint64_t rng = ofi_lock_token_seed(p, &h->token);
    unsigned attempt = 0; /* backoff exponent */
    unsigned wakes = 0;
    unsigned tries = 0;
    int reached = 0;   /* some attempt got an answer from the backend (not UNAVAILABLE) */
    char cause[256];   /* the last failed attempt's detail */
    cause[0] = '\0';
    ofi_lock_waiter me;
    /* Others of this provider already wait for the name: queue behind them, don't overtake. */
    int queued = atomic_load_explicit(&p->waiting, memory_order_relaxed) > 0 &&
                 wq_join(p, name, name_len, &me, 1);
    int out;
    for (;;) {
        if (queued)
            wq_wait_head(p, &me, deadline); /* at the deadline: one last attempt anyway */
        /* The coarse clock is never later than the real send time, so valid_until stays
         * conservative. */
        int64_t t_send = ofi_now_coarse_ns();
        int64_t step = ofi_lock_step_ns(p);
        uint64_t fence = 0;
        int64_t vu = t_send + ttl_ns;
        uint32_t hint = 0; /* this attempt's retry-after hint */
        if (tries++) {
            OFI_LOCK_STAT_ADD(p, retries, 1);
            ofi_fail_plain(OF_OK); /* a provider that sets no detail must not inherit ours */
        }
        int rc = p->ops.try_acquire(p->self, h->name, h->name_len, &h->token, opts->ttl_ms,
                                    t_send + step, &fence, &vu, &hint);
        if (rc == OF_OK) {
            h->t_acquired = t_send;
            out = take_grant(p, h, fence, vu, t_send, step);
            break;
        }
        if (rc == OF_ERR_UNKNOWN) {
            ofi_lock_queue_cleanup(p, h->name, h->name_len, &h->token, 0,
                                   ofi_add_sat_ns(ofi_now_ns(), ttl_ns),
                                   "acquire sent, no reply: outcome unknown");
            out = ofi_fail(OF_ERR_UNKNOWN, "provider '%s': acquire sent, no reply; cleanup queued",
                           p->ops.name);
            break;
        }
        if (rc != OF_ERR_BUSY && rc != OF_ERR_UNAVAILABLE) {
            out = rc; /* the provider set the detail */
            break;
        }
        if (rc == OF_ERR_BUSY)
            reached = 1;
        snprintf(cause, sizeof cause, "%s", ofi_error_detail());
        if (ofi_now_ns() >= deadline) {
            *timed_out = reached;
            out = fail_deadline(opts, rc, reached, tries, hint, cause);
            break;
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
    if (queued)
        wq_leave(p, &me);
    int64_t waited = ofi_now_ns() - start;
    OFI_LOCK_STAT_ADD(p, wait_ns, waited);
    OFI_LOCK_STAT_ADD(p, wait_hist[ofi_lock_hist_bucket(waited)], 1);
    return out;
}

OF_API int of_lock_acquire(of_lock_provider *p, const void *name, size_t name_len,
                           const of_lock_options *opts, of_lock **out_lock)
{
    if (!p || !name || !out_lock)
        return ofi_fail(OF_ERR_INVALID, "of_lock_acquire: %s is NULL",
                        !p ? "provider" : !name ? "name" : "out_lock");
    if (name_len == 0 || name_len > OF_NAME_MAX)
        return ofi_fail(OF_ERR_INVALID, "lock name length %zu outside 1..%d", name_len, OF_NAME_MAX);
    of_lock_options full;
    int rc = check_options(opts ? opts : &default_options, &full, &opts);
    if (rc != OF_OK)
        return rc;
    if ((opts->flags & OF_LOCK_AUTO_RENEW) && !p->ops.extend)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "provider '%s' cannot extend, so cannot auto-renew",
                        p->ops.name);

    of_lock *h = ofi_lock_handle_get(p, name, name_len);
    if (!h)
        return ofi_fail_plain(OF_ERR_NOMEM);
    h->ttl_ms = opts->ttl_ms;
    h->flags = opts->flags;
    h->on_lost = opts->on_lost;
    h->on_lost_ctx = opts->on_lost_ctx;

    const int waits = opts->wait_ms != 0;
    int timed_out = 0; /* the wait's deadline passed */
    int out = waits ? acquire_waiting(p, name, name_len, opts, h, &timed_out)
                    : acquire_once(p, h, opts->ttl_ms);

    /* One exit for every outcome: count it, and hand out or recycle the handle. */
    if (out == OF_OK) {
        /* The handle's stripe is the caller's: no second thread-local lookup. */
        OFI_LOCK_STAT_ADD_S(&p->stripes[h->stripe], acquired, 1);
        *out_lock = h;
        return OF_OK;
    }
    ofi_lock_handle_put(p, h);
    OFI_LOCK_EVENT(p, OF_LOCK_EVENT_ACQUIRE_FAILED, name, name_len, 0, out, ofi_error_detail(), 0);
    if (out == OF_ERR_BUSY && !waits) {
        OFI_LOCK_STAT_ADD(p, busy, 1);
    } else if (timed_out) {
        OFI_LOCK_STAT_ADD(p, timeouts, 1);
    } else {
        OFI_LOCK_STAT_ADD(p, errors, 1);
        OFI_LOCK_STAT_ADD(p, acq_failed, 1);
    }
    return out;
}
