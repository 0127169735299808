/* Stress test of the engine + local provider (suites slow and concurrency, also run under TSan):
 * 8 threads x 4 names x many acquisitions in mixed modes (wait forever, try once, short timed
 * waits), a deliberately non-atomic counter per name, an in-critical-section witness, and the
 * fencing tokens seen inside each critical section, which must strictly increase per name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include <openfault/openfault.h>

enum { THREADS = 8, NAMES = 4 };

typedef struct guarded {
    long counter;         /* not atomic: only the lock protects it */
    uint64_t last_fence;  /* idem */
    atomic_int inside;    /* witness */
} guarded;

typedef struct shared {
    of_lock_provider *p;
    guarded g[NAMES];
    int iterations;
    uint32_t ttl_ms;
    uint32_t flags;
    int long_holder; /* thread 0 sometimes holds past the TTL (auto-renew must cover it) */
    atomic_long acquired[NAMES];
    atomic_int violations;
    atomic_int fence_regressions;
    atomic_int errors;
    atomic_int lost;
} shared;

typedef struct worker_arg {
    shared *s;
    int id;
} worker_arg;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static const char *const names[NAMES] = {"alpha", "beta", "gamma", "delta"};

static void *worker(void *arg)
{
    worker_arg *w = arg;
    shared *s = w->s;
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1);
    for (int i = 0; i < s->iterations; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int k = (int)(rng % NAMES);
        int mode = (int)((rng >> 8) % 10);
        of_lock_options o;
        of_lock_options_init(&o, sizeof o);
        o.ttl_ms = s->ttl_ms;
        o.flags = s->flags;
        o.wait_ms = mode < 7 ? -1 : mode < 9 ? 0 : 2;
        of_lock *l = NULL;
        int rc = of_lock_acquire(s->p, names[k], strlen(names[k]), &o, &l);
        if (rc == OF_ERR_BUSY || rc == OF_ERR_TIMEOUT) {
            if ((o.wait_ms == 0 && rc != OF_ERR_BUSY) || (o.wait_ms > 0 && rc != OF_ERR_TIMEOUT))
                atomic_fetch_add(&s->errors, 1);
            continue;
        }
        if (rc != OF_OK) {
            atomic_fetch_add(&s->errors, 1);
            continue;
        }
        guarded *g = &s->g[k];
        if (atomic_fetch_add(&g->inside, 1) != 0)
            atomic_fetch_add(&s->violations, 1);
        uint64_t fence = 0;
        if (of_lock_fence(l, &fence) != OF_OK || fence <= g->last_fence)
            atomic_fetch_add(&s->fence_regressions, 1);
        g->last_fence = fence;
        long c = g->counter;
        if ((rng >> 20) % 16 == 0)
            sched_yield();
        if (s->long_holder && w->id == 0 && i % 1000 == 0)
            sleep_ms(s->ttl_ms + s->ttl_ms / 2);
        g->counter = c + 1;
        atomic_fetch_add(&s->acquired[k], 1);
        atomic_fetch_sub(&g->inside, 1);
        rc = of_lock_release(l);
        if (rc == OF_ERR_LOST || rc == OF_ERR_NOT_OWNER)
            atomic_fetch_add(&s->lost, 1);
        else if (rc != OF_OK)
            atomic_fetch_add(&s->errors, 1);
    }
    return NULL;
}

static int iterations(int dflt)
{
    const char *e = getenv("OF_STRESS_ITERATIONS");
    return e ? atoi(e) : dflt;
}

static void run(shared *s)
{
    assert_int_equal(of_lock_local_create(&s->p), OF_OK);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i].s = s;
        args[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    of_lock_stats st;
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(s->p, &st), OF_OK);
    of_lock_provider_destroy(s->p);

    long total = 0;
    for (int k = 0; k < NAMES; k++) {
        assert_int_equal(s->g[k].counter, atomic_load(&s->acquired[k]));
        total += s->g[k].counter;
    }
    printf("# %d threads, %ld acquisitions, %llu busy, %llu timeouts, %llu attempts\n", THREADS,
           total, (unsigned long long)st.busy, (unsigned long long)st.timeouts,
           (unsigned long long)st.attempts);
    assert_int_equal(atomic_load(&s->violations), 0);
    assert_int_equal(atomic_load(&s->fence_regressions), 0);
    assert_int_equal(atomic_load(&s->errors), 0);
    assert_int_equal(atomic_load(&s->lost), 0);
    assert_int_equal((long)st.acquired, total);
    assert_int_equal((long)st.released, total);
    assert_true(total > 0);
}

static void stress_mixed_modes_keep_mutual_exclusion(void **state)
{
    (void)state;
    shared *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->iterations = iterations(20000);
    s->ttl_ms = 30000;
    run(s);
    free(s);
}

static void stress_auto_renew_covers_holds_past_the_ttl(void **state)
{
    (void)state;
    shared *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->iterations = iterations(20000) / 4;
    s->ttl_ms = 300;
    s->flags = OF_LOCK_AUTO_RENEW;
    s->long_holder = 1;
    run(s);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stress_mixed_modes_keep_mutual_exclusion),
        cmocka_unit_test(stress_auto_renew_covers_holds_past_the_ttl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
