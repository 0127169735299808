/* A provider's life in the engine: wrapping an ops table (create), its configuration, counters
 * and log hook, and destroy with its one bounded last attempt for what is still held or queued. */
#include "lock/engine_internal.h"

#include "common/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Destroy's one last attempt (every queued cleanup and every handle still held, together) is
 * bounded by min(step timeout, this) in total. */
#define DESTROY_ATTEMPT_MS 1000

/* ------------------------------------------------------------------------------------------ */
/* logging                                                                                      */

/* The log hook that a line of @p level goes to, with its ctx; NULL: the line is dropped. */
static of_lock_log_fn log_hook(of_lock_provider *p, int level, void **ctx)
{
    if (level > atomic_load_explicit(&p->log_level, memory_order_relaxed))
        return NULL;
    pthread_mutex_lock(&p->log_mu);
    of_lock_log_fn fn = p->log;
    *ctx = p->log_ctx;
    pthread_mutex_unlock(&p->log_mu);
    return fn;
}

void ofi_lock_logf(of_lock_provider *p, int level, const char *fmt, ...)
{
    void *ctx;
    of_lock_log_fn fn = log_hook(p, level, &ctx);
    if (!fn)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(ctx, level, buf);
}

void ofi_lock_name_for_log(const void *name, size_t len, char out[OFI_LOCK_LOG_NAME])
{
    const unsigned char *s = name;
    size_t o = 0;
    for (size_t i = 0; i < len && o < 64; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= 64 && len > 0)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

void ofi_lock_emit(of_lock_provider *p, int kind, const void *name, size_t name_len,
                   uint64_t fence, int status, const char *detail, int64_t valid_until_ns)
{
    pthread_mutex_lock(&p->log_mu);
    of_lock_event_fn fn = p->on_event;
    void *ctx = p->event_ctx;
    pthread_mutex_unlock(&p->log_mu);
    if (!fn)
        return;
    /* The thread's detail describes the call under way (the caller reads it after an acquire
     * fails): the callback may make failing calls of its own, so keep a copy, hand the callback
     * the copy, and put it back. */
    char keep[512];
    const char *cur = ofi_error_detail();
    snprintf(keep, sizeof keep, "%s", cur);
    of_lock_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = (uint32_t)sizeof ev;
    ev.kind = kind;
    ev.name = name;
    ev.name_len = name_len;
    ev.fence = fence;
    ev.status = status;
    ev.detail = !detail ? "" : detail == cur ? keep : detail;
    ev.valid_until_ns = valid_until_ns;
    fn(ctx, &ev);
    if (strcmp(ofi_error_detail(), keep) != 0)
        ofi_set_detail("%s", keep);
}

OF_API const char *of_lock_event_name(int kind)
{
    switch (kind) {
    case OF_LOCK_EVENT_ACQUIRED: return "acquired";
    case OF_LOCK_EVENT_ACQUIRE_FAILED: return "acquire_failed";
    case OF_LOCK_EVENT_RELEASED: return "released";
    case OF_LOCK_EVENT_RENEWED: return "renewed";
    case OF_LOCK_EVENT_RENEW_FAILED: return "renew_failed";
    case OF_LOCK_EVENT_LOST: return "lost";
    case OF_LOCK_EVENT_CLEANUP_QUEUED: return "cleanup_queued";
    case OF_LOCK_EVENT_CLEANUP_DONE: return "cleanup_done";
    default: return "unknown";
    }
}

OF_API void of_lock_provider_log(of_lock_provider *p, int level, const char *msg)
{
    if (!p || !msg)
        return;
    void *ctx;
    of_lock_log_fn fn = log_hook(p, level, &ctx);
    if (fn)
        fn(ctx, level, msg);
}

/* ------------------------------------------------------------------------------------------ */
/* create and destroy                                                                           */

OF_API int of_lock_provider_create(const of_lock_provider_ops *ops, void *self,
                                   of_lock_provider **out_provider)
{
    if (!ops || !out_provider)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_create: %s is NULL", ops ? "out_provider" : "ops");
    if (ops->abi_version == 0 || ops->abi_version > OF_LOCK_PROVIDER_ABI)
        return ofi_fail(OF_ERR_ABI, "provider ops abi_version %u (this library knows 1..%u)",
                        (unsigned)ops->abi_version, (unsigned)OF_LOCK_PROVIDER_ABI);
    if (!OFI_SIZE_KNOWN(ops->struct_size, OFI_LOCK_OPS_V1_SIZE, of_lock_provider_ops))
        return ofi_lock_size_error("of_lock_provider_ops", ops->struct_size, OFI_LOCK_OPS_V1_SIZE,
                                   sizeof(of_lock_provider_ops));
    if (!ops->name || !ops->name[0])
        return ofi_fail(OF_ERR_INVALID, "provider ops: empty name");
    if (ops->caps & ~(uint32_t)OF_LOCK_CAP_ALL)
        return ofi_fail(OF_ERR_INVALID, "provider ops: unknown cap bits 0x%x",
                        (unsigned)(ops->caps & ~(uint32_t)OF_LOCK_CAP_ALL));
    if (ops->reserved0 != 0)
        return ofi_fail(OF_ERR_INVALID, "provider ops: reserved0 must be 0");
    if (!ops->try_acquire || !ops->release)
        return ofi_fail(OF_ERR_INVALID, "provider ops: try_acquire and release are required");
    if ((ops->caps & OF_LOCK_CAP_EXTEND) && !ops->extend)
        return ofi_fail(OF_ERR_INVALID, "provider ops: OF_LOCK_CAP_EXTEND without extend");
    if ((ops->caps & OF_LOCK_CAP_WAIT) && !ops->wait_release)
        return ofi_fail(OF_ERR_INVALID, "provider ops: OF_LOCK_CAP_WAIT without wait_release");

    of_lock_provider *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
    if (!p)
        return ofi_fail_plain(OF_ERR_NOMEM);
    memset(p, 0, sizeof *p);
    memcpy(&p->ops, ops, ops->struct_size); /* members past it stay NULL */
    if (!(p->ops.caps & OF_LOCK_CAP_EXTEND))
        p->ops.extend = NULL;
    p->self = self;
    int rc = ofi_token_gen_init(&p->tokens);
    if (rc != OF_OK) {
        free(p);
        return rc;
    }
    atomic_init(&p->step_timeout_ms, 5000);
    atomic_init(&p->backoff_base_ms, 1);
    atomic_init(&p->backoff_cap_ms, 100);
    atomic_init(&p->log_level, OF_LOCK_LOG_WARN);
    atomic_init(&p->events, 0);
    for (unsigned i = 0; i < OFI_LOCK_STRIPES; i++)
        ofi_spin_init(&p->stripes[i].lock);
    atomic_init(&p->paused, 0);
    atomic_init(&p->waiting, 0);

    /* Every mutex and condition variable, or none: undo what was made on the first failure. */
    pthread_condattr_t ca;
    int made = 0;
    int ok = pthread_condattr_init(&ca) == 0;
    if (ok) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        ok = pthread_mutex_init(&p->log_mu, NULL) == 0 && ++made &&
             pthread_mutex_init(&p->mu, NULL) == 0 && ++made &&
             pthread_cond_init(&p->cv, &ca) == 0 && ++made &&
             pthread_cond_init(&p->idle_cv, NULL) == 0 && ++made &&
             pthread_mutex_init(&p->wq_mu, NULL) == 0 && ++made &&
             pthread_cond_init(&p->wq_cv, &ca) == 0 && ++made;
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        if (made >= 5)
            pthread_mutex_destroy(&p->wq_mu);
        if (made >= 4)
            pthread_cond_destroy(&p->idle_cv);
        if (made >= 3)
            pthread_cond_destroy(&p->cv);
        if (made >= 2)
            pthread_mutex_destroy(&p->mu);
        if (made >= 1)
            pthread_mutex_destroy(&p->log_mu);
        free(p);
        return ofi_fail(OF_ERR_NOMEM, "cannot initialise provider synchronisation");
    }
    *out_provider = p;
    return OF_OK;
}

