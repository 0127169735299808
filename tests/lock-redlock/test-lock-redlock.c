/* Redlock provider tests on private redis-servers. One cmocka group per run (STYLE.md), chosen by
 * argv:
 *   basic            scripts, leases on every server, fence raise when counters diverge, BUSY
 *                    and the retry hint, extend/release with a minority, NOSCRIPT, AUTH
 *   subsets N KIND   every subset of failed servers for N = 3 or 5, KIND kill | stop | mixed:
 *                    acquire succeeds exactly when a majority is alive, else the documented
 *                    status, within the per-server timeouts (timing-sensitive: run alone)
 *   sigstop          one server (N = 3) or two (N = 5) SIGSTOPped: acquisitions succeed and
 *                    return within the per-server timeouts
 *   restart          a server restarted without persistence sooner than the TTL lets a second
 *                    holder in; restarted after the TTL it does not (the delayed-restart rule)
 *   proxy FAULT_PROXY  rounds are parallel: five servers each answering 300 ms late cost one
 *                    delay per round, not five */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "common/clock.h"
#include "lock/engine.h"
#include "lock/providers/redis_scripts.h"
#include "lock/providers/redlock.h"
#include "redis-harness.h"

#define NS_PER_MS INT64_C(1000000)
#define MAXN 5

static test_redis srv[MAXN];
static int nsrv = 3;

/* Per-server timeouts of the timing tests, and the bound of one acquire: at most three rounds
 * (acquire, fence raise, release after a failure), each a connect and a command timeout, plus
 * STYLE.md's slack (max(1 s, 100%)). Sanitizers and valgrind get more. */
static uint32_t conn_ms = 150, cmd_ms = 150;

static int64_t step_bound_ms(void)
{
    int64_t b = 3 * (int64_t)(conn_ms + cmd_ms);
    return b + (b > 1000 ? b : 1000);
}

/* A provider over servers 0..n-1 with @p prefix on each. */
static of_lock_provider *make(int n, const char *prefix, uint32_t cto, uint32_t mto)
{
    char urls[MAXN][256], tail[128];
    const char *list[MAXN];
    snprintf(tail, sizeof tail, "?prefix=%s", prefix);
    for (int i = 0; i < n; i++) {
        test_redis_url(&srv[i], 0, tail, urls[i], sizeof urls[i]);
        list[i] = urls[i];
    }
    of_lock_redlock_options o;
    of_lock_redlock_options_init(&o, sizeof o);
    o.connect_timeout_ms = cto;
    o.command_timeout_ms = mto;
    of_lock_provider *p = NULL;
    int rc = of_lock_redlock_create(list, (size_t)n, &o, &p);
    if (rc != OF_OK)
        fail_msg("redlock create: %s (%s)", of_status_name(rc), of_last_error_detail());
    return p;
}

static int acq(of_lock_provider *p, const char *name, uint32_t ttl, int64_t wait, of_lock **out)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = ttl;
    o.wait_ms = wait;
    return of_lock_acquire(p, name, strlen(name), &o, out);
}

static void key_of(const char *prefix, const char *name, const char *suffix, char *buf,
                   size_t *len)
{
    *len = ofi_redis_key(prefix, strlen(prefix), name, strlen(name), suffix, buf);
    buf[*len] = '\0';
}

/* GET of a key on server @p s ("" when missing). */
static void get_key(int s, const char *key, char *out, size_t cap)
{
    redisReply *r = test_redis_cmd(&srv[s], "GET %s", key);
    assert_non_null(r);
    out[0] = '\0';
    if (r->type == REDIS_REPLY_STRING)
        snprintf(out, cap, "%s", r->str);
    freeReplyObject(r);
}

static void admin(int s, const char *fmt, const char *a, const char *b)
{
    redisReply *r = test_redis_cmd(&srv[s], fmt, a, b);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("admin on server %d: %s", s, r->str);
    freeReplyObject(r);
}

static ofi_redlock *self_of(of_lock_provider *p)
{
    return ofi_lock_provider_self(p);
}

static int start_servers(int n)
{
    nsrv = n;
    return test_redis_start_n(srv, n);
}

