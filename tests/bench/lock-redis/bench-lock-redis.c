/* bench-lock-redis: the Redis lock provider against raw hiredis doing the same two round trips
 * (EVALSHA fenced acquire + EVALSHA release, the provider's own scripts) on the same private
 * server in the same run (DESIGN.md, Measuring; target >= 0.90x the raw pairs/s).
 *
 *   bench-lock-redis [--cpu N] [--rounds N] [--pairs N] [--ms N]
 *   bench-lock-redis --curve [--spread] [--cpu N] [--ms N]
 *
 * Client and server are pinned to one CPU (--cpu, default: the CPU this process is already
 * pinned to, else 1): the server through taskset, this process with sched_setaffinity. Figures:
 *   1. single thread, TCP: library pairs/s vs raw pairs/s, rounds interleaved, median ratio
 *   2. the same over the unix socket
 *   3. two threads on one name (contention; wait forever) and two threads on two names, vs the
 *      single-thread raw figure of the same run
 *   4. SIGSTOPped server: how long after the command timeout an acquire returns UNKNOWN
 * --curve instead prints the cost curve over client threads (1, 2, 4, 8, 16) on ONE provider:
 * each thread on its own name, all threads on one name (wait forever), and raw hiredis with one
 * connection per thread (the server's own ceiling for that many clients), each as pairs/s and as
 * a ratio to its 1-thread figure, plus one thread's raw PING round trips/s. The provider's pool
 * has no size limit (a checkout opens a connection when none is idle; at most
 * OFI_REDIS_POOL_IDLE_MAX idle ones are kept), so N threads use N connections. --spread puts the
 * server on the other CPU of a 2-CPU machine instead of the clients' CPU. Lines starting with
 * "curve\t" are tab-separated for docs/plots/make-redis-curves.sh.
 * Never a pass/fail test: run it more than once; the machines are shared and noisy. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <openfault/openfault.h>

#include "lock/providers/redis_config.h"
#include "lock/providers/redis_conn.h"
#include "lock/providers/redis_scripts.h"
#include "redis-harness.h"

static test_redis srv;

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
    test_redis_stop(&srv);
    exit(1);
}

/* ---- raw hiredis: the floor ---------------------------------------------------------------- */

static redisContext *raw_connect(int unix_socket)
{
    struct timeval tv = {5, 0};
    redisContext *c = unix_socket ? redisConnectUnixWithTimeout(srv.sock, tv)
                                  : redisConnectWithTimeout("127.0.0.1", srv.port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "raw connect failed\n");
        exit(1);
    }
    redisSetTimeout(c, tv);
    const char *bodies[2] = {OFI_REDIS_ACQUIRE_LUA, OFI_REDIS_RELEASE_LUA};
    for (int i = 0; i < 2; i++) {
        redisReply *r = redisCommand(c, "SCRIPT LOAD %s", bodies[i]);
        if (r == NULL || r->type != REDIS_REPLY_STRING) {
            fprintf(stderr, "SCRIPT LOAD failed\n");
            exit(1);
        }
        freeReplyObject(r);
    }
    return c;
}

/* The same keys, token and arguments the provider sends for name @p name with no prefix. */
static double raw_pairs(redisContext *c, long n, const char *name)
{
    char lock[64], fence[64];
    snprintf(lock, sizeof lock, "{%s}:lock", name);
    snprintf(fence, sizeof fence, "{%s}:fence", name);
    const char *tok = "0123456789abcdef0123456789abcdef";
    const char *acq[8] = {"EVALSHA", OFI_REDIS_ACQUIRE_SHA, "2", lock, fence, tok, "30000",
                          OFI_REDIS_FENCE_TTL_MS};
    size_t acq_len[8];
    for (int i = 0; i < 8; i++)
        acq_len[i] = strlen(acq[i]);
    const char *rel[5] = {"EVALSHA", OFI_REDIS_RELEASE_SHA, "1", lock, tok};
    size_t rel_len[5];
    for (int i = 0; i < 5; i++)
        rel_len[i] = strlen(rel[i]);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        redisReply *r = redisCommandArgv(c, 8, acq, acq_len);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->element[0]->integer != 1) {
            fprintf(stderr, "raw acquire failed\n");
            exit(1);
        }
        freeReplyObject(r);
        r = redisCommandArgv(c, 5, rel, rel_len);
        if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
            fprintf(stderr, "raw release failed\n");
            exit(1);
        }
        freeReplyObject(r);
    }
    return (double)n / ((now_ns() - t0) / 1e9);
}

