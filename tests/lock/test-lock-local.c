/* Unit tests of the in-process provider's resource behaviour. Linked with -Wl,--wrap=malloc (and
 * calloc/realloc/aligned_alloc/free) over the internal library, so every allocation the engine
 * and the provider make is counted: a steady-state acquire+release must make none, and a million
 * distinct names locked and released must leave the live allocations where they were. */
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

#include "test-util.h"

#include "lock/providers/local.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
void __wrap_free(void *p);

static atomic_long allocs; /* allocation calls */
static atomic_long live;   /* allocated minus freed blocks */

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    if (p) {
        atomic_fetch_add(&allocs, 1);
        atomic_fetch_add(&live, 1);
    }
    return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
    void *p = __real_calloc(n, m);
    if (p) {
        atomic_fetch_add(&allocs, 1);
        atomic_fetch_add(&live, 1);
    }
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    void *p = __real_realloc(old, n);
    atomic_fetch_add(&allocs, 1);
    if (!old && p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    void *p = __real_aligned_alloc(a, n);
    if (p) {
        atomic_fetch_add(&allocs, 1);
        atomic_fetch_add(&live, 1);
    }
    return p;
}

void __wrap_free(void *p)
{
    if (p)
        atomic_fetch_sub(&live, 1);
    __real_free(p);
}

static of_lock_provider *P;

static int setup(void **state)
{
    (void)state;
    return of_lock_local_create(&P) == OF_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    of_lock_provider_destroy(P);
    P = NULL;
    return 0;
}

static void cycle(const void *name, size_t len, int n)
{
    for (int i = 0; i < n; i++) {
        of_lock *l = NULL;
        assert_int_equal(of_lock_acquire(P, name, len, NULL, &l), OF_OK);
        assert_int_equal(of_lock_release(l), OF_OK);
    }
}

static void local_steady_state_calls_no_allocator(void **state)
{
    (void)state;
    char longname[300];
    memset(longname, 'q', sizeof longname);
    /* Short names (inline in handle and entry) and long ones (heap buffers kept on the lists). */
    const struct {
        const void *p;
        size_t len;
    } names[] = {{"steady", 6}, {longname, 200}, {longname, sizeof longname}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        cycle(names[k].p, names[k].len, 100);
        long before = atomic_load(&allocs);
        cycle(names[k].p, names[k].len, test_under_valgrind() ? 2000 : 100000);
        long after = atomic_load(&allocs);
        assert_int_equal(after - before, 0);
    }
    /* A few names in rotation, also with a waiter-free busy answer in between. */
    of_lock *held = NULL;
    assert_int_equal(of_lock_acquire(P, "held", 4, NULL, &held), OF_OK);
    long before = 0;
    for (int i = 0; i < 10016; i++) {
        if (i == 16) /* warm: every shard used here has a recycled entry */
            before = atomic_load(&allocs);
        char nm[16];
        int len = snprintf(nm, sizeof nm, "rot-%d", i % 8);
        of_lock *l = NULL, *x = NULL;
        assert_int_equal(of_lock_acquire(P, nm, (size_t)len, NULL, &l), OF_OK);
        assert_int_equal(of_lock_acquire(P, "held", 4, NULL, &x), OF_ERR_BUSY);
        assert_int_equal(of_lock_release(l), OF_OK);
    }
    assert_int_equal(atomic_load(&allocs) - before, 0);
    assert_int_equal(of_lock_release(held), OF_OK);
}

static void local_million_names_leave_memory_flat(void **state)
{
    (void)state;
    const int n = test_under_valgrind() ? 100000 : 1000000;
    cycle("warm", 4, 10);
    long live0 = atomic_load(&live);
    for (int i = 0; i < n; i++) {
        char nm[32];
        int len = snprintf(nm, sizeof nm, "name-%d", i);
        of_lock *l = NULL;
        assert_int_equal(of_lock_acquire(P, nm, (size_t)len, NULL, &l), OF_OK);
        assert_int_equal(of_lock_release(l), OF_OK);
    }
    long grown = atomic_load(&live) - live0;
    /* At most the bounded free lists (64 shards x 16 entries) fill up. */
    assert_true(grown <= 64 * 16);
}

static void local_many_held_names_grow_then_shrink(void **state)
{
    (void)state;
    enum { N = 20000 };
    of_lock **held = malloc(N * sizeof *held);
    assert_non_null(held);
    long live0 = atomic_load(&live);
    for (int i = 0; i < N; i++) {
        char nm[32];
        int len = snprintf(nm, sizeof nm, "held-%d", i);
        assert_int_equal(of_lock_acquire(P, nm, (size_t)len, NULL, &held[i]), OF_OK);
    }
    assert_true(atomic_load(&live) - live0 >= N); /* one entry per held name, at least */
    for (int i = 0; i < N; i++) {
        char nm[32];
        int len = snprintf(nm, sizeof nm, "held-%d", i);
        of_lock *x = NULL;
        assert_int_equal(of_lock_acquire(P, nm, (size_t)len, NULL, &x), OF_ERR_BUSY);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(of_lock_release(held[i]), OF_OK);
    free(held);
    /* Bucket arrays shrank back; what remains is the bounded free lists (handles 256, entries
     * 64 x 16) and the shards' bucket arrays (64, at most twice the minimum after hysteresis). */
    long grown = atomic_load(&live) - live0;
    assert_true(grown <= 256 + 64 * 16 + 64);
}

typedef struct waiter_arg {
    int64_t wait_ms;
    int rc;
} waiter_arg;

static void *waiter(void *arg)
{
    waiter_arg *w = arg;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.wait_ms = w->wait_ms;
    of_lock *l = NULL;
    w->rc = of_lock_acquire(P, "wake", 4, &o, &l);
    if (w->rc == OF_OK)
        w->rc = of_lock_release(l);
    return NULL;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void local_waiters_sleep_until_release(void **state)
{
    (void)state;
    enum { W = 4 };
    of_lock *held = NULL;
    assert_int_equal(of_lock_acquire(P, "wake", 4, NULL, &held), OF_OK);
    waiter_arg args[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        args[i].wait_ms = 20000;
        args[i].rc = -99;
        assert_int_equal(pthread_create(&th[i], NULL, waiter, &args[i]), 0);
    }
    sleep_ms(400);
    of_lock_stats st;
    st.struct_size = sizeof st;
    assert_int_equal(of_lock_provider_stats(P, &st), OF_OK);
    /* No polling: while the lock is held each waiter tried once (or twice if it raced the
     * first attempt against its wait) and then slept. */
    assert_true(st.attempts <= 1 + 2 * W);
    assert_int_equal(of_lock_release(held), OF_OK);
    for (int i = 0; i < W; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, OF_OK);
    }
}

static void local_force_lapse_hook_checks_its_input(void **state)
{
    (void)state;
    assert_int_equal(ofi_lock_local_force_lapse(P, "none", 4), OF_ERR_NOT_FOUND);
    assert_int_equal(ofi_lock_local_force_lapse(NULL, "none", 4), OF_ERR_INVALID);
    assert_int_equal(of_lock_local_create(NULL), OF_ERR_INVALID);
    assert_string_equal(of_lock_provider_name(P), "local");
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(local_steady_state_calls_no_allocator),
        CASE(local_million_names_leave_memory_flat),
        CASE(local_many_held_names_grow_then_shrink),
        CASE(local_waiters_sleep_until_release),
        CASE(local_force_lapse_hook_checks_its_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
