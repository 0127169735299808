/* Internal hooks of the lock engine for the in-tree tests (providers use only <openfault/lock.h>:
 * of_lock_provider_self() and of_lock_provider_pause_renewals() are public). */
#ifndef OPENFAULT_SRC_LOCK_ENGINE_H
#define OPENFAULT_SRC_LOCK_ENGINE_H

#include <stdint.h>
#include <string.h>

#include <openfault/lock.h>

/* The `self` a provider was created with, whatever its implementation. */
void *ofi_lock_provider_self(const of_lock_provider *provider);

/* Number of unknown-outcome cleanups still queued (for tests). */
size_t ofi_lock_provider_cleanup_pending(of_lock_provider *provider);

/* For an in-process provider whose tokens never leave this process and are only compared for
 * equality (the local provider): from now on the engine passes it a cheap token in place of the
 * 128-bit one, and derives the unguessable token from the same generator index only when
 * of_lock_token_get() asks. Call before the first acquire. The cheap token is, in its bytes
 * 0..7, an id unique among this provider's acquisitions and, in its bytes 8..15 (native byte
 * order, ofi_lock_private_token_hash()), ofi_hash64(name, @p name_seed) of the name it was made
 * for: the provider's own table hash, computed once per acquisition by the engine instead of
 * once per provider step. Every token the engine passes to such a provider (acquire, release,
 * extend, cleanups, destroy) is one it made this way for that name. */
void ofi_lock_provider_use_private_tokens(of_lock_provider *provider, uint64_t name_seed);

/* While of_lock_release() calls its provider's release step, on that thread: the coarse
 * monotonic time (ofi_now_coarse_ns()) it read at its start, for the hold time and the step's
 * deadline; 0 at any other time (other callers of the release step: cleanups, hand-backs,
 * destroy). An in-process provider may judge the lease's expiry by it instead of reading the
 * clock again: the caller's critical section ended before this instant, so a lease that had not
 * ended by then covered all of it (and a takeover after it replaces the token, which the release
 * then sees). Initial-exec TLS like the engine's stripe index: no __tls_get_addr call. */
#if defined(__GNUC__)
extern _Thread_local int64_t ofi_lock_release_now __attribute__((tls_model("initial-exec")));
#else
extern _Thread_local int64_t ofi_lock_release_now;
#endif

/* Copy a name of @p len bytes (short ones, the common case, as 8-byte words with an overlapping
 * last word, no libc call: the call cost more than the bytes on the acquire path). */
static inline void ofi_lock_copy_name(char *dst, const void *src, size_t len)
{
    const char *s = src;
    if (len > 64 || len < 8) {
        memcpy(dst, s, len);
        return;
    }
    uint64_t w;
    for (size_t i = 0; i + 8 < len; i += 8) {
        memcpy(&w, s + i, sizeof w);
        memcpy(dst + i, &w, sizeof w);
    }
    memcpy(&w, s + len - 8, sizeof w);
    memcpy(dst + len - 8, &w, sizeof w);
}

/* The name hash carried by a private token (see above). */
static inline uint64_t ofi_lock_private_token_hash(const of_lock_token *token)
{
    uint64_t h;
    memcpy(&h, token->bytes + 8, sizeof h);
    return h;
}

#endif
