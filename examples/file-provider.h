/* Example lock provider: cross-process leases on one host, one lease file per name in a
 * directory, built only on the public <openfault/lock.h>. Compiled into the programs that use it
 * (oflock --dir, the conformance run), not into the library. See docs/providers.md. */
#ifndef OPENFAULT_EXAMPLES_FILE_PROVIDER_H
#define OPENFAULT_EXAMPLES_FILE_PROVIDER_H

#include <stddef.h>

#include <openfault/lock.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Create a provider whose locks live in @p dir (an existing, writable directory shared by the
 * processes that should exclude each other; on one host, since expiries are CLOCK_MONOTONIC).
 * Caps: TTL | EXTEND | FENCE | SHARED. Returns OF_OK, OF_ERR_INVALID (NULL, not a writable
 * directory, path too long), OF_ERR_NOMEM, or an engine error. Thread-safety: safe: any thread. */
int file_provider_create(const char *dir, of_lock_provider **out_provider);

/* Test hook: make the current lease on @p name in @p dir lapse now, as if its TTL had passed
 * (the holder's handle is not touched). OF_OK, OF_ERR_NOT_FOUND if no lease file exists, or
 * OF_ERR_UNAVAILABLE on an I/O error. */
int file_provider_force_lapse(const char *dir, const void *name, size_t name_len);

#ifdef __cplusplus
}
#endif

#endif
