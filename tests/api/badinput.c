/* Harness of the bad-input table (rows in rows-*.c; see badinput.h).
 *
 *   test-api-badinput                         run every row, TAP on stdout
 *   test-api-badinput --markdown              print the table as docs/errors.md carries it
 *   test-api-badinput --check-docs FILE       FILE must carry exactly that table between markers
 *   test-api-badinput --write-docs FILE       rewrite the table between the markers of FILE
 *   test-api-badinput --check-headers DIR     every OF_API function of DIR/\*.h must have a row
 *
 * Rows listed in known_defects[] below report "not ok ... # TODO KNOWN DEFECT" (an expected
 * failure for meson's TAP reader) instead of failing; once such a row passes it reports an
 * unexpected pass (a failure) so the entry is removed. OF_BADINPUT_STRICT=1 ignores the list. */
#include "badinput.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "test-util.h"

#define BEGIN_MARK "<!-- bad-input table: begin -->"
#define END_MARK "<!-- bad-input table: end -->"

/* Rows whose library behaviour differs from the documentation today. Each entry names the row
 * and what the library does instead; remove the entry when the library is fixed. */
static const struct {
    const char *id;
    const char *what;
} known_defects[] = {
    {NULL, NULL},
};

/* ------------------------------------------------------------------------------------------ */
/* registration                                                                                 */

static bi_row *rows_head;
static size_t rows_count;

void bi_register(bi_row *row)
{
    row->next = rows_head;
    rows_head = row;
    rows_count++;
}

