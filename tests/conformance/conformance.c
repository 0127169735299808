/* The lock-provider conformance suite: DESIGN.md "Locks" semantics checked through the public API
 * against any provider (see conformance.h). Timing checks follow STYLE.md: never before a
 * deadline, exactly; after it, only "by deadline + max(1 s, 100%)". */
#include "conformance.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <openfault/openfault.h>

static const of_conformance_target *T;
static of_lock_provider *P;
static uint32_t short_ttl;  /* ms, scaled for slow runtimes */
static int64_t slack_ms;    /* extra wait that lets a lapsed lease really be over */

#define NS_PER_MS INT64_C(1000000)

static int64_t now_ns(void)
{
    return of_clock_monotonic_ns();
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static of_lock_options opts_with(uint32_t ttl_ms, int64_t wait_ms, uint32_t flags)
{
    of_lock_options o;
    assert_int_equal(of_lock_options_init(&o, sizeof o), OF_OK);
    o.ttl_ms = ttl_ms;
    o.wait_ms = wait_ms;
    o.flags = flags;
    return o;
}

static int acq(const char *name, uint32_t ttl_ms, int64_t wait_ms, of_lock **out)
{
    of_lock_options o = opts_with(ttl_ms, wait_ms, 0);
    return of_lock_acquire(P, name, strlen(name), &o, out);
}

/* Make the lease on @p name lapse: the target's hook, or wait it out in real time. */
static void lapse(const char *name, size_t len)
{
    if (T->force_lapse) {
        assert_int_equal(T->force_lapse(T->ctx, P, name, len), OF_OK);
    } else {
        sleep_ms(short_ttl + slack_ms);
    }
}

static void pause_renewals(int paused)
{
    if (T->pause_renewals)
        assert_int_equal(T->pause_renewals(T->ctx, P, paused), OF_OK);
    else
        assert_int_equal(of_lock_provider_pause_renewals(P, paused), OF_OK);
}

static int setup(void **state)
{
    (void)state;
    P = NULL;
    int rc = T->create(T->ctx, &P);
    if (rc != OF_OK || !P) {
        fprintf(stderr, "target %s: create failed: %s (%s)\n", T->name, of_strerror(rc),
                of_last_error_detail());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (T->destroy)
        T->destroy(T->ctx, P);
    else
        of_lock_provider_destroy(P);
    P = NULL;
    return 0;
}

static int has(uint32_t cap)
{
    return (T->caps & cap) != 0;
}

/* ------------------------------------------------------------------------------------------ */

static void conf_reports_name_and_caps(void **state)
{
    (void)state;
    assert_non_null(of_lock_provider_name(P));
    assert_true(strlen(of_lock_provider_name(P)) > 0);
    assert_int_equal(of_lock_provider_caps(P), T->caps);
    assert_int_equal(of_lock_provider_caps(NULL), 0);
    assert_null(of_lock_provider_name(NULL));
}

static void conf_trylock_busy(void **state)
{
    (void)state;
    of_lock *a = NULL, *b = (of_lock *)&b;
    assert_int_equal(acq("busy", 30000, 0, &a), OF_OK);
    assert_false(of_lock_is_lost(a));
    assert_true(of_lock_valid_until_ns(a) > now_ns());
    /* Held by another owner (also from this thread: locks are not reentrant). */
    assert_int_equal(acq("busy", 30000, 0, &b), OF_ERR_BUSY);
    assert_ptr_equal(b, (of_lock *)&b); /* untouched on error */
    assert_int_equal(of_lock_release(a), OF_OK);
    assert_int_equal(acq("busy", 30000, 0, &b), OF_OK);
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_wait_times_out_not_before_deadline(void **state)
{
    (void)state;
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq("timeout", 30000, 0, &a), OF_OK);
    const int64_t wait_ms = 250;
    int64_t t0 = now_ns();
    assert_int_equal(acq("timeout", 30000, wait_ms, &b), OF_ERR_TIMEOUT);
    int64_t took = now_ns() - t0;
    assert_null(b);
    assert_true(took >= wait_ms * NS_PER_MS);
    assert_true(took <= (wait_ms + 1000) * NS_PER_MS);
    assert_int_equal(of_lock_release(a), OF_OK);
}

typedef struct delayed_release {
    of_lock *lock;
    int64_t delay_ms;
    int rc;
    _Atomic int64_t releasing_at; /* just before the release call */
} delayed_release;

static void *release_later(void *arg)
{
    delayed_release *d = arg;
    sleep_ms(d->delay_ms);
    atomic_store(&d->releasing_at, now_ns());
    d->rc = of_lock_release(d->lock);
    return NULL;
}

static void conf_waiter_gets_lock_on_release(void **state)
{
    (void)state;
    /* A bounded wait and a forever wait, each woken by a release from another thread (handles
     * are not thread-bound). */
    const int64_t waits[2] = {20000, -1};
    for (int i = 0; i < 2; i++) {
        of_lock *a = NULL, *b = NULL;
        assert_int_equal(acq("waiter", 30000, 0, &a), OF_OK);
        delayed_release d = {a, 100, -99, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, release_later, &d), 0);
        assert_int_equal(acq("waiter", 30000, waits[i], &b), OF_OK);
        int64_t got = now_ns();
        pthread_join(th, NULL);
        assert_int_equal(d.rc, OF_OK);
        /* Not before the holder let go. */
        assert_true(atomic_load(&d.releasing_at) != 0);
        assert_true(got >= atomic_load(&d.releasing_at));
        assert_int_equal(of_lock_release(b), OF_OK);
    }
}

static void conf_waiter_takes_over_lapsed_lease(void **state)
{
    (void)state;
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq("lapsing", short_ttl, 0, &a), OF_OK);
    int64_t t0 = now_ns();
    assert_int_equal(acq("lapsing", 30000, 20000, &b), OF_OK);
    /* Only after the first lease ended. */
    assert_true(now_ns() >= of_lock_valid_until_ns(a));
    assert_true(now_ns() - t0 >= (int64_t)short_ttl * NS_PER_MS / 2);
    assert_int_equal(of_lock_release(a), OF_ERR_NOT_OWNER);
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_release_by_owner_frees_name(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        of_lock *a = NULL;
        assert_int_equal(acq("cycle", 30000, 0, &a), OF_OK);
        assert_int_equal(of_lock_release(a), OF_OK);
    }
    of_lock_stats st;
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(P, &st), OF_OK);
    assert_int_equal(st.acquired, 5);
    assert_int_equal(st.released, 5);
    assert_int_equal(st.attempts, 5);
}