/* Destroy's last attempt for the handles the caller never released (their renewals stopped with
 * the thread); frees them. */
static void destroy_held(of_lock_provider *p, int64_t deadline)
{
    size_t held = 0, renewed = 0, held_released = 0;
    for (unsigned si = 0; si < OFI_LOCK_STRIPES; si++) {
    of_lock *h = p->stripes[si].live_head;
    p->stripes[si].live_head = NULL;
    while (h) {
        of_lock *next = h->live_next;
        held++;
        if (h->registered)
            renewed++;
        int rc = OF_ERR_UNAVAILABLE; /* nothing sent */
        int tried = ofi_now_ns() < deadline;
        if (tried)
            rc = p->ops.release(p->self, h->name, h->name_len, &h->token, deadline);
        if (rc == OF_OK)
            held_released++;
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_RELEASED, h->name, h->name_len, h->fence, rc,
                       rc == OF_OK ? "provider destroyed with the lock still held: released"
                       : tried ? "provider destroyed with the lock still held: the last release "
                                 "failed, the lease expires by its TTL"
                               : "provider destroyed with the lock still held: no time left "
                                 "for a release, the lease expires by its TTL",
                       atomic_load_explicit(&h->valid_until, memory_order_relaxed));
        free(h->heap);
        free(h);
        h = next;
    }
    }
    if (held)
        ofi_lock_logf(p, OF_LOCK_LOG_WARN,
                      "provider '%s' destroyed with %zu lock(s) still held (%zu auto-renewed): "
                      "renewals stopped; %zu released by the last attempt, the rest expire by "
                      "their TTL; the handles are freed and must not be used", p->ops.name, held,
                      renewed, held_released);
}

