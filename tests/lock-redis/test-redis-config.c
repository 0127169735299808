/* Unit tests of the Redis provider's configuration: strict URL parsing (offsets in the detail,
 * percent-decoding, IPv6, unix://, rediss://), options validation, and the key encoding. Needs
 * no server and runs in every build (also without hiredis). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openfault/openfault.h>

#include "lock/providers/redis_config.h"

static ofi_redis_config parse_ok(const char *url)
{
    ofi_redis_config cfg;
    int rc = ofi_redis_config_from_url(url, &cfg);
    if (rc != OF_OK)
        fail_msg("%s: %s (%s)", url, of_status_name(rc), of_last_error_detail());
    return cfg;
}

static void url_redis_defaults(void **state)
{
    (void)state;
    ofi_redis_config c = parse_ok("redis://localhost");
    assert_string_equal(c.host, "localhost");
    assert_null(c.unix_path);
    assert_int_equal(c.port, 6379);
    assert_int_equal(c.db, 0);
    assert_null(c.user);
    assert_null(c.password);
    assert_string_equal(c.prefix, "");
    assert_int_equal(c.prefix_len, 0);
    assert_int_equal(c.connect_timeout_ms, OF_LOCK_REDIS_DEFAULT_CONNECT_TIMEOUT_MS);
    assert_int_equal(c.command_timeout_ms, OF_LOCK_REDIS_DEFAULT_COMMAND_TIMEOUT_MS);
    assert_int_equal(c.keepalive, 1);
    ofi_redis_config_free(&c);

    c = parse_ok("REDIS://10.1.2.3:7000/");
    assert_string_equal(c.host, "10.1.2.3");
    assert_int_equal(c.port, 7000);
    assert_int_equal(c.db, 0);
    ofi_redis_config_free(&c);
}

static void url_redis_all_fields_decoded(void **state)
{
    (void)state;
    ofi_redis_config c =
        parse_ok("redis://al%69ce:s%40cr%3At:x@cache-1.example_net:6380/15?connect_timeout_ms=250"
                 "&command_timeout_ms=750&prefix=app%3A1%2F&keepalive=0");
    assert_string_equal(c.user, "alice");
    assert_string_equal(c.password, "s@cr:t:x");
    assert_string_equal(c.host, "cache-1.example_net");
    assert_int_equal(c.port, 6380);
    assert_int_equal(c.db, 15);
    assert_int_equal(c.connect_timeout_ms, 250);
    assert_int_equal(c.command_timeout_ms, 750);
    assert_string_equal(c.prefix, "app:1/");
    assert_int_equal(c.prefix_len, 6);
    assert_int_equal(c.keepalive, 0);
    ofi_redis_config_free(&c);

    c = parse_ok("redis://:only-pass@h/2147483647?prefix=");
    assert_null(c.user);
    assert_string_equal(c.password, "only-pass");
    assert_int_equal(c.db, 2147483647);
    assert_string_equal(c.prefix, "");
    ofi_redis_config_free(&c);
}

static void url_ipv6_hosts(void **state)
{
    (void)state;
    ofi_redis_config c = parse_ok("redis://[::1]:7001/3");
    assert_string_equal(c.host, "::1");
    assert_int_equal(c.port, 7001);
    assert_int_equal(c.db, 3);
    ofi_redis_config_free(&c);

    c = parse_ok("redis://u:p@[2001:db8::7]");
    assert_string_equal(c.host, "2001:db8::7");
    assert_int_equal(c.port, 6379);
    ofi_redis_config_free(&c);

    c = parse_ok("redis://[fe80::1%25eth0]:6000");
    assert_string_equal(c.host, "fe80::1%eth0");
    ofi_redis_config_free(&c);
}

static void url_unix_sockets(void **state)
{
    (void)state;
    ofi_redis_config c = parse_ok("unix:///run/redis/redis.sock");
    assert_null(c.host);
    assert_string_equal(c.unix_path, "/run/redis/redis.sock");
    assert_int_equal(c.db, 0);
    ofi_redis_config_free(&c);

    c = parse_ok("unix://bob:pw%26x@/tmp/my%20dir/r.sock?db=4&prefix=p:&command_timeout_ms=9");
    assert_string_equal(c.user, "bob");
    assert_string_equal(c.password, "pw&x");
    assert_string_equal(c.unix_path, "/tmp/my dir/r.sock");
    assert_int_equal(c.db, 4);
    assert_string_equal(c.prefix, "p:");
    assert_int_equal(c.command_timeout_ms, 9);
    ofi_redis_config_free(&c);
}

static void url_rediss_is_not_supported(void **state)
{
    (void)state;
    ofi_redis_config c;
    memset(&c, 0x5a, sizeof c);
    ofi_redis_config before = c;
    assert_int_equal(ofi_redis_config_from_url("rediss://h:6380", &c), OF_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(of_last_error_detail(), "TLS"));
    assert_memory_equal(&c, &before, sizeof c); /* untouched on error */
    assert_int_equal(ofi_redis_config_from_url("RedisS://h", &c), OF_ERR_NOT_SUPPORTED);
}

