/* The etcd lock provider: the engine's vtable over etcd v3's JSON gateway (see lock_etcd.h and
 * docs/etcd.md for the mapping onto leases, transactions and watches). */
#include "lock/providers/etcd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/error.h"

/* A watch is re-armed at least this often, so a member that stalls silently cannot hold a waiter
 * longer (the engine simply tries again). */
#define WATCH_CAP_NS (10 * OFI_NS_PER_SEC)

struct ofi_etcd_lease {
    of_lock_token token;
    int64_t id;          /* the lease the key was put with (or is about to be) */
    int granted;         /* 0: the grant was sent but never answered */
    int dead;            /* ran out by our own clock and claimed for revocation */
    int cleanup;         /* a step answered so that the engine queued a cleanup for this token */
    uint32_t asked_s;    /* TTL asked for, whole seconds */
    int64_t alive_until; /* lease surely alive on the server before this (monotonic ns) */
    int64_t drop_after;  /* forget the record after this: the lease has surely ended */
    ofi_etcd_lease *next;
};

/* What try_acquire saw last on this thread when it answered BUSY: wait_release, which the
 * engine calls right after on the same thread, watches from that revision on, so a deletion in
 * between is never missed and no extra read is needed. */
static _Thread_local struct {
    const ofi_etcd_provider *p;
    uint64_t name_hash;
    size_t name_len;
    int64_t revision;
} busy_hint;

OF_API int of_lock_etcd_available(void)
{
    return 1;
}

/* The lease timer runs on the leader's clock: shave 1% of the TTL plus 2 ms off our bound. */
static int64_t drift_ns(int64_t ttl_s)
{
    return ttl_s * 10 * OFI_NS_PER_MS + 2 * OFI_NS_PER_MS;
}

static uint32_t ttl_seconds(uint32_t ttl_ms)
{
    return ttl_ms / 1000 + (ttl_ms % 1000 != 0);
}

char *ofi_etcd_key_b64(const ofi_etcd_provider *p, const void *name, size_t name_len)
{
    const ofi_etcd_config *cfg = &p->client.cfg;
    char *raw = malloc(cfg->prefix_len + name_len);
    if (raw == NULL)
        return NULL;
    memcpy(raw, cfg->prefix, cfg->prefix_len);
    memcpy(raw + cfg->prefix_len, name, name_len);
    char *k = ofi_etcd_base64(raw, cfg->prefix_len + name_len);
    free(raw);
    return k;
}

static char *token_b64(const of_lock_token *token)
{
    char hex[OF_LOCK_TOKEN_HEX_LEN + 1];
    of_lock_token_to_hex(token, hex);
    return ofi_etcd_base64(hex, OF_LOCK_TOKEN_HEX_LEN);
}

static void i64_text(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
}

/* ---- the lease table ---------------------------------------------------------------------- */

static size_t bucket_of(const of_lock_token *t)
{
    return t->bytes[0] % OFI_ETCD_LEASE_BUCKETS;
}

static ofi_etcd_lease *find_locked(ofi_etcd_provider *p, const of_lock_token *t)
{
    for (ofi_etcd_lease *e = p->leases[bucket_of(t)]; e != NULL; e = e->next)
        if (memcmp(e->token.bytes, t->bytes, sizeof t->bytes) == 0)
            return e;
    return NULL;
}

/* Copy the record of @p t into @p out; 0 if there is none. */
static int lease_get(ofi_etcd_provider *p, const of_lock_token *t, ofi_etcd_lease *out)
{
    pthread_mutex_lock(&p->mu);
    ofi_etcd_lease *e = find_locked(p, t);
    if (e != NULL)
        *out = *e;
    pthread_mutex_unlock(&p->mu);
    return e != NULL;
}

