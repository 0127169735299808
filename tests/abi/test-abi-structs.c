/* Struct versions across library versions, both ways (lock.h, "Struct versions").
 *
 * The program carries its own copies of the ABI-1 structs ("v1", as libopenfault 0.1 ships them)
 * and of the same structs with one member added ("v2"), and talks to the library only through
 * those, like a program compiled against another header version would:
 *   -DABI_CALLER_V1  linked with a library built from headers one member newer (tests/abi/future):
 *                    an old program on a new library. Its v1 structs must be accepted, read and
 *                    written only up to their size (each lives in a heap block of exactly that
 *                    size, so the ASan and valgrind runs see any access past it), with the
 *                    missing member taking its default.
 *   -DABI_CALLER_V2  linked with today's library: a program built against a newer header. Its
 *                    larger structs must be refused with OF_ERR_ABI and left untouched.
 * Both check that sizes below ABI 1 are refused. argv[1] picks the group: lock, redis or ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openfault/openfault.h>

/* ---- the ABI-1 members, copied from the 0.1 headers (never edit these lists) ---- */

#define V1_LOCK_OPTIONS                                                                          \
    uint32_t struct_size;                                                                        \
    uint32_t ttl_ms;                                                                             \
    int64_t wait_ms;                                                                             \
    uint32_t flags;                                                                              \
    uint32_t reserved0;                                                                          \
    of_lock_lost_fn on_lost;                                                                     \
    void *on_lost_ctx;

#define V1_LOCK_STATS                                                                            \
    uint32_t struct_size;                                                                        \
    uint32_t reserved0;                                                                          \
    uint64_t attempts, acquired, busy, timeouts, lost, errors, wait_ns, released, extended,     \
        cleanups_queued, cleanups_done, cleanups_dropped;

#define V1_PROVIDER_CONFIG                                                                       \
    uint32_t struct_size;                                                                        \
    uint32_t step_timeout_ms;                                                                    \
    uint32_t backoff_base_ms;                                                                    \
    uint32_t backoff_cap_ms;                                                                     \
    of_lock_log_fn log;                                                                          \
    void *log_ctx;                                                                               \
    int32_t log_level;                                                                           \
    uint32_t reserved0;

#define V1_PROVIDER_OPS                                                                          \
    uint32_t abi_version;                                                                        \
    uint32_t struct_size;                                                                        \
    const char *name;                                                                            \
    uint32_t caps;                                                                               \
    uint32_t reserved0;                                                                          \
    int (*try_acquire)(void *self, const void *name, size_t name_len, const of_lock_token *token, \
                       uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,               \
                       int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms);               \
    int (*release)(void *self, const void *name, size_t name_len, const of_lock_token *token,    \
                   int64_t deadline_ns);                                                         \
    int (*extend)(void *self, const void *name, size_t name_len, const of_lock_token *token,     \
                  uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns);            \
    int (*wait_release)(void *self, const void *name, size_t name_len, int64_t until_ns);        \
    void (*destroy)(void *self);

#define V1_REDIS_OPTIONS                                                                         \
    uint32_t struct_size;                                                                        \
    uint32_t port;                                                                               \
    const char *host;                                                                            \
    const char *unix_path;                                                                       \
    const char *user;                                                                            \
    const char *password;                                                                        \
    const char *prefix;                                                                          \
    uint32_t db;                                                                                 \
    uint32_t connect_timeout_ms;                                                                 \
    uint32_t command_timeout_ms;                                                                 \
    uint32_t keepalive;

#define V1_RING_OPTIONS                                                                          \
    uint32_t struct_size;                                                                        \
    uint32_t algorithm;                                                                          \
    uint32_t vnodes;                                                                             \
    uint32_t flags;                                                                              \
    uint64_t seed;

#define V1_RING_STATS                                                                            \
    uint32_t struct_size;                                                                        \
    uint32_t algorithm;                                                                          \
    uint64_t generation;                                                                         \
    uint64_t fingerprint;                                                                        \
    uint64_t nodes;                                                                              \
    uint64_t points;                                                                             \
    uint64_t node_points_min;                                                                    \
    uint64_t node_points_max;                                                                    \
    uint64_t pins;                                                                               \
    uint64_t memory_bytes;                                                                       \
    uint64_t nodes_added;                                                                        \
    uint64_t nodes_removed;                                                                      \
    uint64_t weight_changes;                                                                     \
    uint64_t last_change_generation;                                                             \
    double busiest_share;                                                                        \
    double mean_share;                                                                           \
    double busiest_ratio;                                                                        \
    double last_moved_share;

