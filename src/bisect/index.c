/* of_index: sorted u64 keys with u64 payloads in two parallel arrays. Inserts and removes move
 * the tail (O(n)); every search runs the branch-free kernels of search.h over the key array. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openfault/bisect.h>

#include "bisect/index_internal.h"
#include "bisect/search.h"
#include "common/error.h"

#define INDEX_MIN_CAPACITY 16
/* Lookups per lockstep group in the batch search: enough independent loads in flight to cover
 * a DRAM miss, few enough that the group's state stays in registers and L1. */
#define BATCH_GROUP 16

#define HUGE_PAGE_SIZE ((size_t)2 << 20)

void ofi_hint_huge_pages(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    if (bytes < 2 * HUGE_PAGE_SIZE)
        return;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        return;
    uintptr_t start = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~((uintptr_t)page - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

static struct ofi_view view_of(const of_index *index)
{
    struct ofi_view v = {index->keys, index->payloads, index->count};
    return v;
}

static inline size_t index_lb(const of_index *index, uint64_t key)
{
    return index->count == 0 ? 0 : ofi_lower_bound_u64(index->keys, 0, index->count, key);
}

static inline size_t index_ub(const of_index *index, uint64_t key)
{
    return index->count == 0 ? 0 : ofi_upper_bound_u64(index->keys, 0, index->count, key);
}

/* Grow both arrays to hold at least @p need entries. A failure leaves the index valid: a key
 * array that grew while the payload array could not is just larger than `capacity` says. */
static int reserve(of_index *index, size_t need)
{
    if (need <= index->capacity)
        return OF_OK;
    size_t cap = index->capacity < INDEX_MIN_CAPACITY ? INDEX_MIN_CAPACITY : index->capacity;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(uint64_t))
            return ofi_fail(OF_ERR_NOMEM, "index: %zu entries do not fit in memory", need);
        cap *= 2;
    }
    uint64_t *k = realloc(index->keys, cap * sizeof *k);
    if (k == NULL)
        return ofi_fail(OF_ERR_NOMEM, "index: cannot grow to %zu entries", cap);
    index->keys = k;
    uint64_t *p = realloc(index->payloads, cap * sizeof *p);
    if (p == NULL)
        return ofi_fail(OF_ERR_NOMEM, "index: cannot grow to %zu entries", cap);
    index->payloads = p;
    index->capacity = cap;
    return OF_OK;
}

OF_API int of_index_create(size_t capacity_hint, of_index **out_index)
{
    if (out_index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_create: out_index is NULL");
    of_index *index = calloc(1, sizeof *index);
    if (index == NULL)
        return ofi_fail_plain(OF_ERR_NOMEM);
    if (capacity_hint > 0 && reserve(index, capacity_hint) != OF_OK) {
        of_index_destroy(index);
        return OF_ERR_NOMEM;
    }
    *out_index = index;
    return OF_OK;
}

OF_API void of_index_destroy(of_index *index)
{
    if (index == NULL)
        return;
    free(index->keys);
    free(index->payloads);
    free(index);
}

static void insertion_sort_pairs(uint64_t *keys, uint64_t *payloads, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t k = keys[i], p = payloads[i];
        size_t j = i;
        for (; j > 0 && keys[j - 1] > k; j--) {
            keys[j] = keys[j - 1];
            payloads[j] = payloads[j - 1];
        }
        keys[j] = k;
        payloads[j] = p;
    }
}

/* LSD radix sort, one byte per pass: stable, O(n) per pass, and passes whose byte is the same
 * in every key are skipped (small keys sort in one or two passes). */