static void url_errors_name_the_offset(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        long offset; /* -1: no offset expected */
        const char *words;
    } cases[] = {
        {"http://h", 0, "scheme"},
        {"redis:/h", 5, "expected"},
        {"redis", 5, "expected"},
        {"", 0, "expected"},
        {"redis://", 8, "missing host"},
        {"redis://:pw@", 12, "missing host"},
        {"redis://h:", 10, "port is empty"},
        {"redis://h:0", 10, "below"},
        {"redis://h:65536", 10, "above"},
        {"redis://h:12a", 12, "digits"},
        {"redis://h:-1", 10, "digits"},
        {"redis://h/x", 10, "digits"},
        {"redis://h/1/2", 11, "digits"},
        {"redis://h/2147483648", 10, "above"},
        {"redis://h?foo=1", 10, "unknown parameter (known:"},
        {"redis://h?prefix=a&prefix=b", 19, "twice"},
        {"redis://h?db=1", 10, "unix"},
        {"redis://h?", 9, "empty query"},
        {"redis://h?&keepalive=1", 10, "empty parameter"},
        {"redis://h?keepalive=1&", 22, "empty parameter"},
        {"redis://h?prefix", 10, "without '=value'"},
        {"redis://h?keepalive=2", 20, "above"},
        {"redis://h?keepalive=yes", 20, "digits"},
        {"redis://h?connect_timeout_ms=", 29, "empty"},
        {"redis://h?command_timeout_ms=0", 29, "below"},
        {"redis://h?command_timeout_ms=2147483648", 29, "above"},
        {"redis://h?prefix=a{b", 18, "percent-encoded"},
        {"redis://h?prefix=a%7Bb", 17, "hash tag"},
        {"redis://h?prefix=a=b", 18, "percent-encoded"},
        {"redis://h#frag", 8, "fragment"},
        {"redis://us er:pw@h", 8, "user name"},
        {"redis://pw@h", 8, "':'"},
        {"redis://u:@h", 8, "password is empty"},
        {"redis://a:b@c@h", 8, "second '@'"},
        {"redis://h%41", 9, "host"},
        {"redis://h_1.x!", 13, "host"},
        {"redis://:p%4@h", 8, "percent-escape"},
        {"redis://h:p", 10, "digits"},
        {"redis://:p%00@h", 8, "NUL"},
        {"redis://[::1", 8, "']'"},
        {"redis://[::g]", 9, "IPv6"},
        {"redis://[]", 9, "IPv6"},
        {"redis://[::1]x", 13, "junk"},
        {"redis://[fe80::1%eth0]", 16, "%25zone"},
        {"unix://h/tmp/x", 7, "no host"},
        {"unix://", 7, "path"},
        {"unix:///", 7, "just '/'"},
        {"unix:///tmp/x?foo=1", 14, "unknown parameter"},
        {"unix:///tmp/x?db=x", 17, "digits"},
        {"unix:///tmp/%zz", 12, "percent-escape"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ofi_redis_config c;
        int rc = ofi_redis_config_from_url(cases[i].url, &c);
        const char *d = of_last_error_detail();
        if (rc != OF_ERR_INVALID)
            fail_msg("%s: got %s, want OF_ERR_INVALID", cases[i].url, of_status_name(rc));
        char want[48];
        snprintf(want, sizeof want, "offset %ld:", cases[i].offset);
        if (strstr(d, want) == NULL || strstr(d, cases[i].words) == NULL)
            fail_msg("%s: detail \"%s\" lacks \"%s\" or \"%s\"", cases[i].url, d, want,
                     cases[i].words);
    }
}

static void url_limits_and_null(void **state)
{
    (void)state;
    ofi_redis_config c;
    assert_int_equal(ofi_redis_config_from_url(NULL, &c), OF_ERR_INVALID);

    size_t n = OFI_REDIS_URL_MAX + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memcpy(big, "redis://h?prefix=", 17);
    memset(big + 17, 'a', n - 17);
    big[n] = '\0';
    assert_int_equal(ofi_redis_config_from_url(big, &c), OF_ERR_INVALID);
    assert_non_null(strstr(of_last_error_detail(), "longer"));
    /* A prefix over 256 bytes in a URL of legal length. */
    big[17 + 300] = '\0';
    assert_int_equal(ofi_redis_config_from_url(big, &c), OF_ERR_INVALID);
    assert_non_null(strstr(of_last_error_detail(), "prefix is longer"));
    free(big);

    char path[200] = "unix:///";
    memset(path + 8, 'p', 120);
    path[128] = '\0';
    assert_int_equal(ofi_redis_config_from_url(path, &c), OF_ERR_INVALID);
    assert_non_null(strstr(of_last_error_detail(), "socket path is longer"));
}

