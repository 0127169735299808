/**
 * @file lock_etcd.h
 * @brief The etcd lock provider: named leased locks on an etcd v3 cluster, fenced by the key's
 *        create revision.
 *
 * A provider made here is an ordinary ::of_lock_provider: acquire, release and extend with the
 * functions of `lock.h`. It talks to etcd 3.4 or later through the JSON gateway (`/v3/...`) on
 * the members' client URLs (plain HTTP; TLS is not supported). See docs/etcd.md.
 *
 * How the lock maps onto etcd: a lock named N lives in the key `PREFIX ‖ N` (bytes, no escaping:
 * the prefix is fixed per provider, so two names never share a key), whose value is the owner
 * token in hex and which is attached to a lease of its own.
 * - acquire = lease grant (TTL rounded up to whole seconds, and raised by the server to its
 *   minimum) + a transaction that puts the key with that lease only if its create revision is 0;
 *   `valid_until` = send time of the grant + the granted TTL − a clock-drift allowance, never
 *   later than the engine's own bound;
 * - the **fencing token is the key's create revision**: etcd's revision counter is linearizable
 *   and cluster-wide, so fences strictly increase across owners, member restarts and leader
 *   changes (also across names: fences of one name are not consecutive);
 * - release = a transaction that deletes the key only if it still holds our token on our lease,
 *   then a lease revoke; extend = lease keep-alive plus a check that the key is still ours (a TTL
 *   in other whole seconds than the current lease's moves the key to a new lease instead);
 *   waiting = a watch on the key's deletion, bounded by the deadline;
 * - a request sent without a reply within the step's deadline is ::OF_ERR_UNKNOWN (the engine's
 *   cleanup then revokes the lease); a member that refuses the connection is skipped for the next
 *   endpoint.
 *
 * This header and its functions exist in every build of the library. When the library was built
 * without libcurl and jansson, of_lock_etcd_available() returns 0 and the create functions return
 * ::OF_ERR_NOT_SUPPORTED.
 *
 * After fork(), a child process must create its own provider (connections do not survive fork).
 */
#ifndef OPENFAULT_LOCK_ETCD_H
#define OPENFAULT_LOCK_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/common.h>
#include <openfault/lock.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default client port of an endpoint given without one. */
#define OF_LOCK_ETCD_DEFAULT_PORT 2379u
/** Default connect timeout in milliseconds (per endpoint tried). */
#define OF_LOCK_ETCD_DEFAULT_CONNECT_TIMEOUT_MS 1000u
/** Default command timeout in milliseconds (bound on the requests of one step). */
#define OF_LOCK_ETCD_DEFAULT_COMMAND_TIMEOUT_MS 3000u
/** Most endpoints one provider accepts. */
#define OF_LOCK_ETCD_ENDPOINTS_MAX 16u
/** Longest key prefix in bytes. */
#define OF_LOCK_ETCD_PREFIX_MAX 256u

/**
 * Settings of an etcd provider. Fill with of_lock_etcd_options_init() first, then change fields.
 * The strings are copied by of_lock_etcd_create(). Thread-safety: one thread at a time.
 */
typedef struct of_lock_etcd_options {
    uint32_t struct_size;         /**< set by of_lock_etcd_options_init() */
    uint32_t connect_timeout_ms;  /**< bound on one TCP connect, 1..2^31 - 1; default 1000 */
    const char *endpoints;        /**< comma-separated `host[:port]` list (host: a name, an IPv4
                                       address or `[IPv6]`; port 2379 by default), 1..16 entries,
                                       at most 4096 bytes in all; default "127.0.0.1:2379" */
    const char *prefix;           /**< key prefix, at most 256 bytes; NULL or "" (default) for none */
    const char *user;             /**< etcd user for authentication, or NULL (default) for none */
    const char *password;         /**< its password; required exactly when @c user is set */
    uint32_t command_timeout_ms;  /**< bound on the requests of one step, 1..2^31 - 1; default 3000 */
    uint32_t reserved0;           /**< must be 0 */
} of_lock_etcd_options;

