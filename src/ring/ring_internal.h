/* Consistent-hash ring: immutable snapshots published atomically, reclaimed with striped
 * two-parity reader counters (see "Reader protection" below), point search through the bisect
 * kernel over a bucket index on the top bits of the hash.
 *
 * The ring's internals shared by its files: snapshot and ring layouts, the reader protocol and
 * the lookup helpers (inline here so that every lookup compiles them into its own body), and the
 * functions one file offers another. Files: reclaim.c (reader protection, reclamation, reused
 * arrays), snapshot.c (building snapshots), ring.c (lifecycle), write.c (writers), lookup.c
 * (lookups and inspection), view.c (views and diff). */
#ifndef OPENFAULT_SRC_RING_RING_INTERNAL_H
#define OPENFAULT_SRC_RING_RING_INTERNAL_H

#include <openfault/ring.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "bisect/search.h"
#include "common/bytes.h"
#include "common/hash.h"

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
    uint32_t ident_off; /* identity (ofi_ring_algo.ident): bytes inside id, and a number */
    uint32_t ident_len;
    uint32_t ident_num;
    uint32_t point_count;
} snap_node;

/* Membership-change figures, carried from each snapshot to the next (metrics.c). */
typedef struct snap_changes {
    uint64_t added, removed, reweighted; /* nodes added, removed, weights set, since creation */
    uint64_t last_generation;            /* generation of the last membership change, 0: none */
    double last_moved;                   /* share of the hash space it gave a new owner */
} snap_changes;

typedef struct snap {
    _Atomic size_t refs;        /* 1 for the ring (until reclaimed) + 1 per view */
    struct snap *next_retired;
    uint64_t generation;
    uint64_t fingerprint;
    uint64_t seed;
    const struct ofi_ring_algo *algo;
    uint32_t algorithm;
    uint32_t flags;
    uint32_t vnodes;
    uint32_t shift;             /* bucket of hash h = h >> shift */
    uint32_t hash_bits;         /* algo->hash_bits */
    bool ident_sorted;          /* nodes in identity order: find by binary search */
    size_t node_count;
    snap_node *nodes;           /* identity order, or insertion order (ofi_ring_algo.id_order) */
    uint8_t *id_blob;
    size_t point_count;
    size_t points_cap;          /* allocated length of points and owners */
    size_t buckets_cap;         /* allocated length of buckets */
    uint64_t *points;           /* ascending; ties in node order */
    uint32_t *owners;           /* node index of each point */
    uint64_t *buckets;          /* 2^bits + 1 entries: start offset into points (low 32 bits)
                                   and the owner of that point, wrapping (high 32 bits); in the
                                   compact layout, the one block holding the arrays below */
    /* The compact layout (native mode, at most RING_COMPACT_MAX_NODES nodes; snapshot.c says
     * why it is exact): points and owners are NULL and each point is kept as the 32 bits below
     * its bucket's, split in two 16-bit halves so that the half every lookup reads is small. */
    bool compact;
    uint32_t *cbucket;          /* 2^bits + 1 entries: index of the bucket's first point */
    uint16_t *chi;              /* bits [shift - 16, shift) of each point; RING_CPAD spare */
    uint16_t *clo;              /* bits [shift - 32, shift - 16) */
    /* The node index of each point, then the first one's again: in 8 bits for rings of at most
     * RING_OWNER8_MAX_NODES nodes (cowner NULL), else in 16 (cowner8 NULL). */
    uint16_t *cowner;
    uint8_t *cowner8;
    uint8_t lookup_kind;        /* SNAP_LOOKUP_*: what a lookup on this snapshot takes */
    size_t pin_count;
    uint64_t *pin_hash;         /* ascending, unique */
    uint32_t *pin_node;
    size_t bytes;
    snap_changes changes;       /* set by the writer before publishing (ring_metrics.h) */
} snap;

/* An of_ring_view is a snap with a reference held for the caller. */

