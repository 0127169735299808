/* Redis provider tests on private redis-servers. One cmocka group per run (STYLE.md), chosen by
 * argv[1]:
 *   basic       protocol, keys, fencing, scripts, AUTH/ACL, SELECT, WRONGTYPE, SCRIPT FLUSH,
 *               SIGPIPE, outcome classes
 *   faults      SIGKILL + restart, SIGSTOP and CLIENT PAUSE past the command timeout, server
 *               down at start (timing-sensitive: run alone)
 *   reconnects  10,000 forced reconnects without fd or memory growth
 *   proxy       network faults through tests/support/fault-proxy (argv[2]): a reply trickling
 *               in, an error reply trickling in, a trickled AUTH/SELECT, blackhole, close,
 *               delay; every step ends by its one deadline (timing-sensitive: run alone) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "common/clock.h"
#include "lock/engine.h"
#include "lock/providers/redis.h"
#include "lock/providers/redis_scripts.h"
#include "redis-harness.h"

#define NS_PER_MS INT64_C(1000000)

static test_redis srv;

static of_lock_provider *make_provider(const test_redis *r, int unix_socket, const char *tail)
{
    char url[512];
    test_redis_url(r, unix_socket, tail, url, sizeof url);
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    if (rc != OF_OK)
        fail_msg("create %s: %s (%s)", url, of_status_name(rc), of_last_error_detail());
    return p;
}

static ofi_redis_provider *self_of(of_lock_provider *p)
{
    return ofi_lock_provider_self(p);
}

static of_lock_options opts(uint32_t ttl_ms, int64_t wait_ms)
{
    of_lock_options o;
    assert_int_equal(of_lock_options_init(&o, sizeof o), OF_OK);
    o.ttl_ms = ttl_ms;
    o.wait_ms = wait_ms;
    return o;
}

static int acq(of_lock_provider *p, const void *name, size_t len, uint32_t ttl, int64_t wait,
               of_lock **out)
{
    of_lock_options o = opts(ttl, wait);
    return of_lock_acquire(p, name, len, &o, out);
}

static uint64_t fence_of(const of_lock *l)
{
    uint64_t f = 0;
    assert_int_equal(of_lock_fence(l, &f), OF_OK);
    return f;
}

/* Admin command returning an integer (or -999 on failure). */
static long long admin_int(const test_redis *r, const char *fmt, ...)
{
    redisContext *c = test_redis_admin(r);
    assert_non_null(c);
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = -999;
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    if (rep != NULL)
        freeReplyObject(rep);
    redisFree(c);
    return v;
}

static void admin_ok(const test_redis *r, const char *fmt, ...)
{
    redisContext *c = test_redis_admin(r);
    assert_non_null(c);
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
        fail_msg("admin command %s failed: %s", fmt, rep != NULL ? rep->str : c->errstr);
    freeReplyObject(rep);
    redisFree(c);
}

static int64_t server_time_us(const test_redis *r)
{
    redisReply *rep = test_redis_cmd(r, "TIME");
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    int64_t us = atoll(rep->element[0]->str) * 1000000 + atoll(rep->element[1]->str);
    freeReplyObject(rep);
    return us;
}

static int group_setup(void **state)
{
    (void)state;
    const char *const extra[] = {"--enable-debug-command", "local", NULL};
    return test_redis_start(&srv, extra, NULL) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&srv);
    return 0;
}

/* ----------------------------------------------------------------------------------------- */
/* basic                                                                                      */
/* ----------------------------------------------------------------------------------------- */

static void scripts_sha_match_script_load(void **state)
{
    (void)state;
    size_t n = 0;
    const ofi_redis_script *s = ofi_redis_scripts(&n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        redisReply *rep = test_redis_cmd(&srv, "SCRIPT LOAD %s", s[i].body);
        assert_non_null(rep);
        if (rep->type != REDIS_REPLY_STRING || strcmp(rep->str, s[i].sha) != 0)
            fail_msg("script %zu: SCRIPT LOAD says %s, header says %s", i,
                     rep->type == REDIS_REPLY_STRING ? rep->str : "(error)", s[i].sha);
        freeReplyObject(rep);
    }
}

static void acquire_stores_token_with_ttl_and_fence_counter(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t1:");
    of_lock *l = NULL;
    int64_t t0 = of_clock_monotonic_ns();
    assert_int_equal(acq(p, "job", 3, 10000, 0, &l), OF_OK);
    int64_t t1 = of_clock_monotonic_ns();
    /* valid_until: conservative (send time + ttl - drift), never later */
    assert_true(of_lock_valid_until_ns(l) <= t1 + 10000 * NS_PER_MS);
    assert_true(of_lock_valid_until_ns(l) >= t0 + (10000 - 200) * NS_PER_MS - 200 * NS_PER_MS);

    of_lock_token tok;
    assert_int_equal(of_lock_token_get(l, &tok), OF_OK);
    char hex[OF_LOCK_TOKEN_HEX_LEN + 1];
    of_lock_token_to_hex(&tok, hex);
    redisReply *rep = test_redis_cmd(&srv, "GET t1:{job}:lock");
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    assert_string_equal(rep->str, hex);
    freeReplyObject(rep);
    long long pttl = admin_int(&srv, "PTTL t1:{job}:lock");
    assert_true(pttl > 0 && pttl <= 10000);
    long long fttl = admin_int(&srv, "PTTL t1:{job}:fence");
    assert_true(fttl > 86400000LL); /* counters expire, but only after a long idle time */
    rep = test_redis_cmd(&srv, "GET t1:{job}:fence");
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    assert_int_equal((uint64_t)atoll(rep->str), fence_of(l));
    freeReplyObject(rep);

    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(admin_int(&srv, "EXISTS t1:{job}:lock"), 0);
    assert_int_equal(admin_int(&srv, "EXISTS t1:{job}:fence"), 1);
    of_lock_provider_destroy(p);
}

