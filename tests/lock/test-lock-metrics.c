/* Lock provider metrics: every of_lock_stats figure moves when it should, the owner token is
 * derived on demand and stable, and the exposition (Prometheus text, JSON) is complete, sized
 * and refuses bad arguments. With `--dump prometheus|json` it drives the figures and prints the
 * exposition, for the promtool and JSON checks (check-metrics.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include <openfault/openfault.h>

#include "lock/providers/local.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static of_lock_stats stats(of_lock_provider *p)
{
    of_lock_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    assert_int_equal(of_lock_provider_stats(p, &s), OF_OK);
    return s;
}

typedef struct waiter_arg {
    of_lock_provider *p;
    int rc;
} waiter_arg;

static void *waiter(void *arg)
{
    waiter_arg *w = arg;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.wait_ms = 30000;
    of_lock *l = NULL;
    w->rc = of_lock_acquire(w->p, "m", 1, &o, &l);
    if (w->rc == OF_OK)
        of_lock_release(l);
    return NULL;
}

/* Acquire, busy, timeout, a waiter, extend ok and failed (a lapsed lease), a release of a lost
 * handle: the figures a scrape shows. Returns the provider. */
static of_lock_provider *drive(void)
{
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    of_lock *a = NULL, *b = NULL;
    assert_int_equal(of_lock_acquire(p, "m", 1, &o, &a), OF_OK);
    of_lock_stats s = stats(p);
    assert_int_equal(s.held_now, 1);
    assert_int_equal(of_lock_acquire(p, "m", 1, &o, &b), OF_ERR_BUSY);
    o.wait_ms = 20;
    assert_int_equal(of_lock_acquire(p, "m", 1, &o, &b), OF_ERR_TIMEOUT);

    pthread_t th;
    waiter_arg w = {p, -100};
    assert_int_equal(pthread_create(&th, NULL, waiter, &w), 0);
    for (int i = 0; i < 3000 && stats(p).waiting_now == 0; i++)
        sleep_ms(1);
    assert_int_equal(stats(p).waiting_now, 1);
    sleep_ms(2);
    assert_int_equal(of_lock_extend(a, 30000), OF_OK);
    assert_int_equal(of_lock_release(a), OF_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.rc, OF_OK);

    /* A lease the provider lets lapse: the owner's extend is refused, the handle is lost. */
    o.wait_ms = 0;
    assert_int_equal(of_lock_acquire(p, "n", 1, &o, &a), OF_OK);
    assert_int_equal(ofi_lock_local_force_lapse(p, "n", 1), OF_OK);
    assert_int_equal(of_lock_extend(a, 1000), OF_ERR_NOT_OWNER);
    assert_int_equal(of_lock_release(a), OF_ERR_LOST);
    return p;
}

static void figures_move(void **state)
{
    (void)state;
    of_lock_provider *p = drive();
    of_lock_stats s = stats(p);
    assert_int_equal(s.acquired, 3);
    assert_int_equal(s.busy, 1);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.released, 2);
    assert_int_equal(s.releases_lost, 1);
    assert_int_equal(s.releases_not_owner, 0);
    assert_int_equal(s.releases_failed, 0);
    assert_int_equal(s.extends_ok, 1);
    assert_int_equal(s.extends_failed, 1);
    assert_int_equal(s.renewals_ok, 0);
    assert_int_equal(s.lost, 1);
    assert_int_equal(s.lost_not_owner, 1);
    assert_int_equal(s.lost_expired + s.lost_unknown, 0);
    assert_int_equal(s.held_now, 0);
    assert_int_equal(s.waiting_now, 0);
    assert_int_equal(s.acquire_failures, 0);
    /* Two calls waited (the timeout and the thread): both in the wait histogram, the 20 ms one
     * above the 10 ms bucket. */
    assert_int_equal(s.wait_le[OF_LOCK_HIST_BUCKETS - 1], 2);
    assert_true(s.wait_le[4] <= 1);
    assert_true(s.wait_ns >= 20 * 1000000ull);
    for (int i = 1; i < OF_LOCK_HIST_BUCKETS; i++) {
        assert_true(s.wait_le[i] >= s.wait_le[i - 1]);
        assert_true(s.hold_le[i] >= s.hold_le[i - 1]);
    }
    /* Three handles ended (two released, one lost): three hold times. */
    assert_int_equal(s.hold_le[OF_LOCK_HIST_BUCKETS - 1], 3);
    of_lock_provider_destroy(p);
}

