/* Options and server list of the Redlock provider (no hiredis; see redlock_config.h). */
#include "lock/providers/redlock_config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/error.h"
#include "lock/providers/provider_options.h"

/* The first released layout of of_lock_redlock_options ends after `reserved0`. */
#define OPTIONS_V1_SIZE (offsetof(of_lock_redlock_options, reserved0) + sizeof(uint32_t))

_Static_assert(offsetof(of_lock_redlock_options, struct_size) == 0, "ofi_options_init sets it");

OF_API size_t of_lock_redlock_options_size(void)
{
    return sizeof(of_lock_redlock_options);
}

/* The defaults; members not named are 0 or NULL. */
static const of_lock_redlock_options default_options = {
    .struct_size = sizeof(of_lock_redlock_options),
    .connect_timeout_ms = OF_LOCK_REDLOCK_DEFAULT_CONNECT_TIMEOUT_MS,
    .command_timeout_ms = OF_LOCK_REDLOCK_DEFAULT_COMMAND_TIMEOUT_MS,
    .drift_ppm = OF_LOCK_REDLOCK_DEFAULT_DRIFT_PPM,
    .drift_extra_ms = OF_LOCK_REDLOCK_DEFAULT_DRIFT_EXTRA_MS,
};

OF_API int of_lock_redlock_options_init(of_lock_redlock_options *opts, size_t struct_size)
{
    return ofi_options_init(opts, struct_size, &default_options, OPTIONS_V1_SIZE, sizeof *opts);
}

static int check_options(const of_lock_redlock_options *in, of_lock_redlock_options *out)
{
    *out = default_options;
    if (in == NULL)
        return OF_OK;
    int rc = ofi_options_size_check("of_lock_redlock_options.struct_size", in->struct_size,
                                    OPTIONS_V1_SIZE, sizeof *in);
    if (rc != OF_OK)
        return rc;
    /* Members past the caller's struct_size keep their defaults (none yet: V1 is all). */
    memcpy(out, in, in->struct_size);
    out->struct_size = (uint32_t)sizeof *out;
    if (out->connect_timeout_ms < 1 || out->connect_timeout_ms > INT32_MAX)
        return ofi_fail(OF_ERR_INVALID, "connect_timeout_ms %u is outside 1..2^31-1",
                        (unsigned)out->connect_timeout_ms);
    if (out->command_timeout_ms < 1 || out->command_timeout_ms > INT32_MAX)
        return ofi_fail(OF_ERR_INVALID, "command_timeout_ms %u is outside 1..2^31-1",
                        (unsigned)out->command_timeout_ms);
    if (out->drift_ppm > 1000000)
        return ofi_fail(OF_ERR_INVALID, "drift_ppm %u is above 1000000 (100%%)",
                        (unsigned)out->drift_ppm);
    if (out->drift_extra_ms > INT32_MAX)
        return ofi_fail(OF_ERR_INVALID, "drift_extra_ms %u is above 2^31-1",
                        (unsigned)out->drift_extra_ms);
    if (out->reserved0 != 0)
        return ofi_fail(OF_ERR_INVALID, "reserved0 is not 0");
    return OF_OK;
}

void ofi_redlock_config_free(ofi_redlock_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->count; i++)
        ofi_redis_config_free(&cfg->servers[i]);
    memset(cfg, 0, sizeof *cfg);
}

int64_t ofi_redlock_drift_ns(uint32_t drift_ppm, uint32_t drift_extra_ms, uint32_t ttl_ms)
{
    /* ttl ms * 10^6 ns/ms * ppm / 10^6 = ttl_ms * ppm ns, exactly (at most ~2^51). */
    int64_t prop = (int64_t)ttl_ms * (int64_t)drift_ppm;
    return prop + (int64_t)drift_extra_ms * OFI_NS_PER_MS;
}

