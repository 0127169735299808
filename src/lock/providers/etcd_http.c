/* libcurl + jansson transport of the etcd provider (see etcd_http.h). */
#include "lock/providers/etcd_http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "common/clock.h"
#include "common/error.h"

/* Replies of this provider are small; a reply this large is not etcd talking to us. */
#define REPLY_MAX ((size_t)4 << 20)
#define POOL_IDLE_MAX 8

struct ofi_etcd_conn {
    CURL *easy;
    struct curl_slist *hdrs;
    uint64_t hdrs_gen;     /* token_gen the headers were built for (UINT64_MAX: none yet) */
    char *buf;
    size_t len, cap;
    int overflow;
    /* stream mode: every complete line is handed to on_msg */
    int (*on_msg)(void *ctx, json_t *msg);
    void *msg_ctx;
    int msg_done;          /* on_msg asked to stop */
    int msg_bad;           /* a line was not JSON */
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's own words on a failure ("Failed to connect ...") */
    ofi_etcd_conn *next;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* libcurl's process-wide init, once (it is reference counted and never undone here: another
 * part of the host process may use libcurl too). */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *ofi_etcd_base64(const void *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = (char)(i + 1 < len ? tab[(v >> 6) & 63] : '=');
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

int ofi_etcd_get_i64(const json_t *obj, const char *key, int64_t dflt, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    if (s[0] == '\0')
        return -1;
    errno = 0;
    char *end = NULL;
    long long x = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (int64_t)x;
    return 0;
}

/* Stream mode: hand over every complete line as a JSON value; plain mode: collect the body. */
static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    ofi_etcd_conn *k = arg;
    size_t n = size * nmemb;
    if (k->len + n > REPLY_MAX) {
        k->overflow = 1;
        return 0;
    }
    if (k->len + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 4096;
        while (cap < k->len + n + 1)
            cap *= 2;
        char *b = realloc(k->buf, cap);
        if (b == NULL) {
            k->overflow = 1;
            return 0;
        }
        k->buf = b;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, data, n);
    k->len += n;
    k->buf[k->len] = '\0';
    if (k->on_msg == NULL)
        return n;
    char *nl;
    while (!k->msg_done && (nl = memchr(k->buf, '\n', k->len)) != NULL) {
        size_t line = (size_t)(nl - k->buf);
        json_t *v = json_loadb(k->buf, line, 0, NULL);
        memmove(k->buf, nl + 1, k->len - line - 1);
        k->len -= line + 1;
        if (v == NULL) {
            k->msg_bad = 1;
            return 0;
        }
        json_t *res = json_object_get(v, "result");
        if (res == NULL) {
            /* An error object ends the stream; the caller reports it. */
            k->msg_bad = 1;
            json_decref(v);
            return 0;
        }
        if (k->on_msg(k->msg_ctx, res))
            k->msg_done = 1;
        json_decref(v);
    }
    return k->msg_done ? 0 : n;
}

/* libcurl 7.88 opens its sockets without SOCK_CLOEXEC: open them here, close-on-exec from the
 * start, so that a program that runs others (oflock's COMMAND) does not hand them its connections
 * to etcd, also when another thread forks meanwhile. */
static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)ctx;
    (void)purpose;
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static ofi_etcd_conn *conn_new(void)
{
    ofi_etcd_conn *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->easy = curl_easy_init();
    if (k->easy == NULL) {
        free(k);
        return NULL;
    }
    k->hdrs_gen = UINT64_MAX;
    CURL *e = k->easy;
    /* No signal handler, no alarm(): the host process's signal setup stays as it is (libcurl
     * then sends with MSG_NOSIGNAL, so a closed connection raises no SIGPIPE). */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
#endif
    return k;
}

static void conn_free(ofi_etcd_conn *k)
{
    if (k == NULL)
        return;
    curl_easy_cleanup(k->easy);
    curl_slist_free_all(k->hdrs);
    free(k->buf);
    free(k);
}

