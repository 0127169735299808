/* Private redis-server for tests (see redis-harness.h). */
#include "redis-harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int spawn_server(test_redis *r)
{
    char exe[512], taskset[512], portbuf[16];
    if (test_find_program("redis-server", exe, sizeof exe) != 0) {
        fprintf(stderr, "redis-harness: redis-server not found on PATH\n");
        return -1;
    }
    int pin = r->cpu[0] != '\0';
    if (pin && test_find_program("taskset", taskset, sizeof taskset) != 0) {
        fprintf(stderr, "redis-harness: taskset not found on PATH\n");
        return -1;
    }
    snprintf(portbuf, sizeof portbuf, "%d", r->port);
    const char *argv[64];
    int n = 0;
    if (pin) {
        argv[n++] = taskset;
        argv[n++] = "-c";
        argv[n++] = r->cpu;
    }
    argv[n++] = exe;
    const char *base[] = {"--port", portbuf, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", r->dir, "--unixsocket", r->sock,
                          "--unixsocketperm", "700", "--daemonize", "no", "--logfile", "",
                          "--databases", "16"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = base[i];
    for (int i = 0; r->extra[i] != NULL && n < 62; i++)
        argv[n++] = r->extra[i];
    argv[n] = NULL;

    return test_spawn("redis-harness", argv, r->log, &r->pid);
}

/* Wait until the server answers PING over its socket; -1 if it exited or took > 10 s. */
static int wait_ready(test_redis *r)
{
    for (int i = 0; i < 1000; i++) {
        if (test_exited(r->pid)) {
            r->pid = 0;
            return -1;
        }
        struct timeval tv = {1, 0};
        redisContext *c = redisConnectUnixWithTimeout(r->sock, tv);
        if (c != NULL && c->err == 0) {
            redisSetTimeout(c, tv);
            redisReply *rep = redisCommand(c, "PING");
            int ok = rep != NULL && (rep->type == REDIS_REPLY_STATUS ||
                                     (rep->type == REDIS_REPLY_ERROR &&
                                      strncmp(rep->str, "LOADING", 7) != 0));
            if (rep != NULL)
                freeReplyObject(rep);
            redisFree(c);
            if (ok)
                return 0;
        } else if (c != NULL) {
            redisFree(c);
        }
        test_sleep_ms(10);
    }
    return -1;
}

int test_redis_start(test_redis *r, const char *const *extra, const char *cpu)
{
    memset(r, 0, sizeof *r);
    int n = 0;
    for (; extra != NULL && extra[n] != NULL && n < TEST_REDIS_MAX_EXTRA; n++) {
        r->extra[n] = extra[n];
        if (strcmp(extra[n], "--requirepass") == 0 && extra[n + 1] != NULL)
            snprintf(r->password, sizeof r->password, "%s", extra[n + 1]);
    }
    r->extra[n] = NULL;
    if (cpu != NULL)
        snprintf(r->cpu, sizeof r->cpu, "%s", cpu);
    snprintf(r->dir, sizeof r->dir, "/tmp/of-redis-XXXXXX");
    if (mkdtemp(r->dir) == NULL) {
        fprintf(stderr, "redis-harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(r->sock, sizeof r->sock, "%s/redis.sock", r->dir);
    snprintf(r->log, sizeof r->log, "%s/redis.log", r->dir);
    for (int attempt = 0; attempt < 8; attempt++) {
        r->port = test_free_port();
        if (r->port <= 0)
            continue;
        if (spawn_server(r) != 0)
            break;
        if (wait_ready(r) == 0)
            return 0;
        if (r->pid != 0) { /* running but not answering: give up on it */
            test_kill_reap(r->pid);
            r->pid = 0;
        }
    }
    fprintf(stderr, "redis-harness: redis-server did not start (log: %s)\n", r->log);
    test_redis_stop(r);
    return -1;
}

int test_redis_start_n(test_redis *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (test_redis_start(&r[i], NULL, NULL) != 0) {
            for (int j = 0; j < i; j++)
                test_redis_stop(&r[j]);
            return -1;
        }
    }
    return 0;
}

int test_redis_restart(test_redis *r)
{
    if (r->pid != 0)
        return -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (spawn_server(r) != 0)
            return -1;
        if (wait_ready(r) == 0)
            return 0;
        if (r->pid != 0) {
            test_kill_reap(r->pid);
            r->pid = 0;
        }
        test_sleep_ms(100);
    }
    fprintf(stderr, "redis-harness: restart on port %d failed (log: %s)\n", r->port, r->log);
    return -1;
}

void test_redis_signal(test_redis *r, int sig)
{
    if (r->pid == 0)
        return;
    kill(r->pid, sig);
    if (sig == SIGKILL) {
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

void test_redis_stop(test_redis *r)
{
    if (r->pid != 0) {
        test_stop_pid(r->pid);
        r->pid = 0;
    }
    if (r->dir[0] != '\0') {
        test_remove_tree(r->dir);
        r->dir[0] = '\0';
    }
}

redisContext *test_redis_admin(const test_redis *r)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectUnixWithTimeout(r->sock, tv);
    if (c == NULL)
        return NULL;
    if (c->err) {
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (r->password[0] != '\0') {
        redisReply *rep = redisCommand(c, "AUTH %s", r->password);
        int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
        if (rep != NULL)
            freeReplyObject(rep);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

redisReply *test_redis_cmd(const test_redis *r, const char *fmt, ...)
{
    redisContext *c = test_redis_admin(r);
    if (c == NULL)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return rep;
}

void test_redis_url(const test_redis *r, int unix_socket, const char *tail, char *buf,
                    size_t cap)
{
    if (unix_socket)
        snprintf(buf, cap, "unix://%s%s", r->sock, tail != NULL ? tail : "");
    else
        snprintf(buf, cap, "redis://127.0.0.1:%d%s", r->port, tail != NULL ? tail : "");
}

int test_redis_expire_now(const test_redis *r, const char *key, size_t key_len)
{
    redisContext *c = test_redis_admin(r);
    if (c == NULL)
        return -1;
    redisReply *rep = redisCommand(c, "PEXPIRE %b 1", key, key_len);
    int rc = rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1 ? 0 : 1;
    if (rep != NULL)
        freeReplyObject(rep);
    /* The key is gone on the server's next expiry cycle or access: ask until it is (<= ~1 s). */
    for (int i = 0; rc == 0 && i < 1000; i++) {
        rep = redisCommand(c, "EXISTS %b", key, key_len);
        int gone = rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 0;
        if (rep != NULL)
            freeReplyObject(rep);
        if (gone)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    redisFree(c);
    return rc;
}

/* ---- fault proxy ------------------------------------------------------------------------- */

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    test_loopback_addr(&a, port);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int test_proxy_start(test_proxy *p, const char *prog, int target_port)
{
    memset(p, 0, sizeof *p);
    p->ctl_fd = -1;
    snprintf(p->dir, sizeof p->dir, "/tmp/of-proxy-XXXXXX");
    if (mkdtemp(p->dir) == NULL) {
        fprintf(stderr, "redis-harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    char port_file[192], target[32], log[192];
    snprintf(port_file, sizeof port_file, "%s/port", p->dir);
    snprintf(log, sizeof log, "%s/proxy.log", p->dir);
    snprintf(target, sizeof target, "127.0.0.1:%d", target_port);
    const char *argv[] = {prog, "--target", target, "--port-file", port_file, NULL};
    if (test_spawn("redis-harness", argv, log, &p->pid) != 0) {
        test_proxy_stop(p);
        return -1;
    }
    for (int i = 0; i < 500; i++) { /* the port file appears (renamed) once it listens */
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d %d", &p->port, &p->ctl_port) == 2;
            fclose(f);
            if (ok && (p->ctl_fd = connect_local(p->ctl_port)) >= 0)
                return 0;
        }
        if (test_exited(p->pid)) {
            p->pid = 0;
            break;
        }
        test_sleep_ms(10);
    }
    fprintf(stderr, "redis-harness: fault-proxy did not come up (log: %s)\n", log);
    test_proxy_stop(p);
    return -1;
}

int test_proxy_mode(test_proxy *p, const char *cmd)
{
    char state[512];
    return test_proxy_query(p, cmd, state, sizeof state);
}

int test_proxy_query(test_proxy *p, const char *cmd, char *state, size_t cap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (p->ctl_fd < 0 || send(p->ctl_fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        fprintf(stderr, "redis-harness: proxy control: %s\n", strerror(errno));
        return -1;
    }
    size_t got = 0;
    while (got + 1 < sizeof line) {
        ssize_t r = recv(p->ctl_fd, line + got, 1, 0);
        if (r <= 0) {
            fprintf(stderr, "redis-harness: proxy control: no answer to '%s'\n", cmd);
            return -1;
        }
        if (line[got] == '\n')
            break;
        got++;
    }
    line[got] = '\0';
    if (strncmp(line, "ok", 2) != 0) {
        fprintf(stderr, "redis-harness: proxy answered '%s' to '%s'\n", line, cmd);
        return -1;
    }
    snprintf(state, cap, "%s", line[2] == ' ' ? line + 3 : line + 2);
    return 0;
}

void test_proxy_stop(test_proxy *p)
{
    if (p->ctl_fd >= 0) {
        close(p->ctl_fd);
        p->ctl_fd = -1;
    }
    if (p->pid > 0) {
        test_stop_pid(p->pid);
        p->pid = 0;
    }
    if (p->dir[0] != '\0') {
        test_remove_tree(p->dir);
        p->dir[0] = '\0';
    }
}