int ofi_sort_pairs_u64(uint64_t *keys, uint64_t *payloads, size_t n)
{
    if (n < 2)
        return OF_OK;
    size_t sorted_run = 1;
    while (sorted_run < n && keys[sorted_run - 1] <= keys[sorted_run])
        sorted_run++;
    if (sorted_run == n)
        return OF_OK;
    if (n <= 64) {
        insertion_sort_pairs(keys, payloads, n);
        return OF_OK;
    }
    size_t(*hist)[256] = calloc(8, sizeof *hist);
    uint64_t *tk = malloc(n * sizeof *tk);
    uint64_t *tp = malloc(n * sizeof *tp);
    if (hist == NULL || tk == NULL || tp == NULL) {
        free(hist);
        free(tk);
        free(tp);
        return ofi_fail(OF_ERR_NOMEM, "index: no memory to sort %zu entries", n);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t k = keys[i];
        for (unsigned b = 0; b < 8; b++)
            hist[b][(k >> (8 * b)) & 0xff]++;
    }
    uint64_t *sk = keys, *sp = payloads, *dk = tk, *dp = tp;
    for (unsigned b = 0; b < 8; b++) {
        size_t *h = hist[b];
        if (h[(sk[0] >> (8 * b)) & 0xff] == n)
            continue; /* every key has the same byte here */
        size_t sum = 0;
        for (unsigned d = 0; d < 256; d++) {
            size_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = h[(sk[i] >> (8 * b)) & 0xff]++;
            dk[at] = sk[i];
            dp[at] = sp[i];
        }
        uint64_t *t = sk;
        sk = dk;
        dk = t;
        t = sp;
        sp = dp;
        dp = t;
    }
    if (sk != keys) {
        memcpy(keys, sk, n * sizeof *keys);
        memcpy(payloads, sp, n * sizeof *payloads);
    }
    free(hist);
    free(tk);
    free(tp);
    return OF_OK;
}

OF_API int of_index_build(of_index *index, const uint64_t *keys, const uint64_t *payloads,
                          size_t count)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_build: index is NULL");
    if (keys == NULL && count > 0)
        return ofi_fail(OF_ERR_INVALID, "of_index_build: keys is NULL with count %zu", count);
    if (count == 0) {
        index->count = 0;
        return OF_OK;
    }
    if (count > SIZE_MAX / sizeof(uint64_t))
        return ofi_fail(OF_ERR_NOMEM, "of_index_build: %zu entries do not fit in memory", count);
    uint64_t *k = malloc(count * sizeof *k);
    uint64_t *p = malloc(count * sizeof *p);
    if (k == NULL || p == NULL) {
        free(k);
        free(p);
        return ofi_fail(OF_ERR_NOMEM, "of_index_build: no memory for %zu entries", count);
    }
    ofi_hint_huge_pages(k, count * sizeof *k);
    ofi_hint_huge_pages(p, count * sizeof *p);
    memcpy(k, keys, count * sizeof *k);
    if (payloads != NULL) {
        memcpy(p, payloads, count * sizeof *p);
    } else {
        for (size_t i = 0; i < count; i++)
            p[i] = i;
    }
    int rc = ofi_sort_pairs_u64(k, p, count);
    if (rc != OF_OK) {
        free(k);
        free(p);
        return rc;
    }
    free(index->keys);
    free(index->payloads);
    index->keys = k;
    index->payloads = p;
    index->count = count;
    index->capacity = count;
    return OF_OK;
}

static int insert_at(of_index *index, size_t pos, uint64_t key, uint64_t payload, size_t *out_pos)
{
    int rc = reserve(index, index->count + 1);
    if (rc != OF_OK)
        return rc;
    size_t tail = index->count - pos;
    memmove(index->keys + pos + 1, index->keys + pos, tail * sizeof(uint64_t));
    memmove(index->payloads + pos + 1, index->payloads + pos, tail * sizeof(uint64_t));
    index->keys[pos] = key;
    index->payloads[pos] = payload;
    index->count++;
    if (out_pos != NULL)
        *out_pos = pos;
    return OF_OK;
}

OF_API int of_index_insert_left(of_index *index, uint64_t key, uint64_t payload, size_t *out_pos)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_insert_left: index is NULL");
    return insert_at(index, index_lb(index, key), key, payload, out_pos);
}

