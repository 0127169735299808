/* Multi-process stress of the Redlock provider over 3 private servers (suite slow): PROCS
 * processes x THREADS threads contend on one name; inside the critical section each
 * reads-modifies-writes a shared file counter, checks and sets a holder marker, and appends its
 * fencing token to a log. Meanwhile the parent kills one server at a time (SIGKILL, no
 * persistence) and restarts it no sooner than the maximum TTL later (the delayed-restart rule),
 * round-robin, until the workers finish. Pass: zero overlaps, the counter equals the number of
 * acquisitions, fences strictly increase in log order. Each child creates its own provider after
 * fork() (DESIGN.md). Exit status 0 = pass.
 * usage: stress-lock-redlock [procs threads iterations] */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <openfault/openfault.h>

#include "redis-harness.h"
#include "stress.h"

#define TTL_MS 2000u
static char list[1024];

static void *work(void *arg)
{
    test_stress_worker *w = arg;
    if (test_stress_worker_open(w) != 0)
        return NULL;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = TTL_MS;
    o.wait_ms = 60000;
    for (int i = 0; i < w->s->iterations; i++) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(w->p, "stress", 6, &o, &l);
        if (rc == OF_ERR_UNKNOWN) {
            /* A server died with our request in flight and the rest did not make a quorum
             * for us: documented, the engine cleans up; try this iteration again. */
            w->retries++;
            i--;
            continue;
        }
        if (rc != OF_OK) {
            fprintf(stderr, "worker %d: acquire: %s (%s)\n", w->id, of_status_name(rc),
                    of_last_error_detail());
            w->failures++;
            continue;
        }
        test_stress_critical(w, l);
        if (of_lock_valid_until_ns(l) <= of_clock_monotonic_ns()) {
            fprintf(stderr, "worker %d: lease ran out inside the critical section\n", w->id);
            w->failures++;
        }
        rc = of_lock_release(l);
        /* UNKNOWN/UNAVAILABLE: a server died during the release; the engine retries it. */
        if (rc != OF_OK && rc != OF_ERR_UNKNOWN && rc != OF_ERR_UNAVAILABLE) {
            fprintf(stderr, "worker %d: release: %s (%s)\n", w->id, of_status_name(rc),
                    of_last_error_detail());
            w->failures++;
        }
    }
    test_stress_worker_close(w);
    return NULL;
}

static int child(int proc, void *ctx)
{
    const test_stress *s = ctx;
    of_lock_redlock_options ro;
    of_lock_redlock_options_init(&ro, sizeof ro);
    ro.connect_timeout_ms = 200;
    ro.command_timeout_ms = 200;
    of_lock_provider *p = NULL;
    int rc = of_lock_redlock_create_list(list, &ro, &p);
    if (rc != OF_OK) {
        fprintf(stderr, "child %d: create: %s (%s)\n", proc, of_status_name(rc),
                of_last_error_detail());
        return 1;
    }
    long unknown;
    int failures = test_stress_threads(s, p, proc, work, &unknown);
    if (unknown > 0)
        fprintf(stderr, "child %d: %ld acquisitions answered UNKNOWN (retried)\n", proc, unknown);
    of_lock_provider_destroy(p);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    test_stress s = {.procs = 4, .threads = 2, .iterations = 100, .fd = {-1, -1, -1}};
    if (test_stress_args(&s, argc, argv, "") != 0)
        return 2;
    test_redis srv[3];
    if (test_redis_start_n(srv, 3) != 0)
        return 1;
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        char url[256];
        test_redis_url(&srv[i], 0, "?prefix=stress:", url, sizeof url);
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? "," : "", url);
    }
    if (test_stress_files(&s, srv[0].dir) != 0) {
        for (int i = 0; i < 3; i++)
            test_redis_stop(&srv[i]);
        return 1;
    }
    int64_t t_start = of_clock_monotonic_ns();
    pid_t pids[TEST_STRESS_MAX_PROCS];
    test_stress_fork(&s, child, &s, pids);
    /* Chaos: kill one server, keep it down for the TTL (plus drift), restart it; next one. */
    int failed = 0, running = s.procs, kills = 0, victim = 1;
    int st[TEST_STRESS_MAX_PROCS] = {0};
    int done[TEST_STRESS_MAX_PROCS] = {0};
    while (running > 0) {
        test_sleep_ms(300);
        for (int i = 0; i < s.procs; i++) {
            if (!done[i] && waitpid(pids[i], &st[i], WNOHANG) == pids[i]) {
                done[i] = 1;
                running--;
            }
        }
        if (running == 0)
            break;
        test_redis_signal(&srv[victim], SIGKILL);
        kills++;
        test_sleep_ms(TTL_MS + TTL_MS / 100 + 2 + 100);
        if (test_redis_restart(&srv[victim]) != 0) {
            fprintf(stderr, "restart of server %d failed\n", victim);
            failed = 1;
            break;
        }
        victim = (victim + 1) % 3;
    }
    for (int i = 0; i < s.procs; i++) {
        if (!done[i])
            waitpid(pids[i], &st[i], 0);
        failed |= test_stress_child_failed(i, st[i]);
    }
    double secs = (double)(of_clock_monotonic_ns() - t_start) / 1e9;
    int64_t total = (int64_t)s.procs * s.threads * s.iterations;
    int64_t counter, lines;
    failed |= test_stress_verify(&s, &counter, &lines);
    printf("redlock, 3 servers, %d processes x %d threads x %d in %.1f s (%.0f pairs/s), %d "
           "kill+restart cycles (down >= %u ms each): counter %" PRId64 ", %" PRId64
           " fences strictly increasing: %s\n",
           s.procs, s.threads, s.iterations, secs, (double)total / secs, kills, TTL_MS, counter,
           lines, failed ? "FAILED" : "ok");
    test_stress_close(&s);
    for (int i = 0; i < 3; i++)
        test_redis_stop(&srv[i]);
    return failed;
}
