/* Log lines of the etcd provider, captured with a DEBUG-level hook (tests/support/log-capture.h)
 * on private etcd members (etcd-harness.h). One cmocka group per run (STYLE.md), by argv[1]:
 *   basic — one member: failover past a dead endpoint, nothing reachable (UNAVAILABLE, never
 *           "unknown"), a stopped member (no reply, then the cleanup's failed revoke and its
 *           end), an unreadable reply from a fake server, quiet on a healthy busy loop, and
 *           credentials given to a cluster without auth
 *   auth  — one member with auth on: a wrong password (an ERROR line, no byte of the password in
 *           any line), the right one, and the token refreshed once the cluster dropped it */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "etcd-harness.h"
#include "lock/engine.h"
#include "log-capture.h"

#define NS_PER_MS INT64_C(1000000)

static test_etcd E;

static of_lock_provider *make_url(const char *url)
{
    of_lock_provider *p = NULL;
    int rc = of_lock_etcd_create_url(url, &p);
    if (rc != OF_OK)
        fail_msg("create %s: %s (%s)", url, of_status_name(rc), of_last_error_detail());
    assert_int_equal(logcap_attach(p), 0);
    logcap_clear();
    return p;
}

static of_lock_provider *make(const char *tail)
{
    char url[512];
    test_etcd_url(&E, tail, url, sizeof url);
    return make_url(url);
}

static int acq(of_lock_provider *p, const char *name, uint32_t ttl, of_lock **out)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = ttl;
    return of_lock_acquire(p, name, strlen(name), &o, out);
}

/* One try on @p name, released when taken. Returns the acquire status. */
static int try_once(of_lock_provider *p, const char *name)
{
    of_lock *l = NULL;
    int rc = acq(p, name, 5000, &l);
    if (rc == OF_OK)
        assert_int_equal(of_lock_release(l), OF_OK);
    return rc;
}

static void expect_lines(int want, int max_level, const char *a, const char *b, const char *c)
{
    int n = logcap_count(max_level, a, b, c);
    if (n != want) {
        logcap_dump();
        fail_msg("%d lines at level <= %d with '%s' '%s' '%s', expected %d", n, max_level,
                 a ? a : "", b ? b : "", c ? c : "", want);
    }
}

/* ---- basic ------------------------------------------------------------------------------- */

/* The first endpoint refuses connections: one WARN line names it, libcurl's words and the
 * endpoint tried next; the member that answers says "connected" once, at INFO. */
static void etcd_log_failover_names_the_dead_endpoint(void **state)
{
    (void)state;
    char url[256], live[64], next[96];
    snprintf(url, sizeof url, "etcd://127.0.0.1:1,127.0.0.1:%d/log/", E.m[0].client_port);
    snprintf(live, sizeof live, "etcd 127.0.0.1:%d: ", E.m[0].client_port);
    snprintf(next, sizeof next, "trying 127.0.0.1:%d next", E.m[0].client_port);
    of_lock_provider *p = make_url(url);
    assert_int_equal(try_once(p, "job"), OF_OK);
    expect_lines(1, OF_LOCK_LOG_WARN, "etcd 127.0.0.1:1: acquire of lock \"job\": not reached, "
                 "nothing sent: ", "Failed to connect to 127.0.0.1 port 1", next);
    expect_lines(1, OF_LOCK_LOG_WARN, NULL, NULL, NULL);
    expect_lines(1, OF_LOCK_LOG_INFO, live, "acquire of lock \"job\": connected", NULL);
    expect_lines(0, OF_LOCK_LOG_DEBUG, "unknown", NULL, NULL);
    if (getenv("TEST_ETCD_LOG_DUMP") != NULL) /* to read the lines a case produced */
        logcap_dump();
    of_lock_provider_destroy(p);
}

/* Both endpoints refuse: a failover line for the first, then one line for the whole list that
 * names the outcome that happened (nothing sent, UNAVAILABLE), never "unknown". */
static void etcd_log_nothing_reachable_says_unavailable(void **state)
{
    (void)state;
    of_lock_provider *p = make_url("etcd://127.0.0.1:1,127.0.0.1:9/?connect_timeout_ms=300");
    assert_int_equal(try_once(p, "job"), OF_ERR_UNAVAILABLE);
    expect_lines(1, OF_LOCK_LOG_WARN, "etcd 127.0.0.1:1: acquire of lock \"job\": not reached",
                 "trying 127.0.0.1:9 next", NULL);
    expect_lines(1, OF_LOCK_LOG_WARN,
                 "etcd 127.0.0.1:1,127.0.0.1:9: acquire of lock \"job\": no endpoint took the "
                 "request (2 of 2 tried), nothing was sent (UNAVAILABLE); last: 127.0.0.1:9 ",
                 NULL, NULL);
    expect_lines(0, OF_LOCK_LOG_DEBUG, "unknown", NULL, NULL);
    expect_lines(0, OF_LOCK_LOG_DEBUG, "connected", NULL, NULL);
    if (getenv("TEST_ETCD_LOG_DUMP") != NULL) /* to read the lines a case produced */
        logcap_dump();
    of_lock_provider_destroy(p);
}

