/* The etcd provider's transport: JSON requests to the v3 gateway over libcurl, a small pool of
 * easy handles (each keeps its keep-alive connections), endpoint failover and authentication.
 * Built only with libcurl and jansson. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_ETCD_HTTP_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_ETCD_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lock/providers/etcd_config.h"
#include "lock/providers/provider_log.h"

typedef struct ofi_etcd_conn ofi_etcd_conn;

/* What a request is for, named in the transport's log lines: the step ("acquire", "cleanup",
 * ...) and the lock (@c name NULL: none). The transport sets @c ep to the endpoint that answered
 * last (-1: none answered), so the caller's own lines about a reply name the right member. */
typedef struct ofi_etcd_why {
    const char *step;
    const void *name;
    size_t name_len;
    int ep;
} ofi_etcd_why;

typedef struct ofi_etcd_client {
    ofi_etcd_config cfg;       /* owned */
    pthread_mutex_t mu;        /* guards idle, idle_count, token, token_gen */
    pthread_mutex_t auth_mu;   /* one authentication at a time */
    ofi_etcd_conn *idle;
    size_t idle_count;
    char *token;               /* etcd auth token, NULL before the first authentication */
    int auth_off;              /* the cluster said authentication is not enabled */
    uint64_t token_gen;        /* bumped whenever token changes */
    atomic_uint preferred;     /* endpoint tried first */
    /* Log lines: one limiter per endpoint ("etcd host:port") and one for lines about the whole
     * list ("etcd host:port,host:port": nothing reachable). */
    ofi_plog_state log[OF_LOCK_ETCD_ENDPOINTS_MAX];
    ofi_plog_state log_all;
    atomic_uint ep_failed[OF_LOCK_ETCD_ENDPOINTS_MAX]; /* failed requests in a row */
    atomic_bool ep_reached[OF_LOCK_ETCD_ENDPOINTS_MAX]; /* answered once: "connected" was said */
} ofi_etcd_client;

/* gRPC status codes etcd reports in its gateway's error bodies. */
#define OFI_GRPC_NOT_FOUND 5
#define OFI_GRPC_FAILED_PRECONDITION 9

/* Take ownership of @p cfg (moved: the caller must not free it on success) and set up. OF_OK,
 * OF_ERR_NOMEM, OF_ERR_UNAVAILABLE (curl_global_init failed). */
int ofi_etcd_client_init(ofi_etcd_client *c, ofi_etcd_config *cfg);
void ofi_etcd_client_fini(ofi_etcd_client *c);

/* Start delivering the client's log lines to @p provider (once it exists). */
void ofi_etcd_client_attach_log(ofi_etcd_client *c, of_lock_provider *provider);

/* Log through the limiter of endpoint @p ep (-1: the whole list): "<why->step> of lock "<name>":
 * <fmt...>" (just "<step>: " without a lock). @p kind an OFI_PLOG_* slot or -1, as ofi_plog(). */
#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
void ofi_etcd_log(ofi_etcd_client *c, int ep, const ofi_etcd_why *why, int kind, int level,
                  const char *fmt, ...);

/* POST @p body (not stolen) to @p path ("/v3/kv/txn") by @p deadline_ns, for @p why (named in
 * log lines; may be NULL). On OF_OK *out is the
 * reply object (json_decref it). Errors: OF_ERR_UNAVAILABLE nothing was sent (every endpoint
 * refused or the deadline passed first); OF_ERR_UNKNOWN sent, no reply; OF_ERR_AUTH;
 * OF_ERR_PROTOCOL; OF_ERR_NOMEM; and, for an etcd error reply, its status with *out_grpc set to
 * the gRPC code (OF_ERR_PROTOCOL for codes the transport does not map itself). The detail says
 * what happened, never the password. */
int ofi_etcd_post(ofi_etcd_client *c, ofi_etcd_why *why, const char *path, json_t *body,
                  int64_t deadline_ns, json_t **out, int *out_grpc);

/* POST @p body to a streaming endpoint (/v3/watch) and call @p on_msg for every message (the
 * gateway's `result` object) until it returns non-zero (then OF_OK) or @p until_ns passes
 * (OF_ERR_TIMEOUT). Other errors as ofi_etcd_post(). */
int ofi_etcd_stream(ofi_etcd_client *c, ofi_etcd_why *why, const char *path, json_t *body,
                    int64_t until_ns, int (*on_msg)(void *ctx, json_t *msg), void *ctx);

/* Read an int64 member that the gateway sends as a decimal string (or a number). An absent
 * member gives @p dflt (the gateway leaves out zero values). Returns 0, or -1 if malformed. */
int ofi_etcd_get_i64(const json_t *obj, const char *key, int64_t dflt, int64_t *out);

/* Standard base64 of @p len bytes into a new NUL-terminated string (NULL on no memory). */
char *ofi_etcd_base64(const void *data, size_t len);

#endif
