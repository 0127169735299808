/* Unit tests of the lock engine (src/lock/engine_*.c) through a scripted fake provider: retries,
 * backoff and hints, UNKNOWN vs UNAVAILABLE vs TIMEOUT, the cleanup queue, auto-renew failure
 * modes, fences, step deadlines, stats, configuration, the log hook and the event callback. */
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

#include "common/error.h"
#include "lock/engine.h"

#define NS_PER_MS INT64_C(1000000)
#define MAX_SCRIPT 16
#define MAX_CALLS 4096

typedef struct fake {
    pthread_mutex_t mu;
    /* Scripted answers, consumed in order; the last one repeats. */
    int acq_rc[MAX_SCRIPT];
    int acq_n, acq_i;
    uint32_t acq_hint_ms;
    uint64_t acq_fence;
    int64_t acq_vu_delta_ns; /* added to the pre-set valid_until */
    int rel_rc[MAX_SCRIPT];
    int rel_n, rel_i;
    int ext_rc[MAX_SCRIPT];
    int ext_n, ext_i;
    /* Slow steps: each sleeps this long (release: at most until its deadline). */
    int64_t acq_sleep_ms, ext_sleep_ms, rel_sleep_ms;
    /* Detail set (as a built-in provider would) on a failed try_acquire or extend. */
    const char *acq_detail;
    const char *ext_detail;
    /* Records. */
    int acq_calls, rel_calls, ext_calls, wait_calls, destroyed;
    int64_t last_acq_deadline, last_acq_call_ns, last_wait_until;
    of_lock_token last_acq_token;
    of_lock_token rel_tokens[MAX_CALLS];
    int64_t rel_times[MAX_CALLS];
    int wait_rc;
    pthread_t main_thread;
    int main_rel_calls; /* release calls made on the test's own thread */
} fake;

static int next_rc(const int *script, int n, int *i)
{
    if (n == 0)
        return OF_OK;
    int rc = script[*i < n ? *i : n - 1];
    (*i)++;
    return rc;
}

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

static int f_try(void *self, const void *name, size_t name_len, const of_lock_token *token,
                 uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,
                 int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms)
{
    fake *f = self;
    if (f->acq_sleep_ms)
        sleep_ms(f->acq_sleep_ms);
    pthread_mutex_lock(&f->mu);
    f->acq_calls++;
    f->last_acq_deadline = deadline_ns;
    f->last_acq_call_ns = now_ns();
    f->last_acq_token = *token;
    int rc = next_rc(f->acq_rc, f->acq_n, &f->acq_i);
    if (rc == OF_OK) {
        *out_fence = f->acq_fence ? f->acq_fence : (uint64_t)f->acq_calls;
        *out_valid_until_ns += f->acq_vu_delta_ns;
    } else if (f->acq_hint_ms) {
        *out_retry_after_ms = f->acq_hint_ms;
    }
    if (rc != OF_OK && f->acq_detail)
        rc = ofi_fail(rc, "%s", f->acq_detail);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int f_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                     int64_t deadline_ns)
{
    fake *f = self;
    if (f->rel_sleep_ms) {
        int64_t until = now_ns() + f->rel_sleep_ms * NS_PER_MS;
        if (until > deadline_ns)
            until = deadline_ns;
        int64_t left = until - now_ns();
        if (left > 0)
            sleep_ms(left / NS_PER_MS + 1);
    }
    pthread_mutex_lock(&f->mu);
    if (f->rel_calls < MAX_CALLS) {
        f->rel_tokens[f->rel_calls] = *token;
        f->rel_times[f->rel_calls] = now_ns();
    }
    f->rel_calls++;
    if (pthread_equal(pthread_self(), f->main_thread))
        f->main_rel_calls++;
    int rc = next_rc(f->rel_rc, f->rel_n, &f->rel_i);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int f_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                    uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns)
{
    fake *f = self;
    if (f->ext_sleep_ms)
        sleep_ms(f->ext_sleep_ms);
    pthread_mutex_lock(&f->mu);
    f->ext_calls++;
    int rc = next_rc(f->ext_rc, f->ext_n, &f->ext_i);
    if (rc != OF_OK && f->ext_detail)
        rc = ofi_fail(rc, "%s", f->ext_detail);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int f_wait(void *self, const void *name, size_t name_len, int64_t until_ns)
{
    fake *f = self;
    pthread_mutex_lock(&f->mu);
    f->wait_calls++;
    f->last_wait_until = until_ns;
    int rc = f->wait_rc;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static void f_destroy(void *self)
{
    fake *f = self;
    f->destroyed++;
}

static fake F;
static of_lock_provider *P;
static const char fake_name[] = "fake";

static int make(uint32_t caps)
{
    memset(&F, 0, sizeof F);
    pthread_mutex_init(&F.mu, NULL);
    F.main_thread = pthread_self();
    of_lock_provider_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.abi_version = OF_LOCK_PROVIDER_ABI;
    ops.struct_size = sizeof ops;
    ops.name = fake_name;
    ops.caps = caps;
    ops.try_acquire = f_try;
    ops.release = f_release;
    ops.extend = (caps & OF_LOCK_CAP_EXTEND) ? f_extend : NULL;
    ops.wait_release = (caps & OF_LOCK_CAP_WAIT) ? f_wait : NULL;
    ops.destroy = f_destroy;
    return of_lock_provider_create(&ops, &F, &P);
}

static int setup(void **state)
{
    (void)state;
    return make(OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE) == OF_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (P) {
        of_lock_provider_destroy(P);
        P = NULL;
    }
    assert_int_equal(F.destroyed, 1);
    pthread_mutex_destroy(&F.mu);
    return 0;
}

static void script(int *arr, int *n, int count, ...)
{
    va_list ap;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        arr[i] = va_arg(ap, int);
    va_end(ap);
    *n = count;
}

static of_lock_options opts(uint32_t ttl, int64_t wait, uint32_t flags)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = ttl;
    o.wait_ms = wait;
    o.flags = flags;
    return o;
}

static of_lock_stats stats(void)
{
    of_lock_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(P, &st), OF_OK);
    return st;
}

static int locked_int(int *v)
{
    pthread_mutex_lock(&F.mu);
    int r = *v;
    pthread_mutex_unlock(&F.mu);
    return r;
}

/* ------------------------------------------------------------------------------------------ */

static void engine_busy_is_retried_with_backoff_until_timeout(void **state)
{
    (void)state;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_BUSY);
    of_lock_options o = opts(1000, 200, 0);
    of_lock *l = NULL;
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_TIMEOUT);
    int64_t took = now_ns() - t0;
    assert_true(took >= 200 * NS_PER_MS);
    assert_true(took <= 1200 * NS_PER_MS);
    /* Backoff, not a spin, and not one sleep: the ceiling grows from 1 ms to 100 ms. */
    assert_true(F.acq_calls >= 3);
    assert_true(F.acq_calls < 2000);
    of_lock_stats st = stats();
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.attempts, (uint64_t)F.acq_calls);
    assert_true(st.wait_ns >= 200 * (uint64_t)NS_PER_MS);
}

static void engine_busy_then_free_succeeds(void **state)
{
    (void)state;
    script(F.acq_rc, &F.acq_n, 4, OF_ERR_BUSY, OF_ERR_UNAVAILABLE, OF_ERR_BUSY, OF_OK);
    of_lock_options o = opts(1000, 5000, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    assert_int_equal(F.acq_calls, 4);
    of_lock_token t;
    assert_int_equal(of_lock_token_get(l, &t), OF_OK);
    assert_memory_equal(t.bytes, F.last_acq_token.bytes, 16);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_stats st = stats();
    assert_int_equal(st.acquired, 1);
    assert_int_equal(st.attempts, 4);
    assert_int_equal(st.released, 1);
}

static void engine_wait_zero_returns_busy_or_unavailable_at_once(void **state)
{
    (void)state;
    of_lock *l = NULL;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_BUSY);
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_ERR_BUSY);
    F.acq_i = 0;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNAVAILABLE);
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_ERR_UNAVAILABLE);
    assert_int_equal(F.acq_calls, 2);
    assert_null(l);
    of_lock_stats st = stats();
    assert_int_equal(st.busy, 1);
    assert_int_equal(st.errors, 1);
}