static void fence_starts_at_server_time_and_increments(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t2:");
    int64_t before = server_time_us(&srv);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "f", 1, 5000, 0, &l), OF_OK);
    int64_t after = server_time_us(&srv);
    uint64_t f1 = fence_of(l);
    assert_true((int64_t)f1 >= before && (int64_t)f1 <= after);
    assert_true(f1 <= OF_LOCK_FENCE_MAX);
    assert_int_equal(of_lock_release(l), OF_OK);
    uint64_t last = f1;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(acq(p, "f", 1, 5000, 0, &l), OF_OK);
        assert_int_equal(fence_of(l), last + 1);
        last = fence_of(l);
        assert_int_equal(of_lock_release(l), OF_OK);
    }
    /* The counter vanished (expiry, flush, restart): it restarts from TIME, above the old one. */
    admin_ok(&srv, "DEL t2:{f}:fence");
    assert_int_equal(acq(p, "f", 1, 5000, 0, &l), OF_OK);
    assert_true(fence_of(l) > last);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

static void busy_answer_carries_pttl_hint(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t3:");
    void *self = self_of(p);
    of_lock_token a = {{1, 2, 3}}, b = {{9, 9, 9}};
    uint64_t fence = 0;
    int64_t vu = of_clock_monotonic_ns() + 60000 * NS_PER_MS;
    uint32_t hint = 0;
    int64_t dl = of_clock_monotonic_ns() + 5000 * NS_PER_MS;
    assert_int_equal(ofi_redis_try_acquire(self, "h", 1, &a, 60000, dl, &fence, &vu, &hint), OF_OK);
    assert_true(fence > 0);
    /* the remaining PTTL is the hint (the engine caps its jittered backoff with it) */
    fence = 0;
    assert_int_equal(ofi_redis_try_acquire(self, "h", 1, &b, 60000, dl, &fence, &vu, &hint),
                     OF_ERR_BUSY);
    assert_true(hint > 50000 && hint <= 60000);
    assert_int_equal(fence, 0);
    hint = 0;
    /* our own token is busy too: not reentrant */
    assert_int_equal(ofi_redis_try_acquire(self, "h", 1, &a, 60000, dl, &fence, &vu, &hint),
                     OF_ERR_BUSY);
    /* a lease about to end: the remaining PTTL is the hint */
    admin_ok(&srv, "PEXPIRE t3:{h}:lock 80");
    assert_int_equal(ofi_redis_try_acquire(self, "h", 1, &b, 60000, dl, &fence, &vu, &hint),
                     OF_ERR_BUSY);
    assert_true(hint >= 1 && hint <= 80);
    assert_int_equal(ofi_redis_release(self, "h", 1, &b, dl), OF_ERR_NOT_OWNER);
    test_sleep_ms(120);
    assert_int_equal(ofi_redis_release(self, "h", 1, &a, dl), OF_ERR_NOT_OWNER);
    of_lock_provider_destroy(p);
}

