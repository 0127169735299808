/* Differential fuzzer of the ring's ketama mode: membership programs over arbitrary server ids,
 * checked after every step against a model written from the rules in docs/ring.md and
 * notes/ketama.md (libmemcached's weighted ketama: single-precision shares, MD5 point strings,
 * points sorted by value then server index). MD5 comes from OpenSSL when it is installed, so the
 * model does not share the library's MD5. */
#include <math.h>
#include <stdbool.h>

#include <openfault/ring.h>

#include "fuzz-common.h"

#ifdef FUZZ_HAVE_LIBCRYPTO
#include <openssl/evp.h>
static void md5(const void *p, size_t n, uint8_t out[16])
{
    /* one context and one fetched MD5 for the whole run: OpenSSL 3 fetches per EVP_Digest */
    static EVP_MD_CTX *ctx;
    static EVP_MD *alg;
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        alg = EVP_MD_fetch(NULL, "MD5", NULL);
        FZ_CHECK(ctx && alg, "OpenSSL has no MD5");
    }
    unsigned len = 16;
    FZ_CHECK(EVP_DigestInit_ex(ctx, alg, NULL) == 1 && EVP_DigestUpdate(ctx, p, n) == 1 &&
                 EVP_DigestFinal_ex(ctx, out, &len) == 1,
             "MD5 failed");
}
#else
#include "ring/md5.h"
static void md5(const void *p, size_t n, uint8_t out[16])
{
    ofi_md5(p, n, out);
}
#endif

#define MAXN 12
#define IDMAX 64 /* ids the harness makes stay short; the limits are the native harness's job */
#define NVIEWS 3
#define NOSENT 0x5a5a5a5a5a5a5a5aull

typedef struct server {
    uint8_t id[IDMAX];
    size_t len;
    uint8_t host[IDMAX];
    size_t host_len;
    uint32_t port;
    uint32_t weight; /* as given */
    uint64_t tag;
} server;

typedef struct model {
    server s[MAXN]; /* insertion order */
    size_t n;
    uint64_t gen;
} model;

typedef struct kpoint {
    uint32_t v;
    size_t idx; /* server index (position in server order) */
} kpoint;

typedef struct kring {
    const server *order[MAXN]; /* server order: insertion, or sorted by host then port */
    size_t n;
    kpoint *p;
    size_t np;
} kring;

static bool g_sort;

/* ---- the model ------------------------------------------------------------------------------ */

/* `host[:port]`, `[addr]`, `[addr]:port`. Returns 1 valid, 0 invalid, -1 "either is fine" (a
 * port of more than 5 digits with leading zeros: decimal and in range, but longer than any
 * port is written). */
static int parse_id(const uint8_t *id, size_t len, server *out)
{
    if (len == 0 || memchr(id, 0, len))
        return 0;
    const uint8_t *host = id, *port = NULL;
    size_t hlen, plen = 0;
    bool has_port = false;
    if (id[0] == '[') {
        const uint8_t *close = memchr(id, ']', len);
        if (!close)
            return 0;
        host = id + 1;
        hlen = (size_t)(close - id) - 1;
        if (memchr(host, '[', hlen))
            return 0;
        size_t rest = len - (size_t)(close - id) - 1;
        if (rest > 0) {
            if (close[1] != ':')
                return 0;
            has_port = true;
            port = close + 2;
            plen = rest - 1;
        }
    } else {
        if (memchr(id, '[', len) || memchr(id, ']', len))
            return 0;
        const uint8_t *colon = memchr(id, ':', len);
        hlen = colon ? (size_t)(colon - id) : len;
        if (colon) {
            has_port = true;
            port = colon + 1;
            plen = len - hlen - 1;
            if (memchr(port, ':', plen))
                return 0;
        }
    }
    if (hlen == 0)
        return 0;
    uint32_t pv = 11211;
    int verdict = 1;
    if (has_port) {
        if (plen == 0)
            return 0;
        uint64_t v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return 0;
            v = v * 10 + (uint64_t)(port[i] - '0');
            if (v > 65535)
                return 0;
        }
        if (v == 0)
            return 0;
        if (plen > 5)
            verdict = -1;
        pv = (uint32_t)v;
    }
    if (out) {
        memcpy(out->host, host, hlen);
        out->host_len = hlen;
        out->port = pv;
    }
    return verdict;
}

