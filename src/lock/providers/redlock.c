/* The Redlock provider: one lock over N independent Redis servers (majority quorum), each
 * reached through the Redis provider's connection pool and Lua scripts. Every step is one or
 * more *rounds*: send the request to every server of the round, then poll all their sockets
 * against the deadlines and collect the replies as they complete (never one server after
 * another). See docs/redlock.md for the rules and the fencing argument. */
#include "lock/providers/redlock.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "lock/providers/redis_scripts.h"

static const ofi_redis_script acquire_script = {OFI_REDIS_ACQUIRE_SHA, OFI_REDIS_ACQUIRE_LUA,
                                                "acquire"};
static const ofi_redis_script release_script = {OFI_REDIS_RELEASE_SHA, OFI_REDIS_RELEASE_LUA,
                                                "release"};
static const ofi_redis_script extend_script = {OFI_REDIS_EXTEND_SHA, OFI_REDIS_EXTEND_LUA,
                                               "extend"};
static const ofi_redis_script raise_script = {OFI_REDLOCK_RAISE_SHA, OFI_REDLOCK_RAISE_LUA,
                                              "raise-fence"};

#define MAXS OF_LOCK_REDLOCK_MAX_SERVERS

/* What one server answered in a round. */
enum {
    K_NONE = 0, /* not part of the round */
    K_YES,      /* acquire: granted (val = fence); release/extend/raise: done */
    K_NO,       /* acquire: held by another (val = its PTTL); others: not our token */
    K_UNKNOWN,  /* sent, no (complete) reply: may have run */
    K_UNAVAIL,  /* not reached, nothing ran (connect failed, LOADING, ...) */
    K_ERROR,    /* an error reply or a malformed one (status holds it) */
};

typedef struct rl_slot {
    ofi_redis_conn *conn; /* checked out for this round, or NULL */
    int pending;          /* a reply is awaited */
    int use_body;         /* EVAL fallback already made */
    int kind;             /* K_* once done */
    int status;           /* the status behind kind (for K_ERROR: the one to report) */
    long long val;
    redisReply *reply;
    const char *args[5];
    size_t lens[5];
    char why[112]; /* failure text (never credentials) */
    int cut_off;   /* abandoned by the grace period before its own deadline: says nothing about
                      the server's health */
} rl_slot;

typedef struct rl_round {
    ofi_redlock *p;
    const ofi_redis_script *script;
    int nkeys; /* 1: lock key; 2: lock and fence key */
    const void *name;
    size_t name_len;
    const char *extra[3]; /* ARGV after the token */
    size_t extra_len[3];
    int nextra;
    char tok[OF_LOCK_TOKEN_HEX_LEN + 1];
    rl_slot s[MAXS];
} rl_round;

/* Decides early (returns 1) when the round's outcome can no longer change. */
typedef int (*rl_decide_fn)(const rl_round *r, const void *ctx);

static size_t u64_text(uint64_t v, char *buf)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void slot_done(rl_slot *sl, int kind, int status, const char *why)
{
    sl->pending = 0;
    sl->kind = kind;
    sl->status = status;
    if (why != NULL)
        snprintf(sl->why, sizeof sl->why, "%s", why);
}

/* Kind of a failed send/checkout status. */
static int kind_of_status(int status)
{
    if (status == OF_ERR_UNKNOWN)
        return K_UNKNOWN;
    if (status == OF_ERR_UNAVAILABLE)
        return K_UNAVAIL;
    return K_ERROR;
}

static void round_init(rl_round *r, ofi_redlock *p, const ofi_redis_script *script, int nkeys,
                       const void *name, size_t name_len, const of_lock_token *token)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->script = script;
    r->nkeys = nkeys;
    r->name = name;
    r->name_len = name_len;
    of_lock_token_to_hex(token, r->tok);
}

/* A new round (NULL when out of memory: each caller has its own way to fail). */
static rl_round *round_new(ofi_redlock *p, const ofi_redis_script *script, int nkeys,
                           const void *name, size_t name_len, const of_lock_token *token)
{
    rl_round *r = malloc(sizeof *r);
    if (r != NULL)
        round_init(r, p, script, nkeys, name, name_len, token);
    return r;
}

static void round_arg(rl_round *r, const char *v, size_t len)
{
    r->extra[r->nextra] = v;
    r->extra_len[r->nextra] = len;
    r->nextra++;
}

