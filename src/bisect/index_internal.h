/* Shared between the mutable index (index.c) and the frozen S+ tree (frozen.c). */
#ifndef OPENFAULT_SRC_BISECT_INDEX_INTERNAL_H
#define OPENFAULT_SRC_BISECT_INDEX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/bisect.h>

#include "common/error.h"

/* Keys and payloads live in two parallel arrays so that searches touch keys only. */
struct of_index {
    uint64_t *keys;
    uint64_t *payloads;
    size_t count;
    size_t capacity;
};

/* Test hook: make @p frozen use its portable scalar path even on an AVX2 CPU, so the tests can
 * check that both paths give the same answers. Returns whether AVX2 was in use before. */
int ofi_index_frozen_force_scalar(of_index_frozen *frozen);

/* Stable sort of (keys[i], payloads[i]) pairs by key, in place (LSD radix, O(n) extra memory).
 * Returns OF_OK or OF_ERR_NOMEM (arrays unchanged). */
int ofi_sort_pairs_u64(uint64_t *keys, uint64_t *payloads, size_t count);

/* Ask for transparent huge pages on the page-aligned interior of [p, p + bytes) when it spans
 * at least one huge page, before the memory is first touched. Random lookups in arrays of
 * hundreds of MB otherwise pay a page walk per probe. A hint only: failures are ignored. */
void ofi_hint_huge_pages(void *p, size_t bytes);

/* The query logic both index types share, written once over positions the caller's own search
 * computed, so that the mutable and frozen index cannot answer differently. */
struct ofi_view {
    const uint64_t *keys;
    const uint64_t *payloads;
    size_t count;
};

static inline void ofi_put(struct ofi_view v, size_t pos, size_t *out_pos, uint64_t *out_key,
                           uint64_t *out_payload)
{
    if (out_pos != NULL)
        *out_pos = pos;
    if (out_key != NULL)
        *out_key = v.keys[pos];
    if (out_payload != NULL)
        *out_payload = v.payloads[pos];
}

/* @p lb: lower bound of @p key. */
static inline int ofi_q_find(struct ofi_view v, size_t lb, uint64_t key, size_t *out_pos,
                             uint64_t *out_payload)
{
    if (lb >= v.count || v.keys[lb] != key)
        return ofi_fail_plain(OF_ERR_NOT_FOUND);
    ofi_put(v, lb, out_pos, NULL, out_payload);
    return OF_OK;
}

/* @p ub: upper bound of the key. */
static inline int ofi_q_floor(struct ofi_view v, size_t ub, size_t *out_pos, uint64_t *out_key,
                              uint64_t *out_payload)
{
    if (v.count == 0)
        return ofi_fail_plain(OF_ERR_EMPTY);
    if (ub == 0)
        return ofi_fail_plain(OF_ERR_NOT_FOUND);
    ofi_put(v, ub - 1, out_pos, out_key, out_payload);
    return OF_OK;
}

/* @p lb: lower bound of the key. */
static inline int ofi_q_ceiling(struct ofi_view v, size_t lb, int wrap, size_t *out_pos,
                                uint64_t *out_key, uint64_t *out_payload)
{
    if (v.count == 0)
        return ofi_fail_plain(OF_ERR_EMPTY);
    if (lb == v.count) {
        if (!wrap)
            return ofi_fail_plain(OF_ERR_NOT_FOUND);
        lb = 0;
    }
    ofi_put(v, lb, out_pos, out_key, out_payload);
    return OF_OK;
}

static inline int ofi_q_select(struct ofi_view v, size_t pos, uint64_t *out_key,
                               uint64_t *out_payload)
{
    if (pos >= v.count)
        return ofi_fail_plain(OF_ERR_NOT_FOUND);
    ofi_put(v, pos, NULL, out_key, out_payload);
    return OF_OK;
}

/* Positions [from, to) of a key range. */
static inline size_t ofi_q_iterate(struct ofi_view v, size_t from, size_t to,
                                   of_index_visit_fn visit, void *ctx)
{
    size_t calls = 0;
    for (size_t i = from; i < to; i++) {
        calls++;
        if (visit(ctx, v.keys[i], v.payloads[i]) != 0)
            break;
    }
    return calls;
}

static inline int ofi_q_cursor_next(struct ofi_view v, of_index_cursor *cursor, size_t *out_pos,
                                    uint64_t *out_key, uint64_t *out_payload)
{
    size_t end = cursor->end < v.count ? cursor->end : v.count;
    if (cursor->next >= end)
        return ofi_fail_plain(OF_ERR_NOT_FOUND);
    ofi_put(v, cursor->next, out_pos, out_key, out_payload);
    cursor->next++;
    return OF_OK;
}

#endif
