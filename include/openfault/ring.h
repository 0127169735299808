/**
 * @file ring.h
 * @brief Consistent-hash ring ::of_ring: weighted, deterministic placement, lookups that never
 *        block on writers, and a libmemcached-compatible ketama mode.
 *
 * **Native mode** (the default, see docs/ring.md for the exact bytes): a node with id `id` and
 * weight `w` owns the points `XXH3_64bits_withSeed(id || le32(i), seed)` for `i < w * vnodes`;
 * a key is hashed with `XXH3_64bits_withSeed(key, seed)` (= of_hash64()) and belongs to the node
 * of the first point `>=` its hash, wrapping past the last point to the first. Equal points are
 * ordered by `memcmp` of the ids, shorter id first. Placement is therefore a pure function of
 * (seed, vnodes, {(id, weight)}): insertion order, platform and endianness do not matter, and a
 * node's points depend on its own weight only.
 *
 * **Ketama mode** (::OF_RING_KETAMA) chooses the same server as libmemcached's weighted ketama
 * (`memcached_generate_hash` with `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`) for every key, or with
 * ::OF_RING_KETAMA_UNWEIGHTED as its unweighted ketama (`MEMCACHED_BEHAVIOR_KETAMA`: 100 points
 * per server, weights ignored, the one-at-a-time hash). It follows
 * ketama's model: ids are text `host[:port]` (port 11211 when absent, IPv6 as `[addr]` or
 * `[addr]:port`), weight 0 counts as 1, and server order (which decides ties and the
 * weight-to-points rounding) is insertion order, or host-then-port order with
 * ::OF_RING_SORT_HOSTS. In this mode these functions answer ::OF_ERR_NOT_SUPPORTED:
 * of_ring_lookup_hash(), of_ring_lookup_bounded(), of_ring_pin(), of_ring_pin_hash(),
 * of_ring_unpin(). Everything else works, with 32-bit hashes (`diff` ranges lie in
 * [0, 2^32 - 1]).
 *
 * **Concurrency.** Every lookup and every read function may run on any number of threads while
 * another thread changes membership: writers build a new immutable snapshot and publish it
 * atomically, so a reader sees either the old or the new ring, never a mix, and never waits for
 * a writer (writers are serialized by an internal mutex that readers never take; a writer never
 * waits for readers either). A reader announces itself on one of a fixed set of cache-line-sized
 * counters chosen per thread (readers on different threads do not share a written cache line
 * until there are more reading threads than counters); old snapshots are freed once no
 * announcement that could see them is left. A thread's first lookup on any ring costs one extra
 * atomic increment of a process-wide counter to choose its slot; there is no registration and
 * nothing to clean up at thread exit.
 *
 * On error every output is left untouched and the ring is unchanged.
 */
#ifndef OPENFAULT_RING_H
#define OPENFAULT_RING_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A consistent-hash ring. Thread-safety: safe for concurrent readers; writers are serialized
 *  internally and may run concurrently with readers (see the file comment). */
typedef struct of_ring of_ring;

/** An immutable version of a ring, kept alive until of_ring_view_release().
 *  Thread-safety: safe: any thread, any time (read-only); release it once. */
typedef struct of_ring_view of_ring_view;

/** Placement algorithms. */
typedef enum of_ring_algorithm {
    OF_RING_NATIVE = 0, /**< XXH3 points, weight x vnodes points per node (default) */
    OF_RING_KETAMA = 1  /**< libmemcached ketama: weighted (MD5, 160 points per server share),
                             or unweighted with ::OF_RING_KETAMA_UNWEIGHTED */
} of_ring_algorithm;

/** Option flag (ketama mode): order servers by host (strcmp), then port, like libmemcached's
 *  `MEMCACHED_BEHAVIOR_SORT_HOSTS`, instead of insertion order. */
#define OF_RING_SORT_HOSTS 0x1u

