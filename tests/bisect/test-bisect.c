/* Unit tests of src/bisect: kernels, of_index and of_index_frozen against naive references.
 * Run with no argument for the unit group, with "slow" for the 1M-entry cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <openfault/openfault.h>

#include "test-util.h"

#include "bisect/index_internal.h"
#include "bisect/search.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
    return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* Sizes: 0, 1, 2, powers of two +-1 up to 4097. */
static const size_t sizes[] = {0,   1,   2,   3,   4,   5,   7,    8,    9,    15,   16,  17,
                               31,  32,  33,  63,  64,  65,  127,  128,  129,  255,  256, 257,
                               511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Independent definition of the double order: a class rank, then the value. */
static int f64_cls(double d)
{
    return isnan(d) ? 1 : 0;
}

static int f64_cmp3(double a, double b)
{
    int ca = f64_cls(a), cb = f64_cls(b);
    if (ca != cb)
        return ca - cb;
    if (ca == 1)
        return 0;
    return (a > b) - (a < b); /* -0.0 == +0.0 */
}

static int cmp_f64(const void *a, const void *b)
{
    return f64_cmp3(*(const double *)a, *(const double *)b);
}

/* A value drawn so that arrays get many duplicates and the extremes. */
static uint64_t draw_u64(int mode)
{
    switch (mode) {
    case 0:
        return rnd();
    case 1:
        return rnd() % 16;
    default: {
        static const uint64_t edge[] = {0, 1, 2, UINT64_MAX - 1, UINT64_MAX, UINT64_C(1) << 63,
                                        (UINT64_C(1) << 63) - 1};
        return (rnd() & 1) ? edge[rnd_below(7)] : rnd() % 1000;
    }
    }
}

static int64_t draw_i64(int mode)
{
    static const int64_t edge[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    switch (mode) {
    case 0:
        return (int64_t)rnd();
    case 1:
        return (int64_t)(rnd() % 16) - 8;
    default:
        return (rnd() & 1) ? edge[rnd_below(7)] : (int64_t)(rnd() % 1000) - 500;
    }
}

static double draw_f64(int mode)
{
    static const double edge[] = {-INFINITY, -1e308, -1.0, -0.0, 0.0, 5e-324, 1.0, 1e308,
                                  INFINITY, NAN, -NAN};
    switch (mode) {
    case 0:
        return ((double)(int64_t)rnd()) / 1e6;
    case 1:
        return (double)((int)(rnd() % 9) - 4) / 2.0;
    default:
        return (rnd() & 1) ? edge[rnd_below(11)] : (double)(rnd() % 7);
    }
}

static size_t naive_left_u64(const uint64_t *a, size_t lo, size_t hi, uint64_t x)
{
    size_t i = lo;
    while (i < hi && a[i] < x)
        i++;
    return i;
}

static size_t naive_right_u64(const uint64_t *a, size_t lo, size_t hi, uint64_t x)
{
    size_t i = lo;
    while (i < hi && a[i] <= x)
        i++;
    return i;
}

/* ---- kernels --------------------------------------------------------------------------------- */

static void kernels_u64_match_naive_reference(void **state)
{
    (void)state;
    uint64_t *a = malloc(4097 * sizeof *a);
    assert_non_null(a);
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s];
        for (int mode = 0; mode < 3; mode++) {
            for (size_t i = 0; i < n; i++)
                a[i] = draw_u64(mode);
            qsort(a, n, sizeof *a, cmp_u64);
            int queries = n > 1000 ? 60 : 150;
            for (int q = 0; q < queries; q++) {
                uint64_t x = (q % 3 == 0 && n > 0) ? a[rnd_below(n)] : draw_u64(mode);
                if (q % 7 == 0 && n > 0)
                    x = a[rnd_below(n)] + (rnd() & 1 ? 1 : -1);
                size_t lo = 0, hi = n;
                if (q % 2) {
                    lo = rnd_below(n + 1);
                    hi = lo + rnd_below(n - lo + 1);
                }
                size_t got = 12345;
                assert_int_equal(of_bisect_left_u64(a, n, x, lo, hi, &got), OF_OK);
                assert_int_equal(got, naive_left_u64(a, lo, hi, x));
                assert_int_equal(of_bisect_right_u64(a, n, x, lo, hi, &got), OF_OK);
                assert_int_equal(got, naive_right_u64(a, lo, hi, x));
                /* The internal kernel the ring uses, on the same window. */
                assert_int_equal(ofi_lower_bound_u64(a, lo, hi, x), naive_left_u64(a, lo, hi, x));
            }
        }
    }
    free(a);
}

static void kernels_u64_key_range_bounds(void **state)
{
    (void)state;
    const uint64_t a[] = {0, 0, 1, UINT64_C(1) << 63, UINT64_MAX - 1, UINT64_MAX, UINT64_MAX};
    size_t n = sizeof a / sizeof a[0], got;
    assert_int_equal(of_bisect_left_u64(a, n, 0, 0, n, &got), OF_OK);
    assert_int_equal(got, 0);
    assert_int_equal(of_bisect_right_u64(a, n, 0, 0, n, &got), OF_OK);
    assert_int_equal(got, 2);
    assert_int_equal(of_bisect_left_u64(a, n, UINT64_MAX, 0, n, &got), OF_OK);
    assert_int_equal(got, 5);
    assert_int_equal(of_bisect_right_u64(a, n, UINT64_MAX, 0, n, &got), OF_OK);
    assert_int_equal(got, 7);
    assert_int_equal(of_bisect_left_u64(a, n, UINT64_C(1) << 63, 0, n, &got), OF_OK);
    assert_int_equal(got, 3);
    /* Python: bisect_left(a, x, lo=3, hi=3) == 3 whatever x is. */
    assert_int_equal(of_bisect_left_u64(a, n, 0, 3, 3, &got), OF_OK);
    assert_int_equal(got, 3);
    assert_int_equal(of_bisect_right_u64(a, n, UINT64_MAX, 3, 3, &got), OF_OK);
    assert_int_equal(got, 3);
    /* Empty array, NULL allowed. */
    assert_int_equal(of_bisect_left_u64(NULL, 0, 7, 0, 0, &got), OF_OK);
    assert_int_equal(got, 0);
}

static void kernels_i64_match_naive_reference(void **state)
{
    (void)state;
    int64_t *a = malloc(4097 * sizeof *a);
    assert_non_null(a);
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s];
        for (int mode = 0; mode < 3; mode++) {
            for (size_t i = 0; i < n; i++)
                a[i] = draw_i64(mode);
            qsort(a, n, sizeof *a, cmp_i64);
            for (int q = 0; q < 100; q++) {
                int64_t x = (q % 3 == 0 && n > 0) ? a[rnd_below(n)] : draw_i64(mode);
                size_t lo = rnd_below(n + 1), hi = lo + rnd_below(n - lo + 1);
                if (q % 2 == 0) {
                    lo = 0;
                    hi = n;
                }
                size_t l = lo, r = lo, got;
                while (l < hi && a[l] < x)
                    l++;
                while (r < hi && a[r] <= x)
                    r++;
                assert_int_equal(of_bisect_left_i64(a, n, x, lo, hi, &got), OF_OK);
                assert_int_equal(got, l);
                assert_int_equal(of_bisect_right_i64(a, n, x, lo, hi, &got), OF_OK);
                assert_int_equal(got, r);
            }
        }
    }
    const int64_t e[] = {INT64_MIN, INT64_MIN, -1, 0, INT64_MAX};
    size_t got;
    assert_int_equal(of_bisect_right_i64(e, 5, INT64_MIN, 0, 5, &got), OF_OK);
    assert_int_equal(got, 2);
    assert_int_equal(of_bisect_left_i64(e, 5, INT64_MAX, 0, 5, &got), OF_OK);
    assert_int_equal(got, 4);
    assert_int_equal(of_bisect_right_i64(e, 5, INT64_MAX, 0, 5, &got), OF_OK);
    assert_int_equal(got, 5);
    free(a);
}

