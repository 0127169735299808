/* Ring metrics: the of_ring_stats figures after adds, removes, weight changes and pins (native
 * and ketama), the moved share against of_ring_diff() exactly and against a count of sampled
 * keys, shares against of_ring_ownership(), struct_size rules, the exposition (sized, complete,
 * bad arguments refused, a write callback's stop), and reads while a writer changes membership.
 * With `--dump prometheus|json` it prints the exposition of a ring that went through changes, for
 * the promtool and JSON checks (check-metrics.sh). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <openfault/openfault.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static uint32_t ring_flags; /* options flags of the next make_ring() (unweighted ketama) */

static of_ring *make_ring(uint32_t algorithm, uint32_t vnodes)
{
    of_ring_options o;
    of_ring_options_init(&o, sizeof o);
    o.algorithm = algorithm;
    o.flags = ring_flags;
    if (algorithm == OF_RING_NATIVE)
        o.vnodes = vnodes;
    of_ring *r = NULL;
    assert_int_equal(of_ring_create(&o, &r), OF_OK);
    return r;
}

static void add(of_ring *r, const char *id, uint32_t weight)
{
    assert_int_equal(of_ring_add(r, id, strlen(id), weight, 0), OF_OK);
}

static of_ring_stats stats(const of_ring *r)
{
    of_ring_stats s;
    memset(&s, 0xa5, sizeof s);
    s.struct_size = sizeof s;
    assert_int_equal(of_ring_get_stats(r, &s), OF_OK);
    return s;
}

static void server_id(char *buf, size_t cap, uint32_t algorithm, int i)
{
    if (algorithm == OF_RING_KETAMA)
        snprintf(buf, cap, "10.0.%d.%d:11211", i / 200, i % 200 + 1);
    else
        snprintf(buf, cap, "node-%d", i);
}

/* The moved share by of_ring_diff(): the exact sum of the changed ranges. */
typedef struct sum2 {
    uint64_t hi, lo;
} sum2;

static int sum_range(void *ctx, const of_ring_range *r)
{
    sum2 *s = ctx;
    uint64_t v = r->last - r->first;
    s->lo += v;
    s->hi += s->lo < v;
    s->lo += 1;
    s->hi += s->lo == 0;
    return 0;
}

static double diff_share(const of_ring_view *a, const of_ring_view *b, int bits)
{
    sum2 s = {0, 0};
    assert_int_equal(of_ring_diff(a, b, sum_range, NULL, &s), OF_OK);
    double v = ldexp((double)s.hi, 64 - bits) + ldexp((double)s.lo, -bits);
    return v > 1 ? 1 : v;
}

/* The share of @p n sampled keys whose owner differs between the views. */
static double sampled_share(const of_ring_view *a, const of_ring_view *b, int n)
{
    int moved = 0;
    for (int i = 0; i < n; i++) {
        char key[32];
        int len = snprintf(key, sizeof key, "key-%d", i);
        char ia[128], ib[128];
        size_t la = 0, lb = 0;
        int ra = of_ring_view_lookup(a, key, (size_t)len, NULL, ia, sizeof ia, &la);
        int rb = of_ring_view_lookup(b, key, (size_t)len, NULL, ib, sizeof ib, &lb);
        if (ra != rb || (ra == OF_OK && (la != lb || memcmp(ia, ib, la) != 0)))
            moved++;
    }
    return (double)moved / n;
}

/* How far a native ring's shares may be from the exact ones: the compact layout keeps 32 + b
 * bits of each point, and shares are summed from those (metrics.c: under 2^-29 per node). Ketama
 * rings keep every bit of their 32-bit points: exact up to rounding. */
#define COMPACT_SHARE_TOL 0x1p-29

static double share_tol(uint32_t algorithm, double exact)
{
    return algorithm == OF_RING_KETAMA ? 1e-15 * (exact > 1e-3 ? exact : 1e-3) : COMPACT_SHARE_TOL;
}

