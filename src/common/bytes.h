/* Little-endian loads and stores: placement hashes, tokens and fingerprints are defined on
 * little-endian bytes so every platform (s390x included) computes the same values. memcpy keeps
 * them free of alignment and aliasing traps; compilers turn each into one move on x86. */
#ifndef OPENFAULT_SRC_COMMON_BYTES_H
#define OPENFAULT_SRC_COMMON_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint32_t ofi_load_le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t ofi_load_le64(const void *p)
{
    const uint8_t *b = p;
    return (uint64_t)ofi_load_le32(b) | (uint64_t)ofi_load_le32(b + 4) << 32;
}

static inline void ofi_store_le32(void *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    memcpy(p, b, sizeof b);
}

static inline void ofi_store_le64(void *p, uint64_t v)
{
    ofi_store_le32(p, (uint32_t)v);
    ofi_store_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#endif
