/* Differential fuzzer of the native ring: the input is a program of membership changes, pins,
 * lookups, views and diffs; after every step the library must agree with a model that applies
 * the placement rule of docs/ring.md literally (every point of every node, sorted, scanned). The
 * model is quadratic and slow on purpose, so rings stay small (a few nodes, vnodes 1..4). */
#include <math.h>
#include <stdbool.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <openfault/ring.h>

#include "fuzz-common.h"

#define MAXN 10       /* nodes in the model */
#define MAXP 12       /* pins */
#define MAXW 4        /* weights 1..MAXW when valid */
#define NVIEWS 4
#define ID_CAP (OF_NAME_MAX + 1)
#define NOSENT 0x5a5a5a5a5a5a5a5aull /* sentinel for outputs that must stay untouched */

typedef struct mnode {
    uint8_t id[OF_NAME_MAX];
    size_t len;
    uint32_t weight;
    uint64_t tag;
    uint64_t load; /* for the bounded lookup */
} mnode;

typedef struct mpin {
    uint64_t hash;
    uint8_t id[OF_NAME_MAX];
    size_t len;
} mpin;

typedef struct model {
    mnode nodes[MAXN];
    size_t n;
    mpin pins[MAXP];
    size_t np;
    uint64_t gen;
} model;

typedef struct mpoint {
    uint64_t v;
    const mnode *node;
} mpoint;

typedef struct points {
    mpoint *p;
    size_t n;
} points;

static uint64_t g_seed;
static uint32_t g_vnodes;

/* ---- the model ------------------------------------------------------------------------------ */

static int id_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

static int point_cmp(const void *pa, const void *pb)
{
    const mpoint *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return id_cmp(a->node->id, a->node->len, b->node->id, b->node->len);
}

static uint64_t point_value(const mnode *nd, uint32_t i)
{
    uint8_t buf[OF_NAME_MAX + 4];
    memcpy(buf, nd->id, nd->len);
    buf[nd->len] = (uint8_t)i;
    buf[nd->len + 1] = (uint8_t)(i >> 8);
    buf[nd->len + 2] = (uint8_t)(i >> 16);
    buf[nd->len + 3] = (uint8_t)(i >> 24);
    return XXH3_64bits_withSeed(buf, nd->len + 4, g_seed);
}

static points build_points(const model *m)
{
    size_t total = 0;
    for (size_t i = 0; i < m->n; i++)
        total += (size_t)m->nodes[i].weight * g_vnodes;
    points pts = {malloc((total + 1) * sizeof(mpoint)), 0};
    FZ_CHECK(pts.p != NULL, "out of memory");
    for (size_t i = 0; i < m->n; i++)
        for (uint32_t k = 0; k < m->nodes[i].weight * g_vnodes; k++)
            pts.p[pts.n++] = (mpoint){point_value(&m->nodes[i], k), &m->nodes[i]};
    qsort(pts.p, pts.n, sizeof *pts.p, point_cmp);
    return pts;
}

/* Index of the first point >= h, wrapping to 0. */
static size_t first_point(const points *pts, uint64_t h)
{
    for (size_t i = 0; i < pts->n; i++)
        if (pts->p[i].v >= h)
            return i;
    return 0;
}

static const mnode *points_owner(const points *pts, uint64_t h)
{
    if (pts->n == 0)
        return NULL;
    return pts->p[first_point(pts, h)].node;
}

static long find_node(const model *m, const uint8_t *id, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (id_cmp(m->nodes[i].id, m->nodes[i].len, id, len) == 0)
            return (long)i;
    return -1;
}

static long find_pin(const model *m, uint64_t hash)
{
    for (size_t i = 0; i < m->np; i++)
        if (m->pins[i].hash == hash)
            return (long)i;
    return -1;
}

static const mnode *model_owner(const model *m, const points *pts, uint64_t h)
{
    long p = find_pin(m, h);
    if (p >= 0) {
        long k = find_node(m, m->pins[p].id, m->pins[p].len);
        FZ_CHECK(k >= 0, "model: pin to a missing node");
        return &m->nodes[k];
    }
    return points_owner(pts, h);
}

/* Preference list of hash @p h: up to @p want distinct nodes; pins honoured if @p pins. */
static size_t model_walk(const model *m, const points *pts, uint64_t h, bool pins, size_t want,
                         const mnode **out)
{
    size_t got = 0;
    if (m->n == 0)
        return 0;
    long p = pins ? find_pin(m, h) : -1;
    if (p >= 0) {
        long k = find_node(m, m->pins[p].id, m->pins[p].len);
        out[got++] = &m->nodes[k];
    }
    size_t start = first_point(pts, h);
    for (size_t s = 0; s < pts->n && got < want; s++) {
        const mnode *nd = pts->p[(start + s) % pts->n].node;
        bool seen = false;
        for (size_t j = 0; j < got; j++)
            seen |= out[j] == nd;
        if (!seen)
            out[got++] = nd;
    }
    return got < want ? got : want;
}

