/* Lock handles: the per-provider pool they come from, and what is done to a held one (release,
 * extend, the accessors). The pool keeps the uncontended acquire + release free of malloc and of
 * any mutex: a bounded free list per stripe behind the stripe's spin lock. */
#include "lock/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/hash.h"

/* Bound on recycled handles per stripe (each is ~250 bytes, plus a name buffer for long names). */
#define HANDLE_FREE_MAX 64

const int64_t ofi_lock_hist_bounds_ns[OFI_LOCK_HIST_FINITE] = {
    OFI_NS_PER_MS / 10, OFI_NS_PER_MS / 2, OFI_NS_PER_MS, 5 * OFI_NS_PER_MS,
    10 * OFI_NS_PER_MS, 50 * OFI_NS_PER_MS, 100 * OFI_NS_PER_MS, 500 * OFI_NS_PER_MS,
    OFI_NS_PER_SEC, 5 * OFI_NS_PER_SEC, 10 * OFI_NS_PER_SEC, 30 * OFI_NS_PER_SEC,
    60 * OFI_NS_PER_SEC, 300 * OFI_NS_PER_SEC,
};

#if defined(__GNUC__)
_Thread_local int64_t ofi_lock_release_now __attribute__((tls_model("initial-exec")));
#else
_Thread_local int64_t ofi_lock_release_now;
#endif

static _Atomic unsigned next_stripe;
/* index + 1; 0: not assigned yet. Initial-exec: read at a fixed offset from the thread pointer
 * instead of through __tls_get_addr (a call per lookup in a shared library); 4 bytes fit the
 * static TLS surplus glibc keeps for libraries loaded with dlopen (the Python binding). */
#if defined(__GNUC__)
static _Thread_local unsigned my_stripe __attribute__((tls_model("initial-exec")));
#else
static _Thread_local unsigned my_stripe;
#endif

unsigned ofi_lock_stripe_index(void)
{
    unsigned s = my_stripe;
    if (__builtin_expect(s == 0, 0)) {
        s = atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) % OFI_LOCK_STRIPES + 1;
        my_stripe = s;
    }
    return s - 1;
}

void ofi_lock_count_loss(of_lock_provider *p, ofi_lost_cause cause)
{
    OFI_LOCK_STAT_ADD(p, lost, 1);
    if (cause == OFI_LOST_EXPIRED)
        OFI_LOCK_STAT_ADD(p, lost_expired, 1);
    else if (cause == OFI_LOST_NOT_OWNER)
        OFI_LOCK_STAT_ADD(p, lost_not_owner, 1);
    else
        OFI_LOCK_STAT_ADD(p, lost_unknown, 1);
}

/* Under the stripe's lock. */
static void live_link(ofi_lock_stripe *s, of_lock *h)
{
    h->live_prev = NULL;
    h->live_next = s->live_head;
    if (s->live_head)
        s->live_head->live_prev = h;
    s->live_head = h;
}

/* Under the stripe's lock. */
static void live_unlink(ofi_lock_stripe *s, of_lock *h)
{
    if (h->live_prev)
        h->live_prev->live_next = h->live_next;
    else
        s->live_head = h->live_next;
    if (h->live_next)
        h->live_next->live_prev = h->live_prev;
    h->live_prev = h->live_next = NULL;
}

/* Under the stripe's lock: the next token id of the stripe's reserved block. */
static uint64_t next_token_id(of_lock_provider *p, ofi_lock_stripe *s)
{
    if (s->id_next == s->id_end) {
        s->id_next = atomic_fetch_add_explicit(&p->tokens.counter, OFI_LOCK_ID_BLOCK,
                                               memory_order_relaxed);
        s->id_end = s->id_next + OFI_LOCK_ID_BLOCK;
    }
    return s->id_next++;
}

/* Big-endian hi then lo: the token's bytes, and so its hex, read as the 128-bit number hi:lo. */
static inline void store_be64(uint8_t *out, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(out, &v, sizeof v);
}

/* The unguessable token of generator index @p id: SipHash-2-4-128 under the provider's key. */
static void derive_token(const of_lock_provider *p, uint64_t id, of_lock_token *out)
{
    uint8_t in[8], mac[16];
    for (int i = 0; i < 8; i++)
        in[i] = (uint8_t)(id >> (8 * i));
    ofi_siphash(in, sizeof in, p->tokens.k0, p->tokens.k1, mac, sizeof mac);
    memcpy(out->bytes, mac, sizeof mac);
}

