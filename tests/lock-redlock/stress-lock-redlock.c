/* Multi-process stress of the Redlock provider over 3 private servers (suite slow): PROCS
 * processes x THREADS threads contend on one name; inside the critical section each
 * reads-modifies-writes a shared file counter, checks and sets a holder marker, and appends its
 * fencing token to a log. Meanwhile the parent kills one server at a time (SIGKILL, no
 * persistence) and restarts it no sooner than the maximum TTL later (the delayed-restart rule),
 * round-robin, until the workers finish. Pass: zero overlaps, the counter equals the number of
 * acquisitions, fences strictly increase in log order. Each child creates its own provider after
 * fork() (DESIGN.md). Exit status 0 = pass.
 * usage: stress-lock-redlock [procs threads iterations] */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "redis-harness.h"

#define TTL_MS 2000u
static int iterations = 100;
static char list[1024];
static char counter_path[256], holder_path[256], log_path[256];

typedef struct worker {
    of_lock_provider *p;
    int id;
    int failures;
    long retries_unknown;
} worker;

static int64_t read_i64(int fd)
{
    int64_t v = 0;
    if (pread(fd, &v, sizeof v, 0) != (ssize_t)sizeof v)
        return -1;
    return v;
}

static int write_i64(int fd, int64_t v)
{
    return pwrite(fd, &v, sizeof v, 0) == (ssize_t)sizeof v ? 0 : -1;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    int cfd = open(counter_path, O_RDWR);
    int hfd = open(holder_path, O_RDWR);
    int lfd = open(log_path, O_WRONLY | O_APPEND);
    if (cfd < 0 || hfd < 0 || lfd < 0) {
        w->failures++;
        return NULL;
    }
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = TTL_MS;
    o.wait_ms = 60000;
    for (int i = 0; i < iterations; i++) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(w->p, "stress", 6, &o, &l);
        if (rc == OF_ERR_UNKNOWN) {
            /* A server died with our request in flight and the rest did not make a quorum
             * for us: documented, the engine cleans up; try this iteration again. */
            w->retries_unknown++;
            i--;
            continue;
        }
        if (rc != OF_OK) {
            fprintf(stderr, "worker %d: acquire: %s (%s)\n", w->id, of_status_name(rc),
                    of_last_error_detail());
            w->failures++;
            continue;
        }
        if (read_i64(hfd) != 0) {
            fprintf(stderr, "worker %d: VIOLATION: another holder inside\n", w->id);
            w->failures++;
        }
        write_i64(hfd, w->id);
        int64_t c = read_i64(cfd);
        sched_yield(); /* widen the read-modify-write window */
        write_i64(cfd, c + 1);
        uint64_t fence = 0;
        of_lock_fence(l, &fence);
        char line[64];
        int n = snprintf(line, sizeof line, "%" PRIu64 " %d\n", fence, w->id);
        if (write(lfd, line, (size_t)n) != n)
            w->failures++;
        if (read_i64(hfd) != w->id) {
            fprintf(stderr, "worker %d: VIOLATION: holder changed under us\n", w->id);
            w->failures++;
        }
        write_i64(hfd, 0);
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
    close(cfd);
    close(hfd);
    close(lfd);
    return NULL;
}

