/* Private redis-server for tests (see redis-harness.h). */
#include "redis-harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A port the kernel just handed out for 127.0.0.1 (free now; a race with another process is
 * caught by the start loop, which then picks another). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Full path of @p prog on PATH (resolved before fork: the child only calls exec). */
static int find_program(const char *prog, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        const char *colon = strchr(path, ':');
        size_t n = colon != NULL ? (size_t)(colon - path) : strlen(path);
        if (n > 0 && n + strlen(prog) + 2 <= cap) {
            memcpy(out, path, n);
            out[n] = '/';
            strcpy(out + n + 1, prog);
            if (access(out, X_OK) == 0)
                return 0;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return -1;
}

static int spawn_server(test_redis *r)
{
    char exe[512], taskset[512], portbuf[16];
    if (find_program("redis-server", exe, sizeof exe) != 0) {
        fprintf(stderr, "redis-harness: redis-server not found on PATH\n");
        return -1;
    }
    int pin = r->cpu[0] != '\0';
    if (pin && find_program("taskset", taskset, sizeof taskset) != 0) {
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

    int logfd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0) {
        fprintf(stderr, "redis-harness: open log: %s\n", strerror(errno));
        if (logfd >= 0)
            close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        close(nullfd);
        return -1;
    }
    if (pid == 0) {
        /* async-signal-safe calls only: the parent may have threads */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        setpgid(0, 0); /* a terminal's ^C or a test's kill(0, ...) does not reach it */
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    r->pid = pid;
    return 0;
}

/* Wait until the server answers PING over its socket; -1 if it exited or took > 10 s. */
static int wait_ready(test_redis *r)
{
    for (int i = 0; i < 1000; i++) {
        int status;
        pid_t w = waitpid(r->pid, &status, WNOHANG);
        if (w == r->pid) {
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
        sleep_ms(10);
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
        r->port = free_port();
        if (r->port <= 0)
            continue;
        if (spawn_server(r) != 0)
            break;
        if (wait_ready(r) == 0)
            return 0;
        if (r->pid != 0) { /* running but not answering: give up on it */
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            r->pid = 0;
        }
    }
    fprintf(stderr, "redis-harness: redis-server did not start (log: %s)\n", r->log);
    test_redis_stop(r);
    return -1;
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
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            r->pid = 0;
        }
        sleep_ms(100);
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

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

void test_redis_stop(test_redis *r)
{
    if (r->pid != 0) {
        kill(r->pid, SIGCONT);
        kill(r->pid, SIGTERM);
        int reaped = 0;
        for (int i = 0; i < 500 && !reaped; i++) {
            if (waitpid(r->pid, NULL, WNOHANG) == r->pid)
                reaped = 1;
            else
                sleep_ms(10);
        }
        if (!reaped) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
        }
        r->pid = 0;
    }
    if (r->dir[0] != '\0') {
        remove_dir(r->dir);
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

int test_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

/* ---- fault proxy ------------------------------------------------------------------------- */

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
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
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0 || access(prog, X_OK) != 0) {
        fprintf(stderr, "redis-harness: cannot start %s: %s\n", prog, strerror(errno));
        if (logfd >= 0)
            close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        setpgid(0, 0);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    if (pid < 0)
        return -1;
    p->pid = pid;
    for (int i = 0; i < 500; i++) { /* the port file appears (renamed) once it listens */
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d %d", &p->port, &p->ctl_port) == 2;
            fclose(f);
            if (ok && (p->ctl_fd = connect_local(p->ctl_port)) >= 0)
                return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            p->pid = 0;
            break;
        }
        sleep_ms(10);
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
        kill(p->pid, SIGTERM);
        int status;
        for (int i = 0; i < 500 && waitpid(p->pid, &status, WNOHANG) == 0; i++)
            sleep_ms(10);
        if (waitpid(p->pid, &status, WNOHANG) == 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
        }
        p->pid = 0;
    }
    if (p->dir[0] != '\0') {
        char path[256];
        snprintf(path, sizeof path, "%s/port", p->dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/proxy.log", p->dir);
        unlink(path);
        rmdir(p->dir);
        p->dir[0] = '\0';
    }
}