/* The token the provider sees: with private tokens the id (unique within the provider, never
 * leaves the process, so it need not be unguessable) and the provider's hash of the name (see
 * lock/engine.h), else the derived one. The hash reads the caller's @p name, not the copy just
 * stored in the handle: reading 16-byte blocks across the 8-byte stores of that copy stalls
 * store-to-load forwarding (perf put a fifth of handle_get's time on it). */
static void set_token(of_lock_provider *p, of_lock *h, const void *name, size_t name_len)
{
    if (p->private_tokens) {
        store_be64(h->token.bytes, h->tok_id);
        uint64_t nh = ofi_hash64(name, name_len, p->private_seed);
        memcpy(h->token.bytes + 8, &nh, sizeof nh);
    } else {
        derive_token(p, h->tok_id, &h->token);
    }
}

of_lock *ofi_lock_handle_get(of_lock_provider *p, const void *name, size_t name_len)
{
    unsigned si = ofi_lock_stripe_index();
    ofi_lock_stripe *s = &p->stripes[si];
    ofi_spin_lock(&s->lock);
    of_lock *h = s->fl_head;
    if (h) {
        s->fl_head = h->free_next;
        s->fl_count--;
        live_link(s, h);
        h->tok_id = next_token_id(p, s);
    }
    ofi_spin_unlock(&s->lock);
    if (!h) {
        h = malloc(sizeof *h);
        if (!h)
            return NULL;
        h->heap = NULL;
        h->heap_cap = 0;
        h->stripe = si;
        ofi_spin_lock(&s->lock);
        live_link(s, h);
        h->tok_id = next_token_id(p, s);
        ofi_spin_unlock(&s->lock);
    }
    if (name_len <= OFI_LOCK_NAME_INLINE) {
        h->name = h->name_inline;
    } else {
        if (h->heap_cap < name_len + 1) {
            char *nb = malloc(OF_NAME_MAX + 1);
            if (!nb) {
                ofi_lock_stripe *hs = &p->stripes[h->stripe];
                ofi_spin_lock(&hs->lock);
                live_unlink(hs, h);
                ofi_spin_unlock(&hs->lock);
                free(h->heap);
                free(h);
                return NULL;
            }
            free(h->heap);
            h->heap = nb;
            h->heap_cap = OF_NAME_MAX + 1;
        }
        h->name = h->heap;
    }
    ofi_lock_copy_name(h->name, name, name_len);
    h->name[name_len] = '\0';
    h->name_len = name_len;
    h->p = p;
    h->fence = 0;
    set_token(p, h, name, name_len);
    atomic_store_explicit(&h->lost, 0, memory_order_relaxed);
    h->flags = 0;
    h->on_lost = NULL;
    h->on_lost_ctx = NULL;
    h->rn_prev = h->rn_next = NULL;
    h->registered = 0;
    h->busy = 0;
    h->want = 0;
    h->notified = 0;
    h->last_renew_rc = OF_OK;
    h->next_renew_ns = 0;
    return h;
}

/* Put @p h back on its stripe; under that stripe's lock also count a release's outcome
 * (@p outcome: 0 none, else which "locked" counter) and its hold time. */
enum { PUT_PLAIN, PUT_RELEASED, PUT_NOT_OWNER, PUT_LOST, PUT_FAILED };