/* One change checked three ways: the stats' moved share equals the diff's (exactly, up to the
 * last bit of rounding, or within COMPACT_SHARE_TOL), agrees with the sampled keys within 6 standard deviations (the keys are
 * fixed, so the outcome is too), and the counters and generation moved. */
typedef enum { CH_ADD, CH_REMOVE, CH_WEIGHT } change_kind;

static void check_change(of_ring *r, change_kind kind, const char *id, uint32_t weight)
{
    of_ring_stats before = stats(r);
    of_ring_view *a = NULL, *b = NULL;
    assert_int_equal(of_ring_view_take(r, &a), OF_OK);
    if (kind == CH_ADD)
        add(r, id, weight);
    else if (kind == CH_REMOVE)
        assert_int_equal(of_ring_remove(r, id, strlen(id)), OF_OK);
    else
        assert_int_equal(of_ring_set_weight(r, id, strlen(id), weight), OF_OK);
    assert_int_equal(of_ring_view_take(r, &b), OF_OK);
    of_ring_stats after = stats(r);
    int bits = after.algorithm == OF_RING_KETAMA ? 32 : 64;
    double exact = diff_share(a, b, bits);
    assert_true(fabs(after.last_moved_share - exact) <= share_tol(after.algorithm, exact));
    const int n = 40000;
    double p = exact, got = sampled_share(a, b, n);
    double sd = sqrt((p * (1 - p) + 1e-6) / n);
    if (fabs(got - p) > 6 * sd + 1e-4)
        fail_msg("moved share %.6f, sampled %.6f (sd %.6f)", p, got, sd);
    assert_int_equal(after.generation, before.generation + 1);
    assert_int_equal(after.last_change_generation, after.generation);
    assert_int_equal(after.nodes_added, before.nodes_added + (kind == CH_ADD));
    assert_int_equal(after.nodes_removed, before.nodes_removed + (kind == CH_REMOVE));
    assert_int_equal(after.weight_changes, before.weight_changes + (kind == CH_WEIGHT));
    of_ring_view_release(a);
    of_ring_view_release(b);
}

/* busiest_share is the largest of_ring_ownership(); busiest_ratio its ratio to the weight share
 * where weights are equal; points min/max as configured. */
typedef struct own_ctx {
    const of_ring *r;
    double max_share, max_ratio, total_weight;
} own_ctx;

static int sum_weight(void *vctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    (void)id, (void)id_len, (void)tag;
    ((own_ctx *)vctx)->total_weight += weight && !ring_flags ? weight : 1;
    return 0;
}

static int max_own(void *vctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    (void)tag;
    own_ctx *c = vctx;
    double share = 0;
    assert_int_equal(of_ring_ownership(c->r, id, id_len, &share), OF_OK);
    if (share > c->max_share)
        c->max_share = share;
    double ratio = share / ((weight && !ring_flags ? weight : 1) / c->total_weight);
    if (ratio > c->max_ratio)
        c->max_ratio = ratio;
    return 0;
}

static void check_balance(const of_ring *r)
{
    own_ctx c = {r, 0, 0, 0};
    assert_int_equal(of_ring_foreach(r, sum_weight, &c), OF_OK);
    assert_int_equal(of_ring_foreach(r, max_own, &c), OF_OK);
    of_ring_stats s = stats(r);
    double tol = share_tol(s.algorithm, c.max_share);
    assert_true(fabs(s.busiest_share - c.max_share) <= tol);
    /* ratio = share / fair share, and no fair share here is below 1 / (8 * nodes) */
    assert_true(fabs(s.busiest_ratio - c.max_ratio) <=
                1e-12 * c.max_ratio + tol * 8.0 * (double)s.nodes);
    assert_true(fabs(s.mean_share - 1.0 / (double)s.nodes) <= 1e-15);
}

/* ---- figures -------------------------------------------------------------------------------- */