static void url_errors_never_echo_the_password(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "redis://:supersecret@h:99999",
        "redis://:supersecret%zz@h",
        "redis://u:supersecret@h?bogus=1",
        "unix://u:supersecret@host/tmp/s",
        "redis://:supersecret@[::1",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        ofi_redis_config c;
        assert_int_equal(ofi_redis_config_from_url(urls[i], &c), OF_ERR_INVALID);
        if (strstr(of_last_error_detail(), "supersecret") != NULL)
            fail_msg("%s: detail echoes the password: %s", urls[i], of_last_error_detail());
    }
}

/* Credentials that were not percent-encoded: a raw '?', '/', '#' or a second '@' in them would
 * move the rest into the path, query or fragment. Refused as a whole, at the offset where the
 * authority starts, with no byte of the URL in the detail; the encoded forms parse. */
static void url_unencoded_credentials_are_refused_without_echo(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        long offset;
        const char *words;
    } bad[] = {
        {"redis://admin:123?s3cr3tPW=x@host", 8, "raw '@'"},
        {"redis://admin:123?s3cr3tPW=x@host:6379/0?prefix=p", 8, "raw '@'"},
        {"redis://admin:s3cr3t/PW@host", 8, "raw '@'"},
        {"redis://:s3cr3t?PW@host", 8, "raw '@'"},
        {"redis://admin:s3cr3t#PW@host", 8, "'#'"},
        {"redis://admin:s3c@r3tPW@host", 8, "second '@'"},
        {"unix://admin:s3cr3t/PW@/tmp/s", 7, "raw '@'"},
        {"unix://admin:s3cr3t?PW@/tmp/s", 7, "raw '@'"},
        {"redis://h?prefix=a@b", 8, "raw '@'"},
        {"unix:///tmp/a@b.sock", 7, "raw '@'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ofi_redis_config c;
        memset(&c, 0x5a, sizeof c);
        ofi_redis_config before = c;
        int rc = ofi_redis_config_from_url(bad[i].url, &c);
        const char *d = of_last_error_detail();
        if (rc != OF_ERR_INVALID)
            fail_msg("%s: got %s, want OF_ERR_INVALID", bad[i].url, of_status_name(rc));
        assert_memory_equal(&c, &before, sizeof c);
        char want[48];
        snprintf(want, sizeof want, "offset %ld:", bad[i].offset);
        if (strstr(d, want) == NULL || strstr(d, bad[i].words) == NULL)
            fail_msg("%s: detail \"%s\" lacks \"%s\" or \"%s\"", bad[i].url, d, want,
                     bad[i].words);
        static const char *const secret_parts[] = {"s3cr", "3tPW", "cr3t", "r3tP", "admin"};
        for (size_t k = 0; k < sizeof secret_parts / sizeof secret_parts[0]; k++)
            if (strstr(d, secret_parts[k]) != NULL)
                fail_msg("%s: detail echoes the credentials: %s", bad[i].url, d);
    }
    ofi_redis_config c =
        parse_ok("redis://adm%3Fin:123%3Fs3cr3tPW=x%23y%2Fz%40w:v@host:6380/3?prefix=a%40b");
    assert_string_equal(c.user, "adm?in");
    assert_string_equal(c.password, "123?s3cr3tPW=x#y/z@w:v");
    assert_string_equal(c.host, "host");
    assert_int_equal(c.port, 6380);
    assert_int_equal(c.db, 3);
    assert_string_equal(c.prefix, "a@b");
    ofi_redis_config_free(&c);
    c = parse_ok("unix://u:p%2F%3F@/tmp/a%40b.sock?db=1");
    assert_string_equal(c.password, "p/?");
    assert_string_equal(c.unix_path, "/tmp/a@b.sock");
    ofi_redis_config_free(&c);
}

/* ---- credential fuzzing --------------------------------------------------------------------- */

#define FUZZ_MARK "Zq9PwMark"
#define FUZZ_CASES 30000
#define FUZZ_PROVIDER_CASES 150