/* Check out a connection to server @p i and send the round's request on it. */
static void slot_start(rl_round *r, size_t i, int64_t deadline_ns)
{
    rl_slot *sl = &r->s[i];
    ofi_redis_pool *pool = &r->p->pools[i];
    int rc = ofi_redis_checkout(pool, deadline_ns, &sl->conn);
    if (rc != OF_OK) {
        sl->conn = NULL;
        slot_done(sl, kind_of_status(rc), rc, ofi_error_detail());
        return;
    }
    const ofi_redis_config *cfg = &pool->cfg;
    char *keys = sl->conn->keys;
    size_t cap = OFI_REDIS_KEY_CAP(cfg->prefix_len);
    int a = 0;
    sl->args[a] = keys;
    sl->lens[a++] = ofi_redis_key(cfg->prefix, cfg->prefix_len, r->name, r->name_len,
                                  OFI_REDIS_LOCK_SUFFIX, keys);
    if (r->nkeys == 2) {
        sl->args[a] = keys + cap;
        sl->lens[a++] = ofi_redis_key(cfg->prefix, cfg->prefix_len, r->name, r->name_len,
                                      OFI_REDIS_FENCE_SUFFIX, keys + cap);
    }
    sl->args[a] = r->tok;
    sl->lens[a++] = OF_LOCK_TOKEN_HEX_LEN;
    for (int k = 0; k < r->nextra; k++) {
        sl->args[a] = r->extra[k];
        sl->lens[a++] = r->extra_len[k];
    }
    rc = ofi_redis_send_eval(sl->conn, r->script, 0, r->nkeys, a, sl->args, sl->lens);
    if (rc != OF_OK) {
        slot_done(sl, kind_of_status(rc), rc, ofi_error_detail());
        return;
    }
    sl->pending = 1;
    sl->kind = K_NONE;
}

/* A complete reply arrived on @p sl: keep it, or resend as EVAL after NOSCRIPT. */
static void slot_reply(rl_round *r, rl_slot *sl, redisReply *reply)
{
    if (!sl->use_body && ofi_redis_reply_is_noscript(reply)) {
        /* Nothing ran (a restart or SCRIPT FLUSH lost the cache): send the body. */
        freeReplyObject(reply);
        sl->use_body = 1;
        int a = r->nkeys + 1 + r->nextra;
        int rc = ofi_redis_send_eval(sl->conn, r->script, 1, r->nkeys, a, sl->args, sl->lens);
        if (rc != OF_OK)
            slot_done(sl, kind_of_status(rc), rc, ofi_error_detail());
        return;
    }
    sl->reply = reply;
    slot_done(sl, K_NONE, OF_OK, NULL); /* the step interprets the reply */
}

/* Run one round on the servers where @p want[i] is set (every server when @p want is NULL),
 * until every reply is in, each server's deadline has passed, or -- once @p decide says the
 * outcome is settled -- the grace period (as long again as the round has run, at least 1 ms) is
 * over. */
static void round_run(rl_round *r, const int *want, int64_t deadline_ns, rl_decide_fn decide,
                      const void *ctx)
{
    const size_t n = r->p->count;
    const int64_t t_start = ofi_now_ns();
    for (size_t i = 0; i < n; i++)
        if (want == NULL || want[i])
            slot_start(r, i, deadline_ns);

    int decided = 0;
    int64_t grace_end = INT64_MAX;
    for (;;) {
        int64_t now = ofi_now_ns();
        if (!decided && decide != NULL && decide(r, ctx)) {
            decided = 1;
            int64_t ran = now - t_start;
            grace_end = now + (ran > OFI_NS_PER_MS ? ran : OFI_NS_PER_MS);
        }
        struct pollfd pfd[MAXS];
        size_t idx[MAXS];
        size_t np = 0;
        int64_t until = grace_end;
        for (size_t i = 0; i < n; i++) {
            rl_slot *sl = &r->s[i];
            if (!sl->pending)
                continue;
            if (now >= sl->conn->op_deadline_ns || now >= grace_end) {
                sl->cut_off = now < sl->conn->op_deadline_ns;
                int rc = ofi_redis_abandon(sl->conn);
                slot_done(sl, K_UNKNOWN, rc, ofi_error_detail());
                continue;
            }
            until = min64(until, sl->conn->op_deadline_ns);
            pfd[np].fd = sl->conn->ctx->fd;
            pfd[np].events = POLLIN;
            pfd[np].revents = 0;
            idx[np++] = i;
        }
        if (np == 0)
            break;
        int64_t ms = (until - now + OFI_NS_PER_MS - 1) / OFI_NS_PER_MS;
        int got = poll(pfd, (nfds_t)np, ms > INT_MAX ? INT_MAX : (int)ms);
        if (got < 0 && errno != EINTR) {
            for (size_t k = 0; k < np; k++) {
                rl_slot *sl = &r->s[idx[k]];
                int rc = ofi_redis_abandon(sl->conn);
                slot_done(sl, K_UNKNOWN, rc, "poll failed");
            }
            break;
        }
        for (size_t k = 0; got > 0 && k < np; k++) {
            if (pfd[k].revents == 0)
                continue;
            rl_slot *sl = &r->s[idx[k]];
            redisReply *reply = NULL;
            int rc = ofi_redis_read_nb(sl->conn, &reply);
            if (rc != OF_OK)
                slot_done(sl, K_UNKNOWN, rc, ofi_error_detail());
            else if (reply != NULL)
                slot_reply(r, sl, reply);
        }
    }
}

