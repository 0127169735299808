/* Stateless Python-bisect kernels over caller arrays: u64, i64, f64 and a generic comparator. */
#include <string.h>

#include <openfault/bisect.h>

#include "bisect/search.h"
#include "common/error.h"

/* The double order of the whole module: IEEE '<' already makes -0.0 == +0.0; NaN (any sign or
 * payload) is placed after +inf and equal to every other NaN. Written with bitwise ops so the
 * branch-free search stays branch-free. */
static inline int f64_lt(double a, double b)
{
    return (a < b) | ((b != b) & (a == a));
}

#define OFI_BEFORE_F64_LT(e, x) f64_lt((e), (x))
#define OFI_BEFORE_F64_LE(e, x) (!f64_lt((x), (e)))

OFI_DEFINE_BOUND(lower_bound_i64, int64_t, OFI_BEFORE_LT)
OFI_DEFINE_BOUND(upper_bound_i64, int64_t, OFI_BEFORE_LE)
OFI_DEFINE_BOUND(lower_bound_f64, double, OFI_BEFORE_F64_LT)
OFI_DEFINE_BOUND(upper_bound_f64, double, OFI_BEFORE_F64_LE)

static int check_search(const void *a, size_t count, size_t lo, size_t hi, const size_t *out)
{
    if (out == NULL)
        return ofi_fail(OF_ERR_INVALID, "bisect: out_index is NULL");
    if (a == NULL && count > 0)
        return ofi_fail(OF_ERR_INVALID, "bisect: array is NULL with count %zu", count);
    if (lo > hi || hi > count)
        return ofi_fail(OF_ERR_INVALID,
                        "bisect: bounds lo=%zu hi=%zu count=%zu are not lo <= hi <= count", lo, hi,
                        count);
    return OF_OK;
}

#define OFI_DEFINE_BISECT(pub, T, kernel)                                                          \
    OF_API int pub(const T *a, size_t count, T x, size_t lo, size_t hi, size_t *out_index)         \
    {                                                                                              \
        int rc = check_search(a, count, lo, hi, out_index);                                        \
        if (rc != OF_OK)                                                                           \
            return rc;                                                                             \
        *out_index = (lo == hi) ? lo : kernel(a, lo, hi, x);                                       \
        return OF_OK;                                                                              \
    }

OFI_DEFINE_BISECT(of_bisect_left_u64, uint64_t, ofi_lower_bound_u64)
OFI_DEFINE_BISECT(of_bisect_right_u64, uint64_t, ofi_upper_bound_u64)
OFI_DEFINE_BISECT(of_bisect_left_i64, int64_t, lower_bound_i64)
OFI_DEFINE_BISECT(of_bisect_right_i64, int64_t, upper_bound_i64)
OFI_DEFINE_BISECT(of_bisect_left_f64, double, lower_bound_f64)
OFI_DEFINE_BISECT(of_bisect_right_f64, double, upper_bound_f64)

static int check_insort(const void *a, size_t capacity, const size_t *inout_count, size_t lo,
                        size_t hi)
{
    if (inout_count == NULL)
        return ofi_fail(OF_ERR_INVALID, "insort: inout_count is NULL");
    if (a == NULL && capacity > 0)
        return ofi_fail(OF_ERR_INVALID, "insort: array is NULL with capacity %zu", capacity);
    if (*inout_count > capacity)
        return ofi_fail(OF_ERR_INVALID, "insort: count %zu exceeds capacity %zu", *inout_count,
                        capacity);
    if (lo > hi || hi > *inout_count)
        return ofi_fail(OF_ERR_INVALID,
                        "insort: bounds lo=%zu hi=%zu count=%zu are not lo <= hi <= count", lo, hi,
                        *inout_count);
    if (*inout_count == capacity)
        return ofi_fail(OF_ERR_NOSPACE, "insort: array full (capacity %zu)", capacity);
    return OF_OK;
}

/* T is a type name (T *a): it cannot be parenthesized, as bugprone-macro-parentheses asks. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define OFI_DEFINE_INSORT(pub, T, kernel)                                                          \
    OF_API int pub(T *a, size_t capacity, size_t *inout_count, T x, size_t lo, size_t hi,          \
                   size_t *out_index)                                                              \
    {                                                                                              \
        int rc = check_insort(a, capacity, inout_count, lo, hi);                                   \
        if (rc != OF_OK)                                                                           \
            return rc;                                                                             \
        size_t n = *inout_count;                                                                   \
        size_t pos = (lo == hi) ? lo : kernel(a, lo, hi, x);                                       \
        memmove(a + pos + 1, a + pos, (n - pos) * sizeof *a);                                      \
        a[pos] = x;                                                                                \
        *inout_count = n + 1;                                                                      \
        if (out_index != NULL)                                                                     \
            *out_index = pos;                                                                      \
        return OF_OK;                                                                              \
    }
/* NOLINTEND(bugprone-macro-parentheses) */