static uint64_t key_hash(const uint8_t *key, size_t len)
{
    return XXH3_64bits_withSeed(key, len, g_seed);
}

/* Canonical bytes of the membership (ids in order, weights, pins), hashed: equal states must
 * give equal fingerprints and different ones different fingerprints. */
static uint64_t model_state(const model *m)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    const mnode *order[MAXN];
    for (size_t i = 0; i < m->n; i++)
        order[i] = &m->nodes[i];
    for (size_t i = 1; i < m->n; i++)
        for (size_t j = i; j > 0 && id_cmp(order[j - 1]->id, order[j - 1]->len, order[j]->id,
                                           order[j]->len) > 0;
             j--) {
            const mnode *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (size_t i = 0; i < m->n; i++) {
        uint64_t len = order[i]->len;
        XXH3_64bits_update(st, &len, sizeof len);
        XXH3_64bits_update(st, order[i]->id, order[i]->len);
        XXH3_64bits_update(st, &order[i]->weight, sizeof order[i]->weight);
    }
    uint64_t sep = ~0ull;
    XXH3_64bits_update(st, &sep, sizeof sep);
    uint64_t hashes[MAXP];
    for (size_t i = 0; i < m->np; i++)
        hashes[i] = m->pins[i].hash;
    for (size_t i = 1; i < m->np; i++)
        for (size_t j = i; j > 0 && hashes[j - 1] > hashes[j]; j--) {
            uint64_t t = hashes[j];
            hashes[j] = hashes[j - 1];
            hashes[j - 1] = t;
        }
    for (size_t i = 0; i < m->np; i++) {
        long p = find_pin(m, hashes[i]);
        uint64_t len = m->pins[p].len;
        XXH3_64bits_update(st, &hashes[i], sizeof hashes[i]);
        XXH3_64bits_update(st, &len, sizeof len);
        XXH3_64bits_update(st, m->pins[p].id, m->pins[p].len);
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

/* ---- the run -------------------------------------------------------------------------------- */

typedef struct fp_entry {
    uint64_t state, fp;
} fp_entry;

typedef struct run {
    fz_in in;
    of_ring *ring;
    model m;
    fp_entry fps[128];
    size_t nfps;
    of_ring_view *views[NVIEWS];
    model *view_models[NVIEWS];
    uint64_t view_fps[NVIEWS];
    points pts; /* of r->m, rebuilt after each change */
    bool pts_stale;
} run;

static const points *cur_points(run *r)
{
    if (r->pts_stale || !r->pts.p) {
        free(r->pts.p);
        r->pts = build_points(&r->m);
        r->pts_stale = false;
    }
    return &r->pts;
}

static void check_fingerprint(run *r)
{
    uint64_t fp = of_ring_fingerprint(r->ring);
    uint64_t st = model_state(&r->m);
    for (size_t i = 0; i < r->nfps; i++) {
        if (r->fps[i].state == st) {
            FZ_CHECK(r->fps[i].fp == fp, "same membership, different fingerprint");
            return;
        }
        FZ_CHECK(r->fps[i].fp != fp, "different memberships share a fingerprint");
    }
    if (r->nfps < sizeof r->fps / sizeof r->fps[0])
        r->fps[r->nfps++] = (fp_entry){st, fp};
}

typedef struct foreach_ctx {
    const mnode *order[MAXN];
    size_t n, at;
} foreach_ctx;

static int foreach_cb(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    foreach_ctx *f = ctx;
    FZ_CHECK(f->at < f->n, "foreach: more nodes than the model");
    const mnode *nd = f->order[f->at++];
    FZ_CHECK(id_cmp(id, id_len, nd->id, nd->len) == 0, "foreach: wrong node or order");
    FZ_CHECK(weight == nd->weight && tag == nd->tag, "foreach: wrong weight or tag");
    return 0;
}

static void check_lookup_hash(run *r, const points *pts, uint64_t h)
{
    const mnode *want = model_owner(&r->m, pts, h);
    uint64_t tag = NOSENT;
    uint8_t id[ID_CAP];
    size_t len = 0;
    int rc = of_ring_lookup_hash(r->ring, h, &tag, id, sizeof id, &len);
    if (!want) {
        FZ_STATUS(rc, OF_ERR_EMPTY, "lookup_hash on an empty ring");
        FZ_CHECK(tag == NOSENT, "lookup_hash: output written on error");
        return;
    }
    FZ_STATUS(rc, OF_OK, "lookup_hash");
    FZ_CHECK(id_cmp(id, len, want->id, want->len) == 0 && tag == want->tag,
             "lookup_hash(%016llx): wrong owner", (unsigned long long)h);
}

/* Everything observable about the membership, checked against the model. */
static void check_all(run *r)
{
    FZ_CHECK(of_ring_node_count(r->ring) == r->m.n, "node_count %zu, model %zu",
             of_ring_node_count(r->ring), r->m.n);
    FZ_CHECK(of_ring_generation(r->ring) == r->m.gen, "generation %llu, model %llu",
             (unsigned long long)of_ring_generation(r->ring), (unsigned long long)r->m.gen);
    check_fingerprint(r);

    foreach_ctx f = {.n = r->m.n};
    for (size_t i = 0; i < r->m.n; i++)
        f.order[i] = &r->m.nodes[i];
    for (size_t i = 1; i < f.n; i++)
        for (size_t j = i; j > 0 && id_cmp(f.order[j - 1]->id, f.order[j - 1]->len,
                                           f.order[j]->id, f.order[j]->len) > 0;
             j--) {
            const mnode *t = f.order[j];
            f.order[j] = f.order[j - 1];
            f.order[j - 1] = t;
        }
    FZ_STATUS(of_ring_foreach(r->ring, foreach_cb, &f), OF_OK, "foreach");
    FZ_CHECK(f.at == f.n, "foreach: %zu nodes, model %zu", f.at, f.n);

    const points *cp = cur_points(r);
    points pts = *cp;
    /* Ownership: exact arc sums, rounded once. */
    for (size_t i = 0; i < r->m.n; i++) {
        const mnode *nd = &r->m.nodes[i];
        unsigned __int128 sum = 0;
        for (size_t k = 0; k < pts.n; k++) {
            if (pts.p[k].node != nd)
                continue;
            if (pts.n == 1)
                sum = (unsigned __int128)1 << 64;
            else
                sum += (uint64_t)(pts.p[k].v - pts.p[(k + pts.n - 1) % pts.n].v);
        }
        if (r->m.n == 1)
            sum = (unsigned __int128)1 << 64;
        double want = (double)sum / 18446744073709551616.0;
        double got = -1;
        FZ_STATUS(of_ring_ownership(r->ring, nd->id, nd->len, &got), OF_OK, "ownership");
        FZ_CHECK(got == want, "ownership %.17g, model %.17g", got, want);
        int present = -1;
        FZ_STATUS(of_ring_contains(r->ring, nd->id, nd->len, &present), OF_OK, "contains");
        FZ_CHECK(present == 1, "contains: present node reported absent");
    }
    /* The owner at and right after every point, and at the ends of the hash space. */
    check_lookup_hash(r, &pts, 0);
    check_lookup_hash(r, &pts, UINT64_MAX);
    for (size_t k = 0; k < pts.n; k++) {
        check_lookup_hash(r, &pts, pts.p[k].v);
        check_lookup_hash(r, &pts, pts.p[k].v + 1);
    }
    for (size_t i = 0; i < r->m.np; i++)
        check_lookup_hash(r, &pts, r->m.pins[i].hash);
}

/* An id: usually one of the nodes (to hit EXISTS / remove / pin paths), else new bytes; rarely
 * an invalid length (0 or OF_NAME_MAX + 1) or the longest valid one. */
static size_t pick_id(run *r, uint8_t *id)
{
    uint8_t sel = fz_u8(&r->in);
    if (r->m.n > 0 && sel < 128) {
        const mnode *nd = &r->m.nodes[sel % r->m.n];
        memcpy(id, nd->id, nd->len);
        return nd->len;
    }
    switch (sel % 16) {
    case 0:
        return 0;
    case 1:
        memset(id, 'L', OF_NAME_MAX + 1);
        return OF_NAME_MAX + 1;
    case 2:
        memset(id, 'L', OF_NAME_MAX);
        id[OF_NAME_MAX - 1] = fz_u8(&r->in);
        return OF_NAME_MAX;
    default: {
        size_t len = 1 + fz_u8(&r->in) % 6;
        size_t got = fz_bytes(&r->in, id, len);
        memset(id + got, 0, len - got);
        return len;
    }
    }
}

static bool id_valid(size_t len)
{
    return len >= 1 && len <= OF_NAME_MAX;
}

/* A weight: 1..MAXW mostly, sometimes 0 or far too many points (both invalid). */
static uint32_t pick_weight(run *r)
{
    uint8_t w = fz_u8(&r->in);
    switch (w % 16) {
    case 0:
        return 0;
    case 1:
        return UINT32_MAX;
    case 2:
        return OF_RING_MAX_POINTS + 1u;
    case 3:
        return 0x80000000u;
    default:
        return 1 + w % MAXW;
    }
}

static bool weight_valid(uint32_t w)
{
    return w >= 1 && w <= MAXW;
}

static size_t pick_key(run *r, uint8_t *key)
{
    size_t len = fz_u8(&r->in) % 9;
    size_t got = fz_bytes(&r->in, key, len);
    memset(key + got, 0, len - got);
    return len;
}

static void after_change(run *r, int rc, uint64_t fp_before, uint64_t gen_before)
{
    if (rc == OF_OK) {
        r->m.gen++;
        r->pts_stale = true;
        check_all(r);
    } else {
        FZ_CHECK(of_ring_fingerprint(r->ring) == fp_before, "failed call changed the ring");
        FZ_CHECK(of_ring_generation(r->ring) == gen_before, "failed call bumped the generation");
        FZ_CHECK(of_last_error_detail()[0] != '\0', "failed call without a detail");
    }
}

static void op_add(run *r)
{
    uint8_t id[ID_CAP];
    size_t len = pick_id(r, id);
    uint32_t w = pick_weight(r);
    uint64_t tag = fz_u64(&r->in);
    int want;
    if (!id_valid(len) || !weight_valid(w))
        want = OF_ERR_INVALID;
    else if (find_node(&r->m, id, len) >= 0)
        want = OF_ERR_EXISTS;
    else if (r->m.n == MAXN)
        return;
    else
        want = OF_OK;
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = of_ring_add(r->ring, len ? id : NULL, len, w, tag);
    FZ_STATUS(rc, want, "add");
    if (rc == OF_OK) {
        mnode *nd = &r->m.nodes[r->m.n++];
        memcpy(nd->id, id, len);
        nd->len = len;
        nd->weight = w;
        nd->tag = tag;
        nd->load = 0;
    }
    after_change(r, rc, fp, gen);
}

static void op_add_many(run *r)
{
    size_t count = fz_u8(&r->in) % 5;
    static uint8_t ids[4][ID_CAP];
    of_ring_node_spec spec[4];
    bool invalid = false, exists = false;
    for (size_t i = 0; i < count; i++) {
        size_t len = pick_id(r, ids[i]);
        spec[i] = (of_ring_node_spec){ids[i], len, pick_weight(r), fz_u64(&r->in)};
        invalid |= !id_valid(len) || !weight_valid(spec[i].weight);
        if (id_valid(len)) {
            exists |= find_node(&r->m, ids[i], len) >= 0;
            for (size_t j = 0; j < i; j++)
                exists |= id_valid(spec[j].id_len) &&
                          id_cmp(ids[i], len, ids[j], spec[j].id_len) == 0;
        }
    }
    if (!invalid && !exists && r->m.n + count > MAXN)
        return;
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = of_ring_add_many(r->ring, spec, count);
    if (invalid && exists)
        FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_EXISTS, "add_many: got %s",
                 of_status_name(rc));
    else
        FZ_STATUS(rc, invalid ? OF_ERR_INVALID : exists ? OF_ERR_EXISTS : OF_OK, "add_many");
    if (rc == OF_OK) {
        for (size_t i = 0; i < count; i++) {
            mnode *nd = &r->m.nodes[r->m.n++];
            memcpy(nd->id, spec[i].id, spec[i].id_len);
            nd->len = spec[i].id_len;
            nd->weight = spec[i].weight;
            nd->tag = spec[i].tag;
            nd->load = 0;
        }
        if (count == 0) {
            FZ_CHECK(of_ring_generation(r->ring) == gen, "add_many of 0 nodes bumped the generation");
            return;
        }
    }
    after_change(r, rc, fp, gen);
}

static void op_remove(run *r)
{
    uint8_t id[ID_CAP];
    size_t len = pick_id(r, id);
    long k = id_valid(len) ? find_node(&r->m, id, len) : -1;
    int want = !id_valid(len) ? OF_ERR_INVALID : k < 0 ? OF_ERR_NOT_FOUND : OF_OK;
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = of_ring_remove(r->ring, len ? id : NULL, len);
    FZ_STATUS(rc, want, "remove");
    if (rc == OF_OK) {
        /* drop its pins, then the node */
        size_t np = 0;
        for (size_t i = 0; i < r->m.np; i++)
            if (id_cmp(r->m.pins[i].id, r->m.pins[i].len, id, len) != 0)
                r->m.pins[np++] = r->m.pins[i];
        r->m.np = np;
        r->m.nodes[k] = r->m.nodes[--r->m.n];
    }
    after_change(r, rc, fp, gen);
}

static void op_set_weight(run *r)
{
    uint8_t id[ID_CAP];
    size_t len = pick_id(r, id);
    uint32_t w = pick_weight(r);
    long k = id_valid(len) ? find_node(&r->m, id, len) : -1;
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = of_ring_set_weight(r->ring, len ? id : NULL, len, w);
    if (!id_valid(len))
        FZ_STATUS(rc, OF_ERR_INVALID, "set_weight");
    else if (!weight_valid(w))
        FZ_CHECK(rc == OF_ERR_INVALID || (k < 0 && rc == OF_ERR_NOT_FOUND),
                 "set_weight with a bad weight: %s", of_status_name(rc));
    else
        FZ_STATUS(rc, k < 0 ? OF_ERR_NOT_FOUND : OF_OK, "set_weight");
    if (rc == OF_OK)
        r->m.nodes[k].weight = w;
    after_change(r, rc, fp, gen);
}

static void op_pin(run *r)
{
    uint8_t key[16], id[ID_CAP];
    uint8_t how = fz_u8(&r->in);
    uint64_t hash;
    size_t klen = 0;
    if (how & 1) {
        /* a hash on or next to a point, or an existing pin */
        const points *pts = cur_points(r);
        hash = fz_u64(&r->in);
        if (pts->n && (how & 2))
            hash = pts->p[hash % pts->n].v + (how >> 6) - 1;
        else if (r->m.np && (how & 4))
            hash = r->m.pins[hash % r->m.np].hash;
    } else {
        klen = pick_key(r, key);
        hash = key_hash(key, klen);
    }
    size_t len = pick_id(r, id);
    long k = id_valid(len) ? find_node(&r->m, id, len) : -1;
    long p = find_pin(&r->m, hash);
    if (id_valid(len) && k >= 0 && p < 0 && r->m.np == MAXP)
        return;
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = (how & 1) ? of_ring_pin_hash(r->ring, hash, len ? id : NULL, len)
                       : of_ring_pin(r->ring, klen ? key : NULL, klen, len ? id : NULL, len);
    if (!id_valid(len))
        FZ_STATUS(rc, OF_ERR_INVALID, "pin");
    else if (k < 0 && p >= 0)
        FZ_CHECK(rc == OF_ERR_NOT_FOUND || rc == OF_ERR_EXISTS, "pin: %s", of_status_name(rc));
    else
        FZ_STATUS(rc, k < 0 ? OF_ERR_NOT_FOUND : p >= 0 ? OF_ERR_EXISTS : OF_OK, "pin");
    if (rc == OF_OK) {
        mpin *pn = &r->m.pins[r->m.np++];
        pn->hash = hash;
        memcpy(pn->id, id, len);
        pn->len = len;
    }
    after_change(r, rc, fp, gen);
}

static void op_unpin(run *r)
{
    uint8_t key[16];
    size_t klen = pick_key(r, key);
    uint64_t hash = key_hash(key, klen);
    long p = find_pin(&r->m, hash);
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = of_ring_unpin(r->ring, klen ? key : NULL, klen);
    FZ_STATUS(rc, p < 0 ? OF_ERR_NOT_FOUND : OF_OK, "unpin");
    if (rc == OF_OK)
        r->m.pins[p] = r->m.pins[--r->m.np];
    after_change(r, rc, fp, gen);
}

/* A key, or a pinned key (so pins are seen by lookups): the model keeps no keys, so the input
 * names one of the keys it pinned through of_ring_pin by giving the same bytes again. */
static void op_lookup(run *r)
{
    uint8_t key[16];
    size_t klen = pick_key(r, key);
    uint64_t h = key_hash(key, klen);
    const mnode *want = model_owner(&r->m, cur_points(r), h);
    uint8_t cap_sel = fz_u8(&r->in);
    uint8_t id[ID_CAP];
    memset(id, 0xee, sizeof id);
    size_t cap = sizeof id;
    if (want && (cap_sel & 3) == 0)
        cap = want->len - 1; /* too small */
    uint64_t tag = NOSENT;
    size_t len = 12345;
    int rc = of_ring_lookup(r->ring, klen ? key : NULL, klen, &tag, (cap_sel & 4) ? NULL : id,
                            cap, &len);
    if (!want) {
        FZ_STATUS(rc, OF_ERR_EMPTY, "lookup on an empty ring");
        FZ_CHECK(tag == NOSENT && len == 12345, "lookup: output written on error");
        return;
    }
    if ((cap_sel & 4) == 0 && cap < want->len) {
        FZ_STATUS(rc, OF_ERR_NOSPACE, "lookup with a small buffer");
        FZ_CHECK(len == want->len, "lookup NOSPACE: id length %zu, want %zu", len, want->len);
        FZ_CHECK(tag == NOSENT && id[0] == 0xee, "lookup NOSPACE: outputs written");
        return;
    }
    FZ_STATUS(rc, OF_OK, "lookup");
    FZ_CHECK(tag == want->tag && len == want->len, "lookup: wrong owner");
    if ((cap_sel & 4) == 0)
        FZ_CHECK(memcmp(id, want->id, len) == 0, "lookup: wrong id bytes");
}

static void op_lookup_n(run *r)
{
    uint8_t key[16];
    size_t klen = pick_key(r, key);
    size_t n = fz_u8(&r->in) % (MAXN + 2);
    uint64_t tags[MAXN + 2];
    for (size_t i = 0; i < MAXN + 2; i++)
        tags[i] = NOSENT;
    int rc = of_ring_lookup_n(r->ring, klen ? key : NULL, klen, n, tags);
    if (r->m.n == 0) {
        if (n == 0)
            FZ_CHECK(rc == OF_ERR_EMPTY || rc == OF_ERR_INVALID, "lookup_n: %s",
                     of_status_name(rc));
        else
            FZ_STATUS(rc, OF_ERR_EMPTY, "lookup_n on an empty ring");
    } else if (n == 0 || n > r->m.n) {
        FZ_STATUS(rc, OF_ERR_INVALID, "lookup_n with a bad n");
    } else {
        FZ_STATUS(rc, OF_OK, "lookup_n");
        const mnode *want[MAXN];
        size_t got = model_walk(&r->m, cur_points(r), key_hash(key, klen), true, n, want);
        FZ_CHECK(got == n, "model walk found %zu of %zu", got, n);
        for (size_t i = 0; i < n; i++)
            FZ_CHECK(tags[i] == want[i]->tag, "lookup_n: position %zu differs", i);
        for (size_t i = n; i < MAXN + 2; i++)
            FZ_CHECK(tags[i] == NOSENT, "lookup_n wrote past n");
        return;
    }
    for (size_t i = 0; i < MAXN + 2; i++)
        FZ_CHECK(tags[i] == NOSENT, "lookup_n: output written on error");
}

typedef struct load_ctx {
    run *r;
    const mnode *asked[MAXN + 1];
    size_t nasked;
} load_ctx;

static uint64_t load_cb(void *ctx, uint64_t tag, const void *id, size_t id_len)
{
    load_ctx *l = ctx;
    long k = find_node(&l->r->m, id, id_len);
    FZ_CHECK(k >= 0, "bounded: callback for an unknown node");
    FZ_CHECK(l->r->m.nodes[k].tag == tag, "bounded: callback with the wrong tag");
    FZ_CHECK(l->nasked < MAXN, "bounded: more callbacks than nodes");
    l->asked[l->nasked++] = &l->r->m.nodes[k];
    return l->r->m.nodes[k].load;
}

static void op_bounded(run *r)
{
    static const double cs[] = {1.125, 1.25, 1.5, 2.0, 3.0, 1.0, 0.5, NAN, INFINITY, -2.0};
    uint8_t key[16];
    size_t klen = pick_key(r, key);
    double c = cs[fz_u8(&r->in) % (sizeof cs / sizeof cs[0])];
    uint64_t total = fz_u8(&r->in);
    for (size_t i = 0; i < r->m.n; i++)
        r->m.nodes[i].load = fz_u8(&r->in) % 16;
    load_ctx l = {r, {0}, 0};
    uint64_t tag = NOSENT;
    int rc = of_ring_lookup_bounded(r->ring, klen ? key : NULL, klen, c, total, load_cb, &l, &tag);
    if (!(c > 1.0) || !isfinite(c)) {
        if (r->m.n == 0)
            FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_EMPTY, "bounded: %s",
                     of_status_name(rc));
        else
            FZ_STATUS(rc, OF_ERR_INVALID, "bounded with a bad c");
        FZ_CHECK(tag == NOSENT && l.nasked == 0, "bounded: work done on error");
        return;
    }
    if (r->m.n == 0) {
        FZ_STATUS(rc, OF_ERR_EMPTY, "bounded on an empty ring");
        return;
    }
    /* c is a binary fraction and total small: the capacity is exact in double */
    double cap = ceil(c * ((double)total + 1.0) / (double)r->m.n);
    const mnode *walk[MAXN];
    size_t wn = model_walk(&r->m, cur_points(r), key_hash(key, klen), false, r->m.n, walk);
    size_t pick = wn;
    for (size_t i = 0; i < wn; i++)
        if ((double)walk[i]->load < cap) {
            pick = i;
            break;
        }
    size_t asked = pick < wn ? pick + 1 : wn;
    FZ_CHECK(l.nasked == asked, "bounded: %zu callbacks, model %zu", l.nasked, asked);
    for (size_t i = 0; i < asked; i++)
        FZ_CHECK(l.asked[i] == walk[i], "bounded: callback %zu out of walk order", i);
    if (pick == wn) {
        FZ_STATUS(rc, OF_ERR_NOSPACE, "bounded with every node full");
        FZ_CHECK(tag == NOSENT, "bounded: output written on error");
    } else {
        FZ_STATUS(rc, OF_OK, "bounded");
        FZ_CHECK(tag == walk[pick]->tag, "bounded: wrong node");
    }
}