static int host_cmp(const server *a, const server *b)
{
    size_t n = a->host_len < b->host_len ? a->host_len : b->host_len;
    int c = memcmp(a->host, b->host, n);
    if (c == 0)
        c = a->host_len < b->host_len ? -1 : a->host_len > b->host_len;
    if (c == 0)
        c = a->port < b->port ? -1 : a->port > b->port;
    return c;
}

static long find_server(const model *m, const server *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->s[i].host_len == key->host_len && m->s[i].port == key->port &&
            memcmp(m->s[i].host, key->host, key->host_len) == 0)
            return (long)i;
    return -1;
}

static int kpoint_cmp(const void *pa, const void *pb)
{
    const kpoint *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static kring build(const model *m)
{
    kring k = {.n = m->n};
    for (size_t i = 0; i < m->n; i++)
        k.order[i] = &m->s[i];
    if (g_sort)
        for (size_t i = 1; i < k.n; i++)
            for (size_t j = i; j > 0 && host_cmp(k.order[j - 1], k.order[j]) > 0; j--) {
                const server *t = k.order[j];
                k.order[j] = k.order[j - 1];
                k.order[j - 1] = t;
            }
    uint64_t total = 0;
    for (size_t i = 0; i < k.n; i++)
        total += k.order[i]->weight ? k.order[i]->weight : 1;
    k.p = malloc((160 * MAXN + 8) * sizeof *k.p);
    FZ_CHECK(k.p != NULL, "out of memory");
    for (size_t i = 0; i < k.n; i++) {
        const server *sv = k.order[i];
        uint32_t w = sv->weight ? sv->weight : 1;
        /* libmemcached, step by step in float (the harness is built with -ffp-contract=off) */
        float pct = (float)w / (float)total;
        float product = pct * 160 / 4 * (float)k.n;
        uint32_t digests = (uint32_t)floorf((float)(product + 0.0000000001F));
        for (uint32_t d = 0; d < digests; d++) {
            char buf[IDMAX + 32];
            memcpy(buf, sv->host, sv->host_len);
            int extra = sv->port == 11211
                            ? snprintf(buf + sv->host_len, 32, "-%u", (unsigned)d)
                            : snprintf(buf + sv->host_len, 32, ":%u-%u", (unsigned)sv->port,
                                       (unsigned)d);
            uint8_t dg[16];
            md5(buf, sv->host_len + (size_t)extra, dg);
            for (int x = 0; x < 4; x++) {
                FZ_CHECK(k.np < 160 * MAXN + 8, "model: more points than 160 per server");
                k.p[k.np++] = (kpoint){le32(dg + 4 * x), i};
            }
        }
    }
    qsort(k.p, k.np, sizeof *k.p, kpoint_cmp);
    return k;
}

static size_t first_point(const kring *k, uint32_t h)
{
    for (size_t i = 0; i < k->np; i++)
        if (k->p[i].v >= h)
            return i;
    return 0;
}

static const server *owner(const kring *k, uint32_t h)
{
    if (k->n == 0)
        return NULL;
    if (k->n == 1)
        return k->order[0];
    return k->order[k->p[first_point(k, h)].idx];
}

static uint32_t key_hash(const uint8_t *key, size_t len)
{
    uint8_t dg[16];
    md5(key, len, dg);
    return le32(dg);
}

/* Canonical states: `raw` (ids and weights as given, in server order) and `placed` (host, port,
 * effective weight): equal raw states must share a fingerprint, different placements must not. */
static void states(const kring *k, uint64_t *raw, uint64_t *placed)
{
    uint8_t dr[MAXN * (IDMAX + 16)], dp[MAXN * (IDMAX + 16)];
    size_t nr = 0, np = 0;
    for (size_t i = 0; i < k->n; i++) {
        const server *s = k->order[i];
        dr[nr++] = (uint8_t)s->len;
        memcpy(dr + nr, s->id, s->len);
        nr += s->len;
        memcpy(dr + nr, &s->weight, 4);
        nr += 4;
        uint32_t w = s->weight ? s->weight : 1;
        dp[np++] = (uint8_t)s->host_len;
        memcpy(dp + np, s->host, s->host_len);
        np += s->host_len;
        memcpy(dp + np, &s->port, 4);
        np += 4;
        memcpy(dp + np, &w, 4);
        np += 4;
    }
    uint8_t d[16];
    md5(dr, nr, d);
    memcpy(raw, d, 8);
    md5(dp, np, d);
    memcpy(placed, d, 8);
}

/* ---- the run -------------------------------------------------------------------------------- */

typedef struct fp_entry {
    uint64_t raw, placed, fp;
} fp_entry;

typedef struct run {
    fz_in in;
    of_ring *ring;
    model m;
    kring k; /* of m */
    fp_entry fps[96];
    size_t nfps;
    of_ring_view *views[NVIEWS];
    model *vm[NVIEWS];
} run;

typedef struct foreach_ctx {
    const kring *k;
    size_t at;
} foreach_ctx;

static int foreach_cb(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    foreach_ctx *f = ctx;
    FZ_CHECK(f->at < f->k->n, "foreach: more servers than the model");
    const server *s = f->k->order[f->at++];
    FZ_CHECK(id_len == s->len && memcmp(id, s->id, id_len) == 0,
             "foreach: server %zu is not the model's", f->at - 1);
    FZ_CHECK(weight == s->weight && tag == s->tag, "foreach: wrong weight or tag");
    return 0;
}

static void check_lookup(run *r, const uint8_t *key, size_t klen)
{
    const server *want = owner(&r->k, key_hash(key, klen));
    uint64_t tag = NOSENT;
    uint8_t id[OF_NAME_MAX];
    size_t len = 0;
    int rc = of_ring_lookup(r->ring, klen ? key : NULL, klen, &tag, id, sizeof id, &len);
    if (!want) {
        FZ_STATUS(rc, OF_ERR_EMPTY, "lookup on an empty ring");
        return;
    }
    FZ_STATUS(rc, OF_OK, "lookup");
    FZ_CHECK(tag == want->tag && len == want->len && memcmp(id, want->id, len) == 0,
             "lookup: wrong server");
}

static void check_all(run *r)
{
    free(r->k.p);
    r->k = build(&r->m);
    const kring *k = &r->k;
    FZ_CHECK(of_ring_node_count(r->ring) == r->m.n, "node_count");
    FZ_CHECK(of_ring_generation(r->ring) == r->m.gen, "generation");
    uint64_t fp = of_ring_fingerprint(r->ring), raw, placed;
    states(k, &raw, &placed);
    bool known = false;
    for (size_t i = 0; i < r->nfps; i++) {
        if (r->fps[i].raw == raw)
            FZ_CHECK(r->fps[i].fp == fp, "same servers, different fingerprint");
        if (r->fps[i].placed != placed)
            FZ_CHECK(r->fps[i].fp != fp, "different placements share a fingerprint");
        known |= r->fps[i].raw == raw;
    }
    if (!known && r->nfps < sizeof r->fps / sizeof r->fps[0])
        r->fps[r->nfps++] = (fp_entry){raw, placed, fp};

    foreach_ctx f = {k, 0};
    FZ_STATUS(of_ring_foreach(r->ring, foreach_cb, &f), OF_OK, "foreach");
    FZ_CHECK(f.at == k->n, "foreach: %zu servers, model %zu", f.at, k->n);

    for (size_t i = 0; i < k->n; i++) {
        const server *s = k->order[i];
        uint64_t sum = 0;
        if (k->n == 1)
            sum = (uint64_t)1 << 32;
        else
            for (size_t j = 0; j < k->np; j++)
                if (k->order[k->p[j].idx] == s)
                    sum += k->np == 1 ? (uint64_t)1 << 32
                                      : (uint32_t)(k->p[j].v - k->p[(j + k->np - 1) % k->np].v);
        double want = (double)sum / 4294967296.0, got = -1;
        FZ_STATUS(of_ring_ownership(r->ring, s->id, s->len, &got), OF_OK, "ownership");
        FZ_CHECK(got == want, "ownership of server %zu: %.17g, model %.17g", i, got, want);
        int present = -1;
        FZ_STATUS(of_ring_contains(r->ring, s->id, s->len, &present), OF_OK, "contains");
        FZ_CHECK(present == 1, "contains: present server reported absent");
    }
}

/* An id: a structured `host[:port]` from a few parts, the id of a server (or a spelling of it
 * that names the same server), or raw bytes that the model parses. */
static size_t pick_id(run *r, uint8_t *id)
{
    static const char *hosts[] = {"a", "b", "10.0.0.1", "cache-1", "[::1]", "[fe80::2]", "h",
                                  "[a]", "xn--p", "A", "", "[", "]", "a]", "[::1", "a:b"};
    static const char *ports[] = {"", ":11211", ":11212", ":1", ":65535", ":0", ":65536", ":",
                                  ":1a", ":011211", ":0000080", ":-1", ":2", ":99999", "::1",
                                  ":6379"};
    uint8_t sel = fz_u8(&r->in);
    if (r->m.n > 0 && sel < 64) {
        const server *s = &r->m.s[sel % r->m.n];
        if (sel & 1) { /* another spelling: [host] or an explicit default port */
            int n = snprintf((char *)id, IDMAX, (sel & 2) ? "%.*s:%u" : "[%.*s]:%u",
                             (int)s->host_len, (const char *)s->host, (unsigned)s->port);
            if (n > 0 && (size_t)n < IDMAX && !memchr(s->host, ':', s->host_len))
                return (size_t)n;
        }
        memcpy(id, s->id, s->len);
        return s->len;
    }
    if (sel < 224) {
        const char *h = hosts[fz_u8(&r->in) % 16], *p = ports[fz_u8(&r->in) % 16];
        size_t hl = strlen(h), pl = strlen(p);
        memcpy(id, h, hl);
        size_t extra = 0;
        if (sel & 1) /* a digit to make more distinct hosts */
            id[hl + extra++] = (uint8_t)('0' + sel % 10);
        if (hl && h[0] == '[' && h[hl - 1] == ']' && extra) {
            id[hl - 1] = id[hl];
            id[hl] = ']';
        }
        memcpy(id + hl + extra, p, pl);
        return hl + extra + pl;
    }
    size_t len = fz_u8(&r->in) % 12;
    size_t got = fz_bytes(&r->in, id, len);
    memset(id + got, 'z', len - got);
    return len;
}

static uint32_t pick_weight(run *r)
{
    uint8_t w = fz_u8(&r->in);
    switch (w % 8) {
    case 0:
        return 0;
    case 1:
        return fz_u32(&r->in);
    case 2:
        return 100 + w;
    default:
        return 1 + w % 4;
    }
}

static void after_change(run *r, int rc, uint64_t fp, uint64_t gen)
{
    if (rc == OF_OK) {
        r->m.gen++;
        check_all(r);
    } else {
        FZ_CHECK(of_ring_fingerprint(r->ring) == fp && of_ring_generation(r->ring) == gen,
                 "failed call changed the ring");
    }
}

static void op_add(run *r, bool many)
{
    size_t count = many ? fz_u8(&r->in) % 5 : 1;
    static uint8_t ids[4][IDMAX];
    of_ring_node_spec spec[4];
    server parsed[4];
    bool invalid = false, exists = false, either = false;
    for (size_t i = 0; i < count; i++) {
        size_t len = pick_id(r, ids[i]);
        spec[i] = (of_ring_node_spec){ids[i], len, pick_weight(r), fz_u64(&r->in)};
        memset(&parsed[i], 0, sizeof parsed[i]);
        int v = parse_id(ids[i], len, &parsed[i]);
        if (v < 0)
            either = true;
        if (v == 0) {
            invalid = true;
            continue;
        }
        exists |= find_server(&r->m, &parsed[i]) >= 0;
        for (size_t j = 0; j < i; j++)
            exists |= parse_id(ids[j], spec[j].id_len, NULL) != 0 &&
                      host_cmp(&parsed[i], &parsed[j]) == 0;
    }
    if (!invalid && !exists && r->m.n + count > MAXN)
        return;
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = many ? of_ring_add_many(r->ring, spec, count)
                  : of_ring_add(r->ring, spec[0].id_len ? spec[0].id : NULL, spec[0].id_len,
                                spec[0].weight, spec[0].tag);
    if (either) {
        if (rc != OF_OK) {
            after_change(r, rc, fp, gen);
            return;
        }
    } else if (invalid && exists) {
        FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_EXISTS, "add: %s", of_status_name(rc));
    } else {
        FZ_STATUS(rc, invalid ? OF_ERR_INVALID : exists ? OF_ERR_EXISTS : OF_OK,
                  many ? "add_many" : "add");
    }
    if (rc == OF_OK) {
        for (size_t i = 0; i < count; i++) {
            server *s = &r->m.s[r->m.n++];
            *s = parsed[i];
            memcpy(s->id, spec[i].id, spec[i].id_len);
            s->len = spec[i].id_len;
            s->weight = spec[i].weight;
            s->tag = spec[i].tag;
        }
        if (count == 0)
            return;
    }
    after_change(r, rc, fp, gen);
}