/* Renewals ok and failed: an auto-renewed lock renews; once the provider lets it lapse the next
 * renewal fails and the handle is lost (not_owner). */
static void renewals_counted(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 150;
    o.flags = OF_LOCK_AUTO_RENEW;
    of_lock *a = NULL;
    assert_int_equal(of_lock_acquire(p, "r", 1, &o, &a), OF_OK);
    for (int i = 0; i < 5000 && stats(p).renewals_ok == 0; i++)
        sleep_ms(1);
    assert_true(stats(p).renewals_ok >= 1);
    assert_int_equal(ofi_lock_local_force_lapse(p, "r", 1), OF_OK);
    for (int i = 0; i < 5000 && !of_lock_is_lost(a); i++)
        sleep_ms(1);
    assert_true(of_lock_is_lost(a));
    of_lock_stats s = stats(p);
    assert_true(s.renewals_failed >= 1);
    assert_int_equal(s.lost_not_owner, 1);
    of_lock_release(a);
    of_lock_provider_destroy(p);
}

/* The token the caller sees is the unguessable one, derived on demand: stable per handle,
 * different per acquisition, and not the small id the local provider keeps. */
static void token_derived_on_demand(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    of_lock *a = NULL;
    assert_int_equal(of_lock_acquire(p, "t", 1, NULL, &a), OF_OK);
    of_lock_token t1, t2, t3;
    assert_int_equal(of_lock_token_get(a, &t1), OF_OK);
    assert_int_equal(of_lock_token_get(a, &t2), OF_OK);
    assert_memory_equal(t1.bytes, t2.bytes, sizeof t1.bytes);
    static const uint8_t zero[8];
    /* An id form would have 8 zero bytes; a SipHash output has them with probability 2^-64. */
    assert_memory_not_equal(t1.bytes + 8, zero, 8);
    assert_memory_not_equal(t1.bytes, zero, 8);
    assert_int_equal(of_lock_release(a), OF_OK);
    assert_int_equal(of_lock_acquire(p, "t", 1, NULL, &a), OF_OK);
    assert_int_equal(of_lock_token_get(a, &t3), OF_OK);
    assert_memory_not_equal(t1.bytes, t3.bytes, sizeof t1.bytes);
    assert_int_equal(of_lock_release(a), OF_OK);
    of_lock_provider_destroy(p);
}

static const char *const labels[] = {"service", "x \"q\"\\\n", "zone", "eu", NULL};

typedef struct sink {
    char buf[65536];
    size_t len;
    int calls, stop_after;
} sink;