/* A stopped member: the grant goes unanswered (WARN, outcome unknown); while it stays stopped
 * the engine's cleanup cannot revoke the lease (WARN); once it runs again the cleanup ends with
 * a line of its own, and the member's return is one INFO line. */
static void etcd_log_unknown_outcome_then_cleanup(void **state)
{
    (void)state;
    char who[64];
    snprintf(who, sizeof who, "etcd 127.0.0.1:%d: ", E.m[0].client_port);
    of_lock_provider *p = make("/log-stopped/?command_timeout_ms=400");
    assert_int_equal(try_once(p, "warm"), OF_OK); /* connected: the next lines are the fault's */
    logcap_clear();
    of_lock *l = NULL;
    test_etcd_signal(&E, 0, SIGSTOP);
    int rc = acq(p, "n", 3000, &l);
    assert_int_equal(rc, OF_ERR_UNKNOWN);
    /* The cleanup's first attempts hit the stopped member (each ends by the 400 ms timeout). */
    int64_t end = test_now_ns() + 5000 * NS_PER_MS;
    while (logcap_count(OF_LOCK_LOG_WARN, "cleanup of lock \"n\": revoking lease", NULL, NULL) == 0 &&
           test_now_ns() < end)
        test_sleep_ms(50);
    test_etcd_signal(&E, 0, SIGCONT);
    end = test_now_ns() + 10000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(p) > 0 && test_now_ns() < end)
        test_sleep_ms(50);
    assert_int_equal(ofi_lock_provider_cleanup_pending(p), 0);
    expect_lines(1, OF_LOCK_LOG_WARN, who, "acquire of lock \"n\": /v3/lease/grant sent, no reply: ",
                 "(outcome unknown)");
    assert_true(logcap_count(OF_LOCK_LOG_WARN, who, "cleanup of lock \"n\": revoking lease",
                             "whose grant went unanswered, failed (OF_ERR_UNKNOWN)") >= 1);
    /* Its end: the lease revoked (the grant landed after the member resumed), or never found
     * (the grant died with its connection) until its TTL had passed. */
    int done = logcap_count(OF_LOCK_LOG_INFO, who, "cleanup of lock \"n\": done: revoked lease",
                            NULL);
    int absent = logcap_count(OF_LOCK_LOG_DEBUG, who, "cleanup of lock \"n\": lease",
                              "not found: its unanswered grant has not landed");
    if (done + absent == 0)
        logcap_dump();
    assert_true(done == 1 || (done == 0 && absent >= 1));
    /* The member answering again after the failures is an INFO line (more than one if a step
     * timed out again while the resumed member caught up, on a loaded machine). */
    if (logcap_count(OF_LOCK_LOG_INFO, who, "connected again after", "failed requests") < 1) {
        logcap_dump();
        fail_msg("no 'connected again' line");
    }
    assert_int_equal(acq(p, "n", 3000, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    if (getenv("TEST_ETCD_LOG_DUMP") != NULL) /* to read the lines a case produced */
        logcap_dump();
    of_lock_provider_destroy(p);
}

/* A "member" that answers every request with HTTP 200 and a body that is not JSON. */
typedef struct fake_http {
    int fd;
    int port;
    pthread_t thread;
} fake_http;

static void *fake_http_main(void *arg)
{
    fake_http *f = arg;
    for (;;) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[4096];
        size_t got = 0;
        /* Headers, then the body (its length is in Content-Length): enough for one request. */
        for (;;) {
            ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            char *hend = strstr(buf, "\r\n\r\n");
            char *cl = strstr(buf, "Content-Length: ");
            if (hend != NULL && cl != NULL &&
                got >= (size_t)(hend + 4 - buf) + (size_t)atol(cl + 16))
                break;
            if (got == sizeof buf - 1)
                break;
        }
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: 9\r\nConnection: close\r\n\r\nnot json!";
        ssize_t w = write(c, reply, sizeof reply - 1);
        (void)w;
        close(c);
    }
}

static int fake_http_start(fake_http *f)
{
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->fd, 8) != 0 ||
        getsockname(f->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->thread, NULL, fake_http_main, f) == 0 ? 0 : -1;
}

