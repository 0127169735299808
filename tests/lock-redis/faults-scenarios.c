/* Fault scenarios against the Redis provider: several processes contend on a few names while a
 * fault hits the network (through tests/support/fault-proxy) or the server, and a protected
 * resource refuses writes whose fence is below the highest it accepted for that name.
 *
 * usage: faults-scenarios FAULT_PROXY [quick|slow]
 *
 * One cmocka case per scenario, each on its own private redis-server (and proxy):
 *   latency      every reply held 800 ms against a 300 ms command timeout
 *   blackhole    nothing passes either way; new connections are accepted and swallowed too
 *   reset        2 reply bytes pass, then the client side is reset (RST)
 *   truncate     3 reply bytes pass, then the client side gets a FIN (the provider SELECTs a db,
 *                so the answer to the set-up is cut on new connections)
 *   script-flush SCRIPT FLUSH every 20 ms
 *   flushall     FLUSHALL every 100 ms (leases and fence counters wiped)
 *   client-kill  CLIENT KILL TYPE normal every 50 ms
 *   oom          maxmemory 1 with noeviction: every write is refused with an OOM error reply
 *   password     the ACL user's password changes and its connections are killed
 *   debug-sleep  DEBUG SLEEP for the fault's length (the server stalls)
 *
 * A scenario runs in phases: warm (no fault), a short pre-fault and its settle (worker 0 then
 * drains its cleanups and takes its fd/memory baseline), the fault, settle (the fault is gone;
 * ends when every worker has had a write accepted again, or at the recovery bound), after (no
 * fault again).
 * Each worker process (its own provider, created after fork) loops: acquire with a short wait,
 * write to the resource with its fence, hold, extend, write, hold, release. Checked:
 *   - no violation: a holder whose lease is still valid (checked under the resource's lock) is
 *     never refused (that would mean two holders overlapped or fences went backwards), and two
 *     owners never share a fence; in the flushall scenario, where leases are wiped as documented,
 *     a refused holder is counted, not a violation;
 *   - every call returns within its bound: wait + connect timeout + command timeout, plus
 *     max(1 s, 100%) (STYLE.md: no precise timing);
 *   - statuses: outside the fault only OK/BUSY/TIMEOUT (acquire) and OK (extend, release), also
 *     NOT_OWNER/LOST when the lease had already passed; calls that overlap the fault or settle
 *     phase may also answer the statuses docs/redis.md documents for that fault, and that status
 *     must be seen (UNKNOWN for a sent request without a reply, PROTOCOL with the OOM text,
 *     AUTH, NOT_OWNER after a wipe, ...); no detail ever holds the password;
 *   - recovery: every worker gets a write accepted within the recovery bound after the fault;
 *   - no orphaned lock keys once the workers are gone and the TTL has passed, and none without
 *     an expiry;
 *   - worker 0 compares its fds (minus its pooled connections, at most 2) and malloc'd bytes
 *     before and after the main fault, each once its cleanup queue has drained.
 *
 * A scenario can carry a known library defect (scenario.known_defect): its failed checks are
 * then printed as "KNOWN DEFECT" and the case passes, unless OF_FAULTS_STRICT=1 is set. The
 * per-scenario table is printed at the end. Timing-sensitive: run alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openfault/openfault.h>

#include "common/clock.h"
#include "lock/engine.h"
#include "lock/providers/redis.h"
#include "redis-harness.h"

#define NS_PER_MS INT64_C(1000000)

#define MAX_WORKERS 8
#define MAX_NAMES 4
#define NSTATUS 17 /* -OF_ERR_ABI + 1: index = -status */

#define TTL_MS 1500u
#define WAIT_MS 300
#define CONNECT_TIMEOUT_MS 300
#define COMMAND_TIMEOUT_MS 300
#define HOLD_MS 10
/* a call's bound: what the documentation promises, plus max(1 s, 100%) against hangs */
#define STEP_MS (CONNECT_TIMEOUT_MS + COMMAND_TIMEOUT_MS)
#define SLACK_MS(x) ((x) > 1000 ? (x) : 1000)
#define ACQ_BOUND_MS (WAIT_MS + STEP_MS + SLACK_MS(WAIT_MS + STEP_MS))
#define STEP_BOUND_MS (STEP_MS + SLACK_MS(STEP_MS))
/* after the fault ends every worker gets a write accepted by then: a lease granted during the
 * fault whose reply was lost ends by its TTL at the latest (its cleanup usually frees it first) */
#define RECOVERY_BOUND_MS (TTL_MS + 2000)
/* a worker's cleanup queue is empty by then after the end (cleanups stop at TTL after their
 * attempt) */
#define DRAIN_BOUND_MS (TTL_MS + 2000)
/* malloc'd bytes worker 0 may gain over the main fault (after the pre-fault its engine thread and
 * its connections exist); a leak per failed call over the hundreds of calls is more */
#define MEM_SLACK (32 * 1024)

/* a worker gives up after this long whatever the controller says */
#define HARD_LIMIT_S 120

#define PW_OLD "Sekrit1xyz"
#define PW_NEW "Sekrit2xyz"
#define SECRET_MARK "Sekrit"

enum { OP_ACQ, OP_EXT, OP_REL, OP_N };
static const char *const op_names[OP_N] = {"acquire", "extend", "release"};
/* A short first fault (pre-fault, pre-settle) lets worker 0 reach its steady state (its engine's
 * cleanup thread started, a second pooled connection for it) before its baseline; the main fault
 * follows. */
enum { PH_WARM, PH_PREFAULT, PH_PRESETTLE, PH_FAULT, PH_SETTLE, PH_AFTER, PH_STOP };

#define BIT(st) (1u << (unsigned)(-(st)))