static void handle_put_counted(of_lock_provider *p, of_lock *h, int outcome, int64_t hold_ns)
{
    ofi_lock_stripe *s = &p->stripes[h->stripe];
    ofi_spin_lock(&s->lock);
    live_unlink(s, h);
    if (outcome != PUT_PLAIN) {
        if (outcome == PUT_RELEASED)
            OFI_LOCK_STAT_ADD_LOCKED(s, released, 1);
        else if (outcome == PUT_NOT_OWNER)
            OFI_LOCK_STAT_ADD_LOCKED(s, rel_not_owner, 1);
        else if (outcome == PUT_LOST)
            OFI_LOCK_STAT_ADD_LOCKED(s, rel_lost, 1);
        else
            OFI_LOCK_STAT_ADD_LOCKED(s, rel_failed, 1);
        if (hold_ns < 0)
            hold_ns = 0;
        OFI_LOCK_STAT_ADD_LOCKED(s, hold_ns, hold_ns);
        OFI_LOCK_STAT_ADD_LOCKED(s, hold_hist[ofi_lock_hist_bucket(hold_ns)], 1);
    }
    if (s->fl_count < HANDLE_FREE_MAX) {
        h->free_next = s->fl_head;
        s->fl_head = h;
        s->fl_count++;
        h = NULL;
    }
    ofi_spin_unlock(&s->lock);
    if (h) {
        free(h->heap);
        free(h);
    }
}

