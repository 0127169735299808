/* Log lines of the Redlock provider, captured with a DEBUG-level hook: a dead server is named
 * with its cause and leaves the quorum once (one WARN per transition, however many rounds), comes
 * back with one INFO line; no password in any line; silence at INFO and above on healthy
 * servers; connect failures rate-limited per server. Starts its own redis-servers. */
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

#include "lock-cases.h"
#include "log-capture.h"
#include "redis-harness.h"

static test_redis srv[3];

static of_lock_provider *make(const char *third)
{
    char u[3][256];
    test_redis_url(&srv[0], 0, NULL, u[0], sizeof u[0]);
    test_redis_url(&srv[1], 0, "?connect_timeout_ms=500", u[1], sizeof u[1]);
    if (third != NULL)
        snprintf(u[2], sizeof u[2], "%s", third);
    else
        test_redis_url(&srv[2], 0, NULL, u[2], sizeof u[2]);
    const char *list[3] = {u[0], u[1], u[2]};
    of_lock_provider *p = NULL;
    int rc = of_lock_redlock_create(list, 3, NULL, &p);
    if (rc != OF_OK)
        fail_msg("create: %s (%s)", of_status_name(rc), of_last_error_detail());
    assert_int_equal(logcap_attach(p), 0);
    logcap_clear();
    return p;
}

static int try_once(of_lock_provider *p)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 5000;
    of_lock *l = NULL;
    int rc = of_lock_acquire(p, "job", 3, &o, &l);
    if (rc == OF_OK)
        assert_int_equal(of_lock_release(l), OF_OK);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    return test_redis_start_n(srv, 3);
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        test_redis_stop(&srv[i]);
    return 0;
}

/* Server #3 is dead (nothing on 127.0.0.1:1): the lock still works on the quorum; one WARN line
 * says #3 left the quorum and why, one names the failed connect; the password is nowhere. */
static void dead_server_leaves_the_quorum_once(void **state)
{
    (void)state;
    of_lock_provider *p = make("redis://:marked-password-D4@127.0.0.1:1?connect_timeout_ms=500");
    for (int i = 0; i < 60; i++)
        assert_int_equal(try_once(p), OF_OK);
    int out = logcap_count(OF_LOCK_LOG_WARN, "redlock 127.0.0.1:1: server #3 of 3 out of the quorum",
                           "refused", NULL);
    int conn = logcap_count(OF_LOCK_LOG_WARN, "redlock 127.0.0.1:1: connect failed", "refused",
                            NULL);
    if (out != 1 || conn < 1)
        logcap_dump();
    assert_int_equal(out, 1);
    assert_true(conn >= 1);
    /* 60 rounds in well under a second of connect attempts: one line per second at most, plus
     * the one that carries the count of the others */
    assert_true(conn <= 3);
    assert_int_equal(logcap_count(OF_LOCK_LOG_DEBUG, "marked-password", NULL, NULL), 0);
    assert_int_equal(logcap_count(OF_LOCK_LOG_INFO, "back in the quorum", NULL, NULL), 0);
    of_lock_provider_destroy(p);
}

/* Server #2 killed, then restarted: out of the quorum once (WARN), back once (INFO). */
static void restarted_server_comes_back_into_the_quorum(void **state)
{
    (void)state;
    of_lock_provider *p = make(NULL);
    char who[64];
    snprintf(who, sizeof who, "redlock 127.0.0.1:%d: server #2 of 3", srv[1].port);
    assert_int_equal(try_once(p), OF_OK);
    test_redis_signal(&srv[1], SIGKILL);
    for (int i = 0; i < 20; i++)
        assert_int_equal(try_once(p), OF_OK);
    assert_int_equal(logcap_count(OF_LOCK_LOG_WARN, who, "out of the quorum", NULL), 1);
    assert_int_equal(test_redis_restart(&srv[1]), 0);
    int back = 0;
    for (int i = 0; i < 100 && back == 0; i++) {
        test_sleep_ms(20);
        assert_int_equal(try_once(p), OF_OK);
        back = logcap_count(OF_LOCK_LOG_INFO, who, "back in the quorum", NULL);
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(try_once(p), OF_OK);
    if (back != 1)
        logcap_dump();
    assert_int_equal(logcap_count(OF_LOCK_LOG_INFO, who, "back in the quorum", NULL), 1);
    assert_int_equal(logcap_count(OF_LOCK_LOG_WARN, who, "out of the quorum", NULL), 1);
    of_lock_provider_destroy(p);
}

/* Three healthy servers driven hard: nothing at INFO or above. */
static void healthy_busy_loop_logs_nothing(void **state)
{
    (void)state;
    of_lock_provider *p = make(NULL);
    test_lock_busy_rounds(p, "hot", 200);
    int n = logcap_count(OF_LOCK_LOG_INFO, NULL, NULL, NULL);
    if (n != 0)
        logcap_dump();
    assert_int_equal(n, 0);
    of_lock_provider_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dead_server_leaves_the_quorum_once),
        cmocka_unit_test(restarted_server_comes_back_into_the_quorum),
        cmocka_unit_test(healthy_busy_loop_logs_nothing),
    };
    return cmocka_run_group_tests_name("lock-redlock/log", tests, group_setup, group_teardown);
}
