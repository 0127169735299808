/* libcurl + jansson transport of the etcd provider (see etcd_http.h). */
#include "lock/providers/etcd_http.h"

#include <errno.h>
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
    c->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    atomic_init(&c->preferred, 0);
    return OF_OK;
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

/* Map an etcd error body ({"error", "message", "code"}) to a status. */
static int map_error(const json_t *v, long http, int *out_grpc, int *retry_auth, int *next_ep)
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
    if (out_grpc != NULL)
        *out_grpc = (int)code;
    switch (code) {
    case 16: /* UNAUTHENTICATED: our token expired or the cluster lost it */
        *retry_auth = 1;
        return ofi_fail(OF_ERR_AUTH, "etcd: %s", msg);
    case 7: /* PERMISSION_DENIED */
        return ofi_fail(OF_ERR_AUTH, "etcd: %s", msg);
    case 3: /* INVALID_ARGUMENT: also how etcd refuses credentials */
        if (strstr(msg, "authentication failed") != NULL || strstr(msg, "user name") != NULL) {
            if (strstr(msg, "user name is empty") != NULL)
                *retry_auth = 1; /* auth was switched on since we last asked */
            return ofi_fail(OF_ERR_AUTH, "etcd: %s", msg);
        }
        return ofi_fail(OF_ERR_PROTOCOL, "etcd: %s", msg);
    case 4:  /* DEADLINE_EXCEEDED */
    case 1:  /* CANCELED */
        return ofi_fail(OF_ERR_UNKNOWN, "etcd: %s", msg);
    case 14: /* UNAVAILABLE: either refused before proposing, or proposed and timed out */
        if (strstr(msg, "timed out") != NULL || strstr(msg, "leader changed") != NULL)
            return ofi_fail(OF_ERR_UNKNOWN, "etcd: %s", msg);
        *next_ep = 1;
        return ofi_fail(OF_ERR_UNAVAILABLE, "etcd: %s", msg);
    case 8: /* RESOURCE_EXHAUSTED: "too many requests", refused before proposing */
        *next_ep = 1;
        return ofi_fail(OF_ERR_UNAVAILABLE, "etcd: %s", msg);
    case OFI_GRPC_NOT_FOUND:
        return ofi_fail(OF_ERR_NOT_FOUND, "etcd: %s", msg);
    default:
        if (code < 0)
            return ofi_fail(OF_ERR_PROTOCOL, "etcd: HTTP %ld without an error body", http);
        return ofi_fail(OF_ERR_PROTOCOL, "etcd: %s (code %d)", msg, (int)code);
    }
}

/* One request on one endpoint. *sent tells whether any of it left this process. */
static int perform(ofi_etcd_client *c, ofi_etcd_conn *k, size_t ep, const char *path,
                   const char *body, int64_t deadline_ns, int with_token, json_t **out,
                   int *out_grpc, int *sent, int *retry_auth, int *next_ep)
{
    *sent = 0;
    long left = ms_until(deadline_ns);
    if (left == 0)
        return ofi_fail(OF_ERR_UNAVAILABLE, "etcd: the step's deadline passed before sending");
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
        if (req_size <= 0) {
            /* Refused, unreachable, or the connect timed out: nothing reached etcd. */
            return ofi_fail(OF_ERR_UNAVAILABLE, "etcd %s: %s", host, curl_easy_strerror(cr));
        }
        *sent = 1;
        if (cr == CURLE_WRITE_ERROR && (k->overflow || k->msg_bad))
            return ofi_fail(OF_ERR_PROTOCOL, "etcd %s: %s", host,
                            k->overflow ? "reply too large" : "malformed stream message");
        /* Sent, and no (complete) reply by the deadline or before the connection died. */
        return ofi_fail(OF_ERR_UNKNOWN, "etcd %s: request sent, no reply: %s", host,
                        curl_easy_strerror(cr));
    }
    *sent = 1;
    if (k->on_msg != NULL)
        return ofi_fail(OF_ERR_UNKNOWN, "etcd %s: the stream ended early", host);
    json_error_t jerr;
    json_t *v = json_loadb(k->buf != NULL ? k->buf : "", k->len, 0, &jerr);
    if (http != 200) {
        rc = map_error(v, http, out_grpc, retry_auth, next_ep);
        json_decref(v);
        return rc;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return ofi_fail(OF_ERR_PROTOCOL, "etcd %s: reply is not a JSON object", host);
    }
    /* Streaming calls answered in one piece wrap their message; errors may come inside. */
    json_t *err = json_object_get(v, "error");
    if (err != NULL) {
        rc = map_error(json_is_object(err) ? err : v, http, out_grpc, retry_auth, next_ep);
        json_decref(v);
        return rc;
    }
    *out = v;
    return OF_OK;
}

/* Authenticate (one thread at a time); @p stale_gen is the token generation that was refused. */
static int authenticate(ofi_etcd_client *c, uint64_t stale_gen, int64_t deadline_ns);