static void stop_servers(void)
{
    for (int i = 0; i < nsrv; i++)
        test_redis_stop(&srv[i]);
}

static int setup3(void **state)
{
    (void)state;
    return start_servers(3);
}

static int setup5(void **state)
{
    (void)state;
    return start_servers(5);
}

static int teardown_all(void **state)
{
    (void)state;
    stop_servers();
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* basic                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void raise_script_sha_matches_script_load(void **state)
{
    (void)state;
    redisReply *r = test_redis_cmd(&srv[0], "SCRIPT LOAD %s", OFI_REDLOCK_RAISE_LUA);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, OFI_REDLOCK_RAISE_SHA);
    freeReplyObject(r);
}

static void acquire_sets_the_lease_on_every_server(void **state)
{
    (void)state;
    of_lock_provider *p = make(3, "b1:", 1000, 1000);
    assert_string_equal(of_lock_provider_name(p), "redlock");
    assert_int_equal(of_lock_provider_caps(p), OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND |
                                                   OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "job", 10000, 0, &l), OF_OK);
    /* valid_until counts from before the first send, minus 1% + 2 ms of drift. */
    assert_true(of_lock_valid_until_ns(l) <= test_now_ns() + (10000 - 102) * NS_PER_MS);
    assert_true(of_lock_valid_until_ns(l) > test_now_ns());
    of_lock_token t;
    char hex[OF_LOCK_TOKEN_HEX_LEN + 1], key[128], val[128];
    size_t klen;
    of_lock_token_get(l, &t);
    of_lock_token_to_hex(&t, hex);
    key_of("b1:", "job", OFI_REDIS_LOCK_SUFFIX, key, &klen);
    for (int s = 0; s < 3; s++) {
        get_key(s, key, val, sizeof val);
        assert_string_equal(val, hex);
        redisReply *r = test_redis_cmd(&srv[s], "PTTL %s", key);
        assert_non_null(r);
        assert_true(r->integer > 0 && r->integer <= 10000);
        freeReplyObject(r);
    }
    assert_int_equal(of_lock_release(l), OF_OK);
    for (int s = 0; s < 3; s++) {
        get_key(s, key, val, sizeof val);
        assert_string_equal(val, "");
    }
    of_lock_provider_destroy(p);
}

/* Counters diverge (server 0 far ahead). The first owner's fence comes from server 0 alone, so
 * the second round must raise servers 1 and 2; then an owner that cannot reach server 0 still
 * gets a larger fence. Without the raise it would get ~TIME (far below). */
static void fence_is_raised_on_a_quorum_when_counters_diverge(void **state)
{
    (void)state;
    of_lock_provider *p = make(3, "b2:", 1000, 1000);
    char fkey[128], lkey[128], val[64];
    size_t klen;
    key_of("b2:", "f", OFI_REDIS_FENCE_SUFFIX, fkey, &klen);
    key_of("b2:", "f", OFI_REDIS_LOCK_SUFFIX, lkey, &klen);
    admin(0, "SET %s %s", fkey, "5000000000000000");
    of_lock *a = NULL;
    assert_int_equal(acq(p, "f", 10000, 0, &a), OF_OK);
    uint64_t fa = 0;
    assert_int_equal(of_lock_fence(a, &fa), OF_OK);
    assert_true(fa == UINT64_C(5000000000000001));
    assert_true(atomic_load(&self_of(p)->st_raised) >= 1);
    for (int s = 1; s < 3; s++) {
        get_key(s, fkey, val, sizeof val);
        assert_true(strtoull(val, NULL, 10) >= fa);
    }
    assert_int_equal(of_lock_release(a), OF_OK);
    /* Server 0 is now held by someone else: the next owner has servers 1 and 2 only. */
    admin(0, "SET %s %s PX 30000", lkey, "someone-else");
    of_lock *b = NULL;
    assert_int_equal(acq(p, "f", 10000, 0, &b), OF_OK);
    uint64_t fb = 0;
    assert_int_equal(of_lock_fence(b, &fb), OF_OK);
    assert_true(fb > fa);
    assert_int_equal(of_lock_release(b), OF_OK);
    of_lock_provider_destroy(p);
}

