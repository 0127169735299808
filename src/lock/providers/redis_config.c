/* Options validation, strict URL parsing and key encoding of the Redis provider (no hiredis). */
#include "lock/providers/redis_config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "lock/providers/provider_options.h"

/* The first released layout of of_lock_redis_options ends after `keepalive`. */
#define OPTIONS_V1_SIZE (offsetof(of_lock_redis_options, keepalive) + sizeof(uint32_t))

_Static_assert(offsetof(of_lock_redis_options, struct_size) == 0, "ofi_options_init sets it");

OF_API size_t of_lock_redis_options_size(void)
{
    return sizeof(of_lock_redis_options);
}

/* The defaults; members not named are 0 or NULL. */
static const of_lock_redis_options default_options = {
    .struct_size = sizeof(of_lock_redis_options),
    .port = OF_LOCK_REDIS_DEFAULT_PORT,
    .host = "127.0.0.1",
    .connect_timeout_ms = OF_LOCK_REDIS_DEFAULT_CONNECT_TIMEOUT_MS,
    .command_timeout_ms = OF_LOCK_REDIS_DEFAULT_COMMAND_TIMEOUT_MS,
    .keepalive = 1,
};

OF_API int of_lock_redis_options_init(of_lock_redis_options *opts, size_t struct_size)
{
    return ofi_options_init(opts, struct_size, &default_options, OPTIONS_V1_SIZE, sizeof *opts);
}

void ofi_redis_config_free(ofi_redis_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->host);
    free(cfg->unix_path);
    free(cfg->user);
    ofi_free_secret(cfg->password);
    free(cfg->prefix);
    memset(cfg, 0, sizeof *cfg);
}

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL)
        return OF_OK;
    *out = strdup(s);
    return *out != NULL ? OF_OK : ofi_fail_plain(OF_ERR_NOMEM);
}

int ofi_redis_config_copy(const ofi_redis_config *src, ofi_redis_config *out)
{
    ofi_redis_config c;
    memset(&c, 0, sizeof c);
    c.port = src->port;
    c.db = src->db;
    c.connect_timeout_ms = src->connect_timeout_ms;
    c.command_timeout_ms = src->command_timeout_ms;
    c.keepalive = src->keepalive;
    c.url_set = src->url_set;
    c.prefix_len = src->prefix_len;
    if (dup_opt(src->host, &c.host) != OF_OK || dup_opt(src->unix_path, &c.unix_path) != OF_OK ||
        dup_opt(src->user, &c.user) != OF_OK || dup_opt(src->password, &c.password) != OF_OK ||
        dup_opt(src->prefix != NULL ? src->prefix : "", &c.prefix) != OF_OK) {
        ofi_redis_config_free(&c);
        return ofi_fail(OF_ERR_NOMEM, "copying the redis configuration");
    }
    *out = c;
    return OF_OK;
}

static bool host_char_ok(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == ':' || ch == '%';
}