/** Option flag (ketama mode): libmemcached's unweighted ketama (`MEMCACHED_BEHAVIOR_KETAMA`)
 *  instead of the weighted one: 100 points per server whatever its weight (weights are kept and
 *  reported but do not place), point `d` of a server the one-at-a-time hash of the same
 *  `host-d` / `host:port-d` string, keys hashed with one-at-a-time (bytes as x86-64's signed
 *  `char`). A flag, not a new ::of_ring_algorithm value, because it is still ketama mode: every
 *  rule of ketama mode above holds, and code that tests `algorithm == OF_RING_KETAMA` keeps
 *  working. A library older than this flag rejects it (::OF_ERR_INVALID, unknown flags) rather
 *  than route by the other rules. */
#define OF_RING_KETAMA_UNWEIGHTED 0x2u

/** Default virtual nodes per unit of weight in native mode (reaches busiest/mean <= 1.10 for 1M
 *  keys over 100 equal nodes; see docs/ring.md). */
#define OF_RING_DEFAULT_VNODES 1024u

/** Most points a native ring may hold in total (sum of weight x vnodes over all nodes). */
#define OF_RING_MAX_POINTS (1u << 28)

/**
 * Ring options. Fill with of_ring_options_init() first, then change fields.
 * Thread-safety: one thread at a time (copied by of_ring_create()).
 */
typedef struct of_ring_options {
    uint32_t struct_size; /**< set by of_ring_options_init() to the caller's sizeof; members
                               past it take their defaults */
    uint32_t algorithm;   /**< ::of_ring_algorithm; default ::OF_RING_NATIVE */
    uint32_t vnodes;      /**< native: points per unit of weight, 1..::OF_RING_MAX_POINTS
                               (2^28; of_ring_create() answers ::OF_ERR_INVALID above it);
                               default ::OF_RING_DEFAULT_VNODES. Ignored by ketama (fixed at
                               160). */
    uint32_t flags;       /**< ::OF_RING_SORT_HOSTS, ::OF_RING_KETAMA_UNWEIGHTED (ketama only)
                               or 0 */
    uint64_t seed;        /**< native: seed of point and key hashes; default 0. Ignored by
                               ketama. */
    /* members above: ABI 1 */
    /* Later members go here, each with a default for callers whose struct_size ends before it
     * (of_ring_options_init() and of_ring_create() accept any size from the ABI 1 end up). */
} of_ring_options;

/**
 * Fill @p opts with the defaults (native, ::OF_RING_DEFAULT_VNODES, seed 0, no flags) and set its
 * `struct_size`.
 * @param opts         options to fill
 * @param struct_size  `sizeof *opts` as the caller compiled it
 * @return ::OF_OK; ::OF_ERR_INVALID if @p opts is NULL; ::OF_ERR_ABI if @p struct_size is larger
 *         than this library's struct or smaller than its first version (nothing is written)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_options_init(of_ring_options *opts, size_t struct_size);

/**
 * Load callback of of_ring_lookup_bounded(): the caller's current load of a node.
 * @param ctx     the context given to of_ring_lookup_bounded()
 * @param tag     the node's tag
 * @param id      the node's id, @p id_len bytes; valid only during the call
 * @param id_len  length of @p id
 * @return the node's load (e.g. keys or connections currently assigned to it)
 */
typedef uint64_t (*of_ring_load_fn)(void *ctx, uint64_t tag, const void *id, size_t id_len);

/**
 * Node callback of of_ring_foreach().
 * @param ctx     the context given to of_ring_foreach()
 * @param id      the node's id, @p id_len bytes; valid only during the call
 * @param id_len  length of @p id
 * @param weight  the node's weight as given
 * @param tag     the node's tag
 * @return 0 to continue, non-zero to stop (of_ring_foreach() then returns that value)
 */
typedef int (*of_ring_node_fn)(void *ctx, const void *id, size_t id_len, uint32_t weight,
                               uint64_t tag);

/** One hash range whose owner differs between two views (of_ring_diff()). Ids point into the
 *  views and are valid only during the callback; an id is NULL (length 0, tag 0) on the side of
 *  an empty ring. */
typedef struct of_ring_range {
    uint64_t first;          /**< first key hash of the range (inclusive) */
    uint64_t last;           /**< last key hash of the range (inclusive) */
    const void *old_id;      /**< owner in the old view */
    size_t old_id_len;       /**< length of @c old_id */
    uint64_t old_tag;        /**< tag of the old owner */
    const void *new_id;      /**< owner in the new view */
    size_t new_id_len;       /**< length of @c new_id */
    uint64_t new_tag;        /**< tag of the new owner */
} of_ring_range;

