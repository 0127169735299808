/* What the lock engine's files share: the provider and handle structs, and the calls one part
 * makes into another. Only src/lock/engine_*.c include this; providers and tests see the public
 * <openfault/lock.h> (and tests the hooks in lock/engine.h).
 *
 * The parts:
 *   engine_provider.c  create/destroy, configuration, stats, log hook, the ABI-size functions
 *   engine_handle.c    the handle pool, release, extend and the handle accessors
 *   engine_acquire.c   options, of_lock_acquire with its backoff and per-name FIFO wait queues
 *   engine_renew.c     the engine thread: auto-renewals, loss callbacks, the cleanup queue
 *
 * ---- Locks -------------------------------------------------------------------------------------
 *
 * Four kinds, none of them held while another is taken, and none held while a provider step or a user
 * callback (loss callback, log hook, event callback) runs:
 *   p->mu       the engine mutex: the renewal list and each registered handle's renewal fields
 *               (rn_prev/rn_next, registered, busy, want, notified, next_renew_ns), cb_handle,
 *               the cleanup queue (cq_*), thread_started and stop. cv wakes the engine thread,
 *               idle_cv the callers waiting for a handle to go idle.
 *   stripe lock a spin lock per stripe (p->stripes[i].lock) over its handle free list, its list
 *               of handles in use (live_*), its block of token ids and its "locked" counters:
 *               a few moves, so the uncontended acquire + release takes no mutex, and threads on
 *               their own stripes share no written cache line.
 *   p->wq_mu    the per-name wait queues (wq_first and the waiters on them); wq_cv is broadcast
 *               when a queue's head changes.
 *   p->log_mu   only to read the log hook and its ctx, or the event callback and its ctx, as a
 *               pair.
 * Atomics, no lock: valid_until and lost of a handle (the owner reads them while the engine
 * thread writes them), the configuration values, the stats counters, paused, waiting, events.
 *
 * Events (of_lock_event_fn) of a handle are delivered while nobody can free it: on the owner's
 * thread inside its call, on the engine thread while the handle is busy (renewals) or is
 * cb_handle (losses). That is also what keeps them in order: a release waits for both.
 *
 * Functions that drop p->mu while they run, and retake it before returning: lose_locked (around
 * the log line and the loss callback, which may release the handle and so takes p->mu itself),
 * renew_one_locked (around the provider's extend, and the log line of a failed renewal),
 * cleanup_one_locked (around the provider's release) and the engine thread's condition waits.
 * A caller of these must not trust anything it read under p->mu before the call: the engine
 * thread's loop therefore rescans its lists from the start after each of them.
 *
 * ---- Handle states -----------------------------------------------------------------------------
 *
 *   FREE       on the free list (fl_head), not in use; reached only through handle_put().
 *   ACQUIRING  taken by handle_get() (on the live list), owned by the thread in of_lock_acquire();
 *              the engine thread cannot see it. A failed acquire puts it back: FREE.
 *   HELD       returned to the caller, who alone uses it (one thread at a time, see lock.h).
 *              Without OF_LOCK_AUTO_RENEW the engine thread never sees it.
 *   REGISTERED a held, auto-renewed handle on the renewal list (registered = 1). The engine thread
 *              reads it under p->mu and, at next_renew_ns, renews it. Sub-states, under p->mu:
 *                busy = 1    an extend is in flight on it (the engine's renewal, or the owner's
 *                            of_lock_extend()); the step runs without p->mu and no other extend
 *                            starts, nobody frees it.
 *                want > 0    a release or extend waits for busy to clear (quiesce_locked): the
 *                            engine thread starts no new renewal on it, however overdue, so the
 *                            waiter cannot starve.
 *                cb_handle   == h while h's loss callback or LOST event runs on the engine
 *                            thread without p->mu; releases from other threads wait for it to
 *                            finish, a release from the loss callback itself does not.
 *   LOST       lost = 1 (atomic, sticky until release): a renewal or extend answered NOT_OWNER
 *              or UNKNOWN, an extend found valid_until passed, or the engine thread saw the lease
 *              pass. A lost handle leaves the renewal list (lose_locked, or the engine loop when
 *              the owner's extend marked it) and is still released by its owner.
 *              notified = 1 once the loss was reported: by the loss callback (called at most once
 *              per handle), or by the extend that returned the failure (then no callback runs).
 *
 * Transitions: FREE -> ACQUIRING (handle_get) -> HELD (grant) [-> REGISTERED (register_renewal)]
 * -> [LOST] -> FREE (of_lock_release / handle_put). Any of them -> freed by destroy.
 *
 * Who frees a handle: of_lock_release() only (from the owner, or from the loss callback on the
 * engine thread), after quiesce_locked() has seen no renewal in flight and no callback running
 * on it, and after taking it off the renewal list; and of_lock_provider_destroy() for handles
 * never released, once the engine thread has been joined. The engine thread never frees a
 * handle, and after lose_locked() returns it does not touch that handle again (the callback may
 * have released it).
 *
 * Cleanup items (unknown outcomes) are queued on cq_head, detached (cq_inflight) while the
 * engine thread's release call runs, and freed by the engine thread or by destroy. */
