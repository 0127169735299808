/**
 * @file lock.h
 * @brief Named leased locks with fencing tokens, and the provider vtable any backend fills.
 *
 * Two layers (see docs/locks.md and docs/providers.md):
 *
 * - **The engine** (this header's `of_lock_*` functions): acquire with a TTL and a wait, release,
 *   extend, auto-renew, loss callback, stats, log hook, and the cleanup of unknown outcomes. One
 *   implementation serves every backend.
 * - **Providers** fill ::of_lock_provider_ops with single non-blocking steps (try-acquire,
 *   release, extend, optionally a bounded wait-for-release) and wrap it with
 *   of_lock_provider_create(). The built-in in-process provider is of_lock_local_create(); the
 *   single-server Redis and the multi-server Redlock providers are in `lock_redis.h`, the etcd
 *   provider in `lock_etcd.h`. A third-party provider uses only this header.
 *
 * Times: every deadline and `valid_until` is nanoseconds on CLOCK_MONOTONIC
 * (of_clock_monotonic_ns()); TTLs are `uint32_t` milliseconds in 1..::OF_LOCK_TTL_MAX; waits are
 * `int64_t` milliseconds (0 = try once, < 0 = forever, > 0 = at most that long).
 * Names are bytes, 1..::OF_NAME_MAX long, NUL bytes allowed.
 *
 * Struct versions: ::of_lock_options, ::of_lock_provider_config, ::of_lock_stats and
 * ::of_lock_provider_ops carry their caller's `struct_size`. New members are only ever added at
 * the end, below the "members above: ABI 1" line of each struct. The library accepts any size
 * from the ABI-1 struct's up to its own sizeof: a program built against an older header keeps
 * working, the members its struct lacks take their defaults (NULL for an ops member), and
 * nothing past its size is read or written. A size below ABI 1's, or above this library's (a
 * program built against a newer header than the library it runs with), is ::OF_ERR_ABI.
 */
#ifndef OPENFAULT_LOCK_H
#define OPENFAULT_LOCK_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Types and limits
 * ------------------------------------------------------------------------------------------- */

/** An engine-wrapped provider. Thread-safety: safe: any thread, any time (except destroy). */
typedef struct of_lock_provider of_lock_provider;

/** A held lock. Thread-safety: one thread at a time (any thread; the engine's own renewal
 *  thread synchronises with the caller internally). */
typedef struct of_lock of_lock;

/** Largest TTL in milliseconds (2^31 - 1). */
#define OF_LOCK_TTL_MAX 2147483647u

/** Largest fencing token: fences are below 2^53 so Lua and JavaScript numbers hold them exactly. */
#define OF_LOCK_FENCE_MAX ((UINT64_C(1) << 53) - 1)

/** Default TTL that of_lock_options_init() puts in ::of_lock_options (30 s). */
#define OF_LOCK_DEFAULT_TTL_MS 30000u

/**
 * A 128-bit owner token: unguessable, unique per acquisition, made by the engine and handed to
 * the provider's steps. Compare all 16 bytes. Network providers send it as 32 lowercase hex
 * digits (of_lock_token_to_hex()).
 */
typedef struct of_lock_token {
    uint8_t bytes[16]; /**< opaque token bytes */
} of_lock_token;

/** Hex length of a token, without the terminating NUL. */
#define OF_LOCK_TOKEN_HEX_LEN 32

/* ---------------------------------------------------------------------------------------------
 * Acquire options
 * ------------------------------------------------------------------------------------------- */

/** ::of_lock_options flag: renew the lease at ttl/3 on the engine's thread until released. */
#define OF_LOCK_AUTO_RENEW (1u << 0)

/**
 * Loss callback (only with ::OF_LOCK_AUTO_RENEW: of_lock_acquire() refuses it otherwise, since
 * only a renewed lock is watched): the engine found that an auto-renewed lock was lost (a renewal failed, or its
 * `valid_until` passed without a successful renewal). Called once per handle, on the engine's
 * renewal thread. It may call of_lock_release() on @p lock (and nothing else may release it
 * concurrently); it must not destroy the provider; it should return promptly.
 * @param lock    the handle, already marked lost
 * @param status  why: the failed renewal's status (::OF_ERR_NOT_OWNER, ::OF_ERR_UNKNOWN, ...), or
 *                ::OF_ERR_LOST when the lease passed before a renewal succeeded
 * @param ctx     the `on_lost_ctx` given in ::of_lock_options
 */
typedef void (*of_lock_lost_fn)(of_lock *lock, int status, void *ctx);

/**
 * Options of of_lock_acquire(). Fill with of_lock_options_init() first, then change fields.
 * Thread-safety: one thread at a time (the engine copies it during the call).
 */
typedef struct of_lock_options {
    uint32_t struct_size;     /**< set by of_lock_options_init() to the caller's sizeof */
    uint32_t ttl_ms;          /**< lease length, 1..::OF_LOCK_TTL_MAX; default ::OF_LOCK_DEFAULT_TTL_MS */
    int64_t wait_ms;          /**< 0 = try once (default), < 0 = forever, > 0 = at most this long */
    uint32_t flags;           /**< ::OF_LOCK_AUTO_RENEW or 0 (default) */
    uint32_t reserved0;       /**< must be 0 */
    of_lock_lost_fn on_lost;  /**< optional loss callback; needs ::OF_LOCK_AUTO_RENEW (else ::OF_ERR_INVALID) */
    void *on_lost_ctx;        /**< passed to @c on_lost as given */
    /* members above: ABI 1 (libopenfault 0.1); add new members below this line only */
} of_lock_options;

