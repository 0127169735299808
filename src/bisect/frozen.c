/* of_index_frozen: a static S+ tree over a copy of the sorted keys.
 *
 * Layout. The bottom layer is the sorted key array itself, cut into blocks of SP_B keys and
 * padded with UINT64_MAX to whole blocks, so rank/select/iteration stay plain array accesses.
 * Each internal node holds SP_B separators for SP_B + 1 children: separator j of node i at layer
 * h is the first key of the subtree of child i*(SP_B+1) + j + 1 (UINT64_MAX when that child
 * does not exist). The number of separators < x in a node is the child whose subtree holds the
 * lower bound of x (or whose end is it), so a search is one node per layer plus one leaf block,
 * each a whole-node count without a data-dependent branch. Layers are stored root first.
 *
 * Internal nodes store keys XOR 2^63, so that the signed 64-bit compare that AVX2 has
 * (vpcmpgtq) orders them as unsigned; the scalar path compares the same biased values as signed.
 * The leaf layer stays unbiased (it is also the key array every other query reads) and is
 * biased on the fly. The AVX2 path is chosen at freeze time with __builtin_cpu_supports and
 * compiled through target attributes, so the library itself needs no -march flag.
 */
#include <stdlib.h>
#include <string.h>

#include <openfault/bisect.h>

#include "bisect/frozen_layout.h"
#include "bisect/index_internal.h"
#include "common/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SP_HAVE_AVX2 1
#include <immintrin.h>
#else
#define SP_HAVE_AVX2 0
#endif

#define SP_BIAS (UINT64_C(1) << 63)
/* Lookups per lockstep group in the batch search (see of_index_frozen_lower_bound_batch). */
#define SP_BATCH_GROUP 16
/* Group prefetches (prefetch_group) go only into layers larger than the last-level cache
 * (32 MiB on this machine class): measured, they pay off there and cost bandwidth for nothing
 * while the layer still fits in L3. */
#define SP_PREFETCH_LAYER_BYTES ((size_t)32 << 20)
/* The children of one node are SP_FAN consecutive nodes: this many cache lines. */
#define SP_GROUP_LINES ((size_t)SP_FAN * SP_B * sizeof(uint64_t) / 64)

static struct ofi_view view_of(const of_index_frozen *f)
{
    struct ofi_view v = {f->keys, f->payloads, f->count};
    return v;
}

/* ---- scalar path ------------------------------------------------------------------------ */

static inline size_t node_rank_scalar(const uint64_t *node, int64_t xs)
{
    size_t c = 0;
    for (unsigned j = 0; j < SP_B; j++)
        c += (size_t)((int64_t)node[j] < xs);
    return c;
}

static inline size_t leaf_rank_scalar(const uint64_t *leaf, uint64_t x)
{
    size_t c = 0;
    for (unsigned j = 0; j < SP_B; j++)
        c += (size_t)(leaf[j] < x);
    return c;
}

/* Once the node of layer h - 1 is known (and its load issued), all SP_FAN children it may lead
 * to in layer h - 2 are consecutive: prefetching the whole group lets the two levels' DRAM misses
 * overlap instead of following each other (9 lines of bandwidth for one miss of latency). */
static inline void prefetch_group(const of_index_frozen *f, unsigned h, size_t idx)
{
    if (h >= 2 && h - 2 < f->pf_below) {
        const uint64_t *g = f->layer[h - 2] + idx * SP_FAN * SP_B;
        for (unsigned q = 0; q < SP_GROUP_LINES; q++)
            __builtin_prefetch(g + (size_t)q * 8);
    }
}

static size_t lb_scalar(const of_index_frozen *f, uint64_t x)
{
    int64_t xs = (int64_t)(x ^ SP_BIAS);
    size_t idx = 0;
    for (unsigned h = f->layers; h >= 1; h--) {
        idx = idx * SP_FAN + node_rank_scalar(f->layer[h] + idx * SP_B, xs);
        prefetch_group(f, h, idx);
    }
    return idx * SP_B + leaf_rank_scalar(f->keys + idx * SP_B, x);
}

static void batch_scalar(const of_index_frozen *f, const uint64_t *x, size_t g, size_t *out)
{
    size_t idx[SP_BATCH_GROUP] = {0};
    for (unsigned h = f->layers; h >= 1; h--) {
        const uint64_t *layer = f->layer[h], *below = f->layer[h - 1];
        for (size_t j = 0; j < g; j++) {
            size_t i = idx[j] * SP_FAN + node_rank_scalar(layer + idx[j] * SP_B,
                                                          (int64_t)(x[j] ^ SP_BIAS));
            __builtin_prefetch(below + i * SP_B);
            if (SP_B > 8)
                __builtin_prefetch(below + i * SP_B + SP_B / 2);
            idx[j] = i;
        }
    }
    for (size_t j = 0; j < g; j++)
        out[j] = idx[j] * SP_B + leaf_rank_scalar(f->keys + idx[j] * SP_B, x[j]);
}

