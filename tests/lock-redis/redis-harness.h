/* A private redis-server for tests and benchmarks: started on 127.0.0.1 with a free port chosen
 * at run time and a unix socket in its own temp dir (`--save '' --appendonly no`), stdio
 * redirected to a log file, ready once it answers PING, stopped by PID. Never uses port 6379 or
 * a system service. The server dies with the process that started it (PR_SET_PDEATHSIG), so a
 * crashed test leaves no server behind. */
#ifndef OPENFAULT_TESTS_REDIS_HARNESS_H
#define OPENFAULT_TESTS_REDIS_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "test-util.h" /* the clock, sleeping, test_count_fds() */

#define TEST_REDIS_MAX_EXTRA 24

typedef struct test_redis {
    pid_t pid;      /* 0 when not running */
    int port;       /* TCP port on 127.0.0.1 */
    char dir[128];  /* private temp dir (socket, log) */
    char sock[192]; /* unix socket path */
    char log[192];  /* server stdout/stderr */
    char password[64]; /* requirepass of the default user ("" = none), used by admin() */
    const char *extra[TEST_REDIS_MAX_EXTRA + 1]; /* extra server arguments, NULL-terminated */
    char cpu[16];   /* taskset CPU list for the server ("" = no pinning) */
} test_redis;

/* Start a server. @p extra: extra redis-server arguments (NULL-terminated, may be NULL; the
 * strings must outlive @p r); "--requirepass" "pw" there also sets r->password. @p cpu: pin the
 * server to this CPU list with taskset (NULL = no pinning). Returns 0, or -1 with a message on
 * stderr (e.g. redis-server not installed). */
int test_redis_start(test_redis *r, const char *const *extra, const char *cpu);

/* Start it again after a kill, on the same port, socket and dir (a fresh, empty server). */
int test_redis_restart(test_redis *r);

/* Send @p sig (SIGKILL reaps the process; SIGSTOP/SIGCONT just signal it). */
void test_redis_signal(test_redis *r, int sig);

/* Stop (SIGCONT, SIGTERM, then SIGKILL after 5 s), reap, remove the temp dir. Idempotent. */
void test_redis_stop(test_redis *r);

/* An admin connection over the unix socket (AUTH with r->password when set), 5 s timeouts;
 * NULL on failure. Free with redisFree. */
redisContext *test_redis_admin(const test_redis *r);

/* Run one admin command (printf-style hiredis format) on a fresh admin connection; returns the
 * reply (freeReplyObject) or NULL. */
redisReply *test_redis_cmd(const test_redis *r, const char *fmt, ...);

/* "redis://127.0.0.1:PORT" or "unix://PATH", then @p tail (may be NULL, e.g. "?prefix=x"). */
void test_redis_url(const test_redis *r, int unix_socket, const char *tail, char *buf,
                    size_t cap);

/* Start @p n servers with no extra arguments into r[0..n-1]; if one fails, the ones started are
 * stopped. 0 or -1. */
int test_redis_start_n(test_redis *r, int n);

/* PEXPIRE @p key (@p key_len bytes) to 1 ms on an admin connection and, when the server took it,
 * wait (up to ~1 s) until the key is gone: a lease lapses on the server behind a provider's
 * back. 0 when PEXPIRE answered 1, 1 when it did not (no such key), -1 with no connection. */
int test_redis_expire_now(const test_redis *r, const char *key, size_t key_len);

/* A tests/support/fault-proxy between the provider and a server (see `fault-proxy --help`):
 * started with a port file in its own temp dir, controlled over its control socket, stopped by
 * PID; it dies with the process that started it. */
typedef struct test_proxy {
    pid_t pid;     /* 0 when not running */
    int port;      /* clients connect here (127.0.0.1) */
    int ctl_port;  /* control socket */
    int ctl_fd;    /* open control connection, -1 when none */
    char dir[128]; /* temp dir of the port file */
} test_proxy;

/* Start @p prog (path of fault-proxy) forwarding to 127.0.0.1:@p target_port in pass mode.
 * 0, or -1 with a message on stderr. */
int test_proxy_start(test_proxy *p, const char *prog, int target_port);

/* Send one control command (e.g. "trickle 150", "pass", "blackhole") and wait for its answer;
 * 0 when it was "ok ...", else -1 with the answer on stderr. */
int test_proxy_mode(test_proxy *p, const char *cmd);

/* As test_proxy_mode(), and the state the proxy answered ("mode=... c2s=N ...", see fault-proxy
 * usage) into @p state (@p cap bytes, NUL-terminated). */
int test_proxy_query(test_proxy *p, const char *cmd, char *state, size_t cap);

/* Stop (SIGTERM, then SIGKILL after 5 s), reap, remove the temp dir. Idempotent. */
void test_proxy_stop(test_proxy *p);

#endif
