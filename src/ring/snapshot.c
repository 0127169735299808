/* Building snapshots: node order, points (hashed or merged from the previous snapshot), the
 * bucket index, pins and the fingerprint. */
#include "ring/ring_internal.h"

#include <stdlib.h>

#include "common/error.h"

/* ---------------------------------------------------------------------------------------------
 * Building snapshots
 * ------------------------------------------------------------------------------------------- */

static int node_in_cmp_ident(const void *pa, const void *pb)
{
    const node_in *a = pa, *b = pb;
    return ofi_ident_cmp(OFI_NODE_IDENT(a), OFI_NODE_IDENT(b));
}

/* Find a node of @p s by id: by identity, with a binary search when the nodes are in identity
 * order. An id that has no identity in this algorithm names no node. */
long ofi_snap_find_node(const snap *s, const uint8_t *id, size_t id_len)
{
    uint32_t off, len, num;
    if (s->algo->ident(id, id_len, &off, &len, &num) != OF_OK)
        return -1;
    if (!s->ident_sorted) {
        for (size_t i = 0; i < s->node_count; i++)
            if (ofi_ident_cmp(OFI_NODE_IDENT(&s->nodes[i]), id + off, len, num) == 0)
                return (long)i;
        return -1;
    }
    size_t lo = 0, hi = s->node_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ofi_ident_cmp(OFI_NODE_IDENT(&s->nodes[mid]), id + off, len, num);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int pin_in_cmp(const void *pa, const void *pb)
{
    const pin_in *a = pa, *b = pb;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

static unsigned ceil_log2(size_t x)
{
    unsigned b = 0;
    while (((size_t)1 << b) < x)
        b++;
    return b;
}

/* Stable sort of @p n (point, owner) pairs by point: counting sort on the top bits, then
 * insertion sort inside each bucket (~2 points per bucket): O(n). */
static int sort_points(const uint64_t *in_p, const uint32_t *in_o, size_t n, unsigned hash_bits,
                       uint64_t *out_p, uint32_t *out_o)
{
    if (n == 0)
        return OF_OK;
    unsigned bits = ceil_log2(n);
    bits = bits > 1 ? bits - 1 : 1;
    unsigned shift = hash_bits - bits;
    size_t nb = (size_t)1 << bits;
    size_t *start = calloc(nb + 1, sizeof *start);
    if (!start)
        return ofi_fail_plain(OF_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        start[(in_p[i] >> shift) + 1]++;
    for (size_t b = 0; b < nb; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < n; i++) {
        size_t at = start[in_p[i] >> shift]++;
        out_p[at] = in_p[i];
        out_o[at] = in_o[i];
    }
    /* start[b] is now the end of bucket b. */
    size_t lo = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t hi = start[b];
        for (size_t i = lo + 1; i < hi; i++) {
            uint64_t v = out_p[i];
            uint32_t o = out_o[i];
            size_t j = i;
            while (j > lo && out_p[j - 1] > v) {
                out_p[j] = out_p[j - 1];
                out_o[j] = out_o[j - 1];
                j--;
            }
            out_p[j] = v;
            out_o[j] = o;
        }
        lo = hi;
    }
    free(start);
    return OF_OK;
}

/* Generate the points of every node of @p s for which @p fresh is NULL or fresh[i] is set, in
 * node order (so a stable sort leaves ties in node order), sorted into @p out_p / @p out_o. */
static int fresh_points_into(const snap *s, const bool *fresh, size_t count,
                             uint64_t *out_p, uint32_t *out_o)
{
    uint64_t *tmp_p = malloc((count ? count : 1) * sizeof *tmp_p);
    uint32_t *tmp_o = malloc((count ? count : 1) * sizeof *tmp_o);
    if (!tmp_p || !tmp_o) {
        free(tmp_p);
        free(tmp_o);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    size_t k = 0;
    for (size_t i = 0; i < s->node_count; i++) {
        const snap_node *nd = &s->nodes[i];
        if (fresh && !fresh[i])
            continue;
        s->algo->points(s, nd, tmp_p + k);
        for (uint32_t j = 0; j < nd->point_count; j++)
            tmp_o[k++] = (uint32_t)i;
    }
    int rc = sort_points(tmp_p, tmp_o, k, s->hash_bits, out_p, out_o);
    free(tmp_p);
    free(tmp_o);
    return rc;
}

static int fresh_points(snap *s, const bool *fresh)
{
    return fresh_points_into(s, fresh, s->point_count, s->points, s->owners);
}

/* An incremental algorithm with a previous snapshot: nodes whose id and weight are unchanged
 * keep their (already sorted) points, renumbered; only new or re-weighted nodes are hashed, and
 * the two sorted runs are merged by (point, node index). A membership change then costs one pass
 * over the points instead of hashing and sorting all of them. merge_in holds what both layouts'
 * merges need: the renumbering (UINT32_MAX for a node that leaves or changes) and the fresh
 * points, sorted. */
typedef struct merge_in {
    uint32_t *old_to_new;
    bool *fresh;
    uint64_t *fp;
    uint32_t *fo;
    size_t fresh_count;
} merge_in;

static void merge_release(merge_in *m)
{
    free(m->old_to_new);
    free(m->fresh);
    free(m->fp);
    free(m->fo);
}

static int merge_prepare(const snap *s, const snap *base, merge_in *m)
{
    *m = (merge_in){0};
    m->old_to_new = malloc((base->node_count ? base->node_count : 1) * sizeof *m->old_to_new);
    m->fresh = calloc(s->node_count ? s->node_count : 1, sizeof *m->fresh);
    if (!m->old_to_new || !m->fresh)
        return OF_ERR_NOMEM;
    size_t j = 0;
    for (size_t i = 0; i < base->node_count; i++)
        m->old_to_new[i] = UINT32_MAX;
    for (size_t i = 0; i < s->node_count; i++) {
        const snap_node *nd = &s->nodes[i];
        int c = 1;
        while (j < base->node_count &&
               (c = ofi_ident_cmp(OFI_NODE_IDENT(&base->nodes[j]), OFI_NODE_IDENT(nd))) < 0)
            j++;
        if (j < base->node_count && c == 0 && base->nodes[j].point_count == nd->point_count) {
            m->old_to_new[j] = (uint32_t)i;
        } else {
            m->fresh[i] = true;
            m->fresh_count += nd->point_count;
        }
    }
    m->fp = malloc((m->fresh_count ? m->fresh_count : 1) * sizeof *m->fp);
    m->fo = malloc((m->fresh_count ? m->fresh_count : 1) * sizeof *m->fo);
    if (!m->fp || !m->fo)
        return OF_ERR_NOMEM;
    return fresh_points_into(s, m->fresh, m->fresh_count, m->fp, m->fo);
}

static int merge_points(snap *s, const snap *base)
{
    merge_in m;
    int rc = merge_prepare(s, base, &m);
    if (rc != OF_OK)
        goto out;
    size_t a = 0, b = 0, k = 0;
    const uint64_t *bp = base->points;
    const uint32_t *bo = base->owners;
    const uint64_t *fp = m.fp;
    const uint32_t *fo = m.fo;
    for (;;) {
        while (a < base->point_count && m.old_to_new[bo[a]] == UINT32_MAX)
            a++;
        if (a == base->point_count)
            break;
        uint64_t v = bp[a];
        uint32_t o = m.old_to_new[bo[a]];
        while (b < m.fresh_count && (fp[b] < v || (fp[b] == v && fo[b] < o))) {
            s->points[k] = fp[b];
            s->owners[k++] = fo[b++];
        }
        s->points[k] = v;
        s->owners[k++] = o;
        a++;
    }
    for (; b < m.fresh_count; b++) {
        s->points[k] = fp[b];
        s->owners[k++] = fo[b];
    }
    rc = k == s->point_count ? OF_OK : OF_ERR_INVALID; /* cannot differ: counts agree */
out:
    merge_release(&m);
    return rc == OF_OK ? OF_OK : ofi_fail_plain(rc);
}

/* Bucket b holds the points whose top bits are b; its entry is the index of its first point
 * (or of the next bucket's) and that point's owner. About one point per bucket: a lookup reads
 * one entry pair (usually one cache line), and most often finds its answer at the bucket's edge
 * (the owner in this entry or the next), so neither the owners array nor, for an empty bucket,
 * the points array is touched. */
static int build_buckets(of_ring *ring, snap *s)
{
    size_t P = s->point_count;
    unsigned bits = ceil_log2(P + 1) - 1; /* floor(log2(P)): 1 to 2 points per bucket */
    bits = bits < 1 ? 1 : bits > s->hash_bits - 1 ? s->hash_bits - 1 : bits;
    s->shift = s->hash_bits - bits;
    /* bits is in [1, hash_bits - 1]. The analyzer reaches a huge shift only through wrap-arounds
     * that cannot happen: hash_bits == 0 (it is the algorithm's 32 or 64) with P + 1 == 0.
     * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
    size_t nb = (size_t)1 << bits;
    if (ofi_ring_alloc_buckets(ring, s, nb + 1) != OF_OK)
        return ofi_fail_plain(OF_ERR_NOMEM);
    /* Counts, prefix sums, then owners: no data-dependent branches (a merge-style walk
     * mispredicts on every bucket boundary). */
    memset(s->buckets, 0, (nb + 1) * sizeof *s->buckets);
    for (size_t i = 0; i < P; i++)
        s->buckets[(s->points[i] >> s->shift) + 1]++;
    for (size_t b = 0; b < nb; b++)
        s->buckets[b + 1] += s->buckets[b];
    for (size_t b = 0; b <= nb; b++) {
        uint64_t start = s->buckets[b];
        uint64_t owner = s->owners[start == P ? 0 : start];
        s->buckets[b] = start | owner << 32;
    }
    return OF_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The compact layout (native mode, at most RING_COMPACT_MAX_NODES nodes)
 *
 * Bucket b holds the points whose top `bits` bits are b (4 to 8 points per bucket, a 32-bit
 * start index each); a point keeps only the 32 bits below its bucket's: bits [shift - 32,
 * shift), as a high and a low 16-bit half in two arrays, and its owner as a node index of 8 bits
 * (up to RING_OWNER8_MAX_NODES nodes) or 16. That is 5 or 6 bytes per point plus 4 bytes per
 * bucket, instead of 12 plus 8 per 1-2 points; the high halves and owners, which every lookup
 * reads, are 3 or 4 bytes per point.
 *
 * Why placement stays exact (the same first point >= h as the wide layout, ties in node order):
 * the points are in the same order (ascending by full value, equal values by node index), and a
 * point p of h's bucket compares with h as its kept 32 bits compare with h's, except when they
 * are equal. Then p and h agree on their top bits + 32 and only the dropped low (32 - bits) bits
 * order them; the lookup counts the points of that run below h by recomputing the points of each
 * owner in the run (ofi_snap_ctie: the owner's point_count hashes). The first point >= h is
 * then at the run's start plus that count, which is also where equal points start, in node
 * order, as in the wide layout. The counting needs no memory and no guess: a key hash ties with
 * some point's 32 kept bits about once in 2^32 / (points per bucket) lookups with random keys;
 * when the high half ties (about 1 in 10^4) the low half is read from its own cache line.
 *
 * Writers: a full build hashes and sorts the points as the wide layout does, then keeps their
 * top bits. A merge from a compact base compares the fresh points with the base's at the base's
 * kept bits; it needs the new index to be no finer than the base's (so that the kept bits of the
 * base carry the new ones: a ring growing past a power of two in points rebuilds once) and no
 * fresh point to tie with a base point on those bits (about one merge in 10^6; it then rebuilds:
 * the full build orders the tie exactly).
 * ------------------------------------------------------------------------------------------- */

/* floor(log2(P)) - 2, so 4 to 8 points per bucket; at most 26 (P <= 2^28), so shift >= 38. */
static unsigned compact_bits(size_t P)
{
    unsigned bits = ceil_log2(P + 1) - 1;
    bits = bits > 3 ? bits - 2 : 1;
    return bits > 26 ? 26 : bits;
}

/* The arrays of the compact layout, carved out of one block (the buckets pointer, so that the
 * spare-array reuse of reclaim.c applies unchanged). */
static size_t compact_bytes(size_t nb, size_t P, size_t owner_bytes)
{
    return (nb + 1) * sizeof(uint32_t) + (2 * P + RING_CPAD) * sizeof(uint16_t) +
           (P + 1) * owner_bytes;
}

static int compact_alloc(of_ring *ring, snap *s, unsigned bits)
{
    size_t P = s->point_count, nb = (size_t)1 << bits;
    size_t owner_bytes = s->node_count <= RING_OWNER8_MAX_NODES ? 1 : 2;
    s->shift = 64 - bits;
    size_t words = (compact_bytes(nb, P, owner_bytes) + 7) / 8;
    if (ofi_ring_alloc_buckets(ring, s, words) != OF_OK)
        return OF_ERR_NOMEM;
    s->compact = true;
    s->cbucket = (uint32_t *)(void *)s->buckets;
    s->chi = (uint16_t *)(void *)(s->cbucket + nb + 1);
    s->clo = s->chi + P + RING_CPAD;
    if (owner_bytes == 1)
        s->cowner8 = (uint8_t *)(void *)(s->clo + P);
    else
        s->cowner = s->clo + P;
    memset(s->cbucket, 0, (nb + 1) * sizeof *s->cbucket);
    memset(s->chi + P, 0, RING_CPAD * sizeof *s->chi);
    return OF_OK;
}

/* Point k of @p s is @p v (its bits below the kept ones may be 0), owned by @p o. The buckets
 * count points; compact_finish turns counts into start indexes. */
static inline void compact_put(snap *s, size_t k, uint64_t v, uint32_t o)
{
    uint32_t suf = snap_csuffix(s, v);
    s->chi[k] = (uint16_t)(suf >> 16);
    s->clo[k] = (uint16_t)suf;
    if (s->cowner8)
        s->cowner8[k] = (uint8_t)o;
    else
        s->cowner[k] = (uint16_t)o;
    s->cbucket[(v >> s->shift) + 1]++;
}

static void compact_finish(snap *s)
{
    size_t nb = (size_t)1 << (64 - s->shift);
    for (size_t b = 0; b < nb; b++)
        s->cbucket[b + 1] += s->cbucket[b];
    /* Past the last point the ring wraps to the first: one more owner entry says so, and a
     * lookup reads the owner at the index it found without testing for the end. */
    if (s->cowner8)
        s->cowner8[s->point_count] = s->cowner8[0];
    else
        s->cowner[s->point_count] = s->cowner[0];
    s->bytes += compact_bytes(nb, s->point_count, s->cowner8 ? 1 : 2);
}

static int compact_fresh(snap *s)
{
    size_t P = s->point_count;
    uint64_t *p = malloc(P * sizeof *p);
    uint32_t *o = malloc(P * sizeof *o);
    int rc = p && o ? fresh_points_into(s, NULL, P, p, o) : OF_ERR_NOMEM;
    if (rc == OF_OK) {
        /* fresh_points_into() wrote all P entries (the nodes' point counts sum to P), which the
         * analyzer cannot follow through the algorithm's points callback. */
        for (size_t k = 0; k < P; k++)
            compact_put(s, k, p[k], o[k]); /* NOLINT(clang-analyzer-core.CallAndMessage) */
        compact_finish(s);
    }
    free(p);
    free(o);
    return rc;
}

/* Merge from a compact @p base whose index is at least as fine: OF_OK, OF_ERR_NOMEM, or
 * OF_ERR_EXISTS for a fresh point that ties with a base point on the base's kept bits. */
static int compact_merge(snap *s, const snap *base)
{
    merge_in m;
    int rc = merge_prepare(s, base, &m);
    if (rc != OF_OK)
        goto out;
    uint64_t bmask = snap_cmask(base);
    size_t a = 0, b = 0, k = 0, bk = 0;
    for (;;) {
        while (a < base->point_count && m.old_to_new[snap_cowner(base, a)] == UINT32_MAX)
            a++;
        if (a == base->point_count)
            break;
        while (base->cbucket[bk + 1] <= a)
            bk++;
        uint64_t v = snap_cvalue(base, bk, a);
        while (b < m.fresh_count && (m.fp[b] & bmask) <= v) {
            if ((m.fp[b] & bmask) == v) {
                rc = OF_ERR_EXISTS;
                goto out;
            }
            compact_put(s, k++, m.fp[b], m.fo[b]);
            b++;
        }
        compact_put(s, k++, v, m.old_to_new[snap_cowner(base, a)]);
        a++;
    }
    for (; b < m.fresh_count; b++)
        compact_put(s, k++, m.fp[b], m.fo[b]);
    rc = k == s->point_count ? OF_OK : OF_ERR_INVALID; /* cannot differ: counts agree */
    if (rc == OF_OK)
        compact_finish(s);
out:
    merge_release(&m);
    return rc;
}

static int build_compact(of_ring *ring, snap *s, const snap *base)
{
    unsigned bits = compact_bits(s->point_count);
    if (compact_alloc(ring, s, bits) != OF_OK)
        return OF_ERR_NOMEM;
    if (base && base->compact && s->ident_sorted && base->ident_sorted &&
        bits <= 64 - base->shift) {
        int rc = compact_merge(s, base);
        if (rc != OF_ERR_EXISTS)
            return rc;
        memset(s->cbucket, 0, (((size_t)1 << bits) + 1) * sizeof *s->cbucket);
    }
    return compact_fresh(s);
}

size_t ofi_snap_ctie(const snap *s, uint64_t h, size_t i, size_t hi)
{
    uint32_t key = snap_csuffix(s, h);
    /* Points from i on have the key's high half or above: step over those whose low half is
     * below, then take the run whose 32 kept bits are the key's. */
    while (i < hi && ((uint32_t)s->chi[i] << 16 | s->clo[i]) < key)
        i++;
    size_t r = i;
    while (r < hi && ((uint32_t)s->chi[r] << 16 | s->clo[r]) == key)
        r++;
    uint64_t mask = snap_cmask(s), want = h & mask;
    size_t below = 0;
    for (size_t j = i; j < r; j++) {
        uint32_t o = snap_cowner(s, j);
        bool seen = false;
        for (size_t q = i; q < j && !seen; q++)
            seen = snap_cowner(s, q) == o;
        if (seen)
            continue;
        const snap_node *nd = &s->nodes[o];
        for (uint32_t v = 0; v < nd->point_count; v++) {
            uint64_t p = ofi_native_point(s, nd, v);
            below += (p & mask) == want && p < h;
        }
    }
    return i + below;
}

int ofi_snap_full_points(const snap *s, const uint64_t **points, const uint32_t **owners,
                         void **to_free)
{
    *to_free = NULL;
    if (!s->compact || s->node_count < 2) { /* one node: callers read no point */
        *points = s->points;
        *owners = s->owners;
        return OF_OK;
    }
    size_t P = s->point_count;
    uint64_t *p = malloc(P * (sizeof *p + sizeof(uint32_t)));
    if (!p)
        return ofi_fail_plain(OF_ERR_NOMEM);
    uint32_t *o = (uint32_t *)(void *)(p + P);
    int rc = fresh_points_into(s, NULL, P, p, o);
    if (rc != OF_OK) {
        free(p);
        return rc;
    }
    *points = p;
    *owners = o;
    *to_free = p;
    return OF_OK;
}

/* Build a snapshot from @p nodes (reordered in place) and @p pins (reordered; pins whose node is
 * absent are dropped). The caller has validated ids, weights and point limits. */
int ofi_snap_build(of_ring *ring, const snap *base, node_in *nodes, size_t n,
                      pin_in *pins, size_t npins, uint64_t generation, snap **out)
{
    const ofi_ring_algo *algo = ring->algo;
    snap *s = calloc(1, sizeof *s);
    if (!s)
        return ofi_fail_plain(OF_ERR_NOMEM);
    atomic_init(&s->refs, 1);
    s->generation = generation;
    s->seed = ring->seed;
    s->algo = algo;
    s->algorithm = ring->algorithm;
    s->flags = ring->flags;
    s->vnodes = ring->vnodes;
    s->hash_bits = algo->hash_bits;
    s->node_count = n;
    /* Identities are unique in a ring (add and add_many refuse a repeat), so the order is total
     * and qsort's instability cannot change the result. */
    s->ident_sorted = algo->id_order || (ring->flags & OF_RING_SORT_HOSTS);
    if (s->ident_sorted && n > 1)
        qsort(nodes, n, sizeof *nodes, node_in_cmp_ident);

    size_t blob_len = 0;
    for (size_t i = 0; i < n; i++)
        blob_len += nodes[i].id_len;
    s->nodes = calloc(n ? n : 1, sizeof *s->nodes);
    s->id_blob = malloc(blob_len ? blob_len : 1);
    if (!s->nodes || !s->id_blob)
        goto nomem;

    uint64_t total_weight = 0;
    for (size_t i = 0; i < n; i++)
        total_weight += nodes[i].weight ? nodes[i].weight : 1;

    size_t P = 0;
    uint8_t *blob = s->id_blob;
    for (size_t i = 0; i < n; i++) {
        snap_node *nd = &s->nodes[i];
        memcpy(blob, nodes[i].id, nodes[i].id_len);
        nd->id = blob;
        blob += nodes[i].id_len;
        nd->id_len = nodes[i].id_len;
        nd->weight = nodes[i].weight;
        nd->tag = nodes[i].tag;
        nd->ident_off = nodes[i].ident_off;
        nd->ident_len = nodes[i].ident_len;
        nd->ident_num = nodes[i].ident_num;
        nd->point_count = algo->point_count(s, nd, total_weight);
        P += nd->point_count;
    }
    s->point_count = P;

    if (P > 0 && algo == &ofi_ring_native && n <= RING_COMPACT_MAX_NODES) {
        if (build_compact(ring, s, base) != OF_OK)
            goto nomem;
    } else if (P > 0) {
        if (ofi_ring_alloc_points(ring, s, P) != OF_OK)
            goto nomem;
        int prc = base && !base->compact && algo->incremental && s->ident_sorted &&
                          base->ident_sorted
                      ? merge_points(s, base)
                      : fresh_points(s, NULL);
        if (prc != OF_OK)
            goto nomem;
        if (build_buckets(ring, s) != OF_OK)
            goto nomem;
        s->bytes += P * (sizeof *s->points + sizeof *s->owners) +
                    (((size_t)1 << (s->hash_bits - s->shift)) + 1) * sizeof *s->buckets;
    }

    /* Pins: map ids to the new node indexes, drop those whose node is gone. */
    if (npins) {
        qsort(pins, npins, sizeof *pins, pin_in_cmp);
        s->pin_hash = malloc(npins * sizeof *s->pin_hash);
        s->pin_node = malloc(npins * sizeof *s->pin_node);
        if (!s->pin_hash || !s->pin_node)
            goto nomem;
        for (size_t i = 0; i < npins; i++) {
            long idx = ofi_snap_find_node(s, pins[i].id, pins[i].id_len);
            if (idx < 0)
                continue;
            s->pin_hash[s->pin_count] = pins[i].hash;
            s->pin_node[s->pin_count++] = (uint32_t)idx;
        }
        s->bytes += npins * (sizeof *s->pin_hash + sizeof *s->pin_node);
    }
    s->bytes += sizeof *s + n * sizeof *s->nodes + blob_len;
    if (s->compact && n >= 2 && s->pin_count == 0)
        s->lookup_kind = s->cowner8 ? SNAP_LOOKUP_OWNER8 : SNAP_LOOKUP_OWNER16;

    /* Fingerprint: options, nodes in snapshot order as the algorithm names them, pins by hash
     * with their node's position. Tags and generation are left out. */
    XXH3_state_t st;
    XXH3_64bits_reset_withSeed(&st, 0);
    XXH3_64bits_update(&st, "openfault-ring-1", 16);
    ofi_fp_u32(&st, s->algorithm);
    ofi_fp_u32(&st, s->flags);
    algo->fp_options(&st, s);
    ofi_fp_u64(&st, n);
    for (size_t i = 0; i < n; i++)
        algo->fp_node(&st, &s->nodes[i]);
    ofi_fp_u64(&st, s->pin_count);
    for (size_t i = 0; i < s->pin_count; i++) {
        ofi_fp_u64(&st, s->pin_hash[i]);
        ofi_fp_u32(&st, s->pin_node[i]);
    }
    s->fingerprint = XXH3_64bits_digest(&st);
    *out = s;
    return OF_OK;

nomem:
    ofi_snap_free(s);
    return ofi_fail_plain(OF_ERR_NOMEM);
}