/* ---- the library --------------------------------------------------------------------------- */

static of_lock_provider *make_provider(int unix_socket)
{
    char url[512];
    test_redis_url(&srv, unix_socket, NULL, url, sizeof url);
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    if (rc != OF_OK)
        die("of_lock_redis_create_url", rc);
    return p;
}

static double lib_pairs(of_lock_provider *p, long n, const char *name)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 30000;
    size_t len = strlen(name);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(p, name, len, &o, &l);
        if (rc != OF_OK)
            die("of_lock_acquire", rc);
        rc = of_lock_release(l);
        if (rc != OF_OK)
            die("of_lock_release", rc);
    }
    return (double)n / ((now_ns() - t0) / 1e9);
}

static void single_thread(int unix_socket, int rounds, long pairs, double *out_raw_median)
{
    redisContext *c = raw_connect(unix_socket);
    of_lock_provider *p = make_provider(unix_socket);
    /* warm up both (connections, script caches, CPU frequency) */
    raw_pairs(c, pairs / 4, "bench-raw");
    lib_pairs(p, pairs / 4, "bench-lib");
    double *ratio = calloc((size_t)rounds, sizeof *ratio);
    double *raw = calloc((size_t)rounds, sizeof *raw);
    double *lib = calloc((size_t)rounds, sizeof *lib);
    for (int r = 0; r < rounds; r++) {
        /* alternate the order so drift favours neither */
        if (r % 2 == 0) {
            raw[r] = raw_pairs(c, pairs, "bench-raw");
            lib[r] = lib_pairs(p, pairs, "bench-lib");
        } else {
            lib[r] = lib_pairs(p, pairs, "bench-lib");
            raw[r] = raw_pairs(c, pairs, "bench-raw");
        }
        ratio[r] = lib[r] / raw[r];
        printf("  round %d: raw %8.0f pairs/s  library %8.0f pairs/s  ratio %.3f\n", r + 1,
               raw[r], lib[r], ratio[r]);
    }
    qsort(ratio, (size_t)rounds, sizeof *ratio, cmp_double);
    qsort(raw, (size_t)rounds, sizeof *raw, cmp_double);
    qsort(lib, (size_t)rounds, sizeof *lib, cmp_double);
    printf("%s single thread: raw %.0f pairs/s, library %.0f pairs/s (medians); "
           "median ratio %.3f (min %.3f, max %.3f; target >= 0.90)\n",
           unix_socket ? "UNIX" : "TCP ", raw[rounds / 2], lib[rounds / 2], ratio[rounds / 2],
           ratio[0], ratio[rounds - 1]);
    *out_raw_median = raw[rounds / 2];
    free(ratio);
    free(raw);
    free(lib);
    of_lock_provider_destroy(p);
    redisFree(c);
}

/* ---- N threads ----------------------------------------------------------------------------- */

typedef struct thr {
    of_lock_provider *p; /* the library, or NULL: raw pairs on c */
    redisContext *c;
    const char *name;
    long done;
} thr;

static atomic_int stop;

static void *thr_run(void *arg)
{
    thr *t = arg;
    if (t->p == NULL) {
        /* raw: batches short enough that the stop flag is seen within a few ms */
        while (!atomic_load(&stop)) {
            raw_pairs(t->c, 16, t->name);
            t->done += 16;
        }
        return NULL;
    }
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 30000;
    o.wait_ms = -1;
    size_t len = strlen(t->name);
    while (!atomic_load(&stop)) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(t->p, t->name, len, &o, &l);
        if (rc != OF_OK)
            die("of_lock_acquire (threads)", rc);
        rc = of_lock_release(l);
        if (rc != OF_OK)
            die("of_lock_release (threads)", rc);
        t->done++;
    }
    return NULL;
}

#define MAX_THREADS 16

/* @p n threads for @p ms: on @p p (library) or, when @p p is NULL, raw with one connection each.
 * Thread i uses names[i]. Returns the total pairs/s; *out_min and *out_max get the least and
 * most pairs one thread did (how fair the hand-offs were). */
