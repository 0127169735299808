/* Prints what the library computes for fixed inputs, one value a line, so the output of a
 * big-endian build (run under qemu) can be compared byte for byte with the build machine's:
 *   vectors ring     native rings: lookups, lookup_n, bounded lookups, pins, ownership shares,
 *                    fingerprints, diffs between views, of_hash64
 *   vectors ketama   the owner (its position in the server list) of every key of ketama-sets.h,
 *                    weighted and unweighted,
 *                    compared with libmemcached's answer
 *   vectors index    of_index and the frozen index: bounds, rank, select, floor, ceiling
 * Placement, fingerprints and tokens are defined on little-endian bytes (DESIGN.md
 * Determinism): any byte-order dependence shows up as a differing line. Exits non-zero if a
 * call fails. Uses only the public API. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openfault/openfault.h>

#include "ketama-sets.h"

#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != OF_OK) {                                                                        \
            fprintf(stderr, "%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #call,                  \
                    of_status_name(rc_), of_last_error_detail());                                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static of_ring *new_ring(uint32_t algorithm, uint32_t vnodes, uint64_t seed, uint32_t flags)
{
    of_ring_options o;
    CHECK(of_ring_options_init(&o, sizeof o));
    o.algorithm = algorithm;
    if (algorithm == OF_RING_NATIVE) {
        o.vnodes = vnodes;
        o.seed = seed;
    }
    o.flags = flags;
    of_ring *r = NULL;
    CHECK(of_ring_create(&o, &r));
    return r;
}

static size_t key_of(unsigned k, char *buf, size_t cap)
{
    return (size_t)snprintf(buf, cap, "key-%u/%x", k, k * 2654435761u);
}

static uint64_t fake_load(void *ctx, uint64_t tag, const void *id, size_t id_len)
{
    (void)ctx;
    (void)id;
    return id_len + tag * 7 % 5; /* uneven, so the bound makes some lookups walk on */
}

static int print_range(void *ctx, const of_ring_range *r)
{
    unsigned *n = ctx;
    if ((*n)++ < 200)
        printf("diff range %016" PRIx64 " %016" PRIx64 " %" PRIu64 " -> %" PRIu64 "\n", r->first,
               r->last, r->old_tag, r->new_tag);
    return 0;
}

static int print_pin(void *ctx, const of_ring_pin_change *c)
{
    (void)ctx;
    printf("diff pin %016" PRIx64 " %.*s -> %.*s\n", c->hash, (int)c->old_id_len,
           c->old_id ? (const char *)c->old_id : "", (int)c->new_id_len,
           c->new_id ? (const char *)c->new_id : "");
    return 0;
}

static void dump_native(const char *name, of_ring *r, unsigned keys)
{
    printf("%s fingerprint %016" PRIx64 " nodes %zu\n", name, of_ring_fingerprint(r),
           of_ring_node_count(r));
    for (unsigned k = 0; k < keys; k++) {
        char key[64];
        size_t len = key_of(k, key, sizeof key);
        uint64_t tag, n3[3], bounded;
        CHECK(of_ring_lookup(r, key, len, &tag, NULL, 0, NULL));
        size_t want = of_ring_node_count(r) < 3 ? of_ring_node_count(r) : 3;
        CHECK(of_ring_lookup_n(r, key, len, want, n3));
        CHECK(of_ring_lookup_bounded(r, key, len, 1.25, 40, fake_load, NULL, &bounded));
        printf("%s %u %" PRIu64 " [%" PRIu64 " %" PRIu64 " %" PRIu64 "] %" PRIu64 "\n", name, k,
               tag, n3[0], want > 1 ? n3[1] : 0, want > 2 ? n3[2] : 0, bounded);
    }
    static const uint64_t hashes[] = {0, 1, UINT64_C(0x8000000000000000), UINT64_MAX,
                                      UINT64_C(0x0123456789abcdef)};
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        uint64_t tag;
        CHECK(of_ring_lookup_hash(r, hashes[i], &tag, NULL, 0, NULL));
        printf("%s hash %016" PRIx64 " %" PRIu64 "\n", name, hashes[i], tag);
    }
}