/**
 * Fill @p opts with defaults (ttl ::OF_LOCK_DEFAULT_TTL_MS, wait 0, no flags, no callback) and
 * set its `struct_size`.
 * @param opts         options to fill
 * @param struct_size  `sizeof *opts` as the caller compiled it
 * @return ::OF_OK; ::OF_ERR_INVALID if @p opts is NULL; ::OF_ERR_ABI if @p struct_size is larger
 *         than this library's struct (a newer header) or smaller than its first version
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_options_init(of_lock_options *opts, size_t struct_size);

/* ---------------------------------------------------------------------------------------------
 * Locking
 * ------------------------------------------------------------------------------------------- */

/**
 * Acquire the lock @p name on @p provider.
 *
 * The engine makes a fresh owner token, calls the provider's try-acquire and, while the answer
 * is ::OF_ERR_BUSY or ::OF_ERR_UNAVAILABLE and the wait deadline (now + `wait_ms`, absolute on
 * CLOCK_MONOTONIC) has not passed, waits — in the provider's wait-for-release if it has one, else
 * capped exponential backoff with full jitter or the provider's retry-after hint — and tries
 * again. Locks are not reentrant: a second acquire of a name this process holds is BUSY too.
 *
 * Waiters of one provider are served in arrival order: an acquire with a wait that finds
 * others of the same provider already waiting for the name queues behind them instead of
 * taking the name as it is released, so each waiter gets it within as many releases as there
 * are waiters ahead of it. (A try-once acquire still takes a free name. Across providers, e.g.
 * two processes on one Redis, the backend decides and polling waiters have no such promise.)
 *
 * A grant whose reply arrives after the lease it granted has already ended (by `valid_until`)
 * holds nothing: the engine releases it (or queues a cleanup) and answers ::OF_ERR_UNKNOWN.
 *
 * of_last_error_detail() says why on every failure; for ::OF_ERR_BUSY and ::OF_ERR_TIMEOUT it
 * gives the holder's remaining lease when the provider reports it (its retry-after hint), and
 * for ::OF_ERR_TIMEOUT and ::OF_ERR_UNAVAILABLE after a wait it keeps the last attempt's cause
 * (e.g. "connect to 127.0.0.1:1: Connection refused").
 *
 * @param provider    the provider
 * @param name        lock name bytes (NUL bytes allowed), @p name_len long; copied
 * @param name_len    1..::OF_NAME_MAX
 * @param opts        options (of_lock_options_init()), or NULL for the defaults
 * @param out_lock    receives the new handle on ::OF_OK; untouched on error. Free it with
 *                    of_lock_release() (even when lost).
 * @return ::OF_OK (the handle has a token, a `valid_until` and, if the provider fences, a fence);
 *         ::OF_ERR_BUSY held by another owner and `wait_ms` was 0;
 *         ::OF_ERR_TIMEOUT `wait_ms` is not 0 and the deadline passed while the lock stayed held: at
 *         least one attempt during the wait reached the backend (answered BUSY);
 *         ::OF_ERR_UNAVAILABLE the backend was not reached: `wait_ms` was 0, or not one attempt
 *         of the whole wait reached it (the backend was down, not "someone holds it");
 *         ::OF_ERR_UNKNOWN a request was sent and got no reply, or the grant arrived after its
 *         lease had ended: the engine has released it or queued a cleanup release for that
 *         token, and returns at once (never TIMEOUT);
 *         ::OF_ERR_INVALID NULL provider/name/out_lock, empty or oversized name, ttl 0 or above
 *         ::OF_LOCK_TTL_MAX, unknown flags, `on_lost` without ::OF_LOCK_AUTO_RENEW, a non-zero
 *         reserved field;
 *         ::OF_ERR_ABI `opts->struct_size` larger than this library's or too small;
 *         ::OF_ERR_NOMEM; or a provider error (::OF_ERR_AUTH, ::OF_ERR_PROTOCOL, ...).
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_acquire(of_lock_provider *provider, const void *name, size_t name_len,
                           const of_lock_options *opts, of_lock **out_lock);

/**
 * Release a lock and free its handle, whatever the outcome (like `free()`, the handle is invalid
 * afterwards). The provider deletes the lease only if our token still holds it: the next
 * owner's lock is never deleted.
 * On an auto-renewed lock it waits for at most the one renewal in flight (no new renewal starts
 * while a release or extend waits).
 * @param lock  the handle; NULL returns ::OF_ERR_INVALID
 * @return ::OF_OK released; ::OF_ERR_LOST the handle was already marked lost (the engine still
 *         asks the provider to release our token, best effort); ::OF_ERR_NOT_OWNER our token no
 *         longer held the name (expired, taken over, wiped); ::OF_ERR_INVALID for NULL; any
 *         other status (::OF_ERR_UNKNOWN sent but no reply, ::OF_ERR_UNAVAILABLE or
 *         ::OF_ERR_AUTH refused before it ran, ::OF_ERR_PROTOCOL, ...) means the lease may still
 *         be held: a cleanup release is queued (only OK and NOT_OWNER are final).
 * @note Thread-safety: one thread at a time per handle (any thread, also the loss callback).
 */