#ifndef OPENFAULT_SRC_LOCK_ENGINE_INTERNAL_H
#define OPENFAULT_SRC_LOCK_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/spin.h"
#include "common/token.h"
#include "lock/engine.h"

/* Names up to this long live inside the handle; longer ones in a heap buffer that stays with the
 * handle while it sits on the free list. */
#define OFI_LOCK_NAME_INLINE 64
/* Longest rendering of a name in a log line, with its NUL (see ofi_lock_name_for_log). */
#define OFI_LOCK_LOG_NAME 72

/* The sizes of the first version (ABI 1) of each struct the caller sizes with `struct_size`:
 * frozen as the end of its last ABI-1 member, so they stay put when members are added. A call
 * accepts any size from these to this library's sizeof (members the caller's struct lacks take
 * their defaults) and refuses a smaller one, or a larger one (a newer header), with OF_ERR_ABI. */
#define OFI_SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#define OFI_LOCK_OPS_V1_SIZE OFI_SIZE_THROUGH(of_lock_provider_ops, destroy)
#define OFI_LOCK_OPTIONS_V1_SIZE OFI_SIZE_THROUGH(of_lock_options, on_lost_ctx)
#define OFI_LOCK_STATS_V1_SIZE OFI_SIZE_THROUGH(of_lock_stats, cleanups_dropped)
#define OFI_LOCK_CONFIG_V1_SIZE OFI_SIZE_THROUGH(of_lock_provider_config, reserved0)
_Static_assert(OFI_LOCK_OPS_V1_SIZE <= sizeof(of_lock_provider_ops), "ops V1 size");
_Static_assert(OFI_LOCK_OPTIONS_V1_SIZE <= sizeof(of_lock_options), "options V1 size");
_Static_assert(OFI_LOCK_STATS_V1_SIZE <= sizeof(of_lock_stats), "stats V1 size");
_Static_assert(OFI_LOCK_CONFIG_V1_SIZE <= sizeof(of_lock_provider_config), "config V1 size");

/* Whether @p size is one this library reads: ABI 1 up to its own sizeof. */
#define OFI_SIZE_KNOWN(size, v1, type) ((size) >= (v1) && (size) <= sizeof(type))

/* A caller's struct @p in of @p in_size bytes (already checked) read as this library's: @p in
 * itself, or for an older caller's smaller struct a copy in @p full (@p full_size bytes) whose
 * missing members come from @p defaults. */
static inline const void *ofi_lock_struct_view(const void *in, size_t in_size,
                                               const void *defaults, void *full, size_t full_size)
{
    if (in_size >= full_size)
        return in;
    memcpy(full, defaults, full_size);
    memcpy(full, in, in_size);
    return full;
}