static void conf_release_after_expiry_keeps_new_owner(void **state)
{
    (void)state;
    of_lock *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(acq("takeover", short_ttl, 0, &a), OF_OK);
    lapse("takeover", 8);
    assert_int_equal(acq("takeover", 30000, 2000, &b), OF_OK);
    /* The stale holder's release must not delete the new owner's lease. */
    assert_int_equal(of_lock_release(a), OF_ERR_NOT_OWNER);
    assert_int_equal(acq("takeover", 30000, 0, &c), OF_ERR_BUSY);
    assert_false(of_lock_is_lost(b));
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_release_after_expiry_is_not_owner(void **state)
{
    (void)state;
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq("expired", short_ttl, 0, &a), OF_OK);
    sleep_ms(short_ttl + slack_ms);
    assert_int_equal(of_lock_release(a), OF_ERR_NOT_OWNER);
    assert_int_equal(acq("expired", 30000, 0, &b), OF_OK);
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_extend_keeps_lock_past_ttl(void **state)
{
    (void)state;
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq("extend", short_ttl, 0, &a), OF_OK);
    if (!has(OF_LOCK_CAP_EXTEND)) {
        assert_int_equal(of_lock_extend(a, short_ttl), OF_ERR_NOT_SUPPORTED);
        assert_false(of_lock_is_lost(a));
        assert_int_equal(of_lock_release(a), OF_OK);
        return;
    }
    int64_t before = of_lock_valid_until_ns(a);
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_extend(a, 30000), OF_OK);
    assert_true(of_lock_valid_until_ns(a) > before);
    assert_true(of_lock_valid_until_ns(a) <= now_ns() + 30000 * NS_PER_MS);
    assert_true(of_lock_valid_until_ns(a) >= t0 + 30000 * NS_PER_MS - 1000 * NS_PER_MS);
    sleep_ms(short_ttl + slack_ms);
    assert_int_equal(acq("extend", 30000, 0, &b), OF_ERR_BUSY);
    assert_false(of_lock_is_lost(a));
    assert_int_equal(of_lock_release(a), OF_OK);
}

