/* Bad-input rows: lock_etcd.h (options and URLs are refused before anything connects: the header
 * says creation only validates and copies, and the accepted rows use loopback ports nobody
 * listens on all the same; built without libcurl and jansson, both create functions answer
 * OF_ERR_NOT_SUPPORTED). */
#include <stdio.h>
#include <string.h>

#include "badinput.h"

#define ROWS_GROUP "lock_etcd.h"

#define SECRET BI_SECRET

VROW(etcd_available, of_lock_etcd_available, F_NONE,
     "1 (built with libcurl and jansson), else 0", "(no arguments)")
{
    return of_lock_etcd_available() == BI_HAVE_ETCD;
}

ROW(etcd_options_init_null, of_lock_etcd_options_init, F_NONE, OF_ERR_INVALID, D, "opts NULL")
{
    return of_lock_etcd_options_init(NULL, sizeof(of_lock_etcd_options));
}

ROW(etcd_options_init_size_zero, of_lock_etcd_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 0")
{
    return of_lock_etcd_options_init(&f->o.etcd_opts, 0);
}

ROW(etcd_options_init_size_small, of_lock_etcd_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 4 (too small)")
{
    return of_lock_etcd_options_init(&f->o.etcd_opts, 4);
}

ROW(etcd_options_init_size_large, of_lock_etcd_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return of_lock_etcd_options_init(&f->o.etcd_opts, sizeof(of_lock_etcd_options) + 8);
}

VROW(etcd_options_size, of_lock_etcd_options_size, F_NONE, "`sizeof(of_lock_etcd_options)`",
     "(no arguments)")
{
    return of_lock_etcd_options_size() == sizeof(of_lock_etcd_options);
}

/* ------------------------------------------------------------------------------------------ */
/* of_lock_etcd_create: one bad field at a time                                                 */

typedef struct {
    of_lock_etcd_options o;
    unsigned char newer[64];
    char long_text[17 * 24];
} etcd_opts;

static void etcd_defaults(bi_fx *f, etcd_opts *b)
{
    memset(b, 0, sizeof *b);
    if (of_lock_etcd_options_init(&b->o, sizeof b->o) != OF_OK)
        bi_why(f, "of_lock_etcd_options_init failed");
    b->o.endpoints = "127.0.0.1:1"; /* nothing should connect; if something did, nobody listens */
}

/* The password is never in a detail (the user name is not promised for etcd). */
static int etcd_create(bi_fx *f, const etcd_opts *b)
{
    int rc = of_lock_etcd_create(&b->o, &f->o.provider);
    bi_check_secret(f, 0);
    return rc;
}

/* "127.0.0.1:1,127.0.0.1:2,..." with @p n endpoints. */
static const char *endpoint_list(etcd_opts *b, int n)
{
    size_t w = 0;
    for (int i = 0; i < n; i++)
        w += (size_t)snprintf(b->long_text + w, sizeof b->long_text - w, "%s127.0.0.1:%d",
                              i ? "," : "", i + 1);
    return b->long_text;
}

#define ETCD_FIELD_ROW(id, st, in, change)                                                        \
    ROW(id, of_lock_etcd_create, F_NONE, st, D | ETCD, in)                                        \
    {                                                                                             \
        etcd_opts b;                                                                              \
        etcd_defaults(f, &b);                                                                     \
        change;                                                                                   \
        return etcd_create(f, &b);                                                                \
    }

#define ETCD_FIELD_OK_ROW(id, in, change)                                                         \
    ROW(id, of_lock_etcd_create, F_NONE, OF_OK, MUT | ETCD, in)                                   \
    {                                                                                             \
        etcd_opts b;                                                                              \
        etcd_defaults(f, &b);                                                                     \
        change;                                                                                   \
        return etcd_create(f, &b);                                                                \
    }

ROW(etcd_create_null_opts, of_lock_etcd_create, F_NONE, OF_ERR_INVALID, D | ETCD, "opts NULL")
{
    return of_lock_etcd_create(NULL, &f->o.provider);
}

ROW(etcd_create_null_out, of_lock_etcd_create, F_NONE, OF_ERR_INVALID, D | ETCD,
    "out_provider NULL")
{
    etcd_opts b;
    etcd_defaults(f, &b);
    return of_lock_etcd_create(&b.o, NULL);
}

ETCD_FIELD_ROW(etcd_create_size_zero, OF_ERR_ABI, "struct_size 0", b.o.struct_size = 0)
ETCD_FIELD_ROW(etcd_create_size_small, OF_ERR_ABI, "struct_size 4 (too small)",
               b.o.struct_size = 4)
ETCD_FIELD_ROW(etcd_create_size_large, OF_ERR_ABI, "struct_size sizeof + 8 (a newer header)",
               b.o.struct_size = sizeof(of_lock_etcd_options) + 8)
ETCD_FIELD_ROW(etcd_create_reserved, OF_ERR_INVALID, "reserved0 1", b.o.reserved0 = 1)
ETCD_FIELD_ROW(etcd_create_endpoints_null, OF_ERR_INVALID, "endpoints NULL",
               b.o.endpoints = NULL)
ETCD_FIELD_ROW(etcd_create_endpoints_empty, OF_ERR_INVALID, "endpoints \"\"",
               b.o.endpoints = "")
ETCD_FIELD_ROW(etcd_create_endpoints_17, OF_ERR_INVALID, "17 endpoints (at most 16)",
               b.o.endpoints = endpoint_list(&b, 17))
ETCD_FIELD_OK_ROW(etcd_create_endpoints_16,
                  "16 endpoints (the maximum) are accepted; nothing connects",
                  b.o.endpoints = endpoint_list(&b, 16))
ETCD_FIELD_ROW(etcd_create_endpoint_empty_item, OF_ERR_INVALID,
               "an empty item (\"a,,b\")", b.o.endpoints = "127.0.0.1:1,,127.0.0.1:2")
ETCD_FIELD_ROW(etcd_create_endpoint_trailing_comma, OF_ERR_INVALID, "a trailing comma",
               b.o.endpoints = "127.0.0.1:1,")
ETCD_FIELD_ROW(etcd_create_endpoint_space, OF_ERR_INVALID, "a space after a comma",
               b.o.endpoints = "127.0.0.1:1, 127.0.0.1:2")
ETCD_FIELD_ROW(etcd_create_host_empty, OF_ERR_INVALID, "empty host (\":2379\")",
               b.o.endpoints = ":2379")
ETCD_FIELD_ROW(etcd_create_host_char, OF_ERR_INVALID, "host \"a b\"", b.o.endpoints = "a b")
ETCD_FIELD_ROW(etcd_create_host_url, OF_ERR_INVALID, "a URL (`http://h:2379`) as an endpoint",
               b.o.endpoints = "http://127.0.0.1:2379")
ETCD_FIELD_ROW(etcd_create_port_zero, OF_ERR_INVALID, "port 0", b.o.endpoints = "127.0.0.1:0")
ETCD_FIELD_ROW(etcd_create_port_big, OF_ERR_INVALID, "port 65536",
               b.o.endpoints = "127.0.0.1:65536")
ETCD_FIELD_ROW(etcd_create_port_text, OF_ERR_INVALID, "port \"x\"",
               b.o.endpoints = "127.0.0.1:x")
ETCD_FIELD_ROW(etcd_create_port_empty, OF_ERR_INVALID, "empty port (\"h:\")",
               b.o.endpoints = "127.0.0.1:")
ETCD_FIELD_ROW(etcd_create_ipv6_open, OF_ERR_INVALID, "'[' without ']'",
               b.o.endpoints = "[::1:2379")
ETCD_FIELD_ROW(etcd_create_ipv6_bad, OF_ERR_INVALID, "bad IPv6 address \"[::g]\"",
               b.o.endpoints = "[::g]:2379")
ETCD_FIELD_ROW(etcd_create_ipv6_junk, OF_ERR_INVALID, "junk after ']'",
               b.o.endpoints = "[::1]x")
ETCD_FIELD_OK_ROW(etcd_create_forms, "a name, `[IPv6]` and a default port are accepted",
                  b.o.endpoints = "localhost:1,[::1]:2,127.0.0.1")
/* 16 endpoints "NAME:2379", each NAME a 253-byte DNS name (labels of 63, 63, 63 and 61). */
static const char *long_names(void)
{
    static char list[16 * 259];
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        if (i)
            list[n++] = ',';
        for (int label = 0; label < 4; label++) {
            size_t len = label < 3 ? 63 : 61;
            memset(list + n, 'a' + i, len);
            n += len;
            if (label < 3)
                list[n++] = '.';
        }
        memcpy(list + n, ":2379", 5);
        n += 5;
    }
    list[n] = '\0';
    return list;
}

ETCD_FIELD_ROW(etcd_create_endpoints_long_names, OF_ERR_INVALID,
               "16 endpoints of 253-byte names with ports: 4143 bytes, over the 4096-byte limit",
               b.o.endpoints = long_names())
ETCD_FIELD_ROW(etcd_create_prefix_long, OF_ERR_INVALID, "prefix of 257 bytes",
               memset(b.long_text, 'k', 257); b.o.prefix = b.long_text)
ETCD_FIELD_OK_ROW(etcd_create_prefix_longest, "prefix of 256 bytes (the maximum) is accepted",
                  memset(b.long_text, 'k', 256); b.o.prefix = b.long_text)
ETCD_FIELD_ROW(etcd_create_user_alone, OF_ERR_INVALID, "user without password",
               b.o.user = BI_USER)
ETCD_FIELD_ROW(etcd_create_password_alone, OF_ERR_INVALID,
               "password without user (no piece of it in the detail)", b.o.password = SECRET)
ETCD_FIELD_ROW(etcd_create_user_empty, OF_ERR_INVALID, "user \"\" with a password",
               b.o.user = ""; b.o.password = SECRET)
ETCD_FIELD_ROW(etcd_create_password_empty, OF_ERR_INVALID, "password \"\" with a user",
               b.o.user = BI_USER; b.o.password = "")
ETCD_FIELD_ROW(etcd_create_credentials_bad_field, OF_ERR_INVALID,
               "user and password, then a bad prefix (no piece of the password in the detail)",
               b.o.user = BI_USER; b.o.password = SECRET; memset(b.long_text, 'k', 257);
               b.o.prefix = b.long_text)
ETCD_FIELD_ROW(etcd_create_connect_zero, OF_ERR_INVALID, "connect_timeout_ms 0",
               b.o.connect_timeout_ms = 0)
ETCD_FIELD_ROW(etcd_create_connect_big, OF_ERR_INVALID, "connect_timeout_ms 2^31",
               b.o.connect_timeout_ms = 2147483648u)
ETCD_FIELD_ROW(etcd_create_command_zero, OF_ERR_INVALID, "command_timeout_ms 0",
               b.o.command_timeout_ms = 0)
ETCD_FIELD_ROW(etcd_create_command_big, OF_ERR_INVALID, "command_timeout_ms 2^31",
               b.o.command_timeout_ms = 2147483648u)
ETCD_FIELD_OK_ROW(etcd_create_timeouts_edges,
                  "timeouts 1 and 2^31 - 1 (the extremes) and credentials are accepted",
                  b.o.connect_timeout_ms = 1; b.o.command_timeout_ms = 2147483647u;
                  b.o.user = BI_USER; b.o.password = SECRET)

/* ------------------------------------------------------------------------------------------ */
/* of_lock_etcd_create_url                                                                      */

static int etcd_url(bi_fx *f, const char *url)
{
    int rc = of_lock_etcd_create_url(url, &f->o.provider);
    bi_check_secret(f, 0);
    return rc;
}

#define EURL_ROW(id, st, fl, in, url)                                                             \
    ROW(id, of_lock_etcd_create_url, F_NONE, st, fl | ETCD, in)                                   \
    {                                                                                             \
        return etcd_url(f, url);                                                                  \
    }

#define EURL_OK_ROW(id, in, url)                                                                  \
    ROW(id, of_lock_etcd_create_url, F_NONE, OF_OK, MUT | ETCD, in)                               \
    {                                                                                             \
        return etcd_url(f, url);                                                                  \
    }

ROW(etcd_url_null, of_lock_etcd_create_url, F_NONE, OF_ERR_INVALID, D | ETCD, "url NULL")
{
    return of_lock_etcd_create_url(NULL, &f->o.provider);
}

ROW(etcd_url_null_out, of_lock_etcd_create_url, F_NONE, OF_ERR_INVALID, D | ETCD,
    "out_provider NULL")
{
    return of_lock_etcd_create_url("etcd://127.0.0.1:1", NULL);
}

EURL_ROW(etcd_url_empty, OF_ERR_INVALID, D, "\"\"", "")
EURL_ROW(etcd_url_scheme, OF_ERR_INVALID, D, "scheme `http://`", "http://127.0.0.1:1")
EURL_ROW(etcd_url_scheme_redis, OF_ERR_INVALID, D, "scheme `redis://`", "redis://127.0.0.1:1")
EURL_ROW(etcd_url_no_slashes, OF_ERR_INVALID, D, "\"etcd:127.0.0.1\" (no `//`)",
         "etcd:127.0.0.1")
EURL_ROW(etcd_url_tls, OF_ERR_NOT_SUPPORTED, D, "`etcds://` (no TLS)", "etcds://127.0.0.1:1")
EURL_ROW(etcd_url_https, OF_ERR_NOT_SUPPORTED, D, "`https://` (no TLS)", "https://127.0.0.1:1")
EURL_ROW(etcd_url_no_host, OF_ERR_INVALID, D, "no host (\"etcd://\")", "etcd://")
EURL_ROW(etcd_url_host_empty, OF_ERR_INVALID, D, "empty host (\"etcd://:2379\")",
         "etcd://:2379")
EURL_ROW(etcd_url_host_empty_prefix, OF_ERR_INVALID, D, "empty host before a prefix",
         "etcd:///locks/")
EURL_ROW(etcd_url_empty_item, OF_ERR_INVALID, D, "an empty endpoint (\"a,,b\")",
         "etcd://127.0.0.1:1,,127.0.0.1:2")
EURL_ROW(etcd_url_trailing_comma, OF_ERR_INVALID, D, "a trailing comma",
         "etcd://127.0.0.1:1,/p")
EURL_ROW(etcd_url_port_zero, OF_ERR_INVALID, D, "port 0", "etcd://127.0.0.1:0")
EURL_ROW(etcd_url_port_big, OF_ERR_INVALID, D, "port 65536", "etcd://127.0.0.1:65536")
EURL_ROW(etcd_url_port_huge, OF_ERR_INVALID, D, "port 99999999999999999999",
         "etcd://127.0.0.1:99999999999999999999")
EURL_ROW(etcd_url_port_text, OF_ERR_INVALID, D, "port \"x\"", "etcd://127.0.0.1:x")
EURL_ROW(etcd_url_port_negative, OF_ERR_INVALID, D, "port -1", "etcd://127.0.0.1:-1")
EURL_ROW(etcd_url_port_empty, OF_ERR_INVALID, D, "empty port", "etcd://127.0.0.1:/p")
EURL_ROW(etcd_url_host_char, OF_ERR_INVALID, D, "host with '%'", "etcd://a%20b:1")
EURL_ROW(etcd_url_ipv6_open, OF_ERR_INVALID, D, "'[' without ']'", "etcd://[::1:1")
EURL_ROW(etcd_url_ipv6_bad, OF_ERR_INVALID, D, "bad IPv6 address", "etcd://[::g]:1")

ROW(etcd_url_endpoints_17, of_lock_etcd_create_url, F_NONE, OF_ERR_INVALID, D | ETCD,
    "17 endpoints (at most 16)")
{
    char url[8 + 17 * 16];
    size_t n = (size_t)snprintf(url, sizeof url, "etcd://");
    for (int i = 0; i < 17; i++)
        n += (size_t)snprintf(url + n, sizeof url - n, "%s127.0.0.1:%d", i ? "," : "", i + 1);
    return etcd_url(f, url);
}

ROW(etcd_url_endpoints_16, of_lock_etcd_create_url, F_NONE, OF_OK, MUT | ETCD,
    "16 endpoints (the maximum) are accepted; nothing connects")
{
    char url[8 + 17 * 16];
    size_t n = (size_t)snprintf(url, sizeof url, "etcd://");
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(url + n, sizeof url - n, "%s127.0.0.1:%d", i ? "," : "", i + 1);
    return etcd_url(f, url);
}

/* "etcd://127.0.0.1:1/" followed by a prefix of @p n bytes. */
static int prefix_url(bi_fx *f, size_t n)
{
    char url[64 + 300];
    size_t h = (size_t)snprintf(url, sizeof url, "etcd://127.0.0.1:1/");
    memset(url + h, 'k', n);
    url[h + n] = '\0';
    return etcd_url(f, url);
}

ROW(etcd_url_prefix_long, of_lock_etcd_create_url, F_NONE, OF_ERR_INVALID, D | ETCD,
    "prefix of 257 bytes")
{
    return prefix_url(f, 257);
}

ROW(etcd_url_prefix_longest, of_lock_etcd_create_url, F_NONE, OF_OK, MUT | ETCD,
    "prefix of 256 bytes (the maximum) is accepted")
{
    return prefix_url(f, 256);
}

ROW(etcd_url_prefix_long_encoded, of_lock_etcd_create_url, F_NONE, OF_ERR_INVALID, D | ETCD,
    "prefix of 257 bytes once decoded (`%41` counts 1)")
{
    char url[64 + 300];
    size_t h = (size_t)snprintf(url, sizeof url, "etcd://127.0.0.1:1/%%41");
    memset(url + h, 'k', 256);
    url[h + 256] = '\0';
    return etcd_url(f, url);
}

/* "etcd://" and 16 endpoints of long host names ('h'), @p len bytes in all (at least 7 + 16 * 2
 * + 15). */
static int long_url(bi_fx *f, size_t len)
{
    static char url[4200];
    size_t hosts = len - 7 - 15, n = 7;
    memcpy(url, "etcd://", 7);
    for (size_t i = 0; i < 16; i++) {
        size_t h = hosts / 16 + (i < hosts % 16);
        if (i)
            url[n++] = ',';
        memset(url + n, 'h', h);
        n += h;
    }
    url[n] = '\0';
    if (n != len)
        bi_why(f, "built a URL of %zu bytes", n);
    return etcd_url(f, url);
}

ROW(etcd_url_too_long, of_lock_etcd_create_url, F_NONE, OF_ERR_INVALID, D | ETCD,
    "4097 bytes (16 long host names)")
{
    return long_url(f, 4097);
}

ROW(etcd_url_longest, of_lock_etcd_create_url, F_NONE, OF_OK, MUT | ETCD,
    "4096 bytes (the maximum; 16 long host names) is accepted")
{
    return long_url(f, 4096);
}

EURL_ROW(etcd_url_prefix_nul, OF_ERR_INVALID, D, "`%00` in the prefix", "etcd://127.0.0.1:1/a%00")
EURL_ROW(etcd_url_prefix_percent, OF_ERR_INVALID, D, "`%zz` in the prefix",
         "etcd://127.0.0.1:1/a%zz")
EURL_ROW(etcd_url_prefix_hash, OF_ERR_INVALID, D, "raw '#' in the prefix",
         "etcd://127.0.0.1:1/a#b")
EURL_ROW(etcd_url_param_unknown, OF_ERR_INVALID, D, "unknown param", "etcd://127.0.0.1:1/?x=1")
EURL_ROW(etcd_url_param_repeated, OF_ERR_INVALID, D, "repeated param",
         "etcd://127.0.0.1:1/?connect_timeout_ms=5&connect_timeout_ms=6")
EURL_ROW(etcd_url_query_empty, OF_ERR_INVALID, D, "empty query after '?'",
         "etcd://127.0.0.1:1/?")
EURL_ROW(etcd_url_param_empty, OF_ERR_INVALID, D, "empty parameter (\"&&\")",
         "etcd://127.0.0.1:1?connect_timeout_ms=5&&command_timeout_ms=5")
EURL_ROW(etcd_url_param_trailing, OF_ERR_INVALID, D, "a trailing '&'",
         "etcd://127.0.0.1:1?connect_timeout_ms=5&")
EURL_ROW(etcd_url_param_no_value, OF_ERR_INVALID, D, "parameter without '=value'",
         "etcd://127.0.0.1:1?connect_timeout_ms")
EURL_ROW(etcd_url_param_value_empty, OF_ERR_INVALID, D, "empty number (\"connect_timeout_ms=\")",
         "etcd://127.0.0.1:1?connect_timeout_ms=")
EURL_ROW(etcd_url_param_zero, OF_ERR_INVALID, D, "connect_timeout_ms=0",
         "etcd://127.0.0.1:1?connect_timeout_ms=0")
EURL_ROW(etcd_url_param_big, OF_ERR_INVALID, D, "command_timeout_ms=2^31",
         "etcd://127.0.0.1:1?command_timeout_ms=2147483648")
EURL_ROW(etcd_url_param_text, OF_ERR_INVALID, D, "command_timeout_ms=1e3",
         "etcd://127.0.0.1:1?command_timeout_ms=1e3")
EURL_ROW(etcd_url_user_alone, OF_ERR_INVALID, D, "user without ':password'",
         "etcd://" BI_USER "@127.0.0.1:1")
EURL_ROW(etcd_url_password_empty, OF_ERR_INVALID, D, "empty password",
         "etcd://" BI_USER ":@127.0.0.1:1")
EURL_ROW(etcd_url_user_empty, OF_ERR_INVALID, D, "empty user (no piece of the password)",
         "etcd://:" SECRET "@127.0.0.1:1")
EURL_ROW(etcd_url_password_nul, OF_ERR_INVALID, D, "`%00` in the password",
         "etcd://" BI_USER ":" SECRET "%00@127.0.0.1:1")
EURL_ROW(etcd_url_password_percent, OF_ERR_INVALID, D, "`%zz` in the password",
         "etcd://" BI_USER ":" SECRET "%zz@127.0.0.1:1")
EURL_ROW(etcd_url_password_bracket, OF_ERR_INVALID, D, "raw '[' in the password",
         "etcd://" BI_USER ":s3cr[3tPW@127.0.0.1:1")
EURL_ROW(etcd_url_password_hash, OF_ERR_INVALID, D, "raw '#' in the password",
         "etcd://" BI_USER ":s3cr#3tPW@127.0.0.1:1")
EURL_ROW(etcd_url_password_slash, OF_ERR_INVALID, D,
         "raw '/' in the password (the authority ends there)",
         "etcd://" BI_USER ":s3cr/3tPW@127.0.0.1:1")
EURL_ROW(etcd_url_password_question, OF_ERR_INVALID, D,
         "raw '?' in the password (the authority ends there)",
         "etcd://" BI_USER ":s3cr?3tPW@127.0.0.1:1")
EURL_ROW(etcd_url_password_no_host, OF_ERR_INVALID, D, "credentials, then an empty host",
         "etcd://" BI_USER ":" SECRET "@:1")
EURL_ROW(etcd_url_password_bad_port, OF_ERR_INVALID, D, "credentials, then port 65536",
         "etcd://" BI_USER ":" SECRET "@127.0.0.1:65536")
EURL_ROW(etcd_url_password_bad_param, OF_ERR_INVALID, D, "credentials, then an unknown param",
         "etcd://" BI_USER ":" SECRET "@127.0.0.1:1/?x=" SECRET)
EURL_OK_ROW(etcd_url_full, "credentials, endpoints, a prefix and both params are accepted",
            "etcd://" BI_USER ":" SECRET "@127.0.0.1:1,[::1]:2,localhost/locks/"
            "?connect_timeout_ms=1&command_timeout_ms=2147483647")
EURL_OK_ROW(etcd_url_encoded, "percent-encoded user, password and prefix are accepted",
            "etcd://al%40ce:s3cr%233tPW@127.0.0.1:1/a%2Fb")