static uint64_t fuzz_rng(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static size_t fuzz_pick(uint64_t *s, size_t n)
{
    return (size_t)(fuzz_rng(s) % n);
}

typedef struct fuzz_buf {
    char b[1024];
    size_t n;
} fuzz_buf;

static void fb_putc(fuzz_buf *f, char c)
{
    if (f->n + 1 < sizeof f->b)
        f->b[f->n++] = c;
    f->b[f->n] = '\0';
}

static void fb_puts(fuzz_buf *f, const char *s)
{
    while (*s != '\0')
        fb_putc(f, *s++);
}

/* Bytes a hand-written password tends to hold, the URL delimiters first. */
static const char fuzz_specials[] = "?#@/:%&=[] {};!~+,$'()*\"\\|^`<>";

/* One credential (user or password) carrying the marker: specials inserted at random places,
 * each byte raw or percent-encoded (upper or lower hex) by one of several policies, sometimes a
 * broken escape. */
static void fuzz_secret(uint64_t *s, fuzz_buf *out)
{
    char plain[64];
    size_t n = 0;
    const char *m = FUZZ_MARK;
    size_t mlen = strlen(m);
    size_t inserts = fuzz_pick(s, 4);
    size_t at[4];
    for (size_t k = 0; k < inserts; k++)
        at[k] = fuzz_pick(s, mlen + 1);
    for (size_t i = 0; i <= mlen; i++) {
        for (size_t k = 0; k < inserts; k++)
            if (at[k] == i) {
                size_t which = fuzz_pick(s, 3) == 0 ? fuzz_pick(s, 5)
                                                    : fuzz_pick(s, sizeof fuzz_specials - 1);
                plain[n++] = fuzz_specials[which];
            }
        if (i < mlen)
            plain[n++] = m[i];
    }
    if (fuzz_pick(s, 6) == 0)
        plain[n++] = (char)(0x80 + fuzz_pick(s, 0x80)); /* a non-ASCII byte */
    plain[n] = '\0';
    /* 0 raw, 1 all encoded, 2-4 specials encoded (as a careful user writes it), 5 mixed */
    size_t policy = fuzz_pick(s, 6);
    if (policy == 4)
        policy = 2;
    static const char hexu[] = "0123456789ABCDEF", hexl[] = "0123456789abcdef";
    const char *hex = fuzz_pick(s, 2) ? hexu : hexl;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)plain[i];
        int special = strchr(fuzz_specials, c) != NULL || c >= 0x80;
        int enc = policy == 1 || ((policy == 2 || policy == 3) && special) ||
                  (policy == 5 && fuzz_pick(s, 2));
        if (enc) {
            fb_putc(out, '%');
            fb_putc(out, hex[c >> 4]);
            fb_putc(out, hex[c & 15]);
        } else {
            fb_putc(out, (char)c);
        }
        if (fuzz_pick(s, 40) == 0) { /* a broken escape inside the secret */
            static const char *const broken[] = {"%", "%4", "%zz", "%00", "%G1"};
            fb_puts(out, broken[fuzz_pick(s, 5)]);
        }
    }
}

/* A URL with the marker in the credentials (in every layout, good and broken), then mutated. */
static void fuzz_url(uint64_t *s, fuzz_buf *u, int *provider_ok)
{
    static const char *const schemes[] = {"redis://", "unix://", "REDIS://", "rediss://",
                                          "Unix://"};
    static const char *const hosts[] = {"127.0.0.1:1", "h", "[::1]:7000", "[fe80::1%25eth0]",
                                        "", "cache-1.example:6380", "h:", "h:x"};
    static const char *const tails[] = {"", "/", "/2", "/x", "?prefix=p:",
                                        "/0?command_timeout_ms=50",
                                        "?connect_timeout_ms=50&keepalive=0", "?bogus=1",
                                        "?db=1", "?prefix=a%40b", "?", "?&"};
    size_t scheme = fuzz_pick(s, 10) < 7 ? 0 : fuzz_pick(s, 5);
    int is_unix = scheme == 1 || scheme == 4;
    u->n = 0;
    u->b[0] = '\0';
    fb_puts(u, schemes[scheme]);
    fuzz_buf user = {.n = 0}, pass = {.n = 0};
    size_t layout = fuzz_pick(s, 9);
    switch (layout) {
    case 0: /* user:SECRET@ */
        fb_puts(&user, "admin");
        fuzz_secret(s, &pass);
        break;
    case 1: /* :SECRET@ */
        fuzz_secret(s, &pass);
        break;
    case 2: /* SECRET:pw@ */
        fuzz_secret(s, &user);
        fb_puts(&pass, "pw");
        break;
    case 3: /* SECRET:SECRET@ */
        fuzz_secret(s, &user);
        fuzz_secret(s, &pass);
        break;
    default: /* the common one, plus the layouts below that build on it */
        fb_puts(&user, fuzz_pick(s, 2) ? "admin" : "");
        fuzz_secret(s, &pass);
        break;
    }
    size_t cred_at = u->n;
    if (layout == 5) { /* SECRET@ without the ':' */
        fb_puts(u, pass.b);
    } else {
        fb_puts(u, user.b);
        fb_putc(u, ':');
        fb_puts(u, pass.b);
    }
    if (layout != 6) /* 6: the '@' forgotten */
        fb_putc(u, '@');
    if (layout == 7) /* a doubled '@' */
        fb_putc(u, '@');
    (void)cred_at;
    *provider_ok = 0;
    if (is_unix) {
        static const char *const paths[] = {"/nonexistent-of-fuzz/r.sock", "/tmp/x", "",
                                            "/", "/tmp/a%40b"};
        size_t k = fuzz_pick(s, 5);
        fb_puts(u, paths[k]);
        *provider_ok = k == 0;
    } else {
        size_t h = fuzz_pick(s, sizeof hosts / sizeof hosts[0]);
        fb_puts(u, hosts[h]);
        *provider_ok = h == 0;
    }
    fb_puts(u, tails[fuzz_pick(s, sizeof tails / sizeof tails[0])]);
    if (layout == 8) { /* credentials again after the host, as a misplaced paste would */
        fb_putc(u, fuzz_pick(s, 2) ? '?' : '/');
        fb_puts(u, pass.b);
        fb_putc(u, '@');
    }
    /* mutations: delete, insert a delimiter, duplicate a slice, swap, truncate */
    size_t muts = fuzz_pick(s, 2) == 0 ? 0 : 1 + fuzz_pick(s, 3);
    for (size_t k = 0; k < muts && u->n > 0; k++) {
        size_t i = fuzz_pick(s, u->n);
        switch (fuzz_pick(s, 5)) {
        case 0:
            memmove(u->b + i, u->b + i + 1, u->n - i);
            u->n--;
            break;
        case 1:
            if (u->n + 2 < sizeof u->b) {
                memmove(u->b + i + 1, u->b + i, u->n - i + 1);
                u->b[i] = fuzz_specials[fuzz_pick(s, 5)];
                u->n++;
            }
            break;
        case 2: {
            size_t len = 1 + fuzz_pick(s, 8);
            if (i + len <= u->n && u->n + len + 1 < sizeof u->b) {
                memmove(u->b + i + len, u->b + i, u->n - i + 1);
                u->n += len;
            }
            break;
        }
        case 3:
            if (i + 1 < u->n) {
                char t = u->b[i];
                u->b[i] = u->b[i + 1];
                u->b[i + 1] = t;
            }
            break;
        default:
            u->n = i;
            u->b[i] = '\0';
            break;
        }
    }
    if (muts > 0)
        *provider_ok = 0; /* the host may have changed: only connect where nobody listens */
}