static void conf_extend_after_expiry_is_not_owner(void **state)
{
    (void)state;
    if (!has(OF_LOCK_CAP_EXTEND)) {
        conf_extend_keeps_lock_past_ttl(state);
        return;
    }
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq("late-extend", short_ttl, 0, &a), OF_OK);
    sleep_ms(short_ttl + slack_ms);
    /* valid_until has passed: answered without the backend, and the handle is lost. */
    assert_int_equal(of_lock_extend(a, 30000), OF_ERR_NOT_OWNER);
    assert_true(of_lock_is_lost(a));
    assert_int_equal(of_lock_extend(a, 30000), OF_ERR_LOST);
    /* It did not resurrect the lease either. */
    assert_int_equal(acq("late-extend", 30000, 0, &b), OF_OK);
    assert_int_equal(of_lock_release(a), OF_ERR_LOST);
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_extend_after_backend_lapse_is_not_owner(void **state)
{
    (void)state;
    if (!has(OF_LOCK_CAP_EXTEND)) {
        conf_extend_keeps_lock_past_ttl(state);
        return;
    }
    of_lock *a = NULL, *b = NULL, *c = NULL;
    uint32_t ttl = T->force_lapse ? 30000 : short_ttl;
    assert_int_equal(acq("lapse-extend", ttl, 0, &a), OF_OK);
    lapse("lapse-extend", 12);
    assert_int_equal(acq("lapse-extend", 30000, 2000, &b), OF_OK);
    /* Our token no longer holds the name: NOT_OWNER, and the new owner's lease is untouched. */
    assert_int_equal(of_lock_extend(a, 30000), OF_ERR_NOT_OWNER);
    assert_true(of_lock_is_lost(a));
    assert_int_equal(acq("lapse-extend", 30000, 0, &c), OF_ERR_BUSY);
    assert_int_equal(of_lock_release(a), OF_ERR_LOST);
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_fencing_strictly_increases_across_owners(void **state)
{
    (void)state;
    of_lock *l = NULL;
    if (!has(OF_LOCK_CAP_FENCE)) {
        uint64_t f = 77;
        assert_int_equal(acq("fence", 30000, 0, &l), OF_OK);
        assert_int_equal(of_lock_fence(l, &f), OF_ERR_NOT_SUPPORTED);
        assert_int_equal(f, 77);
        assert_int_equal(of_lock_release(l), OF_OK);
        return;
    }
    uint64_t last = 0;
    for (int i = 0; i < 6; i++) {
        /* Alternate: a clean release, then an owner whose lease lapsed and was taken over. */
        assert_int_equal(acq("fence", i % 2 ? short_ttl : 30000, 2000, &l), OF_OK);
        uint64_t f = 0;
        assert_int_equal(of_lock_fence(l, &f), OF_OK);
        assert_true(f > last);
        assert_true(f >= 1 && f <= OF_LOCK_FENCE_MAX);
        last = f;
        if (i % 2) {
            lapse("fence", 5);
            of_lock *n = NULL;
            assert_int_equal(acq("fence", 30000, 2000, &n), OF_OK);
            assert_int_equal(of_lock_fence(n, &f), OF_OK);
            assert_true(f > last);
            last = f;
            assert_int_equal(of_lock_release(l), OF_ERR_NOT_OWNER);
            assert_int_equal(of_lock_release(n), OF_OK);
        } else {
            assert_int_equal(of_lock_release(l), OF_OK);
        }
    }
    /* Another name's fences do not disturb this one's order. */
    of_lock *o = NULL;
    assert_int_equal(acq("fence-other", 30000, 0, &o), OF_OK);
    assert_int_equal(acq("fence", 30000, 0, &l), OF_OK);
    uint64_t f = 0;
    assert_int_equal(of_lock_fence(l, &f), OF_OK);
    assert_true(f > last);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(of_lock_release(o), OF_OK);
}

typedef struct loss_rec {
    atomic_int calls;
    atomic_int status;
    of_lock *lock;
    int release_in_callback;
    atomic_int release_rc;
} loss_rec;

static void on_lost(of_lock *lock, int status, void *ctx)
{
    loss_rec *r = ctx;
    r->lock = lock;
    atomic_store(&r->status, status);
    if (r->release_in_callback)
        atomic_store(&r->release_rc, of_lock_release(lock));
    atomic_fetch_add(&r->calls, 1);
}

static int acq_renewed(const char *name, uint32_t ttl, loss_rec *r, of_lock **out)
{
    of_lock_options o = opts_with(ttl, 0, OF_LOCK_AUTO_RENEW);
    o.on_lost = on_lost;
    o.on_lost_ctx = r;
    return of_lock_acquire(P, name, strlen(name), &o, out);
}

static int wait_for_calls(loss_rec *r, int64_t max_ms)
{
    int64_t end = now_ns() + max_ms * NS_PER_MS;
    while (atomic_load(&r->calls) == 0 && now_ns() < end)
        sleep_ms(5);
    return atomic_load(&r->calls);
}

static void conf_auto_renew_keeps_lock_past_several_ttls(void **state)
{
    (void)state;
    loss_rec r = {0};
    of_lock *a = NULL, *b = NULL;
    if (!has(OF_LOCK_CAP_EXTEND)) {
        assert_int_equal(acq_renewed("renew", short_ttl, &r, &a), OF_ERR_NOT_SUPPORTED);
        return;
    }
    assert_int_equal(acq_renewed("renew", short_ttl, &r, &a), OF_OK);
    int64_t first = of_lock_valid_until_ns(a);
    sleep_ms(3 * (int64_t)short_ttl + slack_ms);
    assert_int_equal(acq("renew", 30000, 0, &b), OF_ERR_BUSY);
    assert_false(of_lock_is_lost(a));
    assert_true(of_lock_valid_until_ns(a) > first);
    assert_int_equal(atomic_load(&r.calls), 0);
    of_lock_stats st;
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(P, &st), OF_OK);
    assert_true(st.extended >= 2);
    assert_int_equal(of_lock_release(a), OF_OK);
    assert_int_equal(acq("renew", 30000, 0, &b), OF_OK);
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_loss_callback_once_when_lease_passes(void **state)
{
    (void)state;
    if (!has(OF_LOCK_CAP_EXTEND)) {
        conf_auto_renew_keeps_lock_past_several_ttls(state);
        return;
    }
    loss_rec r = {0};
    of_lock *a = NULL;
    assert_int_equal(acq_renewed("lease-passes", short_ttl, &r, &a), OF_OK);
    pause_renewals(1);
    int64_t vu = of_lock_valid_until_ns(a);
    assert_int_equal(wait_for_calls(&r, 3 * (int64_t)short_ttl + 2000), 1);
    /* Not before the lease's end. */
    assert_true(now_ns() >= vu);
    assert_ptr_equal(r.lock, a);
    assert_int_equal(atomic_load(&r.status), OF_ERR_LOST);
    assert_true(of_lock_is_lost(a));
    pause_renewals(0);
    sleep_ms(short_ttl);
    assert_int_equal(atomic_load(&r.calls), 1);
    /* LOST comes only from release and extend: the accessors keep answering (the fence is still
     * the number the resource must refuse). */
    uint64_t fence = 0;
    assert_int_equal(of_lock_fence(a, &fence), has(OF_LOCK_CAP_FENCE) ? OF_OK : OF_ERR_NOT_SUPPORTED);
    if (has(OF_LOCK_CAP_FENCE))
        assert_true(fence >= 1 && fence <= OF_LOCK_FENCE_MAX);
    of_lock_token tok;
    assert_int_equal(of_lock_token_get(a, &tok), OF_OK);
    assert_int_equal(of_lock_valid_until_ns(a), vu);
    assert_int_equal(of_lock_extend(a, short_ttl), OF_ERR_LOST);
    assert_int_equal(of_lock_release(a), OF_ERR_LOST);
}

static void conf_loss_callback_once_when_taken_over(void **state)
{
    (void)state;
    if (!has(OF_LOCK_CAP_EXTEND)) {
        conf_auto_renew_keeps_lock_past_several_ttls(state);
        return;
    }
    loss_rec r = {0};
    of_lock *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(acq_renewed("taken", short_ttl, &r, &a), OF_OK);
    /* Hold renewals until the lease lapsed on the backend and another owner took it. */
    pause_renewals(1);
    lapse("taken", 5);
    assert_int_equal(acq("taken", 30000, 20000, &b), OF_OK);
    pause_renewals(0);
    assert_int_equal(wait_for_calls(&r, 3 * (int64_t)short_ttl + 2000), 1);
    int st = atomic_load(&r.status);
    /* A renewal answered NOT_OWNER, or (lapse by waiting) the lease had already passed. */
    assert_true(st == OF_ERR_NOT_OWNER || st == OF_ERR_LOST);
    sleep_ms(short_ttl);
    assert_int_equal(atomic_load(&r.calls), 1);
    /* The loser never touched the new owner's lease. */
    assert_int_equal(acq("taken", 30000, 0, &c), OF_ERR_BUSY);
    assert_false(of_lock_is_lost(b));
    assert_int_equal(of_lock_release(a), OF_ERR_LOST);
    assert_int_equal(of_lock_release(b), OF_OK);
}

static void conf_loss_callback_may_release_its_lock(void **state)
{
    (void)state;
    if (!has(OF_LOCK_CAP_EXTEND)) {
        conf_auto_renew_keeps_lock_past_several_ttls(state);
        return;
    }
    loss_rec r = {0};
    r.release_in_callback = 1;
    atomic_store(&r.release_rc, 99);
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq_renewed("cb-release", short_ttl, &r, &a), OF_OK);
    pause_renewals(1);
    assert_int_equal(wait_for_calls(&r, 3 * (int64_t)short_ttl + 2000), 1);
    assert_int_equal(atomic_load(&r.release_rc), OF_ERR_LOST);
    pause_renewals(0);
    assert_int_equal(acq("cb-release", 30000, 2000, &b), OF_OK);
    assert_int_equal(of_lock_release(b), OF_OK);
}

