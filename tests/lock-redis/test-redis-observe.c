/* What a user scraping a service that locks on Redis sees through a failure: the Prometheus
 * figures of of_lock_provider_metrics(), the log hook's lines and the event callback's per-name
 * counts, step by step while a test drives one lock: acquire (auto-renewed), contend (busy, then
 * a wait that times out), kill the Redis server (renewal failures, the loss, an acquire that finds
 * no server, a release that cannot be sent), restart it (a new acquire, renewals again, the
 * cleanup of the unsent release ending). Each step checks that the figures moved as expected and
 * that the log says why. Starts its own redis-server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include <openfault/openfault.h>

#include "lock/engine.h"
#include "log-capture.h"
#include "redis-harness.h"

#define NS_PER_MS INT64_C(1000000)

static test_redis srv;

/* ---- per-name figures from the event callback (what a user's tracing would keep) ---- */

typedef struct name_figures {
    atomic_int acquired, acquire_failed, released, renewed, renew_failed, lost, cleanup_queued,
        cleanup_done;
    atomic_int other_name; /* events for a name other than "obs" */
} name_figures;

static name_figures obs;

static void on_event(void *ctx, const of_lock_event *ev)
{
    name_figures *f = ctx;
    if (ev->name_len != 3 || memcmp(ev->name, "obs", 3) != 0) {
        atomic_fetch_add(&f->other_name, 1);
        return;
    }
    switch (ev->kind) {
    case OF_LOCK_EVENT_ACQUIRED: atomic_fetch_add(&f->acquired, 1); break;
    case OF_LOCK_EVENT_ACQUIRE_FAILED: atomic_fetch_add(&f->acquire_failed, 1); break;
    case OF_LOCK_EVENT_RELEASED: atomic_fetch_add(&f->released, 1); break;
    case OF_LOCK_EVENT_RENEWED: atomic_fetch_add(&f->renewed, 1); break;
    case OF_LOCK_EVENT_RENEW_FAILED: atomic_fetch_add(&f->renew_failed, 1); break;
    case OF_LOCK_EVENT_LOST: atomic_fetch_add(&f->lost, 1); break;
    case OF_LOCK_EVENT_CLEANUP_QUEUED: atomic_fetch_add(&f->cleanup_queued, 1); break;
    case OF_LOCK_EVENT_CLEANUP_DONE: atomic_fetch_add(&f->cleanup_done, 1); break;
    default: break;
    }
}

/* ---- the scrape ---- */

static char scrape_buf[65536];

/* The value of one Prometheus series, e.g.
 * `openfault_lock_renewals_total{provider="redis",result="failed"}`, from a fresh scrape. */
static double series(of_lock_provider *p, const char *s)
{
    size_t len = 0;
    assert_int_equal(of_lock_provider_metrics(p, OF_METRICS_PROMETHEUS, NULL, NULL, scrape_buf,
                                              sizeof scrape_buf, &len),
                     OF_OK);
    char key[256];
    snprintf(key, sizeof key, "\n%s ", s);
    const char *at = strstr(scrape_buf, key);
    if (!at)
        fail_msg("no series %s in the scrape", s);
    return strtod(at + strlen(key), NULL);
}

#define M(s) series(p, "openfault_lock_" s)
#define R "{provider=\"redis\"}"
#define RL(k, v) "{provider=\"redis\"," k "=\"" v "\"}"

static double losses(of_lock_provider *p)
{
    return M("losses_total" RL("cause", "expired")) + M("losses_total" RL("cause", "not_owner")) +
           M("losses_total" RL("cause", "unknown"));
}

static void on_lost(of_lock *lock, int status, void *ctx)
{
    (void)lock;
    atomic_store((atomic_int *)ctx, status == 0 ? 1 : status);
}

/* Wait (at most @p max_ms) until the series is at least @p v. */
static double wait_series(of_lock_provider *p, const char *s, double v, long max_ms)
{
    int64_t end = test_now_ns() + max_ms * NS_PER_MS;
    double got;
    while ((got = series(p, s)) < v && test_now_ns() < end)
        test_sleep_ms(10);
    return got;
}