int ofi_redis_config_from_options(const of_lock_redis_options *opts, ofi_redis_config *out)
{
    if (opts == NULL || out == NULL)
        return ofi_fail(OF_ERR_INVALID, "%s is NULL", opts == NULL ? "opts" : "out");
    int rc = ofi_options_size_check("of_lock_redis_options.struct_size", opts->struct_size,
                                    OPTIONS_V1_SIZE, sizeof *opts);
    if (rc != OF_OK)
        return rc;

    if (opts->unix_path != NULL) {
        size_t n = strlen(opts->unix_path);
        if (n == 0)
            return ofi_fail(OF_ERR_INVALID, "unix_path is empty");
        if (n > OFI_REDIS_UNIX_PATH_MAX)
            return ofi_fail(OF_ERR_INVALID, "unix_path is %zu bytes (at most %d)", n,
                            OFI_REDIS_UNIX_PATH_MAX);
    } else {
        if (opts->host == NULL || opts->host[0] == '\0')
            return ofi_fail(OF_ERR_INVALID, "host is empty (set host or unix_path)");
        size_t n = strlen(opts->host);
        if (n > OFI_REDIS_HOST_MAX)
            return ofi_fail(OF_ERR_INVALID, "host is %zu bytes (at most %d)", n,
                            OFI_REDIS_HOST_MAX);
        for (size_t i = 0; i < n; i++)
            if (!host_char_ok((unsigned char)opts->host[i]))
                return ofi_fail(OF_ERR_INVALID, "host: character at offset %zu is not allowed",
                                i);
        if (opts->port < 1 || opts->port > 65535)
            return ofi_fail(OF_ERR_INVALID, "port %u is outside 1..65535", opts->port);
    }
    if (opts->user != NULL && opts->user[0] == '\0')
        return ofi_fail(OF_ERR_INVALID, "user is empty (use NULL for none)");
    if (opts->user != NULL && opts->password == NULL)
        return ofi_fail(OF_ERR_INVALID, "user is set without a password");
    if (opts->password != NULL && opts->password[0] == '\0')
        return ofi_fail(OF_ERR_INVALID, "password is empty (use NULL for none)");
    if (opts->user != NULL && strlen(opts->user) > OFI_REDIS_SECRET_MAX)
        return ofi_fail(OF_ERR_INVALID, "user is longer than %d bytes", OFI_REDIS_SECRET_MAX);
    if (opts->password != NULL && strlen(opts->password) > OFI_REDIS_SECRET_MAX)
        return ofi_fail(OF_ERR_INVALID, "password is longer than %d bytes",
                        OFI_REDIS_SECRET_MAX);
    size_t prefix_len = opts->prefix != NULL ? strlen(opts->prefix) : 0;
    if (prefix_len > OFI_REDIS_PREFIX_MAX)
        return ofi_fail(OF_ERR_INVALID, "prefix is %zu bytes (at most %d)", prefix_len,
                        OFI_REDIS_PREFIX_MAX);
    if (prefix_len > 0 && strpbrk(opts->prefix, "{}") != NULL)
        return ofi_fail(OF_ERR_INVALID, "prefix contains '{' or '}' (the name is the hash tag)");
    if (opts->db > INT32_MAX)
        return ofi_fail(OF_ERR_INVALID, "db %u is above 2^31-1", opts->db);
    if (opts->connect_timeout_ms < 1 || opts->connect_timeout_ms > INT32_MAX)
        return ofi_fail(OF_ERR_INVALID, "connect_timeout_ms %u is outside 1..2^31-1",
                        opts->connect_timeout_ms);
    if (opts->command_timeout_ms < 1 || opts->command_timeout_ms > INT32_MAX)
        return ofi_fail(OF_ERR_INVALID, "command_timeout_ms %u is outside 1..2^31-1",
                        opts->command_timeout_ms);
    if (opts->keepalive > 1)
        return ofi_fail(OF_ERR_INVALID, "keepalive %u is not 0 or 1", opts->keepalive);

    ofi_redis_config c;
    memset(&c, 0, sizeof c);
    c.port = (int)opts->port;
    c.db = (int)opts->db;
    c.connect_timeout_ms = opts->connect_timeout_ms;
    c.command_timeout_ms = opts->command_timeout_ms;
    c.keepalive = (int)opts->keepalive;
    c.prefix_len = prefix_len;
    if (dup_opt(opts->unix_path == NULL ? opts->host : NULL, &c.host) != OF_OK ||
        dup_opt(opts->unix_path, &c.unix_path) != OF_OK || dup_opt(opts->user, &c.user) != OF_OK ||
        dup_opt(opts->password, &c.password) != OF_OK ||
        dup_opt(opts->prefix != NULL ? opts->prefix : "", &c.prefix) != OF_OK) {
        ofi_redis_config_free(&c);
        return ofi_fail(OF_ERR_NOMEM, "copying the redis options");
    }
    if (c.unix_path != NULL)
        c.port = 0;
    *out = c;
    return OF_OK;
}

/* ---------------------------------------------------------------------------------------------
 * URL parser
 * ------------------------------------------------------------------------------------------- */

typedef struct url_parser {
    const char *s; /* whole URL */
    size_t len;
} url_parser;

/* Fail with OF_ERR_INVALID, naming offset @p off. An expression yielding the status at the call
 * site, as ofi_fail does: the analyzer does not follow the variadic helper, and would otherwise
 * take paths where a parse error returned OF_OK. */
#define URL_FAIL(off, ...) (url_fail_detail((off), __VA_ARGS__), ofi_status(OF_ERR_INVALID))

static void url_fail_detail(size_t off, const char *fmt, ...) OFI_PRINTF(2, 3);