/* Every 4-byte piece of the marker, raw and fully percent-encoded (upper and lower hex). */
typedef struct fuzz_needles {
    char s[64][8];
    size_t n;
} fuzz_needles;

static void fuzz_needles_init(fuzz_needles *nd)
{
    nd->n = 0;
    const char *m = FUZZ_MARK;
    size_t mlen = strlen(m);
    for (size_t i = 0; i + 4 <= mlen; i++) {
        memcpy(nd->s[nd->n], m + i, 4);
        nd->s[nd->n++][4] = '\0';
    }
    for (int lower = 0; lower < 2; lower++) {
        char enc[64];
        size_t e = 0;
        for (size_t i = 0; i < mlen; i++)
            e += (size_t)snprintf(enc + e, sizeof enc - e, lower ? "%%%02x" : "%%%02X",
                                  (unsigned char)m[i]);
        for (size_t i = 0; i + 4 <= e; i++) {
            memcpy(nd->s[nd->n], enc + i, 4);
            nd->s[nd->n++][4] = '\0';
        }
    }
}

static const char *fuzz_leak(const fuzz_needles *nd, const char *text)
{
    for (size_t i = 0; i < nd->n; i++)
        if (strstr(text, nd->s[i]) != NULL)
            return nd->s[i];
    return NULL;
}

typedef struct fuzz_log {
    const fuzz_needles *nd;
    const char *url;
    int lines;
} fuzz_log;

static void fuzz_log_fn(void *ctx, int level, const char *msg)
{
    (void)level;
    fuzz_log *fl = ctx;
    fl->lines++;
    const char *hit = fuzz_leak(fl->nd, msg);
    if (hit != NULL)
        fail_msg("%s: log line holds \"%s\" of the credentials: %s", fl->url, hit, msg);
}

/* Thousands of URLs (fixed seed) with a marked secret in the credentials in every position and
 * form, some of them mutated: no detail (and no log line of a provider made from one) holds any
 * 4-byte piece of the marker, raw or encoded. */