int ofi_etcd_client_init(ofi_etcd_client *c, ofi_etcd_config *cfg)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return ofi_fail(OF_ERR_UNAVAILABLE, "curl_global_init failed: %s",
                        curl_easy_strerror(global_rc));
    memset(c, 0, sizeof *c);
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        return ofi_fail(OF_ERR_NOMEM, "pthread_mutex_init");
    if (pthread_mutex_init(&c->auth_mu, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        return ofi_fail(OF_ERR_NOMEM, "pthread_mutex_init");
    }
    /* "etcd host:port,host:port": as many endpoints as fit, then "...". */
    char all[160];
    size_t used = 0;
    all[0] = '\0';
    for (size_t i = 0; i < cfg->ep_count; i++) {
        const char *hp = cfg->eps[i].base_url + strlen("http://");
        size_t need = strlen(hp) + (i > 0);
        if (used + need + 4 >= sizeof all) {
            snprintf(all + used, sizeof all - used, "%s", ",...");
            break;
        }
        used += (size_t)snprintf(all + used, sizeof all - used, "%s%s", i > 0 ? "," : "", hp);
    }
    int all_ok = ofi_plog_init(&c->log_all, "etcd", all) == 0;
    size_t made = 0;
    while (all_ok && made < cfg->ep_count &&
           ofi_plog_init(&c->log[made], "etcd", cfg->eps[made].base_url + strlen("http://")) == 0)
        made++;
    if (!all_ok || made < cfg->ep_count) {
        for (size_t i = 0; i < made; i++)
            ofi_plog_fini(&c->log[i]);
        if (all_ok)
            ofi_plog_fini(&c->log_all);
        pthread_mutex_destroy(&c->auth_mu);
        pthread_mutex_destroy(&c->mu);
        return ofi_fail(OF_ERR_NOMEM, "pthread_mutex_init");
    }
    for (size_t i = 0; i < OF_LOCK_ETCD_ENDPOINTS_MAX; i++) {
        atomic_init(&c->ep_failed[i], 0);
        atomic_init(&c->ep_reached[i], false);
    }
    c->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    atomic_init(&c->preferred, 0);
    return OF_OK;
}

void ofi_etcd_client_attach_log(ofi_etcd_client *c, of_lock_provider *provider)
{
    ofi_plog_attach(&c->log_all, provider);
    for (size_t i = 0; i < c->cfg.ep_count; i++)
        ofi_plog_attach(&c->log[i], provider);
}

void ofi_etcd_log(ofi_etcd_client *c, int ep, const ofi_etcd_why *why, int kind, int level,
                  const char *fmt, ...)
{
    ofi_plog_state *l = ep >= 0 && (size_t)ep < c->cfg.ep_count ? &c->log[ep] : &c->log_all;
    /* Lines are formatted only on failure paths, and not at all before the provider exists. */
    if (atomic_load_explicit(&l->provider, memory_order_acquire) == NULL)
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char lock[48 * 4 + 4];
    if (why == NULL || why->step == NULL)
        ofi_plog(l, kind, level, "%s", msg);
    else if (why->name == NULL)
        ofi_plog(l, kind, level, "%s: %s", why->step, msg);
    else
        ofi_plog(l, kind, level, "%s of lock \"%s\": %s", why->step,
                 ofi_plog_name(why->name, why->name_len, lock), msg);
}

void ofi_etcd_client_fini(ofi_etcd_client *c)
{
    while (c->idle != NULL) {
        ofi_etcd_conn *k = c->idle;
        c->idle = k->next;
        conn_free(k);
    }
    if (c->token != NULL) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    for (size_t i = 0; i < c->cfg.ep_count; i++)
        ofi_plog_fini(&c->log[i]);
    ofi_plog_fini(&c->log_all);
    ofi_etcd_config_free(&c->cfg);
    pthread_mutex_destroy(&c->auth_mu);
    pthread_mutex_destroy(&c->mu);
}

static ofi_etcd_conn *checkout(ofi_etcd_client *c)
{
    pthread_mutex_lock(&c->mu);
    ofi_etcd_conn *k = c->idle;
    if (k != NULL) {
        c->idle = k->next;
        c->idle_count--;
    }
    pthread_mutex_unlock(&c->mu);
    return k != NULL ? k : conn_new();
}

static void checkin(ofi_etcd_client *c, ofi_etcd_conn *k)
{
    k->on_msg = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->idle_count < POOL_IDLE_MAX) {
        k->next = c->idle;
        c->idle = k;
        c->idle_count++;
        k = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    conn_free(k);
}