/* Log each server that left the quorum (it did not answer: unreachable, no reply in time, not
 * executing) or came back, once per change; a server that answered, even "no", is in. */
static void note_reachability(rl_round *r)
{
    ofi_redlock *p = r->p;
    for (size_t i = 0; i < p->count; i++) {
        const rl_slot *sl = &r->s[i];
        int out;
        if (sl->cut_off)
            continue;
        if (sl->kind == K_UNKNOWN || sl->kind == K_UNAVAIL)
            out = 1;
        else if (sl->kind == K_YES || sl->kind == K_NO || sl->kind == K_ERROR)
            out = 0;
        else
            continue;
        if (atomic_exchange_explicit(&p->out_of_quorum[i], out, memory_order_relaxed) == out)
            continue;
        if (out)
            ofi_plog(&p->pools[i].log, -1, OF_LOCK_LOG_WARN,
                     "server #%zu of %zu out of the quorum (quorum %zu): %s", i + 1, p->count,
                     p->quorum, sl->why);
        else
            ofi_plog(&p->pools[i].log, -1, OF_LOCK_LOG_INFO,
                     "server #%zu of %zu answering again, back in the quorum", i + 1, p->count);
    }
}

static void round_finish(rl_round *r)
{
    note_reachability(r);
    for (size_t i = 0; i < r->p->count; i++) {
        rl_slot *sl = &r->s[i];
        if (sl->reply != NULL)
            freeReplyObject(sl->reply);
        sl->reply = NULL;
        if (sl->conn != NULL)
            ofi_redis_checkin(sl->conn);
        sl->conn = NULL;
    }
}

/* Interpret an error reply (or a malformed one) of @p sl. */
static void slot_bad_reply(rl_round *r, size_t i, const char *what)
{
    rl_slot *sl = &r->s[i];
    int rc = ofi_redis_bad_reply(&r->p->pools[i], sl->reply, what, r->name, r->name_len);
    slot_done(sl, rc == OF_ERR_UNAVAILABLE ? K_UNAVAIL : K_ERROR, rc, ofi_error_detail());
}

/* release, extend, raise: integer 1 = done, 0 = not our token. */
static void classify_int(rl_round *r, const char *what)
{
    for (size_t i = 0; i < r->p->count; i++) {
        rl_slot *sl = &r->s[i];
        if (sl->reply == NULL)
            continue;
        if (sl->reply->type == REDIS_REPLY_INTEGER && sl->reply->integer == 1)
            slot_done(sl, K_YES, OF_OK, NULL);
        else if (sl->reply->type == REDIS_REPLY_INTEGER && sl->reply->integer == 0)
            slot_done(sl, K_NO, OF_ERR_NOT_OWNER, "our token does not hold it");
        else
            slot_bad_reply(r, i, what);
        freeReplyObject(sl->reply);
        sl->reply = NULL;
    }
}