static void kernels_f64_match_naive_reference(void **state)
{
    (void)state;
    double *a = malloc(4097 * sizeof *a);
    assert_non_null(a);
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s];
        for (int mode = 0; mode < 3; mode++) {
            for (size_t i = 0; i < n; i++)
                a[i] = draw_f64(mode);
            qsort(a, n, sizeof *a, cmp_f64);
            for (int q = 0; q < 100; q++) {
                double x = (q % 3 == 0 && n > 0) ? a[rnd_below(n)] : draw_f64(mode);
                size_t lo = rnd_below(n + 1), hi = lo + rnd_below(n - lo + 1);
                if (q % 2 == 0) {
                    lo = 0;
                    hi = n;
                }
                size_t l = lo, r = lo, got;
                while (l < hi && f64_cmp3(a[l], x) < 0)
                    l++;
                while (r < hi && f64_cmp3(a[r], x) <= 0)
                    r++;
                assert_int_equal(of_bisect_left_f64(a, n, x, lo, hi, &got), OF_OK);
                assert_int_equal(got, l);
                assert_int_equal(of_bisect_right_f64(a, n, x, lo, hi, &got), OF_OK);
                assert_int_equal(got, r);
            }
        }
    }
    free(a);
}

/* Pins the documented double order: -0.0 == +0.0, NaN (either sign) after +inf, NaNs equal. */
static void kernels_f64_order_signed_zero_and_nan_pinned(void **state)
{
    (void)state;
    const double a[] = {-INFINITY, -1.0, -0.0, 0.0, 1.0, INFINITY, NAN, -NAN};
    size_t n = 8, got;
    assert_int_equal(of_bisect_left_f64(a, n, 0.0, 0, n, &got), OF_OK);
    assert_int_equal(got, 2);
    assert_int_equal(of_bisect_left_f64(a, n, -0.0, 0, n, &got), OF_OK);
    assert_int_equal(got, 2);
    assert_int_equal(of_bisect_right_f64(a, n, -0.0, 0, n, &got), OF_OK);
    assert_int_equal(got, 4);
    assert_int_equal(of_bisect_right_f64(a, n, 0.0, 0, n, &got), OF_OK);
    assert_int_equal(got, 4);
    assert_int_equal(of_bisect_left_f64(a, n, INFINITY, 0, n, &got), OF_OK);
    assert_int_equal(got, 5);
    assert_int_equal(of_bisect_right_f64(a, n, INFINITY, 0, n, &got), OF_OK);
    assert_int_equal(got, 6);
    assert_int_equal(of_bisect_left_f64(a, n, NAN, 0, n, &got), OF_OK);
    assert_int_equal(got, 6);
    assert_int_equal(of_bisect_left_f64(a, n, -NAN, 0, n, &got), OF_OK);
    assert_int_equal(got, 6);
    assert_int_equal(of_bisect_right_f64(a, n, NAN, 0, n, &got), OF_OK);
    assert_int_equal(got, 8);
    assert_int_equal(of_bisect_left_f64(a, n, -INFINITY, 0, n, &got), OF_OK);
    assert_int_equal(got, 0);
    assert_int_equal(of_bisect_right_f64(a, n, -INFINITY, 0, n, &got), OF_OK);
    assert_int_equal(got, 1);
    assert_int_equal(of_bisect_left_f64(a, n, 1e300, 0, n, &got), OF_OK);
    assert_int_equal(got, 5);

    /* insort keeps the bits: -0.0 goes after +0.0 with insort_right, before with insort_left. */
    double b[4] = {0.0, NAN};
    size_t count = 2, pos;
    assert_int_equal(of_insort_right_f64(b, 4, &count, -0.0, 0, count, &pos), OF_OK);
    assert_int_equal(pos, 1);
    assert_true(signbit(b[1]) && b[1] == 0.0);
    assert_int_equal(of_insort_left_f64(b, 4, &count, INFINITY, 0, count, &pos), OF_OK);
    assert_int_equal(pos, 2);
    assert_true(isnan(b[3]));
}

struct bstr {
    const char *p;
    size_t len;
};

static int bstr_cmp(void *ctx, const void *key, const void *element)
{
    int *calls = ctx;
    (*calls)++;
    const struct bstr *a = key, *b = element;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, m);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

static int bstr_qsort(const void *a, const void *b)
{
    int dummy = 0;
    return bstr_cmp(&dummy, a, b);
}

static void kernels_cmp_byte_strings_match_naive(void **state)
{
    (void)state;
    static char pool[600][4];
    struct bstr arr[600];
    for (size_t s = 0; s < NSIZES && sizes[s] <= 600; s++) {
        size_t n = sizes[s];
        for (size_t i = 0; i < n; i++) {
            size_t len = rnd_below(4);
            for (size_t k = 0; k < len; k++)
                pool[i][k] = (char)('a' + rnd_below(3) + (rnd() & 1 ? 0 : 0x80));
            arr[i].p = pool[i];
            arr[i].len = len;
        }
        qsort(arr, n, sizeof arr[0], bstr_qsort);
        for (int q = 0; q < 60; q++) {
            char kb[4];
            struct bstr key = {kb, rnd_below(4)};
            for (size_t k = 0; k < key.len; k++)
                kb[k] = (char)('a' + rnd_below(3) + (rnd() & 1 ? 0 : 0x80));
            size_t lo = rnd_below(n + 1), hi = lo + rnd_below(n - lo + 1);
            int calls = 0, d = 0;
            size_t l = lo, r = lo, got;
            while (l < hi && bstr_cmp(&d, &key, &arr[l]) > 0)
                l++;
            while (r < hi && bstr_cmp(&d, &key, &arr[r]) >= 0)
                r++;
            assert_int_equal(of_bisect_left_cmp(arr, n, sizeof arr[0], &key, bstr_cmp, &calls, lo,
                                                hi, &got),
                             OF_OK);
            assert_int_equal(got, l);
            assert_int_equal(of_bisect_right_cmp(arr, n, sizeof arr[0], &key, bstr_cmp, &calls,
                                                 lo, hi, &got),
                             OF_OK);
            assert_int_equal(got, r);
            /* Binary, not linear: at most 2 * ceil(log2(n + 1)) calls for the two searches. */
            int bound = 0;
            while (((size_t)1 << bound) < hi - lo + 1)
                bound++;
            assert_true(calls <= 2 * bound);
        }
    }
}

/* Elements with a key and a sequence number: insort_right must keep equal keys in insertion
 * order, insort_left must put each new one first. */
