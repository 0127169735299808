/* The library's hash, inlined into hot paths (ring lookups hash every key). */
#ifndef OPENFAULT_SRC_COMMON_HASH_H
#define OPENFAULT_SRC_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* XXH3_64bits_withSeed(data, len, seed), with keys of up to 128 bytes hashed inline: the
 * compiler keeps the whole entry point out of line (its long-input path is large), so every ring
 * lookup paid a call, a second length dispatch and the caller's register saves around it. The
 * two short paths are the entry point's own (xxhash 0.8's XXH3_64bits_internal takes exactly
 * these for len <= 16 and len <= 128, with the default secret and the seed), so the value is the
 * same; the golden vectors of tests/ring check it. Other xxhash versions use the entry point.
 * Forced inline: with the short paths in it, gcc would otherwise keep one out-of-line copy. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline uint64_t ofi_hash64(const void *data, size_t len, uint64_t seed)
{
#if XXH_VERSION_NUMBER >= 800 && XXH_VERSION_NUMBER < 900
    if (len <= 16)
        return XXH3_len_0to16_64b((const xxh_u8 *)data, len, XXH3_kSecret, seed);
    if (len <= 128)
        return XXH3_len_17to128_64b((const xxh_u8 *)data, len, XXH3_kSecret, sizeof XXH3_kSecret,
                                    seed);
#endif
    return XXH3_64bits_withSeed(data, len, seed);
}

#endif
