/* Fuzzer of the Redis provider's configuration: of_lock_redis_create_url() and
 * of_lock_redis_create() with options. Properties:
 *  - never crashes, and never opens a socket, resolves a name or connects (creating a provider
 *    only validates): socket(), connect() and getaddrinfo() are replaced here and abort;
 *  - never echoes a password byte into of_last_error_detail(): every URL (and options struct) is
 *    built twice, with passwords that differ in every "marked" byte but parse the same way
 *    (letters G..Z for other such letters, one disallowed punctuation mark for another, ...).
 *    The two calls must give the same status and the same detail, byte for byte;
 *  - a URL assembled from components with correct percent-encoding parses back to exactly those
 *    components (checked on the internal parsed configuration).
 * tests/fuzz/regressions/redis-url holds the inputs that found echoes (a raw '?' in the
 * credentials, a disallowed raw byte in the password): each must pass. */
#include <netdb.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <openfault/lock_redis.h>

#include "fuzz-common.h"
#include "lock/providers/redis_config.h"

#ifdef FUZZ_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

/* ---- no network --------------------------------------------------------------------------- */

static int g_allow_net; /* only the self-test below may */
static int g_net_calls;

static void net_call(const char *what)
{
    g_net_calls++;
    FZ_CHECK(g_allow_net, "%s() called while creating a provider: it must only validate", what);
}

int socket(int domain, int type, int protocol)
{
    (void)domain, (void)type, (void)protocol;
    net_call("socket");
    return -1;
}

int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    (void)fd, (void)addr, (void)len;
    net_call("connect");
    return -1;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    (void)node, (void)service, (void)hints, (void)res;
    net_call("getaddrinfo");
    return EAI_FAIL;
}

/* The replacements must also catch calls from inside hiredis, or the check proves nothing. */
static void self_test(void)
{
    g_allow_net = 1;
    int before = g_net_calls;
#ifdef FUZZ_HAVE_HIREDIS
    redisContext *c = redisConnect("127.0.0.1", 6379);
    redisFree(c);
#else
    FZ_CHECK(connect(-1, NULL, 0) == -1, "connect hook");
#endif
    FZ_CHECK(g_net_calls > before, "the socket hooks do not see hiredis's calls");
    g_allow_net = 0;
}


/* ---- URL builder ---------------------------------------------------------------------------- */

typedef struct sbuf {
    char a[8192], b[8192]; /* variants A and B: same length, same parse */
    size_t n;
} sbuf;

static void put2(sbuf *s, char ca, char cb)
{
    if (s->n < sizeof s->a - 1) {
        s->a[s->n] = ca;
        s->b[s->n] = cb;
        s->n++;
    }
}

static void put(sbuf *s, const char *t)
{
    for (; *t; t++)
        put2(s, *t, *t);
}

static const char HEX[] = "0123456789ABCDEF";

/* One password token: marked (A and B differ) or structural (equal). */
static void secret_token(fz_in *in, sbuf *s)
{
    static const char marked[] = "GHIJKLMNOPQRSTUVWXYZ"; /* not hex, not in any name */
    static const char plain_bad[] = "\"<>\\^`|";          /* never allowed raw */
    /* allowed raw; not & or = (they split parameters), not + (a scheme character) */
    static const char subdelim[] = "!$'()*,;";
    static const char structural[] = ":@/?#&=%[]{}-._~+0123456789abcdefxyz ";
    uint8_t t = fz_u8(in), k = fz_u8(in);
    switch (t % 10) {
    case 0:
    case 1:
    case 2:
        put2(s, marked[k % 20], marked[(k + 7) % 20]);
        break;
    case 3:
        put2(s, plain_bad[k % 7], plain_bad[(k + 1) % 7]);
        break;
    case 4:
        put2(s, subdelim[k % 8], subdelim[(k + 1) % 8]);
        break;
    case 5: /* raw high byte */
        put2(s, (char)(0x80 | k), (char)((0x80 | k) ^ 1));
        break;
    case 6: /* raw control byte */
        put2(s, (char)(1 + k % 31), (char)(1 + (k + 1) % 31));
        break;
    case 7: { /* escape of a high byte; B changes both hex digits within their class */
        uint8_t hi = 8 + (k >> 4) % 8, lo = k % 16;
        uint8_t hib = hi ^ 1, lob = lo < 10 ? (lo + 1) % 10 : 10 + (lo - 9) % 6;
        put2(s, '%', '%');
        put2(s, HEX[hi], HEX[hib]);
        put2(s, HEX[lo], HEX[lob]);
        break;
    }
    case 8: { /* escape of a marked letter (0x47..0x5A) */
        uint8_t c = (uint8_t)marked[k % 20], cb = (uint8_t)marked[(k + 7) % 20];
        put2(s, '%', '%');
        put2(s, HEX[c >> 4], HEX[cb >> 4]);
        put2(s, HEX[c & 15], HEX[cb & 15]);
        break;
    }
    default: {
        char c = structural[k % (sizeof structural - 1)];
        put2(s, c, c);
        break;
    }
    }
}

