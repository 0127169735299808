/* Multi-process stress of the Redis provider (suite slow): PROCS processes x THREADS threads
 * contend on one name; inside the critical section each reads-modifies-writes a shared file
 * counter, checks and sets a holder marker, and appends its fencing token to a log. Pass:
 * zero overlaps, the counter equals the number of acquisitions, fences strictly increase in log
 * order. Each child creates its own provider after fork() (DESIGN.md). Exit status 0 = pass.
 * usage: stress-lock-redis [procs threads iterations] */
#include <inttypes.h>
#include <stdio.h>
#include <sys/types.h>

#include <openfault/openfault.h>

#include "redis-harness.h"
#include "stress.h"

static char url[512];

static void *work(void *arg)
{
    test_stress_worker *w = arg;
    if (test_stress_worker_open(w) != 0)
        return NULL;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 10000;
    o.wait_ms = 60000;
    for (int i = 0; i < w->s->iterations; i++) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(w->p, "stress", 6, &o, &l);
        if (rc != OF_OK) {
            fprintf(stderr, "worker %d: acquire: %s (%s)\n", w->id, of_status_name(rc),
                    of_last_error_detail());
            w->failures++;
            continue;
        }
        test_stress_critical(w, l);
        rc = of_lock_release(l);
        if (rc != OF_OK) {
            fprintf(stderr, "worker %d: release: %s\n", w->id, of_status_name(rc));
            w->failures++;
        }
    }
    test_stress_worker_close(w);
    return NULL;
}

static int child(int proc, void *ctx)
{
    const test_stress *s = ctx;
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    if (rc != OF_OK) {
        fprintf(stderr, "child %d: create: %s\n", proc, of_status_name(rc));
        return 1;
    }
    long retries;
    int failures = test_stress_threads(s, p, proc, work, &retries);
    of_lock_provider_destroy(p);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    test_stress s = {.procs = 4, .threads = 2, .iterations = 150, .fd = {-1, -1, -1}};
    if (test_stress_args(&s, argc, argv, "") != 0)
        return 2;
    test_redis srv;
    if (test_redis_start(&srv, NULL, NULL) != 0)
        return 1;
    test_redis_url(&srv, 0, "?prefix=stress:", url, sizeof url);
    if (test_stress_files(&s, srv.dir) != 0) {
        test_redis_stop(&srv);
        return 1;
    }
    pid_t pids[TEST_STRESS_MAX_PROCS];
    test_stress_fork(&s, child, &s, pids);
    int failed = test_stress_wait(&s, pids);
    int64_t counter, lines;
    failed |= test_stress_verify(&s, &counter, &lines);
    printf("%d processes x %d threads x %d: counter %" PRId64 ", %" PRId64
           " fences strictly increasing: %s\n",
           s.procs, s.threads, s.iterations, counter, lines, failed ? "FAILED" : "ok");
    test_stress_close(&s);
    test_redis_stop(&srv);
    return failed;
}
