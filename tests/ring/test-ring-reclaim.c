/* Reader protection and reclamation (ring_internal.h, "Reader protection"): a snapshot a reader
 * holds through its hazard slot outlives any number of writes and is freed after; reads nested
 * in a callback, threads beyond the slot table and threads that come and go read safely while a
 * writer churns; slots come back when threads exit; a fork child keeps a working barrier.
 * Run under ASan and TSan by the CI, where a snapshot freed under a reader is a reported error.
 * The variant built with RING_HAZARD_SLOTS=1 (meson.build) runs the same cases with one slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include <openfault/openfault.h>

#include "ring/ring_internal.h"

static int under_valgrind(void)
{
    return getenv("OF_UNDER_VALGRIND") != NULL;
}

static of_ring *ring_with_nodes(unsigned count)
{
    of_ring_options o;
    assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
    o.vnodes = 64;
    of_ring *r = NULL;
    assert_int_equal(of_ring_create(&o, &r), OF_OK);
    char id[32];
    for (unsigned i = 0; i < count; i++) {
        int n = snprintf(id, sizeof id, "node-%u", i);
        assert_int_equal(of_ring_add(r, id, (size_t)n, 1, i), OF_OK);
    }
    return r;
}

static size_t slots_owned(void)
{
    size_t owned;
    unsigned long failures;
    int asym;
    ofi_ring_hazard_counts(&owned, &failures, &asym);
    return owned;
}

/* One thread: a snapshot taken through the hazard slot stays readable across writes that
 * unpublish it (each write would have freed it two epochs later), is kept on retired_held, and is
 * freed by the first write after the slot lets go. With the slot busy, a nested read falls back
 * to the stripes and sees the newest snapshot. */
static void held_snapshot_survives_writes(void **state)
{
    (void)state;
    of_ring *r = ring_with_nodes(4);
    read_guard g;
    const snap *s = read_begin_leaf(r, &g);
    int hazard = g.hazard != NULL;
    uint64_t gen = s->generation;
    size_t nodes = s->node_count;
    for (unsigned i = 0; i < 6; i++) {
        char id[32];
        int n = snprintf(id, sizeof id, "extra-%u", i);
        assert_int_equal(of_ring_add(r, id, (size_t)n, 1, 100 + i), OF_OK);
    }
    /* The snapshot is intact (under ASan a freed one is an error here). */
    assert_int_equal(s->generation, gen);
    assert_int_equal(s->node_count, nodes);
    if (hazard) {
        assert_int_equal(ofi_ring_retired_held(r), 1);
        /* Nested read (the slot is busy): stripes, newest snapshot. */
        read_guard inner;
        const snap *now = read_begin_leaf(r, &inner);
        assert_null(inner.hazard);
        assert_int_equal(now->node_count, nodes + 6);
        read_end(&inner);
    }
    read_end(&g);
    assert_int_equal(of_ring_remove(r, "extra-0", 7), OF_OK);
    assert_int_equal(ofi_ring_retired_held(r), 0);
    of_ring_destroy(r);
}

/* of_ring_destroy frees what a slot held at the last write (the reader is gone by contract). */
static void destroy_frees_held_snapshots(void **state)
{
    (void)state;
    of_ring *r = ring_with_nodes(3);
    read_guard g;
    (void)read_begin_leaf(r, &g);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(of_ring_set_weight(r, "node-0", 6, 2 + i), OF_OK);
    read_end(&g);
    of_ring_destroy(r); /* LeakSanitizer and valgrind see a snapshot left behind */
}

/* ---- concurrency ------------------------------------------------------------------------- */

typedef struct churn {
    of_ring *ring;
    atomic_int stop;
    atomic_ulong reads;
} churn;

/* The ring always holds node-0..3; "flapper" comes and goes. Every answer is one of them. */
static int check_lookup(of_ring *r, unsigned k)
{
    char key[32], id[32];
    int n = snprintf(key, sizeof key, "key-%u", k);
    uint64_t tag = UINT64_MAX;
    size_t len = 0;
    if (of_ring_lookup(r, key, (size_t)n, &tag, id, sizeof id, &len) != OF_OK)
        return 1;
    if (tag == 1000)
        return len == 7 && memcmp(id, "flapper", 7) == 0 ? 0 : 2;
    char expect[32];
    int m = snprintf(expect, sizeof expect, "node-%u", (unsigned)tag);
    return tag < 4 && len == (size_t)m && memcmp(id, expect, len) == 0 ? 0 : 3;
}

typedef struct nested_ctx {
    of_ring *ring;
    int bad;
} nested_ctx;

/* A read from inside a foreach callback: the outer read holds the stripes, the inner finds the
 * slot free and takes it; a second level finds it busy and falls back. */
static int nested_visit(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    (void)id;
    (void)id_len;
    (void)weight;
    nested_ctx *c = ctx;
    c->bad |= check_lookup(c->ring, (unsigned)tag);
    int present = 0;
    if (of_ring_contains(c->ring, "node-1", 6, &present) != OF_OK || !present)
        c->bad |= 4;
    return 0;
}

static void *reader(void *p)
{
    churn *c = p;
    while (!atomic_load(&c->stop)) {
        for (unsigned k = 0; k < 64; k++)
            if (check_lookup(c->ring, k) != 0)
                return (void *)1;
        atomic_fetch_add(&c->reads, 64);
        nested_ctx nc = {c->ring, 0};
        if (of_ring_foreach(c->ring, nested_visit, &nc) != 0 || nc.bad)
            return (void *)2;
        of_ring_view *v = NULL;
        if (of_ring_view_take(c->ring, &v) != OF_OK)
            return (void *)3;
        uint64_t tag = UINT64_MAX;
        if (of_ring_view_lookup(v, "k", 1, &tag, NULL, 0, NULL) != OF_OK ||
            (tag >= 4 && tag != 1000))
            return (void *)4;
        of_ring_view_release(v);
    }
    return NULL;
}