static void classify_acquire(rl_round *r)
{
    for (size_t i = 0; i < r->p->count; i++) {
        rl_slot *sl = &r->s[i];
        const redisReply *rp = sl->reply;
        if (rp == NULL)
            continue;
        if (rp->type == REDIS_REPLY_ARRAY && rp->elements == 2 &&
            rp->element[0]->type == REDIS_REPLY_INTEGER &&
            rp->element[1]->type == REDIS_REPLY_INTEGER) {
            long long ok = rp->element[0]->integer, v = rp->element[1]->integer;
            if (ok == 1 && v >= 1 && (uint64_t)v <= OF_LOCK_FENCE_MAX) {
                slot_done(sl, K_YES, OF_OK, NULL);
                sl->val = v;
            } else if (ok == 0) {
                slot_done(sl, K_NO, OF_ERR_BUSY, "held by another token");
                sl->val = v;
            } else {
                int rc = ofi_fail(OF_ERR_PROTOCOL, "acquire: unexpected reply {%lld, %lld}", ok, v);
                ofi_redis_log_unexpected(&r->p->pools[i], "acquire", r->name, r->name_len,
                                         ofi_error_detail());
                slot_done(sl, K_ERROR, rc, ofi_error_detail());
            }
        } else {
            slot_bad_reply(r, i, "acquire");
        }
        freeReplyObject(sl->reply);
        sl->reply = NULL;
    }
}

typedef struct rl_counts {
    size_t yes, no, unknown, unavail, error;
    int first_error; /* server index of the first K_ERROR, or -1 */
} rl_counts;

static rl_counts count_kinds(const rl_round *r)
{
    rl_counts c = {0, 0, 0, 0, 0, -1};
    for (size_t i = 0; i < r->p->count; i++) {
        switch (r->s[i].kind) {
        case K_YES: c.yes++; break;
        case K_NO: c.no++; break;
        case K_UNKNOWN: c.unknown++; break;
        case K_UNAVAIL: c.unavail++; break;
        case K_ERROR:
            c.error++;
            if (c.first_error < 0)
                c.first_error = (int)i;
            break;
        default: break;
        }
    }
    return c;
}

/* Settled once a quorum said yes, or so many said no that no quorum is possible. Replies still
 * in flight are not counted, so this looks only at finished slots with a reply or a kind. */
static int decide_quorum(const rl_round *r, const void *ctx)
{
    (void)ctx;
    size_t yes = 0, no = 0;
    const size_t n = r->p->count, q = r->p->quorum;
    for (size_t i = 0; i < n; i++) {
        const rl_slot *sl = &r->s[i];
        if (sl->pending)
            continue;
        const redisReply *rp = sl->reply;
        if (rp == NULL)
            continue;
        if (rp->type == REDIS_REPLY_ARRAY && rp->elements == 2 &&
            rp->element[0]->type == REDIS_REPLY_INTEGER) {
            if (rp->element[0]->integer == 1)
                yes++;
            else
                no++;
        } else if (rp->type == REDIS_REPLY_INTEGER) {
            if (rp->integer == 1)
                yes++;
            else
                no++;
        }
    }
    return yes >= q || no > n - q;
}