static void url_fail_detail(size_t off, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ofi_set_detail("bad redis URL at offset %zu: %s", off, msg);
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(unsigned char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Which raw characters a URL part may hold (besides unreserved and %XX). */
enum part_kind { PART_USERINFO, PART_PATH, PART_QUERY_VALUE };

static bool part_char_ok(enum part_kind kind, unsigned char c)
{
    if (is_unreserved(c))
        return true;
    switch (kind) {
    case PART_USERINFO:
        return is_sub_delim(c) || c == ':';
    case PART_PATH:
        return is_sub_delim(c) || c == ':' || c == '@' || c == '/';
    case PART_QUERY_VALUE:
        /* '&' separates parameters and '=' is allowed in a value only percent-encoded (strict). */
        return (is_sub_delim(c) && c != '&' && c != '=') || c == ':' || c == '@' || c == '/' ||
               c == '?';
    }
    return false;
}

/* Percent-decode url[off, off+n) of @p kind into a new NUL-terminated string. No detail echoes a
 * byte of the URL; errors in the credentials report @p err_off (the start of the credentials)
 * instead of the offending byte's offset, so a detail does not even tell where in the password
 * the bad byte sits. Pass SIZE_MAX for the exact offset. */
static int url_decode(const url_parser *p, size_t off, size_t n, enum part_kind kind,
                      const char *what, size_t err_off, char **out)
{
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return ofi_fail(OF_ERR_NOMEM, "decoding the redis URL");
    size_t j = 0;
    for (size_t i = off; i < off + n; i++) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == '%') {
            int hi = i + 1 < off + n ? hex_val((unsigned char)p->s[i + 1]) : -1;
            int lo = i + 2 < off + n ? hex_val((unsigned char)p->s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                ofi_wipe_free(buf, j);
                return URL_FAIL(err_off != SIZE_MAX ? err_off : i,
                                "bad percent-escape in %s (want %%XX)", what);
            }
            if (hi == 0 && lo == 0) {
                ofi_wipe_free(buf, j);
                return URL_FAIL(err_off != SIZE_MAX ? err_off : i,
                                "%%00 (NUL) is not allowed in %s", what);
            }
            buf[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (part_char_ok(kind, c)) {
            buf[j++] = (char)c;
        } else {
            ofi_wipe_free(buf, j);
            return URL_FAIL(err_off != SIZE_MAX ? err_off : i,
                            "%s holds a character that must be percent-encoded", what);
        }
    }
    buf[j] = '\0';
    *out = buf;
    return OF_OK;
}

/* Decimal digits url[off, off+n) into 0..max. */
static int url_uint(const url_parser *p, size_t off, size_t n, uint64_t min, uint64_t max,
                    const char *what, uint64_t *out)
{
    if (n == 0)
        return URL_FAIL(off, "%s is empty", what);
    uint64_t v = 0;
    for (size_t i = off; i < off + n; i++) {
        unsigned char c = (unsigned char)p->s[i];
        if (!is_digit(c))
            return URL_FAIL(i, "%s must be decimal digits", what);
        v = v * 10 + (uint64_t)(c - '0');
        if (v > max)
            return URL_FAIL(off, "%s is above %llu", what, (unsigned long long)max);
    }
    if (v < min)
        return URL_FAIL(off, "%s is below %llu", what, (unsigned long long)min);
    *out = v;
    return OF_OK;
}

static size_t find_char(const url_parser *p, size_t from, size_t to, const char *set)
{
    for (size_t i = from; i < to; i++)
        if (strchr(set, p->s[i]) != NULL)
            return i;
    return to;
}

/* Strings decoded from a URL, owned here until turned into a config. */
typedef struct url_parts {
    char *host, *unix_path, *user, *password, *prefix;
    of_lock_redis_options opts;
    unsigned seen; /* bit per query parameter, to refuse repeats */
} url_parts;

static void url_parts_free(url_parts *u)
{
    free(u->host);
    free(u->unix_path);
    free(u->user);
    ofi_free_secret(u->password);
    free(u->prefix);
}

/* userinfo = [user] ":" password, at url[off, off+n). Every error names offset @p off (where
 * the credentials start), never a position inside them. */
static int parse_userinfo(const url_parser *p, size_t off, size_t n, url_parts *u)
{
    size_t colon = find_char(p, off, off + n, ":");
    if (colon == off + n)
        return URL_FAIL(off, "credentials need a ':' (write [user]:password@)");
    if (colon + 1 == off + n)
        return URL_FAIL(off, "password is empty");
    if (colon > off) {
        int rc = url_decode(p, off, colon - off, PART_USERINFO, "the user name", off, &u->user);
        if (rc != OF_OK)
            return rc;
    }
    return url_decode(p, colon + 1, off + n - colon - 1, PART_USERINFO, "the password", off,
                      &u->password);
}

/* host[:port] at url[off, off+n). */
static int parse_hostport(const url_parser *p, size_t off, size_t n, url_parts *u)
{
    size_t end = off + n;
    size_t host_end;
    if (n == 0)
        return URL_FAIL(off, "missing host");
    if (p->s[off] == '[') {
        size_t close = find_char(p, off + 1, end, "]");
        if (close == end)
            return URL_FAIL(off, "'[' without a closing ']'");
        /* [addr] or [addr%25zone] (RFC 6874) */
        size_t zone = find_char(p, off + 1, close, "%");
        size_t alen = zone - off - 1;
        if (alen == 0 || alen >= 64)
            return URL_FAIL(off + 1, "bad IPv6 address");
        char addr[64];
        memcpy(addr, p->s + off + 1, alen);
        addr[alen] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, addr, &a6) != 1)
            return URL_FAIL(off + 1, "bad IPv6 address");
        char *host;
        if (zone < close) {
            if (close - zone < 4 || p->s[zone + 1] != '2' || p->s[zone + 2] != '5')
                return URL_FAIL(zone, "IPv6 zone must be written %%25zone");
            for (size_t i = zone + 3; i < close; i++)
                if (!is_unreserved((unsigned char)p->s[i]))
                    return URL_FAIL(i, "character not allowed in the IPv6 zone");
            size_t zlen = close - zone - 3;
            host = malloc(alen + 1 + zlen + 1);
            if (host == NULL)
                return ofi_fail(OF_ERR_NOMEM, "decoding the redis URL");
            memcpy(host, addr, alen);
            host[alen] = '%';
            memcpy(host + alen + 1, p->s + zone + 3, zlen);
            host[alen + 1 + zlen] = '\0';
        } else {
            host = strdup(addr);
            if (host == NULL)
                return ofi_fail(OF_ERR_NOMEM, "decoding the redis URL");
        }
        u->host = host;
        host_end = close + 1;
        if (host_end < end && p->s[host_end] != ':')
            return URL_FAIL(host_end, "junk after ']'");
    } else {
        host_end = find_char(p, off, end, ":");
        if (host_end == off)
            return URL_FAIL(off, "missing host");
        if (host_end - off > OFI_REDIS_HOST_MAX)
            return URL_FAIL(off, "host is longer than %d bytes", OFI_REDIS_HOST_MAX);
        for (size_t i = off; i < host_end; i++) {
            unsigned char c = (unsigned char)p->s[i];
            if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'))
                return URL_FAIL(i, "character not allowed in a host name");
        }
        u->host = malloc(host_end - off + 1);
        if (u->host == NULL)
            return ofi_fail(OF_ERR_NOMEM, "decoding the redis URL");
        memcpy(u->host, p->s + off, host_end - off);
        u->host[host_end - off] = '\0';
    }
    if (host_end < end) { /* ':' port */
        uint64_t port;
        int rc = url_uint(p, host_end + 1, end - host_end - 1, 1, 65535, "the port", &port);
        if (rc != OF_OK)
            return rc;
        u->opts.port = (uint32_t)port;
    }
    return OF_OK;
}