struct of_lock {
    of_lock_provider *p;
    of_lock_token token;
    uint64_t fence;
    _Atomic int64_t valid_until;
    _Atomic int lost;
    uint32_t ttl_ms;
    uint32_t flags;
    of_lock_lost_fn on_lost;
    void *on_lost_ctx;
    /* Renewal bookkeeping; under p->mu (see "Handle states" above). */
    of_lock *rn_prev, *rn_next;
    int registered;
    int busy;
    int want;
    int notified;
    int last_renew_rc; /* the last failed renewal's status (OF_OK: none since the last success) */
    int64_t next_renew_ns;
    /* Name: points at name_inline or heap. */
    size_t name_len;
    char *name;
    char *heap;
    size_t heap_cap;
    of_lock *free_next;
    unsigned stripe;     /* the stripe whose lists hold it */
    uint64_t tok_id;     /* the generator index its token comes from */
    int64_t t_acquired;  /* coarse send time of the granting attempt (hold-time histogram) */
    /* Handles in use (taken from the free list, not yet put back), under their stripe's lock:
     * destroy finds the ones the caller never released. */
    of_lock *live_prev, *live_next;
    char name_inline[OFI_LOCK_NAME_INLINE + 1];
};

/* A waiter of of_lock_acquire() queued on its name (on its stack): within one provider, waiters
 * of one name try in arrival order and a new acquire with a wait queues behind them instead of
 * taking the name from under them. */
typedef struct ofi_lock_waiter {
    struct ofi_lock_waiter *next;
    struct ofi_lock_wait_queue *q;
} ofi_lock_waiter;

typedef struct ofi_lock_wait_queue {
    struct ofi_lock_wait_queue *next;
    ofi_lock_waiter *head, *tail;
    size_t name_len;
    char name[];
} ofi_lock_wait_queue;

typedef struct ofi_lock_cleanup {
    struct ofi_lock_cleanup *next;
    of_lock_token token;
    uint64_t fence; /* of the acquisition it cleans up after (0: none known), for its events */
    int64_t until_ns;
    int64_t next_ns;
    uint32_t attempt;
    size_t name_len;
    char name[];
} ofi_lock_cleanup;

/* Histogram buckets (upper bounds, ns) for wait and hold times: Prometheus-style fixed buckets
 * in seconds, 100 us .. 5 min, plus +Inf. */
#define OFI_LOCK_HIST_FINITE 14
extern const int64_t ofi_lock_hist_bounds_ns[OFI_LOCK_HIST_FINITE];

/* Counters, one block per stripe; a reader sums the stripes. Two kinds, never mixed on one member:
 * "any" members are changed by relaxed read-modify-writes from any thread (cold paths, and
 * `acquired`); "locked" members only while holding the stripe's spin lock, by a relaxed load and
 * store (no read-modify-write on the release path), which readers read with relaxed loads. */
typedef struct ofi_lock_stats_block {
    /* any. `attempts` is derived: every acquire call that reached the provider ended as exactly
     * one of acquired/busy/timeouts/acq_failed, plus its retries. */
    _Atomic uint64_t retries, acq_failed, acquired, busy, timeouts, lost, errors, wait_ns,
        extended, cleanups_queued, cleanups_done, cleanups_dropped;
    _Atomic uint64_t extend_ok, extend_failed, renew_ok, renew_failed, lost_expired,
        lost_not_owner, lost_unknown, wait_enter;
    _Atomic uint64_t wait_hist[OFI_LOCK_HIST_FINITE + 1];
    /* locked: the release outcomes (held-now is acquired minus their sum) and hold times. */
    _Atomic uint64_t released, rel_not_owner, rel_lost, rel_failed, hold_ns;
    _Atomic uint64_t hold_hist[OFI_LOCK_HIST_FINITE + 1];
} ofi_lock_stats_block;

/* Handles and counters are striped: a thread uses the stripe it was assigned on its first call
 * (round robin), so threads on their own names share no written cache line. A handle belongs to
 * the stripe it was taken from (h->stripe) until it is freed. */
#define OFI_LOCK_STRIPES 16
/* Owner-token ids a stripe reserves from the provider's generator at a time. */
#define OFI_LOCK_ID_BLOCK 64

typedef struct ofi_lock_stripe {
    _Alignas(64) ofi_spin lock; /* over the members below up to st */
    of_lock *fl_head;
    unsigned fl_count;
    of_lock *live_head;
    uint64_t id_next, id_end;
    ofi_lock_stats_block st;
} ofi_lock_stripe;