OF_API int of_lock_release(of_lock *lock);

/**
 * Extend the lease to @p ttl_ms from now (not added to what remains).
 * @param lock    the handle
 * @param ttl_ms  new lease length, 1..::OF_LOCK_TTL_MAX
 * @return ::OF_OK (`valid_until` moved); ::OF_ERR_LOST the handle is already marked lost;
 *         ::OF_ERR_NOT_OWNER our token no longer holds the name, or `valid_until` had already
 *         passed (then the backend is not asked): the handle is now marked lost;
 *         ::OF_ERR_UNKNOWN no reply, or the answer arrived after the extended lease had already
 *         ended: the lease's end is unknown, so the handle is marked lost and
 *         a cleanup release is queued; ::OF_ERR_UNAVAILABLE nothing was sent, the old lease
 *         stands; ::OF_ERR_NOT_SUPPORTED the provider cannot extend; ::OF_ERR_INVALID NULL or ttl
 *         out of range; or another provider error.
 * @note Thread-safety: one thread at a time per handle.
 */
OF_API int of_lock_extend(of_lock *lock, uint32_t ttl_ms);

/**
 * The fencing token of this acquisition: strictly increasing per name across owners, in
 * 1..::OF_LOCK_FENCE_MAX. Pass it to the resource you guard so it can refuse stale writers.
 * @param lock       the handle
 * @param out_fence  receives the fence; untouched on error
 * The fence stays readable on a handle marked lost (it answers ::OF_OK, not ::OF_ERR_LOST): it
 * is the number a stale writer's resource refuses, so it is still worth sending.
 * @return ::OF_OK; ::OF_ERR_NOT_SUPPORTED the provider has no ::OF_LOCK_CAP_FENCE;
 *         ::OF_ERR_INVALID for NULL arguments
 * @note Thread-safety: one thread at a time per handle.
 */
OF_API int of_lock_fence(const of_lock *lock, uint64_t *out_fence);

/**
 * End of the lease as known to the engine, in CLOCK_MONOTONIC ns: conservative (computed from
 * the time the request was sent, minus the provider's clock-drift allowance). Auto-renewal moves
 * it forward.
 * @param lock  the handle (NULL gives 0)
 * @return the time; compare with of_clock_monotonic_ns()
 * @note Thread-safety: one thread at a time per handle (auto-renew updates it atomically).
 */
OF_API int64_t of_lock_valid_until_ns(const of_lock *lock);

/**
 * Whether the handle is marked lost (a failed renewal or extend, a lease that passed under
 * auto-renew, a NOT_OWNER answer).
 * @param lock  the handle (NULL gives 1)
 * @return 1 if lost, 0 if not
 * @note Thread-safety: one thread at a time per handle (auto-renew sets it atomically).
 */
OF_API int of_lock_is_lost(const of_lock *lock);

/**
 * The lock's name as given to of_lock_acquire().
 * @param lock      the handle
 * @param out_len   receives the length in bytes (may be NULL)
 * @return pointer to the handle's copy (owned by the handle, valid until release; it is followed
 *         by a NUL byte that is not counted); NULL for a NULL handle
 * @note Thread-safety: one thread at a time per handle.
 */
OF_API const void *of_lock_name(const of_lock *lock, size_t *out_len);

/**
 * The owner token of this acquisition.
 * @param lock       the handle
 * @param out_token  receives the token; untouched on error
 * @return ::OF_OK or ::OF_ERR_INVALID for NULL arguments
 * @note Thread-safety: one thread at a time per handle.
 */
OF_API int of_lock_token_get(const of_lock *lock, of_lock_token *out_token);

/**
 * Render @p token as 32 lowercase hex digits and a NUL.
 * @param token  the token
 * @param out    buffer of at least ::OF_LOCK_TOKEN_HEX_LEN + 1 bytes
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API void of_lock_token_to_hex(const of_lock_token *token, char *out);

/** ::OF_LOCK_TTL_MAX as a function (for bindings). Thread-safety: safe: any thread, any time. */
OF_API uint32_t of_lock_ttl_max(void);

/* ---------------------------------------------------------------------------------------------
 * Provider: engine side (stats, log hook, configuration, destroy)
 * ------------------------------------------------------------------------------------------- */

/** Log level: an operation failed (passed to ::of_lock_log_fn). */
#define OF_LOCK_LOG_ERROR 1
/** Log level: something went wrong but was handled (a lost lock, an unknown outcome). */
#define OF_LOCK_LOG_WARN 2
/** Log level: notable events (a cleanup deleted an orphaned lease). */
#define OF_LOCK_LOG_INFO 3
/** Log level: diagnostics. */
#define OF_LOCK_LOG_DEBUG 4

/**
 * Log hook: @p msg is pre-formatted NUL-terminated text, valid during the call only. Called from
 * whichever thread logs (callers' threads and the engine's thread), possibly concurrently; must
 * not call back into the provider.
 */
typedef void (*of_lock_log_fn)(void *ctx, int level, const char *msg);

/** Event kind (::of_lock_event.kind): of_lock_acquire() granted the lock (caller's thread). */
#define OF_LOCK_EVENT_ACQUIRED 1
/** Event kind: of_lock_acquire() failed; `status` is its answer (::OF_ERR_BUSY,
 *  ::OF_ERR_TIMEOUT, ::OF_ERR_UNAVAILABLE, ...) and `detail` its of_last_error_detail()
 *  (caller's thread; bad arguments give no event). */