typedef struct { V1_LOCK_OPTIONS } v1_lock_options;
typedef struct { V1_LOCK_STATS } v1_lock_stats;
typedef struct { V1_PROVIDER_CONFIG } v1_provider_config;
typedef struct { V1_PROVIDER_OPS } v1_provider_ops;
typedef struct { V1_REDIS_OPTIONS } v1_redis_options;
typedef struct { V1_RING_OPTIONS } v1_ring_options;
typedef struct { V1_RING_STATS } v1_ring_stats;

typedef struct { V1_LOCK_OPTIONS uint64_t added; } v2_lock_options;
/* of_lock_stats has grown since ABI 1: the newer caller's struct is today's plus one member. */
typedef struct {
    V1_LOCK_STATS
    uint8_t grown[sizeof(of_lock_stats) - sizeof(v1_lock_stats)];
    uint64_t added;
} v2_lock_stats;
/* of_lock_provider_config has grown since ABI 1 too (on_event, event_ctx). */
typedef struct {
    V1_PROVIDER_CONFIG
    uint8_t grown[sizeof(of_lock_provider_config) - sizeof(v1_provider_config)];
    uint64_t added;
} v2_provider_config;
typedef struct { V1_PROVIDER_OPS void (*added)(void *self); } v2_provider_ops;
typedef struct { V1_REDIS_OPTIONS uint64_t added; } v2_redis_options;
typedef struct { V1_RING_OPTIONS uint64_t added; } v2_ring_options;
typedef struct { V1_RING_STATS uint64_t added; } v2_ring_stats;

#if defined(ABI_CALLER_V1)
#define CALLER(s) v1_##s
#elif defined(ABI_CALLER_V2)
#define CALLER(s) v2_##s
#else
#error "build with -DABI_CALLER_V1 or -DABI_CALLER_V2"
#endif

/* The v1 copies must keep the real header's layout: members never move (checked here against
 * whatever header this file is compiled with), the header's struct is at least as large. */
#define SAME_OFFSET(v1, real, m) _Static_assert(offsetof(v1, m) == offsetof(real, m), #real "." #m)
SAME_OFFSET(v1_lock_options, of_lock_options, on_lost_ctx);
SAME_OFFSET(v1_lock_options, of_lock_options, wait_ms);
SAME_OFFSET(v1_lock_stats, of_lock_stats, cleanups_dropped);
SAME_OFFSET(v1_provider_config, of_lock_provider_config, reserved0);
SAME_OFFSET(v1_provider_config, of_lock_provider_config, log);
SAME_OFFSET(v1_provider_ops, of_lock_provider_ops, destroy);
SAME_OFFSET(v1_provider_ops, of_lock_provider_ops, try_acquire);
SAME_OFFSET(v1_redis_options, of_lock_redis_options, keepalive);
SAME_OFFSET(v1_redis_options, of_lock_redis_options, host);
SAME_OFFSET(v1_ring_options, of_ring_options, seed);
SAME_OFFSET(v1_ring_stats, of_ring_stats, last_change_generation);
SAME_OFFSET(v1_ring_stats, of_ring_stats, last_moved_share);
_Static_assert(sizeof(v1_lock_options) <= sizeof(of_lock_options), "options");
_Static_assert(sizeof(v1_lock_stats) <= sizeof(of_lock_stats), "stats");
_Static_assert(sizeof(v1_provider_config) <= sizeof(of_lock_provider_config), "config");
_Static_assert(sizeof(v1_provider_ops) <= sizeof(of_lock_provider_ops), "ops");
_Static_assert(sizeof(v1_redis_options) <= sizeof(of_lock_redis_options), "redis options");
_Static_assert(sizeof(v1_ring_options) <= sizeof(of_ring_options), "ring options");
_Static_assert(sizeof(v1_ring_stats) <= sizeof(of_ring_stats), "ring stats");

/* ---- helpers ---- */

#define CANARY 0xA5

/* A caller's struct on the heap in a block of exactly its size, filled with a pattern: ASan and
 * valgrind flag any access the library makes past it. */
static void *caller_struct(size_t size)
{
    unsigned char *p = malloc(size);
    assert_non_null(p);
    memset(p, CANARY, size);
    return p;
}