static void engine_unavailable_retried_until_timeout(void **state)
{
    (void)state;
    /* The backend stays down for the whole wait: not one attempt reached it, so the answer is
     * UNAVAILABLE ("the backend is down"), never TIMEOUT ("someone holds it"), and the detail
     * keeps the provider's last cause. */
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNAVAILABLE);
    F.acq_detail = "connect to 127.0.0.1:1: Connection refused";
    of_lock_options o = opts(1000, 120, 0);
    of_lock *l = NULL;
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_UNAVAILABLE);
    assert_true(now_ns() - t0 >= 120 * NS_PER_MS);
    assert_true(F.acq_calls >= 2);
    assert_non_null(strstr(of_last_error_detail(), "connect to 127.0.0.1:1: Connection refused"));
    assert_null(l);
    of_lock_stats st = stats();
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.attempts, (uint64_t)F.acq_calls);
}

static void engine_timeout_after_busy_keeps_last_cause(void **state)
{
    (void)state;
    /* One attempt reached the backend (BUSY), the rest found it down: TIMEOUT, and the detail
     * still names the last cause. */
    script(F.acq_rc, &F.acq_n, 2, OF_ERR_BUSY, OF_ERR_UNAVAILABLE);
    F.acq_detail = "connect to 127.0.0.1:1: Connection refused";
    of_lock_options o = opts(1000, 100, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_TIMEOUT);
    assert_non_null(strstr(of_last_error_detail(), "Connection refused"));
    assert_int_equal(stats().timeouts, 1);

    /* Held the whole time, with the holder's remaining lease as the hint: the detail says it. */
    F.acq_i = 0;
    F.acq_detail = NULL;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_BUSY);
    F.acq_hint_ms = 4321;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_TIMEOUT);
    assert_non_null(strstr(of_last_error_detail(), "4321 ms"));
    assert_int_equal(stats().timeouts, 2);
}

static void engine_busy_detail_names_remaining_lease(void **state)
{
    (void)state;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_BUSY);
    F.acq_hint_ms = 2750;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_ERR_BUSY);
    assert_non_null(strstr(of_last_error_detail(), "held by another owner"));
    assert_non_null(strstr(of_last_error_detail(), "2750 ms"));
    /* Without a hint the detail still says why. */
    F.acq_hint_ms = 0;
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_ERR_BUSY);
    assert_non_null(strstr(of_last_error_detail(), "held by another owner"));
    assert_null(l);
}

static void never_lost(of_lock *lock, int status, void *ctx)
{
    (void)lock;
    (void)status;
    (*(int *)ctx)++;
}

static void engine_on_lost_without_auto_renew_is_invalid(void **state)
{
    (void)state;
    int ctx = 0;
    of_lock_options o = opts(1000, 0, 0);
    o.on_lost = never_lost;
    o.on_lost_ctx = &ctx;
    of_lock *l = (of_lock *)&l;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_INVALID);
    assert_non_null(strstr(of_last_error_detail(), "OF_LOCK_AUTO_RENEW"));
    assert_ptr_equal(l, (of_lock *)&l);
    assert_int_equal(F.acq_calls, 0);
    /* With auto-renew it is accepted. */
    o.flags = OF_LOCK_AUTO_RENEW;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_unknown_returns_at_once_and_queues_cleanup(void **state)
{
    (void)state;
    /* The acquire's fate is unknown: the engine returns UNKNOWN at once (never TIMEOUT, though
     * the wait is long) and keeps releasing our token until ttl has passed since the attempt,
     * even through NOT_OWNER answers (a stalled request may land late). */
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 1, OF_ERR_NOT_OWNER);
    const uint32_t ttl = 400;
    of_lock_options o = opts(ttl, 60000, 0);
    of_lock *l = NULL;
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_UNKNOWN);
    assert_true(now_ns() - t0 < 2000 * NS_PER_MS);
    assert_int_equal(F.acq_calls, 1);
    assert_null(l);
    of_lock_token tok = F.last_acq_token;
    /* Wait until the queue drained (ttl + a generous margin). */
    int64_t end = now_ns() + (ttl + 3000) * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(10);
    assert_int_equal(ofi_lock_provider_cleanup_pending(P), 0);
    int calls = locked_int(&F.rel_calls);
    assert_true(calls >= 2);
    for (int i = 0; i < calls && i < MAX_CALLS; i++)
        assert_memory_equal(F.rel_tokens[i].bytes, tok.bytes, 16);
    /* The last try came no earlier than ttl after the attempt. */
    assert_true(F.rel_times[calls - 1] - F.last_acq_call_ns >= (int64_t)ttl * NS_PER_MS);
    of_lock_stats st = stats();
    assert_int_equal(st.cleanups_queued, 1);
    assert_int_equal(st.cleanups_dropped, 1);
    assert_int_equal(st.cleanups_done, 0);
    assert_int_equal(st.errors, 1);
}

static void engine_cleanup_stops_once_release_succeeds(void **state)
{
    (void)state;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 3, OF_ERR_UNAVAILABLE, OF_ERR_NOT_OWNER, OF_OK);
    of_lock_options o = opts(60000, 0, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_UNKNOWN);
    int64_t end = now_ns() + 5000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(ofi_lock_provider_cleanup_pending(P), 0);
    assert_int_equal(locked_int(&F.rel_calls), 3);
    sleep_ms(100);
    assert_int_equal(locked_int(&F.rel_calls), 3);
    of_lock_stats st = stats();
    assert_int_equal(st.cleanups_done, 1);
}

static void engine_destroy_makes_one_last_cleanup_attempt(void **state)
{
    (void)state;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 1, OF_ERR_UNAVAILABLE);
    of_lock_options o = opts(60000, 0, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_UNKNOWN);
    sleep_ms(30);
    assert_true(locked_int(&F.rel_calls) >= 1); /* the engine thread's tries */
    assert_int_equal(locked_int(&F.main_rel_calls), 0);
    assert_int_equal(ofi_lock_provider_cleanup_pending(P), 1);
    of_lock_provider_destroy(P);
    P = NULL; /* a failing assert below must not make the teardown destroy it again */
    /* Exactly one more, made by destroy on this thread, then the provider's destroy. */
    assert_int_equal(F.main_rel_calls, 1);
    assert_int_equal(F.destroyed, 1);
    /* Re-create so the teardown has a provider to destroy. */
    pthread_mutex_destroy(&F.mu);
    assert_int_equal(make(OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE), OF_OK);
}

static void set_backoff(uint32_t base_ms, uint32_t cap_ms)
{
    of_lock_provider_config cfg;
    assert_int_equal(of_lock_provider_config_init(&cfg, sizeof cfg), OF_OK);
    cfg.backoff_base_ms = base_ms;
    cfg.backoff_cap_ms = cap_ms;
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
}

