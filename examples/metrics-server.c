/* Shows: of_ring_metrics_write, of_lock_provider_metrics_write (Prometheus text with a constant
 *        label), serving them on /metrics.
 *
 * A minimal loopback HTTP server (one thread, poll, HTTP/1.0-style one request per connection)
 * for a ring and a local lock provider:
 *   GET /metrics  both expositions, labelled service="metrics-server"
 *   GET /work     one unit of work: acquire and release the lock "job", and change the ring
 *                 (add a node, or remove the one added before), so the figures move
 * Usage: metrics-server [PORT [IDLE_MS]]   (PORT 0, the default: the kernel picks one;
 * "listening on 127.0.0.1:PORT" is printed either way). A connection that has not sent a whole
 * request within IDLE_MS (default 5000) gets "408 Request Timeout" and is closed, so that idle
 * or stalled clients cannot hold all MAX_CLIENTS slots and lock the scraper out. SIGTERM or
 * SIGINT stops it (exit status 0). */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "check.h"

#define MAX_CLIENTS 16
#define REQ_MAX 4096
#define IDLE_MS_DEFAULT 5000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The response body: grown by the metrics write callback. */
typedef struct body {
    char *data;
    size_t len, cap;
} body;

static int append(void *ctx, const char *data, size_t len)
{
    body *b = ctx;
    if (b->len + len > b->cap) {
        size_t cap = (b->len + len) * 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return OF_ERR_NOMEM; /* the metrics call stops and returns it */
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

typedef struct app {
    of_ring *ring;
    of_lock_provider *locks;
    unsigned work_done;
} app;

static const char *const labels[] = {"service", "metrics-server", NULL};

/* One unit of work: a lock round trip, then a ring change (odd units add a node, even units
 * remove it again). */
static int do_work(app *a)
{
    of_lock *l = NULL;
    int rc = of_lock_acquire(a->locks, "job", 3, NULL, &l);
    if (rc == OF_OK)
        rc = of_lock_release(l);
    if (rc != OF_OK)
        return rc;
    a->work_done++;
    if (a->work_done % 2)
        return of_ring_add(a->ring, "cache-extra", 11, 1, 99);
    return of_ring_remove(a->ring, "cache-extra", 11);
}

static void respond(int fd, const char *status, const char *type, const char *data, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", status, type, len);
    /* MSG_NOSIGNAL: a client that went away must not kill the server with SIGPIPE. */
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n)
        return;
    while (len > 0) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        data += w;
        len -= (size_t)w;
    }
}

static void handle(app *a, int fd, const char *req)
{
    if (strncmp(req, "GET ", 4) != 0) {
        respond(fd, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
        return;
    }
    const char *path = req + 4;
    size_t plen = strcspn(path, " ?\r\n");
    if (plen == 8 && memcmp(path, "/metrics", 8) == 0) {
        body b = {NULL, 0, 0};
        int rc = of_ring_metrics_write(a->ring, OF_METRICS_PROMETHEUS, NULL, labels, append, &b);
        if (rc == OF_OK)
            rc = of_lock_provider_metrics_write(a->locks, OF_METRICS_PROMETHEUS, NULL, labels,
                                                append, &b);
        if (rc == OF_OK)
            respond(fd, "200 OK", "text/plain; version=0.0.4", b.data, b.len);
        else
            respond(fd, "500 Internal Server Error", "text/plain", of_strerror(rc),
                    strlen(of_strerror(rc)));
        free(b.data);
    } else if (plen == 5 && memcmp(path, "/work", 5) == 0) {
        int rc = do_work(a);
        const char *msg = rc == OF_OK ? "ok\n" : of_strerror(rc);
        respond(fd, rc == OF_OK ? "200 OK" : "500 Internal Server Error", "text/plain", msg,
                strlen(msg));
    } else {
        respond(fd, "404 Not Found", "text/plain", "not found\n", 10);
    }
}

typedef struct client {
    int fd;
    long long deadline_ms; /* accepted + IDLE_MS: a whole request by then, or 408 */
    size_t len;
    char req[REQ_MAX + 1];
} client;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll()'s timeout: until the earliest client deadline, at most a second (the stop flag is
 * also seen through EINTR). */
