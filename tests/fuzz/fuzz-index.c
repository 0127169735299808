/* Differential fuzzer of of_index and of_index_frozen: a program of inserts, removals, bulk
 * builds and clears, with every query checked after each step against a plain sorted array of
 * (key, payload) pairs scanned linearly. Frozen copies (the AVX2 path and the forced scalar
 * path) are kept across later changes of the index and checked against the array they were
 * frozen from. */
#include <stdbool.h>

#include <openfault/bisect.h>

#include "bisect/index_internal.h"
#include "fuzz-common.h"

#define MAXE 4096
#define NOSENT 0x5a5a5a5a5a5a5a5aull

typedef struct entry {
    uint64_t key, payload;
} entry;

typedef struct arr {
    entry *e;
    size_t n;
} arr;

typedef struct run {
    fz_in in;
    of_index *ix;
    arr m;
    of_index_frozen *fz[2]; /* [0] as frozen, [1] forced scalar */
    arr fm;                 /* what they were frozen from */
    uint8_t domain;         /* how keys are drawn */
} run;

/* ---- the model: linear scans ----------------------------------------------------------------- */

static size_t m_lower(const arr *a, uint64_t x)
{
    size_t c = 0;
    for (size_t i = 0; i < a->n; i++)
        c += a->e[i].key < x;
    return c;
}

static size_t m_upper(const arr *a, uint64_t x)
{
    size_t c = 0;
    for (size_t i = 0; i < a->n; i++)
        c += a->e[i].key <= x;
    return c;
}

static void m_insert(arr *a, size_t pos, uint64_t key, uint64_t payload)
{
    memmove(&a->e[pos + 1], &a->e[pos], (a->n - pos) * sizeof *a->e);
    a->e[pos] = (entry){key, payload};
    a->n++;
}

