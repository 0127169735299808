/* bench-lock-local: the in-process lock provider against a raw pthread mutex measured in the same
 * run (DESIGN.md, Measuring; target: uncontended acquire+release >= 0.25x the mutex pairs/s).
 *
 *   bench-lock-local [--rounds N] [--pairs N] [--ms N]
 *
 * 1. uncontended: one thread, one name, of_lock_acquire(wait 0) + of_lock_release, vs
 *    pthread_mutex_lock + unlock; rounds interleave both, the median round's ratio is reported.
 * 2. contended: two threads on one name (wait forever) for --ms, vs two threads on one mutex.
 * 3. two threads on two names (no contention, shared provider), vs two threads on two mutexes.
 * --curve: pair time on one name while 1, 10^3 or 10^6 other names are held (live entries in the
 * provider's table, live handles in the engine), as a ratio to the mutex pair.
 * Run it pinned (`taskset -c 1`; with one CPU the two-thread figures measure hand-offs through
 * the scheduler) and more than once: the machines are shared and noisy. Never a pass/fail test.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openfault/openfault.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, of_strerror(rc), of_last_error_detail());
    exit(1);
}

static of_lock_provider *provider;
/* Each mutex on a cache line of its own: two threads on their own mutexes must not share a
 * written line, or the baseline pays for false sharing that the lock case does not have. */
static struct {
    _Alignas(64) pthread_mutex_t m;
} mutexes[2] = {{PTHREAD_MUTEX_INITIALIZER}, {PTHREAD_MUTEX_INITIALIZER}};
static atomic_int stop;
static volatile long sink;

static double bench_lock_pairs(long n, const char *name)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    size_t len = strlen(name);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        of_lock *l;
        int rc = of_lock_acquire(provider, name, len, &o, &l);
        if (rc != OF_OK)
            die("of_lock_acquire", rc);
        of_lock_release(l);
    }
    return (now_ns() - t0) / (double)n;
}

static double bench_mutex_pairs(long n, pthread_mutex_t *m)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(m);
        sink++;
        pthread_mutex_unlock(m);
    }
    return (now_ns() - t0) / (double)n;
}

/* One clock read of @p id, the unit of the lock pair's floor: an acquire reads the coarse clock
 * twice (send time, late-grant check) and a release once. */
static double bench_clock_reads(long n, clockid_t id)
{
    struct timespec ts;
    long acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        clock_gettime(id, &ts);
        acc += ts.tv_nsec;
    }
    sink += acc;
    return (now_ns() - t0) / (double)n;
}

/* Aligned: the two workers' counters must not share a written cache line either. */
typedef struct worker {
    _Alignas(64) int use_lock;
    int index; /* which name / mutex */
    long count;
    volatile long inside; /* the work done while holding the lock (per thread, not `sink`) */
} worker;

static const char *const names[2] = {"bench-a", "bench-b"};

static void *work(void *arg)
{
    worker *w = arg;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.wait_ms = -1;
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (w->use_lock) {
            of_lock *l;
            int rc = of_lock_acquire(provider, names[w->index], 7, &o, &l);
            if (rc != OF_OK)
                die("of_lock_acquire", rc);
            w->inside++;
            of_lock_release(l);
        } else {
            pthread_mutex_lock(&mutexes[w->index].m);
            w->inside++;
            pthread_mutex_unlock(&mutexes[w->index].m);
        }
        n++;
    }
    w->count = n;
    return NULL;
}

/* Acquisitions per second by two threads, on one shared name/mutex or one each. */
static double two_threads(int use_lock, int shared, long ms)
{
    pthread_t th[2];
    worker w[2] = {{use_lock, 0, 0, 0}, {use_lock, shared ? 0 : 1, 0, 0}};
    atomic_store(&stop, 0);
    double t0 = now_ns();
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, work, &w[i]) != 0)
            die("pthread_create", OF_ERR_NOMEM);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    double secs = (now_ns() - t0) / 1e9;
    return (double)(w[0].count + w[1].count) / secs;
}

/* Pair time with @p live names held meanwhile (handles kept in an array). */
static void curve_point(long live, long pairs)
{
    of_lock **held = calloc((size_t)(live ? live : 1), sizeof *held);
    if (!held)
        die("calloc", OF_ERR_NOMEM);
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    char nm[32];
    for (long i = 0; i < live; i++) {
        int n = snprintf(nm, sizeof nm, "live-%ld", i);
        int rc = of_lock_acquire(provider, nm, (size_t)n, &o, &held[i]);
        if (rc != OF_OK)
            die("of_lock_acquire", rc);
    }
    double lock[5], mutex[5];
    for (int r = 0; r < 5; r++) {
        lock[r] = bench_lock_pairs(pairs, "curve");
        mutex[r] = bench_mutex_pairs(pairs, &mutexes[0].m);
    }
    qsort(lock, 5, sizeof lock[0], cmp_double);
    qsort(mutex, 5, sizeof mutex[0], cmp_double);
    printf("live names %8ld: lock pair %7.1f ns  mutex pair %5.1f ns  ratio %.3fx\n", live,
           lock[2], mutex[2], mutex[2] / lock[2]);
    for (long i = 0; i < live; i++)
        of_lock_release(held[i]);
    free(held);
}