enum {
    PARAM_CONNECT_TIMEOUT = 1u << 0,
    PARAM_COMMAND_TIMEOUT = 1u << 1,
    PARAM_PREFIX = 1u << 2,
    PARAM_KEEPALIVE = 1u << 3,
    PARAM_DB = 1u << 4,
};

static int parse_param(const url_parser *p, size_t off, size_t n, bool is_unix, url_parts *u)
{
    if (n == 0)
        return URL_FAIL(off, "empty parameter");
    size_t eq = find_char(p, off, off + n, "=");
    if (eq == off + n)
        return URL_FAIL(off, "parameter without '=value'");
    size_t klen = eq - off;
    size_t voff = eq + 1, vlen = off + n - eq - 1;
    const char *key = p->s + off;
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {
        {"connect_timeout_ms", PARAM_CONNECT_TIMEOUT},
        {"command_timeout_ms", PARAM_COMMAND_TIMEOUT},
        {"prefix", PARAM_PREFIX},
        {"keepalive", PARAM_KEEPALIVE},
        {"db", PARAM_DB},
    };
    unsigned bit = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == klen && memcmp(known[i].name, key, klen) == 0)
            bit = known[i].bit;
    if (bit == PARAM_DB && !is_unix)
        return URL_FAIL(off, "parameter 'db' is for unix:// only (redis:// takes /db)");
    if (bit == 0) /* not echoed: the detail never repeats bytes of the URL */
        return URL_FAIL(off, "unknown parameter (known: connect_timeout_ms, command_timeout_ms, "
                             "prefix, keepalive, and db for unix://)");
    if (u->seen & bit)
        return URL_FAIL(off, "parameter given twice");
    u->seen |= bit;

    uint64_t v = 0;
    int rc = OF_OK;
    switch (bit) {
    case PARAM_CONNECT_TIMEOUT:
        rc = url_uint(p, voff, vlen, 1, INT32_MAX, "connect_timeout_ms", &v);
        u->opts.connect_timeout_ms = (uint32_t)v;
        break;
    case PARAM_COMMAND_TIMEOUT:
        rc = url_uint(p, voff, vlen, 1, INT32_MAX, "command_timeout_ms", &v);
        u->opts.command_timeout_ms = (uint32_t)v;
        break;
    case PARAM_KEEPALIVE:
        rc = url_uint(p, voff, vlen, 0, 1, "keepalive", &v);
        u->opts.keepalive = (uint32_t)v;
        break;
    case PARAM_DB:
        rc = url_uint(p, voff, vlen, 0, INT32_MAX, "db", &v);
        u->opts.db = (uint32_t)v;
        break;
    case PARAM_PREFIX:
        rc = url_decode(p, voff, vlen, PART_QUERY_VALUE, "the prefix", SIZE_MAX, &u->prefix);
        if (rc == OF_OK) {
            size_t plen = strlen(u->prefix);
            if (plen > OFI_REDIS_PREFIX_MAX)
                return URL_FAIL(voff, "prefix is longer than %d bytes", OFI_REDIS_PREFIX_MAX);
            if (strpbrk(u->prefix, "{}") != NULL)
                return URL_FAIL(voff, "prefix contains '{' or '}' (the name is the hash tag)");
            u->opts.prefix = u->prefix;
        }
        break;
    }
    return rc;
}