/* The event callback (of_lock_provider_config.on_event): each handle's events come in order,
 * ACQUIRED first and RELEASED last, with the name and fence the handle has, and their counts
 * match the provider's stats. The case configures the provider with the defaults plus the
 * callback. */
#define CONF_MAX_EVENTS 128

typedef struct conf_ev {
    int kind, status;
    uint64_t fence;
    int64_t vu;
    int name_ok;
} conf_ev;

typedef struct conf_ev_log {
    pthread_mutex_t mu;
    int n;
    int malformed;
    const char *name;
    conf_ev ev[CONF_MAX_EVENTS];
} conf_ev_log;

static void conf_on_event(void *ctx, const of_lock_event *e)
{
    conf_ev_log *r = ctx;
    pthread_mutex_lock(&r->mu);
    /* No cmocka assertion here: this may run on the engine's thread. */
    if (e->struct_size < sizeof *e || !e->detail || !e->name)
        r->malformed++;
    if (r->n < CONF_MAX_EVENTS) {
        conf_ev *x = &r->ev[r->n++];
        x->kind = e->kind;
        x->status = e->status;
        x->fence = e->fence;
        x->vu = e->valid_until_ns;
        x->name_ok = e->name_len == strlen(r->name) && memcmp(e->name, r->name, e->name_len) == 0;
    }
    pthread_mutex_unlock(&r->mu);
}

static int conf_ev_find(conf_ev_log *r, int kind)
{
    pthread_mutex_lock(&r->mu);
    int at = -1;
    for (int i = 0; i < r->n && at < 0; i++)
        if (r->ev[i].kind == kind)
            at = i;
    pthread_mutex_unlock(&r->mu);
    return at;
}

static int conf_ev_wait(conf_ev_log *r, int kind, int64_t max_ms)
{
    int64_t end = now_ns() + max_ms * NS_PER_MS;
    int at;
    while ((at = conf_ev_find(r, kind)) < 0 && now_ns() < end)
        sleep_ms(5);
    return at;
}

/* Check the events of the acquisition whose fence is @p fence (0: all): ACQUIRED first,
 * RELEASED last and once, nothing else before or after. Returns the number of events seen. */
