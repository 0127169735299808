/* bench-bisect: random lower-bound lookups in sorted uint64_t arrays, as ratios against
 * std::lower_bound measured in the same run (DESIGN.md, Measuring).
 *
 *   bench-bisect [--big] [--rounds N] [--queries N] [--sizes 1024,65536,...] [--best]
 *   bench-bisect-variants [--rounds N] [--queries N] [--sizes ...] [--best]
 *
 * Default sizes 1K, 64K, 1M, 16M; --big adds 64M (about 4 GB of memory at its peak). Every
 * round runs each method once on the same queries, interleaved, and the median round is
 * reported (--best: the fastest round of each method, to compare code variants on a busy
 * machine; report medians). Run it pinned (`taskset -c 1`) and more than once: the machines
 * are shared.
 *
 * bench-bisect-variants is this file built with OFB_VARIANTS against the internal static library
 * and src/bisect/frozen_tune.c (a hook the shipped library leaves out): it measures copies of the
 * frozen layout that differ only in group prefetching and huge pages (ofi_index_frozen_tune),
 * each against std::lower_bound in the same rounds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openfault/openfault.h>

#ifdef OFB_VARIANTS
#include "bisect/frozen_tune.h"
#endif

uint64_t ofb_std_lower_bound_sum(const uint64_t *a, size_t n, const uint64_t *queries,
                                 size_t count);

enum { M_STD, M_MUT, M_FROZEN, M_FROZEN_B16, M_MUT_B16, M_FROZEN_BALL, M_COUNT };
static const char *const method_name[M_COUNT] = {
    "std::lower_bound", "mutable",         "frozen",
    "frozen batch16",   "mutable batch16", "frozen batch-all",
};

static uint64_t rng = 0x243f6a8885a308d3u;
static int use_best;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench-bisect: %s: %s\n", what, of_strerror(rc));
    exit(1);
}

/* The memory floor for context: ns per dependent random load in an n-element array (a random
 * cyclic permutation, chased). A single lookup that beats it is overlapping with the next one. */
