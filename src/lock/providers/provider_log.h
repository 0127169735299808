/* Log lines of the network providers (redis, redlock, etcd) through of_lock_provider_log():
 * "<provider> <address>: <what happened>: <cause>", at the levels of lock.h. Only events are
 * logged (failures, recoveries, fallbacks), never a successful step: the engine offers no cheap
 * "is this level enabled" check, and a line per acquire would cost a format on the hot path.
 *
 * Repeated failures of one kind on one server are rate-limited to one line per second; the next
 * line delivered says how many were suppressed. Addresses are host:port or a socket path: no
 * caller puts a password, a token or a URL with credentials into a line.
 *
 * Header-only (static inline) so each provider keeps its own limiter state next to its server. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_PROVIDER_LOG_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_PROVIDER_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openfault/lock.h>

#include "common/clock.h"

/* Kinds of rate-limited lines (one limiter slot each, per server). */
enum {
    OFI_PLOG_CONNECT = 0, /* connect / setup failed */
    OFI_PLOG_AUTH,        /* credentials refused */
    OFI_PLOG_TIMEOUT,     /* a step passed its deadline */
    OFI_PLOG_BROKEN,      /* connection lost mid-step, send failed */
    OFI_PLOG_PARSE,       /* unparsable or unexpected reply */
    OFI_PLOG_SERVER,      /* the server answered an error (-OOM, -READONLY, -LOADING, ...) */
    OFI_PLOG_NOSCRIPT,    /* the server lost its script cache */
    OFI_PLOG_FAILOVER,    /* etcd: switched to another endpoint */
    OFI_PLOG_REVOKE,      /* etcd: a lease revoke failed */
    OFI_PLOG_CLEANUP,     /* etcd: a cleanup found nothing yet (the engine keeps asking) */
    OFI_PLOG_KINDS
};

/* No more than one line per kind and server in this interval. */
#define OFI_PLOG_INTERVAL_NS (INT64_C(1000) * OFI_NS_PER_MS)

typedef struct ofi_plog_state {
    _Atomic(of_lock_provider *) provider; /* NULL until the provider exists: lines are dropped */
    char who[200];                        /* "redis 127.0.0.1:6380" */
    pthread_mutex_t mu;                   /* guards the two arrays */
    int64_t last_ns[OFI_PLOG_KINDS];      /* when a line of the kind was last delivered */
    uint32_t suppressed[OFI_PLOG_KINDS];  /* lines dropped since */
} ofi_plog_state;

/* @p provider_name ("redis"), @p address (host:port or the socket path). 0, or -1 when the
 * mutex could not be made. */
static inline int ofi_plog_init(ofi_plog_state *l, const char *provider_name, const char *address)
{
    memset(l, 0, sizeof *l);
    atomic_init(&l->provider, NULL);
    snprintf(l->who, sizeof l->who, "%s %s", provider_name, address);
    return pthread_mutex_init(&l->mu, NULL) == 0 ? 0 : -1;
}

static inline void ofi_plog_fini(ofi_plog_state *l)
{
    pthread_mutex_destroy(&l->mu);
}

/* Start delivering lines to @p provider (after of_lock_provider_create returned it). */
static inline void ofi_plog_attach(ofi_plog_state *l, of_lock_provider *provider)
{
    atomic_store_explicit(&l->provider, provider, memory_order_release);
}

/* Deliver "<who>: <fmt...>" at @p level. @p kind: an OFI_PLOG_* slot (rate-limited), or -1 for
 * a line that is never limited (a recovery, a one-off transition). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline void ofi_plog(ofi_plog_state *l, int kind, int level, const char *fmt, ...)
{
    of_lock_provider *p = atomic_load_explicit(&l->provider, memory_order_acquire);
    if (p == NULL)
        return;
    uint32_t dropped = 0;
    if (kind >= 0 && kind < OFI_PLOG_KINDS) {
        int64_t now = ofi_now_ns();
        pthread_mutex_lock(&l->mu);
        if (l->last_ns[kind] != 0 && now - l->last_ns[kind] < OFI_PLOG_INTERVAL_NS) {
            if (l->suppressed[kind] < UINT32_MAX)
                l->suppressed[kind]++;
            pthread_mutex_unlock(&l->mu);
            return;
        }
        l->last_ns[kind] = now;
        dropped = l->suppressed[kind];
        l->suppressed[kind] = 0;
        pthread_mutex_unlock(&l->mu);
    }
    char line[512];
    int n = snprintf(line, sizeof line, "%s: ", l->who);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t used = m < 0 ? (size_t)n : (size_t)n + (size_t)m;
    if (used >= sizeof line)
        used = sizeof line - 1;
    if (dropped > 0)
        snprintf(line + used, sizeof line - used, " [%u similar lines suppressed]", dropped);
    of_lock_provider_log(p, level, line);
}

/* A printable copy of @p len bytes of server text (a reply's first words) into @p out (cap
 * bytes): control bytes become '?', cut at the first line break and at @p cap - 1. */
static inline const char *ofi_plog_text(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; s != NULL && i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n')
            break;
        out[o++] = (char)((c >= 0x20 && c < 0x7f) ? c : '?');
    }
    out[o] = '\0';
    return out;
}

/* A lock name for a line: printable ASCII kept, other bytes as \xNN, cut at 48 bytes ("..."). */
static inline const char *ofi_plog_name(const void *name, size_t len, char out[48 * 4 + 4])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = name;
    size_t o = 0;
    for (size_t i = 0; i < len && i < 48; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (len > 48)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
    return out;
}

#endif
