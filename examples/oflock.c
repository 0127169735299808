/* oflock — flock(1) across hosts: run a command while holding a named lease (Redis, or a lease
 * directory on one host), renewed automatically; the child is signalled if the lease is lost.
 * Shows: of_lock_acquire with OF_LOCK_AUTO_RENEW and on_lost, of_lock_fence, of_lock_release,
 * of_lock_redis_create_url, and the example file provider. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, explicit_bzero, getopt_long */
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "file-provider.h"

enum {
    EX_BUSY_DEFAULT = 1,
    EX_USAGE_ = 64,
    EX_UNAVAILABLE_ = 69,
    EX_LOST = 75,
    EX_NOEXEC = 126,
    EX_NOTFOUND = 127,
};

static const char usage_text[] =
    "usage: oflock (--redis URL | --dir DIR) [--ttl DUR] [--wait DUR | --nonblock]\n"
    "              [--on-lost SIG|none] [--kill-after DUR] [-E N] NAME [--] COMMAND [ARGS...]\n";

static const char help_text[] =
    "Run COMMAND while holding the lock NAME, shared by every host that uses the same backend\n"
    "(\"run this cron job on one host only\"). The lease is renewed automatically and released\n"
    "when COMMAND exits.\n"
    "\n"
    "  -r, --redis URL       Redis backend: redis://[[user]:password@]host[:port][/db][?params]\n"
    "                        or unix:///path; @FILE reads the URL from FILE; without --redis and\n"
    "                        --dir, $OFLOCK_REDIS_URL is used (both keep passwords out of ps)\n"
    "  -d, --dir DIR         lease files in DIR (processes on this host only)\n"
    "  -t, --ttl DUR         lease length, renewed every third of it (default 30s)\n"
    "  -w, --wait DUR        give up after DUR if the lock stays held (default: wait forever)\n"
    "  -n, --nonblock        give up at once if the lock is held\n"
    "  -s, --on-lost SIG     signal sent to COMMAND if the lease is lost (default TERM); 'none'\n"
    "                        lets it run on\n"
    "  -k, --kill-after DUR  send KILL this long after SIG if COMMAND still runs (default 10s)\n"
    "  -E, --conflict-exit-code N  exit status when busy or timed out (default 1)\n"
    "  -h, --help            show this help\n"
    "\n"
    "DUR is a number with an optional ms, s or m suffix; a bare number is seconds (e.g. 0.5).\n"
    "COMMAND gets OF_FENCE (the lease's fencing token, decimal, increasing with each owner) and\n"
    "OF_LOCK_NAME in its environment. INT and TERM sent to oflock are forwarded to COMMAND.\n"
    "\n"
    "Exit status: COMMAND's (128+N if killed by signal N); 1 (or -E N) busy or timed out;\n"
    "64 usage error; 69 backend unavailable; 75 the lock was lost while COMMAND ran;\n"
    "126 COMMAND not executable; 127 COMMAND not found.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("oflock: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    return EX_USAGE_;
}

/* DUR: non-negative number, optional ms/s/m suffix, bare = seconds. Result in ms (rounded up so
 * that a tiny non-zero duration never becomes 0). */
static int parse_duration_ms(const char *s, int64_t *out_ms)
{
    char *end = NULL;
    errno = 0;
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !(v >= 0 && v <= 1e12))
        return -1;
    double scale;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        scale = 1000.0;
    else if (strcmp(end, "ms") == 0)
        scale = 1.0;
    else if (strcmp(end, "m") == 0)
        scale = 60000.0;
    else
        return -1;
    double ms = v * scale;
    int64_t whole = (int64_t)ms;
    *out_ms = (double)whole < ms ? whole + 1 : whole;
    return 0;
}

static const struct {
    const char *name;
    int sig;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
};

