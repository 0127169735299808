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

typedef struct ofi_etcd_conn ofi_etcd_conn;

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
} ofi_etcd_client;

/* gRPC status codes etcd reports in its gateway's error bodies. */
#define OFI_GRPC_NOT_FOUND 5
#define OFI_GRPC_FAILED_PRECONDITION 9

/* Take ownership of @p cfg (moved: the caller must not free it on success) and set up. OF_OK,
 * OF_ERR_NOMEM, OF_ERR_UNAVAILABLE (curl_global_init failed). */
int ofi_etcd_client_init(ofi_etcd_client *c, ofi_etcd_config *cfg);
void ofi_etcd_client_fini(ofi_etcd_client *c);

/* POST @p body (not stolen) to @p path ("/v3/kv/txn") by @p deadline_ns. On OF_OK *out is the
 * reply object (json_decref it). Errors: OF_ERR_UNAVAILABLE nothing was sent (every endpoint
 * refused or the deadline passed first); OF_ERR_UNKNOWN sent, no reply; OF_ERR_AUTH;
 * OF_ERR_PROTOCOL; OF_ERR_NOMEM; and, for an etcd error reply, its status with *out_grpc set to
 * the gRPC code (OF_ERR_PROTOCOL for codes the transport does not map itself). The detail says
 * what happened, never the password. */
int ofi_etcd_post(ofi_etcd_client *c, const char *path, json_t *body, int64_t deadline_ns,
                  json_t **out, int *out_grpc);

/* POST @p body to a streaming endpoint (/v3/watch) and call @p on_msg for every message (the
 * gateway's `result` object) until it returns non-zero (then OF_OK) or @p until_ns passes
 * (OF_ERR_TIMEOUT). Other errors as ofi_etcd_post(). */
int ofi_etcd_stream(ofi_etcd_client *c, const char *path, json_t *body, int64_t until_ns,
                    int (*on_msg)(void *ctx, json_t *msg), void *ctx);

/* Read an int64 member that the gateway sends as a decimal string (or a number). An absent
 * member gives @p dflt (the gateway leaves out zero values). Returns 0, or -1 if malformed. */
int ofi_etcd_get_i64(const json_t *obj, const char *key, int64_t dflt, int64_t *out);

/* Standard base64 of @p len bytes into a new NUL-terminated string (NULL on no memory). */
char *ofi_etcd_base64(const void *data, size_t len);

#endif