void ofi_lock_handle_put(of_lock_provider *p, of_lock *h)
{
    handle_put_counted(p, h, PUT_PLAIN, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* release and extend                                                                           */

/* A release answer other than OK and NOT_OWNER leaves the lease possibly in place: queue its
 * cleanup, and keep the provider's cause as the detail the caller reads. */
static void release_not_final(of_lock_provider *p, of_lock *h, int rc)
{
    int64_t after = ofi_now_ns();
    char why[128];
    if (rc == OF_ERR_UNKNOWN)
        snprintf(why, sizeof why, "release sent, no reply: outcome unknown");
    else if (rc == OF_ERR_UNAVAILABLE)
        snprintf(why, sizeof why, "release not sent (backend unavailable): the lease stays "
                 "until its TTL ends unless the cleanup deletes it first");
    else
        snprintf(why, sizeof why, "release failed (%s): the lease may still be held",
                 of_status_name(rc));
    char keep[256];
    snprintf(keep, sizeof keep, "%s", ofi_error_detail()); /* queueing must not lose the cause */
    ofi_lock_queue_cleanup(p, h->name, h->name_len, &h->token, h->fence,
                           ofi_add_sat_ns(after, (int64_t)h->ttl_ms * OFI_NS_PER_MS), why);
    ofi_fail(rc, "%s; cleanup queued", keep[0] ? keep : why);
}

OF_API int of_lock_release(of_lock *h)
{
    if (!h)
        return ofi_fail(OF_ERR_INVALID, "of_lock_release: lock is NULL");
    of_lock_provider *p = h->p;
    if (h->flags & OF_LOCK_AUTO_RENEW) {
        ofi_lock_quiesce_locked(p, h);
        ofi_lock_rn_unlink(p, h);
        pthread_mutex_unlock(&p->mu);
    }
    int was_lost = atomic_load_explicit(&h->lost, memory_order_acquire);
    int64_t t = ofi_now_coarse_ns();
    ofi_lock_release_now = t; /* the provider may reuse the reading (lock/engine.h) */
    int rc = p->ops.release(p->self, h->name, h->name_len, &h->token, t + ofi_lock_step_ns(p));
    ofi_lock_release_now = 0;
    /* Only OK (deleted) and NOT_OWNER (not ours) are final. Any other answer leaves the lease
     * possibly in place: UNKNOWN (sent, no reply), UNAVAILABLE or AUTH (refused before it ran),
     * PROTOCOL (an answer we cannot read), NOMEM... The cleanup keeps trying to delete it until
     * it surely ran out; the release compares the token, so this never hurts a new owner. */
    if (rc != OF_OK && rc != OF_ERR_NOT_OWNER)
        release_not_final(p, h, rc);
    int out, outcome;
    if (was_lost) {
        outcome = PUT_LOST;
        out = ofi_fail(OF_ERR_LOST, "release of a lock already marked lost");
    } else if (rc == OF_OK) {
        outcome = PUT_RELEASED;
        out = OF_OK;
    } else if (rc == OF_ERR_NOT_OWNER) {
        outcome = PUT_NOT_OWNER;
        ofi_lock_count_loss(p, OFI_LOST_EXPIRED);
        out = ofi_fail(OF_ERR_NOT_OWNER, "release: our token no longer holds the lock");
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_LOST, h->name, h->name_len, h->fence, OF_ERR_NOT_OWNER,
                       ofi_error_detail(),
                       atomic_load_explicit(&h->valid_until, memory_order_relaxed));
    } else {
        outcome = PUT_FAILED;
        OFI_LOCK_STAT_ADD(p, errors, 1);
        out = rc;
    }
    /* The handle is still ours (quiesced, off the renewal list): the event's name points into it. */
    OFI_LOCK_EVENT(p, OF_LOCK_EVENT_RELEASED, h->name, h->name_len, h->fence, out,
                   out == OF_OK ? NULL : ofi_error_detail(),
                   atomic_load_explicit(&h->valid_until, memory_order_relaxed));
    handle_put_counted(p, h, outcome, t - h->t_acquired);
    return out;
}

/* Mark @p h lost on its owner's thread (an extend found the lease gone): count it and report it
 * with @p status as the LOST event's cause and the thread's detail (already set) as its text. */
static void mark_lost(of_lock_provider *p, of_lock *h, ofi_lost_cause cause, int status)
{
    atomic_store_explicit(&h->lost, 1, memory_order_release);
    ofi_lock_count_loss(p, cause);
    OFI_LOCK_EVENT(p, OF_LOCK_EVENT_LOST, h->name, h->name_len, h->fence, status,
                   ofi_error_detail(), atomic_load_explicit(&h->valid_until, memory_order_relaxed));
}

/* The extend itself, with h->busy held by the caller when the handle is auto-renewed. */
static int extend_step(of_lock_provider *p, of_lock *h, uint32_t ttl_ms, int renewed)
{
    if (atomic_load_explicit(&h->lost, memory_order_acquire))
        return ofi_fail(OF_ERR_LOST, "extend of a lock already marked lost");
    int64_t now = ofi_now_ns();
    if (now >= atomic_load_explicit(&h->valid_until, memory_order_relaxed)) {
        /* The lease has run out by our own conservative clock: don't ask the backend. */
        int rc = ofi_fail(OF_ERR_NOT_OWNER, "extend after valid_until: the lease has expired");
        mark_lost(p, h, OFI_LOST_EXPIRED, OF_ERR_LOST);
        return rc;
    }
    int64_t t_send = ofi_now_coarse_ns();
    int64_t ttl_ns = (int64_t)ttl_ms * OFI_NS_PER_MS;
    int64_t vu = t_send + ttl_ns;
    int rc = p->ops.extend(p->self, h->name, h->name_len, &h->token, ttl_ms,
                           now + ofi_lock_step_ns(p), &vu);
    int64_t after = ofi_now_ns();
    int64_t end = ofi_lock_min_ns(vu, t_send + ttl_ns);
    if (rc == OF_OK && after >= end) {
        /* The answer came after the lease it set had ended by our clock: not an extension. */
        OFI_LOCK_STAT_ADD(p, errors, 1);
        ofi_lock_queue_cleanup(p, h->name, h->name_len, &h->token, h->fence,
                               ofi_add_sat_ns(after, ttl_ns),
                               "extend answered after the extended lease had ended");
        int out = ofi_fail(OF_ERR_UNKNOWN, "the extend answer arrived %lld ms after the extended "
                           "lease ended (ttl %u ms): lock given up, cleanup queued",
                           (long long)((after - end) / OFI_NS_PER_MS), (unsigned)ttl_ms);
        mark_lost(p, h, OFI_LOST_UNKNOWN, OF_ERR_UNKNOWN);
        return out;
    }
    if (rc == OF_OK) {
        atomic_store_explicit(&h->valid_until, end, memory_order_release);
        h->ttl_ms = ttl_ms;
        if (renewed)
            h->next_renew_ns = t_send + ttl_ns / 3; /* published under p->mu by the caller */
        OFI_LOCK_STAT_ADD(p, extended, 1);
        return OF_OK;
    }
    if (rc == OF_ERR_NOT_OWNER) {
        int out = ofi_fail(OF_ERR_NOT_OWNER, "extend: our token no longer holds the lock");
        mark_lost(p, h, OFI_LOST_NOT_OWNER, OF_ERR_NOT_OWNER);
        return out;
    }
    OFI_LOCK_STAT_ADD(p, errors, 1);
    if (rc == OF_ERR_UNKNOWN) {
        /* Extended or not, nobody knows: give the lease up and clean it up. */
        ofi_lock_queue_cleanup(p, h->name, h->name_len, &h->token, h->fence,
                               ofi_add_sat_ns(after, ttl_ns),
                               "extend sent, no reply: outcome unknown, lock given up");
        int out = ofi_fail(OF_ERR_UNKNOWN, "extend sent, no reply: lock given up, cleanup queued");
        mark_lost(p, h, OFI_LOST_UNKNOWN, OF_ERR_UNKNOWN);
        return out;
    }
    return rc;
}

/* The owner's extends, apart from the engine's renewals. A call on a handle already marked lost
 * is bad input (nothing was attempted) and not counted. */
static void count_extend(of_lock_provider *p, int rc)
{
    if (rc == OF_ERR_LOST)
        return;
    if (rc == OF_OK)
        OFI_LOCK_STAT_ADD(p, extend_ok, 1);
    else
        OFI_LOCK_STAT_ADD(p, extend_failed, 1);
}

OF_API int of_lock_extend(of_lock *h, uint32_t ttl_ms)
{
    if (!h)
        return ofi_fail(OF_ERR_INVALID, "of_lock_extend: lock is NULL");
    if (ttl_ms == 0 || ttl_ms > OF_LOCK_TTL_MAX)
        return ofi_fail(OF_ERR_INVALID, "ttl_ms %u outside 1..%u", (unsigned)ttl_ms,
                        (unsigned)OF_LOCK_TTL_MAX);
    of_lock_provider *p = h->p;
    if (!p->ops.extend)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "provider '%s' cannot extend", p->ops.name);
    const int renewed = (h->flags & OF_LOCK_AUTO_RENEW) != 0;
    if (!renewed) {
        int rc = extend_step(p, h, ttl_ms, 0);
        count_extend(p, rc);
        return rc;
    }
    /* Auto-renewed: take the handle from the engine thread for the step (busy), so no renewal
     * runs beside it, then hand it back. */
    ofi_lock_quiesce_locked(p, h);
    h->busy = 1;
    pthread_mutex_unlock(&p->mu);
    int rc = extend_step(p, h, ttl_ms, 1);
    pthread_mutex_lock(&p->mu);
    h->busy = 0;
    if (atomic_load_explicit(&h->lost, memory_order_relaxed))
        h->notified = 1; /* the caller learnt it from us: no callback */
    pthread_cond_broadcast(&p->idle_cv);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    count_extend(p, rc);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* accessors                                                                                    */

OF_API int of_lock_fence(const of_lock *h, uint64_t *out_fence)
{
    if (!h || !out_fence)
        return ofi_fail(OF_ERR_INVALID, "of_lock_fence: %s is NULL", h ? "out_fence" : "lock");
    if (!(h->p->ops.caps & OF_LOCK_CAP_FENCE))
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "provider '%s' has no fencing tokens", h->p->ops.name);
    *out_fence = h->fence;
    return OF_OK;
}