static void op_remove_or_weight(run *r, bool weight)
{
    uint8_t id[IDMAX];
    size_t len = pick_id(r, id);
    uint32_t w = weight ? pick_weight(r) : 0;
    server key;
    memset(&key, 0, sizeof key);
    int v = parse_id(id, len, &key);
    long k = v != 0 ? find_server(&r->m, &key) : -1;
    uint64_t fp = of_ring_fingerprint(r->ring), gen = of_ring_generation(r->ring);
    int rc = weight ? of_ring_set_weight(r->ring, len ? id : NULL, len, w)
                    : of_ring_remove(r->ring, len ? id : NULL, len);
    if (v < 0 && rc != OF_OK) {
        after_change(r, rc, fp, gen);
        return;
    }
    if (len == 0)
        FZ_STATUS(rc, OF_ERR_INVALID, "remove/set_weight with an empty id");
    else if (v == 0) /* not a server id: no such server, or refused as malformed */
        FZ_CHECK(rc == OF_ERR_INVALID || rc == OF_ERR_NOT_FOUND, "remove/set_weight: %s",
                 of_status_name(rc));
    else
        FZ_STATUS(rc, k < 0 ? OF_ERR_NOT_FOUND : OF_OK, weight ? "set_weight" : "remove");
    if (rc == OF_OK) {
        if (weight) {
            r->m.s[k].weight = w;
        } else {
            memmove(&r->m.s[k], &r->m.s[k + 1], (r->m.n - (size_t)k - 1) * sizeof r->m.s[0]);
            r->m.n--;
        }
    }
    after_change(r, rc, fp, gen);
}