static double dependent_load_ns(size_t n, size_t steps)
{
    uint64_t *next = malloc(n * sizeof *next);
    if (next == NULL)
        die("malloc", OF_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        next[i] = i;
    for (size_t i = n - 1; i > 0; i--) { /* Sattolo: one cycle through every element */
        size_t j = (size_t)(rnd() % i);
        uint64_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    size_t at = 0;
    for (size_t i = 0; i < steps / 4; i++) /* warm-up */
        at = next[at];
    double t0 = now_ns();
    for (size_t i = 0; i < steps; i++)
        at = next[at];
    double dt = now_ns() - t0;
    if (at == SIZE_MAX) /* keeps the chase alive */
        printf("?");
    free(next);
    return dt / (double)steps;
}

static uint64_t run_method(int m, const uint64_t *sorted, size_t n, const of_index *ix,
                           const of_index_frozen *fz, const uint64_t *q, size_t nq, size_t *pos)
{
    uint64_t sum = 0;
    size_t p;
    switch (m) {
    case M_STD:
        return ofb_std_lower_bound_sum(sorted, n, q, nq);
    case M_MUT:
        for (size_t i = 0; i < nq; i++) {
            of_index_lower_bound(ix, q[i], &p);
            sum += p;
        }
        return sum;
    case M_FROZEN:
        for (size_t i = 0; i < nq; i++) {
            of_index_frozen_lower_bound(fz, q[i], &p);
            sum += p;
        }
        return sum;
    case M_FROZEN_B16:
    case M_MUT_B16:
        for (size_t i = 0; i < nq; i += 16) {
            size_t g = nq - i < 16 ? nq - i : 16;
            if (m == M_FROZEN_B16)
                of_index_frozen_lower_bound_batch(fz, q + i, g, pos);
            else
                of_index_lower_bound_batch(ix, q + i, g, pos);
            for (size_t j = 0; j < g; j++)
                sum += pos[j];
        }
        return sum;
    default:
        of_index_frozen_lower_bound_batch(fz, q, nq, pos);
        for (size_t j = 0; j < nq; j++)
            sum += pos[j];
        return sum;
    }
}

static void bench_size(size_t n, size_t nq, int rounds)
{
    uint64_t *keys = malloc(n * sizeof *keys);
    uint64_t *q = malloc(nq * sizeof *q);
    size_t *pos = malloc(nq * sizeof *pos);
    if (keys == NULL || q == NULL || pos == NULL)
        die("malloc", OF_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        keys[i] = rnd();
    for (size_t i = 0; i < nq; i++)
        q[i] = rnd();
    of_index *ix = NULL;
    of_index_frozen *fz = NULL;
    int rc = of_index_create(0, &ix);
    if (rc == OF_OK)
        rc = of_index_build(ix, keys, NULL, n);
    if (rc != OF_OK)
        die("of_index_build", rc);
    for (size_t i = 0; i < n; i++)
        of_index_select(ix, i, &keys[i], NULL); /* keys becomes the sorted array */
    rc = of_index_freeze(ix, &fz);
    if (rc != OF_OK)
        die("of_index_freeze", rc);

    double floor_ns = dependent_load_ns(n, nq);
    double *t[M_COUNT];
    for (int m = 0; m < M_COUNT; m++)
        t[m] = malloc((size_t)rounds * sizeof(double));
    uint64_t expect = 0;
    for (int r = -1; r < rounds; r++) { /* round -1 warms caches and page tables */
        for (int m = 0; m < M_COUNT; m++) {
            double t0 = now_ns();
            uint64_t sum = run_method(m, keys, n, ix, fz, q, nq, pos);
            double dt = now_ns() - t0;
            if (m == M_STD)
                expect = sum;
            else if (sum != expect) {
                fprintf(stderr, "bench-bisect: %s disagrees with std::lower_bound at n=%zu\n",
                        method_name[m], n);
                exit(1);
            }
            if (r >= 0)
                t[m][r] = dt / (double)nq;
        }
    }
    double med[M_COUNT];
    for (int m = 0; m < M_COUNT; m++) {
        qsort(t[m], (size_t)rounds, sizeof(double), cmp_double);
        med[m] = use_best ? t[m][0] : t[m][rounds / 2];
        free(t[m]);
    }
    char label[32];
    if (n >= (1u << 20))
        snprintf(label, sizeof label, "%zuM", n >> 20);
    else
        snprintf(label, sizeof label, "%zuK", n >> 10);
    printf("| %-5s | %8.1f |", label, med[M_STD]);
    for (int m = 1; m < M_COUNT; m++)
        printf(" %7.1f (%5.2fx) |", med[m], med[M_STD] / med[m]);
    printf(" %7.1f |\n", floor_ns);
    fflush(stdout);
    of_index_frozen_destroy(fz);
    of_index_destroy(ix);
    free(keys);
    free(q);
    free(pos);
}

#ifdef OFB_VARIANTS
/* ---- frozen layout variants, one process ------------------------------------------------ */

typedef struct variant {
    const char *name;
    int prefetch_layers; /* -1: as freeze chose */
    int huge;            /* -1: as freeze allocated */
    int batch;
} variant;

static const variant variants[] = {
    {"shipped", -1, -1, 0},
    {"shipped, second copy", -1, -1, 0}, /* the noise control: the same layout again */
    {"no group prefetch", 0, -1, 0},
    {"prefetch leaf groups", 1, -1, 0},
    {"prefetch leaf+layer1", 2, -1, 0},
    {"THP keys+tree", -1, 2, 0},
    {"THP keys+tree, pf leaf", 1, 2, 0},
    {"no THP at all", -1, 0, 0},
    {"batch16 shipped", -1, -1, 1},
    {"batch16 THP keys+tree", -1, 2, 1},
};
#define NVAR (sizeof variants / sizeof variants[0])

static long anon_huge_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    long kb = -1;
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

static void bench_variants(size_t n, size_t nq, int rounds)
{
    uint64_t *keys = malloc(n * sizeof *keys);
    uint64_t *q = malloc(nq * sizeof *q);
    size_t *pos = malloc(nq * sizeof *pos);
    if (keys == NULL || q == NULL || pos == NULL)
        die("malloc", OF_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        keys[i] = rnd();
    for (size_t i = 0; i < nq; i++)
        q[i] = rnd();
    of_index *ix = NULL;
    int rc = of_index_create(0, &ix);
    if (rc == OF_OK)
        rc = of_index_build(ix, keys, NULL, n);
    if (rc != OF_OK)
        die("of_index_build", rc);
    for (size_t i = 0; i < n; i++)
        of_index_select(ix, i, &keys[i], NULL);
    long huge_before = anon_huge_kb();
    of_index_frozen *fz[NVAR];
    for (size_t v = 0; v < NVAR; v++) {
        if ((rc = of_index_freeze(ix, &fz[v])) != OF_OK)
            die("of_index_freeze", rc);
        if (variants[v].prefetch_layers >= 0 || variants[v].huge >= 0) {
            if ((rc = ofi_index_frozen_tune(fz[v], variants[v].prefetch_layers, variants[v].huge)) != OF_OK)
                die("ofi_index_frozen_tune", rc);
        }
    }
    double *t[NVAR + 1];
    for (size_t m = 0; m <= NVAR; m++)
        t[m] = malloc((size_t)rounds * sizeof(double));
    for (int r = -1; r < rounds; r++) {
        double t0 = now_ns();
        uint64_t expect = ofb_std_lower_bound_sum(keys, n, q, nq);
        if (r >= 0)
            t[0][r] = (now_ns() - t0) / (double)nq;
        /* The order rotates from round to round so that no variant always runs right after
         * the baseline (the first one measured slower there). */
        for (size_t k = 0; k < NVAR; k++) {
            size_t v = (k + (size_t)(r + 1)) % NVAR;
            t0 = now_ns();
            uint64_t sum = run_method(variants[v].batch ? M_FROZEN_B16 : M_FROZEN, keys, n, ix,
                                      fz[v], q, nq, pos);
            double dt = now_ns() - t0;
            if (sum != expect) {
                fprintf(stderr, "bench-bisect: variant %s disagrees at n=%zu\n",
                        variants[v].name, n);
                exit(1);
            }
            if (r >= 0)
                t[v + 1][r] = dt / (double)nq;
        }
    }
    char label[32];
    if (n >= (1u << 20))
        snprintf(label, sizeof label, "%zuM", n >> 20);
    else
        snprintf(label, sizeof label, "%zuK", n >> 10);
    /* Per-round time ratios against the shipped layout (variant 0) of the same round, before
     * the sorts below: slow drifts of a shared machine cancel in them. */
    double *vs = malloc((size_t)rounds * sizeof *vs);
    double vs_med[NVAR];
    for (size_t v = 0; v < NVAR; v++) {
        for (int r = 0; r < rounds; r++)
            vs[r] = t[1][r] / t[v + 1][r];
        qsort(vs, (size_t)rounds, sizeof *vs, cmp_double);
        vs_med[v] = vs[rounds / 2];
    }
    free(vs);
    qsort(t[0], (size_t)rounds, sizeof(double), cmp_double);
    double base = use_best ? t[0][0] : t[0][rounds / 2];
    printf("%s: std::lower_bound %.1f ns; AnonHugePages %ld -> %ld kB\n", label, base,
           huge_before, anon_huge_kb());
    for (size_t v = 0; v < NVAR; v++) {
        qsort(t[v + 1], (size_t)rounds, sizeof(double), cmp_double);
        double m = use_best ? t[v + 1][0] : t[v + 1][rounds / 2];
        printf("variant\t%s\t%-24s\t%7.1f ns\t%5.2fx\t%5.3f vs shipped\n", label,
               variants[v].name, m, base / m, vs_med[v]);
    }
    fflush(stdout);
    for (size_t m = 0; m <= NVAR; m++)
        free(t[m]);
    for (size_t v = 0; v < NVAR; v++)
        of_index_frozen_destroy(fz[v]);
    of_index_destroy(ix);
    free(keys);
    free(q);
    free(pos);
}
#endif

int main(int argc, char **argv)
{
    size_t sizes[16] = {1u << 10, 1u << 16, 1u << 20, 1u << 24};
    size_t nsizes = 4;
    int rounds = 5;
    size_t nq = (size_t)1 << 19;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--big") == 0 && nsizes < 16) {
            sizes[nsizes++] = (size_t)1 << 26;
        } else if (strcmp(argv[i], "--best") == 0) {
            use_best = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc) {
            nq = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            nsizes = 0;
            for (char *s = strtok(argv[++i], ","); s != NULL && nsizes < 16; s = strtok(NULL, ","))
                sizes[nsizes++] = strtoull(s, NULL, 10);
        } else {
            fprintf(stderr,
                    "usage: %s [--big] [--rounds N] [--queries N] [--sizes N,N,...] [--best]\n",
                    argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || nq == 0) {
        fprintf(stderr, "bench-bisect: --rounds and --queries must be positive\n");
        return 2;
    }
    printf("bench-bisect: %zu random lookups per method and round, %s of %d rounds; "
           "ns per lookup (ratio = std::lower_bound time / method time, higher is better)\n",
           nq, use_best ? "best" : "median", rounds);
#ifdef OFB_VARIANTS
    for (size_t i = 0; i < nsizes; i++)
        bench_variants(sizes[i], nq, rounds);
    return 0;
#endif
    printf("| size  | std::lower_bound |");
    for (int m = 1; m < M_COUNT; m++)
        printf(" %-18s |", method_name[m]);
    printf(" dep. load |\n|---|---|");
    for (int m = 1; m < M_COUNT; m++)
        printf("---|");
    printf("---|\n");
    for (size_t i = 0; i < nsizes; i++)
        bench_size(sizes[i], nq, rounds);
    return 0;
}
