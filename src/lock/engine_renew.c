/* The engine thread: auto-renewals at ttl/3, loss detection and the loss callback, and the
 * cleanup queue that keeps releasing the leases of unknown outcomes until they surely expired.
 * One thread per provider, started on first need; see engine_internal.h for the locks and the
 * handle states it relies on. */
#include "lock/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/backoff.h"

/* Cleanup retries back off from this to CLEANUP_CAP_MS. */
#define CLEANUP_BASE_MS 10
#define CLEANUP_CAP_MS 1000

static void *engine_main(void *arg);

/* Under p->mu. */
static int ensure_thread(of_lock_provider *p)
{
    if (p->thread_started)
        return OF_OK;
    if (pthread_create(&p->thread, NULL, engine_main, p) != 0)
        return ofi_fail(OF_ERR_NOMEM, "cannot start the lock engine thread");
    p->thread_started = 1;
    return OF_OK;
}

static int is_engine_thread(of_lock_provider *p)
{
    return p->thread_started && pthread_equal(pthread_self(), p->thread);
}

void ofi_lock_queue_cleanup(of_lock_provider *p, const void *name, size_t name_len,
                            const of_lock_token *token, uint64_t fence, int64_t until_ns,
                            const char *why)
{
    char nm[OFI_LOCK_LOG_NAME];
    ofi_lock_name_for_log(name, name_len, nm);
    ofi_lock_cleanup *it = malloc(sizeof *it + name_len + 1);
    OFI_LOCK_STAT_ADD(p, cleanups_queued, 1);
    OFI_LOCK_EVENT(p, OF_LOCK_EVENT_CLEANUP_QUEUED, name, name_len, fence, OF_ERR_UNKNOWN, why,
                   until_ns);
    if (!it) {
        OFI_LOCK_STAT_ADD(p, cleanups_dropped, 1);
        ofi_lock_logf(p, OF_LOCK_LOG_ERROR,
                      "lock '%s': out of memory queueing the cleanup of an unknown outcome", nm);
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_CLEANUP_DONE, name, name_len, fence, OF_ERR_NOMEM,
                       "out of memory queueing the cleanup: the lease expires by its TTL", 0);
        return;
    }
    it->token = *token;
    it->fence = fence;
    it->until_ns = until_ns;
    it->next_ns = 0;
    it->attempt = 0;
    it->name_len = name_len;
    memcpy(it->name, name, name_len);
    it->name[name_len] = '\0';
    pthread_mutex_lock(&p->mu);
    it->next = p->cq_head;
    p->cq_head = it;
    p->cq_count++;
    int rc = ensure_thread(p);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    ofi_lock_logf(p, OF_LOCK_LOG_WARN, "lock '%s': %s; cleanup queued%s", nm, why,
                  rc == OF_OK ? "" : " (no engine thread: provider destroy will make the attempt)");
}

/* Equal jitter, so a cleanup keeps trying but never spins; seeded per token and attempt. */
static int64_t cleanup_delay_ns(const of_lock_provider *p, const ofi_lock_cleanup *it)
{
    uint64_t s = ofi_lock_token_seed(p, &it->token) + it->attempt;
    return ofi_backoff_equal_ns(ofi_backoff_ceiling_ms(CLEANUP_BASE_MS, CLEANUP_CAP_MS, it->attempt),
                                &s);
}

