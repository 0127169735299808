/* The ketama mode against Debian's libmemcached: the same server index as memcached_generate_hash
 * for >= 10,000 random keys per server set, for both libmemcached ketamas:
 *   weighted    MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, against OF_RING_KETAMA;
 *   unweighted  MEMCACHED_BEHAVIOR_KETAMA, against OF_RING_KETAMA | OF_RING_KETAMA_UNWEIGHTED.
 * Sets: equal and unequal weights (unweighted must ignore them), default and other ports, IPv6
 * hosts, n up to 100 (libmemcached aborts above 100), insertion order and SORT_HOSTS; keys
 * include bytes >= 0x80 (one-at-a-time reads them as signed char). No server needs to run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmemcached/memcached.h>

#include <openfault/openfault.h>

#include "common/backoff.h"

/* >= 10,000 keys per server set natively; fewer under valgrind (same code paths, 50x slower). */
static unsigned nkeys(void)
{
    return getenv("OF_UNDER_VALGRIND") ? 2000 : 10000;
}

static uint64_t rng_state = 0x5851f42d4c957f2du;

static uint64_t rnd(void)
{
    return ofi_splitmix64(&rng_state);
}

typedef struct server {
    char host[64];
    unsigned port;
    uint32_t weight;
} server;

typedef struct index_map {
    uint64_t tag_to_index[128];
    uint32_t next;
} index_map;

static int map_index(void *ctx, const void *id, size_t id_len, uint32_t weight, uint64_t tag)
{
    (void)id;
    (void)id_len;
    (void)weight;
    index_map *m = ctx;
    m->tag_to_index[tag] = m->next++;
    return 0;
}

enum { WEIGHTED, UNWEIGHTED };

/* Build both from @p srv (ids written as host, host:port or [v6]:port), compare @p keys keys. */
static void compare_mode(const server *srv, size_t n, int sort_hosts, unsigned keys, int mode)
{
    memcached_st *mc = memcached_create(NULL);
    assert_non_null(mc);
    if (mode == WEIGHTED)
        assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1),
                         MEMCACHED_SUCCESS);
    if (sort_hosts)
        assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SORT_HOSTS, 1),
                         MEMCACHED_SUCCESS);
    of_ring_options o;
    assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
    o.algorithm = OF_RING_KETAMA;
    o.flags = (sort_hosts ? OF_RING_SORT_HOSTS : 0) | (mode == UNWEIGHTED ? OF_RING_KETAMA_UNWEIGHTED : 0);
    of_ring *r = NULL;
    assert_int_equal(of_ring_create(&o, &r), OF_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(memcached_server_add_with_weight(mc, srv[i].host, (in_port_t)srv[i].port,
                                                          srv[i].weight),
                         MEMCACHED_SUCCESS);
        char id[96];
        int v6 = strchr(srv[i].host, ':') != NULL;
        if (srv[i].port == 11211 && (i % 2 == 0))
            snprintf(id, sizeof id, v6 ? "[%s]" : "%s", srv[i].host);
        else
            snprintf(id, sizeof id, v6 ? "[%s]:%u" : "%s:%u", srv[i].host, srv[i].port);
        assert_int_equal(of_ring_add(r, id, strlen(id), srv[i].weight, i), OF_OK);
    }
    if (mode == UNWEIGHTED) {
        /* After the servers: adding one of weight > 1 to a client already in ketama mode would
         * switch libmemcached to weighted points (hosts.cc server_add), a mix not offered. */
        assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA, 1),
                         MEMCACHED_SUCCESS);
        assert_int_equal(memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), 0);
        assert_int_equal(memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_HASH),
                         MEMCACHED_HASH_DEFAULT);
    }
    index_map m = {{0}, 0};
    assert_int_equal(of_ring_foreach(r, map_index, &m), OF_OK);
    assert_int_equal(m.next, n);
    unsigned mismatches = 0;
    for (unsigned k = 0; k < keys; k++) {
        char key[64];
        size_t len = 1 + rnd() % 48;
        for (size_t j = 0; j < len; j++)
        {
            static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789:_-";
            /* every 4th key is binary (no NUL: libmemcached is given the length anyway) */
            key[j] = k % 4 == 0 ? (char)(rnd() % 255 + 1) : alnum[rnd() % 39];
        }
        uint32_t want = memcached_generate_hash(mc, key, len);
        uint64_t tag = UINT64_MAX;
        assert_int_equal(of_ring_lookup(r, key, len, &tag, NULL, 0, NULL), OF_OK);
        mismatches += m.tag_to_index[tag] != want;
    }
    if (mismatches)
        print_error("%u of %u keys differ (n = %zu, sort = %d, %s)\n", mismatches, keys, n,
                    sort_hosts, mode == WEIGHTED ? "weighted" : "unweighted");
    assert_int_equal(mismatches, 0);
    of_ring_destroy(r);
    memcached_free(mc);
}

/* Every set is checked under both ketamas. */
static void compare(const server *srv, size_t n, int sort_hosts, unsigned keys)
{
    compare_mode(srv, n, sort_hosts, keys, WEIGHTED);
    compare_mode(srv, n, sort_hosts, keys, UNWEIGHTED);
}

static void equal_set(server *srv, size_t n, unsigned port)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(srv[i].host, sizeof srv[i].host, "10.0.%zu.%zu", i / 200, i % 200 + 1);
        srv[i].port = port;
        srv[i].weight = 1;
    }
}

