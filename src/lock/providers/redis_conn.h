/* Connections to one Redis server (hiredis 0.14): a pool with checkout, a bounded connect and
 * one deadline for the round trips of a step (driven by poll(), not per-read timeouts),
 * AUTH/SELECT after every (re)connect, reconnect backoff, writes that cannot raise SIGPIPE
 * (send with MSG_NOSIGNAL), and the outcome classification every step relies on:
 *
 *   nothing sent                  -> OF_ERR_UNAVAILABLE
 *   sent, no (complete) reply     -> OF_ERR_UNKNOWN   (the context is dropped, never reused)
 *   credentials refused           -> OF_ERR_AUTH
 *   other error reply             -> OF_ERR_PROTOCOL  (reply text in of_last_error_detail())
 *
 * Built only with hiredis. The redlock provider may reuse it (one pool per server). */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_CONN_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_REDIS_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "lock/providers/provider_log.h"
#include "lock/providers/redis_config.h"

typedef struct ofi_redis_pool ofi_redis_pool;

/* One connection, used by one thread between checkout and checkin. */
typedef struct ofi_redis_conn {
    redisContext *ctx;           /* NULL until connected */
    ofi_redis_pool *pool;
    struct ofi_redis_conn *next; /* idle list */
    int64_t op_deadline_ns;      /* the current step's round trips (AUTH/SELECT after a connect,
                                    the command, EVAL after NOSCRIPT) all end by then */
    int io_error;                /* an I/O error in this checkout: close at checkin */
    char *keys;                  /* scratch for two keys, 2 * OFI_REDIS_KEY_CAP(prefix_len) */
    char sent_what[40];          /* the request in flight, for log lines ("EVALSHA acquire") */
    int64_t sent_ns;             /* when it was sent */
} ofi_redis_conn;

typedef struct ofi_redis_pool_stats {
    uint64_t connects;        /* connections set up (connect + AUTH + SELECT succeeded) */
    uint64_t connect_failures;
    uint64_t dropped;         /* contexts closed because broken, timed out or found dead */
    uint64_t eval_fallbacks;  /* NOSCRIPT answers followed by EVAL */
    uint64_t unknown;         /* round trips that ended sent-but-no-reply */
    uint64_t open;            /* connections open now (idle + checked out) */
} ofi_redis_pool_stats;

struct ofi_redis_pool {
    ofi_redis_config cfg;
    pthread_mutex_t mu;
    ofi_redis_conn *idle; /* LIFO: the warmest connection first */
    size_t idle_count;
    int64_t next_connect_ns; /* reconnect backoff: no new connect before this */
    uint32_t connect_failures_in_row;
    uint64_t rng;
    _Atomic uint64_t st_connects, st_connect_failures, st_dropped, st_eval_fallbacks, st_unknown;
    _Atomic int64_t st_open;
    ofi_plog_state log; /* "redis host:port" lines; silent until ofi_redis_pool_attach_log() */
    const void *loaded[8];              /* scripts this server answered NOSCRIPT for (mu): the
                                          first is a load, a later one a lost cache */
};

/* Most idle connections kept; more are closed at checkin. */
#define OFI_REDIS_POOL_IDLE_MAX 64
/* Reconnect backoff after failed connects: 5 ms doubling to 250 ms, half of it jittered. */
#define OFI_REDIS_BACKOFF_BASE_MS 5
#define OFI_REDIS_BACKOFF_CAP_MS 250

/* Copies @p cfg. OF_OK, OF_ERR_NOMEM. */
int ofi_redis_pool_init(ofi_redis_pool *pool, const ofi_redis_config *cfg);
/* Deliver the pool's log lines to @p provider as "<provider_name> <address>: ...". Call once,
 * after of_lock_provider_create() returned @p provider and before any step runs. */
void ofi_redis_pool_attach_log(ofi_redis_pool *pool, const char *provider_name,
                               of_lock_provider *provider);
/* Closes every idle connection; none may be checked out. */
void ofi_redis_pool_fini(ofi_redis_pool *pool);

/* Take an idle connection (dropping it if the server closed it
 * meanwhile) or open one within min(connect timeout, @p deadline_ns), and start a step whose
 * round trips (AUTH/SELECT of a new connection included) all end by one deadline:
 * min(@p deadline_ns, the first send + command timeout). @p deadline_ns 0 = none.
 * OF_OK; OF_ERR_UNAVAILABLE (connect failed, backoff, AUTH/SELECT unanswered); OF_ERR_AUTH;
 * OF_ERR_PROTOCOL (e.g. SELECT refused); OF_ERR_NOMEM. On error nothing is checked out. */