/* (Re)build the request headers when the auth token changed since they were made. */
static int set_headers(ofi_etcd_client *c, ofi_etcd_conn *k, int with_token)
{
    pthread_mutex_lock(&c->mu);
    uint64_t gen = with_token ? c->token_gen : UINT64_MAX - 1;
    int rc = OF_OK;
    if (k->hdrs_gen != gen) {
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        /* No "Expect: 100-continue" round trip (curl adds it to bodies over 1 KiB). */
        if (h != NULL)
            h = curl_slist_append(h, "Expect:");
        if (h != NULL && with_token && c->token != NULL) {
            size_t n = strlen(c->token) + 32;
            char *line = malloc(n);
            struct curl_slist *h2 = NULL;
            if (line != NULL) {
                snprintf(line, n, "Authorization: %s", c->token);
                h2 = curl_slist_append(h, line);
                memset(line, 0, n);
                free(line);
            }
            if (h2 == NULL) {
                curl_slist_free_all(h);
                h = NULL;
            }
        }
        if (h == NULL) {
            rc = ofi_fail(OF_ERR_NOMEM, "building request headers");
        } else {
            curl_slist_free_all(k->hdrs);
            k->hdrs = h;
            k->hdrs_gen = gen;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (rc == OF_OK)
        curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, k->hdrs);
    return rc;
}

static long ms_until(int64_t deadline_ns)
{
    int64_t left = deadline_ns - ofi_now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + OFI_NS_PER_MS - 1) / OFI_NS_PER_MS;
    return ms > LONG_MAX ? LONG_MAX : (long)ms;
}

/* What one attempt on one endpoint ended with, beyond its status: what the request loop decides
 * on, and the words its log lines quote. */
typedef struct attempt {
    int sent;        /* some of the request left this process */
    int retry_auth;  /* refused for the token: authenticate again and retry */
    int next_ep;     /* refused before it ran: another endpoint may take it */
    int answered;    /* etcd answered with an error body (not a transport failure) */
    int timed_out;   /* libcurl gave up at the deadline */
    int grpc;        /* gRPC code of the error body, -1 without one */
    char cause[CURL_ERROR_SIZE]; /* libcurl's or etcd's words (never a credential: neither repeats one) */
} attempt;

static void attempt_init(attempt *a)
{
    memset(a, 0, sizeof *a);
    a->grpc = -1;
}

/* Map an etcd error body ({"error", "message", "code"}) to a status. */
static int map_error(const json_t *v, long http, attempt *a)
{
    json_int_t code = -1;
    const char *msg = NULL;
    if (v != NULL) {
        const json_t *jc = json_object_get(v, "code");
        if (json_is_integer(jc))
            code = json_integer_value(jc);
        msg = json_string_value(json_object_get(v, "message"));
        if (msg == NULL)
            msg = json_string_value(json_object_get(v, "error"));
    }
    if (msg == NULL)
        msg = "(no message)";
    a->grpc = (int)code;
    a->answered = code >= 0;
    ofi_plog_text(msg, strlen(msg), a->cause, sizeof a->cause);
    switch (code) {
    case 16: /* UNAUTHENTICATED: our token expired or the cluster lost it */
        a->retry_auth = 1;
        return ofi_fail(OF_ERR_AUTH, "etcd: %s", msg);
    case 7: /* PERMISSION_DENIED */
        return ofi_fail(OF_ERR_AUTH, "etcd: %s", msg);
    case 3: /* INVALID_ARGUMENT: also how etcd refuses credentials */
        if (strstr(msg, "authentication failed") != NULL || strstr(msg, "user name") != NULL) {
            if (strstr(msg, "user name is empty") != NULL)
                a->retry_auth = 1; /* auth was switched on since we last asked */
            return ofi_fail(OF_ERR_AUTH, "etcd: %s", msg);
        }
        return ofi_fail(OF_ERR_PROTOCOL, "etcd: %s", msg);
    case 4:  /* DEADLINE_EXCEEDED */
    case 1:  /* CANCELED */
        return ofi_fail(OF_ERR_UNKNOWN, "etcd: %s", msg);
    case 14: /* UNAVAILABLE: either refused before proposing, or proposed and timed out */
        if (strstr(msg, "timed out") != NULL || strstr(msg, "leader changed") != NULL)
            return ofi_fail(OF_ERR_UNKNOWN, "etcd: %s", msg);
        a->next_ep = 1;
        return ofi_fail(OF_ERR_UNAVAILABLE, "etcd: %s", msg);
    case 8: /* RESOURCE_EXHAUSTED: "too many requests", refused before proposing */
        a->next_ep = 1;
        return ofi_fail(OF_ERR_UNAVAILABLE, "etcd: %s", msg);
    case OFI_GRPC_NOT_FOUND:
        return ofi_fail(OF_ERR_NOT_FOUND, "etcd: %s", msg);
    default:
        if (code < 0) {
            snprintf(a->cause, sizeof a->cause, "HTTP %ld without an error body", http);
            return ofi_fail(OF_ERR_PROTOCOL, "etcd: HTTP %ld without an error body", http);
        }
        return ofi_fail(OF_ERR_PROTOCOL, "etcd: %s (code %d)", msg, (int)code);
    }
}

