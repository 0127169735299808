/* Consistent-hash ring: immutable snapshots published atomically, reclaimed with striped
 * two-parity reader counters (see "Reader protection" below), point search through the bisect
 * kernel over a bucket index on the top bits of the hash. */
#include <openfault/ring.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bisect/search.h"
#include "common/error.h"
#include "common/hash.h"
#include "ring/ketama.h"

#define RING_CACHE_LINE 64
#define RING_STRIPES 64

/* ---------------------------------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------------------------------- */

typedef struct snap_node {
    const uint8_t *id;  /* into the snapshot's id blob */
    uint32_t id_len;
    uint32_t weight;    /* as given */
    uint64_t tag;
    uint32_t host_off;  /* ketama: host bytes inside id, and port */
    uint32_t host_len;
    uint32_t port;
    uint32_t point_count;
} snap_node;

typedef struct snap {
    _Atomic size_t refs;        /* 1 for the ring (until reclaimed) + 1 per view */
    struct snap *next_retired;
    uint64_t generation;
    uint64_t fingerprint;
    uint64_t seed;
    uint32_t algorithm;
    uint32_t flags;
    uint32_t vnodes;
    uint32_t shift;             /* bucket of hash h = h >> shift */
    uint32_t hash_bits;         /* 64 native, 32 ketama */
    size_t node_count;
    snap_node *nodes;           /* native: id order; ketama: server index order */
    uint8_t *id_blob;
    size_t point_count;
    size_t points_cap;          /* allocated length of points and owners */
    size_t buckets_cap;         /* allocated length of buckets */
    uint64_t *points;           /* ascending; ties in node order */
    uint32_t *owners;           /* node index of each point */
    uint64_t *buckets;          /* 2^bits + 1 entries: start offset into points (low 32 bits)
                                   and the owner of that point, wrapping (high 32 bits) */
    size_t pin_count;
    uint64_t *pin_hash;         /* ascending, unique */
    uint32_t *pin_node;
    size_t bytes;
} snap;

/* An of_ring_view is a snap with a reference held for the caller. */

/* ---------------------------------------------------------------------------------------------
 * The ring
 * ------------------------------------------------------------------------------------------- */

/* One cache line per stripe, aligned, so readers on different stripes never share a line. */
typedef struct ring_stripe {
    _Alignas(RING_CACHE_LINE) _Atomic size_t count[2];
    char pad[RING_CACHE_LINE - 2 * sizeof(size_t)];
} ring_stripe;

struct of_ring {
    /* Read-mostly line: written only by writers. */
    _Alignas(RING_CACHE_LINE) _Atomic(snap *) current;
    _Atomic unsigned epoch;
    uint32_t algorithm, flags, vnodes;
    uint64_t seed;
    /* Written by readers: starts on its own line. */
    ring_stripe stripes[RING_STRIPES];
    /* Writer-only state. */
    _Alignas(RING_CACHE_LINE) pthread_mutex_t wlock;
    snap *retired_cur;  /* unpublished since the last epoch flip */
    snap *retired_prev; /* unpublished before the last epoch flip */
    /* The largest arrays of reclaimed snapshots, reused by the next build: a membership change
     * then neither page-faults fresh memory nor unmaps old memory (whose TLB shootdowns would
     * interrupt the readers' CPUs). */
    uint64_t *spare_points;
    uint32_t *spare_owners;
    size_t spare_pcap;
    uint64_t *spare_buckets;
    size_t spare_bcap;
};

/* ---------------------------------------------------------------------------------------------
 * Reader protection
 *
 * A reader picks its thread's stripe, reads the epoch parity e, increments count[e] of its
 * stripe, re-reads the epoch (retrying if it flipped: the increment must be ordered before any
 * later flip), then loads `current`. A writer publishes a new snapshot, puts the old one on
 * retired_cur, and, when the counters of the parity it would flip to are all zero, frees
 * retired_prev (unpublished before the previous flip: only readers of the other parity could
 * hold them, and those are now gone), moves retired_cur to retired_prev and flips. Readers never
 * wait; writers never wait either (a busy parity just defers freeing to a later write or to
 * destroy). Readers on different threads write different cache lines unless more than
 * RING_STRIPES threads read at once. All operations are seq_cst: the argument is Dekker's.
 * ------------------------------------------------------------------------------------------- */

static _Atomic unsigned ring_next_stripe;
/* initial-exec: a plain %fs-relative load instead of a __tls_get_addr call per lookup. One int
 * fits in the static TLS surplus glibc reserves for libraries loaded with dlopen (FFI users). */
#if defined(__GNUC__)
#define RING_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define RING_TLS_MODEL
#endif
static _Thread_local unsigned ring_my_stripe RING_TLS_MODEL; /* stripe + 1; 0 before first use */

static inline unsigned thread_stripe(void)
{
    unsigned s = ring_my_stripe;
    if (__builtin_expect(s == 0, 0)) {
        s = atomic_fetch_add_explicit(&ring_next_stripe, 1, memory_order_relaxed) % RING_STRIPES +
            1;
        ring_my_stripe = s;
    }
    return s - 1;
}

typedef struct read_guard {
    _Atomic size_t *counter;
} read_guard;

static inline snap *read_begin(const of_ring *cring, read_guard *g)
{
    of_ring *ring = (of_ring *)cring; /* the counters are the only thing a reader writes */
    ring_stripe *st = &ring->stripes[thread_stripe()];
    for (;;) {
        unsigned e = atomic_load(&ring->epoch) & 1u;
        atomic_fetch_add(&st->count[e], 1);
        if (__builtin_expect((atomic_load(&ring->epoch) & 1u) == e, 1)) {
            g->counter = &st->count[e];
            return atomic_load(&ring->current);
        }
        atomic_fetch_sub(&st->count[e], 1);
    }
}

static inline void read_end(read_guard *g)
{
    atomic_fetch_sub(g->counter, 1);
}

static void snap_free(snap *s)
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

static void snap_unref(snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snap_free(s);
}

