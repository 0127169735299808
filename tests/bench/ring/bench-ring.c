/* bench-ring: figures as ratios against baselines measured in the same run (DESIGN.md
 * "Measuring"). Run pinned: `taskset -c 1 bench-ring` (the concurrency part needs 2 CPUs:
 * `taskset -c 0,1`). Optional argument: seconds per measurement (default 0.3).
 * `bench-ring --curves [seconds]`: cost curves instead (lookup ns, memory per node, add_many
 * build time, one add/remove) for 10 .. 100,000 nodes, native and ketama, as tab-separated rows
 * for docs/plots/make-ring-curves.sh. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <openfault/openfault.h>
#ifdef HAVE_LIBMEMCACHED
#include <libmemcached/memcached.h>
#endif

#define NKEYS 16384 /* 16-32-byte keys: ~400 KiB, resident in L2 like a hot working set */

static char keys[NKEYS][32];
static size_t key_len[NKEYS];
static double seconds = 0.3;
static volatile uint64_t sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x853c49e6748fea9bu;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* ns per operation of @p fn over all keys, repeated for ~seconds; best of 3 rounds. Timed on the
 * thread's CPU clock so that time the shared machine gives to other processes is not counted. */
typedef uint64_t (*pass_fn)(void *ctx);
static double measure(pass_fn fn, void *ctx)
{
    double best = 1e30;
    for (int round = 0; round < 3; round++) {
        uint64_t ops = 0;
        double t0 = thread_cpu(), t;
        do {
            sink += fn(ctx);
            ops += NKEYS;
            t = thread_cpu();
        } while (t - t0 < seconds / 3);
        double ns = (t - t0) * 1e9 / (double)ops;
        best = ns < best ? ns : best;
    }
    return best;
}

/* The same, for up to 3 functions interleaved round by round (best of 5 rounds each), so that
 * a ratio compares figures taken under the same machine conditions. */
static void measure_many(int k, pass_fn *fns, void **ctxs, double *out)
{
    for (int j = 0; j < k; j++)
        out[j] = 1e30;
    for (int round = 0; round < 5; round++) {
        for (int j = 0; j < k; j++) {
            uint64_t ops = 0;
            double t0 = thread_cpu(), t;
            do {
                sink += fns[j](ctxs[j]);
                ops += NKEYS;
                t = thread_cpu();
            } while (t - t0 < seconds / 5);
            double ns = (t - t0) * 1e9 / (double)ops;
            out[j] = ns < out[j] ? ns : out[j];
        }
    }
}

static uint64_t pass_xxh3(void *ctx)
{
    (void)ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < NKEYS; i++)
        acc += XXH3_64bits_withSeed(keys[i], key_len[i], 0);
    return acc;
}

static uint64_t pass_ring(void *ctx)
{
    of_ring *r = ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        uint64_t tag;
        of_ring_lookup(r, keys[i], key_len[i], &tag, NULL, 0, NULL);
        acc += tag;
    }
    return acc;
}

static const void *key_ptr[NKEYS];

static uint64_t pass_view(void *ctx)
{
    const of_ring_view *v = ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        uint64_t tag;
        of_ring_view_lookup(v, keys[i], key_len[i], &tag, NULL, 0, NULL);
        acc += tag;
    }
    return acc;
}

#define BATCH 64 /* keys per of_ring_lookup_batch call: a multi-get's worth */

static uint64_t pass_batch(void *ctx)
{
    of_ring *r = ctx;
    uint64_t acc = 0, tags[BATCH];
    for (size_t i = 0; i < NKEYS; i += BATCH) {
        of_ring_lookup_batch(r, key_ptr + i, key_len + i, BATCH, tags);
        for (size_t j = 0; j < BATCH; j++)
            acc += tags[j];
    }
    return acc;
}

#ifdef HAVE_LIBMEMCACHED
static uint64_t pass_memcached(void *ctx)
{
    memcached_st *m = ctx;
    uint64_t acc = 0;
    for (size_t i = 0; i < NKEYS; i++)
        acc += memcached_generate_hash(m, keys[i], key_len[i]);
    return acc;
}