/* Once the counters agree on a quorum, no second round is needed. */
static void fence_raise_round_only_when_needed(void **state)
{
    (void)state;
    of_lock_provider *p = make(3, "b3:", 1000, 1000);
    ofi_redlock *rl = self_of(p);
    of_lock *l = NULL;
    uint64_t last = 0, f = 0;
    /* Fresh counters start from each server's TIME: the first acquisition raises. A server whose
     * reply missed a decided round keeps its own counter, so agreement may take one more. */
    for (int i = 0; i < 10; i++) {
        uint64_t before = atomic_load(&rl->st_raise_rounds);
        assert_int_equal(acq(p, "n", 10000, 0, &l), OF_OK);
        of_lock_fence(l, &f);
        assert_true(f > last);
        last = f;
        assert_int_equal(of_lock_release(l), OF_OK);
        if (i > 0 && atomic_load(&rl->st_raise_rounds) == before)
            break;
    }
    uint64_t rounds = atomic_load(&rl->st_raise_rounds);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(acq(p, "n", 10000, 0, &l), OF_OK);
        of_lock_fence(l, &f);
        assert_true(f > last);
        last = f;
        assert_int_equal(of_lock_release(l), OF_OK);
    }
    assert_true(atomic_load(&rl->st_raise_rounds) == rounds);
    of_lock_provider_destroy(p);
}

static void busy_needs_a_majority_held_elsewhere(void **state)
{
    (void)state;
    of_lock_provider *p = make(3, "b4:", 1000, 1000);
    char lkey[128], val[64];
    size_t klen;
    key_of("b4:", "x", OFI_REDIS_LOCK_SUFFIX, lkey, &klen);
    /* One server held elsewhere: a quorum of two is still ours. */
    admin(0, "SET %s %s PX 30000", lkey, "other");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "x", 10000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    get_key(0, lkey, val, sizeof val);
    assert_string_equal(val, "other"); /* never deleted someone else's lease */
    /* Two held elsewhere: BUSY, and our lease on the third server is released again. */
    admin(1, "SET %s %s PX 800", lkey, "other");
    assert_int_equal(acq(p, "x", 10000, 0, &l), OF_ERR_BUSY);
    get_key(2, lkey, val, sizeof val);
    assert_string_equal(val, "");
    get_key(1, lkey, val, sizeof val);
    assert_string_equal(val, "other");
    /* Waiting: it is ours once server 1's lease (800 ms) ends; the hint keeps the wait short. */
    int64_t t0 = test_now_ns();
    assert_int_equal(acq(p, "x", 10000, 5000, &l), OF_OK);
    assert_true(test_now_ns() - t0 <= 800 * NS_PER_MS + 1000 * NS_PER_MS);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

/* Extend is compare-and-PEXPIRE on every server: a lease lost on one server stays lost there
 * (never re-created), and a minority is not enough. */
static void extend_needs_a_majority_and_never_recreates(void **state)
{
    (void)state;
    of_lock_provider *p = make(3, "b5:", 1000, 1000);
    char lkey[128], val[64];
    size_t klen;
    key_of("b5:", "e", OFI_REDIS_LOCK_SUFFIX, lkey, &klen);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "e", 5000, 0, &l), OF_OK);
    admin(0, "DEL %s", lkey, NULL);
    int64_t before = test_now_ns();
    assert_int_equal(of_lock_extend(l, 20000), OF_OK);
    assert_true(of_lock_valid_until_ns(l) <= test_now_ns() + (20000 - 202) * NS_PER_MS);
    assert_true(of_lock_valid_until_ns(l) > before + 5000 * NS_PER_MS);
    get_key(0, lkey, val, sizeof val);
    assert_string_equal(val, "");
    redisReply *r = test_redis_cmd(&srv[1], "PTTL %s", lkey);
    assert_true(r != NULL && r->integer > 5000);
    freeReplyObject(r);
    admin(1, "DEL %s", lkey, NULL);
    assert_int_equal(of_lock_extend(l, 20000), OF_ERR_NOT_OWNER);
    assert_true(of_lock_is_lost(l));
    for (int s = 0; s < 2; s++) {
        get_key(s, lkey, val, sizeof val);
        assert_string_equal(val, "");
    }
    assert_int_equal(of_lock_release(l), OF_ERR_LOST);
    get_key(2, lkey, val, sizeof val);
    assert_string_equal(val, ""); /* the best-effort release still cleaned server 2 */
    of_lock_provider_destroy(p);
}

