/* Options validation and strict URL parsing of the etcd provider (no libcurl, no jansson). */
#include "lock/providers/etcd_config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "lock/providers/provider_options.h"

/* The first released layout of of_lock_etcd_options ends after `reserved0`. */
#define OPTIONS_V1_SIZE (offsetof(of_lock_etcd_options, reserved0) + sizeof(uint32_t))

_Static_assert(offsetof(of_lock_etcd_options, struct_size) == 0, "ofi_options_init sets it");

#define TIMEOUT_MAX 2147483647u

OF_API size_t of_lock_etcd_options_size(void)
{
    return sizeof(of_lock_etcd_options);
}

/* The defaults; members not named are 0 or NULL. */
static const of_lock_etcd_options default_options = {
    .struct_size = sizeof(of_lock_etcd_options),
    .connect_timeout_ms = OF_LOCK_ETCD_DEFAULT_CONNECT_TIMEOUT_MS,
    .endpoints = "127.0.0.1:2379",
    .command_timeout_ms = OF_LOCK_ETCD_DEFAULT_COMMAND_TIMEOUT_MS,
};

OF_API int of_lock_etcd_options_init(of_lock_etcd_options *opts, size_t struct_size)
{
    return ofi_options_init(opts, struct_size, &default_options, OPTIONS_V1_SIZE, sizeof *opts);
}

void ofi_etcd_config_free(ofi_etcd_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->ep_count; i++) {
        free(cfg->eps[i].host);
        free(cfg->eps[i].base_url);
    }
    free(cfg->prefix);
    free(cfg->user);
    ofi_free_secret(cfg->password);
    memset(cfg, 0, sizeof *cfg);
}

static bool name_char_ok(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

/* Parse "host[:port]" (host a name, an IPv4 address or "[IPv6]") at s[0..len) into @p ep.
 * @p off is the offset of s in what the caller parses, for the detail. */
static int parse_endpoint(const char *s, size_t len, size_t off, ofi_etcd_endpoint *ep)
{
    if (len == 0)
        return ofi_fail(OF_ERR_INVALID, "endpoint at offset %zu is empty", off);
    const char *host;
    size_t host_len, i;
    int v6 = 0;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: '[' without ']'", off);
        host = s + 1;
        host_len = (size_t)(close - host);
        i = (size_t)(close - s) + 1;
        char buf[64];
        struct in6_addr a6;
        if (host_len == 0 || host_len >= sizeof buf)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: bad IPv6 address", off);
        memcpy(buf, host, host_len);
        buf[host_len] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: bad IPv6 address", off);
        v6 = 1;
    } else {
        host = s;
        for (i = 0; i < len && s[i] != ':'; i++)
            if (!name_char_ok((unsigned char)s[i]))
                return ofi_fail(OF_ERR_INVALID, "offset %zu: character not allowed in a host",
                                off + i);
        host_len = i;
        if (host_len == 0)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: empty host", off);
        if (host_len > OFI_ETCD_HOST_MAX)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: host longer than %d bytes", off,
                            OFI_ETCD_HOST_MAX);
    }
    long port = OF_LOCK_ETCD_DEFAULT_PORT;
    if (i < len) {
        if (s[i] != ':')
            return ofi_fail(OF_ERR_INVALID, "offset %zu: expected ':' or ','", off + i);
        size_t p0 = ++i;
        port = 0;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return ofi_fail(OF_ERR_INVALID, "offset %zu: port is not a number", off + i);
            port = port * 10 + (s[i] - '0');
            if (port > 65535)
                break;
        }
        if (i == p0 || port < 1 || port > 65535)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: port outside 1..65535", off + p0);
    }
    ep->host = strndup(host, host_len);
    size_t cap = host_len + 32;
    ep->base_url = malloc(cap);
    if (ep->host == NULL || ep->base_url == NULL) {
        free(ep->host);
        free(ep->base_url);
        ep->host = ep->base_url = NULL;
        return ofi_fail(OF_ERR_NOMEM, "copying an endpoint");
    }
    snprintf(ep->base_url, cap, v6 ? "http://[%s]:%ld" : "http://%s:%ld", ep->host, port);
    ep->port = (int)port;
    return OF_OK;
}