/** One pin that differs between two views (of_ring_diff()): added (old id NULL), removed (new id
 *  NULL) or moved to another node. Ids are valid only during the callback. */
typedef struct of_ring_pin_change {
    uint64_t hash;           /**< the pinned key's hash */
    const void *old_id;      /**< node in the old view, or NULL */
    size_t old_id_len;       /**< length of @c old_id */
    const void *new_id;      /**< node in the new view, or NULL */
    size_t new_id_len;       /**< length of @c new_id */
} of_ring_pin_change;

/** Range callback of of_ring_diff(); return 0 to continue, non-zero to stop. */
typedef int (*of_ring_range_fn)(void *ctx, const of_ring_range *range);
/** Pin callback of of_ring_diff(); return 0 to continue, non-zero to stop. */
typedef int (*of_ring_pin_fn)(void *ctx, const of_ring_pin_change *change);

/* ---------------------------------------------------------------------------------------------
 * Lifecycle and limits
 * ------------------------------------------------------------------------------------------- */

/**
 * Create an empty ring.
 * @param opts      options (of_ring_options_init()), or NULL for the defaults; copied
 * @param out_ring  receives the ring on ::OF_OK; untouched on error. Free with of_ring_destroy().
 * @return ::OF_OK; ::OF_ERR_INVALID NULL @p out_ring, unknown algorithm or flags, vnodes 0 or
 *         above ::OF_RING_MAX_POINTS (2^28) in native mode, ::OF_RING_SORT_HOSTS or
 *         ::OF_RING_KETAMA_UNWEIGHTED in native mode; ::OF_ERR_ABI `struct_size` larger than this
 *         library's or smaller than the first version; ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_create(const of_ring_options *opts, of_ring **out_ring);

/**
 * Destroy a ring and every snapshot no view holds. Views taken earlier stay valid until released.
 * No other thread may use the ring during or after this call (like `free()`).
 * @param ring  the ring, or NULL (no-op)
 * @note Thread-safety: one thread at a time, with no concurrent use of @p ring.
 */
OF_API void of_ring_destroy(of_ring *ring);

/** @return ::OF_NAME_MAX, the longest node id in bytes (ids are 1..this long).
 *  @note Thread-safety: safe: any thread, any time. */
OF_API size_t of_ring_id_max(void);

/** @return ::OF_RING_MAX_POINTS.  @note Thread-safety: safe: any thread, any time. */
OF_API size_t of_ring_max_points(void);

/** @return `sizeof(of_ring_options)` of this library (for bindings).
 *  @note Thread-safety: safe: any thread, any time. */
OF_API size_t of_ring_options_size(void);

/* ---------------------------------------------------------------------------------------------
 * Membership (writers)
 * ------------------------------------------------------------------------------------------- */

/**
 * Add a node. Publishes a new snapshot and increments the generation.
 * @param ring    the ring
 * @param id      node id bytes (native: any bytes; ketama: text `host[:port]`), copied
 * @param id_len  1..::OF_NAME_MAX
 * @param weight  native: >= 1, with `weight * vnodes` points; ketama: any (0 counts as 1;
 *                unweighted ketama: kept but ignored)
 * @param tag     caller value returned by lookups
 * @return ::OF_OK; ::OF_ERR_INVALID NULL/empty/oversized id, weight 0 (native), a bad ketama id
 *         (empty host, bad or zero port, unbalanced brackets), or a point count above
 *         ::OF_RING_MAX_POINTS; ::OF_ERR_EXISTS a node with this id (ketama: same host and port)
 *         is present; ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time (writers are serialized; readers continue).
 */
OF_API int of_ring_add(of_ring *ring, const void *id, size_t id_len, uint32_t weight,
                       uint64_t tag);

/** One node for of_ring_add_many(). */
typedef struct of_ring_node_spec {
    const void *id;  /**< node id bytes, copied */
    size_t id_len;   /**< 1..::OF_NAME_MAX */
    uint32_t weight; /**< as of_ring_add() */
    uint64_t tag;    /**< caller value returned by lookups */
} of_ring_node_spec;