OFI_DEFINE_INSORT(of_insort_left_u64, uint64_t, ofi_lower_bound_u64)
OFI_DEFINE_INSORT(of_insort_right_u64, uint64_t, ofi_upper_bound_u64)
OFI_DEFINE_INSORT(of_insort_left_i64, int64_t, lower_bound_i64)
OFI_DEFINE_INSORT(of_insort_right_i64, int64_t, upper_bound_i64)
OFI_DEFINE_INSORT(of_insort_left_f64, double, lower_bound_f64)
OFI_DEFINE_INSORT(of_insort_right_f64, double, upper_bound_f64)

/* Generic comparator search. A comparator call costs far more than a mispredicted branch, so
 * this is the plain halving loop. right == 0: the first element with cmp(key, e) <= 0;
 * right == 1: the first with cmp(key, e) < 0. */
static size_t cmp_bound(const unsigned char *base, size_t elem_size, const void *key,
                        of_cmp_fn cmp, void *ctx, size_t lo, size_t hi, int right)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(ctx, key, base + mid * elem_size);
        if (right ? (c >= 0) : (c > 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int check_cmp(size_t elem_size, const void *key, of_cmp_fn cmp)
{
    if (elem_size == 0)
        return ofi_fail(OF_ERR_INVALID, "bisect: elem_size is 0");
    if (key == NULL)
        return ofi_fail(OF_ERR_INVALID, "bisect: key is NULL");
    if (cmp == NULL)
        return ofi_fail(OF_ERR_INVALID, "bisect: cmp is NULL");
    return OF_OK;
}

static int bisect_cmp(const void *base, size_t count, size_t elem_size, const void *key,
                      of_cmp_fn cmp, void *ctx, size_t lo, size_t hi, size_t *out_index, int right)
{
    int rc = check_cmp(elem_size, key, cmp);
    if (rc == OF_OK)
        rc = check_search(base, count, lo, hi, out_index);
    if (rc != OF_OK)
        return rc;
    *out_index = cmp_bound(base, elem_size, key, cmp, ctx, lo, hi, right);
    return OF_OK;
}

OF_API int of_bisect_left_cmp(const void *base, size_t count, size_t elem_size, const void *key,
                              of_cmp_fn cmp, void *ctx, size_t lo, size_t hi, size_t *out_index)
{
    return bisect_cmp(base, count, elem_size, key, cmp, ctx, lo, hi, out_index, 0);
}

OF_API int of_bisect_right_cmp(const void *base, size_t count, size_t elem_size, const void *key,
                               of_cmp_fn cmp, void *ctx, size_t lo, size_t hi, size_t *out_index)
{
    return bisect_cmp(base, count, elem_size, key, cmp, ctx, lo, hi, out_index, 1);
}

static int insort_cmp(void *base, size_t capacity, size_t *inout_count, size_t elem_size,
                      const void *key, of_cmp_fn cmp, void *ctx, size_t lo, size_t hi,
                      size_t *out_index, int right)
{
    int rc = check_cmp(elem_size, key, cmp);
    if (rc == OF_OK)
        rc = check_insort(base, capacity, inout_count, lo, hi);
    if (rc != OF_OK)
        return rc;
    unsigned char *b = base;
    size_t n = *inout_count;
    size_t pos = cmp_bound(b, elem_size, key, cmp, ctx, lo, hi, right);
    memmove(b + (pos + 1) * elem_size, b + pos * elem_size, (n - pos) * elem_size);
    memcpy(b + pos * elem_size, key, elem_size);
    *inout_count = n + 1;
    if (out_index != NULL)
        *out_index = pos;
    return OF_OK;
}

OF_API int of_insort_left_cmp(void *base, size_t capacity, size_t *inout_count, size_t elem_size,
                              const void *key, of_cmp_fn cmp, void *ctx, size_t lo, size_t hi,
                              size_t *out_index)
{
    return insort_cmp(base, capacity, inout_count, elem_size, key, cmp, ctx, lo, hi, out_index, 0);
}

OF_API int of_insort_right_cmp(void *base, size_t capacity, size_t *inout_count, size_t elem_size,
                               const void *key, of_cmp_fn cmp, void *ctx, size_t lo, size_t hi,
                               size_t *out_index)
{
    return insort_cmp(base, capacity, inout_count, elem_size, key, cmp, ctx, lo, hi, out_index, 1);
}