#define OF_LOCK_EVENT_ACQUIRE_FAILED 2
/** Event kind: of_lock_release() (or destroy's last attempt for a handle never released) ended a
 *  handle; `status` is what release answered (::OF_OK, ::OF_ERR_NOT_OWNER, ::OF_ERR_LOST, or a
 *  failure whose cleanup is queued). Exactly one per ::OF_LOCK_EVENT_ACQUIRED. */
#define OF_LOCK_EVENT_RELEASED 3
/** Event kind: an auto-renewal extended the lease; `valid_until_ns` is its new end (renewal
 *  thread). */
#define OF_LOCK_EVENT_RENEWED 4
/** Event kind: an auto-renewal did not extend the lease; `status` and `detail` give the cause
 *  (renewal thread). A transient failure (::OF_ERR_UNAVAILABLE, ...) is retried while the lease
 *  lasts; ::OF_ERR_NOT_OWNER and ::OF_ERR_UNKNOWN are followed by ::OF_LOCK_EVENT_LOST. */
#define OF_LOCK_EVENT_RENEW_FAILED 5
/** Event kind: the handle was marked lost (once per handle); `status` as the loss callback's
 *  (::OF_ERR_LOST the lease passed, ::OF_ERR_NOT_OWNER, ::OF_ERR_UNKNOWN). Renewal thread, or the
 *  caller's thread when its of_lock_extend() or of_lock_release() found the lease gone. */
#define OF_LOCK_EVENT_LOST 6
/** Event kind: an unknown outcome (or a release that may not have run) was queued for cleanup;
 *  `valid_until_ns` is when the cleanup stops trying. Thread of the call that met it. */
#define OF_LOCK_EVENT_CLEANUP_QUEUED 7
/** Event kind: a queued cleanup ended; `status` ::OF_OK it deleted the lease, else the last
 *  release's answer when it gave up (the lease has surely expired, or the provider was
 *  destroyed). Engine thread, or the thread calling of_lock_provider_destroy(). */
#define OF_LOCK_EVENT_CLEANUP_DONE 8

/**
 * What happened to a lock, passed by pointer to an ::of_lock_event_fn. The library fills it;
 * everything it points to is valid during the callback only (copy what you keep).
 * New members are added at the end only: a callback built against a newer header reads them only
 * when `struct_size` covers them (`ev->struct_size >= offsetof(of_lock_event, member) +
 * sizeof ev->member`); one built against this header may read every member below.
 */
typedef struct of_lock_event {
    uint32_t struct_size;   /**< sizeof(of_lock_event) in the library that made it */
    int32_t kind;           /**< ::OF_LOCK_EVENT_ACQUIRED ... ::OF_LOCK_EVENT_CLEANUP_DONE */
    const void *name;       /**< the lock name's bytes, @c name_len long (NUL-terminated, not counted) */
    size_t name_len;        /**< 1..::OF_NAME_MAX */
    uint64_t fence;         /**< the acquisition's fence; 0 when there is none (no
                                 ::OF_LOCK_CAP_FENCE, an acquire that failed, a cleanup of an
                                 acquire whose outcome is unknown) */
    int32_t status;         /**< ::OF_OK, or the failure this event reports */
    uint32_t reserved0;     /**< 0 */
    const char *detail;     /**< NUL-terminated text on the cause ("" when none); never NULL */
    int64_t valid_until_ns; /**< CLOCK_MONOTONIC ns: the lease's end as the engine knows it (new
                                 end for ACQUIRED and RENEWED; the cleanup's last try for
                                 CLEANUP_QUEUED); 0 for ACQUIRE_FAILED and CLEANUP_DONE */
    /* members above: the first version; add new members below this line only */
} of_lock_event;

/**
 * Event callback (::of_lock_provider_config.on_event): one call per event of any lock of the
 * provider, for users who feed their own tracing or per-name figures. It runs on the thread the
 * event kind names (the caller's thread for acquire, release and extend; the engine's renewal
 * thread for renewals, losses it finds and cleanups; the destroying thread for destroy's last
 * attempt), possibly on several threads at once. The events of one handle arrive in order:
 * ACQUIRED first, RELEASED last, RENEWED / RENEW_FAILED / LOST between.
 *
 * Rules: return promptly (renewals of every lock of the provider wait for it on the renewal
 * thread, and the handle's own release waits for an event of that handle in delivery). It may
 * call of_lock_provider_stats(), of_lock_provider_metrics(), of_lock_provider_metrics_write(),
 * of_lock_provider_log(), of_lock_provider_name(), of_lock_provider_caps() and any function that
 * takes no provider or lock; nothing else of this library on this provider or its locks
 * (acquire, release, extend, configure, destroy may deadlock or race with the engine).
 * @param ctx  the `event_ctx` given in ::of_lock_provider_config
 * @param ev   the event (valid during the call only)
 */
typedef void (*of_lock_event_fn)(void *ctx, const of_lock_event *ev);

