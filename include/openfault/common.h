/**
 * @file common.h
 * @brief Status codes, error detail, version, hashing and clock helpers shared by every module.
 *
 * Every fallible function in libopenfault returns an `int`: ::OF_OK (0) or one of the negative
 * ::of_status values below. The values are ABI: they never change once released.
 */
#ifndef OPENFAULT_COMMON_H
#define OPENFAULT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/version.h>

/** Marks a function exported from the shared library (every other symbol is hidden). */
#if defined(__GNUC__) && __GNUC__ >= 4
#define OF_API __attribute__((visibility("default")))
#else
#define OF_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. Values are ABI: never renumbered, only appended. */
typedef enum of_status {
    OF_OK = 0,                  /**< success */
    OF_ERR_INVALID = -1,        /**< bad argument: NULL, empty or oversized name/id, bad option, bad URL */
    OF_ERR_NOMEM = -2,          /**< allocation failed */
    OF_ERR_NOT_FOUND = -3,      /**< no such node / key */
    OF_ERR_EXISTS = -4,         /**< already present */
    OF_ERR_EMPTY = -5,          /**< ring or index has nothing to answer with */
    OF_ERR_NOSPACE = -6,        /**< caller buffer or array capacity too small */
    OF_ERR_BUSY = -7,           /**< lock held by another owner and wait was 0 */
    OF_ERR_TIMEOUT = -8,        /**< wait > 0 and the deadline passed while the lock stayed held */
    OF_ERR_NOT_OWNER = -9,      /**< release/extend: our token no longer holds the name */
    OF_ERR_LOST = -10,          /**< a call on a handle already marked lost */
    OF_ERR_UNAVAILABLE = -11,   /**< backend not reached; nothing was sent */
    OF_ERR_UNKNOWN = -12,       /**< request sent, no reply: the outcome is unknown (cleanup is queued) */
    OF_ERR_AUTH = -13,          /**< backend refused the credentials */
    OF_ERR_PROTOCOL = -14,      /**< unexpected backend reply (e.g. WRONGTYPE) */
    OF_ERR_NOT_SUPPORTED = -15, /**< feature not built in, or not offered by this provider/mode */
    OF_ERR_ABI = -16            /**< a vtable or options struct newer than the library, or too small */
} of_status;

/** The most negative status this library version can return (for bindings building tables). */
#define OF_STATUS_MIN OF_ERR_ABI

/** Longest node id / lock name in bytes. Ids and names are 1..OF_NAME_MAX bytes. */
#define OF_NAME_MAX 1024

/**
 * A short English description of a status code.
 * @param status  any int; unknown values get "unknown status"
 * @return static text, never NULL
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API const char *of_strerror(int status);

/**
 * The symbolic name of a status code, e.g. "OF_ERR_BUSY".
 * @param status  any int; unknown values get "OF_ERR_?"
 * @return static text, never NULL
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API const char *of_status_name(int status);

/**
 * Detail of the last failed call made by the calling thread (like `dlerror()`): a Redis error
 * reply, the position of a bad URL character, which argument was invalid.
 * @return library-owned NUL-terminated text, "" when the failure carried no detail; valid until
 *         the calling thread's next call into the library. Never NULL.
 * @note Thread-safety: safe: any thread, any time (the detail is kept per thread).
 */
OF_API const char *of_last_error_detail(void);

/**
 * The library's version as MAJOR*10000 + MINOR*100 + PATCH (compare with OF_VERSION_NUMBER from
 * version.h to detect a header/library mismatch).
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API unsigned of_version_number(void);

/**
 * The library's version as "MAJOR.MINOR.PATCH".
 * @return static text, never NULL
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API const char *of_version_string(void);

/**
 * Free memory that the library handed to the caller (documented per function). Use this, never
 * `free()`, so bindings never mix C runtimes. NULL is a no-op.
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API void of_free(void *ptr);

/**
 * The library's 64-bit hash: exactly `XXH3_64bits_withSeed(data, len, seed)` (xxHash 0.8).
 * The ring hashes keys with it, so `of_ring_lookup_hash(ring, of_hash64(key, len, seed), ...)`
 * equals `of_ring_lookup(ring, key, len, ...)` for a ring created with that seed.
 * @param data  bytes to hash; may be NULL only when @p len is 0
 * @param len   number of bytes
 * @param seed  hash seed
 * @return the hash (a NULL @p data with @p len > 0 hashes as the empty input)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API uint64_t of_hash64(const void *data, size_t len, uint64_t seed);

/**
 * Nanoseconds on CLOCK_MONOTONIC, the clock of every deadline and `valid_until` in this library.
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int64_t of_clock_monotonic_ns(void);

/**
 * ::OF_NAME_MAX as a function, for bindings that cannot read macros.
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API size_t of_name_max(void);

/** Metrics format: the Prometheus text exposition format (version 0.0.4). */
#define OF_METRICS_PROMETHEUS 1
/** Metrics format: one JSON object (see docs/observability.md). */
#define OF_METRICS_JSON 2

/** Receives metrics text in pieces (not NUL-terminated); return 0 to go on, or a negative
 *  ::of_status to stop: the call then returns that status (::OF_ERR_UNAVAILABLE for any other
 *  non-zero value). */
typedef int (*of_metrics_write_fn)(void *ctx, const char *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* OPENFAULT_COMMON_H */