static void names_are_binary_safe_and_never_share_keys(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t4:");
    static const struct {
        const char *name;
        size_t len;
    } names[] = {
        {"a", 1}, {"a}", 2}, {"a}:lock", 7}, {"a%7D", 4}, {"{a}", 3}, {"a\0b", 3}, {"a\0c", 3},
        {"%", 1}, {"%25", 3}, {"}", 1},
    };
    const size_t n = sizeof names / sizeof names[0];
    of_lock *held[16];
    for (size_t i = 0; i < n; i++)
        if (acq(p, names[i].name, names[i].len, 30000, 0, &held[i]) != OF_OK)
            fail_msg("name %zu: %s", i, of_last_error_detail());
    /* exactly one lock key and one fence key per name */
    redisReply *rep = test_redis_cmd(&srv, "KEYS t4:*");
    assert_non_null(rep);
    assert_int_equal(rep->elements, 2 * n);
    freeReplyObject(rep);
    assert_int_equal(admin_int(&srv, "EXISTS %b", "t4:{a%00b}:lock", (size_t)15), 0);
    assert_int_equal(admin_int(&srv, "EXISTS %b", "t4:{a\0b}:lock", (size_t)13), 1);
    /* (keys passed as %s: hiredis would read "%7D" in a format string as a conversion) */
    assert_int_equal(admin_int(&srv, "EXISTS %s", "t4:{a%7D}:lock"), 1);
    assert_int_equal(admin_int(&srv, "EXISTS %s", "t4:{a%257D}:lock"), 1);
    assert_int_equal(admin_int(&srv, "EXISTS %s", "t4:{a%7D:lock}:lock"), 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(of_lock_release(held[i]), OF_OK);
    /* a name of the full 1024 bytes, all braces (escaped to 3 KiB) */
    char big[OF_NAME_MAX];
    memset(big, '{', sizeof big);
    of_lock *l = NULL;
    assert_int_equal(acq(p, big, sizeof big, 30000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

static void prefixes_and_databases_separate_namespaces(void **state)
{
    (void)state;
    of_lock_provider *a = make_provider(&srv, 0, "?prefix=svcA:");
    of_lock_provider *b = make_provider(&srv, 1, "?prefix=svcB:");
    of_lock_provider *c = make_provider(&srv, 0, "/5?prefix=svcA:");
    of_lock *la = NULL, *lb = NULL, *lc = NULL, *x = NULL;
    assert_int_equal(acq(a, "n", 1, 30000, 0, &la), OF_OK);
    assert_int_equal(acq(b, "n", 1, 30000, 0, &lb), OF_OK);
    assert_int_equal(acq(c, "n", 1, 30000, 0, &lc), OF_OK); /* same prefix, other db */
    assert_int_equal(acq(a, "n", 1, 30000, 0, &x), OF_ERR_BUSY);
    redisContext *ac = test_redis_admin(&srv);
    assert_non_null(ac);
    redisReply *rep = redisCommand(ac, "SELECT 5");
    freeReplyObject(rep);
    rep = redisCommand(ac, "EXISTS svcA:{n}:lock");
    assert_int_equal(rep->integer, 1);
    freeReplyObject(rep);
    redisFree(ac);
    assert_int_equal(of_lock_release(la), OF_OK);
    assert_int_equal(of_lock_release(lb), OF_OK);
    assert_int_equal(of_lock_release(lc), OF_OK);
    of_lock_provider_destroy(a);
    of_lock_provider_destroy(b);
    of_lock_provider_destroy(c);
}

static void release_and_extend_never_touch_the_next_owner(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t5:");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "x", 1, 30000, 0, &l), OF_OK);
    /* someone else owns it now (our lease was lost and taken over) */
    admin_ok(&srv, "SET t5:{x}:lock other-owner PX 50000");
    assert_int_equal(of_lock_extend(l, 30000), OF_ERR_NOT_OWNER);
    assert_true(of_lock_is_lost(l));
    long long pttl = admin_int(&srv, "PTTL t5:{x}:lock");
    assert_true(pttl > 30000); /* not extended to our 30 s */
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
    redisReply *rep = test_redis_cmd(&srv, "GET t5:{x}:lock");
    assert_non_null(rep);
    assert_string_equal(rep->str, "other-owner");
    freeReplyObject(rep);
    admin_ok(&srv, "DEL t5:{x}:lock");
    /* extend moves the server-side expiry */
    assert_int_equal(acq(p, "x", 1, 1000, 0, &l), OF_OK);
    assert_int_equal(of_lock_extend(l, 40000), OF_OK);
    pttl = admin_int(&srv, "PTTL t5:{x}:lock");
    assert_true(pttl > 30000 && pttl <= 40000);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

static void wrongtype_is_protocol_error_with_reply_text(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t6:");
    of_lock *l = NULL;
    /* fence counter of the wrong type: PROTOCOL, and no lock left behind */
    admin_ok(&srv, "RPUSH t6:{w}:fence 1");
    assert_int_equal(acq(p, "w", 1, 30000, 0, &l), OF_ERR_PROTOCOL);
    assert_non_null(strstr(of_last_error_detail(), "WRONGTYPE"));
    assert_int_equal(admin_int(&srv, "EXISTS t6:{w}:lock"), 0);
    /* a counter that is not a number */
    admin_ok(&srv, "SET t6:{v}:fence abc");
    assert_int_equal(acq(p, "v", 1, 30000, 0, &l), OF_ERR_PROTOCOL);
    assert_non_null(strstr(of_last_error_detail(), "not an integer"));
    assert_int_equal(admin_int(&srv, "EXISTS t6:{v}:lock"), 0);
    /* a counter at 2^53: refused rather than handing out an inexact fence */
    admin_ok(&srv, "SET t6:{u}:fence 9007199254740991");
    assert_int_equal(acq(p, "u", 1, 30000, 0, &l), OF_ERR_PROTOCOL);
    assert_non_null(strstr(of_last_error_detail(), "2^53"));
    assert_int_equal(admin_int(&srv, "EXISTS t6:{u}:lock"), 0);
    /* release/extend on a lock key of the wrong type */
    assert_int_equal(acq(p, "k", 1, 30000, 0, &l), OF_OK);
    admin_ok(&srv, "DEL t6:{k}:lock");
    admin_ok(&srv, "HSET t6:{k}:lock f v");
    assert_int_equal(of_lock_extend(l, 30000), OF_ERR_PROTOCOL);
    assert_non_null(strstr(of_last_error_detail(), "WRONGTYPE"));
    of_lock_release(l); /* a cleanup may be queued; the handle is freed either way */
    admin_ok(&srv, "DEL t6:{k}:lock");
    of_lock_provider_destroy(p);
}

static void auth_password_and_acl_user(void **state)
{
    (void)state;
    test_redis r;
    const char *const extra[] = {"--requirepass", "s3cret",
                                 "--user", "alice", "on", ">wonder", "~*", "&*", "+@all", NULL};
    assert_int_equal(test_redis_start(&r, extra, NULL), 0);
    of_lock *l = NULL;
    const char *tails[] = {"", "?connect_timeout_ms=500", ":bad@", "alice:wonder@", "alice:nope@",
                           "bob:wonder@", ":s3cret@"};
    int want[] = {OF_ERR_AUTH, OF_ERR_AUTH, OF_ERR_AUTH, OF_OK, OF_ERR_AUTH, OF_ERR_AUTH, OF_OK};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char url[512];
        if (strchr(tails[i], '@') != NULL)
            snprintf(url, sizeof url, "redis://%s127.0.0.1:%d", tails[i], r.port);
        else
            test_redis_url(&r, 0, tails[i], url, sizeof url);
        of_lock_provider *p = NULL;
        assert_int_equal(of_lock_redis_create_url(url, &p), OF_OK);
        int rc = acq(p, "a", 1, 30000, 0, &l);
        if (rc != want[i])
            fail_msg("%s: %s (%s), want %s", url, of_status_name(rc), of_last_error_detail(),
                     of_status_name(want[i]));
        if (rc == OF_OK)
            assert_int_equal(of_lock_release(l), OF_OK);
        else
            assert_true(strstr(of_last_error_detail(), "wonder") == NULL &&
                        strstr(of_last_error_detail(), "s3cret") == NULL);
        of_lock_provider_destroy(p);
    }
    /* over the unix socket with an options struct */
    of_lock_redis_options o;
    of_lock_redis_options_init(&o, sizeof o);
    o.unix_path = r.sock;
    o.user = "alice";
    o.password = "wonder";
    o.db = 3;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_redis_create(&o, &p), OF_OK);
    assert_int_equal(acq(p, "u", 1, 30000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
    test_redis_stop(&r);
}

static void select_of_missing_db_is_protocol_error(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "/99");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "a", 1, 30000, 0, &l), OF_ERR_PROTOCOL);
    assert_non_null(strstr(of_last_error_detail(), "SELECT"));
    of_lock_provider_destroy(p);
}

typedef struct flush_worker {
    of_lock_provider *p;
    const char *name;
    int iterations;
    int failures;
} flush_worker;

static void *flush_worker_run(void *arg)
{
    flush_worker *w = arg;
    for (int i = 0; i < w->iterations; i++) {
        of_lock *l = NULL;
        of_lock_options o = opts(30000, 5000);
        int rc = of_lock_acquire(w->p, w->name, strlen(w->name), &o, &l);
        if (rc != OF_OK) {
            w->failures++;
            continue;
        }
        if (of_lock_extend(l, 30000) != OF_OK)
            w->failures++;
        if (of_lock_release(l) != OF_OK)
            w->failures++;
    }
    return NULL;
}

static void script_flush_mid_run_falls_back_to_eval(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t7:");
    ofi_redis_provider *rp = self_of(p);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "s", 1, 30000, 0, &l), OF_OK);
    admin_ok(&srv, "SCRIPT FLUSH");
    ofi_redis_pool_stats st0, st1;
    ofi_redis_pool_get_stats(&rp->pool, &st0);
    assert_int_equal(of_lock_release(l), OF_OK); /* NOSCRIPT -> EVAL */
    ofi_redis_pool_get_stats(&rp->pool, &st1);
    assert_int_equal(st1.eval_fallbacks, st0.eval_fallbacks + 1);
    assert_int_equal(acq(p, "s", 1, 30000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);

    /* two threads contending while the cache is flushed again and again */
    flush_worker w[2] = {{p, "s", 300, 0}, {p, "s", 300, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, flush_worker_run, &w[i]), 0);
    for (int i = 0; i < 30; i++) {
        admin_ok(&srv, "SCRIPT FLUSH");
        test_sleep_ms(5);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(w[0].failures + w[1].failures, 0);
    ofi_redis_pool_get_stats(&rp->pool, &st1);
    assert_true(st1.eval_fallbacks > st0.eval_fallbacks + 1);
    of_lock_provider_destroy(p);
}

/* A write to a connection the server closed raises SIGPIPE; with the default disposition that
 * would kill the process. Provoke it with a command larger than the socket buffers. */
static void sigpipe_never_kills_and_mask_is_restored(void **state)
{
    (void)state;
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, &old);
    sigset_t before, after, pending;
    pthread_sigmask(SIG_SETMASK, NULL, &before);

    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t8:&command_timeout_ms=3000");
    ofi_redis_provider *rp = self_of(p);
    size_t big = 64u << 20;
    char *payload = malloc(big);
    assert_non_null(payload);
    memset(payload, 'x', big);
    int saw_unknown = 0;
    for (int round = 0; round < 3; round++) {
        ofi_redis_conn *c = NULL;
        assert_int_equal(ofi_redis_checkout(&rp->pool, 0, &c), OF_OK);
        admin_ok(&srv, "CLIENT KILL TYPE normal SKIPME yes");
        test_sleep_ms(20);
        const char *argv[3] = {"SET", "t8:big", payload};
        size_t lens[3] = {3, 6, big};
        redisReply *r = NULL;
        int rc = ofi_redis_command(c, 3, argv, lens, &r);
        assert_true(rc == OF_ERR_UNKNOWN || rc == OF_ERR_UNAVAILABLE);
        saw_unknown |= rc == OF_ERR_UNKNOWN;
        ofi_redis_checkin(c);
        sigpending(&pending);
        assert_false(sigismember(&pending, SIGPIPE));
        pthread_sigmask(SIG_SETMASK, NULL, &after);
        assert_int_equal(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
    }
    assert_true(saw_unknown); /* bytes left before the failure: the outcome is unknown */
    free(payload);
    /* the provider still works afterwards */
    of_lock *l = NULL;
    assert_int_equal(acq(p, "after", 5, 30000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
    sigaction(SIGPIPE, &old, NULL);
}

static void killed_idle_connection_is_replaced_not_unknown(void **state)
{
    (void)state;
    of_lock_provider *p = make_provider(&srv, 1, "?prefix=t9:");
    ofi_redis_provider *rp = self_of(p);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "k", 1, 30000, 0, &l), OF_OK);
    ofi_redis_pool_stats s0, s1;
    ofi_redis_pool_get_stats(&rp->pool, &s0);
    admin_ok(&srv, "CLIENT KILL TYPE normal SKIPME yes");
    assert_int_equal(of_lock_release(l), OF_OK); /* a fresh connection, not an UNKNOWN outcome */
    ofi_redis_pool_get_stats(&rp->pool, &s1);
    assert_int_equal(s1.connects, s0.connects + 1);
    assert_int_equal(s1.unknown, s0.unknown);
    of_lock_provider_destroy(p);
}

static void blocked_sigpipe_of_caller_is_left_alone(void **state)
{
    (void)state;
    sigset_t set, old, now;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=t10:");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "k", 1, 30000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    assert_true(sigismember(&now, SIGPIPE)); /* still blocked, as the caller wanted */
    of_lock_provider_destroy(p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ----------------------------------------------------------------------------------------- */
/* faults                                                                                     */
/* ----------------------------------------------------------------------------------------- */

static void server_down_at_start_is_unavailable_fast(void **state)
{
    (void)state;
    test_redis r;
    assert_int_equal(test_redis_start(&r, NULL, NULL), 0);
    int port = r.port;
    char sock[192];
    snprintf(sock, sizeof sock, "%s", r.sock);
    test_redis_stop(&r); /* nobody listens there now */
    char url[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d?connect_timeout_ms=1000", port);
    for (int unix_socket = 0; unix_socket < 2; unix_socket++) {
        if (unix_socket)
            snprintf(url, sizeof url, "unix://%s?connect_timeout_ms=1000", sock);
        of_lock_provider *p = NULL;
        assert_int_equal(of_lock_redis_create_url(url, &p), OF_OK);
        of_lock *l = NULL;
        int64_t t0 = of_clock_monotonic_ns();
        assert_int_equal(acq(p, "d", 1, 30000, 0, &l), OF_ERR_UNAVAILABLE);
        int64_t took = of_clock_monotonic_ns() - t0;
        assert_true(took < (1000 + 1000) * NS_PER_MS); /* within the connect timeout + 1 s */
        /* with a wait, UNAVAILABLE is retried until the deadline, never early; no attempt
         * reached the server, so the answer stays UNAVAILABLE (not TIMEOUT: nobody holds it),
         * and the detail keeps the cause */
        t0 = of_clock_monotonic_ns();
        assert_int_equal(acq(p, "d", 1, 30000, 300, &l), OF_ERR_UNAVAILABLE);
        assert_non_null(strstr(of_last_error_detail(), "unavailable for the whole"));
        took = of_clock_monotonic_ns() - t0;
        assert_true(took >= 300 * NS_PER_MS);
        assert_true(took < (300 + 1000) * NS_PER_MS);
        of_lock_provider_destroy(p);
    }
}

static void sigkill_and_restart_keeps_fences_increasing(void **state)
{
    (void)state;
    test_redis r;
    assert_int_equal(test_redis_start(&r, NULL, NULL), 0);
    char url[256];
    test_redis_url(&r, 0, "?connect_timeout_ms=500&command_timeout_ms=500", url, sizeof url);
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_redis_create_url(url, &p), OF_OK);
    ofi_redis_provider *rp = self_of(p);
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq(p, "r", 1, 30000, 0, &a), OF_OK);
    uint64_t f1 = fence_of(a);

    test_redis_signal(&r, SIGKILL);
    /* Down: nothing can be sent. The old lease stands as far as we know. */
    assert_int_equal(of_lock_extend(a, 30000), OF_ERR_UNAVAILABLE);
    assert_false(of_lock_is_lost(a));
    assert_int_equal(test_redis_restart(&r), 0);
    test_sleep_ms(300); /* past the reconnect backoff */
    ofi_redis_pool_stats s0, s1;
    ofi_redis_pool_get_stats(&rp->pool, &s0);
    /* the restart wiped the key: the holder learns it is no longer the owner */
    int rc;
    for (int i = 0; i < 50 && (rc = of_lock_extend(a, 30000)) == OF_ERR_UNAVAILABLE; i++)
        test_sleep_ms(50);
    assert_int_equal(rc, OF_ERR_NOT_OWNER);
    assert_true(of_lock_is_lost(a));
    assert_int_equal(of_lock_release(a), OF_ERR_LOST);
    ofi_redis_pool_get_stats(&rp->pool, &s1);
    assert_true(s1.eval_fallbacks > s0.eval_fallbacks); /* NOSCRIPT after the restart */
    /* a new acquisition works, and its fence is above the pre-restart one */
    assert_int_equal(acq(p, "r", 1, 30000, 2000, &b), OF_OK);
    assert_true(fence_of(b) > f1);
    assert_int_equal(of_lock_release(b), OF_OK);
    of_lock_provider_destroy(p);
    test_redis_stop(&r);
}

/* An acquire whose reply does not come within the command timeout returns UNKNOWN (never
 * TIMEOUT, never a hang), and the engine's cleanup removes the lock that landed late, so a later
 * acquirer is not blocked for the whole TTL. @p how: 0 = SIGSTOP, 1 = CLIENT PAUSE WRITE. */
static void stall_past_command_timeout(int how)
{
    test_redis r;
    assert_int_equal(test_redis_start(&r, NULL, NULL), 0);
    const int64_t cmd_ms = 300;
    char url[256];
    test_redis_url(&r, 0, "?command_timeout_ms=300&connect_timeout_ms=300", url, sizeof url);
    of_lock_provider *p = NULL, *q = NULL;
    assert_int_equal(of_lock_redis_create_url(url, &p), OF_OK);
    test_redis_url(&r, 0, "?command_timeout_ms=5000", url, sizeof url);
    assert_int_equal(of_lock_redis_create_url(url, &q), OF_OK);
    of_lock *warm = NULL;
    assert_int_equal(acq(p, "warm", 4, 30000, 0, &warm), OF_OK); /* connection is up */
    assert_int_equal(of_lock_release(warm), OF_OK);

    const int64_t pause_ms = 1500;
    if (how == 0)
        test_redis_signal(&r, SIGSTOP);
    else
        admin_ok(&r, "CLIENT PAUSE %lld WRITE", (long long)pause_ms);
    of_lock *l = NULL;
    int64_t t0 = of_clock_monotonic_ns();
    assert_int_equal(acq(p, "stall", 5, 60000, 0, &l), OF_ERR_UNKNOWN);
    int64_t took = of_clock_monotonic_ns() - t0;
    assert_true(took >= cmd_ms * NS_PER_MS);                /* never before the timeout */
    assert_true(took <= (cmd_ms + 1000) * NS_PER_MS);       /* + max(1 s, 100%) */
    /* with a wait the answer is the same: UNKNOWN at once, not TIMEOUT */
    t0 = of_clock_monotonic_ns();
    assert_int_equal(acq(p, "stall2", 6, 60000, 10000, &l), OF_ERR_UNKNOWN);
    took = of_clock_monotonic_ns() - t0;
    assert_true(took <= (cmd_ms + 1000) * NS_PER_MS);
    if (how == 0) {
        test_sleep_ms(200);
        test_redis_signal(&r, SIGCONT);
    }
    /* The stalled SETs land when the server resumes; the cleanup deletes them. Another
     * acquirer gets the name long before the 60 s TTL. */
    of_lock *b = NULL;
    t0 = of_clock_monotonic_ns();
    assert_int_equal(acq(q, "stall", 5, 30000, 15000, &b), OF_OK);
    assert_true(of_clock_monotonic_ns() - t0 < 15000 * NS_PER_MS);
    assert_int_equal(of_lock_release(b), OF_OK);
    assert_int_equal(acq(q, "stall2", 6, 30000, 15000, &b), OF_OK);
    assert_int_equal(of_lock_release(b), OF_OK);
    /* Both unknown outcomes were queued for cleanup. (Which release deleted a landed orphan is
     * not observable from the counters: a cleanup release sent during the stall may run on
     * resume and delete it while its own reply is lost; CLIENT PAUSE drops the paused command
     * of a client that disconnected. What matters is checked above: the next acquirer got in
     * long before the 60 s TTL.) */
    of_lock_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(p, &st), OF_OK);
    assert_int_equal(st.cleanups_queued, 2);
    of_lock_provider_destroy(p);
    of_lock_provider_destroy(q);
    test_redis_stop(&r);
}

static void sigstop_past_command_timeout_is_unknown_then_cleaned(void **state)
{
    (void)state;
    stall_past_command_timeout(0);
}

static void client_pause_past_command_timeout_is_unknown_then_cleaned(void **state)
{
    (void)state;
    stall_past_command_timeout(1);
}

static void wrong_password_is_auth(void **state)
{
    (void)state;
    test_redis r;
    const char *const extra[] = {"--requirepass", "right", NULL};
    assert_int_equal(test_redis_start(&r, extra, NULL), 0);
    char url[256];
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d", r.port);
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_redis_create_url(url, &p), OF_OK);
    of_lock *l = NULL;
    int64_t t0 = of_clock_monotonic_ns();
    /* AUTH is not retried like UNAVAILABLE: it comes back at once, also with a wait */
    assert_int_equal(acq(p, "a", 1, 30000, 2000, &l), OF_ERR_AUTH);
    assert_true(of_clock_monotonic_ns() - t0 < 1000 * NS_PER_MS);
    assert_non_null(strstr(of_last_error_detail(), "WRONGPASS"));
    of_lock_provider_destroy(p);
    test_redis_stop(&r);
}

/* ----------------------------------------------------------------------------------------- */
/* reconnects                                                                                 */
/* ----------------------------------------------------------------------------------------- */

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks;
}