static void url_fuzz_never_leaks_credentials(void **state)
{
    (void)state;
    fuzz_needles nd;
    fuzz_needles_init(&nd);
    uint64_t seed = UINT64_C(0x0F5EC12E7);
    unsigned ok = 0, invalid = 0, other = 0, provider_runs = 0;
    for (unsigned i = 0; i < FUZZ_CASES; i++) {
        fuzz_buf u;
        int provider_ok;
        fuzz_url(&seed, &u, &provider_ok);
        ofi_redis_config c;
        int rc = ofi_redis_config_from_url(u.b, &c);
        const char *d = of_last_error_detail();
        const char *hit = rc != OF_OK ? fuzz_leak(&nd, d) : NULL;
        if (hit != NULL)
            fail_msg("case %u: %s: detail holds \"%s\" of the credentials: %s", i, u.b, hit, d);
        if (rc == OF_OK) {
            ok++;
            /* Connect only where surely nobody listens (and no name needs resolving): a raw '@'
             * inside the secret with the closing '@' missing reads as a valid host, which is
             * then no longer a credential. */
            if (c.unix_path != NULL)
                provider_ok &= strcmp(c.unix_path, "/nonexistent-of-fuzz/r.sock") == 0;
            else
                provider_ok &= strcmp(c.host, "127.0.0.1") == 0 && c.port == 1;
            ofi_redis_config_free(&c);
        } else if (rc == OF_ERR_INVALID) {
            invalid++;
        } else {
            other++;
        }
        if (rc != OF_OK || !provider_ok || provider_runs >= FUZZ_PROVIDER_CASES)
            continue;
        /* Nobody listens there: creating, a failing acquire and destroy, with every log line
         * delivered, hold no piece of the credentials either. */
        provider_runs++;
        of_lock_provider *p = NULL;
        rc = of_lock_redis_create_url(u.b, &p);
        hit = fuzz_leak(&nd, of_last_error_detail());
        if (hit != NULL)
            fail_msg("%s: create detail holds \"%s\": %s", u.b, hit, of_last_error_detail());
        if (rc != OF_OK) {
            assert_int_equal(rc, of_lock_redis_available() ? OF_OK : OF_ERR_NOT_SUPPORTED);
            continue;
        }
        fuzz_log fl = {&nd, u.b, 0};
        of_lock_provider_config pc;
        assert_int_equal(of_lock_provider_config_init(&pc, sizeof pc), OF_OK);
        pc.log = fuzz_log_fn;
        pc.log_ctx = &fl;
        pc.log_level = OF_LOCK_LOG_DEBUG;
        pc.step_timeout_ms = 200;
        assert_int_equal(of_lock_provider_configure(p, &pc), OF_OK);
        of_lock_options lo;
        assert_int_equal(of_lock_options_init(&lo, sizeof lo), OF_OK);
        lo.ttl_ms = 1000;
        lo.wait_ms = 0;
        of_lock *l = NULL;
        rc = of_lock_acquire(p, "k", 1, &lo, &l);
        assert_int_not_equal(rc, OF_OK);
        hit = fuzz_leak(&nd, of_last_error_detail());
        if (hit != NULL)
            fail_msg("%s: acquire detail holds \"%s\": %s", u.b, hit, of_last_error_detail());
        of_lock_provider_destroy(p);
    }
    print_message("# %u URLs: %u parsed, %u invalid, %u other; %u providers tried\n",
                  FUZZ_CASES, ok, invalid, other, provider_runs);
    /* the generator reaches both sides of the parser, and the provider path */
    assert_true(ok > FUZZ_CASES / 40);
    assert_true(invalid > FUZZ_CASES / 4);
    assert_true(provider_runs > 20);
}

static void options_defaults_and_abi(void **state)
{
    (void)state;
    of_lock_redis_options o;
    assert_int_equal(of_lock_redis_options_init(&o, sizeof o), OF_OK);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.port, 6379);
    assert_string_equal(o.host, "127.0.0.1");
    assert_null(o.unix_path);
    assert_null(o.user);
    assert_null(o.password);
    assert_null(o.prefix);
    assert_int_equal(o.db, 0);
    assert_int_equal(o.connect_timeout_ms, 1000);
    assert_int_equal(o.command_timeout_ms, 1000);
    assert_int_equal(o.keepalive, 1);
    assert_int_equal(of_lock_redis_options_size(), sizeof o);

    assert_int_equal(of_lock_redis_options_init(NULL, sizeof o), OF_ERR_INVALID);
    assert_int_equal(of_lock_redis_options_init(&o, sizeof o + 8), OF_ERR_ABI);
    assert_int_equal(of_lock_redis_options_init(&o, 4), OF_ERR_ABI);

    ofi_redis_config c;
    assert_int_equal(of_lock_redis_options_init(&o, sizeof o), OF_OK);
    o.struct_size = (uint32_t)sizeof o + 8;
    assert_int_equal(ofi_redis_config_from_options(&o, &c), OF_ERR_ABI);
    o.struct_size = 8;
    assert_int_equal(ofi_redis_config_from_options(&o, &c), OF_ERR_ABI);
    assert_int_equal(ofi_redis_config_from_options(NULL, &c), OF_ERR_INVALID);
}