/**
 * A short static name of an event kind: "acquired", "acquire_failed", "released", "renewed",
 * "renew_failed", "lost", "cleanup_queued", "cleanup_done"; "unknown" for any other value.
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API const char *of_lock_event_name(int kind);

/**
 * Engine settings of a provider. Fill with of_lock_provider_config_init(), then
 * of_lock_provider_configure(). Thread-safety: one thread at a time (copied during the call).
 */
typedef struct of_lock_provider_config {
    uint32_t struct_size;      /**< set by of_lock_provider_config_init() */
    uint32_t step_timeout_ms;  /**< bound on one provider step (the `deadline_ns` the engine passes); default 5000 */
    uint32_t backoff_base_ms;  /**< first backoff ceiling between attempts; default 1 */
    uint32_t backoff_cap_ms;   /**< largest backoff ceiling; default 100 */
    of_lock_log_fn log;        /**< optional log hook (NULL: no logging) */
    void *log_ctx;             /**< passed to @c log as given */
    int32_t log_level;         /**< most verbose level delivered; default ::OF_LOCK_LOG_WARN */
    uint32_t reserved0;        /**< must be 0 */
    /* members above: ABI 1 (libopenfault 0.1); add new members below this line only */
    of_lock_event_fn on_event; /**< optional event callback (NULL: none; the default) */
    void *event_ctx;           /**< passed to @c on_event as given */
} of_lock_provider_config;

/**
 * Fill @p cfg with the defaults and set its `struct_size`.
 * @param cfg          config to fill
 * @param struct_size  `sizeof *cfg` as the caller compiled it
 * @return ::OF_OK; ::OF_ERR_INVALID for NULL; ::OF_ERR_ABI if @p struct_size is larger than
 *         this library's struct (a newer header) or smaller than its first version
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_provider_config_init(of_lock_provider_config *cfg, size_t struct_size);

/**
 * Apply @p cfg to @p provider (for acquisitions started afterwards; the log hook and the event
 * callback for every line and event from then on, though a call already under way on another
 * thread may still finish with the old one).
 * @param provider  the provider
 * @param cfg       filled by of_lock_provider_config_init(); copied
 * @return ::OF_OK; ::OF_ERR_INVALID NULL, a 0 step timeout, base 0 or above cap, level outside
 *         1..4, a non-zero reserved field; ::OF_ERR_ABI `struct_size` larger than this
 *         library's or smaller than its first version
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_provider_configure(of_lock_provider *provider,
                                      const of_lock_provider_config *cfg);

/**
 * Counters of one provider since creation. Pass a struct whose `struct_size` is set to its
 * sizeof; fields past that size are not written. Thread-safety: one thread at a time.
 */
typedef struct of_lock_stats {
    uint32_t struct_size;      /**< set by the caller to `sizeof(of_lock_stats)` */
    uint32_t reserved0;        /**< written as 0 */
    uint64_t attempts;         /**< provider try-acquire steps */
    uint64_t acquired;         /**< of_lock_acquire() calls that returned ::OF_OK */
    uint64_t busy;             /**< of_lock_acquire() calls that returned ::OF_ERR_BUSY */
    uint64_t timeouts;         /**< of_lock_acquire() calls that returned ::OF_ERR_TIMEOUT */
    uint64_t lost;             /**< handles marked lost */
    uint64_t errors;           /**< other failed acquire/release/extend calls (UNKNOWN, UNAVAILABLE, ...) */
    uint64_t wait_ns;          /**< total time spent inside of_lock_acquire() calls that waited */
    uint64_t released;         /**< of_lock_release() calls that returned ::OF_OK */
    uint64_t extended;         /**< successful extends, including auto-renewals */
    uint64_t cleanups_queued;  /**< unknown outcomes queued for cleanup */
    uint64_t cleanups_done;    /**< cleanups whose release deleted a lease left by an unknown outcome */
    uint64_t cleanups_dropped; /**< cleanups ended without deleting: ttl passed since the attempt
                                    (the lease surely expired), or the provider was destroyed */
    /* members above: ABI 1 (libopenfault 0.1); add new members below this line only */
    uint64_t acquire_failures;   /**< of_lock_acquire() calls that failed otherwise (UNAVAILABLE, UNKNOWN, ...) */
    uint64_t releases_not_owner; /**< of_lock_release() calls answered ::OF_ERR_NOT_OWNER (lease expired) */
    uint64_t releases_lost;      /**< of_lock_release() calls on handles already marked lost */
    uint64_t releases_failed;    /**< of_lock_release() calls with any other failure (cleanup queued) */
    uint64_t extends_ok;         /**< of_lock_extend() calls that returned ::OF_OK (not renewals) */
    uint64_t extends_failed;     /**< of_lock_extend() calls that failed */
    uint64_t renewals_ok;        /**< auto-renewals that extended the lease */
    uint64_t renewals_failed;    /**< auto-renewals that did not (retried while the lease lasts) */
    uint64_t lost_expired;       /**< losses: the lease ran out (by our clock, or the backend's on release) */
    uint64_t lost_not_owner;     /**< losses: the backend said another token holds the name */
    uint64_t lost_unknown;       /**< losses: a step's outcome was unknown, so the lock was given up */
    uint64_t held_now;           /**< gauge: handles acquired and not yet released */
    uint64_t waiting_now;        /**< gauge: of_lock_acquire() calls with a wait in progress */
    /** Cumulative histogram of the time of of_lock_acquire() calls that waited (`wait_ms` != 0):
     *  wait_le[i] counts calls that took at most ::OF_LOCK_HIST_BOUNDS_S[i] seconds; the last
     *  entry (+Inf) counts them all; their sum is `wait_ns`. */
    uint64_t wait_le[15];
    uint64_t hold_ns;            /**< total time locks were held, from grant to release (coarse clock) */
    /** Cumulative histogram of hold times (released handles), as `wait_le`. */
    uint64_t hold_le[15];
} of_lock_stats;

