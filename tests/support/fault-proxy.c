/* fault-proxy: a TCP proxy on 127.0.0.1 that injects network faults between a client and a
 * server, for tests. See usage() for the command line and the control protocol.
 *
 * One thread, one poll() loop. Every accepted client gets its own connection to the target; bytes
 * are queued per direction and forwarded according to the current mode, which the control socket
 * changes at run time (the change applies to open connections at once, and to queued bytes). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_PASS, MODE_TRICKLE, MODE_DELAY, MODE_BLACKHOLE, MODE_CLOSE, MODE_RESET,
            MODE_TRUNCATE };
#define MODE_COUNT 7
static const char *const mode_names[MODE_COUNT] = {"pass",  "trickle", "delay",   "blackhole",
                                                   "close", "reset",   "truncate"};

/* Which directions a trickle or delay applies to. */
enum { DIR_S2C = 1, DIR_C2S = 2 };

typedef struct settings {
    enum mode mode;
    int dirs;            /* DIR_S2C | DIR_C2S */
    long ms;             /* trickle period or delay */
    long bytes;          /* trickle: bytes per period; reset/truncate: bytes let through */
} settings;

/* Bytes queued in one direction; each read is one segment with the time it may leave. */
typedef struct seg {
    size_t len;
    int64_t ready_ns;
} seg;

typedef struct dir {
    int from, to;        /* fds (owned by the pair) */
    int bit;             /* DIR_S2C or DIR_C2S */
    char *buf;
    size_t len, cap;
    seg *segs;
    size_t nsegs, segcap;
    int64_t next_ns;     /* trickle: the next byte may leave then */
    int eof;             /* `from` reached EOF (or failed) */
    int shut;            /* `to` was shut down for writing */
    uint64_t total;      /* bytes forwarded */
} dir;

typedef struct pair {
    int client, server;
    dir d[2];            /* [0] client->server, [1] server->client */
    /* reset/truncate: server-to-client bytes still let through before the cut (-1: no cut
     * pending), and whether the cut was made (truncate: the client got its FIN, the rest of the
     * server's bytes are dropped) */
    long budget;
    int cut;
    int rst;             /* close the client side with an RST (SO_LINGER 0) */
} pair;

#define MAX_PAIRS 256
#define MAX_CTL 16
#define QUEUE_MAX (4u << 20) /* stop reading a side whose queue holds this much */

static pair *pairs[MAX_PAIRS];
static int ctl_fds[MAX_CTL];
static char ctl_in[MAX_CTL][512];
static size_t ctl_len[MAX_CTL];
static settings cur = {MODE_PASS, DIR_S2C, 0, 1};
static volatile sig_atomic_t stop_flag;
static struct sockaddr_storage target;
static socklen_t target_len;
static uint64_t accepted, refused, total_s2c, total_c2s, cuts;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: fault-proxy --target HOST:PORT [options]\n"
"\n"
"A TCP proxy on 127.0.0.1 between clients and HOST:PORT that injects network faults, for tests.\n"
"Each client connection gets its own connection to the target.\n"
"\n"
"options:\n"
"  --target HOST:PORT     where to forward (required)\n"
"  --listen-port N        port to listen on (default 0: a free port chosen by the kernel)\n"
"  --port-file FILE       once listening, write \"PORT CONTROL_PORT\\n\" to FILE (atomically,\n"
"                         through a rename), so a caller can wait for the file to appear\n"
"  --mode MODE [ARGS]     initial mode, as the control command below (default: pass)\n"
"  --die-with-parent      exit when the parent process dies (PR_SET_PDEATHSIG)\n"
"  --help                 this text\n"
"\n"
"On start it prints \"fault-proxy listening 127.0.0.1:PORT control 127.0.0.1:CONTROL_PORT\" on\n"
"stdout. It runs until SIGTERM/SIGINT or the control command \"quit\".\n"
"\n"
"control: connect to 127.0.0.1:CONTROL_PORT and send lines; each is answered with one line,\n"
"\"ok <state>\" or \"err <reason>\" (bash: exec 3<>/dev/tcp/127.0.0.1/$CTL; echo pass >&3;\n"
"read -r ack <&3). A mode applies at once to open connections and queued bytes.\n"
"  pass                   forward everything as it comes\n"
"  trickle MS [BYTES] [DIR]  forward BYTES (default 1) per MS milliseconds\n"
"  delay MS [DIR]         hold every chunk MS milliseconds before forwarding it\n"
"  blackhole              keep connections open, discard everything both ways (and what is\n"
"                         queued); new connections are accepted and blackholed too\n"
"  close                  close every connection; new ones are accepted and closed at once\n"
"  reset N                every connection (open now or accepted later) passes N more bytes\n"
"                         from the server, then its client side is reset (RST: SO_LINGER 0)\n"
"                         at once; with N = 0 when the first server byte is ready. The client's\n"
"                         bytes still reach the server, so a request runs and its reply breaks\n"
"  truncate N             as reset, but the client side gets a FIN after the N bytes (what the\n"
"                         client sends afterwards is read and dropped, the server's rest too)\n"
"  status                 answer the state without changing it\n"
"  quit                   exit\n"
"DIR is s2c (server to client, the default), c2s, or both. The state line reads\n"
"\"mode=M ms=N bytes=N dir=D conns=N accepted=N refused=N s2c=N c2s=N cuts=N\": connections\n"
"open now, connections accepted and refused (close mode, target down), bytes forwarded since\n"
"start, and connections cut by reset/truncate since start.\n");
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    return ntohs(a.sin_port);
}

