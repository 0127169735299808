/**
 * @file lock_redis.h
 * @brief The Redis lock providers: named leased locks with fencing tokens on one Redis server,
 *        and Redlock over N independent servers.
 *
 * A provider made here is an ordinary ::of_lock_provider: acquire, release and extend with the
 * functions of `lock.h`. Locks live in Redis as `PREFIX{name}:lock` (value = the 128-bit owner
 * token in hex, with a PX expiry) and fencing counters as `PREFIX{name}:fence`; names are sent
 * binary-safe and escaped so two names never share a key. See docs/redis.md.
 *
 * This header and its functions exist in every build of the library. When the library was built
 * without hiredis, of_lock_redis_available() returns 0 and the create functions return
 * ::OF_ERR_NOT_SUPPORTED.
 *
 * Not supported: TLS (`rediss://`; hiredis 0.14 has none), Redis Cluster, Sentinel. Host names
 * are resolved with getaddrinfo(), which the connect timeout does not bound: use an address or
 * a local resolver when that matters.
 *
 * Fencing tokens are strictly increasing per name, also across a Redis restart without
 * persistence, as long as the server's clock never steps back: a missing counter restarts from
 * the server's TIME in microseconds.
 *
 * After fork(), a child process must create its own provider (connections do not survive fork).
 */
#ifndef OPENFAULT_LOCK_REDIS_H
#define OPENFAULT_LOCK_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/common.h>
#include <openfault/lock.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default TCP port. */
#define OF_LOCK_REDIS_DEFAULT_PORT 6379u
/** Default connect timeout in milliseconds. */
#define OF_LOCK_REDIS_DEFAULT_CONNECT_TIMEOUT_MS 1000u
/** Default command timeout in milliseconds. */
#define OF_LOCK_REDIS_DEFAULT_COMMAND_TIMEOUT_MS 1000u

/**
 * Connection settings of a Redis provider. Fill with of_lock_redis_options_init() first, then
 * change fields. The strings are copied by of_lock_redis_create().
 * Thread-safety: one thread at a time.
 */
typedef struct of_lock_redis_options {
    uint32_t struct_size;         /**< set by of_lock_redis_options_init() */
    uint32_t port;                /**< TCP port 1..65535; default 6379 */
    const char *host;             /**< host name, IPv4 or IPv6 address (no brackets), at most
                                       255 bytes; default "127.0.0.1"; ignored when
                                       @c unix_path is set */
    const char *unix_path;        /**< unix socket path (at most 107 bytes), or NULL (default) for TCP */
    const char *user;             /**< ACL user name (AUTH user password), 1..1024 bytes, or
                                       NULL (default) */
    const char *password;         /**< AUTH password, 1..1024 bytes, or NULL (default) for no
                                       AUTH; required when @c user is set */
    const char *prefix;           /**< key prefix, at most 256 bytes, no '{' or '}'; NULL or ""
                                       (default) for none */
    uint32_t db;                  /**< database for SELECT, default 0 (at most 2^31 - 1) */
    uint32_t connect_timeout_ms;  /**< bound on one TCP/unix connect, 1..2^31 - 1; default 1000 */
    uint32_t command_timeout_ms;  /**< one deadline for all round trips of one step (AUTH/SELECT
                                       after a connect, the command, EVAL after NOSCRIPT), counted
                                       from when the first request is sent, however slowly a
                                       reply trickles in; 1..2^31 - 1; default 1000 */
    uint32_t keepalive;           /**< 1 (default): TCP keepalive on; 0: off */
} of_lock_redis_options;