/* ---------------------------------------------------------------------------------------------
 * The ring
 * ------------------------------------------------------------------------------------------- */

/* One cache line per stripe, aligned, so readers on different stripes never share a line. The
 * alignment alone rounds the size up to the line (no padding member, which cppcheck calls
 * unused); the assertion keeps it exactly one line. */
typedef struct ring_stripe {
    _Alignas(RING_CACHE_LINE) _Atomic size_t count[2];
} ring_stripe;
_Static_assert(sizeof(ring_stripe) == RING_CACHE_LINE, "a ring stripe is one cache line");

struct of_ring {
    /* Read-mostly line: written only by writers. */
    _Alignas(RING_CACHE_LINE) _Atomic(snap *) current;
    _Atomic unsigned epoch;
    const struct ofi_ring_algo *algo;
    uint32_t algorithm, flags, vnodes;
    uint64_t seed;
    /* Written by readers: starts on its own line. */
    ring_stripe stripes[RING_STRIPES];
    /* Writer-only state. */
    _Alignas(RING_CACHE_LINE) pthread_mutex_t wlock;
    snap *retired_cur;  /* unpublished since the last epoch flip */
    snap *retired_prev; /* unpublished before the last epoch flip */
    snap *retired_held; /* past the epochs, but still in a reader's hazard slot at the last look */
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
 * Two ways, both lock-free for readers and writers:
 *
 * Hazard slots (the leaf calls: lookups, contains, counters, taking a view; no user code runs
 * inside them). Each thread owns one cache line of a process-wide table (reclaim.c), claimed on
 * its first read and given back when it exits. A reader loads `current`, stores it in its slot,
 * re-loads `current` and retries until both loads agree, reads, and clears the slot. A writer
 * that would free an unpublished snapshot first checks that no slot holds it. The store and the
 * re-load on one side, and the publication and the scan on the other, form Dekker's pattern, so
 * one of the two sides must see the other: either the scan sees the slot, or the re-load sees the
 * new snapshot and the reader retries. Where the kernel offers membarrier(2)
 * (MEMBARRIER_CMD_PRIVATE_EXPEDITED), the writer's barrier runs on every CPU of the process and
 * the reader needs only a compiler fence: no atomic read-modify-write, no serialising
 * instruction, and no cache line written that another thread writes. Elsewhere (and under TSan,
 * which does not model membarrier) the reader's store and re-load are seq_cst: one exchange.
 *
 * Stripe counters (everything else, and any read that finds its thread's slot busy: a lookup
 * from inside a foreach callback or a signal handler, or a thread beyond the table's size). A
 * reader picks its thread's stripe, reads the epoch parity e, increments count[e] of its
 * stripe, re-reads the epoch (retrying if it flipped: the increment must be ordered before any
 * later flip), then loads `current`. A writer publishes a new snapshot, puts the old one on
 * retired_cur, and, when the counters of the parity it would flip to are all zero, frees
 * retired_prev (unpublished before the previous flip: only readers of the other parity could
 * hold them, and those are now gone) unless a hazard slot holds one, moves retired_cur to
 * retired_prev and flips. All stripe operations are seq_cst: the argument is Dekker's again.
 *
 * Readers never wait; writers never wait either (a busy parity or a held snapshot just defers
 * freeing to a later write or to destroy).
 * ------------------------------------------------------------------------------------------- */

extern _Atomic unsigned ofi_ring_next_stripe;
/* initial-exec: a plain %fs-relative load instead of a __tls_get_addr call per lookup. The few
 * bytes fit in the static TLS surplus glibc reserves for libraries loaded with dlopen (FFI). */
#if defined(__GNUC__)
#define RING_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define RING_TLS_MODEL
#endif
/* stripe + 1; 0 before first use */
extern _Thread_local unsigned ofi_ring_my_stripe RING_TLS_MODEL;

static inline unsigned thread_stripe(void)
{
    unsigned s = ofi_ring_my_stripe;
    if (__builtin_expect(s == 0, 0)) {
        s = atomic_fetch_add_explicit(&ofi_ring_next_stripe, 1, memory_order_relaxed) % RING_STRIPES +
            1;
        ofi_ring_my_stripe = s;
    }
    return s - 1;
}

/* Threads that can own a hazard slot at once; more read through the stripes. */
#ifndef RING_HAZARD_SLOTS
#define RING_HAZARD_SLOTS 256
#endif

typedef struct ofi_hazard_slot {
    _Alignas(RING_CACHE_LINE) _Atomic(const snap *) held; /* written by its owner only */
    _Atomic int owned;
} ofi_hazard_slot;
_Static_assert(sizeof(ofi_hazard_slot) == RING_CACHE_LINE, "a hazard slot is one cache line");

/* This thread's slot: &ofi_hazard_unclaimed before its first read, &ofi_hazard_none when it
 * has none. Neither is in the table, and their held is never NULL (it points at the slot
 * itself), so that the reader's one test of held sends those threads to the slow path too. */
extern _Thread_local ofi_hazard_slot *ofi_ring_my_hazard RING_TLS_MODEL;
extern ofi_hazard_slot ofi_hazard_none, ofi_hazard_unclaimed;
/* 1 while membarrier(2) serves as the writers' barrier (reclaim.c): readers fence the compiler
 * only. Set once before any slot is handed out; cleared only in a fork child that cannot
 * register again, before that child has a second thread. */
extern _Atomic int ofi_ring_asymmetric;
/* First read of a thread: claim a slot (or &ofi_hazard_none). */
ofi_hazard_slot *ofi_ring_hazard_claim(void);

typedef struct read_guard {
    _Atomic size_t *counter; /* stripe counter, or NULL */
    ofi_hazard_slot *hazard; /* hazard slot, or NULL */
} read_guard;

/* read_begin_leaf() for a thread whose slot is busy, missing or not claimed yet (reclaim.c). */
snap *ofi_ring_read_begin_slow(const of_ring *ring, read_guard *g);

/* Stripe protection: any read, including one that runs user callbacks. */
static inline snap *read_begin(const of_ring *cring, read_guard *g)
{
    of_ring *ring = (of_ring *)cring; /* the counters are the only thing a reader writes */
    ring_stripe *st = &ring->stripes[thread_stripe()];
    g->hazard = NULL;
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

/* The current snapshot, published in this thread's free slot @p h. */
static inline snap *read_hazard(of_ring *ring, ofi_hazard_slot *h, read_guard *g)
{
    snap *s = atomic_load_explicit(&ring->current, memory_order_acquire);
    if (__builtin_expect(atomic_load_explicit(&ofi_ring_asymmetric, memory_order_relaxed), 1)) {
        for (;;) {
            atomic_store_explicit(&h->held, s, memory_order_relaxed);
            /* The writer's membarrier orders this store before the load on the CPU. */
            atomic_signal_fence(memory_order_seq_cst);
            snap *now = atomic_load_explicit(&ring->current, memory_order_acquire);
            if (__builtin_expect(now == s, 1))
                break;
            s = now;
        }
    } else {
        for (;;) {
            atomic_store(&h->held, s);
            snap *now = atomic_load(&ring->current);
            if (now == s)
                break;
            s = now;
        }
    }
    g->hazard = h;
    g->counter = NULL;
    return s;
}

/* Hazard protection, for reads that run no user code until read_end (a callback could read a
 * ring again, and one slot holds one snapshot). Falls back to the stripes when the slot is busy
 * (a read nested in a callback's or interrupted by a signal handler's) or there is none. */
static inline snap *read_begin_leaf(const of_ring *cring, read_guard *g)
{
    ofi_hazard_slot *h = ofi_ring_my_hazard;
    if (__builtin_expect(atomic_load_explicit(&h->held, memory_order_relaxed) != NULL, 0))
        return ofi_ring_read_begin_slow(cring, g);
    return read_hazard((of_ring *)cring, h, g);
}

static inline void read_end(read_guard *g)
{
    if (g->hazard)
        atomic_store_explicit(&g->hazard->held, NULL, memory_order_release);
    else
        atomic_fetch_sub(g->counter, 1);
}

/* For tests: hazard slots owned now, writer barriers that failed (each deferred a reclaim), and
 * whether readers fence the compiler only; snapshots of @p ring kept because a slot held them. */
void ofi_ring_hazard_counts(size_t *out_owned, unsigned long *out_barrier_failures,
                            int *out_asymmetric);
size_t ofi_ring_retired_held(const of_ring *ring);

/* Writer lock held (or destroy): snapshot references and reclamation (reclaim.c). */
void ofi_snap_free(snap *s);
void ofi_snap_unref(snap *s);
void ofi_snap_free_list(snap *s);
/* Point and bucket arrays of @p s, from the ring's spares when they fit (@p ring may be NULL). */
int ofi_ring_alloc_points(of_ring *ring, snap *s, size_t P);
int ofi_ring_alloc_buckets(of_ring *ring, snap *s, size_t n);
/* Writer lock held: publish @p s, retire the old snapshot, free what no reader can hold. */
void ofi_ring_publish(of_ring *ring, snap *s);

/* ---------------------------------------------------------------------------------------------
 * Snapshot inputs (snapshot.c)
 * ------------------------------------------------------------------------------------------- */

typedef struct node_in {
    const uint8_t *id;
    uint32_t id_len;
    uint32_t weight;
    uint64_t tag;
    uint32_t ident_off, ident_len, ident_num;
} node_in;

typedef struct pin_in {
    uint64_t hash;
    const uint8_t *id;
    uint32_t id_len;
} pin_in;

static inline int ofi_id_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Order of node identities: bytes (as ofi_id_cmp), then number. The one comparison behind
 * duplicate checks, finds by id and diff, for every algorithm (ketama: host, then port). */
static inline int ofi_ident_cmp(const uint8_t *a, size_t alen, uint32_t anum, const uint8_t *b,
                                size_t blen, uint32_t bnum)
{
    int c = ofi_id_cmp(a, alen, b, blen);
    if (c)
        return c;
    return anum < bnum ? -1 : anum > bnum;
}

#define OFI_NODE_IDENT(nd) (nd)->id + (nd)->ident_off, (nd)->ident_len, (nd)->ident_num

/* Index of the node of @p s with this id, or -1. */
long ofi_snap_find_node(const snap *s, const uint8_t *id, size_t id_len);
/* Build a snapshot from @p nodes (reordered in place) and @p pins (reordered; pins whose node is
 * absent are dropped). The caller has validated ids, weights and point limits. */
int ofi_snap_build(of_ring *ring, const snap *base, node_in *nodes, size_t n, pin_in *pins,
                   size_t npins, uint64_t generation, snap **out);
/* The points of @p s in full and their owners, ascending (ties in node order): the snapshot's own
 * arrays in the wide layout, recomputed into new ones in the compact layout (then *to_free is
 * set, for free()). OF_ERR_NOMEM. */
int ofi_snap_full_points(const snap *s, const uint64_t **points, const uint32_t **owners,
                         void **to_free);
/* OF_OK, or OF_ERR_INVALID for a NULL id or a length outside 1..OF_NAME_MAX (write.c). */
int ofi_ring_check_id(const void *id, size_t id_len);

/* ---------------------------------------------------------------------------------------------
 * Placement algorithms
 *
 * What one algorithm decides, in one file each (native.c, ketama.c) and listed once in ring.c:
 * a node's identity, its points, the key hash and its part of the fingerprint. Everything else
 * (snapshots, the bucket index, readers, writers, views and diff) is shared. A node's identity
 * is the part of its id (and a number) that names it: two ids with one identity are the same
 * node (native: the whole id and 0; ketama: host and port, so "h" and "h:11211" are one server).
 * ------------------------------------------------------------------------------------------- */

static inline void ofi_fp_u32(XXH3_state_t *st, uint32_t v)
{
    uint8_t b[4];
    ofi_store_le32(b, v);
    XXH3_64bits_update(st, b, sizeof b);
}

static inline void ofi_fp_u64(XXH3_state_t *st, uint64_t v)
{
    uint8_t b[8];
    ofi_store_le64(b, v);
    XXH3_64bits_update(st, b, sizeof b);
}

typedef struct ofi_ring_algo {
    const char *name;       /* in detail messages ("... not offered in ketama mode") */
    uint32_t hash_bits;     /* width of point and key hashes: 64 or 32 */
    bool seeded_hash;       /* keys hash to the ring's seeded 64-bit hash, so pins, lookup by
                               hash and bounded lookups are offered */
    bool id_order;          /* nodes always in identity order (else in insertion order, or in
                               identity order with OF_RING_SORT_HOSTS) */
    bool incremental;       /* a node's points depend only on itself: nodes that stay keep
                               theirs across a change (with id_order) */
    const char *same_ident; /* appended to a duplicate's detail: why two ids are one node */
    /* Check the options of a new ring and give the vnodes and seed it keeps (OF_ERR_INVALID with
     * detail). Unknown flags are refused before this. */
    int (*configure)(const of_ring_options *opts, uint32_t *vnodes, uint64_t *seed);
    /* The identity of an id (1..OF_NAME_MAX bytes): OF_OK, or OF_ERR_INVALID with detail. */
    int (*ident)(const uint8_t *id, size_t len, uint32_t *off, uint32_t *ident_len, uint32_t *num);
    /* OF_OK, or OF_ERR_INVALID with detail for a weight this ring cannot place. */
    int (*check_weight)(uint32_t weight, uint32_t vnodes);
    /* The most points a node of this weight can get (for the OF_RING_MAX_POINTS check). */
    uint64_t (*max_points)(uint32_t weight, uint32_t vnodes);
    /* The points of node @p nd of @p s (whose node_count is set), given the total weight with
     * weight 0 counted as 1. */
    uint32_t (*point_count)(const snap *s, const snap_node *nd, uint64_t total_weight);
    /* Write the nd->point_count points of @p nd. */
    void (*points)(const snap *s, const snap_node *nd, uint64_t *out);
    /* Key hash; the native one is inlined by snap_key_hash() instead of called through here. */
    uint64_t (*key_hash)(const void *key, size_t len, uint64_t seed);
    /* The algorithm's options and one node, into the fingerprint (little-endian fields). */
    void (*fp_options)(XXH3_state_t *st, const snap *s);
    void (*fp_node)(XXH3_state_t *st, const snap_node *nd);
} ofi_ring_algo;

extern const ofi_ring_algo ofi_ring_native; /* native.c */
/* Point j of native node @p nd (what native points() writes at j). */
uint64_t ofi_native_point(const snap *s, const snap_node *nd, uint32_t j);
extern const ofi_ring_algo ofi_ring_ketama; /* ketama.c */
extern const ofi_ring_algo ofi_ring_ketama_unweighted; /* ketama.c */

/* ---------------------------------------------------------------------------------------------
 * Lookup helpers
 * ------------------------------------------------------------------------------------------- */

/* ---- The compact layout ---- */

/* Nodes above this keep the wide layout (owners as 32-bit indexes). Tests build the ring with 0
 * to run the wide layout. */
#ifndef RING_COMPACT_MAX_NODES
#define RING_COMPACT_MAX_NODES 65536
#endif
/* Rings of up to this many nodes keep their points' owners in 8 bits: what every lookup reads
 * is then 3 bytes per point (high half and owner) instead of 4, so that more of a ring fits each
 * cache level. Tests build the ring with 0 to run the 16-bit owners on small rings. */
#ifndef RING_OWNER8_MAX_NODES
#define RING_OWNER8_MAX_NODES 256
#endif
/* Bits of the 32-bit suffix that are kept (the others read as 0). Tests build the ring with a
 * few bits to make suffix ties, which real hashes almost never give, common. */
#ifndef RING_SUFFIX_BITS
#define RING_SUFFIX_BITS 32
#endif
/* Entries of chi past the last point, so that a 16-wide read from any bucket start stays in. */
#define RING_CPAD 16

/* What a lookup on a snapshot takes, tested once instead of node count, pins and layout each:
 * most lookups meet a compact snapshot of two or more nodes and no pins. */
enum { SNAP_LOOKUP_GENERAL = 0, SNAP_LOOKUP_OWNER8 = 1, SNAP_LOOKUP_OWNER16 = 2 };

/* Owner of compact point i (i <= point_count: the entry past the last is the first's). */
static inline uint32_t snap_cowner(const snap *s, size_t i)
{
    return s->cowner8 ? s->cowner8[i] : s->cowner[i];
}

/* The bits of a hash the compact layout keeps: the bucket's and the suffix's. */
static inline uint64_t snap_cmask(const snap *s)
{
    return UINT64_MAX << (s->shift - RING_SUFFIX_BITS);
}

static inline uint32_t csuffix_at(unsigned shift, uint64_t h)
{
    return (uint32_t)((h & (UINT64_MAX << (shift - RING_SUFFIX_BITS))) >> (shift - 32));
}

static inline uint32_t snap_csuffix(const snap *s, uint64_t h)
{
    return csuffix_at(s->shift, h);
}

/* The kept bits of point i, in place (the bits below them 0). */
static inline uint64_t snap_cvalue(const snap *s, size_t bucket, size_t i)
{
    return (uint64_t)bucket << s->shift |
           (uint64_t)((uint32_t)s->chi[i] << 16 | s->clo[i]) << (s->shift - 32);
}

/* How many of a[0..n) are below @p key, n <= 16 (a has 16 readable entries). The bucket is
 * sorted, so the entries below the key are a prefix: the count is the length of that prefix, with
 * no branch on the key's position in its bucket (such a branch mispredicted about half the time,
 * and each miss emptied the pipeline of the lookups that the processor was overlapping). */
static inline size_t count_below16(const uint16_t *a, size_t n, uint16_t key)
{
#if defined(__SSE2__)
    unsigned valid = (1u << n) - 1;
    /* Unsigned compare as signed after flipping the top bit; 16 lanes in two registers. */
    const __m128i bias = _mm_set1_epi16((short)0x8000);
    __m128i k = _mm_set1_epi16((short)(key ^ 0x8000u));
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)a), bias);
    __m128i x1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(a + 8)), bias);
    unsigned lt = (unsigned)_mm_movemask_epi8(
        _mm_packs_epi16(_mm_cmplt_epi16(x0, k), _mm_cmplt_epi16(x1, k)));
    /* One bit scan counts the prefix (a popcount would be a libgcc call without -mpopcnt). Bit n
     * of ~lt is set. */
    return (size_t)__builtin_ctz(~(lt & valid));
