/* The bad-input table: one row per (public function, bad input), each a small function that makes
 * the call against a fresh fixture. The harness (badinput.c) fills every output with a sentinel
 * byte pattern, clears the thread's error detail, runs the row, and checks the documented answer,
 * the untouched outputs, the unchanged state and the detail.
 *
 * A row is written once and registers itself:
 *
 *     ROW(ring_add_id_1025, of_ring_add, F_RING, OF_ERR_INVALID, D, "id 1025 bytes")
 *     {
 *         return of_ring_add(f->ring, f->big, 1025, 1, 9);
 *     }
 *
 * Adding a public function is adding rows for it in the rows-*.c file of its header (a new header
 * gets a new rows file, listed in meson.build, with its own ROWS_GROUP; its table follows the
 * others in docs/errors.md): the header scan (--check-headers) fails while a public function has
 * none. Fixtures are bits (F_*) built by setup() in badinput.c; a new provider's fixture is one
 * more bit there. */
#ifndef OF_TESTS_API_BADINPUT_H
#define OF_TESTS_API_BADINPUT_H

#include <stddef.h>
#include <stdint.h>

#include <openfault/openfault.h>

/* Fixtures a row asks for (bits; the harness builds them before the row and frees them after). */
enum {
    F_NONE = 0,
    F_RING = 1u << 0,       /* f->ring: native, vnodes 16, seed 7; "a" w1 tag 1, "b" w2 tag 2,
                               "c" w1 tag 3; the key "pinned" pinned to "b" */
    F_KETAMA = 1u << 1,     /* f->ketama: "10.0.0.1:11211" w1 tag 11,
                               "10.0.0.2:11212" w2 tag 12 */
    F_EMPTY_RING = 1u << 2, /* f->empty_ring: native, vnodes 16, seed 7, no node */
    F_VIEWS = 1u << 3,      /* f->v_old (F_RING's), f->v_new (one node more), f->v_ketama,
                               f->v_seed (seed 8) */
    F_INDEX = 1u << 4,      /* f->idx: keys 10, 20, 20, 30 with payloads 1..4; f->idx_empty */
    F_FROZEN = 1u << 5,     /* f->frz: frozen f->idx content; f->frz_empty */
    F_ARRAYS = 1u << 6,     /* f->au/ai/ad/ac: 3 sorted elements of capacity 4 (counts
                               f->nu/ni/nd/nc); f->fu/fi/fd/fc: 3 of capacity 3 (full) */
    F_LOCAL = 1u << 7,      /* f->prov: local provider; f->lock holds "held" (ttl 60 s) */
    F_EXPIRED = 1u << 8,    /* f->prov: local provider; f->lock acquired "lease" with ttl 50 ms, no
                               auto-renew, and the lease has passed (not marked lost) */
    F_TAKEN = 1u << 9,      /* F_EXPIRED, then f->lock2 took "lease" over (ttl 60 s) */
    F_LOST = 1u << 10,      /* F_TAKEN, then of_lock_extend(f->lock) answered NOT_OWNER: f->lock
                               is marked lost */
    F_OPS = 1u << 11,       /* f->ops: a valid provider vtable (f->destroyed counts
                               destroy(self)) */
};

/* Row flags. */
enum {
    D = 1u << 0,          /* of_last_error_detail() must be non-empty afterwards */
    MUT = 1u << 1,        /* the documented answer changes state (a boundary that is accepted):
                             no state comparison; the row cleans up after itself */
    NOOUT = 1u << 2,      /* the row checks its outputs itself (e.g. NOSPACE sets out_id_len) */
    H1 = 1u << 3,         /* f->lock is documented to change (marked lost, or released by the
                             row): its state and the provider's counters are not compared */
    REDIS = 1u << 4,      /* a Redis or Redlock create function: without hiredis the answer is
                             OF_ERR_NOT_SUPPORTED whatever the input */
    ETCD = 1u << 7,       /* an etcd create function: without libcurl and jansson the answer is
                             OF_ERR_NOT_SUPPORTED whatever the input */
    ST = 1u << 6,         /* the provider's counters count this call (e.g. a BUSY answer): they
                             are not compared; the handles are */
    BI_VALUE = 1u << 5,   /* (VROW) a function that cannot fail: the row returns 1 when the
                             documented value or effect was seen */
};

/* Every output a row may pass: filled with 0xA5 before the call, compared byte for byte after
 * an error. */