static void ring_vectors(void)
{
    static const char *ids[] = {"alpha", "bravo", "charlie", "delta", "echo"};
    of_ring *a = new_ring(OF_RING_NATIVE, 160, 0, 0);
    for (uint64_t i = 0; i < 5; i++)
        CHECK(of_ring_add(a, ids[i], strlen(ids[i]), i == 4 ? 2 : 1, i));
    dump_native("named", a, 1000);
    for (uint64_t i = 0; i < 5; i++) {
        double share;
        CHECK(of_ring_ownership(a, ids[i], strlen(ids[i]), &share));
        printf("named share %s %.17g\n", ids[i], share);
    }

    /* Seeded, default vnodes, binary ids with NUL and 0xff bytes, unequal weights. */
    of_ring *b = new_ring(OF_RING_NATIVE, OF_RING_DEFAULT_VNODES, UINT64_C(0x0123456789abcdef), 0);
    for (uint64_t i = 0; i < 8; i++) {
        uint8_t id[3] = {0xff, (uint8_t)i, 0x00};
        CHECK(of_ring_add(b, id, 3, 1 + (uint32_t)(i % 3), i));
    }
    dump_native("binary", b, 1000);

    /* Views, pins and a diff: add a node, pin two keys, move a weight. */
    of_ring_view *v0 = NULL, *v1 = NULL;
    CHECK(of_ring_view_take(a, &v0));
    CHECK(of_ring_add(a, "foxtrot", 7, 3, 5));
    CHECK(of_ring_pin(a, "user:1", 6, "bravo", 5));
    CHECK(of_ring_pin(a, "session/42", 10, "foxtrot", 7));
    CHECK(of_ring_set_weight(a, "alpha", 5, 4));
    CHECK(of_ring_view_take(a, &v1));
    printf("views %016" PRIx64 " %016" PRIx64 "\n", of_ring_view_fingerprint(v0),
           of_ring_view_fingerprint(v1));
    unsigned ranges = 0;
    CHECK(of_ring_diff(v0, v1, print_range, print_pin, &ranges));
    printf("diff ranges %u\n", ranges);
    of_ring_view_release(v0);
    of_ring_view_release(v1);
    dump_native("changed", a, 500);
    of_ring_destroy(a);
    of_ring_destroy(b);

    for (size_t len = 0; len <= 260; len += 13) {
        uint8_t buf[260];
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(i * 31 + 7);
        printf("hash64 %zu %016" PRIx64 " %016" PRIx64 "\n", len, of_hash64(buf, len, 0),
               of_hash64(buf, len, UINT64_C(0x9e3779b97f4a7c15)));
    }
}

/* libmemcached answers the server's position in its list, which SORT_HOSTS sorts: the ring's
 * foreach order is that list's order, so tags are mapped to positions through it. */
typedef struct position_map {
    uint32_t of_tag[KS_MAX_SERVERS];
    uint32_t next;
} position_map;

static int map_position(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    (void)id;
    (void)id_len;
    (void)weight;
    position_map *m = ctx;
    m->of_tag[tag] = m->next++;
    return 0;
}

/* Weighted, then unweighted (OF_RING_KETAMA_UNWEIGHTED) owners of every set, as
 * ketama-libmemcached.c prints them. */
static void ketama_vectors(void)
{
    for (int mode = 0; mode < KS_MODES; mode++)
    for (int w = 0; w < KS_SETS; w++) {
        ks_set s;
        ks_make_set(w, &s);
        of_ring *r = new_ring(OF_RING_KETAMA, 0, 0,
                              (s.sort_hosts ? OF_RING_SORT_HOSTS : 0) |
                                  (mode == KS_UNWEIGHTED ? OF_RING_KETAMA_UNWEIGHTED : 0));
        for (size_t i = 0; i < s.n; i++) {
            char id[96];
            ks_id(&s.srv[i], i, id, sizeof id);
            CHECK(of_ring_add(r, id, strlen(id), s.srv[i].weight, i));
        }
        position_map m = {{0}, 0};
        CHECK(of_ring_foreach(r, map_position, &m));
        for (unsigned k = 0; k < KS_KEYS; k++) {
            char key[64];
            size_t len = ks_key(w, k, key);
            uint64_t tag;
            CHECK(of_ring_lookup(r, key, len, &tag, NULL, 0, NULL));
            printf("%s %d %u %u\n", ks_mode_name[mode], w, k, (unsigned)m.of_tag[tag]);
        }
        of_ring_destroy(r);
    }
}

static void index_vectors(void)
{
    enum { N = 5000 };
    static uint64_t keys[N], payloads[N];
    uint64_t st = 42;
    for (size_t i = 0; i < N; i++) {
        keys[i] = ks_rnd(&st) % 20000; /* duplicates on purpose */
        payloads[i] = i;
    }
    of_index *ix = NULL;
    CHECK(of_index_create(0, &ix));
    for (size_t i = 0; i < N; i++) {
        size_t pos;
        CHECK(i % 2 ? of_index_insert_left(ix, keys[i], payloads[i], &pos)
                    : of_index_insert_right(ix, keys[i], payloads[i], &pos));
    }
    of_index_frozen *fz = NULL;
    CHECK(of_index_freeze(ix, &fz));
    printf("index size %zu frozen %zu\n", of_index_size(ix), of_index_frozen_size(fz));
    for (uint64_t q = 0; q < 20100; q += 37) {
        size_t lb, ub, flb, fub, rank;
        CHECK(of_index_lower_bound(ix, q, &lb));
        CHECK(of_index_upper_bound(ix, q, &ub));
        CHECK(of_index_frozen_lower_bound(fz, q, &flb));
        CHECK(of_index_frozen_upper_bound(fz, q, &fub));
        CHECK(of_index_rank(ix, q, &rank));
        printf("index %" PRIu64 " %zu %zu %zu %zu %zu\n", q, lb, ub, flb, fub, rank);
    }
    for (size_t pos = 0; pos < N; pos += 97) {
        uint64_t k, p, fk, fp;
        CHECK(of_index_select(ix, pos, &k, &p));
        CHECK(of_index_frozen_select(fz, pos, &fk, &fp));
        printf("select %zu %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", pos, k, p, fk, fp);
    }
    of_index_frozen_destroy(fz);
    of_index_destroy(ix);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "ring") == 0)
        ring_vectors();
    else if (strcmp(what, "ketama") == 0)
        ketama_vectors();
    else if (strcmp(what, "index") == 0)
        index_vectors();
    else {
        fprintf(stderr, "usage: vectors ring|ketama|index\n");
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