/* Fail with @p status and a detail: the head, then each server that did not say yes. */
static int fail_summary(const ofi_redlock *p, const rl_round *r, int status, const char *head)
{
    char buf[512];
    size_t off = (size_t)snprintf(buf, sizeof buf, "redlock: %s", head);
    for (size_t i = 0; i < p->count && off < sizeof buf; i++) {
        const rl_slot *sl = &r->s[i];
        if (sl->kind == K_YES || sl->kind == K_NONE)
            continue;
        char ep[64];
        ofi_redis_endpoint_name(&p->pools[i].cfg, ep, sizeof ep);
        off += (size_t)snprintf(buf + off, sizeof buf - off, "; #%zu %s %s: %.70s", i + 1, ep,
                                of_status_name(sl->status), sl->why);
    }
    return ofi_fail(status, "%s", buf);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* End of the validity of a lease of @p ttl_ms set by a round that starts now: every lease the
 * round sets starts after this moment on its server, so validity counts from here, less the
 * clock-drift allowance. Called right before round_run. */
static int64_t lease_valid_until(const ofi_redlock *p, uint32_t ttl_ms)
{
    return ofi_now_ns() + (int64_t)ttl_ms * OFI_NS_PER_MS -
           ofi_redlock_drift_ns(p->drift_ppm, p->drift_extra_ms, ttl_ms);
}

int ofi_redlock_try_acquire(void *self, const void *name, size_t name_len,
                            const of_lock_token *token, uint32_t ttl_ms, int64_t deadline_ns,
                            uint64_t *out_fence, int64_t *out_valid_until_ns,
                            uint32_t *out_retry_after_ms)
{
    ofi_redlock *p = self;
    const size_t n = p->count, q = p->quorum;
    char ttl[24];
    size_t ttl_len = u64_text(ttl_ms, ttl);

    rl_round *r = round_new(p, &acquire_script, 2, name, name_len, token);
    if (r == NULL)
        return ofi_fail(OF_ERR_NOMEM, "redlock: allocating a round");
    round_arg(r, ttl, ttl_len);
    round_arg(r, OFI_REDIS_FENCE_TTL_MS, sizeof OFI_REDIS_FENCE_TTL_MS - 1);
    const int64_t valid_until = lease_valid_until(p, ttl_ms);
    round_run(r, NULL, deadline_ns, decide_quorum, NULL);
    classify_acquire(r);
    round_finish(r);
    rl_counts c = count_kinds(r);

    const char *why = NULL;
    char head[160];
    if (c.yes >= q) {
        uint64_t fence = 0;
        size_t at_max = 0;
        for (size_t i = 0; i < n; i++)
            if (r->s[i].kind == K_YES && (uint64_t)r->s[i].val > fence)
                fence = (uint64_t)r->s[i].val;
        int raise[MAXS];
        for (size_t i = 0; i < n; i++) {
            raise[i] = r->s[i].kind == K_YES && (uint64_t)r->s[i].val < fence;
            if (r->s[i].kind == K_YES && (uint64_t)r->s[i].val == fence)
                at_max++;
        }
        if (at_max < q) {
            /* The fence must hold on a quorum before we hand it out (docs/redlock.md): raise
             * the lagging granting servers' counters while our token still holds them. */
            atomic_fetch_add_explicit(&p->st_raise_rounds, 1, memory_order_relaxed);
            rl_round *w = round_new(p, &raise_script, 2, name, name_len, token);
            if (w == NULL) {
                why = "out of memory for the fence round";
            } else {
                char ftxt[24];
                size_t flen = u64_text(fence, ftxt);
                round_arg(w, ftxt, flen);
                round_arg(w, OFI_REDIS_FENCE_TTL_MS, sizeof OFI_REDIS_FENCE_TTL_MS - 1);
                round_run(w, raise, deadline_ns, NULL, NULL);
                classify_int(w, "fence raise");
                round_finish(w);
                for (size_t i = 0; i < n; i++)
                    if (raise[i] && w->s[i].kind == K_YES)
                        at_max++;
                free(w);
                if (at_max < q)
                    why = "the fence could not be raised on a quorum";
                else
                    atomic_fetch_add_explicit(&p->st_raised, 1, memory_order_relaxed);
            }
        }
        if (why == NULL && ofi_now_ns() >= valid_until)
            why = "a quorum granted it, but after the validity (ttl - elapsed - drift) was used up";
        if (why == NULL) {
            *out_fence = fence;
            *out_valid_until_ns = min64(*out_valid_until_ns, valid_until);
            free(r);
            return OF_OK;
        }
    }

    /* Failed: release on every server the request may have reached. */
    int rel[MAXS];
    size_t rel_count = 0;
    for (size_t i = 0; i < n; i++) {
        rel[i] = r->s[i].kind == K_YES || r->s[i].kind == K_UNKNOWN;
        rel_count += (size_t)rel[i];
    }
    size_t unconfirmed = 0;
    if (rel_count > 0) {
        rl_round *u = round_new(p, &release_script, 1, name, name_len, token);
        if (u == NULL) {
            unconfirmed = rel_count;
        } else {
            round_run(u, rel, deadline_ns, NULL, NULL);
            classify_int(u, "release");
            round_finish(u);
            for (size_t i = 0; i < n; i++)
                if (rel[i] && u->s[i].kind != K_YES && u->s[i].kind != K_NO)
                    unconfirmed++;
            free(u);
        }
    }

    int rc;
    if (c.no > n - q) {
        /* Held elsewhere on too many servers for a quorum: hint when enough of them free up. */
        /* Zeroed for cppcheck, which does not see that need <= k (both count the K_NO slots). */
        long long pttl[MAXS] = {0};
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (r->s[i].kind == K_NO)
                pttl[k++] = r->s[i].val;
        qsort(pttl, k, sizeof pttl[0], cmp_ll);
        size_t need = c.no - (n - q); /* busy servers that must free up */
        long long v = pttl[need - 1];
        if (v > 0)
            *out_retry_after_ms = v > (long long)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        snprintf(head, sizeof head, "held by another owner on %zu of %zu servers (quorum %zu)",
                 c.no, n, q);
        rc = fail_summary(p, r, OF_ERR_BUSY, head);
    } else if (c.yes + c.unknown >= q && (c.unknown > 0 || unconfirmed > 0)) {
        snprintf(head, sizeof head,
                 "outcome unknown: %zu of %zu servers granted, %zu got it without replying "
                 "(quorum %zu)%s%s",
                 c.yes, n, c.unknown, q, why != NULL ? "; " : "", why != NULL ? why : "");
        rc = fail_summary(p, r, OF_ERR_UNKNOWN, head);
    } else if (c.first_error >= 0 && why == NULL) {
        const rl_slot *sl = &r->s[c.first_error];
        char ep[64];
        ofi_redis_endpoint_name(&p->pools[c.first_error].cfg, ep, sizeof ep);
        rc = ofi_fail(sl->status, "redlock: server #%d %s: %s", c.first_error + 1, ep, sl->why);
    } else {
        snprintf(head, sizeof head, "%zu of %zu servers granted (quorum %zu)%s%s", c.yes, n, q,
                 why != NULL ? ": " : "", why != NULL ? why : "");
        rc = fail_summary(p, r, OF_ERR_UNAVAILABLE, head);
    }
    free(r);
    return rc;
}

/* The last two outcomes of a failed release or extend (@p step), in this order: our token is
 * missing on too many servers for a quorum (NOT_OWNER), or else the first server that gave an
 * error reply names the failure. */
static int fail_token_or_error(const ofi_redlock *p, const rl_round *r, const rl_counts *c,
                               const char *step)
{
    const size_t n = p->count, q = p->quorum;
    if (c->no > n - q) {
        char head[128];
        snprintf(head, sizeof head, "our token holds it on %zu of %zu servers only (quorum %zu)",
                 c->yes, n, q);
        return fail_summary(p, r, OF_ERR_NOT_OWNER, head);
    }
    const rl_slot *sl = &r->s[c->first_error];
    return ofi_fail(sl->status, "redlock: %s: server #%d: %s", step, c->first_error + 1, sl->why);
}

int ofi_redlock_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                        int64_t deadline_ns)
{
    ofi_redlock *p = self;
    const size_t n = p->count, q = p->quorum;
    rl_round *r = round_new(p, &release_script, 1, name, name_len, token);
    if (r == NULL)
        return ofi_fail(OF_ERR_NOMEM, "redlock: allocating a round");
    round_run(r, NULL, deadline_ns, decide_quorum, NULL);
    classify_int(r, "release");
    round_finish(r);
    rl_counts c = count_kinds(r);
    char head[128];
    int rc;
    if (c.yes >= q) {
        rc = OF_OK;
    } else if (c.no + c.error <= n - q) {
        snprintf(head, sizeof head, "release confirmed on %zu of %zu servers (quorum %zu)", c.yes,
                 n, q);
        rc = fail_summary(p, r, c.unknown > 0 ? OF_ERR_UNKNOWN : OF_ERR_UNAVAILABLE, head);
    } else {
        rc = fail_token_or_error(p, r, &c, "release");
    }
    free(r);
    return rc;
}