struct kv {
    uint64_t key;
    uint64_t seq;
};

static int kv_cmp(void *ctx, const void *key, const void *element)
{
    (void)ctx;
    const struct kv *a = key, *b = element;
    return (a->key > b->key) - (a->key < b->key);
}

static void kernels_insort_all_types_keep_order_and_stability(void **state)
{
    (void)state;
    enum { CAP = 700 };
    uint64_t u[CAP];
    int64_t s[CAP];
    double d[CAP];
    struct kv kr[CAP], kl[CAP];
    size_t nu = 0, ns = 0, nd = 0, nr = 0, nl = 0;
    for (uint64_t i = 0; i < CAP; i++) {
        uint64_t x = rnd() % 50;
        size_t pos, expect;
        int left = (int)(i & 1);
        expect = left ? naive_left_u64(u, 0, nu, x) : naive_right_u64(u, 0, nu, x);
        int rc = left ? of_insort_left_u64(u, CAP, &nu, x, 0, nu, &pos)
                      : of_insort_right_u64(u, CAP, &nu, x, 0, nu, &pos);
        assert_int_equal(rc, OF_OK);
        assert_int_equal(pos, expect);
        assert_true(u[pos] == x);

        int64_t y = (int64_t)(rnd() % 50) - 25;
        assert_int_equal(of_insort_right_i64(s, CAP, &ns, y, 0, ns, NULL), OF_OK);
        double z = draw_f64(2);
        assert_int_equal(left ? of_insort_left_f64(d, CAP, &nd, z, 0, nd, NULL)
                              : of_insort_right_f64(d, CAP, &nd, z, 0, nd, NULL),
                         OF_OK);
        struct kv e = {x, i};
        assert_int_equal(of_insort_right_cmp(kr, CAP, &nr, sizeof e, &e, kv_cmp, NULL, 0, nr,
                                             NULL),
                         OF_OK);
        assert_int_equal(of_insort_left_cmp(kl, CAP, &nl, sizeof e, &e, kv_cmp, NULL, 0, nl, NULL),
                         OF_OK);
    }
    assert_int_equal(nu, CAP);
    assert_int_equal(nr, CAP);
    for (size_t i = 1; i < CAP; i++) {
        assert_true(u[i - 1] <= u[i]);
        assert_true(s[i - 1] <= s[i]);
        assert_true(f64_cmp3(d[i - 1], d[i]) <= 0);
        assert_true(kr[i - 1].key < kr[i].key ||
                    (kr[i - 1].key == kr[i].key && kr[i - 1].seq < kr[i].seq));
        assert_true(kl[i - 1].key < kl[i].key ||
                    (kl[i - 1].key == kl[i].key && kl[i - 1].seq > kl[i].seq));
    }
    /* insort within a lo/hi window, as Python: the position is clamped to the window. */
    uint64_t w[8] = {1, 2, 3, 4, 5};
    size_t nw = 5, pos;
    assert_int_equal(of_insort_left_u64(w, 8, &nw, 100, 1, 3, &pos), OF_OK);
    assert_int_equal(pos, 3);
    assert_int_equal(nw, 6);
    assert_true(w[3] == 100 && w[4] == 4 && w[5] == 5);
}

/* An empty window on a NULL array (a container that never allocated) is a valid question with
 * the answer lo: no kernel may form a pointer from NULL, which clang's UBSan reports. */
static void kernels_null_array_empty_window(void **state)
{
    (void)state;
    assert_int_equal(ofi_lower_bound_u64(NULL, 0, 0, 5), 0);
    assert_int_equal(ofi_upper_bound_u64(NULL, 0, 0, 5), 0);
    assert_int_equal(ofi_lower_bound_u64(NULL, 0, 0, UINT64_MAX), 0);
    size_t got = 777;
    assert_int_equal(of_bisect_right_u64(NULL, 0, 7, 0, 0, &got), OF_OK);
    assert_int_equal(got, 0);
    got = 777;
    assert_int_equal(of_bisect_left_i64(NULL, 0, -7, 0, 0, &got), OF_OK);
    assert_int_equal(got, 0);
    got = 777;
    assert_int_equal(of_bisect_right_i64(NULL, 0, 7, 0, 0, &got), OF_OK);
    assert_int_equal(got, 0);
    got = 777;
    assert_int_equal(of_bisect_left_f64(NULL, 0, NAN, 0, 0, &got), OF_OK);
    assert_int_equal(got, 0);
    got = 777;
    assert_int_equal(of_bisect_right_f64(NULL, 0, 1.0, 0, 0, &got), OF_OK);
    assert_int_equal(got, 0);
    int calls = 0;
    struct bstr key = {"a", 1};
    got = 777;
    assert_int_equal(of_bisect_left_cmp(NULL, 0, sizeof key, &key, bstr_cmp, &calls, 0, 0, &got),
                     OF_OK);
    assert_int_equal(got, 0);
    got = 777;
    assert_int_equal(of_bisect_right_cmp(NULL, 0, sizeof key, &key, bstr_cmp, &calls, 0, 0, &got),
                     OF_OK);
    assert_int_equal(got, 0);
    assert_int_equal(calls, 0);
    /* insort into a NULL array of capacity 0: full, nothing written. */
    size_t count = 0;
    got = 777;
    assert_int_equal(of_insort_left_u64(NULL, 0, &count, 1, 0, 0, &got), OF_ERR_NOSPACE);
    assert_int_equal(of_insort_right_f64(NULL, 0, &count, 1.0, 0, 0, &got), OF_ERR_NOSPACE);
    assert_int_equal(of_insort_left_cmp(NULL, 0, &count, sizeof key, &key, bstr_cmp, &calls, 0, 0,
                                        &got),
                     OF_ERR_NOSPACE);
    assert_int_equal(count, 0);
    assert_int_equal(got, 777);
}