OF_API int64_t of_lock_valid_until_ns(const of_lock *h)
{
    return h ? atomic_load_explicit(&((of_lock *)h)->valid_until, memory_order_acquire) : 0;
}

OF_API int of_lock_is_lost(const of_lock *h)
{
    return h ? atomic_load_explicit(&((of_lock *)h)->lost, memory_order_acquire) : 1;
}

OF_API const void *of_lock_name(const of_lock *h, size_t *out_len)
{
    if (!h)
        return NULL;
    if (out_len)
        *out_len = h->name_len;
    return h->name;
}

OF_API int of_lock_token_get(const of_lock *h, of_lock_token *out_token)
{
    if (!h || !out_token)
        return ofi_fail(OF_ERR_INVALID, "of_lock_token_get: %s is NULL", h ? "out_token" : "lock");
    if (h->p->private_tokens)
        derive_token(h->p, h->tok_id, out_token); /* made only when someone looks */
    else
        *out_token = h->token;
    return OF_OK;
}

OF_API void of_lock_token_to_hex(const of_lock_token *token, char *out)
{
    static const char digits[] = "0123456789abcdef";
    if (!out)
        return;
    if (!token) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = digits[token->bytes[i] >> 4];
        out[2 * i + 1] = digits[token->bytes[i] & 15];
    }
    out[OF_LOCK_TOKEN_HEX_LEN] = '\0';
}