#else
    size_t c = 0;
    for (size_t j = 0; j < 16; j++)
        c += (j < n) & (a[j] < key);
    return c;
#endif
}

/* Tie of the key's suffix with a point's (snapshot.c): the exact index, from point i of the
 * bucket ending at hi whose high half equals the key's. */
size_t ofi_snap_ctie(const snap *s, uint64_t h, size_t i, size_t hi);

/* Compact layout: index of the first point >= h, not wrapped (point_count when past the last).
 * Points of earlier buckets are below h, of later ones above; inside the bucket a suffix below
 * (above) the key's is a point below (above) h; only an equal suffix needs more bits. */
static inline size_t snap_cindex_in(const snap *s, const uint32_t *cbucket, const uint16_t *chi,
                                     const void *owners, size_t owner_bytes, unsigned shift,
                                     uint64_t h)
{
    size_t k = (size_t)(h >> shift);
    size_t lo = cbucket[k], hi = cbucket[k + 1];
    /* The key's high half of the suffix (bits [shift - 16, shift)), masked as the points are
     * only when the tests keep fewer than 16 bits. */
    uint16_t key = RING_SUFFIX_BITS >= 16 ? (uint16_t)(h >> (shift - 16))
                                          : (uint16_t)(csuffix_at(shift, h) >> 16);
    size_t n = hi - lo, i;
    /* The owner read that follows lands in these lines: start fetching them now, beside the
     * suffixes, rather than after the compare has chosen the point. */
    __builtin_prefetch((const char *)owners + lo * owner_bytes);
    if (__builtin_expect(n <= 16, 1)) {
        i = lo + count_below16(chi + lo, n, key);
    } else {
        i = lo;
        while (i < hi && chi[i] < key)
            i++;
    }
    /* A point at i with the key's high half ties: only more bits can order them. chi[i] is
     * readable for any i <= point_count (RING_CPAD, zeroed); at i == hi it is the next bucket's
     * first point (or the pad), whose rare equality only takes the exact path, which finds no
     * tie there. One load and a branch almost never taken, off the answer's dependency chain. */
    if (__builtin_expect(chi[i] == key, 0))
        return ofi_snap_ctie(s, h, i, hi);
    return i;
}