/* One request on one endpoint. */
static int perform(ofi_etcd_client *c, ofi_etcd_conn *k, size_t ep, const char *path,
                   const char *body, int64_t deadline_ns, int with_token, json_t **out,
                   attempt *a)
{
    long left = ms_until(deadline_ns);
    if (left == 0) {
        snprintf(a->cause, sizeof a->cause, "the step's deadline passed before sending");
        return ofi_fail(OF_ERR_UNAVAILABLE, "etcd: the step's deadline passed before sending");
    }
    char url[512];
    snprintf(url, sizeof url, "%s%s", c->cfg.eps[ep].base_url, path);
    int rc = set_headers(c, k, with_token);
    if (rc != OF_OK)
        return rc;
    long conn_ms = (long)c->cfg.connect_timeout_ms < left ? (long)c->cfg.connect_timeout_ms : left;
    CURL *e = k->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
    k->len = 0;
    k->overflow = 0;
    k->msg_done = 0;
    k->msg_bad = 0;
    k->errbuf[0] = '\0';
    CURLcode cr = curl_easy_perform(e);
    long req_size = 0, http = 0;
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req_size);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
    const char *host = c->cfg.eps[ep].base_url;
    if (k->on_msg != NULL && k->msg_done)
        return OF_OK; /* the stream was ended by us on purpose */
    if (cr != CURLE_OK) {
        if (cr == CURLE_OUT_OF_MEMORY)
            return ofi_fail(OF_ERR_NOMEM, "libcurl: out of memory");
        /* libcurl's buffer says more than its code ("... port 1 after 0 ms: Connection
         * refused"); it names the host, never a header, so never the token. */
        snprintf(a->cause, sizeof a->cause, "%s", k->errbuf[0] ? k->errbuf : curl_easy_strerror(cr));
        a->timed_out = cr == CURLE_OPERATION_TIMEDOUT;
        if (req_size <= 0) {
            /* Refused, unreachable, or the connect timed out: nothing reached etcd. */
            return ofi_fail(OF_ERR_UNAVAILABLE, "etcd %s: %s", host, curl_easy_strerror(cr));
        }
        a->sent = 1;
        if (cr == CURLE_WRITE_ERROR && (k->overflow || k->msg_bad)) {
            snprintf(a->cause, sizeof a->cause, "%s",
                     k->overflow ? "reply too large" : "malformed stream message");
            return ofi_fail(OF_ERR_PROTOCOL, "etcd %s: %s", host, a->cause);
        }
        /* Sent, and no (complete) reply by the deadline or before the connection died. */
        return ofi_fail(OF_ERR_UNKNOWN, "etcd %s: request sent, no reply: %s", host,
                        curl_easy_strerror(cr));
    }
    a->sent = 1;
    if (k->on_msg != NULL) {
        snprintf(a->cause, sizeof a->cause, "the stream ended early");
        return ofi_fail(OF_ERR_UNKNOWN, "etcd %s: the stream ended early", host);
    }
    json_error_t jerr;
    json_t *v = json_loadb(k->buf != NULL ? k->buf : "", k->len, 0, &jerr);
    if (http != 200) {
        rc = map_error(v, http, a);
        json_decref(v);
        return rc;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        snprintf(a->cause, sizeof a->cause, "reply is not a JSON object (HTTP 200, %zu bytes)",
                 k->len);
        return ofi_fail(OF_ERR_PROTOCOL, "etcd %s: reply is not a JSON object", host);
    }
    /* Streaming calls answered in one piece wrap their message; errors may come inside. */
    json_t *err = json_object_get(v, "error");
    if (err != NULL) {
        rc = map_error(json_is_object(err) ? err : v, http, a);
        json_decref(v);
        return rc;
    }
    *out = v;
    return OF_OK;
}