int main(int argc, char **argv)
{
    int rounds = 9;
    long pairs = 2000000, ms = 1000;
    int curve = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc)
            pairs = atol(argv[++i]);
        else if (strcmp(argv[i], "--curve") == 0)
            curve = 1;
        else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
            ms = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--rounds N] [--pairs N] [--ms N] [--curve]\n", argv[0]);
            return 2;
        }
    }
    if (curve) {
        int rc = of_lock_local_create(&provider);
        if (rc != OF_OK)
            die("of_lock_local_create", rc);
        for (long live = 1; live <= 1000000; live *= 1000)
            curve_point(live, pairs / 4 > 0 ? pairs / 4 : 1);
        of_lock_provider_destroy(provider);
        return 0;
    }
    if (rounds < 1 || pairs < 1 || ms < 1)
        return 2;
    int rc = of_lock_local_create(&provider);
    if (rc != OF_OK)
        die("of_lock_local_create", rc);

    printf("bench-lock-local (libopenfault %s): %d rounds x %ld pairs; medians\n",
           of_version_string(), rounds, pairs);
    bench_lock_pairs(pairs / 10, "warm");
    double *lock_ns = calloc((size_t)rounds, sizeof *lock_ns);
    double *mutex_ns = calloc((size_t)rounds, sizeof *mutex_ns);
    double *ratio = calloc((size_t)rounds, sizeof *ratio);
    if (!lock_ns || !mutex_ns || !ratio)
        die("calloc", OF_ERR_NOMEM);
    for (int r = 0; r < rounds; r++) {
        mutex_ns[r] = bench_mutex_pairs(pairs * 4, &mutexes[0].m);
        lock_ns[r] = bench_lock_pairs(pairs, "bench-uncontended");
        ratio[r] = mutex_ns[r] / lock_ns[r];
    }
    qsort(lock_ns, (size_t)rounds, sizeof *lock_ns, cmp_double);
    qsort(mutex_ns, (size_t)rounds, sizeof *mutex_ns, cmp_double);
    qsort(ratio, (size_t)rounds, sizeof *ratio, cmp_double);
    double med = ratio[rounds / 2];
    printf("uncontended acquire+release: %7.1f ns/pair  %6.2f M pairs/s\n", lock_ns[rounds / 2],
           1e3 / lock_ns[rounds / 2]);
    printf("pthread_mutex lock+unlock:   %7.1f ns/pair  %6.2f M pairs/s\n", mutex_ns[rounds / 2],
           1e3 / mutex_ns[rounds / 2]);
    printf("ratio (lock pairs/s / mutex pairs/s): %.3fx   target >= 0.25x: %s\n", med,
           med >= 0.25 ? "met" : "MISSED");
#ifdef CLOCK_MONOTONIC_COARSE
    {
        double mx = mutex_ns[rounds / 2];
        double coarse = bench_clock_reads(pairs, CLOCK_MONOTONIC_COARSE);
        double fine = bench_clock_reads(pairs, CLOCK_MONOTONIC);
        printf("clock reads: coarse %.1f ns (%.2f mutex pairs; 3 per lock pair), fine %.1f ns "
               "(%.2f mutex pairs)\n", coarse, coarse / mx, fine, fine / mx);
    }
#endif

    double lc = two_threads(1, 1, ms), mc = two_threads(0, 1, ms);
    printf("2 threads, one name:  lock %10.0f acq/s   mutex %10.0f acq/s   ratio %.3fx\n", lc,
           mc, lc / mc);
    double ld = two_threads(1, 0, ms), md = two_threads(0, 0, ms);
    printf("2 threads, own names: lock %10.0f acq/s   mutex %10.0f acq/s   ratio %.3fx\n", ld,
           md, ld / md);

    of_lock_stats st;
    st.struct_size = sizeof st;
    of_lock_provider_stats(provider, &st);
    printf("provider stats: %llu acquired, %llu attempts (%.3f per acquisition)\n",
           (unsigned long long)st.acquired, (unsigned long long)st.attempts,
           (double)st.attempts / (double)(st.acquired ? st.acquired : 1));
    of_lock_provider_destroy(provider);
    free(lock_ns);
    free(mutex_ns);
    free(ratio);
    return 0;
}
