/* The etcd provider against private etcd members (see etcd-harness.h). One cmocka group per run
 * (STYLE.md), chosen by argv[1]:
 *   basic   — one member: fence = create revision, TTL rounding, lease moves on extend, release
 *             revokes, endpoint failover, nothing reachable, a stopped member (UNKNOWN + cleanup)
 *   auth    — one member with auth on: wrong password, no credentials, right password
 *   cluster — three members: leader killed, a member stopped, quorum lost and regained */
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

#include <openfault/openfault.h>

#include "etcd-harness.h"
#include "lock/engine.h"
#include "lock/providers/etcd.h"

#define NS_PER_MS INT64_C(1000000)

static test_etcd E;

static of_lock_provider *make(const char *tail)
{
    char url[512];
    test_etcd_url(&E, tail, url, sizeof url);
    of_lock_provider *p = NULL;
    int rc = of_lock_etcd_create_url(url, &p);
    if (rc != OF_OK)
        fail_msg("create %s: %s (%s)", url, of_status_name(rc), of_last_error_detail());
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

/* The key's kv as etcd has it (NULL if absent); json_decref the result. */
static json_t *read_kv(of_lock_provider *p, const char *name)
{
    char *key = ofi_etcd_key_b64(ofi_lock_provider_self(p), name, strlen(name));
    char body[512];
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", key);
    free(key);
    json_t *r = test_etcd_post(&E, -1, "/v3/kv/range", body);
    json_t *kv = json_incref(json_array_get(json_object_get(r, "kvs"), 0));
    json_decref(r);
    return kv;
}

static long long i64(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? atoll(s) : 0;
}

/* Remaining TTL of a lease as etcd reports it (-1: no such lease). */
static long long lease_ttl(long long id, long long *granted)
{
    char body[128];
    snprintf(body, sizeof body, "{\"ID\":\"%lld\"}", id);
    json_t *r = test_etcd_post(&E, -1, "/v3/lease/timetolive", body);
    long long ttl = r != NULL ? i64(r, "TTL") : -2;
    if (granted != NULL)
        *granted = r != NULL ? i64(r, "grantedTTL") : 0;
    json_decref(r);
    return ttl;
}

/* ---- basic ------------------------------------------------------------------------------- */

static void etcd_fence_is_the_create_revision(void **state)
{
    (void)state;
    of_lock_provider *p = make("/basic/");
    of_lock *l = NULL;
    int64_t t0 = test_now_ns();
    assert_int_equal(acq(p, "fence", 1500, 0, &l), OF_OK);
    uint64_t fence = 0;
    assert_int_equal(of_lock_fence(l, &fence), OF_OK);
    json_t *kv = read_kv(p, "fence");
    assert_non_null(kv);
    assert_int_equal(i64(kv, "create_revision"), (long long)fence);
    /* The value is the owner token in hex (base64 on the wire). */
    of_lock_token t;
    of_lock_token_get(l, &t);
    char hex[OF_LOCK_TOKEN_HEX_LEN + 1];
    of_lock_token_to_hex(&t, hex);
    char *want = ofi_etcd_base64(hex, OF_LOCK_TOKEN_HEX_LEN);
    assert_string_equal(json_string_value(json_object_get(kv, "value")), want);
    free(want);
    /* 1500 ms is asked as a 2 s lease; valid_until still ends by the asked TTL. */
    long long granted = 0;
    assert_true(lease_ttl(i64(kv, "lease"), &granted) >= 0);
    assert_int_equal(granted, 2);
    assert_true(of_lock_valid_until_ns(l) <= t0 + 1500 * NS_PER_MS);
    long long lease = i64(kv, "lease");
    json_decref(kv);
    assert_int_equal(of_lock_release(l), OF_OK);
    /* Release deleted the key and revoked its lease. */
    assert_null(read_kv(p, "fence"));
    assert_int_equal(lease_ttl(lease, NULL), -1);
    /* The next owner's fence is larger. */
    assert_int_equal(acq(p, "fence", 1000, 0, &l), OF_OK);
    uint64_t f2 = 0;
    of_lock_fence(l, &f2);
    assert_true(f2 > fence);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

static void etcd_extend_to_another_ttl_moves_the_lease(void **state)
{
    (void)state;
    of_lock_provider *p = make("/basic/");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "move", 1000, 0, &l), OF_OK);
    json_t *kv = read_kv(p, "move");
    long long old_lease = i64(kv, "lease"), create = i64(kv, "create_revision");
    json_decref(kv);
    int64_t t0 = test_now_ns();
    assert_int_equal(of_lock_extend(l, 4500), OF_OK);
    assert_true(of_lock_valid_until_ns(l) <= test_now_ns() + 4500 * NS_PER_MS);
    assert_true(of_lock_valid_until_ns(l) >= t0 + 3500 * NS_PER_MS);
    kv = read_kv(p, "move");
    long long new_lease = i64(kv, "lease");
    assert_true(new_lease != old_lease);
    assert_int_equal(i64(kv, "create_revision"), create); /* the fence stands */
    json_decref(kv);
    long long granted = 0;
    assert_true(lease_ttl(new_lease, &granted) >= 0);
    assert_int_equal(granted, 5);
    assert_int_equal(lease_ttl(old_lease, NULL), -1);
    /* Same TTL again: a keep-alive of the same lease. */
    assert_int_equal(of_lock_extend(l, 4500), OF_OK);
    kv = read_kv(p, "move");
    assert_int_equal(i64(kv, "lease"), new_lease);
    json_decref(kv);
    test_sleep_ms(1500); /* past the first lease's TTL: still held */
    of_lock *x = NULL;
    assert_int_equal(acq(p, "move", 1000, 0, &x), OF_ERR_BUSY);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(lease_ttl(new_lease, NULL), -1);
    of_lock_provider_destroy(p);
}