/* Compare a struct against a snapshot: "refused and untouched". */
static void assert_untouched(const void *s, const void *snap, size_t size)
{
    assert_memory_equal(s, snap, size);
}

static int grant(void *self, const void *name, size_t name_len, const of_lock_token *token,
                 uint32_t ttl_ms, int64_t deadline_ns, uint64_t *out_fence,
                 int64_t *out_valid_until_ns, uint32_t *out_retry_after_ms)
{
    (void)self, (void)name, (void)name_len, (void)token, (void)ttl_ms, (void)deadline_ns;
    (void)out_fence, (void)out_valid_until_ns, (void)out_retry_after_ms;
    return OF_OK;
}

static int drop(void *self, const void *name, size_t name_len, const of_lock_token *token,
                int64_t deadline_ns)
{
    (void)self, (void)name, (void)name_len, (void)token, (void)deadline_ns;
    return OF_OK;
}

static CALLER(provider_ops) *make_ops(void)
{
    CALLER(provider_ops) *ops = caller_struct(sizeof *ops);
    memset(ops, 0, sizeof *ops);
    ops->abi_version = OF_LOCK_PROVIDER_ABI;
    ops->struct_size = (uint32_t)sizeof *ops;
    ops->name = "abi-test";
    ops->try_acquire = grant;
    ops->release = drop;
    return ops;
}

/* ---- lock structs ---- */

static void lock_options_init(void **state)
{
    (void)state;
    CALLER(lock_options) *o = caller_struct(sizeof *o);
    CALLER(lock_options) snap;
    memcpy(&snap, o, sizeof snap);
    int rc = of_lock_options_init((of_lock_options *)o, sizeof *o);
#ifdef ABI_CALLER_V1
    assert_int_equal(rc, OF_OK);
    assert_int_equal(o->struct_size, sizeof *o);
    assert_int_equal(o->ttl_ms, OF_LOCK_DEFAULT_TTL_MS);
    assert_int_equal(o->wait_ms, 0);
    assert_int_equal(o->flags, 0);
    assert_null(o->on_lost);
#else
    assert_int_equal(rc, OF_ERR_ABI);
    assert_untouched(o, &snap, sizeof snap);
#endif
    /* Below ABI 1: refused in every version, and nothing written. */
    memcpy(o, &snap, sizeof snap);
    assert_int_equal(of_lock_options_init((of_lock_options *)o, sizeof(v1_lock_options) - 1),
                     OF_ERR_ABI);
    assert_int_equal(of_lock_options_init((of_lock_options *)o, 0), OF_ERR_ABI);
    assert_untouched(o, &snap, sizeof snap);
    free(o);
}

static void lock_acquire_options(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    CALLER(lock_options) *o = caller_struct(sizeof *o);
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->ttl_ms = 5000;
    of_lock *l = NULL;
    int rc = of_lock_acquire(p, "n", 1, (const of_lock_options *)o, &l);
#ifdef ABI_CALLER_V1
    /* The missing member takes its default; the lock is held as asked. */
    assert_int_equal(rc, OF_OK);
    assert_true(of_lock_valid_until_ns(l) > of_clock_monotonic_ns());
    assert_int_equal(of_lock_release(l), OF_OK);
#else
    assert_int_equal(rc, OF_ERR_ABI);
    assert_null(l);
#endif
    o->struct_size = (uint32_t)sizeof(v1_lock_options) - 1;
    assert_int_equal(of_lock_acquire(p, "n", 1, (const of_lock_options *)o, &l), OF_ERR_ABI);
    free(o);
    of_lock_provider_destroy(p);
}

#ifdef ABI_CALLER_V1
static void count_event(void *ctx, const of_lock_event *ev)
{
    /* The library is one member newer: its event is larger, and every member this header
     * knows is there, in place. */
    assert_true(ev->struct_size > sizeof *ev);
    assert_true(ev->name_len == 1 && memcmp(ev->name, "n", 1) == 0);
    ++*(int *)ctx;
}
#endif