/* Destroy's last attempt for the queued cleanups; frees them. */
static void destroy_queued(of_lock_provider *p, int64_t deadline, int64_t budget_ms)
{
    size_t queued = 0, done = 0, skipped = 0;
    ofi_lock_cleanup *it = p->cq_head;
    p->cq_head = NULL;
    while (it) {
        ofi_lock_cleanup *next = it->next;
        queued++;
        int rc = OF_ERR_UNAVAILABLE;
        int tried = ofi_now_ns() < deadline;
        if (tried)
            rc = p->ops.release(p->self, it->name, it->name_len, &it->token, deadline);
        else
            skipped++;
        if (rc == OF_OK) {
            done++;
            OFI_LOCK_STAT_ADD(p, cleanups_done, 1);
        } else {
            OFI_LOCK_STAT_ADD(p, cleanups_dropped, 1);
        }
        OFI_LOCK_EVENT(p, OF_LOCK_EVENT_CLEANUP_DONE, it->name, it->name_len, it->fence, rc,
                       rc == OF_OK ? "provider destroyed: the last attempt deleted the lease"
                       : tried ? "provider destroyed: the last attempt did not delete the "
                                 "lease; it expires by its TTL"
                               : "provider destroyed: no time left for a last attempt; the "
                                 "lease expires by its TTL",
                       0);
        free(it);
        it = next;
    }
    if (skipped)
        ofi_lock_logf(p, OF_LOCK_LOG_WARN,
                      "provider '%s' destroyed: %zu of %zu queued cleanup(s) got no last attempt "
                      "(the %lld ms budget ran out); those leases expire by their TTL",
                      p->ops.name, skipped, queued, (long long)budget_ms);
    else if (queued)
        ofi_lock_logf(p, OF_LOCK_LOG_INFO, "provider '%s' destroyed: last cleanup attempt deleted "
                      "%zu of %zu lease(s) left by unknown outcomes", p->ops.name, done, queued);
}

OF_API void of_lock_provider_destroy(of_lock_provider *p)
{
    if (!p)
        return;
    ofi_lock_stop_thread(p);

    /* One bounded last attempt for everything together: the handles the caller never released
     * and the queued cleanups share one budget, min(step timeout, DESTROY_ATTEMPT_MS) in total,
     * however many there are. Each release gets the remaining budget as its deadline; once it is
     * spent the rest get no call. */
    int64_t budget_ms = (int64_t)atomic_load_explicit(&p->step_timeout_ms, memory_order_relaxed);
    if (budget_ms > DESTROY_ATTEMPT_MS)
        budget_ms = DESTROY_ATTEMPT_MS;
    const int64_t deadline = ofi_now_ns() + budget_ms * OFI_NS_PER_MS;
    destroy_held(p, deadline);
    destroy_queued(p, deadline, budget_ms);

    if (p->ops.destroy)
        p->ops.destroy(p->self);
    for (unsigned si = 0; si < OFI_LOCK_STRIPES; si++) {
        of_lock *h = p->stripes[si].fl_head;
        while (h) {
            of_lock *next = h->free_next;
            free(h->heap);
            free(h);
            h = next;
        }
    }
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->idle_cv);
    pthread_cond_destroy(&p->wq_cv);
    pthread_mutex_destroy(&p->wq_mu);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->log_mu);
    free(p);
}

void ofi_lock_provider_use_private_tokens(of_lock_provider *p, uint64_t name_seed)
{
    p->private_tokens = 1;
    p->private_seed = name_seed;
}

void *ofi_lock_provider_self(const of_lock_provider *p)
{
    return p->self;
}