static int parse_target(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return -1;
    char host[256];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof host)
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
        return -1;
    memcpy(&target, res->ai_addr, res->ai_addrlen);
    target_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* "trickle 150 1 s2c" etc. into @p out. 0, or -1 with @p why set. */
static int parse_mode(char **tok, int ntok, settings *out, const char **why)
{
    settings s = {MODE_PASS, DIR_S2C, 0, 1};
    int m = -1;
    for (int i = 0; i < MODE_COUNT; i++)
        if (strcmp(tok[0], mode_names[i]) == 0)
            m = i;
    if (m < 0) {
        *why = "unknown mode (pass, trickle, delay, blackhole, close, reset, truncate)";
        return -1;
    }
    s.mode = (enum mode)m;
    int i = 1;
    if (s.mode == MODE_RESET || s.mode == MODE_TRUNCATE) {
        char *end;
        if (i >= ntok || (s.bytes = strtol(tok[i], &end, 10), *end != '\0') || s.bytes < 0 ||
            s.bytes > 1 << 20) {
            *why = "want N (0..1048576)";
            return -1;
        }
        i++;
    }
    if (s.mode == MODE_TRICKLE || s.mode == MODE_DELAY) {
        char *end;
        if (i >= ntok || (s.ms = strtol(tok[i], &end, 10), *end != '\0') || s.ms < 0 ||
            s.ms > 3600000) {
            *why = "want MS (0..3600000)";
            return -1;
        }
        i++;
        if (s.mode == MODE_TRICKLE && i < ntok && tok[i][0] >= '0' && tok[i][0] <= '9') {
            if ((s.bytes = strtol(tok[i], &end, 10), *end != '\0') || s.bytes < 1 ||
                s.bytes > 1 << 20) {
                *why = "want BYTES (1..1048576)";
                return -1;
            }
            i++;
        }
        if (i < ntok) {
            if (strcmp(tok[i], "s2c") == 0)
                s.dirs = DIR_S2C;
            else if (strcmp(tok[i], "c2s") == 0)
                s.dirs = DIR_C2S;
            else if (strcmp(tok[i], "both") == 0)
                s.dirs = DIR_S2C | DIR_C2S;
            else {
                *why = "want DIR: s2c, c2s or both";
                return -1;
            }
            i++;
        }
    }
    if (i != ntok) {
        *why = "too many arguments";
        return -1;
    }
    *out = s;
    return 0;
}

static void dir_free(dir *d)
{
    free(d->buf);
    free(d->segs);
}

