/* Bad-input rows: the Redlock part of lock_redis.h (options, server arrays and comma lists are
 * refused before anything connects: the header says nothing connects until the first lock call,
 * and the accepted rows use loopback ports nobody listens on all the same; built without
 * hiredis, both create functions answer OF_ERR_NOT_SUPPORTED). */
#include <stdio.h>
#include <string.h>

#include "badinput.h"

#define ROWS_GROUP "lock_redis.h"

#define SECRET BI_SECRET

ROW(redlock_options_init_null, of_lock_redlock_options_init, F_NONE, OF_ERR_INVALID, D,
    "opts NULL")
{
    return of_lock_redlock_options_init(NULL, sizeof(of_lock_redlock_options));
}

ROW(redlock_options_init_size_zero, of_lock_redlock_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 0")
{
    return of_lock_redlock_options_init(&f->o.redlock_opts, 0);
}

ROW(redlock_options_init_size_small, of_lock_redlock_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 4 (too small)")
{
    return of_lock_redlock_options_init(&f->o.redlock_opts, 4);
}

ROW(redlock_options_init_size_large, of_lock_redlock_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return of_lock_redlock_options_init(&f->o.redlock_opts, sizeof(of_lock_redlock_options) + 8);
}

VROW(redlock_options_size, of_lock_redlock_options_size, F_NONE,
     "`sizeof(of_lock_redlock_options)`", "(no arguments)")
{
    return of_lock_redlock_options_size() == sizeof(of_lock_redlock_options);
}

/* ------------------------------------------------------------------------------------------ */
/* shared checks                                                                                */

/* After a refused create: no piece of the credentials in the detail, and (built with hiredis,
 * @p pos > 0) the detail names server @p pos of @p count by position ("2 of 3"). */
static int redlock_checked(bi_fx *f, int rc, size_t pos, size_t count)
{
    bi_check_secret(f, 1);
    if (rc != OF_OK && pos > 0 && of_lock_redis_available()) {
        char want[48];
        snprintf(want, sizeof want, "%zu of %zu", pos, count);
        if (strstr(of_last_error_detail(), want) == NULL)
            bi_why(f, "the detail does not name server %s: %s", want, of_last_error_detail());
    }
    return rc;
}

/* Loopback servers on ports 1..15: distinct, and nobody listens there. */
static const char *const loop_urls[17] = {
    "redis://127.0.0.1:1",  "redis://127.0.0.1:2",  "redis://127.0.0.1:3",
    "redis://127.0.0.1:4",  "redis://127.0.0.1:5",  "redis://127.0.0.1:6",
    "redis://127.0.0.1:7",  "redis://127.0.0.1:8",  "redis://127.0.0.1:9",
    "redis://127.0.0.1:10", "redis://127.0.0.1:11", "redis://127.0.0.1:12",
    "redis://127.0.0.1:13", "redis://127.0.0.1:14", "redis://127.0.0.1:15",
    "redis://127.0.0.1:16", "redis://127.0.0.1:17",
};

/* Three servers, the second given by the row. */
static int three(bi_fx *f, const char *second, const of_lock_redlock_options *o)
{
    const char *urls[3] = {loop_urls[0], second, loop_urls[2]};
    return redlock_checked(f, of_lock_redlock_create(urls, 3, o, &f->o.provider), 2, 3);
}

/* Three servers as given (a duplicate is named by the later position, 3 here). */
static int three_of(bi_fx *f, const char *a, const char *b, const char *c)
{
    const char *urls[3] = {a, b, c};
    return redlock_checked(f, of_lock_redlock_create(urls, 3, NULL, &f->o.provider), 0, 3);
}

typedef struct {
    of_lock_redlock_options o;
    unsigned char newer[64];
} redlock_opts;

static void redlock_defaults(bi_fx *f, redlock_opts *b)
{
    memset(b, 0, sizeof *b);
    if (of_lock_redlock_options_init(&b->o, sizeof b->o) != OF_OK)
        bi_why(f, "of_lock_redlock_options_init failed");
}

/* ------------------------------------------------------------------------------------------ */
/* of_lock_redlock_create: arguments and counts                                                 */

ROW(redlock_create_null_urls, of_lock_redlock_create, F_NONE, OF_ERR_INVALID, D | REDIS,
    "urls NULL, count 3")
{
    return of_lock_redlock_create(NULL, 3, NULL, &f->o.provider);
}

ROW(redlock_create_null_out, of_lock_redlock_create, F_NONE, OF_ERR_INVALID, D | REDIS,
    "out_provider NULL")
{
    return of_lock_redlock_create(loop_urls, 3, NULL, NULL);
}

ROW(redlock_create_null_item, of_lock_redlock_create, F_NONE, OF_ERR_INVALID, D | REDIS,
    "urls[1] NULL")
{
    return three(f, NULL, NULL);
}

#define COUNT_ROW(id, n, in)                                                                      \
    ROW(id, of_lock_redlock_create, F_NONE, OF_ERR_INVALID, D | REDIS, in)                        \
    {                                                                                             \
        return redlock_checked(f, of_lock_redlock_create(loop_urls, n, NULL, &f->o.provider), 0, \
                               n);                                                                \
    }

COUNT_ROW(redlock_create_count_zero, 0, "count 0")
COUNT_ROW(redlock_create_count_one, 1, "count 1 (fewer than 3)")
COUNT_ROW(redlock_create_count_two, 2, "count 2 (fewer than 3)")
COUNT_ROW(redlock_create_count_four, 4, "count 4 (even)")
COUNT_ROW(redlock_create_count_fourteen, 14, "count 14 (even)")
COUNT_ROW(redlock_create_count_sixteen, 16, "count 16 (even, more than 15)")
COUNT_ROW(redlock_create_count_seventeen, 17, "count 17 (odd, more than 15)")

ROW(redlock_create_count_three, of_lock_redlock_create, F_NONE, OF_OK, MUT | REDIS,
    "count 3 (the minimum) is accepted; nothing connects")
{
    return of_lock_redlock_create(loop_urls, 3, NULL, &f->o.provider);
}

ROW(redlock_create_count_fifteen, of_lock_redlock_create, F_NONE, OF_OK, MUT | REDIS,
    "count 15 (the maximum) is accepted")
{
    return of_lock_redlock_create(loop_urls, 15, NULL, &f->o.provider);
}

/* ------------------------------------------------------------------------------------------ */
/* of_lock_redlock_create: the same server twice                                                */

#define DUP_ROW(id, in, a, b, c)                                                                  \
    ROW(id, of_lock_redlock_create, F_NONE, OF_ERR_INVALID, D | REDIS, in)                        \
    {                                                                                             \
        return three_of(f, a, b, c);                                                              \
    }

DUP_ROW(redlock_create_dup_hostport, "the same host:port twice", "redis://127.0.0.1:1",
        "redis://127.0.0.1:2", "redis://127.0.0.1:1")
DUP_ROW(redlock_create_dup_case, "the same host in other case (\"LocalHost\", \"localhost\")",
        "redis://LocalHost:1", "redis://127.0.0.1:2", "redis://localhost:1")
DUP_ROW(redlock_create_dup_default_port, "`redis://h` and `redis://h:6379`", "redis://h",
        "redis://127.0.0.1:2", "redis://h:6379")
DUP_ROW(redlock_create_dup_db, "the same host:port with another db and prefix",
        "redis://127.0.0.1:1/0", "redis://127.0.0.1:2", "redis://127.0.0.1:1/5?prefix=b")
DUP_ROW(redlock_create_dup_ipv6, "the same `[::1]:1` twice", "redis://[::1]:1",
        "redis://127.0.0.1:2", "redis://[::1]:1")
DUP_ROW(redlock_create_dup_unix, "the same socket path twice", "unix:///tmp/bi-a.sock",
        "unix:///tmp/bi-b.sock", "unix:///tmp/bi-a.sock")
DUP_ROW(redlock_create_dup_unix_db, "the same socket path with another db",
        "unix:///tmp/bi-a.sock?db=1", "redis://127.0.0.1:2", "unix:///tmp/bi-a.sock?db=2")
DUP_ROW(redlock_create_dup_credentials, "the same server twice, each with a password",
        "redis://" BI_USER ":" SECRET "@127.0.0.1:1", "redis://127.0.0.1:2",
        "redis://" BI_USER ":" SECRET "x@127.0.0.1:1")

ROW(redlock_create_distinct_ports, of_lock_redlock_create, F_NONE, OF_OK, MUT | REDIS,
    "one host on three ports, and a unix socket beside a TCP server, are accepted")
{
    const char *urls[5] = {"redis://127.0.0.1:1", "redis://127.0.0.1:2", "redis://127.0.0.1:3",
                           "unix:///tmp/bi-a.sock", "unix:///tmp/bi-b.sock"};
    return of_lock_redlock_create(urls, 5, NULL, &f->o.provider);
}

/* ------------------------------------------------------------------------------------------ */
/* of_lock_redlock_create: a bad URL among good ones (named by position)                        */

#define URL2_ROW(id, st, in, url)                                                                 \
    ROW(id, of_lock_redlock_create, F_NONE, st, D | REDIS, in)                                    \
    {                                                                                             \
        return three(f, url, NULL);                                                               \
    }

URL2_ROW(redlock_create_url_empty, OF_ERR_INVALID, "server 2 \"\"", "")
URL2_ROW(redlock_create_url_scheme, OF_ERR_INVALID, "server 2 `http://`", "http://127.0.0.1:2")
URL2_ROW(redlock_create_url_tls, OF_ERR_NOT_SUPPORTED, "server 2 `rediss://` (no TLS)",
         "rediss://127.0.0.1:2")
URL2_ROW(redlock_create_url_port, OF_ERR_INVALID, "server 2 port 65536",
         "redis://127.0.0.1:65536")
URL2_ROW(redlock_create_url_host_empty, OF_ERR_INVALID, "server 2 with an empty host",
         "redis://:2")
URL2_ROW(redlock_create_url_param, OF_ERR_INVALID, "server 2 with an unknown param",
         "redis://127.0.0.1:2/?x=1")
URL2_ROW(redlock_create_url_timeout, OF_ERR_INVALID, "server 2 `connect_timeout_ms=0`",
         "redis://127.0.0.1:2/?connect_timeout_ms=0")
URL2_ROW(redlock_create_url_comma, OF_ERR_INVALID, "server 2 is a comma list",
         "redis://127.0.0.1:2,redis://127.0.0.1:4")
URL2_ROW(redlock_create_url_bad_percent, OF_ERR_INVALID,
         "server 2: `%zz` in the password (no piece of it in the detail)",
         "redis://" BI_USER ":" SECRET "%zz@127.0.0.1:2")
URL2_ROW(redlock_create_url_raw_hash, OF_ERR_INVALID, "server 2: raw '#' in the password",
         "redis://" BI_USER ":s3cr#3tPW@127.0.0.1:2")
URL2_ROW(redlock_create_url_raw_at, OF_ERR_INVALID,
         "server 2: raw '@' after the authority (an unencoded password)",
         "redis://127.0.0.1:2/0?prefix=a@" SECRET)
URL2_ROW(redlock_create_url_cred_no_host, OF_ERR_INVALID,
         "server 2: credentials, then an empty host", "redis://" BI_USER ":" SECRET "@:2")

ROW(redlock_create_url_long, of_lock_redlock_create, F_NONE, OF_ERR_INVALID, D | REDIS,
    "server 2 of 4097 bytes")
{
    static char url[4098];
    memset(url, 'p', 4097);
    memcpy(url, "redis://:", 9);
    memcpy(url + 4097 - 12, "@127.0.0.1:2", 13);
    return three(f, url, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* of_lock_redlock_create: options                                                              */

#define OPT_ROW(id, st, in, change)                                                               \
    ROW(id, of_lock_redlock_create, F_NONE, st, D | REDIS, in)                                    \
    {                                                                                             \
        redlock_opts b;                                                                           \
        redlock_defaults(f, &b);                                                                  \
        change;                                                                                   \
        return redlock_checked(f, of_lock_redlock_create(loop_urls, 3, &b.o, &f->o.provider), \
                               0, 3);                                                             \
    }

#define OPT_OK_ROW(id, in, change)                                                                \
    ROW(id, of_lock_redlock_create, F_NONE, OF_OK, MUT | REDIS, in)                               \
    {                                                                                             \
        redlock_opts b;                                                                           \
        redlock_defaults(f, &b);                                                                  \
        change;                                                                                   \
        return of_lock_redlock_create(loop_urls, 3, &b.o, &f->o.provider);                        \
    }

OPT_ROW(redlock_create_size_zero, OF_ERR_ABI, "opts struct_size 0", b.o.struct_size = 0)
OPT_ROW(redlock_create_size_small, OF_ERR_ABI, "opts struct_size 4 (too small)",
        b.o.struct_size = 4)
OPT_ROW(redlock_create_size_large, OF_ERR_ABI, "opts struct_size sizeof + 8 (a newer header)",
        b.o.struct_size = sizeof(of_lock_redlock_options) + 8)
OPT_ROW(redlock_create_connect_zero, OF_ERR_INVALID, "connect_timeout_ms 0",
        b.o.connect_timeout_ms = 0)
OPT_ROW(redlock_create_connect_big, OF_ERR_INVALID, "connect_timeout_ms 2^31",
        b.o.connect_timeout_ms = 2147483648u)
OPT_ROW(redlock_create_command_zero, OF_ERR_INVALID, "command_timeout_ms 0",
        b.o.command_timeout_ms = 0)
OPT_ROW(redlock_create_command_big, OF_ERR_INVALID, "command_timeout_ms 2^31",
        b.o.command_timeout_ms = 2147483648u)
OPT_ROW(redlock_create_drift_ppm_big, OF_ERR_INVALID, "drift_ppm 1000001",
        b.o.drift_ppm = 1000001)
OPT_ROW(redlock_create_drift_ppm_max, OF_ERR_INVALID, "drift_ppm UINT32_MAX",
        b.o.drift_ppm = 0xFFFFFFFFu)
OPT_ROW(redlock_create_drift_extra_big, OF_ERR_INVALID, "drift_extra_ms 2^31",
        b.o.drift_extra_ms = 2147483648u)
OPT_ROW(redlock_create_reserved, OF_ERR_INVALID, "reserved0 1", b.o.reserved0 = 1)

ROW(redlock_create_opts_credentials, of_lock_redlock_create, F_NONE, OF_ERR_INVALID, D | REDIS,
    "a bad option, servers with credentials (no piece of them in the detail)")
{
    const char *urls[3] = {"redis://" BI_USER ":" SECRET "@127.0.0.1:1",
                           "redis://" BI_USER ":" SECRET "@127.0.0.1:2",
                           "unix://" BI_USER ":" SECRET "@/tmp/bi-a.sock"};
    redlock_opts b;
    redlock_defaults(f, &b);
    b.o.connect_timeout_ms = 0;
    return redlock_checked(f, of_lock_redlock_create(urls, 3, &b.o, &f->o.provider), 0, 3);
}

OPT_OK_ROW(redlock_create_opts_null, "opts NULL (the defaults) is accepted", (void)b)
OPT_OK_ROW(redlock_create_timeouts_max, "both timeouts 2^31 - 1 (the maximum) are accepted",
           b.o.connect_timeout_ms = 2147483647u; b.o.command_timeout_ms = 2147483647u)
OPT_OK_ROW(redlock_create_timeouts_min, "both timeouts 1 (the minimum) are accepted",
           b.o.connect_timeout_ms = 1; b.o.command_timeout_ms = 1)
OPT_OK_ROW(redlock_create_drift_edges,
           "drift_ppm 1000000 and drift_extra_ms 2^31 - 1 (the maxima) are accepted",
           b.o.drift_ppm = 1000000; b.o.drift_extra_ms = 2147483647u)
OPT_OK_ROW(redlock_create_drift_zero, "drift_ppm 0 and drift_extra_ms 0 are accepted",
           b.o.drift_ppm = 0; b.o.drift_extra_ms = 0)

/* ------------------------------------------------------------------------------------------ */
/* of_lock_redlock_create_list                                                                  */

static int list_create(bi_fx *f, const char *list, const of_lock_redlock_options *o, size_t pos,
                       size_t count)
{
    return redlock_checked(f, of_lock_redlock_create_list(list, o, &f->o.provider), pos, count);
}

#define LIST_ROW(id, st, in, list, pos, count)                                                    \
    ROW(id, of_lock_redlock_create_list, F_NONE, st, D | REDIS, in)                               \
    {                                                                                             \
        return list_create(f, list, NULL, pos, count);                                            \
    }

#define LIST_OK_ROW(id, in, list)                                                                 \
    ROW(id, of_lock_redlock_create_list, F_NONE, OF_OK, MUT | REDIS, in)                          \
    {                                                                                             \
        return list_create(f, list, NULL, 0, 0);                                                  \
    }

#define L1 "redis://127.0.0.1:1"
#define L2 "redis://127.0.0.1:2"
#define L3 "redis://127.0.0.1:3"
#define L4 "redis://127.0.0.1:4"
#define L5 "redis://127.0.0.1:5"

ROW(redlock_list_null, of_lock_redlock_create_list, F_NONE, OF_ERR_INVALID, D | REDIS,
    "list NULL")
{
    return of_lock_redlock_create_list(NULL, NULL, &f->o.provider);
}

ROW(redlock_list_null_out, of_lock_redlock_create_list, F_NONE, OF_ERR_INVALID, D | REDIS,
    "out_provider NULL")
{
    return of_lock_redlock_create_list(L1 "," L2 "," L3, NULL, NULL);
}

LIST_ROW(redlock_list_empty, OF_ERR_INVALID, "\"\"", "", 0, 0)
LIST_ROW(redlock_list_one, OF_ERR_INVALID, "one URL (fewer than 3)", L1, 0, 0)
LIST_ROW(redlock_list_two, OF_ERR_INVALID, "two URLs (fewer than 3)", L1 "," L2, 0, 0)
LIST_ROW(redlock_list_four, OF_ERR_INVALID, "four URLs (even)", L1 "," L2 "," L3 "," L4, 0, 0)
LIST_ROW(redlock_list_commas, OF_ERR_INVALID, "\",,\" (three empty items)", ",,", 1, 3)
LIST_ROW(redlock_list_empty_middle, OF_ERR_INVALID, "an empty item in the middle (\"a,,b\")",
         L1 ",," L3, 2, 3)
LIST_ROW(redlock_list_empty_first, OF_ERR_INVALID, "a leading comma", "," L1 "," L2, 1, 3)
LIST_ROW(redlock_list_empty_last, OF_ERR_INVALID, "a trailing comma", L1 "," L2 ",", 3, 3)
LIST_ROW(redlock_list_space, OF_ERR_INVALID, "a space after a comma", L1 ", " L2 "," L3, 2, 3)
LIST_ROW(redlock_list_tab, OF_ERR_INVALID, "a tab at the end", L1 "," L2 "," L3 "\t", 3, 3)
LIST_ROW(redlock_list_dup, OF_ERR_INVALID, "the same host:port twice", L1 "," L2 "," L1, 0, 0)
LIST_ROW(redlock_list_dup_unix, OF_ERR_INVALID, "the same socket path twice",
         "unix:///tmp/bi-a.sock," L2 ",unix:///tmp/bi-a.sock", 0, 0)
LIST_ROW(redlock_list_bad_url, OF_ERR_INVALID, "item 2 has a bad port",
         L1 ",redis://127.0.0.1:0," L3, 2, 3)
LIST_ROW(redlock_list_bad_scheme, OF_ERR_INVALID, "item 3 is `http://`",
         L1 "," L2 ",http://127.0.0.1:3", 3, 3)
LIST_ROW(redlock_list_tls, OF_ERR_NOT_SUPPORTED, "item 2 is `rediss://` (no TLS)",
         L1 ",rediss://127.0.0.1:2," L3, 2, 3)
LIST_ROW(redlock_list_raw_comma_password, OF_ERR_INVALID,
         "a raw ',' in a password splits it (item 1 named, no piece of the password)",
         "redis://" BI_USER ":s3cr,3tPW@127.0.0.1:1," L2 "," L3 "," L4, 1, 5)
LIST_ROW(redlock_list_bad_percent_password, OF_ERR_INVALID,
         "`%zz` in a password of item 3 (named, no piece of it)",
         L1 "," L2 ",redis://" BI_USER ":" SECRET "%zz@127.0.0.1:3", 3, 3)
LIST_ROW(redlock_list_cred_no_host, OF_ERR_INVALID, "item 2: credentials, then an empty host",
         L1 ",redis://" BI_USER ":" SECRET "@:2," L3, 2, 3)

ROW(redlock_list_seventeen, of_lock_redlock_create_list, F_NONE, OF_ERR_INVALID, D | REDIS,
    "17 URLs (more than 15)")
{
    char list[17 * 24];
    size_t n = 0;
    for (int i = 0; i < 17; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? "," : "", loop_urls[i]);
    return list_create(f, list, NULL, 0, 17);
}

ROW(redlock_list_fifteen, of_lock_redlock_create_list, F_NONE, OF_OK, MUT | REDIS,
    "15 URLs (the maximum) are accepted")
{
    char list[15 * 24];
    size_t n = 0;
    for (int i = 0; i < 15; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? "," : "", loop_urls[i]);
    return list_create(f, list, NULL, 0, 15);
}

ROW(redlock_list_too_long, of_lock_redlock_create_list, F_NONE, OF_ERR_INVALID, D | REDIS,
    "15 * 4096 + 15 bytes (one more than the limit)")
{
    /* Three items, the last padded by a long prefix: only the total length is wrong. */
    static char list[15 * 4096 + 16];
    size_t len = 15 * 4096 + 15;
    int n = snprintf(list, sizeof list, L1 "," L2 "," L3 "/?prefix=");
    memset(list + n, 'k', len - (size_t)n);
    list[len] = '\0';
    return list_create(f, list, NULL, 0, 0);
}

/* Item @p i of a list of items of @p size bytes each: server port i + 1, padded by leading
 * zeros of a timeout. */
static size_t padded_item(char *w, size_t size, int i)
{
    int n = sprintf(w, "redis://127.0.0.1:%d/?connect_timeout_ms=", i + 1);
    memset(w + n, '0', size - (size_t)n - 1);
    w[size - 1] = '5';
    return size;
}

ROW(redlock_list_longest, of_lock_redlock_create_list, F_NONE, OF_OK, MUT | REDIS,
    "15 items of 4096 bytes, 15 * 4096 + 14 bytes (the maximum), are accepted")
{
    static char list[15 * 4097 + 1];
    size_t n = 0;
    for (int i = 0; i < 15; i++) {
        if (i)
            list[n++] = ',';
        n += padded_item(list + n, 4096, i);
    }
    list[n] = '\0';
    if (n != 15 * 4096 + 14)
        bi_why(f, "built a list of %zu bytes", n);
    return list_create(f, list, NULL, 0, 0);
}

ROW(redlock_list_item_long, of_lock_redlock_create_list, F_NONE, OF_ERR_INVALID, D | REDIS,
    "item 2 of 4097 bytes (the list itself is short enough)")
{
    static char list[3 * 4098 + 1];
    size_t n = padded_item(list, 4096, 0);
    list[n++] = ',';
    n += padded_item(list + n, 4097, 1);
    list[n++] = ',';
    n += padded_item(list + n, 4096, 2);
    list[n] = '\0';
    return list_create(f, list, NULL, 2, 3);
}

LIST_OK_ROW(redlock_list_three, "three URLs (the minimum) are accepted; nothing connects",
            L1 "," L2 "," L3)
LIST_OK_ROW(redlock_list_encoded_comma, "`%2C` in a password is accepted",
            "redis://" BI_USER ":s3cr%2C3tPW@127.0.0.1:1," L2 "," L3)
LIST_OK_ROW(redlock_list_mixed, "unix:// and redis:// items with params are accepted",
            "unix:///tmp/bi-a.sock?db=1," L2 "/3?prefix=p," L3 "/?connect_timeout_ms=5," L4
            "," L5)

ROW(redlock_list_opts_bad, of_lock_redlock_create_list, F_NONE, OF_ERR_INVALID, D | REDIS,
    "opts drift_ppm 1000001")
{
    redlock_opts b;
    redlock_defaults(f, &b);
    b.o.drift_ppm = 1000001;
    return list_create(f, L1 "," L2 "," L3, &b.o, 0, 0);
}

ROW(redlock_list_opts_size, of_lock_redlock_create_list, F_NONE, OF_ERR_ABI, D | REDIS,
    "opts struct_size sizeof + 8 (a newer header)")
{
    redlock_opts b;
    redlock_defaults(f, &b);
    b.o.struct_size = sizeof(of_lock_redlock_options) + 8;
    return list_create(f, L1 "," L2 "," L3, &b.o, 0, 0);
}

ROW(redlock_list_opts_timeout, of_lock_redlock_create_list, F_NONE, OF_ERR_INVALID, D | REDIS,
    "opts command_timeout_ms 0")
{
    redlock_opts b;
    redlock_defaults(f, &b);
    b.o.command_timeout_ms = 0;
    return list_create(f, L1 "," L2 "," L3, &b.o, 0, 0);
}