static void forced_reconnects_do_not_grow_fds_or_memory(void **state)
{
    (void)state;
    const int rounds = getenv("OF_UNDER_VALGRIND") != NULL ? 500 : 10000;
    of_lock_provider *p = make_provider(&srv, 0, "?prefix=rc:");
    ofi_redis_provider *rp = self_of(p);
    redisContext *admin = test_redis_admin(&srv);
    assert_non_null(admin);
    int fds0 = 0;
    size_t heap0 = 0;
    ofi_redis_pool_stats s0, s1;
    for (int i = 0; i < rounds; i++) {
        if (i == 100) { /* warmed up */
            fds0 = test_count_fds();
            heap0 = heap_in_use();
            ofi_redis_pool_get_stats(&rp->pool, &s0);
        }
        redisReply *rep = redisCommand(admin, "CLIENT KILL TYPE normal SKIPME yes");
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
        freeReplyObject(rep);
        of_lock *l = NULL;
        int rc = acq(p, "rc", 2, 30000, 0, &l);
        if (rc != OF_OK)
            fail_msg("round %d: %s (%s)", i, of_status_name(rc), of_last_error_detail());
        assert_int_equal(of_lock_release(l), OF_OK);
    }
    ofi_redis_pool_get_stats(&rp->pool, &s1);
    assert_int_equal(s1.connects - s0.connects, (uint64_t)(rounds - 100));
    assert_int_equal(s1.unknown, 0);
    assert_int_equal(s1.open, 1);
    assert_int_equal(test_count_fds(), fds0);
    size_t heap1 = heap_in_use();
    /* glibc's counter (0 under sanitizers, which check leaks themselves) */
    assert_true(heap1 <= heap0 + 64 * 1024);
    redisFree(admin);
    of_lock_provider_destroy(p);
}