static int poll_timeout_ms(const client *clients, size_t nc)
{
    long long t = 1000, now = now_ms();
    for (size_t i = 0; i < nc; i++)
        if (clients[i].deadline_ms - now < t)
            t = clients[i].deadline_ms - now;
    return t < 0 ? 0 : (int)t;
}

int main(int argc, char **argv)
{
    app a = {NULL, NULL, 0};
    CHECK(of_ring_create(NULL, &a.ring));
    const of_ring_node_spec nodes[] = {
        {"cache-a", 7, 1, 1}, {"cache-b", 7, 2, 2}, {"cache-c", 7, 1, 3}};
    CHECK(of_ring_add_many(a.ring, nodes, 3));
    CHECK(of_lock_local_create(&a.locks));

    int port = argc > 1 ? atoi(argv[1]) : 0;
    long long idle_ms = argc > 2 ? atoll(argv[2]) : IDLE_MS_DEFAULT;
    if (port < 0 || port > 65535 || idle_ms <= 0) {
        fprintf(stderr, "usage: metrics-server [PORT [IDLE_MS]]  (PORT 0..65535, IDLE_MS > 0)\n");
        return 2;
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("metrics-server: listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
    fflush(stdout);

    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop ends */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    static client clients[MAX_CLIENTS];
    size_t nc = 0;
    while (!stop) {
        struct pollfd pfd[MAX_CLIENTS + 1];
        pfd[0] = (struct pollfd){lfd, nc < MAX_CLIENTS ? POLLIN : 0, 0};
        for (size_t i = 0; i < nc; i++)
            pfd[i + 1] = (struct pollfd){clients[i].fd, POLLIN, 0};
        if (poll(pfd, nc + 1, poll_timeout_ms(clients, nc)) < 0) {
            if (errno == EINTR)
                continue;
            perror("metrics-server: poll");
            break;
        }
        /* Clients first (their slots stay put until the compaction below), then the listener. */
        long long now = now_ms();
        for (size_t i = 0; i < nc; i++) {
            client *c = &clients[i];
            int done = 0, closed = 0;
            if (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = recv(c->fd, c->req + c->len, REQ_MAX - c->len, 0);
                if (r > 0) {
                    c->len += (size_t)r;
                    c->req[c->len] = '\0';
                }
                closed = r <= 0;
                done = strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n");
            }
            if (done) {
                handle(&a, c->fd, c->req);
            } else if (!closed) { /* closed: the client went away, nothing to answer */
                if (c->len == REQ_MAX)
                    respond(c->fd, "431 Request Header Fields Too Large", "text/plain", "", 0);
                else if (now >= c->deadline_ms) /* idle, or trickling a request too slowly */
                    respond(c->fd, "408 Request Timeout", "text/plain", "", 0);
                else
                    continue; /* more of the request to come */
            }
            close(c->fd);
            c->fd = -1;
        }
        size_t k = 0;
        for (size_t i = 0; i < nc; i++)
            if (clients[i].fd >= 0)
                clients[k++] = clients[i];
        nc = k;
        if (pfd[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0) {
                clients[nc].fd = fd;
                clients[nc].deadline_ms = now_ms() + idle_ms;
                clients[nc].len = 0;
                clients[nc].req[0] = '\0';
                nc++;
            }
        }
    }
    for (size_t i = 0; i < nc; i++)
        close(clients[i].fd);
    close(lfd);
    of_lock_provider_destroy(a.locks);
    of_ring_destroy(a.ring);
    printf("stopped after %u units of work\n", a.work_done);
    return 0;
}