static void ring_stats_empty_ring(void **state)
{
    (void)state;
    of_ring *r = make_ring(OF_RING_NATIVE, 64);
    of_ring_stats s = stats(r);
    assert_int_equal(s.struct_size, sizeof s);
    assert_int_equal(s.algorithm, OF_RING_NATIVE);
    assert_int_equal(s.nodes, 0);
    assert_int_equal(s.points, 0);
    assert_int_equal(s.node_points_min, 0);
    assert_int_equal(s.node_points_max, 0);
    assert_int_equal(s.generation, 0);
    assert_int_equal(s.nodes_added + s.nodes_removed + s.weight_changes, 0);
    assert_int_equal(s.last_change_generation, 0);
    assert_true(s.busiest_share == 0 && s.mean_share == 0 && s.busiest_ratio == 0);
    assert_true(s.last_moved_share == 0);
    assert_int_equal(s.fingerprint, of_ring_fingerprint(r));
    assert_int_equal(s.memory_bytes, of_ring_memory_usage(r));
    /* The first node takes the whole space from nobody: everything moved. */
    add(r, "a", 1);
    s = stats(r);
    assert_true(s.last_moved_share == 1.0);
    assert_true(s.busiest_share == 1.0 && s.mean_share == 1.0 && s.busiest_ratio == 1.0);
    assert_int_equal(s.node_points_min, 64);
    assert_int_equal(s.node_points_max, 64);
    /* Removing the last node takes it all back. */
    assert_int_equal(of_ring_remove(r, "a", 1), OF_OK);
    s = stats(r);
    assert_true(s.last_moved_share == 1.0);
    assert_int_equal(s.nodes, 0);
    assert_int_equal(s.nodes_removed, 1);
    of_ring_destroy(r);
}

static void changes_on(uint32_t algorithm)
{
    of_ring *r = make_ring(algorithm, 160);
    char id[64];
    for (int i = 0; i < 20; i++) {
        server_id(id, sizeof id, algorithm, i);
        add(r, id, 1 + (uint32_t)(i % 3));
    }
    check_balance(r);
    of_ring_stats s = stats(r);
    assert_int_equal(s.nodes, 20);
    assert_int_equal(s.nodes_added, 20);
    if (algorithm == OF_RING_NATIVE) {
        assert_int_equal(s.points, 160 * (7 * 1 + 7 * 2 + 6 * 3));
        assert_int_equal(s.node_points_min, 160);
        assert_int_equal(s.node_points_max, 480);
    }
    server_id(id, sizeof id, algorithm, 20);
    check_change(r, CH_ADD, id, 2);
    server_id(id, sizeof id, algorithm, 3);
    check_change(r, CH_REMOVE, id, 0);
    server_id(id, sizeof id, algorithm, 5);
    check_change(r, CH_WEIGHT, id, 7);  /* up */
    check_change(r, CH_WEIGHT, id, 1);  /* down */
    check_change(r, CH_WEIGHT, id, 1);  /* same weight: nothing moves, still counted */
    assert_true(stats(r).last_moved_share == 0);
    check_balance(r);
    s = stats(r);
    assert_int_equal(s.nodes_added, 21);
    assert_int_equal(s.nodes_removed, 1);
    assert_int_equal(s.weight_changes, 3);
    assert_int_equal(s.nodes, 20);
    assert_int_equal(s.fingerprint, of_ring_fingerprint(r));
    assert_int_equal(s.generation, of_ring_generation(r));
    assert_int_equal(s.memory_bytes, of_ring_memory_usage(r));
    of_ring_destroy(r);
}

static void ring_stats_native_changes(void **state)
{
    (void)state;
    changes_on(OF_RING_NATIVE);
}

static void ring_stats_ketama_changes(void **state)
{
    (void)state;
    changes_on(OF_RING_KETAMA);
}

/* add_many counts each node and its moved share is that of the whole batch; a failed change
 * changes no figure; pins move the generation but are not membership changes. */
/* Unweighted ketama: weights do not place, so the fair share is 1/N whatever they are; the
 * moved share comes from the diff walk as in weighted ketama. */
