/* Differential fuzzer of the bisect kernels against Python's bisect semantics, written as linear
 * scans: bisect_left(a, x, lo, hi) is the first i in [lo, hi) whose element is not before x, or
 * hi; bisect_right the first whose element is after x; insort inserts there. Doubles follow
 * docs/bisect.md: -0.0 == +0.0, every NaN equal to every NaN and after +inf. Bad bounds, NULL
 * arrays and full arrays must give the documented status and leave every output alone. */
#include <math.h>
#include <stdbool.h>

#include <openfault/bisect.h>

#include "fuzz-common.h"

#define MAXC 5000 /* above the kernels' prefetch threshold (2048 elements) */
#define NOIDX ((size_t)0xdeadbeef)

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- orders --------------------------------------------------------------------------------- */

static bool f64_before(double a, double b)
{
    if (isnan(a))
        return false;
    if (isnan(b))
        return true;
    return a < b;
}

static int f64_qsort(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return f64_before(a, b) ? -1 : f64_before(b, a);
}

static int u64_qsort(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

static int i64_qsort(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return a < b ? -1 : a > b;
}

static double draw_f64(uint64_t r)
{
    static const double special[] = {0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, 0.5,
                                     4.9406564584124654e-324, -4.9406564584124654e-324,
                                     1.7976931348623157e308, 2.2250738585072014e-308};
    switch (r % 8) {
    case 0: {
        /* NaNs of both signs and several payloads */
        uint64_t bits = 0x7ff0000000000000ull | ((r >> 8) & 0x000fffffffffffffull) | 1;
        if (r & 0x10)
            bits |= 0x8000000000000000ull;
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    case 1:
    case 2:
        return special[(r >> 8) % (sizeof special / sizeof special[0])];
    case 3:
        return (double)(int)((r >> 8) % 7) - 3.0;
    default: {
        uint64_t bits = r >> 3 | ((r & 1) << 63);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    }
}

static uint64_t draw_u64(uint8_t domain, uint64_t r)
{
    switch (domain % 4) {
    case 0:
        return r % 8;
    case 1:
        return r % 2 ? UINT64_MAX - r % 4 : r % 4;
    case 2:
        return ((uint64_t)1 << 63) + r % 8 - 4;
    default:
        return r;
    }
}

/* ---- comparator kernel -------------------------------------------------------------------- */

typedef struct cmp_ctx {
    const uint8_t *base;
    size_t count, elem_size;
    const uint8_t *key;
    size_t keylen; /* bytes compared */
    size_t calls;
} cmp_ctx;

static int rec_cmp(void *ctx, const void *key, const void *element)
{
    cmp_ctx *c = ctx;
    const uint8_t *e = element;
    FZ_CHECK(key == c->key, "cmp: key argument is not the caller's key");
    FZ_CHECK(e >= c->base && e < c->base + c->count * c->elem_size &&
                 (size_t)(e - c->base) % c->elem_size == 0,
             "cmp: element pointer outside the array or misaligned");
    c->calls++;
    return memcmp(key, element, c->keylen);
}

static int qsort_keylen; /* qsort has no context */
static int rec_qsort(const void *a, const void *b)
{
    return memcmp(a, b, (size_t)qsort_keylen);
}

/* ---- one case ------------------------------------------------------------------------------- */

typedef struct bounds {
    size_t lo, hi;
    bool ok;
} bounds;

static bounds pick_bounds(fz_in *in, size_t count)
{
    uint8_t sel = fz_u8(in);
    bounds b = {0, count, true};
    if (sel < 96)
        return b;
    if (sel < 200) {
        size_t x = count ? fz_u16(in) % (count + 1) : 0, y = count ? fz_u16(in) % (count + 1) : 0;
        b.lo = x < y ? x : y;
        b.hi = x < y ? y : x;
        return b;
    }
    /* bad: lo > hi, hi > count, huge */
    switch (sel % 3) {
    case 0:
        b.lo = count + 1;
        b.hi = count + 1;
        break;
    case 1:
        b.lo = count ? count : 1;
        b.hi = b.lo - 1;
        break;
    default:
        b.lo = 0;
        b.hi = SIZE_MAX;
        break;
    }
    b.ok = false;
    return b;
}

#define LINEAR(out, lo, hi, BEFORE_X)                                                              \
    do {                                                                                           \
        out = hi;                                                                                  \
        for (size_t i_ = lo; i_ < hi; i_++)                                                        \
            if (!(BEFORE_X)) {                                                                     \
                out = i_;                                                                          \
                break;                                                                             \
            }                                                                                      \
    } while (0)

static void one_case(fz_in *in)
{
    static uint64_t u[MAXC + 4];
    static int64_t s[MAXC + 4];
    static double d[MAXC + 4];
    static uint8_t recs[(MAXC + 4) * 16];
    static uint64_t buf[MAXC + 4];
    uint8_t type = fz_u8(in) % 4;
    size_t count = fz_u16(in) % (MAXC + 1);
    if (fz_u8(in) < 192)
        count %= 40;
    uint8_t domain = fz_u8(in);
    uint64_t seed = fz_u64(in);
    bool null_array = count == 0 && (domain & 0x80);
    bounds b = pick_bounds(in, count);
    uint8_t xsel = fz_u8(in);
    size_t idx = NOIDX;
    int rc, right = fz_u8(in) & 1, insort = fz_u8(in) < 64;
    size_t extra = fz_u8(in) % 3; /* spare capacity for insort */

    if (type == 0) {
        for (size_t i = 0; i < count; i++)
            u[i] = draw_u64(domain, splitmix(&seed));
        qsort(u, count, sizeof *u, u64_qsort);
        uint64_t x = count && xsel < 128 ? u[splitmix(&seed) % count] + (xsel % 3) - 1
                                         : draw_u64(domain, splitmix(&seed));
        const uint64_t *a = null_array ? NULL : u;
        if (!insort) {
            rc = right ? of_bisect_right_u64(a, count, x, b.lo, b.hi, &idx)
                       : of_bisect_left_u64(a, count, x, b.lo, b.hi, &idx);
            if (!b.ok) {
                FZ_STATUS(rc, OF_ERR_INVALID, "bisect_u64 with bad bounds");
                FZ_CHECK(idx == NOIDX, "bisect: output written on error");
                return;
            }
            size_t want;
            if (right)
                LINEAR(want, b.lo, b.hi, u[i_] <= x);
            else
                LINEAR(want, b.lo, b.hi, u[i_] < x);
            FZ_STATUS(rc, OF_OK, "bisect_u64");
            FZ_CHECK(idx == want, "bisect_%s_u64: %zu, model %zu", right ? "right" : "left", idx,
                     want);
            return;
        }
        size_t cap = count + extra, n = count;
        memcpy(buf, u, count * sizeof *u);
        buf[cap] = 0x1234; /* guard */
        rc = right ? of_insort_right_u64(cap ? buf : NULL, cap, &n, x, b.lo, b.hi, &idx)
                   : of_insort_left_u64(cap ? buf : NULL, cap, &n, x, b.lo, b.hi, &idx);
        FZ_CHECK(buf[cap] == 0x1234, "insort wrote past the capacity");
        if (!b.ok || extra == 0) {
            if (!b.ok && extra == 0)
            FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_NOSPACE, "insort: %s", of_status_name(rc));
        else
            FZ_STATUS(rc, !b.ok ? OF_ERR_INVALID : OF_ERR_NOSPACE, "insort_u64 refused");
            FZ_CHECK(n == count && idx == NOIDX && memcmp(buf, u, count * sizeof *u) == 0,
                     "insort: array or outputs changed on error");
            return;
        }
        size_t want;
        if (right)
            LINEAR(want, b.lo, b.hi, u[i_] <= x);
        else
            LINEAR(want, b.lo, b.hi, u[i_] < x);
        FZ_STATUS(rc, OF_OK, "insort_u64");
        FZ_CHECK(idx == want && n == count + 1, "insort_u64 at %zu, model %zu", idx, want);
        FZ_CHECK(memcmp(buf, u, want * sizeof *u) == 0 && buf[want] == x &&
                     memcmp(buf + want + 1, u + want, (count - want) * sizeof *u) == 0,
                 "insort_u64: wrong array");
        return;
    }

    if (type == 1) {
        for (size_t i = 0; i < count; i++)
            s[i] = (int64_t)draw_u64(domain, splitmix(&seed));
        qsort(s, count, sizeof *s, i64_qsort);
        int64_t x = count && xsel < 128 ? (int64_t)((uint64_t)s[splitmix(&seed) % count] +
                                                    (uint64_t)(xsel % 3) - 1)
                                        : (int64_t)draw_u64(domain, splitmix(&seed));
        const int64_t *a = null_array ? NULL : s;
        if (!insort) {
            rc = right ? of_bisect_right_i64(a, count, x, b.lo, b.hi, &idx)
                       : of_bisect_left_i64(a, count, x, b.lo, b.hi, &idx);
            if (!b.ok) {
                FZ_STATUS(rc, OF_ERR_INVALID, "bisect_i64 with bad bounds");
                FZ_CHECK(idx == NOIDX, "bisect: output written on error");
                return;
            }
            size_t want;
            if (right)
                LINEAR(want, b.lo, b.hi, s[i_] <= x);
            else
                LINEAR(want, b.lo, b.hi, s[i_] < x);
            FZ_STATUS(rc, OF_OK, "bisect_i64");
            FZ_CHECK(idx == want, "bisect_%s_i64: %zu, model %zu", right ? "right" : "left", idx,
                     want);
            return;
        }
        static int64_t sb[MAXC + 4];
        size_t cap = count + extra, n = count;
        memcpy(sb, s, count * sizeof *s);
        rc = right ? of_insort_right_i64(cap ? sb : NULL, cap, &n, x, b.lo, b.hi, &idx)
                   : of_insort_left_i64(cap ? sb : NULL, cap, &n, x, b.lo, b.hi, &idx);
        if (!b.ok || extra == 0) {
            if (!b.ok && extra == 0)
            FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_NOSPACE, "insort: %s", of_status_name(rc));
        else
            FZ_STATUS(rc, !b.ok ? OF_ERR_INVALID : OF_ERR_NOSPACE, "insort_i64 refused");
            FZ_CHECK(n == count && idx == NOIDX && memcmp(sb, s, count * sizeof *s) == 0,
                     "insort: array or outputs changed on error");
            return;
        }
        size_t want;
        if (right)
            LINEAR(want, b.lo, b.hi, s[i_] <= x);
        else
            LINEAR(want, b.lo, b.hi, s[i_] < x);
        FZ_STATUS(rc, OF_OK, "insort_i64");
        FZ_CHECK(idx == want && n == count + 1 && sb[want] == x, "insort_i64 at %zu, model %zu",
                 idx, want);
        return;
    }

    if (type == 2) {
        for (size_t i = 0; i < count; i++)
            d[i] = draw_f64(splitmix(&seed));
        qsort(d, count, sizeof *d, f64_qsort);
        double x = count && xsel < 96 ? d[splitmix(&seed) % count] : draw_f64(splitmix(&seed));
        const double *a = null_array ? NULL : d;
        if (!insort) {
            rc = right ? of_bisect_right_f64(a, count, x, b.lo, b.hi, &idx)
                       : of_bisect_left_f64(a, count, x, b.lo, b.hi, &idx);
            if (!b.ok) {
                FZ_STATUS(rc, OF_ERR_INVALID, "bisect_f64 with bad bounds");
                FZ_CHECK(idx == NOIDX, "bisect: output written on error");
                return;
            }
            size_t want;
            if (right)
                LINEAR(want, b.lo, b.hi, !f64_before(x, d[i_]));
            else
                LINEAR(want, b.lo, b.hi, f64_before(d[i_], x));
            FZ_STATUS(rc, OF_OK, "bisect_f64");
            FZ_CHECK(idx == want, "bisect_%s_f64(%a): %zu, model %zu", right ? "right" : "left", x,
                     idx, want);
            return;
        }
        static double db[MAXC + 4];
        size_t cap = count + extra, n = count;
        memcpy(db, d, count * sizeof *d);
        rc = right ? of_insort_right_f64(cap ? db : NULL, cap, &n, x, b.lo, b.hi, &idx)
                   : of_insort_left_f64(cap ? db : NULL, cap, &n, x, b.lo, b.hi, &idx);
        if (!b.ok || extra == 0) {
            if (!b.ok && extra == 0)
            FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_NOSPACE, "insort: %s", of_status_name(rc));
        else
            FZ_STATUS(rc, !b.ok ? OF_ERR_INVALID : OF_ERR_NOSPACE, "insort_f64 refused");
            FZ_CHECK(n == count && idx == NOIDX && memcmp(db, d, count * sizeof *d) == 0,
                     "insort: array or outputs changed on error");
            return;
        }
        size_t want;
        if (right)
            LINEAR(want, b.lo, b.hi, !f64_before(x, d[i_]));
        else
            LINEAR(want, b.lo, b.hi, f64_before(d[i_], x));
        FZ_STATUS(rc, OF_OK, "insort_f64");
        FZ_CHECK(idx == want && n == count + 1, "insort_f64 at %zu, model %zu", idx, want);
        FZ_CHECK(memcmp(&db[want], &x, sizeof x) == 0, "insort_f64: value not stored bit for bit");
        FZ_CHECK(memcmp(db, d, want * sizeof *d) == 0 &&
                     memcmp(db + want + 1, d + want, (count - want) * sizeof *d) == 0,
                 "insort_f64: wrong array");
        return;
    }

    /* comparator kernels over records of 1..16 bytes, compared on their first 1..2 bytes */
    size_t es = 1 + domain % 16;
    size_t keylen = es < 2 ? es : 1 + (domain >> 4) % 2;
    if (count > 1000)
        count = 1000;
    if (b.ok && b.hi > count) {
        b.lo = b.lo > count ? count : b.lo;
        b.hi = count;
    }
    if (!b.ok) /* recompute bad bounds for the smaller count */
        b.lo = count + 1, b.hi = count + 1;
    for (size_t i = 0; i < count * es; i++)
        recs[i] = (uint8_t)(splitmix(&seed) % 4);
    qsort_keylen = (int)keylen;
    qsort(recs, count, es, rec_qsort);
    uint8_t key[16];
    for (size_t i = 0; i < es; i++)
        key[i] = (uint8_t)(splitmix(&seed) % 5);
    cmp_ctx c = {recs, count, es, key, keylen, 0};
    const void *base = null_array ? NULL : recs;
    if (!insort) {
        rc = right ? of_bisect_right_cmp(base, count, es, key, rec_cmp, &c, b.lo, b.hi, &idx)
                   : of_bisect_left_cmp(base, count, es, key, rec_cmp, &c, b.lo, b.hi, &idx);
        if (!b.ok) {
            FZ_STATUS(rc, OF_ERR_INVALID, "bisect_cmp with bad bounds");
            FZ_CHECK(idx == NOIDX && c.calls == 0, "bisect_cmp: work done on error");
            return;
        }
        size_t want;
        if (right)
            LINEAR(want, b.lo, b.hi, memcmp(key, recs + i_ * es, keylen) >= 0);
        else
            LINEAR(want, b.lo, b.hi, memcmp(key, recs + i_ * es, keylen) > 0);
        FZ_STATUS(rc, OF_OK, "bisect_cmp");
        FZ_CHECK(idx == want, "bisect_%s_cmp: %zu, model %zu", right ? "right" : "left", idx, want);
        return;
    }
    static uint8_t rb[(MAXC + 4) * 16];
    size_t cap = count + extra, n = count;
    memcpy(rb, recs, count * es);
    c.base = rb;
    c.count = cap;
    rc = right ? of_insort_right_cmp(cap ? rb : NULL, cap, &n, es, key, rec_cmp, &c, b.lo, b.hi,
                                     &idx)
               : of_insort_left_cmp(cap ? rb : NULL, cap, &n, es, key, rec_cmp, &c, b.lo, b.hi,
                                    &idx);
    if (!b.ok || extra == 0) {
        if (!b.ok && extra == 0)
            FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_NOSPACE, "insort: %s", of_status_name(rc));
        else
            FZ_STATUS(rc, !b.ok ? OF_ERR_INVALID : OF_ERR_NOSPACE, "insort_cmp refused");
        FZ_CHECK(n == count && idx == NOIDX && memcmp(rb, recs, count * es) == 0,
                 "insort_cmp: array or outputs changed on error");
        return;
    }
    size_t want;
    if (right)
        LINEAR(want, b.lo, b.hi, memcmp(key, recs + i_ * es, keylen) >= 0);
    else
        LINEAR(want, b.lo, b.hi, memcmp(key, recs + i_ * es, keylen) > 0);
    FZ_STATUS(rc, OF_OK, "insort_cmp");
    FZ_CHECK(idx == want && n == count + 1, "insort_cmp at %zu, model %zu", idx, want);
    FZ_CHECK(memcmp(rb, recs, want * es) == 0 && memcmp(rb + want * es, key, es) == 0 &&
                 memcmp(rb + (want + 1) * es, recs + want * es, (count - want) * es) == 0,
             "insort_cmp: wrong array");
}

