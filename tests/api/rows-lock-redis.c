/* Bad-input rows: lock_redis.h (options and URLs are refused before anything connects; built
 * without hiredis, both create functions answer OF_ERR_NOT_SUPPORTED). */
#include <stdio.h>
#include <string.h>

#include "badinput.h"

#define ROWS_GROUP "lock_redis.h"

/* Every URL with credentials below uses this password: no detail may hold a byte run of it. */
#define SECRET BI_SECRET

VROW(redis_available, of_lock_redis_available, F_NONE, "1 (built with hiredis), else 0",
     "(no arguments)")
{
    return of_lock_redis_available() == BI_HAVE_REDIS;
}

ROW(redis_options_init_null, of_lock_redis_options_init, F_NONE, OF_ERR_INVALID, D, "opts NULL")
{
    return of_lock_redis_options_init(NULL, sizeof(of_lock_redis_options));
}

ROW(redis_options_init_size_zero, of_lock_redis_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 0")
{
    return of_lock_redis_options_init(&f->o.redis_opts, 0);
}

ROW(redis_options_init_size_small, of_lock_redis_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 4 (too small)")
{
    return of_lock_redis_options_init(&f->o.redis_opts, 4);
}

ROW(redis_options_init_size_large, of_lock_redis_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return of_lock_redis_options_init(&f->o.redis_opts, sizeof(of_lock_redis_options) + 8);
}

VROW(redis_options_size, of_lock_redis_options_size, F_NONE, "`sizeof(of_lock_redis_options)`",
     "(no arguments)")
{
    return of_lock_redis_options_size() == sizeof(of_lock_redis_options);
}

/* ------------------------------------------------------------------------------------------ */
/* of_lock_redis_create: one bad field at a time                                                */

typedef struct {
    of_lock_redis_options o;
    unsigned char newer[64];
    char long_text[1100];
} redis_opts;

static void redis_defaults(bi_fx *f, redis_opts *b)
{
    memset(b, 0, sizeof *b);
    if (of_lock_redis_options_init(&b->o, sizeof b->o) != OF_OK)
        bi_why(f, "of_lock_redis_options_init failed");
    b->o.port = 1; /* nothing should connect; if something did, nobody listens there */
}

static int redis_create(bi_fx *f, const redis_opts *b)
{
    int rc = of_lock_redis_create(&b->o, &f->o.provider);
    bi_check_secret(f, 0);
    return rc;
}

#define REDIS_FIELD_ROW(id, st, in, change)                                                       \
    ROW(id, of_lock_redis_create, F_NONE, st, D | REDIS, in)                                      \
    {                                                                                             \
        redis_opts b;                                                                             \
        redis_defaults(f, &b);                                                                    \
        change;                                                                                   \
        return redis_create(f, &b);                                                               \
    }

ROW(redis_create_null_opts, of_lock_redis_create, F_NONE, OF_ERR_INVALID, D | REDIS, "opts NULL")
{
    return of_lock_redis_create(NULL, &f->o.provider);
}

ROW(redis_create_null_out, of_lock_redis_create, F_NONE, OF_ERR_INVALID, D | REDIS,
    "out_provider NULL")
{
    redis_opts b;
    redis_defaults(f, &b);
    return of_lock_redis_create(&b.o, NULL);
}

REDIS_FIELD_ROW(redis_create_size_zero, OF_ERR_ABI, "struct_size 0", b.o.struct_size = 0)
REDIS_FIELD_ROW(redis_create_size_small, OF_ERR_ABI, "struct_size 4 (too small)",
                b.o.struct_size = 4)
REDIS_FIELD_ROW(redis_create_size_large, OF_ERR_ABI, "struct_size sizeof + 8 (a newer header)",
                b.o.struct_size = sizeof(of_lock_redis_options) + 8)
REDIS_FIELD_ROW(redis_create_port_zero, OF_ERR_INVALID, "port 0", b.o.port = 0)
REDIS_FIELD_ROW(redis_create_port_big, OF_ERR_INVALID, "port 65536", b.o.port = 65536)
REDIS_FIELD_ROW(redis_create_host_empty, OF_ERR_INVALID, "host \"\"", b.o.host = "")
REDIS_FIELD_ROW(redis_create_unix_empty, OF_ERR_INVALID, "unix_path \"\"", b.o.unix_path = "")
REDIS_FIELD_ROW(redis_create_unix_long, OF_ERR_INVALID, "unix_path of 108 bytes",
                memset(b.long_text, 'p', 108);
                b.long_text[0] = '/'; b.o.unix_path = b.long_text)
ROW(redis_create_unix_longest, of_lock_redis_create, F_NONE, OF_OK, MUT | REDIS,
    "unix_path of 107 bytes (the maximum) is accepted; nothing connects")
{
    redis_opts b;
    redis_defaults(f, &b);
    memset(b.long_text, 'p', 107);
    b.long_text[0] = '/';
    b.o.unix_path = b.long_text;
    return redis_create(f, &b);
}

REDIS_FIELD_ROW(redis_create_user_alone, OF_ERR_INVALID, "user without password",
                b.o.user = "alice")
REDIS_FIELD_ROW(redis_create_prefix_long, OF_ERR_INVALID, "prefix of 257 bytes",
                memset(b.long_text, 'k', 257); b.o.prefix = b.long_text)
ROW(redis_create_prefix_longest, of_lock_redis_create, F_NONE, OF_OK, MUT | REDIS,
    "prefix of 256 bytes (the maximum) is accepted")
{
    redis_opts b;
    redis_defaults(f, &b);
    memset(b.long_text, 'k', 256);
    b.o.prefix = b.long_text;
    return redis_create(f, &b);
}

REDIS_FIELD_ROW(redis_create_prefix_brace, OF_ERR_INVALID, "prefix \"a{b\"", b.o.prefix = "a{b")
REDIS_FIELD_ROW(redis_create_prefix_close, OF_ERR_INVALID, "prefix \"a}b\"", b.o.prefix = "a}b")
REDIS_FIELD_ROW(redis_create_db_big, OF_ERR_INVALID, "db 2^31", b.o.db = 2147483648u)
REDIS_FIELD_ROW(redis_create_connect_zero, OF_ERR_INVALID, "connect_timeout_ms 0",
                b.o.connect_timeout_ms = 0)
REDIS_FIELD_ROW(redis_create_connect_big, OF_ERR_INVALID, "connect_timeout_ms 2^31",
                b.o.connect_timeout_ms = 2147483648u)
REDIS_FIELD_ROW(redis_create_command_zero, OF_ERR_INVALID, "command_timeout_ms 0",
                b.o.command_timeout_ms = 0)
REDIS_FIELD_ROW(redis_create_command_big, OF_ERR_INVALID, "command_timeout_ms 2^31",
                b.o.command_timeout_ms = 2147483648u)
REDIS_FIELD_ROW(redis_create_host_space, OF_ERR_INVALID, "host \"a b\"", b.o.host = "a b")
REDIS_FIELD_ROW(redis_create_host_long, OF_ERR_INVALID, "host of 300 bytes",
                memset(b.long_text, 'h', 300); b.o.host = b.long_text)
REDIS_FIELD_ROW(redis_create_keepalive, OF_ERR_INVALID, "keepalive 2", b.o.keepalive = 2)
REDIS_FIELD_ROW(redis_create_host_256, OF_ERR_INVALID, "host of 256 bytes",
                memset(b.long_text, 'h', 256); b.o.host = b.long_text)
ROW(redis_create_host_255, of_lock_redis_create, F_NONE, OF_OK, MUT | REDIS,
    "host of 255 bytes (the maximum) is accepted; nothing connects")
{
    redis_opts b;
    redis_defaults(f, &b);
    memset(b.long_text, 'h', 255);
    b.o.host = b.long_text;
    return redis_create(f, &b);
}

REDIS_FIELD_ROW(redis_create_password_empty, OF_ERR_INVALID, "password \"\"", b.o.password = "")
REDIS_FIELD_ROW(redis_create_user_empty, OF_ERR_INVALID, "user \"\" with a password",
                b.o.user = ""; b.o.password = SECRET)
REDIS_FIELD_ROW(redis_create_password_1025, OF_ERR_INVALID, "password of 1025 bytes",
                memset(b.long_text, 'p', 1025); memcpy(b.long_text, SECRET, 8);
                b.o.password = b.long_text)
REDIS_FIELD_ROW(redis_create_user_1025, OF_ERR_INVALID, "user of 1025 bytes",
                memset(b.long_text, 'u', 1025); b.o.user = b.long_text; b.o.password = SECRET)
ROW(redis_create_password_1024, of_lock_redis_create, F_NONE, OF_OK, MUT | REDIS,
    "password of 1024 bytes (the maximum) is accepted")
{
    redis_opts b;
    redis_defaults(f, &b);
    memset(b.long_text, 'p', 1024);
    b.o.password = b.long_text;
    return redis_create(f, &b);
}

REDIS_FIELD_ROW(redis_create_password_bad_field, OF_ERR_INVALID,
                "user and password, then a bad port (the detail holds no piece of them)",
                b.o.user = BI_USER; b.o.password = SECRET; b.o.port = 0)

/* ------------------------------------------------------------------------------------------ */
/* of_lock_redis_create_url                                                                     */

static int url_create(bi_fx *f, const char *url)
{
    int rc = of_lock_redis_create_url(url, &f->o.provider);
    /* No detail holds a byte run of the password (nor of the user name "alice"). */
    bi_check_secret(f, 1);
    return rc;
}

#define URL_ROW(id, st, fl, in, url)                                                              \
    ROW(id, of_lock_redis_create_url, F_NONE, st, fl | REDIS, in)                                 \
    {                                                                                             \
        return url_create(f, url);                                                                \
    }

ROW(redis_url_null, of_lock_redis_create_url, F_NONE, OF_ERR_INVALID, D | REDIS, "url NULL")
{
    return of_lock_redis_create_url(NULL, &f->o.provider);
}

ROW(redis_url_null_out, of_lock_redis_create_url, F_NONE, OF_ERR_INVALID, D | REDIS,
    "out_provider NULL")
{
    return of_lock_redis_create_url("redis://127.0.0.1:1", NULL);
}

/* "redis://:PASSWORD@127.0.0.1:1" of exactly @p len bytes (the password pads it). */
static int url_of_length(bi_fx *f, size_t len)
{
    char url[4200];
    const char *head = "redis://:", *tail = "@127.0.0.1:1";
    size_t h = strlen(head), t = strlen(tail);
    memcpy(url, head, h);
    memset(url + h, 'p', len - h - t);
    memcpy(url + len - t, tail, t + 1);
    if (strlen(url) != len)
        bi_why(f, "built a URL of %zu bytes", strlen(url));
    return url_create(f, url);
}

ROW(redis_url_too_long, of_lock_redis_create_url, F_NONE, OF_ERR_INVALID, D | REDIS,
    "4097 bytes")
{
    return url_of_length(f, 4097);
}

URL_ROW(redis_url_empty, OF_ERR_INVALID, D, "\"\"", "")
URL_ROW(redis_url_scheme, OF_ERR_INVALID, D, "scheme http://", "http://127.0.0.1:1")
URL_ROW(redis_url_tls, OF_ERR_NOT_SUPPORTED, 0, "rediss:// (no TLS)", "rediss://127.0.0.1:1")
URL_ROW(redis_url_port_zero, OF_ERR_INVALID, D, "port 0", "redis://127.0.0.1:0")
URL_ROW(redis_url_port_big, OF_ERR_INVALID, D, "port 65536", "redis://127.0.0.1:65536")
URL_ROW(redis_url_port_text, OF_ERR_INVALID, D, "port \"x\"", "redis://127.0.0.1:x")
URL_ROW(redis_url_host_empty, OF_ERR_INVALID, D, "empty host", "redis://:1")
URL_ROW(redis_url_db_text, OF_ERR_INVALID, D, "db \"x\"", "redis://127.0.0.1:1/x")
URL_ROW(redis_url_db_big, OF_ERR_INVALID, D, "db 2^31", "redis://127.0.0.1:1/2147483648")
URL_ROW(redis_url_param_unknown, OF_ERR_INVALID, D, "unknown param", "redis://127.0.0.1:1/?x=1")
URL_ROW(redis_url_param_repeated, OF_ERR_INVALID, D, "repeated param",
        "redis://127.0.0.1:1/?prefix=a&prefix=b")
URL_ROW(redis_url_param_db_tcp, OF_ERR_INVALID, D, "param db on redis://",
        "redis://127.0.0.1:1/?db=1")
URL_ROW(redis_url_param_empty, OF_ERR_INVALID, D, "empty parameter (\"&&\")",
        "redis://127.0.0.1:1/?keepalive=1&&prefix=a")
URL_ROW(redis_url_value_empty, OF_ERR_INVALID, D, "empty number (\"keepalive=\")",
        "redis://127.0.0.1:1/?keepalive=")
URL_ROW(redis_url_keepalive, OF_ERR_INVALID, D, "keepalive=2",
        "redis://127.0.0.1:1/?keepalive=2")
URL_ROW(redis_url_connect_zero, OF_ERR_INVALID, D, "connect_timeout_ms=0",
        "redis://127.0.0.1:1/?connect_timeout_ms=0")
URL_ROW(redis_url_command_big, OF_ERR_INVALID, D, "command_timeout_ms=2^31",
        "redis://127.0.0.1:1/?command_timeout_ms=2147483648")
URL_ROW(redis_url_prefix_brace, OF_ERR_INVALID, D, "prefix with '{'",
        "redis://127.0.0.1:1/?prefix=a%7Bb")
URL_ROW(redis_url_nul, OF_ERR_INVALID, D, "`%00` in the password",
        "redis://alice:" SECRET "%00@127.0.0.1:1")
URL_ROW(redis_url_bad_percent, OF_ERR_INVALID, D, "`%zz` in the password",
        "redis://alice:" SECRET "%zz@127.0.0.1:1")
URL_ROW(redis_url_raw_hash, OF_ERR_INVALID, D, "raw '#' in the password",
        "redis://alice:s3cr#3tPW@127.0.0.1:1")
URL_ROW(redis_url_raw_at, OF_ERR_INVALID, D, "raw '@' after the authority",
        "redis://127.0.0.1:1/0?prefix=a@" SECRET)
URL_ROW(redis_url_unix_relative, OF_ERR_INVALID, D, "unix:// with a relative path",
        "unix://relative/path")
ROW(redis_url_unix_long, of_lock_redis_create_url, F_NONE, OF_ERR_INVALID, D | REDIS,
    "unix:// path of 108 bytes")
{
    char url[8 + 108 + 1];
    memcpy(url, "unix://", 7);
    memset(url + 7, 'p', 108);
    url[7] = '/';
    url[7 + 108] = '\0';
    return url_create(f, url);
}

URL_ROW(redis_url_bracket, OF_ERR_INVALID, D, "unbalanced '[' in the host", "redis://[::1:1")
URL_ROW(redis_url_port_negative, OF_ERR_INVALID, D, "port -1", "redis://127.0.0.1:-1")
URL_ROW(redis_url_path_junk, OF_ERR_INVALID, D, "path /0/1", "redis://127.0.0.1:1/0/1")
URL_ROW(redis_url_timeout_float, OF_ERR_INVALID, D, "connect_timeout_ms=1e3",
        "redis://127.0.0.1:1/?connect_timeout_ms=1e3")
URL_ROW(redis_url_password_empty_host, OF_ERR_INVALID, D, "credentials, then an empty host",
        "redis://alice:" SECRET "@:1")
URL_ROW(redis_url_junk, OF_ERR_INVALID, D, "junk after the port", "redis://127.0.0.1:1x/")

/* "redis://" ‖ @p user ‖ ':' ‖ @p pw_len bytes of password (BI_SECRET, then 'p') ‖ '@' ‖ host of
 * @p host_len 'h' bytes ‖ ":1". */
static int url_sized(bi_fx *f, const char *user, size_t pw_len, size_t host_len)
{
    char url[2600];
    size_t n = (size_t)snprintf(url, sizeof url, "redis://%s", user);
    if (pw_len > 0) {
        url[n++] = ':';
        memset(url + n, 'p', pw_len);
        memcpy(url + n, SECRET, pw_len < 8 ? pw_len : 8);
        n += pw_len;
        url[n++] = '@';
    }
    memset(url + n, 'h', host_len);
    n += host_len;
    memcpy(url + n, ":1", 3);
    return url_create(f, url);
}

ROW(redis_url_host_256, of_lock_redis_create_url, F_NONE, OF_ERR_INVALID, D | REDIS,
    "host of 256 bytes")
{
    return url_sized(f, "", 0, 256);
}

ROW(redis_url_host_255, of_lock_redis_create_url, F_NONE, OF_OK, MUT | REDIS,
    "host of 255 bytes (the maximum) is accepted")
{
    return url_sized(f, "", 0, 255);
}

ROW(redis_url_password_1025, of_lock_redis_create_url, F_NONE, OF_ERR_INVALID, D | REDIS,
    "password of 1025 bytes")
{
    return url_sized(f, BI_USER, 1025, 9);
}

ROW(redis_url_password_1024, of_lock_redis_create_url, F_NONE, OF_OK, MUT | REDIS,
    "password of 1024 bytes (the maximum) is accepted")
{
    return url_sized(f, BI_USER, 1024, 9);
}

ROW(redis_url_password_1025_encoded, of_lock_redis_create_url, F_NONE, OF_ERR_INVALID,
    D | REDIS, "password of 1025 bytes once decoded (`%41` counts 1)")
{
    /* 1023 raw bytes and two "%41": 1029 bytes in the URL, 1025 decoded. */
    char url[1200];
    size_t n = (size_t)snprintf(url, sizeof url, "redis://:%s", SECRET);
    memset(url + n, 'p', 1023 - 8);
    n += 1023 - 8;
    memcpy(url + n, "%41%41@127.0.0.1:1", 19);
    return url_create(f, url);
}