static void kernels_bad_input_gets_status_and_changes_nothing(void **state)
{
    (void)state;
    uint64_t a[4] = {1, 2, 3, 0};
    const uint64_t before[4] = {1, 2, 3, 0};
    size_t out = 777;
    assert_int_equal(of_bisect_left_u64(NULL, 3, 1, 0, 3, &out), OF_ERR_INVALID);
    assert_true(strlen(of_last_error_detail()) > 0);
    assert_int_equal(of_bisect_left_u64(a, 3, 1, 2, 1, &out), OF_ERR_INVALID); /* lo > hi */
    assert_int_equal(of_bisect_right_u64(a, 3, 1, 0, 4, &out), OF_ERR_INVALID); /* hi > count */
    assert_int_equal(of_bisect_left_i64((const int64_t *)a, 3, 1, 4, 4, &out), OF_ERR_INVALID);
    assert_int_equal(of_bisect_right_f64(NULL, 1, 1.0, 0, 1, &out), OF_ERR_INVALID);
    assert_int_equal(of_bisect_left_u64(a, 3, 1, 0, 3, NULL), OF_ERR_INVALID);
    assert_int_equal(out, 777);

    int calls = 0;
    struct bstr key = {"a", 1}, arr[2] = {{"a", 1}, {"b", 1}};
    assert_int_equal(of_bisect_left_cmp(arr, 2, 0, &key, bstr_cmp, &calls, 0, 2, &out),
                     OF_ERR_INVALID);
    assert_int_equal(of_bisect_left_cmp(arr, 2, sizeof arr[0], NULL, bstr_cmp, &calls, 0, 2, &out),
                     OF_ERR_INVALID);
    assert_int_equal(of_bisect_right_cmp(arr, 2, sizeof arr[0], &key, NULL, &calls, 0, 2, &out),
                     OF_ERR_INVALID);
    assert_int_equal(of_bisect_right_cmp(arr, 2, sizeof arr[0], &key, bstr_cmp, &calls, 1, 3, &out),
                     OF_ERR_INVALID);
    assert_int_equal(calls, 0);
    assert_int_equal(out, 777);

    /* insort: full, count > capacity, bad window, NULL count. */
    size_t count = 3;
    assert_int_equal(of_insort_left_u64(a, 3, &count, 9, 0, 3, &out), OF_ERR_NOSPACE);
    assert_true(strlen(of_last_error_detail()) > 0);
    assert_int_equal(of_insort_right_u64(a, 2, &count, 9, 0, 3, &out), OF_ERR_INVALID);
    assert_int_equal(of_insort_right_u64(a, 4, &count, 9, 2, 1, &out), OF_ERR_INVALID);
    assert_int_equal(of_insort_right_u64(a, 4, &count, 9, 0, 4, &out), OF_ERR_INVALID);
    assert_int_equal(of_insort_right_u64(a, 4, NULL, 9, 0, 3, &out), OF_ERR_INVALID);
    assert_int_equal(of_insort_right_u64(NULL, 4, &count, 9, 0, 3, &out), OF_ERR_INVALID);
    assert_int_equal(of_insort_left_i64((int64_t *)a, 3, &count, 9, 0, 3, &out), OF_ERR_NOSPACE);
    double d[2] = {1.0, 2.0};
    size_t dc = 2;
    assert_int_equal(of_insort_left_f64(d, 2, &dc, 0.5, 0, 2, &out), OF_ERR_NOSPACE);
    assert_true(d[0] == 1.0 && d[1] == 2.0 && dc == 2);
    size_t ac = 2;
    struct bstr nk = {"c", 1};
    assert_int_equal(of_insort_left_cmp(arr, 2, &ac, sizeof arr[0], &nk, bstr_cmp, &calls, 0, 2,
                                        &out),
                     OF_ERR_NOSPACE);
    assert_int_equal(of_insort_left_cmp(arr, 3, &ac, 0, &nk, bstr_cmp, &calls, 0, 2, &out),
                     OF_ERR_INVALID);
    assert_int_equal(ac, 2);
    assert_int_equal(count, 3);
    assert_int_equal(out, 777);
    assert_memory_equal(a, before, sizeof a);
    /* A zero-capacity NULL array is simply full. */
    size_t zero = 0;
    assert_int_equal(of_insort_left_u64(NULL, 0, &zero, 1, 0, 0, NULL), OF_ERR_NOSPACE);
}

/* ---- the index --------------------------------------------------------------------------- */

/* The reference model: parallel arrays kept sorted by a linear insertion. */
struct model {
    uint64_t *k;
    uint64_t *p;
    size_t n;
};

static size_t m_lb(const struct model *m, uint64_t x)
{
    return naive_left_u64(m->k, 0, m->n, x);
}

static size_t m_ub(const struct model *m, uint64_t x)
{
    return naive_right_u64(m->k, 0, m->n, x);
}

static void m_insert(struct model *m, size_t pos, uint64_t k, uint64_t p)
{
    memmove(m->k + pos + 1, m->k + pos, (m->n - pos) * sizeof(uint64_t));
    memmove(m->p + pos + 1, m->p + pos, (m->n - pos) * sizeof(uint64_t));
    m->k[pos] = k;
    m->p[pos] = p;
    m->n++;
}

static void m_erase(struct model *m, size_t from, size_t to)
{
    memmove(m->k + from, m->k + to, (m->n - to) * sizeof(uint64_t));
    memmove(m->p + from, m->p + to, (m->n - to) * sizeof(uint64_t));
    m->n -= to - from;
}

struct collect {
    uint64_t k[64];
    uint64_t p[64];
    size_t n;
    size_t stop_after;
};

static int collect_visit(void *ctx, uint64_t key, uint64_t payload)
{
    struct collect *c = ctx;
    if (c->n < 64) {
        c->k[c->n] = key;
        c->p[c->n] = payload;
    }
    c->n++;
    return c->n >= c->stop_after;
}

/* Every query of the mutable index, of its frozen copy (AVX2 and scalar paths) and of the
 * batch calls, against the model, for one key x. */