static void release_with_a_minority_is_not_owner(void **state)
{
    (void)state;
    of_lock_provider *p = make(3, "b6:", 1000, 1000);
    char lkey[128], val[64];
    size_t klen;
    key_of("b6:", "r", OFI_REDIS_LOCK_SUFFIX, lkey, &klen);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "r", 5000, 0, &l), OF_OK);
    admin(0, "DEL %s", lkey, NULL);
    admin(1, "SET %s %s PX 30000", lkey, "next-owner");
    assert_int_equal(of_lock_release(l), OF_ERR_NOT_OWNER);
    get_key(1, lkey, val, sizeof val);
    assert_string_equal(val, "next-owner");
    get_key(2, lkey, val, sizeof val);
    assert_string_equal(val, "");
    of_lock_provider_destroy(p);
}

static void script_flush_falls_back_to_eval(void **state)
{
    (void)state;
    of_lock_provider *p = make(3, "b7:", 1000, 1000);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "s", 5000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    for (int s = 0; s < 3; s++) {
        redisReply *r = test_redis_cmd(&srv[s], "SCRIPT FLUSH");
        freeReplyObject(r);
    }
    assert_int_equal(acq(p, "s", 5000, 0, &l), OF_OK);
    assert_int_equal(of_lock_extend(l, 5000), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    ofi_redis_pool_stats st;
    ofi_redis_pool_get_stats(&self_of(p)->pools[2], &st);
    assert_true(st.eval_fallbacks >= 1);
    of_lock_provider_destroy(p);
}

/* Credentials refused by one server: the other two still make a quorum. By all: OF_ERR_AUTH,
 * and no password in the detail. */
static void auth_refused_by_servers(void **state)
{
    (void)state;
    char urls[3][256];
    const char *list[3];
    for (int i = 0; i < 3; i++) {
        test_redis_url(&srv[i], 0, "?prefix=b8:", urls[i], sizeof urls[i]);
        list[i] = urls[i];
    }
    /* Server 0 asks for a password nobody sends. */
    admin(0, "CONFIG SET %s %s", "requirepass", "Sekr1tPw");
    strcpy(srv[0].password, "Sekr1tPw");
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_redlock_create(list, 3, NULL, &p), OF_OK);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "a", 5000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
    /* Everyone asks for it, and the URLs carry a wrong one. */
    for (int i = 1; i < 3; i++) {
        admin(i, "CONFIG SET %s %s", "requirepass", "Sekr1tPw");
        strcpy(srv[i].password, "Sekr1tPw");
    }
    for (int i = 0; i < 3; i++) {
        snprintf(urls[i], sizeof urls[i], "redis://:WrongPw9@127.0.0.1:%d?prefix=b8:",
                 srv[i].port);
        list[i] = urls[i];
    }
    assert_int_equal(of_lock_redlock_create(list, 3, NULL, &p), OF_OK);
    int rc = acq(p, "a", 5000, 0, &l);
    if (rc != OF_ERR_AUTH)
        fail_msg("want AUTH, got %s (%s)", of_status_name(rc), of_last_error_detail());
    assert_null(strstr(of_last_error_detail(), "WrongPw9"));
    assert_null(strstr(of_last_error_detail(), "Sekr1tPw"));
    of_lock_provider_destroy(p);
    for (int i = 0; i < 3; i++) {
        admin(i, "CONFIG SET %s %s", "requirepass", "");
        srv[i].password[0] = '\0';
    }
}

/* ------------------------------------------------------------------------------------------ */
/* subsets                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static int subset_n = 3;
static const char *subset_kind = "kill";

/* Fail server @p s of subset position @p pos: kill, stop, or (mixed) alternately. */
static int fails_by_kill(int pos)
{
    if (strcmp(subset_kind, "kill") == 0)
        return 1;
    if (strcmp(subset_kind, "stop") == 0)
        return 0;
    return pos % 2 == 0;
}