static void options_validation(void **state)
{
    (void)state;
    char longp[300];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    char longpath[130];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';

    for (int k = 0; k < 14; k++) {
        of_lock_redis_options o;
        of_lock_redis_options_init(&o, sizeof o);
        const char *words = NULL;
        switch (k) {
        case 0: o.host = NULL; words = "host"; break;
        case 1: o.host = ""; words = "host"; break;
        case 2: o.port = 0; words = "port"; break;
        case 3: o.port = 65536; words = "port"; break;
        case 4: o.unix_path = ""; words = "unix_path"; break;
        case 5: o.unix_path = longpath; words = "unix_path"; break;
        case 6: o.user = "u"; words = "without a password"; break;
        case 7: o.password = ""; words = "password"; break;
        case 8: o.prefix = "a{b"; words = "prefix"; break;
        case 9: o.prefix = longp; words = "prefix"; break;
        case 10: o.db = 1u << 31; words = "db"; break;
        case 11: o.connect_timeout_ms = 0; words = "connect_timeout_ms"; break;
        case 12: o.command_timeout_ms = 1u << 31; words = "command_timeout_ms"; break;
        case 13: o.keepalive = 2; words = "keepalive"; break;
        }
        ofi_redis_config c;
        int rc = ofi_redis_config_from_options(&o, &c);
        if (rc != OF_ERR_INVALID || strstr(of_last_error_detail(), words) == NULL)
            fail_msg("case %d: %s \"%s\"", k, of_status_name(rc), of_last_error_detail());
    }

    of_lock_redis_options o;
    of_lock_redis_options_init(&o, sizeof o);
    o.unix_path = "/tmp/r.sock";
    o.host = NULL; /* ignored with a unix path */
    o.port = 0;
    o.user = "acl-user";
    o.password = "pw";
    o.prefix = "svc:";
    o.db = 7;
    ofi_redis_config c;
    assert_int_equal(ofi_redis_config_from_options(&o, &c), OF_OK);
    assert_null(c.host);
    assert_string_equal(c.unix_path, "/tmp/r.sock");
    assert_string_equal(c.user, "acl-user");
    assert_string_equal(c.password, "pw");
    assert_string_equal(c.prefix, "svc:");
    assert_int_equal(c.prefix_len, 4);
    assert_int_equal(c.db, 7);
    ofi_redis_config copy;
    assert_int_equal(ofi_redis_config_copy(&c, &copy), OF_OK);
    assert_string_equal(copy.unix_path, "/tmp/r.sock");
    assert_string_equal(copy.password, "pw");
    assert_true(copy.password != c.password);
    ofi_redis_config_free(&c);
    ofi_redis_config_free(&copy);
    ofi_redis_config_free(NULL);
}

/* Redis Cluster's hash tag: the bytes between the first '{' and the next '}' when non-empty,
 * else the whole key. */
static void hash_tag(const char *key, size_t len, const char **tag, size_t *tag_len)
{
    const char *open = memchr(key, '{', len);
    if (open != NULL) {
        const char *close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
        if (close != NULL && close > open + 1) {
            *tag = open + 1;
            *tag_len = (size_t)(close - open - 1);
            return;
        }
    }
    *tag = key;
    *tag_len = len;
}

static void keys_escape_and_share_a_hash_tag(void **state)
{
    (void)state;
    char buf[OFI_REDIS_KEY_CAP(4)];
    size_t n = ofi_redis_key("app:", 4, "job", 3, OFI_REDIS_LOCK_SUFFIX, buf);
    assert_int_equal(n, strlen("app:{job}:lock"));
    assert_memory_equal(buf, "app:{job}:lock", n);
    n = ofi_redis_key("", 0, "a}:lock{b%", 10, OFI_REDIS_FENCE_SUFFIX, buf);
    const char want[] = "{a%7D:lock%7Bb%25}:fence";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(buf, want, n);
    const char bin[3] = {'x', '\0', 'y'};
    n = ofi_redis_key("", 0, bin, 3, OFI_REDIS_LOCK_SUFFIX, buf);
    assert_int_equal(n, 3 + 7);
    assert_memory_equal(buf, "{x\0y}:lock", n);

    /* The worst case fits the documented capacity. */
    static char all_braces[OF_NAME_MAX];
    memset(all_braces, '{', sizeof all_braces);
    static char big[OFI_REDIS_KEY_CAP(OFI_REDIS_PREFIX_MAX)];
    char prefix[OFI_REDIS_PREFIX_MAX];
    memset(prefix, 'p', sizeof prefix);
    n = ofi_redis_key(prefix, sizeof prefix, all_braces, sizeof all_braces,
                      OFI_REDIS_FENCE_SUFFIX, big);
    assert_true(n <= sizeof big);
    assert_int_equal(n, OFI_REDIS_PREFIX_MAX + 3 * OF_NAME_MAX + 2 + 6);
}

/* Every name up to 4 bytes over an alphabet of the dangerous bytes: all lock and fence keys are
 * distinct, and each name's two keys share one hash tag. */