/**
 * Add several nodes at once: one new snapshot, one generation step, all or nothing. Building a
 * large ring this way costs one build instead of one per node. The result is the same ring as
 * adding the nodes one by one in array order.
 * @param ring   the ring
 * @param nodes  @p count node descriptions; ids are copied
 * @param count  number of nodes (0 is a no-op that returns ::OF_OK without a new generation)
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments or any node invalid as for of_ring_add();
 *         ::OF_ERR_EXISTS a node is already present or appears twice in @p nodes; ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_add_many(of_ring *ring, const of_ring_node_spec *nodes, size_t count);

/**
 * Remove a node, and every pin to it.
 * @param ring    the ring
 * @param id      node id, @p id_len bytes
 * @param id_len  1..::OF_NAME_MAX
 * @return ::OF_OK; ::OF_ERR_INVALID NULL ring/id, empty or oversized id; ::OF_ERR_NOT_FOUND no
 *         such node; ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_remove(of_ring *ring, const void *id, size_t id_len);

/**
 * Change a node's weight (native: only keys to or from that node move).
 * @param ring    the ring
 * @param id      node id, @p id_len bytes
 * @param id_len  1..::OF_NAME_MAX
 * @param weight  new weight, as of_ring_add()
 * @return ::OF_OK; ::OF_ERR_INVALID as of_ring_add(); ::OF_ERR_NOT_FOUND no such node;
 *         ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_set_weight(of_ring *ring, const void *id, size_t id_len, uint32_t weight);

/**
 * Pin a key to a node: lookups of this key (and of its hash) answer @p id, whatever the points
 * say. The pin is keyed by the key's 64-bit hash and dropped when its node is removed. A pinned
 * key's preference list (of_ring_lookup_n()) is the pinned node, then the hashed order without
 * it. of_ring_lookup_bounded() ignores pins.
 * @param ring     the ring (native mode)
 * @param key      key bytes, @p key_len long (0 allowed)
 * @param key_len  length of @p key
 * @param id       node id, @p id_len bytes; the node must be present
 * @param id_len   1..::OF_NAME_MAX
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments, bad id; ::OF_ERR_NOT_FOUND no such node;
 *         ::OF_ERR_EXISTS the key is already pinned (unpin it first); ::OF_ERR_NOT_SUPPORTED
 *         ketama mode; ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_pin(of_ring *ring, const void *key, size_t key_len, const void *id,
                       size_t id_len);

/**
 * of_ring_pin() for a precomputed key hash (of_hash64(key, seed)).
 * @param ring    the ring (native mode)
 * @param hash    the key's hash
 * @param id      node id, @p id_len bytes
 * @param id_len  1..::OF_NAME_MAX
 * @return as of_ring_pin()
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_pin_hash(of_ring *ring, uint64_t hash, const void *id, size_t id_len);

/**
 * Remove the pin of a key.
 * @param ring     the ring (native mode)
 * @param key      key bytes, @p key_len long
 * @param key_len  length of @p key
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments; ::OF_ERR_NOT_FOUND the key is not pinned;
 *         ::OF_ERR_NOT_SUPPORTED ketama mode; ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_unpin(of_ring *ring, const void *key, size_t key_len);

/* ---------------------------------------------------------------------------------------------
 * Lookups (readers)
 * ------------------------------------------------------------------------------------------- */