/* "host:port" of endpoint @p ep, for log lines. */
static const char *ep_name(const ofi_etcd_client *c, size_t ep)
{
    return c->cfg.eps[ep].base_url + strlen("http://");
}

/* The line for an attempt that ends the request with @p rc (not OF_OK, not a failover). Errors
 * the callers expect and handle (a lease not found, "lease exists", "auth not enabled") and
 * running out of memory are not logged. */
static void log_attempt(ofi_etcd_client *c, const ofi_etcd_why *why, size_t ep, const char *path,
                        int rc, const attempt *a, int is_stream)
{
    int e = (int)ep;
    size_t n = c->cfg.ep_count;
    switch (rc) {
    case OF_ERR_UNKNOWN:
        if (is_stream)
            return; /* a watch is a read: the engine simply tries again */
        if (a->answered)
            ofi_etcd_log(c, e, why, OFI_PLOG_TIMEOUT, OF_LOCK_LOG_WARN,
                         "%s: etcd answered \"%s\": outcome unknown", path, a->cause);
        else if (n > 1)
            ofi_etcd_log(c, e, why, a->timed_out ? OFI_PLOG_TIMEOUT : OFI_PLOG_BROKEN,
                         OF_LOCK_LOG_WARN,
                         "%s sent, no reply: %s (outcome unknown); the next step starts at %s",
                         path, a->cause, ep_name(c, (ep + 1) % n));
        else
            ofi_etcd_log(c, e, why, a->timed_out ? OFI_PLOG_TIMEOUT : OFI_PLOG_BROKEN,
                         OF_LOCK_LOG_WARN, "%s sent, no reply: %s (outcome unknown)", path,
                         a->cause);
        return;
    case OF_ERR_AUTH:
        ofi_etcd_log(c, e, why, OFI_PLOG_AUTH, OF_LOCK_LOG_ERROR, "credentials refused: %s",
                     a->cause);
        return;
    case OF_ERR_PROTOCOL:
        if (a->grpc == OFI_GRPC_FAILED_PRECONDITION)
            return;
        if (a->answered)
            ofi_etcd_log(c, e, why, OFI_PLOG_SERVER, OF_LOCK_LOG_ERROR,
                         "%s: etcd answered an error: %s (code %d)", path, a->cause, a->grpc);
        else
            ofi_etcd_log(c, e, why, OFI_PLOG_PARSE, OF_LOCK_LOG_ERROR, "%s: unreadable reply: %s",
                         path, a->cause);
        return;
    default:
        return;
    }
}

/* A request answered on @p ep: say so once, and after failures. */
static void note_answered(ofi_etcd_client *c, const ofi_etcd_why *why, size_t ep)
{
    unsigned failed = atomic_exchange_explicit(&c->ep_failed[ep], 0, memory_order_relaxed);
    bool reached = atomic_exchange_explicit(&c->ep_reached[ep], true, memory_order_relaxed);
    if (failed > 0)
        ofi_etcd_log(c, (int)ep, why, -1, OF_LOCK_LOG_INFO,
                     "connected again after %u failed requests", failed);
    else if (!reached)
        ofi_etcd_log(c, (int)ep, why, -1, OF_LOCK_LOG_INFO, "connected");
}

/* Authenticate (one thread at a time); @p stale_gen is the token generation that was refused,
 * @p refused etcd's words about it ("" on the first authentication). */
static int authenticate(ofi_etcd_client *c, uint64_t stale_gen, int64_t deadline_ns,
                        const char *refused);