/* SIG: a name with or without "SIG" (any case), a number 1..31, or "none" (→ 0). */
static int parse_signal(const char *s, int *out_sig)
{
    if (strcasecmp(s, "none") == 0) {
        *out_sig = 0;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (end != s && *end == '\0' && errno == 0) {
        if (n < 1 || n > 31)
            return -1;
        *out_sig = (int)n;
        return 0;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
        if (strcasecmp(s, signal_names[i].name) == 0) {
            *out_sig = signal_names[i].sig;
            return 0;
        }
    }
    return -1;
}

/* Read the URL from @p path: the first line, trailing whitespace stripped. Caller frees. */
static char *read_url_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "oflock: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char buf[4200];
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (line == NULL) {
        fprintf(stderr, "oflock: %s: empty\n", path);
        return NULL;
    }
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
        buf[--n] = '\0';
    char *url = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    if (url == NULL)
        fprintf(stderr, "oflock: out of memory\n");
    return url;
}

/* Wake-ups for the main loop: signal handlers and the loss callback (on the engine's renewal
 * thread) write one byte each; write() is async-signal-safe and thread-safe. */
static int wake_pipe[2] = {-1, -1};
static atomic_int lost_flag; /* set on the renewal thread, read by main */

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(wake_pipe[1], &b, 1);
    (void)r; /* a full pipe already holds a wake-up */
    errno = saved;
}

static void on_lost(of_lock *lock, int status, void *ctx)
{
    (void)lock;
    (void)ctx;
    fprintf(stderr, "oflock: lock lost: %s\n", of_status_name(status));
    lost_flag = 1;
    unsigned char b = 0;
    ssize_t r = write(wake_pipe[1], &b, 1);
    (void)r;
}