/* Insert or overwrite the record of rec->token (pruning records whose lease surely ended). */
static int lease_put(ofi_etcd_provider *p, const ofi_etcd_lease *rec)
{
    int64_t now = ofi_now_ns();
    pthread_mutex_lock(&p->mu);
    size_t b = bucket_of(&rec->token);
    for (ofi_etcd_lease **pp = &p->leases[b]; *pp != NULL;) {
        ofi_etcd_lease *e = *pp;
        if (e->drop_after < now && memcmp(e->token.bytes, rec->token.bytes, 16) != 0) {
            *pp = e->next;
            free(e);
            p->lease_count--;
        } else {
            pp = &e->next;
        }
    }
    ofi_etcd_lease *e = find_locked(p, &rec->token);
    int rc = OF_OK;
    if (e == NULL) {
        e = malloc(sizeof *e);
        if (e == NULL) {
            rc = ofi_fail(OF_ERR_NOMEM, "etcd: lease record");
        } else {
            *e = *rec;
            e->next = p->leases[b];
            p->leases[b] = e;
            p->lease_count++;
        }
    } else {
        ofi_etcd_lease *next = e->next;
        *e = *rec;
        e->next = next;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void lease_drop(ofi_etcd_provider *p, const of_lock_token *t)
{
    pthread_mutex_lock(&p->mu);
    for (ofi_etcd_lease **pp = &p->leases[bucket_of(t)]; *pp != NULL; pp = &(*pp)->next) {
        if (memcmp((*pp)->token.bytes, t->bytes, 16) == 0) {
            ofi_etcd_lease *e = *pp;
            *pp = e->next;
            free(e);
            p->lease_count--;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* A contender of this provider found the name held by lease @p id. If that lease is one of ours
 * whose bound has passed (its handle's valid_until is over, so nobody may rely on it), mark it
 * dead so that no renewal in flight can revive it, and return 1: the caller revokes it instead
 * of waiting for etcd's lessor, which deletes expired leases only every 500 ms. */
static int claim_expired(ofi_etcd_provider *p, int64_t id)
{
    int64_t now = ofi_now_ns();
    int found = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t b = 0; b < OFI_ETCD_LEASE_BUCKETS && !found; b++)
        for (ofi_etcd_lease *e = p->leases[b]; e != NULL; e = e->next)
            if (e->id == id && e->granted && !e->dead && now >= e->alive_until) {
                e->dead = 1;
                e->alive_until = INT64_MIN;
                found = 1;
                break;
            }
    pthread_mutex_unlock(&p->mu);
    return found;
}

/* Store the record of a successful extend, unless the lease was claimed dead meanwhile (0). */
static int commit_extend(ofi_etcd_provider *p, const ofi_etcd_lease *rec)
{
    pthread_mutex_lock(&p->mu);
    ofi_etcd_lease *e = find_locked(p, &rec->token);
    int ok = e != NULL && !e->dead;
    if (ok) {
        ofi_etcd_lease *next = e->next;
        *e = *rec;
        e->next = next;
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

size_t ofi_etcd_lease_count(ofi_etcd_provider *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->lease_count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* A step on @p t answered UNKNOWN (or a release failed): the engine queued a cleanup, so the
 * release that comes for this token is that cleanup, and its log lines say so. */
static void mark_cleanup(ofi_etcd_provider *p, const of_lock_token *t)
{
    pthread_mutex_lock(&p->mu);
    ofi_etcd_lease *e = find_locked(p, t);
    if (e != NULL)
        e->cleanup = 1;
    pthread_mutex_unlock(&p->mu);
}

static int64_t drop_time(int64_t now, int64_t ttl_s)
{
    return ofi_add_sat_ns(now, (2 * ttl_s + 60) * OFI_NS_PER_SEC);
}

/* ---- single requests ---------------------------------------------------------------------- */

static int64_t new_lease_id(ofi_etcd_provider *p)
{
    uint64_t s = p->id_key ^ atomic_fetch_add(&p->id_seq, 1);
    int64_t id = (int64_t)(ofi_splitmix64(&s) & (uint64_t)INT64_MAX);
    return id != 0 ? id : 1;
}

/* The step name of a release that is the engine's cleanup of an unknown outcome. */
static const char STEP_CLEANUP[] = "cleanup";

/* A reply that parsed as JSON but lacks what the step needs: logged against the member that
 * sent it. */
static int bad_reply(ofi_etcd_provider *p, const ofi_etcd_why *w, const char *what)
{
    ofi_etcd_log(&p->client, w->ep, w, OFI_PLOG_PARSE, OF_LOCK_LOG_ERROR,
                 "malformed %s reply", what);
    return ofi_fail(OF_ERR_PROTOCOL, "etcd: malformed %s reply", what);
}

/* Grant lease @p id for @p ttl_s seconds. *granted_s: the TTL the server gave (it raises TTLs
 * below its minimum). OF_ERR_EXISTS if the id is taken. */
static int lease_grant(ofi_etcd_provider *p, ofi_etcd_why *w, int64_t id, uint32_t ttl_s,
                       int64_t deadline, int64_t *granted_s)
{
    char ids[24], ttls[24];
    i64_text(id, ids);
    i64_text(ttl_s, ttls);
    json_t *req = json_pack("{s:s, s:s}", "ID", ids, "TTL", ttls);
    if (req == NULL)
        return ofi_fail(OF_ERR_NOMEM, "etcd: building a request");
    json_t *r = NULL;
    int grpc = -1;
    int rc = ofi_etcd_post(&p->client, w, "/v3/lease/grant", req, deadline, &r, &grpc);
    json_decref(req);
    if (rc != OF_OK) {
        if (grpc == OFI_GRPC_FAILED_PRECONDITION && strstr(ofi_error_detail(), "exists") != NULL)
            return ofi_fail(OF_ERR_EXISTS, "etcd: lease id in use");
        return rc;
    }
    int64_t got_id = 0, ttl = 0;
    if (ofi_etcd_get_i64(r, "ID", 0, &got_id) != 0 || ofi_etcd_get_i64(r, "TTL", 0, &ttl) != 0 ||
        got_id != id || ttl < 1)
        rc = bad_reply(p, w, "lease grant");
    else
        *granted_s = ttl;
    json_decref(r);
    return rc;
}

/* POST {"ID": "<id>"} to @p path (a lease request that names only the lease); *out: the reply
 * (json_decref), set as ofi_etcd_post sets it. */
static int lease_post(ofi_etcd_provider *p, ofi_etcd_why *w, const char *path, int64_t id,
                      int64_t deadline, json_t **out)
{
    char ids[24];
    i64_text(id, ids);
    json_t *req = json_pack("{s:s}", "ID", ids);
    if (req == NULL)
        return ofi_fail(OF_ERR_NOMEM, "etcd: building a request");
    int rc = ofi_etcd_post(&p->client, w, path, req, deadline, out, NULL);
    json_decref(req);
    return rc;
}

/* Revoke lease @p id (deleting the keys attached to it). OF_OK, OF_ERR_NOT_FOUND, or a
 * transport error. */
static int lease_revoke(ofi_etcd_provider *p, ofi_etcd_why *w, int64_t id, int64_t deadline)
{
    json_t *r = NULL;
    int rc = lease_post(p, w, "/v3/lease/revoke", id, deadline, &r);
    json_decref(r);
    return rc;
}

/* Best-effort revoke for cleanup paths: keeps the caller's status and detail. Returns the
 * revoke's status (OF_OK also for id 0; OF_ERR_UNAVAILABLE when no time was left). In the
 * engine's cleanup a failure is a WARN line: the lease then holds no key but stays until its TTL
 * ends. */
static int lease_revoke_quiet(ofi_etcd_provider *p, ofi_etcd_why *w, int64_t id, int64_t deadline)
{
    if (id == 0)
        return OF_OK;
    if (ofi_now_ns() >= deadline) {
        if (w->step == STEP_CLEANUP)
            ofi_etcd_log(&p->client, -1, w, OFI_PLOG_REVOKE, OF_LOCK_LOG_WARN,
                         "no time left to revoke lease %lld: it ends with its TTL", (long long)id);
        return OF_ERR_UNAVAILABLE;
    }
    char keep[512];
    snprintf(keep, sizeof keep, "%s", ofi_error_detail());
    int rc = lease_revoke(p, w, id, deadline);
    if (rc != OF_OK && rc != OF_ERR_NOT_FOUND && w->step == STEP_CLEANUP)
        ofi_etcd_log(&p->client, w->ep, w, OFI_PLOG_REVOKE, OF_LOCK_LOG_WARN,
                     "revoking lease %lld failed (%s: %s): it ends with its TTL", (long long)id,
                     of_status_name(rc), ofi_error_detail());
    ofi_fail(0, "%s", keep);
    return rc;
}

/* One keep-alive of lease @p id. *ttl_s: its TTL now (0: the lease is gone; on an expired lease
 * not yet revoked, etcd answers only once the revocation is done, so 0 is final). */
static int lease_keepalive(ofi_etcd_provider *p, ofi_etcd_why *w, int64_t id, int64_t deadline,
                           int64_t *ttl_s)
{
    json_t *r = NULL;
    int rc = lease_post(p, w, "/v3/lease/keepalive", id, deadline, &r);
    if (rc != OF_OK)
        return rc;
    json_t *res = json_object_get(r, "result");
    if (!json_is_object(res) || ofi_etcd_get_i64(res, "TTL", 0, ttl_s) != 0)
        rc = bad_reply(p, w, "lease keepalive");
    json_decref(r);
    return rc;
}

/* A transaction; *succeeded from the reply, *out the reply (json_decref). */
static int txn(ofi_etcd_provider *p, ofi_etcd_why *w, json_t *req, int64_t deadline,
               int *succeeded, json_t **out)
{
    if (req == NULL)
        return ofi_fail(OF_ERR_NOMEM, "etcd: building a transaction");
    json_t *r = NULL;
    int rc = ofi_etcd_post(&p->client, w, "/v3/kv/txn", req, deadline, &r, NULL);
    json_decref(req);
    if (rc != OF_OK)
        return rc;
    const json_t *s = json_object_get(r, "succeeded");
    if (s != NULL && !json_is_boolean(s)) {
        json_decref(r);
        return bad_reply(p, w, "txn");
    }
    *succeeded = s != NULL && json_is_true(s);
    *out = r;
    return OF_OK;
}

/* The n-th response of a txn reply, of kind @p kind ("response_range", ...). */
static json_t *txn_response(json_t *r, size_t n, const char *kind)
{
    return json_object_get(json_array_get(json_object_get(r, "responses"), n), kind);
}

/* ---- the steps ---------------------------------------------------------------------------- */

/* A step ends by the engine's deadline or after the command timeout, whichever comes first. */
static int64_t step_deadline(const ofi_etcd_provider *p, int64_t deadline_ns)
{
    int64_t own = ofi_add_sat_ns(ofi_now_ns(),
                                 (int64_t)p->client.cfg.command_timeout_ms * OFI_NS_PER_MS);
    return own < deadline_ns ? own : deadline_ns;
}

static int etcd_try_acquire(void *self, const void *name, size_t name_len,
                            const of_lock_token *token, uint32_t ttl_ms, int64_t deadline_ns,
                            uint64_t *out_fence, int64_t *out_valid_until_ns,
                            uint32_t *out_retry_after_ms)
{
    ofi_etcd_provider *p = self;
    deadline_ns = step_deadline(p, deadline_ns);
    (void)out_retry_after_ms;
    ofi_etcd_why w = {"acquire", name, name_len, -1};
    uint32_t ttl_s = ttl_seconds(ttl_ms);
    char *key = ofi_etcd_key_b64(p, name, name_len);
    char *val = token_b64(token);
    int rc = OF_OK;
    if (key == NULL || val == NULL) {
        rc = ofi_fail(OF_ERR_NOMEM, "etcd: encoding the key");
        goto out;
    }
    ofi_etcd_lease rec = {0}; /* lease_get fills it only when found; -O3 cannot see that */
    memset(&rec, 0, sizeof rec);
    rec.token = *token;
    rec.asked_s = ttl_s;
    int64_t granted = 0, t_send = 0;
    for (int tries = 0;; tries++) {
        rec.id = new_lease_id(p);
        rec.granted = 0;
        t_send = ofi_now_coarse_ns();
        rec.drop_after = drop_time(t_send, ttl_s);
        /* Recorded before sending: if the grant goes unanswered, the engine's cleanup release
         * finds the lease to revoke. */
        if ((rc = lease_put(p, &rec)) != OF_OK)
            goto out;
        rc = lease_grant(p, &w, rec.id, ttl_s, deadline_ns, &granted);
        if (rc != OF_ERR_EXISTS || tries == 2)
            break;
    }
    if (rc != OF_OK) {
        if (rc != OF_ERR_UNKNOWN)
            lease_drop(p, token);
        if (rc == OF_ERR_EXISTS)
            rc = ofi_fail(OF_ERR_PROTOCOL, "etcd: lease ids keep colliding");
        goto out;
    }
    rec.granted = 1;
    rec.alive_until = t_send + granted * OFI_NS_PER_SEC - drift_ns(granted);
    rec.drop_after = drop_time(ofi_now_ns(), granted);
    if ((rc = lease_put(p, &rec)) != OF_OK) {
        (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
        goto out;
    }
    char ids[24];
    i64_text(rec.id, ids);
    int ok = 0;
    json_t *r = NULL;
    int claimed = 0;
again:
    rc = txn(p, &w,
             json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:{s:s, s:s, s:s}}, {s:{s:s}}],"
                       " s:[{s:{s:s}}]}",
                       "compare", "target", "CREATE", "key", key, "create_revision", "0",
                       "result", "EQUAL",
                       "success", "request_put", "key", key, "value", val, "lease", ids,
                       "request_range", "key", key,
                       "failure", "request_range", "key", key),
             deadline_ns, &ok, &r);
    if (rc == OF_ERR_UNKNOWN)
        goto out; /* the record stays: the cleanup deletes the key if it landed, and the lease */
    if (rc != OF_OK) {
        (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
        lease_drop(p, token);
        goto out;
    }
    json_t *kv = json_array_get(json_object_get(txn_response(r, ok ? 1 : 0, "response_range"),
                                                "kvs"), 0);
    int64_t create_rev = 0, rev = 0;
    if (ofi_etcd_get_i64(json_object_get(r, "header"), "revision", 0, &rev) != 0 ||
        ofi_etcd_get_i64(kv, "create_revision", 0, &create_rev) != 0) {
        rc = bad_reply(p, &w, "txn");
    } else if (ok) {
        if (create_rev < 1 || (uint64_t)create_rev > OF_LOCK_FENCE_MAX) {
            ofi_etcd_log(&p->client, w.ep, &w, OFI_PLOG_PARSE, OF_LOCK_LOG_ERROR,
                         "create revision %lld outside 1..2^53-1", (long long)create_rev);
            rc = ofi_fail(OF_ERR_PROTOCOL, "etcd: create revision %lld outside 1..2^53-1",
                          (long long)create_rev);
        } else {
            *out_fence = (uint64_t)create_rev;
            if (rec.alive_until < *out_valid_until_ns)
                *out_valid_until_ns = rec.alive_until;
        }
    } else {
        int64_t holder = 0;
        if (!claimed && ofi_etcd_get_i64(kv, "lease", 0, &holder) == 0 && holder != 0 &&
            claim_expired(p, holder)) {
            /* Our own lease that ran out: free the name now and try once more. */
            claimed = 1;
            json_decref(r);
            r = NULL;
            (void)lease_revoke_quiet(p, &w, holder, deadline_ns);
            goto again;
        }
        rc = ofi_fail_plain(OF_ERR_BUSY);
        busy_hint.p = p;
        busy_hint.name_hash = of_hash64(name, name_len, 0);
        busy_hint.name_len = name_len;
        busy_hint.revision = rev;
        /* This attempt's lease holds nothing; the next attempt grants its own. */
        (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
        lease_drop(p, token);
    }
    json_decref(r);
    if (rc != OF_OK && rc != OF_ERR_BUSY) {
        /* A reply we cannot read: give back whatever the transaction did. */
        (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
        lease_drop(p, token);
    }
out:
    if (rc == OF_ERR_UNKNOWN)
        mark_cleanup(p, token);
    free(key);
    free(val);
    return rc;
}

static int etcd_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                        int64_t deadline_ns)
{
    ofi_etcd_provider *p = self;
    deadline_ns = step_deadline(p, deadline_ns);
    ofi_etcd_lease rec = {0}; /* lease_get fills it only when found; -O3 cannot see that */
    int have = lease_get(p, token, &rec);
    int cleanup = have && rec.cleanup;
    ofi_etcd_why w = {cleanup ? STEP_CLEANUP : "release", name, name_len, -1};
    int rc;
    if (have && !rec.granted) {
        /* The grant went unanswered, so the transaction was never sent: revoking the lease (if
         * the grant landed at all) is the whole cleanup. */
        rc = lease_revoke(p, &w, rec.id, deadline_ns);
        if (rc == OF_OK) {
            ofi_etcd_log(&p->client, w.ep, &w, -1, OF_LOCK_LOG_INFO,
                         "done: revoked lease %lld, whose grant went unanswered",
                         (long long)rec.id);
            lease_drop(p, token);
            return OF_OK;
        }
        if (rc == OF_ERR_NOT_FOUND) {
            /* The grant has not landed (yet): the engine asks again until its TTL is over. */
            ofi_etcd_log(&p->client, w.ep, &w, OFI_PLOG_CLEANUP, OF_LOCK_LOG_DEBUG,
                         "lease %lld not found: its unanswered grant has not landed",
                         (long long)rec.id);
            return ofi_fail_plain(OF_ERR_NOT_OWNER);
        }
        ofi_etcd_log(&p->client, w.ep, &w, OFI_PLOG_REVOKE, OF_LOCK_LOG_WARN,
                     "revoking lease %lld, whose grant went unanswered, failed (%s): the engine "
                     "tries again", (long long)rec.id, of_status_name(rc));
        return rc;
    }
    if (have && ofi_now_ns() >= rec.alive_until) {
        /* The lease may have run out on the server while its key waits for the lessor to delete
         * it: ask the lease itself (etcd answers a keep-alive on an expired lease only after
         * revoking it). */
        int64_t ttl = 0;
        rc = lease_keepalive(p, &w, rec.id, deadline_ns, &ttl);
        if (rc != OF_OK) {
            mark_cleanup(p, token);
            return rc;
        }
        if (ttl == 0) {
            if (cleanup)
                ofi_etcd_log(&p->client, w.ep, &w, -1, OF_LOCK_LOG_INFO,
                             "done: lease %lld has already ended", (long long)rec.id);
            lease_drop(p, token);
            return ofi_fail_plain(OF_ERR_NOT_OWNER);
        }
    }
    char *key = ofi_etcd_key_b64(p, name, name_len);
    char *val = token_b64(token);
    if (key == NULL || val == NULL) {
        free(key);
        free(val);
        return ofi_fail(OF_ERR_NOMEM, "etcd: encoding the key");
    }
    int ok = 0;
    json_t *r = NULL;
    rc = txn(p, &w,
             json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:{s:s, s:b}}]}",
                       "compare", "target", "VALUE", "key", key, "value", val, "result", "EQUAL",
                       "success", "request_delete_range", "key", key, "prev_kv", 1),
             deadline_ns, &ok, &r);
    free(key);
    free(val);
    if (rc != OF_OK) {
        mark_cleanup(p, token); /* the engine queues a cleanup for what stays */
        return rc;
    }
    int64_t lease = 0;
    if (ok) {
        json_t *kv = json_array_get(
            json_object_get(txn_response(r, 0, "response_delete_range"), "prev_kvs"), 0);
        (void)ofi_etcd_get_i64(kv, "lease", 0, &lease);
    }
    json_decref(r);
    /* The key is gone (or was never ours): its lease, and ours, have nothing left to hold. */
    int rv = lease_revoke_quiet(p, &w, lease, deadline_ns);
    int64_t revoked = lease;
    if (have && rec.id != lease) {
        int rv2 = lease_revoke_quiet(p, &w, rec.id, deadline_ns);
        if (rv == OF_OK)
            rv = rv2;
        if (revoked == 0)
            revoked = rec.id;
    }
    if (cleanup) {
        const char *how = rv == OF_OK || rv == OF_ERR_NOT_FOUND ? "revoked" : "could not revoke";
        if (ok)
            ofi_etcd_log(&p->client, w.ep, &w, -1, OF_LOCK_LOG_INFO,
                         "done: deleted the key an unknown outcome left, %s lease %lld", how,
                         (long long)revoked);
        else
            ofi_etcd_log(&p->client, w.ep, &w, -1, OF_LOCK_LOG_INFO,
                         "done: the key is not ours (the request did not land), %s lease %lld",
                         how, (long long)revoked);
    }
    lease_drop(p, token);
    return ok ? OF_OK : ofi_fail_plain(OF_ERR_NOT_OWNER);
}

static int etcd_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                       uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns)
{
    ofi_etcd_provider *p = self;
    deadline_ns = step_deadline(p, deadline_ns);
    ofi_etcd_why w = {"extend", name, name_len, -1};
    ofi_etcd_lease rec = {0}; /* lease_get fills it only when found; -O3 cannot see that */
    if (!lease_get(p, token, &rec) || !rec.granted || rec.dead)
        return ofi_fail(OF_ERR_NOT_OWNER, "etcd: no live lease for this token");
    uint32_t ttl_s = ttl_seconds(ttl_ms);
    char *key = ofi_etcd_key_b64(p, name, name_len);
    char *val = token_b64(token);
    int rc;
    if (key == NULL || val == NULL) {
        rc = ofi_fail(OF_ERR_NOMEM, "etcd: encoding the key");
        goto out;
    }
    char ids[24];
    i64_text(rec.id, ids);
    int64_t t_send = ofi_now_coarse_ns(), granted = 0;
    int ok = 0;
    json_t *r = NULL;
    if (ttl_s == rec.asked_s) {
        /* Same TTL: renew the lease, then check the key is still ours on it (an expired lease
         * answers 0 only after its keys are gone, so a renewed one still held them). */
        rc = lease_keepalive(p, &w, rec.id, deadline_ns, &granted);
        if (rc != OF_OK)
            goto out;
        if (granted == 0) {
            lease_drop(p, token);
            rc = ofi_fail_plain(OF_ERR_NOT_OWNER);
            goto out;
        }
        rc = txn(p, &w,
                 json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}",
                           "compare", "target", "VALUE", "key", key, "value", val, "result",
                           "EQUAL", "target", "LEASE", "key", key, "lease", ids, "result",
                           "EQUAL"),
                 deadline_ns, &ok, &r);
        json_decref(r);
        if (rc != OF_OK)
            goto out;
        if (!ok) {
            (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
            lease_drop(p, token);
            rc = ofi_fail_plain(OF_ERR_NOT_OWNER);
            goto out;
        }
    } else {
        /* Another TTL: an etcd lease's TTL is fixed, so move the key onto a new lease (a put on
         * an existing key keeps its create revision, so the fence stands). */
        ofi_etcd_lease next = rec;
        next.asked_s = ttl_s;
        rc = OF_ERR_EXISTS;
        for (int tries = 0; rc == OF_ERR_EXISTS && tries < 3; tries++) {
            next.id = new_lease_id(p);
            t_send = ofi_now_coarse_ns();
            rc = lease_grant(p, &w, next.id, ttl_s, deadline_ns, &granted);
        }
        if (rc == OF_ERR_EXISTS)
            rc = ofi_fail(OF_ERR_PROTOCOL, "etcd: lease ids keep colliding");
        if (rc != OF_OK)
            goto out;
        char nids[24];
        i64_text(next.id, nids);
        rc = txn(p, &w,
                 json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}],"
                           " s:[{s:{s:s, s:s, s:s}}]}",
                           "compare", "target", "VALUE", "key", key, "value", val, "result",
                           "EQUAL", "target", "LEASE", "key", key, "lease", ids, "result",
                           "EQUAL",
                           "success", "request_put", "key", key, "value", val, "lease", nids),
                 deadline_ns, &ok, &r);
        json_decref(r);
        if (rc == OF_ERR_UNKNOWN) {
            /* The key may be on either lease now; the cleanup deletes it by value and revokes
             * the lease it finds; the old one runs out by itself. */
            next.alive_until = 0;
            next.drop_after = drop_time(ofi_now_ns(), granted);
            (void)lease_put(p, &next);
            rc = OF_ERR_UNKNOWN;
            goto out;
        }
        if (rc != OF_OK || !ok) {
            (void)lease_revoke_quiet(p, &w, next.id, deadline_ns);
            if (rc == OF_OK) {
                (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
                lease_drop(p, token);
                rc = ofi_fail_plain(OF_ERR_NOT_OWNER);
            }
            goto out;
        }
        (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
        rec = next;
    }
    rec.alive_until = t_send + granted * OFI_NS_PER_SEC - drift_ns(granted);
    rec.drop_after = drop_time(ofi_now_ns(), granted);
    if (!commit_extend(p, &rec)) {
        /* A contender of this provider revoked it as run out while we renewed. */
        (void)lease_revoke_quiet(p, &w, rec.id, deadline_ns);
        rc = ofi_fail_plain(OF_ERR_NOT_OWNER);
        goto out;
    }
    if (rec.alive_until < *out_valid_until_ns)
        *out_valid_until_ns = rec.alive_until;
    rc = OF_OK;
out:
    if (rc == OF_ERR_UNKNOWN)
        mark_cleanup(p, token);
    free(key);
    free(val);
    return rc;
}

typedef struct watch_ctx {
    int woke;
} watch_ctx;

static int on_watch(void *arg, json_t *msg)
{
    watch_ctx *w = arg;
    if (json_array_size(json_object_get(msg, "events")) > 0 ||
        json_is_true(json_object_get(msg, "canceled"))) {
        /* A deletion (puts are filtered out), or a watch etcd ended itself (e.g. the revision
         * was compacted): either way, try again. */
        w->woke = 1;
        return 1;
    }
    return 0;
}

static int etcd_wait_release(void *self, const void *name, size_t name_len, int64_t until_ns)
{
    ofi_etcd_provider *p = self;
    ofi_etcd_why w = {"wait", name, name_len, -1};
    char *key = ofi_etcd_key_b64(p, name, name_len);
    if (key == NULL)
        return ofi_fail(OF_ERR_NOMEM, "etcd: encoding the key");
    int64_t now = ofi_now_ns();
    int64_t cap = until_ns < ofi_add_sat_ns(now, WATCH_CAP_NS) ? until_ns
                                                                : ofi_add_sat_ns(now, WATCH_CAP_NS);
    int64_t from = 0;
    int rc = OF_OK;
    if (busy_hint.p == p && busy_hint.name_len == name_len &&
        busy_hint.name_hash == of_hash64(name, name_len, 0)) {
        from = busy_hint.revision + 1;
    } else {
        /* No fresh BUSY answer on this thread: look first, then watch from what we saw. */
        json_t *r = NULL;
        json_t *req = json_pack("{s:s, s:b}", "key", key, "count_only", 1);
        rc = req != NULL ? ofi_etcd_post(&p->client, &w, "/v3/kv/range", req,
                                         step_deadline(p, cap), &r, NULL)
                         : ofi_fail(OF_ERR_NOMEM, "etcd: building a request");
        json_decref(req);
        int64_t count = 0, rev = 0;
        if (rc == OF_OK && (ofi_etcd_get_i64(r, "count", 0, &count) != 0 ||
                            ofi_etcd_get_i64(json_object_get(r, "header"), "revision", 0, &rev) != 0))
            rc = bad_reply(p, &w, "range");
        json_decref(r);
        if (rc == OF_OK && count == 0) {
            free(key);
            return OF_OK;
        }
        from = rev + 1;
    }
    busy_hint.p = NULL;
    if (rc == OF_OK) {
        char froms[24];
        i64_text(from, froms);
        json_t *req = json_pack("{s:{s:s, s:s, s:[s]}}", "create_request", "key", key,
                                "start_revision", froms, "filters", "NOPUT");
        watch_ctx wc = {0};
        rc = req != NULL ? ofi_etcd_stream(&p->client, &w, "/v3/watch", req, cap, on_watch, &wc)
                         : ofi_fail(OF_ERR_NOMEM, "etcd: building a request");
        json_decref(req);
        if (rc == OF_ERR_TIMEOUT && cap < until_ns)
            rc = OF_OK; /* re-armed by the engine's next attempt */
    }
    free(key);
    return rc;
}

static void etcd_destroy(void *self)
{
    ofi_etcd_provider *p = self;
    for (size_t b = 0; b < OFI_ETCD_LEASE_BUCKETS; b++) {
        while (p->leases[b] != NULL) {
            ofi_etcd_lease *e = p->leases[b];
            p->leases[b] = e->next;
            free(e);
        }
    }
    ofi_etcd_client_fini(&p->client);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static const of_lock_provider_ops etcd_ops = {
    .abi_version = OF_LOCK_PROVIDER_ABI,
    .struct_size = sizeof(of_lock_provider_ops),
    .name = "etcd",
    .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_WAIT |
            OF_LOCK_CAP_SHARED,
    .reserved0 = 0,
    .try_acquire = etcd_try_acquire,
    .release = etcd_release,
    .extend = etcd_extend,
    .wait_release = etcd_wait_release,
    .destroy = etcd_destroy,
};

int ofi_etcd_provider_create(ofi_etcd_config *cfg, of_lock_provider **out_provider)
{
    ofi_etcd_provider *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ofi_fail(OF_ERR_NOMEM, "allocating the etcd provider");
    if (getrandom(&p->id_key, sizeof p->id_key, 0) != (ssize_t)sizeof p->id_key) {
        free(p);
        return ofi_fail(OF_ERR_UNAVAILABLE, "etcd: no OS randomness for lease ids");
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return ofi_fail(OF_ERR_NOMEM, "pthread_mutex_init");
    }
    atomic_init(&p->id_seq, 0);
    int rc = ofi_etcd_client_init(&p->client, cfg);
    if (rc != OF_OK) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return rc;
    }
    of_lock_provider *prov = NULL;
    rc = of_lock_provider_create(&etcd_ops, p, &prov);
    if (rc != OF_OK) {
        /* Hand the configuration back so the caller still owns (and frees) it. */
        *cfg = p->client.cfg;
        memset(&p->client.cfg, 0, sizeof p->client.cfg);
        etcd_destroy(p);
        return rc;
    }
    ofi_etcd_client_attach_log(&p->client, prov);
    *out_provider = prov;
    return OF_OK;
}

/* Both public create functions end here: make the provider from a parsed configuration, which
 * is freed either way (on success the client has taken its strings, leaving it empty). */
static int create_from(int parse_rc, ofi_etcd_config *cfg, of_lock_provider **out_provider)
{
    if (parse_rc != OF_OK)
        return parse_rc;
    int rc = ofi_etcd_provider_create(cfg, out_provider);
    ofi_etcd_config_free(cfg);
    return rc;
}

OF_API int of_lock_etcd_create(const of_lock_etcd_options *opts, of_lock_provider **out_provider)
{
    if (out_provider == NULL)
        return ofi_fail(OF_ERR_INVALID, "out_provider is NULL");
    ofi_etcd_config cfg;
    return create_from(ofi_etcd_config_from_options(opts, &cfg), &cfg, out_provider);
}

OF_API int of_lock_etcd_create_url(const char *url, of_lock_provider **out_provider)
{
    if (out_provider == NULL)
        return ofi_fail(OF_ERR_INVALID, "out_provider is NULL");
    ofi_etcd_config cfg;
    return create_from(ofi_etcd_config_from_url(url, &cfg), &cfg, out_provider);
}