static void every_subset_of_failed_servers(void **state)
{
    (void)state;
    const int n = subset_n, q = n / 2 + 1;
    printf("# N=%d kind=%s, per-server connect %u ms + command %u ms; bound %lld ms\n", n,
           subset_kind, conn_ms, cmd_ms, (long long)step_bound_ms());
    printf("# %-7s %-6s %-6s %-18s %s\n", "failed", "killed", "stopped", "status", "ms");
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        char prefix[32], name[32];
        snprintf(prefix, sizeof prefix, "ss%u%s:", mask, subset_kind);
        snprintf(name, sizeof name, "subset-%u", mask);
        of_lock_provider *p = make(n, prefix, conn_ms, cmd_ms);
        /* Warm: every server answers once, so the failure hits pooled connections. */
        of_lock *l = NULL;
        assert_int_equal(acq(p, "warm", 10000, 0, &l), OF_OK);
        assert_int_equal(of_lock_release(l), OF_OK);

        int killed = 0, stopped = 0, pos = 0;
        int was_killed[MAXN] = {0};
        for (int s = 0; s < n; s++) {
            if (!(mask & (1u << s)))
                continue;
            if (fails_by_kill(pos++)) {
                test_redis_signal(&srv[s], SIGKILL);
                was_killed[s] = 1;
                killed++;
            } else {
                test_redis_signal(&srv[s], SIGSTOP);
                stopped++;
            }
        }
        const int alive = n - killed - stopped;
        int64_t t0 = test_now_ns();
        int rc = acq(p, name, 10000, 0, &l);
        int64_t took_ms = (test_now_ns() - t0) / NS_PER_MS;
        char bits[8] = {0};
        for (int s = 0; s < n; s++)
            bits[s] = (mask & (1u << s)) ? 'x' : '.';
        printf("# %-7s %-6d %-6d %-18s %lld\n", bits, killed, stopped, of_status_name(rc),
               (long long)took_ms);
        int want;
        if (alive >= q)
            want = OF_OK;
        else if (alive + stopped >= q)
            want = OF_ERR_UNKNOWN; /* the stopped ones got the request: a quorum may hold it */
        else
            want = OF_ERR_UNAVAILABLE; /* never BUSY: nobody else holds it */
        if (rc != want)
            fail_msg("failed %s: want %s, got %s (%s)", bits, of_status_name(want),
                     of_status_name(rc), of_last_error_detail());
        if (took_ms > step_bound_ms())
            fail_msg("failed %s: acquire took %lld ms (bound %lld)", bits, (long long)took_ms,
                     (long long)step_bound_ms());
        if (rc == OF_OK) {
            t0 = test_now_ns();
            assert_int_equal(of_lock_release(l), OF_OK);
            assert_true((test_now_ns() - t0) / NS_PER_MS <= step_bound_ms());
        }
        for (int s = 0; s < n; s++) {
            if (was_killed[s])
                assert_int_equal(test_redis_restart(&srv[s]), 0);
            else if (mask & (1u << s))
                test_redis_signal(&srv[s], SIGCONT);
        }
        of_lock_provider_destroy(p);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* sigstop                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void stopped_minority_still_grants_within_the_timeouts(void **state)
{
    (void)state;
    for (int n = 3; n <= 5; n += 2) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "st%d:", n);
        of_lock_provider *p = make(n, prefix, conn_ms, cmd_ms);
        of_lock *l = NULL;
        assert_int_equal(acq(p, "warm", 10000, 0, &l), OF_OK);
        assert_int_equal(of_lock_release(l), OF_OK);
        const int stop = n / 2; /* the largest minority: 1 of 3, 2 of 5 */
        for (int s = 0; s < stop; s++)
            test_redis_signal(&srv[s], SIGSTOP);
        int64_t worst = 0, total = 0;
        uint64_t last = 0;
        for (int i = 0; i < 20; i++) {
            int64_t t0 = test_now_ns();
            int rc = acq(p, "st", 10000, 0, &l);
            int64_t took = test_now_ns() - t0;
            if (rc != OF_OK)
                fail_msg("N=%d, %d stopped, attempt %d: %s (%s)", n, stop, i, of_status_name(rc),
                         of_last_error_detail());
            uint64_t f = 0;
            assert_int_equal(of_lock_fence(l, &f), OF_OK);
            assert_true(f > last);
            last = f;
            assert_true(of_lock_valid_until_ns(l) > test_now_ns());
            assert_int_equal(of_lock_release(l), OF_OK);
            worst = took > worst ? took : worst;
            total += took;
            /* One round of an acquire that succeeds ends by one connect + command timeout. */
            int64_t one = (int64_t)(conn_ms + cmd_ms);
            assert_true(took <= (one + (one > 1000 ? one : 1000)) * NS_PER_MS);
        }
        printf("# N=%d with %d stopped: 20 acquisitions, mean %.1f ms, worst %.1f ms "
               "(command timeout %u ms)\n",
               n, stop, (double)total / 20 / 1e6, (double)worst / 1e6, cmd_ms);
        for (int s = 0; s < stop; s++)
            test_redis_signal(&srv[s], SIGCONT);
        of_lock_provider_destroy(p);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* restart                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* A holds the lock on servers 0 and 1 (server 2 was down when it acquired). Server 1 crashes and
 * comes back at once without persistence: A's lease there is gone, and B takes 1 and 2 -- a
 * quorum -- while A's lease is still valid. Two holders: the rule is broken, not the code. */
static void restart_sooner_than_the_ttl_grants_a_second_holder(void **state)
{
    (void)state;
    of_lock_provider *pa = make(3, "rs:", 1000, 1000);
    of_lock_provider *pb = make(3, "rs:", 1000, 1000);
    test_redis_signal(&srv[2], SIGKILL);
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq(pa, "shared", 20000, 0, &a), OF_OK);
    assert_int_equal(test_redis_restart(&srv[2]), 0);
    assert_int_equal(acq(pb, "shared", 20000, 0, &b), OF_ERR_BUSY);
    test_redis_signal(&srv[1], SIGKILL);
    assert_int_equal(test_redis_restart(&srv[1]), 0); /* immediately: breaks the rule */
    int rc = OF_ERR_UNAVAILABLE;
    for (int i = 0; i < 50 && rc != OF_OK; i++) { /* the pools reconnect after backoff */
        rc = acq(pb, "shared", 20000, 0, &b);
        if (rc != OF_OK)
            test_sleep_ms(20);
    }
    assert_int_equal(rc, OF_OK);
    int64_t now = test_now_ns();
    printf("# premature restart: A valid for %lld ms more while B holds it (valid %lld ms)\n",
           (long long)((of_lock_valid_until_ns(a) - now) / NS_PER_MS),
           (long long)((of_lock_valid_until_ns(b) - now) / NS_PER_MS));
    assert_true(of_lock_valid_until_ns(a) > now);
    assert_true(of_lock_valid_until_ns(b) > now);
    assert_int_equal(of_lock_release(b), OF_OK);
    of_lock_release(a);
    of_lock_provider_destroy(pa);
    of_lock_provider_destroy(pb);
}

