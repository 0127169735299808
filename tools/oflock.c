/* oflock — flock(1) across hosts: run a command while holding a named lease (Redis, Redlock over
 * several Redis servers, etcd, or a lease directory on one host), renewed automatically; the
 * command's process group is signalled if the lease is lost, and does not outlive oflock.
 * Shows: of_lock_acquire with OF_LOCK_AUTO_RENEW and on_lost, of_lock_fence,
 * of_lock_valid_until_ns, of_lock_release, the event callback (of_lock_provider_config.on_event,
 * for --verbose), of_lock_redis_create_url, of_lock_redlock_create(_list),
 * of_lock_etcd_create_url, and the example file provider. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, explicit_bzero, getopt_long, prctl */
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

/* The smallest --ttl. A renewal starts a third of the way into the lease and must land before
 * the engine's valid_until, which ends up to one coarse-clock tick (at most 10 ms, at HZ=100)
 * and, with Redis, Redlock and etcd, a clock-drift allowance (1% + 2 ms) before the TTL itself:
 * a renewal gets 2/3 ttl - ttl/100 - 12 ms, no time at all below about 19 ms. The renewal budget
 * is the least we leave one renewal:
 * - --dir, one Redis: RENEW_BUDGET_MS, a round trip plus the renewal thread getting a CPU on a
 *   busy host; that holds from 95 ms up, rounded to 100 ms (MIN_TTL_MS).
 * - Redlock: the same, plus what a minority of servers that do not answer may add to a round.
 *   A round reaches the servers one after another for new connections (connect, then AUTH and
 *   SELECT if the URL asks for them), each bounded by its connect + command timeout, and a
 *   connection to a server that stopped answering is dropped after each round, so every renewal
 *   may pay for the (N-1)/2 slowest servers again. Below that, a lease over N servers would be
 *   lost to one dead minority server (a blackholed host), which is what Redlock is meant to
 *   survive: 400 ms for 3 servers at the default 100 + 100 ms, 710 ms for 5.
 * - etcd: ETCD_MIN_TTL_MS. etcd leases are whole seconds (the provider asks for the TTL rounded
 *   up, the server may raise it to its own minimum): below 1 s the lock would still outlive a
 *   killed oflock by a second or more, and each renewal (a keep-alive and a transaction, two Raft
 *   writes) would come every third of a TTL the server does not keep anyway.
 * The budget is also the least lease COMMAND may start under. */
enum { MIN_TTL_MS = 100, RENEW_BUDGET_MS = 50, TICK_MS = 10, ETCD_MIN_TTL_MS = 1000 };
enum { DRIFT_PPM = 10000, DRIFT_EXTRA_MS = 2 };
_Static_assert(MIN_TTL_MS * 2 / 3 - MIN_TTL_MS / 100 - TICK_MS - DRIFT_EXTRA_MS >= RENEW_BUDGET_MS,
               "MIN_TTL_MS leaves a renewal less than RENEW_BUDGET_MS");

/* The smallest TTL whose renewal window (2/3 ttl - drift - tick) holds @p budget_ms, rounded up
 * to 10 ms: solves ttl * (2/3 - ppm/10^6) >= budget + tick + extra. */
static int64_t min_ttl_for_budget(int64_t budget_ms)
{
    const int64_t num = (budget_ms + TICK_MS + DRIFT_EXTRA_MS) * 3000000;
    const int64_t den = 2000000 - 3 * (int64_t)DRIFT_PPM;
    int64_t ttl = (num + den - 1) / den;
    return (ttl + 9) / 10 * 10;
}

static const char usage_text[] =
    "usage: oflock (--redis URL [--redis URL...] | --etcd URL | --dir DIR) [--ttl DUR]\n"
    "              [--wait DUR | --nonblock] [--on-lost SIG|none] [--kill-after DUR] [-E N]\n"
    "              [-v] NAME [--] COMMAND [ARGS...]\n";

static const char help_text[] =
    "Run COMMAND while holding the lock NAME, shared by every host that uses the same backend\n"
    "(\"run this cron job on one host only\"). The lease is renewed automatically and released\n"
    "when COMMAND, and whatever it left running in its process group, has exited.\n"
    "\n"
    "  -r, --redis URL       Redis backend: redis://[[user]:password@]host[:port][/db][?params]\n"
    "                        or unix:///path. Given 3, 5, ... 15 times (an odd count), Redlock\n"
    "                        over that many independent servers: a majority must grant the lock,\n"
    "                        a minority may be down. @FILE reads URLs from FILE, one per line\n"
    "                        (blank lines and lines starting with # skipped)\n"
    "  -e, --etcd URL        etcd backend: etcd://[user:password@]host[:port][,host[:port]...]\n"
    "                        [/prefix][?params], the endpoints of one cluster; @FILE reads the\n"
    "                        URL from FILE\n"
    "  -d, --dir DIR         lease files in DIR (processes on this host only)\n"
    "  -t, --ttl DUR         lease length, renewed every third of it (default 30s); a renewal\n"
    "                        must fit in the last two thirds, less margins. The smallest TTL is\n"
    "                        100ms with one Redis or a --dir; 1s with etcd (its leases are whole\n"
    "                        seconds); with Redlock, enough for a renewal that also waits out a\n"
    "                        minority of dead servers' connect + command timeouts: 400ms for 3\n"
    "                        servers, 710ms for 5 at the default 100ms + 100ms (the error names\n"
    "                        the figure for the URLs given)\n"
    "  -w, --wait DUR        give up after DUR if the lock stays held (default: wait forever)\n"
    "  -n, --nonblock        give up at once if the lock is held\n"
    "  -s, --on-lost SIG     signal sent to COMMAND's group if the lease is lost (default TERM);\n"
    "                        'none' lets it run on\n"
    "  -k, --kill-after DUR  send KILL this long after SIG (or a forwarded HUP, INT, QUIT or\n"
    "                        TERM) if COMMAND still runs (default 10s)\n"
    "  -E, --conflict-exit-code N  exit status when busy or timed out (default 1)\n"
    "  -v, --verbose         on stderr, one line each: the lock acquired (fence, lease left and\n"
    "                        its end in UTC), each renewal and renewal failure with its cause,\n"
    "                        the loss, every signal sent to COMMAND's group, the release\n"
    "  -h, --help            show this help\n"
    "\n"
    "Without --redis, --etcd and --dir, $OFLOCK_REDIS_URL (one URL, @FILE, or 3..15 URLs\n"
    "separated by ',' with no spaces: write a ',' inside a URL as %2C) or $OFLOCK_ETCD_URL (a\n"
    "URL or @FILE) is used; not both. Files and variables keep passwords out of ps.\n"
    "\n"
    "DUR is a number with an optional ms, s or m suffix; a bare number is seconds (e.g. 0.5).\n"
    "COMMAND gets OF_FENCE (the lease's fencing token, decimal, increasing with each owner) and\n"
    "OF_LOCK_NAME in its environment and runs in a process group of its own, which gets every\n"
    "signal oflock sends. HUP, INT, QUIT, TERM, USR1, USR2 and ALRM sent to oflock are forwarded\n"
    "to that group. In the foreground of a terminal, COMMAND gets the terminal (it reads stdin,\n"
    "gets ^C and ^Z itself). If oflock dies, even of KILL, COMMAND's group is killed.\n"
    "COMMAND inherits only the descriptors oflock was started with (0, 1, 2 and any others its\n"
    "caller left open), never oflock's own connections or pipes.\n"
    "\n"
    "Exit status: COMMAND's (128+N if killed by signal N); 1 (or -E N) busy or timed out;\n"
    "64 usage error (also a bad URL or file, an even number of Redis servers); 69 backend\n"
    "unavailable (also a backend this build lacks); 75 the lock was lost while COMMAND ran, or the\n"
    "lease had ended (or was about to) when it was granted, so COMMAND was not started;\n"
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