enum fault {
    F_LATENCY,
    F_BLACKHOLE,
    F_RESET,
    F_TRUNCATE,
    F_SCRIPT_FLUSH,
    F_FLUSHALL,
    F_CLIENT_KILL,
    F_OOM,
    F_PASSWORD,
    F_DEBUG_SLEEP,
};

typedef struct scenario {
    const char *name;
    enum fault fault;
    int via_proxy;              /* workers reach the server through the fault proxy */
    uint32_t extra[OP_N];       /* statuses allowed in the fault window besides the clean ones */
    uint32_t need_ops;          /* bits (1 << OP_x): where the documented status must show */
    int need_status;            /* ... that status (OF_OK: only that calls keep succeeding) */
    int need_status2;           /* and this one too, unless OF_OK */
    const char *need_detail;    /* its of_last_error_detail() holds this, when non-NULL */
    int need_fallbacks;         /* the pool fell back to EVAL after NOSCRIPT */
    int need_dropped;           /* the pool replaced connections the server had closed */
    int wipes;                  /* the fault deletes leases: a holder may be refused */
    int db;                     /* database of the provider's URL (0: none, no SELECT) */
    const char *known_defect;   /* non-NULL: a library defect, reported instead of failing */
} scenario;

/* Per worker; each worker writes only its own slot. */
typedef struct wstats {
    uint64_t count[2][OP_N][NSTATUS]; /* [0] clean window, [1] fault window */
    int64_t max_ns[OP_N];
    uint64_t over_bound, unexpected, secret_leaks, detail_bad;
    char first_unexpected[240];
    char first_over[160];
    int64_t recovered_ns;              /* first accepted write of an acquire begun after the fault */
    int64_t pre_recovered_ns;          /* the same after the pre-fault */
    uint64_t writes_ok, writes_skipped;
    uint64_t fallbacks, dropped, pool_unknown;
    uint64_t cq_queued, cq_done, cq_dropped;
    int drained;
    int fd0, fd1, open0, open1;        /* worker 0: fds and pooled connections before/after */
    long long mem0, mem1;
    int setup_failed; /* 1: no provider or lock file; 2: never told to stop */
} wstats;

typedef struct shared {
    _Atomic int phase;
    /* worker 0 takes its "before" figures after the pre-fault, when asked, once its cleanup
     * queue has drained (no cleanup in flight, so no connection half open) */
    _Atomic int want_baseline, baseline_done;
    int nworkers, nnames;
    int64_t fault_end_ns;
    /* the protected resource, under flock of the scenario's lock file */
    uint64_t highest[MAX_NAMES];
    uint8_t owner[MAX_NAMES][16];
    uint64_t accepted, refused_wiped, violations, dup_fences;
    char first_violation[240];
    wstats w[MAX_WORKERS];
} shared;

typedef struct params {
    int workers, names;
    int warm_ms, pre_fault_ms, fault_ms, after_ms;
} params;

static params prm = {3, 2, 600, 700, 1500, 600};
static const char *proxy_prog;
static int strict_known;

/* The per-scenario table, printed at the end. */
#define MAX_ROWS 16
static char rows[MAX_ROWS][1024];
static int nrows;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static long long malloc_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long long)(mi.uordblks + mi.hblkhd);
}

static int st_index(int rc)
{
    return (rc <= 0 && rc >= OF_STATUS_MIN) ? -rc : NSTATUS - 1;
}

/* ---- worker --------------------------------------------------------------------------------- */

static const uint32_t clean_allowed[OP_N] = {
    BIT(OF_OK) | BIT(OF_ERR_BUSY) | BIT(OF_ERR_TIMEOUT),
    BIT(OF_OK),
    BIT(OF_OK),
};

static void record(const scenario *sc, wstats *w, int op, int rc, int p0, int p1, int64_t dur_ns,
                   int64_t bound_ms, int lease_passed)
{
    int clean = (p0 == PH_WARM && p1 == PH_WARM) || p0 >= PH_AFTER;
    w->count[!clean][op][st_index(rc)]++;
    if (dur_ns > w->max_ns[op])
        w->max_ns[op] = dur_ns;
    if (dur_ns > bound_ms * NS_PER_MS) {
        if (w->over_bound++ == 0)
            snprintf(w->first_over, sizeof w->first_over, "%s took %lld ms (bound %lld ms): %s",
                     op_names[op], (long long)(dur_ns / NS_PER_MS), (long long)bound_ms,
                     of_status_name(rc));
    }
    uint32_t allowed = clean_allowed[op] | (clean ? 0u : sc->extra[op]);
    if (lease_passed && op != OP_ACQ)
        allowed |= BIT(OF_ERR_NOT_OWNER) | BIT(OF_ERR_LOST);
    const char *detail = rc != OF_OK ? of_last_error_detail() : "";
    if (rc > 0 || rc < OF_STATUS_MIN || !(allowed & BIT(rc))) {
        if (w->unexpected++ == 0)
            snprintf(w->first_unexpected, sizeof w->first_unexpected,
                     "%s in the %s window: %s (%s)", op_names[op], clean ? "clean" : "fault",
                     of_status_name(rc), detail);
    }
    if (rc != OF_OK && strstr(detail, SECRET_MARK) != NULL)
        w->secret_leaks++;
    if (!clean && (sc->need_ops & (1u << op)) && rc == sc->need_status && rc != OF_OK &&
        sc->need_detail != NULL && strstr(detail, sc->need_detail) == NULL)
        w->detail_bad++;
}

/* Write to the resource with the lock's fence, if the lease is still valid (a careful client
 * never writes past it). 1 accepted, 0 not written or refused. */
