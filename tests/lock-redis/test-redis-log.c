/* Log lines of the Redis provider, captured with a DEBUG-level hook: a dead server, refused
 * credentials (no byte of a password in any line), the rate limit on repeated failures, a
 * reconnect after a restart, NOSCRIPT, an -OOM answer, a step past its deadline, and silence at
 * INFO and above while a healthy server is driven hard. Starts its own redis-servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <signal.h>
#include <time.h>

#include <openfault/openfault.h>

#include "lock/engine.h"
#include "lock/providers/redis.h"
#include "lock-cases.h"
#include "log-capture.h"
#include "redis-harness.h"

static test_redis srv;

static of_lock_provider *provider_url(const char *url)
{
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    if (rc != OF_OK)
        fail_msg("create: %s (%s)", of_status_name(rc), of_last_error_detail());
    assert_int_equal(logcap_attach(p), 0);
    logcap_clear();
    return p;
}

static of_lock_provider *provider_srv(const char *tail)
{
    char url[512];
    test_redis_url(&srv, 0, tail, url, sizeof url);
    return provider_url(url);
}

/* One try (no waiting) on @p name; releases it when taken. Returns the acquire status. */
static int try_once(of_lock_provider *p, const char *name)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 5000;
    of_lock *l = NULL;
    int rc = of_lock_acquire(p, name, strlen(name), &o, &l);
    if (rc == OF_OK)
        assert_int_equal(of_lock_release(l), OF_OK);
    return rc;
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

/* Nothing listens on 127.0.0.1:1: a WARN line names the address and the cause; the URL's
 * password is in no line. */
static void dead_server_warns_with_address_and_cause(void **state)
{
    (void)state;
    of_lock_provider *p =
        provider_url("redis://someone:marked-password-A1@127.0.0.1:1?connect_timeout_ms=500");
    assert_int_equal(try_once(p, "job"), OF_ERR_UNAVAILABLE);
    int n = logcap_count(OF_LOCK_LOG_WARN, "redis 127.0.0.1:1: connect failed", "refused",
                         "retry in");
    if (n != 1)
        logcap_dump();
    assert_int_equal(n, 1);
    assert_int_equal(logcap_count(OF_LOCK_LOG_DEBUG, "marked-password", NULL, NULL), 0);
    assert_int_equal(logcap_count(OF_LOCK_LOG_DEBUG, "someone", NULL, NULL), 0);
    of_lock_provider_destroy(p);
}

/* Repeated failures on one server: one line per second, the next one counts the rest. */
static void repeated_failures_are_rate_limited(void **state)
{
    (void)state;
    of_lock_provider *p = provider_url("redis://127.0.0.1:1?connect_timeout_ms=500");
    ofi_redis_provider *self = ofi_lock_provider_self(p);
    for (int i = 0; i < 40; i++) { /* ~600 ms: several connects past the 5..250 ms backoff */
        (void)try_once(p, "job");
        test_sleep_ms(15);
    }
    ofi_redis_pool_stats st;
    ofi_redis_pool_get_stats(&self->pool, &st);
    assert_true(st.connect_failures >= 3);
    int lines = logcap_count(OF_LOCK_LOG_WARN, "connect failed", NULL, NULL);
    if (lines != 1)
        logcap_dump();
    assert_int_equal(lines, 1);
    test_sleep_ms(1100);
    (void)try_once(p, "job");
    int with_count = logcap_count(OF_LOCK_LOG_WARN, "connect failed", "similar lines suppressed",
                                  NULL);
    if (with_count != 1)
        logcap_dump();
    assert_int_equal(with_count, 1);
    assert_int_equal(logcap_count(OF_LOCK_LOG_WARN, "connect failed", NULL, NULL), 2);
    of_lock_provider_destroy(p);
}

/* A healthy server driven hard (acquire, release, contention, extend): nothing at INFO or
 * above, and no line at all (the provider logs no successful step). */
static void healthy_busy_loop_logs_nothing(void **state)
{
    (void)state;
    of_lock_provider *p = provider_srv(NULL);
    test_lock_busy_rounds(p, "hot", 300);
    int n = logcap_count(OF_LOCK_LOG_INFO, NULL, NULL, NULL);
    int debug = logcap_count(OF_LOCK_LOG_DEBUG, NULL, NULL, NULL);
    if (n != 0 || debug > 3)
        logcap_dump();
    assert_int_equal(n, 0);
    /* at most the first load of each script, never a line per step */
    assert_true(debug <= 3);
    assert_int_equal(logcap_count(OF_LOCK_LOG_DEBUG, "not cached yet", NULL, NULL), debug);
    of_lock_provider_destroy(p);
}

/* AUTH refused: an ERROR line with the server's words; neither the wrong password sent nor the
 * server's own appears anywhere. */