/* ---- AVX2 path ---------------------------------------------------------------------------- */

#if SP_HAVE_AVX2
#define SP_TARGET __attribute__((target("avx2,popcnt")))

/* Sorted node: the compare mask is a prefix of ones, so its popcount is the rank. */
SP_TARGET static inline size_t node_rank_avx2(const uint64_t *node, __m256i xs)
{
    const __m256i *v = (const __m256i *)(const void *)node;
    unsigned m = 0;
    for (unsigned q = 0; q < SP_B / 4; q++) {
        __m256i gt = _mm256_cmpgt_epi64(xs, _mm256_load_si256(v + q));
        m |= (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(gt)) << (4 * q);
    }
    return (size_t)__builtin_popcount(m);
}

SP_TARGET static inline size_t leaf_rank_avx2(const uint64_t *leaf, __m256i xs)
{
    const __m256i *v = (const __m256i *)(const void *)leaf;
    const __m256i bias = _mm256_set1_epi64x(INT64_MIN);
    unsigned m = 0;
    for (unsigned q = 0; q < SP_B / 4; q++) {
        __m256i k = _mm256_xor_si256(_mm256_load_si256(v + q), bias);
        __m256i gt = _mm256_cmpgt_epi64(xs, k);
        m |= (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(gt)) << (4 * q);
    }
    return (size_t)__builtin_popcount(m);
}

SP_TARGET static size_t lb_avx2(const of_index_frozen *f, uint64_t x)
{
    __m256i xs = _mm256_set1_epi64x((long long)(x ^ SP_BIAS));
    size_t idx = 0;
    for (unsigned h = f->layers; h >= 1; h--) {
        idx = idx * SP_FAN + node_rank_avx2(f->layer[h] + idx * SP_B, xs);
        prefetch_group(f, h, idx);
    }
    return idx * SP_B + leaf_rank_avx2(f->keys + idx * SP_B, xs);
}

SP_TARGET static void batch_avx2(const of_index_frozen *f, const uint64_t *x, size_t g,
                                 size_t *out)
{
    size_t idx[SP_BATCH_GROUP] = {0};
    for (unsigned h = f->layers; h >= 1; h--) {
        const uint64_t *layer = f->layer[h], *below = f->layer[h - 1];
        for (size_t j = 0; j < g; j++) {
            __m256i xs = _mm256_set1_epi64x((long long)(x[j] ^ SP_BIAS));
            size_t i = idx[j] * SP_FAN + node_rank_avx2(layer + idx[j] * SP_B, xs);
            __builtin_prefetch(below + i * SP_B);
            if (SP_B > 8)
                __builtin_prefetch(below + i * SP_B + SP_B / 2);
            idx[j] = i;
        }
    }
    for (size_t j = 0; j < g; j++) {
        __m256i xs = _mm256_set1_epi64x((long long)(x[j] ^ SP_BIAS));
        out[j] = idx[j] * SP_B + leaf_rank_avx2(f->keys + idx[j] * SP_B, xs);
    }
}

static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}
#else
static size_t lb_avx2(const of_index_frozen *f, uint64_t x)
{
    return lb_scalar(f, x);
}

static void batch_avx2(const of_index_frozen *f, const uint64_t *x, size_t g, size_t *out)
{
    batch_scalar(f, x, g, out);
}

static int cpu_has_avx2(void)
{
    return 0;
}
#endif

static inline size_t frozen_lb(const of_index_frozen *f, uint64_t x)
{
    return f->avx2 ? lb_avx2(f, x) : lb_scalar(f, x);
}

static inline size_t frozen_ub(const of_index_frozen *f, uint64_t x)
{
    return x == UINT64_MAX ? f->count : frozen_lb(f, x + 1);
}

int ofi_index_frozen_force_scalar(of_index_frozen *frozen)
{
    int was = frozen->avx2;
    frozen->avx2 = 0;
    return was;
}

/* ---- building ------------------------------------------------------------------------------ */

/* Large arrays start on a huge-page boundary so that all of them can be backed by huge pages. */
static void *alloc_aligned(size_t bytes)
{
    size_t align = bytes >= ((size_t)4 << 20) ? ((size_t)2 << 20) : SP_ALIGN;
    size_t rounded = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded == 0 ? align : rounded);
    if (p != NULL)
        ofi_hint_huge_pages(p, rounded);
    return p;
}

