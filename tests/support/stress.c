/* The lock stress machinery (see stress.h). */
#include "stress.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

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

int test_stress_args(test_stress *s, int argc, char **argv, const char *extra_usage)
{
    if (argc >= 4) {
        s->procs = atoi(argv[1]);
        s->threads = atoi(argv[2]);
        s->iterations = atoi(argv[3]);
    }
    if (s->procs < 1 || s->procs > TEST_STRESS_MAX_PROCS || s->threads < 1 ||
        s->threads > TEST_STRESS_MAX_THREADS || s->iterations < 1) {
        fprintf(stderr, "usage: %s [procs(1..64) threads(1..16) iterations]%s\n", argv[0],
                extra_usage);
        return -1;
    }
    return 0;
}

int test_stress_files(test_stress *s, const char *dir)
{
    snprintf(s->counter_path, sizeof s->counter_path, "%s/counter", dir);
    snprintf(s->holder_path, sizeof s->holder_path, "%s/holder", dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/fences", dir);
    s->fd[0] = open(s->counter_path, O_RDWR | O_CREAT, 0600);
    s->fd[1] = open(s->holder_path, O_RDWR | O_CREAT, 0600);
    s->fd[2] = open(s->log_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (s->fd[0] < 0 || s->fd[1] < 0 || s->fd[2] < 0 || write_i64(s->fd[0], 0) ||
        write_i64(s->fd[1], 0)) {
        perror("stress files");
        test_stress_close(s);
        return -1;
    }
    return 0;
}

void test_stress_close(test_stress *s)
{
    for (int i = 0; i < 3; i++) {
        if (s->fd[i] >= 0)
            close(s->fd[i]);
        s->fd[i] = -1;
    }
}

int test_stress_worker_open(test_stress_worker *w)
{
    w->cfd = open(w->s->counter_path, O_RDWR);
    w->hfd = open(w->s->holder_path, O_RDWR);
    w->lfd = open(w->s->log_path, O_WRONLY | O_APPEND);
    if (w->cfd < 0 || w->hfd < 0 || w->lfd < 0) {
        w->failures++;
        test_stress_worker_close(w);
        return -1;
    }
    return 0;
}

void test_stress_worker_close(test_stress_worker *w)
{
    int *fds[3] = {&w->cfd, &w->hfd, &w->lfd};
    for (int i = 0; i < 3; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

void test_stress_critical(test_stress_worker *w, of_lock *l)
{
    if (read_i64(w->hfd) != 0) {
        fprintf(stderr, "worker %d: VIOLATION: another holder inside\n", w->id);
        w->failures++;
    }
    write_i64(w->hfd, w->id);
    int64_t c = read_i64(w->cfd);
    sched_yield(); /* widen the read-modify-write window */
    write_i64(w->cfd, c + 1);
    uint64_t fence = 0;
    of_lock_fence(l, &fence);
    char line[64];
    int n = snprintf(line, sizeof line, "%" PRIu64 " %d\n", fence, w->id);
    if (write(w->lfd, line, (size_t)n) != n)
        w->failures++;
    if (read_i64(w->hfd) != w->id) {
        fprintf(stderr, "worker %d: VIOLATION: holder changed under us\n", w->id);
        w->failures++;
    }
    write_i64(w->hfd, 0);
}

int test_stress_threads(const test_stress *s, of_lock_provider *p, int proc,
                        void *(*body)(void *), long *out_retries)
{
    test_stress_worker w[TEST_STRESS_MAX_THREADS];
    pthread_t th[TEST_STRESS_MAX_THREADS];
    int failures = 0, started = 0;
    for (int t = 0; t < s->threads; t++) {
        w[t] = (test_stress_worker){s, p, proc * 100 + t + 1, 0, 0, -1, -1, -1};
        if (pthread_create(&th[t], NULL, body, &w[t]) != 0) {
            fprintf(stderr, "child %d: pthread_create failed\n", proc);
            failures++;
            break;
        }
        started++;
    }
    long retries = 0;
    for (int t = 0; t < started; t++) {
        pthread_join(th[t], NULL);
        failures += w[t].failures;
        retries += w[t].retries;
    }
    *out_retries = retries;
    return failures;
}

void test_stress_fork(const test_stress *s, int (*child)(int proc, void *ctx), void *ctx,
                      pid_t *pids)
{
    for (int i = 0; i < s->procs; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(child(i, ctx));
    }
}

int test_stress_child_failed(int i, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "child %d failed (status 0x%x)\n", i, status);
    return 1;
}

int test_stress_wait(const test_stress *s, const pid_t *pids)
{
    int failed = 0;
    for (int i = 0; i < s->procs; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        failed |= test_stress_child_failed(i, st);
    }
    return failed;
}

int test_stress_verify(const test_stress *s, int64_t *out_counter, int64_t *out_lines)
{
    int failed = 0;
    int64_t total = (int64_t)s->procs * s->threads * s->iterations;
    int64_t counter = read_i64(s->fd[0]);
    if (counter != total) {
        fprintf(stderr, "counter %" PRId64 ", want %" PRId64 "\n", counter, total);
        failed = 1;
    }
    FILE *f = fopen(s->log_path, "r");
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
    *out_counter = counter;
    *out_lines = lines;
    return failed;
}