static int resource_write(shared *sh, int lfd, const scenario *sc, wstats *w, int name,
                          of_lock *l)
{
    uint64_t fence = 0;
    of_lock_token tok;
    if (of_lock_fence(l, &fence) != OF_OK || of_lock_token_get(l, &tok) != OF_OK)
        return 0;
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {
    }
    int accepted = 0;
    /* the validity check and the write are one step under the resource's lock: no pause can
     * come between them */
    int64_t now = test_now_ns();
    if (now >= of_lock_valid_until_ns(l) || of_lock_is_lost(l)) {
        w->writes_skipped++;
    } else if (fence > sh->highest[name]) {
        sh->highest[name] = fence;
        memcpy(sh->owner[name], tok.bytes, 16);
        accepted = 1;
    } else if (fence == sh->highest[name] && memcmp(sh->owner[name], tok.bytes, 16) == 0) {
        accepted = 1; /* the same owner writing again */
    } else if (fence == sh->highest[name]) {
        if (sh->dup_fences++ == 0 && sh->first_violation[0] == '\0')
            snprintf(sh->first_violation, sizeof sh->first_violation,
                     "name %d: fence %llu given to two owners", name, (unsigned long long)fence);
    } else if (sc->wipes) {
        sh->refused_wiped++; /* our lease was wiped and a later owner wrote (documented) */
    } else {
        if (sh->violations++ == 0 && sh->first_violation[0] == '\0')
            snprintf(sh->first_violation, sizeof sh->first_violation,
                     "name %d: holder with fence %llu (lease valid for %lld ms more) refused, "
                     "fence %llu already written",
                     name, (unsigned long long)fence,
                     (long long)((of_lock_valid_until_ns(l) - now) / NS_PER_MS),
                     (unsigned long long)sh->highest[name]);
    }
    if (accepted)
        sh->accepted++;
    flock(lfd, LOCK_UN);
    if (accepted)
        w->writes_ok++;
    return accepted;
}

static void measure(of_lock_provider *p, int *fds, int *open, long long *mem)
{
    ofi_redis_pool_stats ps;
    ofi_redis_pool_get_stats(&((ofi_redis_provider *)ofi_lock_provider_self(p))->pool, &ps);
    *fds = test_count_fds();
    *open = (int)ps.open;
    *mem = malloc_bytes();
}

/* Wait until the cleanup queue of @p p is empty (bounded); 1 if it is. */
static int drain(of_lock_provider *p, wstats *w)
{
    of_lock_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    int64_t until = test_now_ns() + DRAIN_BOUND_MS * NS_PER_MS;
    for (;;) {
        of_lock_provider_stats(p, &st);
        if (st.cleanups_queued == st.cleanups_done + st.cleanups_dropped || test_now_ns() > until)
            break;
        test_sleep_ms(20);
    }
    w->cq_queued = st.cleanups_queued;
    w->cq_done = st.cleanups_done;
    w->cq_dropped = st.cleanups_dropped;
    return st.cleanups_queued == st.cleanups_done + st.cleanups_dropped;
}

static void worker_main(int idx, const scenario *sc, shared *sh, const char *url,
                        const char *lockfile)
{
    wstats *w = &sh->w[idx];
    int lfd = open(lockfile, O_RDWR | O_CLOEXEC); /* its own open file: flock excludes others */
    of_lock_provider *p = NULL;
    if (lfd < 0 || of_lock_redis_create_url(url, &p) != OF_OK) {
        w->setup_failed = 1;
        exit(1);
    }
    uint64_t rng = (uint64_t)test_now_ns() ^ ((uint64_t)getpid() << 32);
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = TTL_MS;
    o.wait_ms = WAIT_MS;
    char nm[16];
    /* a last guard should the controller never say stop */
    int64_t hard_stop = test_now_ns() + (int64_t)HARD_LIMIT_S * 1000 * NS_PER_MS;
    for (;;) {
        int p0 = atomic_load(&sh->phase);
        if (p0 == PH_STOP)
            break;
        if (test_now_ns() > hard_stop) {
            w->setup_failed = 2;
            break;
        }
        if (idx == 0 && atomic_load(&sh->want_baseline) && !atomic_load(&sh->baseline_done)) {
            w->drained = drain(p, w);
            measure(p, &w->fd0, &w->open0, &w->mem0);
            atomic_store(&sh->baseline_done, 1);
            continue;
        }
        int name = (int)(rng_next(&rng) % (uint64_t)sh->nnames);
        int nlen = snprintf(nm, sizeof nm, "n%d", name);
        of_lock *l = NULL;
        int64_t t0 = test_now_ns();
        int rc = of_lock_acquire(p, nm, (size_t)nlen, &o, &l);
        int64_t t1 = test_now_ns();
        record(sc, w, OP_ACQ, rc, p0, atomic_load(&sh->phase), t1 - t0, ACQ_BOUND_MS, 0);
        if (rc != OF_OK) {
            test_sleep_ms(rc == OF_ERR_BUSY || rc == OF_ERR_TIMEOUT ? 1 : 5);
            continue;
        }
        if (resource_write(sh, lfd, sc, w, name, l)) {
            if (p0 >= PH_SETTLE && w->recovered_ns == 0)
                w->recovered_ns = test_now_ns();
            if (p0 == PH_PRESETTLE && w->pre_recovered_ns == 0)
                w->pre_recovered_ns = test_now_ns();
        }
        test_sleep_ms(HOLD_MS);
        int lease_passed = test_now_ns() >= of_lock_valid_until_ns(l);
        t0 = test_now_ns();
        rc = of_lock_extend(l, TTL_MS);
        t1 = test_now_ns();
        record(sc, w, OP_EXT, rc, p0, atomic_load(&sh->phase), t1 - t0, STEP_BOUND_MS,
               lease_passed);
        if (rc == OF_OK) {
            resource_write(sh, lfd, sc, w, name, l);
            test_sleep_ms(HOLD_MS);
        }
        lease_passed = test_now_ns() >= of_lock_valid_until_ns(l);
        t0 = test_now_ns();
        rc = of_lock_release(l);
        t1 = test_now_ns();
        record(sc, w, OP_REL, rc, p0, atomic_load(&sh->phase), t1 - t0, STEP_BOUND_MS,
               lease_passed);
    }
    /* let the cleanups of unknown outcomes finish, then compare */
    int drained = drain(p, w);
    if (idx == 0 && !w->drained)
        drained = 0; /* the baseline's drain failed */
    w->drained = drained;
    ofi_redis_pool_stats ps;
    ofi_redis_pool_get_stats(&((ofi_redis_provider *)ofi_lock_provider_self(p))->pool, &ps);
    w->fallbacks = ps.eval_fallbacks;
    w->dropped = ps.dropped;
    w->pool_unknown = ps.unknown;
    if (idx == 0)
        measure(p, &w->fd1, &w->open1, &w->mem1);
    of_lock_provider_destroy(p);
    close(lfd);
    exit(0); /* exit, not _exit: the leak checker of a sanitizer build runs */
}