static memcached_st *make_memcached(unsigned n)
{
    memcached_st *m = memcached_create(NULL);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    for (unsigned i = 0; i < n; i++) {
        char host[32];
        snprintf(host, sizeof host, "10.0.%u.%u", i / 200, i % 200 + 1);
        memcached_server_add_with_weight(m, host, 11211, 1);
    }
    return m;
}
#endif

static of_ring *make_ring(unsigned algorithm, uint32_t vnodes, unsigned n, double *build_ms)
{
    of_ring_options o;
    of_ring_options_init(&o, sizeof o);
    o.algorithm = algorithm;
    if (algorithm == OF_RING_NATIVE)
        o.vnodes = vnodes;
    of_ring *r = NULL;
    if (of_ring_create(&o, &r) != OF_OK)
        exit(1);
    of_ring_node_spec *spec = calloc(n, sizeof *spec);
    char (*ids)[32] = calloc(n, 32);
    for (unsigned i = 0; i < n; i++) {
        snprintf(ids[i], 32, "10.0.%u.%u", i / 200, i % 200 + 1);
        spec[i] = (of_ring_node_spec){ids[i], strlen(ids[i]), 1, i};
    }
    double t0 = now();
    if (of_ring_add_many(r, spec, n) != OF_OK)
        exit(1);
    if (build_ms)
        *build_ms = (now() - t0) * 1e3;
    free(spec);
    free(ids);
    return r;
}

/* ---- concurrency ---------------------------------------------------------------------------- */

typedef struct reader_arg {
    of_ring *ring;
    atomic_int *stop;
    uint64_t ops;
    double cpu;
    char pad[64];
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    uint64_t ops = 0, acc = 0;
    double c0 = thread_cpu();
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        for (size_t i = 0; i < NKEYS; i += 1) {
            uint64_t tag;
            of_ring_lookup(a->ring, keys[i], key_len[i], &tag, NULL, 0, NULL);
            acc += tag;
        }
        ops += NKEYS;
    }
    sink += acc;
    a->ops = ops;
    a->cpu = thread_cpu() - c0;
    return NULL;
}

typedef struct writer_arg {
    of_ring *ring;
    atomic_int *stop;
    unsigned changes;
    double cpu;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    double c0 = thread_cpu();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    int present = 0;
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        next.tv_nsec += 10 * 1000 * 1000;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        if (present)
            of_ring_remove(w->ring, "flapper", 7);
        else
            of_ring_add(w->ring, "flapper", 7, 1, 999999);
        present = !present;
        w->changes++;
    }
    w->cpu = thread_cpu() - c0;
    return NULL;
}

/* Lookups per second of wall time; *per_cpu gets lookups per second of reader CPU time (what the
 * readers achieve while they run, whatever else the shared machine runs). */
static double run_threads(of_ring *r, int readers, int with_writer, double secs,
                          double *writer_share, unsigned *changes, double *per_cpu)
{
    atomic_int stop;
    atomic_init(&stop, 0);
    reader_arg ra[2] = {{r, &stop, 0, 0, {0}}, {r, &stop, 0, 0, {0}}};
    writer_arg wa = {r, &stop, 0, 0};
    pthread_t th[3];
    double t0 = now();
    for (int i = 0; i < readers; i++)
        pthread_create(&th[i], NULL, reader, &ra[i]);
    if (with_writer)
        pthread_create(&th[2], NULL, writer, &wa);
    struct timespec d = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < readers; i++)
        pthread_join(th[i], NULL);
    if (with_writer)
        pthread_join(th[2], NULL);
    double wall = now() - t0;
    uint64_t ops = 0;
    double cpu = 0;
    for (int i = 0; i < readers; i++) {
        ops += ra[i].ops;
        cpu += ra[i].cpu;
    }
    if (per_cpu)
        *per_cpu = (double)ops / cpu;
    if (writer_share)
        *writer_share = wa.cpu / wall;
    if (changes)
        *changes = wa.changes;
    return (double)ops / wall;
}

/* ---- cost curves ---------------------------------------------------------------------------- */

/* One row per (mode, vnodes, size): lookup ns and its ratio to XXH3 in the same run, the batch's,
 * bytes per node, the add_many build, and one add and one remove (best of a few). */