static void m_erase(arr *a, size_t pos)
{
    memmove(&a->e[pos], &a->e[pos + 1], (a->n - pos - 1) * sizeof *a->e);
    a->n--;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t draw_key(uint8_t domain, uint64_t raw)
{
    switch (domain % 6) {
    case 0:
        return raw % 16; /* many duplicates */
    case 1:
        return raw % 3 == 0 ? 0 : raw % 3 == 1 ? UINT64_MAX : (uint64_t)1 << 63;
    case 2:
        return ((uint64_t)1 << 63) - 8 + raw % 16; /* around the signed bias of the S+ tree */
    case 3:
        return UINT64_MAX - raw % 32;
    default:
        return raw;
    }
}

/* ---- checks --------------------------------------------------------------------------------- */

typedef struct visit_ctx {
    const arr *a;
    size_t at, stop_after, calls;
} visit_ctx;

static int visit_cb(void *ctx, uint64_t key, uint64_t payload)
{
    visit_ctx *v = ctx;
    FZ_CHECK(v->at < v->a->n, "iterate: past the end");
    FZ_CHECK(v->a->e[v->at].key == key && v->a->e[v->at].payload == payload,
             "iterate: entry %zu differs", v->at);
    v->at++;
    return ++v->calls == v->stop_after;
}

/* The answers of every query for (x, lo, hi, pos) on either index type against @p a. */
static void check_queries(const arr *a, const of_index *ix, const of_index_frozen *fz, uint64_t x,
                          uint64_t lo, uint64_t hi, size_t pos, size_t stop_after)
{
    const char *what = ix ? "index" : "frozen";
    size_t lb = m_lower(a, x), ub = m_upper(a, x);
    size_t got = 12345;
    FZ_CHECK(ix ? of_index_size(ix) == a->n : of_index_frozen_size(fz) == a->n, "%s size", what);
    FZ_STATUS(ix ? of_index_lower_bound(ix, x, &got) : of_index_frozen_lower_bound(fz, x, &got),
              OF_OK, "lower_bound");
    FZ_CHECK(got == lb, "%s lower_bound(%llu) %zu, model %zu", what, (unsigned long long)x, got, lb);
    FZ_STATUS(ix ? of_index_upper_bound(ix, x, &got) : of_index_frozen_upper_bound(fz, x, &got),
              OF_OK, "upper_bound");
    FZ_CHECK(got == ub, "%s upper_bound %zu, model %zu", what, got, ub);
    FZ_STATUS(ix ? of_index_rank(ix, x, &got) : of_index_frozen_rank(fz, x, &got), OF_OK, "rank");
    FZ_CHECK(got == lb, "%s rank %zu, model %zu", what, got, lb);

    uint64_t k = NOSENT, p = NOSENT;
    size_t at = 777;
    int rc = ix ? of_index_select(ix, pos, &k, &p) : of_index_frozen_select(fz, pos, &k, &p);
    if (pos < a->n) {
        FZ_STATUS(rc, OF_OK, "select");
        FZ_CHECK(k == a->e[pos].key && p == a->e[pos].payload, "%s select(%zu)", what, pos);
    } else {
        FZ_STATUS(rc, OF_ERR_NOT_FOUND, "select past the end");
        FZ_CHECK(k == NOSENT && p == NOSENT, "select: output written on error");
    }

    p = NOSENT;
    rc = ix ? of_index_find(ix, x, &at, &p) : of_index_frozen_find(fz, x, &at, &p);
    if (lb < a->n && a->e[lb].key == x) {
        FZ_STATUS(rc, OF_OK, "find");
        FZ_CHECK(at == lb && p == a->e[lb].payload, "%s find", what);
    } else {
        FZ_STATUS(rc, OF_ERR_NOT_FOUND, "find");
        FZ_CHECK(at == 777 && p == NOSENT, "find: output written on error");
    }

    at = 777, k = NOSENT, p = NOSENT;
    rc = ix ? of_index_floor(ix, x, &at, &k, &p) : of_index_frozen_floor(fz, x, &at, &k, &p);
    if (a->n == 0) {
        FZ_STATUS(rc, OF_ERR_EMPTY, "floor on empty");
    } else if (ub == 0) {
        FZ_STATUS(rc, OF_ERR_NOT_FOUND, "floor below every key");
    } else {
        FZ_STATUS(rc, OF_OK, "floor");
        FZ_CHECK(at == ub - 1 && k == a->e[ub - 1].key && p == a->e[ub - 1].payload, "%s floor",
                 what);
    }
    if (rc != OF_OK)
        FZ_CHECK(at == 777 && k == NOSENT && p == NOSENT, "floor: output written on error");

    for (int wrap = 0; wrap < 2; wrap++) {
        at = 777, k = NOSENT, p = NOSENT;
        rc = wrap ? (ix ? of_index_ceiling_wrap(ix, x, &at, &k, &p)
                        : of_index_frozen_ceiling_wrap(fz, x, &at, &k, &p))
                  : (ix ? of_index_ceiling(ix, x, &at, &k, &p)
                        : of_index_frozen_ceiling(fz, x, &at, &k, &p));
        size_t want = lb == a->n && wrap ? 0 : lb;
        if (a->n == 0) {
            FZ_STATUS(rc, OF_ERR_EMPTY, "ceiling on empty");
        } else if (want == a->n) {
            FZ_STATUS(rc, OF_ERR_NOT_FOUND, "ceiling above every key");
        } else {
            FZ_STATUS(rc, OF_OK, "ceiling");
            FZ_CHECK(at == want && k == a->e[want].key && p == a->e[want].payload,
                     "%s ceiling%s", what, wrap ? "_wrap" : "");
        }
        if (rc != OF_OK)
            FZ_CHECK(at == 777 && k == NOSENT && p == NOSENT, "ceiling: output written on error");
    }

    size_t cnt = 999;
    rc = ix ? of_index_count_range(ix, lo, hi, &cnt) : of_index_frozen_count_range(fz, lo, hi, &cnt);
    if (lo > hi) {
        FZ_STATUS(rc, OF_ERR_INVALID, "count_range with lo > hi");
        FZ_CHECK(cnt == 999, "count_range: output written on error");
    } else {
        FZ_STATUS(rc, OF_OK, "count_range");
        size_t want = m_lower(a, hi) - m_lower(a, lo);
        FZ_CHECK(cnt == want, "%s count_range %zu, model %zu", what, cnt, want);
    }

    visit_ctx v = {a, m_lower(a, lo), stop_after, 0};
    size_t visited = 999;
    rc = ix ? of_index_iterate(ix, lo, hi, visit_cb, &v, &visited)
            : of_index_frozen_iterate(fz, lo, hi, visit_cb, &v, &visited);
    if (lo > hi) {
        FZ_STATUS(rc, OF_ERR_INVALID, "iterate with lo > hi");
        FZ_CHECK(v.calls == 0 && visited == 999, "iterate: work done on error");
    } else {
        FZ_STATUS(rc, OF_OK, "iterate");
        size_t in_range = m_lower(a, hi) - m_lower(a, lo);
        size_t want = stop_after && stop_after < in_range ? stop_after : in_range;
        FZ_CHECK(v.calls == want && visited == want, "%s iterate: %zu calls (%zu), model %zu",
                 what, v.calls, visited, want);
    }

    of_index_cursor cur;
    rc = ix ? of_index_cursor_init(ix, lo, hi, &cur) : of_index_frozen_cursor_init(fz, lo, hi, &cur);
    if (lo > hi) {
        FZ_STATUS(rc, OF_ERR_INVALID, "cursor_init with lo > hi");
    } else {
        FZ_STATUS(rc, OF_OK, "cursor_init");
        size_t i = m_lower(a, lo), end = m_lower(a, hi);
        size_t budget = 64 + stop_after; /* a long range: check its start, not every entry */
        for (;; i++) {
            if (i < end && budget-- == 0)
                break;
            at = 777, k = NOSENT, p = NOSENT;
            rc = ix ? of_index_cursor_next(ix, &cur, &at, &k, &p)
                    : of_index_frozen_cursor_next(fz, &cur, &at, &k, &p);
            if (i == end) {
                FZ_STATUS(rc, OF_ERR_NOT_FOUND, "cursor at the end");
                FZ_CHECK(at == 777 && k == NOSENT, "cursor: output written at the end");
                break;
            }
            FZ_STATUS(rc, OF_OK, "cursor_next");
            FZ_CHECK(at == i && k == a->e[i].key && p == a->e[i].payload, "%s cursor entry %zu",
                     what, i);
        }
    }
}

static void check_batch(const arr *a, const of_index *ix, const of_index_frozen *fz,
                        const uint64_t *keys, size_t count)
{
    size_t out[80];
    for (size_t i = 0; i < 80; i++)
        out[i] = 4242;
    FZ_STATUS(ix ? of_index_lower_bound_batch(ix, count ? keys : NULL, count, count ? out : NULL)
                 : of_index_frozen_lower_bound_batch(fz, count ? keys : NULL, count,
                                                     count ? out : NULL),
              OF_OK, "lower_bound_batch");
    for (size_t i = 0; i < count; i++)
        FZ_CHECK(out[i] == m_lower(a, keys[i]), "%s batch[%zu]: %zu, model %zu",
                 ix ? "index" : "frozen", i, out[i], m_lower(a, keys[i]));
    for (size_t i = count; i < 80; i++)
        FZ_CHECK(out[i] == 4242, "batch wrote past count");
}

/* A query key: near an existing key (both sides), an edge, or drawn like the keys. */
static uint64_t pick_x(run *r)
{
    uint8_t sel = fz_u8(&r->in);
    if (r->m.n && sel < 128)
        return r->m.e[fz_u16(&r->in) % r->m.n].key + (uint64_t)(sel % 3) - 1;
    if (sel < 160)
        return sel % 2 ? 0 : UINT64_MAX;
    return draw_key(r->domain, fz_u64(&r->in));
}

static void check_all(run *r)
{
    uint64_t x = pick_x(r), lo = pick_x(r), hi = pick_x(r);
    size_t pos = fz_u16(&r->in) % (r->m.n + 2);
    size_t stop = fz_u8(&r->in) % 8;
    check_queries(&r->m, r->ix, NULL, x, lo, hi, pos, stop);
    if (r->fz[0]) {
        pos = fz_u16(&r->in) % (r->fm.n + 2);
        for (int i = 0; i < 2; i++)
            check_queries(&r->fm, NULL, r->fz[i], x, lo, hi, pos, stop);
    }
}

/* ---- operations ----------------------------------------------------------------------------- */

static void op_insert(run *r, bool right)
{
    if (r->m.n == MAXE)
        return;
    uint64_t key = draw_key(r->domain, fz_u64(&r->in)), payload = fz_u32(&r->in);
    size_t pos = 9999;
    FZ_STATUS(right ? of_index_insert_right(r->ix, key, payload, &pos)
                    : of_index_insert_left(r->ix, key, payload, &pos),
              OF_OK, "insert");
    size_t want = right ? m_upper(&r->m, key) : m_lower(&r->m, key);
    FZ_CHECK(pos == want, "insert_%s at %zu, model %zu", right ? "right" : "left", pos, want);
    m_insert(&r->m, want, key, payload);
}

static void op_remove(run *r)
{
    uint8_t how = fz_u8(&r->in) % 3;
    if (how == 2) {
        size_t pos = fz_u16(&r->in) % (r->m.n + 1);
        uint64_t k = NOSENT, p = NOSENT;
        int rc = of_index_remove_at(r->ix, pos, &k, &p);
        if (pos >= r->m.n) {
            FZ_STATUS(rc, OF_ERR_NOT_FOUND, "remove_at past the end");
            FZ_CHECK(k == NOSENT && p == NOSENT, "remove_at: output written on error");
            return;
        }
        FZ_STATUS(rc, OF_OK, "remove_at");
        FZ_CHECK(k == r->m.e[pos].key && p == r->m.e[pos].payload, "remove_at: wrong entry");
        m_erase(&r->m, pos);
        return;
    }
    uint64_t key = pick_x(r);
    size_t lb = m_lower(&r->m, key), ub = m_upper(&r->m, key);
    uint64_t p = NOSENT;
    size_t removed = 9999;
    int rc = how ? of_index_remove_all(r->ix, key, &removed) : of_index_remove_one(r->ix, key, &p);
    if (lb == ub) {
        FZ_STATUS(rc, OF_ERR_NOT_FOUND, "remove of a missing key");
        FZ_CHECK(p == NOSENT && removed == 9999, "remove: output written on error");
        return;
    }
    FZ_STATUS(rc, OF_OK, "remove");
    if (how) {
        FZ_CHECK(removed == ub - lb, "remove_all removed %zu, model %zu", removed, ub - lb);
        memmove(&r->m.e[lb], &r->m.e[ub], (r->m.n - ub) * sizeof *r->m.e);
        r->m.n -= ub - lb;
    } else {
        FZ_CHECK(p == r->m.e[lb].payload, "remove_one: not the leftmost entry");
        m_erase(&r->m, lb);
    }
}

static int entry_cmp_stable(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->payload < b->payload ? -1 : a->payload > b->payload; /* payload = input position */
}

static void op_build(run *r)
{
    size_t count = fz_u16(&r->in) % (MAXE + 1);
    if (fz_u8(&r->in) < 240)
        count %= 160;
    r->domain = fz_u8(&r->in);
    uint64_t seed = fz_u64(&r->in);
    bool payloads = fz_u8(&r->in) & 1;
    uint64_t *keys = malloc((count + 1) * sizeof *keys), *pays = malloc((count + 1) * sizeof *pays);
    entry *tmp = malloc((count + 1) * sizeof *tmp);
    FZ_CHECK(keys && pays && tmp, "out of memory");
    for (size_t i = 0; i < count; i++) {
        keys[i] = draw_key(r->domain, splitmix(&seed));
        pays[i] = payloads ? splitmix(&seed) : i;
        tmp[i] = (entry){keys[i], i}; /* sort by (key, input position): the stable order */
    }
    FZ_STATUS(of_index_build(r->ix, count ? keys : NULL, payloads ? pays : NULL, count), OF_OK,
              "build");
    qsort(tmp, count, sizeof *tmp, entry_cmp_stable);
    for (size_t i = 0; i < count; i++)
        r->m.e[i] = (entry){tmp[i].key, pays[tmp[i].payload]};
    r->m.n = count;
    free(keys);
    free(pays);
    free(tmp);
}

static void op_freeze(run *r)
{
    for (int i = 0; i < 2; i++) {
        of_index_frozen_destroy(r->fz[i]);
        r->fz[i] = NULL;
        FZ_STATUS(of_index_freeze(r->ix, &r->fz[i]), OF_OK, "freeze");
    }
    ofi_index_frozen_force_scalar(r->fz[1]);
    memcpy(r->fm.e, r->m.e, r->m.n * sizeof *r->m.e);
    r->fm.n = r->m.n;
}

static void op_batch(run *r)
{
    uint64_t keys[80];
    size_t count = fz_u8(&r->in) % 70;
    for (size_t i = 0; i < count; i++)
        keys[i] = pick_x(r);
    check_batch(&r->m, r->ix, NULL, keys, count);
    if (r->fz[0])
        for (int i = 0; i < 2; i++)
            check_batch(&r->fm, NULL, r->fz[i], keys, count);
}

static void bad_calls(run *r)
{
    size_t pos = 5;
    FZ_STATUS(of_index_create(0, NULL), OF_ERR_INVALID, "create NULL");
    FZ_STATUS(of_index_lower_bound(r->ix, 1, NULL), OF_ERR_INVALID, "lower_bound NULL out");
    FZ_STATUS(of_index_build(r->ix, NULL, NULL, 3), OF_ERR_INVALID, "build NULL keys");
    FZ_STATUS(of_index_lower_bound_batch(r->ix, NULL, 2, &pos), OF_ERR_INVALID, "batch NULL");
    FZ_STATUS(of_index_freeze(r->ix, NULL), OF_ERR_INVALID, "freeze NULL");
    FZ_CHECK(pos == 5 && of_index_size(r->ix) == r->m.n, "bad call changed something");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run r;
    static entry m_store[MAXE + 1], f_store[MAXE + 1];
    memset(&r, 0, sizeof r);
    r.m.e = m_store;
    r.fm.e = f_store;
    r.in = (fz_in){data, size};
    r.domain = fz_u8(&r.in);
    FZ_STATUS(of_index_create(fz_u8(&r.in), &r.ix), OF_OK, "create");
    for (int step = 0; step < 128 && fz_more(&r.in); step++) {
        switch (fz_u8(&r.in) % 10) {
        case 0:
        case 1:
            op_insert(&r, false);
            break;
        case 2:
        case 3:
            op_insert(&r, true);
            break;
        case 4:
            op_remove(&r);
            break;
        case 5:
            op_build(&r);
            break;
        case 6:
            if (fz_u8(&r.in) < 32) {
                of_index_clear(r.ix);
                r.m.n = 0;
            } else {
                bad_calls(&r);
            }
            break;
        case 7:
            op_freeze(&r);
            break;
        case 8:
            op_batch(&r);
            break;
        case 9:
            r.domain = fz_u8(&r.in);
            break;
        }
        check_all(&r);
    }
    of_index_destroy(r.ix);
    /* frozen copies share nothing with the index */
    if (r.fz[0])
        for (int i = 0; i < 2; i++)
            check_queries(&r.fm, NULL, r.fz[i], 0, 0, UINT64_MAX, 0, 0);
    of_index_frozen_destroy(r.fz[0]);
    of_index_frozen_destroy(r.fz[1]);
    return 0;
}
