/* The Redis lock provider: the engine's vtable over one pooled Redis server (hiredis). */
#include "lock/providers/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "lock/providers/redis_scripts.h"

static const ofi_redis_script scripts[3] = {
    {OFI_REDIS_ACQUIRE_SHA, OFI_REDIS_ACQUIRE_LUA, "acquire"},
    {OFI_REDIS_RELEASE_SHA, OFI_REDIS_RELEASE_LUA, "release"},
    {OFI_REDIS_EXTEND_SHA, OFI_REDIS_EXTEND_LUA, "extend"},
};
#define acquire_script (scripts[0])
#define release_script (scripts[1])
#define extend_script (scripts[2])

const ofi_redis_script *ofi_redis_scripts(size_t *count)
{
    *count = sizeof scripts / sizeof scripts[0];
    return scripts;
}

OF_API int of_lock_redis_available(void)
{
    return 1;
}

/* Decimal text of @p v into @p buf (at least 21 bytes); returns the length. */
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

/* The server's expiry timer and our monotonic clock may run at slightly different rates: shave
 * 1% of the TTL plus 2 ms off the engine's conservative valid_until (as Redlock does). */
static int64_t drift_ns(uint32_t ttl_ms)
{
    return ((int64_t)ttl_ms / 100 + 2) * OFI_NS_PER_MS;
}

/* Lock key (and, when @p fence_key_len is non-NULL, the fence key) into the connection's
 * scratch buffer. */
static void make_keys(const ofi_redis_provider *p, ofi_redis_conn *c, const void *name,
                      size_t name_len, size_t *lock_len, char **fence_key, size_t *fence_len)
{
    const ofi_redis_config *cfg = &p->pool.cfg;
    *lock_len = ofi_redis_key(cfg->prefix, cfg->prefix_len, name, name_len, OFI_REDIS_LOCK_SUFFIX,
                              c->keys);
    if (fence_key != NULL) {
        *fence_key = c->keys + OFI_REDIS_KEY_CAP(cfg->prefix_len);
        *fence_len = ofi_redis_key(cfg->prefix, cfg->prefix_len, name, name_len,
                                   OFI_REDIS_FENCE_SUFFIX, *fence_key);
    }
}


int ofi_redis_try_acquire(void *self, const void *name, size_t name_len,
                          const of_lock_token *token, uint32_t ttl_ms, int64_t deadline_ns,
                          uint64_t *out_fence, int64_t *out_valid_until_ns,
                          uint32_t *out_retry_after_ms)
{
    ofi_redis_provider *p = self;
    ofi_redis_conn *c;
    int rc = ofi_redis_checkout(&p->pool, deadline_ns, &c);
    if (rc != OF_OK)
        return rc;
    char tok[OF_LOCK_TOKEN_HEX_LEN + 1], ttl[24];
    of_lock_token_to_hex(token, tok);
    size_t ttl_len = u64_text(ttl_ms, ttl);
    size_t lock_len, fence_len;
    char *fence_key;
    make_keys(p, c, name, name_len, &lock_len, &fence_key, &fence_len);
    const char *args[5] = {c->keys, fence_key, tok, ttl, OFI_REDIS_FENCE_TTL_MS};
    size_t lens[5] = {lock_len, fence_len, OF_LOCK_TOKEN_HEX_LEN, ttl_len,
                      sizeof OFI_REDIS_FENCE_TTL_MS - 1};
    redisReply *r = NULL;
    rc = ofi_redis_eval(c, &acquire_script, 2, 5, args, lens, &r);
    if (rc == OF_OK) {
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_INTEGER &&
            r->element[1]->type == REDIS_REPLY_INTEGER) {
            long long ok = r->element[0]->integer, v = r->element[1]->integer;
            if (ok == 1 && v >= 1 && (uint64_t)v <= OF_LOCK_FENCE_MAX) {
                *out_fence = (uint64_t)v;
                *out_valid_until_ns -= drift_ns(ttl_ms);
            } else if (ok == 0) {
                rc = ofi_fail_plain(OF_ERR_BUSY);
                /* The holder's remaining lease caps the engine's jittered backoff: no point
                 * sleeping past the moment the lease ends by itself. */
                if (v > 0)
                    *out_retry_after_ms = v > (long long)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            } else {
                rc = ofi_fail(OF_ERR_PROTOCOL, "acquire: unexpected reply {%lld, %lld}", ok, v);
                ofi_redis_log_unexpected(&p->pool, "acquire", name, name_len, ofi_error_detail());
            }
        } else {
            rc = ofi_redis_bad_reply(&p->pool, r, "acquire", name, name_len);
        }
        freeReplyObject(r);
    }
    ofi_redis_checkin(c);
    return rc;
}

