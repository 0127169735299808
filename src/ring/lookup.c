/* Lookups (one owner, a preference list, bounded load) and inspection of the current snapshot. */
#include "ring/ring_internal.h"
#include "ring/ring_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "common/error.h"

/* ---------------------------------------------------------------------------------------------
 * Lookups
 * ------------------------------------------------------------------------------------------- */

static inline int answer(const snap *s, uint32_t node, uint64_t *out_tag, void *out_id,
                         size_t id_cap, size_t *out_id_len)
{
    const snap_node *nd = &s->nodes[node];
    if (out_id && id_cap < nd->id_len) {
        if (out_id_len)
            *out_id_len = nd->id_len;
        return ofi_fail(OF_ERR_NOSPACE, "id is %u bytes, buffer %zu", (unsigned)nd->id_len,
                        id_cap);
    }
    if (out_id)
        memcpy(out_id, nd->id, nd->id_len);
    if (out_id_len)
        *out_id_len = nd->id_len;
    if (out_tag)
        *out_tag = nd->tag;
    return OF_OK;
}

/* Entry i of a compact snapshot's owners, @p owner_bytes wide (a constant once inlined). */
static inline uint32_t owner_read(const void *owners, size_t owner_bytes, size_t i)
{
    return owner_bytes == 1 ? ((const uint8_t *)owners)[i] : ((const uint16_t *)owners)[i];
}

static inline const void *compact_owners(const snap *s, size_t owner_bytes)
{
    return owner_bytes == 1 ? (const void *)s->cowner8 : (const void *)s->cowner;
}

/* Owner of hash @p h on a SNAP_LOOKUP_OWNER* snapshot. The owner entry past the last point is
 * the first's: no test for the wrap. */
static inline uint32_t compact_owner(const snap *s, uint64_t h, size_t owner_bytes)
{
    const void *owners = compact_owners(s, owner_bytes);
    return owner_read(owners, owner_bytes,
                      snap_cindex_in(s, s->cbucket, s->chi, owners, owner_bytes, s->shift, h));
}

/* One lookup on snapshot @p s, already protected (a read guard or a view's reference). @p key
 * may be NULL with length 0: the library's hash reads no byte then, the others get "". */
static inline int snap_lookup(const snap *s, const void *key, size_t key_len, uint64_t *out_tag,
                              void *out_id, size_t id_cap, size_t *out_id_len)
{
    if (__builtin_expect(s->lookup_kind == SNAP_LOOKUP_OWNER8, 1))
        return answer(s, compact_owner(s, ofi_hash64(key, key_len, s->seed), 1), out_tag, out_id,
                      id_cap, out_id_len);
    if (s->lookup_kind == SNAP_LOOKUP_OWNER16)
        return answer(s, compact_owner(s, ofi_hash64(key, key_len, s->seed), 2), out_tag, out_id,
                      id_cap, out_id_len);
    if (__builtin_expect(s->node_count == 0, 0))
        return ofi_fail_plain(OF_ERR_EMPTY);
    if (s->node_count == 1 && s->pin_count == 0) /* one node answers without hashing */
        return answer(s, 0, out_tag, out_id, id_cap, out_id_len);
    return answer(s, snap_owner(s, snap_key_hash(s, key ? key : "", key_len)), out_tag, out_id,
                  id_cap, out_id_len);
}

OF_API int of_ring_lookup(const of_ring *ring, const void *key, size_t key_len, uint64_t *out_tag,
                          void *out_id, size_t id_cap, size_t *out_id_len)
{
    if (__builtin_expect(!ring || (!key && key_len), 0))
        return ofi_fail(OF_ERR_INVALID, "NULL ring or key");
    read_guard g;
    const snap *s = read_begin_leaf(ring, &g);
    int rc = snap_lookup(s, key, key_len, out_tag, out_id, id_cap, out_id_len);
    read_end(&g);
    return rc;
}