static void fake_http_stop(fake_http *f)
{
    shutdown(f->fd, SHUT_RDWR); /* accept() returns: the thread ends */
    pthread_join(f->thread, NULL);
    close(f->fd);
}

/* A reply that is not JSON: an ERROR line naming the endpoint, the request and the lock. */
static void etcd_log_unreadable_reply_is_an_error(void **state)
{
    (void)state;
    fake_http f;
    assert_int_equal(fake_http_start(&f), 0);
    char url[128], who[64];
    snprintf(url, sizeof url, "etcd://127.0.0.1:%d/", f.port);
    snprintf(who, sizeof who, "etcd 127.0.0.1:%d: ", f.port);
    of_lock_provider *p = make_url(url);
    assert_int_equal(try_once(p, "job"), OF_ERR_PROTOCOL);
    expect_lines(1, OF_LOCK_LOG_ERROR, who,
                 "acquire of lock \"job\": /v3/lease/grant: unreadable reply: reply is not a "
                 "JSON object",
                 NULL);
    of_lock_provider_destroy(p);
    fake_http_stop(&f);
}

/* A healthy member driven hard (acquire, contention, extend to the same and another TTL, a
 * wait that times out): one INFO line ("connected"), nothing at WARN or above. */
static void etcd_log_healthy_busy_loop_is_quiet(void **state)
{
    (void)state;
    of_lock_provider *p = make("/log-busy/");
    for (int i = 0; i < 40; i++) {
        of_lock *a = NULL, *b = NULL;
        assert_int_equal(acq(p, "hot", 5000, &a), OF_OK);
        assert_int_equal(acq(p, "hot", 5000, &b), OF_ERR_BUSY);
        assert_int_equal(of_lock_extend(a, 5000), OF_OK);
        assert_int_equal(of_lock_extend(a, i % 2 ? 6000 : 5000), OF_OK);
        assert_int_equal(of_lock_release(a), OF_OK);
    }
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq(p, "hot", 5000, &a), OF_OK);
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 5000;
    o.wait_ms = 300;
    assert_int_equal(of_lock_acquire(p, "hot", 3, &o, &b), OF_ERR_TIMEOUT);
    assert_int_equal(of_lock_release(a), OF_OK);
    expect_lines(0, OF_LOCK_LOG_WARN, NULL, NULL, NULL);
    expect_lines(1, OF_LOCK_LOG_DEBUG, NULL, NULL, NULL);
    expect_lines(1, OF_LOCK_LOG_INFO, "acquire of lock \"hot\": connected", NULL, NULL);
    if (getenv("TEST_ETCD_LOG_DUMP") != NULL) /* to read the lines a case produced */
        logcap_dump();
    of_lock_provider_destroy(p);
}

/* Credentials given to a cluster without auth: one INFO line, then requests go without a
 * token; the password is in no line. */
static void etcd_log_auth_not_enabled_is_info(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "etcd://someone:marked-pw-E5@127.0.0.1:%d/log-noauth/",
             E.m[0].client_port);
    of_lock_provider *p = make_url(url);
    for (int i = 0; i < 5; i++)
        assert_int_equal(try_once(p, "job"), OF_OK);
    expect_lines(1, OF_LOCK_LOG_INFO, "authenticate as user 'someone': authentication is not "
                 "enabled on the cluster", NULL, NULL);
    expect_lines(0, OF_LOCK_LOG_WARN, NULL, NULL, NULL);
    expect_lines(0, OF_LOCK_LOG_DEBUG, "marked-pw", NULL, NULL);
    of_lock_provider_destroy(p);
}

/* ---- auth -------------------------------------------------------------------------------- */

#define RIGHT_PW "s3cret-marked-Q7"

/* A refused password: one ERROR line with etcd's words and the user; no byte of the wrong
 * password in any line. */