int ofi_lock_register_renewal(of_lock_provider *p, of_lock *h, int64_t t_send)
{
    pthread_mutex_lock(&p->mu);
    int rc = ensure_thread(p);
    if (rc == OF_OK) {
        h->next_renew_ns = t_send + (int64_t)h->ttl_ms * OFI_NS_PER_MS / 3;
        h->rn_prev = NULL;
        h->rn_next = p->rn_first;
        if (p->rn_first)
            p->rn_first->rn_prev = h;
        p->rn_first = h;
        h->registered = 1;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void ofi_lock_rn_unlink(of_lock_provider *p, of_lock *h)
{
    if (!h->registered)
        return;
    if (h->rn_prev)
        h->rn_prev->rn_next = h->rn_next;
    else
        p->rn_first = h->rn_next;
    if (h->rn_next)
        h->rn_next->rn_prev = h->rn_prev;
    h->rn_prev = h->rn_next = NULL;
    h->registered = 0;
}

void ofi_lock_quiesce_locked(of_lock_provider *p, of_lock *h)
{
    pthread_mutex_lock(&p->mu);
    int self_cb = is_engine_thread(p);
    h->want++;
    while (h->busy || (p->cb_handle == h && !self_cb))
        pthread_cond_wait(&p->idle_cv, &p->mu);
    h->want--;
}

/* Under p->mu (dropped and retaken around the log line, the LOST event and the loss callback).
 * @p why: the cause in words, for the log line and the event. After this returns, @p h may have
 * been released by the callback: the caller must not touch it. */
static void lose_locked(of_lock_provider *p, of_lock *h, int status, const char *why)
{
    atomic_store_explicit(&h->lost, 1, memory_order_release);
    ofi_lock_count_loss(p, status == OF_ERR_NOT_OWNER ? OFI_LOST_NOT_OWNER
                           : status == OF_ERR_UNKNOWN ? OFI_LOST_UNKNOWN
                                                      : OFI_LOST_EXPIRED);
    ofi_lock_rn_unlink(p, h);
    char nm[OFI_LOCK_LOG_NAME];
    ofi_lock_name_for_log(h->name, h->name_len, nm);
    of_lock_lost_fn fn = h->notified ? NULL : h->on_lost;
    void *ctx = h->on_lost_ctx;
    h->notified = 1;
    /* The event reads the handle's name: as cb_handle, no other thread's release frees it
     * meanwhile (one from the loss callback itself still may, after the event). */
    const int events = ofi_lock_events_on(p);
    if (fn || events)
        p->cb_handle = h;
    pthread_mutex_unlock(&p->mu);
    ofi_lock_logf(p, OF_LOCK_LOG_WARN, "lock '%s' lost (%s): %s", nm, of_status_name(status), why);
    if (events)
        ofi_lock_emit(p, OF_LOCK_EVENT_LOST, h->name, h->name_len, h->fence, status, why,
                      atomic_load_explicit(&h->valid_until, memory_order_relaxed));
    if (fn)
        fn(h, status, ctx);
    pthread_mutex_lock(&p->mu);
    if (fn || events) {
        p->cb_handle = NULL;
        pthread_cond_broadcast(&p->idle_cv);
    }
}

/* Under p->mu (dropped around the provider's extend): renew @p h once. */
static void renew_one_locked(of_lock_provider *p, of_lock *h, int64_t now)
{
    h->busy = 1;
    uint32_t ttl = h->ttl_ms;
    int64_t old_vu = atomic_load_explicit(&h->valid_until, memory_order_relaxed);
    pthread_mutex_unlock(&p->mu);

    const int64_t ttl_ns = (int64_t)ttl * OFI_NS_PER_MS;
    int64_t t_send = ofi_now_coarse_ns();
    int64_t vu = t_send + ttl_ns;
    /* A renewal that lands after the lease ended is worthless: bound it by valid_until. */
    int64_t deadline = ofi_lock_min_ns(now + ofi_lock_step_ns(p), old_vu);
    ofi_clear_detail(); /* a provider that sets no detail must not show an older one */
    int rc = p->ops.extend(p->self, h->name, h->name_len, &h->token, ttl, deadline, &vu);
    int64_t after = ofi_now_ns();
    int64_t cap = t_send + ttl_ns;
    /* The cause in words, for the log line, the events and a later loss. */
    char cause[256];
    cause[0] = '\0';
    const int late = rc == OF_OK && after >= ofi_lock_min_ns(vu, cap);
    if (late) {
        /* The answer came after the lease it granted had ended by our clock: not a renewal. The
         * backend may still count it from when the request arrived, so clean it up. */
        rc = OF_ERR_UNKNOWN;
        snprintf(cause, sizeof cause, "renewal answered after the renewed lease had ended");
    } else if (rc != OF_OK) {
        const char *d = ofi_error_detail();
        snprintf(cause, sizeof cause, "%s", d[0] ? d : of_strerror(rc));
    }
    /* Still busy: no release frees the handle while its events run, and they come in order. */
    if (rc == OF_OK)
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_RENEWED, h->name, h->name_len, h->fence, OF_OK, NULL,
                       ofi_lock_min_ns(vu, cap));
    else
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_RENEW_FAILED, h->name, h->name_len, h->fence, rc, cause,
                       old_vu);
    if (rc == OF_ERR_UNKNOWN) {
        OFI_LOCK_STAT_ADD(p, errors, 1);
        ofi_lock_queue_cleanup(p, h->name, h->name_len, &h->token, h->fence,
                               ofi_add_sat_ns(after, ttl_ns),
                               late ? "renewal answered after the renewed lease had ended"
                                    : "renewal sent, no reply: outcome unknown");
    }

    pthread_mutex_lock(&p->mu);
    h->busy = 0;
    pthread_cond_broadcast(&p->idle_cv);
    if (rc == OF_OK) {
        atomic_store_explicit(&h->valid_until, ofi_lock_min_ns(vu, cap), memory_order_release);
        h->next_renew_ns = t_send + ttl_ns / 3;
        h->last_renew_rc = OF_OK;
        OFI_LOCK_STAT_ADD(p, extended, 1);
        OFI_LOCK_STAT_ADD(p, renew_ok, 1);
        return;
    }
    OFI_LOCK_STAT_ADD(p, renew_failed, 1);
    h->last_renew_rc = rc;
    if (rc == OF_ERR_NOT_OWNER || rc == OF_ERR_UNKNOWN) {
        char why[320];
        snprintf(why, sizeof why, "renewal failed: %s", cause);
        lose_locked(p, h, rc, why);
        return;
    }
    /* Transient (nothing sent, or a backend error): try again soon; the lease's end decides. */
    OFI_LOCK_STAT_ADD(p, errors, 1);
    int64_t retry = ttl_ns / 10;
    if (retry > OFI_NS_PER_SEC)
        retry = OFI_NS_PER_SEC;
    if (retry < OFI_NS_PER_MS)
        retry = OFI_NS_PER_MS;
    h->next_renew_ns = after + retry;
    char nm[OFI_LOCK_LOG_NAME];
    ofi_lock_name_for_log(h->name, h->name_len, nm);
    pthread_mutex_unlock(&p->mu);
    ofi_lock_logf(p, OF_LOCK_LOG_WARN, "lock '%s': renewal failed (%s: %s), retrying", nm,
                  of_status_name(rc), cause);
    pthread_mutex_lock(&p->mu);
}