static void engine_retry_after_hint_caps_backoff(void **state)
{
    (void)state;
    /* A 5 ms hint under a 2 s backoff ceiling: every pause is at most 5 ms, so three retries fit
     * easily in a 1.5 s wait. (Ignoring the hint, three pauses drawn from [0, 2 s] overrun it
     * nearly always.) */
    set_backoff(2000, 2000);
    script(F.acq_rc, &F.acq_n, 4, OF_ERR_BUSY, OF_ERR_BUSY, OF_ERR_BUSY, OF_OK);
    F.acq_hint_ms = 5;
    of_lock_options o = opts(1000, 1500, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    assert_int_equal(F.acq_calls, 4);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_hint_never_lengthens_backoff(void **state)
{
    (void)state;
    /* A 60 s hint with a 1 ms backoff ceiling: the engine keeps its short jittered pauses (the
     * holder may release long before its lease ends), so the lock is taken within the wait. */
    set_backoff(1, 1);
    script(F.acq_rc, &F.acq_n, 3, OF_ERR_BUSY, OF_ERR_BUSY, OF_OK);
    F.acq_hint_ms = 60000;
    of_lock_options o = opts(1000, 1500, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    assert_int_equal(F.acq_calls, 3);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_hint_never_outlasts_the_deadline(void **state)
{
    (void)state;
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_BUSY);
    F.acq_hint_ms = 60000;
    of_lock_options o = opts(1000, 150, 0);
    of_lock *l = NULL;
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_TIMEOUT);
    int64_t took = now_ns() - t0;
    assert_true(took >= 150 * NS_PER_MS);
    assert_true(took <= 1150 * NS_PER_MS);
}

static void engine_uses_wait_release_with_the_deadline(void **state)
{
    (void)state;
    of_lock_provider_destroy(P);
    pthread_mutex_destroy(&F.mu);
    assert_int_equal(make(OF_LOCK_CAP_TTL | OF_LOCK_CAP_WAIT), OF_OK);
    script(F.acq_rc, &F.acq_n, 3, OF_ERR_BUSY, OF_ERR_BUSY, OF_OK);
    F.wait_rc = OF_OK;
    of_lock_options o = opts(1000, 3000, 0);
    of_lock *l = NULL;
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    assert_int_equal(F.wait_calls, 2);
    assert_true(F.last_wait_until >= t0 + 3000 * NS_PER_MS);
    assert_true(F.last_wait_until <= now_ns() + 3000 * NS_PER_MS);
    uint64_t fence = 5;
    assert_int_equal(of_lock_fence(l, &fence), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(fence, 5);
    assert_int_equal(of_lock_extend(l, 1000), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_step_deadline_follows_config(void **state)
{
    (void)state;
    of_lock_provider_config cfg;
    assert_int_equal(of_lock_provider_config_init(&cfg, sizeof cfg), OF_OK);
    assert_int_equal(cfg.step_timeout_ms, 5000);
    cfg.step_timeout_ms = 1234;
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
    of_lock *l = NULL;
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_OK);
    int64_t t1 = now_ns();
    /* now + step, where "now" may be the coarse clock (up to a tick behind). */
    assert_true(F.last_acq_deadline <= t1 + 1234 * NS_PER_MS);
    assert_true(F.last_acq_deadline >= t0 + 1234 * NS_PER_MS - 50 * NS_PER_MS);
    assert_int_equal(of_lock_release(l), OF_OK);

    of_lock_provider_config bad = cfg;
    bad.step_timeout_ms = 0;
    assert_int_equal(of_lock_provider_configure(P, &bad), OF_ERR_INVALID);
    bad = cfg;
    bad.backoff_base_ms = 500;
    bad.backoff_cap_ms = 100;
    assert_int_equal(of_lock_provider_configure(P, &bad), OF_ERR_INVALID);
    bad = cfg;
    bad.log_level = 9;
    assert_int_equal(of_lock_provider_configure(P, &bad), OF_ERR_INVALID);
    bad = cfg;
    bad.struct_size = 8;
    assert_int_equal(of_lock_provider_configure(P, &bad), OF_ERR_ABI);
    assert_int_equal(of_lock_provider_configure(NULL, &cfg), OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_config_init(&cfg, 3), OF_ERR_ABI);
    assert_int_equal(of_lock_provider_config_size(), sizeof(of_lock_provider_config));
}

static void engine_bad_fence_from_provider_is_protocol(void **state)
{
    (void)state;
    F.acq_fence = OF_LOCK_FENCE_MAX + 1;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_ERR_PROTOCOL);
    assert_null(l);
    /* The lease it did take is handed back. */
    assert_int_equal(F.rel_calls, 1);
    assert_memory_equal(F.rel_tokens[0].bytes, F.last_acq_token.bytes, 16);
    F.acq_fence = OF_LOCK_FENCE_MAX;
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_OK);
    uint64_t fence = 0;
    assert_int_equal(of_lock_fence(l, &fence), OF_OK);
    assert_int_equal(fence, OF_LOCK_FENCE_MAX);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_provider_may_only_lower_valid_until(void **state)
{
    (void)state;
    of_lock_options o = opts(10000, 0, 0);
    of_lock *l = NULL;
    F.acq_vu_delta_ns = -2000 * NS_PER_MS;
    int64_t t1;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    t1 = now_ns();
    assert_true(of_lock_valid_until_ns(l) <= t1 + 8000 * NS_PER_MS);
    assert_int_equal(of_lock_release(l), OF_OK);
    F.acq_vu_delta_ns = 60000 * NS_PER_MS;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    t1 = now_ns();
    assert_true(of_lock_valid_until_ns(l) <= t1 + 10000 * NS_PER_MS);
    assert_true(of_lock_valid_until_ns(l) >= t1 + 9000 * NS_PER_MS);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_extend_outcomes(void **state)
{
    (void)state;
    of_lock_options o = opts(10000, 0, 0);
    of_lock *l = NULL;
    /* UNAVAILABLE: nothing sent, the old lease stands. */
    script(F.ext_rc, &F.ext_n, 1, OF_ERR_UNAVAILABLE);
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    int64_t vu = of_lock_valid_until_ns(l);
    assert_int_equal(of_lock_extend(l, 20000), OF_ERR_UNAVAILABLE);
    assert_false(of_lock_is_lost(l));
    assert_int_equal(of_lock_valid_until_ns(l), vu);
    /* UNKNOWN: the lease's end is unknown: lost, and a cleanup is queued. */
    F.ext_i = 0;
    script(F.ext_rc, &F.ext_n, 1, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 1, OF_ERR_UNAVAILABLE);
    assert_int_equal(of_lock_extend(l, 20000), OF_ERR_UNKNOWN);
    assert_true(of_lock_is_lost(l));
    assert_int_equal(of_lock_extend(l, 20000), OF_ERR_LOST);
    assert_int_equal(F.ext_calls, 2);
    of_lock_stats st = stats();
    assert_int_equal(st.cleanups_queued, 1);
    assert_int_equal(st.lost, 1);
    /* Release of a lost handle still frees it (ASan/valgrind check) and answers LOST; its
     * UNAVAILABLE answer queues another cleanup. */
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
    st = stats();
    assert_int_equal(st.cleanups_queued, 2);
}

static void engine_extend_after_valid_until_skips_backend(void **state)
{
    (void)state;
    of_lock_options o = opts(50, 0, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    sleep_ms(80);
    assert_true(now_ns() >= of_lock_valid_until_ns(l));
    assert_int_equal(of_lock_extend(l, 1000), OF_ERR_NOT_OWNER);
    assert_int_equal(F.ext_calls, 0);
    assert_true(of_lock_is_lost(l));
    assert_int_equal(of_lock_extend(l, 1000), OF_ERR_LOST);
    assert_int_equal(F.ext_calls, 0);
    /* Release still asks the backend (our stale lease may still be there). */
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
    assert_int_equal(F.rel_calls, 1);
}

static void engine_release_unknown_queues_cleanup(void **state)
{
    (void)state;
    script(F.rel_rc, &F.rel_n, 2, OF_ERR_UNKNOWN, OF_OK);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_ERR_UNKNOWN);
    int64_t end = now_ns() + 3000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(locked_int(&F.rel_calls), 2);
    assert_int_equal(stats().cleanups_done, 1);
}

typedef struct loss {
    atomic_int calls;
    atomic_int status;
} loss;

static void on_lost(of_lock *lock, int status, void *ctx)
{
    loss *r = ctx;
    atomic_store(&r->status, status);
    atomic_fetch_add(&r->calls, 1);
}

static void engine_renewal_unknown_loses_lock_and_cleans_up(void **state)
{
    (void)state;
    script(F.ext_rc, &F.ext_n, 2, OF_OK, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 1, OF_OK);
    loss r = {0};
    of_lock_options o = opts(150, 0, OF_LOCK_AUTO_RENEW);
    o.on_lost = on_lost;
    o.on_lost_ctx = &r;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    int64_t end = now_ns() + 5000 * NS_PER_MS;
    while (atomic_load(&r.calls) == 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(atomic_load(&r.calls), 1);
    assert_int_equal(atomic_load(&r.status), OF_ERR_UNKNOWN);
    assert_true(of_lock_is_lost(l));
    assert_int_equal(locked_int(&F.ext_calls), 2);
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(stats().cleanups_done, 1);
    sleep_ms(200);
    assert_int_equal(atomic_load(&r.calls), 1);
    assert_int_equal(locked_int(&F.ext_calls), 2);
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
}

static void engine_transient_renewal_failure_is_retried(void **state)
{
    (void)state;
    script(F.ext_rc, &F.ext_n, 3, OF_ERR_UNAVAILABLE, OF_ERR_UNAVAILABLE, OF_OK);
    loss r = {0};
    of_lock_options o = opts(600, 0, OF_LOCK_AUTO_RENEW);
    o.on_lost = on_lost;
    o.on_lost_ctx = &r;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    int64_t vu0 = of_lock_valid_until_ns(l);
    int64_t end = now_ns() + 5000 * NS_PER_MS;
    while (locked_int(&F.ext_calls) < 4 && now_ns() < end)
        sleep_ms(5);
    assert_true(locked_int(&F.ext_calls) >= 4);
    assert_false(of_lock_is_lost(l));
    assert_true(of_lock_valid_until_ns(l) > vu0);
    assert_int_equal(atomic_load(&r.calls), 0);
    assert_true(stats().errors >= 2);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_user_extend_on_renewed_lock(void **state)
{
    (void)state;
    loss r = {0};
    of_lock_options o = opts(300, 0, OF_LOCK_AUTO_RENEW);
    o.on_lost = on_lost;
    o.on_lost_ctx = &r;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(of_lock_extend(l, 300), OF_OK);
        sleep_ms(10);
    }
    /* A NOT_OWNER from the user's extend marks it lost; the callback stays silent (the caller
     * already knows) and renewals stop. */
    script(F.ext_rc, &F.ext_n, 1, OF_ERR_NOT_OWNER);
    F.ext_i = 0;
    assert_int_equal(of_lock_extend(l, 300), OF_ERR_NOT_OWNER);
    int calls = locked_int(&F.ext_calls);
    sleep_ms(300);
    assert_int_equal(locked_int(&F.ext_calls), calls);
    assert_int_equal(atomic_load(&r.calls), 0);
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
}

typedef struct log_rec {
    pthread_mutex_t mu;
    int lines;
    int max_level;
    char last[256];
    char all[8192]; /* every line, one per row */
} log_rec;

static void log_hook(void *ctx, int level, const char *msg)
{
    log_rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->lines++;
    if (level > r->max_level)
        r->max_level = level;
    snprintf(r->last, sizeof r->last, "%s", msg);
    size_t n = strlen(r->all);
    snprintf(r->all + n, sizeof r->all - n, "%s\n", msg);
    pthread_mutex_unlock(&r->mu);
}

static void engine_log_hook_gets_formatted_lines(void **state)
{
    (void)state;
    log_rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    of_lock_provider_config cfg;
    of_lock_provider_config_init(&cfg, sizeof cfg);
    cfg.log = log_hook;
    cfg.log_ctx = &r;
    cfg.log_level = OF_LOCK_LOG_WARN;
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
    of_lock_provider_log(P, OF_LOCK_LOG_DEBUG, "dropped");
    assert_int_equal(r.lines, 0);
    of_lock_provider_log(P, OF_LOCK_LOG_ERROR, "kept");
    assert_int_equal(r.lines, 1);
    assert_string_equal(r.last, "kept");
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 1, OF_OK);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "na\001me", 6, NULL, &l), OF_ERR_UNKNOWN);
    pthread_mutex_lock(&r.mu);
    assert_true(r.lines >= 2);
    assert_true(strstr(r.last, "unknown") != NULL || strstr(r.last, "cleanup") != NULL);
    assert_true(strstr(r.last, "na\\x01me") != NULL);
    assert_true(r.max_level <= OF_LOCK_LOG_WARN);
    pthread_mutex_unlock(&r.mu);
    /* Removing the hook silences it. */
    of_lock_provider_config_init(&cfg, sizeof cfg);
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
    int lines = r.lines;
    of_lock_provider_log(P, OF_LOCK_LOG_ERROR, "silent");
    of_lock_provider_log(NULL, OF_LOCK_LOG_ERROR, "no-op");
    assert_int_equal(r.lines, lines);
    int64_t end = now_ns() + 3000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(5);
}

static void engine_tokens_are_fresh_per_acquire(void **state)
{
    (void)state;
    of_lock_token seen[64];
    for (int i = 0; i < 64; i++) {
        of_lock *l = NULL;
        assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_OK);
        assert_int_equal(of_lock_token_get(l, &seen[i]), OF_OK);
        assert_int_equal(of_lock_release(l), OF_OK);
        for (int j = 0; j < i; j++)
            assert_memory_not_equal(seen[i].bytes, seen[j].bytes, 16);
    }
    char hex[OF_LOCK_TOKEN_HEX_LEN + 1];
    of_lock_token z;
    memset(&z, 0xab, sizeof z);
    of_lock_token_to_hex(&z, hex);
    assert_string_equal(hex, "abababababababababababababababab");
}

static void engine_handle_survives_release_from_another_thread(void **state);

static void *release_it(void *arg)
{
    return (void *)(intptr_t)of_lock_release(arg);
}

static void engine_handle_survives_release_from_another_thread(void **state)
{
    (void)state;
    of_lock_options o = opts(1000, 0, OF_LOCK_AUTO_RENEW);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    pthread_t th;
    void *ret = NULL;
    assert_int_equal(pthread_create(&th, NULL, release_it, l), 0);
    pthread_join(th, &ret);
    assert_int_equal((int)(intptr_t)ret, OF_OK);
}


static void hook_logs(log_rec *r, int level)
{
    of_lock_provider_config cfg;
    of_lock_provider_config_init(&cfg, sizeof cfg);
    cfg.log = log_hook;
    cfg.log_ctx = r;
    cfg.log_level = level;
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
}

static int logged(log_rec *r, const char *needle)
{
    pthread_mutex_lock(&r->mu);
    int found = strstr(r->all, needle) != NULL;
    pthread_mutex_unlock(&r->mu);
    return found;
}

static void engine_release_unavailable_log_says_not_sent(void **state)
{
    (void)state;
    log_rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    hook_logs(&r, OF_LOCK_LOG_WARN);
    script(F.rel_rc, &F.rel_n, 2, OF_ERR_UNAVAILABLE, OF_OK);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_ERR_UNAVAILABLE);
    assert_non_null(strstr(of_last_error_detail(), "cleanup queued"));
    /* Nothing was sent: the line says so, and does not call it an unknown outcome. */
    assert_true(logged(&r, "not sent"));
    assert_false(logged(&r, "unknown"));
    int64_t end = now_ns() + 3000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(stats().cleanups_done, 1);
}