static void plain_token(fz_in *in, sbuf *s)
{
    static const char chars[] = "abcdefghuvw0123456789-._~:@/?#&=%[]!$;";
    char c = chars[fz_u8(in) % (sizeof chars - 1)];
    put2(s, c, c);
}

static void build_url(fz_in *in, sbuf *s)
{
    static const char *schemes[] = {"redis://", "unix://", "rediss://", "REDIS://", "redis:/",
                                    "http://", "", "Unix://"};
    static const char *hosts[] = {"127.0.0.1", "localhost", "[::1]", "[fe80::1%25eth0]", "",
                                  "redis-1.example", "[::1", "[zz]", "h_o.st", "/tmp/r.sock",
                                  "/", "[fe80::1%eth0]"};
    static const char *params[] = {"connect_timeout_ms=100", "command_timeout_ms=5",
                                   "prefix=app:", "keepalive=0", "keepalive=2", "db=3",
                                   "prefix=a%7Bb", "connect_timeout_ms=0", "bogus=1", "",
                                   "prefix=", "command_timeout_ms=99999999999", "=x", "prefix"};
    memset(s, 0, sizeof *s);
    uint8_t shape = fz_u8(in);
    put(s, schemes[fz_u8(in) % 8]);
    if (shape & 1) { /* credentials */
        size_t nu = (shape & 2) ? fz_u8(in) % 6 : 0;
        for (size_t i = 0; i < nu; i++)
            plain_token(in, s);
        if (!(shape & 4) || fz_u8(in) < 230)
            put(s, ":");
        size_t np = 1 + fz_u8(in) % 24, start = s->n;
        for (size_t i = 0; i < np; i++)
            secret_token(in, s);
        if (fz_u8(in) < 240)
            put(s, "@");
        else /* without the '@' these bytes are no password, just more URL: compare alike */
            memcpy(s->b + start, s->a + start, s->n - start);
    }
    put(s, hosts[fz_u8(in) % 12]);
    uint8_t tail = fz_u8(in);
    if (tail & 1) {
        static const char *ports[] = {":6379", ":1", ":65535", ":0", ":65536", ":", ":x", ":01"};
        put(s, ports[(tail >> 1) % 8]);
    }
    if (tail & 16) {
        static const char *dbs[] = {"/0", "/15", "/", "/2147483647", "/2147483648", "/x", "//"};
        put(s, dbs[(tail >> 5) % 7]);
    }
    if (fz_u8(in) & 1) {
        size_t nparams = fz_u8(in) % 4;
        put(s, "?");
        for (size_t i = 0; i < nparams; i++) {
            if (i)
                put(s, "&");
            put(s, params[fz_u8(in) % 14]);
        }
    }
    if (fz_u8(in) < 8)
        put(s, "#frag");
    /* occasionally, raw bytes at the end (both variants alike) */
    if (fz_u8(in) < 16) {
        size_t k = fz_u8(in) % 8;
        for (size_t i = 0; i < k; i++) {
            char c = (char)(fz_u8(in) | 1);
            put2(s, c, c);
        }
    }
    s->a[s->n] = s->b[s->n] = '\0';
}

