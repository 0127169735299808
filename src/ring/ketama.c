/* Ketama exactly as libmemcached 1.1.4 computes it: weighted (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED,
 * MD5, the float steps are deliberate) and unweighted (MEMCACHED_BEHAVIOR_KETAMA, one-at-a-time,
 * OF_RING_KETAMA_UNWEIGHTED). notes/ketama.md and docs/ring.md give the rules. */
#include "ring/ketama.h"
#include "ring/ring_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "ring/md5.h"

static int parse_port(const uint8_t *p, size_t len, uint32_t *out)
{
    if (len == 0 || len > 5)
        return ofi_fail(OF_ERR_INVALID, "ketama id: port must be 1..65535 in decimal");
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return ofi_fail(OF_ERR_INVALID, "ketama id: port must be 1..65535 in decimal");
        v = v * 10 + (uint32_t)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return ofi_fail(OF_ERR_INVALID, "ketama id: port %u out of 1..65535", (unsigned)v);
    *out = v;
    return OF_OK;
}

int ofi_ketama_parse(const uint8_t *id, size_t len, size_t *out_host_off, size_t *out_host_len,
                     uint32_t *out_port)
{
    if (memchr(id, '\0', len))
        return ofi_fail(OF_ERR_INVALID, "ketama id contains a NUL byte");
    size_t host_off = 0, host_len;
    uint32_t port = OFI_KETAMA_DEFAULT_PORT;
    if (id[0] == '[') {
        const uint8_t *close = memchr(id, ']', len);
        if (!close)
            return ofi_fail(OF_ERR_INVALID, "ketama id: '[' without ']'");
        host_off = 1;
        host_len = (size_t)(close - id) - 1;
        size_t rest = len - (size_t)(close - id) - 1;
        if (rest > 0) {
            if (close[1] != ':')
                return ofi_fail(OF_ERR_INVALID, "ketama id: expected ':port' after ']'");
            int rc = parse_port(close + 2, rest - 1, &port);
            if (rc != OF_OK)
                return rc;
        }
        if (memchr(id + 1, '[', host_len) || memchr(id + 1, ']', host_len))
            return ofi_fail(OF_ERR_INVALID, "ketama id: nested brackets");
    } else {
        if (memchr(id, '[', len) || memchr(id, ']', len))
            return ofi_fail(OF_ERR_INVALID, "ketama id: brackets must enclose the whole host");
        const uint8_t *colon = memchr(id, ':', len);
        host_len = len;
        if (colon) {
            host_len = (size_t)(colon - id);
            size_t rest = len - host_len - 1;
            if (memchr(colon + 1, ':', rest))
                return ofi_fail(OF_ERR_INVALID,
                                "ketama id: IPv6 addresses must be written as [addr]:port");
            int rc = parse_port(colon + 1, rest, &port);
            if (rc != OF_OK)
                return rc;
        }
    }
    if (host_len == 0)
        return ofi_fail(OF_ERR_INVALID, "ketama id: empty host");
    *out_host_off = host_off;
    *out_host_len = host_len;
    *out_port = port;
    return OF_OK;
}

uint32_t ofi_ketama_digests(uint32_t weight, uint64_t total_weight, uint32_t server_count)
{
    /* Each step rounds to float as libmemcached's expression does; volatile keeps the compiler
     * from keeping intermediates in wider registers (meson also passes -ffp-contract=off). */
    volatile float pct = (float)weight / (float)total_weight;
    volatile float scaled = pct * (float)OFI_KETAMA_POINTS_PER_SERVER;
    volatile float quarter = scaled / 4.0f;
    volatile float product = quarter * (float)server_count;
    /* The 1e-10 epsilon is below float resolution: it never changes the result. */
    return (uint32_t)floor((double)product + 0.0000000001);
}

/* The string of point (or digest) @p d of a server, as libmemcached formats it: the port is
 * left out when it is the default one. Returns its length; @p buf holds OF_NAME_MAX + 32. */
static size_t point_string(const uint8_t *host, size_t host_len, uint32_t port, uint32_t d,
                           char *buf, size_t cap)
{
    size_t n = host_len;
    memcpy(buf, host, host_len);
    int extra;
    if (port == OFI_KETAMA_DEFAULT_PORT)
        extra = snprintf(buf + n, cap - n, "-%u", (unsigned)d);
    else
        extra = snprintf(buf + n, cap - n, ":%u-%u", (unsigned)port, (unsigned)d);
    return n + (size_t)extra;
}

void ofi_ketama_points(const uint8_t *host, size_t host_len, uint32_t port, uint32_t d,
                       uint32_t out_points[4])
{
    char buf[OF_NAME_MAX + 32];
    size_t n = point_string(host, host_len, port, d, buf, sizeof buf);
    uint8_t m[16];
    ofi_md5(buf, n, m);
    for (size_t x = 0; x < 4; x++)
        out_points[x] = ofi_load_le32(m + 4 * x);
}

uint32_t ofi_ketama_oaat(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        /* libhashkit adds `(uint32_t)*ptr` with `const char *ptr`: char is signed on x86-64,
         * so a byte >= 0x80 is sign-extended. Written out, so every target (s390x's and
         * arm64's char is unsigned) computes what Debian's amd64 libmemcached does. */
        uint32_t b = p[i];
        if (b & 0x80u)
            b |= 0xFFFFFF00u;
        v += b;
        v += v << 10;
        v ^= v >> 6;
    }
    v += v << 3;
    v ^= v >> 11;
    v += v << 15;
    return v;
}

uint32_t ofi_ketama_unweighted_point(const uint8_t *host, size_t host_len, uint32_t port,
                                     uint32_t d)
{
    char buf[OF_NAME_MAX + 32];
    size_t n = point_string(host, host_len, port, d, buf, sizeof buf);
    return ofi_ketama_oaat(buf, n);
}