/* Headers in the order of the documentation; others follow by name. */
static int group_rank(const char *group)
{
    static const char *order[] = {"common.h", "bisect.h", "ring.h", "lock.h", "lock_redis.h",
                                 "lock_etcd.h"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (strcmp(order[i], group) == 0)
            return (int)i;
    return (int)(sizeof order / sizeof order[0]);
}

static int row_order(const void *a, const void *b)
{
    const bi_row *x = *(const bi_row *const *)a, *y = *(const bi_row *const *)b;
    int gx = group_rank(x->group), gy = group_rank(y->group);
    if (gx != gy)
        return gx - gy;
    int c = strcmp(x->group, y->group);
    if (c == 0)
        c = strcmp(x->file, y->file);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static bi_row **sorted_rows(void)
{
    bi_row **v = calloc(rows_count ? rows_count : 1, sizeof *v);
    if (!v) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    size_t i = 0;
    for (bi_row *r = rows_head; r; r = r->next)
        v[i++] = r;
    qsort(v, rows_count, sizeof *v, row_order);
    return v;
}

/* ------------------------------------------------------------------------------------------ */
/* helpers for rows                                                                             */

void bi_why(bi_fx *f, const char *fmt, ...)
{
    if (f->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
}

int bi_untouched(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != BI_SENTINEL)
            return 0;
    return 1;
}

int bi_acquire(bi_fx *f, of_lock_provider *p, const void *name, size_t len,
               const of_lock_options *opts)
{
    int rc = of_lock_acquire(p, name, len, opts, &f->o.lock);
    if (rc == OF_OK) {
        of_lock_release(f->o.lock);
        memset(&f->o.lock, BI_SENTINEL, sizeof f->o.lock);
    }
    return rc;
}

static int holds_piece(const char *detail, const char *secret)
{
    size_t n = strlen(secret);
    for (size_t len = 4; len <= n; len++)
        for (size_t i = 0; i + len <= n; i++) {
            char piece[64];
            memcpy(piece, secret + i, len);
            piece[len] = '\0';
            if (strstr(detail, piece) != NULL)
                return 1;
        }
    return 0;
}

void bi_check_secret(bi_fx *f, int user_too)
{
    const char *d = of_last_error_detail();
    if (holds_piece(d, BI_SECRET) || (user_too && holds_piece(d, BI_USER)))
        bi_why(f, "the detail echoes the credentials: %s", d);
}

/* ------------------------------------------------------------------------------------------ */
/* fixtures                                                                                     */

static int ops_try_acquire(void *self, const void *name, size_t name_len,
                           const of_lock_token *token, uint32_t ttl_ms, int64_t deadline_ns,
                           uint64_t *out_fence, int64_t *out_valid_until_ns,
                           uint32_t *out_retry_after_ms)
{
    return OF_OK;
}

static int ops_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                       int64_t deadline_ns)
{
    return OF_OK;
}

static void ops_destroy(void *self)
{
    ((bi_fx *)self)->destroyed++;
}

static of_ring *make_ring(uint32_t algorithm, uint64_t seed, int nodes, const char **err)
{
    of_ring_options o;
    of_ring *r = NULL;
    if (of_ring_options_init(&o, sizeof o) != OF_OK) {
        *err = "of_ring_options_init";
        return NULL;
    }
    o.algorithm = algorithm;
    o.vnodes = 16;
    o.seed = seed;
    if (of_ring_create(&o, &r) != OF_OK) {
        *err = "of_ring_create";
        return NULL;
    }
    int ok = 1;
    if (algorithm == OF_RING_KETAMA) {
        ok = nodes < 1 || of_ring_add(r, "10.0.0.1:11211", 14, 1, 11) == OF_OK;
        ok = ok && (nodes < 2 || of_ring_add(r, "10.0.0.2:11212", 14, 2, 12) == OF_OK);
    } else {
        ok = nodes < 1 || of_ring_add(r, "a", 1, 1, 1) == OF_OK;
        ok = ok && (nodes < 2 || of_ring_add(r, "b", 1, 2, 2) == OF_OK);
        ok = ok && (nodes < 3 || of_ring_add(r, "c", 1, 1, 3) == OF_OK);
        ok = ok && (nodes < 4 || of_ring_add(r, "d", 1, 1, 4) == OF_OK);
        ok = ok && (nodes < 3 || of_ring_pin(r, "pinned", 6, "b", 1) == OF_OK);
    }
    if (!ok) {
        *err = "of_ring_add / of_ring_pin";
        of_ring_destroy(r);
        return NULL;
    }
    return r;
}

static const char *setup(bi_fx *f, unsigned fix)
{
    const char *err = NULL;
    memset(f->big, 'x', sizeof f->big);
    if (fix & (F_RING | F_VIEWS)) {
        if (!(f->ring = make_ring(OF_RING_NATIVE, 7, 3, &err)))
            return err;
    }
    if (fix & F_KETAMA) {
        if (!(f->ketama = make_ring(OF_RING_KETAMA, 0, 2, &err)))
            return err;
    }
    if (fix & F_EMPTY_RING) {
        if (!(f->empty_ring = make_ring(OF_RING_NATIVE, 7, 0, &err)))
            return err;
    }
    if (fix & F_VIEWS) {
        of_ring *more = make_ring(OF_RING_NATIVE, 7, 4, &err);
        of_ring *ket = more ? make_ring(OF_RING_KETAMA, 0, 2, &err) : NULL;
        of_ring *seed = ket ? make_ring(OF_RING_NATIVE, 8, 3, &err) : NULL;
        int ok = seed && of_ring_view_take(f->ring, &f->v_old) == OF_OK &&
                 of_ring_view_take(more, &f->v_new) == OF_OK &&
                 of_ring_view_take(ket, &f->v_ketama) == OF_OK &&
                 of_ring_view_take(seed, &f->v_seed) == OF_OK;
        of_ring_destroy(more);
        of_ring_destroy(ket);
        of_ring_destroy(seed);
        if (!ok)
            return err ? err : "of_ring_view_take";
    }
    if (fix & (F_INDEX | F_FROZEN)) {
        static const uint64_t keys[] = {30, 10, 20, 20}, pl[] = {4, 1, 2, 3};
        if (of_index_create(0, &f->idx) != OF_OK || of_index_create(0, &f->idx_empty) != OF_OK)
            return "of_index_create";
        if (of_index_build(f->idx, keys, pl, 4) != OF_OK)
            return "of_index_build";
    }
    if (fix & F_FROZEN) {
        if (of_index_freeze(f->idx, &f->frz) != OF_OK ||
            of_index_freeze(f->idx_empty, &f->frz_empty) != OF_OK)
            return "of_index_freeze";
    }
    if (fix & F_ARRAYS) {
        for (int i = 0; i < 3; i++) {
            f->au[i] = f->fu[i] = (uint64_t)(10 * (i + 1));
            f->ai[i] = f->fi[i] = -20 + 10 * i;
            f->ad[i] = f->fd[i] = 0.5 * (i + 1);
            f->ac[i] = f->fc[i] = (uint32_t)(10 * (i + 1));
        }
        f->au[3] = 0xA5A5A5A5A5A5A5A5u;
        f->ai[3] = 77;
        f->ad[3] = 77.0;
        f->ac[3] = 77;
        f->nu = f->ni = f->nd = f->nc = 3;
        f->fnu = f->fni = f->fnd = f->fnc = 3;
    }
    if (fix & F_OPS) {
        memset(&f->ops, 0, sizeof f->ops);
        f->ops.abi_version = OF_LOCK_PROVIDER_ABI;
        f->ops.struct_size = sizeof f->ops;
        f->ops.name = "badinput";
        f->ops.caps = OF_LOCK_CAP_TTL;
        f->ops.try_acquire = ops_try_acquire;
        f->ops.release = ops_release;
        f->ops.destroy = ops_destroy;
    }
    if (fix & (F_LOCAL | F_EXPIRED | F_TAKEN | F_LOST)) {
        if (of_lock_local_create(&f->prov) != OF_OK)
            return "of_lock_local_create";
        of_lock_options o;
        of_lock_options_init(&o, sizeof o);
        if (fix & F_LOCAL) {
            f->lock_name = "held";
            o.ttl_ms = 60000;
            if (of_lock_acquire(f->prov, "held", 4, &o, &f->lock) != OF_OK)
                return "of_lock_acquire held";
        } else {
            f->lock_name = "lease";
            o.ttl_ms = 50;
            if (of_lock_acquire(f->prov, "lease", 5, &o, &f->lock) != OF_OK)
                return "of_lock_acquire lease";
            /* Past the engine's conservative valid_until and the provider's own lease end. */
            test_sleep_ms(120);
            if (of_clock_monotonic_ns() <= of_lock_valid_until_ns(f->lock))
                return "lease did not pass";
            if (of_lock_is_lost(f->lock))
                return "an expired lease without auto-renew was marked lost";
        }
        if (fix & (F_TAKEN | F_LOST)) {
            o.ttl_ms = 60000;
            if (of_lock_acquire(f->prov, "lease", 5, &o, &f->lock2) != OF_OK)
                return "take-over of an expired lease";
        }
        if (fix & F_LOST) {
            if (of_lock_extend(f->lock, 1000) != OF_ERR_NOT_OWNER)
                return "extend of a taken-over handle did not answer NOT_OWNER";
            if (!of_lock_is_lost(f->lock))
                return "NOT_OWNER did not mark the handle lost";
        }
    }
    return NULL;
}

static void teardown(bi_fx *f)
{
    of_ring_destroy(f->ring);
    of_ring_destroy(f->ketama);
    of_ring_destroy(f->empty_ring);
    of_ring_view_release(f->v_old);
    of_ring_view_release(f->v_new);
    of_ring_view_release(f->v_ketama);
    of_ring_view_release(f->v_seed);
    of_index_frozen_destroy(f->frz);
    of_index_frozen_destroy(f->frz_empty);
    of_index_destroy(f->idx);
    of_index_destroy(f->idx_empty);
    if (f->lock)
        of_lock_release(f->lock);
    if (f->lock2)
        of_lock_release(f->lock2);
    of_lock_provider_destroy(f->prov);
}

/* Free what a row's unexpected (or documented) success handed out. */
static void release_outputs(bi_fx *f)
{
    static const unsigned char s[sizeof(void *)] = {BI_SENTINEL, BI_SENTINEL, BI_SENTINEL,
                                                    BI_SENTINEL, BI_SENTINEL, BI_SENTINEL,
                                                    BI_SENTINEL, BI_SENTINEL};
#define WRITTEN(p) (memcmp(&(p), s, sizeof(p)) != 0 && (p) != NULL)
    if (WRITTEN(f->o.ring))
        of_ring_destroy(f->o.ring);
    if (WRITTEN(f->o.view))
        of_ring_view_release(f->o.view);
    if (WRITTEN(f->o.frozen))
        of_index_frozen_destroy(f->o.frozen);
    if (WRITTEN(f->o.idx))
        of_index_destroy(f->o.idx);
    if (WRITTEN(f->o.lock))
        of_lock_release(f->o.lock);
    if (WRITTEN(f->o.provider))
        of_lock_provider_destroy(f->o.provider);
#undef WRITTEN
}

/* ------------------------------------------------------------------------------------------ */
/* state snapshots                                                                              */

typedef struct lock_state {
    int present, lost, fence_rc, token_rc;
    int64_t valid_until;
    uint64_t fence;
    of_lock_token token;
} lock_state;

typedef struct snap {
    uint64_t ring_fp[3], ring_gen[3];
    size_t ring_n[3];
    uint64_t view_fp[4], view_gen[4];
    size_t idx_n[2], frz_n[2];
    uint64_t idx_k[8], idx_p[8], frz_k[8], frz_p[8];
    unsigned char arrays[offsetof(bi_fx, prov) - offsetof(bi_fx, au)];
    int has_stats;
    of_lock_stats stats;
    lock_state lk[2];
} snap;

static void lock_snap(const of_lock *l, lock_state *s)
{
    memset(s, 0, sizeof *s);
    if (!l)
        return;
    s->present = 1;
    s->lost = of_lock_is_lost(l);
    s->valid_until = of_lock_valid_until_ns(l);
    s->fence_rc = of_lock_fence(l, &s->fence);
    s->token_rc = of_lock_token_get(l, &s->token);
}

static void take_snap(const bi_fx *f, snap *s)
{
    memset(s, 0, sizeof *s);
    const of_ring *rings[3] = {f->ring, f->ketama, f->empty_ring};
    for (int i = 0; i < 3; i++) {
        s->ring_fp[i] = of_ring_fingerprint(rings[i]);
        s->ring_gen[i] = of_ring_generation(rings[i]);
        s->ring_n[i] = of_ring_node_count(rings[i]);
    }
    const of_ring_view *views[4] = {f->v_old, f->v_new, f->v_ketama, f->v_seed};
    for (int i = 0; i < 4; i++) {
        s->view_fp[i] = of_ring_view_fingerprint(views[i]);
        s->view_gen[i] = of_ring_view_generation(views[i]);
    }
    s->idx_n[0] = of_index_size(f->idx);
    s->idx_n[1] = of_index_size(f->idx_empty);
    for (size_t i = 0; i < s->idx_n[0] && i < 8; i++)
        of_index_select(f->idx, i, &s->idx_k[i], &s->idx_p[i]);
    s->frz_n[0] = of_index_frozen_size(f->frz);
    s->frz_n[1] = of_index_frozen_size(f->frz_empty);
    for (size_t i = 0; i < s->frz_n[0] && i < 8; i++)
        of_index_frozen_select(f->frz, i, &s->frz_k[i], &s->frz_p[i]);
    memcpy(s->arrays, (const unsigned char *)f + offsetof(bi_fx, au), sizeof s->arrays);
    if (f->prov) {
        s->stats.struct_size = sizeof s->stats;
        s->has_stats = of_lock_provider_stats(f->prov, &s->stats) == OF_OK;
    }
    lock_snap(f->lock, &s->lk[0]);
    lock_snap(f->lock2, &s->lk[1]);
}

static const char *lock_diff(const lock_state *a, const lock_state *b)
{
    if (a->present != b->present)
        return "handle";
    if (a->lost != b->lost)
        return "of_lock_is_lost";
    if (a->valid_until != b->valid_until)
        return "of_lock_valid_until_ns";
    if (a->fence_rc != b->fence_rc || a->fence != b->fence)
        return "of_lock_fence";
    if (a->token_rc != b->token_rc || memcmp(&a->token, &b->token, sizeof a->token))
        return "of_lock_token_get";
    return NULL;
}

/* The first difference between two snapshots, as text (NULL when equal). */
static const char *snap_diff(const snap *a, const snap *b, unsigned flags, char *buf, size_t cap)
{
    static const char *ring_names[3] = {"ring", "ketama ring", "empty ring"};
    for (int i = 0; i < 3; i++) {
        if (a->ring_fp[i] != b->ring_fp[i])
            return snprintf(buf, cap, "%s fingerprint changed", ring_names[i]), buf;
        if (a->ring_gen[i] != b->ring_gen[i])
            return snprintf(buf, cap, "%s generation %llu -> %llu", ring_names[i],
                            (unsigned long long)a->ring_gen[i],
                            (unsigned long long)b->ring_gen[i]), buf;
        if (a->ring_n[i] != b->ring_n[i])
            return snprintf(buf, cap, "%s node count %zu -> %zu", ring_names[i], a->ring_n[i],
                            b->ring_n[i]), buf;
    }
    for (int i = 0; i < 4; i++)
        if (a->view_fp[i] != b->view_fp[i] || a->view_gen[i] != b->view_gen[i])
            return snprintf(buf, cap, "view %d changed", i), buf;
    for (int i = 0; i < 2; i++) {
        if (a->idx_n[i] != b->idx_n[i])
            return snprintf(buf, cap, "index size %zu -> %zu", a->idx_n[i], b->idx_n[i]), buf;
        if (a->frz_n[i] != b->frz_n[i])
            return snprintf(buf, cap, "frozen size %zu -> %zu", a->frz_n[i], b->frz_n[i]), buf;
    }
    if (memcmp(a->idx_k, b->idx_k, sizeof a->idx_k) || memcmp(a->idx_p, b->idx_p, sizeof a->idx_p))
        return "index content changed";
    if (memcmp(a->frz_k, b->frz_k, sizeof a->frz_k) || memcmp(a->frz_p, b->frz_p, sizeof a->frz_p))
        return "frozen index content changed";
    if (memcmp(a->arrays, b->arrays, sizeof a->arrays))
        return "caller array or its count changed";
    if (!(flags & (H1 | ST))) {
        if (a->has_stats != b->has_stats || memcmp(&a->stats, &b->stats, sizeof a->stats)) {
            const uint64_t *x = &a->stats.attempts, *y = &b->stats.attempts;
            static const char *names[] = {"attempts", "acquired", "busy", "timeouts",
                                          "lost", "errors", "wait_ns", "released",
                                          "extended", "cleanups_queued", "cleanups_done",
                                          "cleanups_dropped"};
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (x[i] != y[i])
                    return snprintf(buf, cap, "provider stats.%s %llu -> %llu", names[i],
                                    (unsigned long long)x[i], (unsigned long long)y[i]), buf;
            return "provider stats changed";
        }
    }
    if (!(flags & H1)) {
        const char *d = lock_diff(&a->lk[0], &b->lk[0]);
        if (d)
            return snprintf(buf, cap, "f->lock: %s changed", d), buf;
    }
    const char *d = lock_diff(&a->lk[1], &b->lk[1]);
    if (d)
        return snprintf(buf, cap, "f->lock2 (the new owner): %s changed", d), buf;
    return NULL;
}

/* Name the first output member whose sentinel bytes were written. */
static const char *out_member(const bi_outs *o)
{
    static const struct {
        const char *name;
        size_t off, size;
    } m[] = {
#define M(x) {#x, offsetof(bi_outs, x), sizeof(((bi_outs *)0)->x)}
        M(tag), M(key), M(payload), M(fence), M(len), M(index), M(pos), M(count),
        M(present), M(share), M(id), M(tags), M(positions), M(ring), M(view), M(idx),
        M(frozen), M(cursor), M(lock), M(provider), M(token), M(ring_opts), M(lock_opts),
        M(cfg), M(redis_opts), M(redlock_opts), M(etcd_opts), M(tail),
#undef M
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!bi_untouched((const unsigned char *)o + m[i].off, m[i].size))
            return m[i].name;
    return "padding";
}

/* ------------------------------------------------------------------------------------------ */
/* running                                                                                      */

static const char *known_defect(const bi_row *r)
{
    const char *strict = getenv("OF_BADINPUT_STRICT");
    if (strict && strcmp(strict, "0") != 0)
        return NULL;
    /* A build without the provider answers OF_ERR_NOT_SUPPORTED, as documented: the defect is
     * not reachable there. */
    if (((r->flags & REDIS) && !of_lock_redis_available()) ||
        ((r->flags & ETCD) && !of_lock_etcd_available()))
        return NULL;
    for (size_t i = 0; i < sizeof known_defects / sizeof known_defects[0]; i++)
        if (known_defects[i].id && strcmp(known_defects[i].id, r->id) == 0)
            return known_defects[i].what;
    return NULL;
}

/* Run one row; on failure write the reason into @p why and return 0. */
static int run_row(const bi_row *r, char *why, size_t cap, char *detail_out, size_t dcap)
{
    bi_fx *f = calloc(1, sizeof *f);
    if (!f)
        return snprintf(why, cap, "out of memory"), 0;
    int ok = 0;
    const char *err = setup(f, r->fixtures);
    if (err) {
        snprintf(why, cap, "fixture: %s", err);
        goto out;
    }
    snap before, after;
    take_snap(f, &before);
    memset(&f->o, BI_SENTINEL, sizeof f->o);
    ofi_fail_plain(OF_OK); /* the detail is "" unless this call sets one */
    int rc = r->call(f);
    snprintf(detail_out, dcap, "%s", of_last_error_detail());
    take_snap(f, &after);

    int expect = r->status;
    if ((r->flags & REDIS) && !of_lock_redis_available())
        expect = OF_ERR_NOT_SUPPORTED;
    if ((r->flags & ETCD) && !of_lock_etcd_available())
        expect = OF_ERR_NOT_SUPPORTED;
    if (r->flags & BI_VALUE) {
        if (rc != 1) {
            snprintf(why, cap, "%s", f->why[0] ? f->why : "the documented value was not seen");
            goto out_release;
        }
    } else if (rc != expect) {
        snprintf(why, cap, "returned %s (%d), documented %s", of_status_name(rc), rc,
                 of_status_name(expect));
        goto out_release;
    }
    if ((r->flags & D) && detail_out[0] == '\0') {
        snprintf(why, cap, "of_last_error_detail() is empty");
        goto out_release;
    }
    if (!(r->flags & (BI_VALUE | NOOUT)) && expect != OF_OK && !bi_untouched(&f->o, sizeof f->o)) {
        snprintf(why, cap, "output %s written on error", out_member(&f->o));
        goto out_release;
    }
    if (!(r->flags & MUT)) {
        char buf[256];
        const char *d = snap_diff(&before, &after, r->flags, buf, sizeof buf);
        if (d) {
            snprintf(why, cap, "state changed: %s", d);
            goto out_release;
        }
    }
    if (f->why[0]) {
        snprintf(why, cap, "%s", f->why);
        goto out_release;
    }
    /* A held name stays held by its owner (a bad call must not release or take it). */
    const of_lock *owner = f->lock2 ? f->lock2 : (r->fixtures & F_LOCAL) ? f->lock : NULL;
    if (owner) {
        of_lock *probe = NULL;
        int prc = of_lock_acquire(f->prov, f->lock_name, strlen(f->lock_name), NULL, &probe);
        if (prc == OF_OK)
            of_lock_release(probe);
        if (prc != OF_ERR_BUSY) {
            snprintf(why, cap, "the name \"%s\" is no longer held by its owner (acquire: %s)",
                     f->lock_name, of_status_name(prc));
            goto out_release;
        }
    }
    ok = 1;
out_release:
    if (r->flags & BI_VALUE || rc == OF_OK)
        release_outputs(f);
out:
    teardown(f);
    free(f);
    return ok;
}

static int run_all(void)
{
    bi_row **v = sorted_rows();
    int bad = 0;
    /* Every known defect must name a row (a stale entry would hide nothing and mislead). */
    for (size_t k = 0; k < sizeof known_defects / sizeof known_defects[0]; k++) {
        if (!known_defects[k].id)
            continue;
        size_t i = 0;
        while (i < rows_count && strcmp(v[i]->id, known_defects[k].id) != 0)
            i++;
        if (i == rows_count) {
            printf("# known_defects[] names no row: %s\n", known_defects[k].id);
            bad = 1;
        }
    }
    printf("1..%zu\n", rows_count);
    size_t passed = 0, expected_fail = 0, unexpected_pass = 0, failed = 0;
    for (size_t i = 0; i < rows_count; i++) {
        const bi_row *r = v[i];
        char why[768] = "", detail[512] = "";
        int ok = run_row(r, why, sizeof why, detail, sizeof detail);
        const char *kd = known_defect(r);
        if (kd && ok) {
            printf("ok %zu - %s: %s(%s) # TODO known defect no longer seen: remove it from "
                   "known_defects[]\n", i + 1, r->id, r->fn, r->input);
            unexpected_pass++;
        } else if (kd) {
            printf("not ok %zu - %s: %s(%s) # TODO KNOWN DEFECT: %s\n", i + 1, r->id, r->fn,
                   r->input, kd);
            printf("#   %s\n", why);
            expected_fail++;
        } else if (ok) {
            int absent = ((r->flags & REDIS) && !of_lock_redis_available()) ||
                         ((r->flags & ETCD) && !of_lock_etcd_available());
            printf("ok %zu - %s: %s(%s) -> %s\n", i + 1, r->id, r->fn, r->input,
                   absent ? "OF_ERR_NOT_SUPPORTED (provider not built)" : r->answer);
            passed++;
        } else {
            printf("not ok %zu - %s: %s(%s): %s\n", i + 1, r->id, r->fn, r->input, why);
            failed++;
        }
        if (detail[0])
            printf("#   detail: %s\n", detail);
    }
    printf("# %zu rows: %zu passed, %zu failed, %zu known defects, %zu known defects fixed\n",
           rows_count, passed, failed, expected_fail, unexpected_pass);
    free(v);
    return bad || failed || unexpected_pass ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the Markdown table                                                                           */

static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
}

static void markdown(FILE *out)
{
    bi_row **v = sorted_rows();
    const char *group = NULL;
    for (size_t i = 0; i < rows_count; i++) {
        const bi_row *r = v[i];
        if (!group || strcmp(group, r->group) != 0) {
            group = r->group;
            fprintf(out, "\n### `%s`\n\n", group);
            fputs("| function | input | documented answer | detail |\n", out);
            fputs("|---|---|---|---|\n", out);
        }
        fprintf(out, "| `%s` | ", r->fn);
        md_cell(out, r->input);
        if (r->flags & BI_VALUE) {
            fputs(" | ", out);
            md_cell(out, r->answer);
        } else {
            fprintf(out, " | `%s`", r->answer);
        }
        fprintf(out, " | %s |\n", (r->flags & D) ? "yes" : "");
    }
    fputc('\n', out);
    free(v);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static char *table_text(size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    if (!m)
        return NULL;
    markdown(m);
    fclose(m);
    return buf;
}

/* Locate the text between the two markers (each on its own line). */
static int find_table(const char *doc, const char **start, const char **end)
{
    const char *b = strstr(doc, BEGIN_MARK "\n");
    const char *e = strstr(doc, "\n" END_MARK);
    if (!b || !e || e < b)
        return 0;
    *start = b + strlen(BEGIN_MARK "\n");
    *end = e + 1;
    return *start <= *end;
}

static int check_docs(const char *path, int write)
{
    size_t dlen = 0, tlen = 0;
    char *doc = read_file(path, &dlen);
    if (!doc) {
        fprintf(stderr, "%s: cannot read\n", path);
        return 1;
    }
    const char *s, *e;
    if (!find_table(doc, &s, &e)) {
        fprintf(stderr, "%s: no lines '%s' and '%s'\n", path, BEGIN_MARK, END_MARK);
        free(doc);
        return 1;
    }
    char *table = table_text(&tlen);
    int rc = 0;
    if (write) {
        FILE *fp = fopen(path, "wb");
        if (!fp || fwrite(doc, 1, (size_t)(s - doc), fp) != (size_t)(s - doc) ||
            fwrite(table, 1, tlen, fp) != tlen ||
            fwrite(e, 1, strlen(e), fp) != strlen(e) || fclose(fp) != 0) {
            fprintf(stderr, "%s: cannot write\n", path);
            rc = 1;
        }
    } else if ((size_t)(e - s) != tlen || memcmp(s, table, tlen) != 0) {
        size_t line = 1, i = 0;
        while (i < tlen && s + i < e && s[i] == table[i]) {
            if (table[i] == '\n')
                line++;
            i++;
        }
        fprintf(stderr,
                "%s: the bad-input table differs from the test's rows (line %zu of the table).\n"
                "Regenerate it: test-api-badinput --write-docs %s\n", path, line, path);
        rc = 1;
    } else {
        printf("%s: the bad-input table matches the %zu rows\n", path, rows_count);
    }
    free(table);
    free(doc);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* every OF_API function of the headers has a row                                               */

static int has_row(const char *fn)
{
    for (bi_row *r = rows_head; r; r = r->next)
        if (strcmp(r->fn, fn) == 0)
            return 1;
    return 0;
}

static int is_ident(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int check_headers(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: cannot open\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t count = 0, missing = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 3 || strcmp(de->d_name + n - 2, ".h") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        char *text = read_file(path, &len);
        if (!text) {
            fprintf(stderr, "%s: cannot read\n", path);
            closedir(d);
            return 1;
        }
        /* A declaration starts a line with "OF_API " and names the function right before its
         * first '(' (possibly lines later). */
        for (char *p = text; (p = strstr(p, "OF_API ")) != NULL; p++) {
            if (p != text && p[-1] != '\n')
                continue;
            char *paren = strchr(p, '(');
            char *semi = strchr(p, ';');
            if (!paren || (semi && semi < paren))
                continue;
            char *end = paren;
            while (end > p && end[-1] == ' ')
                end--;
            char *start = end;
            while (start > p && is_ident(start[-1]))
                start--;
            if (start == end)
                continue;
            char **nv = realloc(names, (count + 1) * sizeof *names);
            if (!nv)
                break;
            names = nv;
            names[count] = strndup(start, (size_t)(end - start));
            if (!has_row(names[count])) {
                printf("%s: %s has no row in the bad-input table\n", de->d_name, names[count]);
                missing++;
            }
            count++;
        }
        free(text);
    }
    closedir(d);
    size_t stray = 0;
    for (bi_row *r = rows_head; r; r = r->next) {
        size_t i = 0;
        while (i < count && strcmp(names[i], r->fn) != 0)
            i++;
        if (i == count) {
            printf("row %s calls %s, which no header declares OF_API\n", r->id, r->fn);
            stray++;
        }
    }
    size_t covered = count - missing;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    printf("%zu public functions declared, %zu with rows, %zu rows\n", count, covered, rows_count);
    if (count == 0) {
        printf("no OF_API declaration found under %s\n", dir);
        return 1;
    }
    return missing || stray ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--markdown") == 0) {
        markdown(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--check-docs") == 0)
        return check_docs(argv[2], 0);
    if (argc == 3 && strcmp(argv[1], "--write-docs") == 0)
        return check_docs(argv[2], 1);
    if (argc == 3 && strcmp(argv[1], "--check-headers") == 0)
        return check_headers(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--markdown | --check-docs FILE | --write-docs FILE | "
                        "--check-headers DIR]\n", argv[0]);
        return 2;
    }
    return run_all();
}