static void ring_stats_ketama_unweighted_changes(void **state)
{
    (void)state;
    ring_flags = OF_RING_KETAMA_UNWEIGHTED;
    changes_on(OF_RING_KETAMA);
    of_ring *r = make_ring(OF_RING_KETAMA, 0);
    add(r, "10.0.0.1", 1);
    add(r, "10.0.0.2", 9);
    of_ring_stats s = stats(r);
    assert_true(fabs(s.busiest_ratio - s.busiest_share / s.mean_share) <= 1e-12);
    assert_int_equal(s.node_points_min, s.node_points_max);
    char buf[8192];
    assert_int_equal(of_ring_metrics(r, OF_METRICS_PROMETHEUS, "", NULL, buf, sizeof buf, NULL),
                     OF_OK);
    assert_non_null(strstr(buf, "ring_info{algorithm=\"ketama_unweighted\","));
    of_ring_destroy(r);
    ring_flags = 0;
}

static void ring_stats_batch_pins_failures(void **state)
{
    (void)state;
    of_ring *r = make_ring(OF_RING_NATIVE, 128);
    add(r, "a", 1);
    add(r, "b", 1);
    of_ring_view *v0 = NULL, *v1 = NULL;
    assert_int_equal(of_ring_view_take(r, &v0), OF_OK);
    of_ring_node_spec specs[3] = {{"c", 1, 1, 0}, {"d", 1, 2, 0}, {"e", 1, 3, 0}};
    assert_int_equal(of_ring_add_many(r, specs, 3), OF_OK);
    assert_int_equal(of_ring_view_take(r, &v1), OF_OK);
    of_ring_stats s = stats(r);
    assert_int_equal(s.nodes_added, 5);
    double exact = diff_share(v0, v1, 64);
    assert_true(fabs(s.last_moved_share - exact) <= COMPACT_SHARE_TOL);
    assert_true(exact > 0.5 && exact < 1);
    of_ring_view_release(v0);
    of_ring_view_release(v1);

    /* Failures: a present node, an absent node; nothing moves. */
    assert_int_equal(of_ring_add(r, "a", 1, 1, 0), OF_ERR_EXISTS);
    assert_int_equal(of_ring_remove(r, "zz", 2), OF_ERR_NOT_FOUND);
    assert_int_equal(of_ring_set_weight(r, "zz", 2, 3), OF_ERR_NOT_FOUND);
    of_ring_stats t = stats(r);
    assert_memory_equal(&s, &t, sizeof s);

    assert_int_equal(of_ring_pin(r, "k", 1, "a", 1), OF_OK);
    t = stats(r);
    assert_int_equal(t.pins, 1);
    assert_int_equal(t.generation, s.generation + 1);
    assert_int_equal(t.last_change_generation, s.last_change_generation);
    assert_true(t.last_moved_share == s.last_moved_share);
    assert_int_equal(t.nodes_added, s.nodes_added);
    /* Removing the pinned node drops the pin. */
    check_change(r, CH_REMOVE, "a", 0);
    assert_int_equal(stats(r).pins, 0);
    of_ring_destroy(r);
}

/* A large node in a small ring (the scan, not the point search) and equal weights: ratio is
 * busiest over mean. */
static void ring_stats_large_node(void **state)
{
    (void)state;
    of_ring *r = make_ring(OF_RING_NATIVE, 32);
    add(r, "a", 1);
    check_change(r, CH_ADD, "big", 100);
    check_change(r, CH_WEIGHT, "big", 3);
    check_change(r, CH_REMOVE, "big", 0);
    add(r, "b", 1);
    add(r, "c", 1);
    of_ring_stats s = stats(r);
    assert_true(fabs(s.busiest_ratio - s.busiest_share / s.mean_share) <= 1e-12);
    of_ring_destroy(r);
}