int ofi_redis_checkout(ofi_redis_pool *pool, int64_t deadline_ns, ofi_redis_conn **out);

/* Return @p conn: kept if healthy, else closed. */
void ofi_redis_checkin(ofi_redis_conn *conn);

/* One round trip of a binary-safe command. OF_OK with *out set (possibly an error reply: see
 * ofi_redis_reply_error), OF_ERR_UNAVAILABLE (nothing sent), OF_ERR_UNKNOWN (sent, no reply),
 * OF_ERR_NOMEM. After an error the connection is closed at checkin. */
int ofi_redis_command(ofi_redis_conn *conn, int argc, const char **argv, const size_t *lens,
                      redisReply **out);

/* A Lua script with its SHA-1 (lowercase hex of the body). */
typedef struct ofi_redis_script {
    const char *sha;
    const char *body;
    const char *name; /* "acquire", ... for log lines (NULL: the SHA's first characters) */
} ofi_redis_script;

/* EVALSHA, and EVAL when the server answers NOSCRIPT (a restart or SCRIPT FLUSH lost the cache).
 * @p args holds @p nkeys keys then the other arguments, @p nargs in all (at most 8). Returns as
 * ofi_redis_command. */
int ofi_redis_eval(ofi_redis_conn *conn, const ofi_redis_script *script, int nkeys, int nargs,
                   const char **args, const size_t *lens, redisReply **out);

/* Whether @p r is a NOSCRIPT error (the script cache lost the script: nothing ran). */
int ofi_redis_reply_is_noscript(const redisReply *r);

/* Split-phase I/O, for driving several connections at once (redlock): send one request on
 * each, then poll() their sockets (ofi_redis_conn.ctx->fd, POLLIN) against each connection's
 * op_deadline_ns and collect the replies with ofi_redis_read_nb.
 *
 * Send EVALSHA (or EVAL with the body when @p use_body) without waiting for the reply. OF_OK
 * (sent, one reply pending); OF_ERR_UNAVAILABLE nothing sent; OF_ERR_UNKNOWN partly sent;
 * OF_ERR_NOMEM. After an error the connection is closed at checkin. */
int ofi_redis_send_eval(ofi_redis_conn *conn, const ofi_redis_script *script, int use_body,
                        int nkeys, int nargs, const char **args, const size_t *lens);

/* Without blocking: parse what is buffered and what the socket holds. OF_OK with *out set to a
 * complete reply, or *out NULL when none is complete yet (poll again); OF_ERR_UNKNOWN when the
 * stream broke (EOF, socket error, unparsable) -- the connection is closed at checkin. */
int ofi_redis_read_nb(ofi_redis_conn *conn, redisReply **out);

/* Give up on a pending reply (its deadline passed): the connection is closed at checkin, never
 * reused. Returns OF_ERR_UNKNOWN with the detail set. */
int ofi_redis_abandon(ofi_redis_conn *conn);

/* Map an error reply to a status and set the detail ("<what>: <reply text>"):
 * NOAUTH/WRONGPASS/NOPERM -> OF_ERR_AUTH; LOADING/BUSY/MASTERDOWN/TRYAGAIN (not executed) ->
 * OF_ERR_UNAVAILABLE; anything else -> OF_ERR_PROTOCOL. */
int ofi_redis_reply_error(const redisReply *reply, const char *what);

/* A reply a step did not expect: an error reply (mapped by ofi_redis_reply_error and logged as
 * WARN with its first words: -OOM, -READONLY, -LOADING, ...) or one of the wrong shape (logged as
 * ERROR). @p name / @p name_len: the lock, named in the line. Returns the status. */
int ofi_redis_bad_reply(ofi_redis_pool *pool, const redisReply *reply, const char *what,
                        const void *name, size_t name_len);

/* Log a reply of the right type whose values made no sense (ERROR, with the lock's name). */
void ofi_redis_log_unexpected(ofi_redis_pool *pool, const char *what, const void *name,
                              size_t name_len, const char *detail);

/* "host:port", "[v6]:port" or "unix:path" of @p cfg into @p buf, for log lines and details
 * (never credentials). Returns @p buf. */
const char *ofi_redis_endpoint_name(const ofi_redis_config *cfg, char *buf, size_t cap);

void ofi_redis_pool_get_stats(ofi_redis_pool *pool, ofi_redis_pool_stats *out);

/* Test hook: close every idle connection now (as a network fault would). */
void ofi_redis_pool_drop_idle(ofi_redis_pool *pool);

#endif