/* ----------------------------------------------------------------------------------------- */
/* proxy                                                                                      */
/* ----------------------------------------------------------------------------------------- */

static const char *proxy_prog;
static test_proxy proxy;

static int proxy_group_setup(void **state)
{
    if (group_setup(state) != 0)
        return -1;
    if (proxy_prog == NULL || test_proxy_start(&proxy, proxy_prog, srv.port) != 0) {
        test_redis_stop(&srv);
        return -1;
    }
    return 0;
}

static int proxy_group_teardown(void **state)
{
    test_proxy_stop(&proxy);
    return group_teardown(state);
}

static void proxy_set(const char *cmd)
{
    if (test_proxy_mode(&proxy, cmd) != 0)
        fail_msg("fault-proxy refused '%s'", cmd);
}

/* A provider that reaches the server through the proxy. */
static of_lock_provider *proxied(const char *path_and_query)
{
    char url[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d%s", proxy.port, path_and_query);
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    if (rc != OF_OK)
        fail_msg("create %s: %s (%s)", url, of_status_name(rc), of_last_error_detail());
    return p;
}

/* Leave the proxy in pass mode and let the queued cleanups of UNKNOWN outcomes finish. */
static void proxied_destroy(of_lock_provider *p)
{
    proxy_set("pass");
    of_lock_provider_destroy(p);
}

#define TRICKLE_CMD_MS 200
/* not before the deadline, and no hang: deadline + max(1 s, 100%) */
#define TRICKLE_BOUND_MS (TRICKLE_CMD_MS + 1000)

static void proxy_pass_and_delay_work_and_valid_until_counts_from_send(void **state)
{
    (void)state;
    proxy_set("pass");
    of_lock_provider *p = proxied("?prefix=px1:&command_timeout_ms=2000");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "a", 1, 30000, 0, &l), OF_OK);
    uint64_t f1 = fence_of(l);
    assert_int_equal(of_lock_extend(l, 30000), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    /* 300 ms each way in the reply direction: still within the 2 s command timeout */
    proxy_set("delay 300");
    const uint32_t ttl = 5000;
    int64_t t0 = of_clock_monotonic_ns();
    assert_int_equal(acq(p, "a", 1, ttl, 0, &l), OF_OK);
    int64_t t1 = of_clock_monotonic_ns();
    assert_true(t1 - t0 >= 300 * NS_PER_MS);
    assert_true(fence_of(l) > f1);
    /* the lease counts from before the request left, minus the drift allowance */
    int64_t vu = of_lock_valid_until_ns(l);
    assert_true(vu <= t0 + (int64_t)ttl * NS_PER_MS - ((int64_t)ttl / 100 + 2) * NS_PER_MS);
    assert_true(vu > t0); /* and it is a real lease */
    assert_int_equal(of_lock_release(l), OF_OK);
    proxied_destroy(p);
}