/* ---- properties ----------------------------------------------------------------------------- */

static void same_outcome(int rca, const char *da, int rcb, const char *db, const char *what,
                         const char *url_a)
{
    FZ_CHECK(rca == rcb, "%s: password bytes changed the status (%s vs %s) for %s", what,
             of_status_name(rca), of_status_name(rcb), url_a);
    if (rca != OF_OK) {
        FZ_CHECK(strcmp(da, db) == 0,
                 "%s: the error detail depends on the password bytes (echoed):\n  A: %s\n  B: %s\n"
                 "  URL A: %s",
                 what, da, db, url_a);
        FZ_CHECK(da[0] != '\0', "%s: %s without a detail", what, of_status_name(rca));
    }
}

static void url_case(fz_in *in)
{
    static sbuf s;
    build_url(in, &s);
    static char da[1024];
    of_lock_provider *pa = NULL, *pb = NULL;
    int rca = of_lock_redis_create_url(s.a, &pa);
    snprintf(da, sizeof da, "%s", of_last_error_detail());
    int rcb = of_lock_redis_create_url(s.b, &pb);
    same_outcome(rca, da, rcb, of_last_error_detail(), "create_url", s.a);
    FZ_CHECK((rca == OF_OK) == (pa != NULL), "create_url: provider output and status disagree");
    of_lock_provider_destroy(pa);
    of_lock_provider_destroy(pb);
    /* the parser alone (also in builds without hiredis) */
    ofi_redis_config ca, cb;
    memset(&ca, 0, sizeof ca);
    memset(&cb, 0, sizeof cb);
    rca = ofi_redis_config_from_url(s.a, &ca);
    snprintf(da, sizeof da, "%s", of_last_error_detail());
    rcb = ofi_redis_config_from_url(s.b, &cb);
    same_outcome(rca, da, rcb, of_last_error_detail(), "config_from_url", s.a);
    ofi_redis_config_free(&ca);
    ofi_redis_config_free(&cb);
}

/* Options with a password in two variants (any bytes but NUL; marked ones differ). */
static void options_case(fz_in *in)
{
    static char pwa[1100], pwb[1100];
    static const char *hosts[] = {"127.0.0.1", "", "a b", "::1", "fe80::1%eth0", NULL,
                                  "host-with-\x01", "x"};
    static const char *prefixes[] = {NULL, "", "app:", "a{b", "b}"};
    size_t n = fz_u8(in) < 250 ? fz_u8(in) % 40 : 1000 + fz_u8(in) % 60;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = fz_u8(in);
        if (c == 0)
            c = 'G';
        pwa[i] = (char)c;
        /* B: another byte of the same kind (letter, digit, punctuation, control, high) */
        uint8_t cb = c;
        if (c >= 'G' && c <= 'Z')
            cb = (uint8_t)('G' + (c - 'G' + 7) % 20);
        else if (c >= 'g' && c <= 'z')
            cb = (uint8_t)('g' + (c - 'g' + 7) % 20);
        else if (c >= 0x80)
            cb = c ^ 1;
        else if (c < 0x20)
            cb = (uint8_t)(1 + c % 31);
        pwb[i] = (char)cb;
    }
    pwa[n] = pwb[n] = '\0';
    of_lock_redis_options o;
    FZ_STATUS(of_lock_redis_options_init(&o, sizeof o), OF_OK, "options_init");
    uint8_t sel = fz_u8(in);
    o.host = hosts[sel % 8];
    if (sel & 8)
        o.unix_path = (sel & 16) ? "/tmp/redis.sock" : "";
    if (sel & 32)
        o.user = (sel & 64) ? "alice" : "";
    o.prefix = prefixes[fz_u8(in) % 5];
    uint8_t f = fz_u8(in);
    if (f & 1)
        o.port = fz_u32(in) % 70000;
    if (f & 2)
        o.db = fz_u32(in);
    if (f & 4)
        o.connect_timeout_ms = fz_u32(in);
    if (f & 8)
        o.command_timeout_ms = fz_u32(in);
    if (f & 16)
        o.keepalive = fz_u8(in) % 3;
    if (f & 32)
        o.struct_size = fz_u8(in) < 128 ? (uint32_t)sizeof o - 8 : (uint32_t)sizeof o + 8;
    bool no_password = (f & 64) && n == 0;
    static char da[1024];
    of_lock_provider *pa = NULL, *pb = NULL;
    o.password = no_password ? NULL : pwa;
    int rca = of_lock_redis_create(&o, &pa);
    snprintf(da, sizeof da, "%s", of_last_error_detail());
    o.password = no_password ? NULL : pwb;
    int rcb = of_lock_redis_create(&o, &pb);
    same_outcome(rca, da, rcb, of_last_error_detail(), "create(options)", pwa);
    of_lock_provider_destroy(pa);
    of_lock_provider_destroy(pb);
}

