/* Ring metrics: the figures of of_ring_get_stats() (sizes, balance, generation, fingerprint,
 * memory, membership changes and the share of the hash space the last one moved) and their
 * exposition through the shared writer (common/metrics.c).
 *
 * Balance is computed when asked, on a view (a reference, not a reader announcement, so a long
 * walk over a large ring neither holds back reclamation nor touches the readers' counters):
 * lookups never wait for it. The moved share is computed by the writer, which holds both
 * snapshots, before it publishes the new one. */
#include "ring/ring_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/metrics.h"

/* ---------------------------------------------------------------------------------------------
 * Exact arc sums
 *
 * A length of hash space in two words, so that the whole space (2^64 natively) fits: {1, 0}.
 * ------------------------------------------------------------------------------------------- */

typedef struct arc {
    uint64_t hi, lo;
} arc;

static void arc_add(arc *a, uint64_t v)
{
    a->lo += v;
    a->hi += a->lo < v;
}

static arc whole_space(const snap *s)
{
    return s->hash_bits == 64 ? (arc){1, 0} : (arc){0, (uint64_t)1 << s->hash_bits};
}

/* |a - b| */
static arc arc_absdiff(arc a, arc b)
{
    if (a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo)) {
        arc t = a;
        a = b;
        b = t;
    }
    return (arc){a.hi - b.hi - (a.lo < b.lo), a.lo - b.lo};
}

static double arc_share(const snap *s, arc a)
{
    double v = ldexp((double)a.hi, 64 - (int)s->hash_bits) + ldexp((double)a.lo, -(int)s->hash_bits);
    return v > 1.0 ? 1.0 : v;
}

/* Point values for arc lengths. The wide layout has them in full. The compact layout keeps the
 * bucket's bits and a 32-bit suffix of each point (the 32 - b lowest bits of a b-bit bucket index
 * are gone), so shares are computed from those kept bits: each arc is then off by less than
 * 2^-(32+b) of the space, a node's share (at most P < 2^(b+3) arcs) by less than 2^-29, about
 * 2e-9. That is far below what a balance gauge shows, and it spares the writer and a scrape the
 * hashing and sorting of every point that exact values would need (ofi_snap_full_points). */
typedef struct point_cursor {
    const snap *s;
    const uint64_t *full; /* the points in full (ofi_snap_full_points), or NULL: kept bits */
    size_t bucket;        /* compact, kept bits: the bucket of the last point read */
} point_cursor;