static int request(ofi_etcd_client *c, const char *path, const char *body, int64_t deadline_ns,
                   int with_token, json_t **out, int *out_grpc)
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
        int sent = 0, retry_auth = 0, next_ep = 0;
        pthread_mutex_lock(&c->mu);
        uint64_t gen = c->token_gen;
        pthread_mutex_unlock(&c->mu);
        rc = perform(c, k, ep, path, body, deadline_ns, with_token, out, out_grpc, &sent,
                     &retry_auth, &next_ep);
        if (rc == OF_OK) {
            atomic_store_explicit(&c->preferred, (unsigned)ep, memory_order_relaxed);
            break;
        }
        if (retry_auth && with_token && c->cfg.user != NULL && !auth_retried) {
            /* The request was refused before anything happened: get a fresh token and try the
             * same endpoint again. */
            auth_retried = 1;
            checkin(c, k);
            k = NULL;
            int ar = authenticate(c, gen, deadline_ns);
            if (ar != OF_OK)
                return ar;
            k = checkout(c);
            if (k == NULL)
                return ofi_fail(OF_ERR_NOMEM, "libcurl: no easy handle");
            i--;
            continue;
        }
        if (sent && !next_ep) {
            if (rc == OF_ERR_UNKNOWN)
                /* That member may be stalled or cut off: start the next step elsewhere. */
                atomic_store_explicit(&c->preferred, (unsigned)((ep + 1) % n),
                                      memory_order_relaxed);
            break;
        }
        if (rc != OF_ERR_UNAVAILABLE)
            break;
        if (ms_until(deadline_ns) == 0)
            break;
    }
    if (k != NULL)
        checkin(c, k);
    return rc;
}

static int authenticate(ofi_etcd_client *c, uint64_t stale_gen, int64_t deadline_ns)
{
    pthread_mutex_lock(&c->auth_mu);
    pthread_mutex_lock(&c->mu);
    int fresh = c->token_gen != stale_gen || c->auth_off;
    pthread_mutex_unlock(&c->mu);
    int rc = OF_OK;
    if (!fresh) {
        json_t *req = json_pack("{s:s, s:s}", "name", c->cfg.user, "password", c->cfg.password);
        char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (body == NULL) {
            rc = ofi_fail(OF_ERR_NOMEM, "building the authenticate request");
        } else {
            json_t *reply = NULL;
            int grpc = -1;
            rc = request(c, "/v3/auth/authenticate", body, deadline_ns, 0, &reply, &grpc);
            memset(body, 0, strlen(body));
            free(body);
            if (rc == OF_OK) {
                const char *tok = json_string_value(json_object_get(reply, "token"));
                char *copy = tok != NULL ? strdup(tok) : NULL;
                if (tok == NULL)
                    rc = ofi_fail(OF_ERR_PROTOCOL, "etcd: authenticate reply without a token");
                else if (copy == NULL)
                    rc = ofi_fail(OF_ERR_NOMEM, "copying the auth token");
                if (copy != NULL) {
                    pthread_mutex_lock(&c->mu);
                    if (c->token != NULL) {
                        memset(c->token, 0, strlen(c->token));
                        free(c->token);
                    }
                    c->token = copy;
                    c->token_gen++;
                    pthread_mutex_unlock(&c->mu);
                }
                json_decref(reply);
            } else if (grpc == OFI_GRPC_FAILED_PRECONDITION) {
                /* "authentication is not enabled": send requests without a token. */
                pthread_mutex_lock(&c->mu);
                c->auth_off = 1;
                pthread_mutex_unlock(&c->mu);
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
    return have ? OF_OK : authenticate(c, gen, deadline_ns);
}

int ofi_etcd_post(ofi_etcd_client *c, const char *path, json_t *body, int64_t deadline_ns,
                  json_t **out, int *out_grpc)
{
    int grpc = -1;
    int rc = ensure_token(c, deadline_ns);
    if (rc != OF_OK)
        return rc;
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL)
        return ofi_fail(OF_ERR_NOMEM, "encoding a request");
    rc = request(c, path, text, deadline_ns, 1, out, &grpc);
    free(text);
    if (out_grpc != NULL)
        *out_grpc = grpc;
    return rc;
}

int ofi_etcd_stream(ofi_etcd_client *c, const char *path, json_t *body, int64_t until_ns,
                    int (*on_msg)(void *ctx, json_t *msg), void *ctx)
{
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
    int sent = 0, retry_auth = 0, next_ep = 0, grpc = -1;
    json_t *out = NULL;
    rc = perform(c, k, ep, path, text, until_ns, 1, &out, &grpc, &sent, &retry_auth, &next_ep);
    json_decref(out);
    free(text);
    /* A stream ended by the deadline is the expected way out of a wait. */
    if (rc == OF_ERR_UNKNOWN && ms_until(until_ns) == 0)
        rc = OF_ERR_TIMEOUT;
    checkin(c, k);
    return rc;
}