static void check_queries(const struct model *m, const of_index *ix, of_index_frozen *fz,
                          uint64_t x)
{
    size_t lb = m_lb(m, x), ub = m_ub(m, x), got;
    assert_int_equal(of_index_size(ix), m->n);
    assert_int_equal(of_index_frozen_size(fz), m->n);

    assert_int_equal(of_index_lower_bound(ix, x, &got), OF_OK);
    assert_int_equal(got, lb);
    assert_int_equal(of_index_frozen_lower_bound(fz, x, &got), OF_OK);
    assert_int_equal(got, lb);
    assert_int_equal(of_index_upper_bound(ix, x, &got), OF_OK);
    assert_int_equal(got, ub);
    assert_int_equal(of_index_frozen_upper_bound(fz, x, &got), OF_OK);
    assert_int_equal(got, ub);
    assert_int_equal(of_index_rank(ix, x, &got), OF_OK);
    assert_int_equal(got, lb);
    assert_int_equal(of_index_frozen_rank(fz, x, &got), OF_OK);
    assert_int_equal(got, lb);

    /* find */
    size_t pos1 = 999, pos2 = 999;
    uint64_t pay1 = 7, pay2 = 7, key1 = 7, key2 = 7;
    int rc1 = of_index_find(ix, x, &pos1, &pay1);
    int rc2 = of_index_frozen_find(fz, x, &pos2, &pay2);
    int exp = (lb < m->n && m->k[lb] == x) ? OF_OK : OF_ERR_NOT_FOUND;
    assert_int_equal(rc1, exp);
    assert_int_equal(rc2, exp);
    if (exp == OF_OK) {
        assert_int_equal(pos1, lb);
        assert_int_equal(pos2, lb);
        assert_true(pay1 == m->p[lb] && pay2 == m->p[lb]);
    } else {
        assert_true(pos1 == 999 && pos2 == 999 && pay1 == 7 && pay2 == 7);
    }

    /* floor: last entry <= x */
    pos1 = pos2 = 999;
    rc1 = of_index_floor(ix, x, &pos1, &key1, &pay1);
    rc2 = of_index_frozen_floor(fz, x, &pos2, &key2, &pay2);
    exp = m->n == 0 ? OF_ERR_EMPTY : ub == 0 ? OF_ERR_NOT_FOUND : OF_OK;
    assert_int_equal(rc1, exp);
    assert_int_equal(rc2, exp);
    if (exp == OF_OK) {
        assert_true(pos1 == ub - 1 && pos2 == ub - 1);
        assert_true(key1 == m->k[ub - 1] && key2 == m->k[ub - 1]);
        assert_true(pay1 == m->p[ub - 1] && pay2 == m->p[ub - 1]);
    }

    /* ceiling and ceiling_wrap */
    for (int wrap = 0; wrap < 2; wrap++) {
        pos1 = pos2 = 999;
        rc1 = wrap ? of_index_ceiling_wrap(ix, x, &pos1, &key1, &pay1)
                   : of_index_ceiling(ix, x, &pos1, &key1, &pay1);
        rc2 = wrap ? of_index_frozen_ceiling_wrap(fz, x, &pos2, &key2, &pay2)
                   : of_index_frozen_ceiling(fz, x, &pos2, &key2, &pay2);
        size_t at = lb == m->n ? 0 : lb;
        exp = m->n == 0 ? OF_ERR_EMPTY : (lb == m->n && !wrap) ? OF_ERR_NOT_FOUND : OF_OK;
        assert_int_equal(rc1, exp);
        assert_int_equal(rc2, exp);
        if (exp == OF_OK) {
            assert_true(pos1 == at && pos2 == at);
            assert_true(key1 == m->k[at] && key2 == m->k[at]);
            assert_true(pay1 == m->p[at] && pay2 == m->p[at]);
        }
    }

    /* count_range, iterate and cursor over [x, y) */
    uint64_t y = (rnd() & 1) ? x + rnd_below(1000) : x + (rnd() >> 1);
    if (y < x)
        y = UINT64_MAX;
    size_t from = lb, to = m_lb(m, y);
    assert_int_equal(of_index_count_range(ix, x, y, &got), OF_OK);
    assert_int_equal(got, to - from);
    assert_int_equal(of_index_frozen_count_range(fz, x, y, &got), OF_OK);
    assert_int_equal(got, to - from);

    struct collect c1 = {.stop_after = 40}, c2 = {.stop_after = 40};
    size_t visited1, visited2;
    assert_int_equal(of_index_iterate(ix, x, y, collect_visit, &c1, &visited1), OF_OK);
    assert_int_equal(of_index_frozen_iterate(fz, x, y, collect_visit, &c2, &visited2), OF_OK);
    size_t expect_calls = to - from < 40 ? to - from : 40;
    assert_int_equal(visited1, expect_calls);
    assert_int_equal(visited2, expect_calls);
    assert_int_equal(c1.n, expect_calls);
    for (size_t i = 0; i < expect_calls; i++) {
        assert_true(c1.k[i] == m->k[from + i] && c1.p[i] == m->p[from + i]);
        assert_true(c2.k[i] == m->k[from + i] && c2.p[i] == m->p[from + i]);
    }

    of_index_cursor cur1, cur2;
    assert_int_equal(of_index_cursor_init(ix, x, y, &cur1), OF_OK);
    assert_int_equal(of_index_frozen_cursor_init(fz, x, y, &cur2), OF_OK);
    for (size_t i = from; i < to && i < from + 40; i++) {
        assert_int_equal(of_index_cursor_next(ix, &cur1, &pos1, &key1, &pay1), OF_OK);
        assert_int_equal(of_index_frozen_cursor_next(fz, &cur2, &pos2, &key2, &pay2), OF_OK);
        assert_true(pos1 == i && pos2 == i && key1 == m->k[i] && key2 == m->k[i]);
        assert_true(pay1 == m->p[i] && pay2 == m->p[i]);
    }
    if (to - from <= 40) {
        assert_int_equal(of_index_cursor_next(ix, &cur1, NULL, NULL, NULL), OF_ERR_NOT_FOUND);
        assert_int_equal(of_index_frozen_cursor_next(fz, &cur2, NULL, NULL, NULL),
                         OF_ERR_NOT_FOUND);
    }

    /* select at a random position and past the end */
    if (m->n > 0) {
        size_t i = rnd_below(m->n);
        assert_int_equal(of_index_select(ix, i, &key1, &pay1), OF_OK);
        assert_int_equal(of_index_frozen_select(fz, i, &key2, &pay2), OF_OK);
        assert_true(key1 == m->k[i] && key2 == m->k[i] && pay1 == m->p[i] && pay2 == m->p[i]);
    }
    key1 = 5;
    assert_int_equal(of_index_select(ix, m->n, &key1, NULL), OF_ERR_NOT_FOUND);
    assert_int_equal(of_index_frozen_select(fz, m->n, &key1, NULL), OF_ERR_NOT_FOUND);
    assert_true(key1 == 5);
}

/* Batches of every length 0..40 plus one long one, against single lookups, on both index
 * types and (for the frozen one) both code paths. */
static void check_batches(const struct model *m, const of_index *ix, of_index_frozen *fz)
{
    uint64_t keys[300] = {0};
    size_t out1[300], out2[300];
    for (size_t len = 0; len <= 300; len += (len < 40 ? 1 : 130)) {
        for (size_t i = 0; i < len; i++) {
            int r = (int)(rnd() % 4);
            keys[i] = (r == 0 && m->n > 0) ? m->k[rnd_below(m->n)]
                    : r == 1               ? (rnd() & 1 ? 0 : UINT64_MAX)
                                           : draw_u64((int)rnd_below(3));
        }
        assert_int_equal(of_index_lower_bound_batch(ix, keys, len, out1), OF_OK);
        assert_int_equal(of_index_frozen_lower_bound_batch(fz, keys, len, out2), OF_OK);
        for (size_t i = 0; i < len; i++) {
            size_t lb = m_lb(m, keys[i]);
            assert_int_equal(out1[i], lb);
            assert_int_equal(out2[i], lb);
        }
    }
}

/* Check the frozen copy of @p ix both on its dispatched path and on the forced scalar path. */
static void check_index(const struct model *m, const of_index *ix, int queries)
{
    of_index_frozen *fz = NULL;
    assert_int_equal(of_index_freeze(ix, &fz), OF_OK);
    for (int pass = 0; pass < 2; pass++) {
        for (int q = 0; q < queries; q++) {
            uint64_t x;
            int r = q % 5;
            if (r == 0 && m->n > 0)
                x = m->k[rnd_below(m->n)];
            else if (r == 1 && m->n > 0)
                x = m->k[rnd_below(m->n)] + 1;
            else if (r == 2)
                x = (q & 8) ? 0 : UINT64_MAX;
            else
                x = draw_u64(q % 3);
            check_queries(m, ix, fz, x);
        }
        check_batches(m, ix, fz);
        ofi_index_frozen_force_scalar(fz);
    }
    of_index_frozen_destroy(fz);
}