/* Server URLs of the chosen backend, owned (they may hold passwords: wiped when freed). */
typedef struct {
    char *url[OF_LOCK_REDLOCK_MAX_SERVERS];
    size_t n;
    const char *list; /* $OFLOCK_REDIS_URL's comma list, passed whole to the library */
} url_set;

static void url_set_free(url_set *u)
{
    for (size_t i = 0; i < u->n; i++) {
        explicit_bzero(u->url[i], strlen(u->url[i]));
        free(u->url[i]);
    }
    u->n = 0;
}

/* Append a copy of @p url (len bytes) to @p u. Returns 0, or -1 (message printed). */
static int url_set_add(url_set *u, const char *url, size_t len, const char *what)
{
    if (u->n == OF_LOCK_REDLOCK_MAX_SERVERS) {
        fprintf(stderr, "oflock: %s: more than %u URLs (Redlock takes 3 to %u servers)\n", what,
                OF_LOCK_REDLOCK_MAX_SERVERS, OF_LOCK_REDLOCK_MAX_SERVERS);
        return -1;
    }
    char *c = strndup(url, len);
    if (c == NULL) {
        fprintf(stderr, "oflock: out of memory\n");
        return -1;
    }
    u->url[u->n++] = c;
    return 0;
}

/* Add the URLs in @p path to @p u: one per line, surrounding white space stripped, blank lines
 * and lines starting with '#' skipped (no URL starts with '#'). Returns the number added, or -1
 * (message printed). */
static long read_url_file(const char *path, url_set *u)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "oflock: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long added = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        char *b = line, *e = line + len;
        while (b < e && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
            e--;
        if (b == e || *b == '#')
            continue;
        rc = url_set_add(u, b, (size_t)(e - b), path);
        added++;
    }
    int read_error = ferror(f);
    fclose(f);
    if (line != NULL) {
        explicit_bzero(line, cap);
        free(line);
    }
    if (rc != 0)
        return -1;
    if (read_error) {
        fprintf(stderr, "oflock: %s: read error\n", path);
        return -1;
    }
    if (added == 0) {
        fprintf(stderr, "oflock: %s: holds no URL\n", path);
        return -1;
    }
    return added;
}

/* One backend value: a URL, or @FILE. Returns 0 or -1 (message printed). */
static int add_value(url_set *u, const char *v, const char *what)
{
    if (v[0] == '@')
        return read_url_file(v + 1, u) < 0 ? -1 : 0;
    if (*v == '\0') {
        fprintf(stderr, "oflock: %s: empty URL\n", what);
        return -1;
    }
    return url_set_add(u, v, strlen(v), what);
}

/* $OFLOCK_REDIS_URL: @FILE, one URL, or URLs separated by ',' (a ',' inside a URL is %2C, so
 * every raw ',' separates). The list itself goes to of_lock_redlock_create_list(), which keeps
 * the position of a raw ',' in a password out of its error details; the copies here are only
 * read for the per-server timeouts. Returns 0 or -1 (message printed). */
static int add_env_list(url_set *u, const char *v)
{
    if (v[0] == '@' || strchr(v, ',') == NULL)
        return add_value(u, v, "$OFLOCK_REDIS_URL");
    for (const char *p = v;;) {
        const char *c = strchr(p, ',');
        size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
        if (len == 0) {
            fprintf(stderr, "oflock: $OFLOCK_REDIS_URL: item %zu of its ','-separated list is "
                            "empty\n", u->n + 1);
            return -1;
        }
        if (url_set_add(u, p, len, "$OFLOCK_REDIS_URL") != 0)
            return -1;
        if (c == NULL)
            break;
        p = c + 1;
    }
    u->list = v;
    return 0;
}

/* The value of the query parameter @p key in @p url (digits, percent-encoded or not), or
 * @p dflt when it is absent or not a number. The library parses the URL strictly and refuses
 * what is wrong; this only reads the two per-server timeouts that the smallest TTL depends on.
 * The query starts at the first '?': inside credentials a '?' must be written %3F. */
static uint32_t url_param(const char *url, const char *key, uint32_t dflt)
{
    const char *q = strchr(url, '?');
    if (q == NULL)
        return dflt;
    const size_t klen = strlen(key);
    for (const char *p = q + 1; *p != '\0';) {
        const char *end = strchr(p, '&');
        if (end == NULL)
            end = p + strlen(p);
        if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            uint64_t v = 0;
            int digits = 0;
            for (const char *d = p + klen + 1; d < end; d++) {
                int c = (unsigned char)*d;
                if (c == '%' && end - d >= 3 && d[1] == '3' && d[2] >= '0' && d[2] <= '9') {
                    c = (unsigned char)d[2];
                    d += 2;
                }
                if (c < '0' || c > '9' || v > INT32_MAX)
                    return dflt;
                v = v * 10 + (uint64_t)(c - '0');
                digits++;
            }
            return digits > 0 && v >= 1 && v <= INT32_MAX ? (uint32_t)v : dflt;
        }
        p = *end == '&' ? end + 1 : end;
    }
    return dflt;
}

/* The renewal budget of Redlock over @p u: RENEW_BUDGET_MS plus the connect + command timeouts
 * of the (N-1)/2 slowest servers (see MIN_TTL_MS). */