/* Under p->mu (dropped around the provider's release): one cleanup attempt for @p it. */
static void cleanup_one_locked(of_lock_provider *p, ofi_lock_cleanup *it, int64_t now)
{
    /* Detach while the release runs so destroy never frees it under us. */
    ofi_lock_cleanup **pp = &p->cq_head;
    while (*pp != it)
        pp = &(*pp)->next;
    *pp = it->next;
    p->cq_count--;
    p->cq_inflight++;
    pthread_mutex_unlock(&p->mu);

    int rc = p->ops.release(p->self, it->name, it->name_len, &it->token, now + ofi_lock_step_ns(p));
    int64_t after = ofi_now_ns();
    char nm[OFI_LOCK_LOG_NAME];
    ofi_lock_name_for_log(it->name, it->name_len, nm);
    if (rc == OF_OK || now >= it->until_ns) {
        if (rc == OF_OK) {
            OFI_LOCK_STAT_ADD(p, cleanups_done, 1);
            ofi_lock_logf(p, OF_LOCK_LOG_INFO,
                          "lock '%s': cleanup deleted a lease left by an unknown outcome", nm);
        } else {
            /* This attempt started after the lease would have run out: nothing can land now. */
            OFI_LOCK_STAT_ADD(p, cleanups_dropped, 1);
            ofi_lock_logf(p, OF_LOCK_LOG_DEBUG,
                          "lock '%s': cleanup finished, the lease has surely expired", nm);
        }
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_CLEANUP_DONE, it->name, it->name_len, it->fence, rc,
                       rc == OF_OK ? "deleted a lease left by an unknown outcome"
                                   : "stopped: the lease has surely expired",
                       0);
        free(it);
        pthread_mutex_lock(&p->mu);
        p->cq_inflight--;
        return;
    }
    /* NOT_OWNER is not final: a stalled request may still land, so keep trying until its lease
     * would have run out. */
    it->attempt++;
    it->next_ns = ofi_lock_min_ns(after + cleanup_delay_ns(p, it), it->until_ns);
    pthread_mutex_lock(&p->mu);
    p->cq_inflight--;
    it->next = p->cq_head;
    p->cq_head = it;
    p->cq_count++;
}