static void pair_close(pair *p)
{
    if (p->client >= 0 && p->rst) {
        struct linger lg = {1, 0}; /* close() then sends an RST instead of a FIN */
        setsockopt(p->client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (p->client >= 0)
        close(p->client);
    if (p->server >= 0)
        close(p->server);
    dir_free(&p->d[0]);
    dir_free(&p->d[1]);
    free(p);
}

static void close_all(void)
{
    for (int i = 0; i < MAX_PAIRS; i++)
        if (pairs[i] != NULL) {
            pair_close(pairs[i]);
            pairs[i] = NULL;
        }
}

static void dir_clear(dir *d)
{
    d->len = 0;
    d->nsegs = 0;
}

static int cutting(void)
{
    return cur.mode == MODE_RESET || cur.mode == MODE_TRUNCATE;
}

/* Apply a new mode: queued bytes follow the new rules; close and blackhole act at once. */
static void apply(const settings *s)
{
    cur = *s;
    int64_t now = now_ns();
    for (int i = 0; i < MAX_PAIRS; i++) {
        pair *p = pairs[i];
        if (p == NULL)
            continue;
        if (!p->cut)
            p->budget = cutting() ? cur.bytes : -1;
        for (int k = 0; k < 2; k++) {
            dir *d = &p->d[k];
            d->next_ns = now;
            if (cur.mode == MODE_BLACKHOLE)
                dir_clear(d);
            for (size_t j = 0; j < d->nsegs; j++) /* a delay counts from the change on */
                d->segs[j].ready_ns =
                    (cur.mode == MODE_DELAY && (cur.dirs & d->bit)) ? now + cur.ms * 1000000 : now;
        }
    }
    if (cur.mode == MODE_CLOSE)
        close_all();
}

static int conn_count(void)
{
    int n = 0;
    for (int i = 0; i < MAX_PAIRS; i++)
        n += pairs[i] != NULL;
    return n;
}

static void state_line(char *buf, size_t cap)
{
    uint64_t s2c = total_s2c, c2s = total_c2s;
    static const char *const dn[] = {"none", "s2c", "c2s", "both"};
    snprintf(buf, cap,
             "mode=%s ms=%ld bytes=%ld dir=%s conns=%d accepted=%llu refused=%llu s2c=%llu "
             "c2s=%llu cuts=%llu",
             mode_names[cur.mode], cur.ms, cur.bytes, dn[cur.dirs & 3], conn_count(),
             (unsigned long long)accepted, (unsigned long long)refused,
             (unsigned long long)s2c, (unsigned long long)c2s, (unsigned long long)cuts);
}

static void ctl_reply(int fd, const char *fmt, const char *arg)
{
    char line[640];
    int n = snprintf(line, sizeof line, fmt, arg);
    if (n > 0)
        (void)!send(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1,
                    MSG_NOSIGNAL);
}

/* Handle one control line. */
static void ctl_line(int fd, char *line)
{
    char *tok[8];
    int ntok = 0;
    for (char *t = strtok(line, " \t\r"); t != NULL && ntok < 8; t = strtok(NULL, " \t\r"))
        tok[ntok++] = t;
    char st[400];
    if (ntok == 0) {
        ctl_reply(fd, "err %s\n", "empty command");
        return;
    }
    if (strcmp(tok[0], "status") == 0 && ntok == 1) {
        state_line(st, sizeof st);
        ctl_reply(fd, "ok %s\n", st);
        return;
    }
    if (strcmp(tok[0], "quit") == 0 && ntok == 1) {
        ctl_reply(fd, "ok %s\n", "quit");
        stop_flag = 1;
        return;
    }
    settings s;
    const char *why = NULL;
    if (parse_mode(tok, ntok, &s, &why) != 0) {
        ctl_reply(fd, "err %s\n", why);
        return;
    }
    apply(&s);
    state_line(st, sizeof st);
    ctl_reply(fd, "ok %s\n", st);
}

static void ctl_close(int i)
{
    close(ctl_fds[i]);
    ctl_fds[i] = -1;
    ctl_len[i] = 0;
}

static void ctl_read(int i)
{
    ssize_t n = recv(ctl_fds[i], ctl_in[i] + ctl_len[i], sizeof ctl_in[i] - 1 - ctl_len[i], 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        ctl_close(i);
        return;
    }
    ctl_len[i] += (size_t)n;
    for (;;) {
        char *nl = memchr(ctl_in[i], '\n', ctl_len[i]);
        if (nl == NULL)
            break;
        *nl = '\0';
        size_t used = (size_t)(nl - ctl_in[i]) + 1;
        ctl_line(ctl_fds[i], ctl_in[i]);
        if (ctl_fds[i] < 0)
            return;
        memmove(ctl_in[i], ctl_in[i] + used, ctl_len[i] - used);
        ctl_len[i] -= used;
    }
    if (ctl_len[i] == sizeof ctl_in[i] - 1) {
        ctl_reply(ctl_fds[i], "err %s\n", "line too long");
        ctl_close(i);
    }
}

static int dir_append(dir *d, const char *data, size_t n, int64_t ready_ns)
{
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + n)
            cap *= 2;
        char *b = realloc(d->buf, cap);
        if (b == NULL)
            return -1;
        d->buf = b;
        d->cap = cap;
    }
    if (d->nsegs == d->segcap) {
        size_t cap = d->segcap ? d->segcap * 2 : 16;
        seg *s = realloc(d->segs, cap * sizeof *s);
        if (s == NULL)
            return -1;
        d->segs = s;
        d->segcap = cap;
    }
    memcpy(d->buf + d->len, data, n);
    d->len += n;
    d->segs[d->nsegs].len = n;
    d->segs[d->nsegs].ready_ns = ready_ns;
    d->nsegs++;
    return 0;
}