/* The reply of the acquire comes 1 byte per 150 ms with a 200 ms command timeout: the step ends
 * UNKNOWN at its deadline (hiredis' per-read timeout would keep reading for seconds and hand back
 * a grant whose lease had ended long before). */
static void trickled_reply_is_unknown_by_the_deadline(void **state)
{
    (void)state;
    proxy_set("pass");
    of_lock_provider *p = proxied("?prefix=px2:&command_timeout_ms=200");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "warm", 4, 30000, 0, &l), OF_OK); /* connected, nothing pending */
    assert_int_equal(of_lock_release(l), OF_OK);
    ofi_redis_pool_stats s0, s1;
    ofi_redis_pool_get_stats(&self_of(p)->pool, &s0);
    proxy_set("trickle 150");
    for (int round = 0; round < 2; round++) { /* the second on a fresh connection */
        int64_t t0 = of_clock_monotonic_ns();
        int rc = acq(p, "t", 1, 1000, 0, &l);
        int64_t took = of_clock_monotonic_ns() - t0;
        print_message("# trickled acquire, round %d: %s after %lld ms\n", round,
                      of_status_name(rc), (long long)(took / NS_PER_MS));
        if (rc != OF_ERR_UNKNOWN && rc != OF_ERR_UNAVAILABLE)
            fail_msg("round %d: %s (%s) after %lld ms", round, of_status_name(rc),
                     of_last_error_detail(), (long long)(took / NS_PER_MS));
        if (round == 0) { /* the request went out on the warm connection */
            assert_int_equal(rc, OF_ERR_UNKNOWN);
            ofi_redis_pool_get_stats(&self_of(p)->pool, &s1);
            assert_true(s1.unknown > s0.unknown); /* sent, no complete reply by the deadline */
            assert_true(took >= TRICKLE_CMD_MS * NS_PER_MS);
        }
        assert_true(took <= TRICKLE_BOUND_MS * NS_PER_MS);
    }
    proxied_destroy(p);
}

