/* Bad-input rows: bisect.h (kernels over caller arrays, of_index, of_index_frozen). */
#include <string.h>

#include "badinput.h"

#define ROWS_GROUP "bisect.h"

static int cmp_u32(void *ctx, const void *key, const void *el)
{
    ((bi_fx *)ctx)->calls++;
    uint32_t a = *(const uint32_t *)key, b = *(const uint32_t *)el;
    return (a > b) - (a < b);
}

static int visit(void *ctx, uint64_t key, uint64_t payload)
{
    ((bi_fx *)ctx)->calls++;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* typed kernels: the same bad inputs for u64, i64 and f64, left and right                     */

#define BISECT_ROWS(p, fn, arr, x)                                                                \
    ROW(p##_null_out, fn, F_ARRAYS, OF_ERR_INVALID, D, "out_index NULL")                          \
    {                                                                                             \
        return fn(f->arr, 3, x, 0, 3, NULL);                                                      \
    }                                                                                             \
    ROW(p##_null_array, fn, F_ARRAYS, OF_ERR_INVALID, D, "a NULL, count 3")                       \
    {                                                                                             \
        return fn(NULL, 3, x, 0, 3, &f->o.index);                                                 \
    }                                                                                             \
    ROW(p##_null_array_max, fn, F_ARRAYS, OF_ERR_INVALID, D, "a NULL, count SIZE_MAX")            \
    {                                                                                             \
        return fn(NULL, SIZE_MAX, x, 0, 0, &f->o.index);                                          \
    }                                                                                             \
    ROW(p##_lo_above_hi, fn, F_ARRAYS, OF_ERR_INVALID, D, "lo 2 > hi 1")                          \
    {                                                                                             \
        return fn(f->arr, 3, x, 2, 1, &f->o.index);                                               \
    }                                                                                             \
    ROW(p##_hi_above_count, fn, F_ARRAYS, OF_ERR_INVALID, D, "hi 4 > count 3")                    \
    {                                                                                             \
        return fn(f->arr, 3, x, 0, 4, &f->o.index);                                               \
    }                                                                                             \
    ROW(p##_bounds_max, fn, F_ARRAYS, OF_ERR_INVALID, D, "lo = hi = SIZE_MAX, count 3")           \
    {                                                                                             \
        return fn(f->arr, 3, x, SIZE_MAX, SIZE_MAX, &f->o.index);                                 \
    }                                                                                             \
    ROW(p##_empty_null, fn, F_ARRAYS, OF_OK, 0, "a NULL, count 0 (allowed): index 0")             \
    {                                                                                             \
        int rc = fn(NULL, 0, x, 0, 0, &f->o.index);                                               \
        if (rc == OF_OK && f->o.index != 0)                                                       \
            bi_why(f, "index %zu, expected 0", f->o.index);                                       \
        return rc;                                                                                \
    }

BISECT_ROWS(bisect_left_u64, of_bisect_left_u64, au, 20)
BISECT_ROWS(bisect_right_u64, of_bisect_right_u64, au, 20)
BISECT_ROWS(bisect_left_i64, of_bisect_left_i64, ai, -10)
BISECT_ROWS(bisect_right_i64, of_bisect_right_i64, ai, -10)
BISECT_ROWS(bisect_left_f64, of_bisect_left_f64, ad, 1.0)
BISECT_ROWS(bisect_right_f64, of_bisect_right_f64, ad, 1.0)

#define INSORT_ROWS(p, fn, arr, n, full, fulln, x)                                                \
    ROW(p##_null_count, fn, F_ARRAYS, OF_ERR_INVALID, D, "inout_count NULL")                      \
    {                                                                                             \
        return fn(f->arr, 4, NULL, x, 0, 3, &f->o.index);                                         \
    }                                                                                             \
    ROW(p##_null_array, fn, F_ARRAYS, OF_ERR_INVALID, D, "a NULL, capacity 4")                    \
    {                                                                                             \
        return fn(NULL, 4, &f->n, x, 0, 3, &f->o.index);                                          \
    }                                                                                             \
    ROW(p##_null_array_max, fn, F_ARRAYS, OF_ERR_INVALID, D, "a NULL, capacity SIZE_MAX")         \
    {                                                                                             \
        return fn(NULL, SIZE_MAX, &f->n, x, 0, 3, &f->o.index);                                   \
    }                                                                                             \
    ROW(p##_count_above_capacity, fn, F_ARRAYS, OF_ERR_INVALID, D, "count 3 > capacity 2")        \
    {                                                                                             \
        return fn(f->arr, 2, &f->n, x, 0, 3, &f->o.index);                                        \
    }                                                                                             \
    ROW(p##_lo_above_hi, fn, F_ARRAYS, OF_ERR_INVALID, D, "lo 2 > hi 1")                          \
    {                                                                                             \
        return fn(f->arr, 4, &f->n, x, 2, 1, &f->o.index);                                        \
    }                                                                                             \
    ROW(p##_hi_above_count, fn, F_ARRAYS, OF_ERR_INVALID, D, "hi 4 > count 3")                    \
    {                                                                                             \
        return fn(f->arr, 4, &f->n, x, 0, 4, &f->o.index);                                        \
    }                                                                                             \
    ROW(p##_bounds_max, fn, F_ARRAYS, OF_ERR_INVALID, D, "lo = hi = SIZE_MAX")                    \
    {                                                                                             \
        return fn(f->arr, 4, &f->n, x, SIZE_MAX, SIZE_MAX, &f->o.index);                          \
    }                                                                                             \
    ROW(p##_full, fn, F_ARRAYS, OF_ERR_NOSPACE, 0, "count = capacity 3")                          \
    {                                                                                             \
        return fn(f->full, 3, &f->fulln, x, 0, 3, &f->o.index);                                   \
    }                                                                                             \
    ROW(p##_capacity_zero, fn, F_ARRAYS, OF_ERR_NOSPACE, 0, "a NULL, capacity 0, count 0")        \
    {                                                                                             \
        size_t zero = 0;                                                                          \
        int rc = fn(NULL, 0, &zero, x, 0, 0, &f->o.index);                                        \
        if (zero != 0)                                                                            \
            bi_why(f, "count became %zu", zero);                                                  \
        return rc;                                                                                \
    }

INSORT_ROWS(insort_left_u64, of_insort_left_u64, au, nu, fu, fnu, 20)
INSORT_ROWS(insort_right_u64, of_insort_right_u64, au, nu, fu, fnu, 20)
INSORT_ROWS(insort_left_i64, of_insort_left_i64, ai, ni, fi, fni, -10)
INSORT_ROWS(insort_right_i64, of_insort_right_i64, ai, ni, fi, fni, -10)
INSORT_ROWS(insort_left_f64, of_insort_left_f64, ad, nd, fd, fnd, 1.0)
INSORT_ROWS(insort_right_f64, of_insort_right_f64, ad, nd, fd, fnd, 1.0)

/* ------------------------------------------------------------------------------------------ */
/* comparator kernels                                                                           */

static const uint32_t key20 = 20;

#define BISECT_CMP_ROWS(p, fn)                                                                    \
    ROW(p##_null_out, fn, F_ARRAYS, OF_ERR_INVALID, D, "out_index NULL")                          \
    {                                                                                             \
        return fn(f->ac, 3, 4, &key20, cmp_u32, f, 0, 3, NULL);                                   \
    }                                                                                             \
    ROW(p##_null_base, fn, F_ARRAYS, OF_ERR_INVALID, D, "base NULL, count 3")                     \
    {                                                                                             \
        return fn(NULL, 3, 4, &key20, cmp_u32, f, 0, 3, &f->o.index);                             \
    }                                                                                             \
    ROW(p##_null_base_max, fn, F_ARRAYS, OF_ERR_INVALID, D, "base NULL, count SIZE_MAX")          \
    {                                                                                             \
        return fn(NULL, SIZE_MAX, 4, &key20, cmp_u32, f, 0, 0, &f->o.index);                      \
    }                                                                                             \
    ROW(p##_elem_size_zero, fn, F_ARRAYS, OF_ERR_INVALID, D, "elem_size 0")                       \
    {                                                                                             \
        return fn(f->ac, 3, 0, &key20, cmp_u32, f, 0, 3, &f->o.index);                            \
    }                                                                                             \
    ROW(p##_null_key, fn, F_ARRAYS, OF_ERR_INVALID, D, "key NULL")                                \
    {                                                                                             \
        return fn(f->ac, 3, 4, NULL, cmp_u32, f, 0, 3, &f->o.index);                              \
    }                                                                                             \
    ROW(p##_null_cmp, fn, F_ARRAYS, OF_ERR_INVALID, D, "cmp NULL")                                \
    {                                                                                             \
        return fn(f->ac, 3, 4, &key20, NULL, f, 0, 3, &f->o.index);                               \
    }                                                                                             \
    ROW(p##_lo_above_hi, fn, F_ARRAYS, OF_ERR_INVALID, D, "lo 2 > hi 1")                          \
    {                                                                                             \
        return fn(f->ac, 3, 4, &key20, cmp_u32, f, 2, 1, &f->o.index);                            \
    }                                                                                             \
    ROW(p##_hi_above_count, fn, F_ARRAYS, OF_ERR_INVALID, D, "hi 4 > count 3")                    \
    {                                                                                             \
        return fn(f->ac, 3, 4, &key20, cmp_u32, f, 0, 4, &f->o.index);                            \
    }                                                                                             \
    ROW(p##_empty_null, fn, F_ARRAYS, OF_OK, 0, "base NULL, count 0 (allowed): index 0")          \
    {                                                                                             \
        int rc = fn(NULL, 0, 4, &key20, cmp_u32, f, 0, 0, &f->o.index);                           \
        if (rc == OF_OK && f->o.index != 0)                                                       \
            bi_why(f, "index %zu, expected 0", f->o.index);                                       \
        return rc;                                                                                \
    }

BISECT_CMP_ROWS(bisect_left_cmp, of_bisect_left_cmp)
BISECT_CMP_ROWS(bisect_right_cmp, of_bisect_right_cmp)

#define INSORT_CMP_ROWS(p, fn)                                                                    \
    ROW(p##_null_count, fn, F_ARRAYS, OF_ERR_INVALID, D, "inout_count NULL")                      \
    {                                                                                             \
        return fn(f->ac, 4, NULL, 4, &key20, cmp_u32, f, 0, 3, &f->o.index);                      \
    }                                                                                             \
    ROW(p##_null_base, fn, F_ARRAYS, OF_ERR_INVALID, D, "base NULL, capacity 4")                  \
    {                                                                                             \
        return fn(NULL, 4, &f->nc, 4, &key20, cmp_u32, f, 0, 3, &f->o.index);                     \
    }                                                                                             \
    ROW(p##_count_above_capacity, fn, F_ARRAYS, OF_ERR_INVALID, D, "count 3 > capacity 2")        \
    {                                                                                             \
        return fn(f->ac, 2, &f->nc, 4, &key20, cmp_u32, f, 0, 3, &f->o.index);                    \
    }                                                                                             \
    ROW(p##_elem_size_zero, fn, F_ARRAYS, OF_ERR_INVALID, D, "elem_size 0")                       \
    {                                                                                             \
        return fn(f->ac, 4, &f->nc, 0, &key20, cmp_u32, f, 0, 3, &f->o.index);                    \
    }                                                                                             \
    ROW(p##_null_key, fn, F_ARRAYS, OF_ERR_INVALID, D, "key NULL")                                \
    {                                                                                             \
        return fn(f->ac, 4, &f->nc, 4, NULL, cmp_u32, f, 0, 3, &f->o.index);                      \
    }                                                                                             \
    ROW(p##_null_cmp, fn, F_ARRAYS, OF_ERR_INVALID, D, "cmp NULL")                                \
    {                                                                                             \
        return fn(f->ac, 4, &f->nc, 4, &key20, NULL, f, 0, 3, &f->o.index);                       \
    }                                                                                             \
    ROW(p##_lo_above_hi, fn, F_ARRAYS, OF_ERR_INVALID, D, "lo 2 > hi 1")                          \
    {                                                                                             \
        return fn(f->ac, 4, &f->nc, 4, &key20, cmp_u32, f, 2, 1, &f->o.index);                    \
    }                                                                                             \
    ROW(p##_hi_above_count, fn, F_ARRAYS, OF_ERR_INVALID, D, "hi 4 > count 3")                    \
    {                                                                                             \
        return fn(f->ac, 4, &f->nc, 4, &key20, cmp_u32, f, 0, 4, &f->o.index);                    \
    }                                                                                             \
    ROW(p##_full, fn, F_ARRAYS, OF_ERR_NOSPACE, 0, "count = capacity 3")                          \
    {                                                                                             \
        return fn(f->fc, 3, &f->fnc, 4, &key20, cmp_u32, f, 0, 3, &f->o.index);                   \
    }

INSORT_CMP_ROWS(insort_left_cmp, of_insort_left_cmp)
INSORT_CMP_ROWS(insort_right_cmp, of_insort_right_cmp)

/* ------------------------------------------------------------------------------------------ */
/* of_index                                                                                     */

ROW(index_create_null_out, of_index_create, F_NONE, OF_ERR_INVALID, D, "out_index NULL")
{
    return of_index_create(0, NULL);
}

ROW(index_create_hint_max, of_index_create, F_NONE, OF_ERR_NOMEM, 0, "capacity_hint SIZE_MAX")
{
    return of_index_create(SIZE_MAX, &f->o.idx);
}

VROW(index_destroy_null, of_index_destroy, F_NONE, "no-op", "NULL")
{
    of_index_destroy(NULL);
    return 1;
}

ROW(index_build_null_index, of_index_build, F_INDEX, OF_ERR_INVALID, D, "index NULL")
{
    static const uint64_t k[] = {1};
    return of_index_build(NULL, k, NULL, 1);
}

ROW(index_build_null_keys, of_index_build, F_INDEX, OF_ERR_INVALID, D, "keys NULL, count 2")
{
    return of_index_build(f->idx, NULL, NULL, 2);
}

ROW(index_build_null_keys_max, of_index_build, F_INDEX, OF_ERR_INVALID, D,
    "keys NULL, count SIZE_MAX")
{
    return of_index_build(f->idx, NULL, NULL, SIZE_MAX);
}

ROW(index_build_count_max, of_index_build, F_INDEX, OF_ERR_NOMEM, 0,
    "count SIZE_MAX (the size overflows; keys not read)")
{
    static const uint64_t k[] = {1};
    return of_index_build(f->idx, k, NULL, SIZE_MAX);
}

ROW(index_build_empty, of_index_build, F_INDEX, OF_OK, MUT,
    "keys NULL, count 0 (allowed): the index becomes empty")
{
    int rc = of_index_build(f->idx, NULL, NULL, 0);
    if (of_index_size(f->idx) != 0)
        bi_why(f, "size %zu afterwards", of_index_size(f->idx));
    return rc;
}

ROW(index_insert_left_null, of_index_insert_left, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_insert_left(NULL, 1, 1, &f->o.pos);
}

ROW(index_insert_right_null, of_index_insert_right, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_insert_right(NULL, 1, 1, &f->o.pos);
}

ROW(index_remove_one_null, of_index_remove_one, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_remove_one(NULL, 10, &f->o.payload);
}

ROW(index_remove_one_missing, of_index_remove_one, F_INDEX, OF_ERR_NOT_FOUND, 0, "absent key 15")
{
    return of_index_remove_one(f->idx, 15, &f->o.payload);
}

ROW(index_remove_all_null, of_index_remove_all, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_remove_all(NULL, 20, &f->o.count);
}

ROW(index_remove_all_missing, of_index_remove_all, F_INDEX, OF_ERR_NOT_FOUND, 0, "absent key 15")
{
    return of_index_remove_all(f->idx, 15, &f->o.count);
}

ROW(index_remove_at_null, of_index_remove_at, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_remove_at(NULL, 0, &f->o.key, &f->o.payload);
}

ROW(index_remove_at_size, of_index_remove_at, F_INDEX, OF_ERR_NOT_FOUND, 0, "pos = size 4")
{
    return of_index_remove_at(f->idx, 4, &f->o.key, &f->o.payload);
}

ROW(index_remove_at_max, of_index_remove_at, F_INDEX, OF_ERR_NOT_FOUND, 0, "pos SIZE_MAX")
{
    return of_index_remove_at(f->idx, SIZE_MAX, &f->o.key, &f->o.payload);
}

VROW(index_clear_null, of_index_clear, F_NONE, "no-op", "NULL")
{
    of_index_clear(NULL);
    return 1;
}

VROW(index_size_null, of_index_size, F_NONE, "0", "NULL")
{
    return of_index_size(NULL) == 0;
}

ROW(index_lower_bound_null_index, of_index_lower_bound, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_lower_bound(NULL, 10, &f->o.pos);
}

ROW(index_lower_bound_null_out, of_index_lower_bound, F_INDEX, OF_ERR_INVALID, D, "out_pos NULL")
{
    return of_index_lower_bound(f->idx, 10, NULL);
}

ROW(index_upper_bound_null_index, of_index_upper_bound, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_upper_bound(NULL, 10, &f->o.pos);
}

ROW(index_upper_bound_null_out, of_index_upper_bound, F_INDEX, OF_ERR_INVALID, D, "out_pos NULL")
{
    return of_index_upper_bound(f->idx, 10, NULL);
}

ROW(index_batch_null_index, of_index_lower_bound_batch, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    static const uint64_t k[] = {10, 20};
    return of_index_lower_bound_batch(NULL, k, 2, f->o.positions);
}

ROW(index_batch_null_keys, of_index_lower_bound_batch, F_INDEX, OF_ERR_INVALID, D,
    "keys NULL, count 2")
{
    return of_index_lower_bound_batch(f->idx, NULL, 2, f->o.positions);
}

ROW(index_batch_null_out, of_index_lower_bound_batch, F_INDEX, OF_ERR_INVALID, D,
    "out_positions NULL, count 2")
{
    static const uint64_t k[] = {10, 20};
    return of_index_lower_bound_batch(f->idx, k, 2, NULL);
}

ROW(index_batch_null_max, of_index_lower_bound_batch, F_INDEX, OF_ERR_INVALID, D,
    "keys and out_positions NULL, count SIZE_MAX")
{
    return of_index_lower_bound_batch(f->idx, NULL, SIZE_MAX, NULL);
}

ROW(index_batch_empty, of_index_lower_bound_batch, F_INDEX, OF_OK, 0,
    "keys and out_positions NULL, count 0 (allowed)")
{
    return of_index_lower_bound_batch(f->idx, NULL, 0, NULL);
}

ROW(index_rank_null_index, of_index_rank, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_rank(NULL, 10, &f->o.pos);
}

ROW(index_rank_null_out, of_index_rank, F_INDEX, OF_ERR_INVALID, D, "out_rank NULL")
{
    return of_index_rank(f->idx, 10, NULL);
}

ROW(index_select_null, of_index_select, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_select(NULL, 0, &f->o.key, &f->o.payload);
}

ROW(index_select_size, of_index_select, F_INDEX, OF_ERR_NOT_FOUND, 0, "pos = size 4")
{
    return of_index_select(f->idx, 4, &f->o.key, &f->o.payload);
}

ROW(index_select_max, of_index_select, F_INDEX, OF_ERR_NOT_FOUND, 0, "pos SIZE_MAX")
{
    return of_index_select(f->idx, SIZE_MAX, &f->o.key, &f->o.payload);
}

ROW(index_find_null, of_index_find, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_find(NULL, 10, &f->o.pos, &f->o.payload);
}

ROW(index_find_missing, of_index_find, F_INDEX, OF_ERR_NOT_FOUND, 0, "absent key 15")
{
    return of_index_find(f->idx, 15, &f->o.pos, &f->o.payload);
}

ROW(index_floor_null, of_index_floor, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_floor(NULL, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_floor_empty, of_index_floor, F_INDEX, OF_ERR_EMPTY, 0, "empty index")
{
    return of_index_floor(f->idx_empty, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_floor_below, of_index_floor, F_INDEX, OF_ERR_NOT_FOUND, 0, "key 5 below every key")
{
    return of_index_floor(f->idx, 5, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_ceiling_null, of_index_ceiling, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_ceiling(NULL, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_ceiling_empty, of_index_ceiling, F_INDEX, OF_ERR_EMPTY, 0, "empty index")
{
    return of_index_ceiling(f->idx_empty, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_ceiling_above, of_index_ceiling, F_INDEX, OF_ERR_NOT_FOUND, 0,
    "key UINT64_MAX above every key")
{
    return of_index_ceiling(f->idx, UINT64_MAX, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_ceiling_wrap_null, of_index_ceiling_wrap, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_ceiling_wrap(NULL, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_ceiling_wrap_empty, of_index_ceiling_wrap, F_INDEX, OF_ERR_EMPTY, 0, "empty index")
{
    return of_index_ceiling_wrap(f->idx_empty, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_count_range_null_index, of_index_count_range, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_count_range(NULL, 0, 100, &f->o.count);
}

ROW(index_count_range_null_out, of_index_count_range, F_INDEX, OF_ERR_INVALID, D,
    "out_count NULL")
{
    return of_index_count_range(f->idx, 0, 100, NULL);
}

ROW(index_count_range_lo_above_hi, of_index_count_range, F_INDEX, OF_ERR_INVALID, D,
    "lo 30 > hi 10")
{
    return of_index_count_range(f->idx, 30, 10, &f->o.count);
}

ROW(index_iterate_null_index, of_index_iterate, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_iterate(NULL, 0, 100, visit, f, &f->o.count);
}

ROW(index_iterate_null_visit, of_index_iterate, F_INDEX, OF_ERR_INVALID, D, "visit NULL")
{
    return of_index_iterate(f->idx, 0, 100, NULL, f, &f->o.count);
}

ROW(index_iterate_lo_above_hi, of_index_iterate, F_INDEX, OF_ERR_INVALID, D, "lo 30 > hi 10")
{
    int rc = of_index_iterate(f->idx, 30, 10, visit, f, &f->o.count);
    if (f->calls)
        bi_why(f, "visit called %d times", f->calls);
    return rc;
}

ROW(index_cursor_init_null_index, of_index_cursor_init, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_cursor_init(NULL, 0, 100, &f->o.cursor);
}

ROW(index_cursor_init_null_cursor, of_index_cursor_init, F_INDEX, OF_ERR_INVALID, D,
    "out_cursor NULL")
{
    return of_index_cursor_init(f->idx, 0, 100, NULL);
}

ROW(index_cursor_init_lo_above_hi, of_index_cursor_init, F_INDEX, OF_ERR_INVALID, D,
    "lo 30 > hi 10")
{
    return of_index_cursor_init(f->idx, 30, 10, &f->o.cursor);
}

ROW(index_cursor_next_null_index, of_index_cursor_next, F_INDEX, OF_ERR_INVALID, D, "index NULL")
{
    of_index_cursor c = {0, 4};
    return of_index_cursor_next(NULL, &c, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_cursor_next_null_cursor, of_index_cursor_next, F_INDEX, OF_ERR_INVALID, D,
    "cursor NULL")
{
    return of_index_cursor_next(f->idx, NULL, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_cursor_next_end, of_index_cursor_next, F_INDEX, OF_ERR_NOT_FOUND, 0,
    "cursor at the end of its range (stays there)")
{
    of_index_cursor c;
    if (of_index_cursor_init(f->idx, 100, 200, &c) != OF_OK)
        bi_why(f, "of_index_cursor_init failed");
    of_index_cursor before = c;
    int rc = of_index_cursor_next(f->idx, &c, &f->o.pos, &f->o.key, &f->o.payload);
    if (memcmp(&c, &before, sizeof c) != 0)
        bi_why(f, "the cursor moved");
    return rc;
}

ROW(index_cursor_next_stale, of_index_cursor_next, F_INDEX, OF_ERR_NOT_FOUND, 0,
    "cursor {next 4, end SIZE_MAX} past a shrunk index (memory-safe)")
{
    of_index_cursor c = {4, SIZE_MAX};
    return of_index_cursor_next(f->idx, &c, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(index_freeze_null_index, of_index_freeze, F_NONE, OF_ERR_INVALID, D, "index NULL")
{
    return of_index_freeze(NULL, &f->o.frozen);
}

ROW(index_freeze_null_out, of_index_freeze, F_INDEX, OF_ERR_INVALID, D, "out_frozen NULL")
{
    return of_index_freeze(f->idx, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* of_index_frozen                                                                              */

VROW(frozen_destroy_null, of_index_frozen_destroy, F_NONE, "no-op", "NULL")
{
    of_index_frozen_destroy(NULL);
    return 1;
}

VROW(frozen_size_null, of_index_frozen_size, F_NONE, "0", "NULL")
{
    return of_index_frozen_size(NULL) == 0;
}

ROW(frozen_lower_bound_null, of_index_frozen_lower_bound, F_NONE, OF_ERR_INVALID, D,
    "frozen NULL")
{
    return of_index_frozen_lower_bound(NULL, 10, &f->o.pos);
}

ROW(frozen_lower_bound_null_out, of_index_frozen_lower_bound, F_FROZEN, OF_ERR_INVALID, D,
    "out_pos NULL")
{
    return of_index_frozen_lower_bound(f->frz, 10, NULL);
}

ROW(frozen_upper_bound_null, of_index_frozen_upper_bound, F_NONE, OF_ERR_INVALID, D,
    "frozen NULL")
{
    return of_index_frozen_upper_bound(NULL, 10, &f->o.pos);
}

ROW(frozen_upper_bound_null_out, of_index_frozen_upper_bound, F_FROZEN, OF_ERR_INVALID, D,
    "out_pos NULL")
{
    return of_index_frozen_upper_bound(f->frz, 10, NULL);
}

ROW(frozen_batch_null, of_index_frozen_lower_bound_batch, F_NONE, OF_ERR_INVALID, D,
    "frozen NULL")
{
    static const uint64_t k[] = {10, 20};
    return of_index_frozen_lower_bound_batch(NULL, k, 2, f->o.positions);
}

ROW(frozen_batch_null_keys, of_index_frozen_lower_bound_batch, F_FROZEN, OF_ERR_INVALID, D,
    "keys NULL, count 2")
{
    return of_index_frozen_lower_bound_batch(f->frz, NULL, 2, f->o.positions);
}

ROW(frozen_batch_null_out, of_index_frozen_lower_bound_batch, F_FROZEN, OF_ERR_INVALID, D,
    "out_positions NULL, count 2")
{
    static const uint64_t k[] = {10, 20};
    return of_index_frozen_lower_bound_batch(f->frz, k, 2, NULL);
}

ROW(frozen_batch_null_max, of_index_frozen_lower_bound_batch, F_FROZEN, OF_ERR_INVALID, D,
    "keys and out_positions NULL, count SIZE_MAX")
{
    return of_index_frozen_lower_bound_batch(f->frz, NULL, SIZE_MAX, NULL);
}

ROW(frozen_batch_empty, of_index_frozen_lower_bound_batch, F_FROZEN, OF_OK, 0,
    "keys and out_positions NULL, count 0 (allowed)")
{
    return of_index_frozen_lower_bound_batch(f->frz, NULL, 0, NULL);
}

ROW(frozen_rank_null, of_index_frozen_rank, F_NONE, OF_ERR_INVALID, D, "frozen NULL")
{
    return of_index_frozen_rank(NULL, 10, &f->o.pos);
}

ROW(frozen_rank_null_out, of_index_frozen_rank, F_FROZEN, OF_ERR_INVALID, D, "out_rank NULL")
{
    return of_index_frozen_rank(f->frz, 10, NULL);
}

ROW(frozen_select_null, of_index_frozen_select, F_NONE, OF_ERR_INVALID, D, "frozen NULL")
{
    return of_index_frozen_select(NULL, 0, &f->o.key, &f->o.payload);
}

ROW(frozen_select_size, of_index_frozen_select, F_FROZEN, OF_ERR_NOT_FOUND, 0, "pos = size 4")
{
    return of_index_frozen_select(f->frz, 4, &f->o.key, &f->o.payload);
}

ROW(frozen_select_max, of_index_frozen_select, F_FROZEN, OF_ERR_NOT_FOUND, 0, "pos SIZE_MAX")
{
    return of_index_frozen_select(f->frz, SIZE_MAX, &f->o.key, &f->o.payload);
}

ROW(frozen_find_null, of_index_frozen_find, F_NONE, OF_ERR_INVALID, D, "frozen NULL")
{
    return of_index_frozen_find(NULL, 10, &f->o.pos, &f->o.payload);
}

ROW(frozen_find_missing, of_index_frozen_find, F_FROZEN, OF_ERR_NOT_FOUND, 0, "absent key 15")
{
    return of_index_frozen_find(f->frz, 15, &f->o.pos, &f->o.payload);
}

ROW(frozen_floor_null, of_index_frozen_floor, F_NONE, OF_ERR_INVALID, D, "frozen NULL")
{
    return of_index_frozen_floor(NULL, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_floor_empty, of_index_frozen_floor, F_FROZEN, OF_ERR_EMPTY, 0, "empty frozen index")
{
    return of_index_frozen_floor(f->frz_empty, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_floor_below, of_index_frozen_floor, F_FROZEN, OF_ERR_NOT_FOUND, 0,
    "key 5 below every key")
{
    return of_index_frozen_floor(f->frz, 5, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_ceiling_null, of_index_frozen_ceiling, F_NONE, OF_ERR_INVALID, D, "frozen NULL")
{
    return of_index_frozen_ceiling(NULL, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_ceiling_empty, of_index_frozen_ceiling, F_FROZEN, OF_ERR_EMPTY, 0,
    "empty frozen index")
{
    return of_index_frozen_ceiling(f->frz_empty, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_ceiling_above, of_index_frozen_ceiling, F_FROZEN, OF_ERR_NOT_FOUND, 0,
    "key UINT64_MAX above every key")
{
    return of_index_frozen_ceiling(f->frz, UINT64_MAX, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_ceiling_wrap_null, of_index_frozen_ceiling_wrap, F_NONE, OF_ERR_INVALID, D,
    "frozen NULL")
{
    return of_index_frozen_ceiling_wrap(NULL, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_ceiling_wrap_empty, of_index_frozen_ceiling_wrap, F_FROZEN, OF_ERR_EMPTY, 0,
    "empty frozen index")
{
    return of_index_frozen_ceiling_wrap(f->frz_empty, 10, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_count_range_null, of_index_frozen_count_range, F_NONE, OF_ERR_INVALID, D,
    "frozen NULL")
{
    return of_index_frozen_count_range(NULL, 0, 100, &f->o.count);
}

ROW(frozen_count_range_null_out, of_index_frozen_count_range, F_FROZEN, OF_ERR_INVALID, D,
    "out_count NULL")
{
    return of_index_frozen_count_range(f->frz, 0, 100, NULL);
}

ROW(frozen_count_range_lo_above_hi, of_index_frozen_count_range, F_FROZEN, OF_ERR_INVALID, D,
    "lo 30 > hi 10")
{
    return of_index_frozen_count_range(f->frz, 30, 10, &f->o.count);
}

ROW(frozen_iterate_null, of_index_frozen_iterate, F_NONE, OF_ERR_INVALID, D, "frozen NULL")
{
    return of_index_frozen_iterate(NULL, 0, 100, visit, f, &f->o.count);
}

ROW(frozen_iterate_null_visit, of_index_frozen_iterate, F_FROZEN, OF_ERR_INVALID, D,
    "visit NULL")
{
    return of_index_frozen_iterate(f->frz, 0, 100, NULL, f, &f->o.count);
}

ROW(frozen_iterate_lo_above_hi, of_index_frozen_iterate, F_FROZEN, OF_ERR_INVALID, D,
    "lo 30 > hi 10")
{
    int rc = of_index_frozen_iterate(f->frz, 30, 10, visit, f, &f->o.count);
    if (f->calls)
        bi_why(f, "visit called %d times", f->calls);
    return rc;
}

ROW(frozen_cursor_init_null, of_index_frozen_cursor_init, F_NONE, OF_ERR_INVALID, D,
    "frozen NULL")
{
    return of_index_frozen_cursor_init(NULL, 0, 100, &f->o.cursor);
}

ROW(frozen_cursor_init_null_cursor, of_index_frozen_cursor_init, F_FROZEN, OF_ERR_INVALID, D,
    "out_cursor NULL")
{
    return of_index_frozen_cursor_init(f->frz, 0, 100, NULL);
}

ROW(frozen_cursor_init_lo_above_hi, of_index_frozen_cursor_init, F_FROZEN, OF_ERR_INVALID, D,
    "lo 30 > hi 10")
{
    return of_index_frozen_cursor_init(f->frz, 30, 10, &f->o.cursor);
}

ROW(frozen_cursor_next_null, of_index_frozen_cursor_next, F_FROZEN, OF_ERR_INVALID, D,
    "frozen NULL")
{
    of_index_cursor c = {0, 4};
    return of_index_frozen_cursor_next(NULL, &c, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_cursor_next_null_cursor, of_index_frozen_cursor_next, F_FROZEN, OF_ERR_INVALID, D,
    "cursor NULL")
{
    return of_index_frozen_cursor_next(f->frz, NULL, &f->o.pos, &f->o.key, &f->o.payload);
}

ROW(frozen_cursor_next_end, of_index_frozen_cursor_next, F_FROZEN, OF_ERR_NOT_FOUND, 0,
    "cursor at the end of its range (stays there)")
{
    of_index_cursor c;
    if (of_index_frozen_cursor_init(f->frz, 100, 200, &c) != OF_OK)
        bi_why(f, "of_index_frozen_cursor_init failed");
    of_index_cursor before = c;
    int rc = of_index_frozen_cursor_next(f->frz, &c, &f->o.pos, &f->o.key, &f->o.payload);
    if (memcmp(&c, &before, sizeof c) != 0)
        bi_why(f, "the cursor moved");
    return rc;
}