OF_API void *of_lock_provider_self(const of_lock_provider *p, const char *ops_name)
{
    return p && ops_name && p->ops.name == ops_name ? p->self : NULL;
}

OF_API const char *of_lock_provider_name(const of_lock_provider *p)
{
    return p ? p->ops.name : NULL;
}

OF_API uint32_t of_lock_provider_caps(const of_lock_provider *p)
{
    return p ? p->ops.caps : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* configuration and counters                                                                   */

static const of_lock_provider_config default_config = {
    .struct_size = sizeof(of_lock_provider_config),
    .step_timeout_ms = 5000,
    .backoff_base_ms = 1,
    .backoff_cap_ms = 100,
    .log_level = OF_LOCK_LOG_WARN,
};

int ofi_lock_size_error(const char *type, size_t size, size_t v1, size_t current)
{
    return ofi_fail(OF_ERR_ABI, "%s struct_size %zu (this library knows %zu..%zu)", type, size,
                    v1, current);
}

int ofi_lock_struct_init(void *dst, size_t size, const void *defaults, size_t v1, size_t current,
                         const char *type)
{
    if (size < v1 || size > current)
        return ofi_lock_size_error(type, size, v1, current);
    memcpy(dst, defaults, size);
    uint32_t struct_size = (uint32_t)size;
    memcpy(dst, &struct_size, sizeof struct_size);
    return OF_OK;
}

OF_API int of_lock_provider_config_init(of_lock_provider_config *cfg, size_t struct_size)
{
    if (!cfg)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_config_init: cfg is NULL");
    return ofi_lock_struct_init(cfg, struct_size, &default_config, OFI_LOCK_CONFIG_V1_SIZE,
                                sizeof *cfg, "of_lock_provider_config");
}

OF_API int of_lock_provider_configure(of_lock_provider *p, const of_lock_provider_config *cfg)
{
    if (!p || !cfg)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_configure: %s is NULL", p ? "cfg" : "provider");
    if (!OFI_SIZE_KNOWN(cfg->struct_size, OFI_LOCK_CONFIG_V1_SIZE, of_lock_provider_config))
        return ofi_lock_size_error("of_lock_provider_config", cfg->struct_size,
                                   OFI_LOCK_CONFIG_V1_SIZE, sizeof *cfg);
    of_lock_provider_config full;
    cfg = ofi_lock_struct_view(cfg, cfg->struct_size, &default_config, &full, sizeof full);
    if (cfg->step_timeout_ms == 0)
        return ofi_fail(OF_ERR_INVALID, "step_timeout_ms must be > 0");
    if (cfg->backoff_base_ms == 0 || cfg->backoff_base_ms > cfg->backoff_cap_ms)
        return ofi_fail(OF_ERR_INVALID, "backoff_base_ms must be in 1..backoff_cap_ms");
    if (cfg->log_level < OF_LOCK_LOG_ERROR || cfg->log_level > OF_LOCK_LOG_DEBUG)
        return ofi_fail(OF_ERR_INVALID, "log_level %d outside 1..4", (int)cfg->log_level);
    if (cfg->reserved0 != 0)
        return ofi_fail(OF_ERR_INVALID, "reserved0 must be 0");
    atomic_store(&p->step_timeout_ms, cfg->step_timeout_ms);
    atomic_store(&p->backoff_base_ms, cfg->backoff_base_ms);
    atomic_store(&p->backoff_cap_ms, cfg->backoff_cap_ms);
    pthread_mutex_lock(&p->log_mu);
    p->log = cfg->log;
    p->log_ctx = cfg->log_ctx;
    p->on_event = cfg->on_event;
    p->event_ctx = cfg->event_ctx;
    pthread_mutex_unlock(&p->log_mu);
    atomic_store(&p->log_level, cfg->log ? (int)cfg->log_level : 0);
    atomic_store(&p->events, cfg->on_event != NULL);
    return OF_OK;
}

/* Sum the stripes into @p out (all of it). The "locked" release counters are read before
 * `acquired`, so held_now is rarely an undercount of a moment's truth; it is clamped at 0. */
static void read_stats(const of_lock_provider *p, of_lock_stats *out)
{
    memset(out, 0, sizeof *out);
    uint64_t retries = 0, acq_failed = 0, ended = 0, wait_enter = 0, waited = 0;
    uint64_t wb[OFI_LOCK_HIST_FINITE + 1] = {0}, hb[OFI_LOCK_HIST_FINITE + 1] = {0};
    for (unsigned si = 0; si < OFI_LOCK_STRIPES; si++) {
        ofi_lock_stats_block *st = (ofi_lock_stats_block *)&p->stripes[si].st;
#define RD(f) atomic_load_explicit(&st->f, memory_order_relaxed)
        out->released += RD(released);
        out->releases_not_owner += RD(rel_not_owner);
        out->releases_lost += RD(rel_lost);
        out->releases_failed += RD(rel_failed);
        out->hold_ns += RD(hold_ns);
        for (unsigned b = 0; b <= OFI_LOCK_HIST_FINITE; b++) {
            hb[b] += RD(hold_hist[b]);
            wb[b] += RD(wait_hist[b]);
        }
        out->acquired += RD(acquired);
        retries += RD(retries);
        acq_failed += RD(acq_failed);
        wait_enter += RD(wait_enter);
        out->busy += RD(busy);
        out->timeouts += RD(timeouts);
        out->lost += RD(lost);
        out->errors += RD(errors);
        out->wait_ns += RD(wait_ns);
        out->extended += RD(extended);
        out->cleanups_queued += RD(cleanups_queued);
        out->cleanups_done += RD(cleanups_done);
        out->cleanups_dropped += RD(cleanups_dropped);
        out->extends_ok += RD(extend_ok);
        out->extends_failed += RD(extend_failed);
        out->renewals_ok += RD(renew_ok);
        out->renewals_failed += RD(renew_failed);
        out->lost_expired += RD(lost_expired);
        out->lost_not_owner += RD(lost_not_owner);
        out->lost_unknown += RD(lost_unknown);
#undef RD
    }
    out->acquire_failures = acq_failed;
    out->attempts = out->acquired + out->busy + out->timeouts + acq_failed + retries;
    ended = out->released + out->releases_not_owner + out->releases_lost + out->releases_failed;
    out->held_now = out->acquired > ended ? out->acquired - ended : 0;
    uint64_t wc = 0, hc = 0;
    for (unsigned b = 0; b <= OFI_LOCK_HIST_FINITE; b++) {
        wc += wb[b];
        hc += hb[b];
        out->wait_le[b] = wc;
        out->hold_le[b] = hc;
    }
    waited = wc;
    out->waiting_now = wait_enter > waited ? wait_enter - waited : 0;
}

OF_API int of_lock_provider_stats(const of_lock_provider *p, of_lock_stats *out)
{
    if (!p || !out)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_stats: %s is NULL", p ? "out_stats" : "provider");
    const uint32_t size = out->struct_size;
    if (!OFI_SIZE_KNOWN(size, OFI_LOCK_STATS_V1_SIZE, of_lock_stats))
        return ofi_lock_size_error("of_lock_stats", size, OFI_LOCK_STATS_V1_SIZE,
                                   sizeof(of_lock_stats));
    /* Filled in full here, then copied up to the caller's size: an older caller's struct ends
     * earlier, and nothing past it is written. */
    of_lock_stats full;
    read_stats(p, &full);
    full.struct_size = size;
    memcpy(out, &full, size);
    return OF_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* metrics exposition                                                                           */

static const double hist_bounds_s[OFI_LOCK_HIST_FINITE] = OF_LOCK_HIST_BOUNDS_S;

static int write_metrics(const of_lock_provider *p, int format, const char *prefix,
                         const char *const *labels, char *buf, size_t cap, of_metrics_write_fn fn,
                         void *ctx, size_t *out_len)
{
    of_lock_stats st;
    read_stats(p, &st);
    ofi_metrics m;
    ofi_metrics_begin(&m, format, prefix, labels, "provider", p->ops.name, buf, cap, fn, ctx);
#define COUNTER(name, help, v) \
    (ofi_metrics_family(&m, name, "counter", help), ofi_metrics_sample(&m, NULL, NULL, v))
    COUNTER("lock_acquisitions_total", "Acquire calls that returned a lock.", st.acquired);
    COUNTER("lock_attempts_total", "Provider try-acquire steps.", st.attempts);
    COUNTER("lock_busy_total", "Acquire calls without a wait that found the lock held.", st.busy);
    COUNTER("lock_timeouts_total", "Acquire calls whose wait ended with the lock still held.",
            st.timeouts);
    COUNTER("lock_acquire_failures_total",
            "Acquire calls that failed otherwise (backend unavailable, unknown outcome, ...).",
            st.acquire_failures);
    ofi_metrics_family(&m, "lock_releases_total", "counter", "Release calls by result.");
    ofi_metrics_sample(&m, "result", "ok", st.released);
    ofi_metrics_sample(&m, "result", "not_owner", st.releases_not_owner);
    ofi_metrics_sample(&m, "result", "lost", st.releases_lost);
    ofi_metrics_sample(&m, "result", "failed", st.releases_failed);
    ofi_metrics_family(&m, "lock_extends_total", "counter",
                       "Extend calls by the lock's owner, by result.");
    ofi_metrics_sample(&m, "result", "ok", st.extends_ok);
    ofi_metrics_sample(&m, "result", "failed", st.extends_failed);
    ofi_metrics_family(&m, "lock_renewals_total", "counter", "Automatic renewals, by result.");
    ofi_metrics_sample(&m, "result", "ok", st.renewals_ok);
    ofi_metrics_sample(&m, "result", "failed", st.renewals_failed);
    ofi_metrics_family(&m, "lock_losses_total", "counter", "Locks lost while held, by cause.");
    ofi_metrics_sample(&m, "cause", "expired", st.lost_expired);
    ofi_metrics_sample(&m, "cause", "not_owner", st.lost_not_owner);
    ofi_metrics_sample(&m, "cause", "unknown", st.lost_unknown);
    ofi_metrics_family(&m, "lock_unknown_outcomes_total", "counter",
                       "Steps sent without a reply, by what became of their cleanup.");
    ofi_metrics_sample(&m, "state", "queued", st.cleanups_queued);
    ofi_metrics_sample(&m, "state", "cleaned", st.cleanups_done);
    ofi_metrics_sample(&m, "state", "abandoned", st.cleanups_dropped);
    COUNTER("lock_errors_total", "Failed acquire, release and extend calls other than busy, "
            "timeout and lost.", st.errors);
#undef COUNTER
    ofi_metrics_family(&m, "lock_held", "gauge", "Locks held now (acquired, not yet released).");
    ofi_metrics_sample(&m, NULL, NULL, st.held_now);
    ofi_metrics_family(&m, "lock_waiting", "gauge", "Acquire calls waiting now.");
    ofi_metrics_sample(&m, NULL, NULL, st.waiting_now);
    ofi_metrics_family(&m, "lock_wait_seconds", "histogram",
                       "Time of acquire calls that waited, whatever their result.");
    ofi_metrics_histogram(&m, hist_bounds_s, OFI_LOCK_HIST_FINITE, st.wait_le,
                          (double)st.wait_ns / 1e9);
    ofi_metrics_family(&m, "lock_hold_seconds", "histogram",
                       "Time from grant to release of released locks.");
    ofi_metrics_histogram(&m, hist_bounds_s, OFI_LOCK_HIST_FINITE, st.hold_le,
                          (double)st.hold_ns / 1e9);
    return ofi_metrics_end(&m, out_len);
}

OF_API int of_lock_provider_metrics(const of_lock_provider *p, int format, const char *prefix,
                                    const char *const *labels, char *buf, size_t cap,
                                    size_t *out_len)
{
    if (!p)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_metrics: provider is NULL");
    if (!buf && cap)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_metrics: buf is NULL with cap %zu", cap);
    int rc = ofi_metrics_check("of_lock_provider_metrics", format, prefix, labels, "provider");
    if (rc != OF_OK)
        return rc;
    return write_metrics(p, format, prefix, labels, buf, cap, NULL, NULL, out_len);
}

OF_API int of_lock_provider_metrics_write(const of_lock_provider *p, int format,
                                          const char *prefix, const char *const *labels,
                                          of_metrics_write_fn write, void *ctx)
{
    if (!p || !write)
        return ofi_fail(OF_ERR_INVALID, "of_lock_provider_metrics_write: %s is NULL",
                        p ? "write" : "provider");
    int rc = ofi_metrics_check("of_lock_provider_metrics_write", format, prefix, labels,
                               "provider");
    if (rc != OF_OK)
        return rc;
    return write_metrics(p, format, prefix, labels, NULL, 0, write, ctx, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* sizes and limits as functions (for bindings)                                                 */

OF_API size_t of_lock_provider_ops_size(void)
{
    return sizeof(of_lock_provider_ops);
}

OF_API size_t of_lock_options_size(void)
{
    return sizeof(of_lock_options);
}

OF_API size_t of_lock_stats_size(void)
{
    return sizeof(of_lock_stats);
}

OF_API size_t of_lock_provider_config_size(void)
{
    return sizeof(of_lock_provider_config);
}

OF_API uint32_t of_lock_ttl_max(void)
{
    return OF_LOCK_TTL_MAX;
}