/**
 * Whether this library was built with the Redis providers (hiredis).
 * @return 1 if available, 0 if the create functions answer ::OF_ERR_NOT_SUPPORTED
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_redis_available(void);

/**
 * Fill @p opts with the defaults listed in ::of_lock_redis_options and set its `struct_size`.
 * @param opts         options to fill
 * @param struct_size  `sizeof *opts` as the caller compiled it
 * @return ::OF_OK; ::OF_ERR_INVALID if @p opts is NULL; ::OF_ERR_ABI if @p struct_size is larger
 *         than this library's struct or smaller than its first version
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_redis_options_init(of_lock_redis_options *opts, size_t struct_size);

/**
 * sizeof(::of_lock_redis_options) in this library (for bindings).
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API size_t of_lock_redis_options_size(void);

/**
 * Create a Redis lock provider. Only validates and copies @p opts: nothing connects until the
 * first lock call, and a server that is down then gives ::OF_ERR_UNAVAILABLE within the connect
 * timeout. Connections are pooled (one per concurrently calling thread), reconnected with capped
 * backoff, and set up again (keepalive, AUTH, SELECT) after every reconnect.
 *
 * Time: a step (connect if needed, AUTH/SELECT, the command) ends by min(the engine's step
 * deadline, connect timeout + command timeout): the connect within the connect timeout, and all
 * round trips by one deadline, the moment the first request is sent plus the command timeout,
 * however the reply bytes arrive (the provider polls a non-blocking socket against it; a reply
 * still incomplete then is ::OF_ERR_UNKNOWN and the connection is closed).
 *
 * SIGPIPE: none is ever raised, and no signal mask or disposition is touched. Every request
 * leaves with `send(MSG_NOSIGNAL)`; hiredis only connects (which writes nothing) and parses
 * replies, and never writes (its write()-based calls are not used); reads cannot raise it.
 *
 * Step outcomes seen through `lock.h`: nothing sent → ::OF_ERR_UNAVAILABLE; sent without a
 * complete reply by the deadline → ::OF_ERR_UNKNOWN (the engine queues a cleanup); credentials
 * refused → ::OF_ERR_AUTH; an unexpected reply (WRONGTYPE, ...) → ::OF_ERR_PROTOCOL with the
 * reply text in of_last_error_detail().
 * Caps: ::OF_LOCK_CAP_TTL | ::OF_LOCK_CAP_EXTEND | ::OF_LOCK_CAP_FENCE | ::OF_LOCK_CAP_SHARED.
 *
 * @param opts          settings from of_lock_redis_options_init(); copied
 * @param out_provider  receives the provider (destroy with of_lock_provider_destroy() after
 *                      releasing its locks); untouched on error
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments or a bad field (named in
 *         of_last_error_detail()); ::OF_ERR_ABI unknown `struct_size`; ::OF_ERR_NOMEM;
 *         ::OF_ERR_UNAVAILABLE no OS randomness for tokens; ::OF_ERR_NOT_SUPPORTED built without
 *         hiredis
 * @note Thread-safety: safe: any thread, any time. The provider itself is safe: any thread, any
 *       time (except destroy); a child process after fork() must create its own.
 */
OF_API int of_lock_redis_create(const of_lock_redis_options *opts,
                                of_lock_provider **out_provider);

/**
 * Create a Redis lock provider from a URL:
 * `redis://[[user]:password@]host[:port][/db][?params]` (host may be `[IPv6]`; port 6379 and db
 * 0 by default) or `unix://[[user]:password@]/absolute/path[?db=N&params]`. Params:
 * `connect_timeout_ms`, `command_timeout_ms`, `prefix`, `keepalive` (0 or 1), and `db` for
 * unix:// only. User, password, path and values are percent-decoded (`%00` is refused).
 * The authority ends at the first `/` or `?`, and the credentials are what precedes an `@` inside
 * it: inside credentials write `/`, `?`, `#` and `@` as `%2F`, `%3F`, `%23`, `%40`. A raw `@`
 * anywhere after the authority (in the path or a value too: write `%40`) and a raw `#` anywhere
 * are refused, so a password that was not encoded is never split into a host, path or query.
 * Parsing is strict: unknown or repeated params, empty parts, junk → ::OF_ERR_INVALID with a
 * byte offset in of_last_error_detail(). The host is at most 255 bytes, and the user name and
 * the password at most 1024 bytes each once decoded; longer → ::OF_ERR_INVALID. No detail or
 * log line ever holds a byte of the URL: neither the credentials nor a fragment of them (errors
 * inside the credentials name the offset where they start).
 * @param url           NUL-terminated URL, at most 4096 bytes; copied
 * @param out_provider  receives the provider; untouched on error
 * @return as of_lock_redis_create(), and ::OF_ERR_NOT_SUPPORTED for `rediss://` (no TLS)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_redis_create_url(const char *url, of_lock_provider **out_provider);


/* ---------------------------------------------------------------------------------------------
 * Redlock: one lock over N independent Redis servers (see docs/redlock.md)
 * ------------------------------------------------------------------------------------------- */