struct of_lock_provider {
    of_lock_provider_ops ops;
    void *self;

    _Atomic uint32_t step_timeout_ms;
    _Atomic uint32_t backoff_base_ms;
    _Atomic uint32_t backoff_cap_ms;
    _Atomic int log_level;
    /* Whether an event callback is set: the one relaxed load the paths without one pay. */
    _Atomic int events;

    /* Set by ofi_lock_provider_use_private_tokens(): h->token is the cheap id form. */
    int private_tokens;
    uint64_t private_seed; /* the provider's name-hash seed, for the hash in a private token */

    /* On a line of its own: stripes take id blocks from its counter (once per 64 acquisitions,
     * other providers once per acquisition), which must not invalidate the line of ops and the
     * configuration that every call reads. */
    _Alignas(64) ofi_token_gen tokens;

    ofi_lock_stripe stripes[OFI_LOCK_STRIPES];

    _Alignas(64) pthread_mutex_t log_mu;
    of_lock_log_fn log;
    void *log_ctx;
    of_lock_event_fn on_event;
    void *event_ctx;

    /* Engine thread state, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* the engine thread sleeps here (CLOCK_MONOTONIC) */
    pthread_cond_t idle_cv; /* handles waiting for an in-flight renewal or callback */
    int thread_started;
    int stop;
    pthread_t thread;
    of_lock *rn_first;
    ofi_lock_cleanup *cq_head;
    size_t cq_count;
    size_t cq_inflight; /* detached while the engine thread's release call runs */
    of_lock *cb_handle; /* handle whose loss callback is running */
    _Atomic int paused;

    /* Wait queues per name, under wq_mu; `waiting` counts queued waiters so an acquire with
     * nobody waiting in this provider pays one relaxed load. */
    _Alignas(64) _Atomic size_t waiting;
    pthread_mutex_t wq_mu;
    pthread_cond_t wq_cv; /* CLOCK_MONOTONIC; broadcast when a queue's head changes */
    ofi_lock_wait_queue *wq_first;
};

/* The calling thread's stripe index (assigned on first use). */
unsigned ofi_lock_stripe_index(void);

static inline ofi_lock_stripe *ofi_lock_my_stripe(of_lock_provider *p)
{
    return &p->stripes[ofi_lock_stripe_index()];
}

/* An "any" counter (see ofi_lock_stats_block). */
#define OFI_LOCK_STAT_ADD(p, field, n) \
    atomic_fetch_add_explicit(&ofi_lock_my_stripe(p)->st.field, (uint64_t)(n), \
                              memory_order_relaxed)

/* An "any" counter of the stripe @p s (a handle's: h->stripe), without looking up the thread's. */
#define OFI_LOCK_STAT_ADD_S(s, field, n) \
    atomic_fetch_add_explicit(&(s)->st.field, (uint64_t)(n), memory_order_relaxed)

/* A "locked" counter: only under the spin lock of the stripe @p s. */
#define OFI_LOCK_STAT_ADD_LOCKED(s, field, n) \
    atomic_store_explicit(&(s)->st.field, \
                          atomic_load_explicit(&(s)->st.field, memory_order_relaxed) + \
                              (uint64_t)(n), \
                          memory_order_relaxed)

/* The histogram bucket of a duration. */
static inline unsigned ofi_lock_hist_bucket(int64_t ns)
{
    unsigned i = 0;
    while (i < OFI_LOCK_HIST_FINITE && ns > ofi_lock_hist_bounds_ns[i])
        i++;
    return i;
}

/* How a handle was lost, for the losses-by-cause counters. */
typedef enum { OFI_LOST_EXPIRED, OFI_LOST_NOT_OWNER, OFI_LOST_UNKNOWN } ofi_lost_cause;
void ofi_lock_count_loss(of_lock_provider *p, ofi_lost_cause cause);