/** Entries of ::of_lock_stats.wait_le and .hold_le (14 bounds and +Inf). */
#define OF_LOCK_HIST_BUCKETS 15
/** The histogram bucket upper bounds in seconds (the 15th is +Inf), as an initializer. */
#define OF_LOCK_HIST_BOUNDS_S \
    {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}

/**
 * Read the provider's counters (each counter is exact; the set is not one atomic snapshot).
 * @param provider   the provider
 * @param out_stats  `out_stats->struct_size` must be set by the caller; filled up to it
 * @return ::OF_OK; ::OF_ERR_INVALID for NULL; ::OF_ERR_ABI a struct_size larger than this
 *         library's or smaller than its first version
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_provider_stats(const of_lock_provider *provider, of_lock_stats *out_stats);

/* ::OF_METRICS_PROMETHEUS, ::OF_METRICS_JSON and ::of_metrics_write_fn are in common.h (the ring
 * exports metrics too). */

/**
 * Write the provider's metrics (the ::of_lock_stats figures, with a `provider` label naming the
 * provider) into @p buf, NUL-terminated.
 * @param provider  the provider
 * @param format    ::OF_METRICS_PROMETHEUS or ::OF_METRICS_JSON
 * @param prefix    prepended to every metric name (e.g. "myapp_"); NULL: "openfault_". Must match
 *                  `[a-zA-Z_:][a-zA-Z0-9_:]*` (or be "")
 * @param labels    constant labels as name, value, name, value, ..., NULL (NULL: none); names
 *                  match `[a-zA-Z_][a-zA-Z0-9_]*`, do not start with "__" and are not "le" or
 *                  "provider"; values are any UTF-8 text (escaped); at most 32 pairs
 * @param buf       output (may be NULL when @p cap is 0)
 * @param cap       bytes at @p buf
 * @param out_len   set to the text's length without the NUL, also on ::OF_ERR_NOSPACE (then
 *                  @p cap must be at least *out_len + 1); may be NULL
 * @return ::OF_OK; ::OF_ERR_INVALID NULL provider, bad format, prefix or label;
 *         ::OF_ERR_NOSPACE @p cap too small (nothing useful in @p buf)
 * @note Thread-safety: safe: any thread, any time (each figure is exact; the set is not one
 *       atomic snapshot).
 */
OF_API int of_lock_provider_metrics(const of_lock_provider *provider, int format,
                                    const char *prefix, const char *const *labels, char *buf,
                                    size_t cap, size_t *out_len);

/**
 * As of_lock_provider_metrics(), but through @p write in pieces (no size limit, no NUL).
 * @return ::OF_OK; ::OF_ERR_INVALID as of_lock_provider_metrics(), or @p write NULL; the status
 *         @p write stopped with
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_provider_metrics_write(const of_lock_provider *provider, int format,
                                          const char *prefix, const char *const *labels,
                                          of_metrics_write_fn write, void *ctx);

/**
 * Deliver a log line through the provider's log hook (for provider implementations and the
 * engine). Lines above the configured level, or with no hook set, are dropped.
 * @param provider  the provider (NULL: no-op)
 * @param level     ::OF_LOCK_LOG_ERROR .. ::OF_LOCK_LOG_DEBUG
 * @param msg       NUL-terminated text (copied by nobody: the hook sees it during the call)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API void of_lock_provider_log(of_lock_provider *provider, int level, const char *msg);

/** The provider's `name` from its ops table ("local", "redis", ...); NULL for NULL.
 *  Thread-safety: safe: any thread, any time. */
OF_API const char *of_lock_provider_name(const of_lock_provider *provider);

/** The provider's capability bits (::OF_LOCK_CAP_TTL, ...); 0 for NULL.
 *  Thread-safety: safe: any thread, any time. */
OF_API uint32_t of_lock_provider_caps(const of_lock_provider *provider);

/**
 * Destroy a provider: stop and join the engine's thread, make one bounded last attempt for
 * everything still queued, then call the ops' destroy(self). The last attempt has one budget
 * for all of it together, min(step timeout, 1 s): each release gets what is left of it as its
 * deadline, and what it does not reach is dropped (those leases expire by their TTL).
 *
 * Every handle should have been released first (the loss callback must not call this). A handle
 * still held is not leaked silently: a ::OF_LOCK_LOG_WARN line names how many (and how many were
 * auto-renewed), their renewals stop with the thread, their leases get a release in the same
 * last attempt, and the handles are freed: using one afterwards is undefined (like `free()`).
 * NULL is a no-op.
 * @note Thread-safety: one thread at a time, with no other call on the provider in flight.
 */
OF_API void of_lock_provider_destroy(of_lock_provider *provider);

/* ---------------------------------------------------------------------------------------------
 * Built-in in-process provider
 * ------------------------------------------------------------------------------------------- */