/** Fewest servers of a Redlock provider. */
#define OF_LOCK_REDLOCK_MIN_SERVERS 3u
/** Most servers of a Redlock provider. */
#define OF_LOCK_REDLOCK_MAX_SERVERS 15u
/** Default per-server connect timeout of a Redlock provider, in milliseconds. */
#define OF_LOCK_REDLOCK_DEFAULT_CONNECT_TIMEOUT_MS 100u
/** Default per-server command timeout of a Redlock provider, in milliseconds. */
#define OF_LOCK_REDLOCK_DEFAULT_COMMAND_TIMEOUT_MS 100u
/** Default clock-drift allowance, proportional part: 10000 ppm = 1% of the TTL. */
#define OF_LOCK_REDLOCK_DEFAULT_DRIFT_PPM 10000u
/** Default clock-drift allowance, fixed part, in milliseconds. */
#define OF_LOCK_REDLOCK_DEFAULT_DRIFT_EXTRA_MS 2u

/**
 * Settings of a Redlock provider beyond its server URLs. Fill with
 * of_lock_redlock_options_init() first, then change fields. Thread-safety: one thread at a time
 * (copied by the create functions).
 */
typedef struct of_lock_redlock_options {
    uint32_t struct_size;        /**< set by of_lock_redlock_options_init() */
    uint32_t connect_timeout_ms; /**< per-server connect bound, 1..2^31 - 1; default
                                      ::OF_LOCK_REDLOCK_DEFAULT_CONNECT_TIMEOUT_MS. A URL's own
                                      `connect_timeout_ms` parameter wins for that server. Keep
                                      it much smaller than the TTL. */
    uint32_t command_timeout_ms; /**< per-server bound on one round of a step (from the send to
                                      the complete reply), 1..2^31 - 1; default
                                      ::OF_LOCK_REDLOCK_DEFAULT_COMMAND_TIMEOUT_MS. A URL's own
                                      `command_timeout_ms` wins for that server. Keep it much
                                      smaller than the TTL. */
    uint32_t drift_ppm;          /**< clock-drift allowance per TTL, in parts per million
                                      (0..1000000); default ::OF_LOCK_REDLOCK_DEFAULT_DRIFT_PPM */
    uint32_t drift_extra_ms;     /**< fixed clock-drift allowance, 0..2^31 - 1 ms; default
                                      ::OF_LOCK_REDLOCK_DEFAULT_DRIFT_EXTRA_MS */
    uint32_t reserved0;          /**< must be 0 */
} of_lock_redlock_options;

