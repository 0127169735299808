/* The library's hash, inlined into hot paths (ring lookups hash every key). */
#ifndef OPENFAULT_SRC_COMMON_HASH_H
#define OPENFAULT_SRC_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t ofi_hash64(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}

#endif