/* ---- controller ----------------------------------------------------------------------------- */

typedef struct run {
    const scenario *sc;
    test_redis srv;
    test_proxy proxy;
    redisContext *admin;
    shared *sh;
    pid_t pids[MAX_WORKERS];
    char lockfile[256];
    char fails[4096];
    size_t fails_len;
    int live; /* workers are running: a failure is recorded, the scenario still stops them */
} run;

static void failf(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[600];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int n = snprintf(r->fails + r->fails_len, sizeof r->fails - r->fails_len, "  - %s\n", line);
    if (n > 0 && r->fails_len + (size_t)n < sizeof r->fails)
        r->fails_len += (size_t)n;
}

/* A failure of the controller itself: at once before the workers run, else recorded. */
#define controller_fail(r, ...)                                                                   \
    do {                                                                                         \
        if ((r)->live)                                                                           \
            failf((r), __VA_ARGS__);                                                             \
        else                                                                                     \
            fail_msg(__VA_ARGS__);                                                               \
    } while (0)

static void admin(run *r, const char *fmt, ...)
{
    if (r->admin == NULL)
        r->admin = test_redis_admin(&r->srv);
    if (r->admin == NULL) {
        controller_fail(r, "%s: no admin connection", r->sc->name);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(r->admin, fmt, ap);
    va_end(ap);
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        char buf[200];
        snprintf(buf, sizeof buf, "%s", rep != NULL ? rep->str : r->admin->errstr);
        if (rep != NULL)
            freeReplyObject(rep);
        else { /* a broken connection: the next command gets a new one */
            redisFree(r->admin);
            r->admin = NULL;
        }
        controller_fail(r, "%s: admin '%s': %s", r->sc->name, fmt, buf);
        return;
    }
    freeReplyObject(rep);
}

static void proxy_cmd(run *r, const char *cmd)
{
    if (test_proxy_mode(&r->proxy, cmd) != 0)
        controller_fail(r, "%s: fault-proxy refused '%s'", r->sc->name, cmd);
}

static void fault_on(run *r)
{
    switch (r->sc->fault) {
    case F_LATENCY:
        proxy_cmd(r, "delay 800");
        break;
    case F_BLACKHOLE:
        proxy_cmd(r, "blackhole");
        break;
    case F_RESET:
        proxy_cmd(r, "reset 2");
        break;
    case F_TRUNCATE:
        proxy_cmd(r, "truncate 3");
        break;
    case F_OOM:
        admin(r, "CONFIG SET maxmemory 1");
        break;
    case F_PASSWORD:
        admin(r, "ACL SETUSER locker resetpass >" PW_NEW);
        admin(r, "CLIENT KILL USER locker");
        break;
    default:
        break;
    }
}

/* Work the fault until @p until_ns (the repeated ones). */
static void fault_during(run *r, int64_t until_ns)
{
    int period = 0;
    const char *cmd = NULL;
    switch (r->sc->fault) {
    case F_SCRIPT_FLUSH:
        period = 20, cmd = "SCRIPT FLUSH";
        break;
    case F_FLUSHALL:
        period = 100, cmd = "FLUSHALL";
        break;
    case F_CLIENT_KILL:
        period = 50, cmd = "CLIENT KILL TYPE normal";
        break;
    case F_DEBUG_SLEEP: {
        /* blocks this connection (and the server) for the fault's length */
        char cmdbuf[48];
        snprintf(cmdbuf, sizeof cmdbuf, "DEBUG SLEEP %.3f",
                 (double)(until_ns - test_now_ns()) / 1e9);
        admin(r, cmdbuf);
        return;
    }
    default:
        break;
    }
    while (test_now_ns() < until_ns) {
        if (cmd != NULL)
            admin(r, cmd);
        int64_t left = (until_ns - test_now_ns()) / NS_PER_MS;
        test_sleep_ms(cmd != NULL && left > period ? period : (left > 0 ? left : 0));
    }
}

static void fault_off(run *r)
{
    switch (r->sc->fault) {
    case F_LATENCY:
    case F_BLACKHOLE:
    case F_RESET:
    case F_TRUNCATE:
        proxy_cmd(r, "pass");
        break;
    case F_OOM:
        admin(r, "CONFIG SET maxmemory 0");
        break;
    case F_PASSWORD:
        admin(r, "ACL SETUSER locker resetpass >" PW_OLD);
        break;
    default:
        break;
    }
}

/* Lock keys of this scenario's prefix on the server. With @p no_expiry, count those without a
 * TTL instead. */