static int group_setup(void **state)
{
    (void)state;
    return test_redis_start(&srv, NULL, NULL) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&srv);
    return 0;
}

static void observe_metrics_logs_and_events_through_a_redis_failure(void **state)
{
    (void)state;
    char url[512];
    test_redis_url(&srv, 0, "?connect_timeout_ms=200&command_timeout_ms=500", url, sizeof url);
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_redis_create_url(url, &p), OF_OK);
    /* The capture's own settings, with the event callback added. */
    assert_int_equal(logcap_attach(p), 0);
    of_lock_provider_config cfg;
    assert_int_equal(of_lock_provider_config_init(&cfg, sizeof cfg), OF_OK);
    cfg.log = logcap_hook;
    cfg.log_ctx = &logcap_g;
    cfg.log_level = OF_LOCK_LOG_DEBUG;
    cfg.on_event = on_event;
    cfg.event_ctx = &obs;
    assert_int_equal(of_lock_provider_configure(p, &cfg), OF_OK);
    logcap_clear();
    const uint32_t ttl = 900;

    /* 1. Acquire an auto-renewed lock: one acquisition, held now, renewals come. */
    atomic_int lost_status = 0;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = ttl;
    o.flags = OF_LOCK_AUTO_RENEW;
    o.on_lost = on_lost;
    o.on_lost_ctx = &lost_status;
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(p, "obs", 3, &o, &l), OF_OK);
    assert_true(M("acquisitions_total" R) == 1);
    assert_true(M("held" R) == 1);
    assert_true(M("attempts_total" R) == 1);
    assert_true(wait_series(p, "openfault_lock_renewals_total" RL("result", "ok"), 1, 5000) >= 1);
    assert_true(M("renewals_total" RL("result", "failed")) == 0);

    /* 2. Contend: a try finds it held (busy), a wait of 150 ms ends with it still held
     *    (timeout, and one waited call in the wait histogram). */
    of_lock *b = NULL;
    of_lock_options w;
    of_lock_options_init(&w, sizeof w);
    w.ttl_ms = ttl;
    assert_int_equal(of_lock_acquire(p, "obs", 3, &w, &b), OF_ERR_BUSY);
    assert_true(M("busy_total" R) == 1);
    w.wait_ms = 150;
    assert_int_equal(of_lock_acquire(p, "obs", 3, &w, &b), OF_ERR_TIMEOUT);
    assert_true(M("timeouts_total" R) == 1);
    assert_true(M("wait_seconds_count" R) == 1);
    assert_true(M("wait_seconds_sum" R) >= 0.150);
    assert_true(M("attempts_total" R) >= 3);
    assert_true(M("waiting" R) == 0);
    assert_int_equal(atomic_load(&obs.acquire_failed), 2);

    /* 3. Kill the server under the held lock: renewals fail, then the lock is lost. */
    double renewed_before = M("renewals_total" RL("result", "ok"));
    test_redis_signal(&srv, SIGKILL);
    int64_t end = test_now_ns() + (int64_t)(3 * ttl + 5000) * NS_PER_MS;
    while (atomic_load(&lost_status) == 0 && test_now_ns() < end)
        test_sleep_ms(10);
    assert_int_not_equal(atomic_load(&lost_status), 0);
    assert_true(M("renewals_total" RL("result", "failed")) >= 1);
    assert_true(losses(p) == 1);
    assert_true(M("renewals_total" RL("result", "ok")) == renewed_before);
    assert_true(M("held" R) == 1); /* lost, but not yet released by its owner */
    /* The log says why: a renewal failure naming the provider's cause, and the loss. */
    int why = logcap_count(OF_LOCK_LOG_WARN, "lock 'obs': renewal failed", NULL, NULL) +
              logcap_count(OF_LOCK_LOG_WARN, "lock 'obs' lost", "renewal failed", NULL);
    int cause = logcap_count(OF_LOCK_LOG_WARN, "renewal failed", "refused", NULL) +
                logcap_count(OF_LOCK_LOG_WARN, "renewal failed", "closed", NULL) +
                logcap_count(OF_LOCK_LOG_WARN, "renewal failed", "reset", NULL) +
                logcap_count(OF_LOCK_LOG_WARN, "renewal failed", "reply", NULL);
    int loss = logcap_count(OF_LOCK_LOG_WARN, "lock 'obs' lost (", NULL, NULL);
    if (why < 1 || cause < 1 || loss != 1)
        logcap_dump();
    assert_true(why >= 1);
    assert_true(cause >= 1);
    assert_int_equal(loss, 1);

    /* An acquire with no server: an acquire failure, not busy or a timeout. */
    double failures = M("acquire_failures_total" R);
    assert_int_equal(of_lock_acquire(p, "other", 5, &w, &b), OF_ERR_UNAVAILABLE);
    assert_true(M("acquire_failures_total" R) == failures + 1);
    assert_true(M("timeouts_total" R) == 1);

    /* The owner releases the lost handle: counted as lost, nothing held; the release could not
     * be sent, so a cleanup is queued. */
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
    assert_true(M("releases_total" RL("result", "lost")) == 1);
    assert_true(M("held" R) == 0);
    assert_true(M("unknown_outcomes_total" RL("state", "queued")) >= 1);

    /* 4. Restart the server (empty): a new acquire succeeds once the provider reconnects, its
     *    renewals work again, and the queued cleanup ends. */
    assert_int_equal(test_redis_restart(&srv), 0);
    of_lock_options_init(&w, sizeof w);
    w.ttl_ms = ttl;
    w.wait_ms = 5000;
    w.flags = OF_LOCK_AUTO_RENEW;
    assert_int_equal(of_lock_acquire(p, "obs", 3, &w, &l), OF_OK);
    assert_true(M("acquisitions_total" R) == 2);
    assert_true(M("held" R) == 1);
    double ok_after = wait_series(p, "openfault_lock_renewals_total" RL("result", "ok"),
                                  renewed_before + 1, 5000);
    assert_true(ok_after >= renewed_before + 1);
    assert_true(losses(p) == 1);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_true(M("releases_total" RL("result", "ok")) == 1);
    assert_true(M("held" R) == 0);
    end = test_now_ns() + (int64_t)(ttl + 5000) * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(p) > 0 && test_now_ns() < end)
        test_sleep_ms(20);
    assert_int_equal(ofi_lock_provider_cleanup_pending(p), 0);
    double queued = M("unknown_outcomes_total" RL("state", "queued"));
    assert_true(M("unknown_outcomes_total" RL("state", "cleaned")) +
                    M("unknown_outcomes_total" RL("state", "abandoned")) ==
                queued);

    /* The per-name figures from the event callback agree with the provider's totals (every
     * event but one acquire failure was for "obs"). */
    of_lock_stats st;
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(p, &st), OF_OK);
    assert_int_equal(atomic_load(&obs.acquired), st.acquired);
    assert_int_equal(atomic_load(&obs.released), st.acquired);
    assert_int_equal(atomic_load(&obs.renewed), st.renewals_ok);
    assert_int_equal(atomic_load(&obs.renew_failed), st.renewals_failed);
    assert_int_equal(atomic_load(&obs.lost), st.lost);
    assert_int_equal(atomic_load(&obs.acquire_failed), st.busy + st.timeouts);
    assert_int_equal(atomic_load(&obs.other_name), 1);
    assert_int_equal(atomic_load(&obs.cleanup_queued), st.cleanups_queued);
    assert_int_equal(atomic_load(&obs.cleanup_done), st.cleanups_done + st.cleanups_dropped);
    of_lock_provider_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(observe_metrics_logs_and_events_through_a_redis_failure),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