static void curves(void)
{
    static const unsigned sizes[] = {10, 100, 1000, 10000, 100000};
    printf("# mode\tvnodes\tnodes\tlookup_ns\txxh3_ns\tlookup_x\tbatch_ns\tbatch_x\t"
           "bytes_per_node\tbuild_ms\tadd_ms\tremove_ms\n");
    for (int mode = 0; mode < 3; mode++) {
        unsigned algorithm = mode == 2 ? OF_RING_KETAMA : OF_RING_NATIVE;
        uint32_t vnodes = mode == 0 ? OF_RING_DEFAULT_VNODES : 160;
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            unsigned n = sizes[si];
            double build = 1e30, ms;
            of_ring *r = NULL;
            for (int i = 0; i < (n >= 10000 ? 1 : 3); i++) {
                of_ring_destroy(r);
                r = make_ring(algorithm, vnodes, n, &ms);
                build = ms < build ? ms : build;
            }
            pass_fn fns[3] = {pass_ring, pass_xxh3, pass_batch};
            void *ctxs[3] = {r, NULL, r};
            double t[3];
            measure_many(3, fns, ctxs, t);
            double add = 1e30, rem = 1e30;
            for (int i = 0; i < (n >= 10000 ? 2 : 5); i++) {
                double t0 = now();
                if (of_ring_add(r, "10.9.9.9", 8, 1, 999999) != OF_OK)
                    exit(1);
                double t1 = now();
                if (of_ring_remove(r, "10.9.9.9", 8) != OF_OK)
                    exit(1);
                double t2 = now();
                add = t1 - t0 < add ? t1 - t0 : add;
                rem = t2 - t1 < rem ? t2 - t1 : rem;
            }
            printf("%s\t%u\t%u\t%.1f\t%.1f\t%.2f\t%.1f\t%.2f\t%zu\t%.2f\t%.3f\t%.3f\n",
                   mode == 2 ? "ketama" : "native", mode == 2 ? 160 : vnodes, n, t[0], t[1],
                   t[0] / t[1], t[2], t[2] / t[1], of_ring_memory_usage(r) / n, build, add * 1e3,
                   rem * 1e3);
            fflush(stdout);
            of_ring_destroy(r);
        }
    }
}

