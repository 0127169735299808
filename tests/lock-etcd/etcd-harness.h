/* Private etcd members for tests and benchmarks: a 1..3-member cluster on 127.0.0.1 with client
 * and peer ports chosen at run time (never 2379/2380), data in its own temp dir, fast elections
 * (heartbeat 50 ms, election 500 ms), no fsync; stdio to a log file per member; each member dies
 * with the process that started it (PR_SET_PDEATHSIG) and is stopped by PID. Admin requests go
 * to the JSON gateway with libcurl and jansson. */
#ifndef OPENFAULT_TESTS_ETCD_HARNESS_H
#define OPENFAULT_TESTS_ETCD_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "test-util.h" /* the clock, sleeping, test_count_fds() */

#define TEST_ETCD_MAX 3

typedef struct test_etcd_member {
    pid_t pid;  /* 0 when not running */
    int client_port;
    int peer_port;
    char name[16];
    char data[192];
    char log[192];
} test_etcd_member;

typedef struct test_etcd {
    int n;
    test_etcd_member m[TEST_ETCD_MAX];
    char dir[128];
    char cluster[512];    /* --initial-cluster */
    char token[256];      /* admin auth token once auth is on ("" = none) */
    char admin_pw[128];   /* root's password once auth is on: a restart needs a fresh token */
} test_etcd;

/* Start @p members (1..3) members and wait until the cluster has a leader and takes writes.
 * Returns 0, or -1 with a message on stderr (e.g. etcd not installed). */
int test_etcd_start(test_etcd *e, int members);

/* Stop every member (SIGCONT, SIGTERM, SIGKILL after 5 s), reap, remove the temp dir. */
void test_etcd_stop(test_etcd *e);

/* Send @p sig to member @p i (SIGKILL also reaps it; SIGSTOP returns once every thread has
 * stopped). */
void test_etcd_signal(test_etcd *e, int i, int sig);

/* Start member @p i again on its ports and data dir (after a kill); 0 once it answers. With auth
 * on, the admin token is fetched again (a member keeps simple tokens in memory only). */
int test_etcd_restart(test_etcd *e, int i);

/* Index of the current leader as seen by the running members, or -1. */
int test_etcd_leader(test_etcd *e);

/* Wait up to @p ms until some running member answers a linearizable write; 0 or -1. */
int test_etcd_wait_writable(test_etcd *e, int ms);

/* "etcd://127.0.0.1:P1,127.0.0.1:P2,..." then @p tail (e.g. "/prefix/?command_timeout_ms=2000"). */
void test_etcd_url(const test_etcd *e, const char *tail, char *buf, size_t cap);

/* POST @p body (JSON text) to @p path on member @p i (-1: the first that answers), 5 s timeout;
 * returns the reply (json_decref) or NULL. */
json_t *test_etcd_post(test_etcd *e, int i, const char *path, const char *body);

/* Create user root with @p password, grant it the root role and enable auth; admin requests then
 * authenticate as root. 0 or -1. */
int test_etcd_enable_auth(test_etcd *e, const char *password);

/* With auth on: switch auth off and on again, which drops every auth token the cluster gave out
 * (a client's next request is refused with "invalid auth token"); the harness fetches its own
 * again. 0 or -1. */
int test_etcd_drop_tokens(test_etcd *e);

/* Revoke the lease of the key whose base64 form is @p key_b64 (the key goes with it): the lease
 * "runs out" now. 0, or -1 if there is no such key or the revoke failed. */
int test_etcd_lapse(test_etcd *e, const char *key_b64);

#endif