static void ketama_equal_weights_default_port(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 2, 3, 10, 25, 47, 50, 64, 100};
    server srv[100];
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        equal_set(srv, ns[i], 11211);
        compare(srv, ns[i], 0, nkeys());
    }
}

static void ketama_equal_weights_other_port(void **state)
{
    (void)state;
    server srv[100];
    equal_set(srv, 100, 11300);
    compare(srv, 100, 0, nkeys());
    equal_set(srv, 7, 22122);
    compare(srv, 7, 0, nkeys());
}

static void ketama_unequal_weights_mixed_ports(void **state)
{
    (void)state;
    server srv[100];
    for (int round = 0; round < 4; round++) {
        size_t n = round == 3 ? 100 : 5 + (size_t)(rnd() % 60);
        for (size_t i = 0; i < n; i++) {
            snprintf(srv[i].host, sizeof srv[i].host, "cache-%llx.example",
                     (unsigned long long)(rnd() & 0xffffff));
            srv[i].port = rnd() % 3 == 0 ? 11211 : 1024 + (unsigned)(rnd() % 60000);
            srv[i].weight = (uint32_t)(rnd() % 10); /* includes 0, which counts as 1 */
        }
        compare(srv, n, 0, nkeys());
    }
}

static void ketama_ipv6_hosts(void **state)
{
    (void)state;
    server srv[6] = {{"::1", 11211, 1},        {"fe80::1", 11211, 2}, {"2001:db8::5", 11300, 1},
                     {"192.168.1.1", 11211, 3}, {"2001:db8::6", 11211, 1}, {"cache", 11212, 1}};
    compare(srv, 6, 0, nkeys());
}

static void ketama_sort_hosts(void **state)
{
    (void)state;
    server srv[40];
    for (size_t i = 0; i < 40; i++) {
        snprintf(srv[i].host, sizeof srv[i].host, "h%llu", (unsigned long long)(rnd() % 20));
        srv[i].port = 11211 + (unsigned)i;
        srv[i].weight = 1 + (uint32_t)(rnd() % 4);
    }
    compare(srv, 40, 1, nkeys());
    compare(srv, 40, 0, nkeys());
}

/* Host names with bytes >= 0x80 (UTF-8): the point strings hash them as signed char too. */
static void ketama_non_ascii_hosts(void **state)
{
    (void)state;
    server srv[4] = {{"caf\xc3\xa9.example", 11211, 1}, {"\xe6\x9d\xb1\xe4\xba\xac", 11300, 2},
                     {"plain", 11211, 1}, {"\xff\x80", 11212, 3}};
    compare(srv, 4, 0, nkeys());
}

/* Unweighted: weights do not place (same owners for any weights), and the two ketamas are
 * different placements (most keys move between them). */
static void ketama_unweighted_ignores_weights(void **state)
{
    (void)state;
    of_ring *r[3];
    for (int v = 0; v < 3; v++) {
        of_ring_options o;
        assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
        o.algorithm = OF_RING_KETAMA;
        o.flags = v < 2 ? OF_RING_KETAMA_UNWEIGHTED : 0;
        assert_int_equal(of_ring_create(&o, &r[v]), OF_OK);
        for (unsigned i = 0; i < 20; i++) {
            char id[32];
            snprintf(id, sizeof id, "10.1.0.%u:%u", i + 1, 11211 + i % 3);
            assert_int_equal(of_ring_add(r[v], id, strlen(id), v == 1 ? 1 + i % 7 : 1, i), OF_OK);
        }
    }
    unsigned moved = 0, keys = nkeys();
    for (unsigned k = 0; k < keys; k++) {
        char key[32];
        size_t len = (size_t)snprintf(key, sizeof key, "key:%u", k);
        uint64_t t[3];
        for (int v = 0; v < 3; v++)
            assert_int_equal(of_ring_lookup(r[v], key, len, &t[v], NULL, 0, NULL), OF_OK);
        assert_int_equal(t[0], t[1]);
        moved += t[0] != t[2];
    }
    assert_true(moved > keys / 2);
    assert_int_not_equal(of_ring_fingerprint(r[0]), of_ring_fingerprint(r[2]));
    /* A diff between the two would compare different key hashes: refused. */
    of_ring_view *a = NULL, *b = NULL;
    assert_int_equal(of_ring_view_take(r[0], &a), OF_OK);
    assert_int_equal(of_ring_view_take(r[2], &b), OF_OK);
    assert_int_equal(of_ring_diff(a, b, NULL, NULL, NULL), OF_ERR_INVALID);
    of_ring_view_release(a);
    of_ring_view_release(b);
    for (int v = 0; v < 3; v++)
        of_ring_destroy(r[v]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ketama_equal_weights_default_port),
        cmocka_unit_test(ketama_equal_weights_other_port),
        cmocka_unit_test(ketama_unequal_weights_mixed_ports),
        cmocka_unit_test(ketama_ipv6_hosts),
        cmocka_unit_test(ketama_sort_hosts),
        cmocka_unit_test(ketama_non_ascii_hosts),
        cmocka_unit_test(ketama_unweighted_ignores_weights),
    };
    return cmocka_run_group_tests_name("ring-ketama", tests, NULL, NULL);
}