static void etcd_log_wrong_password_is_an_error_without_it(void **state)
{
    (void)state;
    char url[256], who[64];
    snprintf(url, sizeof url, "etcd://root:wrong-marked-pw-C3@127.0.0.1:%d/auth/",
             E.m[0].client_port);
    snprintf(who, sizeof who, "etcd 127.0.0.1:%d: ", E.m[0].client_port);
    of_lock_provider *p = make_url(url);
    assert_int_equal(try_once(p, "job"), OF_ERR_AUTH);
    expect_lines(1, OF_LOCK_LOG_ERROR, who, "authenticate as user 'root': credentials refused: ",
                 "etcdserver: authentication failed");
    expect_lines(0, OF_LOCK_LOG_DEBUG, "marked-pw", NULL, NULL);
    expect_lines(0, OF_LOCK_LOG_DEBUG, "wrong-", NULL, NULL);
    /* Through the options struct too, and for a failover on the way. */
    of_lock_provider_destroy(p);
    of_lock_etcd_options o;
    of_lock_etcd_options_init(&o, sizeof o);
    char eps[64];
    snprintf(eps, sizeof eps, "127.0.0.1:1,127.0.0.1:%d", E.m[0].client_port);
    o.endpoints = eps;
    o.user = "root";
    o.password = "wrong-marked-pw-D4";
    p = NULL;
    assert_int_equal(of_lock_etcd_create(&o, &p), OF_OK);
    assert_int_equal(logcap_attach(p), 0);
    logcap_clear();
    assert_int_equal(try_once(p, "job"), OF_ERR_AUTH);
    expect_lines(1, OF_LOCK_LOG_WARN, "etcd 127.0.0.1:1: authenticate as user 'root': not reached",
                 NULL, NULL);
    expect_lines(1, OF_LOCK_LOG_ERROR, who, "credentials refused", NULL);
    expect_lines(0, OF_LOCK_LOG_DEBUG, "marked-pw", NULL, NULL);
    of_lock_provider_destroy(p);
    /* No credentials at all with auth on: refused too, at ERROR. */
    p = make("/auth/");
    assert_int_equal(try_once(p, "job"), OF_ERR_AUTH);
    expect_lines(1, OF_LOCK_LOG_ERROR, who, "acquire of lock \"job\": credentials refused: ",
                 "user name is empty");
    if (getenv("TEST_ETCD_LOG_DUMP") != NULL) /* to read the lines a case produced */
        logcap_dump();
    of_lock_provider_destroy(p);
}

/* The right password: "authenticated" at INFO; once the cluster drops its tokens (auth switched
 * off and on) the old token is refused and a fresh one is fetched: one INFO line says so. (A
 * member restart does not drop tokens reliably: etcd replays the Authenticate entries that its
 * backend had not committed yet, and the token with them.) */
static void etcd_log_token_refresh(void **state)
{
    (void)state;
    char url[256], who[64];
    snprintf(url, sizeof url, "etcd://root:" RIGHT_PW "@127.0.0.1:%d/auth/", E.m[0].client_port);
    snprintf(who, sizeof who, "etcd 127.0.0.1:%d: ", E.m[0].client_port);
    of_lock_provider *p = make_url(url);
    for (int i = 0; i < 20; i++)
        assert_int_equal(try_once(p, "job"), OF_OK);
    expect_lines(1, OF_LOCK_LOG_INFO, who, "authenticate as user 'root': authenticated", NULL);
    expect_lines(0, OF_LOCK_LOG_WARN, NULL, NULL, NULL);
    assert_int_equal(test_etcd_drop_tokens(&E), 0);
    assert_int_equal(try_once(p, "job"), OF_OK);
    expect_lines(1, OF_LOCK_LOG_INFO, who,
                 "authenticate as user 'root': auth token refreshed (etcd refused the old one: "
                 "etcdserver: invalid auth token)",
                 NULL);
    expect_lines(0, OF_LOCK_LOG_DEBUG, "marked", NULL, NULL);
    if (getenv("TEST_ETCD_LOG_DUMP") != NULL) /* to read the lines a case produced */
        logcap_dump();
    of_lock_provider_destroy(p);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "basic";
    if (test_etcd_start(&E, 1) != 0) {
        printf("1..1\nnot ok 1 - start etcd\n");
        return 1;
    }
    int rc = 2;
    if (strcmp(mode, "basic") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(etcd_log_failover_names_the_dead_endpoint),
            cmocka_unit_test(etcd_log_nothing_reachable_says_unavailable),
            cmocka_unit_test(etcd_log_unknown_outcome_then_cleanup),
            cmocka_unit_test(etcd_log_unreadable_reply_is_an_error),
            cmocka_unit_test(etcd_log_healthy_busy_loop_is_quiet),
            cmocka_unit_test(etcd_log_auth_not_enabled_is_info),
        };
        rc = cmocka_run_group_tests_name("lock-etcd-log", tests, NULL, NULL);
    } else if (strcmp(mode, "auth") == 0) {
        if (test_etcd_enable_auth(&E, RIGHT_PW) != 0) {
            printf("1..1\nnot ok 1 - enable etcd auth\n");
            test_etcd_stop(&E);
            return 1;
        }
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(etcd_log_wrong_password_is_an_error_without_it),
            cmocka_unit_test(etcd_log_token_refresh),
        };
        rc = cmocka_run_group_tests_name("lock-etcd-log-auth", tests, NULL, NULL);
    } else {
        fprintf(stderr, "usage: %s basic|auth\n", argv[0]);
    }
    test_etcd_stop(&E);
    return rc;
}