/* release and extend: a compare-and-X script answering 1 (done) or 0 (not ours). */
static int compare_and(ofi_redis_provider *p, const ofi_redis_script *script, const char *what,
                       const void *name, size_t name_len, const of_lock_token *token,
                       const char *ttl, size_t ttl_len, int64_t deadline_ns)
{
    ofi_redis_conn *c;
    int rc = ofi_redis_checkout(&p->pool, deadline_ns, &c);
    if (rc != OF_OK)
        return rc;
    char tok[OF_LOCK_TOKEN_HEX_LEN + 1];
    of_lock_token_to_hex(token, tok);
    size_t lock_len;
    make_keys(p, c, name, name_len, &lock_len, NULL, NULL);
    const char *args[3] = {c->keys, tok, ttl};
    size_t lens[3] = {lock_len, OF_LOCK_TOKEN_HEX_LEN, ttl_len};
    redisReply *r = NULL;
    rc = ofi_redis_eval(c, script, 1, ttl != NULL ? 3 : 2, args, lens, &r);
    if (rc == OF_OK) {
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            rc = OF_OK;
        else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
            rc = ofi_fail_plain(OF_ERR_NOT_OWNER);
        else
            rc = ofi_redis_bad_reply(&p->pool, r, what, name, name_len);
        freeReplyObject(r);
    }
    ofi_redis_checkin(c);
    return rc;
}

int ofi_redis_release(void *self, const void *name, size_t name_len, const of_lock_token *token,
                      int64_t deadline_ns)
{
    return compare_and(self, &release_script, "release", name, name_len, token, NULL, 0,
                       deadline_ns);
}

int ofi_redis_extend(void *self, const void *name, size_t name_len, const of_lock_token *token,
                     uint32_t ttl_ms, int64_t deadline_ns, int64_t *out_valid_until_ns)
{
    char ttl[24];
    size_t ttl_len = u64_text(ttl_ms, ttl);
    int rc = compare_and(self, &extend_script, "extend", name, name_len, token, ttl, ttl_len,
                         deadline_ns);
    if (rc == OF_OK)
        *out_valid_until_ns -= drift_ns(ttl_ms);
    return rc;
}

static void redis_destroy(void *self)
{
    ofi_redis_provider *p = self;
    ofi_redis_pool_fini(&p->pool);
    free(p);
}

static const of_lock_provider_ops redis_ops = {
    .abi_version = OF_LOCK_PROVIDER_ABI,
    .struct_size = sizeof(of_lock_provider_ops),
    .name = "redis",
    .caps = OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED,
    .reserved0 = 0,
    .try_acquire = ofi_redis_try_acquire,
    .release = ofi_redis_release,
    .extend = ofi_redis_extend,
    .wait_release = NULL,
    .destroy = redis_destroy,
};

int ofi_redis_provider_create(const ofi_redis_config *cfg, of_lock_provider **out_provider)
{
    ofi_redis_provider *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ofi_fail(OF_ERR_NOMEM, "allocating the redis provider");
    int rc = ofi_redis_pool_init(&p->pool, cfg);
    if (rc != OF_OK) {
        free(p);
        return rc;
    }
    of_lock_provider *prov = NULL;
    rc = of_lock_provider_create(&redis_ops, p, &prov);
    if (rc != OF_OK) {
        ofi_redis_pool_fini(&p->pool);
        free(p);
        return rc;
    }
    ofi_redis_pool_attach_log(&p->pool, "redis", prov);
    *out_provider = prov;
    return OF_OK;
}

/* Both public create functions end here: make the provider from a parsed configuration, which
 * is freed either way (the pool keeps its own copy). */
static int create_from(int parse_rc, ofi_redis_config *cfg, of_lock_provider **out_provider)
{
    if (parse_rc != OF_OK)
        return parse_rc;
    int rc = ofi_redis_provider_create(cfg, out_provider);
    ofi_redis_config_free(cfg);
    return rc;
}

OF_API int of_lock_redis_create(const of_lock_redis_options *opts,
                                of_lock_provider **out_provider)
{
    if (out_provider == NULL)
        return ofi_fail(OF_ERR_INVALID, "out_provider is NULL");
    ofi_redis_config cfg;
    return create_from(ofi_redis_config_from_options(opts, &cfg), &cfg, out_provider);
}

OF_API int of_lock_redis_create_url(const char *url, of_lock_provider **out_provider)
{
    if (out_provider == NULL)
        return ofi_fail(OF_ERR_INVALID, "out_provider is NULL");
    ofi_redis_config cfg;
    return create_from(ofi_redis_config_from_url(url, &cfg), &cfg, out_provider);
}