/* An error reply (WRONGTYPE from INCR on the fence key, ~70 bytes) trickled the same way also
 * ends by the deadline. */
static void trickled_error_reply_is_unknown_by_the_deadline(void **state)
{
    (void)state;
    proxy_set("pass");
    admin_ok(&srv, "HSET px3:{e}:fence f v");
    of_lock_provider *p = proxied("?prefix=px3:&command_timeout_ms=200");
    of_lock *l = NULL;
    int rc0 = acq(p, "e", 1, 30000, 0, &l);
    if (rc0 != OF_ERR_PROTOCOL) /* it is an error reply */
        fail_msg("%s: %s", of_status_name(rc0), of_last_error_detail());
    assert_non_null(strstr(of_last_error_detail(), "WRONGTYPE"));
    proxy_set("trickle 150");
    int64_t t0 = of_clock_monotonic_ns();
    int rc = acq(p, "e", 1, 30000, 0, &l);
    int64_t took = of_clock_monotonic_ns() - t0;
    print_message("# trickled error reply: %s after %lld ms\n", of_status_name(rc),
                  (long long)(took / NS_PER_MS));
    assert_int_equal(rc, OF_ERR_UNKNOWN);
    assert_true(took >= TRICKLE_CMD_MS * NS_PER_MS);
    assert_true(took <= TRICKLE_BOUND_MS * NS_PER_MS);
    proxied_destroy(p);
    admin_ok(&srv, "DEL px3:{e}:fence");
}

/* A new connection whose SELECT answer trickles in: the set-up shares the step's deadline, and
 * since nothing of the lock step was sent the answer is UNAVAILABLE. */