/* Value of point @p i in any order: its bucket by binary search over the bucket starts. */
static uint64_t value_at(const snap *s, size_t i)
{
    if (!s->compact)
        return s->points[i];
    size_t lo = 0, hi = ((size_t)1 << (64 - s->shift)); /* bucket count */
    while (hi - lo > 1) { /* the last bucket whose first point is <= i */
        size_t mid = lo + (hi - lo) / 2;
        if (s->cbucket[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return snap_cvalue(s, lo, i);
}

/* Value of point @p i, for ascending i (the cursor only moves forward through the buckets). */
static uint64_t next_value(point_cursor *c, size_t i)
{
    const snap *s = c->s;
    if (c->full)
        return c->full[i];
    if (!s->compact)
        return s->points[i];
    while (s->cbucket[c->bucket + 1] <= i)
        c->bucket++;
    return snap_cvalue(s, c->bucket, i);
}

/* Value of point @p i in any order. */
static uint64_t cursor_value_at(const point_cursor *c, size_t i)
{
    return c->full ? c->full[i] : value_at(c->s, i);
}

/* Compact layout: index of the first point whose kept bits are >= @p h's. A lookup resolves an
 * equal suffix by rehashing the owners' points (ofi_snap_ctie); a node's own points always tie
 * with themselves, and the kept bits are all that arc lengths use here anyway. */
static size_t kept_lower_bound(const snap *s, uint64_t h)
{
    size_t bk = (size_t)(h >> s->shift);
    size_t i = s->cbucket[bk], hi = s->cbucket[bk + 1];
    uint32_t key = snap_csuffix(s, h);
    while (i < hi && ((uint32_t)s->chi[i] << 16 | s->clo[i]) < key)
        i++;
    return i;
}

/* True when all of @p s's hash space belongs to one point's owner: one node, or every point equal
 * (callers then read no arc lengths). */
static bool one_owner_of(const point_cursor *c)
{
    const snap *s = c->s;
    return s->node_count == 1 || cursor_value_at(c, 0) == cursor_value_at(c, s->point_count - 1);
}

static bool one_owner(const snap *s)
{
    point_cursor c = {s, NULL, 0};
    return one_owner_of(&c);
}

/* The hash space each node of @p s owns (pins not counted), as of_ring_ownership() computes it
 * for one node: point i owns (points[i-1], points[i]], the first point wrapping from the last;
 * the second of equal points owns nothing; with all points equal the first owner takes all. */
static void node_arcs(const snap *s, arc *sums)
{
    memset(sums, 0, s->node_count * sizeof *sums);
    if (s->node_count == 0)
        return;
    size_t P = s->point_count;
    if (one_owner(s)) {
        sums[s->node_count == 1 ? 0 : snap_owner_at(s, 0)] = whole_space(s);
        return;
    }
    uint64_t mask = s->hash_bits == 64 ? UINT64_MAX : (((uint64_t)1 << s->hash_bits) - 1);
    uint64_t prev = value_at(s, P - 1);
    point_cursor c = {s, NULL, 0};
    for (size_t i = 0; i < P; i++) {
        uint64_t v = next_value(&c, i);
        arc_add(&sums[snap_owner_at(s, i)], (v - prev) & mask);
        prev = v;
    }
}

/* The hash space node @p idx of @p s owns: node_arcs() for one node, from the kept bits or from
 * the points in full (@p full, or NULL). */
static arc node_arc_scan(const snap *s, uint32_t idx, const uint64_t *full)
{
    size_t P = s->point_count;
    point_cursor c = {s, full, 0};
    if (one_owner_of(&c))
        return (s->node_count == 1 || snap_owner_at(s, 0) == idx) ? whole_space(s) : (arc){0, 0};
    uint64_t mask = s->hash_bits == 64 ? UINT64_MAX : (((uint64_t)1 << s->hash_bits) - 1);
    arc a = {0, 0};
    uint64_t prev = cursor_value_at(&c, P - 1);
    for (size_t i = 0; i < P; i++) {
        uint64_t v = next_value(&c, i);
        if (snap_owner_at(s, i) == idx)
            arc_add(&a, (v - prev) & mask);
        prev = v;
    }
    return a;
}

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

/* node_arc_scan() from the node's own points: each is found through the bucket index, so the cost
 * follows the node's points, not the ring's (a 1024-point node in a 10^6-point ring: about a
 * thousandth of the scan). Falls back to the scan when the node holds a large part of the ring or
 * its points cannot be allocated. */
static arc node_arc(const snap *s, uint32_t idx)
{
    const snap_node *nd = &s->nodes[idx];
    size_t P = s->point_count, k = nd->point_count;
    uint64_t *pts;
    if (one_owner(s) || k > P / 16 || !(pts = malloc(k * sizeof *pts)))
        return node_arc_scan(s, idx, NULL);
    s->algo->points(s, nd, pts);
    qsort(pts, k, sizeof *pts, u64_cmp);
    uint64_t mask = s->hash_bits == 64 ? UINT64_MAX : (((uint64_t)1 << s->hash_bits) - 1);
    arc a = {0, 0};
    size_t i = 0;
    for (size_t j = 0; j < k; j++) {
        if (j > 0 && pts[j] == pts[j - 1])
            continue; /* the node's second equal point owns nothing */
        if (!s->compact)
            i = snap_point(s, pts[j]);
        else if (j == 0 || (pts[j] & snap_cmask(s)) != (pts[j - 1] & snap_cmask(s)))
            i = kept_lower_bound(s, pts[j]);
        else
            i++; /* same kept bits as the node's previous point: its entry comes after that one */
        while (snap_owner_at(s, i) != idx) /* equal points of other nodes ordered before it */
            i++;
        /* The node's own point in full; its predecessor as the layout keeps it. */
        uint64_t here = s->compact ? pts[j] & snap_cmask(s) : pts[j];
        arc_add(&a, (here - value_at(s, i ? i - 1 : P - 1)) & mask);
    }
    free(pts);
    return a;
}

/* of_ring_ownership(): node @p idx's share, exact (from ofi_snap_full_points; the arcs sum in two
 * words, the whole space being 2^hash_bits). */
int ofi_ring_exact_share(const snap *s, uint32_t idx, double *out_share)
{
    const uint64_t *points;
    const uint32_t *owners;
    void *to_free;
    if (s->node_count == 1) {
        *out_share = 1.0;
        return OF_OK;
    }
    int rc = ofi_snap_full_points(s, &points, &owners, &to_free);
    if (rc != OF_OK)
        return rc;
    *out_share = arc_share(s, node_arc_scan(s, idx, points));
    free(to_free);
    return OF_OK;
}

static arc *alloc_arcs(const snap *s)
{
    return malloc((s->node_count ? s->node_count : 1) * sizeof(arc));
}

/* ---------------------------------------------------------------------------------------------
 * The writer's side
 * ------------------------------------------------------------------------------------------- */

/* Arc of the node with this id in @p s (from @p sums), zero if absent. */
static arc arc_of(const snap *s, const arc *sums, const node_in *nd)
{
    long i = sums ? ofi_snap_find_node(s, nd->id, nd->id_len) : -1;
    return i >= 0 ? sums[i] : (arc){0, 0};
}

/* Incremental placement (native): the nodes that stay keep their points, so every key that
 * changes owner moves to or from a changed node, and between a changed node and one that
 * stayed (added nodes were absent before, removed ones are absent after; a reweighted node's
 * old points are a prefix of its new ones). The moved space is then the sum over the changed
 * nodes of how much each one's arcs grew or shrank: one pass over each snapshot's owners,
 * instead of a walk of both point sets (of_ring_diff() costs several builds on a large ring). */
static int moved_incremental(const snap *old, const snap *s, const ring_change *c, arc *out)
{
    if (c->count == 1) {
        const node_in *nd = &c->nodes[0];
        long i = ofi_snap_find_node(old, nd->id, nd->id_len);
        long j = ofi_snap_find_node(s, nd->id, nd->id_len);
        *out = arc_absdiff(i >= 0 ? node_arc(old, (uint32_t)i) : (arc){0, 0},
                           j >= 0 ? node_arc(s, (uint32_t)j) : (arc){0, 0});
        return OF_OK;
    }
    arc *a = NULL, *b = NULL;
    if (c->kind != RING_CHANGE_ADD && !(a = alloc_arcs(old)))
        return ofi_fail_plain(OF_ERR_NOMEM);
    if (c->kind != RING_CHANGE_REMOVE && !(b = alloc_arcs(s))) {
        free(a);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    if (a)
        node_arcs(old, a);
    if (b)
        node_arcs(s, b);
    arc total = {0, 0};
    for (size_t i = 0; i < c->count; i++) {
        arc d = arc_absdiff(arc_of(old, a, &c->nodes[i]), arc_of(s, b, &c->nodes[i]));
        arc_add(&total, d.lo);
        total.hi += d.hi;
    }
    free(a);
    free(b);
    *out = total;
    return OF_OK;
}

static int add_range(void *ctx, const of_ring_range *r)
{
    arc_add(ctx, r->last - r->first);
    arc_add(ctx, 1);
    return 0;
}

int ofi_ring_note_change(const snap *old, snap *s, const ring_change *c)
{
    snap_changes ch = old->changes;
    if (c->kind == RING_CHANGE_NONE) {
        s->changes = ch;
        return OF_OK;
    }
    arc moved = {0, 0};
    int rc;
    if (s->algo->incremental) {
        rc = moved_incremental(old, s, c, &moved);
    } else {
        /* Ketama: a change moves every server's points, so the ranges are walked (small rings:
         * 160 points per server). */
        rc = of_ring_diff((const of_ring_view *)old, (const of_ring_view *)s, add_range, NULL,
                          &moved);
    }
    if (rc != OF_OK)
        return rc;
    if (c->kind == RING_CHANGE_ADD)
        ch.added += c->count;
    else if (c->kind == RING_CHANGE_REMOVE)
        ch.removed += c->count;
    else
        ch.reweighted += c->count;
    ch.last_generation = s->generation;
    ch.last_moved = arc_share(s, moved);
    s->changes = ch;
    return OF_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The reader's side
 * ------------------------------------------------------------------------------------------- */

/* The first released layout of of_ring_stats ends after `last_moved_share` (ring.h). */
#define STATS_V1_SIZE (offsetof(of_ring_stats, last_moved_share) + sizeof(double))

/* Every figure of @p s, into @p out (in full). */
static int snap_stats(const snap *s, of_ring_stats *out)
{
    of_ring_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    st.algorithm = s->algorithm;
    st.generation = s->generation;
    st.fingerprint = s->fingerprint;
    st.nodes = s->node_count;
    st.points = s->point_count;
    st.pins = s->pin_count;
    st.memory_bytes = s->bytes;
    st.nodes_added = s->changes.added;
    st.nodes_removed = s->changes.removed;
    st.weight_changes = s->changes.reweighted;
    st.last_change_generation = s->changes.last_generation;
    st.last_moved_share = s->changes.last_moved;
    if (s->node_count > 0) {
        arc *sums = alloc_arcs(s);
        if (!sums)
            return ofi_fail_plain(OF_ERR_NOMEM);
        node_arcs(s, sums);
        /* A node's fair share follows its weight as the placement reads it: weight 0 (ketama)
         * counts as 1, and unweighted ketama gives every server the same points. */
        const bool weighted = !(s->flags & OF_RING_KETAMA_UNWEIGHTED);
        double total_weight = 0;
        for (size_t i = 0; i < s->node_count; i++)
            total_weight += weighted && s->nodes[i].weight ? s->nodes[i].weight : 1;
        st.node_points_min = UINT64_MAX;
        for (size_t i = 0; i < s->node_count; i++) {
            const snap_node *nd = &s->nodes[i];
            uint64_t pc = nd->point_count;
            if (pc < st.node_points_min)
                st.node_points_min = pc;
            if (pc > st.node_points_max)
                st.node_points_max = pc;
            double share = arc_share(s, sums[i]);
            double fair = (weighted && nd->weight ? nd->weight : 1) / total_weight;
            if (share > st.busiest_share)
                st.busiest_share = share;
            if (share / fair > st.busiest_ratio)
                st.busiest_ratio = share / fair;
        }
        free(sums);
        st.mean_share = 1.0 / (double)s->node_count;
    }
    *out = st;
    return OF_OK;
}

/* The figures of the ring's current snapshot, read on a view of it. */
static int ring_stats(const of_ring *ring, of_ring_stats *out)
{
    of_ring_view *v = NULL;
    int rc = of_ring_view_take(ring, &v);
    if (rc == OF_OK)
        rc = snap_stats((const snap *)v, out);
    of_ring_view_release(v);
    return rc;
}

OF_API int of_ring_get_stats(const of_ring *ring, of_ring_stats *out_stats)
{
    if (!ring || !out_stats)
        return ofi_fail(OF_ERR_INVALID, "of_ring_get_stats: %s is NULL",
                        ring ? "out_stats" : "ring");
    const uint32_t size = out_stats->struct_size;
    if (size < STATS_V1_SIZE || size > sizeof(of_ring_stats))
        return ofi_fail(OF_ERR_ABI, "of_ring_stats struct_size %u: this library knows %zu to %zu",
                        (unsigned)size, (size_t)STATS_V1_SIZE, sizeof(of_ring_stats));
    /* Filled in full, then copied up to the caller's size: an older caller's struct ends
     * earlier, and nothing past it is written. */
    of_ring_stats full;
    int rc = ring_stats(ring, &full);
    if (rc != OF_OK)
        return rc;
    full.struct_size = size;
    memcpy(out_stats, &full, size);
    return OF_OK;
}

OF_API size_t of_ring_stats_size(void)
{
    return sizeof(of_ring_stats);
}

/* Labels the exposition adds itself; a caller's constant label may not reuse them. */
static const char *const reserved_labels[] = {"change", "algorithm", "fingerprint", NULL};

static int write_metrics(const of_ring *ring, int format, const char *prefix,
                         const char *const *labels, char *buf, size_t cap, of_metrics_write_fn fn,
                         void *ctx, size_t *out_len)
{
    of_ring_stats st;
    int rc = ring_stats(ring, &st);
    if (rc != OF_OK)
        return rc;
    char fp[24];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)st.fingerprint);
    const char *algorithm = st.algorithm != OF_RING_KETAMA            ? "native"
                            : ring->flags & OF_RING_KETAMA_UNWEIGHTED ? "ketama_unweighted"
                                                                      : "ketama";
    const char *const info[] = {"algorithm", algorithm, "fingerprint", fp, NULL};
    ofi_metrics m;
    ofi_metrics_begin(&m, format, prefix, labels, NULL, NULL, buf, cap, fn, ctx);
    ofi_metrics_family(&m, "ring_info", "gauge",
                       "Placement algorithm and membership fingerprint (equal on every process "
                       "with the same membership); the value is 1.");
    ofi_metrics_sample_labels(&m, info, 1);
#define GAUGE(name, help, v) \
    (ofi_metrics_family(&m, name, "gauge", help), ofi_metrics_sample(&m, NULL, NULL, v))
#define GAUGE_D(name, help, v) \
    (ofi_metrics_family(&m, name, "gauge", help), ofi_metrics_sample_double(&m, NULL, NULL, v))
    GAUGE("ring_generation", "Ring generation: +1 on every successful change.", st.generation);
    GAUGE("ring_nodes", "Nodes in the ring.", st.nodes);
    GAUGE("ring_points", "Points (virtual nodes) in the ring.", st.points);
    GAUGE("ring_node_points_min", "Fewest points of one node.", st.node_points_min);
    GAUGE("ring_node_points_max", "Most points of one node.", st.node_points_max);
    GAUGE("ring_pins", "Keys pinned to a node.", st.pins);
    GAUGE_D("ring_ownership_busiest_share",
            "Largest share of the hash space one node owns (exact, pins not counted).",
            st.busiest_share);
    GAUGE_D("ring_ownership_mean_share", "Mean share of the hash space per node (1/nodes).",
            st.mean_share);
    GAUGE_D("ring_ownership_busiest_ratio",
            "Largest ratio of a node's share to its weight's share of the total weight (equal "
            "weights: busiest over mean; 1 is perfect balance).",
            st.busiest_ratio);
    GAUGE("ring_memory_bytes", "Bytes the current snapshot uses.", st.memory_bytes);
    ofi_metrics_family(&m, "ring_membership_changes_total", "counter",
                       "Membership changes since creation: nodes added, removed, weights set.");
    ofi_metrics_sample(&m, "change", "add", st.nodes_added);
    ofi_metrics_sample(&m, "change", "remove", st.nodes_removed);
    ofi_metrics_sample(&m, "change", "weight", st.weight_changes);
    GAUGE("ring_last_change_generation",
          "Generation of the last membership change (0: none yet).", st.last_change_generation);
    GAUGE_D("ring_last_change_moved_share",
            "Share of the hash space whose owner changed at the last membership change.",
            st.last_moved_share);
#undef GAUGE
#undef GAUGE_D
    return ofi_metrics_end(&m, out_len);
}

OF_API int of_ring_metrics(const of_ring *ring, int format, const char *prefix,
                           const char *const *labels, char *buf, size_t cap, size_t *out_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "of_ring_metrics: ring is NULL");
    if (!buf && cap)
        return ofi_fail(OF_ERR_INVALID, "of_ring_metrics: buf is NULL with cap %zu", cap);
    int rc = ofi_metrics_check_reserved("of_ring_metrics", format, prefix, labels,
                                        reserved_labels);
    if (rc != OF_OK)
        return rc;
    return write_metrics(ring, format, prefix, labels, buf, cap, NULL, NULL, out_len);
}

OF_API int of_ring_metrics_write(const of_ring *ring, int format, const char *prefix,
                                 const char *const *labels, of_metrics_write_fn write, void *ctx)
{
    if (!ring || !write)
        return ofi_fail(OF_ERR_INVALID, "of_ring_metrics_write: %s is NULL",
                        ring ? "write" : "ring");
    int rc = ofi_metrics_check_reserved("of_ring_metrics_write", format, prefix, labels,
                                        reserved_labels);
    if (rc != OF_OK)
        return rc;
    return write_metrics(ring, format, prefix, labels, NULL, 0, write, ctx, NULL);
}