static void etcd_busy_attempts_leave_no_lease(void **state)
{
    (void)state;
    of_lock_provider *p = make("/basic/");
    of_lock *l = NULL, *x = NULL;
    assert_int_equal(acq(p, "idle", 30000, 0, &l), OF_OK);
    json_t *before = test_etcd_post(&E, -1, "/v3/lease/leases", "{}");
    size_t n0 = json_array_size(json_object_get(before, "leases"));
    json_decref(before);
    for (int i = 0; i < 5; i++)
        assert_int_equal(acq(p, "idle", 30000, 0, &x), OF_ERR_BUSY);
    json_t *after = test_etcd_post(&E, -1, "/v3/lease/leases", "{}");
    assert_int_equal(json_array_size(json_object_get(after, "leases")), n0);
    json_decref(after);
    assert_int_equal(ofi_etcd_lease_count(ofi_lock_provider_self(p)), 1);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(ofi_etcd_lease_count(ofi_lock_provider_self(p)), 0);
    of_lock_provider_destroy(p);
}

static void etcd_fails_over_to_the_next_endpoint(void **state)
{
    (void)state;
    /* A closed port first (port 1: refused at once), then the live member. */
    char url[512];
    snprintf(url, sizeof url, "etcd://127.0.0.1:1,127.0.0.1:%d/failover/", E.m[0].client_port);
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_etcd_create_url(url, &p), OF_OK);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "n", 5000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

static void etcd_nothing_reachable_is_unavailable(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_etcd_create_url("etcd://127.0.0.1:1,127.0.0.1:9/?connect_timeout_ms=300",
                                             &p),
                     OF_OK);
    of_lock *l = NULL;
    int64_t t0 = test_now_ns();
    assert_int_equal(acq(p, "n", 5000, 0, &l), OF_ERR_UNAVAILABLE);
    assert_true(test_now_ns() - t0 < 1600 * NS_PER_MS);
    assert_non_null(strstr(of_last_error_detail(), "127.0.0.1"));
    assert_null(l);
    of_lock_provider_destroy(p);
}

