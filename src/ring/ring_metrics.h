/* The writer's side of the ring's metrics: what a membership change leaves in the snapshot it
 * publishes (counters carried forward, the share of the hash space that changed owner). The
 * reader's side is of_ring_get_stats() and the exposition, in metrics.c. */
#ifndef OPENFAULT_SRC_RING_RING_METRICS_H
#define OPENFAULT_SRC_RING_RING_METRICS_H

#include "ring/ring_internal.h"

typedef enum ring_change_kind {
    RING_CHANGE_NONE = 0, /* pins: counters carried, nothing moved in the hash space */
    RING_CHANGE_ADD,
    RING_CHANGE_REMOVE,
    RING_CHANGE_WEIGHT
} ring_change_kind;

typedef struct ring_change {
    ring_change_kind kind;
    const node_in *nodes; /* the nodes added, removed or given a new weight (their ids) */
    size_t count;
} ring_change;

/* Writer lock held; @p s was built from @p old and is not yet published: fill s->changes.
 * OF_OK, or OF_ERR_NOMEM (the caller then drops @p s and the ring stays as it was). */
int ofi_ring_note_change(const snap *old, snap *s, const ring_change *c);

/* Node @p idx's exact share of the hash space (pins not counted), for of_ring_ownership(): the
 * same arc walk as the metrics, over the points in full. OF_OK or OF_ERR_NOMEM. */
int ofi_ring_exact_share(const snap *s, uint32_t idx, double *out_share);

#endif