static void ring_stats_struct_size(void **state)
{
    (void)state;
    of_ring *r = make_ring(OF_RING_NATIVE, 16);
    add(r, "a", 1);
    assert_int_equal(of_ring_stats_size(), sizeof(of_ring_stats));
    /* The first version: members past it are not written. */
    size_t v1 = offsetof(of_ring_stats, last_moved_share) + sizeof(double);
    unsigned char raw[sizeof(of_ring_stats) + 16];
    memset(raw, 0x5a, sizeof raw);
    of_ring_stats *s = (of_ring_stats *)(void *)raw;
    s->struct_size = (uint32_t)v1;
    assert_int_equal(of_ring_get_stats(r, s), OF_OK);
    assert_int_equal(s->nodes, 1);
    for (size_t i = v1; i < sizeof raw; i++)
        assert_int_equal(raw[i], 0x5a);
    /* Too small, too large: OF_ERR_ABI and nothing written. */
    memset(raw, 0x5a, sizeof raw);
    s->struct_size = (uint32_t)v1 - 1;
    assert_int_equal(of_ring_get_stats(r, s), OF_ERR_ABI);
    s->struct_size = (uint32_t)sizeof(of_ring_stats) + 8;
    assert_int_equal(of_ring_get_stats(r, s), OF_ERR_ABI);
    for (size_t i = sizeof s->struct_size; i < sizeof raw; i++)
        assert_int_equal(raw[i], 0x5a);
    assert_int_equal(of_ring_get_stats(NULL, s), OF_ERR_INVALID);
    assert_int_equal(of_ring_get_stats(r, NULL), OF_ERR_INVALID);
    of_ring_destroy(r);
}

/* ---- exposition ----------------------------------------------------------------------------- */

static of_ring *driven_ring(void)
{
    of_ring *r = make_ring(OF_RING_NATIVE, 256);
    char id[32];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "node-%d", i);
        add(r, id, 1);
    }
    assert_int_equal(of_ring_remove(r, "node-3", 6), OF_OK);
    assert_int_equal(of_ring_set_weight(r, "node-4", 6, 2), OF_OK);
    assert_int_equal(of_ring_pin(r, "hot", 3, "node-5", 6), OF_OK);
    return r;
}

static const char *const dump_labels[] = {"service", "x \"q\"\\\n", NULL};

static char *metrics(const of_ring *r, int format, const char *prefix, const char *const *labels)
{
    size_t len = 0;
    assert_int_equal(of_ring_metrics(r, format, prefix, labels, NULL, 0, &len), OF_ERR_NOSPACE);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    size_t got = 0;
    assert_int_equal(of_ring_metrics(r, format, prefix, labels, buf, len + 1, &got), OF_OK);
    assert_int_equal(got, len);
    assert_int_equal(strlen(buf), len);
    /* One byte short: NOSPACE, the same length. */
    char *small = malloc(len);
    assert_non_null(small);
    got = 0;
    assert_int_equal(of_ring_metrics(r, format, prefix, labels, small, len, &got),
                     OF_ERR_NOSPACE);
    assert_int_equal(got, len);
    free(small);
    return buf;
}

typedef struct collect {
    char buf[65536];
    size_t len;
    int calls, stop_after;
} collect;

static int collect_fn(void *vctx, const char *data, size_t len)
{
    collect *c = vctx;
    if (c->stop_after && ++c->calls >= c->stop_after)
        return OF_ERR_TIMEOUT;
    assert_true(c->len + len < sizeof c->buf);
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return 0;
}