/* Short-lived readers: each thread claims a slot on its first read and gives it back at exit. */
static void *short_reader(void *p)
{
    churn *c = p;
    for (unsigned k = 0; k < 16; k++)
        if (check_lookup(c->ring, k) != 0)
            return (void *)1;
    atomic_fetch_add(&c->reads, 16);
    return NULL;
}

static void flap(of_ring *r, int i)
{
    if (i % 2 == 0)
        assert_int_equal(of_ring_add(r, "flapper", 7, 2, 1000), OF_OK);
    else
        assert_int_equal(of_ring_remove(r, "flapper", 7), OF_OK);
}

/* More readers than a one-slot build has slots, reads nested in callbacks, and a writer that
 * unpublishes a snapshot every step. */
static void readers_nested_reads_and_writer(void **state)
{
    (void)state;
    static churn c;
    c.ring = ring_with_nodes(4);
    atomic_init(&c.stop, 0);
    atomic_init(&c.reads, 0);
    enum { READERS = 3 };
    pthread_t th[READERS];
    for (int t = 0; t < READERS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, reader, &c), 0);
    /* At least the steps, and on until the readers have read while the writer wrote (under
     * valgrind the threads take turns, and the writer can finish before a reader has run). */
    int steps = under_valgrind() ? 100 : 3000;
    for (int i = 0; i < steps || atomic_load(&c.reads) == 0; i++)
        flap(c.ring, i);
    atomic_store(&c.stop, 1);
    for (int t = 0; t < READERS; t++) {
        void *ret = (void *)9;
        assert_int_equal(pthread_join(th[t], &ret), 0);
        assert_ptr_equal(ret, NULL);
    }
    assert_true(atomic_load(&c.reads) > 0);
    of_ring_destroy(c.ring);
}

/* Twice the slot table's worth of threads, four at a time, while the writer churns: every read
 * is right, and the slots come back (at most the live threads' hold one afterwards). */
static void threads_come_and_go(void **state)
{
    (void)state;
    static churn c;
    c.ring = ring_with_nodes(4);
    atomic_init(&c.stop, 0);
    atomic_init(&c.reads, 0);
    size_t before = slots_owned();
    int total = under_valgrind() ? 40 : 2 * RING_HAZARD_SLOTS + 8;
    int step = 0;
    for (int t = 0; t < total; t += 4) {
        pthread_t th[4];
        for (int j = 0; j < 4; j++)
            assert_int_equal(pthread_create(&th[j], NULL, short_reader, &c), 0);
        flap(c.ring, step++);
        flap(c.ring, step++);
        for (int j = 0; j < 4; j++) {
            void *ret = (void *)9;
            assert_int_equal(pthread_join(th[j], &ret), 0);
            assert_ptr_equal(ret, NULL);
        }
    }
    assert_int_equal(atomic_load(&c.reads), (unsigned long)((total + 3) / 4 * 4 * 16));
    assert_true(slots_owned() <= before);
    of_ring_destroy(c.ring);
}

/* A fork child reads and writes with two threads: every read is right and no barrier fails
 * (reclaim.c registers the child for membarrier again; the kernels tried keep it anyway). */
static void fork_child_keeps_a_barrier(void **state)
{
    (void)state;
    of_ring *r = ring_with_nodes(4);
    assert_int_equal(check_lookup(r, 1), 0); /* this thread holds a slot before the fork */
    size_t owned;
    unsigned long fail_parent;
    int asym_parent;
    ofi_ring_hazard_counts(&owned, &fail_parent, &asym_parent);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static churn c;
        c.ring = r;
        atomic_init(&c.stop, 0);
        atomic_init(&c.reads, 0);
        pthread_t th;
        if (pthread_create(&th, NULL, reader, &c) != 0)
            _exit(10);
        for (int i = 0; i < (under_valgrind() ? 50 : 1000); i++) {
            if (i % 2 == 0 ? of_ring_add(r, "flapper", 7, 2, 1000) != OF_OK
                           : of_ring_remove(r, "flapper", 7) != OF_OK)
                _exit(11);
            if (check_lookup(r, (unsigned)i) != 0)
                _exit(12);
        }
        atomic_store(&c.stop, 1);
        void *ret = (void *)9;
        if (pthread_join(th, &ret) != 0 || ret != NULL)
            _exit(13);
        unsigned long fail_child;
        int asym_child; /* registered again, or fallen back to fenced reads: either is right */
        ofi_ring_hazard_counts(&owned, &fail_child, &asym_child);
        if (fail_child != fail_parent)
            _exit(14);
        of_ring_destroy(r);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    of_ring_destroy(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(held_snapshot_survives_writes),
        cmocka_unit_test(destroy_frees_held_snapshots),
    };
    const struct CMUnitTest concurrency[] = {
        cmocka_unit_test(readers_nested_reads_and_writer),
        cmocka_unit_test(threads_come_and_go),
        cmocka_unit_test(fork_child_keeps_a_barrier),
    };
    if (argc > 1 && strcmp(argv[1], "concurrency") == 0)
        return cmocka_run_group_tests_name("ring-reclaim-concurrency", concurrency, NULL, NULL);
    return cmocka_run_group_tests_name("ring-reclaim", unit, NULL, NULL);
}