/**
 * Fill @p opts with the defaults listed in ::of_lock_redlock_options and set its `struct_size`.
 * Exists in every build (also without hiredis).
 * @param opts         options to fill
 * @param struct_size  `sizeof *opts` as the caller compiled it
 * @return ::OF_OK; ::OF_ERR_INVALID if @p opts is NULL; ::OF_ERR_ABI if @p struct_size is larger
 *         than this library's struct or smaller than its first version
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_redlock_options_init(of_lock_redlock_options *opts, size_t struct_size);

/**
 * sizeof(::of_lock_redlock_options) in this library (for bindings).
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API size_t of_lock_redlock_options_size(void);

/**
 * Create a Redlock provider over @p count independent Redis servers (Redlock, "Distributed
 * Locks with Redis", redis.io), each given by a URL in the grammar of
 * of_lock_redis_create_url() (its prefix, db, credentials and timeouts apply to that server).
 * Nothing connects until the first lock call.
 *
 * Quorum Q = count/2 + 1. Every step sends its request to all servers in parallel (write every
 * request, then poll all sockets against the deadlines):
 * - acquire succeeds when at least Q servers grant it and the validity
 *   `ttl - elapsed - drift` is still positive, where drift = ttl * drift_ppm / 10^6 +
 *   drift_extra_ms; `valid_until` is then (time before the first send + ttl - drift). When the
 *   largest fence the granting servers gave was not reached on Q of them, a second round raises
 *   the fence counters of the granting servers (only where our token still holds the lock).
 *   Otherwise it releases on every server it may have reached and answers, in this order:
 *   ::OF_ERR_BUSY when more than count - Q servers answered that another token holds the name
 *   (so no quorum is possible; the retry-after hint is when enough of those leases end);
 *   ::OF_ERR_UNKNOWN when the servers that granted plus those that got the request without
 *   replying reach Q (a quorum may hold our token; the engine queues a cleanup);
 *   an error reply of a server (::OF_ERR_AUTH, ::OF_ERR_PROTOCOL) when one was among the causes;
 *   else ::OF_ERR_UNAVAILABLE (too few servers reached, or the quorum answered after the
 *   validity was used up). A majority unreachable is never BUSY. The detail names each
 *   server's outcome (no credentials).
 * - release answers ::OF_OK when Q servers deleted our lease, ::OF_ERR_NOT_OWNER when more than
 *   count - Q servers say our token does not hold it, else ::OF_ERR_UNKNOWN /
 *   ::OF_ERR_UNAVAILABLE (the engine retries).
 * - extend is compare-and-PEXPIRE on every server (an expired lease is never re-created):
 *   ::OF_OK when Q servers extended it within the new validity; ::OF_ERR_UNKNOWN when Q
 *   extended it too late or the outcome on enough servers is unknown; ::OF_ERR_UNAVAILABLE
 *   when too few servers were reached (the old lease stands); ::OF_ERR_NOT_OWNER when more than
 *   count - Q servers say our token does not hold it.
 * - Time: a step's round ends, per server, at connect timeout + command timeout after it
 *   reached that server (connects of new connections are made one server after another, each
 *   bounded by its connect timeout; pooled connections need none). Once the outcome is decided
 *   a round waits for the remaining servers only as long again as it has run (at least 1 ms).
 *   An acquire makes at most three rounds (acquire, fence raise, release after a failure).
 *
 * Fencing (::OF_LOCK_CAP_FENCE, weaker than the single-server provider's): the fence is the
 * largest per-server counter among the granting servers, made to hold on a quorum before
 * acquire returns. If acquisition B was sent after acquisition A of the same name returned
 * ::OF_OK, fence(B) > fence(A) -- no clock assumption needed, as long as the servers keep
 * their counters (a server restarted without persistence restarts its counter from its TIME in
 * microseconds: the order survives only if that clock is ahead of every fence issued). Fences of
 * acquisitions that overlap in time (possible only when Redlock's timing assumptions fail) are
 * not ordered. See docs/redlock.md for the argument and for when Redlock is safe at all.
 *
 * Caps: ::OF_LOCK_CAP_TTL | ::OF_LOCK_CAP_EXTEND | ::OF_LOCK_CAP_FENCE | ::OF_LOCK_CAP_SHARED.
 *
 * @param urls          @p count NUL-terminated server URLs; copied
 * @param count         odd, ::OF_LOCK_REDLOCK_MIN_SERVERS..::OF_LOCK_REDLOCK_MAX_SERVERS
 * @param opts          settings (of_lock_redlock_options_init()), or NULL for the defaults
 * @param out_provider  receives the provider (destroy with of_lock_provider_destroy() after
 *                      releasing its locks); untouched on error
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments, an even count, fewer than 3 or more than 15
 *         servers, the same server twice (same host and port, host compared case-insensitively,
 *         or same socket path), a bad URL or option (the detail names the server by position
 *         and the reason, never a byte of a credential); ::OF_ERR_ABI unknown `struct_size`;
 *         ::OF_ERR_NOMEM; ::OF_ERR_UNAVAILABLE no OS randomness for tokens;
 *         ::OF_ERR_NOT_SUPPORTED built without hiredis, or a `rediss://` URL
 * @note Thread-safety: safe: any thread, any time. The provider is safe: any thread, any time
 *       (except destroy); a child process after fork() must create its own.
 */
OF_API int of_lock_redlock_create(const char *const *urls, size_t count,
                                  const of_lock_redlock_options *opts,
                                  of_lock_provider **out_provider);

/**
 * Create a Redlock provider from one string of server URLs separated by commas (for tools and
 * bindings), e.g. `redis://10.0.0.1:6379,redis://10.0.0.2:6379,redis://10.0.0.3:6379`. Spaces
 * are not allowed; a comma inside a URL (a password, a prefix) must be written `%2C`. When the
 * list holds credentials (any `@`), a malformed item is named only by its position, without the
 * parser's detail (a raw comma in a password would otherwise tell where it sits).
 * @param list          NUL-terminated list, at most 15 * 4096 + 14 bytes; copied
 * @param opts          settings, or NULL for the defaults
 * @param out_provider  receives the provider; untouched on error
 * @return as of_lock_redlock_create(); ::OF_ERR_INVALID also for an empty item
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_redlock_create_list(const char *list, const of_lock_redlock_options *opts,
                                       of_lock_provider **out_provider);

#ifdef __cplusplus
}
#endif

#endif /* OPENFAULT_LOCK_REDIS_H */
