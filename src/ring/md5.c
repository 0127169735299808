/* MD5 as specified by RFC 1321, written for the ketama mode (no crypto dependency). */
#include "ring/md5.h"

#include <string.h>

/* T[i] = floor(2^32 * |sin(i + 1)|), tabulated so no libm call or rounding question arises. */
static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static inline uint32_t rotl32(uint32_t x, unsigned s)
{
    return (x << s) | (x >> (32u - s));
}

/* The four auxiliary functions of RFC 1321 section 3.4 (F and G in their cheaper equivalent
 * forms), and one step: a = b + ((a + fn(b,c,d) + x[k] + T[i]) <<< s). Written out step by step
 * because the ketama mode hashes every key with MD5: fully unrolled, every message index, shift and
 * constant is known at compile time. */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
/* G as a sum of two disjoint masks: (y & ~z) does not wait for x, the previous step's result. */
#define MD5_G(x, y, z) (((x) & (z)) + ((y) & ~(z)))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
/* a + x[k] + T[i] is ready before b is: add the function of b last. */
#define MD5_STEP(fn, a, b, c, d, xk, s, i)                                                         \
    ((a) = (b) + rotl32((a) + (xk) + md5_t[i] + fn((b), (c), (d)), (s)))

static void md5_block(uint32_t state[4], const uint8_t block[64])
{
    uint32_t x[16];
    for (size_t i = 0; i < 16; i++)
        x[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
               (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    /* Round 1 */
    MD5_STEP(MD5_F, a, b, c, d, x[0], 7, 0);
    MD5_STEP(MD5_F, d, a, b, c, x[1], 12, 1);
    MD5_STEP(MD5_F, c, d, a, b, x[2], 17, 2);
    MD5_STEP(MD5_F, b, c, d, a, x[3], 22, 3);
    MD5_STEP(MD5_F, a, b, c, d, x[4], 7, 4);
    MD5_STEP(MD5_F, d, a, b, c, x[5], 12, 5);
    MD5_STEP(MD5_F, c, d, a, b, x[6], 17, 6);
    MD5_STEP(MD5_F, b, c, d, a, x[7], 22, 7);
    MD5_STEP(MD5_F, a, b, c, d, x[8], 7, 8);
    MD5_STEP(MD5_F, d, a, b, c, x[9], 12, 9);
    MD5_STEP(MD5_F, c, d, a, b, x[10], 17, 10);
    MD5_STEP(MD5_F, b, c, d, a, x[11], 22, 11);
    MD5_STEP(MD5_F, a, b, c, d, x[12], 7, 12);
    MD5_STEP(MD5_F, d, a, b, c, x[13], 12, 13);
    MD5_STEP(MD5_F, c, d, a, b, x[14], 17, 14);
    MD5_STEP(MD5_F, b, c, d, a, x[15], 22, 15);
    /* Round 2 */
    MD5_STEP(MD5_G, a, b, c, d, x[1], 5, 16);
    MD5_STEP(MD5_G, d, a, b, c, x[6], 9, 17);
    MD5_STEP(MD5_G, c, d, a, b, x[11], 14, 18);
    MD5_STEP(MD5_G, b, c, d, a, x[0], 20, 19);
    MD5_STEP(MD5_G, a, b, c, d, x[5], 5, 20);
    MD5_STEP(MD5_G, d, a, b, c, x[10], 9, 21);
    MD5_STEP(MD5_G, c, d, a, b, x[15], 14, 22);
    MD5_STEP(MD5_G, b, c, d, a, x[4], 20, 23);
    MD5_STEP(MD5_G, a, b, c, d, x[9], 5, 24);
    MD5_STEP(MD5_G, d, a, b, c, x[14], 9, 25);
    MD5_STEP(MD5_G, c, d, a, b, x[3], 14, 26);
    MD5_STEP(MD5_G, b, c, d, a, x[8], 20, 27);
    MD5_STEP(MD5_G, a, b, c, d, x[13], 5, 28);
    MD5_STEP(MD5_G, d, a, b, c, x[2], 9, 29);
    MD5_STEP(MD5_G, c, d, a, b, x[7], 14, 30);
    MD5_STEP(MD5_G, b, c, d, a, x[12], 20, 31);
    /* Round 3 */
    MD5_STEP(MD5_H, a, b, c, d, x[5], 4, 32);
    MD5_STEP(MD5_H, d, a, b, c, x[8], 11, 33);
    MD5_STEP(MD5_H, c, d, a, b, x[11], 16, 34);
    MD5_STEP(MD5_H, b, c, d, a, x[14], 23, 35);
    MD5_STEP(MD5_H, a, b, c, d, x[1], 4, 36);
    MD5_STEP(MD5_H, d, a, b, c, x[4], 11, 37);
    MD5_STEP(MD5_H, c, d, a, b, x[7], 16, 38);
    MD5_STEP(MD5_H, b, c, d, a, x[10], 23, 39);
    MD5_STEP(MD5_H, a, b, c, d, x[13], 4, 40);
    MD5_STEP(MD5_H, d, a, b, c, x[0], 11, 41);
    MD5_STEP(MD5_H, c, d, a, b, x[3], 16, 42);
    MD5_STEP(MD5_H, b, c, d, a, x[6], 23, 43);
    MD5_STEP(MD5_H, a, b, c, d, x[9], 4, 44);
    MD5_STEP(MD5_H, d, a, b, c, x[12], 11, 45);
    MD5_STEP(MD5_H, c, d, a, b, x[15], 16, 46);
    MD5_STEP(MD5_H, b, c, d, a, x[2], 23, 47);
    /* Round 4 */
    MD5_STEP(MD5_I, a, b, c, d, x[0], 6, 48);
    MD5_STEP(MD5_I, d, a, b, c, x[7], 10, 49);
    MD5_STEP(MD5_I, c, d, a, b, x[14], 15, 50);
    MD5_STEP(MD5_I, b, c, d, a, x[5], 21, 51);
    MD5_STEP(MD5_I, a, b, c, d, x[12], 6, 52);
    MD5_STEP(MD5_I, d, a, b, c, x[3], 10, 53);
    MD5_STEP(MD5_I, c, d, a, b, x[10], 15, 54);
    MD5_STEP(MD5_I, b, c, d, a, x[1], 21, 55);
    MD5_STEP(MD5_I, a, b, c, d, x[8], 6, 56);
    MD5_STEP(MD5_I, d, a, b, c, x[15], 10, 57);
    MD5_STEP(MD5_I, c, d, a, b, x[6], 15, 58);
    MD5_STEP(MD5_I, b, c, d, a, x[13], 21, 59);
    MD5_STEP(MD5_I, a, b, c, d, x[4], 6, 60);
    MD5_STEP(MD5_I, d, a, b, c, x[11], 10, 61);
    MD5_STEP(MD5_I, c, d, a, b, x[2], 15, 62);
    MD5_STEP(MD5_I, b, c, d, a, x[9], 21, 63);
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void ofi_md5_init(ofi_md5_ctx *ctx)
{
    ctx->state[0] = 0x67452301;
    ctx->state[1] = 0xefcdab89;
    ctx->state[2] = 0x98badcfe;
    ctx->state[3] = 0x10325476;
    ctx->length = 0;
}

void ofi_md5_update(ofi_md5_ctx *ctx, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t have = (size_t)(ctx->length & 63);
    ctx->length += len;
    if (have) {
        size_t take = 64 - have < len ? 64 - have : len;
        memcpy(ctx->buffer + have, p, take);
        p += take;
        len -= take;
        if (have + take < 64)
            return;
        md5_block(ctx->state, ctx->buffer);
    }
    for (; len >= 64; p += 64, len -= 64)
        md5_block(ctx->state, p);
    if (len)
        memcpy(ctx->buffer, p, len);
}

void ofi_md5_final(ofi_md5_ctx *ctx, uint8_t digest[16])
{
    uint64_t bits = ctx->length * 8;
    uint8_t pad[72] = {0x80};
    size_t have = (size_t)(ctx->length & 63);
    size_t padlen = have < 56 ? 56 - have : 120 - have;
    uint8_t lenbytes[8];
    for (int i = 0; i < 8; i++)
        lenbytes[i] = (uint8_t)(bits >> (8 * i));
    ofi_md5_update(ctx, pad, padlen);
    ofi_md5_update(ctx, lenbytes, 8);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            digest[4 * i + j] = (uint8_t)(ctx->state[i] >> (8 * j));
}

void ofi_md5(const void *data, size_t len, uint8_t digest[16])
{
    if (len < 56) {
        /* One padded block, built directly (keys and ketama point strings are short). */
        uint8_t block[64] = {0};
        memcpy(block, data, len);
        block[len] = 0x80;
        uint64_t bits = (uint64_t)len * 8;
        for (int i = 0; i < 8; i++)
            block[56 + i] = (uint8_t)(bits >> (8 * i));
        uint32_t st[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
        md5_block(st, block);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                digest[4 * i + j] = (uint8_t)(st[i] >> (8 * j));
        return;
    }
    ofi_md5_ctx ctx;
    ofi_md5_init(&ctx);
    ofi_md5_update(&ctx, data, len);
    ofi_md5_final(&ctx, digest);
}