OF_API int of_index_freeze(const of_index *index, of_index_frozen **out_frozen)
{
    if (index == NULL || out_frozen == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_freeze: NULL argument");
    size_t n = index->count;
    size_t nblocks = n == 0 ? 1 : (n - 1) / SP_B + 1;
    if (nblocks > SIZE_MAX / 4 / (SP_B * sizeof(uint64_t)))
        return ofi_fail(OF_ERR_NOMEM, "of_index_freeze: %zu entries do not fit in memory", n);

    size_t nodes[SP_MAX_LAYERS + 1];
    unsigned layers = 0;
    size_t total_nodes = 0;
    nodes[0] = nblocks;
    while (nodes[layers] > 1) {
        nodes[layers + 1] = (nodes[layers] - 1) / SP_FAN + 1;
        layers++;
        total_nodes += nodes[layers];
    }

    of_index_frozen *f = calloc(1, sizeof *f);
    if (f == NULL)
        return ofi_fail_plain(OF_ERR_NOMEM);
    /* One extra child group at the end of each array: group prefetches of the last node stay
     * inside the allocation. */
    f->keys = alloc_aligned((nblocks + SP_FAN) * SP_B * sizeof(uint64_t));
    f->payloads = malloc((n == 0 ? 1 : n) * sizeof(uint64_t));
    f->tree = alloc_aligned((total_nodes + SP_FAN) * SP_B * sizeof(uint64_t));
    if (f->keys == NULL || f->payloads == NULL || f->tree == NULL) {
        of_index_frozen_destroy(f);
        return ofi_fail(OF_ERR_NOMEM, "of_index_freeze: no memory for %zu entries", n);
    }
    f->count = n;
    f->nblocks = nblocks;
    f->layers = layers;
    if (n > 0) {
        memcpy(f->keys, index->keys, n * sizeof(uint64_t));
        memcpy(f->payloads, index->payloads, n * sizeof(uint64_t));
    }
    for (size_t i = n; i < (nblocks + SP_FAN) * SP_B; i++)
        f->keys[i] = UINT64_MAX;
    memset(f->tree + total_nodes * SP_B, 0xff, (size_t)SP_FAN * SP_B * sizeof(uint64_t));
    while (f->pf_below <= layers &&
           nodes[f->pf_below] * SP_B * sizeof(uint64_t) > SP_PREFETCH_LAYER_BYTES)
        f->pf_below++;

    /* Root first: layer `layers` at offset 0, then downwards. */
    f->layer[0] = f->keys;
    size_t off = 0;
    size_t span = 1; /* leaf blocks under one node of layer h - 1 */
    /* Zeroed: only [1, layers] is used, but analyzers cannot tie the two loops' bounds. */
    uint64_t *layer_base[SP_MAX_LAYERS + 1] = {NULL};
    for (unsigned h = layers; h >= 1; h--) {
        layer_base[h] = f->tree + off;
        f->layer[h] = layer_base[h];
        off += nodes[h] * SP_B;
    }
    for (unsigned h = 1; h <= layers; h++) {
        uint64_t *out = layer_base[h];
        for (size_t i = 0; i < nodes[h]; i++) {
            for (unsigned j = 0; j < SP_B; j++) {
                size_t child = i * SP_FAN + j + 1;
                uint64_t sep = child < nodes[h - 1] ? f->keys[child * span * SP_B] : UINT64_MAX;
                out[i * SP_B + j] = sep ^ SP_BIAS;
            }
        }
        span *= SP_FAN;
    }
    f->avx2 = cpu_has_avx2();
    *out_frozen = f;
    return OF_OK;
}

OF_API void of_index_frozen_destroy(of_index_frozen *frozen)
{
    if (frozen == NULL)
        return;
    free(frozen->keys);
    free(frozen->payloads);
    free(frozen->tree);
    free(frozen);
}

/* ---- queries ------------------------------------------------------------------------------- */

OF_API size_t of_index_frozen_size(const of_index_frozen *frozen)
{
    return frozen == NULL ? 0 : frozen->count;
}

OF_API int of_index_frozen_lower_bound(const of_index_frozen *frozen, uint64_t key,
                                       size_t *out_pos)
{
    if (frozen == NULL || out_pos == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_lower_bound: NULL argument");
    *out_pos = frozen_lb(frozen, key);
    return OF_OK;
}

OF_API int of_index_frozen_upper_bound(const of_index_frozen *frozen, uint64_t key,
                                       size_t *out_pos)
{
    if (frozen == NULL || out_pos == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_upper_bound: NULL argument");
    *out_pos = frozen_ub(frozen, key);
    return OF_OK;
}

/* Groups of SP_BATCH_GROUP lookups walk the tree layer by layer in lockstep (every lookup has
 * the same depth): after each node the exact next node is known and prefetched, and the other
 * lookups of the group run while it arrives, so up to a group's worth of misses overlap. */
OF_API int of_index_frozen_lower_bound_batch(const of_index_frozen *frozen, const uint64_t *keys,
                                             size_t count, size_t *out_positions)
{
    if (frozen == NULL || ((keys == NULL || out_positions == NULL) && count > 0))
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_lower_bound_batch: NULL argument");
    for (size_t done = 0; done < count; done += SP_BATCH_GROUP) {
        size_t g = count - done < SP_BATCH_GROUP ? count - done : SP_BATCH_GROUP;
        if (frozen->avx2)
            batch_avx2(frozen, keys + done, g, out_positions + done);
        else
            batch_scalar(frozen, keys + done, g, out_positions + done);
    }
    return OF_OK;
}

OF_API int of_index_frozen_rank(const of_index_frozen *frozen, uint64_t key, size_t *out_rank)
{
    if (frozen == NULL || out_rank == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_rank: NULL argument");
    *out_rank = frozen_lb(frozen, key);
    return OF_OK;
}

OF_API int of_index_frozen_select(const of_index_frozen *frozen, size_t pos, uint64_t *out_key,
                                  uint64_t *out_payload)
{
    if (frozen == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_select: frozen is NULL");
    return ofi_q_select(view_of(frozen), pos, out_key, out_payload);
}

OF_API int of_index_frozen_find(const of_index_frozen *frozen, uint64_t key, size_t *out_pos,
                                uint64_t *out_payload)
{
    if (frozen == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_find: frozen is NULL");
    return ofi_q_find(view_of(frozen), frozen_lb(frozen, key), key, out_pos, out_payload);
}

OF_API int of_index_frozen_floor(const of_index_frozen *frozen, uint64_t key, size_t *out_pos,
                                 uint64_t *out_key, uint64_t *out_payload)
{
    if (frozen == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_floor: frozen is NULL");
    return ofi_q_floor(view_of(frozen), frozen_ub(frozen, key), out_pos, out_key, out_payload);
}

OF_API int of_index_frozen_ceiling(const of_index_frozen *frozen, uint64_t key, size_t *out_pos,
                                   uint64_t *out_key, uint64_t *out_payload)
{
    if (frozen == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_ceiling: frozen is NULL");
    return ofi_q_ceiling(view_of(frozen), frozen_lb(frozen, key), 0, out_pos, out_key,
                         out_payload);
}

OF_API int of_index_frozen_ceiling_wrap(const of_index_frozen *frozen, uint64_t key,
                                        size_t *out_pos, uint64_t *out_key, uint64_t *out_payload)
{
    if (frozen == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_ceiling_wrap: frozen is NULL");
    return ofi_q_ceiling(view_of(frozen), frozen_lb(frozen, key), 1, out_pos, out_key,
                         out_payload);
}

OF_API int of_index_frozen_count_range(const of_index_frozen *frozen, uint64_t lo, uint64_t hi,
                                       size_t *out_count)
{
    if (frozen == NULL || out_count == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_count_range: NULL argument");
    if (lo > hi)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_count_range: lo > hi");
    *out_count = frozen_lb(frozen, hi) - frozen_lb(frozen, lo);
    return OF_OK;
}

OF_API int of_index_frozen_iterate(const of_index_frozen *frozen, uint64_t lo, uint64_t hi,
                                   of_index_visit_fn visit, void *ctx, size_t *out_visited)
{
    if (frozen == NULL || visit == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_iterate: NULL argument");
    if (lo > hi)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_iterate: lo > hi");
    size_t calls = ofi_q_iterate(view_of(frozen), frozen_lb(frozen, lo), frozen_lb(frozen, hi),
                                 visit, ctx);
    if (out_visited != NULL)
        *out_visited = calls;
    return OF_OK;
}

OF_API int of_index_frozen_cursor_init(const of_index_frozen *frozen, uint64_t lo, uint64_t hi,
                                       of_index_cursor *out_cursor)
{
    if (frozen == NULL || out_cursor == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_cursor_init: NULL argument");
    if (lo > hi)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_cursor_init: lo > hi");
    out_cursor->next = frozen_lb(frozen, lo);
    out_cursor->end = frozen_lb(frozen, hi);
    return OF_OK;
}

OF_API int of_index_frozen_cursor_next(const of_index_frozen *frozen, of_index_cursor *cursor,
                                       size_t *out_pos, uint64_t *out_key, uint64_t *out_payload)
{
    if (frozen == NULL || cursor == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_frozen_cursor_next: NULL argument");
    return ofi_q_cursor_next(view_of(frozen), cursor, out_pos, out_key, out_payload);
}