/* Parse a comma-separated endpoint list into @p c (which owns what was parsed, also on error). */
static int parse_endpoints(const char *s, size_t len, size_t off, ofi_etcd_config *c)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ',')
            continue;
        if (c->ep_count == OF_LOCK_ETCD_ENDPOINTS_MAX)
            return ofi_fail(OF_ERR_INVALID, "more than %u endpoints", OF_LOCK_ETCD_ENDPOINTS_MAX);
        int rc = parse_endpoint(s + start, i - start, off + start, &c->eps[c->ep_count]);
        if (rc != OF_OK)
            return rc;
        c->ep_count++;
        start = i + 1;
    }
    return OF_OK;
}

static int check_secret(const char *what, const char *s)
{
    if (s != NULL && s[0] == '\0')
        return ofi_fail(OF_ERR_INVALID, "%s is empty (use NULL for none)", what);
    if (s != NULL && strlen(s) > OFI_ETCD_SECRET_MAX)
        return ofi_fail(OF_ERR_INVALID, "%s is longer than %d bytes", what, OFI_ETCD_SECRET_MAX);
    return OF_OK;
}

/* The checks and copies common to options and URLs; @p c already holds the endpoints. */
static int finish(ofi_etcd_config *c, const char *prefix, size_t prefix_len, const char *user,
                  const char *password, uint32_t connect_ms, uint32_t command_ms)
{
    int rc;
    if ((rc = check_secret("user", user)) != OF_OK || (rc = check_secret("password", password)) != OF_OK)
        return rc;
    if ((user == NULL) != (password == NULL))
        return ofi_fail(OF_ERR_INVALID, user != NULL ? "user is set without a password"
                                                     : "password is set without a user");
    if (prefix_len > OF_LOCK_ETCD_PREFIX_MAX)
        return ofi_fail(OF_ERR_INVALID, "prefix is %zu bytes (at most %u)", prefix_len,
                        OF_LOCK_ETCD_PREFIX_MAX);
    if (connect_ms < 1 || connect_ms > TIMEOUT_MAX)
        return ofi_fail(OF_ERR_INVALID, "connect_timeout_ms %u is outside 1..2^31-1", connect_ms);
    if (command_ms < 1 || command_ms > TIMEOUT_MAX)
        return ofi_fail(OF_ERR_INVALID, "command_timeout_ms %u is outside 1..2^31-1", command_ms);
    c->prefix = malloc(prefix_len + 1);
    if (c->prefix == NULL)
        return ofi_fail(OF_ERR_NOMEM, "copying the prefix");
    if (prefix_len > 0)
        memcpy(c->prefix, prefix, prefix_len);
    c->prefix[prefix_len] = '\0';
    c->prefix_len = prefix_len;
    if (user != NULL) {
        c->user = strdup(user);
        c->password = strdup(password);
        if (c->user == NULL || c->password == NULL)
            return ofi_fail(OF_ERR_NOMEM, "copying the credentials");
    }
    c->connect_timeout_ms = connect_ms;
    c->command_timeout_ms = command_ms;
    return OF_OK;
}

/* The end of both parsers: on success hand @p c over to @p out; on failure free it, keeping the
 * failure's detail. */
static int settle(int rc, ofi_etcd_config *c, ofi_etcd_config *out)
{
    if (rc != OF_OK) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", ofi_error_detail());
        ofi_etcd_config_free(c);
        return ofi_fail(rc, "%s", keep);
    }
    *out = *c;
    return OF_OK;
}