/* ---- views and diff ------------------------------------------------------------------------- */

static void op_view_take(run *r)
{
    size_t slot = fz_u8(&r->in) % NVIEWS;
    of_ring_view_release(r->views[slot]);
    r->views[slot] = NULL;
    FZ_STATUS(of_ring_view_take(r->ring, &r->views[slot]), OF_OK, "view_take");
    if (!r->view_models[slot]) {
        r->view_models[slot] = malloc(sizeof(model));
        FZ_CHECK(r->view_models[slot] != NULL, "out of memory");
    }
    *r->view_models[slot] = r->m;
    r->view_fps[slot] = of_ring_fingerprint(r->ring);
    FZ_CHECK(of_ring_view_generation(r->views[slot]) == r->m.gen, "view generation");
    FZ_CHECK(of_ring_view_fingerprint(r->views[slot]) == r->view_fps[slot], "view fingerprint");
}

typedef struct mrange {
    uint64_t first, last;
    const mnode *o, *n;
} mrange;

typedef struct diff_ctx {
    mrange want[4 * MAXN * MAXW * 4 * 4 + 8];
    size_t nwant, at;
    mpin *pin_old[2 * MAXP], *pin_new[2 * MAXP];
    uint64_t pin_hash[2 * MAXP];
    size_t npins, pin_at;
    int stop_at, stop_value; /* callback number that stops the walk (-1: never) */
    int calls;
} diff_ctx;