int ofi_redlock_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                       uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns)
{
    ofi_redlock *p = self;
    const size_t n = p->count, q = p->quorum;
    char ttl[24];
    size_t ttl_len = u64_text(ttl_ms, ttl);
    rl_round *r = round_new(p, &extend_script, 1, name, name_len, token);
    if (r == NULL)
        return ofi_fail(OF_ERR_NOMEM, "redlock: allocating a round");
    round_arg(r, ttl, ttl_len);
    const int64_t valid_until = lease_valid_until(p, ttl_ms);
    round_run(r, NULL, deadline_ns, decide_quorum, NULL);
    classify_int(r, "extend");
    round_finish(r);
    rl_counts c = count_kinds(r);
    char head[160];
    int rc;
    if (c.yes >= q && ofi_now_ns() < valid_until) {
        *out_valid_until_ns = min64(*out_valid_until_ns, valid_until);
        rc = OF_OK;
    } else if (c.yes >= q) {
        snprintf(head, sizeof head,
                 "a quorum extended it, but after the new validity was used up (%zu of %zu)",
                 c.yes, n);
        rc = fail_summary(p, r, OF_ERR_UNKNOWN, head);
    } else if (c.yes + c.unknown >= q) {
        snprintf(head, sizeof head,
                 "outcome unknown: extended on %zu of %zu servers, %zu without a reply (quorum %zu)",
                 c.yes, n, c.unknown, q);
        rc = fail_summary(p, r, OF_ERR_UNKNOWN, head);
    } else if (c.yes + c.unknown + c.unavail >= q) {
        snprintf(head, sizeof head,
                 "extended on %zu of %zu servers only, too few reached (quorum %zu): the old "
                 "lease stands",
                 c.yes, n, q);
        rc = fail_summary(p, r, OF_ERR_UNAVAILABLE, head);
    } else {
        rc = fail_token_or_error(p, r, &c, "extend");
    }
    free(r);
    return rc;
}