static void engine_release_auth_queues_cleanup(void **state)
{
    (void)state;
    /* AUTH (refused before it ran) leaves the lease in place, like UNAVAILABLE: a cleanup keeps
     * trying to delete it. */
    script(F.rel_rc, &F.rel_n, 3, OF_ERR_AUTH, OF_ERR_AUTH, OF_OK);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_OK);
    of_lock_token tok;
    assert_int_equal(of_lock_token_get(l, &tok), OF_OK);
    assert_int_equal(of_lock_release(l), OF_ERR_AUTH);
    assert_int_equal(stats().cleanups_queued, 1);
    int64_t end = now_ns() + 3000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(ofi_lock_provider_cleanup_pending(P), 0);
    assert_int_equal(locked_int(&F.rel_calls), 3);
    assert_memory_equal(F.rel_tokens[2].bytes, tok.bytes, 16);
    assert_int_equal(stats().cleanups_done, 1);
    /* NOT_OWNER is final: no cleanup. */
    F.rel_i = 0;
    script(F.rel_rc, &F.rel_n, 1, OF_ERR_NOT_OWNER);
    assert_int_equal(of_lock_acquire(P, "x", 1, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_ERR_NOT_OWNER);
    assert_int_equal(stats().cleanups_queued, 1);
}

static void engine_late_grant_is_unknown_and_released(void **state)
{
    (void)state;
    /* The reply says OK but the lease it granted ended before the reply came. */
    of_lock_options o = opts(100, 0, 0);
    F.acq_vu_delta_ns = -150 * NS_PER_MS;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_UNKNOWN);
    assert_null(l);
    assert_non_null(strstr(of_last_error_detail(), "after its lease ended"));
    assert_int_equal(F.rel_calls, 1);
    assert_memory_equal(F.rel_tokens[0].bytes, F.last_acq_token.bytes, 16);
    of_lock_stats st = stats();
    assert_int_equal(st.acquired, 0);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.cleanups_queued, 0); /* released at once */

    /* A try_acquire that takes longer than the TTL (a trickling reply), with a long wait: still
     * UNKNOWN at once; here the release is not confirmed, so a cleanup is queued. */
    F.acq_vu_delta_ns = 0;
    F.acq_sleep_ms = 80;
    script(F.rel_rc, &F.rel_n, 2, OF_ERR_UNAVAILABLE, OF_OK);
    o = opts(30, 60000, 0);
    int64_t t0 = now_ns();
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_UNKNOWN);
    assert_true(now_ns() - t0 < 2000 * NS_PER_MS);
    assert_non_null(strstr(of_last_error_detail(), "cleanup queued"));
    assert_int_equal(stats().cleanups_queued, 1);
    F.acq_sleep_ms = 0;
    int64_t end = now_ns() + 3000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(P) > 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(stats().cleanups_done, 1);

    /* A grant that arrives in time is kept. */
    o = opts(5000, 0, 0);
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
}

