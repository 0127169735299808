/* Multi-process stress of the etcd provider on a private 3-member cluster (suite slow): PROCS
 * processes x THREADS threads contend on one name; inside the critical section each
 * reads-modifies-writes a shared file counter, checks and sets a holder marker, and appends its
 * fencing token to a log. With "kill-leader", the parent SIGKILLs the leader partway through and
 * restarts it later: acquires may then fail with UNKNOWN/UNAVAILABLE/TIMEOUT (retried), but never
 * overlap. Pass: zero overlaps, the counter equals the number of acquisitions, fences strictly
 * increase in log order, every worker finishes. Each child creates its own provider after fork().
 * usage: stress-lock-etcd procs threads iterations [kill-leader] */
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

#include "etcd-harness.h"

static int iterations = 40;
static char url[1024];
static char counter_path[256], holder_path[256], log_path[256];

typedef struct worker {
    of_lock_provider *p;
    int id;
    int failures;
    int faults; /* acquire/release answers caused by the injected fault */
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

static int is_fault(int rc)
{
    return rc == OF_ERR_UNKNOWN || rc == OF_ERR_UNAVAILABLE || rc == OF_ERR_TIMEOUT;
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
    o.ttl_ms = 3000;
    o.wait_ms = 20000;
    for (int i = 0; i < iterations;) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(w->p, "stress", 6, &o, &l);
        if (rc != OF_OK) {
            if (is_fault(rc) && w->faults < 50) {
                w->faults++;
                continue;
            }
            fprintf(stderr, "worker %d: acquire: %s (%s)\n", w->id, of_status_name(rc),
                    of_last_error_detail());
            w->failures++;
            i++;
            continue;
        }
        i++;
        if (read_i64(hfd) != 0) {
            fprintf(stderr, "worker %d: VIOLATION: another holder inside\n", w->id);
            w->failures++;
        }
        write_i64(hfd, w->id);
        int64_t c = read_i64(cfd);
        sched_yield();
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
        rc = of_lock_release(l);
        if (rc != OF_OK) {
            if (!is_fault(rc)) {
                fprintf(stderr, "worker %d: release: %s\n", w->id, of_status_name(rc));
                w->failures++;
            } else {
                w->faults++;
            }
        }
    }
    close(cfd);
    close(hfd);
    close(lfd);
    return NULL;
}

static int child(int proc, int threads)
{
    of_lock_provider *p = NULL;
    int rc = of_lock_etcd_create_url(url, &p);
    if (rc != OF_OK) {
        fprintf(stderr, "child %d: create: %s\n", proc, of_status_name(rc));
        return 1;
    }
    worker w[16];
    pthread_t th[16];
    for (int t = 0; t < threads; t++) {
        w[t] = (worker){p, proc * 100 + t + 1, 0, 0};
        pthread_create(&th[t], NULL, work, &w[t]);
    }
    int failures = 0, faults = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        failures += w[t].failures;
        faults += w[t].faults;
    }
    of_lock_provider_destroy(p);
    if (faults > 0)
        fprintf(stderr, "child %d: %d answers caused by the fault (retried)\n", proc, faults);
    return failures == 0 ? 0 : 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv)
{
    int procs = 3, threads = 2, kill_leader = 0;
    if (argc >= 4) {
        procs = atoi(argv[1]);
        threads = atoi(argv[2]);
        iterations = atoi(argv[3]);
        kill_leader = argc >= 5 && strcmp(argv[4], "kill-leader") == 0;
    }
    if (procs < 1 || procs > 64 || threads < 1 || threads > 16 || iterations < 1) {
        fprintf(stderr, "usage: %s procs(1..64) threads(1..16) iterations [kill-leader]\n", argv[0]);
        return 2;
    }
    test_etcd srv;
    if (test_etcd_start(&srv, 3) != 0)
        return 1;
    test_etcd_url(&srv, "/stress/?command_timeout_ms=1500", url, sizeof url);
    snprintf(counter_path, sizeof counter_path, "%s/counter", srv.dir);
    snprintf(holder_path, sizeof holder_path, "%s/holder", srv.dir);
    snprintf(log_path, sizeof log_path, "%s/fences", srv.dir);
    int fds[3] = {open(counter_path, O_RDWR | O_CREAT, 0600), open(holder_path, O_RDWR | O_CREAT, 0600),
                  open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0600)};
    if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || write_i64(fds[0], 0) || write_i64(fds[1], 0)) {
        perror("stress files");
        test_etcd_stop(&srv);
        return 1;
    }
    pid_t pids[64];
    for (int i = 0; i < procs; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(child(i, threads));
    }
    int failed = 0;
    if (kill_leader) {
        sleep_ms(1500);
        int leader = test_etcd_leader(&srv);
        if (leader < 0) {
            fprintf(stderr, "no leader to kill\n");
            failed = 1;
        } else {
            printf("killing leader m%d\n", leader);
            test_etcd_signal(&srv, leader, SIGKILL);
            sleep_ms(2000);
            if (test_etcd_restart(&srv, leader) != 0) {
                fprintf(stderr, "restart of m%d failed\n", leader);
                failed = 1;
            }
        }
    }
    for (int i = 0; i < procs; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "child %d failed (status 0x%x)\n", i, st);
            failed = 1;
        }
    }
    int64_t total = (int64_t)procs * threads * iterations;
    int64_t counter = read_i64(fds[0]);
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
    if (counter != lines || lines != total) {
        fprintf(stderr, "counter %" PRId64 ", %" PRId64 " fence lines, want %" PRId64 "\n",
                counter, lines, total);
        failed = 1;
    }
    printf("%d processes x %d threads x %d%s: counter %" PRId64 ", %" PRId64
           " fences strictly increasing: %s\n",
           procs, threads, iterations, kill_leader ? " (leader killed)" : "", counter, lines,
           failed ? "FAILED" : "ok");
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    test_etcd_stop(&srv);
    return failed;
}
