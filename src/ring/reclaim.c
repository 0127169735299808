/* Reader protection and reclamation: retired snapshots freed once no reader can hold them, their
 * big arrays kept for the next build. */
#include "ring/ring_internal.h"

#include <stdlib.h>

#include "common/error.h"

_Atomic unsigned ofi_ring_next_stripe;
_Thread_local unsigned ofi_ring_my_stripe RING_TLS_MODEL;

void ofi_snap_free(snap *s)
{
    if (!s)
        return;
    free(s->nodes);
    free(s->id_blob);
    free(s->points);
    free(s->owners);
    free(s->buckets);
    free(s->pin_hash);
    free(s->pin_node);
    free(s);
}

void ofi_snap_unref(snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        ofi_snap_free(s);
}

void ofi_snap_free_list(snap *s)
{
    while (s) {
        snap *next = s->next_retired;
        ofi_snap_unref(s);
        s = next;
    }
}

/* Writer lock held (or destroy): free a reclaimed snapshot, keeping its big arrays as spares. */
static void recycle(of_ring *ring, snap *s)
{
    if (s->points && s->points_cap > ring->spare_pcap) {
        free(ring->spare_points);
        free(ring->spare_owners);
        ring->spare_points = s->points;
        ring->spare_owners = s->owners;
        ring->spare_pcap = s->points_cap;
        s->points = NULL;
        s->owners = NULL;
    }
    if (s->buckets && s->buckets_cap > ring->spare_bcap) {
        free(ring->spare_buckets);
        ring->spare_buckets = s->buckets;
        ring->spare_bcap = s->buckets_cap;
        s->buckets = NULL;
    }
    ofi_snap_free(s);
}

static void reclaim_list(of_ring *ring, snap *s)
{
    while (s) {
        snap *next = s->next_retired;
        if (atomic_fetch_sub(&s->refs, 1) == 1)
            recycle(ring, s);
        s = next;
    }
}

/* Arrays for @p P points: the spares when they fit (and are not far too big), else new ones
 * with 1/8 slack so that the next growth by a node usually fits a spare. */
int ofi_ring_alloc_points(of_ring *ring, snap *s, size_t P)
{
    if (ring && ring->spare_points && ring->spare_pcap >= P && ring->spare_pcap <= 2 * P + 4096) {
        s->points = ring->spare_points;
        s->owners = ring->spare_owners;
        s->points_cap = ring->spare_pcap;
        ring->spare_points = NULL;
        ring->spare_owners = NULL;
        ring->spare_pcap = 0;
        return OF_OK;
    }
    size_t cap = P + P / 8;
    s->points = malloc(cap * sizeof *s->points);
    s->owners = malloc(cap * sizeof *s->owners);
    s->points_cap = cap;
    return s->points && s->owners ? OF_OK : OF_ERR_NOMEM;
}

int ofi_ring_alloc_buckets(of_ring *ring, snap *s, size_t n)
{
    if (ring && ring->spare_buckets && ring->spare_bcap >= n && ring->spare_bcap <= 2 * n + 4096) {
        s->buckets = ring->spare_buckets;
        s->buckets_cap = ring->spare_bcap;
        ring->spare_buckets = NULL;
        ring->spare_bcap = 0;
        return OF_OK;
    }
    size_t cap = n + n / 8;
    s->buckets = malloc(cap * sizeof *s->buckets);
    s->buckets_cap = cap;
    return s->buckets ? OF_OK : OF_ERR_NOMEM;
}

static bool parity_idle(of_ring *ring, unsigned parity)
{
    for (size_t i = 0; i < RING_STRIPES; i++)
        if (atomic_load(&ring->stripes[i].count[parity]) != 0)
            return false;
    return true;
}

/* Writer lock held. */
static void reclaim(of_ring *ring)
{
    for (int round = 0; round < 2 && (ring->retired_cur || ring->retired_prev); round++) {
        unsigned e = atomic_load(&ring->epoch) & 1u;
        if (!parity_idle(ring, e ^ 1u))
            return;
        reclaim_list(ring, ring->retired_prev);
        ring->retired_prev = ring->retired_cur;
        ring->retired_cur = NULL;
        atomic_store(&ring->epoch, e ^ 1u);
    }
}

/* Writer lock held: ofi_ring_publish @p s and retire the old snapshot. */
void ofi_ring_publish(of_ring *ring, snap *s)
{
    snap *old = atomic_load(&ring->current);
    atomic_store(&ring->current, s);
    old->next_retired = ring->retired_cur;
    ring->retired_cur = old;
    reclaim(ring);
}