static bool same_owner(const mnode *a, const mnode *b)
{
    if (!a || !b)
        return a == b;
    return id_cmp(a->id, a->len, b->id, b->len) == 0;
}

static bool side_ok(const void *id, size_t len, const mnode *want)
{
    if (!want)
        return id == NULL && len == 0;
    return id && id_cmp(id, len, want->id, want->len) == 0;
}

static int range_cb(void *ctx, const of_ring_range *rg)
{
    diff_ctx *d = ctx;
    FZ_CHECK(d->at < d->nwant, "diff: more ranges than the model (%zu)", d->nwant);
    const mrange *w = &d->want[d->at++];
    FZ_CHECK(rg->first == w->first && rg->last == w->last,
             "diff range %zu: [%016llx, %016llx], model [%016llx, %016llx]", d->at - 1,
             (unsigned long long)rg->first, (unsigned long long)rg->last,
             (unsigned long long)w->first, (unsigned long long)w->last);
    FZ_CHECK(side_ok(rg->old_id, rg->old_id_len, w->o) && side_ok(rg->new_id, rg->new_id_len, w->n),
             "diff range %zu: wrong owners", d->at - 1);
    FZ_CHECK(rg->old_tag == (w->o ? w->o->tag : 0) && rg->new_tag == (w->n ? w->n->tag : 0),
             "diff range %zu: wrong tags", d->at - 1);
    return d->calls++ == d->stop_at ? d->stop_value : 0;
}