static void lock_provider_config(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    CALLER(provider_config) *c = caller_struct(sizeof *c);
    CALLER(provider_config) snap;
    memcpy(&snap, c, sizeof snap);
    int rc = of_lock_provider_config_init((of_lock_provider_config *)c, sizeof *c);
#ifdef ABI_CALLER_V1
    assert_int_equal(rc, OF_OK);
    assert_int_equal(c->struct_size, sizeof *c);
    assert_int_equal(c->step_timeout_ms, 5000);
    assert_int_equal(c->backoff_base_ms, 1);
    assert_int_equal(c->backoff_cap_ms, 100);
    assert_int_equal(c->log_level, OF_LOCK_LOG_WARN);
    assert_int_equal(c->reserved0, 0);
    c->step_timeout_ms = 2000;
    assert_int_equal(of_lock_provider_configure(p, (const of_lock_provider_config *)c), OF_OK);
    /* A caller built against today's header (larger than ABI 1, smaller than the library's):
     * its event callback is installed; an ABI-1 struct (which has none) then removes it, as
     * the default of the member it lacks. */
    int events = 0;
    of_lock_provider_config cur;
    assert_int_equal(of_lock_provider_config_init(&cur, sizeof cur), OF_OK);
    assert_null(cur.on_event);
    assert_null(cur.event_ctx);
    cur.on_event = count_event;
    cur.event_ctx = &events;
    assert_int_equal(of_lock_provider_configure(p, &cur), OF_OK);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(p, "n", 1, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(events, 2); /* acquired, released */
    assert_int_equal(of_lock_provider_configure(p, (const of_lock_provider_config *)c), OF_OK);
    assert_int_equal(of_lock_acquire(p, "n", 1, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    assert_int_equal(events, 2);
#else
    assert_int_equal(rc, OF_ERR_ABI);
    assert_untouched(c, &snap, sizeof snap);
    /* Filled by hand as a newer program would: still refused. */
    memset(c, 0, sizeof *c);
    c->struct_size = (uint32_t)sizeof *c;
    c->step_timeout_ms = 2000;
    c->backoff_base_ms = 1;
    c->backoff_cap_ms = 100;
    c->log_level = OF_LOCK_LOG_WARN;
    assert_int_equal(of_lock_provider_configure(p, (const of_lock_provider_config *)c), OF_ERR_ABI);
#endif
    c->struct_size = (uint32_t)sizeof(v1_provider_config) - 1;
    assert_int_equal(of_lock_provider_configure(p, (const of_lock_provider_config *)c), OF_ERR_ABI);
    memcpy(c, &snap, sizeof snap);
    assert_int_equal(of_lock_provider_config_init((of_lock_provider_config *)c,
                                                  sizeof(v1_provider_config) - 1), OF_ERR_ABI);
    assert_untouched(c, &snap, sizeof snap);
    free(c);
    of_lock_provider_destroy(p);
}

static void lock_stats(void **state)
{
    (void)state;
    of_lock_provider *p = NULL;
    assert_int_equal(of_lock_local_create(&p), OF_OK);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(p, "n", 1, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);

    CALLER(lock_stats) *s = caller_struct(sizeof *s);
    s->struct_size = (uint32_t)sizeof *s;
    CALLER(lock_stats) snap;
    memcpy(&snap, s, sizeof snap);
    int rc = of_lock_provider_stats(p, (of_lock_stats *)s);
#ifdef ABI_CALLER_V1
    assert_int_equal(rc, OF_OK);
    assert_int_equal(s->struct_size, sizeof *s);
    assert_int_equal(s->reserved0, 0);
    assert_int_equal(s->acquired, 1);
    assert_int_equal(s->released, 1);
    assert_int_equal(s->attempts, 1);
    assert_int_equal(s->cleanups_dropped, 0);
    /* A caller built against today's header (larger than ABI 1, smaller than the library's):
     * the members added since ABI 1 are filled. */
    of_lock_stats cur;
    memset(&cur, 0xee, sizeof cur);
    cur.struct_size = (uint32_t)sizeof cur;
    assert_int_equal(of_lock_provider_stats(p, &cur), OF_OK);
    assert_int_equal(cur.struct_size, sizeof cur);
    assert_int_equal(cur.acquired, 1);
    assert_int_equal(cur.held_now, 0);
    assert_int_equal(cur.hold_le[OF_LOCK_HIST_BUCKETS - 1], 1);
    assert_int_equal(cur.releases_failed, 0);
#else
    assert_int_equal(rc, OF_ERR_ABI);
    assert_untouched(s, &snap, sizeof snap);
#endif
    s->struct_size = (uint32_t)sizeof(v1_lock_stats) - 1;
    memcpy(&snap, s, sizeof snap);
    assert_int_equal(of_lock_provider_stats(p, (of_lock_stats *)s), OF_ERR_ABI);
    assert_untouched(s, &snap, sizeof snap);
    free(s);
    of_lock_provider_destroy(p);
}

static void lock_provider_ops(void **state)
{
    (void)state;
    CALLER(provider_ops) *ops = make_ops();
    of_lock_provider *p = NULL;
    int rc = of_lock_provider_create((const of_lock_provider_ops *)ops, NULL, &p);
#ifdef ABI_CALLER_V1
    /* A provider built against ABI 1: the member it lacks counts as NULL. */
    assert_int_equal(rc, OF_OK);
    of_lock *l = NULL;
    assert_int_equal(of_lock_acquire(p, "n", 1, NULL, &l), OF_OK);
    assert_int_equal(of_lock_release(l), OF_OK);
    of_lock_provider_destroy(p);
    p = NULL;
#else
    assert_int_equal(rc, OF_ERR_ABI);
    assert_null(p);
#endif
    ops->struct_size = (uint32_t)sizeof(v1_provider_ops) - 1;
    assert_int_equal(of_lock_provider_create((const of_lock_provider_ops *)ops, NULL, &p),
                     OF_ERR_ABI);
    assert_null(p);
    free(ops);
}

static void lock_library_sizes(void **state)
{
    (void)state;
    /* What this run is about: the library's structs are one member larger (v1 caller), or the
     * same as ABI 1 (v2 caller). */
#ifdef ABI_CALLER_V1
    assert_int_equal(of_lock_options_size(), sizeof(v2_lock_options));
    assert_int_equal(of_lock_stats_size(), sizeof(v2_lock_stats));
    assert_int_equal(of_lock_provider_config_size(), sizeof(v2_provider_config));
    assert_int_equal(of_lock_provider_ops_size(), sizeof(v2_provider_ops));
#else
    assert_true(of_lock_options_size() < sizeof(v2_lock_options));
    assert_true(of_lock_stats_size() < sizeof(v2_lock_stats));
    assert_true(of_lock_provider_config_size() < sizeof(v2_provider_config));
    assert_true(of_lock_provider_ops_size() < sizeof(v2_provider_ops));
#endif
}

/* ---- redis options ---- */

static void redis_options(void **state)
{
    (void)state;
    CALLER(redis_options) *o = caller_struct(sizeof *o);
    CALLER(redis_options) snap;
    memcpy(&snap, o, sizeof snap);
    int rc = of_lock_redis_options_init((of_lock_redis_options *)o, sizeof *o);
#ifdef ABI_CALLER_V1
    assert_int_equal(of_lock_redis_options_size(), sizeof(v2_redis_options));
    assert_int_equal(rc, OF_OK);
    assert_int_equal(o->struct_size, sizeof *o);
    assert_int_equal(o->port, OF_LOCK_REDIS_DEFAULT_PORT);
    assert_int_equal(o->keepalive, 1);
    /* A server that is not there: whatever create answers, it is not about the struct. */
    o->unix_path = "/nonexistent-openfault-abi-test/redis.sock";
    o->connect_timeout_ms = 100;
    of_lock_provider *p = NULL;
    rc = of_lock_redis_create((const of_lock_redis_options *)o, &p);
    assert_int_not_equal(rc, OF_ERR_ABI);
    if (rc == OF_OK)
        of_lock_provider_destroy(p);
#else
    assert_int_equal(rc, OF_ERR_ABI);
    assert_untouched(o, &snap, sizeof snap);
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->port = 6379;
    o->unix_path = "/nonexistent-openfault-abi-test/redis.sock";
    o->connect_timeout_ms = 100;
    o->command_timeout_ms = 100;
    of_lock_provider *p = NULL;
    rc = of_lock_redis_create((const of_lock_redis_options *)o, &p);
    assert_int_equal(rc, of_lock_redis_available() ? OF_ERR_ABI : OF_ERR_NOT_SUPPORTED);
    assert_null(p);
#endif
    memcpy(o, &snap, sizeof snap);
    assert_int_equal(of_lock_redis_options_init((of_lock_redis_options *)o,
                                                sizeof(v1_redis_options) - 1), OF_ERR_ABI);
    assert_untouched(o, &snap, sizeof snap);
    free(o);
}

/* ---- ring options ---- */

/* The old-caller half of this case needs the ring options size check that accepts ABI-1 sizes
 * from a newer library (frozen with offsetof, as for the lock structs): it fails where ring.c
 * still demands the exact size. */
static void ring_options(void **state)
{
    (void)state;
    CALLER(ring_options) *o = caller_struct(sizeof *o);
    CALLER(ring_options) snap;
    memcpy(&snap, o, sizeof snap);
    int rc = of_ring_options_init((of_ring_options *)o, sizeof *o);
#ifdef ABI_CALLER_V1
    assert_int_equal(of_ring_options_size(), sizeof(v2_ring_options));
    assert_int_equal(rc, OF_OK);
    assert_int_equal(o->struct_size, sizeof *o);
    assert_int_equal(o->algorithm, OF_RING_NATIVE);
    assert_int_equal(o->vnodes, OF_RING_DEFAULT_VNODES);
    of_ring *r = NULL;
    assert_int_equal(of_ring_create((const of_ring_options *)o, &r), OF_OK);
    of_ring_destroy(r);
#else
    assert_int_equal(rc, OF_ERR_ABI);
    assert_untouched(o, &snap, sizeof snap);
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->vnodes = OF_RING_DEFAULT_VNODES;
    of_ring *r = NULL;
    assert_int_equal(of_ring_create((const of_ring_options *)o, &r), OF_ERR_ABI);
    assert_null(r);
#endif
    memcpy(o, &snap, sizeof snap);
    assert_int_equal(of_ring_options_init((of_ring_options *)o, sizeof(v1_ring_options) - 1),
                     OF_ERR_ABI);
    assert_untouched(o, &snap, sizeof snap);
    free(o);
}

/* A caller's of_ring_stats of either version: ABI 1 is filled up to its end (nothing past it
 * written); one member newer than the library is refused untouched. */
static void ring_stats(void **state)
{
    (void)state;
    of_ring *r = NULL;
    assert_int_equal(of_ring_create(NULL, &r), OF_OK);
    assert_int_equal(of_ring_add(r, "a", 1, 2, 0), OF_OK);
    CALLER(ring_stats) *s = caller_struct(sizeof *s);
    s->struct_size = (uint32_t)sizeof *s;
    CALLER(ring_stats) snap;
    memcpy(&snap, s, sizeof snap);
    int rc = of_ring_get_stats(r, (of_ring_stats *)s);
#ifdef ABI_CALLER_V1
    assert_int_equal(of_ring_stats_size(), sizeof(v2_ring_stats));
    assert_int_equal(rc, OF_OK);
    assert_int_equal(s->struct_size, sizeof *s);
    assert_int_equal(s->nodes, 1);
    assert_int_equal(s->nodes_added, 1);
    assert_int_equal(s->points, 2 * OF_RING_DEFAULT_VNODES);
    assert_true(s->last_moved_share == 1.0);
#else
    assert_true(of_ring_stats_size() < sizeof(v2_ring_stats));
    assert_int_equal(rc, OF_ERR_ABI);
    assert_untouched(s, &snap, sizeof snap);
#endif
    s->struct_size = (uint32_t)sizeof(v1_ring_stats) - 1;
    memcpy(&snap, s, sizeof snap);
    assert_int_equal(of_ring_get_stats(r, (of_ring_stats *)s), OF_ERR_ABI);
    assert_untouched(s, &snap, sizeof snap);
    free(s);
    of_ring_destroy(r);
}

#define CASE(f) cmocka_unit_test(f)

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "lock";
    const struct CMUnitTest lock_cases[] = {
        CASE(lock_library_sizes), CASE(lock_options_init), CASE(lock_acquire_options),
        CASE(lock_provider_config), CASE(lock_stats), CASE(lock_provider_ops),
    };
    const struct CMUnitTest redis_cases[] = {CASE(redis_options)};
    const struct CMUnitTest ring_cases[] = {CASE(ring_options), CASE(ring_stats)};
#ifdef ABI_CALLER_V1
#define DIR "old-caller"
#else
#define DIR "new-caller"
#endif
    if (strcmp(group, "lock") == 0)
        return cmocka_run_group_tests_name("abi/" DIR "/lock", lock_cases, NULL, NULL);
    if (strcmp(group, "redis") == 0)
        return cmocka_run_group_tests_name("abi/" DIR "/redis", redis_cases, NULL, NULL);
    if (strcmp(group, "ring") == 0)
        return cmocka_run_group_tests_name("abi/" DIR "/ring", ring_cases, NULL, NULL);
    fprintf(stderr, "unknown group '%s' (lock, redis, ring)\n", group);
    return 2;
}