static void redlock_destroy(void *self)
{
    ofi_redlock *p = self;
    for (size_t i = 0; i < p->count; i++)
        ofi_redis_pool_fini(&p->pools[i]);
    free(p);
}

static const of_lock_provider_ops redlock_ops = {
    .abi_version = OF_LOCK_PROVIDER_ABI,
    .struct_size = sizeof(of_lock_provider_ops),
    .name = "redlock",
    .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED,
    .reserved0 = 0,
    .try_acquire = ofi_redlock_try_acquire,
    .release = ofi_redlock_release,
    .extend = ofi_redlock_extend,
    .wait_release = NULL,
    .destroy = redlock_destroy,
};

int ofi_redlock_provider_create(const ofi_redlock_config *cfg, of_lock_provider **out_provider)
{
    ofi_redlock *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ofi_fail(OF_ERR_NOMEM, "allocating the redlock provider");
    p->quorum = cfg->count / 2 + 1;
    p->drift_ppm = cfg->drift_ppm;
    p->drift_extra_ms = cfg->drift_extra_ms;
    int rc = OF_OK;
    for (size_t i = 0; i < cfg->count && rc == OF_OK; i++) {
        rc = ofi_redis_pool_init(&p->pools[i], &cfg->servers[i]);
        if (rc == OF_OK)
            p->count = i + 1;
    }
    of_lock_provider *prov = NULL;
    if (rc == OF_OK)
        rc = of_lock_provider_create(&redlock_ops, p, &prov);
    if (rc != OF_OK) {
        for (size_t i = 0; i < p->count; i++)
            ofi_redis_pool_fini(&p->pools[i]);
        free(p);
        return rc;
    }
    for (size_t i = 0; i < p->count; i++)
        ofi_redis_pool_attach_log(&p->pools[i], "redlock", prov);
    *out_provider = prov;
    return OF_OK;
}

/* Both public create functions: the server list comes from @p list when @p use_list is set
 * (whatever @p list is: the parser diagnoses NULL), otherwise from @p urls and @p count. The
 * configuration (up to 15 servers) lives on the heap only while the provider is made. */
static int create_from(int use_list, const char *const *urls, size_t count, const char *list,
                       const of_lock_redlock_options *opts, of_lock_provider **out_provider)
{
    if (out_provider == NULL)
        return ofi_fail(OF_ERR_INVALID, "out_provider is NULL");
    ofi_redlock_config *cfg = malloc(sizeof *cfg);
    if (cfg == NULL)
        return ofi_fail(OF_ERR_NOMEM, "allocating the redlock configuration");
    int rc = use_list ? ofi_redlock_config_from_list(list, opts, cfg)
                      : ofi_redlock_config_from_urls(urls, count, opts, cfg);
    if (rc == OF_OK) {
        rc = ofi_redlock_provider_create(cfg, out_provider);
        ofi_redlock_config_free(cfg);
    }
    free(cfg);
    return rc;
}

OF_API int of_lock_redlock_create(const char *const *urls, size_t count,
                                  const of_lock_redlock_options *opts,
                                  of_lock_provider **out_provider)
{
    return create_from(0, urls, count, NULL, opts, out_provider);
}

OF_API int of_lock_redlock_create_list(const char *list, const of_lock_redlock_options *opts,
                                       of_lock_provider **out_provider)
{
    return create_from(1, NULL, 0, list, opts, out_provider);
}