static int pin_cb(void *ctx, const of_ring_pin_change *pc)
{
    diff_ctx *d = ctx;
    FZ_CHECK(d->pin_at < d->npins, "diff: more pin changes than the model");
    size_t i = d->pin_at++;
    FZ_CHECK(pc->hash == d->pin_hash[i], "diff pin %zu: wrong hash", i);
    const mpin *o = d->pin_old[i], *n = d->pin_new[i];
    FZ_CHECK(o ? (pc->old_id && id_cmp(pc->old_id, pc->old_id_len, o->id, o->len) == 0)
               : (pc->old_id == NULL && pc->old_id_len == 0),
             "diff pin %zu: wrong old node", i);
    FZ_CHECK(n ? (pc->new_id && id_cmp(pc->new_id, pc->new_id_len, n->id, n->len) == 0)
               : (pc->new_id == NULL && pc->new_id_len == 0),
             "diff pin %zu: wrong new node", i);
    return d->calls++ == d->stop_at ? d->stop_value : 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void model_diff(const model *mo, const model *mn, diff_ctx *d)
{
    points po = build_points(mo), pn = build_points(mn);
    uint64_t *b = malloc((po.n + pn.n + 1) * sizeof *b);
    FZ_CHECK(b != NULL, "out of memory");
    size_t nb = 0;
    for (size_t i = 0; i < po.n; i++)
        b[nb++] = po.p[i].v;
    for (size_t i = 0; i < pn.n; i++)
        b[nb++] = pn.p[i].v;
    qsort(b, nb, sizeof *b, u64_cmp);
    /* Elementary intervals (prev, b]: both owners are constant on each; then the tail past the
     * last boundary, owned by the first point of each ring (wrap). */
    uint64_t start = 0;
    bool done = false;
    d->nwant = 0;
    for (size_t i = 0; i <= nb && !done; i++) {
        if (i < nb && i > 0 && b[i] == b[i - 1])
            continue;
        uint64_t last = i < nb ? b[i] : UINT64_MAX;
        const mnode *o = points_owner(&po, last), *n = points_owner(&pn, last);
        if (!same_owner(o, n)) {
            mrange *prev = d->nwant ? &d->want[d->nwant - 1] : NULL;
            if (prev && prev->last + 1 == start && same_owner(prev->o, o) && same_owner(prev->n, n))
                prev->last = last;
            else
                d->want[d->nwant++] = (mrange){start, last, o, n};
        }
        if (last == UINT64_MAX)
            done = true;
        else
            start = last + 1;
    }
    free(b);
    free(po.p);
    free(pn.p);

    uint64_t hs[2 * MAXP];
    size_t nh = 0;
    for (size_t i = 0; i < mo->np; i++)
        hs[nh++] = mo->pins[i].hash;
    for (size_t i = 0; i < mn->np; i++)
        if (find_pin(mo, mn->pins[i].hash) < 0)
            hs[nh++] = mn->pins[i].hash;
    qsort(hs, nh, sizeof *hs, u64_cmp);
    d->npins = 0;
    for (size_t i = 0; i < nh; i++) {
        long a = find_pin(mo, hs[i]), c = find_pin(mn, hs[i]);
        mpin *pa = a >= 0 ? (mpin *)&mo->pins[a] : NULL, *pc = c >= 0 ? (mpin *)&mn->pins[c] : NULL;
        if (pa && pc && id_cmp(pa->id, pa->len, pc->id, pc->len) == 0)
            continue;
        d->pin_hash[d->npins] = hs[i];
        d->pin_old[d->npins] = pa;
        d->pin_new[d->npins] = pc;
        d->npins++;
    }
}

static void op_diff(run *r)
{
    uint8_t sel = fz_u8(&r->in);
    size_t a = sel % NVIEWS, b = (sel / NVIEWS) % (NVIEWS + 1);
    if (!r->views[a])
        return;
    of_ring_view *cur = NULL;
    model *mb;
    if (b == NVIEWS || !r->views[b]) { /* against the ring as it is now */
        FZ_STATUS(of_ring_view_take(r->ring, &cur), OF_OK, "view_take");
        mb = &r->m;
    } else {
        mb = r->view_models[b];
    }
    static diff_ctx d;
    memset(&d, 0, sizeof d);
    model_diff(r->view_models[a], mb, &d);
    uint8_t stop = fz_u8(&r->in);
    d.stop_at = stop < 200 ? -1 : stop % 8;
    d.stop_value = 1 + stop % 3;
    bool ranges = !(stop & 1) || stop < 200, pins = !(stop & 2) || stop < 200;
    int rc = of_ring_diff(r->views[a], cur ? cur : r->views[b], ranges ? range_cb : NULL,
                          pins ? pin_cb : NULL, &d);
    size_t total = (ranges ? d.nwant : 0) + (pins ? d.npins : 0);
    if (d.stop_at >= 0 && (size_t)d.stop_at < total) {
        FZ_CHECK(rc == d.stop_value, "diff: stop value %d, got %s", d.stop_value,
                 of_status_name(rc));
        FZ_CHECK(d.calls == d.stop_at + 1, "diff: %d callbacks after a stop at %d", d.calls,
                 d.stop_at);
    } else {
        FZ_STATUS(rc, OF_OK, "diff");
        if (ranges)
            FZ_CHECK(d.at == d.nwant, "diff: %zu ranges, model %zu", d.at, d.nwant);
        if (pins)
            FZ_CHECK(d.pin_at == d.npins, "diff: %zu pin changes, model %zu", d.pin_at, d.npins);
    }
    of_ring_view_release(cur);
}

/* ---- entry point ---------------------------------------------------------------------------- */

static void bad_options(void)
{
    of_ring_options o;
    of_ring *ring = NULL;
    FZ_STATUS(of_ring_options_init(&o, sizeof o), OF_OK, "options_init");
    o.vnodes = 0;
    FZ_STATUS(of_ring_create(&o, &ring), OF_ERR_INVALID, "create with vnodes 0");
    FZ_STATUS(of_ring_options_init(&o, sizeof o), OF_OK, "options_init");
    o.flags = OF_RING_SORT_HOSTS;
    FZ_STATUS(of_ring_create(&o, &ring), OF_ERR_INVALID, "native create with SORT_HOSTS");
    FZ_STATUS(of_ring_options_init(&o, sizeof o), OF_OK, "options_init");
    o.algorithm = 7;
    FZ_STATUS(of_ring_create(&o, &ring), OF_ERR_INVALID, "create with a bad algorithm");
    FZ_CHECK(ring == NULL, "create wrote its output on error");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        bad_options();
        once = true;
    }
    static run r;
    memset(&r, 0, sizeof r);
    r.in = (fz_in){data, size};
    uint8_t cfg = fz_u8(&r.in);
    g_vnodes = 1 + cfg % 4;
    g_seed = (cfg & 0x80) ? fz_u64(&r.in) : 0;
    of_ring_options o;
    FZ_STATUS(of_ring_options_init(&o, sizeof o), OF_OK, "options_init");
    o.vnodes = g_vnodes;
    o.seed = g_seed;
    FZ_STATUS(of_ring_create(&o, &r.ring), OF_OK, "create");
    check_all(&r);
    for (int step = 0; step < 96 && fz_more(&r.in); step++) {
        switch (fz_u8(&r.in) % 12) {
        case 0:
        case 1:
            op_add(&r);
            break;
        case 2:
            op_add_many(&r);
            break;
        case 3:
            op_remove(&r);
            break;
        case 4:
            op_set_weight(&r);
            break;
        case 5:
            op_pin(&r);
            break;
        case 6:
            op_unpin(&r);
            break;
        case 7:
            op_lookup(&r);
            break;
        case 8:
            op_lookup_n(&r);
            break;
        case 9:
            op_bounded(&r);
            break;
        case 10:
            op_view_take(&r);
            break;
        case 11:
            op_diff(&r);
            break;
        }
    }
    of_ring_destroy(r.ring);
    free(r.pts.p);
    /* views outlive the ring */
    for (size_t i = 0; i < NVIEWS; i++) {
        if (r.views[i])
            FZ_CHECK(of_ring_view_generation(r.views[i]) == r.view_models[i]->gen,
                     "view changed after the ring was destroyed");
        of_ring_view_release(r.views[i]);
        free(r.view_models[i]);
    }
    return 0;
}
