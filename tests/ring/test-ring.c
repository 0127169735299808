/* Tests of src/ring: placement against a naive reference model and golden vectors, movement,
 * balance, bad input, pins, bounded load, ownership, diff, views, ketama arithmetic and MD5.
 * No argument: the unit group; "slow": 1M-key balance and 100-node movement; "ketama-large":
 * 200k-server ketama builds; "concurrency": readers against a writer (run under TSan by the CI). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <openfault/openfault.h>

#include "test-util.h"

#include "common/backoff.h"
#include "common/hash.h"
#include "ring/ketama.h"
#include "ring/md5.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x243f6a8885a308d3u;

static uint64_t rnd(void)
{
    return ofi_splitmix64(&rng_state);
}

static of_ring *new_ring(uint32_t vnodes, uint64_t seed)
{
    of_ring_options o;
    assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
    o.vnodes = vnodes;
    o.seed = seed;
    of_ring *r = NULL;
    assert_int_equal(of_ring_create(&o, &r), OF_OK);
    return r;
}

static of_ring *new_ketama(uint32_t flags)
{
    of_ring_options o;
    assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
    o.algorithm = OF_RING_KETAMA;
    o.flags = flags;
    of_ring *r = NULL;
    assert_int_equal(of_ring_create(&o, &r), OF_OK);
    return r;
}

static void node_name(char *buf, size_t cap, unsigned i)
{
    snprintf(buf, cap, "node-%u", i);
}

static void add_nodes(of_ring *r, unsigned first, unsigned count)
{
    char id[32];
    for (unsigned i = first; i < first + count; i++) {
        node_name(id, sizeof id, i);
        assert_int_equal(of_ring_add(r, id, strlen(id), 1, i), OF_OK);
    }
}

static void key_name(char *buf, size_t cap, unsigned i)
{
    snprintf(buf, cap, "key:%08u", i);
}

static uint64_t lookup_tag(const of_ring *r, const void *key, size_t len)
{
    uint64_t tag = UINT64_MAX;
    assert_int_equal(of_ring_lookup(r, key, len, &tag, NULL, 0, NULL), OF_OK);
    return tag;
}

/* ---- naive reference model of docs/ring.md --------------------------------------------------- */

typedef struct ref_node {
    const char *id;
    size_t id_len;
    uint32_t weight;
    uint64_t tag;
} ref_node;

static int ref_id_cmp(const ref_node *a, const ref_node *b)
{
    size_t m = a->id_len < b->id_len ? a->id_len : b->id_len;
    int c = memcmp(a->id, b->id, m);
    if (c)
        return c;
    return a->id_len < b->id_len ? -1 : a->id_len > b->id_len;
}

/* Owner of @p key: smallest point >= hash (ties: smaller id), else the smallest point overall. */
static uint64_t ref_lookup(const ref_node *nodes, size_t n, uint32_t vnodes, uint64_t seed,
                           const void *key, size_t len)
{
    uint64_t h = XXH3_64bits_withSeed(key, len, seed);
    const ref_node *best_ge = NULL, *best_min = NULL;
    uint64_t ge = 0, mn = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t buf[1100];
        memcpy(buf, nodes[k].id, nodes[k].id_len);
        for (uint32_t i = 0; i < nodes[k].weight * vnodes; i++) {
            buf[nodes[k].id_len] = (uint8_t)i;
            buf[nodes[k].id_len + 1] = (uint8_t)(i >> 8);
            buf[nodes[k].id_len + 2] = (uint8_t)(i >> 16);
            buf[nodes[k].id_len + 3] = (uint8_t)(i >> 24);
            uint64_t p = XXH3_64bits_withSeed(buf, nodes[k].id_len + 4, seed);
            if (p >= h && (!best_ge || p < ge || (p == ge && ref_id_cmp(&nodes[k], best_ge) < 0))) {
                best_ge = &nodes[k];
                ge = p;
            }
            if (!best_min || p < mn || (p == mn && ref_id_cmp(&nodes[k], best_min) < 0)) {
                best_min = &nodes[k];
                mn = p;
            }
        }
    }
    return best_ge ? best_ge->tag : best_min->tag;
}

/* The compact owners' width follows the node count (8 bits up to 256 nodes, 16 above:
 * ring_internal.h). Growing across it and shrinking back merges between the two widths (20
 * vnodes keep the bucket index the same size at every step, so each change merges rather than
 * rebuilds): every step routes as a ring built in one call with the same nodes, single and
 * batched, and as the reference model on both sides of the edge. */
static void ring_owner_width_crossing(void **state)
{
    (void)state;
    enum { VN = 20, LO = 252, HI = 261 };
    static char ids[HI][32];
    ref_node ref[HI];
    of_ring_node_spec spec[HI];
    for (unsigned i = 0; i < HI; i++) {
        node_name(ids[i], sizeof ids[i], i);
        ref[i] = (ref_node){ids[i], strlen(ids[i]), 1, i};
        spec[i] = (of_ring_node_spec){ids[i], strlen(ids[i]), 1, i};
    }
    of_ring *r = new_ring(VN, 11);
    assert_int_equal(of_ring_add_many(r, spec, LO), OF_OK);
    unsigned keys = test_under_valgrind() ? 200 : 2000;
    for (unsigned step = 0; step < 2 * (HI - LO); step++) {
        unsigned n;
        if (step < HI - LO) {
            n = LO + step + 1;
            assert_int_equal(of_ring_add(r, ids[n - 1], strlen(ids[n - 1]), 1, n - 1), OF_OK);
        } else {
            n = HI - 1 - (step - (HI - LO));
            assert_int_equal(of_ring_remove(r, ids[n], strlen(ids[n])), OF_OK);
        }
        of_ring *fresh = new_ring(VN, 11);
        assert_int_equal(of_ring_add_many(fresh, spec, n), OF_OK);
        char key[64][32];
        const void *kp[64];
        size_t kl[64];
        uint64_t tags[64];
        for (unsigned k = 0; k < keys; k++) {
            key_name(key[k % 64], sizeof key[0], k + step * keys);
            kp[k % 64] = key[k % 64];
            kl[k % 64] = strlen(key[k % 64]);
            uint64_t t = lookup_tag(r, key[k % 64], kl[k % 64]);
            assert_int_equal(t, lookup_tag(fresh, key[k % 64], kl[k % 64]));
            if ((n == 256 || n == 257) && k < 64)
                assert_int_equal(t, ref_lookup(ref, n, VN, 11, key[k % 64], kl[k % 64]));
            if (k % 64 == 63) {
                assert_int_equal(of_ring_lookup_batch(r, kp, kl, 64, tags), OF_OK);
                for (unsigned j = 0; j < 64; j++)
                    assert_int_equal(tags[j], lookup_tag(fresh, kp[j], kl[j]));
            }
        }
        of_ring_destroy(fresh);
    }
    assert_int_equal(of_ring_node_count(r), LO);
    of_ring_destroy(r);
}

/* ---- MD5 and ketama arithmetic --------------------------------------------------------------- */

static void md5_rfc1321_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t d[16];
        char hex[33];
        ofi_md5(v[i].in, strlen(v[i].in), d);
        for (int j = 0; j < 16; j++)
            snprintf(hex + 2 * j, 3, "%02x", d[j]);
        assert_string_equal(hex, v[i].hex);
        /* Same digest when fed in uneven pieces (exercises the partial-block path). */
        ofi_md5_ctx c;
        ofi_md5_init(&c);
        size_t len = strlen(v[i].in);
        for (size_t off = 0; off < len; off += 7)
            ofi_md5_update(&c, v[i].in + off, len - off < 7 ? len - off : 7);
        uint8_t d2[16];
        ofi_md5_final(&c, d2);
        assert_memory_equal(d, d2, 16);
    }
}

static void ketama_digests_float_quirk(void **state)
{
    (void)state;
    /* Equal weights: n = 25, 47, 50, 100 give 39 digests, not 40 (notes/ketama.md). */
    const uint32_t quirky[] = {25, 47, 50, 100};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ofi_ketama_digests(1, quirky[i], quirky[i]), 39);
    assert_int_equal(ofi_ketama_digests(1, 10, 10), 40);
    assert_int_equal(ofi_ketama_digests(1, 1, 1), 40);
    unsigned short_count = 0;
    for (uint32_t n = 1; n <= 1000; n++)
        short_count += ofi_ketama_digests(1, n, n) != 40;
    assert_int_equal(short_count, 103);
    /* Unequal: weight 3 of total 4 over 2 servers = 60 digests. */
    assert_int_equal(ofi_ketama_digests(3, 4, 2), 60);
}

static void ketama_parse_ids(void **state)
{
    (void)state;
    size_t off, len;
    uint32_t port;
    assert_int_equal(ofi_ketama_parse((const uint8_t *)"cache1", 6, &off, &len, &port), OF_OK);
    assert_true(off == 0 && len == 6 && port == 11211);
    assert_int_equal(ofi_ketama_parse((const uint8_t *)"10.0.0.1:11300", 14, &off, &len, &port),
                     OF_OK);
    assert_true(off == 0 && len == 8 && port == 11300);
    assert_int_equal(ofi_ketama_parse((const uint8_t *)"[::1]:1234", 10, &off, &len, &port), OF_OK);
    assert_true(off == 1 && len == 3 && port == 1234);
    assert_int_equal(ofi_ketama_parse((const uint8_t *)"[fe80::1]", 9, &off, &len, &port), OF_OK);
    assert_true(off == 1 && len == 7 && port == 11211);
    const char *bad[] = {":11211", "host:", "host:0", "host:65536", "host:12a", "::1",
                         "[::1", "[::1]x", "[]:5", "h[o]st", "host:1:2", "[::1]:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            ofi_ketama_parse((const uint8_t *)bad[i], strlen(bad[i]), &off, &len, &port),
            OF_ERR_INVALID);
    assert_int_equal(ofi_ketama_parse((const uint8_t *)"a\0b", 3, &off, &len, &port),
                     OF_ERR_INVALID);
}