static inline int64_t ofi_lock_min_ns(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The configured bound on one provider step, in ns. */
static inline int64_t ofi_lock_step_ns(const of_lock_provider *p)
{
    return (int64_t)atomic_load_explicit(&((of_lock_provider *)p)->step_timeout_ms,
                                         memory_order_relaxed) * OFI_NS_PER_MS;
}

/* A jitter seed per acquisition, so waiters never retry in step: the token's low half is random,
 * or for a private (id) token a keyed mix of the id. */
static inline uint64_t ofi_lock_token_seed(const of_lock_provider *p, const of_lock_token *t)
{
    uint64_t s;
    memcpy(&s, t->bytes + (p->private_tokens ? 0 : 8), sizeof s);
    if (p->private_tokens) {
        s ^= p->tokens.k0;
        s = (s ^ (s >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        s = (s ^ (s >> 27)) * UINT64_C(0x94d049bb133111eb);
        s ^= s >> 31;
    }
    return s;
}

/* engine_provider.c: OF_ERR_ABI, with the detail, for a @p size of struct @p type outside
 * @p v1 .. @p current. */
int ofi_lock_size_error(const char *type, size_t size, size_t v1, size_t current);
/* engine_provider.c: an *_init(): fill the caller's struct @p dst of @p size bytes from
 * @p defaults (only up to @p size: an older caller's struct ends earlier) and set its
 * struct_size, the first member of each such struct; or OF_ERR_ABI as above. */
int ofi_lock_struct_init(void *dst, size_t size, const void *defaults, size_t v1, size_t current,
                         const char *type);
/* engine_provider.c: a log line through the provider's hook (dropped above its level), and a
 * printable, bounded rendering of a (binary) name for such lines. */
void ofi_lock_logf(of_lock_provider *p, int level, const char *fmt, ...) OFI_PRINTF(3, 4);
void ofi_lock_name_for_log(const void *name, size_t len, char out[OFI_LOCK_LOG_NAME]);
/* engine_provider.c: deliver one event to the event callback, if one is set (NULL @p detail:
 * ""). The calling thread's error detail is kept across the callback (it belongs to the call
 * being made). Use OFI_LOCK_EVENT, which skips the call when no callback is set. */
void ofi_lock_emit(of_lock_provider *p, int kind, const void *name, size_t name_len,
                   uint64_t fence, int status, const char *detail, int64_t valid_until_ns);
static inline int ofi_lock_events_on(const of_lock_provider *p)
{
    return atomic_load_explicit(&((of_lock_provider *)p)->events, memory_order_relaxed);
}
#define OFI_LOCK_EVENT(p, ...) \
    do { \
        if (__builtin_expect(ofi_lock_events_on(p), 0)) \
            ofi_lock_emit((p), __VA_ARGS__); \
    } while (0)

/* engine_handle.c: take a handle for @p name (NULL: no memory), with its owner token set, and
 * give it back. */
of_lock *ofi_lock_handle_get(of_lock_provider *p, const void *name, size_t name_len);
void ofi_lock_handle_put(of_lock_provider *p, of_lock *h);

/* engine_renew.c. */
/* Queue a cleanup release of (name, token) until @p until_ns; @p why says in the log line and the
 * CLEANUP_QUEUED event what happened to the lease; @p fence (0: none) goes into its events.
 * Called without p->mu. */
void ofi_lock_queue_cleanup(of_lock_provider *p, const void *name, size_t name_len,
                            const of_lock_token *token, uint64_t fence, int64_t until_ns,
                            const char *why);
/* Put a granted auto-renewed handle on the renewal list (first renewal at t_send + ttl/3),
 * starting the engine thread if needed. Called without p->mu; OF_OK or OF_ERR_NOMEM (no thread:
 * the handle is not registered). */
int ofi_lock_register_renewal(of_lock_provider *p, of_lock *h, int64_t t_send);
/* Wait until no renewal or loss callback is using @p h (unless the caller is that callback).
 * Returns with p->mu held and h->busy clear. */
void ofi_lock_quiesce_locked(of_lock_provider *p, of_lock *h);
/* Under p->mu: take @p h off the renewal list (no-op when it is not on it). */
void ofi_lock_rn_unlink(of_lock_provider *p, of_lock *h);
/* Stop and join the engine thread (destroy). */
void ofi_lock_stop_thread(of_lock_provider *p);

#endif