static int64_t redlock_budget_ms(const url_set *u)
{
    int64_t cost[OF_LOCK_REDLOCK_MAX_SERVERS];
    for (size_t i = 0; i < u->n; i++)
        cost[i] = (int64_t)url_param(u->url[i], "connect_timeout_ms",
                                     OF_LOCK_REDLOCK_DEFAULT_CONNECT_TIMEOUT_MS) +
                  url_param(u->url[i], "command_timeout_ms",
                            OF_LOCK_REDLOCK_DEFAULT_COMMAND_TIMEOUT_MS);
    int64_t budget = RENEW_BUDGET_MS;
    for (size_t k = 0; k < (u->n - 1) / 2; k++) {
        size_t best = k;
        for (size_t i = k + 1; i < u->n; i++)
            if (cost[i] > cost[best])
                best = i;
        int64_t t = cost[k];
        cost[k] = cost[best];
        cost[best] = t;
        budget += cost[k];
    }
    return budget;
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
    if (atomic_exchange(&lost_flag, 1))
        return; /* said already */
    fprintf(stderr, "oflock: lock lost: %s\n", of_status_name(status));
    unsigned char b = 0;
    ssize_t r = write(wake_pipe[1], &b, 1);
    (void)r;
}

/* "oflock: WHAT: message (detail)", the detail only when the library gave one. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...);

static void report(const char *what, const char *arg, int rc)
{
    const char *detail = of_last_error_detail();
    say("oflock: %s%s: %s%s%s%s\n", what, arg, of_strerror(rc), *detail ? " (" : "",
            detail, *detail ? ")" : "");
}

/* --verbose: the library's lock events, one stderr line each (see on_event). */
static int verbose;

/* --verbose lines reach stderr through a small queue and a writer thread: a stderr nobody reads
 * (a full pipe) must block neither the engine's renewal thread, where most events arrive (the
 * lease would lapse), nor the main loop, which kills the job when the lease is lost. A full queue
 * drops lines and counts them; the writer says how many before its next line. */
enum { VLINE_MAX = 384, VQUEUE_LEN = 64 };
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char lines[VQUEUE_LEN][VLINE_MAX];
    unsigned head, count, dropped;
    int running, stop, done;
    pthread_t thread;
} vq = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* write(2), not stdio: a writer stuck on a full pipe then holds no stdio lock that exit() or
 * another thread's fprintf(stderr) would wait for. */
static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void *vwriter(void *arg)
{
    (void)arg;
    char line[VLINE_MAX];
    pthread_mutex_lock(&vq.mu);
    for (;;) {
        while (vq.count == 0 && vq.dropped == 0 && !vq.stop)
            pthread_cond_wait(&vq.cv, &vq.mu);
        if (vq.count == 0 && vq.dropped == 0)
            break; /* stop asked and nothing left */
        unsigned dropped = vq.dropped;
        vq.dropped = 0;
        int have = vq.count > 0;
        if (have) {
            memcpy(line, vq.lines[vq.head], sizeof line);
            vq.head = (vq.head + 1) % VQUEUE_LEN;
            vq.count--;
        }
        pthread_mutex_unlock(&vq.mu);
        if (dropped) {
            char note[80];
            int n = snprintf(note, sizeof note,
                             "oflock: %u --verbose lines dropped (stderr was not read)\n", dropped);
            write_all(STDERR_FILENO, note, (size_t)n);
        }
        if (have)
            write_all(STDERR_FILENO, line, strlen(line));
        pthread_mutex_lock(&vq.mu);
    }
    vq.done = 1;
    pthread_cond_broadcast(&vq.cv);
    pthread_mutex_unlock(&vq.mu);
    return NULL;
}

/* At exit: let the writer finish what is queued, but give up after a second (stderr may never
 * drain; the process ends anyway). */
static void vflush(void)
{
    pthread_mutex_lock(&vq.mu);
    if (vq.running) {
        vq.stop = 1;
        pthread_cond_broadcast(&vq.cv);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        while (!vq.done && pthread_cond_timedwait(&vq.cv, &vq.mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&vq.mu);
}

/* Start the writer (main thread, before any event can arrive). Non-zero when it cannot start. */
static int vstart(void)
{
    if (pthread_create(&vq.thread, NULL, vwriter, NULL) != 0)
        return -1;
    pthread_mutex_lock(&vq.mu);
    vq.running = 1;
    pthread_mutex_unlock(&vq.mu);
    atexit(vflush);
    return 0;
}

static void vqueue(const char *fmt, va_list ap);

/* One --verbose line (with its newline), queued for the writer; never blocks on stderr. */
__attribute__((format(printf, 1, 2))) static void vsay(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vqueue(fmt, ap);
    va_end(ap);
}

/* One of oflock's own messages: straight to stderr, or, once the --verbose writer runs, through
 * its queue, so that it keeps its place among the event lines. */
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&vq.mu);
    int queued = vq.running;
    pthread_mutex_unlock(&vq.mu);
    if (queued)
        vqueue(fmt, ap);
    else
        vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static void vqueue(const char *fmt, va_list ap)
{
    char line[VLINE_MAX];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) /* cut: keep the newline that ends it */
        line[sizeof line - 2] = '\n';
    pthread_mutex_lock(&vq.mu);
    if (vq.count == VQUEUE_LEN) {
        vq.dropped++;
    } else {
        memcpy(vq.lines[(vq.head + vq.count) % VQUEUE_LEN], line, sizeof line);
        vq.count++;
    }
    pthread_cond_signal(&vq.cv);
    pthread_mutex_unlock(&vq.mu);
}

/* A signal's name without "SIG" for --verbose lines ("TERM"), or its number. */
static const char *sig_name(int sig, char buf[16])
{
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
        if (signal_names[i].sig == sig)
            return signal_names[i].name;
    if (sig == SIGCONT)
        return "CONT";
    snprintf(buf, 16, "%d", sig);
    return buf;
}

/* " N ms left (until 2024-05-01T12:00:00.123Z)": a CLOCK_MONOTONIC end as time left and as UTC
 * wall time (read now, so a wall-clock step later does not change what was printed). */
static void format_lease(int64_t valid_until_ns, char *out, size_t cap)
{
    struct timespec mono, wall;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t left_ns = valid_until_ns - ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec);
    int64_t end_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec + left_ns;
    time_t end_s = (time_t)(end_ns / 1000000000);
    struct tm tm;
    char when[32] = "?";
    if (gmtime_r(&end_s, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%lld ms left (until %s.%03dZ)", (long long)(left_ns / 1000000), when,
             (int)(end_ns % 1000000000 / 1000000));
}

/* The event callback: runs on the thread of the event (acquire and release here; renewals,
 * losses and cleanups on the engine's renewal thread), so it only formats one line and queues it
 * (vsay: it never waits for stderr). */