OF_API int of_ring_view_lookup(const of_ring_view *view, const void *key, size_t key_len,
                               uint64_t *out_tag, void *out_id, size_t id_cap,
                               size_t *out_id_len)
{
    if (__builtin_expect(!view || (!key && key_len), 0))
        return ofi_fail(OF_ERR_INVALID, "NULL view or key");
    return snap_lookup((const snap *)view, key, key_len, out_tag, out_id, id_cap, out_id_len);
}

/* Keys per round of the batch: their hashes first, then their bucket entries, then their points,
 * each stage prefetching what the next one reads, so that the cache misses of a round overlap
 * instead of following one another. */
#define RING_BATCH_ROUND 16

/* The common case of the batch: native keys, the compact layout, no pins, two or more nodes,
 * owners of @p owner_bytes (a constant once inlined, one copy per width). The snapshot's fields
 * live in locals for the whole batch: out_tags is a uint64_t pointer, which may alias the
 * snapshot's size_t fields, so the general loop below reloads them for every key. Owners go to
 * a local array first for the same reason. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void batch_compact(const snap *s, const void *const *keys, const size_t *key_lens,
                                 size_t count, uint64_t *out_tags, size_t owner_bytes)
{
    const uint32_t *cbucket = s->cbucket;
    const uint16_t *chi = s->chi;
    const void *owners = compact_owners(s, owner_bytes);
    const snap_node *nodes = s->nodes;
    const unsigned shift = s->shift;
    const uint64_t seed = s->seed;
    for (size_t base = 0; base < count; base += RING_BATCH_ROUND) {
        size_t m = count - base;
        if (m > RING_BATCH_ROUND)
            m = RING_BATCH_ROUND;
        uint64_t h[RING_BATCH_ROUND];
        uint32_t owner[RING_BATCH_ROUND];
        for (size_t j = 0; j < m; j++) {
            h[j] = ofi_hash64(keys[base + j], key_lens[base + j], seed);
            __builtin_prefetch(&cbucket[h[j] >> shift]);
        }
        for (size_t j = 0; j < m; j++) {
            size_t lo = cbucket[h[j] >> shift];
            __builtin_prefetch(&chi[lo]);
            __builtin_prefetch((const char *)owners + lo * owner_bytes);
        }
        for (size_t j = 0; j < m; j++)
            owner[j] = owner_read(owners, owner_bytes,
                                  snap_cindex_in(s, cbucket, chi, owners, owner_bytes, shift, h[j]));
        for (size_t j = 0; j < m; j++)
            out_tags[base + j] = nodes[owner[j]].tag;
    }
}

static int snap_lookup_batch(const snap *s, const void *const *keys, const size_t *key_lens,
                             size_t count, uint64_t *out_tags)
{
    if (__builtin_expect(s->node_count == 0, 0))
        return ofi_fail_plain(OF_ERR_EMPTY);
    if (s->node_count == 1 && s->pin_count == 0) {
        for (size_t i = 0; i < count; i++)
            out_tags[i] = s->nodes[0].tag;
        return OF_OK;
    }
    if (s->lookup_kind == SNAP_LOOKUP_OWNER8) {
        batch_compact(s, keys, key_lens, count, out_tags, 1);
        return OF_OK;
    }
    if (s->lookup_kind == SNAP_LOOKUP_OWNER16) {
        batch_compact(s, keys, key_lens, count, out_tags, 2);
        return OF_OK;
    }
    const snap_node *nodes = s->nodes;
    unsigned shift = s->shift;
    bool native = s->algo == &ofi_ring_native;
    for (size_t base = 0; base < count; base += RING_BATCH_ROUND) {
        size_t m = count - base;
        if (m > RING_BATCH_ROUND)
            m = RING_BATCH_ROUND;
        uint64_t h[RING_BATCH_ROUND];
        for (size_t j = 0; j < m; j++) {
            const void *k = keys[base + j] ? keys[base + j] : "";
            size_t len = key_lens[base + j];
            h[j] = native ? ofi_hash64(k, len, s->seed) : s->algo->key_hash(k, len, s->seed);
            if (s->compact)
                __builtin_prefetch(&s->cbucket[h[j] >> shift]);
            else
                __builtin_prefetch(&s->buckets[h[j] >> shift]);
        }
        for (size_t j = 0; j < m; j++) {
            if (s->compact) {
                size_t lo = s->cbucket[h[j] >> shift];
                __builtin_prefetch(&s->chi[lo]);
                __builtin_prefetch(s->cowner8 ? (const void *)&s->cowner8[lo]
                                              : (const void *)&s->cowner[lo]);
            } else {
                __builtin_prefetch(&s->points[(uint32_t)s->buckets[h[j] >> shift]]);
            }
        }
        for (size_t j = 0; j < m; j++)
            out_tags[base + j] = nodes[snap_owner(s, h[j])].tag;
    }
    return OF_OK;
}

static int check_batch(const void *const *keys, const size_t *key_lens, size_t count,
                       const uint64_t *out_tags)
{
    if (count && (!keys || !key_lens || !out_tags))
        return ofi_fail(OF_ERR_INVALID, "NULL keys, key_lens or out_tags with count %zu", count);
    for (size_t i = 0; i < count; i++)
        if (!keys[i] && key_lens[i])
            return ofi_fail(OF_ERR_INVALID, "key %zu is NULL with length %zu", i, key_lens[i]);
    return OF_OK;
}

OF_API int of_ring_lookup_batch(const of_ring *ring, const void *const *keys,
                                const size_t *key_lens, size_t count, uint64_t *out_tags)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    int rc = check_batch(keys, key_lens, count, out_tags);
    if (rc != OF_OK)
        return rc;
    read_guard g;
    const snap *s = read_begin_leaf(ring, &g);
    rc = count ? snap_lookup_batch(s, keys, key_lens, count, out_tags)
               : (s->node_count ? OF_OK : ofi_fail_plain(OF_ERR_EMPTY));
    read_end(&g);
    return rc;
}

OF_API int of_ring_view_lookup_batch(const of_ring_view *view, const void *const *keys,
                                     const size_t *key_lens, size_t count, uint64_t *out_tags)
{
    if (!view)
        return ofi_fail(OF_ERR_INVALID, "view is NULL");
    int rc = check_batch(keys, key_lens, count, out_tags);
    if (rc != OF_OK)
        return rc;
    const snap *s = (const snap *)view;
    if (!count)
        return s->node_count ? OF_OK : ofi_fail_plain(OF_ERR_EMPTY);
    return snap_lookup_batch(s, keys, key_lens, count, out_tags);
}

OF_API int of_ring_lookup_hash(const of_ring *ring, uint64_t hash, uint64_t *out_tag, void *out_id,
                               size_t id_cap, size_t *out_id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (!ring->algo->seeded_hash)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "lookup by hash is not offered in %s mode",
                        ring->algo->name);
    read_guard g;
    const snap *s = read_begin_leaf(ring, &g);
    int rc;
    if (s->node_count == 0)
        rc = ofi_fail_plain(OF_ERR_EMPTY);
    else
        rc = answer(s, snap_owner(s, hash), out_tag, out_id, id_cap, out_id_len);
    read_end(&g);
    return rc;
}

/* Preference walk: distinct owners clockwise from hash @p h, after @p first (a pinned node, or
 * UINT32_MAX). Calls @p visit(ctx, node) for each, in order, until it returns non-zero; returns
 * that value, 0 if every node was visited, or OF_ERR_NOMEM. Nodes without points (possible in
 * ketama mode) come last, in node order. */