static void etcd_stopped_member_is_unknown_then_cleaned_up(void **state)
{
    (void)state;
    of_lock_provider *p = make("/stopped/?command_timeout_ms=600");
    of_lock *l = NULL;
    test_etcd_signal(&E, 0, SIGSTOP);
    int64_t t0 = test_now_ns();
    int rc = acq(p, "n", 3000, 0, &l);
    int64_t took = test_now_ns() - t0;
    test_etcd_signal(&E, 0, SIGCONT);
    assert_int_equal(rc, OF_ERR_UNKNOWN);
    assert_true(took >= 500 * NS_PER_MS && took <= 1600 * NS_PER_MS);
    /* The cleanup revokes whatever landed: the name is free again, and the queue drains. */
    int64_t end = test_now_ns() + 10000 * NS_PER_MS;
    while (ofi_lock_provider_cleanup_pending(p) > 0 && test_now_ns() < end)
        test_sleep_ms(50);
    assert_int_equal(ofi_lock_provider_cleanup_pending(p), 0);
    assert_int_equal(acq(p, "n", 3000, 5000, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

/* ---- auth -------------------------------------------------------------------------------- */

static void etcd_auth_wrong_password_is_auth(void **state)
{
    (void)state;
    char url[512];
    snprintf(url, sizeof url, "etcd://root:n0t-the-pw@127.0.0.1:%d/auth/", E.m[0].client_port);
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_etcd_create_url(url, &p), OF_OK);
    of_lock *l = NULL;
    assert_int_equal(acq(p, "n", 5000, 0, &l), OF_ERR_AUTH);
    assert_null(strstr(of_last_error_detail(), "n0t-the-pw"));
    assert_non_null(strstr(of_last_error_detail(), "root"));
    /* With auth on, no credentials at all is refused too. */
    of_lock_provider *q = make("/auth/");
    assert_int_equal(acq(q, "n", 5000, 0, &l), OF_ERR_AUTH);
    of_lock_provider_destroy(q);
    of_lock_provider_destroy(p);
}

static void etcd_auth_right_password_works(void **state)
{
    (void)state;
    of_lock_etcd_options o;
    of_lock_etcd_options_init(&o, sizeof o);
    char eps[64];
    snprintf(eps, sizeof eps, "127.0.0.1:%d", E.m[0].client_port);
    o.endpoints = eps;
    o.user = "root";
    o.password = "s3cret";
    o.prefix = "auth/";
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_etcd_create(&o, &p), OF_OK);
    of_lock *l = NULL, *x = NULL;
    assert_int_equal(acq(p, "n", 5000, 0, &l), OF_OK);
    assert_int_equal(acq(p, "n", 5000, 0, &x), OF_ERR_BUSY);
    assert_int_equal(of_lock_extend(l, 5000), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

/* ---- cluster ----------------------------------------------------------------------------- */

/* Acquire @p name, retrying UNKNOWN/UNAVAILABLE answers for up to @p ms; every call must return
 * within the command timeout + 1 s and never answer anything else. */
static int acq_retry(of_lock_provider *p, const char *name, int64_t ms, int64_t cmd_ms, of_lock **out)
{
    int64_t end = test_now_ns() + ms * NS_PER_MS;
    int rc;
    do {
        int64_t t0 = test_now_ns();
        rc = acq(p, name, 10000, 0, out);
        assert_true(test_now_ns() - t0 <= (cmd_ms + 1000) * NS_PER_MS);
        if (rc == OF_OK)
            return rc;
        if (rc != OF_ERR_UNKNOWN && rc != OF_ERR_UNAVAILABLE)
            fail_msg("acquire: %s (%s)", of_status_name(rc), of_last_error_detail());
        test_sleep_ms(100);
    } while (test_now_ns() < end);
    return rc;
}

static void etcd_cluster_leader_killed(void **state)
{
    (void)state;
    of_lock_provider *p = make("/leader/?command_timeout_ms=1500");
    of_lock *held = NULL, *l = NULL, *x = NULL;
    assert_int_equal(acq(p, "held", 30000, 0, &held), OF_OK);
    uint64_t f_held = 0, f = 0;
    of_lock_fence(held, &f_held);
    int leader = test_etcd_leader(&E);
    assert_true(leader >= 0);
    test_etcd_signal(&E, leader, SIGKILL);
    /* A new leader takes over; locks keep working and fences keep increasing. */
    assert_int_equal(acq_retry(p, "other", 15000, 1500, &l), OF_OK);
    of_lock_fence(l, &f);
    assert_true(f > f_held);
    int rc;
    do
        rc = acq(p, "held", 10000, 0, &x);
    while (rc == OF_ERR_UNKNOWN || rc == OF_ERR_UNAVAILABLE);
    assert_int_equal(rc, OF_ERR_BUSY); /* the lease survived the leader change */
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(of_lock_release(held), OF_OK);
    assert_int_equal(test_etcd_restart(&E, leader), 0);
    assert_int_equal(test_etcd_wait_writable(&E, 15000), 0);
    of_lock_provider_destroy(p);
}

static void etcd_cluster_member_stopped(void **state)
{
    (void)state;
    /* m0 is the first endpoint, so the provider talks to it until it stalls. */
    of_lock_provider *p = make("/stop/?command_timeout_ms=800");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "warm", 5000, 0, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    test_etcd_signal(&E, 0, SIGSTOP);
    assert_int_equal(acq_retry(p, "n", 15000, 800, &l), OF_OK);
    assert_int_equal(of_lock_extend(l, 5000), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    test_etcd_signal(&E, 0, SIGCONT);
    assert_int_equal(test_etcd_wait_writable(&E, 15000), 0);
    of_lock_provider_destroy(p);
}

static void etcd_cluster_quorum_lost_never_grants(void **state)
{
    (void)state;
    of_lock_provider *p = make("/quorum/?command_timeout_ms=700&connect_timeout_ms=300");
    of_lock *l = NULL;
    assert_int_equal(acq(p, "q", 5000, 0, &l), OF_OK);
    uint64_t f0 = 0;
    of_lock_fence(l, &f0);
    assert_int_equal(of_lock_release(l), OF_OK);
    test_etcd_signal(&E, 1, SIGKILL);
    test_etcd_signal(&E, 2, SIGKILL);
    for (int i = 0; i < 6; i++) {
        int64_t t0 = test_now_ns();
        int rc = acq(p, "q", 5000, 0, &l);
        int64_t took = test_now_ns() - t0;
        if (rc != OF_ERR_UNKNOWN && rc != OF_ERR_UNAVAILABLE)
            fail_msg("attempt %d without quorum: %s", i, of_status_name(rc));
        assert_true(took <= 1700 * NS_PER_MS);
    }
    assert_int_equal(test_etcd_restart(&E, 1), 0);
    assert_int_equal(test_etcd_restart(&E, 2), 0);
    assert_int_equal(acq_retry(p, "q", 20000, 700, &l), OF_OK);
    uint64_t f1 = 0;
    of_lock_fence(l, &f1);
    assert_true(f1 > f0);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "basic";
    int members = strcmp(mode, "cluster") == 0 ? 3 : 1;
    if (test_etcd_start(&E, members) != 0) {
        printf("1..1\nnot ok 1 - start etcd\n");
        return 1;
    }
    int rc = 2;
    if (strcmp(mode, "basic") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(etcd_fence_is_the_create_revision),
            cmocka_unit_test(etcd_extend_to_another_ttl_moves_the_lease),
            cmocka_unit_test(etcd_busy_attempts_leave_no_lease),
            cmocka_unit_test(etcd_fails_over_to_the_next_endpoint),
            cmocka_unit_test(etcd_nothing_reachable_is_unavailable),
            cmocka_unit_test(etcd_stopped_member_is_unknown_then_cleaned_up),
        };
        rc = cmocka_run_group_tests_name("lock-etcd-basic", tests, NULL, NULL);
    } else if (strcmp(mode, "auth") == 0) {
        if (test_etcd_enable_auth(&E, "s3cret") != 0) {
            printf("1..1\nnot ok 1 - enable etcd auth\n");
            test_etcd_stop(&E);
            return 1;
        }
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(etcd_auth_wrong_password_is_auth),
            cmocka_unit_test(etcd_auth_right_password_works),
        };
        rc = cmocka_run_group_tests_name("lock-etcd-auth", tests, NULL, NULL);
    } else if (strcmp(mode, "cluster") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(etcd_cluster_leader_killed),
            cmocka_unit_test(etcd_cluster_member_stopped),
            cmocka_unit_test(etcd_cluster_quorum_lost_never_grants),
        };
        rc = cmocka_run_group_tests_name("lock-etcd-cluster", tests, NULL, NULL);
    } else {
        fprintf(stderr, "usage: %s basic|auth|cluster\n", argv[0]);
    }
    test_etcd_stop(&E);
    return rc;
}