typedef struct bi_outs {
    uint64_t tag;
    uint64_t key;
    uint64_t payload;
    uint64_t fence;
    size_t len;
    size_t index;
    size_t pos;
    size_t count;
    int present;
    double share;
    char id[64];
    uint64_t tags[8];
    size_t positions[8];
    of_ring *ring;
    of_ring_view *view;
    of_index *idx;
    of_index_frozen *frozen;
    of_index_cursor cursor;
    of_lock *lock;
    of_lock_provider *provider;
    of_lock_token token;
    of_ring_options ring_opts;
    of_lock_options lock_opts;
    of_lock_provider_config cfg;
    of_lock_redis_options redis_opts;
    of_lock_redlock_options redlock_opts;
    of_lock_etcd_options etcd_opts;
    unsigned char tail[128]; /* room behind the last struct for oversized struct_size writes */
} bi_outs;

typedef struct bi_fx {
    of_ring *ring, *ketama, *empty_ring;
    of_ring_view *v_old, *v_new, *v_ketama, *v_seed;
    of_index *idx, *idx_empty;
    of_index_frozen *frz, *frz_empty;
    uint64_t au[4];
    int64_t ai[4];
    double ad[4];
    uint32_t ac[4];
    size_t nu, ni, nd, nc; /* 3 each; capacity 4 */
    uint64_t fu[3];
    int64_t fi[3];
    double fd[3];
    uint32_t fc[3];
    size_t fnu, fni, fnd, fnc; /* 3 each; capacity 3 */
    of_lock_provider *prov;
    of_lock *lock, *lock2;
    const char *lock_name; /* the name f->lock (and f->lock2) hold: "held" or "lease" */
    of_lock_provider_ops ops;
    int destroyed;         /* calls of f->ops.destroy */
    int calls;             /* calls of the rows' callbacks */
    char big[2048];        /* 'x' bytes: oversized ids and names */
    bi_outs o;
    char why[512];         /* set by a row (bi_why) when a check of its own failed */
} bi_fx;

typedef struct bi_row {
    const char *id;     /* unique case name */
    const char *fn;     /* the public function this row calls */
    const char *file;   /* __FILE__: rows are listed by file, then definition order */
    const char *group;  /* the header, for the Markdown table */
    const char *input;  /* what is bad about the input (Markdown) */
    const char *answer; /* the documented answer, as text */
    int seq;            /* __COUNTER__ of its definition: rows list by file, then this */
    unsigned fixtures;
    unsigned flags;
    int status;         /* the documented status (status rows) */
    int (*call)(bi_fx *f);
    struct bi_row *next;
} bi_row;

void bi_register(bi_row *row);
/* Record why a row's own check failed (the first reason wins). */
void bi_why(bi_fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether @p n bytes at @p p still hold the sentinel pattern. */
int bi_untouched(const void *p, size_t n);
/* The password (and user name) of every row that passes credentials: no detail may hold a
 * piece of them. */
#define BI_SECRET "s3cr3tPW"
#define BI_USER "alice"
/* Record (bi_why) when of_last_error_detail() holds a run of 4 or more bytes of BI_SECRET, or,
 * with @p user_too, of BI_USER. */
void bi_check_secret(bi_fx *f, int user_too);
/* Acquire on the fixture's provider into f->o.lock (released again at once if it succeeds). */
int bi_acquire(bi_fx *f, of_lock_provider *p, const void *name, size_t len,
               const of_lock_options *opts);

#define BI_SENTINEL 0xA5

#define BI_ROW_(id, fnname, fix, st, fl, ans, in)                                                 \
    static int bi_call_##id(bi_fx *f);                                                            \
    static bi_row bi_row_##id = {#id, #fnname, __FILE__, ROWS_GROUP, in,       ans,              \
                                 __COUNTER__, fix, fl, st, bi_call_##id, NULL};                \
    __attribute__((constructor)) static void bi_reg_##id(void)                                    \
    {                                                                                             \
        (void)&fnname; /* the row must name a declared function */                                \
        bi_register(&bi_row_##id);                                                                \
    }                                                                                             \
    static int bi_call_##id(bi_fx *f)

/* A fallible function: the body returns its status; @p st is the documented one. */
#define ROW(id, fnname, fix, st, fl, in) BI_ROW_(id, fnname, fix, st, fl, #st, in)
/* A function that cannot fail (void, or returning a value): the body returns 1 when it saw the
 * documented value or effect @p ans. */
#define VROW(id, fnname, fix, ans, in) BI_ROW_(id, fnname, fix, 0, BI_VALUE, ans, in)

#endif