OF_API int of_index_insert_right(of_index *index, uint64_t key, uint64_t payload, size_t *out_pos)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_insert_right: index is NULL");
    return insert_at(index, index_ub(index, key), key, payload, out_pos);
}

static void erase_range(of_index *index, size_t from, size_t to)
{
    size_t tail = index->count - to;
    memmove(index->keys + from, index->keys + to, tail * sizeof(uint64_t));
    memmove(index->payloads + from, index->payloads + to, tail * sizeof(uint64_t));
    index->count -= to - from;
}

OF_API int of_index_remove_one(of_index *index, uint64_t key, uint64_t *out_payload)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_remove_one: index is NULL");
    size_t pos = index_lb(index, key);
    if (pos == index->count || index->keys[pos] != key)
        return ofi_fail_plain(OF_ERR_NOT_FOUND);
    if (out_payload != NULL)
        *out_payload = index->payloads[pos];
    erase_range(index, pos, pos + 1);
    return OF_OK;
}

OF_API int of_index_remove_all(of_index *index, uint64_t key, size_t *out_removed)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_remove_all: index is NULL");
    size_t from = index_lb(index, key);
    size_t to = index_ub(index, key);
    if (from == to)
        return ofi_fail_plain(OF_ERR_NOT_FOUND);
    erase_range(index, from, to);
    if (out_removed != NULL)
        *out_removed = to - from;
    return OF_OK;
}

OF_API int of_index_remove_at(of_index *index, size_t pos, uint64_t *out_key,
                              uint64_t *out_payload)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_remove_at: index is NULL");
    if (pos >= index->count)
        return ofi_fail(OF_ERR_NOT_FOUND, "of_index_remove_at: position %zu >= size %zu", pos,
                        index->count);
    ofi_put(view_of(index), pos, NULL, out_key, out_payload);
    erase_range(index, pos, pos + 1);
    return OF_OK;
}

OF_API void of_index_clear(of_index *index)
{
    if (index != NULL)
        index->count = 0;
}

OF_API size_t of_index_size(const of_index *index)
{
    return index == NULL ? 0 : index->count;
}

OF_API int of_index_lower_bound(const of_index *index, uint64_t key, size_t *out_pos)
{
    if (index == NULL || out_pos == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_lower_bound: NULL argument");
    *out_pos = index_lb(index, key);
    return OF_OK;
}

OF_API int of_index_upper_bound(const of_index *index, uint64_t key, size_t *out_pos)
{
    if (index == NULL || out_pos == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_upper_bound: NULL argument");
    *out_pos = index_ub(index, key);
    return OF_OK;
}

/* Up to BATCH_GROUP searches advance one halving step each in turn. All windows have the same
 * length at every step (it depends only on n), so the loop is uniform; after each step the next
 * probe of each search is known exactly and prefetched, and by the time the group comes round
 * to it again the line has usually arrived. */
static void batch_group(const uint64_t *a, size_t n, const uint64_t *x, size_t g, size_t *out)
{
    const uint64_t *base[BATCH_GROUP];
    for (size_t j = 0; j < g; j++)
        base[j] = a;
    size_t len = n;
    while (len > 1) {
        size_t half = len / 2;
        len -= half;
        for (size_t j = 0; j < g; j++) {
            const uint64_t *b = base[j];
            b += half & ofi_mask_if(b[half - 1] < x[j]);
            __builtin_prefetch(b + (len > 1 ? len / 2 - 1 : 0));
            base[j] = b;
        }
    }
    for (size_t j = 0; j < g; j++)
        out[j] = (size_t)(base[j] - a) + (size_t)(*base[j] < x[j]);
}

OF_API int of_index_lower_bound_batch(const of_index *index, const uint64_t *keys, size_t count,
                                      size_t *out_positions)
{
    if (index == NULL || ((keys == NULL || out_positions == NULL) && count > 0))
        return ofi_fail(OF_ERR_INVALID, "of_index_lower_bound_batch: NULL argument");
    if (index->count == 0) {
        for (size_t i = 0; i < count; i++)
            out_positions[i] = 0;
        return OF_OK;
    }
    for (size_t done = 0; done < count; done += BATCH_GROUP) {
        size_t g = count - done < BATCH_GROUP ? count - done : BATCH_GROUP;
        batch_group(index->keys, index->count, keys + done, g, out_positions + done);
    }
    return OF_OK;
}

OF_API int of_index_rank(const of_index *index, uint64_t key, size_t *out_rank)
{
    if (index == NULL || out_rank == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_rank: NULL argument");
    *out_rank = index_lb(index, key);
    return OF_OK;
}

OF_API int of_index_select(const of_index *index, size_t pos, uint64_t *out_key,
                           uint64_t *out_payload)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_select: index is NULL");
    return ofi_q_select(view_of(index), pos, out_key, out_payload);
}

OF_API int of_index_find(const of_index *index, uint64_t key, size_t *out_pos,
                         uint64_t *out_payload)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_find: index is NULL");
    return ofi_q_find(view_of(index), index_lb(index, key), key, out_pos, out_payload);
}

OF_API int of_index_floor(const of_index *index, uint64_t key, size_t *out_pos, uint64_t *out_key,
                          uint64_t *out_payload)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_floor: index is NULL");
    return ofi_q_floor(view_of(index), index_ub(index, key), out_pos, out_key, out_payload);
}