static int child(int proc, int threads)
{
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
    worker w[16];
    pthread_t th[16];
    for (int t = 0; t < threads; t++) {
        w[t] = (worker){p, proc * 100 + t + 1, 0, 0};
        pthread_create(&th[t], NULL, work, &w[t]);
    }
    int failures = 0;
    long unknown = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        failures += w[t].failures;
        unknown += w[t].retries_unknown;
    }
    if (unknown > 0)
        fprintf(stderr, "child %d: %ld acquisitions answered UNKNOWN (retried)\n", proc, unknown);
    of_lock_provider_destroy(p);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int procs = 4, threads = 2;
    if (argc == 4) {
        procs = atoi(argv[1]);
        threads = atoi(argv[2]);
        iterations = atoi(argv[3]);
    }
    if (procs < 1 || procs > 64 || threads < 1 || threads > 16 || iterations < 1) {
        fprintf(stderr, "usage: %s [procs(1..64) threads(1..16) iterations]\n", argv[0]);
        return 2;
    }
    test_redis srv[3];
    for (int i = 0; i < 3; i++) {
        if (test_redis_start(&srv[i], NULL, NULL) != 0) {
            for (int j = 0; j < i; j++)
                test_redis_stop(&srv[j]);
            return 1;
        }
    }
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        char url[256];
        test_redis_url(&srv[i], 0, "?prefix=stress:", url, sizeof url);
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? "," : "", url);
    }
    snprintf(counter_path, sizeof counter_path, "%s/counter", srv[0].dir);
    snprintf(holder_path, sizeof holder_path, "%s/holder", srv[0].dir);
    snprintf(log_path, sizeof log_path, "%s/fences", srv[0].dir);
    int fds[3] = {open(counter_path, O_RDWR | O_CREAT, 0600),
                  open(holder_path, O_RDWR | O_CREAT, 0600),
                  open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0600)};
    if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || write_i64(fds[0], 0) || write_i64(fds[1], 0)) {
        perror("stress files");
        for (int i = 0; i < 3; i++)
            test_redis_stop(&srv[i]);
        return 1;
    }
    int64_t t_start = of_clock_monotonic_ns();
    pid_t pids[64];
    for (int i = 0; i < procs; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(child(i, threads));
    }
    /* Chaos: kill one server, keep it down for the TTL (plus drift), restart it; next one. */
    int failed = 0, running = procs, kills = 0, victim = 1;
    int st[64] = {0};
    int done[64] = {0};
    while (running > 0) {
        sleep_ms(300);
        for (int i = 0; i < procs; i++) {
            if (!done[i] && waitpid(pids[i], &st[i], WNOHANG) == pids[i]) {
                done[i] = 1;
                running--;
            }
        }
        if (running == 0)
            break;
        test_redis_signal(&srv[victim], SIGKILL);
        kills++;
        sleep_ms(TTL_MS + TTL_MS / 100 + 2 + 100);
        if (test_redis_restart(&srv[victim]) != 0) {
            fprintf(stderr, "restart of server %d failed\n", victim);
            failed = 1;
            break;
        }
        victim = (victim + 1) % 3;
    }
    for (int i = 0; i < procs; i++) {
        if (!done[i])
            waitpid(pids[i], &st[i], 0);
        if (!WIFEXITED(st[i]) || WEXITSTATUS(st[i]) != 0) {
            fprintf(stderr, "child %d failed (status 0x%x)\n", i, st[i]);
            failed = 1;
        }
    }
    double secs = (double)(of_clock_monotonic_ns() - t_start) / 1e9;
    int64_t total = (int64_t)procs * threads * iterations;
    int64_t counter = read_i64(fds[0]);
    if (counter != total) {
        fprintf(stderr, "counter %" PRId64 ", want %" PRId64 "\n", counter, total);
        failed = 1;
    }
    FILE *f = fopen(log_path, "r");
    uint64_t prev = 0, fence;
    int id;
    int64_t lines = 0;
    while (f != NULL && fscanf(f, "%" SCNu64 " %d", &fence, &id) == 2) {
        if (fence <= prev) {
            fprintf(stderr, "line %" PRId64 ": fence %" PRIu64 " after %" PRIu64 "\n", lines + 1,
                    fence, prev);
            failed = 1;
        }
        prev = fence;
        lines++;
    }
    if (f != NULL)
        fclose(f);
    if (lines != total) {
        fprintf(stderr, "%" PRId64 " fence lines, want %" PRId64 "\n", lines, total);
        failed = 1;
    }
    printf("redlock, 3 servers, %d processes x %d threads x %d in %.1f s (%.0f pairs/s), %d "
           "kill+restart cycles (down >= %u ms each): counter %" PRId64 ", %" PRId64
           " fences strictly increasing: %s\n",
           procs, threads, iterations, secs, (double)total / secs, kills, TTL_MS, counter, lines,
           failed ? "FAILED" : "ok");
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    for (int i = 0; i < 3; i++)
        test_redis_stop(&srv[i]);
    return failed;
}
