/* Multi-process stress of the etcd provider on a private 3-member cluster (suite slow): PROCS
 * processes x THREADS threads contend on one name; inside the critical section each
 * reads-modifies-writes a shared file counter, checks and sets a holder marker, and appends its
 * fencing token to a log. With "kill-leader", the parent SIGKILLs the leader partway through and
 * restarts it later: acquires may then fail with UNKNOWN/UNAVAILABLE/TIMEOUT (retried), but never
 * overlap. Pass: zero overlaps, the counter equals the number of acquisitions, fences strictly
 * increase in log order, every worker finishes. Each child creates its own provider after fork().
 * usage: stress-lock-etcd procs threads iterations [kill-leader] */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <openfault/openfault.h>

#include "etcd-harness.h"
#include "stress.h"

static char url[1024];

static int is_fault(int rc)
{
    return rc == OF_ERR_UNKNOWN || rc == OF_ERR_UNAVAILABLE || rc == OF_ERR_TIMEOUT;
}

static void *work(void *arg)
{
    test_stress_worker *w = arg; /* w->retries: answers caused by the injected fault */
    if (test_stress_worker_open(w) != 0)
        return NULL;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 3000;
    o.wait_ms = 20000;
    for (int i = 0; i < w->s->iterations;) {
        of_lock *l = NULL;
        int rc = of_lock_acquire(w->p, "stress", 6, &o, &l);
        if (rc != OF_OK) {
            if (is_fault(rc) && w->retries < 50) {
                w->retries++;
                continue;
            }
            fprintf(stderr, "worker %d: acquire: %s (%s)\n", w->id, of_status_name(rc),
                    of_last_error_detail());
            w->failures++;
            i++;
            continue;
        }
        i++;
        test_stress_critical(w, l);
        rc = of_lock_release(l);
        if (rc != OF_OK) {
            if (!is_fault(rc)) {
                fprintf(stderr, "worker %d: release: %s\n", w->id, of_status_name(rc));
                w->failures++;
            } else {
                w->retries++;
            }
        }
    }
    test_stress_worker_close(w);
    return NULL;
}

static int child(int proc, void *ctx)
{
    const test_stress *s = ctx;
    of_lock_provider *p = NULL;
    int rc = of_lock_etcd_create_url(url, &p);
    if (rc != OF_OK) {
        fprintf(stderr, "child %d: create: %s\n", proc, of_status_name(rc));
        return 1;
    }
    long faults;
    int failures = test_stress_threads(s, p, proc, work, &faults);
    of_lock_provider_destroy(p);
    if (faults > 0)
        fprintf(stderr, "child %d: %ld answers caused by the fault (retried)\n", proc, faults);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    test_stress s = {.procs = 3, .threads = 2, .iterations = 40, .fd = {-1, -1, -1}};
    if (test_stress_args(&s, argc, argv, " [kill-leader]") != 0)
        return 2;
    int kill_leader = argc >= 5 && strcmp(argv[4], "kill-leader") == 0;
    test_etcd srv;
    if (test_etcd_start(&srv, 3) != 0)
        return 1;
    test_etcd_url(&srv, "/stress/?command_timeout_ms=1500", url, sizeof url);
    if (test_stress_files(&s, srv.dir) != 0) {
        test_etcd_stop(&srv);
        return 1;
    }
    pid_t pids[TEST_STRESS_MAX_PROCS];
    test_stress_fork(&s, child, &s, pids);
    int failed = 0;
    if (kill_leader) {
        test_sleep_ms(1500);
        int leader = test_etcd_leader(&srv);
        if (leader < 0) {
            fprintf(stderr, "no leader to kill\n");
            failed = 1;
        } else {
            printf("killing leader m%d\n", leader);
            test_etcd_signal(&srv, leader, SIGKILL);
            test_sleep_ms(2000);
            if (test_etcd_restart(&srv, leader) != 0) {
                fprintf(stderr, "restart of m%d failed\n", leader);
                failed = 1;
            }
        }
    }
    failed |= test_stress_wait(&s, pids);
    int64_t counter, lines;
    failed |= test_stress_verify(&s, &counter, &lines);
    printf("%d processes x %d threads x %d%s: counter %" PRId64 ", %" PRId64
           " fences strictly increasing: %s\n",
           s.procs, s.threads, s.iterations, kill_leader ? " (leader killed)" : "", counter,
           lines, failed ? "FAILED" : "ok");
    test_stress_close(&s);
    test_etcd_stop(&srv);
    return failed;
}