/**
 * The node that owns @p key: its tag, and optionally a copy of its id.
 * @param ring         the ring
 * @param key          key bytes, @p key_len long (need not be NUL-terminated; 0 length allowed)
 * @param key_len      length of @p key
 * @param out_tag      receives the owner's tag (may be NULL)
 * @param out_id       buffer receiving a copy of the owner's id (may be NULL)
 * @param id_cap       capacity of @p out_id in bytes
 * @param out_id_len   receives the id's length (may be NULL); set also on ::OF_ERR_NOSPACE so
 *                     the caller can size a buffer
 * @return ::OF_OK; ::OF_ERR_INVALID NULL ring, NULL key with non-zero length; ::OF_ERR_EMPTY no
 *         node; ::OF_ERR_NOSPACE @p out_id given and @p id_cap too small (only @p out_id_len set)
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_lookup(const of_ring *ring, const void *key, size_t key_len, uint64_t *out_tag,
                          void *out_id, size_t id_cap, size_t *out_id_len);

/**
 * of_ring_lookup() for a precomputed key hash (of_hash64(key, seed)); honours pins.
 * @param ring         the ring (native mode)
 * @param hash         the key's hash
 * @param out_tag      receives the owner's tag (may be NULL)
 * @param out_id       buffer for the owner's id (may be NULL)
 * @param id_cap       capacity of @p out_id
 * @param out_id_len   receives the id's length (may be NULL)
 * @return as of_ring_lookup(), plus ::OF_ERR_NOT_SUPPORTED in ketama mode
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_lookup_hash(const of_ring *ring, uint64_t hash, uint64_t *out_tag, void *out_id,
                               size_t id_cap, size_t *out_id_len);

/**
 * The first @p n distinct nodes met walking clockwise from @p key (a replica preference list).
 * Prefix-stable: the first k answers of an n-lookup are the k-lookup. A pinned key starts with its
 * pinned node, then the hashed order without it.
 * @param ring      the ring
 * @param key       key bytes, @p key_len long
 * @param key_len   length of @p key
 * @param n         how many nodes, 1..node count
 * @param out_tags  array of @p n receiving the tags in preference order
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments, @p n 0 or above the node count (when the
 *         ring is not empty); ::OF_ERR_EMPTY no node; ::OF_ERR_NOMEM
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_lookup_n(const of_ring *ring, const void *key, size_t key_len, size_t n,
                            uint64_t *out_tags);

/**
 * Bounded-load lookup (Mirrokni, Thorup, Zadimoghaddam 2018): walk the preference list of @p key
 * and answer the first node whose load is below the capacity
 * `ceil(c * (total_load + 1) / node_count)`. @p load is called only for nodes on that walk, in
 * order, at most once each. Pins are ignored.
 * @param ring        the ring (native mode)
 * @param key         key bytes, @p key_len long
 * @param key_len     length of @p key
 * @param c           balance factor, finite and > 1 (e.g. 1.25)
 * @param total_load  current total load over all nodes (not counting this key)
 * @param load        callback giving a node's current load; must not destroy the ring (it may
 *                    change membership, which does not affect this call)
 * @param ctx         passed to @p load as given
 * @param out_tag     receives the chosen node's tag
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments, @p c not > 1; ::OF_ERR_EMPTY no node;
 *         ::OF_ERR_NOSPACE every node reported a load at or above the capacity (inconsistent
 *         loads); ::OF_ERR_NOT_SUPPORTED ketama mode; ::OF_ERR_NOMEM
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_lookup_bounded(const of_ring *ring, const void *key, size_t key_len, double c,
                                  uint64_t total_load, of_ring_load_fn load, void *ctx,
                                  uint64_t *out_tag);

/**
 * The owners' tags of @p count keys, as @p count calls of of_ring_lookup() on one version of the
 * ring: one reader protection for the whole batch, and the keys' memory accesses overlapped (their
 * bucket entries and points are prefetched a round of keys ahead). For hot paths that route many
 * keys at once (a multi-get, a batch of writes).
 * @param ring      the ring
 * @param keys      @p count key pointers; a key may be NULL only if its length is 0
 * @param key_lens  @p count key lengths
 * @param count     number of keys (0 allowed: ::OF_OK, or ::OF_ERR_EMPTY with no node)
 * @param out_tags  array of @p count receiving the owners' tags, in key order
 * @return ::OF_OK; ::OF_ERR_INVALID NULL ring, NULL @p keys, @p key_lens or @p out_tags with
 *         @p count > 0, a NULL key with non-zero length (nothing is written); ::OF_ERR_EMPTY no
 *         node (nothing is written)
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership;
 *       every key of one batch is answered by the same version of the ring.
 */
OF_API int of_ring_lookup_batch(const of_ring *ring, const void *const *keys,
                                const size_t *key_lens, size_t count, uint64_t *out_tags);

/* ---------------------------------------------------------------------------------------------
 * Inspection (readers)
 * ------------------------------------------------------------------------------------------- */

