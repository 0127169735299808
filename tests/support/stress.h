/* The machinery of the multi-process lock stress programs (stress-lock-redis, -redlock, -etcd):
 * PROCS forked processes x THREADS threads contend on one lock; inside the critical section each
 * reads-modifies-writes a shared file counter, checks and sets a holder marker, and appends its
 * fencing token to a log. Afterwards: the counter equals the number of acquisitions, the log has
 * that many lines and its fences strictly increase. What differs between providers (creating a
 * provider, which acquire and release answers a fault excuses, a chaos loop in the parent) stays
 * in each program. */
#ifndef OPENFAULT_TESTS_STRESS_H
#define OPENFAULT_TESTS_STRESS_H

#include <stdint.h>
#include <sys/types.h>

#include <openfault/lock.h>

#define TEST_STRESS_MAX_PROCS 64
#define TEST_STRESS_MAX_THREADS 16

/* The shared files, created by the parent before fork(). */
typedef struct test_stress {
    int procs, threads, iterations;
    char counter_path[256], holder_path[256], log_path[256];
    int fd[3]; /* the parent's: counter, holder, log */
} test_stress;

/* One worker thread: its provider (one per process), its id (unique across processes) and its
 * own descriptors of the shared files. */
typedef struct test_stress_worker {
    const test_stress *s;
    of_lock_provider *p;
    int id;
    int failures;
    long retries; /* answers a fault excused (the program says which), retried */
    int cfd, hfd, lfd;
} test_stress_worker;

/* Reads "procs threads iterations" from argv[1..3] when argc >= 4 (else the defaults already in
 * @p s), checks procs 1..64, threads 1..16, iterations >= 1. 0, or -1 after a usage line naming
 * @p extra_usage (may be ""). */
int test_stress_args(test_stress *s, int argc, char **argv, const char *extra_usage);

/* Create the counter (0), the holder marker (0) and an empty fence log in @p dir. 0, or -1 after
 * perror(). */
int test_stress_files(test_stress *s, const char *dir);

/* Close the parent's descriptors. */
void test_stress_close(test_stress *s);

/* A worker's body: open its descriptors (a failure counts and returns -1), and close them. */
int test_stress_worker_open(test_stress_worker *w);
void test_stress_worker_close(test_stress_worker *w);

/* The critical section under the lock @p l: the holder marker must be 0, becomes the worker's
 * id, the counter goes up by one across a sched_yield() (a lost update shows as a short
 * count), the fence goes to the log, and the marker must still be the worker's id before it is
 * reset. Every check that fails counts in w->failures with a VIOLATION line on stderr. */
void test_stress_critical(test_stress_worker *w, of_lock *l);

/* In a child: s->threads threads running @p body on workers sharing @p p, ids proc*100+t+1;
 * joined. Returns the failures summed, the retries summed in @p out_retries. */
int test_stress_threads(const test_stress *s, of_lock_provider *p, int proc,
                        void *(*body)(void *), long *out_retries);

/* Fork s->procs children; child i exits with @p child(i, ctx). PIDs into @p pids. */
void test_stress_fork(const test_stress *s, int (*child)(int proc, void *ctx), void *ctx,
                      pid_t *pids);

/* 1 (after a line on stderr) unless @p status is a clean exit 0 of child @p i. */
int test_stress_child_failed(int i, int status);

/* Wait for every child: 1 if any failed, else 0. */
int test_stress_wait(const test_stress *s, const pid_t *pids);

/* The final checks: the counter and the fence lines both equal procs x threads x iterations,
 * fences strictly increase in log order. 1 (after lines on stderr) on any failure, else 0; the
 * counter and the line count into @p out_counter and @p out_lines for the summary. */
int test_stress_verify(const test_stress *s, int64_t *out_counter, int64_t *out_lines);

#endif