static void *engine_main(void *arg)
{
    of_lock_provider *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t now = ofi_now_ns();
        int64_t wake = INT64_MAX;
        int paused = atomic_load_explicit(&p->paused, memory_order_relaxed);
        of_lock *due = NULL;
        int expired = 0;
        for (of_lock *h = p->rn_first; h; h = h->rn_next) {
            /* A release or extend waiting for this handle goes first: never start another
             * renewal (however overdue) while one waits, or it could wait forever. */
            if (h->busy || h->want)
                continue;
            int64_t vu = atomic_load_explicit(&h->valid_until, memory_order_relaxed);
            if (atomic_load_explicit(&h->lost, memory_order_relaxed) || now >= vu) {
                due = h;
                expired = 1;
                break;
            }
            if (!paused && now >= h->next_renew_ns) {
                due = h;
                break;
            }
            wake = ofi_lock_min_ns(wake, paused ? vu : ofi_lock_min_ns(vu, h->next_renew_ns));
        }
        if (due) {
            if (!expired) {
                renew_one_locked(p, due, now);
            } else if (atomic_load_explicit(&due->lost, memory_order_relaxed)) {
                /* Marked lost by the owner's extend: it only needs to leave the list. */
                due->notified = 1;
                ofi_lock_rn_unlink(p, due);
            } else {
                char why[160];
                if (due->last_renew_rc != OF_OK)
                    snprintf(why, sizeof why, "the lease passed before a renewal succeeded (the "
                             "last one failed: %s)", of_status_name(due->last_renew_rc));
                else
                    snprintf(why, sizeof why, "the lease passed before a renewal succeeded%s",
                             paused ? " (renewals paused)" : "");
                lose_locked(p, due, OF_ERR_LOST, why);
            }
            continue;
        }
        ofi_lock_cleanup *cdue = NULL;
        for (ofi_lock_cleanup *it = p->cq_head; it; it = it->next) {
            if (now >= it->next_ns) {
                cdue = it;
                break;
            }
            wake = ofi_lock_min_ns(wake, it->next_ns);
        }
        if (cdue) {
            cleanup_one_locked(p, cdue, now);
            continue;
        }
        if (wake == INT64_MAX) {
            pthread_cond_wait(&p->cv, &p->mu);
        } else {
            struct timespec ts = ofi_timespec_from_ns(wake);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void ofi_lock_stop_thread(of_lock_provider *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    int started = p->thread_started;
    pthread_mutex_unlock(&p->mu);
    if (started)
        pthread_join(p->thread, NULL);
}

OF_API int of_lock_provider_pause_renewals(of_lock_provider *p, int paused)
{
    if (!p)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_pause_renewals: provider is NULL");
    atomic_store(&p->paused, paused ? 1 : 0);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return OF_OK;
}

size_t ofi_lock_provider_cleanup_pending(of_lock_provider *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->cq_count + p->cq_inflight;
    pthread_mutex_unlock(&p->mu);
    return n;
}