static void engine_late_extend_is_not_success(void **state)
{
    (void)state;
    of_lock_options o = opts(5000, 0, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    F.ext_sleep_ms = 80;
    assert_int_equal(of_lock_extend(l, 30), OF_ERR_UNKNOWN);
    assert_non_null(strstr(of_last_error_detail(), "after the extended lease ended"));
    assert_true(of_lock_is_lost(l));
    assert_int_equal(stats().cleanups_queued, 1);
    F.ext_sleep_ms = 0;
    assert_int_equal(of_lock_extend(l, 1000), OF_ERR_LOST);
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
}

static void engine_late_renewal_loses_the_lock(void **state)
{
    (void)state;
    /* Every renewal answers OK, but only after the lease it set has ended: the lock is lost
     * (UNKNOWN), not kept alive on answers that came too late. */
    loss r = {0};
    of_lock_options o = opts(60, 0, OF_LOCK_AUTO_RENEW);
    o.on_lost = on_lost;
    o.on_lost_ctx = &r;
    of_lock *l = NULL;
    F.ext_sleep_ms = 90;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    int64_t end = now_ns() + 5000 * NS_PER_MS;
    while (atomic_load(&r.calls) == 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(atomic_load(&r.calls), 1);
    assert_int_equal(atomic_load(&r.status), OF_ERR_UNKNOWN);
    assert_true(of_lock_is_lost(l));
    assert_true(stats().cleanups_queued >= 1);
    F.ext_sleep_ms = 0;
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
}

typedef struct timed_release {
    of_lock *l;
    atomic_int done;
    int rc;
    int64_t took_ns;
} timed_release;

static void *release_timed(void *arg)
{
    timed_release *t = arg;
    int64_t t0 = now_ns();
    t->rc = of_lock_release(t->l);
    t->took_ns = now_ns() - t0;
    atomic_store(&t->done, 1);
    return NULL;
}

static void engine_release_gets_in_between_slow_renewals(void **state)
{
    (void)state;
    /* Renewals take longer than ttl/3, so one is always overdue when the last one ends. A
     * release must still get in after at most the renewal in flight. */
    const int64_t ext_ms = 150;
    of_lock_options o = opts(300, 0, OF_LOCK_AUTO_RENEW);
    of_lock *l = NULL;
    F.ext_sleep_ms = ext_ms;
    assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_OK);
    int64_t end = now_ns() + 5000 * NS_PER_MS;
    while (locked_int(&F.ext_calls) < 2 && now_ns() < end)
        sleep_ms(5);
    assert_true(locked_int(&F.ext_calls) >= 2);
    timed_release t = {.l = l};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, release_timed, &t), 0);
    /* The no-hang bound: one extend plus a generous margin. */
    end = now_ns() + (ext_ms + 1500) * NS_PER_MS;
    while (!atomic_load(&t.done) && now_ns() < end)
        sleep_ms(5);
    int in_time = atomic_load(&t.done);
    if (!in_time) {
        /* Let the stuck release finish so the case can fail cleanly. */
        pthread_mutex_lock(&F.mu);
        F.ext_i = 0;
        script(F.ext_rc, &F.ext_n, 1, OF_ERR_NOT_OWNER);
        pthread_mutex_unlock(&F.mu);
    }
    pthread_join(th, NULL);
    F.ext_sleep_ms = 0;
    assert_true(in_time);
    assert_int_equal(t.rc, OF_OK);
    assert_true(t.took_ns <= (ext_ms + 1500) * NS_PER_MS);
}

static void engine_destroy_has_one_budget_for_all_cleanups(void **state)
{
    (void)state;
    /* 20 unknown outcomes against a backend whose every release hangs to its deadline: destroy
     * makes one last attempt for all of them together within one step timeout, not one each. */
    of_lock_provider_config cfg;
    assert_int_equal(of_lock_provider_config_init(&cfg, sizeof cfg), OF_OK);
    cfg.step_timeout_ms = 200;
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 1, OF_ERR_UNKNOWN);
    F.rel_sleep_ms = 200;
    of_lock_options o = opts(60000, 0, 0);
    for (int i = 0; i < 20; i++) {
        of_lock *l = NULL;
        assert_int_equal(of_lock_acquire(P, "x", 1, &o, &l), OF_ERR_UNKNOWN);
    }
    assert_true(ofi_lock_provider_cleanup_pending(P) >= 19);
    int64_t t0 = now_ns();
    of_lock_provider_destroy(P);
    P = NULL;
    int64_t took = now_ns() - t0;
    /* Joining the engine thread may wait out its release in flight (one step), then one step
     * for everything: far below 20 steps (4 s). */
    assert_true(took <= (2 * 200 + 1000) * NS_PER_MS);
    assert_int_equal(F.destroyed, 1);
    pthread_mutex_destroy(&F.mu);
    assert_int_equal(make(OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE), OF_OK);
}

static void engine_destroy_with_held_handles_warns_and_frees_them(void **state)
{
    (void)state;
    log_rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    hook_logs(&r, OF_LOCK_LOG_WARN);
    of_lock *a = NULL, *b = NULL, *c = NULL;
    of_lock_options plain = opts(60000, 0, 0);
    of_lock_options renewed = opts(60000, 0, OF_LOCK_AUTO_RENEW);
    assert_int_equal(of_lock_acquire(P, "a", 1, &plain, &a), OF_OK);
    assert_int_equal(of_lock_acquire(P, "b", 1, &renewed, &b), OF_OK);
    assert_int_equal(of_lock_acquire(P, "c", 1, &plain, &c), OF_OK);
    of_lock_token ta, tb, tc;
    of_lock_token_get(a, &ta);
    of_lock_token_get(b, &tb);
    of_lock_token_get(c, &tc);
    /* One released properly: it is not counted. */
    assert_int_equal(of_lock_release(c), OF_OK);
    int before = F.rel_calls;
    of_lock_provider_destroy(P);
    P = NULL;
    /* The caller is told, with the count and the fate of the handles... */
    assert_true(logged(&r, "2 lock(s) still held (1 auto-renewed)"));
    assert_true(logged(&r, "freed"));
    /* ...their leases were handed back (the handles' memory is freed: ASan/valgrind check). */
    assert_int_equal(F.rel_calls - before, 2);
    int seen_a = 0, seen_b = 0;
    for (int i = before; i < F.rel_calls; i++) {
        seen_a |= memcmp(F.rel_tokens[i].bytes, ta.bytes, 16) == 0;
        seen_b |= memcmp(F.rel_tokens[i].bytes, tb.bytes, 16) == 0;
    }
    assert_true(seen_a && seen_b);
    assert_int_equal(F.destroyed, 1);
    pthread_mutex_destroy(&F.mu);
    assert_int_equal(make(OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE), OF_OK);
}

/* A backend with real state and no wait_release (like Redis): one holder token, its lease end,
 * BUSY with the remaining lease as the hint. Waiters can only poll it. */
typedef struct poll_backend {
    pthread_mutex_t mu;
    int held;
    of_lock_token holder;
    int64_t expires;
} poll_backend;