static void keys_never_collide(void **state)
{
    (void)state;
    static const char alpha[] = {'a', '%', '{', '}', ':', '\0', 'l'};
    const size_t A = sizeof alpha;
    size_t total = 0;
    for (size_t len = 1, count = A; len <= 4; len++, count *= A)
        total += count;
    char **seen = calloc(2 * total, sizeof *seen);
    size_t *seen_len = calloc(2 * total, sizeof *seen_len);
    assert_non_null(seen);
    assert_non_null(seen_len);
    size_t k = 0;
    for (size_t len = 1, count = A; len <= 4; len++, count *= A) {
        for (size_t idx = 0; idx < count; idx++) {
            char name[4];
            size_t x = idx;
            for (size_t i = 0; i < len; i++) {
                name[i] = alpha[x % A];
                x /= A;
            }
            char lk[64], fk[64];
            size_t ln = ofi_redis_key("p:", 2, name, len, OFI_REDIS_LOCK_SUFFIX, lk);
            size_t fn = ofi_redis_key("p:", 2, name, len, OFI_REDIS_FENCE_SUFFIX, fk);
            const char *t1, *t2;
            size_t l1, l2;
            hash_tag(lk, ln, &t1, &l1);
            hash_tag(fk, fn, &t2, &l2);
            assert_int_equal(l1, l2);
            assert_memory_equal(t1, t2, l1);
            assert_true(t1 != lk); /* a real tag, not the whole key */
            seen[k] = malloc(ln);
            memcpy(seen[k], lk, ln);
            seen_len[k++] = ln;
            seen[k] = malloc(fn);
            memcpy(seen[k], fk, fn);
            seen_len[k++] = fn;
        }
    }
    assert_int_equal(k, 2 * total);
    /* sort-free check: hash into buckets */
    size_t nb = 4 * k;
    size_t *bucket = calloc(nb, sizeof *bucket); /* index + 1 */
    assert_non_null(bucket);
    for (size_t i = 0; i < k; i++) {
        uint64_t h = of_hash64(seen[i], seen_len[i], 1);
        size_t b = (size_t)(h % nb);
        while (bucket[b] != 0) {
            size_t j = bucket[b] - 1;
            if (seen_len[j] == seen_len[i] && memcmp(seen[j], seen[i], seen_len[i]) == 0)
                fail_msg("keys %zu and %zu collide", i, j);
            b = (b + 1) % nb;
        }
        bucket[b] = i + 1;
    }
    for (size_t i = 0; i < k; i++)
        free(seen[i]);
    free(seen);
    free(seen_len);
    free(bucket);
}

static void public_create_validates_or_reports_not_built(void **state)
{
    (void)state;
    of_lock_provider *p = (of_lock_provider *)(uintptr_t)0x1;
    if (!of_lock_redis_available()) {
        assert_int_equal(of_lock_redis_create_url("redis://127.0.0.1:1", &p), OF_ERR_NOT_SUPPORTED);
        of_lock_redis_options o;
        of_lock_redis_options_init(&o, sizeof o);
        assert_int_equal(of_lock_redis_create(&o, &p), OF_ERR_NOT_SUPPORTED);
        assert_true(p == (of_lock_provider *)(uintptr_t)0x1);
        return;
    }
    assert_int_equal(of_lock_redis_create_url("redis://h?x=1", &p), OF_ERR_INVALID);
    assert_int_equal(of_lock_redis_create_url("rediss://h", &p), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(of_lock_redis_create_url("redis://h", NULL), OF_ERR_INVALID);
    assert_int_equal(of_lock_redis_create(NULL, &p), OF_ERR_INVALID);
    assert_true(p == (of_lock_provider *)(uintptr_t)0x1);
    /* Creating only validates: port 1 has no server, yet creation succeeds. */
    of_lock_provider *q = NULL;
    assert_int_equal(of_lock_redis_create_url("redis://127.0.0.1:1?connect_timeout_ms=50", &q),
                     OF_OK);
    assert_non_null(q);
    assert_string_equal(of_lock_provider_name(q), "redis");
    assert_int_equal(of_lock_provider_caps(q),
                     OF_LOCK_CAP_TTL | OF_LOCK_CAP_EXTEND | OF_LOCK_CAP_FENCE | OF_LOCK_CAP_SHARED);
    of_lock_provider_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_redis_defaults),
        cmocka_unit_test(url_redis_all_fields_decoded),
        cmocka_unit_test(url_ipv6_hosts),
        cmocka_unit_test(url_unix_sockets),
        cmocka_unit_test(url_rediss_is_not_supported),
        cmocka_unit_test(url_errors_name_the_offset),
        cmocka_unit_test(url_limits_and_null),
        cmocka_unit_test(url_errors_never_echo_the_password),
        cmocka_unit_test(url_unencoded_credentials_are_refused_without_echo),
        cmocka_unit_test(url_fuzz_never_leaks_credentials),
        cmocka_unit_test(options_defaults_and_abi),
        cmocka_unit_test(options_validation),
        cmocka_unit_test(keys_escape_and_share_a_hash_tag),
        cmocka_unit_test(keys_never_collide),
        cmocka_unit_test(public_create_validates_or_reports_not_built),
    };
    return cmocka_run_group_tests_name("redis-config", tests, NULL, NULL);
}