/* The same, with server 1 kept down for the TTL before it restarts: by the time B can win, A's
 * lease is over. */
static void restart_after_the_ttl_never_overlaps(void **state)
{
    (void)state;
    const uint32_t ttl = 1500;
    of_lock_provider *pa = make(3, "rd:", 1000, 1000);
    of_lock_provider *pb = make(3, "rd:", 1000, 1000);
    test_redis_signal(&srv[2], SIGKILL);
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(acq(pa, "shared", ttl, 0, &a), OF_OK);
    assert_int_equal(test_redis_restart(&srv[2]), 0);
    test_redis_signal(&srv[1], SIGKILL);
    int64_t killed_at = test_now_ns();
    /* While server 1 is down, B can never get a quorum: server 0 holds A's lease. No attempt
     * finds the name held on a quorum (one holder, one server down), so when the wait ends the
     * engine answers UNAVAILABLE, not TIMEOUT. */
    int rc = acq(pb, "shared", ttl, 300, &b);
    assert_int_equal(rc, OF_ERR_UNAVAILABLE);
    test_sleep_ms(ttl + 100 - (test_now_ns() - killed_at) / NS_PER_MS);
    assert_int_equal(test_redis_restart(&srv[1]), 0);
    rc = acq(pb, "shared", ttl, 3000, &b);
    assert_int_equal(rc, OF_OK);
    assert_true(of_lock_valid_until_ns(a) < test_now_ns()); /* A's lease had ended */
    assert_int_equal(of_lock_release(b), OF_OK);
    assert_int_equal(of_lock_release(a), OF_ERR_NOT_OWNER);
    of_lock_provider_destroy(pa);
    of_lock_provider_destroy(pb);
}

