/* bench-lock-etcd: the etcd lock provider's acquire+release pairs/s against the Redis provider in
 * the same run (both on loopback, private servers), and a one-shot acquire against `etcdctl lock`,
 * the peer a shell user has (DESIGN.md, Measuring: ratios against baselines of the same run).
 *
 *   bench-lock-etcd [--rounds N] [--ms N] [--oneshots N]
 *
 * Figures:
 *   1. single thread, uncontended, one name: etcd provider pairs/s vs Redis provider pairs/s,
 *      rounds interleaved, median of the per-round ratios
 *   2. one-shot: create a provider, acquire, release, destroy (a fresh connection each time) vs
 *      `etcdctl lock NAME true` (a process, a connection, a session lease, the lock, the command)
 * etcd runs as one member with --unsafe-no-fsync (as in the tests): with fsync each write also
 * waits for the disk. Never a pass/fail test: run it more than once; the machines are shared and
 * noisy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "etcd-harness.h"
#include "redis-harness.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Pairs/s of acquire+release on @p p for @p ms milliseconds (-1 on an error). */
static double pairs_per_s(of_lock_provider *p, int ms)
{
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 10000;
    double t0 = now_s(), end = t0 + ms / 1000.0;
    long n = 0;
    while (now_s() < end) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(p, "bench", 5, &o, &l);
        if (rc == OF_OK)
            rc = of_lock_release(l);
        if (rc != OF_OK) {
            fprintf(stderr, "pair: %s (%s)\n", of_status_name(rc), of_last_error_detail());
            return -1;
        }
        n++;
    }
    return (double)n / (now_s() - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_etcdctl(const char *endpoint)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ETCDCTL_API", "3", 1);
        execlp("etcdctl", "etcdctl", "--endpoints", endpoint, "lock", "bench-oneshot", "true",
               (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int rounds = 5, ms = 1500, oneshots = 40;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ms") == 0)
            ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--oneshots") == 0)
            oneshots = atoi(argv[i + 1]);
    }
    if (rounds < 1 || rounds > 99 || ms < 100 || oneshots < 1) {
        fprintf(stderr, "usage: %s [--rounds N] [--ms N] [--oneshots N]\n", argv[0]);
        return 2;
    }
    test_etcd etcd;
    test_redis redis;
    if (test_etcd_start(&etcd, 1) != 0)
        return 1;
    if (test_redis_start(&redis, NULL, NULL) != 0) {
        test_etcd_stop(&etcd);
        return 1;
    }
    char eurl[256], rurl[256], endpoint[64];
    test_etcd_url(&etcd, "/bench/", eurl, sizeof eurl);
    test_redis_url(&redis, 0, "?prefix=bench:", rurl, sizeof rurl);
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", etcd.m[0].client_port);
    of_lock_provider *pe = NULL, *pr = NULL;
    if (of_lock_etcd_create_url(eurl, &pe) != OF_OK || of_lock_redis_create_url(rurl, &pr) != OF_OK) {
        fprintf(stderr, "create: %s\n", of_last_error_detail());
        return 1;
    }
    int failed = 0;
    double ratios[99], es[99], rs[99];
    pairs_per_s(pe, 200); /* warm up connections */
    pairs_per_s(pr, 200);
    for (int r = 0; r < rounds && !failed; r++) {
        es[r] = pairs_per_s(pe, ms);
        rs[r] = pairs_per_s(pr, ms);
        if (es[r] < 0 || rs[r] < 0)
            failed = 1;
        ratios[r] = es[r] / rs[r];
        printf("round %d: etcd provider %8.0f pairs/s, redis provider %8.0f pairs/s, ratio %.3f\n",
               r + 1, es[r], rs[r], ratios[r]);
    }
    if (!failed) {
        qsort(ratios, (size_t)rounds, sizeof ratios[0], cmp_double);
        qsort(es, (size_t)rounds, sizeof es[0], cmp_double);
        qsort(rs, (size_t)rounds, sizeof rs[0], cmp_double);
        printf("acquire+release, 1 thread, uncontended: etcd %.0f pairs/s, redis %.0f pairs/s "
               "(medians); median ratio etcd/redis %.3f\n",
               es[rounds / 2], rs[rounds / 2], ratios[rounds / 2]);
    }
    of_lock_provider_destroy(pe);
    of_lock_provider_destroy(pr);

    /* One-shot: what a shell script pays per lock. */
    double t0 = now_s();
    for (int i = 0; i < oneshots && !failed; i++) {
        of_lock_provider *p = NULL;
        of_lock *l = NULL;
        int rc = of_lock_etcd_create_url(eurl, &p);
        if (rc == OF_OK)
            rc = of_lock_acquire(p, "bench-oneshot", 13, NULL, &l);
        if (rc == OF_OK)
            rc = of_lock_release(l);
        of_lock_provider_destroy(p);
        if (rc != OF_OK)
            failed = 1;
    }
    double lib = oneshots / (now_s() - t0);
    t0 = now_s();
    for (int i = 0; i < oneshots && !failed; i++)
        if (run_etcdctl(endpoint) != 0) {
            fprintf(stderr, "etcdctl lock failed (is etcd-client installed?)\n");
            failed = 1;
        }
    double ctl = oneshots / (now_s() - t0);
    if (!failed)
        printf("one-shot (create, acquire, release, destroy) x %d: provider %.1f/s, etcdctl lock "
               "%.1f/s, ratio %.2f\n",
               oneshots, lib, ctl, lib / ctl);
    test_redis_stop(&redis);
    test_etcd_stop(&etcd);
    return failed;
}