typedef int (*walk_fn)(void *ctx, const snap *s, uint32_t node);

static int snap_walk(const snap *s, uint64_t h, uint32_t first, walk_fn visit, void *ctx)
{
    uint64_t stack_bits[8];
    size_t words = (s->node_count + 63) / 64;
    uint64_t *seen = words <= 8 ? stack_bits : calloc(words, sizeof *seen);
    if (!seen)
        return ofi_fail_plain(OF_ERR_NOMEM);
    if (seen == stack_bits)
        memset(stack_bits, 0, sizeof stack_bits);
    size_t found = 0;
    int rc = 0;
    if (first != UINT32_MAX) {
        seen[first / 64] |= (uint64_t)1 << (first % 64);
        found++;
        rc = visit(ctx, s, first);
    }
    if (rc == 0 && s->point_count && found < s->node_count) {
        size_t i = snap_point(s, h);
        for (size_t step = 0; step < s->point_count; step++) {
            uint32_t o = snap_owner_at(s, i);
            if (!(seen[o / 64] & ((uint64_t)1 << (o % 64)))) {
                seen[o / 64] |= (uint64_t)1 << (o % 64);
                found++;
                rc = visit(ctx, s, o);
                if (rc != 0 || found == s->node_count)
                    break;
            }
            if (++i == s->point_count)
                i = 0;
        }
    }
    for (uint32_t o = 0; rc == 0 && found < s->node_count && o < s->node_count; o++) {
        if (!(seen[o / 64] & ((uint64_t)1 << (o % 64)))) {
            seen[o / 64] |= (uint64_t)1 << (o % 64);
            found++;
            rc = visit(ctx, s, o);
        }
    }
    if (seen != stack_bits)
        free(seen);
    return rc;
}