/* ------------------------------------------------------------------------------------------ */
/* proxy                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static const char *proxy_prog;
static test_proxy proxies[MAXN];

static int proxy_setup(void **state)
{
    (void)state;
    if (start_servers(5) != 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        if (proxy_prog == NULL || test_proxy_start(&proxies[i], proxy_prog, srv[i].port) != 0) {
            fprintf(stderr, "cannot start fault-proxy\n");
            return -1;
        }
    }
    return 0;
}

static int proxy_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        test_proxy_stop(&proxies[i]);
    stop_servers();
    return 0;
}

/* Bytes the proxy has forwarded from the client to its server since it started. */
static unsigned long long proxy_c2s(test_proxy *px)
{
    char state[512];
    assert_int_equal(test_proxy_query(px, "status", state, sizeof state), 0);
    const char *at = strstr(state, "c2s=");
    assert_non_null(at);
    return strtoull(at + 4, NULL, 10);
}

/* One step (acquire or release) on its own thread, so the test can look at the servers while
 * the step waits for replies. */
typedef struct step_run {
    of_lock_provider *p;
    of_lock *l;
    int release; /* 0: acquire "par" into l; 1: release l */
    int rc;
    atomic_int done;
} step_run;

static void *step_thread(void *arg)
{
    step_run *r = arg;
    r->rc = r->release ? of_lock_release(r->l) : acq(r->p, "par", 30000, 0, &r->l);
    atomic_store(&r->done, 1);
    return NULL;
}

/* Run one step with every server's replies held back: the step must have sent its request to
 * all five servers while none has answered (one server after another would send the second
 * only after the first reply), and must not return until the replies are let through. No
 * clock is read: the check is on what reached the servers, not on how long anything took. */
static void step_reaches_all_before_any_reply(step_run *r)
{
    unsigned long long before[5];
    for (int i = 0; i < 5; i++) {
        before[i] = proxy_c2s(&proxies[i]);
        assert_int_equal(test_proxy_mode(&proxies[i], "delay 600000"), 0); /* replies held */
    }
    atomic_store(&r->done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, step_thread, r), 0);
    int reached = 0;
    for (int tries = 0; tries < 2000 && reached < 5; tries++) { /* bound: 20 s, no timing check */
        reached = 0;
        for (int i = 0; i < 5; i++)
            reached += proxy_c2s(&proxies[i]) > before[i];
        if (reached < 5)
            test_sleep_ms(10);
    }
    int done_while_held = atomic_load(&r->done);
    for (int i = 0; i < 5; i++)
        assert_int_equal(test_proxy_mode(&proxies[i], "pass"), 0); /* queued replies go now */
    assert_int_equal(pthread_join(t, NULL), 0);
    printf("# %s: request on %d of 5 servers while no reply had come\n",
           r->release ? "release" : "acquire", reached);
    assert_int_equal(reached, 5);
    assert_false(done_while_held);
    assert_int_equal(r->rc, OF_OK);
}