static int sink_write(void *ctx, const char *data, size_t len)
{
    sink *s = ctx;
    if (s->stop_after && ++s->calls > s->stop_after)
        return OF_ERR_NOSPACE;
    assert_true(s->len + len < sizeof s->buf);
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

static void exposition_sized_and_complete(void **state)
{
    (void)state;
    of_lock_provider *p = drive();
    for (int f = OF_METRICS_PROMETHEUS; f <= OF_METRICS_JSON; f++) {
        size_t need = 0;
        char small[16];
        assert_int_equal(of_lock_provider_metrics(p, f, "myapp_", labels, small, sizeof small,
                                                  &need),
                         OF_ERR_NOSPACE);
        assert_true(need > sizeof small);
        size_t need0 = 0;
        assert_int_equal(of_lock_provider_metrics(p, f, "myapp_", labels, NULL, 0, &need0),
                         OF_ERR_NOSPACE);
        assert_int_equal(need0, need);
        char *buf = malloc(need + 1);
        assert_non_null(buf);
        assert_int_equal(of_lock_provider_metrics(p, f, "myapp_", labels, buf, need, NULL),
                         OF_ERR_NOSPACE); /* no room for the NUL */
        size_t got = 0;
        assert_int_equal(of_lock_provider_metrics(p, f, "myapp_", labels, buf, need + 1, &got),
                         OF_OK);
        assert_int_equal(got, need);
        assert_int_equal(strlen(buf), need);
        sink s;
        memset(&s, 0, sizeof s);
        assert_int_equal(of_lock_provider_metrics_write(p, f, "myapp_", labels, sink_write, &s),
                         OF_OK);
        assert_int_equal(s.len, need);
        assert_memory_equal(s.buf, buf, need);
        memset(&s, 0, sizeof s);
        s.stop_after = 3;
        assert_int_equal(of_lock_provider_metrics_write(p, f, "myapp_", labels, sink_write, &s),
                         OF_ERR_NOSPACE);
        if (f == OF_METRICS_PROMETHEUS) {
            assert_non_null(strstr(buf, "# TYPE myapp_lock_acquisitions_total counter\n"));
            assert_non_null(strstr(buf, "myapp_lock_acquisitions_total{provider=\"local\","
                                        "service=\"x \\\"q\\\"\\\\\\n\",zone=\"eu\"} 3\n"));
            assert_non_null(strstr(buf, "myapp_lock_losses_total{provider=\"local\",service="));
            assert_non_null(strstr(buf, ",cause=\"not_owner\"} 1\n"));
            assert_non_null(strstr(buf, ",le=\"+Inf\"} 2\n"));
            assert_non_null(strstr(buf, "# TYPE myapp_lock_hold_seconds histogram\n"));
            assert_non_null(strstr(buf, "myapp_lock_held{"));
            assert_non_null(strstr(buf, "myapp_lock_waiting{"));
        } else {
            assert_non_null(strstr(buf, "\"name\":\"myapp_lock_acquisitions_total\""));
            assert_non_null(strstr(buf, "\"service\":\"x \\\"q\\\"\\\\\\n\""));
        }
        free(buf);
    }
    /* Defaults: the openfault_ prefix, no constant labels. */
    char buf[32768];
    assert_int_equal(of_lock_provider_metrics(p, OF_METRICS_PROMETHEUS, NULL, NULL, buf,
                                              sizeof buf, NULL), OF_OK);
    assert_non_null(strstr(buf, "openfault_lock_busy_total{provider=\"local\"} 1\n"));
    of_lock_provider_destroy(p);
}

static void exposition_bad_input(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    char buf[64] = "keep";
    size_t n = 7;
    static const char *const odd[] = {"service", NULL};
    static const char *const le[] = {"le", "1", NULL};
    static const char *const prov[] = {"provider", "x", NULL};
    static const char *const dunder[] = {"__x", "1", NULL};
    static const char *const digit[] = {"1x", "1", NULL};
    static const char *const twice[] = {"a", "1", "a", "2", NULL};
    const char *const *bad_labels[] = {odd, le, prov, dunder, digit, twice};
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++)
        assert_int_equal(of_lock_provider_metrics(p, OF_METRICS_JSON, NULL, bad_labels[i], buf,
                                                  sizeof buf, &n), OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics(p, 0, NULL, NULL, buf, sizeof buf, &n),
                     OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics(p, 3, NULL, NULL, buf, sizeof buf, &n),
                     OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics(p, 1, "9x", NULL, buf, sizeof buf, &n),
                     OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics(p, 1, "a-b", NULL, buf, sizeof buf, &n),
                     OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics(NULL, 1, NULL, NULL, buf, sizeof buf, &n),
                     OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics(p, 1, NULL, NULL, NULL, 10, &n), OF_ERR_INVALID);
    assert_string_equal(buf, "keep");
    assert_int_equal(n, 7);
    assert_int_equal(of_lock_provider_metrics_write(p, 1, NULL, NULL, NULL, NULL),
                     OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics_write(NULL, 1, NULL, NULL, sink_write, NULL),
                     OF_ERR_INVALID);
    assert_int_equal(of_lock_provider_metrics(p, 1, "", NULL, buf, sizeof buf, &n),
                     OF_ERR_NOSPACE); /* an empty prefix is allowed */
    of_lock_provider_destroy(p);
}

static int dump(const char *fmt)
{
    int f = strcmp(fmt, "json") == 0 ? OF_METRICS_JSON : OF_METRICS_PROMETHEUS;
    of_lock_provider *p = drive();
    static char buf[65536];
    static const char *const plain[] = {"service", "x \"q\"\\\n", NULL};
    int rc = of_lock_provider_metrics(p, f, "myapp_", plain, buf, sizeof buf, NULL);
    if (rc == OF_OK)
        fputs(buf, stdout);
    of_lock_provider_destroy(p);
    return rc == OF_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(figures_move),
        cmocka_unit_test(renewals_counted),
        cmocka_unit_test(token_derived_on_demand),
        cmocka_unit_test(exposition_sized_and_complete),
        cmocka_unit_test(exposition_bad_input),
    };
    return cmocka_run_group_tests_name("lock/metrics", tests, NULL, NULL);
}