static poll_backend PB = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int pb_try(void *self, const void *name, size_t name_len, const of_lock_token *token,
                  uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,
                  int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms)
{
    poll_backend *b = self;
    pthread_mutex_lock(&b->mu);
    int64_t now = now_ns();
    if (b->held && now < b->expires) {
        int64_t left = (b->expires - now) / NS_PER_MS;
        *out_retry_after_ms = left > 0 ? (uint32_t)left : 1;
        pthread_mutex_unlock(&b->mu);
        return OF_ERR_BUSY;
    }
    b->held = 1;
    b->holder = *token;
    b->expires = *out_valid_until_ns;
    *out_fence = 1;
    pthread_mutex_unlock(&b->mu);
    return OF_OK;
}

static int pb_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                      int64_t deadline_ns)
{
    poll_backend *b = self;
    pthread_mutex_lock(&b->mu);
    int ours = b->held && memcmp(b->holder.bytes, token->bytes, 16) == 0;
    if (ours)
        b->held = 0;
    pthread_mutex_unlock(&b->mu);
    return ours ? OF_OK : OF_ERR_NOT_OWNER;
}

static int pb_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                     uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns)
{
    poll_backend *b = self;
    pthread_mutex_lock(&b->mu);
    int ours = b->held && memcmp(b->holder.bytes, token->bytes, 16) == 0 && now_ns() < b->expires;
    if (ours)
        b->expires = *out_valid_until_ns;
    pthread_mutex_unlock(&b->mu);
    return ours ? OF_OK : OF_ERR_NOT_OWNER;
}

typedef struct barger {
    of_lock_provider *p;
    atomic_int stop;
    atomic_int cycles; /* release + re-acquire cycles */
    atomic_int errors;
} barger;

/* Holds the name, releases it and takes it again at once, in a loop: the pattern that starved
 * a waiter when a new acquire could overtake one that was already waiting. */
static void *barge(void *arg)
{
    barger *g = arg;
    of_lock_options o = opts(900, 10000, OF_LOCK_AUTO_RENEW);
    while (!atomic_load(&g->stop)) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(g->p, "job", 3, &o, &l);
        if (rc != OF_OK) {
            if (rc != OF_ERR_TIMEOUT)
                atomic_fetch_add(&g->errors, 1);
            continue;
        }
        sleep_ms(30);
        if (of_lock_release(l) != OF_OK)
            atomic_fetch_add(&g->errors, 1);
        atomic_fetch_add(&g->cycles, 1);
    }
    return NULL;
}

static void check_waiter_not_starved(of_lock_provider *p)
{
    barger g = {.p = p};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, barge, &g), 0);
    int64_t end = now_ns() + 3000 * NS_PER_MS;
    while (atomic_load(&g.cycles) < 2 && now_ns() < end)
        sleep_ms(1);
    /* The waiter: both auto-renewed, no fault anywhere. It must get the name within a few of
     * the other's release cycles (it queues first, so the next one). */
    for (int round = 0; round < 3; round++) {
        of_lock_options o = opts(900, 4000, OF_LOCK_AUTO_RENEW);
        of_lock *l = NULL;
        int c0 = atomic_load(&g.cycles);
        int rc = of_lock_acquire(p, "job", 3, &o, &l);
        int waited_cycles = atomic_load(&g.cycles) - c0;
        if (rc != OF_OK) {
            atomic_store(&g.stop, 1);
            pthread_join(th, NULL);
            fail_msg("waiter got %s after %d release cycles: %s", of_status_name(rc),
                     waited_cycles, of_last_error_detail());
        }
        assert_true(waited_cycles <= 3);
        sleep_ms(30);
        assert_int_equal(of_lock_release(l), OF_OK);
        sleep_ms(60);
    }
    atomic_store(&g.stop, 1);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&g.errors), 0);
}

static void engine_waiter_not_starved_by_reacquiring_holder_polling(void **state)
{
    (void)state;
    of_lock_provider_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.abi_version = OF_LOCK_PROVIDER_ABI;
    ops.struct_size = sizeof ops;
    ops.name = "poll";
    ops.caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE;
    ops.try_acquire = pb_try;
    ops.release = pb_release;
    ops.extend = pb_extend;
    of_lock_provider *p = NULL;
    PB.held = 0;
    assert_int_equal(of_lock_provider_create(&ops, &PB, &p), OF_OK);
    check_waiter_not_starved(p);
    of_lock_provider_destroy(p);
}

static void engine_waiter_not_starved_by_reacquiring_holder_local(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    check_waiter_not_starved(p);
    of_lock_provider_destroy(p);
}

/* A provider's own functions get their self back only with their own ops name pointer. */
static void engine_provider_self_needs_the_ops_name_pointer(void **state)
{
    (void)state;
    assert_ptr_equal(of_lock_provider_self(P, fake_name), &F);
    char same_text[] = "fake";
    assert_null(of_lock_provider_self(P, same_text));
    assert_null(of_lock_provider_self(NULL, fake_name));
    assert_null(of_lock_provider_self(P, NULL));
    assert_int_equal(of_lock_provider_pause_renewals(NULL, 1), OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_pause_renewals(P, 1), OF_OK);
    assert_int_equal(of_lock_provider_pause_renewals(P, 0), OF_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* the event callback                                                                           */

#define MAX_EVENTS 256

typedef struct ev_rec {
    int kind, status;
    uint64_t fence;
    int64_t vu;
    int on_main; /* delivered on the test's own thread */
    int malformed; /* struct_size, reserved0 or the name's NUL not as documented */
    char name[32];
    char detail[256];
} ev_rec;

typedef struct ev_log {
    pthread_mutex_t mu;
    int n;
    ev_rec ev[MAX_EVENTS];
    int fail_a_call; /* the callback makes a failing call of its own */
} ev_log;

static ev_log EV = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void on_event(void *ctx, const of_lock_event *e)
{
    ev_log *r = ctx;
    if (r->fail_a_call)
        (void)of_lock_provider_stats(NULL, NULL);
    pthread_mutex_lock(&r->mu);
    if (r->n < MAX_EVENTS) {
        ev_rec *x = &r->ev[r->n++];
        x->kind = e->kind;
        x->status = e->status;
        x->fence = e->fence;
        x->vu = e->valid_until_ns;
        x->on_main = pthread_equal(pthread_self(), F.main_thread);
        snprintf(x->name, sizeof x->name, "%.*s", (int)e->name_len, (const char *)e->name);
        snprintf(x->detail, sizeof x->detail, "%s", e->detail);
        /* Checked by the reader (ev_at): cmocka must not fail on the engine's thread. */
        x->malformed = e->struct_size != sizeof *e || e->reserved0 != 0 ||
                       ((const char *)e->name)[e->name_len] != '\0' || !e->detail;
    }
    pthread_mutex_unlock(&r->mu);
}

static void events_on(void)
{
    pthread_mutex_lock(&EV.mu);
    EV.n = 0;
    EV.fail_a_call = 0;
    pthread_mutex_unlock(&EV.mu);
    of_lock_provider_config cfg;
    assert_int_equal(of_lock_provider_config_init(&cfg, sizeof cfg), OF_OK);
    cfg.on_event = on_event;
    cfg.event_ctx = &EV;
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
}

static int ev_count(void)
{
    pthread_mutex_lock(&EV.mu);
    int n = EV.n;
    pthread_mutex_unlock(&EV.mu);
    return n;
}

static ev_rec ev_at(int i)
{
    pthread_mutex_lock(&EV.mu);
    assert_true(i >= 0 && i < EV.n);
    ev_rec r = EV.ev[i];
    pthread_mutex_unlock(&EV.mu);
    assert_false(r.malformed);
    return r;
}

/* Index of the first event of @p kind at or after @p from, or -1. */
static int ev_find(int kind, int from)
{
    pthread_mutex_lock(&EV.mu);
    int at = -1;
    for (int i = from; i < EV.n && at < 0; i++)
        if (EV.ev[i].kind == kind)
            at = i;
    pthread_mutex_unlock(&EV.mu);
    return at;
}

static int ev_wait(int kind, int64_t max_ms)
{
    int64_t end = now_ns() + max_ms * NS_PER_MS;
    int at;
    while ((at = ev_find(kind, 0)) < 0 && now_ns() < end)
        sleep_ms(5);
    return at;
}

static void ev_dump(void)
{
    for (int i = 0; i < ev_count(); i++) {
        ev_rec e = ev_at(i);
        fprintf(stderr, "# event %d: %s %s fence %llu %s '%s'\n", i, of_lock_event_name(e.kind),
                e.name, (unsigned long long)e.fence, of_status_name(e.status), e.detail);
    }
}

static void engine_events_acquire_release_on_the_callers_thread(void **state)
{
    (void)state;
    events_on();
    F.acq_fence = 41;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "ev", 2, NULL, &l), OF_OK);
    assert_int_equal(ev_count(), 1);
    ev_rec a = ev_at(0);
    assert_int_equal(a.kind, OF_LOCK_EVENT_ACQUIRED);
    assert_string_equal(a.name, "ev");
    assert_int_equal(a.fence, 41);
    assert_int_equal(a.status, OF_OK);
    assert_string_equal(a.detail, "");
    assert_true(a.vu == of_lock_valid_until_ns(l));
    assert_true(a.on_main);
    /* A try that finds it held: ACQUIRE_FAILED with the caller's answer and detail. */
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_BUSY);
    F.acq_hint_ms = 700;
    of_lock *b = NULL;
    assert_int_equal(of_lock_acquire(P, "ev", 2, NULL, &b), OF_ERR_BUSY);
    ev_rec f = ev_at(1);
    assert_int_equal(f.kind, OF_LOCK_EVENT_ACQUIRE_FAILED);
    assert_int_equal(f.status, OF_ERR_BUSY);
    assert_int_equal(f.fence, 0);
    assert_int_equal(f.vu, 0);
    assert_non_null(strstr(f.detail, "held by another owner"));
    assert_non_null(strstr(f.detail, "700 ms"));
    assert_true(f.on_main);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(ev_count(), 3);
    ev_rec r = ev_at(2);
    assert_int_equal(r.kind, OF_LOCK_EVENT_RELEASED);
    assert_string_equal(r.name, "ev");
    assert_int_equal(r.fence, 41);
    assert_int_equal(r.status, OF_OK);
    assert_true(r.on_main);
    /* Bad arguments are no event; a config without the callback silences it. */
    assert_int_equal(of_lock_acquire(P, "ev", 0, NULL, &b), OF_ERR_INVALID);
    assert_int_equal(ev_count(), 3);
    of_lock_provider_config cfg;
    of_lock_provider_config_init(&cfg, sizeof cfg);
    assert_int_equal(of_lock_provider_configure(P, &cfg), OF_OK);
    F.acq_i = 0;
    script(F.acq_rc, &F.acq_n, 1, OF_OK);
    assert_int_equal(of_lock_acquire(P, "ev", 2, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(ev_count(), 3);
}

static void engine_events_keep_the_callers_error_detail(void **state)
{
    (void)state;
    events_on();
    EV.fail_a_call = 1; /* sets this thread's detail inside the callback */
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_BUSY);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "ev", 2, NULL, &l), OF_ERR_BUSY);
    assert_non_null(strstr(of_last_error_detail(), "held by another owner"));
    assert_non_null(strstr(ev_at(0).detail, "held by another owner"));
}