/**
 * Whether a node is present.
 * @param ring        the ring
 * @param id          node id, @p id_len bytes (ketama: compared as host and port)
 * @param id_len      length of @p id
 * @param out_present receives 1 or 0
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments or an empty/oversized id
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_contains(const of_ring *ring, const void *id, size_t id_len, int *out_present);

/**
 * @param ring  the ring
 * @return the number of nodes (0 for NULL)
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API size_t of_ring_node_count(const of_ring *ring);

/**
 * @param ring  the ring
 * @return the generation: 0 at creation, +1 on every successful change (0 for NULL)
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API uint64_t of_ring_generation(const of_ring *ring);

/**
 * Call @p fn for every node of the current snapshot: native mode in id order (memcmp, shorter
 * first), ketama mode in server index order.
 * @param ring  the ring
 * @param fn    callback; may change the ring's membership (the walk continues on its snapshot)
 * @param ctx   passed to @p fn as given
 * @return ::OF_OK after the last node; the callback's non-zero value if it stopped the walk
 *         (a callback should not return values that collide with status codes it wants to tell
 *         apart); ::OF_ERR_INVALID NULL ring or @p fn
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_foreach(const of_ring *ring, of_ring_node_fn fn, void *ctx);

/**
 * The exact share of the hash space a node owns (sum of its arcs / 2^64, or / 2^32 in ketama
 * mode), computed from integer arc lengths and rounded once to double. Pins are not counted.
 * @param ring       the ring
 * @param id         node id, @p id_len bytes
 * @param id_len     length of @p id
 * @param out_share  receives the share in [0, 1]
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments; ::OF_ERR_NOT_FOUND no such node;
 *         ::OF_ERR_NOMEM (native rings of up to 65,536 nodes recompute the points in full)
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_ownership(const of_ring *ring, const void *id, size_t id_len,
                             double *out_share);

/**
 * A 64-bit membership fingerprint: equal on every process whose ring has the same options
 * (algorithm, seed, vnodes, flags), nodes and weights (ketama: in the same server order) and pins;
 * tags and generation are excluded.
 * @param ring  the ring
 * @return the fingerprint (0 for NULL)
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API uint64_t of_ring_fingerprint(const of_ring *ring);

/* ---------------------------------------------------------------------------------------------
 * Views and diff
 * ------------------------------------------------------------------------------------------- */

/**
 * Take the current version of the ring as an immutable view (e.g. before a change, to diff it
 * with a later one). The view stays valid after the ring changes or is destroyed.
 * @param ring      the ring
 * @param out_view  receives the view on ::OF_OK; free with of_ring_view_release()
 * @return ::OF_OK; ::OF_ERR_INVALID NULL arguments
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_view_take(const of_ring *ring, of_ring_view **out_view);

/**
 * Release a view.
 * @param view  the view, or NULL (no-op)
 * @note Thread-safety: safe: any thread, any time, once per view.
 */
OF_API void of_ring_view_release(of_ring_view *view);

/**
 * @param view  a view
 * @return the ring generation the view shows (0 for NULL)
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API uint64_t of_ring_view_generation(const of_ring_view *view);

/**
 * @param view  a view
 * @return the fingerprint of the view (as of_ring_fingerprint()), 0 for NULL
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API uint64_t of_ring_view_fingerprint(const of_ring_view *view);

/**
 * of_ring_lookup() on a view: the owner of @p key in the version of the ring the view shows. The
 * view's reference already protects that version, so this call does no reader protection at all
 * (the cheapest single lookup); it answers as the ring did when the view was taken, also after
 * later changes or after the ring is destroyed.
 * @param view         a view (of_ring_view_take())
 * @param key          key bytes, @p key_len long (0 length allowed)
 * @param key_len      length of @p key
 * @param out_tag      receives the owner's tag (may be NULL)
 * @param out_id       buffer receiving a copy of the owner's id (may be NULL)
 * @param id_cap       capacity of @p out_id in bytes
 * @param out_id_len   receives the id's length (may be NULL); set also on ::OF_ERR_NOSPACE
 * @return ::OF_OK; ::OF_ERR_INVALID NULL view, NULL key with non-zero length; ::OF_ERR_EMPTY the
 *         view has no node; ::OF_ERR_NOSPACE @p out_id given and @p id_cap too small
 * @note Thread-safety: safe: any thread, any time, while the view is held.
 */