int ofi_etcd_config_from_options(const of_lock_etcd_options *opts, ofi_etcd_config *out)
{
    if (opts == NULL || out == NULL)
        return ofi_fail(OF_ERR_INVALID, "%s is NULL", opts == NULL ? "opts" : "out");
    int rc = ofi_options_size_check("of_lock_etcd_options.struct_size", opts->struct_size,
                                    OPTIONS_V1_SIZE, sizeof *opts);
    if (rc != OF_OK)
        return rc;
    if (opts->reserved0 != 0)
        return ofi_fail(OF_ERR_INVALID, "reserved0 must be 0");
    if (opts->endpoints == NULL || opts->endpoints[0] == '\0')
        return ofi_fail(OF_ERR_INVALID, "endpoints is empty");
    size_t n = strlen(opts->endpoints);
    if (n > OFI_ETCD_URL_MAX)
        return ofi_fail(OF_ERR_INVALID, "endpoints is longer than %d bytes", OFI_ETCD_URL_MAX);
    ofi_etcd_config c;
    memset(&c, 0, sizeof c);
    rc = parse_endpoints(opts->endpoints, n, 0, &c);
    if (rc == OF_OK)
        rc = finish(&c, opts->prefix != NULL ? opts->prefix : "",
                    opts->prefix != NULL ? strlen(opts->prefix) : 0, opts->user, opts->password,
                    opts->connect_timeout_ms, opts->command_timeout_ms);
    return settle(rc, &c, out);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..len) into a new NUL-terminated string. Raw bytes outside printable ASCII,
 * and those in @p forbidden, are refused; so is %00. @p secret: never quote the text. */
static int decode(const char *s, size_t len, size_t off, const char *what, const char *forbidden,
                  char **out, size_t *out_len)
{
    char *d = malloc(len + 1);
    if (d == NULL)
        return ofi_fail(OF_ERR_NOMEM, "decoding the %s", what);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '%') {
            if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                free(d);
                return ofi_fail(OF_ERR_INVALID, "offset %zu: bad percent escape in the %s",
                                off + i, what);
            }
            int v = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            if (v == 0) {
                free(d);
                return ofi_fail(OF_ERR_INVALID, "offset %zu: %%00 in the %s", off + i, what);
            }
            d[n++] = (char)v;
            i += 2;
        } else if (ch <= 0x20 || ch >= 0x7f || strchr(forbidden, ch) != NULL) {
            free(d);
            return ofi_fail(OF_ERR_INVALID, "offset %zu: character not allowed in the %s",
                            off + i, what);
        } else {
            d[n++] = (char)ch;
        }
    }
    d[n] = '\0';
    *out = d;
    if (out_len != NULL)
        *out_len = n;
    return OF_OK;
}

static int parse_timeout(const char *v, size_t len, size_t off, uint32_t *out)
{
    uint64_t x = 0;
    if (len == 0 || len > 10)
        return ofi_fail(OF_ERR_INVALID, "offset %zu: timeout must be 1..2147483647", off);
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return ofi_fail(OF_ERR_INVALID, "offset %zu: timeout is not a number", off + i);
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (x < 1 || x > TIMEOUT_MAX)
        return ofi_fail(OF_ERR_INVALID, "offset %zu: timeout must be 1..2147483647", off);
    *out = (uint32_t)x;
    return OF_OK;
}