/* Bytes at the head of @p d allowed to leave now; *wake_ns lowered to when more may.
 * @p budget: what a pending reset/truncate still lets through (-1: no limit). */
static size_t dir_allowed(dir *d, long budget, int64_t now, int64_t *wake_ns)
{
    size_t ready = 0;
    for (size_t j = 0; j < d->nsegs; j++) {
        if (d->segs[j].ready_ns > now) {
            if (d->segs[j].ready_ns < *wake_ns)
                *wake_ns = d->segs[j].ready_ns;
            break;
        }
        ready += d->segs[j].len;
    }
    if (ready > 0 && cur.mode == MODE_TRICKLE && (cur.dirs & d->bit)) {
        if (now < d->next_ns) {
            if (d->next_ns < *wake_ns)
                *wake_ns = d->next_ns;
            return 0;
        }
        if (ready > (size_t)cur.bytes)
            ready = (size_t)cur.bytes;
    }
    if (budget >= 0 && ready > (size_t)budget)
        ready = (size_t)budget;
    return ready;
}

static void dir_consume(dir *d, size_t n)
{
    memmove(d->buf, d->buf + n, d->len - n);
    d->len -= n;
    d->total += n;
    if (d->bit == DIR_S2C)
        total_s2c += n;
    else
        total_c2s += n;
    size_t left = n, j = 0;
    while (left > 0 && j < d->nsegs) {
        if (d->segs[j].len <= left) {
            left -= d->segs[j].len;
            j++;
        } else {
            d->segs[j].len -= left;
            left = 0;
        }
    }
    memmove(d->segs, d->segs + j, (d->nsegs - j) * sizeof *d->segs);
    d->nsegs -= j;
}

/* Read what @p d's source has. 0, or -1 when the pair must close. */
static int dir_read(pair *p, dir *d)
{
    char buf[65536];
    ssize_t n = recv(d->from, buf, sizeof buf, 0);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    if (n == 0) {
        d->eof = 1;
        return 0;
    }
    /* a blackhole drops everything; after a truncate, what either side still sends is dropped */
    if (cur.mode == MODE_BLACKHOLE || p->cut)
        return 0;
    int64_t now = now_ns();
    int64_t ready = (cur.mode == MODE_DELAY && (cur.dirs & d->bit)) ? now + cur.ms * 1000000 : now;
    return dir_append(d, buf, (size_t)n, ready);
}

/* The reset/truncate cut of @p p, once its budget is spent: 0, or -1 when the pair must close
 * now (reset). */
static int pair_cut(pair *p)
{
    dir *s2c = &p->d[1];
    cuts++;
    p->cut = 1;
    p->budget = -1;
    dir_clear(s2c);
    if (cur.mode == MODE_RESET) {
        p->rst = 1;
        return -1;
    }
    /* truncate: FIN to the client; the pair closes once the client has closed its side too */
    shutdown(p->client, SHUT_WR);
    s2c->shut = 1;
    dir_clear(&p->d[0]);
    return 0;
}