static double run_threads(of_lock_provider *p, int n, const char *const *names, int ms,
                          long *out_min, long *out_max)
{
    thr t[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < n; i++) {
        t[i] = (thr){p, p == NULL ? raw_connect(0) : NULL, names[i], 0};
    }
    atomic_store(&stop, 0);
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, thr_run, &t[i]);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    double secs = (now_ns() - t0) / 1e9;
    long sum = 0, lo = t[0].done, hi = t[0].done;
    for (int i = 0; i < n; i++) {
        sum += t[i].done;
        lo = t[i].done < lo ? t[i].done : lo;
        hi = t[i].done > hi ? t[i].done : hi;
        if (t[i].c != NULL)
            redisFree(t[i].c);
    }
    if (out_min != NULL)
        *out_min = lo;
    if (out_max != NULL)
        *out_max = hi;
    return (double)sum / secs;
}

static double two_threads(of_lock_provider *p, const char *n1, const char *n2, int ms)
{
    const char *names[2] = {n1, n2};
    long lo, hi;
    double r = run_threads(p, 2, names, ms, &lo, &hi);
    printf("    (thread shares: %ld / %ld)\n", lo, hi);
    return r;
}

static double ping_rate(long n)
{
    redisContext *c = raw_connect(0);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        redisReply *r = redisCommand(c, "PING");
        if (r == NULL || r->type != REDIS_REPLY_STATUS) {
            fprintf(stderr, "PING failed\n");
            exit(1);
        }
        freeReplyObject(r);
    }
    double rate = (double)n / ((now_ns() - t0) / 1e9);
    redisFree(c);
    return rate;
}

static void provider_stats(of_lock_provider *p, of_lock_stats *st)
{
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
    of_lock_provider_stats(p, st);
}

/* The cost curve over client threads, one provider for all of them. */
static void curve(int ms)
{
    static const int counts[] = {1, 2, 4, 8, 16};
    enum { OWN, SHARED, RAW, NSERIES };
    static const char *const series[NSERIES] = {"own-names", "one-name", "raw-own-conn"};
    char own[MAX_THREADS][32];
    const char *own_p[MAX_THREADS], *shared_p[MAX_THREADS];
    for (int i = 0; i < MAX_THREADS; i++) {
        snprintf(own[i], sizeof own[i], "curve-%d", i);
        own_p[i] = own[i];
        shared_p[i] = "curve-shared";
    }
    of_lock_provider *p = make_provider(0);
    /* warm-up: connections of the pool and the script cache */
    run_threads(p, MAX_THREADS, own_p, 200, NULL, NULL);
    redisContext *warm = raw_connect(0);
    raw_pairs(warm, 500, "curve-warm");
    redisFree(warm);
    double ping = ping_rate(20000);
    printf("curve\tping-1-thread\t1\t%.0f\t1.000\t0\t0\t0\n", ping);
    double base[NSERIES] = {0};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        int n = counts[k];
        for (int s = 0; s < NSERIES; s++) {
            long lo = 0, hi = 0;
            of_lock_stats st0, st1;
            provider_stats(p, &st0);
            double r = run_threads(s == RAW ? NULL : p, n, s == SHARED ? shared_p : own_p, ms,
                                   &lo, &hi);
            provider_stats(p, &st1);
            unsigned long long acq = st1.acquired - st0.acquired;
            if (n == 1)
                base[s] = r;
            /* steps per acquisition: above 1 when an acquire met BUSY and slept in backoff */
            printf("curve\t%s\t%d\t%.0f\t%.3f\t%ld\t%ld\t%.3f\n", series[s], n, r, r / base[s],
                   lo, hi, acq ? (double)(st1.attempts - st0.attempts) / (double)acq : 0.0);
            fflush(stdout);
        }
    }
    of_lock_provider_destroy(p);
}

/* ---- stall: how close to the command timeout does UNKNOWN come back ------------------------ */