/* "oflock: WHAT: message (detail)", the detail only when the library gave one. */
static void report(const char *what, const char *arg, int rc)
{
    const char *detail = of_last_error_detail();
    fprintf(stderr, "oflock: %s%s: %s%s%s%s\n", what, arg, of_strerror(rc), *detail ? " (" : "",
            detail, *detail ? ")" : "");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fork and exec @p argv; the child's exec errno comes back through a close-on-exec pipe so the
 * parent can print it. Returns the pid, or -1 (fork failed). */
static pid_t spawn(char **argv, const sigset_t *child_mask, const int *reset_sigs, size_t n_reset)
{
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0)
        return -1;
    /* Block the handled signals across fork so the child never runs our handlers (which
     * write to our pipe) before it has reset them. */
    sigset_t block, saved;
    sigemptyset(&block);
    for (size_t i = 0; i < n_reset; i++)
        sigaddset(&block, reset_sigs[i]);
    sigprocmask(SIG_BLOCK, &block, &saved);
    pid_t pid = fork();
    if (pid != 0)
        sigprocmask(SIG_SETMASK, &saved, NULL);
    if (pid < 0) {
        close(errpipe[0]);
        close(errpipe[1]);
        return -1;
    }
    if (pid == 0) {
        for (size_t i = 0; i < n_reset; i++)
            signal(reset_sigs[i], SIG_DFL);
        sigprocmask(SIG_SETMASK, child_mask, NULL);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t r = write(errpipe[1], &e, sizeof e);
        (void)r;
        _exit(e == ENOENT ? EX_NOTFOUND : EX_NOEXEC);
    }
    close(errpipe[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(errpipe[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(errpipe[0]);
    if (r == (ssize_t)sizeof e)
        fprintf(stderr, "oflock: %s: %s\n", argv[0], strerror(e));
    return pid;
}

int main(int argc, char **argv)
{
    const char *redis_arg = NULL, *dir = NULL;
    int64_t ttl_ms = OF_LOCK_DEFAULT_TTL_MS, wait_ms = -1, kill_after_ms = 10000;
    int have_wait = 0, nonblock = 0, lost_sig = SIGTERM, busy_code = EX_BUSY_DEFAULT;

    static const struct option longopts[] = {
        {"redis", required_argument, NULL, 'r'},
        {"dir", required_argument, NULL, 'd'},
        {"ttl", required_argument, NULL, 't'},
        {"wait", required_argument, NULL, 'w'},
        {"nonblock", no_argument, NULL, 'n'},
        {"on-lost", required_argument, NULL, 's'},
        {"kill-after", required_argument, NULL, 'k'},
        {"conflict-exit-code", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:r:d:t:w:ns:k:E:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (redis_arg != NULL)
                return usage_error("%s", "only one --redis is supported for now");
            redis_arg = optarg;
            break;
        case 'd':
            if (dir != NULL)
                return usage_error("%s", "--dir given twice");
            dir = optarg;
            break;
        case 't':
            if (parse_duration_ms(optarg, &ttl_ms) != 0 || ttl_ms < 1 ||
                ttl_ms > (int64_t)OF_LOCK_TTL_MAX)
                return usage_error("bad --ttl: '%s'", optarg);
            break;
        case 'w':
            if (parse_duration_ms(optarg, &wait_ms) != 0)
                return usage_error("bad --wait: '%s'", optarg);
            have_wait = 1;
            break;
        case 'n':
            nonblock = 1;
            break;
        case 's':
            if (parse_signal(optarg, &lost_sig) != 0)
                return usage_error("bad --on-lost signal: '%s'", optarg);
            break;
        case 'k':
            if (parse_duration_ms(optarg, &kill_after_ms) != 0)
                return usage_error("bad --kill-after: '%s'", optarg);
            break;
        case 'E': {
            char *end = NULL;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || errno != 0 || n < 0 || n > 255)
                return usage_error("bad -E (0..255): '%s'", optarg);
            busy_code = (int)n;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            fputc('\n', stdout);
            fputs(help_text, stdout);
            return 0;
        case ':':
            return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (have_wait && nonblock)
        return usage_error("%s", "--wait and --nonblock exclude each other");
    if (redis_arg != NULL && dir != NULL)
        return usage_error("%s", "--redis and --dir exclude each other");
    if (optind >= argc)
        return usage_error("%s", "missing NAME");
    const char *name = argv[optind++];
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len > OF_NAME_MAX)
        return usage_error("%s", "NAME must be 1..1024 bytes");
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    if (optind >= argc)
        return usage_error("%s", "missing COMMAND");
    char **cmd = argv + optind;
    if (redis_arg == NULL && dir == NULL) {
        redis_arg = getenv("OFLOCK_REDIS_URL");
        if (redis_arg == NULL || *redis_arg == '\0')
            return usage_error("%s", "need --redis URL, --dir DIR or $OFLOCK_REDIS_URL");
    }

    /* The backend. */
    of_lock_provider *provider = NULL;
    int rc;
    if (dir != NULL) {
        rc = file_provider_create(dir, &provider);
        if (rc != OF_OK) {
            report("--dir ", dir, rc);
            if (rc == OF_ERR_INVALID)
                fprintf(stderr, "oflock: --dir needs an existing, writable directory\n");
            return EX_UNAVAILABLE_;
        }
    } else {
        if (!of_lock_redis_available()) {
            fprintf(stderr, "oflock: this build of libopenfault has no Redis support\n");
            return EX_UNAVAILABLE_;
        }
        char *url = redis_arg[0] == '@' ? read_url_file(redis_arg + 1) : strdup(redis_arg);
        if (url == NULL)
            return redis_arg[0] == '@' ? EX_USAGE_ : EX_UNAVAILABLE_;
        rc = of_lock_redis_create_url(url, &provider);
        explicit_bzero(url, strlen(url));
        free(url);
        if (rc != OF_OK) {
            report("--redis", "", rc);
            return rc == OF_ERR_INVALID ? EX_USAGE_ : EX_UNAVAILABLE_;
        }
    }

    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("oflock: pipe");
        of_lock_provider_destroy(provider);
        return EX_UNAVAILABLE_;
    }

    /* Acquire. While waiting, INT and TERM still end oflock the default way. */
    of_lock_options opts;
    of_lock_options_init(&opts, sizeof opts);
    opts.ttl_ms = (uint32_t)ttl_ms;
    opts.wait_ms = 0;
    opts.flags = OF_LOCK_AUTO_RENEW;
    opts.on_lost = on_lost;
    of_lock *lock = NULL;
    /* Try once first, so that a backend that is down at the start is reported (69) at once
     * instead of being retried for the whole wait; then wait for a holder to let go. */
    int64_t started = now_ms();
    rc = of_lock_acquire(provider, name, name_len, &opts, &lock);
    if (rc == OF_ERR_BUSY && !nonblock && wait_ms != 0) {
        opts.wait_ms = wait_ms < 0 ? -1 : wait_ms - (now_ms() - started);
        if (opts.wait_ms != 0) {
            if (opts.wait_ms < 0 && wait_ms > 0)
                rc = OF_ERR_TIMEOUT;
            else
                rc = of_lock_acquire(provider, name, name_len, &opts, &lock);
        }
    }
    if (rc != OF_OK) {
        int code;
        if (rc == OF_ERR_BUSY || rc == OF_ERR_TIMEOUT) {
            fprintf(stderr, "oflock: %s: %s\n", name,
                    rc == OF_ERR_BUSY ? "held by another owner" : "timed out waiting");
            code = busy_code;
        } else {
            report("acquire ", name, rc);
            code = EX_UNAVAILABLE_;
        }
        of_lock_provider_destroy(provider);
        return code;
    }

    uint64_t fence = 0;
    if (of_lock_fence(lock, &fence) == OF_OK) {
        char fbuf[24];
        snprintf(fbuf, sizeof fbuf, "%llu", (unsigned long long)fence);
        setenv("OF_FENCE", fbuf, 1);
    } else {
        unsetenv("OF_FENCE");
    }
    setenv("OF_LOCK_NAME", name, 1);

    /* Forward INT and TERM unless oflock was started with them ignored (a background job of a
     * non-interactive shell), in which case the child inherits the ignore, as from a shell. */
    int reset[3];
    size_t n_reset = 0;
    sigset_t child_mask;
    sigprocmask(SIG_SETMASK, NULL, &child_mask);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    const int fwd[2] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < 2; i++) {
        struct sigaction old;
        sigaction(fwd[i], NULL, &old);
        if (old.sa_handler == SIG_IGN)
            continue;
        sigaction(fwd[i], &sa, NULL);
        reset[n_reset++] = fwd[i];
    }
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    reset[n_reset++] = SIGCHLD;

    pid_t pid = spawn(cmd, &child_mask, reset, n_reset);
    if (pid < 0) {
        perror("oflock: fork");
        of_lock_release(lock);
        of_lock_provider_destroy(provider);
        return EX_UNAVAILABLE_;
    }

    int status = 0, lost_handled = 0;
    int64_t kill_at = -1;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            perror("oflock: waitpid");
            status = 0;
            break;
        }
        if (lost_flag && !lost_handled) {
            lost_handled = 1;
            if (lost_sig != 0) {
                kill(pid, lost_sig);
                if (lost_sig != SIGKILL)
                    kill_at = now_ms() + kill_after_ms;
            }
        }
        int timeout = -1;
        if (kill_at >= 0) {
            int64_t left = kill_at - now_ms();
            if (left <= 0) {
                kill(pid, SIGKILL);
                kill_at = -1;
                continue;
            }
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&pfd, 1, timeout) > 0) {
            unsigned char buf[64];
            ssize_t n = read(wake_pipe[0], buf, sizeof buf);
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] == SIGINT || buf[i] == SIGTERM)
                    kill(pid, buf[i]);
        }
    }

    int lost = lost_flag || of_lock_is_lost(lock);
    rc = of_lock_release(lock);
    if (rc != OF_OK && !lost) {
        /* The child ran to completion under the lease; only the release failed (the lease
         * expires on its own). Say so, but report the child's status. */
        fprintf(stderr, "oflock: release %s: %s\n", name, of_strerror(rc));
    }
    of_lock_provider_destroy(provider);
    close(wake_pipe[0]);
    close(wake_pipe[1]);

    if (lost)
        return EX_LOST;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return EX_UNAVAILABLE_;
}