static int conf_ev_check_one(conf_ev_log *r, uint64_t fence, int from)
{
    pthread_mutex_lock(&r->mu);
    int first = -1, released = 0, n = 0;
    for (int i = from; i < r->n; i++) {
        conf_ev *e = &r->ev[i];
        if (e->kind == OF_LOCK_EVENT_ACQUIRE_FAILED || e->kind == OF_LOCK_EVENT_CLEANUP_QUEUED ||
            e->kind == OF_LOCK_EVENT_CLEANUP_DONE || (fence && e->fence != fence))
            continue;
        n++;
        if (first < 0)
            first = e->kind;
        if (released)
            released = 100; /* an event after RELEASED */
        if (e->kind == OF_LOCK_EVENT_RELEASED)
            released++;
    }
    pthread_mutex_unlock(&r->mu);
    assert_int_equal(first, OF_LOCK_EVENT_ACQUIRED);
    assert_int_equal(released, 1);
    return n;
}

static void conf_events_come_in_order_and_match_stats(void **state)
{
    (void)state;
    conf_ev_log r = {.mu = PTHREAD_MUTEX_INITIALIZER, .name = "events"};
    of_lock_provider_config cfg;
    assert_int_equal(of_lock_provider_config_init(&cfg, sizeof cfg), OF_OK);
    cfg.on_event = conf_on_event;
    cfg.event_ctx = &r;
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
    const int renew = has(OF_LOCK_CAP_EXTEND);

    /* Acquire, contend, (renew,) release. */
    of_lock_options o = opts_with(short_ttl, 0, renew ? OF_LOCK_AUTO_RENEW : 0);
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(of_lock_acquire(P, "events", 6, &o, &a), OF_OK);
    uint64_t fa = 0;
    if (has(OF_LOCK_CAP_FENCE))
        assert_int_equal(of_lock_fence(a, &fa), OF_OK);
    int at = conf_ev_find(&r, OF_LOCK_EVENT_ACQUIRED);
    assert_int_equal(at, 0);
    assert_true(r.ev[0].name_ok);
    assert_true(r.ev[0].fence == fa);
    assert_true(r.ev[0].vu == of_lock_valid_until_ns(a) || renew);
    assert_int_equal(acq("events", 30000, 0, &b), OF_ERR_BUSY);
    at = conf_ev_find(&r, OF_LOCK_EVENT_ACQUIRE_FAILED);
    assert_true(at > 0);
    assert_int_equal(r.ev[at].status, OF_ERR_BUSY);
    if (renew)
        assert_true(conf_ev_wait(&r, OF_LOCK_EVENT_RENEWED, 3 * (int64_t)short_ttl + 2000) > 0);
    assert_int_equal(of_lock_release(a), OF_OK);
    conf_ev_check_one(&r, fa, 0);
    int after_first = r.n;

    if (renew) {
        /* A loss: the lease passes with renewals paused. */
        o = opts_with(short_ttl, 5000, OF_LOCK_AUTO_RENEW);
        assert_int_equal(of_lock_acquire(P, "events", 6, &o, &a), OF_OK);
        uint64_t fb = 0;
        if (has(OF_LOCK_CAP_FENCE)) {
            assert_int_equal(of_lock_fence(a, &fb), OF_OK);
            assert_true(fb > fa);
        }
        pause_renewals(1);
        int lost = conf_ev_wait(&r, OF_LOCK_EVENT_LOST, 3 * (int64_t)short_ttl + 2000);
        pause_renewals(0);
        assert_true(lost >= after_first);
        assert_int_equal(r.ev[lost].status, OF_ERR_LOST);
        assert_true(r.ev[lost].name_ok);
        assert_int_equal(of_lock_release(a), OF_ERR_LOST);
        conf_ev_check_one(&r, fb, after_first);
        assert_int_equal(r.ev[r.n - 1].kind, OF_LOCK_EVENT_RELEASED);
        assert_int_equal(r.ev[r.n - 1].status, OF_ERR_LOST);
    }

    /* Every count matches the stats. */
    of_lock_stats st;
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(P, &st), OF_OK);
    uint64_t acquired = 0, released = 0, lost = 0, renewed = 0, failed = 0;
    pthread_mutex_lock(&r.mu);
    for (int i = 0; i < r.n; i++) {
        assert_true(r.ev[i].name_ok);
        acquired += r.ev[i].kind == OF_LOCK_EVENT_ACQUIRED;
        released += r.ev[i].kind == OF_LOCK_EVENT_RELEASED;
        lost += r.ev[i].kind == OF_LOCK_EVENT_LOST;
        renewed += r.ev[i].kind == OF_LOCK_EVENT_RENEWED;
        failed += r.ev[i].kind == OF_LOCK_EVENT_ACQUIRE_FAILED;
    }
    int malformed = r.malformed;
    pthread_mutex_unlock(&r.mu);
    assert_int_equal(malformed, 0);
    assert_int_equal(acquired, st.acquired);
    assert_int_equal(released, st.acquired);
    assert_int_equal(lost, st.lost);
    assert_int_equal(renewed, st.renewals_ok);
    assert_int_equal(failed, st.busy + st.timeouts + st.acquire_failures);
    of_lock_provider_config_init(&cfg, sizeof cfg);
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
}