static int request(ofi_etcd_client *c, ofi_etcd_why *why, const char *path, const char *body,
                   int64_t deadline_ns, int with_token, json_t **out, int *out_grpc)
{
    ofi_etcd_conn *k = checkout(c);
    if (k == NULL)
        return ofi_fail(OF_ERR_NOMEM, "libcurl: no easy handle");
    size_t n = c->cfg.ep_count;
    unsigned first = atomic_load_explicit(&c->preferred, memory_order_relaxed) % (unsigned)n;
    int rc = OF_ERR_UNAVAILABLE;
    int auth_retried = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ep = (first + i) % n;
        attempt a;
        attempt_init(&a);
        pthread_mutex_lock(&c->mu);
        uint64_t gen = c->token_gen;
        pthread_mutex_unlock(&c->mu);
        why->ep = (int)ep;
        rc = perform(c, k, ep, path, body, deadline_ns, with_token, out, &a);
        if (out_grpc != NULL)
            *out_grpc = a.grpc;
        if (rc == OF_OK) {
            atomic_store_explicit(&c->preferred, (unsigned)ep, memory_order_relaxed);
            note_answered(c, why, ep);
            break;
        }
        if (a.retry_auth && with_token && c->cfg.user != NULL && !auth_retried) {
            /* The request was refused before anything happened: get a fresh token and try the
             * same endpoint again. */
            auth_retried = 1;
            checkin(c, k);
            k = NULL;
            int ar = authenticate(c, gen, deadline_ns, a.cause);
            if (ar != OF_OK)
                return ar; /* authenticate's own request logged why */
            k = checkout(c);
            if (k == NULL)
                return ofi_fail(OF_ERR_NOMEM, "libcurl: no easy handle");
            i--;
            continue;
        }
        if (a.answered)
            note_answered(c, why, ep); /* an error body: the member is there and talking */
        else if (rc == OF_ERR_UNAVAILABLE || rc == OF_ERR_UNKNOWN)
            atomic_fetch_add_explicit(&c->ep_failed[ep], 1, memory_order_relaxed);
        if (a.sent && !a.next_ep) {
            if (rc == OF_ERR_UNKNOWN)
                /* That member may be stalled or cut off: start the next step elsewhere. */
                atomic_store_explicit(&c->preferred, (unsigned)((ep + 1) % n),
                                      memory_order_relaxed);
            log_attempt(c, why, ep, path, rc, &a, 0);
            break;
        }
        if (rc != OF_ERR_UNAVAILABLE) {
            log_attempt(c, why, ep, path, rc, &a, 0);
            break;
        }
        /* Nothing ran on this endpoint: the next one, while there is one and time is left. */
        int more = i + 1 < n && ms_until(deadline_ns) > 0;
        const char *what = a.answered ? "etcd refused it before running it" : "not reached";
        if (more) {
            ofi_etcd_log(c, (int)ep, why, OFI_PLOG_FAILOVER, OF_LOCK_LOG_WARN,
                         "%s, nothing sent: %s; trying %s next", what, a.cause,
                         ep_name(c, (ep + 1) % n));
            continue;
        }
        ofi_etcd_log(c, -1, why, OFI_PLOG_CONNECT, OF_LOCK_LOG_WARN,
                     "no endpoint took the request (%zu of %zu tried), nothing was sent "
                     "(UNAVAILABLE); last: %s %s: %s",
                     i + 1, n, ep_name(c, ep), what, a.cause);
        break;
    }
    if (k != NULL)
        checkin(c, k);
    return rc;
}