uint32_t ofi_ketama_key_hash(const void *key, size_t len)
{
    uint8_t m[16];
    ofi_md5(key, len, m);
    return ofi_load_le32(m);
}

/* ---------------------------------------------------------------------------------------------
 * The ketama placement (ring_internal.h's interface)
 * ------------------------------------------------------------------------------------------- */

static int ketama_configure(const of_ring_options *opts, uint32_t *vnodes, uint64_t *seed)
{
    (void)opts;
    *vnodes = OFI_KETAMA_POINTS_PER_SERVER;
    *seed = 0;
    return OF_OK;
}

/* A server is its host and port: "h", "h:11211" and the same host written again are one. */
static int ketama_ident(const uint8_t *id, size_t len, uint32_t *off, uint32_t *ident_len,
                        uint32_t *num)
{
    size_t o, l;
    int rc = ofi_ketama_parse(id, len, &o, &l, num);
    if (rc != OF_OK)
        return rc;
    *off = (uint32_t)o;
    *ident_len = (uint32_t)l;
    return OF_OK;
}

static int ketama_check_weight(uint32_t weight, uint32_t vnodes)
{
    (void)weight; /* any weight: 0 counts as 1, as in libmemcached */
    (void)vnodes;
    return OF_OK;
}

/* A server's share of 160 x n points is at most 160 x (its weight / total) x n <= 160 x n. */
static uint64_t ketama_max_points(uint32_t weight, uint32_t vnodes)
{
    (void)weight;
    (void)vnodes;
    return OFI_KETAMA_POINTS_PER_SERVER;
}

static uint32_t ketama_point_count(const snap *s, const snap_node *nd, uint64_t total_weight)
{
    return 4 * ofi_ketama_digests(nd->weight ? nd->weight : 1, total_weight,
                                  (uint32_t)s->node_count);
}

static void ketama_points(const snap *s, const snap_node *nd, uint64_t *out)
{
    (void)s;
    for (uint32_t d = 0; d < nd->point_count / 4; d++) {
        uint32_t p4[4];
        ofi_ketama_points(nd->id + nd->ident_off, nd->ident_len, nd->ident_num, d, p4);
        for (int x = 0; x < 4; x++)
            out[4 * d + (uint32_t)x] = p4[x];
    }
}

static uint64_t ketama_key_hash(const void *key, size_t len, uint64_t seed)
{
    (void)seed;
    return ofi_ketama_key_hash(key, len);
}

static void ketama_fp_options(XXH3_state_t *st, const snap *s)
{
    (void)st; /* vnodes and seed are fixed */
    (void)s;
}

static void ketama_fp_node(XXH3_state_t *st, const snap_node *nd)
{
    ofi_fp_u32(st, nd->ident_len);
    XXH3_64bits_update(st, nd->id + nd->ident_off, nd->ident_len);
    ofi_fp_u32(st, nd->ident_num);
    ofi_fp_u32(st, nd->weight ? nd->weight : 1);
}

const ofi_ring_algo ofi_ring_ketama = {
    .name = "ketama",
    .hash_bits = 32,
    .seeded_hash = false,
    .id_order = false,
    .incremental = false, /* every point count depends on the total weight and server count */
    .same_ident = " (same host and port)",
    .configure = ketama_configure,
    .ident = ketama_ident,
    .check_weight = ketama_check_weight,
    .max_points = ketama_max_points,
    .point_count = ketama_point_count,
    .points = ketama_points,
    .key_hash = ketama_key_hash,
    .fp_options = ketama_fp_options,
    .fp_node = ketama_fp_node,
};

/* ---------------------------------------------------------------------------------------------
 * The unweighted ketama placement (OF_RING_KETAMA_UNWEIGHTED): the same ids, server order and
 * lookup as above; 100 points per server whatever its weight, each the one-at-a-time hash of its
 * point string, and keys hashed with one-at-a-time too.
 * ------------------------------------------------------------------------------------------- */

static uint64_t unweighted_max_points(uint32_t weight, uint32_t vnodes)
{
    (void)weight;
    (void)vnodes;
    return OFI_KETAMA_UNWEIGHTED_POINTS;
}

static uint32_t unweighted_point_count(const snap *s, const snap_node *nd, uint64_t total_weight)
{
    (void)s;
    (void)nd;
    (void)total_weight;
    return OFI_KETAMA_UNWEIGHTED_POINTS;
}

static void unweighted_points(const snap *s, const snap_node *nd, uint64_t *out)
{
    (void)s;
    for (uint32_t d = 0; d < nd->point_count; d++)
        out[d] = ofi_ketama_unweighted_point(nd->id + nd->ident_off, nd->ident_len,
                                             nd->ident_num, d);
}

static uint64_t unweighted_key_hash(const void *key, size_t len, uint64_t seed)
{
    (void)seed;
    return ofi_ketama_oaat(key, len);
}

const ofi_ring_algo ofi_ring_ketama_unweighted = {
    .name = "ketama",
    .hash_bits = 32,
    .seeded_hash = false,
    .id_order = false,
    /* A server's points depend on itself only, but server indexes (tie order) shift when one
     * leaves: rebuilt each time, 100 short hashes per server. */
    .incremental = false,
    .same_ident = " (same host and port)",
    .configure = ketama_configure,
    .ident = ketama_ident,
    .check_weight = ketama_check_weight,
    .max_points = unweighted_max_points,
    .point_count = unweighted_point_count,
    .points = unweighted_points,
    .key_hash = unweighted_key_hash,
    .fp_options = ketama_fp_options,
    .fp_node = ketama_fp_node, /* the weight too: the fingerprint covers what was given */
};