static int parse_url(const url_parser *p, url_parts *u)
{
    /* scheme */
    size_t sep = 0;
    while (sep < p->len && (is_alpha((unsigned char)p->s[sep]) || p->s[sep] == '+'))
        sep++;
    if (sep + 3 > p->len || memcmp(p->s + sep, "://", 3) != 0)
        return URL_FAIL(sep, "expected redis:// or unix://");
    bool is_unix;
    if (sep == 5 && strncasecmp(p->s, "redis", 5) == 0)
        is_unix = false;
    else if (sep == 4 && strncasecmp(p->s, "unix", 4) == 0)
        is_unix = true;
    else if (sep == 6 && strncasecmp(p->s, "rediss", 6) == 0)
        return ofi_fail(OF_ERR_NOT_SUPPORTED,
                        "rediss:// (TLS) is not supported: hiredis 0.14 has no TLS");
    else
        return URL_FAIL(0, "unknown scheme (expected redis:// or unix://)");

    /* Grammar (RFC 3986 with one restriction): the authority ends at the first '/' or '?', and
     * the credentials are what comes before an '@' inside it. Credentials holding a raw '/', '?',
     * '#' or '@' would be split at the wrong place (a password "a?b" in "redis://u:a?b@h" would
     * become host "u", port "a" and a query "b@h"), so a raw '@' anywhere after the authority
     * and a raw '#' anywhere are refused before any other part is looked at: a password that
     * was not percent-encoded is never taken apart, never used as a host or a value, and no
     * detail repeats any byte of the URL. These errors name the offset where the authority
     * starts, not a position inside it. */
    size_t end = p->len;
    size_t auth_off = sep + 3;
    size_t hash = find_char(p, 0, end, "#");
    if (hash < end)
        return URL_FAIL(auth_off, "a raw '#' is not allowed (no fragments; in credentials or "
                                  "values write %%23)");
    size_t q = find_char(p, auth_off, end, "?");
    size_t auth_end = find_char(p, auth_off, q, "/");
    if (find_char(p, auth_end, end, "@") < end)
        return URL_FAIL(auth_off, "a raw '@' after the first '/' or '?': percent-encode '/', "
                                  "'?', '#' and '@' in credentials (%%2F %%3F %%23 %%40), and "
                                  "'@' in a path or value (%%40)");

    /* userinfo: the authority holds at most one '@' (encode others as %40) */
    size_t at = find_char(p, auth_off, auth_end, "@");
    size_t host_off = auth_off;
    int rc;
    if (at < auth_end) {
        size_t at2 = find_char(p, at + 1, auth_end, "@");
        if (at2 < auth_end)
            return URL_FAIL(auth_off,
                            "second '@' (percent-encode '@' in credentials as %%40)");
        rc = parse_userinfo(p, auth_off, at - auth_off, u);
        if (rc != OF_OK)
            return rc;
        host_off = at + 1;
    }

    if (is_unix) {
        if (host_off != auth_end)
            return URL_FAIL(host_off, "unix:// takes no host: write unix:///absolute/path");
        if (auth_end == q)
            return URL_FAIL(auth_end, "missing the socket path");
        size_t plen = q - auth_end;
        if (plen == 1)
            return URL_FAIL(auth_end, "socket path is just '/'");
        rc = url_decode(p, auth_end, plen, PART_PATH, "the socket path", SIZE_MAX,
                        &u->unix_path);
        if (rc != OF_OK)
            return rc;
        if (strlen(u->unix_path) > OFI_REDIS_UNIX_PATH_MAX)
            return URL_FAIL(auth_end, "socket path is longer than %d bytes",
                            OFI_REDIS_UNIX_PATH_MAX);
        u->opts.unix_path = u->unix_path;
    } else {
        rc = parse_hostport(p, host_off, auth_end - host_off, u);
        if (rc != OF_OK)
            return rc;
        u->opts.host = u->host;
        if (auth_end < q && q - auth_end > 1) { /* "/db"; a bare "/" means db 0 */
            uint64_t db;
            rc = url_uint(p, auth_end + 1, q - auth_end - 1, 0, INT32_MAX, "the db number", &db);
            if (rc != OF_OK)
                return rc;
            u->opts.db = (uint32_t)db;
        }
    }

    if (q < end) {
        size_t i = q + 1;
        if (i == end)
            return URL_FAIL(q, "empty query after '?'");
        for (;;) {
            size_t amp = find_char(p, i, end, "&");
            rc = parse_param(p, i, amp - i, is_unix, u);
            if (rc != OF_OK)
                return rc;
            if (amp == end)
                break;
            i = amp + 1;
        }
    }
    if (u->user != NULL)
        u->opts.user = u->user;
    if (u->password != NULL)
        u->opts.password = u->password;
    return OF_OK;
}