/**
 * Create an in-process provider: named locks shared by the threads of this process, with the
 * same lease semantics as remote backends (an expired lease can be taken over; the old holder's
 * release/extend then answer ::OF_ERR_NOT_OWNER), waiters woken on release (no polling), fencing
 * tokens strictly increasing per name, memory returned when names go idle.
 * Caps: ::OF_LOCK_CAP_TTL | ::OF_LOCK_CAP_EXTEND | ::OF_LOCK_CAP_FENCE | ::OF_LOCK_CAP_WAIT.
 * @param out_provider  receives the provider; untouched on error
 * @return ::OF_OK; ::OF_ERR_INVALID for NULL; ::OF_ERR_NOMEM; ::OF_ERR_UNAVAILABLE when the OS
 *         gives no randomness for tokens (never a weak generator)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_local_create(of_lock_provider **out_provider);

/* ---------------------------------------------------------------------------------------------
 * Provider-facing vtable (for backend implementers)
 * ------------------------------------------------------------------------------------------- */

/** The vtable ABI this header describes; put it in ::of_lock_provider_ops.abi_version. */
#define OF_LOCK_PROVIDER_ABI 1

/** Cap: leases expire by themselves after their TTL (a crashed holder frees the name). */
#define OF_LOCK_CAP_TTL (1u << 0)
/** Cap: the provider implements extend. */
#define OF_LOCK_CAP_EXTEND (1u << 1)
/** Cap: try-acquire reports a fencing token (see ::of_lock_provider_ops.try_acquire). */
#define OF_LOCK_CAP_FENCE (1u << 2)
/** Cap: wait_release is implemented and wakes on release (no polling needed). */
#define OF_LOCK_CAP_WAIT (1u << 3)
/** Cap: locks are shared with other processes (on this host or beyond). */
#define OF_LOCK_CAP_SHARED (1u << 4)
/** Every cap bit this header defines. */
#define OF_LOCK_CAP_ALL 0x1fu

/**
 * The steps a backend implements. Every step takes the provider's `self` first, returns ::OF_OK
 * or a negative status, must not block past its `deadline_ns` (CLOCK_MONOTONIC ns; return
 * ::OF_ERR_UNKNOWN if a request was sent and the reply did not come by then, or
 * ::OF_ERR_UNAVAILABLE if nothing was sent), and may be called from several threads at once
 * (including the engine's thread): the provider synchronises its own state. Names arrive as
 * validated bytes (1..::OF_NAME_MAX, may contain NUL), tokens as 16 bytes; neither pointer
 * outlives the call. A provider can log with of_lock_provider_log() on the ::of_lock_provider
 * that of_lock_provider_create() returned (store it in `self` after creation).
 *
 * Thread-safety: the table is read-only after of_lock_provider_create() (which copies it).
 */
typedef struct of_lock_provider_ops {
    uint32_t abi_version; /**< ::OF_LOCK_PROVIDER_ABI the provider was built against */
    uint32_t struct_size; /**< sizeof(of_lock_provider_ops) as the provider saw it; members past
                               it count as NULL */
    const char *name;     /**< static text: "local", "redis", ... (not copied: must outlive the provider) */
    uint32_t caps;        /**< ::OF_LOCK_CAP_TTL | ::OF_LOCK_CAP_EXTEND | ... */
    uint32_t reserved0;   /**< must be 0 */

    /**
     * Try once, without waiting for a holder, to take @p name for @p token with a lease of
     * @p ttl_ms.
     * @param out_fence           on ::OF_OK with ::OF_LOCK_CAP_FENCE: set to this acquisition's
     *                            fence, 1..::OF_LOCK_FENCE_MAX, strictly greater than every fence
     *                            earlier owners of @p name got (engine pre-sets 0)
     * @param out_valid_until_ns  on ::OF_OK: the engine pre-sets it to (time just before the call
     *                            + ttl); the provider may only lower it (e.g. subtract clock drift
     *                            or time already elapsed on another server); never raise it
     * @param out_retry_after_ms  with ::OF_ERR_BUSY or ::OF_ERR_UNAVAILABLE: optionally set
     *                            (engine pre-sets 0 = no hint) to the longest a new attempt
     *                            should wait (e.g. the holder's remaining lease): it caps the
     *                            engine's jittered backoff, never lengthens it, and the BUSY /
     *                            TIMEOUT detail reports it as the holder's remaining lease
     * @return ::OF_OK taken; ::OF_ERR_BUSY held by another token (also our own earlier token:
     *         locks are not reentrant); ::OF_ERR_UNAVAILABLE backend not reached, nothing sent
     *         (the engine retries until the wait deadline); ::OF_ERR_UNKNOWN request sent, no
     *         reply (the engine queues a cleanup release for @p token and fails the acquire at
     *         once); ::OF_ERR_AUTH, ::OF_ERR_PROTOCOL, ::OF_ERR_NOMEM: returned to the caller.
     */
    int (*try_acquire)(void *self, const void *name, size_t name_len, const of_lock_token *token,
                       uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,
                       int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms);

    /**
     * Delete the lease on @p name only if @p token holds it (compare-and-delete), and wake
     * waiters if the provider can.
     * @return ::OF_OK deleted; ::OF_ERR_NOT_OWNER @p token does not hold it (expired, taken over,
     *         never landed): nothing was changed; ::OF_ERR_UNKNOWN / ::OF_ERR_UNAVAILABLE as
     *         above; other errors. Only OK and NOT_OWNER are final: after any other answer the
     *         engine treats the lease as possibly still held and queues a retry.
     */
    int (*release)(void *self, const void *name, size_t name_len, const of_lock_token *token,
                   int64_t deadline_ns);

    /**
     * Set the lease of @p name to @p ttl_ms from now only if @p token holds it (NULL when the
     * provider lacks ::OF_LOCK_CAP_EXTEND).
     * @param out_valid_until_ns  on ::OF_OK: pre-set by the engine to (time just before the call
     *                            + ttl); the provider may only lower it. An OK that returns at or
     *                            after this time is not an extension (the engine answers
     *                            ::OF_ERR_UNKNOWN); likewise for try_acquire.
     * @return ::OF_OK extended; ::OF_ERR_NOT_OWNER @p token does not hold it (nothing changed);
     *         ::OF_ERR_UNKNOWN / ::OF_ERR_UNAVAILABLE; other errors.
     */
    int (*extend)(void *self, const void *name, size_t name_len, const of_lock_token *token,
                  uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns);

    /**
     * Optional (NULL: the engine polls with backoff). Block until @p name is probably free or
     * @p until_ns passes. The only step that may block, and only until @p until_ns. It must
     * return ::OF_OK at once if @p name is not held when called (so a release between a BUSY
     * answer and this call is never missed), and should return when the holder's lease ends.
     * Spurious ::OF_OK returns are allowed: the engine simply tries again.
     * @return ::OF_OK retry now; ::OF_ERR_TIMEOUT @p until_ns passed; another error makes the
     *         engine fall back to backoff for this attempt.
     */
    int (*wait_release)(void *self, const void *name, size_t name_len, int64_t until_ns);

    /**
     * Free everything behind @p self. Called exactly once, by of_lock_provider_destroy(), after
     * the engine's last cleanup attempts; may be NULL.
     */
    void (*destroy)(void *self);
    /* members above: ABI 1 (OF_LOCK_PROVIDER_ABI 1); add new members below this line only */
} of_lock_provider_ops;

