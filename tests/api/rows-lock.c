/* Bad-input rows: lock.h (options, acquire, handles, expired and lost handles, provider config,
 * stats, the local provider, the provider vtable). */
#include <string.h>

#include "badinput.h"

#define ROWS_GROUP "lock.h"

static void on_lost(of_lock *lock, int status, void *ctx)
{
}

static void log_cb(void *ctx, int level, const char *msg)
{
    ((bi_fx *)ctx)->calls++;
}

static void event_cb(void *ctx, const of_lock_event *ev)
{
    ((bi_fx *)ctx)->calls++;
}

/* ------------------------------------------------------------------------------------------ */
/* options                                                                                      */

ROW(lock_options_init_null, of_lock_options_init, F_NONE, OF_ERR_INVALID, D, "opts NULL")
{
    return of_lock_options_init(NULL, sizeof(of_lock_options));
}

ROW(lock_options_init_size_zero, of_lock_options_init, F_NONE, OF_ERR_ABI, D, "struct_size 0")
{
    return of_lock_options_init(&f->o.lock_opts, 0);
}

ROW(lock_options_init_size_small, of_lock_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 4 (too small)")
{
    return of_lock_options_init(&f->o.lock_opts, 4);
}

ROW(lock_options_init_size_large, of_lock_options_init, F_NONE, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return of_lock_options_init(&f->o.lock_opts, sizeof(of_lock_options) + 8);
}

VROW(lock_options_size, of_lock_options_size, F_NONE, "`sizeof(of_lock_options)`",
     "(no arguments)")
{
    return of_lock_options_size() == sizeof(of_lock_options);
}

VROW(lock_ttl_max, of_lock_ttl_max, F_NONE, "2^31 - 1", "(no arguments)")
{
    return of_lock_ttl_max() == 2147483647u && OF_LOCK_TTL_MAX == 2147483647u;
}

/* ------------------------------------------------------------------------------------------ */
/* acquire                                                                                      */

/* Acquire "n" on the fixture's provider with one option field changed. */
typedef struct {
    uint32_t ttl_ms, flags, reserved0, struct_size;
    int lost_cb;
} acq_opts;

static int acquire_with(bi_fx *f, acq_opts a)
{
    struct {
        of_lock_options o;
        unsigned char newer[64];
    } b;
    memset(&b, 0, sizeof b);
    if (of_lock_options_init(&b.o, sizeof b.o) != OF_OK)
        bi_why(f, "of_lock_options_init failed");
    b.o.ttl_ms = a.ttl_ms ? a.ttl_ms : 1000;
    if (a.ttl_ms == UINT32_MAX - 1)
        b.o.ttl_ms = 0; /* "ttl 0" (0 in acq_opts means the default) */
    b.o.flags = a.flags;
    b.o.reserved0 = a.reserved0;
    if (a.struct_size)
        b.o.struct_size = a.struct_size == UINT32_MAX ? 0 : a.struct_size;
    if (a.lost_cb)
        b.o.on_lost = on_lost;
    return bi_acquire(f, f->prov, "n", 1, &b.o);
}

ROW(lock_acquire_null_provider, of_lock_acquire, F_NONE, OF_ERR_INVALID, D, "provider NULL")
{
    return of_lock_acquire(NULL, "n", 1, NULL, &f->o.lock);
}

ROW(lock_acquire_null_name, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "name NULL, name_len 4")
{
    return bi_acquire(f, f->prov, NULL, 4, NULL);
}

ROW(lock_acquire_null_out, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "out_lock NULL")
{
    return of_lock_acquire(f->prov, "n", 1, NULL, NULL);
}

ROW(lock_acquire_name_empty, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "name_len 0")
{
    return bi_acquire(f, f->prov, "n", 0, NULL);
}

ROW(lock_acquire_name_1025, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "name_len 1025")
{
    return bi_acquire(f, f->prov, f->big, 1025, NULL);
}

ROW(lock_acquire_name_max, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "name_len SIZE_MAX")
{
    return bi_acquire(f, f->prov, f->big, SIZE_MAX, NULL);
}

ROW(lock_acquire_name_1024, of_lock_acquire, F_LOCAL, OF_OK, MUT,
    "name_len 1024 (the maximum) is accepted")
{
    return bi_acquire(f, f->prov, f->big, 1024, NULL);
}

ROW(lock_acquire_ttl_zero, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "ttl_ms 0")
{
    return acquire_with(f, (acq_opts){.ttl_ms = UINT32_MAX - 1});
}

ROW(lock_acquire_ttl_over, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "ttl_ms 2^31")
{
    return acquire_with(f, (acq_opts){.ttl_ms = 2147483648u});
}

ROW(lock_acquire_ttl_max, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "ttl_ms UINT32_MAX")
{
    return acquire_with(f, (acq_opts){.ttl_ms = UINT32_MAX});
}

ROW(lock_acquire_ttl_limit, of_lock_acquire, F_LOCAL, OF_OK, MUT,
    "ttl_ms 2^31 - 1 (the maximum) is accepted")
{
    return acquire_with(f, (acq_opts){.ttl_ms = 2147483647u});
}

/* A wait far beyond the clock's range waits like "forever" (the deadline saturates): a name whose
 * 50 ms lease passes is then granted. */
static int wait_huge(bi_fx *f, int64_t wait_ms)
{
    of_lock *holder = NULL;
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 50;
    if (of_lock_acquire(f->prov, "w", 1, &o, &holder) != OF_OK)
        bi_why(f, "the holder's acquire failed");
    int64_t end = of_lock_valid_until_ns(holder);
    o.ttl_ms = 1000;
    o.wait_ms = wait_ms;
    int rc = of_lock_acquire(f->prov, "w", 1, &o, &f->o.lock);
    if (rc == OF_OK && of_clock_monotonic_ns() < end)
        bi_why(f, "granted before the holder's lease ended");
    if (rc == OF_OK) {
        of_lock_release(f->o.lock);
        memset(&f->o.lock, BI_SENTINEL, sizeof f->o.lock);
    }
    of_lock_release(holder);
    return rc;
}

ROW(lock_acquire_wait_max, of_lock_acquire, F_LOCAL, OF_OK, MUT,
    "wait_ms INT64_MAX on a name whose lease ends in 50 ms: granted then")
{
    return wait_huge(f, INT64_MAX);
}

ROW(lock_acquire_wait_min, of_lock_acquire, F_LOCAL, OF_OK, MUT,
    "wait_ms INT64_MIN (forever) on a name whose lease ends in 50 ms: granted then")
{
    return wait_huge(f, INT64_MIN);
}

ROW(lock_acquire_flags, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "flags 0x2 (unknown)")
{
    return acquire_with(f, (acq_opts){.flags = 0x2u});
}

ROW(lock_acquire_flags_high, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D,
    "flags 0x80000001 (auto-renew and an unknown bit)")
{
    return acquire_with(f, (acq_opts){.flags = 0x80000001u});
}

ROW(lock_acquire_on_lost_alone, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D,
    "on_lost without `OF_LOCK_AUTO_RENEW`")
{
    return acquire_with(f, (acq_opts){.lost_cb = 1});
}

ROW(lock_acquire_reserved, of_lock_acquire, F_LOCAL, OF_ERR_INVALID, D, "reserved0 1")
{
    return acquire_with(f, (acq_opts){.reserved0 = 1});
}

ROW(lock_acquire_size_zero, of_lock_acquire, F_LOCAL, OF_ERR_ABI, D, "opts->struct_size 0")
{
    return acquire_with(f, (acq_opts){.struct_size = UINT32_MAX});
}

ROW(lock_acquire_size_small, of_lock_acquire, F_LOCAL, OF_ERR_ABI, D,
    "opts->struct_size 4 (too small)")
{
    return acquire_with(f, (acq_opts){.struct_size = 4});
}

ROW(lock_acquire_size_large, of_lock_acquire, F_LOCAL, OF_ERR_ABI, D,
    "opts->struct_size sizeof + 8 (a newer header)")
{
    return acquire_with(f, (acq_opts){.struct_size = sizeof(of_lock_options) + 8});
}

ROW(lock_acquire_busy, of_lock_acquire, F_LOCAL, OF_ERR_BUSY, D | ST,
    "name held by another handle, wait 0")
{
    /* ST: a BUSY answer counts in the provider's stats (attempts, busy). */
    return bi_acquire(f, f->prov, "held", 4, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* handles: NULL, expired (lease passed, no auto-renew), taken over, marked lost                */

ROW(lock_release_null, of_lock_release, F_NONE, OF_ERR_INVALID, D, "NULL")
{
    return of_lock_release(NULL);
}

static int release_fixture_lock(bi_fx *f)
{
    int rc = of_lock_release(f->lock);
    f->lock = NULL; /* freed whatever the outcome */
    return rc;
}

ROW(lock_release_expired, of_lock_release, F_EXPIRED, OF_ERR_NOT_OWNER, H1,
    "expired handle (lease passed, nobody took it)")
{
    return release_fixture_lock(f);
}

ROW(lock_release_taken, of_lock_release, F_TAKEN, OF_ERR_NOT_OWNER, H1,
    "expired handle whose name another owner took (the new lease stays)")
{
    return release_fixture_lock(f);
}

ROW(lock_release_lost, of_lock_release, F_LOST, OF_ERR_LOST, H1,
    "handle marked lost (the new owner's lease stays)")
{
    return release_fixture_lock(f);
}

ROW(lock_extend_null, of_lock_extend, F_NONE, OF_ERR_INVALID, D, "NULL")
{
    return of_lock_extend(NULL, 1000);
}

ROW(lock_extend_ttl_zero, of_lock_extend, F_LOCAL, OF_ERR_INVALID, D, "ttl_ms 0 (held handle)")
{
    return of_lock_extend(f->lock, 0);
}

ROW(lock_extend_ttl_over, of_lock_extend, F_LOCAL, OF_ERR_INVALID, D,
    "ttl_ms 2^31 (held handle)")
{
    return of_lock_extend(f->lock, 2147483648u);
}

ROW(lock_extend_ttl_max, of_lock_extend, F_LOCAL, OF_ERR_INVALID, D,
    "ttl_ms UINT32_MAX (held handle)")
{
    return of_lock_extend(f->lock, UINT32_MAX);
}

ROW(lock_extend_ttl_limit, of_lock_extend, F_LOCAL, OF_OK, MUT,
    "ttl_ms 2^31 - 1 (the maximum) is accepted")
{
    int64_t before = of_lock_valid_until_ns(f->lock);
    int rc = of_lock_extend(f->lock, 2147483647u);
    if (rc == OF_OK && of_lock_valid_until_ns(f->lock) <= before)
        bi_why(f, "valid_until did not move forward");
    return rc;
}

static int extend_marks_lost(bi_fx *f)
{
    int rc = of_lock_extend(f->lock, 1000);
    if (!of_lock_is_lost(f->lock))
        bi_why(f, "the handle is not marked lost afterwards");
    return rc;
}

ROW(lock_extend_expired, of_lock_extend, F_EXPIRED, OF_ERR_NOT_OWNER, H1,
    "expired handle: backend not asked, handle marked lost")
{
    return extend_marks_lost(f);
}

ROW(lock_extend_taken, of_lock_extend, F_TAKEN, OF_ERR_NOT_OWNER, H1,
    "handle whose name another owner took: marked lost, the new lease stays")
{
    return extend_marks_lost(f);
}

ROW(lock_extend_lost, of_lock_extend, F_LOST, OF_ERR_LOST, 0, "handle marked lost")
{
    return of_lock_extend(f->lock, 1000);
}

ROW(lock_fence_null_lock, of_lock_fence, F_NONE, OF_ERR_INVALID, D, "lock NULL")
{
    return of_lock_fence(NULL, &f->o.fence);
}

ROW(lock_fence_null_out, of_lock_fence, F_LOCAL, OF_ERR_INVALID, D, "out_fence NULL")
{
    return of_lock_fence(f->lock, NULL);
}

ROW(lock_fence_lost, of_lock_fence, F_LOST, OF_OK, 0,
    "handle marked lost: the fence stays readable")
{
    uint64_t want = 0;
    int rc = of_lock_fence(f->lock, &f->o.fence);
    of_lock_fence(f->lock2, &want);
    if (rc == OF_OK && !(f->o.fence >= 1 && f->o.fence < want))
        bi_why(f, "fence %llu, the new owner's is %llu", (unsigned long long)f->o.fence,
               (unsigned long long)want);
    return rc;
}

VROW(lock_valid_until_null, of_lock_valid_until_ns, F_NONE, "0", "NULL")
{
    return of_lock_valid_until_ns(NULL) == 0;
}

VROW(lock_is_lost_null, of_lock_is_lost, F_NONE, "1", "NULL")
{
    return of_lock_is_lost(NULL) == 1;
}

VROW(lock_is_lost_expired, of_lock_is_lost, F_EXPIRED, "0 (not marked: no auto-renew)",
     "expired handle")
{
    return of_lock_is_lost(f->lock) == 0;
}

VROW(lock_is_lost_lost, of_lock_is_lost, F_LOST, "1", "handle marked lost")
{
    return of_lock_is_lost(f->lock) == 1;
}

VROW(lock_name_null, of_lock_name, F_NONE, "NULL", "lock NULL")
{
    return of_lock_name(NULL, NULL) == NULL;
}

VROW(lock_name_null_len, of_lock_name, F_LOCAL, "the name, NUL-terminated",
     "out_len NULL (allowed)")
{
    const char *n = of_lock_name(f->lock, NULL);
    return n != NULL && strcmp(n, "held") == 0;
}

ROW(lock_token_get_null_lock, of_lock_token_get, F_NONE, OF_ERR_INVALID, D, "lock NULL")
{
    return of_lock_token_get(NULL, &f->o.token);
}

ROW(lock_token_get_null_out, of_lock_token_get, F_LOCAL, OF_ERR_INVALID, D, "out_token NULL")
{
    return of_lock_token_get(f->lock, NULL);
}

VROW(lock_token_to_hex, of_lock_token_to_hex, F_NONE,
     "32 lowercase hex digits and a NUL (cannot fail; NULL is not accepted)",
     "token of bytes 0x00..0xff")
{
    of_lock_token t;
    char hex[OF_LOCK_TOKEN_HEX_LEN + 8];
    for (int i = 0; i < 16; i++)
        t.bytes[i] = (uint8_t)(i * 17);
    memset(hex, BI_SENTINEL, sizeof hex);
    of_lock_token_to_hex(&t, hex);
    return strcmp(hex, "00112233445566778899aabbccddeeff") == 0 &&
           bi_untouched(hex + OF_LOCK_TOKEN_HEX_LEN + 1, sizeof hex - OF_LOCK_TOKEN_HEX_LEN - 1);
}

/* ------------------------------------------------------------------------------------------ */
/* provider config, stats, log, name, caps, destroy                                             */

ROW(lock_config_init_null, of_lock_provider_config_init, F_NONE, OF_ERR_INVALID, D, "cfg NULL")
{
    return of_lock_provider_config_init(NULL, sizeof(of_lock_provider_config));
}

ROW(lock_config_init_size_zero, of_lock_provider_config_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 0")
{
    return of_lock_provider_config_init(&f->o.cfg, 0);
}

ROW(lock_config_init_size_small, of_lock_provider_config_init, F_NONE, OF_ERR_ABI, D,
    "struct_size 4 (too small)")
{
    return of_lock_provider_config_init(&f->o.cfg, 4);
}

ROW(lock_config_init_size_large, of_lock_provider_config_init, F_NONE, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return of_lock_provider_config_init(&f->o.cfg, sizeof(of_lock_provider_config) + 8);
}

VROW(lock_event_name_unknown, of_lock_event_name, F_NONE, "\"unknown\"",
     "kind 0, 9, -1, INT_MAX")
{
    return strcmp(of_lock_event_name(0), "unknown") == 0 &&
           strcmp(of_lock_event_name(9), "unknown") == 0 &&
           strcmp(of_lock_event_name(-1), "unknown") == 0 &&
           strcmp(of_lock_event_name(2147483647), "unknown") == 0 &&
           strcmp(of_lock_event_name(OF_LOCK_EVENT_RENEW_FAILED), "renew_failed") == 0;
}

VROW(lock_config_size, of_lock_provider_config_size, F_NONE,
     "`sizeof(of_lock_provider_config)`", "(no arguments)")
{
    return of_lock_provider_config_size() == sizeof(of_lock_provider_config);
}

/* Configure the fixture's provider with one field changed, a log hook and an event callback: a
 * refused config must not be applied, so an ERROR line logged afterwards reaches no hook. (The
 * event callback is installed with the hook or not at all; taking a lock to probe it would change
 * the provider's state, which these rows check stays put.) */
typedef struct {
    uint32_t step, base, cap, reserved0, struct_size;
    int32_t level;
    int set_level;
} cfg_with;

static int configure_with(bi_fx *f, cfg_with c)
{
    struct {
        of_lock_provider_config c;
        unsigned char newer[64];
    } b;
    memset(&b, 0, sizeof b);
    if (of_lock_provider_config_init(&b.c, sizeof b.c) != OF_OK)
        bi_why(f, "of_lock_provider_config_init failed");
    if (c.step)
        b.c.step_timeout_ms = c.step == UINT32_MAX ? 0 : c.step;
    if (c.base)
        b.c.backoff_base_ms = c.base == UINT32_MAX ? 0 : c.base;
    if (c.cap)
        b.c.backoff_cap_ms = c.cap;
    if (c.set_level)
        b.c.log_level = c.level;
    b.c.reserved0 = c.reserved0;
    if (c.struct_size)
        b.c.struct_size = c.struct_size == UINT32_MAX ? 0 : c.struct_size;
    b.c.log = log_cb;
    b.c.log_ctx = f;
    b.c.on_event = event_cb;
    b.c.event_ctx = f;
    int rc = of_lock_provider_configure(f->prov, &b.c);
    of_lock_provider_log(f->prov, OF_LOCK_LOG_ERROR, "badinput probe");
    if (rc != OF_OK && f->calls)
        bi_why(f, "the refused config's log hook was installed");
    return rc;
}

ROW(lock_configure_null_provider, of_lock_provider_configure, F_NONE, OF_ERR_INVALID, D,
    "provider NULL")
{
    of_lock_provider_config c;
    of_lock_provider_config_init(&c, sizeof c);
    return of_lock_provider_configure(NULL, &c);
}

ROW(lock_configure_null_cfg, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D, "cfg NULL")
{
    return of_lock_provider_configure(f->prov, NULL);
}

ROW(lock_configure_step_zero, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D,
    "step_timeout_ms 0")
{
    return configure_with(f, (cfg_with){.step = UINT32_MAX});
}

ROW(lock_configure_base_zero, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D,
    "backoff_base_ms 0")
{
    return configure_with(f, (cfg_with){.base = UINT32_MAX});
}

ROW(lock_configure_base_above_cap, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D,
    "backoff_base_ms 200 > backoff_cap_ms 100")
{
    return configure_with(f, (cfg_with){.base = 200, .cap = 100});
}

ROW(lock_configure_level_zero, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D,
    "log_level 0")
{
    return configure_with(f, (cfg_with){.set_level = 1, .level = 0});
}

ROW(lock_configure_level_five, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D,
    "log_level 5")
{
    return configure_with(f, (cfg_with){.set_level = 1, .level = 5});
}

ROW(lock_configure_level_negative, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D,
    "log_level -1")
{
    return configure_with(f, (cfg_with){.set_level = 1, .level = -1});
}

ROW(lock_configure_reserved, of_lock_provider_configure, F_LOCAL, OF_ERR_INVALID, D,
    "reserved0 1")
{
    return configure_with(f, (cfg_with){.reserved0 = 1});
}

ROW(lock_configure_size_zero, of_lock_provider_configure, F_LOCAL, OF_ERR_ABI, D,
    "struct_size 0")
{
    return configure_with(f, (cfg_with){.struct_size = UINT32_MAX});
}

ROW(lock_configure_size_large, of_lock_provider_configure, F_LOCAL, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return configure_with(f, (cfg_with){.struct_size = sizeof(of_lock_provider_config) + 8});
}

/* Stats with a caller-chosen struct_size: nothing but struct_size may hold other than the
 * sentinel afterwards. */
static int stats_with(bi_fx *f, const of_lock_provider *p, uint32_t size)
{
    struct {
        of_lock_stats s;
        unsigned char newer[64];
    } b;
    memset(&b, BI_SENTINEL, sizeof b);
    b.s.struct_size = size;
    int rc = of_lock_provider_stats(p, &b.s);
    if (rc != OF_OK && (b.s.struct_size != size ||
                        !bi_untouched((unsigned char *)&b + sizeof b.s.struct_size,
                                      sizeof b - sizeof b.s.struct_size)))
        bi_why(f, "out_stats written on error");
    return rc;
}

ROW(lock_stats_null_provider, of_lock_provider_stats, F_NONE, OF_ERR_INVALID, D,
    "provider NULL")
{
    return stats_with(f, NULL, sizeof(of_lock_stats));
}

ROW(lock_stats_null_out, of_lock_provider_stats, F_LOCAL, OF_ERR_INVALID, D, "out_stats NULL")
{
    return of_lock_provider_stats(f->prov, NULL);
}

ROW(lock_stats_size_zero, of_lock_provider_stats, F_LOCAL, OF_ERR_ABI, D, "struct_size 0")
{
    return stats_with(f, f->prov, 0);
}

ROW(lock_stats_size_small, of_lock_provider_stats, F_LOCAL, OF_ERR_ABI, D,
    "struct_size 4 (too small)")
{
    return stats_with(f, f->prov, 4);
}

ROW(lock_stats_size_large, of_lock_provider_stats, F_LOCAL, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    return stats_with(f, f->prov, sizeof(of_lock_stats) + 8);
}

VROW(lock_stats_size, of_lock_stats_size, F_NONE, "`sizeof(of_lock_stats)`", "(no arguments)")
{
    return of_lock_stats_size() == sizeof(of_lock_stats);
}

VROW(lock_provider_log_null, of_lock_provider_log, F_NONE, "no-op", "provider NULL")
{
    of_lock_provider_log(NULL, OF_LOCK_LOG_ERROR, "x");
    return 1;
}

VROW(lock_provider_name_null, of_lock_provider_name, F_NONE, "NULL", "NULL")
{
    return of_lock_provider_name(NULL) == NULL;
}

VROW(lock_provider_caps_null, of_lock_provider_caps, F_NONE, "0", "NULL")
{
    return of_lock_provider_caps(NULL) == 0;
}

VROW(lock_provider_destroy_null, of_lock_provider_destroy, F_NONE, "no-op", "NULL")
{
    of_lock_provider_destroy(NULL);
    return 1;
}

ROW(lock_local_create_null, of_lock_local_create, F_NONE, OF_ERR_INVALID, D, "out_provider NULL")
{
    return of_lock_local_create(NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* the provider vtable                                                                          */

VROW(lock_ops_size, of_lock_provider_ops_size, F_NONE, "`sizeof(of_lock_provider_ops)`",
     "(no arguments)")
{
    return of_lock_provider_ops_size() == sizeof(of_lock_provider_ops);
}

/* Create from f->ops as changed by the row, inside a larger zeroed buffer (room for a "newer"
 * struct_size); on error the caller still owns self: destroy must not have run. */
static int create_from(bi_fx *f, const of_lock_provider_ops *ops)
{
    int rc = of_lock_provider_create(ops, f, &f->o.provider);
    if (rc != OF_OK && f->destroyed)
        bi_why(f, "destroy(self) ran on a refused create");
    return rc;
}

typedef struct {
    of_lock_provider_ops ops;
    unsigned char newer[64];
} big_ops;

static big_ops ops_copy(const bi_fx *f)
{
    big_ops b;
    memset(&b, 0, sizeof b);
    b.ops = f->ops;
    return b;
}

ROW(lock_provider_create_null_ops, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "ops NULL")
{
    return create_from(f, NULL);
}

ROW(lock_provider_create_null_out, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "out_provider NULL")
{
    int rc = of_lock_provider_create(&f->ops, f, NULL);
    if (f->destroyed)
        bi_why(f, "destroy(self) ran on a refused create");
    return rc;
}

ROW(lock_provider_create_abi_zero, of_lock_provider_create, F_OPS, OF_ERR_ABI, D,
    "abi_version 0")
{
    big_ops b = ops_copy(f);
    b.ops.abi_version = 0;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_abi_newer, of_lock_provider_create, F_OPS, OF_ERR_ABI, D,
    "abi_version `OF_LOCK_PROVIDER_ABI` + 1")
{
    big_ops b = ops_copy(f);
    b.ops.abi_version = OF_LOCK_PROVIDER_ABI + 1;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_size_small, of_lock_provider_create, F_OPS, OF_ERR_ABI, D,
    "struct_size 8 (too small)")
{
    big_ops b = ops_copy(f);
    b.ops.struct_size = 8;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_size_large, of_lock_provider_create, F_OPS, OF_ERR_ABI, D,
    "struct_size sizeof + 8 (a newer header)")
{
    big_ops b = ops_copy(f);
    b.ops.struct_size = sizeof(of_lock_provider_ops) + 8;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_no_try, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "try_acquire NULL")
{
    big_ops b = ops_copy(f);
    b.ops.try_acquire = NULL;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_no_release, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "release NULL")
{
    big_ops b = ops_copy(f);
    b.ops.release = NULL;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_extend_cap, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "`OF_LOCK_CAP_EXTEND` without extend")
{
    big_ops b = ops_copy(f);
    b.ops.caps |= OF_LOCK_CAP_EXTEND;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_wait_cap, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "`OF_LOCK_CAP_WAIT` without wait_release")
{
    big_ops b = ops_copy(f);
    b.ops.caps |= OF_LOCK_CAP_WAIT;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_caps, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "caps bit 0x20 (unknown)")
{
    big_ops b = ops_copy(f);
    b.ops.caps |= 0x20u;
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_name_empty, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "name \"\"")
{
    big_ops b = ops_copy(f);
    b.ops.name = "";
    return create_from(f, &b.ops);
}

ROW(lock_provider_create_reserved, of_lock_provider_create, F_OPS, OF_ERR_INVALID, D,
    "reserved0 1")
{
    big_ops b = ops_copy(f);
    b.ops.reserved0 = 1;
    return create_from(f, &b.ops);
}

/* ------------------------------------------------------------------------------------------ */
/* an implementation's own hooks: self and pause_renewals                                       */

/* A provider made from f->ops with self = f (destroyed again by the row). */
static of_lock_provider *ops_provider(bi_fx *f)
{
    of_lock_provider *p = NULL;
    if (of_lock_provider_create(&f->ops, f, &p) != OF_OK) {
        bi_why(f, "of_lock_provider_create from the fixture's ops failed");
        return NULL;
    }
    return p;
}

VROW(lock_provider_self_null, of_lock_provider_self, F_OPS, "NULL", "provider NULL")
{
    return of_lock_provider_self(NULL, f->ops.name) == NULL;
}

VROW(lock_provider_self_null_name, of_lock_provider_self, F_OPS, "NULL", "ops_name NULL")
{
    of_lock_provider *p = ops_provider(f);
    int ok = p && of_lock_provider_self(p, NULL) == NULL;
    of_lock_provider_destroy(p);
    return ok;
}

VROW(lock_provider_self_same_text, of_lock_provider_self, F_OPS,
     "NULL (compared as a pointer, not as text)",
     "ops_name: another pointer to the same text \"badinput\"")
{
    char copy[16];
    memcpy(copy, f->ops.name, strlen(f->ops.name) + 1);
    of_lock_provider *p = ops_provider(f);
    int ok = p && strcmp(copy, of_lock_provider_name(p)) == 0 &&
             of_lock_provider_self(p, copy) == NULL;
    of_lock_provider_destroy(p);
    return ok;
}

VROW(lock_provider_self_other_impl, of_lock_provider_self, F_LOCAL | F_OPS,
     "NULL (a provider of another implementation)",
     "the local provider with the fixture ops' name pointer")
{
    return of_lock_provider_self(f->prov, f->ops.name) == NULL;
}

VROW(lock_provider_self_right, of_lock_provider_self, F_OPS,
     "the `self` given to of_lock_provider_create()", "the ops' own name pointer")
{
    of_lock_provider *p = ops_provider(f);
    int ok = p && of_lock_provider_self(p, f->ops.name) == (void *)f;
    of_lock_provider_destroy(p);
    return ok;
}

ROW(lock_pause_renewals_null, of_lock_provider_pause_renewals, F_NONE, OF_ERR_INVALID, D,
    "provider NULL, paused 1")
{
    return of_lock_provider_pause_renewals(NULL, 1);
}

ROW(lock_pause_renewals_null_resume, of_lock_provider_pause_renewals, F_NONE, OF_ERR_INVALID, D,
    "provider NULL, paused 0")
{
    return of_lock_provider_pause_renewals(NULL, 0);
}

ROW(lock_pause_renewals_round, of_lock_provider_pause_renewals, F_LOCAL, OF_OK, 0,
    "pause, then resume: the held lock and the counters are unchanged")
{
    int rc = of_lock_provider_pause_renewals(f->prov, 1);
    int rc2 = of_lock_provider_pause_renewals(f->prov, 0);
    return rc != OF_OK ? rc : rc2;
}

/* ---- of_lock_provider_metrics / of_lock_provider_metrics_write ---------------------------- */

/* The call into an 8-byte buffer that must stay as it was (and out_len too) unless @p nospace. */
static int metrics_with(bi_fx *f, const of_lock_provider *p, int format, const char *prefix,
                        const char *const *labels, size_t cap, int nospace)
{
    char buf[8];
    memset(buf, BI_SENTINEL, sizeof buf);
    size_t n = 12345;
    int rc = of_lock_provider_metrics(p, format, prefix, labels, cap ? buf : NULL, cap, &n);
    if (!nospace && (n != 12345 || !bi_untouched((unsigned char *)buf, sizeof buf)))
        bi_why(f, "buffer or out_len written on error");
    if (nospace && (n <= cap || n < 100))
        bi_why(f, "NOSPACE without the needed size");
    return rc;
}

static const char *const bi_labels_odd[] = {"service", NULL};
static const char *const bi_labels_le[] = {"le", "1", NULL};

ROW(lock_metrics_null_provider, of_lock_provider_metrics, F_NONE, OF_ERR_INVALID, D | NOOUT,
    "provider NULL")
{
    return metrics_with(f, NULL, OF_METRICS_PROMETHEUS, NULL, NULL, 8, 0);
}

ROW(lock_metrics_bad_format, of_lock_provider_metrics, F_LOCAL, OF_ERR_INVALID, D | NOOUT,
    "format 0")
{
    return metrics_with(f, f->prov, 0, NULL, NULL, 8, 0);
}

ROW(lock_metrics_bad_prefix, of_lock_provider_metrics, F_LOCAL, OF_ERR_INVALID, D | NOOUT,
    "prefix \"9x\" (starts with a digit)")
{
    return metrics_with(f, f->prov, OF_METRICS_PROMETHEUS, "9x", NULL, 8, 0);
}

ROW(lock_metrics_odd_labels, of_lock_provider_metrics, F_LOCAL, OF_ERR_INVALID, D | NOOUT,
    "labels: a name without a value")
{
    return metrics_with(f, f->prov, OF_METRICS_JSON, NULL, bi_labels_odd, 8, 0);
}

ROW(lock_metrics_reserved_label, of_lock_provider_metrics, F_LOCAL, OF_ERR_INVALID, D | NOOUT,
    "label name \"le\" (reserved)")
{
    return metrics_with(f, f->prov, OF_METRICS_PROMETHEUS, NULL, bi_labels_le, 8, 0);
}

ROW(lock_metrics_null_buf, of_lock_provider_metrics, F_LOCAL, OF_ERR_INVALID, D | NOOUT,
    "buf NULL with cap 10")
{
    size_t n = 12345;
    int rc = of_lock_provider_metrics(f->prov, OF_METRICS_PROMETHEUS, NULL, NULL, NULL, 10, &n);
    if (n != 12345)
        bi_why(f, "out_len written on error");
    return rc;
}

ROW(lock_metrics_small_buf, of_lock_provider_metrics, F_LOCAL, OF_ERR_NOSPACE, D | NOOUT,
    "cap 8 (sets *out_len to the size needed)")
{
    return metrics_with(f, f->prov, OF_METRICS_PROMETHEUS, NULL, NULL, 8, 1);
}

static int bi_metrics_sink(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    return 0;
}

ROW(lock_metrics_write_null_provider, of_lock_provider_metrics_write, F_NONE, OF_ERR_INVALID, D,
    "provider NULL")
{
    return of_lock_provider_metrics_write(NULL, OF_METRICS_JSON, NULL, NULL, bi_metrics_sink,
                                          NULL);
}

ROW(lock_metrics_write_null_fn, of_lock_provider_metrics_write, F_LOCAL, OF_ERR_INVALID, D,
    "write NULL")
{
    return of_lock_provider_metrics_write(f->prov, OF_METRICS_JSON, NULL, NULL, NULL, NULL);
}

ROW(lock_metrics_write_bad_format, of_lock_provider_metrics_write, F_LOCAL, OF_ERR_INVALID, D,
    "format 3")
{
    return of_lock_provider_metrics_write(f->prov, 3, NULL, NULL, bi_metrics_sink, NULL);
}

ROW(lock_metrics_write_bad_label, of_lock_provider_metrics_write, F_LOCAL, OF_ERR_INVALID, D,
    "label name \"le\" (reserved)")
{
    return of_lock_provider_metrics_write(f->prov, OF_METRICS_PROMETHEUS, "app_", bi_labels_le,
                                          bi_metrics_sink, NULL);
}