static void index_random_operations_match_model(void **state)
{
    (void)state;
    for (size_t s = 0; s < NSIZES; s += 2) {
        size_t target = sizes[s];
        int mode = (int)(s % 3);
        struct model m = {malloc((target + 64) * 8), malloc((target + 64) * 8), 0};
        assert_true(m.k != NULL && m.p != NULL);
        of_index *ix = NULL;
        assert_int_equal(of_index_create(s % 4 == 0 ? 0 : target, &ix), OF_OK);
        uint64_t seq = 0;
        /* Grow to the target size with a mix of inserts, then churn with removals. */
        while (m.n < target) {
            uint64_t k = draw_u64(mode), p = seq++;
            size_t pos = 999999;
            if (rnd() & 1) {
                size_t e = m_lb(&m, k);
                assert_int_equal(of_index_insert_left(ix, k, p, &pos), OF_OK);
                assert_int_equal(pos, e);
                m_insert(&m, e, k, p);
            } else {
                size_t e = m_ub(&m, k);
                assert_int_equal(of_index_insert_right(ix, k, p, &pos), OF_OK);
                assert_int_equal(pos, e);
                m_insert(&m, e, k, p);
            }
        }
        check_index(&m, ix, target > 1000 ? 40 : 80);
        for (int op = 0; op < 30 && m.n > 0; op++) {
            int r = (int)(rnd() % 3);
            uint64_t k = (rnd() & 3) ? m.k[rnd_below(m.n)] : draw_u64(mode);
            size_t lb = m_lb(&m, k), ub = m_ub(&m, k);
            if (r == 0) {
                uint64_t pay = 5;
                int rc = of_index_remove_one(ix, k, &pay);
                if (lb == ub) {
                    assert_int_equal(rc, OF_ERR_NOT_FOUND);
                    assert_true(pay == 5);
                } else {
                    assert_int_equal(rc, OF_OK);
                    assert_true(pay == m.p[lb]);
                    m_erase(&m, lb, lb + 1);
                }
            } else if (r == 1) {
                size_t removed = 0;
                int rc = of_index_remove_all(ix, k, &removed);
                assert_int_equal(rc, lb == ub ? OF_ERR_NOT_FOUND : OF_OK);
                if (lb != ub) {
                    assert_int_equal(removed, ub - lb);
                    m_erase(&m, lb, ub);
                }
            } else {
                size_t pos = rnd_below(m.n);
                uint64_t key = 0, pay = 0;
                assert_int_equal(of_index_remove_at(ix, pos, &key, &pay), OF_OK);
                assert_true(key == m.k[pos] && pay == m.p[pos]);
                m_erase(&m, pos, pos + 1);
            }
        }
        check_index(&m, ix, target > 1000 ? 20 : 40);
        of_index_clear(ix);
        m.n = 0;
        check_index(&m, ix, 10);
        of_index_destroy(ix);
        free(m.k);
        free(m.p);
    }
}

static void index_build_is_stable_sorted_and_matches_model(void **state)
{
    (void)state;
    size_t big = test_under_valgrind() ? 20000 : 200000;
    size_t extra[] = {big};
    for (size_t s = 0; s < NSIZES + 1; s++) {
        size_t n = s < NSIZES ? sizes[s] : extra[0];
        uint64_t *k = malloc((n + 1) * 8), *p = malloc((n + 1) * 8);
        assert_true(k != NULL && p != NULL);
        int mode = (int)(s % 3);
        for (size_t i = 0; i < n; i++) {
            k[i] = draw_u64(mode);
            p[i] = rnd();
        }
        of_index *ix = NULL;
        assert_int_equal(of_index_create(0, &ix), OF_OK);
        assert_int_equal(of_index_build(ix, k, (s & 1) ? p : NULL, n), OF_OK);
        assert_int_equal(of_index_size(ix), n);
        /* The model: a stable insertion by upper bound is exactly a stable sort. For the big
         * case a sorted check plus payload identity suffices (insertion would be quadratic). */
        if (n <= 4097) {
            struct model m = {malloc((n + 1) * 8), malloc((n + 1) * 8), 0};
            for (size_t i = 0; i < n; i++)
                m_insert(&m, m_ub(&m, k[i]), k[i], (s & 1) ? p[i] : i);
            for (size_t i = 0; i < n; i++) {
                uint64_t kk, pp;
                assert_int_equal(of_index_select(ix, i, &kk, &pp), OF_OK);
                assert_true(kk == m.k[i] && pp == m.p[i]);
            }
            check_index(&m, ix, 30);
            free(m.k);
            free(m.p);
        } else {
            uint64_t pk = 0, pp = 0;
            for (size_t i = 0; i < n; i++) {
                uint64_t kk, pay;
                assert_int_equal(of_index_select(ix, i, &kk, &pay), OF_OK);
                assert_true(kk == k[pay]); /* payload = input position */
                if (i > 0) {
                    assert_true(pk <= kk);
                    if (pk == kk)
                        assert_true(pp < pay); /* stable */
                }
                pk = kk;
                pp = pay;
            }
        }
        /* Input arrays are copied: scribbling on them changes nothing. */
        if (n > 0) {
            uint64_t k0;
            assert_int_equal(of_index_select(ix, 0, &k0, NULL), OF_OK);
            memset(k, 0xab, n * 8);
            uint64_t k1;
            assert_int_equal(of_index_select(ix, 0, &k1, NULL), OF_OK);
            assert_true(k0 == k1);
        }
        of_index_destroy(ix);
        free(k);
        free(p);
    }
}

/* Large index, searched by the O(1) lower-bound property rather than a linear scan. */
static void check_large(size_t n, int queries)
{
    uint64_t *k = malloc(n * 8);
    assert_non_null(k);
    for (size_t i = 0; i < n; i++)
        k[i] = (i % 5 == 0) ? rnd() % 1000 : rnd();
    of_index *ix = NULL;
    of_index_frozen *fz = NULL;
    assert_int_equal(of_index_create(0, &ix), OF_OK);
    assert_int_equal(of_index_build(ix, k, NULL, n), OF_OK);
    assert_int_equal(of_index_freeze(ix, &fz), OF_OK);
    of_index_frozen *fz_scalar = NULL;
    assert_int_equal(of_index_freeze(ix, &fz_scalar), OF_OK);
    ofi_index_frozen_force_scalar(fz_scalar);
    enum { B = 64 };
    uint64_t xs[B];
    size_t o1[B], o2[B], o3[B];
    for (int q = 0; q < queries; q += B) {
        for (int j = 0; j < B; j++)
            xs[j] = (j & 1) ? k[rnd_below(n)] + (uint64_t)(j & 2) - 1 : rnd();
        assert_int_equal(of_index_lower_bound_batch(ix, xs, B, o1), OF_OK);
        assert_int_equal(of_index_frozen_lower_bound_batch(fz, xs, B, o2), OF_OK);
        assert_int_equal(of_index_frozen_lower_bound_batch(fz_scalar, xs, B, o3), OF_OK);
        for (int j = 0; j < B; j++) {
            size_t lb, ub, lbf, ubf, lbs;
            assert_int_equal(of_index_lower_bound(ix, xs[j], &lb), OF_OK);
            assert_int_equal(of_index_upper_bound(ix, xs[j], &ub), OF_OK);
            assert_int_equal(of_index_frozen_lower_bound(fz, xs[j], &lbf), OF_OK);
            assert_int_equal(of_index_frozen_upper_bound(fz, xs[j], &ubf), OF_OK);
            assert_int_equal(of_index_frozen_lower_bound(fz_scalar, xs[j], &lbs), OF_OK);
            uint64_t before, at;
            if (lb > 0) {
                assert_int_equal(of_index_select(ix, lb - 1, &before, NULL), OF_OK);
                assert_true(before < xs[j]);
            }
            if (lb < n) {
                assert_int_equal(of_index_select(ix, lb, &at, NULL), OF_OK);
                assert_true(at >= xs[j]);
            }
            if (ub > 0) {
                assert_int_equal(of_index_select(ix, ub - 1, &before, NULL), OF_OK);
                assert_true(before <= xs[j]);
            }
            if (ub < n) {
                assert_int_equal(of_index_select(ix, ub, &at, NULL), OF_OK);
                assert_true(at > xs[j]);
            }
            assert_true(lbf == lb && ubf == ub && lbs == lb);
            assert_true(o1[j] == lb && o2[j] == lb && o3[j] == lb);
        }
    }
    of_index_frozen_destroy(fz);
    of_index_frozen_destroy(fz_scalar);
    of_index_destroy(ix);
    free(k);
}