OF_API int of_ring_view_lookup(const of_ring_view *view, const void *key, size_t key_len,
                               uint64_t *out_tag, void *out_id, size_t id_cap,
                               size_t *out_id_len);

/**
 * of_ring_lookup_batch() on a view (no reader protection; the version the view shows).
 * @param view      a view (of_ring_view_take())
 * @param keys      @p count key pointers; a key may be NULL only if its length is 0
 * @param key_lens  @p count key lengths
 * @param count     number of keys (0 allowed: ::OF_OK, or ::OF_ERR_EMPTY with no node)
 * @param out_tags  array of @p count receiving the owners' tags, in key order
 * @return as of_ring_lookup_batch(), with NULL @p view in place of NULL ring
 * @note Thread-safety: safe: any thread, any time, while the view is held.
 */
OF_API int of_ring_view_lookup_batch(const of_ring_view *view, const void *const *keys,
                                     const size_t *key_lens, size_t count, uint64_t *out_tags);

/**
 * The hash ranges whose owner differs between two views of rings with the same algorithm and
 * seed (what a migration must copy), in ascending order of hash, adjacent ranges with the same
 * pair of owners merged; then, separately, the pins that differ, in ascending order of hash.
 * Owners are compared as servers: in ketama mode two spellings of one host and port (`a`,
 * `a:11211`, `[a]:11211`) are one owner, so a server removed and added again under another
 * spelling moves no key and yields no range; in native mode the id is the server. Each side of a
 * range reports its own view's spelling. Keys in a range [first, last] moved from @c old_id to
 * @c new_id (ignoring pins).
 * @param old_view  the earlier view
 * @param new_view  the later view
 * @param range_fn  called once per changed range (may be NULL)
 * @param pin_fn    called once per changed pin (may be NULL)
 * @param ctx       passed to both callbacks as given
 * @return ::OF_OK; a callback's non-zero value if it stopped; ::OF_ERR_INVALID NULL views or
 *         views of different algorithm or seed (weighted and unweighted ketama count as
 *         different: their keys hash differently); ::OF_ERR_NOMEM
 * @note Thread-safety: safe: any thread, any time.
 */
OF_API int of_ring_diff(const of_ring_view *old_view, const of_ring_view *new_view,
                        of_ring_range_fn range_fn, of_ring_pin_fn pin_fn, void *ctx);

/**
 * Bytes of memory the current snapshot uses (points, owners, bucket index, nodes, pins).
 * @param ring  the ring
 * @return the size in bytes (0 for NULL)
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API size_t of_ring_memory_usage(const of_ring *ring);

/* ---------------------------------------------------------------------------------------------
 * Metrics
 * ------------------------------------------------------------------------------------------- */

/**
 * Figures of a ring's current snapshot (of_ring_get_stats()); docs/observability.md says what
 * each means and what to alert on. Shares are integer arc lengths over 2^64 (2^32 in ketama
 * mode), rounded once; pins are not counted in them. Ketama shares are exact; a native ring's are
 * summed from the bits its compact layout keeps, within 2^-29 of of_ring_ownership()'s exact ones. Pass a struct whose `struct_size` is
 * set to its sizeof; members past that size are not written.
 * Thread-safety: one thread at a time.
 */
