/* Unguessable 128-bit owner tokens without a system call per token.
 *
 * A generator draws a 128-bit key from the OS once (getrandom, else /dev/urandom; if neither works
 * creation fails: never a weak generator). Token i is SipHash-2-4-128(key, le64(i)) for a
 * per-generator atomic counter i: a keyed pseudo-random function, so tokens cannot be predicted
 * from earlier ones, and distinct counters collide only with ~2^-128 probability. */
#ifndef OPENFAULT_SRC_COMMON_TOKEN_H
#define OPENFAULT_SRC_COMMON_TOKEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ofi_token {
    uint64_t hi;
    uint64_t lo;
} ofi_token;

typedef struct ofi_token_gen {
    uint64_t k0, k1;
    _Atomic uint64_t counter;
} ofi_token_gen;

/* OF_OK, or OF_ERR_UNAVAILABLE (with detail) when the OS gives no randomness. */
int ofi_token_gen_init(ofi_token_gen *gen);

ofi_token ofi_token_next(ofi_token_gen *gen);

static inline int ofi_token_equal(ofi_token a, ofi_token b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

/* Fill @p buf with OS randomness: getrandom() when @p use_getrandom, else (or when it fails) the
 * file @p fallback_path. OF_OK or OF_ERR_UNAVAILABLE. Split out so tests can force each path. */
int ofi_os_random(void *buf, size_t len, int use_getrandom, const char *fallback_path);

/* SipHash-2-4 over @p in with the 16-byte key (k0, k1 little-endian); @p out_len is 8 or 16.
 * Exposed for the reference-vector test. */
void ofi_siphash(const void *in, size_t in_len, uint64_t k0, uint64_t k1, uint8_t *out,
                 size_t out_len);

#endif