int ofi_redis_config_from_url(const char *url, ofi_redis_config *out)
{
    if (url == NULL)
        return ofi_fail(OF_ERR_INVALID, "url is NULL");
    size_t len = strnlen(url, OFI_REDIS_URL_MAX + 1);
    if (len > OFI_REDIS_URL_MAX)
        return ofi_fail(OF_ERR_INVALID, "redis URL is longer than %d bytes", OFI_REDIS_URL_MAX);
    url_parser p = {url, len};
    url_parts u;
    memset(&u, 0, sizeof u);
    of_lock_redis_options_init(&u.opts, sizeof u.opts);
    int rc = parse_url(&p, &u);
    if (rc == OF_OK)
        rc = ofi_redis_config_from_options(&u.opts, out);
    if (rc == OF_OK)
        out->url_set = ((u.seen & PARAM_CONNECT_TIMEOUT) ? OFI_REDIS_URL_SET_CONNECT_TIMEOUT : 0u) |
                       ((u.seen & PARAM_COMMAND_TIMEOUT) ? OFI_REDIS_URL_SET_COMMAND_TIMEOUT : 0u);
    url_parts_free(&u);
    return rc;
}

size_t ofi_redis_key(const char *prefix, size_t prefix_len, const void *name, size_t name_len,
                     const char *suffix, char *buf)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *n = name;
    char *w = buf;
    memcpy(w, prefix, prefix_len);
    w += prefix_len;
    *w++ = '{';
    for (size_t i = 0; i < name_len; i++) {
        unsigned char c = n[i];
        if (c == '%' || c == '{' || c == '}') {
            *w++ = '%';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        } else {
            *w++ = (char)c;
        }
    }
    *w++ = '}';
    *w++ = ':';
    size_t sl = strlen(suffix);
    /* The key is counted, not a C string: it is sent with the length returned. */
    memcpy(w, suffix, sl); /* NOLINT(bugprone-not-null-terminated-result) */
    w += sl;
    return (size_t)(w - buf);
}