static int authenticate(ofi_etcd_client *c, uint64_t stale_gen, int64_t deadline_ns,
                        const char *refused)
{
    pthread_mutex_lock(&c->auth_mu);
    pthread_mutex_lock(&c->mu);
    int fresh = c->token_gen != stale_gen || c->auth_off;
    pthread_mutex_unlock(&c->mu);
    int rc = OF_OK;
    if (!fresh) {
        char user[68], step[96];
        ofi_plog_text(c->cfg.user, strlen(c->cfg.user), user, sizeof user);
        snprintf(step, sizeof step, "authenticate as user '%s'", user);
        ofi_etcd_why why = {step, NULL, 0, -1};
        json_t *req = json_pack("{s:s, s:s}", "name", c->cfg.user, "password", c->cfg.password);
        char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (body == NULL) {
            rc = ofi_fail(OF_ERR_NOMEM, "building the authenticate request");
        } else {
            json_t *reply = NULL;
            int grpc = -1;
            rc = request(c, &why, "/v3/auth/authenticate", body, deadline_ns, 0, &reply, &grpc);
            memset(body, 0, strlen(body));
            free(body);
            if (rc == OF_OK) {
                const char *tok = json_string_value(json_object_get(reply, "token"));
                char *copy = tok != NULL ? strdup(tok) : NULL;
                if (tok == NULL) {
                    rc = ofi_fail(OF_ERR_PROTOCOL, "etcd: authenticate reply without a token");
                    ofi_etcd_log(c, why.ep, &why, OFI_PLOG_PARSE, OF_LOCK_LOG_ERROR,
                                 "malformed reply: no token");
                } else if (copy == NULL) {
                    rc = ofi_fail(OF_ERR_NOMEM, "copying the auth token");
                }
                if (copy != NULL) {
                    pthread_mutex_lock(&c->mu);
                    int had = c->token != NULL;
                    if (c->token != NULL) {
                        memset(c->token, 0, strlen(c->token));
                        free(c->token);
                    }
                    c->token = copy;
                    c->token_gen++;
                    pthread_mutex_unlock(&c->mu);
                    if (had)
                        ofi_etcd_log(c, why.ep, &why, -1, OF_LOCK_LOG_INFO,
                                     "auth token refreshed (etcd refused the old one: %s)",
                                     refused);
                    else
                        ofi_etcd_log(c, why.ep, &why, -1, OF_LOCK_LOG_INFO, "authenticated");
                }
                json_decref(reply);
            } else if (grpc == OFI_GRPC_FAILED_PRECONDITION) {
                /* "authentication is not enabled": send requests without a token. */
                pthread_mutex_lock(&c->mu);
                c->auth_off = 1;
                pthread_mutex_unlock(&c->mu);
                ofi_etcd_log(c, why.ep, &why, -1, OF_LOCK_LOG_INFO,
                             "authentication is not enabled on the cluster: requests go "
                             "without a token");
                rc = OF_OK;
            } else if (rc == OF_ERR_AUTH) {
                rc = ofi_fail(OF_ERR_AUTH, "etcd refused the credentials of user '%s'",
                              c->cfg.user);
            }
        }
    }
    pthread_mutex_unlock(&c->auth_mu);
    return rc;
}

static int ensure_token(ofi_etcd_client *c, int64_t deadline_ns)
{
    if (c->cfg.user == NULL)
        return OF_OK;
    pthread_mutex_lock(&c->mu);
    int have = c->token != NULL || c->auth_off;
    uint64_t gen = c->token_gen;
    pthread_mutex_unlock(&c->mu);
    return have ? OF_OK : authenticate(c, gen, deadline_ns, "");
}

int ofi_etcd_post(ofi_etcd_client *c, ofi_etcd_why *why, const char *path, json_t *body,
                  int64_t deadline_ns, json_t **out, int *out_grpc)
{
    ofi_etcd_why none = {NULL, NULL, 0, -1};
    if (why == NULL)
        why = &none;
    why->ep = -1;
    int grpc = -1;
    int rc = ensure_token(c, deadline_ns);
    if (rc != OF_OK)
        return rc;
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL)
        return ofi_fail(OF_ERR_NOMEM, "encoding a request");
    rc = request(c, why, path, text, deadline_ns, 1, out, &grpc);
    free(text);
    if (out_grpc != NULL)
        *out_grpc = grpc;
    return rc;
}

int ofi_etcd_stream(ofi_etcd_client *c, ofi_etcd_why *why, const char *path, json_t *body,
                    int64_t until_ns, int (*on_msg)(void *ctx, json_t *msg), void *ctx)
{
    ofi_etcd_why none = {NULL, NULL, 0, -1};
    if (why == NULL)
        why = &none;
    int rc = ensure_token(c, until_ns);
    if (rc != OF_OK)
        return rc;
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL)
        return ofi_fail(OF_ERR_NOMEM, "encoding a request");
    ofi_etcd_conn *k = checkout(c);
    if (k == NULL) {
        free(text);
        return ofi_fail(OF_ERR_NOMEM, "libcurl: no easy handle");
    }
    k->on_msg = on_msg;
    k->msg_ctx = ctx;
    size_t n = c->cfg.ep_count;
    size_t ep = atomic_load_explicit(&c->preferred, memory_order_relaxed) % (unsigned)n;
    why->ep = (int)ep;
    attempt a;
    attempt_init(&a);
    json_t *out = NULL;
    rc = perform(c, k, ep, path, text, until_ns, 1, &out, &a);
    json_decref(out);
    free(text);
    /* A stream ended by the deadline is the expected way out of a wait. */
    if (rc == OF_ERR_UNKNOWN && ms_until(until_ns) == 0)
        rc = OF_ERR_TIMEOUT;
    else if (rc != OF_OK)
        log_attempt(c, why, ep, path, rc, &a, 1);
    checkin(c, k);
    return rc;
}