static void engine_events_renewals_on_the_engine_thread_with_cause(void **state)
{
    (void)state;
    events_on();
    /* OK, then a transient failure with the provider's cause (retried), then OK again. */
    script(F.ext_rc, &F.ext_n, 3, OF_OK, OF_ERR_UNAVAILABLE, OF_OK);
    F.ext_detail = "connect to 127.0.0.9:7: Connection refused";
    of_lock_options o = opts(300, 0, OF_LOCK_AUTO_RENEW);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "rn", 2, &o, &l), OF_OK);
    int64_t end = now_ns() + 5000 * NS_PER_MS;
    while (locked_int(&F.ext_calls) < 4 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(of_lock_release(l), OF_OK);
    int n = ev_count();
    int ok = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        ev_rec e = ev_at(i);
        assert_string_equal(e.name, "rn");
        assert_int_equal(e.fence, 1);
        if (e.kind == OF_LOCK_EVENT_RENEWED) {
            ok++;
            assert_false(e.on_main);
            assert_int_equal(e.status, OF_OK);
            assert_true(e.vu > ev_at(0).vu);
        } else if (e.kind == OF_LOCK_EVENT_RENEW_FAILED) {
            failed++;
            assert_false(e.on_main);
            assert_int_equal(e.status, OF_ERR_UNAVAILABLE);
            assert_string_equal(e.detail, F.ext_detail);
        }
    }
    if (ok < 2 || failed != 1)
        ev_dump();
    assert_true(ok >= 2);
    assert_int_equal(failed, 1);
    /* ACQUIRED first, RELEASED last; the failure between the first and the next renewal. */
    assert_int_equal(ev_at(0).kind, OF_LOCK_EVENT_ACQUIRED);
    assert_int_equal(ev_at(n - 1).kind, OF_LOCK_EVENT_RELEASED);
    int at = ev_find(OF_LOCK_EVENT_RENEW_FAILED, 0);
    assert_int_equal(ev_at(at - 1).kind, OF_LOCK_EVENT_RENEWED);
    assert_int_equal(ev_at(at + 1).kind, OF_LOCK_EVENT_RENEWED);
    of_lock_stats st = stats();
    assert_int_equal(st.renewals_ok, (uint64_t)ok);
    assert_int_equal(st.renewals_failed, 1);
}

static void engine_events_lost_when_the_lease_passes(void **state)
{
    (void)state;
    events_on();
    /* Every renewal fails transiently: the lease runs out, and the loss says what failed last. */
    script(F.ext_rc, &F.ext_n, 1, OF_ERR_UNAVAILABLE);
    F.ext_detail = "server closed the connection";
    loss r = {0};
    of_lock_options o = opts(200, 0, OF_LOCK_AUTO_RENEW);
    o.on_lost = on_lost;
    o.on_lost_ctx = &r;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "ls", 2, &o, &l), OF_OK);
    int64_t vu = of_lock_valid_until_ns(l);
    int at = ev_wait(OF_LOCK_EVENT_LOST, 5000);
    if (at < 0)
        ev_dump();
    assert_true(at > 0);
    ev_rec e = ev_at(at);
    assert_int_equal(e.status, OF_ERR_LOST);
    assert_false(e.on_main);
    assert_int_equal(e.fence, 1);
    assert_true(e.vu == vu);
    assert_non_null(strstr(e.detail, "lease passed"));
    assert_non_null(strstr(e.detail, "OF_ERR_UNAVAILABLE"));
    assert_int_equal(ev_at(at - 1).kind, OF_LOCK_EVENT_RENEW_FAILED);
    /* The loss callback came once. */
    int64_t end = now_ns() + 2000 * NS_PER_MS;
    while (atomic_load(&r.calls) == 0 && now_ns() < end)
        sleep_ms(5);
    assert_int_equal(atomic_load(&r.calls), 1);
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
    ev_rec last = ev_at(ev_count() - 1);
    assert_int_equal(last.kind, OF_LOCK_EVENT_RELEASED);
    assert_int_equal(last.status, OF_ERR_LOST);
    assert_int_equal(ev_find(OF_LOCK_EVENT_LOST, at + 1), -1);
    assert_int_equal(stats().lost, 1);
}

static void engine_events_renewal_not_owner_then_lost(void **state)
{
    (void)state;
    events_on();
    script(F.ext_rc, &F.ext_n, 1, OF_ERR_NOT_OWNER);
    F.ext_detail = "token does not hold the key";
    of_lock_options o = opts(150, 0, OF_LOCK_AUTO_RENEW);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "no", 2, &o, &l), OF_OK);
    int at = ev_wait(OF_LOCK_EVENT_LOST, 5000);
    assert_true(at > 0);
    ev_rec f = ev_at(at - 1), e = ev_at(at);
    assert_int_equal(f.kind, OF_LOCK_EVENT_RENEW_FAILED);
    assert_int_equal(f.status, OF_ERR_NOT_OWNER);
    assert_string_equal(f.detail, F.ext_detail);
    assert_int_equal(e.status, OF_ERR_NOT_OWNER);
    assert_non_null(strstr(e.detail, F.ext_detail));
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
}