static size_t pick_key(run *r, uint8_t *key)
{
    size_t len = fz_u8(&r->in) % 9;
    size_t got = fz_bytes(&r->in, key, len);
    memset(key + got, 0, len - got);
    return len;
}

static void op_lookup(run *r)
{
    uint8_t key[16];
    size_t klen = pick_key(r, key);
    check_lookup(r, key, klen);
    /* the native-only calls refuse politely */
    uint64_t tag = NOSENT;
    FZ_STATUS(of_ring_lookup_hash(r->ring, key_hash(key, klen), &tag, NULL, 0, NULL),
              OF_ERR_NOT_SUPPORTED, "ketama lookup_hash");
    FZ_STATUS(of_ring_pin(r->ring, key, klen, "a", 1), OF_ERR_NOT_SUPPORTED, "ketama pin");
    FZ_STATUS(of_ring_pin_hash(r->ring, 1, "a", 1), OF_ERR_NOT_SUPPORTED, "ketama pin_hash");
    FZ_STATUS(of_ring_unpin(r->ring, key, klen), OF_ERR_NOT_SUPPORTED, "ketama unpin");
    FZ_CHECK(tag == NOSENT, "refused call wrote its output");
}

static uint64_t zero_load(void *ctx, uint64_t tag, const void *id, size_t id_len)
{
    (void)ctx, (void)tag, (void)id, (void)id_len;
    FZ_CHECK(0, "bounded lookup called back in ketama mode");
    return 0;
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
    const kring *k = &r->k;
    if (k->n == 0) {
        FZ_CHECK(rc == OF_ERR_EMPTY || (n == 0 && rc == OF_ERR_INVALID), "lookup_n: %s",
                 of_status_name(rc));
        return;
    }
    if (n == 0 || n > k->n) {
        FZ_STATUS(rc, OF_ERR_INVALID, "lookup_n with a bad n");
        return;
    }
    /* the walk: one server answers alone; else distinct servers clockwise from the key */
    const server *want[MAXN];
    size_t got = 0;
    if (k->n == 1) {
        want[got++] = k->order[0];
    } else {
        size_t start = first_point(k, key_hash(key, klen));
        for (size_t s = 0; s < k->np && got < n; s++) {
            const server *sv = k->order[k->p[(start + s) % k->np].idx];
            bool seen = false;
            for (size_t j = 0; j < got; j++)
                seen |= want[j] == sv;
            if (!seen)
                want[got++] = sv;
        }
    }
    if (got < n) {
        /* servers without points are never met on the walk: no documented answer, but the
         * servers the walk does meet must come first, in order */
        if (rc == OF_OK)
            for (size_t i = 0; i < got; i++)
                FZ_CHECK(tags[i] == want[i]->tag, "lookup_n (short walk): position %zu", i);
        return;
    }
    FZ_STATUS(rc, OF_OK, "lookup_n");
    for (size_t i = 0; i < n; i++)
        FZ_CHECK(tags[i] == want[i]->tag, "lookup_n: position %zu differs", i);
    uint64_t tag = NOSENT;
    FZ_STATUS(of_ring_lookup_bounded(r->ring, key, klen, 1.25, 0, zero_load, NULL, &tag),
              OF_ERR_NOT_SUPPORTED, "ketama bounded");
}