static void index_large_mutable_frozen_batch_agree(void **state)
{
    (void)state;
    check_large(test_under_valgrind() ? 30000 : 300000, test_under_valgrind() ? 2000 : 20000);
}

static void index_one_million_agree(void **state)
{
    (void)state;
    check_large(1000000, 200000);
    check_large((1u << 20) + 1, 50000);
    /* Leaf layer above 32 MiB: the frozen single lookup's group prefetches are on. */
    check_large(5000000, 50000);
}

static void index_key_range_bounds(void **state)
{
    (void)state;
    const uint64_t keys[] = {UINT64_MAX, 0, 5, UINT64_MAX, 0};
    of_index *ix = NULL;
    assert_int_equal(of_index_create(0, &ix), OF_OK);
    assert_int_equal(of_index_build(ix, keys, NULL, 5), OF_OK);
    struct model m = {(uint64_t[]){0, 0, 5, UINT64_MAX, UINT64_MAX},
                      (uint64_t[]){1, 4, 2, 0, 3}, 5};
    for (int i = 0; i < 5; i++) {
        uint64_t k, p;
        assert_int_equal(of_index_select(ix, (size_t)i, &k, &p), OF_OK);
        assert_true(k == m.k[i] && p == m.p[i]);
    }
    check_index(&m, ix, 40);
    of_index_frozen *fz = NULL;
    assert_int_equal(of_index_freeze(ix, &fz), OF_OK);
    size_t pos, count;
    uint64_t key, pay;
    assert_int_equal(of_index_frozen_floor(fz, UINT64_MAX, &pos, &key, &pay), OF_OK);
    assert_true(pos == 4 && key == UINT64_MAX && pay == 3);
    assert_int_equal(of_index_frozen_ceiling_wrap(fz, 6, &pos, &key, &pay), OF_OK);
    assert_true(pos == 3 && key == UINT64_MAX && pay == 0);
    assert_int_equal(of_index_ceiling(ix, 0, &pos, &key, &pay), OF_OK);
    assert_true(pos == 0 && key == 0 && pay == 1);
    assert_int_equal(of_index_frozen_count_range(fz, 0, UINT64_MAX, &count), OF_OK);
    assert_int_equal(count, 3); /* [0, UINT64_MAX) leaves the two UINT64_MAX keys out */
    assert_int_equal(of_index_remove_all(ix, UINT64_MAX, &count), OF_OK);
    assert_int_equal(count, 2);
    assert_int_equal(of_index_ceiling(ix, 6, &pos, &key, &pay), OF_ERR_NOT_FOUND);
    assert_int_equal(of_index_ceiling_wrap(ix, 6, &pos, &key, &pay), OF_OK);
    assert_true(pos == 0 && key == 0 && pay == 1);
    /* The frozen copy shares nothing with the index. */
    assert_int_equal(of_index_frozen_size(fz), 5);
    of_index_destroy(ix);
    assert_int_equal(of_index_frozen_find(fz, 5, &pos, &pay), OF_OK);
    assert_true(pos == 2 && pay == 2);
    of_index_frozen_destroy(fz);
}