static void conf_binary_names_with_nul_bytes(void **state)
{
    (void)state;
    static const char n1[] = {'a', '\0', 'b'};
    static const char n2[] = {'a', '\0', 'c'};
    static const char n3[] = {'a'};
    static const char n4[] = {'\0'};
    of_lock_options o = opts_with(30000, 0, 0);
    of_lock *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL, *x = NULL;
    assert_int_equal(of_lock_acquire(P, n1, sizeof n1, &o, &l1), OF_OK);
    assert_int_equal(of_lock_acquire(P, n2, sizeof n2, &o, &l2), OF_OK);
    assert_int_equal(of_lock_acquire(P, n3, sizeof n3, &o, &l3), OF_OK);
    assert_int_equal(of_lock_acquire(P, n4, sizeof n4, &o, &l4), OF_OK);
    assert_int_equal(of_lock_acquire(P, n1, sizeof n1, &o, &x), OF_ERR_BUSY);
    assert_int_equal(of_lock_acquire(P, n4, sizeof n4, &o, &x), OF_ERR_BUSY);
    size_t len = 0;
    const void *got = of_lock_name(l1, &len);
    assert_int_equal(len, sizeof n1);
    assert_memory_equal(got, n1, sizeof n1);
    assert_int_equal(((const char *)got)[len], '\0');
    assert_int_equal(of_lock_release(l1), OF_OK);
    assert_int_equal(of_lock_release(l2), OF_OK);
    assert_int_equal(of_lock_release(l3), OF_OK);
    assert_int_equal(of_lock_release(l4), OF_OK);

    /* The longest name works; one byte more is refused. */
    char *big = malloc(OF_NAME_MAX + 1);
    assert_non_null(big);
    for (size_t i = 0; i <= OF_NAME_MAX; i++)
        big[i] = (char)(i * 7);
    assert_int_equal(of_lock_acquire(P, big, OF_NAME_MAX, &o, &l1), OF_OK);
    assert_int_equal(of_lock_acquire(P, big, OF_NAME_MAX, &o, &x), OF_ERR_BUSY);
    got = of_lock_name(l1, &len);
    assert_int_equal(len, OF_NAME_MAX);
    assert_memory_equal(got, big, OF_NAME_MAX);
    x = (of_lock *)&x;
    assert_int_equal(of_lock_acquire(P, big, OF_NAME_MAX + 1, &o, &x), OF_ERR_INVALID);
    assert_ptr_equal(x, (of_lock *)&x);
    assert_int_equal(of_lock_release(l1), OF_OK);
    free(big);
}

static void conf_distinct_names_are_independent(void **state)
{
    (void)state;
    enum { N = 64 };
    of_lock *held[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "independent-%d", i);
        assert_int_equal(acq(name, 30000, 0, &held[i]), OF_OK);
    }
    for (int i = 0; i < N; i++) {
        of_lock *x = NULL;
        snprintf(name, sizeof name, "independent-%d", i);
        assert_int_equal(acq(name, 30000, 0, &x), OF_ERR_BUSY);
    }
    /* Releasing the even ones frees exactly those. */
    for (int i = 0; i < N; i += 2)
        assert_int_equal(of_lock_release(held[i]), OF_OK);
    for (int i = 0; i < N; i++) {
        of_lock *x = NULL;
        snprintf(name, sizeof name, "independent-%d", i);
        int rc = acq(name, 30000, 0, &x);
        assert_int_equal(rc, i % 2 ? OF_ERR_BUSY : OF_OK);
        if (rc == OF_OK)
            assert_int_equal(of_lock_release(x), OF_OK);
    }
    for (int i = 1; i < N; i += 2)
        assert_int_equal(of_lock_release(held[i]), OF_OK);
}

static void conf_token_is_unique_and_renders_as_hex(void **state)
{
    (void)state;
    of_lock *a = NULL, *b = NULL;
    of_lock_token ta, tb;
    assert_int_equal(acq("tok-a", 30000, 0, &a), OF_OK);
    assert_int_equal(acq("tok-b", 30000, 0, &b), OF_OK);
    assert_int_equal(of_lock_token_get(a, &ta), OF_OK);
    assert_int_equal(of_lock_token_get(b, &tb), OF_OK);
    assert_memory_not_equal(ta.bytes, tb.bytes, sizeof ta.bytes);
    char hex[OF_LOCK_TOKEN_HEX_LEN + 1];
    of_lock_token_to_hex(&ta, hex);
    assert_int_equal(strlen(hex), OF_LOCK_TOKEN_HEX_LEN);
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        assert_int_equal(v, ta.bytes[i]);
    }
    assert_int_equal(of_lock_token_get(NULL, &ta), OF_ERR_INVALID);
    assert_int_equal(of_lock_token_get(a, NULL), OF_ERR_INVALID);
    assert_int_equal(of_lock_release(a), OF_OK);
    assert_int_equal(of_lock_release(b), OF_OK);
}

typedef struct mx_shared {
    const char *name;
    int iterations;
    long counter;     /* deliberately not atomic: the lock must protect it */
    atomic_int inside;
    atomic_int violations;
    atomic_int errors;
} mx_shared;

static void *mx_worker(void *arg)
{
    mx_shared *s = arg;
    for (int i = 0; i < s->iterations; i++) {
        of_lock *l = NULL;
        int rc = acq(s->name, 30000, -1, &l);
        if (rc != OF_OK) {
            atomic_fetch_add(&s->errors, 1);
            continue;
        }
        if (atomic_fetch_add(&s->inside, 1) != 0)
            atomic_fetch_add(&s->violations, 1);
        long c = s->counter;
        sched_yield();
        s->counter = c + 1;
        atomic_fetch_sub(&s->inside, 1);
        if (of_lock_release(l) != OF_OK)
            atomic_fetch_add(&s->errors, 1);
    }
    return NULL;
}