typedef struct mrange {
    uint64_t first, last;
    const server *o, *n;
} mrange;

typedef struct diff_ctx {
    mrange want[2 * 160 * MAXN + 8];
    size_t nwant, at;
} diff_ctx;

/* The diff compares owners as servers: two spellings of one host and port (`a`, `a:11211`,
 * `[a]:11211`) are one owner, so re-adding a server under another spelling moves no key. */
static bool same_server(const server *a, const server *b)
{
    if (!a || !b)
        return a == b;
    return host_cmp(a, b) == 0;
}

static int range_cb(void *ctx, const of_ring_range *rg)
{
    diff_ctx *d = ctx;
    FZ_CHECK(d->at < d->nwant, "diff: more ranges than the model (%zu)", d->nwant);
    const mrange *w = &d->want[d->at++];
    FZ_CHECK(rg->first == w->first && rg->last == w->last,
             "diff range %zu: [%llx, %llx], model [%llx, %llx]", d->at - 1,
             (unsigned long long)rg->first, (unsigned long long)rg->last,
             (unsigned long long)w->first, (unsigned long long)w->last);
    FZ_CHECK(w->o ? (rg->old_id_len == w->o->len && memcmp(rg->old_id, w->o->id, w->o->len) == 0)
                  : rg->old_id == NULL,
             "diff range %zu: wrong old owner", d->at - 1);
    FZ_CHECK(w->n ? (rg->new_id_len == w->n->len && memcmp(rg->new_id, w->n->id, w->n->len) == 0)
                  : rg->new_id == NULL,
             "diff range %zu: wrong new owner", d->at - 1);
    return 0;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void op_diff(run *r)
{
    uint8_t sel = fz_u8(&r->in);
    size_t a = sel % NVIEWS;
    if (sel & 0x80 || !r->views[a]) { /* take a view */
        of_ring_view_release(r->views[a]);
        r->views[a] = NULL;
        FZ_STATUS(of_ring_view_take(r->ring, &r->views[a]), OF_OK, "view_take");
        if (!r->vm[a])
            r->vm[a] = malloc(sizeof(model));
        FZ_CHECK(r->vm[a] != NULL, "out of memory");
        *r->vm[a] = r->m;
        FZ_CHECK(of_ring_view_fingerprint(r->views[a]) == of_ring_fingerprint(r->ring),
                 "view fingerprint");
        return;
    }
    of_ring_view *cur = NULL;
    FZ_STATUS(of_ring_view_take(r->ring, &cur), OF_OK, "view_take");
    kring ko = build(r->vm[a]);
    const kring *kn = &r->k;
    static diff_ctx d;
    d.nwant = d.at = 0;
    uint32_t *b = malloc((ko.np + kn->np + 1) * sizeof *b);
    FZ_CHECK(b != NULL, "out of memory");
    size_t nb = 0;
    for (size_t i = 0; i < ko.np; i++)
        b[nb++] = ko.p[i].v;
    for (size_t i = 0; i < kn->np; i++)
        b[nb++] = kn->p[i].v;
    qsort(b, nb, sizeof *b, u32_cmp);
    uint64_t start = 0;
    for (size_t i = 0; i <= nb && start <= UINT32_MAX; i++) {
        if (i < nb && i > 0 && b[i] == b[i - 1])
            continue;
        uint32_t last = i < nb ? b[i] : UINT32_MAX;
        if (last < start)
            continue;
        const server *o = owner(&ko, last), *n = owner(kn, last);
        if (!same_server(o, n)) {
            mrange *prev = d.nwant ? &d.want[d.nwant - 1] : NULL;
            if (prev && prev->last + 1 == start && same_server(prev->o, o) &&
                same_server(prev->n, n))
                prev->last = last;
            else
                d.want[d.nwant++] = (mrange){start, last, o, n};
        }
        start = (uint64_t)last + 1;
    }
    free(b);
    int rc = of_ring_diff(r->views[a], cur, range_cb, NULL, &d);
    FZ_STATUS(rc, OF_OK, "diff");
    FZ_CHECK(d.at == d.nwant, "diff: %zu ranges, model %zu", d.at, d.nwant);
    free(ko.p);
    of_ring_view_release(cur);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run r;
    memset(&r, 0, sizeof r);
    r.in = (fz_in){data, size};
    uint8_t cfg = fz_u8(&r.in);
    g_sort = cfg & 1;
    of_ring_options o;
    FZ_STATUS(of_ring_options_init(&o, sizeof o), OF_OK, "options_init");
    o.algorithm = OF_RING_KETAMA;
    o.flags = g_sort ? OF_RING_SORT_HOSTS : 0;
    o.vnodes = 1 + cfg % 7; /* ignored by ketama */
    o.seed = cfg;           /* ignored by ketama */
    FZ_STATUS(of_ring_create(&o, &r.ring), OF_OK, "create");
    check_all(&r);
    for (int step = 0; step < 64 && fz_more(&r.in); step++) {
        switch (fz_u8(&r.in) % 8) {
        case 0:
        case 1:
            op_add(&r, false);
            break;
        case 2:
            op_add(&r, true);
            break;
        case 3:
            op_remove_or_weight(&r, false);
            break;
        case 4:
            op_remove_or_weight(&r, true);
            break;
        case 5:
            op_lookup(&r);
            break;
        case 6:
            op_lookup_n(&r);
            break;
        case 7:
            op_diff(&r);
            break;
        }
    }
    of_ring_destroy(r.ring);
    free(r.k.p);
    for (size_t i = 0; i < NVIEWS; i++) {
        of_ring_view_release(r.views[i]);
        free(r.vm[i]);
    }
    return 0;
}