static void auth_refused_is_an_error_without_the_password(void **state)
{
    (void)state;
    test_redis pw;
    const char *const extra[] = {"--requirepass", "server-marked-password-B2", NULL};
    assert_int_equal(test_redis_start(&pw, extra, NULL), 0);
    char url[512], where[64];
    snprintf(url, sizeof url, "redis://:client-marked-password-C3@127.0.0.1:%d", pw.port);
    snprintf(where, sizeof where, "redis 127.0.0.1:%d: AUTH refused", pw.port);
    of_lock_provider *p = provider_url(url);
    assert_int_equal(try_once(p, "job"), OF_ERR_AUTH);
    int n = logcap_count(OF_LOCK_LOG_ERROR, where, "WRONGPASS", NULL);
    if (n != 1)
        logcap_dump();
    assert_int_equal(n, 1);
    assert_int_equal(logcap_count(OF_LOCK_LOG_DEBUG, "marked-password", NULL, NULL), 0);
    of_lock_provider_destroy(p);

    /* The right password: a healthy loop logs nothing. */
    snprintf(url, sizeof url, "redis://:server-marked-password-B2@127.0.0.1:%d", pw.port);
    p = provider_url(url);
    for (int i = 0; i < 50; i++)
        assert_int_equal(try_once(p, "job"), OF_OK);
    assert_int_equal(logcap_count(OF_LOCK_LOG_INFO, NULL, NULL, NULL), 0);
    of_lock_provider_destroy(p);
    test_redis_stop(&pw);
}

/* Kill the server: connect failures are WARN lines naming it; after the restart an INFO line
 * says it is connected again; the script cache lost in the restart gives one NOSCRIPT line at INFO (the first load of a
 * script on a fresh provider is only DEBUG). */
static void restart_logs_failure_then_reconnect(void **state)
{
    (void)state;
    test_redis r;
    assert_int_equal(test_redis_start(&r, NULL, NULL), 0);
    char url[256], who[64];
    test_redis_url(&r, 0, "?connect_timeout_ms=500", url, sizeof url);
    snprintf(who, sizeof who, "redis 127.0.0.1:%d:", r.port);
    of_lock_provider *p = provider_url(url);
    assert_int_equal(try_once(p, "job"), OF_OK);
    test_redis_signal(&r, SIGKILL);
    int rc = OF_OK;
    for (int i = 0; i < 50 && rc == OF_OK; i++)
        rc = try_once(p, "job");
    assert_int_not_equal(rc, OF_OK);
    for (int i = 0; i < 3; i++) /* past the backoff, a real connect attempt */
        test_sleep_ms(300), (void)try_once(p, "job");
    assert_true(logcap_count(OF_LOCK_LOG_WARN, who, "connect failed", "refused") >= 1);
    assert_int_equal(logcap_count(OF_LOCK_LOG_INFO, "connected again", NULL, NULL), 0);
    assert_int_equal(test_redis_restart(&r), 0);
    test_sleep_ms(300);
    rc = OF_ERR_UNAVAILABLE;
    for (int i = 0; i < 50 && rc != OF_OK; i++) {
        rc = try_once(p, "job");
        if (rc != OF_OK)
            test_sleep_ms(50);
    }
    assert_int_equal(rc, OF_OK);
    int n = logcap_count(OF_LOCK_LOG_INFO, who, "connected again after", NULL);
    int ns = logcap_count(OF_LOCK_LOG_INFO, who, "acquire no longer cached", "NOSCRIPT");
    if (n != 1 || ns != 1)
        logcap_dump();
    assert_int_equal(n, 1);
    assert_int_equal(ns, 1);
    of_lock_provider_destroy(p);
    test_redis_stop(&r);
}

/* A server refusing writes (-OOM): a WARN line with the reply's first words and the lock. */
static void server_error_reply_is_a_warning(void **state)
{
    (void)state;
    of_lock_provider *p = provider_srv(NULL);
    redisReply *rep = test_redis_cmd(&srv, "CONFIG SET maxmemory 1");
    assert_non_null(rep);
    freeReplyObject(rep);
    int rc = try_once(p, "oom-lock");
    rep = test_redis_cmd(&srv, "CONFIG SET maxmemory 0");
    assert_non_null(rep);
    freeReplyObject(rep);
    assert_int_not_equal(rc, OF_OK);
    int n = logcap_count(OF_LOCK_LOG_WARN, "server answered -OOM", "\"oom-lock\"", NULL);
    if (n != 1)
        logcap_dump();
    assert_int_equal(n, 1);
    of_lock_provider_destroy(p);
}

/* A stopped server: the step passes its deadline; a WARN line says what was sent and for how
 * long it waited. */
static void step_past_its_deadline_is_a_warning(void **state)
{
    (void)state;
    of_lock_provider *p = provider_srv("?command_timeout_ms=200");
    assert_int_equal(try_once(p, "job"), OF_OK); /* connected, scripts cached */
    logcap_clear();
    test_redis_signal(&srv, SIGSTOP);
    int rc = try_once(p, "job");
    test_redis_signal(&srv, SIGCONT);
    assert_int_equal(rc, OF_ERR_UNKNOWN);
    int n = logcap_count(OF_LOCK_LOG_WARN, "EVALSHA acquire sent, no complete reply after",
                         "outcome unknown", NULL);
    if (n != 1)
        logcap_dump();
    assert_int_equal(n, 1);
    of_lock_provider_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dead_server_warns_with_address_and_cause),
        cmocka_unit_test(repeated_failures_are_rate_limited),
        cmocka_unit_test(healthy_busy_loop_logs_nothing),
        cmocka_unit_test(auth_refused_is_an_error_without_the_password),
        cmocka_unit_test(restart_logs_failure_then_reconnect),
        cmocka_unit_test(server_error_reply_is_a_warning),
        cmocka_unit_test(step_past_its_deadline_is_a_warning),
    };
    return cmocka_run_group_tests_name("lock-redis/log", tests, group_setup, group_teardown);
}