static void null_calls(void)
{
    size_t idx = NOIDX, n = 1;
    uint64_t a[2] = {1, 2};
    FZ_STATUS(of_bisect_left_u64(NULL, 3, 0, 0, 3, &idx), OF_ERR_INVALID, "NULL array, count 3");
    FZ_STATUS(of_bisect_left_u64(a, 2, 0, 0, 2, NULL), OF_ERR_INVALID, "NULL out_index");
    FZ_STATUS(of_bisect_left_cmp(a, 2, 0, a, rec_cmp, NULL, 0, 2, &idx), OF_ERR_INVALID,
              "elem_size 0");
    FZ_STATUS(of_bisect_left_cmp(a, 2, 8, NULL, rec_cmp, NULL, 0, 2, &idx), OF_ERR_INVALID,
              "NULL key");
    FZ_STATUS(of_bisect_left_cmp(a, 2, 8, a, NULL, NULL, 0, 2, &idx), OF_ERR_INVALID, "NULL cmp");
    FZ_STATUS(of_insort_left_u64(a, 2, NULL, 0, 0, 0, &idx), OF_ERR_INVALID, "NULL count");
    n = 3;
    FZ_STATUS(of_insort_left_u64(a, 2, &n, 0, 0, 2, &idx), OF_ERR_INVALID, "count > capacity");
    FZ_CHECK(idx == NOIDX && n == 3 && a[0] == 1 && a[1] == 2, "bad call changed something");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        null_calls();
        once = true;
    }
    fz_in in = {data, size};
    for (int i = 0; i < 16 && fz_more(&in); i++)
        one_case(&in);
    return 0;
}
