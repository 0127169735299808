/* MD5 (RFC 1321), needed only by the ring's ketama mode: libmemcached hashes keys and point
 * strings with it. Not for security. */
#ifndef OPENFAULT_SRC_RING_MD5_H
#define OPENFAULT_SRC_RING_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct ofi_md5_ctx {
    uint32_t state[4];
    uint64_t length;      /* bytes hashed so far */
    uint8_t buffer[64];   /* pending partial block */
} ofi_md5_ctx;

void ofi_md5_init(ofi_md5_ctx *ctx);
void ofi_md5_update(ofi_md5_ctx *ctx, const void *data, size_t len);
void ofi_md5_final(ofi_md5_ctx *ctx, uint8_t digest[16]);

/* One-shot digest of @p len bytes. */
void ofi_md5(const void *data, size_t len, uint8_t digest[16]);

#endif
