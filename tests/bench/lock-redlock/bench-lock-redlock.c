/* bench-lock-redlock: acquire+release pairs/s of the Redlock provider over 3 and 5 servers
 * against the single-server Redis provider, all on private servers in the same run, rounds
 * interleaved (DESIGN.md, Measuring; target: 3 servers >= 0.6x the single-server pairs/s).
 *
 *   bench-lock-redlock [--cpu N | --spread] [--rounds N] [--pairs N]
 *
 * Default placement, as bench-lock-redis: the client and every redis-server pinned to one CPU
 * (--cpu, default: the CPU this process is already pinned to, else 1), so a reply never pays a
 * cross-CPU wake-up and figures compare like with like. --spread pins the client to CPU 0 and
 * the servers to CPU 1 instead (one cross-CPU hop per round, paid once by the parallel rounds).
 * Never a pass/fail test: run it more than once; the machines are shared and noisy. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "redis-harness.h"

#define NSRV 5
static test_redis srv[NSRV];

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
    for (int i = 0; i < NSRV; i++)
        test_redis_stop(&srv[i]);
    exit(1);
}

static of_lock_provider *make_redis(void)
{
    char url[256];
    test_redis_url(&srv[0], 0, "?prefix=single:", url, sizeof url);
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    if (rc != OF_OK)
        die("of_lock_redis_create_url", rc);
    return p;
}

static of_lock_provider *make_redlock(int n)
{
    char urls[NSRV][256];
    const char *list[NSRV];
    for (int i = 0; i < n; i++) {
        test_redis_url(&srv[i], 0, "?prefix=rl:", urls[i], sizeof urls[i]);
        list[i] = urls[i];
    }
    of_lock_provider *p = NULL;
    int rc = of_lock_redlock_create(list, (size_t)n, NULL, &p);
    if (rc != OF_OK)
        die("of_lock_redlock_create", rc);
    return p;
}

static double pairs_per_s(of_lock_provider *p, long n, const char *name)
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

static void pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        perror("sched_setaffinity");
}

int main(int argc, char **argv)
{
    int rounds = 7, cpu = -1, spread = 0;
    long pairs = 2000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--spread") == 0)
            spread = 1;
        else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--pairs") == 0)
            pairs = atol(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--cpu") == 0)
            cpu = atoi(argv[++i]);
        else
            rounds = -1;
    }
    if (rounds < 1 || pairs < 4) {
        fprintf(stderr, "usage: %s [--cpu N | --spread] [--rounds N] [--pairs N]\n", argv[0]);
        return 2;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int client_cpu, server_cpu;
    if (spread && ncpu >= 2) {
        client_cpu = 0;
        server_cpu = 1;
    } else {
        spread = 0;
        if (cpu < 0) {
            cpu_set_t set;
            cpu = 1;
            if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1)
                for (int c = 0; c < CPU_SETSIZE; c++)
                    if (CPU_ISSET(c, &set))
                        cpu = c;
        }
        if (cpu >= ncpu)
            cpu = (int)ncpu - 1;
        client_cpu = server_cpu = cpu;
    }
    pin_self(client_cpu);
    char cpustr[16];
    snprintf(cpustr, sizeof cpustr, "%d", server_cpu);
    for (int i = 0; i < NSRV; i++) {
        if (test_redis_start(&srv[i], NULL, cpustr) != 0) {
            for (int j = 0; j < i; j++)
                test_redis_stop(&srv[j]);
            return 1;
        }
    }
    printf("bench-lock-redlock: client on CPU %d, %d redis-servers on CPU %d (%s); "
           "%d rounds x %ld pairs, TCP loopback\n",
           client_cpu, NSRV, server_cpu, spread ? "spread" : "pinned together", rounds, pairs);

    of_lock_provider *p1 = make_redis(), *p3 = make_redlock(3), *p5 = make_redlock(5);
    /* warm up (connections, script caches, fence counters agreed, CPU frequency) */
    pairs_per_s(p1, pairs / 4, "bench");
    pairs_per_s(p3, pairs / 4, "bench");
    pairs_per_s(p5, pairs / 4, "bench");
    double *one = calloc((size_t)rounds, sizeof(double));
    double *three = calloc((size_t)rounds, sizeof(double));
    double *five = calloc((size_t)rounds, sizeof(double));
    double *r3 = calloc((size_t)rounds, sizeof(double));
    double *r5 = calloc((size_t)rounds, sizeof(double));
    for (int r = 0; r < rounds; r++) {
        /* rotate the order so drift favours none */
        of_lock_provider *ps[3] = {p1, p3, p5};
        double *out[3] = {&one[r], &three[r], &five[r]};
        for (int k = 0; k < 3; k++) {
            int j = (k + r) % 3;
            *out[j] = pairs_per_s(ps[j], pairs, "bench");
        }
        r3[r] = three[r] / one[r];
        r5[r] = five[r] / one[r];
        printf("  round %d: redis %7.0f  redlock-3 %7.0f (%.3f x)  redlock-5 %7.0f (%.3f x) "
               "pairs/s\n",
               r + 1, one[r], three[r], r3[r], five[r], r5[r]);
    }
    qsort(one, (size_t)rounds, sizeof(double), cmp_double);
    qsort(three, (size_t)rounds, sizeof(double), cmp_double);
    qsort(five, (size_t)rounds, sizeof(double), cmp_double);
    qsort(r3, (size_t)rounds, sizeof(double), cmp_double);
    qsort(r5, (size_t)rounds, sizeof(double), cmp_double);
    int m = rounds / 2;
    printf("medians: redis %.0f, redlock-3 %.0f, redlock-5 %.0f pairs/s\n", one[m], three[m],
           five[m]);
    printf("redlock-3 / redis: median %.3f (min %.3f, max %.3f; target >= 0.6)\n", r3[m], r3[0],
           r3[rounds - 1]);
    printf("redlock-5 / redis: median %.3f (min %.3f, max %.3f)\n", r5[m], r5[0],
           r5[rounds - 1]);
    free(one);
    free(three);
    free(five);
    free(r3);
    free(r5);
    of_lock_provider_destroy(p1);
    of_lock_provider_destroy(p3);
    of_lock_provider_destroy(p5);
    for (int i = 0; i < NSRV; i++)
        test_redis_stop(&srv[i]);
    return 0;
}