static void conf_mutual_exclusion_across_threads(void **state)
{
    (void)state;
    enum { THREADS = 4 };
    mx_shared s = {.name = "mutex", .iterations = getenv("OF_UNDER_VALGRIND") ? 20 : 150};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, mx_worker, &s), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&s.errors), 0);
    assert_int_equal(atomic_load(&s.violations), 0);
    assert_int_equal(s.counter, (long)THREADS * s.iterations);
}

static void conf_bad_inputs_are_invalid(void **state)
{
    (void)state;
    of_lock_options o = opts_with(30000, 0, 0);
    of_lock *x = (of_lock *)&x;
    assert_int_equal(of_lock_acquire(NULL, "n", 1, &o, &x), OF_ERR_INVALID);
    assert_int_equal(of_lock_acquire(P, NULL, 1, &o, &x), OF_ERR_INVALID);
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, NULL), OF_ERR_INVALID);
    assert_int_equal(of_lock_acquire(P, "n", 0, &o, &x), OF_ERR_INVALID);
    assert_int_equal(of_lock_acquire(P, "n", OF_NAME_MAX + 1, &o, &x), OF_ERR_INVALID);
    o.ttl_ms = 0;
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_ERR_INVALID);
    assert_true(strlen(of_last_error_detail()) > 0);
    o.ttl_ms = OF_LOCK_TTL_MAX + 1u;
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_ERR_INVALID);
    o.ttl_ms = OF_LOCK_TTL_MAX;
    o.flags = 0x80;
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_ERR_INVALID);
    o.flags = 0;
    o.reserved0 = 1;
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_ERR_INVALID);
    o.reserved0 = 0;
    /* A loss callback needs auto-renew: nothing else watches the lease, so it could never run. */
    loss_rec lr = {0};
    o.on_lost = on_lost;
    o.on_lost_ctx = &lr;
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_ERR_INVALID);
    assert_true(strlen(of_last_error_detail()) > 0);
    o.on_lost = NULL;
    o.on_lost_ctx = NULL;
    o.struct_size = sizeof o + 8;
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_ERR_ABI);
    o.struct_size = 4;
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_ERR_ABI);
    assert_ptr_equal(x, (of_lock *)&x);
    assert_int_equal(of_lock_options_init(NULL, sizeof o), OF_ERR_INVALID);
    assert_int_equal(of_lock_options_init(&o, sizeof o + 8), OF_ERR_ABI);
    assert_int_equal(of_lock_options_init(&o, 8), OF_ERR_ABI);

    /* The longest TTL is accepted, NULL options mean the defaults. */
    o = opts_with(OF_LOCK_TTL_MAX, 0, 0);
    assert_int_equal(of_lock_acquire(P, "n", 1, &o, &x), OF_OK);
    assert_int_equal(of_lock_release(x), OF_OK);
    assert_int_equal(of_lock_acquire(P, "n", 1, NULL, &x), OF_OK);
    assert_true(of_lock_valid_until_ns(x) <= now_ns() + (int64_t)OF_LOCK_DEFAULT_TTL_MS * NS_PER_MS);

    assert_int_equal(of_lock_release(NULL), OF_ERR_INVALID);
    assert_int_equal(of_lock_extend(NULL, 1000), OF_ERR_INVALID);
    assert_int_equal(of_lock_extend(x, 0), OF_ERR_INVALID);
    assert_int_equal(of_lock_extend(x, OF_LOCK_TTL_MAX + 1u), OF_ERR_INVALID);
    uint64_t f;
    assert_int_equal(of_lock_fence(NULL, &f), OF_ERR_INVALID);
    assert_int_equal(of_lock_fence(x, NULL), OF_ERR_INVALID);
    assert_true(of_lock_is_lost(NULL));
    assert_int_equal(of_lock_valid_until_ns(NULL), 0);
    assert_null(of_lock_name(NULL, NULL));
    assert_false(of_lock_is_lost(x));
    assert_int_equal(of_lock_release(x), OF_OK);

    of_lock_stats st;
    st.struct_size = sizeof st + 8;
    assert_int_equal(of_lock_provider_stats(P, &st), OF_ERR_ABI);
    assert_int_equal(of_lock_provider_stats(NULL, &st), OF_ERR_INVALID);
    assert_int_equal(of_lock_stats_size(), sizeof(of_lock_stats));
    assert_int_equal(of_lock_options_size(), sizeof(of_lock_options));
    assert_int_equal(of_lock_ttl_max(), OF_LOCK_TTL_MAX);
}

/* A provider table for the vtable checks; its steps are never reached. */
static int dummy_try(void *self, const void *name, size_t name_len, const of_lock_token *token,
                     uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,
                     int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms)
{
    (void)self, (void)name, (void)name_len, (void)token, (void)ttl_ms, (void)deadline_ns;
    (void)out_fence, (void)out_valid_until_ns, (void)out_retry_after_ms;
    return OF_ERR_UNAVAILABLE;
}