/* The same, on the snapshot's own fields. (Loops over many keys pass them as locals instead: a
 * store through a uint64_t pointer may alias the snapshot's size_t fields, and the compiler would
 * reload them for every key.) */
static inline size_t snap_cindex(const snap *s, uint64_t h)
{
    if (s->cowner8)
        return snap_cindex_in(s, s->cbucket, s->chi, s->cowner8, 1, s->shift, h);
    return snap_cindex_in(s, s->cbucket, s->chi, s->cowner, 2, s->shift, h);
}

/* Owner of point i (either layout; i < point_count). */
static inline uint32_t snap_owner_at(const snap *s, size_t i)
{
    return s->compact ? snap_cowner(s, i) : s->owners[i];
}

/* Index of the first point >= h, wrapping to 0. The snapshot has points. */
static inline size_t snap_point(const snap *s, uint64_t h)
{
    if (s->compact) {
        size_t i = snap_cindex(s, h);
        return i == s->point_count ? 0 : i;
    }
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
    if (__builtin_expect(s->compact, 1))
        return snap_cowner(s, snap_cindex(s, h)); /* past the last point: the first's owner */
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
    /* The library's own hash inline (the common case costs no call); others through the table. */
    if (__builtin_expect(s->algo == &ofi_ring_native, 1))
        return ofi_hash64(key, key_len, s->seed);
    return s->algo->key_hash(key, key_len, s->seed);
}

/* The node hash @p h is pinned to, or UINT32_MAX. */
static inline uint32_t snap_pinned(const snap *s, uint64_t h)
{
    size_t at = ofi_lower_bound_u64(s->pin_hash, 0, s->pin_count, h);
    return at < s->pin_count && s->pin_hash[at] == h ? s->pin_node[at] : UINT32_MAX;
}

/* Owner of hash @p h, honouring pins (native). The snapshot has nodes. */
static inline uint32_t snap_owner(const snap *s, uint64_t h)
{
    if (s->pin_count) {
        uint32_t pinned = snap_pinned(s, h);
        if (pinned != UINT32_MAX)
            return pinned;
    }
    if (s->node_count == 1)
        return 0;
    return snap_point_owner(s, h);
}

#endif