static void trickled_setup_reply_is_unavailable_by_the_deadline(void **state)
{
    (void)state;
    proxy_set("trickle 150");
    of_lock_provider *p = proxied("/1?prefix=px4:&command_timeout_ms=200");
    of_lock *l = NULL;
    int64_t t0 = of_clock_monotonic_ns();
    int rc = acq(p, "s", 1, 30000, 0, &l);
    int64_t took = of_clock_monotonic_ns() - t0;
    print_message("# trickled SELECT: %s after %lld ms\n", of_status_name(rc),
                  (long long)(took / NS_PER_MS));
    assert_int_equal(rc, OF_ERR_UNAVAILABLE);
    assert_true(took >= TRICKLE_CMD_MS * NS_PER_MS);
    assert_true(took <= TRICKLE_BOUND_MS * NS_PER_MS);
    proxy_set("pass");
    /* and through a clean path it works again (after the reconnect backoff) */
    rc = OF_ERR_UNAVAILABLE;
    for (int i = 0; i < 50 && rc == OF_ERR_UNAVAILABLE; i++) {
        rc = acq(p, "s", 1, 30000, 0, &l);
        if (rc == OF_ERR_UNAVAILABLE)
            test_sleep_ms(20);
    }
    assert_int_equal(rc, OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    proxied_destroy(p);
}

/* Blackhole: no byte comes back, UNKNOWN at the deadline. Close: the connection breaks, never a
 * hang and never OK. Pass again: it works. */
static void blackhole_and_close_end_by_the_deadline(void **state)
{
    (void)state;
    proxy_set("pass");
    of_lock_provider *p = proxied("?prefix=px5:&command_timeout_ms=200&connect_timeout_ms=200");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "warm", 4, 30000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    proxy_set("blackhole");
    int64_t t0 = of_clock_monotonic_ns();
    assert_int_equal(acq(p, "b", 1, 30000, 0, &l), OF_ERR_UNKNOWN);
    int64_t took = of_clock_monotonic_ns() - t0;
    assert_true(took >= TRICKLE_CMD_MS * NS_PER_MS);
    assert_true(took <= TRICKLE_BOUND_MS * NS_PER_MS);
    proxy_set("close");
    t0 = of_clock_monotonic_ns();
    int rc = acq(p, "c", 1, 30000, 0, &l);
    took = of_clock_monotonic_ns() - t0;
    if (rc != OF_ERR_UNKNOWN && rc != OF_ERR_UNAVAILABLE)
        fail_msg("close: %s (%s)", of_status_name(rc), of_last_error_detail());
    assert_true(took <= TRICKLE_BOUND_MS * NS_PER_MS);
    proxy_set("pass");
    rc = OF_ERR_UNAVAILABLE;
    for (int i = 0; i < 50 && rc == OF_ERR_UNAVAILABLE; i++) {
        rc = acq(p, "d", 1, 30000, 0, &l);
        if (rc == OF_ERR_UNAVAILABLE)
            test_sleep_ms(20);
    }
    assert_int_equal(rc, OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    proxied_destroy(p);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "basic";
    const struct CMUnitTest basic[] = {
        cmocka_unit_test(scripts_sha_match_script_load),
        cmocka_unit_test(acquire_stores_token_with_ttl_and_fence_counter),
        cmocka_unit_test(fence_starts_at_server_time_and_increments),
        cmocka_unit_test(busy_answer_carries_pttl_hint),
        cmocka_unit_test(names_are_binary_safe_and_never_share_keys),
        cmocka_unit_test(prefixes_and_databases_separate_namespaces),
        cmocka_unit_test(release_and_extend_never_touch_the_next_owner),
        cmocka_unit_test(wrongtype_is_protocol_error_with_reply_text),
        cmocka_unit_test(auth_password_and_acl_user),
        cmocka_unit_test(select_of_missing_db_is_protocol_error),
        cmocka_unit_test(script_flush_mid_run_falls_back_to_eval),
        cmocka_unit_test(sigpipe_never_kills_and_mask_is_restored),
        cmocka_unit_test(killed_idle_connection_is_replaced_not_unknown),
        cmocka_unit_test(blocked_sigpipe_of_caller_is_left_alone),
    };
    const struct CMUnitTest faults[] = {
        cmocka_unit_test(server_down_at_start_is_unavailable_fast),
        cmocka_unit_test(sigkill_and_restart_keeps_fences_increasing),
        cmocka_unit_test(sigstop_past_command_timeout_is_unknown_then_cleaned),
        cmocka_unit_test(client_pause_past_command_timeout_is_unknown_then_cleaned),
        cmocka_unit_test(wrong_password_is_auth),
    };
    const struct CMUnitTest reconnects[] = {
        cmocka_unit_test(forced_reconnects_do_not_grow_fds_or_memory),
    };
    const struct CMUnitTest proxied_faults[] = {
        cmocka_unit_test(proxy_pass_and_delay_work_and_valid_until_counts_from_send),
        cmocka_unit_test(trickled_reply_is_unknown_by_the_deadline),
        cmocka_unit_test(trickled_error_reply_is_unknown_by_the_deadline),
        cmocka_unit_test(trickled_setup_reply_is_unavailable_by_the_deadline),
        cmocka_unit_test(blackhole_and_close_end_by_the_deadline),
    };
    if (strcmp(mode, "basic") == 0)
        return cmocka_run_group_tests_name("lock-redis/basic", basic, group_setup, group_teardown);
    if (strcmp(mode, "faults") == 0)
        return cmocka_run_group_tests_name("lock-redis/faults", faults, group_setup,
                                           group_teardown);
    if (strcmp(mode, "reconnects") == 0)
        return cmocka_run_group_tests_name("lock-redis/reconnects", reconnects, group_setup,
                                           group_teardown);
    if (strcmp(mode, "proxy") == 0) {
        proxy_prog = argc > 2 ? argv[2] : NULL;
        return cmocka_run_group_tests_name("lock-redis/proxy", proxied_faults, proxy_group_setup,
                                           proxy_group_teardown);
    }
    fprintf(stderr, "usage: %s basic|faults|reconnects|proxy FAULT_PROXY\n", argv[0]);
    return 2;
}
