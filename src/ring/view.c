/* Views (a snapshot held for the caller) and the diff of two views. */
#include "ring/ring_internal.h"

#include <stdlib.h>

#include "common/error.h"

/* ---------------------------------------------------------------------------------------------
 * Views and diff
 * ------------------------------------------------------------------------------------------- */

OF_API int of_ring_view_take(const of_ring *ring, of_ring_view **out_view)
{
    if (!ring || !out_view)
        return ofi_fail(OF_ERR_INVALID, "NULL ring or out_view");
    read_guard g;
    snap *s = read_begin_leaf(ring, &g);
    atomic_fetch_add(&s->refs, 1);
    read_end(&g);
    *out_view = (of_ring_view *)s;
    return OF_OK;
}

OF_API void of_ring_view_release(of_ring_view *view)
{
    ofi_snap_unref((snap *)view);
}

OF_API uint64_t of_ring_view_generation(const of_ring_view *view)
{
    return view ? ((const snap *)view)->generation : 0;
}

OF_API uint64_t of_ring_view_fingerprint(const of_ring_view *view)
{
    return view ? ((const snap *)view)->fingerprint : 0;
}

typedef struct diff_state {
    const snap *a, *b;
    const uint64_t *pa_points, *pb_points; /* in full (ofi_snap_full_points) */
    const uint32_t *pa_owners, *pb_owners;
    of_ring_range_fn fn;
    void *ctx;
    bool have;
    of_ring_range pending;
    const snap_node *pa, *pb;
} diff_state;

static bool same_node(const snap_node *x, const snap_node *y)
{
    if (!x || !y)
        return x == y;
    return ofi_ident_cmp(OFI_NODE_IDENT(x), OFI_NODE_IDENT(y)) == 0;
}

static int diff_flush(diff_state *d)
{
    if (!d->have)
        return 0;
    d->have = false;
    return d->fn ? d->fn(d->ctx, &d->pending) : 0;
}

/* Range [first, last] owned by @p na in the old view and @p nb in the new one. */
static int diff_emit(diff_state *d, uint64_t first, uint64_t last, const snap_node *na,
                     const snap_node *nb)
{
    if (same_node(na, nb))
        return diff_flush(d);
    if (d->have && d->pa == na && d->pb == nb && d->pending.last + 1 == first) {
        d->pending.last = last;
        return 0;
    }
    int rc = diff_flush(d);
    if (rc)
        return rc;
    d->have = true;
    d->pa = na;
    d->pb = nb;
    d->pending = (of_ring_range){first, last,
                                 na ? na->id : NULL, na ? na->id_len : 0, na ? na->tag : 0,
                                 nb ? nb->id : NULL, nb ? nb->id_len : 0, nb ? nb->tag : 0};
    return 0;
}

/* Owner node of the arc ending at the first point >= v (wrapping), or NULL for an empty view. */
static const snap_node *owner_at(const snap *s, const uint32_t *owners, size_t i)
{
    if (s->node_count == 0)
        return NULL;
    if (s->node_count == 1 || s->point_count == 0)
        return &s->nodes[0];
    return &s->nodes[owners[i == s->point_count ? 0 : i]];
}

static int diff_ranges(diff_state *d)
{
    const snap *a = d->a, *b = d->b;
    const uint64_t *ap = d->pa_points, *bp = d->pb_points;
    uint64_t max = a->hash_bits == 64 ? UINT64_MAX : (((uint64_t)1 << a->hash_bits) - 1);
    /* Single-node and empty views own the whole space with no boundaries. */
    size_t na = a->node_count > 1 ? a->point_count : 0;
    size_t nb = b->node_count > 1 ? b->point_count : 0;
    size_t i = 0, j = 0;
    uint64_t start = 0;
    int rc;
    /* Walk the union of boundaries ascending; segment (prev, v] belongs to the first point >= v. */
    while (i < na || j < nb) {
        uint64_t v;
        if (j >= nb || (i < na && ap[i] <= bp[j]))
            v = ap[i];
        else
            v = bp[j];
        rc = diff_emit(d, start, v, owner_at(a, d->pa_owners, na ? i : 0),
                       owner_at(b, d->pb_owners, nb ? j : 0));
        if (rc)
            return rc;
        while (i < na && ap[i] == v)
            i++;
        while (j < nb && bp[j] == v)
            j++;
        if (v == max)
            return diff_flush(d);
        start = v + 1;
    }
    /* Tail past the last boundary wraps to the first point of each view. */
    rc = diff_emit(d, start, max, owner_at(a, d->pa_owners, 0), owner_at(b, d->pb_owners, 0));
    if (rc)
        return rc;
    return diff_flush(d);
}

OF_API int of_ring_diff(const of_ring_view *old_view, const of_ring_view *new_view,
                        of_ring_range_fn range_fn, of_ring_pin_fn pin_fn, void *ctx)
{
    if (!old_view || !new_view)
        return ofi_fail(OF_ERR_INVALID, "NULL view");
    const snap *a = (const snap *)old_view, *b = (const snap *)new_view;
    /* algo, not algorithm: weighted and unweighted ketama hash keys differently. */
    if (a->algo != b->algo || a->seed != b->seed)
        return ofi_fail(OF_ERR_INVALID, "views of rings with different algorithm or seed");
    diff_state d = {a, b, NULL, NULL, NULL, NULL, range_fn, ctx, false, {0}, NULL, NULL};
    void *free_a = NULL, *free_b = NULL;
    int rc = ofi_snap_full_points(a, &d.pa_points, &d.pa_owners, &free_a);
    if (rc == OF_OK)
        rc = ofi_snap_full_points(b, &d.pb_points, &d.pb_owners, &free_b);
    if (rc == OF_OK)
        rc = diff_ranges(&d);
    free(free_a);
    free(free_b);
    if (rc)
        return rc;
    size_t i = 0, j = 0;
    while (i < a->pin_count || j < b->pin_count) {
        of_ring_pin_change ch = {0};
        const snap_node *x = NULL, *y = NULL;
        if (j >= b->pin_count || (i < a->pin_count && a->pin_hash[i] < b->pin_hash[j])) {
            ch.hash = a->pin_hash[i];
            x = &a->nodes[a->pin_node[i++]];
        } else if (i >= a->pin_count || b->pin_hash[j] < a->pin_hash[i]) {
            ch.hash = b->pin_hash[j];
            y = &b->nodes[b->pin_node[j++]];
        } else {
            ch.hash = a->pin_hash[i];
            x = &a->nodes[a->pin_node[i++]];
            y = &b->nodes[b->pin_node[j++]];
        }
        if (same_node(x, y))
            continue;
        ch.old_id = x ? x->id : NULL;
        ch.old_id_len = x ? x->id_len : 0;
        ch.new_id = y ? y->id : NULL;
        ch.new_id_len = y ? y->id_len : 0;
        if (pin_fn && (rc = pin_fn(ctx, &ch)) != 0)
            return rc;
    }
    return OF_OK;
}