static void on_event(void *ctx, const of_lock_event *ev)
{
    (void)ctx;
    char lease[96];
    const char *d = ev->detail;
    const char *open = *d ? " (" : "", *close = *d ? ")" : "";
    const int n = (int)ev->name_len;
    const char *nm = ev->name;
    switch (ev->kind) {
    case OF_LOCK_EVENT_ACQUIRED:
        format_lease(ev->valid_until_ns, lease, sizeof lease);
        vsay("oflock: %.*s: acquired, fence %llu, %s\n", n, nm,
                (unsigned long long)ev->fence, lease);
        break;
    case OF_LOCK_EVENT_ACQUIRE_FAILED:
        vsay("oflock: %.*s: not acquired: %s%s%s%s\n", n, nm,
                of_status_name(ev->status), open, d, close);
        break;
    case OF_LOCK_EVENT_RENEWED:
        format_lease(ev->valid_until_ns, lease, sizeof lease);
        vsay("oflock: %.*s: renewed, %s\n", n, nm, lease);
        break;
    case OF_LOCK_EVENT_RENEW_FAILED:
        format_lease(ev->valid_until_ns, lease, sizeof lease);
        vsay("oflock: %.*s: renewal failed: %s%s%s%s; %s, %s\n", n, nm,
                of_status_name(ev->status), open, d, close,
                ev->status == OF_ERR_NOT_OWNER || ev->status == OF_ERR_UNKNOWN
                    ? "the lease is given up" : "retrying while the lease lasts",
                lease);
        break;
    case OF_LOCK_EVENT_LOST:
        vsay("oflock: %.*s: lease lost: %s%s%s%s\n", n, nm, of_status_name(ev->status),
                open, d, close);
        break;
    case OF_LOCK_EVENT_RELEASED:
        vsay("oflock: %.*s: released: %s%s%s%s\n", n, nm, of_status_name(ev->status),
                open, d, close);
        break;
    case OF_LOCK_EVENT_CLEANUP_QUEUED:
        vsay("oflock: %.*s: cleanup queued%s%s%s\n", n, nm, open, d, close);
        break;
    case OF_LOCK_EVENT_CLEANUP_DONE:
        vsay("oflock: %.*s: cleanup done: %s%s%s%s\n", n, nm,
                of_status_name(ev->status), open, d, close);
        break;
    default:
        break; /* a kind newer than this program */
    }
}

/* --verbose: a signal sent to COMMAND's group, and why. */
static void say_signal(pid_t group, int sig, const char *why)
{
    if (!verbose)
        return;
    char b[16];
    vsay("oflock: sent %s to COMMAND's process group %ld (%s)\n", sig_name(sig, b),
            (long)group, why);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Signals oflock forwards to COMMAND's group. The first four ask the job to end, so KILL
 * follows --kill-after later; USR1, USR2 and ALRM are often handled (log reopen, progress) and
 * are only passed on. All of them would otherwise end oflock and leave COMMAND without its
 * lease renewed. */
static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};
enum { N_FORWARDED = sizeof forwarded / sizeof forwarded[0] };

static int ends_job(int sig)
{
    return sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGTERM;
}

/* Dispositions oflock changed and COMMAND must get back: the forwarded signals' handlers, SIGCHLD,
 * and the SIG_IGN oflock puts on PIPE (a closed stderr must not kill it and orphan the job) and,
 * while COMMAND has the terminal, on TTOU (oflock, now in the background, still writes there). */
typedef struct {
    int sig;
    struct sigaction old;
} saved_action;

typedef struct {
    saved_action saved[N_FORWARDED + 3];
    size_t n_saved;
    sigset_t child_mask; /* oflock's mask at start, for COMMAND */
    int tty;             /* stdin when COMMAND gets the terminal, else -1 */
} child_setup;

static void set_action(child_setup *cs, int sig, void (*handler)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    saved_action *s = &cs->saved[cs->n_saved++];
    s->sig = sig;
    sigaction(sig, &sa, &s->old);
}

/* Block every signal whose handler writes to our pipe (and TTOU, so that tcsetpgrp() from the
 * new background group does not stop the child) across fork: a child never runs our handlers
 * before it has put the old dispositions back. */
static void block_for_fork(const child_setup *cs, sigset_t *saved)
{
    sigset_t block;
    sigemptyset(&block);
    for (size_t i = 0; i < cs->n_saved; i++)
        sigaddset(&block, cs->saved[i].sig);
    sigaddset(&block, SIGTTOU);
    sigprocmask(SIG_BLOCK, &block, saved);
}

/* Descriptors above 2 that oflock was started with, sorted: its caller left them open on
 * purpose (`3>file`), so COMMAND gets them too. Every other descriptor -- the backend's
 * connections, whatever a library opened without close-on-exec (libcurl 7.88's wake-up socket
 * pair), or a socket another thread opened just before fork -- is made close-on-exec in the
 * child before exec, whatever its flags. */
static int *inherited_fds;
static size_t n_inherited;
static unsigned int fd_scan_limit; /* bound for the fcntl() loop when close_range() is missing */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Note the descriptors oflock was started with. Called first thing in main, before anything
 * opens one. Returns 0, or -1 (out of memory). */
static int note_inherited_fds(void)
{
    struct rlimit rl;
    fd_scan_limit = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < fd_scan_limit)
        fd_scan_limit = (unsigned int)rl.rlim_cur;
    size_t cap = 16;
    inherited_fds = malloc(cap * sizeof *inherited_fds);
    if (inherited_fds == NULL)
        return -1;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        const int self = dirfd(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char *end = NULL;
            long fd = strtol(de->d_name, &end, 10);
            if (end == de->d_name || *end != '\0' || fd <= 2 || fd == self || fd > INT32_MAX)
                continue;
            if (n_inherited == cap) {
                int *g = realloc(inherited_fds, 2 * cap * sizeof *g);
                if (g == NULL) {
                    closedir(d);
                    return -1;
                }
                inherited_fds = g;
                cap *= 2;
            }
            inherited_fds[n_inherited++] = (int)fd;
        }
        closedir(d);
    } else {
        for (unsigned int fd = 3; fd < fd_scan_limit; fd++) {
            if (fcntl((int)fd, F_GETFD) < 0)
                continue;
            if (n_inherited == cap) {
                int *g = realloc(inherited_fds, 2 * cap * sizeof *g);
                if (g == NULL)
                    return -1;
                inherited_fds = g;
                cap *= 2;
            }
            inherited_fds[n_inherited++] = (int)fd;
        }
    }
    qsort(inherited_fds, n_inherited, sizeof *inherited_fds, cmp_int);
    return 0;
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Async-signal-safe: for the child between fork and exec. */
static void cloexec_range(unsigned int lo, unsigned int hi)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, lo, hi, CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    /* Before Linux 5.11: one descriptor at a time, up to the limit noted at start. */
    for (unsigned int fd = lo; fd <= hi && fd < fd_scan_limit; fd++) {
        int fl = fcntl((int)fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
    }
}