int main(int argc, char **argv)
{
    int want_curves = argc > 1 && strcmp(argv[1], "--curves") == 0;
    if (argc > 1 + want_curves)
        seconds = atof(argv[1 + want_curves]);
    for (size_t i = 0; i < NKEYS; i++) {
        key_len[i] = 16 + rnd() % 17;
        for (size_t j = 0; j < key_len[i]; j++)
            keys[i][j] = "abcdefghijklmnopqrstuvwxyz0123456789"[rnd() % 36];
        key_ptr[i] = keys[i];
    }
    if (want_curves) {
        curves();
        return 0;
    }
    printf("bench-ring: %d keys of 16-32 bytes, ns per lookup, best of several rounds on the "
           "thread CPU clock\n",
           NKEYS);
    double xxh = measure(pass_xxh3, NULL);
    printf("%-44s %8.1f ns\n", "bare XXH3_64bits (baseline)", xxh);

    static const unsigned sizes[] = {10, 100, 1000};
    printf("\n%-44s %8s %9s %9s %12s %9s %9s\n", "native ring", "ns", "x XXH3", "vs memc",
           "bytes/node", "view x", "batch x");
    for (int v = 0; v < 2; v++) {
        uint32_t vnodes = v == 0 ? OF_RING_DEFAULT_VNODES : 160;
        for (size_t s = 0; s < 3; s++) {
            unsigned n = sizes[s];
            of_ring *r = make_ring(OF_RING_NATIVE, vnodes, n, NULL);
            of_ring_view *view = NULL;
            of_ring_view_take(r, &view);
            pass_fn fns[5] = {pass_ring, pass_xxh3, pass_view, pass_batch, NULL};
            void *ctxs[5] = {r, NULL, view, r, NULL};
            double t[5];
            int k = 4;
            char label[64], vs[32] = "n/a";
            snprintf(label, sizeof label, "%u nodes, %u vnodes%s", n, vnodes,
                     v == 0 ? " (default)" : "");
#ifdef HAVE_LIBMEMCACHED
            memcached_st *m = n <= 100 ? make_memcached(n) : NULL;
            if (m) {
                fns[4] = pass_memcached;
                ctxs[4] = m;
                k = 5;
            }
#endif
            measure_many(k, fns, ctxs, t);
            double ns = t[0], x = t[1];
#ifdef HAVE_LIBMEMCACHED
            if (m) {
                snprintf(vs, sizeof vs, "%.1fx", t[4] / ns);
                memcached_free(m);
            }
#endif
            printf("%-44s %8.1f %8.2fx %9s %12zu %8.2fx %8.2fx\n", label, ns, ns / x, vs,
                   of_ring_memory_usage(r) / n, t[2] / x, t[3] / x);
            of_ring_view_release(view);
            of_ring_destroy(r);
        }
    }

#ifdef HAVE_LIBMEMCACHED
    printf("\n%-44s %8s %8s %12s\n", "ketama mode", "ns", "memc ns", "speed-up");
    for (size_t s = 0; s < 2; s++) {
        unsigned n = sizes[s];
        of_ring *r = make_ring(OF_RING_KETAMA, 0, n, NULL);
        memcached_st *m = make_memcached(n);
        unsigned same = 0;
        for (size_t i = 0; i < NKEYS; i++) {
            uint64_t tag;
            of_ring_lookup(r, keys[i], key_len[i], &tag, NULL, 0, NULL);
            same += tag == memcached_generate_hash(m, keys[i], key_len[i]);
        }
        pass_fn fns[2] = {pass_ring, pass_memcached};
        void *ctxs[2] = {r, m};
        double t[2];
        measure_many(2, fns, ctxs, t);
        double ns = t[0], mc = t[1];
        char label[64];
        snprintf(label, sizeof label, "%u servers (%u/%d same answers)", n, same, NKEYS);
        printf("%-44s %8.1f %8.1f %11.2fx\n", label, ns, mc, mc / ns);
        memcached_free(m);
        of_ring_destroy(r);
    }
#else
    printf("\nketama mode: libmemcached not found at build time, no baseline\n");
#endif

    printf("\nbuild (of_ring_add_many, one snapshot)\n");
    for (int v = 0; v < 2; v++) {
        uint32_t vnodes = v == 0 ? OF_RING_DEFAULT_VNODES : 160;
        double best = 1e30;
        for (int i = 0; i < 3; i++) {
            double ms;
            of_ring_destroy(make_ring(OF_RING_NATIVE, vnodes, 1000, &ms));
            best = ms < best ? ms : best;
        }
        printf("  1000 nodes x %4u vnodes: %8.1f ms\n", vnodes, best);
    }
    {
        of_ring *r = make_ring(OF_RING_NATIVE, OF_RING_DEFAULT_VNODES, 100, NULL);
        double t0 = now();
        int k = 0;
        for (; k < 50; k++) {
            if (k % 2 == 0)
                of_ring_add(r, "flapper", 7, 1, 1);
            else
                of_ring_remove(r, "flapper", 7);
        }
        printf("  one add/remove at 100 nodes x %u vnodes: %.2f ms\n", OF_RING_DEFAULT_VNODES,
               (now() - t0) * 1e3 / k);
        of_ring_destroy(r);
    }

    printf("\nconcurrency (100 nodes, default vnodes; writer adds/removes a node every 10 ms)\n");
    {
        of_ring *r = make_ring(OF_RING_NATIVE, OF_RING_DEFAULT_VNODES, 100, NULL);
        double secs = seconds * 4 < 1.0 ? 1.0 : seconds * 4;
        for (int round = 0; round < 3; round++) {
            double one_cpu, two_cpu, share = 0;
            unsigned changes = 0;
            double one = run_threads(r, 1, 0, secs, NULL, NULL, &one_cpu);
            double two = run_threads(r, 2, 1, secs, &share, &changes, &two_cpu);
            printf("  1 reader: %9.0f/s | 2 readers + writer: %9.0f/s = %.2fx | per reader-CPU-s "
                   "%.2fx | writer %u changes, %.1f%% of a CPU\n",
                   one, two, two / one, two_cpu / one_cpu, changes, share * 100);
        }
        of_ring_destroy(r);
    }
    return 0;
}