typedef struct collect_ctx {
    uint64_t *tags;
    size_t want, have;
} collect_ctx;

static int collect_visit(void *ctx, const snap *s, uint32_t node)
{
    collect_ctx *c = ctx;
    c->tags[c->have++] = s->nodes[node].tag;
    return c->have == c->want;
}

OF_API int of_ring_lookup_n(const of_ring *ring, const void *key, size_t key_len, size_t n,
                            uint64_t *out_tags)
{
    if (!ring || (!key && key_len) || !out_tags)
        return ofi_fail(OF_ERR_INVALID, "NULL ring, key or out_tags");
    if (!key)
        key = "";
    read_guard g;
    const snap *s = read_begin_leaf(ring, &g);
    int rc;
    if (s->node_count == 0) {
        rc = ofi_fail_plain(OF_ERR_EMPTY);
    } else if (n == 0 || n > s->node_count) {
        rc = ofi_fail(OF_ERR_INVALID, "n = %zu outside 1..%zu (node count)", n, s->node_count);
    } else {
        uint64_t h = snap_key_hash(s, key, key_len);
        uint32_t first = s->pin_count ? snap_pinned(s, h) : UINT32_MAX;
        uint64_t stack_tags[16];
        uint64_t *tags = n <= 16 ? stack_tags : malloc(n * sizeof *tags);
        if (!tags) {
            rc = ofi_fail_plain(OF_ERR_NOMEM);
        } else {
            collect_ctx c = {tags, n, 0};
            rc = snap_walk(s, h, first, collect_visit, &c);
            if (rc == 1 || (rc == 0 && c.have == n)) {
                memcpy(out_tags, tags, n * sizeof *tags);
                rc = OF_OK;
            }
            if (tags != stack_tags)
                free(tags);
        }
    }
    read_end(&g);
    return rc;
}

typedef struct bounded_ctx {
    of_ring_load_fn load;
    void *ctx;
    double capacity;
    uint64_t tag;
} bounded_ctx;

static int bounded_visit(void *ctx, const snap *s, uint32_t node)
{
    bounded_ctx *b = ctx;
    const snap_node *nd = &s->nodes[node];
    uint64_t load = b->load(b->ctx, nd->tag, nd->id, nd->id_len);
    if ((double)load < b->capacity) {
        b->tag = nd->tag;
        return 1;
    }
    return 0;
}