/* Forward what may leave now. 0, or -1 when the pair must close. */
static int dir_write(pair *p, dir *d, int64_t now, int64_t *wake_ns)
{
    if (p->cut && d->bit == DIR_S2C)
        return 0;
    long budget = d->bit == DIR_S2C ? p->budget : -1;
    for (;;) {
        if (budget == 0 && d->bit == DIR_S2C && d->len > 0) /* "reset 0": at the first byte */
            return pair_cut(p);
        size_t n = dir_allowed(d, budget, now, wake_ns);
        if (n == 0)
            break;
        ssize_t w = send(d->to, d->buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0)
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        dir_consume(d, (size_t)w);
        if (budget > 0) {
            budget -= (long)w;
            p->budget = budget;
            if (budget == 0)
                return pair_cut(p);
        }
        if (cur.mode == MODE_TRICKLE && (cur.dirs & d->bit)) {
            d->next_ns = now + cur.ms * 1000000;
            if (d->len > 0 && d->next_ns < *wake_ns)
                *wake_ns = d->next_ns;
            break;
        }
    }
    /* a blackhole passes nothing, not even the end of the stream */
    if (d->eof && d->len == 0 && !d->shut && cur.mode != MODE_BLACKHOLE) {
        shutdown(d->to, SHUT_WR);
        d->shut = 1;
    }
    return 0;
}

static void accept_one(int lfd)
{
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    int slot = -1;
    for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
        if (pairs[i] == NULL)
            slot = i;
    if (cur.mode == MODE_CLOSE || slot < 0) {
        refused++;
        close(c);
        return;
    }
    int s = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&target, target_len) != 0 || set_nonblock(s) != 0) {
        if (s >= 0)
            close(s);
        refused++;
        close(c);
        return;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pair *p = calloc(1, sizeof *p);
    if (p == NULL) {
        close(s);
        close(c);
        return;
    }
    p->budget = cutting() ? cur.bytes : -1;
    p->client = c;
    p->server = s;
    p->d[0].from = c;
    p->d[0].to = s;
    p->d[0].bit = DIR_C2S;
    p->d[1].from = s;
    p->d[1].to = c;
    p->d[1].bit = DIR_S2C;
    pairs[slot] = p;
    accepted++;
}