static int parse_url(const char *url, ofi_etcd_config *c, char **prefix, size_t *prefix_len,
                     char **user, char **password, uint32_t *connect_ms, uint32_t *command_ms)
{
    static const char scheme[] = "etcd://";
    size_t n = strlen(url);
    if (n > OFI_ETCD_URL_MAX)
        return ofi_fail(OF_ERR_INVALID, "URL longer than %d bytes", OFI_ETCD_URL_MAX);
    if (strncasecmp(url, "etcds://", 8) == 0 || strncasecmp(url, "https://", 8) == 0)
        return ofi_fail(OF_ERR_NOT_SUPPORTED, "TLS endpoints are not supported");
    if (strncasecmp(url, scheme, sizeof scheme - 1) != 0)
        return ofi_fail(OF_ERR_INVALID, "offset 0: URL must start with etcd://");
    size_t i = sizeof scheme - 1;
    size_t auth_end = i;
    while (auth_end < n && url[auth_end] != '/' && url[auth_end] != '?')
        auth_end++;
    /* The authority ends at the first '/' or '?', so credentials holding a raw one are split at
     * the wrong place: "etcd://u:12/34@h/" would read as host "u", port 12 and the prefix "34@h/"
     * (a piece of the password kept as a key prefix). As the Redis parser does, a raw '@' after
     * the authority is refused before anything else is looked at: the password is never taken
     * apart, and the detail names where the authority starts, no byte of it. */
    if (strchr(url + auth_end, '@') != NULL) /* url is NUL-terminated at n */
        return ofi_fail(OF_ERR_INVALID,
                        "offset %zu: a raw '@' after the first '/' or '?': percent-encode '/', "
                        "'?' and '@' in credentials (%%2F %%3F %%40), and '@' in the prefix (%%40)",
                        i);
    const char *at = NULL;
    for (size_t k = i; k < auth_end; k++)
        if (url[k] == '@')
            at = url + k;
    if (at != NULL) {
        size_t ui_end = (size_t)(at - url);
        const char *colon = memchr(url + i, ':', ui_end - i);
        if (colon == NULL)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: user without ':password'", i);
        size_t c_off = (size_t)(colon - url);
        if (c_off == i)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: empty user", i);
        if (c_off + 1 == ui_end)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: empty password", c_off + 1);
        int rc = decode(url + i, c_off - i, i, "user", "@:/?#[]", user, NULL);
        if (rc != OF_OK)
            return rc;
        rc = decode(url + c_off + 1, ui_end - c_off - 1, c_off + 1, "password", "@/?#[]",
                    password, NULL);
        if (rc != OF_OK)
            return rc;
        i = ui_end + 1;
    }
    int rc = parse_endpoints(url + i, auth_end - i, i, c);
    if (rc != OF_OK)
        return rc;
    i = auth_end;
    if (i < n && url[i] == '/') {
        size_t p_end = i + 1;
        while (p_end < n && url[p_end] != '?')
            p_end++;
        rc = decode(url + i + 1, p_end - i - 1, i + 1, "prefix", "#", prefix, prefix_len);
        if (rc != OF_OK)
            return rc;
        i = p_end;
    }
    if (i < n) { /* url[i] == '?' */
        i++;
        int seen_connect = 0, seen_command = 0;
        if (i == n)
            return ofi_fail(OF_ERR_INVALID, "offset %zu: empty query", i);
        while (i <= n) {
            size_t end = i;
            while (end < n && url[end] != '&')
                end++;
            const char *eq = memchr(url + i, '=', end - i);
            if (eq == NULL || eq == url + i)
                return ofi_fail(OF_ERR_INVALID, "offset %zu: expected name=value", i);
            size_t klen = (size_t)(eq - (url + i));
            size_t voff = (size_t)(eq - url) + 1;
            if (klen == 18 && memcmp(url + i, "connect_timeout_ms", 18) == 0) {
                if (seen_connect++)
                    return ofi_fail(OF_ERR_INVALID, "offset %zu: repeated param", i);
                rc = parse_timeout(url + voff, end - voff, voff, connect_ms);
            } else if (klen == 18 && memcmp(url + i, "command_timeout_ms", 18) == 0) {
                if (seen_command++)
                    return ofi_fail(OF_ERR_INVALID, "offset %zu: repeated param", i);
                rc = parse_timeout(url + voff, end - voff, voff, command_ms);
            } else {
                return ofi_fail(OF_ERR_INVALID, "offset %zu: unknown param", i);
            }
            if (rc != OF_OK)
                return rc;
            if (end == n)
                break;
            i = end + 1;
            if (i == n)
                return ofi_fail(OF_ERR_INVALID, "offset %zu: empty param", i);
        }
    }
    return OF_OK;
}

int ofi_etcd_config_from_url(const char *url, ofi_etcd_config *out)
{
    if (url == NULL || out == NULL)
        return ofi_fail(OF_ERR_INVALID, "%s is NULL", url == NULL ? "url" : "out");
    ofi_etcd_config c;
    memset(&c, 0, sizeof c);
    char *prefix = NULL, *user = NULL, *password = NULL;
    size_t prefix_len = 0;
    uint32_t connect_ms = OF_LOCK_ETCD_DEFAULT_CONNECT_TIMEOUT_MS;
    uint32_t command_ms = OF_LOCK_ETCD_DEFAULT_COMMAND_TIMEOUT_MS;
    int rc = parse_url(url, &c, &prefix, &prefix_len, &user, &password, &connect_ms, &command_ms);
    if (rc == OF_OK)
        rc = finish(&c, prefix != NULL ? prefix : "", prefix_len, user, password, connect_ms,
                    command_ms);
    free(prefix);
    free(user);
    ofi_free_secret(password);
    return settle(rc, &c, out);
}