static void rounds_are_parallel(void **state)
{
    (void)state;
    char urls[5][128];
    const char *list[5];
    for (int i = 0; i < 5; i++) {
        snprintf(urls[i], sizeof urls[i], "redis://127.0.0.1:%d?prefix=px:", proxies[i].port);
        list[i] = urls[i];
    }
    of_lock_redlock_options o;
    of_lock_redlock_options_init(&o, sizeof o);
    o.connect_timeout_ms = 2000;
    o.command_timeout_ms = 25000; /* far above the time the test holds the replies */
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_redlock_create(list, 5, &o, &p), OF_OK);
    of_lock *l = NULL;
    /* Warm in pass mode: connections pooled, fence counters agreed (no second round later).
     * One acquisition may not be enough: a server whose reply missed a decided round keeps its
     * own counter, which can be the largest next time. */
    for (int i = 0; i < 10; i++) {
        uint64_t before = atomic_load(&self_of(p)->st_raise_rounds);
        assert_int_equal(acq(p, "par", 30000, 0, &l), OF_OK);
        assert_int_equal(of_lock_release(l), OF_OK);
        if (i > 0 && atomic_load(&self_of(p)->st_raise_rounds) == before)
            break;
    }
    uint64_t raises = atomic_load(&self_of(p)->st_raise_rounds);
    step_run r = {.p = p};
    step_reaches_all_before_any_reply(&r);
    assert_true(atomic_load(&self_of(p)->st_raise_rounds) == raises);
    r.release = 1;
    step_reaches_all_before_any_reply(&r);
    of_lock_provider_destroy(p);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "basic";
    if (getenv("OF_UNDER_VALGRIND") || getenv("OF_SLOW_RUNTIME")) {
        conn_ms *= 4;
        cmd_ms *= 4;
    }
    const struct CMUnitTest basic[] = {
        cmocka_unit_test(raise_script_sha_matches_script_load),
        cmocka_unit_test(acquire_sets_the_lease_on_every_server),
        cmocka_unit_test(fence_is_raised_on_a_quorum_when_counters_diverge),
        cmocka_unit_test(fence_raise_round_only_when_needed),
        cmocka_unit_test(busy_needs_a_majority_held_elsewhere),
        cmocka_unit_test(extend_needs_a_majority_and_never_recreates),
        cmocka_unit_test(release_with_a_minority_is_not_owner),
        cmocka_unit_test(script_flush_falls_back_to_eval),
        cmocka_unit_test(auth_refused_by_servers),
    };
    const struct CMUnitTest subsets[] = {
        cmocka_unit_test(every_subset_of_failed_servers),
    };
    const struct CMUnitTest sigstop[] = {
        cmocka_unit_test(stopped_minority_still_grants_within_the_timeouts),
    };
    const struct CMUnitTest restart[] = {
        cmocka_unit_test(restart_sooner_than_the_ttl_grants_a_second_holder),
        cmocka_unit_test(restart_after_the_ttl_never_overlaps),
    };
    const struct CMUnitTest proxied[] = {
        cmocka_unit_test(rounds_are_parallel),
    };
    if (strcmp(mode, "basic") == 0)
        return cmocka_run_group_tests_name("lock-redlock/basic", basic, setup3, teardown_all);
    if (strcmp(mode, "subsets") == 0 && argc == 4) {
        subset_n = atoi(argv[2]) == 5 ? 5 : 3;
        subset_kind = argv[3];
        if (strcmp(subset_kind, "kill") != 0 && strcmp(subset_kind, "stop") != 0 &&
            strcmp(subset_kind, "mixed") != 0)
            return 2;
        return cmocka_run_group_tests_name("lock-redlock/subsets", subsets,
                                           subset_n == 5 ? setup5 : setup3, teardown_all);
    }
    if (strcmp(mode, "sigstop") == 0)
        return cmocka_run_group_tests_name("lock-redlock/sigstop", sigstop, setup5, teardown_all);
    if (strcmp(mode, "restart") == 0)
        return cmocka_run_group_tests_name("lock-redlock/restart", restart, setup3, teardown_all);
    if (strcmp(mode, "proxy") == 0) {
        proxy_prog = argc > 2 ? argv[2] : NULL;
        return cmocka_run_group_tests_name("lock-redlock/proxy", proxied, proxy_setup,
                                           proxy_teardown);
    }
    fprintf(stderr, "usage: %s basic | subsets 3|5 kill|stop|mixed | sigstop | restart | "
                    "proxy FAULT_PROXY\n",
            argv[0]);
    return 2;
}