static void stall_figure(void)
{
    const int timeout_ms = 200, trials = 5;
    char url[512];
    test_redis_url(&srv, 0, "?command_timeout_ms=200&prefix=stall:", url, sizeof url);
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    if (rc != OF_OK)
        die("create (stall)", rc);
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 5000;
    double worst = 0, sum = 0, best = 1e18;
    for (int i = 0; i < trials; i++) {
        of_lock *l = NULL;
        if ((rc = of_lock_acquire(p, "warm", 4, &o, &l)) != OF_OK)
            die("warm acquire", rc);
        of_lock_release(l);
        test_redis_signal(&srv, SIGSTOP);
        double t0 = now_ns();
        rc = of_lock_acquire(p, "stalled", 7, &o, &l);
        double took_ms = (now_ns() - t0) / 1e6;
        test_redis_signal(&srv, SIGCONT);
        if (rc != OF_ERR_UNKNOWN)
            die("stalled acquire should be UNKNOWN", rc);
        double over = took_ms - timeout_ms;
        sum += over;
        worst = over > worst ? over : worst;
        best = over < best ? over : best;
        struct timespec ts = {0, 300 * 1000000L}; /* let the cleanup run */
        nanosleep(&ts, NULL);
    }
    printf("stall: command timeout %d ms; UNKNOWN came back %.2f ms after it on average "
           "(min %.2f, max %.2f, %d trials; test bound: + max(1 s, 100%%))\n",
           timeout_ms, sum / trials, best, worst, trials);
    of_lock_provider_destroy(p);
}

int main(int argc, char **argv)
{
    int rounds = 7, ms = 2000, cpu = -1, want_curve = 0, spread = 0;
    long pairs = 3000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--curve") == 0) {
            want_curve = 1;
            continue;
        }
        if (strcmp(argv[i], "--spread") == 0) {
            spread = 1;
            continue;
        }
        if (i + 1 >= argc) {
            rounds = 0; /* an option without its value: usage */
            break;
        }
        if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--pairs") == 0)
            pairs = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--ms") == 0)
            ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--cpu") == 0)
            cpu = atoi(argv[i + 1]);
        else
            rounds = 0; /* unknown option: usage */
        i++;
    }
    if (rounds < 1 || pairs < 4 || ms < 1) {
        fprintf(stderr,
                "usage: %s [--cpu N] [--rounds N] [--pairs N] [--ms N]\n"
                "       %s --curve [--spread] [--cpu N] [--ms N]\n",
                argv[0], argv[0]);
        return 2;
    }
    cpu_set_t set;
    if (cpu < 0) {
        cpu = 1;
        if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1)
            for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &set))
                    cpu = c;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpu >= ncpu)
        cpu = (int)ncpu - 1;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        perror("sched_setaffinity");
    char cpustr[16];
    /* --spread: the server on another CPU than the clients (CPU 0 or 1 of a 2-CPU machine) */
    int srv_cpu = spread && ncpu > 1 ? (cpu == 0 ? 1 : 0) : cpu;
    snprintf(cpustr, sizeof cpustr, "%d", srv_cpu);
    if (test_redis_start(&srv, NULL, cpustr) != 0)
        return 1;
    if (want_curve) {
        printf("bench-lock-redis --curve: clients pinned to CPU %d, redis-server to CPU %d; "
               "%d ms per point; hiredis %d.%d.%d; pool: unbounded, one connection per "
               "concurrent thread, at most %d kept idle\n",
               cpu, srv_cpu, ms, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH,
               OFI_REDIS_POOL_IDLE_MAX);
        printf("curve\tseries\tthreads\tpairs_per_s\tratio_to_1_thread\tleast_per_thread\t"
               "most_per_thread\tsteps_per_acquisition\n");
        curve(ms);
        test_redis_stop(&srv);
        return 0;
    }
    printf("bench-lock-redis: client and redis-server pinned to CPU %d; %d rounds x %ld pairs; "
           "hiredis %d.%d.%d\n",
           cpu, rounds, pairs, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);

    double raw_tcp = 0, raw_unix = 0;
    single_thread(0, rounds, pairs, &raw_tcp);
    single_thread(1, rounds, pairs, &raw_unix);

    of_lock_provider *p = make_provider(0);
    double same = two_threads(p, "bench-c", "bench-c", ms);
    printf("TCP  2 threads, one name (contended): %.0f pairs/s = %.3f x the 1-thread raw floor\n",
           same, same / raw_tcp);
    double diff = two_threads(p, "bench-a", "bench-b", ms);
    printf("TCP  2 threads, two names:            %.0f pairs/s = %.3f x the 1-thread raw floor\n",
           diff, diff / raw_tcp);
    of_lock_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    of_lock_provider_stats(p, &st);
    printf("    (provider: %llu try-acquire steps for %llu acquisitions)\n",
           (unsigned long long)st.attempts, (unsigned long long)st.acquired);
    of_lock_provider_destroy(p);

    stall_figure();
    test_redis_stop(&srv);
    return 0;
}