static void engine_events_lost_on_the_owners_extend_and_release(void **state)
{
    (void)state;
    events_on();
    script(F.ext_rc, &F.ext_n, 1, OF_ERR_NOT_OWNER);
    of_lock_options o = opts(60000, 0, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "ow", 2, &o, &l), OF_OK);
    assert_int_equal(of_lock_extend(l, 60000), OF_ERR_NOT_OWNER);
    ev_rec e = ev_at(1);
    assert_int_equal(e.kind, OF_LOCK_EVENT_LOST);
    assert_int_equal(e.status, OF_ERR_NOT_OWNER);
    assert_true(e.on_main);
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
    assert_int_equal(ev_count(), 3);
    /* A release that finds the lease gone: LOST, then RELEASED with NOT_OWNER. */
    script(F.rel_rc, &F.rel_n, 1, OF_ERR_NOT_OWNER);
    assert_int_equal(of_lock_acquire(P, "ow", 2, &o, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_ERR_NOT_OWNER);
    assert_int_equal(ev_count(), 6);
    assert_int_equal(ev_at(4).kind, OF_LOCK_EVENT_LOST);
    assert_int_equal(ev_at(5).kind, OF_LOCK_EVENT_RELEASED);
    assert_int_equal(ev_at(5).status, OF_ERR_NOT_OWNER);
    int lost = 0;
    for (int i = 0; i < ev_count(); i++)
        lost += ev_at(i).kind == OF_LOCK_EVENT_LOST;
    assert_int_equal(stats().lost, (uint64_t)lost);
}

static void engine_events_cleanup_after_unknown_outcome(void **state)
{
    (void)state;
    events_on();
    script(F.acq_rc, &F.acq_n, 1, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 2, OF_ERR_UNAVAILABLE, OF_OK);
    of_lock_options o = opts(60000, 0, 0);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(P, "cq", 2, &o, &l), OF_ERR_UNKNOWN);
    /* Queued on the caller's thread, then the acquire's own failure. */
    ev_rec q = ev_at(0), f = ev_at(1);
    assert_int_equal(q.kind, OF_LOCK_EVENT_CLEANUP_QUEUED);
    assert_string_equal(q.name, "cq");
    assert_int_equal(q.status, OF_ERR_UNKNOWN);
    assert_non_null(strstr(q.detail, "no reply"));
    assert_true(q.vu > now_ns());
    assert_true(q.on_main);
    assert_int_equal(f.kind, OF_LOCK_EVENT_ACQUIRE_FAILED);
    assert_int_equal(f.status, OF_ERR_UNKNOWN);
    int at = ev_wait(OF_LOCK_EVENT_CLEANUP_DONE, 5000);
    assert_int_equal(at, 2);
    ev_rec d = ev_at(at);
    assert_int_equal(d.status, OF_OK);
    assert_false(d.on_main);
    assert_string_equal(d.name, "cq");
    assert_int_equal(stats().cleanups_done, 1);
}

static void engine_events_destroy_reports_what_it_ends(void **state)
{
    (void)state;
    events_on();
    script(F.acq_rc, &F.acq_n, 2, OF_OK, OF_ERR_UNKNOWN);
    script(F.rel_rc, &F.rel_n, 1, OF_ERR_UNAVAILABLE);
    of_lock_options o = opts(60000, 0, 0);
    of_lock *held = NULL, *l = NULL;
    assert_int_equal(of_lock_acquire(P, "kept", 4, &o, &held), OF_OK);
    assert_int_equal(of_lock_acquire(P, "cq", 2, &o, &l), OF_ERR_UNKNOWN);
    of_lock_provider_destroy(P);
    P = NULL;
    int rel = -1, done = -1;
    for (int i = 0; i < ev_count(); i++) {
        ev_rec e = ev_at(i);
        if (e.kind == OF_LOCK_EVENT_RELEASED && strcmp(e.name, "kept") == 0)
            rel = i;
        if (e.kind == OF_LOCK_EVENT_CLEANUP_DONE && strcmp(e.name, "cq") == 0 && e.on_main)
            done = i;
    }
    if (rel < 0 || done < 0)
        ev_dump();
    assert_true(rel >= 0 && done >= 0);
    assert_int_equal(ev_at(rel).status, OF_ERR_UNAVAILABLE);
    assert_non_null(strstr(ev_at(rel).detail, "provider destroyed"));
    assert_int_equal(ev_at(done).status, OF_ERR_UNAVAILABLE);
}

static void engine_event_names(void **state)
{
    (void)state;
    static const char *const names[] = {"acquired", "acquire_failed", "released", "renewed",
                                        "renew_failed", "lost", "cleanup_queued",
                                        "cleanup_done"};
    for (int k = OF_LOCK_EVENT_ACQUIRED; k <= OF_LOCK_EVENT_CLEANUP_DONE; k++)
        assert_string_equal(of_lock_event_name(k), names[k - 1]);
    assert_string_equal(of_lock_event_name(0), "unknown");
    assert_string_equal(of_lock_event_name(OF_LOCK_EVENT_CLEANUP_DONE + 1), "unknown");
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(engine_busy_is_retried_with_backoff_until_timeout),
        CASE(engine_busy_then_free_succeeds),
        CASE(engine_wait_zero_returns_busy_or_unavailable_at_once),
        CASE(engine_unavailable_retried_until_timeout),
        CASE(engine_timeout_after_busy_keeps_last_cause),
        CASE(engine_busy_detail_names_remaining_lease),
        CASE(engine_on_lost_without_auto_renew_is_invalid),
        CASE(engine_unknown_returns_at_once_and_queues_cleanup),
        CASE(engine_cleanup_stops_once_release_succeeds),
        CASE(engine_destroy_makes_one_last_cleanup_attempt),
        CASE(engine_retry_after_hint_caps_backoff),
        CASE(engine_hint_never_lengthens_backoff),
        CASE(engine_hint_never_outlasts_the_deadline),
        CASE(engine_uses_wait_release_with_the_deadline),
        CASE(engine_step_deadline_follows_config),
        CASE(engine_bad_fence_from_provider_is_protocol),
        CASE(engine_provider_may_only_lower_valid_until),
        CASE(engine_extend_outcomes),
        CASE(engine_extend_after_valid_until_skips_backend),
        CASE(engine_release_unknown_queues_cleanup),
        CASE(engine_renewal_unknown_loses_lock_and_cleans_up),
        CASE(engine_transient_renewal_failure_is_retried),
        CASE(engine_user_extend_on_renewed_lock),
        CASE(engine_log_hook_gets_formatted_lines),
        CASE(engine_tokens_are_fresh_per_acquire),
        CASE(engine_handle_survives_release_from_another_thread),
        CASE(engine_release_unavailable_log_says_not_sent),
        CASE(engine_release_auth_queues_cleanup),
        CASE(engine_late_grant_is_unknown_and_released),
        CASE(engine_late_extend_is_not_success),
        CASE(engine_late_renewal_loses_the_lock),
        CASE(engine_release_gets_in_between_slow_renewals),
        CASE(engine_destroy_has_one_budget_for_all_cleanups),
        CASE(engine_destroy_with_held_handles_warns_and_frees_them),
        CASE(engine_waiter_not_starved_by_reacquiring_holder_polling),
        CASE(engine_waiter_not_starved_by_reacquiring_holder_local),
        CASE(engine_provider_self_needs_the_ops_name_pointer),
        CASE(engine_events_acquire_release_on_the_callers_thread),
        CASE(engine_events_keep_the_callers_error_detail),
        CASE(engine_events_renewals_on_the_engine_thread_with_cause),
        CASE(engine_events_lost_when_the_lease_passes),
        CASE(engine_events_renewal_not_owner_then_lost),
        CASE(engine_events_lost_on_the_owners_extend_and_release),
        CASE(engine_events_cleanup_after_unknown_outcome),
        CASE(engine_events_destroy_reports_what_it_ends),
        CASE(engine_event_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