typedef struct of_ring_stats {
    uint32_t struct_size;        /**< set by the caller to `sizeof(of_ring_stats)` */
    uint32_t algorithm;          /**< ::of_ring_algorithm */
    uint64_t generation;         /**< as of_ring_generation() */
    uint64_t fingerprint;        /**< as of_ring_fingerprint() */
    uint64_t nodes;              /**< nodes */
    uint64_t points;             /**< points (virtual nodes) in all */
    uint64_t node_points_min;    /**< fewest points of one node (0 for an empty ring) */
    uint64_t node_points_max;    /**< most points of one node */
    uint64_t pins;               /**< pinned keys */
    uint64_t memory_bytes;       /**< as of_ring_memory_usage() */
    uint64_t nodes_added;        /**< nodes added since creation (of_ring_add_many() counts each) */
    uint64_t nodes_removed;      /**< nodes removed since creation */
    uint64_t weight_changes;     /**< successful of_ring_set_weight() calls since creation */
    uint64_t last_change_generation; /**< generation of the last add, remove or weight change
                                          (0: none yet); pin changes do not count */
    double busiest_share;        /**< largest share of the hash space one node owns (0 if empty) */
    double mean_share;           /**< 1 / nodes (0 if empty) */
    double busiest_ratio;        /**< largest ratio of a node's share to its weight's share of the
                                      total weight (ketama: weight 0 counts as 1; unweighted
                                      ketama: every weight counts as 1); with equal weights
                                      busiest_share / mean_share; 1 is perfect balance */
    double last_moved_share;     /**< share of the hash space whose owner changed at the last
                                      add, remove or weight change (1: from or to an empty ring) */
    /* members above: ABI 1 (the first version of this struct); add new members below only */
} of_ring_stats;

/**
 * Read the figures of the ring's current snapshot, all from one version of the ring. The
 * balance figures cost one pass over the points (O(points), on a view: lookups never wait for
 * it); the others are kept by the writers.
 * @param ring       the ring
 * @param out_stats  `out_stats->struct_size` must be set by the caller; filled up to it; untouched
 *                   on error
 * @return ::OF_OK; ::OF_ERR_INVALID NULL argument; ::OF_ERR_ABI a struct_size larger than this
 *         library's or smaller than its first version; ::OF_ERR_NOMEM
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_get_stats(const of_ring *ring, of_ring_stats *out_stats);

/** @return `sizeof(of_ring_stats)` of this library (for bindings).
 *  @note Thread-safety: safe: any thread, any time. */
OF_API size_t of_ring_stats_size(void);

/**
 * Write the ring's metrics (the ::of_ring_stats figures; names in docs/observability.md) into
 * @p buf, NUL-terminated, in the Prometheus text exposition format or as JSON, with the
 * conventions of of_lock_provider_metrics(). `ring_info` labels the algorithm `native`,
 * `ketama` or `ketama_unweighted` (::OF_RING_KETAMA_UNWEIGHTED). There is no source label: to export several rings
 * in one scrape, give each a constant label (e.g. `ring="sessions"`).
 * @param ring     the ring
 * @param format   ::OF_METRICS_PROMETHEUS or ::OF_METRICS_JSON
 * @param prefix   prepended to every metric name; NULL: "openfault_". Must match
 *                 `[a-zA-Z_:][a-zA-Z0-9_:]*` (or be ""), at most 128 bytes
 * @param labels   constant labels as name, value, ..., NULL (NULL: none); names match
 *                 `[a-zA-Z_][a-zA-Z0-9_]*`, do not start with "__" and are not "le", "change",
 *                 "algorithm" or "fingerprint"; values are any UTF-8 text; at most 32 pairs
 * @param buf      output (may be NULL when @p cap is 0)
 * @param cap      bytes at @p buf
 * @param out_len  set to the text's length without the NUL, also on ::OF_ERR_NOSPACE (then
 *                 @p cap must be at least *out_len + 1); may be NULL
 * @return ::OF_OK; ::OF_ERR_INVALID NULL ring, NULL @p buf with @p cap > 0, bad format, prefix
 *         or label; ::OF_ERR_NOSPACE @p cap too small; ::OF_ERR_NOMEM
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership
 *       (every figure comes from one version of the ring).
 */
OF_API int of_ring_metrics(const of_ring *ring, int format, const char *prefix,
                           const char *const *labels, char *buf, size_t cap, size_t *out_len);

/**
 * As of_ring_metrics(), but through @p write in pieces (no size limit, no NUL).
 * @return ::OF_OK; ::OF_ERR_INVALID as of_ring_metrics(), or @p write NULL; ::OF_ERR_NOMEM; the
 *         status @p write stopped with
 * @note Thread-safety: safe for concurrent readers, also while another thread changes membership.
 */
OF_API int of_ring_metrics_write(const of_ring *ring, int format, const char *prefix,
                                 const char *const *labels, of_metrics_write_fn write, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* OPENFAULT_RING_H */