static void ketama_points_strings(void **state)
{
    (void)state;
    /* Port 11211 is left out of the point string, any other port is included. */
    uint32_t p[4], q[4];
    uint8_t m[16];
    ofi_ketama_points((const uint8_t *)"cache1", 6, 11211, 7, p);
    ofi_md5("cache1-7", 8, m);
    for (int x = 0; x < 4; x++)
        q[x] = (uint32_t)m[4 * x] | (uint32_t)m[4 * x + 1] << 8 | (uint32_t)m[4 * x + 2] << 16 |
               (uint32_t)m[4 * x + 3] << 24;
    assert_memory_equal(p, q, sizeof p);
    ofi_ketama_points((const uint8_t *)"cache1", 6, 11300, 0, p);
    ofi_md5("cache1:11300-0", 14, m);
    assert_int_equal(p[0], (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 |
                               (uint32_t)m[3] << 24);
    ofi_md5("abc", 3, m);
    assert_int_equal(ofi_ketama_key_hash("abc", 3), 0x98500190u);
}

static void ketama_unweighted_oaat(void **state)
{
    (void)state;
    /* Answers of Debian amd64 libmemcached's memcached_generate_hash_value(...,
     * MEMCACHED_HASH_DEFAULT): bytes >= 0x80 count as signed char on every target. */
    assert_int_equal(ofi_ketama_oaat("hello", 5), 0xc8fd181bu);
    assert_int_equal(ofi_ketama_oaat("\xff\x80z", 3), 0xa7e6bb0au);
    assert_int_equal(ofi_ketama_oaat("cache1:11300-99", 15), 0xee1ea81bu);
    assert_int_equal(ofi_ketama_unweighted_point((const uint8_t *)"cache1", 6, 11300, 99),
                     0xee1ea81bu);
    assert_int_equal(ofi_ketama_unweighted_point((const uint8_t *)"cache1", 6, 11211, 7),
                     ofi_ketama_oaat("cache1-7", 8));
}

/* ---- options, lifecycle, bad input ----------------------------------------------------------- */

static void ring_options_init_and_abi(void **state)
{
    (void)state;
    of_ring_options o;
    assert_int_equal(of_ring_options_init(NULL, sizeof o), OF_ERR_INVALID);
    assert_int_equal(of_ring_options_init(&o, sizeof o + 8), OF_ERR_ABI);
    assert_int_equal(of_ring_options_init(&o, 4), OF_ERR_ABI);
    assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
    assert_int_equal(o.vnodes, OF_RING_DEFAULT_VNODES);
    assert_int_equal(o.algorithm, OF_RING_NATIVE);
    assert_int_equal(of_ring_options_size(), sizeof o);
    assert_int_equal(of_ring_id_max(), OF_NAME_MAX);
    assert_int_equal(of_ring_max_points(), OF_RING_MAX_POINTS);

    of_ring *r = (of_ring *)&o; /* must stay untouched on error */
    o.vnodes = 0;
    assert_int_equal(of_ring_create(&o, &r), OF_ERR_INVALID);
    assert_ptr_equal(r, (of_ring *)&o);
    of_ring_options_init(&o, sizeof o);
    o.algorithm = 7;
    assert_int_equal(of_ring_create(&o, &r), OF_ERR_INVALID);
    of_ring_options_init(&o, sizeof o);
    o.flags = OF_RING_SORT_HOSTS;
    assert_int_equal(of_ring_create(&o, &r), OF_ERR_INVALID);
    o.flags = 0x80;
    assert_int_equal(of_ring_create(&o, &r), OF_ERR_INVALID);
    of_ring_options_init(&o, sizeof o);
    o.struct_size = 12;
    assert_int_equal(of_ring_create(&o, &r), OF_ERR_ABI);
    assert_int_equal(of_ring_create(NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_ring_create(NULL, &r), OF_OK);
    assert_int_equal(of_ring_node_count(r), 0);
    assert_int_equal(of_ring_generation(r), 0);
    of_ring_destroy(r);
    of_ring_destroy(NULL);
}

static void ring_lookup_empty_returns_empty(void **state)
{
    (void)state;
    of_ring *r = new_ring(16, 0);
    uint64_t tag = 42, tags[2] = {1, 2};
    assert_int_equal(of_ring_lookup(r, "k", 1, &tag, NULL, 0, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_ring_lookup_hash(r, 5, &tag, NULL, 0, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_ring_lookup_n(r, "k", 1, 1, tags), OF_ERR_EMPTY);
    assert_int_equal(tag, 42);
    assert_int_equal(tags[0], 1);
    of_ring_destroy(r);
    of_ring *k = new_ketama(0);
    assert_int_equal(of_ring_lookup(k, "k", 1, &tag, NULL, 0, NULL), OF_ERR_EMPTY);
    of_ring_destroy(k);
}

static void ring_bad_input_leaves_ring_unchanged(void **state)
{
    (void)state;
    of_ring *r = new_ring(100, 1);
    add_nodes(r, 0, 3);
    uint64_t fp = of_ring_fingerprint(r), gen = of_ring_generation(r);
    char big[OF_NAME_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(of_ring_add(r, "", 0, 1, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_add(r, NULL, 3, 1, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_add(r, big, sizeof big, 1, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_add(r, big, OF_NAME_MAX, 1, 0), OF_OK); /* the limit itself is fine */
    assert_int_equal(of_ring_remove(r, big, OF_NAME_MAX), OF_OK);
    fp = of_ring_fingerprint(r);
    gen = of_ring_generation(r);
    assert_int_equal(of_ring_add(r, "node-1", 6, 1, 9), OF_ERR_EXISTS);
    assert_int_equal(of_ring_remove(r, "nope", 4), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_add(r, "w0", 2, 0, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_add(r, "huge", 4, UINT32_MAX, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_add(r, "huge", 4, OF_RING_MAX_POINTS / 100 + 1, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_set_weight(r, "node-1", 6, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_set_weight(r, "nope", 4, 2), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_set_weight(r, "node-1", 6, UINT32_MAX), OF_ERR_INVALID);
    uint64_t tags[4] = {7, 7, 7, 7};
    assert_int_equal(of_ring_lookup_n(r, "k", 1, 0, tags), OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup_n(r, "k", 1, 4, tags), OF_ERR_INVALID);
    assert_int_equal(tags[0], 7);
    assert_int_equal(of_ring_lookup(r, NULL, 1, NULL, NULL, 0, NULL), OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup(NULL, "k", 1, NULL, NULL, 0, NULL), OF_ERR_INVALID);
    assert_int_equal(of_ring_pin(r, "k", 1, "nope", 4), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_unpin(r, "k", 1), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_fingerprint(r), fp);
    assert_int_equal(of_ring_generation(r), gen);
    assert_int_equal(of_ring_node_count(r), 3);
    /* Total point limit: many nodes whose sum overflows are refused one by one. */
    of_ring *big_ring = new_ring(OF_RING_MAX_POINTS / 2, 0);
    assert_int_equal(of_ring_add(big_ring, "a", 1, 3, 0), OF_ERR_INVALID);
    of_ring_destroy(big_ring);
    of_ring_destroy(r);

    of_ring *k = new_ketama(0);
    assert_int_equal(of_ring_add(k, "host:0", 6, 1, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_add(k, "::1", 3, 1, 0), OF_ERR_INVALID);
    assert_int_equal(of_ring_add(k, "cache:11211", 11, 0, 1), OF_OK); /* weight 0 counts as 1 */
    assert_int_equal(of_ring_add(k, "cache", 5, 1, 2), OF_ERR_EXISTS); /* same host and port */
    assert_int_equal(of_ring_add(k, "cache:11212", 11, 1, 2), OF_OK);
    int present = 0;
    assert_int_equal(of_ring_contains(k, "cache", 5, &present), OF_OK);
    assert_true(present);
    assert_int_equal(of_ring_pin(k, "k", 1, "cache", 5), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(of_ring_unpin(k, "k", 1), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(of_ring_pin_hash(k, 1, "cache", 5), OF_ERR_NOT_SUPPORTED);
    uint64_t tag;
    assert_int_equal(of_ring_lookup_hash(k, 1, &tag, NULL, 0, NULL), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(of_ring_remove(k, "cache", 5), OF_OK);
    assert_int_equal(of_ring_node_count(k), 1);
    of_ring_destroy(k);
}

/* ---- placement ------------------------------------------------------------------------------- */

static void ring_matches_reference_model(void **state)
{
    (void)state;
    /* Random ids (binary, varied lengths, some prefixes of others), weights and seeds. */
    for (int round = 0; round < 4; round++) {
        enum { N = 12 };
        static char ids[N][24];
        ref_node nodes[N];
        uint64_t seed = rnd();
        uint32_t vnodes = 1 + (uint32_t)(rnd() % 40);
        of_ring *r = new_ring(vnodes, seed);
        for (int i = 0; i < N; i++) {
            size_t len = 1 + rnd() % 20;
            for (size_t j = 0; j < len; j++)
                ids[i][j] = (char)(rnd() & 0xff);
            if (i == 1) { /* a prefix of node 0: the "shorter first" tie rule has a case */
                memcpy(ids[1], ids[0], 24);
                len = nodes[0].id_len > 1 ? nodes[0].id_len - 1 : 2;
            }
            nodes[i] = (ref_node){ids[i], len, 1 + (uint32_t)(rnd() % 3), (uint64_t)i};
            int rc = of_ring_add(r, ids[i], len, nodes[i].weight, (uint64_t)i);
            if (rc == OF_ERR_EXISTS) { /* random collision of ids: skip that node */
                nodes[i].weight = 0;
                continue;
            }
            assert_int_equal(rc, OF_OK);
        }
        ref_node live[N];
        size_t nl = 0;
        for (int i = 0; i < N; i++)
            if (nodes[i].weight)
                live[nl++] = nodes[i];
        for (int k = 0; k < 300; k++) {
            uint8_t key[32];
            size_t len = rnd() % 32;
            for (size_t j = 0; j < len; j++)
                key[j] = (uint8_t)rnd();
            assert_int_equal(lookup_tag(r, key, len),
                             ref_lookup(live, nl, vnodes, seed, key, len));
            /* lookup by hash is the same function */
            uint64_t tag;
            assert_int_equal(
                of_ring_lookup_hash(r, of_hash64(key, len, seed), &tag, NULL, 0, NULL), OF_OK);
            assert_int_equal(tag, ref_lookup(live, nl, vnodes, seed, key, len));
        }
        of_ring_destroy(r);
    }
}

static void ring_hash_extremes_and_exact_point(void **state)
{
    (void)state;
    /* Hash 0 and hash UINT64_MAX (past the last point: wraps to the first) have the same owner,
     * and a hash equal to a point is owned by that point's node ("first point >= h"). (Equal
     * points of different ids, a 2^-64 event per pair, cannot be produced on purpose.) */
    of_ring *r = new_ring(4, 0);
    add_nodes(r, 0, 5);
    uint64_t t0, tmax, tfirst;
    assert_int_equal(of_ring_lookup_hash(r, 0, &t0, NULL, 0, NULL), OF_OK);
    assert_int_equal(of_ring_lookup_hash(r, UINT64_MAX, &tmax, NULL, 0, NULL), OF_OK);
    assert_int_equal(t0, tmax);
    /* A point's own hash belongs to its node: node-3 point 0. */
    uint8_t buf[16];
    memcpy(buf, "node-3", 6);
    memset(buf + 6, 0, 4);
    uint64_t p = XXH3_64bits_withSeed(buf, 10, 0);
    assert_int_equal(of_ring_lookup_hash(r, p, &tfirst, NULL, 0, NULL), OF_OK);
    assert_int_equal(tfirst, 3);
    of_ring_destroy(r);
}

/* Pinned with this test: changing them is a major-version event (DESIGN.md Determinism). */
static void ring_golden_vectors(void **state)
{
    (void)state;
    of_ring *r = new_ring(160, 0);
    static const char *ids[] = {"alpha", "bravo", "charlie", "delta", "echo"};
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(of_ring_add(r, ids[i], strlen(ids[i]), i == 4 ? 2 : 1, i), OF_OK);
    static const char *keys[] = {"", "a", "user:1", "user:2", "user:3", "session/42",
                                 "the quick brown fox", "0123456789abcdef0123456789abcdef"};
    static const uint64_t expect[] = {4, 2, 2, 4, 1, 4, 4, 2};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(lookup_tag(r, keys[i], strlen(keys[i])), expect[i]);
    of_ring_destroy(r);

    /* Seeded, default vnodes, binary ids. */
    r = new_ring(OF_RING_DEFAULT_VNODES, 0x0123456789abcdefu);
    for (uint64_t i = 0; i < 8; i++) {
        uint8_t id[3] = {0xff, (uint8_t)i, 0x00};
        assert_int_equal(of_ring_add(r, id, 3, 1, i), OF_OK);
    }
    static const uint64_t expect2[] = {2, 3, 0, 7, 7, 2, 3, 5};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(lookup_tag(r, keys[i], strlen(keys[i])), expect2[i]);
    assert_int_equal(of_ring_fingerprint(r), 0x3610f8029e4e3f03u);
    of_ring_destroy(r);
}

static void shuffle(unsigned *v, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rnd() % (i + 1);
        unsigned t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static void ring_insertion_order_independent(void **state)
{
    (void)state;
    enum { N = 40, KEYS = 5000 };
    unsigned order[N];
    for (unsigned i = 0; i < N; i++)
        order[i] = i;
    of_ring *a = new_ring(64, 7);
    add_nodes(a, 0, N);
    for (int round = 0; round < 3; round++) {
        shuffle(order, N);
        of_ring *b = new_ring(64, 7);
        char id[32];
        for (unsigned i = 0; i < N; i++) {
            node_name(id, sizeof id, order[i]);
            assert_int_equal(of_ring_add(b, id, strlen(id), 1, order[i]), OF_OK);
        }
        /* add and remove an extra node: still the same ring */
        assert_int_equal(of_ring_add(b, "extra", 5, 3, 99), OF_OK);
        assert_int_equal(of_ring_remove(b, "extra", 5), OF_OK);
        assert_int_equal(of_ring_fingerprint(a), of_ring_fingerprint(b));
        for (unsigned k = 0; k < KEYS; k++) {
            char key[32];
            key_name(key, sizeof key, k);
            assert_int_equal(lookup_tag(a, key, strlen(key)), lookup_tag(b, key, strlen(key)));
        }
        of_ring_destroy(b);
    }
    of_ring_destroy(a);
}

static void ring_add_many_equals_single_adds(void **state)
{
    (void)state;
    enum { N = 30 };
    char ids[N][32];
    of_ring_node_spec spec[N];
    for (unsigned i = 0; i < N; i++) {
        node_name(ids[i], sizeof ids[i], i);
        spec[i] = (of_ring_node_spec){ids[i], strlen(ids[i]), 1 + i % 3, i};
    }
    of_ring *a = new_ring(40, 2), *b = new_ring(40, 2);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(of_ring_add(a, spec[i].id, spec[i].id_len, spec[i].weight, i), OF_OK);
    assert_int_equal(of_ring_add_many(b, spec, 10), OF_OK);
    assert_int_equal(of_ring_add_many(b, spec + 10, N - 10), OF_OK);
    assert_int_equal(of_ring_generation(b), 2);
    assert_int_equal(of_ring_add_many(b, spec, 0), OF_OK);
    assert_int_equal(of_ring_generation(b), 2);
    assert_int_equal(of_ring_fingerprint(a), of_ring_fingerprint(b));
    char key[32];
    for (unsigned k = 0; k < 3000; k++) {
        key_name(key, sizeof key, k);
        assert_int_equal(lookup_tag(a, key, strlen(key)), lookup_tag(b, key, strlen(key)));
    }
    /* all or nothing: an existing node, a repeat inside the batch, an invalid member */
    uint64_t fp = of_ring_fingerprint(b);
    of_ring_node_spec bad[3] = {{"new-1", 5, 1, 1}, {"node-3", 6, 1, 2}, {"new-2", 5, 1, 3}};
    assert_int_equal(of_ring_add_many(b, bad, 3), OF_ERR_EXISTS);
    bad[1] = (of_ring_node_spec){"new-1", 5, 1, 2};
    assert_int_equal(of_ring_add_many(b, bad, 3), OF_ERR_EXISTS);
    bad[1] = (of_ring_node_spec){"new-3", 5, 0, 2};
    assert_int_equal(of_ring_add_many(b, bad, 3), OF_ERR_INVALID);
    bad[1] = (of_ring_node_spec){NULL, 5, 1, 2};
    assert_int_equal(of_ring_add_many(b, bad, 3), OF_ERR_INVALID);
    assert_int_equal(of_ring_add_many(b, NULL, 3), OF_ERR_INVALID);
    assert_int_equal(of_ring_fingerprint(b), fp);
    assert_int_equal(of_ring_node_count(b), N);
    of_ring_destroy(a);
    of_ring_destroy(b);
    /* ketama: same host and port twice in a batch */
    of_ring *k = new_ketama(0);
    of_ring_node_spec kb[2] = {{"cache", 5, 1, 0}, {"cache:11211", 11, 1, 1}};
    assert_int_equal(of_ring_add_many(k, kb, 2), OF_ERR_EXISTS);
    kb[1] = (of_ring_node_spec){"cache:11212", 11, 1, 1};
    assert_int_equal(of_ring_add_many(k, kb, 2), OF_OK);
    assert_int_equal(of_ring_node_count(k), 2);
    of_ring_destroy(k);
}

/* Ketama server "10.<i>.<j>.<k>" (with an explicit port for every third), id into @p buf. */
static size_t ketama_server(char *buf, size_t cap, unsigned i)
{
    int n = i % 3 == 0 ? snprintf(buf, cap, "10.%u.%u.%u:%u", (i >> 16) & 255, (i >> 8) & 255,
                                  i & 255, 11000 + (i >> 24))
                       : snprintf(buf, cap, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
                                  i & 255);
    return (size_t)n;
}

typedef struct server_set {
    char (*ids)[40];
    of_ring_node_spec *spec;
    size_t n;
} server_set;

/* @p n distinct ketama servers in a shuffled order (weights 1..3, tag = position). */
static server_set make_servers(size_t n, size_t first)
{
    server_set set = {calloc(n ? n : 1, sizeof *set.ids), calloc(n ? n : 1, sizeof *set.spec), n};
    assert_non_null(set.ids);
    assert_non_null(set.spec);
    for (size_t i = 0; i < n; i++) {
        size_t len = ketama_server(set.ids[i], sizeof set.ids[i], (unsigned)(first + i));
        set.spec[i] = (of_ring_node_spec){set.ids[i], len, (uint32_t)(1 + (first + i) % 3), i};
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rnd() % i);
        of_ring_node_spec t = set.spec[i - 1];
        set.spec[i - 1] = set.spec[j];
        set.spec[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        set.spec[i].tag = i;
    return set;
}

static void free_servers(server_set *set)
{
    free(set->ids);
    free(set->spec);
}

/* Duplicates in a large ketama batch (and a native one) are refused with OF_ERR_EXISTS, the
 * detail names the repeated id and the pair a pairwise scan would name, and nothing changes. */
static void ring_add_many_large_batch_duplicates(void **state)
{
    (void)state;
    enum { BASE = 500, N = 3000 };
    of_ring *k = new_ketama(OF_RING_SORT_HOSTS);
    server_set base = make_servers(BASE, 0);
    assert_int_equal(of_ring_add_many(k, base.spec, base.n), OF_OK);
    uint64_t fp = of_ring_fingerprint(k), gen = of_ring_generation(k);
    server_set batch = make_servers(N, 100000);
    /* Repeats: 40 and 2900 ("10.1.134.160" vs its explicit default port), 7 and 1200 and 2000.
     * The pairwise rule names the smallest first index with a repeat and its next repeat. */
    char a40[48], a7[48];
    memcpy(a40, batch.spec[40].id, batch.spec[40].id_len);
    a40[batch.spec[40].id_len] = '\0';
    if (!strchr(a40, ':'))
        strcat(a40, ":11211");
    batch.spec[2900].id = a40;
    batch.spec[2900].id_len = strlen(a40);
    batch.spec[1200].id = batch.spec[7].id;
    batch.spec[1200].id_len = batch.spec[7].id_len;
    batch.spec[2000] = batch.spec[7];
    memcpy(a7, batch.spec[7].id, batch.spec[7].id_len);
    a7[batch.spec[7].id_len] = '\0';
    assert_int_equal(of_ring_add_many(k, batch.spec, batch.n), OF_ERR_EXISTS);
    const char *d = of_last_error_detail();
    assert_non_null(strstr(d, "node 1200"));
    assert_non_null(strstr(d, "node 7 "));
    assert_non_null(strstr(d, a7));
    /* only the later pair left */
    batch.spec[1200] = batch.spec[1201];
    batch.spec[2000] = batch.spec[2001];
    batch.spec[1201].id = "10.200.0.1", batch.spec[1201].id_len = 10;
    batch.spec[2001].id = "10.200.0.2", batch.spec[2001].id_len = 10;
    assert_int_equal(of_ring_add_many(k, batch.spec, batch.n), OF_ERR_EXISTS);
    d = of_last_error_detail();
    assert_non_null(strstr(d, "node 2900"));
    assert_non_null(strstr(d, a40));
    assert_non_null(strstr(d, "node 40 "));
    /* no repeat inside, but servers the ring already has: the first of them is named */
    batch.spec[2900].id = "10.200.0.3", batch.spec[2900].id_len = 10;
    char dup_late[48], dup_early[48];
    size_t late = ketama_server(dup_late, sizeof dup_late, 499);
    size_t early = ketama_server(dup_early, sizeof dup_early, 3);
    batch.spec[2500].id = dup_late, batch.spec[2500].id_len = late;
    batch.spec[900].id = dup_early, batch.spec[900].id_len = early;
    assert_int_equal(of_ring_add_many(k, batch.spec, batch.n), OF_ERR_EXISTS);
    d = of_last_error_detail();
    assert_non_null(strstr(d, "node 900 "));
    assert_non_null(strstr(d, dup_early));
    assert_non_null(strstr(d, "already present"));
    assert_int_equal(of_ring_fingerprint(k), fp);
    assert_int_equal(of_ring_generation(k), gen);
    assert_int_equal(of_ring_node_count(k), BASE);
    /* without them the batch goes in, as the same ring as one batch of all servers */
    batch.spec[2500].id = "10.200.0.4", batch.spec[2500].id_len = 10;
    batch.spec[900].id = "10.200.0.5", batch.spec[900].id_len = 10;
    assert_int_equal(of_ring_add_many(k, batch.spec, batch.n), OF_OK);
    assert_int_equal(of_ring_node_count(k), BASE + N);
    of_ring *all = new_ketama(OF_RING_SORT_HOSTS);
    of_ring_node_spec *both = calloc(BASE + N, sizeof *both);
    assert_non_null(both);
    memcpy(both, batch.spec, N * sizeof *both);
    memcpy(both + N, base.spec, BASE * sizeof *both);
    assert_int_equal(of_ring_add_many(all, both, BASE + N), OF_OK);
    assert_int_equal(of_ring_fingerprint(all), of_ring_fingerprint(k));
    free(both);
    of_ring_destroy(all);
    of_ring_destroy(k);

    /* native: a repeat late in a large batch, and an existing id, are named */
    of_ring *r = new_ring(4, 1);
    add_nodes(r, 0, 10);
    fp = of_ring_fingerprint(r);
    gen = of_ring_generation(r);
    static char nid[N][32];
    static of_ring_node_spec ns[N];
    for (unsigned i = 0; i < N; i++) {
        snprintf(nid[i], sizeof nid[i], "batch-%u", i);
        ns[i] = (of_ring_node_spec){nid[i], strlen(nid[i]), 1, i};
    }
    ns[N - 1] = ns[5];
    assert_int_equal(of_ring_add_many(r, ns, N), OF_ERR_EXISTS);
    assert_non_null(strstr(of_last_error_detail(), "\"batch-5\""));
    ns[N - 1] = (of_ring_node_spec){"node-7", 6, 1, N - 1};
    assert_int_equal(of_ring_add_many(r, ns, N), OF_ERR_EXISTS);
    assert_non_null(strstr(of_last_error_detail(), "\"node-7\""));
    assert_int_equal(of_ring_fingerprint(r), fp);
    assert_int_equal(of_ring_generation(r), gen);
    assert_int_equal(of_ring_node_count(r), 10);
    of_ring_destroy(r);
    free_servers(&base);
    free_servers(&batch);
}

/* Ketama rings of 200k servers, built in one batch, then grown by a second batch, with the
 * host sort: every step is O(n log n), so this finishes well inside the test's timeout (a
 * pairwise duplicate scan or an insertion sort took minutes). Placement is checked against a
 * ring of the same servers built from the other order. */
static void ring_ketama_large_build(void **state)
{
    (void)state;
    enum { HALF = 100000 };
    server_set all = make_servers(2 * HALF, 0);
    of_ring *one = new_ketama(OF_RING_SORT_HOSTS);
    assert_int_equal(of_ring_add_many(one, all.spec, all.n), OF_OK);
    assert_int_equal(of_ring_node_count(one), 2 * HALF);
    /* the same servers as two batches in the other order: the second batch is checked against
     * the 100k servers already present */
    for (size_t i = 0; i < HALF; i++) {
        of_ring_node_spec t = all.spec[i];
        all.spec[i] = all.spec[2 * HALF - 1 - i];
        all.spec[2 * HALF - 1 - i] = t;
    }
    of_ring *two = new_ketama(OF_RING_SORT_HOSTS);
    assert_int_equal(of_ring_add_many(two, all.spec, HALF), OF_OK);
    assert_int_equal(of_ring_add_many(two, all.spec + HALF, HALF), OF_OK);
    assert_int_equal(of_ring_fingerprint(one), of_ring_fingerprint(two));
    char key[32], id1[64], id2[64];
    for (unsigned n = 0; n < 20000; n++) {
        key_name(key, sizeof key, n);
        size_t l1 = 0, l2 = 0;
        assert_int_equal(of_ring_lookup(one, key, strlen(key), NULL, id1, sizeof id1, &l1), OF_OK);
        assert_int_equal(of_ring_lookup(two, key, strlen(key), NULL, id2, sizeof id2, &l2), OF_OK);
        assert_int_equal(l1, l2);
        assert_memory_equal(id1, id2, l1);
    }
    /* a repeat at the very end of a large batch is still found, and changes nothing */
    uint64_t fp = of_ring_fingerprint(two);
    of_ring *three = new_ketama(0);
    all.spec[2 * HALF - 1] = all.spec[0];
    assert_int_equal(of_ring_add_many(three, all.spec, all.n), OF_ERR_EXISTS);
    assert_int_equal(of_ring_node_count(three), 0);
    assert_int_equal(of_ring_add_many(two, all.spec, 1), OF_ERR_EXISTS);
    assert_int_equal(of_ring_fingerprint(two), fp);
    of_ring_destroy(three);
    of_ring_destroy(one);
    of_ring_destroy(two);
    free_servers(&all);
}

/* Adding one node to @p n: moved keys <= 1.1 x ideal, none between old nodes. */
static void check_movement(unsigned n, unsigned keys)
{
    of_ring *r = new_ring(OF_RING_DEFAULT_VNODES, 0);
    add_nodes(r, 0, n);
    uint64_t *before = malloc(keys * sizeof *before);
    assert_non_null(before);
    char key[32];
    for (unsigned k = 0; k < keys; k++) {
        key_name(key, sizeof key, k);
        before[k] = lookup_tag(r, key, strlen(key));
    }
    add_nodes(r, n, 1);
    unsigned moved = 0;
    for (unsigned k = 0; k < keys; k++) {
        key_name(key, sizeof key, k);
        uint64_t t = lookup_tag(r, key, strlen(key));
        if (t != before[k]) {
            assert_int_equal(t, n); /* only to the new node */
            moved++;
        }
    }
    double ideal = (double)keys / (n + 1);
    assert_true(moved > 0);
    assert_true((double)moved <= 1.1 * ideal);
    /* Removing it again restores every key: removal moves only its keys. */
    char id[32];
    node_name(id, sizeof id, n);
    assert_int_equal(of_ring_remove(r, id, strlen(id)), OF_OK);
    for (unsigned k = 0; k < keys; k++) {
        key_name(key, sizeof key, k);
        assert_int_equal(lookup_tag(r, key, strlen(key)), before[k]);
    }
    free(before);
    of_ring_destroy(r);
}

static void ring_movement_add_to_10(void **state)
{
    (void)state;
    check_movement(10, test_under_valgrind() ? 20000 : 100000);
}

static void ring_movement_add_to_100(void **state)
{
    (void)state;
    check_movement(100, 100000);
}

static void ring_remove_moves_only_its_keys(void **state)
{
    (void)state;
    enum { N = 20, KEYS = 20000 };
    of_ring *r = new_ring(128, 3);
    add_nodes(r, 0, N);
    uint64_t *before = malloc(KEYS * sizeof *before);
    assert_non_null(before);
    char key[32];
    for (unsigned k = 0; k < KEYS; k++) {
        key_name(key, sizeof key, k);
        before[k] = lookup_tag(r, key, strlen(key));
    }
    assert_int_equal(of_ring_remove(r, "node-7", 6), OF_OK);
    for (unsigned k = 0; k < KEYS; k++) {
        key_name(key, sizeof key, k);
        uint64_t t = lookup_tag(r, key, strlen(key));
        if (before[k] != 7)
            assert_int_equal(t, before[k]);
        else
            assert_true(t != 7);
    }
    free(before);
    of_ring_destroy(r);
}

static void ring_set_weight_moves_only_that_node(void **state)
{
    (void)state;
    enum { N = 20, KEYS = 20000 };
    of_ring *r = new_ring(128, 3);
    add_nodes(r, 0, N);
    uint64_t *before = malloc(KEYS * sizeof *before);
    assert_non_null(before);
    char key[32];
    for (unsigned k = 0; k < KEYS; k++) {
        key_name(key, sizeof key, k);
        before[k] = lookup_tag(r, key, strlen(key));
    }
    assert_int_equal(of_ring_set_weight(r, "node-4", 6, 3), OF_OK);
    unsigned gained = 0;
    for (unsigned k = 0; k < KEYS; k++) {
        key_name(key, sizeof key, k);
        uint64_t t = lookup_tag(r, key, strlen(key));
        if (t != before[k]) {
            assert_int_equal(t, 4); /* weight up: keys move only to node 4 */
            gained++;
        }
    }
    assert_true(gained > KEYS / N); /* roughly doubles its share: 1/20 -> 3/22 */
    assert_int_equal(of_ring_set_weight(r, "node-4", 6, 1), OF_OK);
    for (unsigned k = 0; k < KEYS; k++) {
        key_name(key, sizeof key, k);
        assert_int_equal(lookup_tag(r, key, strlen(key)), before[k]);
    }
    free(before);
    of_ring_destroy(r);
}

static void ring_balance_1m_keys_100_nodes(void **state)
{
    (void)state;
    enum { N = 100, KEYS = 1000000 };
    of_ring *r = new_ring(OF_RING_DEFAULT_VNODES, 0);
    add_nodes(r, 0, N);
    unsigned counts[N] = {0};
    char key[32];
    for (unsigned k = 0; k < KEYS; k++) {
        key_name(key, sizeof key, k);
        counts[lookup_tag(r, key, strlen(key))]++;
    }
    unsigned busiest = 0;
    for (unsigned i = 0; i < N; i++)
        busiest = counts[i] > busiest ? counts[i] : busiest;
    double ratio = busiest / ((double)KEYS / N);
    print_message("# busiest/mean = %.4f\n", ratio);
    assert_true(ratio <= 1.10);
    of_ring_destroy(r);
}

/* ---- lookups --------------------------------------------------------------------------------- */

static void ring_lookup_id_copy_and_nospace(void **state)
{
    (void)state;
    of_ring *r = new_ring(32, 0);
    assert_int_equal(of_ring_add(r, "a-rather-long-node-id", 21, 1, 5), OF_OK);
    char buf[64];
    size_t len = 0;
    uint64_t tag = 0;
    assert_int_equal(of_ring_lookup(r, "k", 1, &tag, buf, sizeof buf, &len), OF_OK);
    assert_int_equal(len, 21);
    assert_memory_equal(buf, "a-rather-long-node-id", 21);
    assert_int_equal(tag, 5);
    char small[4] = {'z', 'z', 'z', 'z'};
    len = 0;
    tag = 77;
    assert_int_equal(of_ring_lookup(r, "k", 1, &tag, small, sizeof small, &len), OF_ERR_NOSPACE);
    assert_int_equal(len, 21);
    assert_int_equal(tag, 77);
    assert_int_equal(small[0], 'z');
    /* zero-length keys are keys too */
    assert_int_equal(of_ring_lookup(r, NULL, 0, &tag, NULL, 0, NULL), OF_OK);
    assert_int_equal(tag, 5);
    of_ring_destroy(r);
}

static void ring_lookup_n_prefix_stable_distinct(void **state)
{
    (void)state;
    enum { N = 12 };
    of_ring *r = new_ring(50, 11);
    add_nodes(r, 0, N);
    char key[32];
    for (unsigned k = 0; k < 500; k++) {
        key_name(key, sizeof key, k);
        uint64_t all[N];
        assert_int_equal(of_ring_lookup_n(r, key, strlen(key), N, all), OF_OK);
        assert_int_equal(all[0], lookup_tag(r, key, strlen(key)));
        unsigned seen = 0;
        for (int i = 0; i < N; i++) {
            assert_true(all[i] < N);
            assert_false(seen & (1u << all[i]));
            seen |= 1u << all[i];
        }
        for (size_t n = 1; n < N; n++) {
            uint64_t part[N];
            assert_int_equal(of_ring_lookup_n(r, key, strlen(key), n, part), OF_OK);
            assert_memory_equal(part, all, n * sizeof *part);
        }
        /* the second choice is the owner once the first is removed */
        if (k < 20) {
            char id[32];
            node_name(id, sizeof id, (unsigned)all[0]);
            assert_int_equal(of_ring_remove(r, id, strlen(id)), OF_OK);
            assert_int_equal(lookup_tag(r, key, strlen(key)), all[1]);
            assert_int_equal(of_ring_add(r, id, strlen(id), 1, all[0]), OF_OK);
        }
    }
    /* 100 nodes: n above 64 uses a heap bitmap */
    of_ring *big = new_ring(8, 0);
    add_nodes(big, 0, 100);
    uint64_t tags[100];
    assert_int_equal(of_ring_lookup_n(big, "x", 1, 100, tags), OF_OK);
    uint8_t seen[100] = {0};
    for (int i = 0; i < 100; i++) {
        assert_true(tags[i] < 100);
        assert_int_equal(seen[tags[i]]++, 0);
    }
    of_ring_destroy(big);
    of_ring_destroy(r);
}

static void ring_pins_win_over_hashing(void **state)
{
    (void)state;
    of_ring *r = new_ring(64, 5);
    add_nodes(r, 0, 6);
    uint64_t fp0 = of_ring_fingerprint(r);
    uint64_t pref[6], pinned_pref[6];
    assert_int_equal(of_ring_lookup_n(r, "data1", 5, 6, pref), OF_OK);
    uint64_t target = pref[3]; /* a node that is not the hashed owner */
    char id[32];
    node_name(id, sizeof id, (unsigned)target);
    assert_int_equal(of_ring_pin(r, "data1", 5, id, strlen(id)), OF_OK);
    assert_int_equal(of_ring_pin(r, "data1", 5, id, strlen(id)), OF_ERR_EXISTS);
    assert_true(of_ring_fingerprint(r) != fp0);
    assert_int_equal(lookup_tag(r, "data1", 5), target);
    uint64_t tag;
    assert_int_equal(of_ring_lookup_hash(r, of_hash64("data1", 5, 5), &tag, NULL, 0, NULL),
                     OF_OK);
    assert_int_equal(tag, target);
    /* preference: pinned node, then hashed order without it */
    assert_int_equal(of_ring_lookup_n(r, "data1", 5, 6, pinned_pref), OF_OK);
    assert_int_equal(pinned_pref[0], target);
    size_t j = 1;
    for (size_t i = 0; i < 6; i++)
        if (pref[i] != target)
            assert_int_equal(pinned_pref[j++], pref[i]);
    /* other keys unaffected */
    assert_int_equal(lookup_tag(r, "data2", 5), lookup_tag(r, "data2", 5));
    /* removing the node drops the pin; re-adding does not bring it back */
    assert_int_equal(of_ring_remove(r, id, strlen(id)), OF_OK);
    assert_int_equal(of_ring_add(r, id, strlen(id), 1, target), OF_OK);
    assert_int_equal(lookup_tag(r, "data1", 5), pref[0]);
    assert_int_equal(of_ring_fingerprint(r), fp0);
    assert_int_equal(of_ring_unpin(r, "data1", 5), OF_ERR_NOT_FOUND);
    /* pin by hash, unpin by key */
    assert_int_equal(of_ring_pin_hash(r, of_hash64("data1", 5, 5), id, strlen(id)), OF_OK);
    assert_int_equal(lookup_tag(r, "data1", 5), target);
    assert_int_equal(of_ring_unpin(r, "data1", 5), OF_OK);
    assert_int_equal(lookup_tag(r, "data1", 5), pref[0]);
    of_ring_destroy(r);
}

/* Pin and unpin on rings that hold no pin (the pin arrays are NULL): the first pin of a ring,
 * pin by hash, unpin of nothing, and a pin whose node is missing; each answers its status. */
static void ring_pin_ops_on_pinless_ring(void **state)
{
    (void)state;
    of_ring *r = new_ring(16, 3);
    assert_int_equal(of_ring_unpin(r, "k", 1), OF_ERR_NOT_FOUND); /* empty ring, no pins */
    assert_int_equal(of_ring_pin(r, "k", 1, "node-0", 6), OF_ERR_NOT_FOUND);
    add_nodes(r, 0, 3);
    uint64_t fp = of_ring_fingerprint(r), gen = of_ring_generation(r);
    assert_int_equal(of_ring_unpin(r, "k", 1), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_unpin(r, "", 0), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_pin(r, "k", 1, "nope", 4), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_fingerprint(r), fp);
    assert_int_equal(of_ring_generation(r), gen);
    /* first pin by key, then unpin back to no pins, then the first pin by hash */
    assert_int_equal(of_ring_pin(r, "k", 1, "node-2", 6), OF_OK);
    assert_int_equal(lookup_tag(r, "k", 1), 2);
    assert_int_equal(of_ring_unpin(r, "k", 1), OF_OK);
    assert_int_equal(of_ring_fingerprint(r), fp);
    assert_int_equal(of_ring_unpin(r, "k", 1), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_pin_hash(r, of_hash64("k", 1, 3), "node-1", 6), OF_OK);
    assert_int_equal(lookup_tag(r, "k", 1), 1);
    assert_int_equal(of_ring_unpin(r, "k", 1), OF_OK);
    assert_int_equal(of_ring_pin_hash(r, 0, "node-0", 6), OF_OK);
    uint64_t tag = 99;
    assert_int_equal(of_ring_lookup_hash(r, 0, &tag, NULL, 0, NULL), OF_OK);
    assert_int_equal(tag, 0);
    of_ring_destroy(r);
}

typedef struct load_ctx {
    uint64_t loads[64];
    unsigned calls;
    uint64_t called_tags[64];
} load_ctx;

static uint64_t load_cb(void *ctx, uint64_t tag, const void *id, size_t id_len)
{
    load_ctx *c = ctx;
    char expect[32];
    node_name(expect, sizeof expect, (unsigned)tag);
    assert_int_equal(id_len, strlen(expect));
    assert_memory_equal(id, expect, id_len);
    c->called_tags[c->calls++] = tag;
    return c->loads[tag];
}

static void ring_bounded_load(void **state)
{
    (void)state;
    enum { N = 8 };
    of_ring *r = new_ring(64, 0);
    add_nodes(r, 0, N);
    uint64_t pref[N];
    assert_int_equal(of_ring_lookup_n(r, "job", 3, N, pref), OF_OK);
    load_ctx c = {{0}, 0, {0}};
    uint64_t tag = 99;
    /* total 80, c = 1.25: capacity ceil(1.25 * 81 / 8) = 13 */
    for (int i = 0; i < N; i++)
        c.loads[i] = 10;
    c.loads[pref[0]] = 13;
    c.loads[pref[1]] = 20;
    assert_int_equal(of_ring_lookup_bounded(r, "job", 3, 1.25, 80, load_cb, &c, &tag), OF_OK);
    assert_int_equal(tag, pref[2]);
    assert_int_equal(c.calls, 3); /* only nodes on the walk, in order */
    for (int i = 0; i < 3; i++)
        assert_int_equal(c.called_tags[i], pref[i]);
    c.calls = 0;
    c.loads[pref[0]] = 12;
    assert_int_equal(of_ring_lookup_bounded(r, "job", 3, 1.25, 80, load_cb, &c, &tag), OF_OK);
    assert_int_equal(tag, pref[0]);
    assert_int_equal(c.calls, 1);
    /* everyone full: NOSPACE, output untouched */
    for (int i = 0; i < N; i++)
        c.loads[i] = 1000;
    tag = 99;
    c.calls = 0;
    assert_int_equal(of_ring_lookup_bounded(r, "job", 3, 1.25, 80, load_cb, &c, &tag),
                     OF_ERR_NOSPACE);
    assert_int_equal(tag, 99);
    assert_int_equal(c.calls, N);
    assert_int_equal(of_ring_lookup_bounded(r, "job", 3, 1.0, 80, load_cb, &c, &tag),
                     OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup_bounded(r, "job", 3, NAN, 80, load_cb, &c, &tag),
                     OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup_bounded(r, "job", 3, INFINITY, 80, load_cb, &c, &tag),
                     OF_ERR_INVALID);
    /* pins are ignored */
    char id[32];
    node_name(id, sizeof id, (unsigned)pref[5]);
    assert_int_equal(of_ring_pin(r, "job", 3, id, strlen(id)), OF_OK);
    for (int i = 0; i < N; i++)
        c.loads[i] = 0;
    assert_int_equal(of_ring_lookup_bounded(r, "job", 3, 1.25, 0, load_cb, &c, &tag), OF_OK);
    assert_int_equal(tag, pref[0]);
    /* simulated assignment keeps every node within capacity */
    for (int i = 0; i < N; i++)
        c.loads[i] = 0;
    char key[32];
    for (unsigned k = 0; k < 2000; k++) {
        key_name(key, sizeof key, k);
        c.calls = 0;
        assert_int_equal(of_ring_lookup_bounded(r, key, strlen(key), 1.1, k, load_cb, &c, &tag),
                         OF_OK);
        c.loads[tag]++;
        assert_true((double)c.loads[tag] <= ceil(1.1 * (k + 1) / N));
    }
    of_ring_destroy(r);
}

/* ---- inspection, views, diff ----------------------------------------------------------------- */

static int count_nodes(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    unsigned *n = ctx;
    char expect[32];
    node_name(expect, sizeof expect, (unsigned)tag);
    assert_int_equal(id_len, strlen(expect));
    assert_memory_equal(id, expect, id_len);
    assert_int_equal(weight, tag == 2 ? 4 : 1);
    (*n)++;
    return *n == 100 ? 7 : 0;
}

static void ring_foreach_contains_count(void **state)
{
    (void)state;
    of_ring *r = new_ring(8, 0);
    add_nodes(r, 0, 5);
    assert_int_equal(of_ring_set_weight(r, "node-2", 6, 4), OF_OK);
    unsigned n = 0;
    assert_int_equal(of_ring_foreach(r, count_nodes, &n), OF_OK);
    assert_int_equal(n, 5);
    n = 99;
    assert_int_equal(of_ring_foreach(r, count_nodes, &n), 7); /* stopped by the callback */
    int present = -1;
    assert_int_equal(of_ring_contains(r, "node-4", 6, &present), OF_OK);
    assert_int_equal(present, 1);
    assert_int_equal(of_ring_contains(r, "node-44", 7, &present), OF_OK);
    assert_int_equal(present, 0);
    assert_int_equal(of_ring_contains(r, "", 0, &present), OF_ERR_INVALID);
    assert_int_equal(of_ring_node_count(r), 5);
    assert_int_equal(of_ring_generation(r), 6);
    assert_true(of_ring_memory_usage(r) > 7 * 8 * 12);
    of_ring_destroy(r);
}

static void ring_ownership_exact_shares(void **state)
{
    (void)state;
    of_ring *r = new_ring(256, 9);
    add_nodes(r, 0, 10);
    assert_int_equal(of_ring_set_weight(r, "node-0", 6, 3), OF_OK);
    double sum = 0, share[10];
    char id[32];
    for (unsigned i = 0; i < 10; i++) {
        node_name(id, sizeof id, i);
        assert_int_equal(of_ring_ownership(r, id, strlen(id), &share[i]), OF_OK);
        sum += share[i];
    }
    assert_true(fabs(sum - 1.0) < 1e-12);
    /* the share predicts the fraction of keys */
    unsigned counts[10] = {0};
    char key[32];
    for (unsigned k = 0; k < 50000; k++) {
        key_name(key, sizeof key, k);
        counts[lookup_tag(r, key, strlen(key))]++;
    }
    for (unsigned i = 0; i < 10; i++)
        assert_true(fabs(counts[i] / 50000.0 - share[i]) < 0.01);
    assert_true(share[0] > 0.2);
    double s;
    assert_int_equal(of_ring_ownership(r, "zz", 2, &s), OF_ERR_NOT_FOUND);
    of_ring_destroy(r);
    r = new_ring(4, 0);
    add_nodes(r, 0, 1);
    assert_int_equal(of_ring_ownership(r, "node-0", 6, &s), OF_OK);
    assert_true(s == 1.0);
    of_ring_destroy(r);
}

/* of_ring_ownership is exact: against each node's arcs summed in full from the documented point
 * hashes (docs/ring.md), as 128-bit integers. The compact layout keeps only some bits of each
 * point; shares from those would be off by about 1e-9 here. */
typedef struct ref_point {
    uint64_t v;
    unsigned node;
} ref_point;

static int ref_point_cmp(const void *pa, const void *pb)
{
    const ref_point *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return (a->node > b->node) - (a->node < b->node); /* equal ids' order: node-0 < node-1 ... */
}

static void ring_ownership_is_exact(void **state)
{
    (void)state;
    enum { NODES = 5, VN = 256 };
    of_ring *r = new_ring(VN, 3);
    add_nodes(r, 0, NODES);
    static ref_point pts[NODES * VN];
    size_t P = 0;
    for (unsigned n = 0; n < NODES; n++) {
        uint8_t buf[256]; /* room past the id: gcc -O3 cannot bound the hash's reads */
        int len = snprintf((char *)buf, 32, "node-%u", n);
        for (uint32_t i = 0; i < VN; i++) {
            buf[len] = (uint8_t)i;
            buf[len + 1] = (uint8_t)(i >> 8);
            buf[len + 2] = (uint8_t)(i >> 16);
            buf[len + 3] = (uint8_t)(i >> 24);
            pts[P++] = (ref_point){XXH3_64bits_withSeed(buf, (size_t)len + 4, 3), n};
        }
    }
    qsort(pts, P, sizeof pts[0], ref_point_cmp);
    uint64_t hi[NODES] = {0}, lo[NODES] = {0};
    for (size_t i = 0; i < P; i++) {
        uint64_t a = pts[i].v - (i ? pts[i - 1].v : pts[P - 1].v); /* the first wraps */
        lo[pts[i].node] += a;
        hi[pts[i].node] += lo[pts[i].node] < a;
    }
    for (unsigned n = 0; n < NODES; n++) {
        char id[32];
        node_name(id, sizeof id, n);
        double share = -1;
        assert_int_equal(of_ring_ownership(r, id, strlen(id), &share), OF_OK);
        double want = (double)hi[n] + ldexp((double)lo[n], -64);
        assert_true(fabs(share - want) <= 1e-15);
    }
    of_ring_destroy(r);
}

static void ring_fingerprint_excludes_tags(void **state)
{
    (void)state;
    of_ring *a = new_ring(16, 1), *b = new_ring(16, 1), *c = new_ring(16, 2), *d = new_ring(17, 1);
    assert_int_equal(of_ring_fingerprint(a), of_ring_fingerprint(b));
    assert_int_equal(of_ring_add(a, "n1", 2, 1, 1), OF_OK);
    assert_int_equal(of_ring_add(b, "n1", 2, 1, 12345), OF_OK);
    assert_int_equal(of_ring_add(c, "n1", 2, 1, 1), OF_OK);
    assert_int_equal(of_ring_add(d, "n1", 2, 1, 1), OF_OK);
    assert_int_equal(of_ring_fingerprint(a), of_ring_fingerprint(b));
    assert_true(of_ring_fingerprint(a) != of_ring_fingerprint(c));
    assert_true(of_ring_fingerprint(a) != of_ring_fingerprint(d));
    assert_int_equal(of_ring_set_weight(b, "n1", 2, 2), OF_OK);
    assert_true(of_ring_fingerprint(a) != of_ring_fingerprint(b));
    assert_int_equal(of_ring_set_weight(b, "n1", 2, 1), OF_OK);
    assert_int_equal(of_ring_fingerprint(a), of_ring_fingerprint(b));
    assert_true(of_ring_generation(b) == 3 && of_ring_generation(a) == 1);
    of_ring_destroy(a);
    of_ring_destroy(b);
    of_ring_destroy(c);
    of_ring_destroy(d);
}

typedef struct diff_log {
    of_ring_range r[4096];
    char old_ids[4096][16], new_ids[4096][16];
    size_t n;
    of_ring_pin_change pins[16];
    size_t npins;
} diff_log;

static int log_range(void *ctx, const of_ring_range *range)
{
    diff_log *l = ctx;
    assert_true(l->n < 4096);
    if (l->n) {
        assert_true(range->first > l->r[l->n - 1].last); /* ascending, disjoint */
    }
    assert_true(range->first <= range->last);
    l->r[l->n] = *range;
    memset(l->old_ids[l->n], 0, 16);
    memset(l->new_ids[l->n], 0, 16);
    if (range->old_id)
        memcpy(l->old_ids[l->n], range->old_id, range->old_id_len);
    if (range->new_id)
        memcpy(l->new_ids[l->n], range->new_id, range->new_id_len);
    l->n++;
    return 0;
}

static int log_pin(void *ctx, const of_ring_pin_change *ch)
{
    diff_log *l = ctx;
    l->pins[l->npins++] = *ch;
    return 0;
}

static int stop_range(void *ctx, const of_ring_range *range)
{
    (void)ctx;
    (void)range;
    return 5;
}

static void ring_diff_matches_lookups(void **state)
{
    (void)state;
    static diff_log log;
    of_ring *r = new_ring(32, 4);
    add_nodes(r, 0, 6);
    of_ring_view *v0, *v1;
    assert_int_equal(of_ring_view_take(r, &v0), OF_OK);
    assert_int_equal(of_ring_pin(r, "pinned", 6, "node-1", 6), OF_OK);
    add_nodes(r, 6, 1);
    assert_int_equal(of_ring_remove(r, "node-2", 6), OF_OK);
    assert_int_equal(of_ring_view_take(r, &v1), OF_OK);
    assert_int_equal(of_ring_view_generation(v0), 6);
    assert_int_equal(of_ring_view_generation(v1), 9);
    assert_int_equal(of_ring_view_fingerprint(v1), of_ring_fingerprint(r));
    log.n = log.npins = 0;
    assert_int_equal(of_ring_diff(v0, v1, log_range, log_pin, &log), OF_OK);
    assert_true(log.n > 0);
    assert_int_equal(log.npins, 1);
    assert_true(log.pins[0].old_id == NULL);
    assert_int_equal(log.pins[0].new_id_len, 6);
    assert_int_equal(log.pins[0].hash, of_hash64("pinned", 6, 4));
    /* Rebuild the old ring to look up old owners; compare with the ranges for many hashes. */
    of_ring *old = new_ring(32, 4);
    add_nodes(old, 0, 6);
    for (unsigned k = 0; k < 20000; k++) {
        uint64_t h = rnd();
        if (k < 4)
            h = k == 0 ? 0 : k == 1 ? UINT64_MAX : k == 2 ? log.r[0].first : log.r[0].last;
        char ob[16] = {0}, nb[16] = {0};
        size_t ol, nl;
        assert_int_equal(of_ring_lookup_hash(old, h, NULL, ob, sizeof ob, &ol), OF_OK);
        /* the new owner ignoring pins: lookup by hash honours pins, and h is random */
        assert_int_equal(of_ring_lookup_hash(r, h, NULL, nb, sizeof nb, &nl), OF_OK);
        size_t lo = 0, hi = log.n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (log.r[mid].last < h)
                lo = mid + 1;
            else
                hi = mid;
        }
        int in_range = lo < log.n && log.r[lo].first <= h;
        int changed = ol != nl || memcmp(ob, nb, ol) != 0;
        assert_int_equal(in_range, changed);
        if (in_range) {
            assert_string_equal(log.old_ids[lo], ob);
            assert_string_equal(log.new_ids[lo], nb);
        }
    }
    /* node-2's keys all moved away, and keys moved only to node-6 otherwise */
    for (size_t i = 0; i < log.n; i++)
        assert_true(strcmp(log.old_ids[i], "node-2") == 0 || strcmp(log.new_ids[i], "node-6") == 0);
    /* identical views: nothing; stop value is passed through */
    log.n = 0;
    assert_int_equal(of_ring_diff(v1, v1, log_range, log_pin, &log), OF_OK);
    assert_int_equal(log.n, 0);
    assert_int_equal(of_ring_diff(v0, v1, stop_range, NULL, NULL), 5);
    /* views outlive the ring */
    of_ring_destroy(r);
    of_ring_destroy(old);
    log.n = 0;
    assert_int_equal(of_ring_diff(v1, v0, log_range, NULL, &log), OF_OK);
    assert_true(log.n > 0);
    of_ring_view_release(v0);
    of_ring_view_release(v1);
    of_ring_view_release(NULL);

    /* empty to one node: the whole space */
    of_ring *e = new_ring(4, 4);
    of_ring_view *ve, *vf;
    assert_int_equal(of_ring_view_take(e, &ve), OF_OK);
    add_nodes(e, 0, 1);
    assert_int_equal(of_ring_view_take(e, &vf), OF_OK);
    log.n = 0;
    assert_int_equal(of_ring_diff(ve, vf, log_range, NULL, &log), OF_OK);
    assert_int_equal(log.n, 1);
    assert_true(log.r[0].first == 0 && log.r[0].last == UINT64_MAX);
    assert_true(log.r[0].old_id == NULL);
    of_ring *other = new_ring(4, 5);
    of_ring_view *vo;
    assert_int_equal(of_ring_view_take(other, &vo), OF_OK);
    assert_int_equal(of_ring_diff(ve, vo, log_range, NULL, &log), OF_ERR_INVALID);
    of_ring_view_release(vo);
    of_ring_view_release(ve);
    of_ring_view_release(vf);
    of_ring_destroy(other);
    of_ring_destroy(e);
}

/* Ketama: a server removed and added again under another spelling of its host and port is the
 * same server (docs/ring.md "Diff"): no range moves, alone or among others; a real change still
 * reports its ranges, with each view's spelling. */
static void ring_diff_ketama_respelled_server(void **state)
{
    (void)state;
    static diff_log log;
    for (unsigned others = 0; others < 2; others++) {
        of_ring *k = new_ketama(0);
        assert_int_equal(of_ring_add(k, "a:11211", 7, 0, 1), OF_OK);
        if (others)
            assert_int_equal(of_ring_add(k, "b", 1, 2, 2), OF_OK);
        of_ring_view *v0, *v1, *v2;
        assert_int_equal(of_ring_view_take(k, &v0), OF_OK);
        assert_int_equal(of_ring_remove(k, "[a]", 3), OF_OK);
        assert_int_equal(of_ring_add(k, "a", 1, 0, 3), OF_OK);
        assert_int_equal(of_ring_view_take(k, &v1), OF_OK);
        log.n = 0;
        assert_int_equal(of_ring_diff(v0, v1, log_range, NULL, &log), OF_OK);
        assert_int_equal(log.n, 0);
        /* lookups answer with the new spelling and tag */
        char id[16] = {0};
        size_t len = 0;
        uint64_t tag = 0;
        for (unsigned i = 0; i < 64; i++) {
            char key[16];
            key_name(key, sizeof key, i);
            assert_int_equal(of_ring_lookup(k, key, strlen(key), &tag, id, sizeof id, &len),
                             OF_OK);
            if (tag != 2)
                break;
        }
        assert_int_equal(tag, 3);
        assert_int_equal(len, 1);
        assert_memory_equal(id, "a", 1);
        /* a real change: c takes ranges from a, each side named as its view spells it (weighted
         * ketama shares move between a and b as well) */
        assert_int_equal(of_ring_add(k, "c", 1, 1, 4), OF_OK);
        assert_int_equal(of_ring_view_take(k, &v2), OF_OK);
        log.n = 0;
        assert_int_equal(of_ring_diff(v0, v2, log_range, NULL, &log), OF_OK);
        assert_true(log.n > 0);
        unsigned a_to_c = 0;
        for (size_t i = 0; i < log.n; i++) {
            const char *o = log.old_ids[i], *n = log.new_ids[i];
            assert_true(strcmp(o, "a:11211") == 0 || strcmp(o, "b") == 0);
            assert_true(strcmp(n, "a") == 0 || strcmp(n, "b") == 0 || strcmp(n, "c") == 0);
            assert_true(strcmp(o, "b") != 0 || strcmp(n, "b") != 0);
            assert_true(strcmp(o, "a:11211") != 0 || strcmp(n, "a") != 0);
            a_to_c += strcmp(o, "a:11211") == 0 && strcmp(n, "c") == 0;
        }
        assert_true(a_to_c > 0);
        of_ring_view_release(v0);
        of_ring_view_release(v1);
        of_ring_view_release(v2);
        of_ring_destroy(k);
    }
}

static void ring_ketama_basic_rules(void **state)
{
    (void)state;
    of_ring *k = new_ketama(0);
    assert_int_equal(of_ring_add(k, "10.0.0.1", 8, 1, 0), OF_OK);
    /* one server: always index 0 */
    assert_int_equal(lookup_tag(k, "anything", 8), 0);
    assert_int_equal(of_ring_add(k, "10.0.0.2", 8, 1, 1), OF_OK);
    assert_int_equal(of_ring_add(k, "[::1]:11300", 11, 2, 2), OF_OK);
    /* every key goes to the first point >= MD5 key hash among all servers' points */
    for (unsigned n = 0; n < 300; n++) {
        char key[32];
        key_name(key, sizeof key, n);
        uint32_t h = ofi_ketama_key_hash(key, strlen(key));
        const struct {
            const char *host;
            uint32_t port, w;
        } srv[3] = {{"10.0.0.1", 11211, 1}, {"10.0.0.2", 11211, 1}, {"::1", 11300, 2}};
        uint64_t best = UINT64_MAX, bmin = UINT64_MAX;
        unsigned owner = 0, omin = 0;
        for (unsigned s = 0; s < 3; s++) {
            uint32_t dg = ofi_ketama_digests(srv[s].w, 4, 3);
            for (uint32_t d = 0; d < dg; d++) {
                uint32_t p[4];
                ofi_ketama_points((const uint8_t *)srv[s].host, strlen(srv[s].host), srv[s].port,
                                  d, p);
                for (int x = 0; x < 4; x++) {
                    if (p[x] >= h && p[x] < best) {
                        best = p[x];
                        owner = s;
                    }
                    if (p[x] < bmin) {
                        bmin = p[x];
                        omin = s;
                    }
                }
            }
        }
        assert_int_equal(lookup_tag(k, key, strlen(key)), best == UINT64_MAX ? omin : owner);
    }
    double s0, s2;
    assert_int_equal(of_ring_ownership(k, "10.0.0.1:11211", 14, &s0), OF_OK);
    assert_int_equal(of_ring_ownership(k, "[::1]:11300", 11, &s2), OF_OK);
    assert_true(s0 > 0.1 && s0 < 0.4 && s2 > 0.35 && s2 < 0.65);
    uint64_t tags[3];
    assert_int_equal(of_ring_lookup_n(k, "abc", 3, 3, tags), OF_OK);
    assert_true(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2]);
    of_ring_destroy(k);
}

/* ---- concurrency ----------------------------------------------------------------------------- */

enum { CC_KEYS = 256, CC_BATCH = 40 };

typedef struct cc_shared {
    of_ring *ring;
    atomic_int stop;
    uint64_t owner_a[CC_KEYS], owner_b[CC_KEYS]; /* without / with node "flapper" */
    atomic_ulong lookups;
} cc_shared;

static void *cc_reader(void *p)
{
    cc_shared *sh = p;
    char key[32];
    unsigned long n = 0;
    while (!atomic_load(&sh->stop)) {
        for (unsigned k = 0; k < CC_KEYS; k++) {
            key_name(key, sizeof key, k);
            uint64_t tag = UINT64_MAX;
            char id[32];
            size_t len = 0;
            int rc = of_ring_lookup(sh->ring, key, strlen(key), &tag, id, sizeof id, &len);
            if (rc != OF_OK || (tag != sh->owner_a[k] && tag != sh->owner_b[k]))
                return (void *)1;
            char expect[32];
            if (tag == 1000)
                snprintf(expect, sizeof expect, "flapper");
            else
                node_name(expect, sizeof expect, (unsigned)tag);
            if (len != strlen(expect) || memcmp(id, expect, len) != 0)
                return (void *)2;
            uint64_t tags[3];
            if (of_ring_lookup_n(sh->ring, key, strlen(key), 3, tags) != OF_OK ||
                (tags[0] != sh->owner_a[k] && tags[0] != sh->owner_b[k]))
                return (void *)3;
            n++;
        }
        {
            char kb[CC_BATCH][32];
            const void *kp[CC_BATCH];
            size_t kl[CC_BATCH];
            uint64_t tags[CC_BATCH];
            for (unsigned j = 0; j < CC_BATCH; j++) {
                key_name(kb[j], sizeof kb[j], j);
                kp[j] = kb[j];
                kl[j] = strlen(kb[j]);
            }
            if (of_ring_lookup_batch(sh->ring, kp, kl, CC_BATCH, tags) != OF_OK)
                return (void *)6;
            for (unsigned j = 0; j < CC_BATCH; j++)
                if (tags[j] != sh->owner_a[j] && tags[j] != sh->owner_b[j])
                    return (void *)7;
        }
        of_ring_view *v;
        if (of_ring_view_take(sh->ring, &v) != OF_OK)
            return (void *)4;
        {
            char vkey[32];
            key_name(vkey, sizeof vkey, 1);
            uint64_t tag = UINT64_MAX;
            if (of_ring_view_lookup(v, vkey, strlen(vkey), &tag, NULL, 0, NULL) != OF_OK ||
                (tag != sh->owner_a[1] && tag != sh->owner_b[1]))
                return (void *)8;
        }
        uint64_t g = of_ring_view_generation(v);
        of_ring_view_release(v);
        if (g < 8)
            return (void *)5;
    }
    atomic_fetch_add(&sh->lookups, n);
    return NULL;
}

static void ring_concurrent_readers_and_writer(void **state)
{
    (void)state;
    static cc_shared sh;
    sh.ring = new_ring(64, 0);
    atomic_init(&sh.stop, 0);
    atomic_init(&sh.lookups, 0);
    add_nodes(sh.ring, 0, 8);
    char key[32];
    for (unsigned k = 0; k < CC_KEYS; k++) {
        key_name(key, sizeof key, k);
        sh.owner_a[k] = lookup_tag(sh.ring, key, strlen(key));
    }
    assert_int_equal(of_ring_add(sh.ring, "flapper", 7, 2, 1000), OF_OK);
    for (unsigned k = 0; k < CC_KEYS; k++) {
        key_name(key, sizeof key, k);
        sh.owner_b[k] = lookup_tag(sh.ring, key, strlen(key));
    }
    enum { READERS = 3 };
    pthread_t th[READERS];
    for (int t = 0; t < READERS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, cc_reader, &sh), 0);
    int changes = test_under_valgrind() ? 100 : 2000;
    for (int i = 0; i < changes; i++) {
        if (i % 2 == 0)
            assert_int_equal(of_ring_remove(sh.ring, "flapper", 7), OF_OK);
        else
            assert_int_equal(of_ring_add(sh.ring, "flapper", 7, 2, 1000), OF_OK);
        if (i % 64 == 0) /* a writer racing with pins too */
            assert_int_equal(of_ring_set_weight(sh.ring, "node-0", 6, 1), OF_OK);
    }
    atomic_store(&sh.stop, 1);
    for (int t = 0; t < READERS; t++) {
        void *ret = (void *)9;
        assert_int_equal(pthread_join(th[t], &ret), 0);
        assert_ptr_equal(ret, NULL);
    }
    assert_true(atomic_load(&sh.lookups) > 0);
    of_ring_destroy(sh.ring);
}

/* ---- a view's lookup and batched lookups ------------------------------------------------------- */

enum { VB_KEYS = 1000 };

/* Every new read path answers as of_ring_lookup on random keys (lengths 0..40, some NULL with
 * length 0), for batches of every size from 0 to 40 and one of all keys. */
static void check_new_paths_equal(of_ring *r)
{
    static char kbuf[VB_KEYS][40];
    static const void *kp[VB_KEYS];
    static size_t kl[VB_KEYS];
    static uint64_t want[VB_KEYS], got[VB_KEYS];
    for (size_t i = 0; i < VB_KEYS; i++) {
        kl[i] = rnd() % 41;
        for (size_t j = 0; j < kl[i]; j++)
            kbuf[i][j] = (char)rnd();
        kp[i] = kl[i] == 0 && i % 2 ? NULL : kbuf[i];
        assert_int_equal(of_ring_lookup(r, kp[i], kl[i], &want[i], NULL, 0, NULL), OF_OK);
    }
    of_ring_view *v = NULL;
    assert_int_equal(of_ring_view_take(r, &v), OF_OK);
    for (size_t i = 0; i < VB_KEYS; i++) {
        uint64_t tag = UINT64_MAX, rtag = UINT64_MAX;
        char id[64], rid[64];
        size_t len = 0, rlen = 0;
        assert_int_equal(of_ring_view_lookup(v, kp[i], kl[i], &tag, id, sizeof id, &len), OF_OK);
        assert_int_equal(of_ring_lookup(r, kp[i], kl[i], &rtag, rid, sizeof rid, &rlen), OF_OK);
        assert_true(tag == want[i] && tag == rtag);
        assert_int_equal(len, rlen);
        assert_memory_equal(id, rid, len);
    }
    for (size_t n = 0; n <= 40; n++) {
        size_t off = rnd() % (VB_KEYS - 40);
        memset(got, 0xee, sizeof got);
        assert_int_equal(of_ring_lookup_batch(r, kp + off, kl + off, n, got), OF_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(got[i] == want[off + i]);
        assert_true(got[n] == 0xeeeeeeeeeeeeeeeeu); /* nothing written past count */
        memset(got, 0xee, sizeof got);
        assert_int_equal(of_ring_view_lookup_batch(v, kp + off, kl + off, n, got), OF_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(got[i] == want[off + i]);
        assert_true(got[n] == 0xeeeeeeeeeeeeeeeeu);
    }
    assert_int_equal(of_ring_lookup_batch(r, kp, kl, VB_KEYS, got), OF_OK);
    assert_memory_equal(got, want, sizeof want);
    memset(got, 0, sizeof got);
    assert_int_equal(of_ring_view_lookup_batch(v, kp, kl, VB_KEYS, got), OF_OK);
    assert_memory_equal(got, want, sizeof want);
    of_ring_view_release(v);
}

static void ring_view_and_batch_lookups_equal_lookup(void **state)
{
    (void)state;
    static const unsigned sizes[] = {1, 2, 10, 100};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        of_ring *r = new_ring(s == 3 ? 1024 : 64, s);
        add_nodes(r, 0, sizes[s]);
        check_new_paths_equal(r);
        /* pins win in every path, also with one node */
        char id[32];
        node_name(id, sizeof id, sizes[s] - 1);
        for (int k = 0; k < 50; k++) {
            char key[16];
            snprintf(key, sizeof key, "pin-%d", k);
            assert_int_equal(of_ring_pin(r, key, strlen(key), id, strlen(id)), OF_OK);
        }
        check_new_paths_equal(r);
        of_ring_destroy(r);
    }
    of_ring *k = new_ketama(0);
    char host[32];
    for (unsigned i = 0; i < 10; i++) {
        snprintf(host, sizeof host, "10.0.0.%u:11211", i + 1);
        assert_int_equal(of_ring_add(k, host, strlen(host), 1 + i % 3, i), OF_OK);
    }
    check_new_paths_equal(k);
    of_ring_destroy(k);
    k = new_ketama(0);
    assert_int_equal(of_ring_add(k, "solo", 4, 1, 77), OF_OK);
    check_new_paths_equal(k);
    of_ring_destroy(k);
}

/* A view answers as the ring did when it was taken, after changes and after the ring is gone. */
static void ring_view_lookup_keeps_its_version(void **state)
{
    (void)state;
    of_ring *r = new_ring(64, 3);
    add_nodes(r, 0, 10);
    enum { K = 300 };
    static uint64_t before[K];
    char key[32];
    for (unsigned i = 0; i < K; i++) {
        key_name(key, sizeof key, i);
        before[i] = lookup_tag(r, key, strlen(key));
    }
    of_ring_view *v = NULL;
    assert_int_equal(of_ring_view_take(r, &v), OF_OK);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(of_ring_remove(r, "node-0", 6) == OF_OK ||
                             of_ring_add(r, "node-0", 6, 1, 0) == OF_OK,
                         1);
    add_nodes(r, 10, 20);
    unsigned moved = 0;
    for (unsigned i = 0; i < K; i++) {
        key_name(key, sizeof key, i);
        moved += lookup_tag(r, key, strlen(key)) != before[i];
    }
    assert_true(moved > 0); /* the ring did change */
    of_ring_destroy(r);
    static const void *kp[K];
    static size_t kl[K];
    static char kb[K][32];
    static uint64_t got[K];
    for (unsigned i = 0; i < K; i++) {
        key_name(kb[i], sizeof kb[i], i);
        kp[i] = kb[i];
        kl[i] = strlen(kb[i]);
        uint64_t tag = UINT64_MAX;
        assert_int_equal(of_ring_view_lookup(v, kp[i], kl[i], &tag, NULL, 0, NULL), OF_OK);
        assert_true(tag == before[i]);
    }
    assert_int_equal(of_ring_view_lookup_batch(v, kp, kl, K, got), OF_OK);
    assert_memory_equal(got, before, sizeof before);
    of_ring_view_release(v);
}

/* Bad input: a clear status and nothing written. */
static void ring_batch_and_view_lookup_bad_input(void **state)
{
    (void)state;
    of_ring *r = new_ring(64, 0);
    of_ring *e = new_ring(64, 0);
    add_nodes(r, 0, 3);
    of_ring_view *v = NULL, *ve = NULL;
    assert_int_equal(of_ring_view_take(r, &v), OF_OK);
    assert_int_equal(of_ring_view_take(e, &ve), OF_OK);
    const void *kp[3] = {"a", NULL, "c"};
    size_t kl[3] = {1, 1, 1};
    uint64_t out[3] = {5, 5, 5};
    assert_int_equal(of_ring_lookup_batch(NULL, kp, kl, 1, out), OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup_batch(r, NULL, kl, 1, out), OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup_batch(r, kp, NULL, 1, out), OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup_batch(r, kp, kl, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_ring_lookup_batch(r, kp, kl, 3, out), OF_ERR_INVALID); /* key 1 NULL */
    assert_int_equal(of_ring_view_lookup_batch(NULL, kp, kl, 1, out), OF_ERR_INVALID);
    assert_int_equal(of_ring_view_lookup_batch(v, NULL, kl, 1, out), OF_ERR_INVALID);
    assert_int_equal(of_ring_view_lookup_batch(v, kp, kl, 3, out), OF_ERR_INVALID);
    assert_true(out[0] == 5 && out[1] == 5 && out[2] == 5);
    assert_int_equal(of_ring_lookup_batch(e, kp, kl, 1, out), OF_ERR_EMPTY);
    assert_int_equal(of_ring_view_lookup_batch(ve, kp, kl, 1, out), OF_ERR_EMPTY);
    assert_int_equal(of_ring_lookup_batch(e, NULL, NULL, 0, NULL), OF_ERR_EMPTY);
    assert_true(out[0] == 5);
    assert_int_equal(of_ring_lookup_batch(r, NULL, NULL, 0, NULL), OF_OK);
    assert_int_equal(of_ring_view_lookup_batch(v, NULL, NULL, 0, NULL), OF_OK);
    uint64_t tag = 9;
    char id[2];
    size_t len = 0;
    assert_int_equal(of_ring_view_lookup(NULL, "k", 1, &tag, NULL, 0, NULL), OF_ERR_INVALID);
    assert_int_equal(of_ring_view_lookup(v, NULL, 1, &tag, NULL, 0, NULL), OF_ERR_INVALID);
    assert_int_equal(of_ring_view_lookup(ve, "k", 1, &tag, NULL, 0, NULL), OF_ERR_EMPTY);
    assert_true(tag == 9);
    assert_int_equal(of_ring_view_lookup(v, "k", 1, &tag, id, sizeof id, &len), OF_ERR_NOSPACE);
    assert_int_equal(len, 6); /* "node-N" */
    assert_true(tag == 9);
    assert_int_equal(of_ring_view_lookup(v, NULL, 0, &tag, NULL, 0, NULL), OF_OK);
    of_ring_view_release(v);
    of_ring_view_release(ve);
    of_ring_destroy(r);
    of_ring_destroy(e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(md5_rfc1321_vectors),
        cmocka_unit_test(ketama_digests_float_quirk),
        cmocka_unit_test(ketama_parse_ids),
        cmocka_unit_test(ketama_points_strings),
        cmocka_unit_test(ring_options_init_and_abi),
        cmocka_unit_test(ring_lookup_empty_returns_empty),
        cmocka_unit_test(ring_bad_input_leaves_ring_unchanged),
        cmocka_unit_test(ring_matches_reference_model),
        cmocka_unit_test(ring_hash_extremes_and_exact_point),
        cmocka_unit_test(ring_golden_vectors),
        cmocka_unit_test(ketama_unweighted_oaat),
        cmocka_unit_test(ring_insertion_order_independent),
        cmocka_unit_test(ring_add_many_equals_single_adds),
        cmocka_unit_test(ring_add_many_large_batch_duplicates),
        cmocka_unit_test(ring_movement_add_to_10),
        cmocka_unit_test(ring_remove_moves_only_its_keys),
        cmocka_unit_test(ring_set_weight_moves_only_that_node),
        cmocka_unit_test(ring_lookup_id_copy_and_nospace),
        cmocka_unit_test(ring_lookup_n_prefix_stable_distinct),
        cmocka_unit_test(ring_pins_win_over_hashing),
        cmocka_unit_test(ring_pin_ops_on_pinless_ring),
        cmocka_unit_test(ring_bounded_load),
        cmocka_unit_test(ring_foreach_contains_count),
        cmocka_unit_test(ring_ownership_exact_shares),
        cmocka_unit_test(ring_ownership_is_exact),
        cmocka_unit_test(ring_fingerprint_excludes_tags),
        cmocka_unit_test(ring_diff_matches_lookups),
        cmocka_unit_test(ring_diff_ketama_respelled_server),
        cmocka_unit_test(ring_owner_width_crossing),
        cmocka_unit_test(ring_view_and_batch_lookups_equal_lookup),
        cmocka_unit_test(ring_view_lookup_keeps_its_version),
        cmocka_unit_test(ring_batch_and_view_lookup_bad_input),
        cmocka_unit_test(ring_ketama_basic_rules),
    };
    const struct CMUnitTest slow[] = {
        cmocka_unit_test(ring_movement_add_to_100),
        cmocka_unit_test(ring_balance_1m_keys_100_nodes),
    };
    const struct CMUnitTest ketama_large[] = {
        cmocka_unit_test(ring_ketama_large_build),
    };
    const struct CMUnitTest concurrency[] = {
        cmocka_unit_test(ring_concurrent_readers_and_writer),
    };
    if (argc > 1 && strcmp(argv[1], "slow") == 0)
        return cmocka_run_group_tests_name("ring-slow", slow, NULL, NULL);
    if (argc > 1 && strcmp(argv[1], "ketama-large") == 0)
        return cmocka_run_group_tests_name("ring-ketama-large", ketama_large, NULL, NULL);
    if (argc > 1 && strcmp(argv[1], "concurrency") == 0)
        return cmocka_run_group_tests_name("ring-concurrency", concurrency, NULL, NULL);
    return cmocka_run_group_tests_name("ring", unit, NULL, NULL);
}