static void ring_metrics_complete(void **state)
{
    (void)state;
    of_ring *r = driven_ring();
    of_ring_stats s = stats(r);
    char *text = metrics(r, OF_METRICS_PROMETHEUS, "myapp_", dump_labels);
    const char *want[] = {
        "# TYPE myapp_ring_info gauge\n",
        "# TYPE myapp_ring_membership_changes_total counter\n",
        "myapp_ring_nodes{service=\"x \\\"q\\\"\\\\\\n\"} 9\n",
        "myapp_ring_points{service=\"x \\\"q\\\"\\\\\\n\"} 2560\n",
        "myapp_ring_node_points_max{service=\"x \\\"q\\\"\\\\\\n\"} 512\n",
        "myapp_ring_pins{service=\"x \\\"q\\\"\\\\\\n\"} 1\n",
        "myapp_ring_generation{service=\"x \\\"q\\\"\\\\\\n\"} 13\n",
        "myapp_ring_membership_changes_total{service=\"x \\\"q\\\"\\\\\\n\",change=\"add\"} 10\n",
        "myapp_ring_membership_changes_total{service=\"x \\\"q\\\"\\\\\\n\",change=\"remove\"} 1\n",
        "myapp_ring_membership_changes_total{service=\"x \\\"q\\\"\\\\\\n\",change=\"weight\"} 1\n",
        "myapp_ring_last_change_generation{service=\"x \\\"q\\\"\\\\\\n\"} 12\n",
        "# TYPE myapp_ring_ownership_busiest_ratio gauge\n",
        "# TYPE myapp_ring_last_change_moved_share gauge\n",
        "# TYPE myapp_ring_memory_bytes gauge\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing: %s\nin:\n%s", want[i], text);
    char fp[96];
    snprintf(fp, sizeof fp, "algorithm=\"native\",fingerprint=\"%016llx\"} 1\n",
             (unsigned long long)s.fingerprint);
    assert_non_null(strstr(text, fp));
    /* Doubles are written so that they read back exactly. */
    const char *m = strstr(text, "myapp_ring_last_change_moved_share{");
    assert_non_null(m);
    assert_true(strtod(strchr(m, '}') + 2, NULL) == s.last_moved_share);

    /* The callback gets the same text; a stop status is returned as is. */
    collect c;
    memset(&c, 0, sizeof c);
    assert_int_equal(of_ring_metrics_write(r, OF_METRICS_PROMETHEUS, "myapp_", dump_labels,
                                           collect_fn, &c), OF_OK);
    assert_int_equal(c.len, strlen(text));
    assert_memory_equal(c.buf, text, c.len);
    memset(&c, 0, sizeof c);
    c.stop_after = 3;
    assert_int_equal(of_ring_metrics_write(r, OF_METRICS_JSON, NULL, NULL, collect_fn, &c),
                     OF_ERR_TIMEOUT);
    free(text);

    /* Default prefix, JSON framing, ketama's algorithm label. */
    text = metrics(r, OF_METRICS_JSON, NULL, NULL);
    assert_true(strncmp(text, "{\"metrics\":[", 12) == 0);
    assert_non_null(strstr(text, "\"name\":\"openfault_ring_nodes\""));
    free(text);
    of_ring *k = make_ring(OF_RING_KETAMA, 0);
    add(k, "10.0.0.1:11211", 1);
    text = metrics(k, OF_METRICS_PROMETHEUS, "", NULL);
    assert_non_null(strstr(text, "ring_info{algorithm=\"ketama\","));
    assert_non_null(strstr(text, "\nring_node_points_max 160\n"));
    free(text);
    of_ring_destroy(k);
    of_ring_destroy(r);
}

static void ring_metrics_bad_input(void **state)
{
    (void)state;
    of_ring *r = driven_ring();
    char buf[64] = "untouched";
    size_t len = 7;
    const char *const reserved[][3] = {{"le", "1", NULL}, {"change", "x", NULL},
                                       {"algorithm", "x", NULL}, {"fingerprint", "x", NULL},
                                       {"__x", "1", NULL}, {"1a", "1", NULL}};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        assert_int_equal(of_ring_metrics(r, OF_METRICS_PROMETHEUS, NULL, reserved[i], buf,
                                          sizeof buf, &len), OF_ERR_INVALID);
        assert_non_null(strstr(of_last_error_detail(), "of_ring_metrics"));
    }
    const char *const no_value[] = {"service", NULL};
    assert_int_equal(of_ring_metrics(r, OF_METRICS_PROMETHEUS, NULL, no_value, buf, sizeof buf,
                                     &len), OF_ERR_INVALID);
    assert_int_equal(of_ring_metrics(r, 0, NULL, NULL, buf, sizeof buf, &len), OF_ERR_INVALID);
    assert_int_equal(of_ring_metrics(r, 3, NULL, NULL, buf, sizeof buf, &len), OF_ERR_INVALID);
    assert_int_equal(of_ring_metrics(r, OF_METRICS_JSON, "9bad", NULL, buf, sizeof buf, &len),
                     OF_ERR_INVALID);
    assert_int_equal(of_ring_metrics(r, OF_METRICS_JSON, NULL, NULL, NULL, 8, &len),
                     OF_ERR_INVALID);
    assert_int_equal(of_ring_metrics(NULL, OF_METRICS_JSON, NULL, NULL, buf, sizeof buf, &len),
                     OF_ERR_INVALID);
    assert_string_equal(buf, "untouched");
    assert_int_equal(len, 7);
    collect c;
    memset(&c, 0, sizeof c);
    assert_int_equal(of_ring_metrics_write(r, OF_METRICS_JSON, NULL, NULL, NULL, &c),
                     OF_ERR_INVALID);
    assert_int_equal(of_ring_metrics_write(NULL, OF_METRICS_JSON, NULL, NULL, collect_fn, &c),
                     OF_ERR_INVALID);
    assert_int_equal(of_ring_metrics_write(r, 9, NULL, NULL, collect_fn, &c), OF_ERR_INVALID);
    assert_int_equal(c.len, 0);
    of_ring_destroy(r);
}