static int lock_keys(run *r, int *no_expiry)
{
    if (r->admin == NULL)
        r->admin = test_redis_admin(&r->srv);
    if (r->admin == NULL)
        fail_msg("%s: no admin connection", r->sc->name);
    int n = 0;
    *no_expiry = 0;
    char cursor[32] = "0";
    redisReply *sel = redisCommand(r->admin, "SELECT %d", r->sc->db);
    if (sel == NULL || sel->type != REDIS_REPLY_STATUS)
        fail_msg("%s: SELECT %d failed", r->sc->name, r->sc->db);
    freeReplyObject(sel);
    do {
        redisReply *rep = redisCommand(r->admin, "SCAN %s MATCH fs:*:lock COUNT 1000", cursor);
        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
            fail_msg("%s: SCAN failed", r->sc->name);
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            n++;
            redisReply *t = redisCommand(r->admin, "PTTL %b", keys->element[i]->str,
                                         (size_t)keys->element[i]->len);
            if (t != NULL && t->type == REDIS_REPLY_INTEGER && t->integer == -1)
                (*no_expiry)++;
            if (t != NULL)
                freeReplyObject(t);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

static void add_counts(const shared *sh, int window, int op, uint64_t out[NSTATUS])
{
    memset(out, 0, sizeof(uint64_t) * NSTATUS);
    for (int i = 0; i < sh->nworkers; i++)
        for (int s = 0; s < NSTATUS; s++)
            out[s] += sh->w[i].count[window][op][s];
}

static size_t fmt_counts(const uint64_t c[NSTATUS], char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int s = 0; s < NSTATUS; s++) {
        if (c[s] == 0)
            continue;
        const char *nm = of_status_name(-s);
        if (strncmp(nm, "OF_ERR_", 7) == 0)
            nm += 7;
        else if (strncmp(nm, "OF_", 3) == 0)
            nm += 3;
        int n = snprintf(buf + len, cap - len, "%s%s %llu", len ? ", " : "", nm,
                         (unsigned long long)c[s]);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    if (len == 0)
        snprintf(buf, cap, "-");
    return len;
}

static void run_scenario(const scenario *sc)
{
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->sc = sc;
    const char *args_debug[] = {"--enable-debug-command", "local", NULL};
    const char *args_oom[] = {"--maxmemory-policy", "noeviction", NULL};
    const char *const *extra = sc->fault == F_DEBUG_SLEEP ? args_debug
                               : sc->fault == F_OOM       ? args_oom
                                                          : NULL;
    if (test_redis_start(&r->srv, extra, NULL) != 0)
        fail_msg("%s: redis-server did not start", sc->name);
    int port = r->srv.port;
    if (sc->via_proxy) {
        if (proxy_prog == NULL || test_proxy_start(&r->proxy, proxy_prog, r->srv.port) != 0) {
            test_redis_stop(&r->srv);
            fail_msg("%s: fault-proxy did not start", sc->name);
        }
        port = r->proxy.port;
    }
    char url[512];
    const char *creds = "";
    if (sc->fault == F_PASSWORD) {
        admin(r, "ACL SETUSER locker on >" PW_OLD " ~* +@all");
        creds = "locker:" PW_OLD "@";
    }
    char db[16] = "";
    if (sc->db != 0)
        snprintf(db, sizeof db, "/%d", sc->db);
    snprintf(url, sizeof url,
             "redis://%s127.0.0.1:%d%s?prefix=fs:&connect_timeout_ms=%d&command_timeout_ms=%d",
             creds, port, db, CONNECT_TIMEOUT_MS, COMMAND_TIMEOUT_MS);
    snprintf(r->lockfile, sizeof r->lockfile, "%s/resource.lock", r->srv.dir);
    int fd = open(r->lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);

    r->sh = mmap(NULL, sizeof *r->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(r->sh != MAP_FAILED);
    memset(r->sh, 0, sizeof *r->sh);
    shared *sh = r->sh;
    sh->nworkers = prm.workers;
    sh->nnames = prm.names;
    atomic_store(&sh->phase, PH_WARM);

    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < prm.workers; i++) {
        pid_t pid = fork();
        if (pid < 0)
            fail_msg("fork: %s", strerror(errno));
        if (pid == 0) {
            /* a worker never outlives the test process */
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
                _exit(1);
            if (r->admin != NULL) /* the parent's connection is not ours */
                close(r->admin->fd);
            worker_main(i, sc, sh, url, r->lockfile);
        }
        r->pids[i] = pid;
    }
    r->live = 1;

    /* warm, pre-fault, pre-settle (baseline), fault, settle, after */
    test_sleep_ms(prm.warm_ms);
    atomic_store(&sh->phase, PH_PREFAULT);
    int64_t pre_start = test_now_ns();
    fault_on(r);
    fault_during(r, pre_start + (int64_t)prm.pre_fault_ms * NS_PER_MS);
    fault_off(r);
    int64_t pre_end = test_now_ns();
    atomic_store(&sh->phase, PH_PRESETTLE);
    for (;;) {
        int all = 1;
        for (int i = 0; i < prm.workers; i++)
            all &= sh->w[i].pre_recovered_ns != 0;
        if (all || test_now_ns() > pre_end + (RECOVERY_BOUND_MS + 500) * NS_PER_MS)
            break;
        test_sleep_ms(10);
    }
    for (int i = 0; i < prm.workers; i++)
        if (sh->w[i].pre_recovered_ns == 0)
            failf(r, "worker %d: no write accepted within %d ms after the pre-fault", i,
                  RECOVERY_BOUND_MS);
    atomic_store(&sh->want_baseline, 1);
    int64_t baseline_until = test_now_ns() + (ACQ_BOUND_MS + DRAIN_BOUND_MS + 1000) * NS_PER_MS;
    while (!atomic_load(&sh->baseline_done) && test_now_ns() < baseline_until)
        test_sleep_ms(5);
    if (!atomic_load(&sh->baseline_done))
        failf(r, "worker 0 took no baseline after the pre-fault");
    atomic_store(&sh->phase, PH_FAULT);
    int64_t fault_start = test_now_ns();
    fault_on(r);
    fault_during(r, fault_start + (int64_t)prm.fault_ms * NS_PER_MS);
    fault_off(r);
    int64_t fault_end = test_now_ns();
    sh->fault_end_ns = fault_end;
    atomic_store(&sh->phase, PH_SETTLE);
    int64_t settle_until = fault_end + (RECOVERY_BOUND_MS + 500) * NS_PER_MS;
    for (;;) {
        int all = 1;
        for (int i = 0; i < prm.workers; i++)
            all &= sh->w[i].recovered_ns != 0;
        if (all || test_now_ns() > settle_until)
            break;
        test_sleep_ms(10);
    }
    atomic_store(&sh->phase, PH_AFTER);
    test_sleep_ms(prm.after_ms);
    atomic_store(&sh->phase, PH_STOP);

    /* workers end within a call, their drain and destroy */
    int64_t wait_until = test_now_ns() + (ACQ_BOUND_MS + DRAIN_BOUND_MS + 3000) * NS_PER_MS;
    for (int i = 0; i < prm.workers; i++) {
        int status = 0;
        for (;;) {
            pid_t w = waitpid(r->pids[i], &status, WNOHANG);
            if (w == r->pids[i])
                break;
            if (test_now_ns() > wait_until) {
                kill(r->pids[i], SIGKILL);
                waitpid(r->pids[i], &status, 0);
                failf(r, "worker %d did not end in time (killed)", i);
                break;
            }
            test_sleep_ms(10);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failf(r, "worker %d ended with status 0x%x%s", i, status,
                  sh->w[i].setup_failed ? " (setup failed)" : "");
        if (sh->w[i].setup_failed == 2)
            failf(r, "worker %d was never told to stop", i);
    }
    int64_t stopped = test_now_ns();
    r->live = 0;

    /* orphans: every lock key expires, and they are gone after the TTL */
    int no_expiry = 0;
    int keys_at_stop = lock_keys(r, &no_expiry);
    if (no_expiry > 0)
        failf(r, "%d lock keys without an expiry", no_expiry);
    int orphans = keys_at_stop;
    while (orphans > 0 && test_now_ns() < stopped + (TTL_MS + 1000) * NS_PER_MS) {
        test_sleep_ms(50);
        orphans = lock_keys(r, &no_expiry);
    }
    int64_t orphan_wait_ms = (test_now_ns() - stopped) / NS_PER_MS;
    if (orphans > 0)
        failf(r, "%d lock keys left %lld ms after the workers ended (TTL %u ms)", orphans,
              (long long)orphan_wait_ms, TTL_MS);

    /* the checks */
    uint64_t c[2][OP_N][NSTATUS];
    for (int win = 0; win < 2; win++)
        for (int op = 0; op < OP_N; op++)
            add_counts(sh, win, op, c[win][op]);
    int64_t max_ms[OP_N] = {0, 0, 0};
    uint64_t leaks = 0, detail_bad = 0, fallbacks = 0, dropped = 0,
             cq = 0, cq_done = 0, cq_drop = 0;
    int64_t recovery_ms = 0;
    for (int i = 0; i < prm.workers; i++) {
        wstats *w = &sh->w[i];
        for (int op = 0; op < OP_N; op++)
            if (w->max_ns[op] / NS_PER_MS > max_ms[op])
                max_ms[op] = w->max_ns[op] / NS_PER_MS;
        leaks += w->secret_leaks;
        detail_bad += w->detail_bad;
        fallbacks += w->fallbacks;
        dropped += w->dropped;
        cq += w->cq_queued;
        cq_done += w->cq_done;
        cq_drop += w->cq_dropped;
        if (w->over_bound)
            failf(r, "worker %d: %llu calls past their bound, first: %s", i,
                  (unsigned long long)w->over_bound, w->first_over);
        if (w->unexpected)
            failf(r, "worker %d: %llu undocumented statuses, first: %s", i,
                  (unsigned long long)w->unexpected, w->first_unexpected);
        if (w->recovered_ns == 0) {
            failf(r, "worker %d: no write accepted within %d ms after the fault ended", i,
                  RECOVERY_BOUND_MS);
            recovery_ms = -1;
        } else if (recovery_ms >= 0) {
            int64_t ms = (w->recovered_ns - fault_end) / NS_PER_MS;
            if (ms > recovery_ms)
                recovery_ms = ms;
            if (ms > RECOVERY_BOUND_MS)
                failf(r, "worker %d: recovered after %lld ms (bound %d ms)", i, (long long)ms,
                      RECOVERY_BOUND_MS);
        }
        if (!w->drained)
            failf(r, "worker %d: cleanup queue not drained %d ms after the end (%llu queued, "
                  "%llu done, %llu dropped)", i, DRAIN_BOUND_MS,
                  (unsigned long long)w->cq_queued, (unsigned long long)w->cq_done,
                  (unsigned long long)w->cq_dropped);
    }
    if (c[0][OP_ACQ][0] == 0)
        failf(r, "no acquisition succeeded outside the fault");
    if (leaks)
        failf(r, "%llu error details hold the password", (unsigned long long)leaks);
    if (sh->violations || sh->dup_fences)
        failf(r, "%llu fence violations, %llu shared fences: %s",
              (unsigned long long)sh->violations, (unsigned long long)sh->dup_fences,
              sh->first_violation);
    if (sc->need_ops) {
        uint64_t seen = 0;
        for (int op = 0; op < OP_N; op++)
            if (sc->need_ops & (1u << op))
                seen += c[1][op][st_index(sc->need_status)];
        if (seen == 0)
            failf(r, "the documented %s was never seen during the fault",
                  of_status_name(sc->need_status));
        seen = 0;
        for (int op = 0; op < OP_N; op++)
            if (sc->need_ops & (1u << op))
                seen += c[1][op][st_index(sc->need_status2)];
        if (sc->need_status2 != OF_OK && seen == 0)
            failf(r, "the documented %s was never seen during the fault",
                  of_status_name(sc->need_status2));
        if (detail_bad)
            failf(r, "%llu %s details without '%s'", (unsigned long long)detail_bad,
                  of_status_name(sc->need_status), sc->need_detail);
    }
    if (sc->need_fallbacks && fallbacks == 0)
        failf(r, "no EVAL fallback after NOSCRIPT was counted");
    if (sc->need_dropped && dropped == 0)
        failf(r, "no connection closed by the server was replaced");
    wstats *w0 = &sh->w[0];
    int fd_growth = (w0->fd1 - w0->open1) - (w0->fd0 - w0->open0);
    long long mem_growth = w0->mem1 - w0->mem0;
    if (fd_growth != 0 || w0->open1 > 2)
        failf(r, "worker 0: fds %d -> %d with %d -> %d pooled connections", w0->fd0, w0->fd1,
              w0->open0, w0->open1);
    if (mem_growth > MEM_SLACK)
        failf(r, "worker 0: malloc'd bytes grew by %lld (%lld -> %lld)", mem_growth, w0->mem0,
              w0->mem1);

#if defined(__SANITIZE_ADDRESS__)
#define MEM_CHECKED 0 /* mallinfo2 does not see the sanitizer's heap: its leak checker runs */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_CHECKED 0
#endif
#endif
#ifndef MEM_CHECKED
#define MEM_CHECKED 1
#endif
    char memtxt[48];
    if (MEM_CHECKED)
        snprintf(memtxt, sizeof memtxt, "mem %+lld B", mem_growth);
    else
        snprintf(memtxt, sizeof memtxt, "mem n/a (ASan: leak check at exit)");

    /* the row */
    char acq[160], ext[160], rel[160];
    fmt_counts(c[1][OP_ACQ], acq, sizeof acq);
    fmt_counts(c[1][OP_EXT], ext, sizeof ext);
    fmt_counts(c[1][OP_REL], rel, sizeof rel);
    uint64_t clean_ops = 0;
    for (int op = 0; op < OP_N; op++)
        for (int s = 0; s < NSTATUS; s++)
            clean_ops += c[0][op][s];
    char rec[32];
    if (recovery_ms < 0)
        snprintf(rec, sizeof rec, "none");
    else
        snprintf(rec, sizeof rec, "%lld ms", (long long)recovery_ms);
    const char *verdict = r->fails_len == 0 ? "pass" : sc->known_defect ? "KNOWN DEFECT" : "FAIL";
    if (nrows < MAX_ROWS)
        snprintf(rows[nrows++], sizeof rows[0],
                 "| %s | acq: %s; ext: %s; rel: %s | %lld / %lld / %lld ms (bounds %d / %d) | "
                 "%llu (+%llu refused after a wipe) | %d at stop, %d after %lld ms | %s | %llu "
                 "queued, %llu done, %llu dropped | fd %+d, %s | %s |",
                 sc->name, acq, ext, rel, (long long)max_ms[OP_ACQ], (long long)max_ms[OP_EXT],
                 (long long)max_ms[OP_REL], ACQ_BOUND_MS, STEP_BOUND_MS,
                 (unsigned long long)(sh->violations + sh->dup_fences),
                 (unsigned long long)sh->refused_wiped, keys_at_stop, orphans,
                 (long long)orphan_wait_ms, rec, (unsigned long long)cq,
                 (unsigned long long)cq_done, (unsigned long long)cq_drop, fd_growth, memtxt,
                 verdict);
    print_message("# %s: fault window: acquire {%s} extend {%s} release {%s}; %llu calls "
                  "outside it; writes accepted %llu; max %lld/%lld/%lld ms; recovery %s; "
                  "fallbacks %llu, dropped %llu\n",
                  sc->name, acq, ext, rel, (unsigned long long)clean_ops,
                  (unsigned long long)sh->accepted, (long long)max_ms[OP_ACQ],
                  (long long)max_ms[OP_EXT], (long long)max_ms[OP_REL], rec,
                  (unsigned long long)fallbacks, (unsigned long long)dropped);

    if (r->admin != NULL)
        redisFree(r->admin);
    if (sc->via_proxy)
        test_proxy_stop(&r->proxy);
    test_redis_stop(&r->srv);
    munmap(r->sh, sizeof *r->sh);
    char fails[sizeof r->fails];
    memcpy(fails, r->fails, sizeof fails);
    size_t fails_len = r->fails_len;
    free(r);
    if (fails_len > 0) {
        if (sc->known_defect != NULL && !strict_known) {
            print_message("# KNOWN DEFECT (%s): %s\n# reported, not failed:\n%s", sc->name,
                          sc->known_defect, fails);
            return;
        }
        fail_msg("%s:\n%s", sc->name, fails);
    }
    if (sc->known_defect != NULL)
        print_message("# %s: the known defect did not show this run (%s)\n", sc->name,
                      sc->known_defect);
}

/* ---- scenarios ------------------------------------------------------------------------------ */

/* A request may have been sent without a reply (UNKNOWN), or nothing sent (UNAVAILABLE); an
 * extend that failed so marks the handle lost, and a release on it is LOST. */
#define NET_ACQ (BIT(OF_ERR_UNKNOWN) | BIT(OF_ERR_UNAVAILABLE))
#define NET_EXT (BIT(OF_ERR_UNKNOWN) | BIT(OF_ERR_UNAVAILABLE))
#define NET_REL (BIT(OF_ERR_UNKNOWN) | BIT(OF_ERR_UNAVAILABLE) | BIT(OF_ERR_LOST))

static const scenario scenarios[] = {
    {.name = "latency", .fault = F_LATENCY, .via_proxy = 1,
     .extra = {NET_ACQ, NET_EXT, NET_REL},
     .need_ops = 1u << OP_ACQ, .need_status = OF_ERR_UNKNOWN},
    {.name = "blackhole", .fault = F_BLACKHOLE, .via_proxy = 1,
     .extra = {NET_ACQ, NET_EXT, NET_REL},
     .need_ops = 1u << OP_ACQ, .need_status = OF_ERR_UNKNOWN},
    {.name = "reset", .fault = F_RESET, .via_proxy = 1,
     .extra = {NET_ACQ, NET_EXT, NET_REL},
     .need_ops = 1u << OP_ACQ, .need_status = OF_ERR_UNKNOWN},
    /* with a SELECT on every new connection: a cut answer to it (nothing of the lock step was
     * sent) is UNAVAILABLE, a cut reply to the lock command UNKNOWN */
    {.name = "truncate", .fault = F_TRUNCATE, .via_proxy = 1, .db = 1,
     .extra = {NET_ACQ, NET_EXT, NET_REL},
     .need_ops = (1u << OP_ACQ) | (1u << OP_EXT) | (1u << OP_REL),
     .need_status = OF_ERR_UNKNOWN, .need_status2 = OF_ERR_UNAVAILABLE},
    /* NOSCRIPT is answered by EVAL: no call fails for it */
    {.name = "script-flush", .fault = F_SCRIPT_FLUSH,
     .need_ops = 1u << OP_ACQ, .need_status = OF_OK, .need_fallbacks = 1},
    /* a wiped lease: extend and release answer NOT_OWNER (release LOST after such an extend) */
    {.name = "flushall", .fault = F_FLUSHALL,
     .extra = {0, BIT(OF_ERR_NOT_OWNER), BIT(OF_ERR_NOT_OWNER) | BIT(OF_ERR_LOST)},
     .need_ops = (1u << OP_EXT) | (1u << OP_REL), .need_status = OF_ERR_NOT_OWNER, .wipes = 1},
    /* idle connections the server closed are replaced before sending; one killed while a
     * command is in flight is UNKNOWN */
    {.name = "client-kill", .fault = F_CLIENT_KILL,
     .extra = {NET_ACQ, NET_EXT, NET_REL},
     .need_ops = 1u << OP_ACQ, .need_status = OF_OK, .need_dropped = 1},
    /* an error reply: PROTOCOL with its text; release (DEL) and extend (PEXPIRE) still run */
    {.name = "oom", .fault = F_OOM,
     .extra = {BIT(OF_ERR_PROTOCOL), 0, 0},
     .need_ops = 1u << OP_ACQ, .need_status = OF_ERR_PROTOCOL, .need_detail = "OOM"},
    /* the connections are killed, and reconnects are refused: AUTH (then UNAVAILABLE while the
     * reconnect backoff runs); a call on a killed connection in flight is UNKNOWN */
    {.name = "password", .fault = F_PASSWORD,
     .extra = {NET_ACQ | BIT(OF_ERR_AUTH), NET_EXT | BIT(OF_ERR_AUTH),
               NET_REL | BIT(OF_ERR_AUTH)},
     .need_ops = 1u << OP_ACQ, .need_status = OF_ERR_AUTH, .need_detail = "AUTH"},
    /* a stalled server: UNKNOWN after the command timeout, never TIMEOUT and never a hang */
    {.name = "debug-sleep", .fault = F_DEBUG_SLEEP,
     .extra = {NET_ACQ, NET_EXT, NET_REL},
     .need_ops = 1u << OP_ACQ, .need_status = OF_ERR_UNKNOWN},
};

#define SCENARIO_TEST(fn, idx)                                                                    \
    static void fn(void **state)                                                                 \
    {                                                                                            \
        (void)state;                                                                             \
        run_scenario(&scenarios[idx]);                                                           \
    }
SCENARIO_TEST(latency_above_the_command_timeout, 0)
SCENARIO_TEST(blackhole, 1)
SCENARIO_TEST(rst_mid_reply, 2)
SCENARIO_TEST(truncated_reply, 3)
SCENARIO_TEST(script_flush, 4)
SCENARIO_TEST(flushall, 5)
SCENARIO_TEST(client_kill, 6)
SCENARIO_TEST(oom_error_replies, 7)
SCENARIO_TEST(password_change, 8)
SCENARIO_TEST(debug_sleep, 9)

static int group_teardown(void **state)
{
    (void)state;
    printf("# scenario | statuses in the fault window (calls overlapping fault or settle) | max "
           "call acquire / extend / release vs bound | violations | lock keys left | recovery | "
           "cleanups | worker 0 growth | verdict\n");
    for (int i = 0; i < nrows; i++)
        printf("# %s\n", rows[i]);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    proxy_prog = argc > 1 ? argv[1] : NULL;
    const char *mode = argc > 2 ? argv[2] : "quick";
    if (strcmp(mode, "slow") == 0) {
        prm = (params){5, 3, 1000, 1500, 4000, 1500};
    } else if (strcmp(mode, "quick") != 0) {
        fprintf(stderr, "usage: %s FAULT_PROXY [quick|slow]\n", argv[0]);
        return 2;
    }
    const char *strict = getenv("OF_FAULTS_STRICT");
    strict_known = strict != NULL && strcmp(strict, "1") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(latency_above_the_command_timeout),
        cmocka_unit_test(blackhole),
        cmocka_unit_test(rst_mid_reply),
        cmocka_unit_test(truncated_reply),
        cmocka_unit_test(script_flush),
        cmocka_unit_test(flushall),
        cmocka_unit_test(client_kill),
        cmocka_unit_test(oom_error_replies),
        cmocka_unit_test(password_change),
        cmocka_unit_test(debug_sleep),
    };
    return cmocka_run_group_tests_name("lock-redis/faults-scenarios", tests, NULL,
                                       group_teardown);
}