static void index_empty_answers_empty(void **state)
{
    (void)state;
    of_index *ix = NULL;
    of_index_frozen *fz = NULL;
    assert_int_equal(of_index_create(0, &ix), OF_OK);
    assert_int_equal(of_index_freeze(ix, &fz), OF_OK);
    size_t pos = 9;
    uint64_t k = 9;
    assert_int_equal(of_index_floor(ix, 1, &pos, &k, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_index_ceiling(ix, 1, &pos, &k, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_index_ceiling_wrap(ix, 1, &pos, &k, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_index_frozen_floor(fz, 1, &pos, &k, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_index_frozen_ceiling(fz, 1, &pos, &k, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_index_frozen_ceiling_wrap(fz, 1, &pos, &k, NULL), OF_ERR_EMPTY);
    assert_int_equal(of_index_find(ix, 1, &pos, NULL), OF_ERR_NOT_FOUND);
    assert_int_equal(of_index_remove_one(ix, 1, NULL), OF_ERR_NOT_FOUND);
    assert_int_equal(of_index_remove_all(ix, 1, NULL), OF_ERR_NOT_FOUND);
    assert_int_equal(of_index_remove_at(ix, 0, NULL, NULL), OF_ERR_NOT_FOUND);
    assert_true(pos == 9 && k == 9);
    assert_int_equal(of_index_lower_bound(ix, UINT64_MAX, &pos), OF_OK);
    assert_int_equal(pos, 0);
    assert_int_equal(of_index_frozen_upper_bound(fz, UINT64_MAX, &pos), OF_OK);
    assert_int_equal(pos, 0);
    assert_int_equal(of_index_size(NULL), 0);
    assert_int_equal(of_index_frozen_size(NULL), 0);
    of_index_destroy(NULL);
    of_index_frozen_destroy(NULL);
    of_index_clear(NULL);
    of_index_frozen_destroy(fz);
    of_index_destroy(ix);
}

static int never_called(void *ctx, uint64_t key, uint64_t payload)
{
    (void)key;
    (void)payload;
    (*(int *)ctx)++;
    return 0;
}

static void index_bad_input_gets_status_and_changes_nothing(void **state)
{
    (void)state;
    of_index *ix = NULL;
    assert_int_equal(of_index_create(0, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_create(0, &ix), OF_OK);
    const uint64_t keys[] = {3, 1, 2};
    assert_int_equal(of_index_build(ix, keys, NULL, 3), OF_OK);
    of_index_frozen *fz = NULL;
    assert_int_equal(of_index_freeze(ix, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_freeze(NULL, &fz), OF_ERR_INVALID);
    assert_null(fz);
    assert_int_equal(of_index_freeze(ix, &fz), OF_OK);

    assert_int_equal(of_index_build(ix, NULL, NULL, 2), OF_ERR_INVALID);
    assert_int_equal(of_index_build(NULL, keys, NULL, 3), OF_ERR_INVALID);
    assert_int_equal(of_index_insert_left(NULL, 1, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_insert_right(NULL, 1, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_remove_one(NULL, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_remove_all(NULL, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_remove_at(NULL, 0, NULL, NULL), OF_ERR_INVALID);
    uint64_t k = 42;
    assert_int_equal(of_index_remove_at(ix, 3, &k, NULL), OF_ERR_NOT_FOUND);
    assert_true(k == 42);
    size_t out = 77;
    assert_int_equal(of_index_lower_bound(ix, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_lower_bound(NULL, 1, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_upper_bound(NULL, 1, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_rank(NULL, 1, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_lower_bound(NULL, 1, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_upper_bound(fz, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_rank(fz, 1, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_count_range(ix, 5, 4, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_count_range(fz, 5, 4, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_count_range(ix, 1, 4, NULL), OF_ERR_INVALID);
    int calls = 0;
    assert_int_equal(of_index_iterate(ix, 5, 4, never_called, &calls, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_iterate(fz, 5, 4, never_called, &calls, &out),
                     OF_ERR_INVALID);
    assert_int_equal(of_index_iterate(ix, 0, 4, NULL, &calls, &out), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_iterate(NULL, 0, 4, never_called, &calls, &out),
                     OF_ERR_INVALID);
    assert_int_equal(calls, 0);
    of_index_cursor cur = {11, 12};
    assert_int_equal(of_index_cursor_init(ix, 5, 4, &cur), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_cursor_init(fz, 5, 4, &cur), OF_ERR_INVALID);
    assert_int_equal(of_index_cursor_init(ix, 1, 4, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_cursor_next(ix, NULL, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_cursor_next(NULL, &cur, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_true(cur.next == 11 && cur.end == 12);
    uint64_t xs[2] = {1, 2};
    size_t outs[2] = {5, 5};
    assert_int_equal(of_index_lower_bound_batch(ix, NULL, 2, outs), OF_ERR_INVALID);
    assert_int_equal(of_index_lower_bound_batch(ix, xs, 2, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_lower_bound_batch(NULL, xs, 2, outs), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_lower_bound_batch(fz, NULL, 2, outs), OF_ERR_INVALID);
    assert_int_equal(of_index_lower_bound_batch(ix, NULL, 0, NULL), OF_OK);
    assert_true(outs[0] == 5 && outs[1] == 5);
    assert_int_equal(of_index_find(NULL, 1, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_floor(NULL, 1, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_ceiling(NULL, 1, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_ceiling_wrap(NULL, 1, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_select(NULL, 0, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_find(NULL, 1, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_floor(NULL, 1, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_ceiling(NULL, 1, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_ceiling_wrap(NULL, 1, NULL, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(of_index_frozen_select(NULL, 0, NULL, NULL), OF_ERR_INVALID);
    assert_int_equal(out, 77);

    /* Nothing changed. */
    assert_int_equal(of_index_size(ix), 3);
    for (size_t i = 0; i < 3; i++) {
        uint64_t kk, pp;
        assert_int_equal(of_index_select(ix, i, &kk, &pp), OF_OK);
        assert_true(kk == i + 1);
        assert_true(pp == (i + 1) % 3); /* argsort of {3, 1, 2} */
    }
    of_index_frozen_destroy(fz);
    of_index_destroy(ix);
}

/* Positions stay memory-safe after the index shrinks under a cursor. */
static void index_cursor_survives_shrinking(void **state)
{
    (void)state;
    of_index *ix = NULL;
    assert_int_equal(of_index_create(4, &ix), OF_OK);
    for (uint64_t i = 0; i < 10; i++)
        assert_int_equal(of_index_insert_right(ix, i, i * 10, NULL), OF_OK);
    of_index_cursor cur;
    assert_int_equal(of_index_cursor_init(ix, 2, 9, &cur), OF_OK);
    uint64_t k, p;
    size_t pos;
    assert_int_equal(of_index_cursor_next(ix, &cur, &pos, &k, &p), OF_OK);
    assert_true(pos == 2 && k == 2 && p == 20);
    of_index_clear(ix);
    assert_int_equal(of_index_cursor_next(ix, &cur, &pos, &k, &p), OF_ERR_NOT_FOUND);
    of_index_destroy(ix);
}

struct reader_arg {
    const of_index_frozen *fz;
    const uint64_t *sorted;
    size_t n;
    uint64_t seed;
    int failures;
    int checked;
};

static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    uint64_t s = a->seed;
    uint64_t xs[32];
    size_t outs[32];
    for (int round = 0; round < 200; round++) {
        for (int j = 0; j < 32; j++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            xs[j] = a->sorted[(s >> 33) % a->n] + (s & 1);
        }
        if (of_index_frozen_lower_bound_batch(a->fz, xs, 32, outs) != OF_OK)
            a->failures++;
        for (int j = 0; j < 32; j++) {
            size_t pos;
            if (of_index_frozen_lower_bound(a->fz, xs[j], &pos) != OF_OK || pos != outs[j] ||
                pos != naive_left_u64(a->sorted, 0, a->n, xs[j]))
                a->failures++;
            a->checked++;
        }
    }
    return NULL;
}

static void frozen_concurrent_readers_agree(void **state)
{
    (void)state;
    enum { N = 3000, T = 4 };
    uint64_t *keys = malloc(N * 8);
    assert_non_null(keys);
    for (size_t i = 0; i < N; i++)
        keys[i] = rnd() % 100000;
    of_index *ix = NULL;
    of_index_frozen *fz = NULL;
    assert_int_equal(of_index_create(0, &ix), OF_OK);
    assert_int_equal(of_index_build(ix, keys, NULL, N), OF_OK);
    assert_int_equal(of_index_freeze(ix, &fz), OF_OK);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(of_index_select(ix, i, &keys[i], NULL), OF_OK);
    of_index_destroy(ix);
    pthread_t th[T];
    struct reader_arg args[T];
    for (int t = 0; t < T; t++) {
        args[t] = (struct reader_arg){fz, keys, N, (uint64_t)t + 1, 0, 0};
        assert_int_equal(pthread_create(&th[t], NULL, reader_main, &args[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(args[t].failures, 0);
        assert_int_equal(args[t].checked, 200 * 32);
    }
    of_index_frozen_destroy(fz);
    free(keys);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(kernels_u64_match_naive_reference),
        cmocka_unit_test(kernels_u64_key_range_bounds),
        cmocka_unit_test(kernels_i64_match_naive_reference),
        cmocka_unit_test(kernels_f64_match_naive_reference),
        cmocka_unit_test(kernels_f64_order_signed_zero_and_nan_pinned),
        cmocka_unit_test(kernels_cmp_byte_strings_match_naive),
        cmocka_unit_test(kernels_insort_all_types_keep_order_and_stability),
        cmocka_unit_test(kernels_bad_input_gets_status_and_changes_nothing),
        cmocka_unit_test(kernels_null_array_empty_window),
        cmocka_unit_test(index_random_operations_match_model),
        cmocka_unit_test(index_build_is_stable_sorted_and_matches_model),
        cmocka_unit_test(index_large_mutable_frozen_batch_agree),
        cmocka_unit_test(index_key_range_bounds),
        cmocka_unit_test(index_empty_answers_empty),
        cmocka_unit_test(index_bad_input_gets_status_and_changes_nothing),
        cmocka_unit_test(index_cursor_survives_shrinking),
        cmocka_unit_test(frozen_concurrent_readers_agree),
    };
    const struct CMUnitTest slow[] = {
        cmocka_unit_test(index_one_million_agree),
    };
    const struct CMUnitTest concurrency[] = {
        cmocka_unit_test(frozen_concurrent_readers_agree),
    };
    if (argc > 1 && strcmp(argv[1], "slow") == 0)
        return cmocka_run_group_tests_name("bisect-slow", slow, NULL, NULL);
    if (argc > 1 && strcmp(argv[1], "concurrency") == 0)
        return cmocka_run_group_tests_name("bisect-concurrency", concurrency, NULL, NULL);
    return cmocka_run_group_tests_name("bisect", unit, NULL, NULL);
}