static int same_server(const ofi_redis_config *a, const ofi_redis_config *b)
{
    if ((a->unix_path != NULL) != (b->unix_path != NULL))
        return 0;
    if (a->unix_path != NULL)
        return strcmp(a->unix_path, b->unix_path) == 0;
    return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

static int check_count(size_t count)
{
    if (count < OF_LOCK_REDLOCK_MIN_SERVERS)
        return ofi_fail(OF_ERR_INVALID, "redlock needs at least %u servers, got %zu",
                        OF_LOCK_REDLOCK_MIN_SERVERS, count);
    if (count > OF_LOCK_REDLOCK_MAX_SERVERS)
        return ofi_fail(OF_ERR_INVALID, "redlock takes at most %u servers, got %zu",
                        OF_LOCK_REDLOCK_MAX_SERVERS, count);
    if (count % 2 == 0)
        return ofi_fail(OF_ERR_INVALID,
                        "redlock needs an odd number of servers, got %zu (an even count adds a "
                        "server to every quorum without tolerating one more failure)",
                        count);
    return OF_OK;
}

/* Finish @p c (servers parsed): resolve timeouts, refuse duplicates. */
static int finish(ofi_redlock_config *c, const of_lock_redlock_options *o)
{
    for (size_t i = 0; i < c->count; i++) {
        ofi_redis_config *s = &c->servers[i];
        if (!(s->url_set & OFI_REDIS_URL_SET_CONNECT_TIMEOUT))
            s->connect_timeout_ms = o->connect_timeout_ms;
        if (!(s->url_set & OFI_REDIS_URL_SET_COMMAND_TIMEOUT))
            s->command_timeout_ms = o->command_timeout_ms;
        for (size_t j = 0; j < i; j++)
            if (same_server(&c->servers[j], s))
                return ofi_fail(OF_ERR_INVALID,
                                "servers %zu and %zu are the same server (same %s): a quorum must "
                                "be independent servers",
                                j + 1, i + 1, s->unix_path != NULL ? "socket path" : "host and port");
    }
    c->drift_ppm = o->drift_ppm;
    c->drift_extra_ms = o->drift_extra_ms;
    return OF_OK;
}

int ofi_redlock_config_from_urls(const char *const *urls, size_t count,
                                 const of_lock_redlock_options *opts, ofi_redlock_config *out)
{
    if (urls == NULL || out == NULL)
        return ofi_fail(OF_ERR_INVALID, "%s is NULL", urls == NULL ? "urls" : "out");
    of_lock_redlock_options o;
    int rc = check_options(opts, &o);
    if (rc != OF_OK)
        return rc;
    rc = check_count(count);
    if (rc != OF_OK)
        return rc;
    ofi_redlock_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ofi_fail(OF_ERR_NOMEM, "allocating the redlock configuration");
    for (size_t i = 0; i < count && rc == OF_OK; i++) {
        if (urls[i] == NULL) {
            rc = ofi_fail(OF_ERR_INVALID, "server %zu of %zu: url is NULL", i + 1, count);
            break;
        }
        rc = ofi_redis_config_from_url(urls[i], &c->servers[i]);
        if (rc != OF_OK) {
            /* The Redis parser's detail never holds a byte of the URL: safe to pass on. */
            char inner[400];
            strncpy(inner, ofi_error_detail(), sizeof inner - 1);
            inner[sizeof inner - 1] = '\0';
            rc = ofi_fail(rc, "server %zu of %zu: %s", i + 1, count, inner);
            break;
        }
        c->count = i + 1;
    }
    if (rc == OF_OK)
        rc = finish(c, &o);
    if (rc == OF_OK)
        *out = *c;
    else
        ofi_redlock_config_free(c);
    free(c);
    return rc;
}

int ofi_redlock_config_from_list(const char *list, const of_lock_redlock_options *opts,
                                 ofi_redlock_config *out)
{
    if (list == NULL || out == NULL)
        return ofi_fail(OF_ERR_INVALID, "%s is NULL", list == NULL ? "list" : "out");
    size_t len = strnlen(list, OFI_REDLOCK_LIST_MAX + 1);
    if (len > OFI_REDLOCK_LIST_MAX)
        return ofi_fail(OF_ERR_INVALID, "server list is longer than %zu bytes",
                        (size_t)OFI_REDLOCK_LIST_MAX);
    /* Count first so a list of the wrong size is refused before any item is parsed. */
    size_t count = 1;
    for (size_t i = 0; i < len; i++)
        if (list[i] == ',')
            count++;
    int rc = check_count(count);
    if (rc != OF_OK)
        return rc;
    const int has_credentials = memchr(list, '@', len) != NULL;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return ofi_fail(OF_ERR_NOMEM, "copying the server list");
    memcpy(copy, list, len + 1);
    /* Zeroed only for cppcheck, which does not see that [0, n) is set below. */
    const char *items[OF_LOCK_REDLOCK_MAX_SERVERS] = {0};
    size_t n = 0;
    char *start = copy;
    for (size_t i = 0; i <= len; i++) {
        if (copy[i] == ',' || copy[i] == '\0') {
            copy[i] = '\0';
            items[n++] = start;
            start = copy + i + 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i][0] == '\0') {
            rc = ofi_fail(OF_ERR_INVALID, "server list item %zu of %zu is empty", i + 1, n);
            break;
        }
        for (const char *q = items[i]; *q != '\0'; q++) {
            if (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') {
                rc = ofi_fail(OF_ERR_INVALID,
                              "server list item %zu of %zu holds white space (separate URLs by "
                              "',' alone)",
                              i + 1, n);
                break;
            }
        }
        if (rc != OF_OK)
            break;
    }
    if (rc == OF_OK) {
        rc = ofi_redlock_config_from_urls(items, n, opts, out);
        if (rc == OF_ERR_INVALID && has_credentials &&
            strstr(ofi_error_detail(), "bad redis URL") != NULL) {
            /* A raw ',' inside a password splits it into two items, and the parser's offsets
             * in those pieces would tell where the comma sits: name the item only. */
            size_t item = 0;
            const char *d = ofi_error_detail();
            if (strncmp(d, "server ", 7) == 0)
                item = (size_t)strtoul(d + 7, NULL, 10);
            rc = ofi_fail(OF_ERR_INVALID,
                          "server list item %zu of %zu is not a valid redis:// or unix:// URL "
                          "(detail withheld: the list holds credentials; write a ',' inside a "
                          "URL as %%2C)",
                          item, n);
        }
    }
    ofi_wipe_free(copy, len); /* the copy may hold passwords */
    return rc;
}