OF_API int of_index_ceiling(const of_index *index, uint64_t key, size_t *out_pos,
                            uint64_t *out_key, uint64_t *out_payload)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_ceiling: index is NULL");
    return ofi_q_ceiling(view_of(index), index_lb(index, key), 0, out_pos, out_key, out_payload);
}

OF_API int of_index_ceiling_wrap(const of_index *index, uint64_t key, size_t *out_pos,
                                 uint64_t *out_key, uint64_t *out_payload)
{
    if (index == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_ceiling_wrap: index is NULL");
    return ofi_q_ceiling(view_of(index), index_lb(index, key), 1, out_pos, out_key, out_payload);
}

OF_API int of_index_count_range(const of_index *index, uint64_t lo, uint64_t hi,
                                size_t *out_count)
{
    if (index == NULL || out_count == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_count_range: NULL argument");
    if (lo > hi)
        return ofi_fail(OF_ERR_INVALID, "of_index_count_range: lo > hi");
    *out_count = index_lb(index, hi) - index_lb(index, lo);
    return OF_OK;
}

OF_API int of_index_iterate(const of_index *index, uint64_t lo, uint64_t hi,
                            of_index_visit_fn visit, void *ctx, size_t *out_visited)
{
    if (index == NULL || visit == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_iterate: NULL argument");
    if (lo > hi)
        return ofi_fail(OF_ERR_INVALID, "of_index_iterate: lo > hi");
    size_t calls = ofi_q_iterate(view_of(index), index_lb(index, lo), index_lb(index, hi), visit,
                                 ctx);
    if (out_visited != NULL)
        *out_visited = calls;
    return OF_OK;
}

OF_API int of_index_cursor_init(const of_index *index, uint64_t lo, uint64_t hi,
                                of_index_cursor *out_cursor)
{
    if (index == NULL || out_cursor == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_cursor_init: NULL argument");
    if (lo > hi)
        return ofi_fail(OF_ERR_INVALID, "of_index_cursor_init: lo > hi");
    out_cursor->next = index_lb(index, lo);
    out_cursor->end = index_lb(index, hi);
    return OF_OK;
}

OF_API int of_index_cursor_next(const of_index *index, of_index_cursor *cursor, size_t *out_pos,
                                uint64_t *out_key, uint64_t *out_payload)
{
    if (index == NULL || cursor == NULL)
        return ofi_fail(OF_ERR_INVALID, "of_index_cursor_next: NULL argument");
    return ofi_q_cursor_next(view_of(index), cursor, out_pos, out_key, out_payload);
}