/**
 * Whether this library was built with the etcd provider (libcurl and jansson).
 * @return 1 if available, 0 if the create functions answer ::OF_ERR_NOT_SUPPORTED
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_etcd_available(void);

/**
 * Fill @p opts with the defaults listed in ::of_lock_etcd_options and set its `struct_size`.
 * @param opts         options to fill
 * @param struct_size  `sizeof *opts` as the caller compiled it
 * @return ::OF_OK; ::OF_ERR_INVALID if @p opts is NULL; ::OF_ERR_ABI if @p struct_size is larger
 *         than this library's struct or smaller than its first version
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_etcd_options_init(of_lock_etcd_options *opts, size_t struct_size);

/**
 * sizeof(::of_lock_etcd_options) in this library (for bindings).
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API size_t of_lock_etcd_options_size(void);

/**
 * Create an etcd lock provider. Only validates and copies @p opts: nothing connects until the
 * first lock call. Requests go to the endpoint that answered last; a refused or timed-out connect
 * moves on to the next endpoint within the same step, and a request left without a reply makes
 * the next step start at the next endpoint. With @c user set, the provider authenticates on first
 * use and again when etcd reports its auth token invalid; the password is never put in a detail
 * or a log line. No process-wide signal setting is changed (libcurl runs with CURLOPT_NOSIGNAL).
 *
 * Step outcomes seen through `lock.h`: no endpoint reached → ::OF_ERR_UNAVAILABLE; sent without a
 * reply within the step's deadline (also a cluster without quorum, whose members hold requests
 * until they time out) → ::OF_ERR_UNKNOWN; credentials refused or permission denied →
 * ::OF_ERR_AUTH; an unexpected reply → ::OF_ERR_PROTOCOL with etcd's message in
 * of_last_error_detail().
 * Caps: ::OF_LOCK_CAP_TTL | ::OF_LOCK_CAP_EXTEND | ::OF_LOCK_CAP_FENCE | ::OF_LOCK_CAP_WAIT |
 * ::OF_LOCK_CAP_SHARED.
 *
 * @param opts          settings from of_lock_etcd_options_init(); copied
 * @param out_provider  receives the provider (destroy with of_lock_provider_destroy() after
 *                      releasing its locks); untouched on error
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments or a bad field (named in
 *         of_last_error_detail()); ::OF_ERR_ABI unknown `struct_size`; ::OF_ERR_NOMEM;
 *         ::OF_ERR_UNAVAILABLE no OS randomness for tokens, or libcurl failed to initialise;
 *         ::OF_ERR_NOT_SUPPORTED built without libcurl/jansson
 * @note Thread-safety: safe: any thread, any time. The provider itself is safe: any thread, any
 *       time (except destroy); a child process after fork() must create its own.
 */
OF_API int of_lock_etcd_create(const of_lock_etcd_options *opts,
                               of_lock_provider **out_provider);

/**
 * Create an etcd lock provider from a URL:
 * `etcd://[user:password@]host[:port][,host[:port]...][/prefix][?params]`, e.g.
 * `etcd://127.0.0.1:2379,127.0.0.1:22379/locks/`. Hosts are names, IPv4 addresses or
 * `[IPv6]`; the port is 2379 by default; the prefix is everything after the first `/` (so
 * `/locks/` gives the prefix `locks/`). Params: `connect_timeout_ms`, `command_timeout_ms`.
 * User, password and prefix are percent-decoded (`%00` is refused). Parsing is strict: unknown or
 * repeated params, empty parts, junk → ::OF_ERR_INVALID with the byte offset in
 * of_last_error_detail() (the password is never echoed).
 * @param url           NUL-terminated URL, at most 4096 bytes; copied
 * @param out_provider  receives the provider; untouched on error
 * @return as of_lock_etcd_create(), and ::OF_ERR_NOT_SUPPORTED for `etcds://` or `https://`
 *         (no TLS)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_etcd_create_url(const char *url, of_lock_provider **out_provider);

#ifdef __cplusplus
}
#endif

#endif /* OPENFAULT_LOCK_ETCD_H */