/**
 * Wrap a provider implementation in the engine.
 * @param ops           the vtable; copied (`name` is kept as a pointer: static text). Its
 *                      `abi_version` must be 1..::OF_LOCK_PROVIDER_ABI and its `struct_size` at
 *                      least the ABI-1 size and at most this library's sizeof; try_acquire and
 *                      release are required, extend is required with ::OF_LOCK_CAP_EXTEND,
 *                      wait_release with ::OF_LOCK_CAP_WAIT.
 * @param self          the implementation's state, passed to every step as given; on success
 *                      the provider owns it (destroy(self) runs at of_lock_provider_destroy());
 *                      on error the caller still owns it
 * @param out_provider  receives the provider; untouched on error
 * @return ::OF_OK; ::OF_ERR_INVALID NULL ops/out_provider, missing required step, unknown cap
 *         bits, empty name, non-zero reserved field; ::OF_ERR_ABI `abi_version` newer than this
 *         library or 0, `struct_size` too small or larger than this library's; ::OF_ERR_NOMEM;
 *         ::OF_ERR_UNAVAILABLE no OS randomness for tokens
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_provider_create(const of_lock_provider_ops *ops, void *self,
                                   of_lock_provider **out_provider);

/**
 * The `self` a provider implementation gave of_lock_provider_create(), for the implementation's
 * own functions that take an ::of_lock_provider (a test hook, a backend-specific setting).
 * @param provider  the provider
 * @param ops_name  the implementation's ops `name`: the very pointer it put in its
 *                  ::of_lock_provider_ops (compared as a pointer, not as text), so a provider made
 *                  by another implementation, even one with the same name text, gives NULL
 * @return its `self`; NULL for NULL arguments or a provider of another implementation
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API void *of_lock_provider_self(const of_lock_provider *provider, const char *ops_name);

/**
 * Test facility: stop (@p paused non-zero) or resume (0) the auto-renewals of every handle of
 * @p provider, so a test can let a lease run out under an auto-renewed handle. While paused the
 * engine thread extends nothing, but still marks a handle lost (and calls its loss callback) once
 * its `valid_until` passes; resuming renews what is still valid. Not for production use: a
 * paused provider loses every auto-renewed lock at its TTL. The conformance suite uses this
 * unless its target supplies its own pause_renewals (docs/providers.md).
 * @param provider  the provider
 * @param paused    1 to pause, 0 to resume
 * @return ::OF_OK; ::OF_ERR_INVALID for NULL
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_lock_provider_pause_renewals(of_lock_provider *provider, int paused);

/** sizeof(of_lock_provider_ops) in this library (for bindings building the table in memory).
 *  Thread-safety: safe: any thread, any time. */
OF_API size_t of_lock_provider_ops_size(void);

/** sizeof(of_lock_options) in this library. Thread-safety: safe: any thread, any time. */
OF_API size_t of_lock_options_size(void);

/** sizeof(of_lock_stats) in this library. Thread-safety: safe: any thread, any time. */
OF_API size_t of_lock_stats_size(void);

/** sizeof(of_lock_provider_config) in this library. Thread-safety: safe: any thread, any time. */
OF_API size_t of_lock_provider_config_size(void);

#ifdef __cplusplus
}
#endif

#endif /* OPENFAULT_LOCK_H */