static void free_list(snap *s)
{
    while (s) {
        snap *next = s->next_retired;
        snap_unref(s);
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
    snap_free(s);
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
static int alloc_points(of_ring *ring, snap *s, size_t P)
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

static int alloc_buckets(of_ring *ring, snap *s, size_t n)
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

/* Writer lock held: publish @p s and retire the old snapshot. */
static void publish(of_ring *ring, snap *s)
{
    snap *old = atomic_load(&ring->current);
    atomic_store(&ring->current, s);
    old->next_retired = ring->retired_cur;
    ring->retired_cur = old;
    reclaim(ring);
}

/* ---------------------------------------------------------------------------------------------
 * Building snapshots
 * ------------------------------------------------------------------------------------------- */

typedef struct node_in {
    const uint8_t *id;
    uint32_t id_len;
    uint32_t weight;
    uint64_t tag;
    uint32_t host_off, host_len, port; /* ketama */
} node_in;

typedef struct pin_in {
    uint64_t hash;
    const uint8_t *id;
    uint32_t id_len;
} pin_in;

static int id_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int node_in_cmp_id(const void *pa, const void *pb)
{
    const node_in *a = pa, *b = pb;
    return id_cmp(a->id, a->id_len, b->id, b->id_len);
}

static int node_in_cmp_host(const node_in *a, const node_in *b)
{
    int c = id_cmp(a->id + a->host_off, a->host_len, b->id + b->host_off, b->host_len);
    if (c)
        return c;
    return a->port < b->port ? -1 : a->port > b->port;
}

static int node_in_qsort_host(const void *pa, const void *pb)
{
    return node_in_cmp_host(pa, pb);
}

/* Sort by host then port. Host and port are unique in a ring (add and add_many refuse a repeat),
 * so the order is total and qsort's instability cannot change the result. */
static void sort_hosts(node_in *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, node_in_qsort_host);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void fp_u32(XXH3_state_t *st, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    XXH3_64bits_update(st, b, 4);
}

static void fp_u64(XXH3_state_t *st, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    XXH3_64bits_update(st, b, 8);
}

/* Find a node of @p s by id: native by binary search over id order; ketama by host and port. */
static long snap_find_node(const snap *s, const uint8_t *id, size_t id_len)
{
    if (s->algorithm == OF_RING_KETAMA) {
        size_t off, hlen;
        uint32_t port;
        if (ofi_ketama_parse(id, id_len, &off, &hlen, &port) != OF_OK)
            return -1;
        for (size_t i = 0; i < s->node_count; i++) {
            const snap_node *nd = &s->nodes[i];
            if (nd->port == port && nd->host_len == hlen &&
                memcmp(nd->id + nd->host_off, id + off, hlen) == 0)
                return (long)i;
        }
        return -1;
    }
    size_t lo = 0, hi = s->node_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = id_cmp(s->nodes[mid].id, s->nodes[mid].id_len, id, id_len);
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
static int fresh_points_into(const of_ring *ring, const snap *s, const bool *fresh, size_t count,
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
    uint8_t buf[OF_NAME_MAX + 4];
    for (size_t i = 0; i < s->node_count; i++) {
        const snap_node *nd = &s->nodes[i];
        if (fresh && !fresh[i])
            continue;
        if (s->algorithm == OF_RING_KETAMA) {
            for (uint32_t d = 0; d < nd->point_count / 4; d++) {
                uint32_t p4[4];
                ofi_ketama_points(nd->id + nd->host_off, nd->host_len, nd->port, d, p4);
                for (int x = 0; x < 4; x++) {
                    tmp_p[k] = p4[x];
                    tmp_o[k++] = (uint32_t)i;
                }
            }
        } else {
            memcpy(buf, nd->id, nd->id_len);
            for (uint32_t j = 0; j < nd->point_count; j++) {
                put_le32(buf + nd->id_len, j);
                tmp_p[k] = ofi_hash64(buf, nd->id_len + 4, ring->seed);
                tmp_o[k++] = (uint32_t)i;
            }
        }
    }
    int rc = sort_points(tmp_p, tmp_o, k, s->hash_bits, out_p, out_o);
    free(tmp_p);
    free(tmp_o);
    return rc;
}

static int fresh_points(const of_ring *ring, snap *s, const bool *fresh)
{
    return fresh_points_into(ring, s, fresh, s->point_count, s->points, s->owners);
}

/* Native mode with a previous snapshot: nodes whose id and weight are unchanged keep their
 * (already sorted) points, renumbered; only new or re-weighted nodes are hashed, and the two
 * sorted runs are merged by (point, node index). A membership change then costs one pass over
 * the points instead of hashing and sorting all of them. */
static int merge_points(of_ring *ring, snap *s, const snap *base)
{
    uint32_t *old_to_new = malloc((base->node_count ? base->node_count : 1) * sizeof *old_to_new);
    bool *fresh = calloc(s->node_count ? s->node_count : 1, sizeof *fresh);
    uint64_t *fp = NULL;
    uint32_t *fo = NULL;
    int rc = OF_ERR_NOMEM;
    if (!old_to_new || !fresh)
        goto out;
    size_t fresh_count = 0;
    size_t j = 0;
    for (size_t i = 0; i < base->node_count; i++)
        old_to_new[i] = UINT32_MAX;
    for (size_t i = 0; i < s->node_count; i++) {
        const snap_node *nd = &s->nodes[i];
        int c = 1;
        while (j < base->node_count &&
               (c = id_cmp(base->nodes[j].id, base->nodes[j].id_len, nd->id, nd->id_len)) < 0)
            j++;
        if (j < base->node_count && c == 0 && base->nodes[j].point_count == nd->point_count) {
            old_to_new[j] = (uint32_t)i;
        } else {
            fresh[i] = true;
            fresh_count += nd->point_count;
        }
    }
    fp = malloc((fresh_count ? fresh_count : 1) * sizeof *fp);
    fo = malloc((fresh_count ? fresh_count : 1) * sizeof *fo);
    if (!fp || !fo)
        goto out;
    rc = fresh_points_into(ring, s, fresh, fresh_count, fp, fo);
    if (rc != OF_OK)
        goto out;
    size_t a = 0, b = 0, k = 0;
    const uint64_t *bp = base->points;
    const uint32_t *bo = base->owners;
    for (;;) {
        while (a < base->point_count && old_to_new[bo[a]] == UINT32_MAX)
            a++;
        if (a == base->point_count)
            break;
        uint64_t v = bp[a];
        uint32_t o = old_to_new[bo[a]];
        while (b < fresh_count && (fp[b] < v || (fp[b] == v && fo[b] < o))) {
            s->points[k] = fp[b];
            s->owners[k++] = fo[b++];
        }
        s->points[k] = v;
        s->owners[k++] = o;
        a++;
    }
    for (; b < fresh_count; b++) {
        s->points[k] = fp[b];
        s->owners[k++] = fo[b];
    }
    rc = k == s->point_count ? OF_OK : OF_ERR_INVALID; /* cannot differ: counts agree */
out:
    free(old_to_new);
    free(fresh);
    free(fp);
    free(fo);
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
    size_t nb = (size_t)1 << bits;
    if (alloc_buckets(ring, s, nb + 1) != OF_OK)
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

/* Build a snapshot from @p nodes (reordered in place) and @p pins (reordered; pins whose node is
 * absent are dropped). The caller has validated ids, weights and point limits. */
static int snap_build(of_ring *ring, const snap *base, node_in *nodes, size_t n,
                      pin_in *pins, size_t npins, uint64_t generation, snap **out)
{
    bool ketama = ring->algorithm == OF_RING_KETAMA;
    snap *s = calloc(1, sizeof *s);
    if (!s)
        return ofi_fail_plain(OF_ERR_NOMEM);
    atomic_init(&s->refs, 1);
    s->generation = generation;
    s->seed = ring->seed;
    s->algorithm = ring->algorithm;
    s->flags = ring->flags;
    s->vnodes = ring->vnodes;
    s->hash_bits = ketama ? 32 : 64;
    s->node_count = n;
    if (!ketama && n > 1)
        qsort(nodes, n, sizeof *nodes, node_in_cmp_id);
    else if (ring->flags & OF_RING_SORT_HOSTS)
        sort_hosts(nodes, n);

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
        nd->host_off = nodes[i].host_off;
        nd->host_len = nodes[i].host_len;
        nd->port = nodes[i].port;
        if (ketama)
            nd->point_count = 4 * ofi_ketama_digests(nd->weight ? nd->weight : 1, total_weight,
                                                     (uint32_t)n);
        else
            nd->point_count = nd->weight * ring->vnodes;
        P += nd->point_count;
    }
    s->point_count = P;

    if (P > 0) {
        if (alloc_points(ring, s, P) != OF_OK)
            goto nomem;
        int prc = base && !ketama ? merge_points(ring, s, base) : fresh_points(ring, s, NULL);
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
            long idx = snap_find_node(s, pins[i].id, pins[i].id_len);
            if (idx < 0)
                continue;
            s->pin_hash[s->pin_count] = pins[i].hash;
            s->pin_node[s->pin_count++] = (uint32_t)idx;
        }
        s->bytes += npins * (sizeof *s->pin_hash + sizeof *s->pin_node);
    }
    s->bytes += sizeof *s + n * sizeof *s->nodes + blob_len;

    /* Fingerprint: options, nodes in canonical order (ketama: host and port, in server order),
     * pins by hash with their node's position. Tags and generation are left out. */
    XXH3_state_t st;
    XXH3_64bits_reset_withSeed(&st, 0);
    XXH3_64bits_update(&st, "openfault-ring-1", 16);
    fp_u32(&st, s->algorithm);
    fp_u32(&st, s->flags);
    if (!ketama) {
        fp_u32(&st, s->vnodes);
        fp_u64(&st, s->seed);
    }
    fp_u64(&st, n);
    for (size_t i = 0; i < n; i++) {
        const snap_node *nd = &s->nodes[i];
        if (ketama) {
            fp_u32(&st, nd->host_len);
            XXH3_64bits_update(&st, nd->id + nd->host_off, nd->host_len);
            fp_u32(&st, nd->port);
            fp_u32(&st, nd->weight ? nd->weight : 1);
        } else {
            fp_u32(&st, nd->id_len);
            XXH3_64bits_update(&st, nd->id, nd->id_len);
            fp_u32(&st, nd->weight);
        }
    }
    fp_u64(&st, s->pin_count);
    for (size_t i = 0; i < s->pin_count; i++) {
        fp_u64(&st, s->pin_hash[i]);
        fp_u32(&st, s->pin_node[i]);
    }
    s->fingerprint = XXH3_64bits_digest(&st);
    *out = s;
    return OF_OK;

nomem:
    snap_free(s);
    return ofi_fail_plain(OF_ERR_NOMEM);
}

/* Copy the nodes and pins of @p s into input arrays (ids point into @p s). */
static int snap_inputs(const snap *s, size_t extra_nodes, size_t extra_pins, node_in **out_nodes,
                       pin_in **out_pins)
{
    node_in *nodes = malloc((s->node_count + extra_nodes + 1) * sizeof *nodes);
    pin_in *pins = malloc((s->pin_count + extra_pins + 1) * sizeof *pins);
    if (!nodes || !pins) {
        free(nodes);
        free(pins);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    for (size_t i = 0; i < s->node_count; i++) {
        const snap_node *nd = &s->nodes[i];
        nodes[i] = (node_in){nd->id, nd->id_len, nd->weight, nd->tag,
                             nd->host_off, nd->host_len, nd->port};
    }
    for (size_t i = 0; i < s->pin_count; i++) {
        const snap_node *nd = &s->nodes[s->pin_node[i]];
        pins[i] = (pin_in){s->pin_hash[i], nd->id, nd->id_len};
    }
    *out_nodes = nodes;
    *out_pins = pins;
    return OF_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

#define OPTIONS_V1_SIZE sizeof(of_ring_options)

OF_API int of_ring_options_init(of_ring_options *opts, size_t struct_size)
{
    if (!opts)
        return ofi_fail(OF_ERR_INVALID, "opts is NULL");
    if (struct_size != OPTIONS_V1_SIZE)
        return ofi_fail(OF_ERR_ABI, "of_ring_options struct_size %zu (this library's is %zu)",
                        struct_size, sizeof(of_ring_options));
    memset(opts, 0, sizeof *opts);
    opts->struct_size = (uint32_t)struct_size;
    opts->algorithm = OF_RING_NATIVE;
    opts->vnodes = OF_RING_DEFAULT_VNODES;
    opts->flags = 0;
    opts->seed = 0;
    return OF_OK;
}

OF_API size_t of_ring_id_max(void)
{
    return OF_NAME_MAX;
}

OF_API size_t of_ring_max_points(void)
{
    return OF_RING_MAX_POINTS;
}

OF_API size_t of_ring_options_size(void)
{
    return sizeof(of_ring_options);
}

OF_API int of_ring_create(const of_ring_options *opts, of_ring **out_ring)
{
    of_ring_options def;
    if (!out_ring)
        return ofi_fail(OF_ERR_INVALID, "out_ring is NULL");
    if (!opts) {
        of_ring_options_init(&def, sizeof def);
        opts = &def;
    }
    if (opts->struct_size != OPTIONS_V1_SIZE)
        return ofi_fail(OF_ERR_ABI, "of_ring_options struct_size %u (this library's is %zu)",
                        (unsigned)opts->struct_size, sizeof(of_ring_options));
    if (opts->algorithm != OF_RING_NATIVE && opts->algorithm != OF_RING_KETAMA)
        return ofi_fail(OF_ERR_INVALID, "unknown ring algorithm %u", (unsigned)opts->algorithm);
    if (opts->flags & ~OF_RING_SORT_HOSTS)
        return ofi_fail(OF_ERR_INVALID, "unknown ring flags 0x%x", (unsigned)opts->flags);
    if (opts->algorithm == OF_RING_NATIVE && (opts->flags & OF_RING_SORT_HOSTS))
        return ofi_fail(OF_ERR_INVALID, "OF_RING_SORT_HOSTS applies to the ketama mode only");
    if (opts->algorithm == OF_RING_NATIVE && opts->vnodes == 0)
        return ofi_fail(OF_ERR_INVALID, "vnodes must be >= 1");
    if (opts->algorithm == OF_RING_NATIVE && opts->vnodes > OF_RING_MAX_POINTS)
        return ofi_fail(OF_ERR_INVALID, "vnodes %u above OF_RING_MAX_POINTS",
                        (unsigned)opts->vnodes);

    void *mem = NULL;
    if (posix_memalign(&mem, RING_CACHE_LINE, sizeof(of_ring)) != 0)
        return ofi_fail_plain(OF_ERR_NOMEM);
    of_ring *ring = mem;
    memset(ring, 0, sizeof *ring);
    ring->algorithm = opts->algorithm;
    ring->flags = opts->flags;
    ring->vnodes = opts->algorithm == OF_RING_KETAMA ? OFI_KETAMA_POINTS_PER_SERVER : opts->vnodes;
    ring->seed = opts->algorithm == OF_RING_KETAMA ? 0 : opts->seed;
    atomic_init(&ring->epoch, 0);
    for (size_t i = 0; i < RING_STRIPES; i++) {
        atomic_init(&ring->stripes[i].count[0], 0);
        atomic_init(&ring->stripes[i].count[1], 0);
    }
    if (pthread_mutex_init(&ring->wlock, NULL) != 0) {
        free(ring);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    snap *s = NULL;
    int rc = snap_build(ring, NULL, NULL, 0, NULL, 0, 0, &s);
    if (rc != OF_OK) {
        pthread_mutex_destroy(&ring->wlock);
        free(ring);
        return rc;
    }
    atomic_init(&ring->current, s);
    *out_ring = ring;
    return OF_OK;
}

OF_API void of_ring_destroy(of_ring *ring)
{
    if (!ring)
        return;
    free_list(ring->retired_prev);
    free_list(ring->retired_cur);
    snap_unref(atomic_load(&ring->current));
    free(ring->spare_points);
    free(ring->spare_owners);
    free(ring->spare_buckets);
    pthread_mutex_destroy(&ring->wlock);
    free(ring);
}

/* ---------------------------------------------------------------------------------------------
 * Writers
 * ------------------------------------------------------------------------------------------- */

/* An id for a detail message: printable ASCII as is, other bytes as \xNN, cut at 48 bytes. */
static const char *id_text(char *buf, size_t cap, const uint8_t *id, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0, i = 0;
    for (; i < len && i < 48 && k + 5 < cap; i++) {
        uint8_t c = id[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            buf[k++] = (char)c;
        } else {
            buf[k++] = '\\';
            buf[k++] = 'x';
            buf[k++] = hex[c >> 4];
            buf[k++] = hex[c & 15];
        }
    }
    if (i < len && k + 4 <= cap) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

static int check_id(const void *id, size_t id_len)
{
    if (!id)
        return ofi_fail(OF_ERR_INVALID, "id is NULL");
    if (id_len == 0 || id_len > OF_NAME_MAX)
        return ofi_fail(OF_ERR_INVALID, "id length %zu outside 1..%d", id_len, OF_NAME_MAX);
    return OF_OK;
}

/* Validate a node for @p ring and fill the ketama fields. */
static int make_node(const of_ring *ring, const void *id, size_t id_len, uint32_t weight,
                     uint64_t tag, node_in *out)
{
    int rc = check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    node_in nd = {id, (uint32_t)id_len, weight, tag, 0, 0, 0};
    if (ring->algorithm == OF_RING_KETAMA) {
        size_t off, hlen;
        rc = ofi_ketama_parse(id, id_len, &off, &hlen, &nd.port);
        if (rc != OF_OK)
            return rc;
        nd.host_off = (uint32_t)off;
        nd.host_len = (uint32_t)hlen;
    } else {
        if (weight == 0)
            return ofi_fail(OF_ERR_INVALID, "weight 0: remove the node to drain it");
        if ((uint64_t)weight * ring->vnodes > OF_RING_MAX_POINTS)
            return ofi_fail(OF_ERR_INVALID, "weight %u x vnodes %u exceeds OF_RING_MAX_POINTS",
                            (unsigned)weight, (unsigned)ring->vnodes);
    }
    *out = nd;
    return OF_OK;
}

/* Total points after the change must stay within the limit (native: exact; ketama: 160 x n
 * bounds it). */
static int check_total_points(const of_ring *ring, const node_in *nodes, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ring->algorithm == OF_RING_KETAMA
                     ? OFI_KETAMA_POINTS_PER_SERVER
                     : (uint64_t)nodes[i].weight * ring->vnodes;
    if (total > OF_RING_MAX_POINTS)
        return ofi_fail(OF_ERR_INVALID, "the ring would hold %llu points, above OF_RING_MAX_POINTS",
                        (unsigned long long)total);
    return OF_OK;
}

OF_API int of_ring_add(of_ring *ring, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    node_in nd;
    int rc = make_node(ring, id, id_len, weight, tag, &nd);
    if (rc != OF_OK)
        return rc;
    pthread_mutex_lock(&ring->wlock);
    snap *cur = atomic_load(&ring->current);
    node_in *nodes = NULL;
    pin_in *pins = NULL;
    snap *s = NULL;
    if (snap_find_node(cur, id, id_len) >= 0) {
        char a[200];
        rc = ofi_fail(OF_ERR_EXISTS, "node \"%s\" already present",
                      id_text(a, sizeof a, id, id_len));
        goto out;
    }
    if (cur->node_count >= UINT32_MAX - 1) {
        rc = ofi_fail(OF_ERR_INVALID, "too many nodes");
        goto out;
    }
    rc = snap_inputs(cur, 1, 0, &nodes, &pins);
    if (rc != OF_OK)
        goto out;
    nodes[cur->node_count] = nd;
    rc = check_total_points(ring, nodes, cur->node_count + 1);
    if (rc == OF_OK)
        rc = snap_build(ring, cur, nodes, cur->node_count + 1, pins, cur->pin_count,
                        cur->generation + 1, &s);
    if (rc == OF_OK)
        publish(ring, s);
out:
    pthread_mutex_unlock(&ring->wlock);
    free(nodes);
    free(pins);
    return rc;
}

/* One server of a ketama duplicate check: host bytes, port, and where it came from. */
typedef struct host_key {
    const uint8_t *host;
    uint32_t host_len;
    uint32_t port;
    size_t index;
} host_key;

static int host_key_cmp(const void *pa, const void *pb)
{
    const host_key *a = pa, *b = pb;
    int c = id_cmp(a->host, a->host_len, b->host, b->host_len);
    if (c)
        return c;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static host_key *batch_host_keys(const node_in *batch, size_t count)
{
    host_key *k = malloc(count * sizeof *k);
    if (k) {
        for (size_t i = 0; i < count; i++)
            k[i] = (host_key){batch[i].id + batch[i].host_off, batch[i].host_len, batch[i].port, i};
        qsort(k, count, sizeof *k, host_key_cmp);
    }
    return k;
}

static bool same_host_key(const host_key *a, const host_key *b)
{
    return a->port == b->port && a->host_len == b->host_len &&
           memcmp(a->host, b->host, a->host_len) == 0;
}

/* Ketama: a server (host and port) twice in the batch. Sorted by (host, port, index), the
 * answer is the pair the pairwise scan would name: the smallest first index that repeats, and
 * its next repeat. */
static int ketama_batch_repeats(const node_in *batch, size_t count)
{
    host_key *k = batch_host_keys(batch, count);
    if (!k)
        return ofi_fail_plain(OF_ERR_NOMEM);
    size_t first = SIZE_MAX, second = 0;
    for (size_t i = 1; i < count; i++)
        if (same_host_key(&k[i - 1], &k[i]) && (i < 2 || !same_host_key(&k[i - 2], &k[i - 1])) &&
            k[i - 1].index < first) {
            first = k[i - 1].index;
            second = k[i].index;
        }
    free(k);
    if (first == SIZE_MAX)
        return OF_OK;
    char a[200], b[200];
    return ofi_fail(OF_ERR_EXISTS, "node %zu \"%s\" repeats node %zu \"%s\" (same host and port)",
                    second, id_text(a, sizeof a, batch[second].id, batch[second].id_len), first,
                    id_text(b, sizeof b, batch[first].id, batch[first].id_len));
}

/* Ketama: the first batch node whose host and port the ring already has (a merge of the two
 * sorted server lists instead of a scan of the ring per node). */
static int ketama_batch_present(const snap *cur, const node_in *batch, size_t count)
{
    if (cur->node_count == 0)
        return OF_OK;
    host_key *k = batch_host_keys(batch, count);
    host_key *have = malloc(cur->node_count * sizeof *have);
    if (!k || !have) {
        free(k);
        free(have);
        return ofi_fail_plain(OF_ERR_NOMEM);
    }
    for (size_t i = 0; i < cur->node_count; i++) {
        const snap_node *nd = &cur->nodes[i];
        have[i] = (host_key){nd->id + nd->host_off, nd->host_len, nd->port, i};
    }
    qsort(have, cur->node_count, sizeof *have, host_key_cmp);
    size_t found = SIZE_MAX, found_have = 0;
    for (size_t i = 0, j = 0; i < count && j < cur->node_count;) {
        host_key probe = k[i];
        probe.index = have[j].index; /* compare host and port only */
        int c = host_key_cmp(&probe, &have[j]);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            if (k[i].index < found) {
                found = k[i].index;
                found_have = have[j].index;
            }
            i++;
        }
    }
    free(k);
    free(have);
    if (found == SIZE_MAX)
        return OF_OK;
    char a[200], b[200];
    const snap_node *nd = &cur->nodes[found_have];
    return ofi_fail(OF_ERR_EXISTS, "node %zu \"%s\" already present (as \"%s\")", found,
                    id_text(a, sizeof a, batch[found].id, batch[found].id_len),
                    id_text(b, sizeof b, nd->id, nd->id_len));
}

OF_API int of_ring_add_many(of_ring *ring, const of_ring_node_spec *specs, size_t count)
{
    if (!ring || (!specs && count))
        return ofi_fail(OF_ERR_INVALID, "NULL ring or nodes");
    if (count == 0)
        return OF_OK;
    if (count > OF_RING_MAX_POINTS)
        return ofi_fail(OF_ERR_INVALID, "too many nodes");
    node_in *batch = malloc(count * sizeof *batch);
    if (!batch)
        return ofi_fail_plain(OF_ERR_NOMEM);
    int rc = OF_OK;
    for (size_t i = 0; i < count && rc == OF_OK; i++)
        rc = make_node(ring, specs[i].id, specs[i].id_len, specs[i].weight, specs[i].tag,
                       &batch[i]);
    if (rc != OF_OK) {
        free(batch);
        return rc;
    }
    /* Duplicates inside the batch. */
    if (ring->algorithm == OF_RING_KETAMA) {
        rc = ketama_batch_repeats(batch, count);
    } else {
        node_in *sorted = malloc(count * sizeof *sorted);
        if (!sorted) {
            free(batch);
            return ofi_fail_plain(OF_ERR_NOMEM);
        }
        memcpy(sorted, batch, count * sizeof *sorted);
        qsort(sorted, count, sizeof *sorted, node_in_cmp_id);
        for (size_t i = 1; i < count; i++)
            if (node_in_cmp_id(&sorted[i - 1], &sorted[i]) == 0) {
                char a[200];
                rc = ofi_fail(OF_ERR_EXISTS, "node id \"%s\" appears twice in the batch",
                              id_text(a, sizeof a, sorted[i].id, sorted[i].id_len));
                break;
            }
        free(sorted);
    }
    if (rc != OF_OK) {
        free(batch);
        return rc;
    }
    pthread_mutex_lock(&ring->wlock);
    snap *cur = atomic_load(&ring->current);
    node_in *nodes = NULL;
    pin_in *pins = NULL;
    snap *s = NULL;
    if (ring->algorithm == OF_RING_KETAMA) {
        rc = ketama_batch_present(cur, batch, count);
        if (rc != OF_OK)
            goto out;
    } else {
        for (size_t i = 0; i < count; i++)
            if (snap_find_node(cur, batch[i].id, batch[i].id_len) >= 0) {
                char a[200];
                rc = ofi_fail(OF_ERR_EXISTS, "node %zu \"%s\" already present", i,
                              id_text(a, sizeof a, batch[i].id, batch[i].id_len));
                goto out;
            }
    }
    rc = snap_inputs(cur, count, 0, &nodes, &pins);
    if (rc != OF_OK)
        goto out;
    memcpy(nodes + cur->node_count, batch, count * sizeof *batch);
    rc = check_total_points(ring, nodes, cur->node_count + count);
    if (rc == OF_OK)
        rc = snap_build(ring, cur, nodes, cur->node_count + count, pins, cur->pin_count,
                        cur->generation + 1, &s);
    if (rc == OF_OK)
        publish(ring, s);
out:
    pthread_mutex_unlock(&ring->wlock);
    free(batch);
    free(nodes);
    free(pins);
    return rc;
}

OF_API int of_ring_remove(of_ring *ring, const void *id, size_t id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    int rc = check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    pthread_mutex_lock(&ring->wlock);
    snap *cur = atomic_load(&ring->current);
    node_in *nodes = NULL;
    pin_in *pins = NULL;
    snap *s = NULL;
    long idx = snap_find_node(cur, id, id_len);
    if (idx < 0) {
        rc = ofi_fail(OF_ERR_NOT_FOUND, "no such node");
        goto out;
    }
    rc = snap_inputs(cur, 0, 0, &nodes, &pins);
    if (rc != OF_OK)
        goto out;
    memmove(nodes + idx, nodes + idx + 1, (cur->node_count - (size_t)idx - 1) * sizeof *nodes);
    size_t np = 0;
    for (size_t i = 0; i < cur->pin_count; i++)
        if (cur->pin_node[i] != (uint32_t)idx)
            pins[np++] = pins[i];
    rc = snap_build(ring, cur, nodes, cur->node_count - 1, pins, np, cur->generation + 1, &s);
    if (rc == OF_OK)
        publish(ring, s);
out:
    pthread_mutex_unlock(&ring->wlock);
    free(nodes);
    free(pins);
    return rc;
}

OF_API int of_ring_set_weight(of_ring *ring, const void *id, size_t id_len, uint32_t weight)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    node_in nd;
    int rc = make_node(ring, id, id_len, weight, 0, &nd);
    if (rc != OF_OK)
        return rc;
    pthread_mutex_lock(&ring->wlock);
    snap *cur = atomic_load(&ring->current);
    node_in *nodes = NULL;
    pin_in *pins = NULL;
    snap *s = NULL;
    long idx = snap_find_node(cur, id, id_len);
    if (idx < 0) {
        rc = ofi_fail(OF_ERR_NOT_FOUND, "no such node");
        goto out;
    }
    rc = snap_inputs(cur, 0, 0, &nodes, &pins);
    if (rc != OF_OK)
        goto out;
    nodes[idx].weight = weight;
    rc = check_total_points(ring, nodes, cur->node_count);
    if (rc == OF_OK)
        rc = snap_build(ring, cur, nodes, cur->node_count, pins, cur->pin_count,
                        cur->generation + 1, &s);
    if (rc == OF_OK)
        publish(ring, s);
out:
    pthread_mutex_unlock(&ring->wlock);
    free(nodes);
    free(pins);
    return rc;
}

static int pin_common(of_ring *ring, uint64_t hash, const void *id, size_t id_len)
{
    pthread_mutex_lock(&ring->wlock);
    snap *cur = atomic_load(&ring->current);
    node_in *nodes = NULL;
    pin_in *pins = NULL;
    snap *s = NULL;
    int rc;
    long idx = snap_find_node(cur, id, id_len);
    if (idx < 0) {
        rc = ofi_fail(OF_ERR_NOT_FOUND, "no such node");
        goto out;
    }
    size_t at = ofi_lower_bound_u64(cur->pin_hash, 0, cur->pin_count, hash);
    if (at < cur->pin_count && cur->pin_hash[at] == hash) {
        rc = ofi_fail(OF_ERR_EXISTS, "key already pinned");
        goto out;
    }
    rc = snap_inputs(cur, 0, 1, &nodes, &pins);
    if (rc != OF_OK)
        goto out;
    pins[cur->pin_count] = (pin_in){hash, cur->nodes[idx].id, cur->nodes[idx].id_len};
    rc = snap_build(ring, cur, nodes, cur->node_count, pins, cur->pin_count + 1,
                    cur->generation + 1, &s);
    if (rc == OF_OK)
        publish(ring, s);
out:
    pthread_mutex_unlock(&ring->wlock);
    free(nodes);
    free(pins);
    return rc;
}

OF_API int of_ring_pin_hash(of_ring *ring, uint64_t hash, const void *id, size_t id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (ring->algorithm == OF_RING_KETAMA)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "pins are not offered in ketama mode");
    int rc = check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    return pin_common(ring, hash, id, id_len);
}

OF_API int of_ring_pin(of_ring *ring, const void *key, size_t key_len, const void *id,
                       size_t id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (!key && key_len)
        return ofi_fail(OF_ERR_INVALID, "key is NULL");
    return of_ring_pin_hash(ring, ofi_hash64(key ? key : "", key_len, ring->seed), id, id_len);
}

OF_API int of_ring_unpin(of_ring *ring, const void *key, size_t key_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (ring->algorithm == OF_RING_KETAMA)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "pins are not offered in ketama mode");
    if (!key && key_len)
        return ofi_fail(OF_ERR_INVALID, "key is NULL");
    uint64_t hash = ofi_hash64(key ? key : "", key_len, ring->seed);
    pthread_mutex_lock(&ring->wlock);
    snap *cur = atomic_load(&ring->current);
    node_in *nodes = NULL;
    pin_in *pins = NULL;
    snap *s = NULL;
    int rc;
    size_t at = ofi_lower_bound_u64(cur->pin_hash, 0, cur->pin_count, hash);
    if (at == cur->pin_count || cur->pin_hash[at] != hash) {
        rc = ofi_fail(OF_ERR_NOT_FOUND, "key is not pinned");
        goto out;
    }
    rc = snap_inputs(cur, 0, 0, &nodes, &pins);
    if (rc != OF_OK)
        goto out;
    memmove(pins + at, pins + at + 1, (cur->pin_count - at - 1) * sizeof *pins);
    rc = snap_build(ring, cur, nodes, cur->node_count, pins, cur->pin_count - 1,
                    cur->generation + 1, &s);
    if (rc == OF_OK)
        publish(ring, s);
out:
    pthread_mutex_unlock(&ring->wlock);
    free(nodes);
    free(pins);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Lookups
 * ------------------------------------------------------------------------------------------- */

/* Index of the first point >= h, wrapping to 0. The snapshot has points. */
static inline size_t snap_point(const snap *s, uint64_t h)
{
    size_t k = (size_t)(h >> s->shift);
    size_t i = ofi_lower_bound_u64(s->points, (uint32_t)s->buckets[k],
                                   (uint32_t)s->buckets[k + 1], h);
    return i == s->point_count ? 0 : i;
}

/* Rings with more points than this leave the L2 cache: reading the owner from the bucket entry
 * when the answer is a bucket edge then saves a cache miss, which is worth the unpredictable
 * branch. Smaller rings read the owners array without branching. */
#define RING_EDGE_OWNER_MIN_POINTS 32768

/* Owner node of the first point >= h (wrapping). */
static inline uint32_t snap_point_owner(const snap *s, uint64_t h)
{
    size_t k = (size_t)(h >> s->shift);
    uint64_t e0 = s->buckets[k], e1 = s->buckets[k + 1];
    size_t lo = (uint32_t)e0, hi = (uint32_t)e1;
    size_t i = ofi_lower_bound_u64(s->points, lo, hi, h);
    if (s->point_count < RING_EDGE_OWNER_MIN_POINTS)
        return s->owners[i == s->point_count ? 0 : i];
    if (i == lo)
        return (uint32_t)(e0 >> 32);
    if (i == hi)
        return (uint32_t)(e1 >> 32);
    return s->owners[i];
}

static inline uint64_t snap_key_hash(const snap *s, const void *key, size_t key_len)
{
    if (s->algorithm == OF_RING_KETAMA)
        return ofi_ketama_key_hash(key, key_len);
    return ofi_hash64(key, key_len, s->seed);
}

/* Owner of hash @p h, honouring pins (native). The snapshot has nodes. */
static inline uint32_t snap_owner(const snap *s, uint64_t h)
{
    if (s->pin_count) {
        size_t at = ofi_lower_bound_u64(s->pin_hash, 0, s->pin_count, h);
        if (at < s->pin_count && s->pin_hash[at] == h)
            return s->pin_node[at];
    }
    if (s->node_count == 1)
        return 0; /* also ketama's rule: one server answers without hashing */
    return snap_point_owner(s, h);
}

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

OF_API int of_ring_lookup(const of_ring *ring, const void *key, size_t key_len, uint64_t *out_tag,
                          void *out_id, size_t id_cap, size_t *out_id_len)
{
    if (__builtin_expect(!ring || (!key && key_len), 0))
        return ofi_fail(OF_ERR_INVALID, "NULL ring or key");
    if (!key)
        key = "";
    read_guard g;
    const snap *s = read_begin(ring, &g);
    int rc;
    if (__builtin_expect(s->node_count == 0, 0))
        rc = ofi_fail_plain(OF_ERR_EMPTY);
    else if (s->algorithm == OF_RING_KETAMA && s->node_count == 1)
        rc = answer(s, 0, out_tag, out_id, id_cap, out_id_len);
    else
        rc = answer(s, snap_owner(s, snap_key_hash(s, key, key_len)), out_tag, out_id, id_cap,
                    out_id_len);
    read_end(&g);
    return rc;
}

OF_API int of_ring_lookup_hash(const of_ring *ring, uint64_t hash, uint64_t *out_tag, void *out_id,
                               size_t id_cap, size_t *out_id_len)
{
    if (!ring)
        return ofi_fail(OF_ERR_INVALID, "ring is NULL");
    if (ring->algorithm == OF_RING_KETAMA)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "lookup by hash is not offered in ketama mode");
    read_guard g;
    const snap *s = read_begin(ring, &g);
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
            uint32_t o = s->owners[i];
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
    const snap *s = read_begin(ring, &g);
    int rc;
    if (s->node_count == 0) {
        rc = ofi_fail_plain(OF_ERR_EMPTY);
    } else if (n == 0 || n > s->node_count) {
        rc = ofi_fail(OF_ERR_INVALID, "n = %zu outside 1..%zu (node count)", n, s->node_count);
    } else {
        uint64_t h = snap_key_hash(s, key, key_len);
        uint32_t first = UINT32_MAX;
        if (s->pin_count) {
            size_t at = ofi_lower_bound_u64(s->pin_hash, 0, s->pin_count, h);
            if (at < s->pin_count && s->pin_hash[at] == h)
                first = s->pin_node[at];
        }
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
    if (ring->algorithm == OF_RING_KETAMA)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "bounded-load lookup is not offered in ketama mode");
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
    int rc = check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    read_guard g;
    const snap *s = read_begin(ring, &g);
    *out_present = snap_find_node(s, id, id_len) >= 0;
    read_end(&g);
    return OF_OK;
}

OF_API size_t of_ring_node_count(const of_ring *ring)
{
    if (!ring)
        return 0;
    read_guard g;
    const snap *s = read_begin(ring, &g);
    size_t n = s->node_count;
    read_end(&g);
    return n;
}

OF_API uint64_t of_ring_generation(const of_ring *ring)
{
    if (!ring)
        return 0;
    read_guard g;
    const snap *s = read_begin(ring, &g);
    uint64_t v = s->generation;
    read_end(&g);
    return v;
}

OF_API uint64_t of_ring_fingerprint(const of_ring *ring)
{
    if (!ring)
        return 0;
    read_guard g;
    const snap *s = read_begin(ring, &g);
    uint64_t v = s->fingerprint;
    read_end(&g);
    return v;
}

OF_API size_t of_ring_memory_usage(const of_ring *ring)
{
    if (!ring)
        return 0;
    read_guard g;
    const snap *s = read_begin(ring, &g);
    size_t v = s->bytes;
    read_end(&g);
    return v;
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

/* Arc of point i: (points[i-1], points[i]], the first point's arc wrapping from the last. */
static inline uint64_t arc_len(const snap *s, size_t i)
{
    uint64_t mask = s->hash_bits == 64 ? UINT64_MAX : (((uint64_t)1 << s->hash_bits) - 1);
    uint64_t prev = i ? s->points[i - 1] : s->points[s->point_count - 1];
    return (s->points[i] - prev) & mask;
}

OF_API int of_ring_ownership(const of_ring *ring, const void *id, size_t id_len,
                             double *out_share)
{
    if (!ring || !out_share)
        return ofi_fail(OF_ERR_INVALID, "NULL ring or out_share");
    int rc = check_id(id, id_len);
    if (rc != OF_OK)
        return rc;
    read_guard g;
    const snap *s = read_begin(ring, &g);
    long idx = snap_find_node(s, id, id_len);
    if (idx < 0) {
        rc = ofi_fail(OF_ERR_NOT_FOUND, "no such node");
    } else if (s->node_count == 1) {
        *out_share = 1.0;
    } else {
        /* Exact sum as a 2-word integer: the whole space is 2^hash_bits, so the sum of one
         * node's arcs fits in hash_bits + 1 bits. The second of equal points has an empty arc. */
        uint64_t lo = 0, hi = 0;
        for (size_t i = 0; i < s->point_count; i++) {
            if (s->owners[i] != (uint32_t)idx)
                continue;
            uint64_t a = arc_len(s, i);
            if (a == 0 && s->point_count == 1)
                continue;
            lo += a;
            hi += lo < a;
        }
        /* All points equal (or one point) with several nodes: the first owner gets the space. */
        bool degenerate = s->points[0] == s->points[s->point_count - 1];
        if (degenerate)
            *out_share = s->owners[0] == (uint32_t)idx ? 1.0 : 0.0;
        else if (s->hash_bits == 64)
            *out_share = ((double)hi + ldexp((double)lo, -64));
        else
            *out_share = ldexp((double)lo, -32);
        if (*out_share > 1.0)
            *out_share = 1.0;
    }
    read_end(&g);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Views and diff
 * ------------------------------------------------------------------------------------------- */

OF_API int of_ring_view_take(const of_ring *ring, of_ring_view **out_view)
{
    if (!ring || !out_view)
        return ofi_fail(OF_ERR_INVALID, "NULL ring or out_view");
    read_guard g;
    snap *s = read_begin(ring, &g);
    atomic_fetch_add(&s->refs, 1);
    read_end(&g);
    *out_view = (of_ring_view *)s;
    return OF_OK;
}

OF_API void of_ring_view_release(of_ring_view *view)
{
    snap_unref((snap *)view);
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
    if (x->host_len) /* ketama: the same server is the same host and port */
        return x->port == y->port && x->host_len == y->host_len &&
               memcmp(x->id + x->host_off, y->id + y->host_off, x->host_len) == 0;
    return id_cmp(x->id, x->id_len, y->id, y->id_len) == 0;
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
static const snap_node *owner_at(const snap *s, size_t i)
{
    if (s->node_count == 0)
        return NULL;
    if (s->node_count == 1 || s->point_count == 0)
        return &s->nodes[0];
    return &s->nodes[s->owners[i == s->point_count ? 0 : i]];
}

static int diff_ranges(diff_state *d)
{
    const snap *a = d->a, *b = d->b;
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
        if (j >= nb || (i < na && a->points[i] <= b->points[j]))
            v = a->points[i];
        else
            v = b->points[j];
        rc = diff_emit(d, start, v, owner_at(a, na ? i : 0), owner_at(b, nb ? j : 0));
        if (rc)
            return rc;
        while (i < na && a->points[i] == v)
            i++;
        while (j < nb && b->points[j] == v)
            j++;
        if (v == max)
            return diff_flush(d);
        start = v + 1;
    }
    /* Tail past the last boundary wraps to the first point of each view. */
    rc = diff_emit(d, start, max, owner_at(a, 0), owner_at(b, 0));
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
    if (a->algorithm != b->algorithm || a->seed != b->seed)
        return ofi_fail(OF_ERR_INVALID, "views of rings with different algorithm or seed");
    diff_state d = {a, b, range_fn, ctx, false, {0}, NULL, NULL};
    int rc = diff_ranges(&d);
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