static int dummy_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                         int64_t deadline_ns)
{
    (void)self, (void)name, (void)name_len, (void)token, (void)deadline_ns;
    return OF_ERR_NOT_OWNER;
}

static void dummy_destroy(void *self)
{
    (*(int *)self)++;
}

static void conf_vtable_with_wrong_abi_is_refused(void **state)
{
    (void)state;
    int destroyed = 0;
    of_lock_provider_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.abi_version = OF_LOCK_PROVIDER_ABI;
    ops.struct_size = sizeof ops;
    ops.name = "dummy";
    ops.try_acquire = dummy_try;
    ops.release = dummy_release;
    ops.destroy = dummy_destroy;
    of_lock_provider *p = (of_lock_provider *)&p;

    of_lock_provider_ops bad = ops;
    bad.abi_version = OF_LOCK_PROVIDER_ABI + 1;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_ABI);
    bad.abi_version = 0;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_ABI);
    bad = ops;
    bad.struct_size = sizeof ops + 8;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_ABI);
    bad.struct_size = 16;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_ABI);
    bad = ops;
    bad.try_acquire = NULL;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_INVALID);
    bad = ops;
    bad.caps = OF_LOCK_CAP_EXTEND;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_INVALID);
    bad.caps = OF_LOCK_CAP_WAIT;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_INVALID);
    bad.caps = 1u << 30;
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_INVALID);
    bad = ops;
    bad.name = "";
    assert_int_equal(of_lock_provider_create(&bad, &destroyed, &p), OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_create(NULL, &destroyed, &p), OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_create(&ops, &destroyed, NULL), OF_ERR_INVALID);
    assert_ptr_equal(p, (of_lock_provider *)&p);
    assert_int_equal(destroyed, 0); /* refused tables leave self to the caller */

    /* The provider under test's own table passed the same checks; a valid dummy works too, and
     * destroy reaches its destroy step exactly once. */
    assert_int_equal(of_lock_provider_create(&ops, &destroyed, &p), OF_OK);
    assert_string_equal(of_lock_provider_name(p), "dummy");
    of_lock *x = NULL;
    assert_int_equal(of_lock_acquire(p, "n", 1, NULL, &x), OF_ERR_UNAVAILABLE);
    uint32_t ttl = 1000;
    of_lock_options o = opts_with(ttl, 0, OF_LOCK_AUTO_RENEW);
    assert_int_equal(of_lock_acquire(p, "n", 1, &o, &x), OF_ERR_NOT_SUPPORTED);
    of_lock_provider_destroy(p);
    assert_int_equal(destroyed, 1);
    of_lock_provider_destroy(NULL);
}

/* ------------------------------------------------------------------------------------------ */

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int of_conformance_run(const of_conformance_target *target)
{
    if (!target || target->struct_size < sizeof(of_conformance_target) || !target->name ||
        !target->create)
        return -1;
    T = target;
    short_ttl = target->short_ttl_ms ? target->short_ttl_ms : 300;
    slack_ms = 60;
    if (getenv("OF_UNDER_VALGRIND")) {
        short_ttl *= 4;
        slack_ms *= 4;
    }
    const struct CMUnitTest tests[] = {
        CASE(conf_reports_name_and_caps),
        CASE(conf_trylock_busy),
        CASE(conf_wait_times_out_not_before_deadline),
        CASE(conf_waiter_gets_lock_on_release),
        CASE(conf_waiter_takes_over_lapsed_lease),
        CASE(conf_release_by_owner_frees_name),
        CASE(conf_release_after_expiry_keeps_new_owner),
        CASE(conf_release_after_expiry_is_not_owner),
        CASE(conf_extend_keeps_lock_past_ttl),
        CASE(conf_extend_after_expiry_is_not_owner),
        CASE(conf_extend_after_backend_lapse_is_not_owner),
        CASE(conf_fencing_strictly_increases_across_owners),
        CASE(conf_auto_renew_keeps_lock_past_several_ttls),
        CASE(conf_loss_callback_once_when_lease_passes),
        CASE(conf_loss_callback_once_when_taken_over),
        CASE(conf_loss_callback_may_release_its_lock),
        CASE(conf_events_come_in_order_and_match_stats),
        CASE(conf_binary_names_with_nul_bytes),
        CASE(conf_distinct_names_are_independent),
        CASE(conf_token_is_unique_and_renders_as_hex),
        CASE(conf_mutual_exclusion_across_threads),
        CASE(conf_bad_inputs_are_invalid),
        CASE(conf_vtable_with_wrong_abi_is_refused),
    };
    char group[128];
    snprintf(group, sizeof group, "conformance/%s", target->name);
    return _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}

int of_conformance_main(int argc, char **argv, const of_conformance_target *targets,
                        size_t target_count)
{
    const of_conformance_target *t = NULL;
    if (argc >= 2) {
        for (size_t i = 0; i < target_count; i++)
            if (strcmp(targets[i].name, argv[1]) == 0)
                t = &targets[i];
    } else if (target_count == 1) {
        t = &targets[0];
    }
    if (!t) {
        fprintf(stderr, "usage: %s TARGET   (targets:", argc > 0 ? argv[0] : "conformance");
        for (size_t i = 0; i < target_count; i++)
            fprintf(stderr, " %s", targets[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    int failed = of_conformance_run(t);
    return failed == 0 ? 0 : 1;
}