static int write_port_file(const char *path, int port, int ctl_port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d %d\n", port, ctl_port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *target_arg = NULL, *port_file = NULL;
    int listen_port = 0;
    char *mode_tok[8];
    int mode_ntok = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--target") == 0 && i + 1 < argc) {
            target_arg = argv[++i];
        } else if (strcmp(a, "--listen-port") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 0 || v > 65535) {
                fprintf(stderr, "fault-proxy: bad --listen-port %s\n", argv[i]);
                return 2;
            }
            listen_port = (int)v;
        } else if (strcmp(a, "--port-file") == 0 && i + 1 < argc) {
            port_file = argv[++i];
        } else if (strcmp(a, "--die-with-parent") == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1)
                return 1;
        } else if (strcmp(a, "--mode") == 0 && i + 1 < argc) {
            mode_ntok = 0;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 && mode_ntok < 8)
                mode_tok[mode_ntok++] = argv[++i];
        } else {
            fprintf(stderr, "fault-proxy: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (target_arg == NULL) {
        fprintf(stderr, "fault-proxy: --target HOST:PORT is required (see --help)\n");
        return 2;
    }
    if (parse_target(target_arg) != 0) {
        fprintf(stderr, "fault-proxy: cannot resolve target '%s'\n", target_arg);
        return 2;
    }
    if (mode_ntok > 0) {
        settings s;
        const char *why = NULL;
        if (parse_mode(mode_tok, mode_ntok, &s, &why) != 0) {
            fprintf(stderr, "fault-proxy: --mode: %s\n", why);
            return 2;
        }
        cur = s;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* this program's own process; sends use MSG_NOSIGNAL anyway */

    int lfd = listen_on(listen_port);
    int cfd = listen_on(0);
    if (lfd < 0 || cfd < 0) {
        fprintf(stderr, "fault-proxy: cannot listen on 127.0.0.1: %s\n", strerror(errno));
        return 1;
    }
    int port = bound_port(lfd), ctl_port = bound_port(cfd);
    for (int i = 0; i < MAX_CTL; i++)
        ctl_fds[i] = -1;
    printf("fault-proxy listening 127.0.0.1:%d control 127.0.0.1:%d\n", port, ctl_port);
    fflush(stdout);
    if (port_file != NULL && write_port_file(port_file, port, ctl_port) != 0) {
        fprintf(stderr, "fault-proxy: cannot write %s: %s\n", port_file, strerror(errno));
        return 1;
    }

    struct pollfd pfd[2 + MAX_CTL + 2 * MAX_PAIRS];
    while (!stop_flag) {
        int64_t now = now_ns();
        int64_t wake = now + 1000 * 1000000LL;
        /* forward first, so the wake-up time accounts for what is still queued */
        for (int i = 0; i < MAX_PAIRS; i++) {
            pair *p = pairs[i];
            if (p == NULL)
                continue;
            /* a client that gave up on a blackholed connection ends it */
            if (dir_write(p, &p->d[0], now, &wake) != 0 || dir_write(p, &p->d[1], now, &wake) != 0 ||
                (p->d[0].shut && p->d[1].shut) || (cur.mode == MODE_BLACKHOLE && p->d[0].eof)) {
                pair_close(p);
                pairs[i] = NULL;
            }
        }
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = cfd, .events = POLLIN};
        int ctl_at[MAX_CTL], pair_at[MAX_PAIRS];
        for (int i = 0; i < MAX_CTL; i++) {
            ctl_at[i] = -1;
            if (ctl_fds[i] >= 0) {
                ctl_at[i] = n;
                pfd[n++] = (struct pollfd){.fd = ctl_fds[i], .events = POLLIN};
            }
        }
        for (int i = 0; i < MAX_PAIRS; i++) {
            pair_at[i] = -1;
            pair *p = pairs[i];
            if (p == NULL)
                continue;
            pair_at[i] = n;
            for (int k = 0; k < 2; k++) {
                dir *d = &p->d[k];
                short ev = 0;
                if (!d->eof && d->len < QUEUE_MAX)
                    ev |= POLLIN;
                /* the destination's writability matters when bytes may leave now */
                dir *back = &p->d[1 - k];
                if (back->len > 0 && back->nsegs > 0 && back->segs[0].ready_ns <= now &&
                    !(cur.mode == MODE_TRICKLE && (cur.dirs & back->bit) && now < back->next_ns))
                    ev |= POLLOUT;
                pfd[n++] = (struct pollfd){.fd = d->from, .events = ev};
            }
        }
        int64_t ms = (wake - now + 999999) / 1000000;
        int r = poll(pfd, (nfds_t)n, ms < 0 ? 0 : (int)(ms > INT_MAX ? INT_MAX : ms));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("fault-proxy: poll");
            break;
        }
        if (pfd[0].revents & POLLIN)
            accept_one(lfd);
        if (pfd[1].revents & POLLIN) {
            int c = accept4(cfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c >= 0) {
                int slot = -1;
                for (int i = 0; i < MAX_CTL && slot < 0; i++)
                    if (ctl_fds[i] < 0)
                        slot = i;
                if (slot < 0)
                    close(c);
                else
                    ctl_fds[slot] = c;
            }
        }
        for (int i = 0; i < MAX_CTL; i++)
            if (ctl_at[i] >= 0 && ctl_fds[i] >= 0 &&
                (pfd[ctl_at[i]].revents & (POLLIN | POLLHUP | POLLERR)))
                ctl_read(i);
        for (int i = 0; i < MAX_PAIRS; i++) {
            pair *p = pairs[i];
            if (p == NULL || pair_at[i] < 0)
                continue; /* closed by a control command in this round, or new */
            int bad = 0;
            for (int k = 0; k < 2 && !bad; k++) {
                short re = pfd[pair_at[i] + k].revents;
                if ((re & (POLLIN | POLLHUP | POLLERR)) && !p->d[k].eof && p->d[k].len < QUEUE_MAX)
                    bad = dir_read(p, &p->d[k]) != 0;
            }
            if (bad) {
                pair_close(p);
                pairs[i] = NULL;
            }
        }
    }
    close_all();
    for (int i = 0; i < MAX_CTL; i++)
        if (ctl_fds[i] >= 0)
            close(ctl_fds[i]);
    close(lfd);
    close(cfd);
    return 0;
}