/* In the child: every descriptor above 2 that oflock was not started with closes on exec. */
static void cloexec_all_but_inherited(void)
{
    unsigned int lo = 3;
    for (size_t i = 0; i < n_inherited; i++) {
        unsigned int fd = (unsigned int)inherited_fds[i];
        if (fd > lo)
            cloexec_range(lo, fd - 1);
        lo = fd + 1;
    }
    cloexec_range(lo, ~0u);
}

/* Fork and exec @p argv as the leader of a new process group; the child's exec errno comes back
 * through a close-on-exec pipe so the parent can print it. Between fork and exec the child calls
 * only async-signal-safe functions (the engine's thread may hold locks in the parent). Returns
 * the pid, or -1 (fork failed). */
static pid_t spawn(char **argv, const child_setup *cs)
{
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0)
        return -1;
    const pid_t parent = getpid();
    sigset_t saved;
    block_for_fork(cs, &saved);
    pid_t pid = fork();
    if (pid == 0) {
        /* Its own group, so that one kill(-pid) reaches whatever COMMAND starts. */
        setpgid(0, 0);
        if (cs->tty >= 0)
            tcsetpgrp(cs->tty, getpid());
        /* If oflock dies, even of SIGKILL, the kernel kills the group leader; the watchdog
         * (start_watchdog) takes care of the rest of the group. oflock may have died before
         * prctl() took effect: then the parent is already another process. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(EX_LOST);
        for (size_t i = 0; i < cs->n_saved; i++)
            sigaction(cs->saved[i].sig, &cs->saved[i].old, NULL);
        sigprocmask(SIG_SETMASK, &cs->child_mask, NULL);
        cloexec_all_but_inherited();
        execvp(argv[0], argv);
        int e = errno;
        ssize_t r = write(errpipe[1], &e, sizeof e);
        (void)r;
        _exit(e == ENOENT ? EX_NOTFOUND : EX_NOEXEC);
    }
    if (pid > 0) {
        /* Also here, so the group exists before the parent ever signals it. */
        setpgid(pid, pid);
        if (cs->tty >= 0)
            tcsetpgrp(cs->tty, pid);
    }
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (pid < 0) {
        close(errpipe[0]);
        close(errpipe[1]);
        return -1;
    }
    close(errpipe[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(errpipe[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(errpipe[0]);
    if (r == (ssize_t)sizeof e)
        say("oflock: %s: %s\n", argv[0], strerror(e));
    return pid;
}

/* A forked copy of oflock, in a process group of its own, that kills COMMAND's group with KILL
 * when oflock dies: it reads a pipe only oflock writes to, and end of file without oflock's
 * "done" byte means oflock is gone. PR_SET_PDEATHSIG alone reaches only the group leader; this
 * also reaches the rest of the group (`sh -c 'a & b'`). It ignores the signals a shell or a
 * terminal sends to oflock's group or session, and holds no other descriptor (a lease file's
 * flock taken by a provider step in flight must not outlive that step). Returns its pid and the
 * pipe's write end, or -1. */
static pid_t start_watchdog(pid_t group, const child_setup *cs, int *out_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    sigset_t saved;
    block_for_fork(cs, &saved);
    pid_t dog = fork();
    if (dog == 0) {
        static const int ignored[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                                      SIGALRM, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD};
        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
            signal(ignored[i], SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        if (dup2(p[0], 0) != 0)
            _exit(1);
#ifdef SYS_close_range
        if (syscall(SYS_close_range, 1u, ~0u, 0u) != 0)
#endif
            for (int fd = 1; fd < 65536; fd++)
                close(fd);
        unsigned char b = 0;
        ssize_t r;
        do
            r = read(0, &b, 1);
        while (r < 0 && errno == EINTR);
        if (r != 1 || b != 'd')
            kill(-group, SIGKILL);
        _exit(0);
    }
    sigprocmask(SIG_SETMASK, &saved, NULL);
    close(p[0]);
    if (dog < 0) {
        close(p[1]);
        return -1;
    }
    *out_fd = p[1];
    return dog;
}

/* Send @p sig to the group (and CONT, so a stopped job sees it) and arm the KILL that follows
 * --kill-after later, unless one is armed already. @p why is for --verbose. */
static void end_group(pid_t group, int sig, int64_t kill_after_ms, int64_t *kill_at,
                      const char *why)
{
    kill(-group, sig);
    say_signal(group, sig, why);
    if (sig == SIGKILL)
        return;
    if (sig != SIGCONT) {
        kill(-group, SIGCONT);
        say_signal(group, SIGCONT, "so that a stopped job sees it");
    }
    if (*kill_at < 0) {
        *kill_at = now_ms() + kill_after_ms;
        if (verbose)
            say("oflock: KILL follows in %lld ms if COMMAND's group still runs\n",
                    (long long)kill_after_ms);
    }
}

/* Whether any process of the group is still there (the leader reaped: others only). A zombie
 * counts until it is reaped: orphans are reaped by us (a subreaper), the others by their parent
 * in the group. */
static int group_alive(pid_t group)
{
    return kill(-group, 0) == 0 || errno == EPERM;
}

/* COMMAND (with the terminal) stopped on ^Z or on terminal I/O: take the terminal back and stop
 * oflock too, so the shell sees the job stopped, as sudo does; on fg/bg, give the terminal back
 * if we have it and continue COMMAND. A stopped oflock renews nothing: if the lease ended
 * meanwhile, COMMAND is not continued into it but treated as after a loss. */
static void follow_stop(pid_t pid, int tty, of_lock *lock)
{
    if (tcgetpgrp(tty) == pid)
        tcsetpgrp(tty, getpgrp());
    kill(getpid(), SIGTSTP);
    /* Continued (or TSTP was discarded: an orphaned group cannot stop). */
    if (tcgetpgrp(tty) == getpgrp())
        tcsetpgrp(tty, pid);
    if (of_lock_is_lost(lock) || of_lock_valid_until_ns(lock) <= of_clock_monotonic_ns()) {
        if (!atomic_exchange(&lost_flag, 1))
            say("oflock: lock lost: the lease ended while oflock was stopped\n");
        return; /* the main loop sends --on-lost, then CONT */
    }
    kill(-pid, SIGCONT);
}

/* Acquire NAME: try once (so that a backend down at the start is reported at once), then wait
 * for a holder to let go. Returns OF_OK with *out_lock, or the exit status to end with (the
 * message printed). */
static int acquire(of_lock_provider *provider, const char *name, of_lock_options *opts,
                   int nonblock, int64_t wait_ms, int busy_code, of_lock **out_lock)
{
    size_t name_len = strlen(name);
    int64_t started = now_ms();
    opts->wait_ms = 0;
    int rc = of_lock_acquire(provider, name, name_len, opts, out_lock);
    if (rc == OF_ERR_BUSY && !nonblock && wait_ms != 0) {
        opts->wait_ms = wait_ms < 0 ? -1 : wait_ms - (now_ms() - started);
        if (opts->wait_ms < 0 && wait_ms > 0)
            rc = OF_ERR_TIMEOUT;
        else if (opts->wait_ms != 0)
            rc = of_lock_acquire(provider, name, name_len, opts, out_lock);
        if (rc == OF_ERR_TIMEOUT || opts->wait_ms == 0) {
            /* The wait ran out. The engine answers UNAVAILABLE only when no attempt of the wait
             * reached the backend; one that went away part way through ends in TIMEOUT too. One
             * more try tells a holder that stayed (BUSY) from a backend that is gone
             * (UNAVAILABLE, ...). If the holder has just let go, the lock is ours: run. */
            opts->wait_ms = 0;
            rc = of_lock_acquire(provider, name, name_len, opts, out_lock);
            if (rc == OF_ERR_BUSY)
                rc = OF_ERR_TIMEOUT;
        }
    }
    const char *detail = of_last_error_detail();
    switch (rc) {
    case OF_OK:
        return OF_OK;
    case OF_ERR_BUSY:
    case OF_ERR_TIMEOUT:
        say("oflock: %s: %s%s%s%s\n", name,
                rc == OF_ERR_BUSY ? "held by another owner"
                                  : "timed out waiting: still held by another owner",
                *detail ? " (" : "", detail, *detail ? ")" : "");
        return busy_code;
    default:
        /* UNAVAILABLE, UNKNOWN (a request got no reply), AUTH, PROTOCOL, ...: the backend, not
         * a holder, kept us from the lock; the detail says why. */
        report("acquire ", name, rc);
        return EX_UNAVAILABLE_;
    }
}

typedef enum { BACKEND_DIR, BACKEND_REDIS, BACKEND_REDLOCK, BACKEND_ETCD } backend_kind;

static const char *backend_name(backend_kind k)
{
    switch (k) {
    case BACKEND_DIR: return "--dir";
    case BACKEND_REDIS: return "one Redis server";
    case BACKEND_REDLOCK: return "Redlock";
    default: return "etcd";
    }
}

/* Create the provider for @p kind from @p dir or @p urls. Returns OF_OK, or the exit status
 * (message printed). */
static int open_backend(backend_kind kind, const char *dir, const url_set *urls,
                        of_lock_provider **out)
{
    int rc;
    const char *what;
    switch (kind) {
    case BACKEND_DIR:
        rc = file_provider_create(dir, out);
        if (rc != OF_OK) {
            report("--dir ", dir, rc);
            if (rc == OF_ERR_INVALID)
                fprintf(stderr, "oflock: --dir needs an existing, writable directory\n");
            return EX_UNAVAILABLE_;
        }
        return OF_OK;
    case BACKEND_REDIS:
        what = "--redis";
        rc = of_lock_redis_create_url(urls->url[0], out);
        break;
    case BACKEND_REDLOCK: {
        what = "--redis (Redlock)";
        of_lock_redlock_options ro;
        of_lock_redlock_options_init(&ro, sizeof ro);
        if (urls->list != NULL)
            rc = of_lock_redlock_create_list(urls->list, &ro, out);
        else
            rc = of_lock_redlock_create((const char *const *)urls->url, urls->n, &ro, out);
        break;
    }
    default:
        what = "--etcd";
        rc = of_lock_etcd_create_url(urls->url[0], out);
        break;
    }
    if (rc != OF_OK) {
        report(what, "", rc);
        return rc == OF_ERR_INVALID ? EX_USAGE_ : EX_UNAVAILABLE_;
    }
    return OF_OK;
}

int main(int argc, char **argv)
{
    if (note_inherited_fds() != 0) {
        fprintf(stderr, "oflock: out of memory\n");
        return EX_UNAVAILABLE_;
    }
    const char *redis_args[OF_LOCK_REDLOCK_MAX_SERVERS];
    size_t n_redis = 0;
    const char *dir = NULL, *etcd_arg = NULL, *ttl_arg = NULL;
    int64_t ttl_ms = OF_LOCK_DEFAULT_TTL_MS, wait_ms = -1, kill_after_ms = 10000;
    int have_wait = 0, nonblock = 0, lost_sig = SIGTERM, busy_code = EX_BUSY_DEFAULT;

    static const struct option longopts[] = {
        {"redis", required_argument, NULL, 'r'},
        {"etcd", required_argument, NULL, 'e'},
        {"dir", required_argument, NULL, 'd'},
        {"ttl", required_argument, NULL, 't'},
        {"wait", required_argument, NULL, 'w'},
        {"nonblock", no_argument, NULL, 'n'},
        {"on-lost", required_argument, NULL, 's'},
        {"kill-after", required_argument, NULL, 'k'},
        {"conflict-exit-code", required_argument, NULL, 'E'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:r:e:d:t:w:ns:k:E:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (n_redis == OF_LOCK_REDLOCK_MAX_SERVERS)
                return usage_error("more than %s --redis (Redlock takes 3 to 15 servers)", "15");
            redis_args[n_redis++] = optarg;
            break;
        case 'e':
            if (etcd_arg != NULL)
                return usage_error("%s", "--etcd given twice (list every endpoint in one URL: "
                                         "etcd://host:port,host:port/prefix)");
            etcd_arg = optarg;
            break;
        case 'd':
            if (dir != NULL)
                return usage_error("%s", "--dir given twice");
            dir = optarg;
            break;
        case 't':
            if (parse_duration_ms(optarg, &ttl_ms) != 0 || ttl_ms > (int64_t)OF_LOCK_TTL_MAX)
                return usage_error("bad --ttl: '%s'", optarg);
            ttl_arg = optarg;
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
        case 'v':
            verbose = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            fputc('\n', stdout);
            fputs(help_text, stdout);
            printf("\nThis build: --dir yes; --redis (one server and Redlock) %s; --etcd %s.\n",
                   of_lock_redis_available() ? "yes" : "no (built without hiredis)",
                   of_lock_etcd_available() ? "yes" : "no (built without libcurl and jansson)");
            return 0;
        case ':':
            return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (have_wait && nonblock)
        return usage_error("%s", "--wait and --nonblock exclude each other");
    if ((n_redis > 0) + (etcd_arg != NULL) + (dir != NULL) > 1)
        return usage_error("%s", "--redis, --etcd and --dir exclude each other");
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
    const char *env_redis = NULL;
    if (n_redis == 0 && etcd_arg == NULL && dir == NULL) {
        env_redis = getenv("OFLOCK_REDIS_URL");
        const char *env_etcd = getenv("OFLOCK_ETCD_URL");
        if (env_redis != NULL && *env_redis == '\0')
            env_redis = NULL;
        if (env_etcd != NULL && *env_etcd == '\0')
            env_etcd = NULL;
        if (env_redis != NULL && env_etcd != NULL)
            return usage_error("%s", "both $OFLOCK_REDIS_URL and $OFLOCK_ETCD_URL are set: unset "
                                     "one, or choose with --redis or --etcd");
        if (env_redis == NULL && env_etcd == NULL)
            return usage_error("%s", "need --redis URL, --etcd URL, --dir DIR, $OFLOCK_REDIS_URL "
                                     "or $OFLOCK_ETCD_URL");
        etcd_arg = env_etcd;
    }

    /* The backend: which one, and its URLs (reading @FILEs). */
    backend_kind kind = BACKEND_DIR;
    url_set urls;
    memset(&urls, 0, sizeof urls);
    if (etcd_arg != NULL) {
        kind = BACKEND_ETCD;
        if (!of_lock_etcd_available()) {
            fprintf(stderr, "oflock: --etcd: this build of libopenfault has no etcd support (it "
                            "needs libcurl and jansson when the library is built)\n");
            return EX_UNAVAILABLE_;
        }
        if (add_value(&urls, etcd_arg, "--etcd") != 0) {
            url_set_free(&urls);
            return EX_USAGE_;
        }
        if (urls.n != 1) {
            fprintf(stderr, "oflock: --etcd %s: holds %zu URLs; etcd takes one (list every "
                            "endpoint in it: etcd://host:port,host:port/prefix)\n", etcd_arg,
                    urls.n);
            url_set_free(&urls);
            return EX_USAGE_;
        }
    } else if (n_redis > 0 || env_redis != NULL) {
        if (!of_lock_redis_available()) {
            fprintf(stderr, "oflock: --redis: this build of libopenfault has no Redis support (it "
                            "needs hiredis when the library is built)\n");
            return EX_UNAVAILABLE_;
        }
        int bad = 0;
        for (size_t i = 0; i < n_redis && !bad; i++)
            bad = add_value(&urls, redis_args[i], "--redis") != 0;
        if (env_redis != NULL)
            bad = add_env_list(&urls, env_redis) != 0;
        if (bad) {
            url_set_free(&urls);
            return EX_USAGE_;
        }
        kind = urls.n == 1 ? BACKEND_REDIS : BACKEND_REDLOCK;
        if (kind == BACKEND_REDLOCK &&
            (urls.n % 2 == 0 || urls.n < OF_LOCK_REDLOCK_MIN_SERVERS)) {
            fprintf(stderr, "oflock: %zu Redis servers given%s: Redlock needs an odd number, 3 to "
                            "15 (an even count adds a server to every quorum without tolerating "
                            "one more failure)%s\n", urls.n,
                    urls.list != NULL ? " in $OFLOCK_REDIS_URL" : "",
                    urls.list != NULL ? "; a ',' inside a URL must be written %2C" : "");
            fputs(usage_text, stderr);
            url_set_free(&urls);
            return EX_USAGE_;
        }
    }

    /* The smallest TTL for this backend (see MIN_TTL_MS). */
    int64_t min_ttl = MIN_TTL_MS, budget_ms = RENEW_BUDGET_MS;
    const char *why = "a renewal starts at a third of it and must land before it ends";
    if (kind == BACKEND_REDLOCK) {
        budget_ms = redlock_budget_ms(&urls);
        min_ttl = min_ttl_for_budget(budget_ms);
        why = "a renewal starts at a third of it and must land before it ends, also when it "
              "waits out the connect + command timeouts of a minority of dead servers";
    } else if (kind == BACKEND_ETCD) {
        min_ttl = ETCD_MIN_TTL_MS;
        why = "etcd leases are whole seconds: the server keeps a shorter one for a second or more";
    }
    if (ttl_ms < min_ttl) {
        char what[64];
        if (kind == BACKEND_REDLOCK)
            snprintf(what, sizeof what, "Redlock over %zu servers", urls.n);
        else
            snprintf(what, sizeof what, "%s", backend_name(kind));
        if (ttl_arg != NULL)
            fprintf(stderr, "oflock: --ttl %s is too short for %s: the smallest TTL is %lldms "
                            "(%s)\n", ttl_arg, what, (long long)min_ttl, why);
        else
            fprintf(stderr, "oflock: the default --ttl (%lldms) is too short for %s: the smallest "
                            "TTL is %lldms (%s)\n", (long long)ttl_ms, what, (long long)min_ttl,
                    why);
        fputs(usage_text, stderr);
        url_set_free(&urls);
        return EX_USAGE_;
    }

    of_lock_provider *provider = NULL;
    int rc = open_backend(kind, dir, &urls, &provider);
    url_set_free(&urls);
    if (rc != OF_OK)
        return rc;
    if (verbose && vstart() != 0) {
        perror("oflock: --verbose writer thread");
        of_lock_provider_destroy(provider);
        return EX_UNAVAILABLE_;
    }
    if (verbose) {
        of_lock_provider_config cfg;
        of_lock_provider_config_init(&cfg, sizeof cfg);
        cfg.on_event = on_event;
        if (of_lock_provider_configure(provider, &cfg) != OF_OK) {
            report("--verbose", "", OF_ERR_INVALID);
            of_lock_provider_destroy(provider);
            return EX_UNAVAILABLE_;
        }
    }

    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("oflock: pipe");
        of_lock_provider_destroy(provider);
        return EX_UNAVAILABLE_;
    }

    /* Acquire. While waiting, signals still end oflock the default way (no job runs yet). */
    of_lock_options opts;
    of_lock_options_init(&opts, sizeof opts);
    opts.ttl_ms = (uint32_t)ttl_ms;
    opts.flags = OF_LOCK_AUTO_RENEW;
    opts.on_lost = on_lost;
    of_lock *lock = NULL;
    rc = acquire(provider, name, &opts, nonblock, have_wait ? wait_ms : -1, busy_code, &lock);
    if (rc != OF_OK) {
        of_lock_provider_destroy(provider);
        return rc;
    }

    /* Nothing runs under a lease that has ended: a slow backend can grant one that is already
     * over (valid_until counts from the request's send time), or too close to its end for the
     * renewal to land in time. */
    int64_t left_ms = (of_lock_valid_until_ns(lock) - of_clock_monotonic_ns()) / 1000000;
    if (of_lock_is_lost(lock) || left_ms < budget_ms) {
        if (left_ms <= 0)
            say("oflock: %s: the lease had already ended when it was granted "
                            "(%lld ms ago); not running COMMAND\n", name, (long long)-left_ms);
        else
            say("oflock: %s: the lease granted has %lld ms left, less than the %d ms "
                            "a renewal needs; not running COMMAND\n", name, (long long)left_ms,
                    (int)budget_ms);
        of_lock_release(lock);
        of_lock_provider_destroy(provider);
        return EX_LOST;
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

    /* Forward the signals listed in `forwarded` unless oflock was started with them ignored (a
     * background job of a non-interactive shell ignores INT and QUIT), in which case COMMAND
     * inherits the ignore, as from a shell. */
    child_setup cs;
    memset(&cs, 0, sizeof cs);
    sigprocmask(SIG_SETMASK, NULL, &cs.child_mask);
    for (size_t i = 0; i < N_FORWARDED; i++) {
        struct sigaction old;
        sigaction(forwarded[i], NULL, &old);
        if (old.sa_handler != SIG_IGN)
            set_action(&cs, forwarded[i], on_signal, SA_RESTART);
    }
    set_action(&cs, SIGPIPE, SIG_IGN, 0);
    /* In the foreground of a terminal, COMMAND's new group takes it over, as a shell's job
     * would: it can read stdin without SIGTTIN and gets ^C, ^\ and ^Z from the terminal itself
     * (oflock, then in the background, gets none of them). Its stops then reach us (no
     * SA_NOCLDSTOP), so that we follow them. */
    cs.tty = -1;
    if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp()) {
        cs.tty = STDIN_FILENO;
        set_action(&cs, SIGTTOU, SIG_IGN, 0);
    }
    set_action(&cs, SIGCHLD, on_signal, SA_RESTART | (cs.tty >= 0 ? 0 : SA_NOCLDSTOP));

    /* Orphans of the job become our children, so that we reap them: a zombie left to a slow
     * init would keep its group "alive" below. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t pid = spawn(cmd, &cs);
    if (pid < 0) {
        perror("oflock: fork");
        of_lock_release(lock);
        of_lock_provider_destroy(provider);
        return EX_UNAVAILABLE_;
    }
    int dog_fd = -1;
    pid_t dog = start_watchdog(pid, &cs, &dog_fd);
    if (dog < 0)
        perror("oflock: fork (watchdog; only the group leader is killed if oflock dies)");

    /* Until COMMAND and whatever it left in its group have all exited: as with flock(1), whose
     * lock lasts as long as any process holds the descriptor, the lease outlives COMMAND while
     * `sh -c 'job &'` leftovers run, so none of them ever runs without it. */
    int status = 0, lost_handled = 0, leader_done = 0;
    int64_t kill_at = -1, warn_at = -1;
    for (;;) {
        /* Reap the leader, the watchdog, and the job's orphans (we are their subreaper). */
        for (;;) {
            int st = 0;
            pid_t w = waitpid(-1, &st, WNOHANG | (cs.tty >= 0 && !leader_done ? WUNTRACED : 0));
            if (w <= 0) {
                if (w < 0 && errno == EINTR)
                    continue;
                break;
            }
            if (w == dog) {
                dog = -1; /* killed by someone: only PR_SET_PDEATHSIG is left */
            } else if (w == pid && WIFSTOPPED(st)) {
                int s = WSTOPSIG(st);
                if (s == SIGTSTP || s == SIGTTIN || s == SIGTTOU)
                    follow_stop(pid, cs.tty, lock);
            } else if (w == pid) {
                leader_done = 1;
                status = st;
                /* Said only of leftovers that stay: after ^C the rest of the group is dying
                 * along with COMMAND. */
                warn_at = now_ms() + 1000;
            }
        }
        if (leader_done && !group_alive(pid))
            break;
        if (leader_done && warn_at >= 0 && kill_at < 0 && now_ms() >= warn_at) {
            warn_at = -1;
            say("oflock: %s: COMMAND exited; the lock stays held until the processes "
                            "it left in its group end\n", name);
        }
        if (lost_flag && !lost_handled) {
            lost_handled = 1;
            if (lost_sig != 0)
                end_group(pid, lost_sig, kill_after_ms, &kill_at, "the lease was lost");
            else if (verbose)
                say("oflock: --on-lost none: COMMAND runs on without the lock\n");
        }
        /* Leftovers whose parent is still alive are not our children: no SIGCHLD tells when
         * they end, so poll for them. */
        int timeout = leader_done ? 100 : -1;
        if (kill_at >= 0) {
            int64_t left = kill_at - now_ms();
            if (left <= 0) {
                kill(-pid, SIGKILL);
                say_signal(pid, SIGKILL, "--kill-after passed");
                kill_at = -1;
                continue;
            }
            if (timeout < 0 || left < timeout)
                timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&pfd, 1, timeout) > 0) {
            unsigned char buf[64];
            ssize_t n = read(wake_pipe[0], buf, sizeof buf);
            for (ssize_t i = 0; i < n; i++) {
                int sig = buf[i];
                if (ends_job(sig)) {
                    end_group(pid, sig, kill_after_ms, &kill_at, "forwarded");
                } else if (sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGALRM) {
                    kill(-pid, sig);
                    say_signal(pid, sig, "forwarded");
                }
            }
        }
    }
    if (cs.tty >= 0 && tcgetpgrp(cs.tty) == pid)
        tcsetpgrp(cs.tty, getpgrp());

    int lost = lost_flag || of_lock_is_lost(lock);
    rc = of_lock_release(lock);
    if (rc != OF_OK && !lost) {
        /* The child ran to completion under the lease; only the release failed (the lease
         * expires on its own). Say so, but report the child's status. */
        say("oflock: release %s: %s\n", name, of_strerror(rc));
    }
    of_lock_provider_destroy(provider);
    if (dog_fd >= 0) {
        unsigned char done = 'd';
        ssize_t r = write(dog_fd, &done, 1);
        (void)r;
        close(dog_fd);
    }
    while (dog > 0 && waitpid(dog, NULL, 0) < 0 && errno == EINTR)
        ;
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