/* ---- round trip ------------------------------------------------------------------------------ */

static bool unreserved(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* Append @p v (NUL-free) to the URL: unreserved bytes raw, others raw when @p raw_ok allows
 * and the input says so, else %XX. */
static void enc(fz_in *in, char *url, size_t *n, const char *v, const char *raw_ok)
{
    for (; *v; v++) {
        uint8_t c = (uint8_t)*v;
        if (unreserved(c) || (strchr(raw_ok, c) && fz_u8(in) & 1)) {
            url[(*n)++] = (char)c;
        } else {
            url[(*n)++] = '%';
            url[(*n)++] = HEX[c >> 4];
            url[(*n)++] = HEX[c & 15];
        }
    }
    url[*n] = '\0';
}

static void rand_str(fz_in *in, char *out, size_t max, const char *exclude)
{
    size_t n = fz_u8(in) % (max + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = fz_u8(in);
        if (c == 0 || strchr(exclude, c))
            c = 'q';
        out[j++] = (char)c;
    }
    out[j] = '\0';
}

static void round_trip(fz_in *in)
{
    static char url[12000], user[40], pw[64], prefix[300], path[100], host[300];
    size_t n = 0;
    bool is_unix = fz_u8(in) & 1;
    n += (size_t)sprintf(url, is_unix ? "unix://" : "redis://");
    uint8_t f = fz_u8(in);
    bool has_user = f & 1, has_pw = (f & 2) || has_user;
    rand_str(in, user, 30, ":");
    if (!user[0])
        strcpy(user, "u");
    rand_str(in, pw, 60, "");
    if (!pw[0])
        strcpy(pw, "p");
    if (has_pw) {
        if (has_user)
            enc(in, url, &n, user, "!$&'()*+,;=");
        url[n++] = ':';
        enc(in, url, &n, pw, "!$&'()*+,;=:");
        url[n++] = '@';
    }
    uint32_t port = 6379, db = 0;
    if (is_unix) {
        rand_str(in, path + 1, 60, "");
        path[0] = '/';
        if (!path[1])
            strcpy(path, "/s");
        url[n++] = '/'; /* the path's first '/' ends the (empty) authority: never encoded */
        /* No raw '@' after the authority: the parser refuses one (it would leave doubt about
         * where credentials end), so the path writes it %40. */
        enc(in, url, &n, path + 1, "!$&'()*+,;=:/");
    } else {
        static const char *v6[] = {"::1", "fe80::1", "2001:db8::2"};
        uint8_t h = fz_u8(in);
        if (h < 64) {
            n += (size_t)sprintf(url + n, "[%s]", v6[h % 3]);
            strcpy(host, v6[h % 3]);
            if (h & 8) {
                n -= 1;
                n += (size_t)sprintf(url + n, "%%25eth%u]", h % 10);
                sprintf(host + strlen(host), "%%eth%u", h % 10);
            }
        } else {
            static const char hc[] = "abcxyzABC0129-._";
            size_t hl = 1 + fz_u8(in) % (h > 250 ? 255 : 20);
            for (size_t i = 0; i < hl; i++)
                host[i] = hc[fz_u8(in) % 16];
            host[hl] = '\0';
            n += (size_t)sprintf(url + n, "%s", host);
        }
        if (f & 4) {
            port = 1 + fz_u16(in) % 65535;
            n += (size_t)sprintf(url + n, ":%u", port);
        }
        if (f & 8) {
            db = fz_u32(in) & 0x7fffffff;
            n += (size_t)sprintf(url + n, "/%u", db);
        }
    }
    uint32_t ct = OF_LOCK_REDIS_DEFAULT_CONNECT_TIMEOUT_MS, mt = OF_LOCK_REDIS_DEFAULT_COMMAND_TIMEOUT_MS;
    uint32_t ka = 1;
    prefix[0] = '\0';
    char sep = '?';
    if (f & 16) {
        ct = 1 + fz_u32(in) % 0x7fffffff;
        n += (size_t)sprintf(url + n, "%cconnect_timeout_ms=%u", sep, ct);
        sep = '&';
    }
    if (f & 32) {
        rand_str(in, prefix, (fz_u8(in) & 1) ? 256 : 20, "{}");
        n += (size_t)sprintf(url + n, "%cprefix=", sep);
        enc(in, url, &n, prefix, "!$'()*+,;:/?"); /* '@' only as %40, as in the path */
        sep = '&';
    }
    if (f & 64) {
        ka = fz_u8(in) & 1;
        n += (size_t)sprintf(url + n, "%ckeepalive=%u", sep, ka);
        sep = '&';
    }
    if (is_unix && (f & 128)) {
        db = fz_u32(in) & 0x7fffffff;
        n += (size_t)sprintf(url + n, "%cdb=%u", sep, db);
        sep = '&';
    }
    if (fz_u8(in) & 1) {
        mt = 1 + fz_u32(in) % 0x7fffffff;
        n += (size_t)sprintf(url + n, "%ccommand_timeout_ms=%u", sep, mt);
    }
    url[n] = '\0';
    if (n > OFI_REDIS_URL_MAX)
        return;
    ofi_redis_config c;
    memset(&c, 0, sizeof c);
    FZ_STATUS(ofi_redis_config_from_url(url, &c), OF_OK, "round trip of a well-formed URL");
    if (is_unix)
        FZ_CHECK(c.unix_path && strcmp(c.unix_path, path) == 0 && !c.host, "unix path");
    else
        FZ_CHECK(c.host && strcmp(c.host, host) == 0 && !c.unix_path && c.port == (int)port,
                 "host or port: got '%s':%d", c.host ? c.host : "(null)", c.port);
    FZ_CHECK(has_user ? (c.user && strcmp(c.user, user) == 0) : c.user == NULL, "user");
    FZ_CHECK(has_pw ? (c.password && strcmp(c.password, pw) == 0) : c.password == NULL,
             "password");
    FZ_CHECK(strcmp(c.prefix, prefix) == 0 && c.prefix_len == strlen(prefix), "prefix");
    FZ_CHECK(c.db == (int)db && c.connect_timeout_ms == ct && c.command_timeout_ms == mt &&
                 c.keepalive == (int)ka,
             "numbers: db %d/%u ct %u/%u mt %u/%u ka %d/%u", c.db, db, c.connect_timeout_ms, ct,
             c.command_timeout_ms, mt, c.keepalive, ka);
    ofi_redis_config_free(&c);
    of_lock_provider *p = NULL;
    int rc = of_lock_redis_create_url(url, &p);
    FZ_CHECK(rc == (of_lock_redis_available() ? OF_OK : OF_ERR_NOT_SUPPORTED),
             "create_url of a well-formed URL: %s (%s)", of_status_name(rc),
             of_last_error_detail());
    of_lock_provider_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        self_test();
        once = true;
    }
    fz_in in = {data, size};
    while (fz_more(&in)) {
        switch (fz_u8(&in) % 4) {
        case 0:
        case 1:
            url_case(&in);
            break;
        case 2:
            options_case(&in);
            break;
        default:
            round_trip(&in);
            break;
        }
    }
    return 0;
}