/* ---- reads during writes ------------------------------------------------------------------- */

typedef struct writer_arg {
    of_ring *r;
    atomic_int stop;
    int rounds;
} writer_arg;

static void *writer(void *arg)
{
    writer_arg *w = arg;
    char id[32];
    for (int i = 0; !atomic_load(&w->stop) && i < 2000; i++) {
        snprintf(id, sizeof id, "w-%d", i % 8);
        if (of_ring_add(w->r, id, strlen(id), 1 + (uint32_t)(i % 3), 0) != OF_OK)
            assert_int_equal(of_ring_remove(w->r, id, strlen(id)), OF_OK);
        w->rounds++;
    }
    return NULL;
}

/* Every read comes from one version: adds minus removes is the node count, the generation is
 * the number of changes, shares are in range. */
static void ring_stats_consistent_during_writes(void **state)
{
    (void)state;
    of_ring *r = make_ring(OF_RING_NATIVE, 64);
    add(r, "base", 1);
    writer_arg w = {r, 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, &w), 0);
    for (int i = 0; i < 300; i++) {
        of_ring_stats s = stats(r);
        assert_int_equal(s.nodes_added - s.nodes_removed, s.nodes);
        assert_int_equal(s.nodes_added + s.nodes_removed + s.weight_changes, s.generation);
        assert_true(s.busiest_share > 0 && s.busiest_share <= 1);
        assert_true(s.busiest_ratio >= 1 - 1e-12);
        assert_true(s.last_moved_share > 0 && s.last_moved_share <= 1);
        char buf[8192];
        assert_int_equal(of_ring_metrics(r, OF_METRICS_JSON, NULL, NULL, buf, sizeof buf, NULL),
                         OF_OK);
    }
    atomic_store(&w.stop, 1);
    pthread_join(t, NULL);
    of_ring_destroy(r);
}

static int dump(const char *format)
{
    of_ring *r = driven_ring();
    int f = strcmp(format, "json") == 0 ? OF_METRICS_JSON : OF_METRICS_PROMETHEUS;
    static char buf[65536];
    int rc = of_ring_metrics(r, f, "myapp_", dump_labels, buf, sizeof buf, NULL);
    if (rc == OF_OK)
        fputs(buf, stdout);
    else
        fprintf(stderr, "of_ring_metrics: %s\n", of_strerror(rc));
    of_ring_destroy(r);
    return rc == OF_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_stats_empty_ring),
        cmocka_unit_test(ring_stats_native_changes),
        cmocka_unit_test(ring_stats_ketama_changes),
        cmocka_unit_test(ring_stats_ketama_unweighted_changes),
        cmocka_unit_test(ring_stats_batch_pins_failures),
        cmocka_unit_test(ring_stats_large_node),
        cmocka_unit_test(ring_stats_struct_size),
        cmocka_unit_test(ring_metrics_complete),
        cmocka_unit_test(ring_metrics_bad_input),
        cmocka_unit_test(ring_stats_consistent_during_writes),
    };
    return cmocka_run_group_tests_name("ring/metrics", tests, NULL, NULL);
}