OF_API int of_ring_lookup_bounded(const of_ring *ring, const void *key, size_t key_len, double c,
                                  uint64_t total_load, of_ring_load_fn load, void *ctx,
                                  uint64_t *out_tag)
{
    if (!ring || (!key && key_len) || !load || !out_tag)
        return ofi_fail(OF_ERR_INVALID, "NULL ring, key, load or out_tag");
    if (!ring->algo->seeded_hash)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "bounded-load lookup is not offered in %s mode",
                        ring->algo->name);
    if (!(c > 1.0) || !isfinite(c))
        return ofi_fail(OF_ERR_INVALID, "balance factor c must be finite and > 1");
    if (!key)
        key = "";
    read_guard g;
    const snap *s = read_begin(ring, &g);
    int rc;
    if (s->node_count == 0) {
        rc = ofi_fail_plain(OF_ERR_EMPTY);
    } else {
        bounded_ctx b = {load, ctx, ceil(c * ((double)total_load + 1.0) / (double)s->node_count),
                         0};
        rc = snap_walk(s, ofi_hash64(key, key_len, s->seed), UINT32_MAX, bounded_visit, &b);
        if (rc == 1) {
            *out_tag = b.tag;
            rc = OF_OK;
        } else if (rc == 0) {
            rc = ofi_fail(OF_ERR_NOSPACE, "every node reported a load >= capacity %.0f",
                          b.capacity);
        }
    }
    read_end(&g);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Inspection
 * ------------------------------------------------------------------------------------------- */

OF_API int of_ring_contains(const of_ring *ring, const void *id, size_t id_len, int *out_present)
{
    if (!ring || !out_present)
        return ofi_fail(OF_ERR_INVALID, "NULL ring or out_present");
    int rc = ofi_ring_check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    read_guard g;
    const snap *s = read_begin_leaf(ring, &g);
    *out_present = ofi_snap_find_node(s, id, id_len) >= 0;
    read_end(&g);
    return OF_OK;
}

/* The current snapshot's counters, read under one guard (all zero for a NULL ring). */
typedef struct snap_summary {
    size_t node_count;
    uint64_t generation;
    uint64_t fingerprint;
    size_t bytes;
} snap_summary;

static snap_summary summary(const of_ring *ring)
{
    snap_summary v = {0, 0, 0, 0};
    if (!ring)
        return v;
    read_guard g;
    const snap *s = read_begin_leaf(ring, &g);
    v = (snap_summary){s->node_count, s->generation, s->fingerprint, s->bytes};
    read_end(&g);
    return v;
}

OF_API size_t of_ring_node_count(const of_ring *ring)
{
    return summary(ring).node_count;
}

OF_API uint64_t of_ring_generation(const of_ring *ring)
{
    return summary(ring).generation;
}

OF_API uint64_t of_ring_fingerprint(const of_ring *ring)
{
    return summary(ring).fingerprint;
}

OF_API size_t of_ring_memory_usage(const of_ring *ring)
{
    return summary(ring).bytes;
}

OF_API int of_ring_foreach(const of_ring *ring, of_ring_node_fn fn, void *ctx)
{
    if (!ring || !fn)
        return ofi_fail(OF_ERR_INVALID, "NULL ring or fn");
    read_guard g;
    const snap *s = read_begin(ring, &g);
    int rc = 0;
    for (size_t i = 0; i < s->node_count && rc == 0; i++)
        rc = fn(ctx, s->nodes[i].id, s->nodes[i].id_len, s->nodes[i].weight, s->nodes[i].tag);
    read_end(&g);
    return rc;
}

OF_API int of_ring_ownership(const of_ring *ring, const void *id, size_t id_len,
                             double *out_share)
{
    if (!ring || !out_share)
        return ofi_fail(OF_ERR_INVALID, "NULL ring or out_share");
    int rc = ofi_ring_check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    read_guard g;
    const snap *s = read_begin(ring, &g);
    long idx = ofi_snap_find_node(s, id, id_len);
    if (idx < 0)
        rc = ofi_fail(OF_ERR_NOT_FOUND, "no such node");
    else
        rc = ofi_ring_exact_share(s, (uint32_t)idx, out_share);
    read_end(&g);
    return rc;
}
