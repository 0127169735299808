/* Server sets and keys shared by vectors.c (the library, on any target) and ketama-libmemcached.c
 * (Debian's libmemcached, on the build machine): both print one line per key, "set key owner",
 * owner being the server's insertion index, so their outputs compare with diff. */
#ifndef OPENFAULT_TESTS_CROSS_KETAMA_SETS_H
#define OPENFAULT_TESTS_CROSS_KETAMA_SETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { KS_KEYS = 4000, KS_MAX_SERVERS = 100 };

/* Both libmemcached ketamas: MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED and MEMCACHED_BEHAVIOR_KETAMA
 * (OF_RING_KETAMA_UNWEIGHTED), the first word of each output line. */
enum { KS_WEIGHTED, KS_UNWEIGHTED, KS_MODES };
static const char *const ks_mode_name[KS_MODES] = {"ketama", "ketama-unweighted"};

typedef struct ks_server {
    char host[64];
    unsigned port;
    uint32_t weight;
} ks_server;

typedef struct ks_set {
    size_t n;
    int sort_hosts;
    ks_server srv[KS_MAX_SERVERS];
} ks_set;

/* splitmix64: the same stream on every target. */
static inline uint64_t ks_rnd(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Set @p which (0 .. KS_SETS - 1): equal and unequal weights (0 counts as 1; unweighted ignores
 * them), default and other ports, IPv6 hosts, the float-quirk sizes 25/47/50/100 and SORT_HOSTS.
 * Every 4th key has bytes >= 0x80, which one-at-a-time (unweighted) reads as signed char. */
enum { KS_SETS = 9 };

static inline void ks_make_set(int which, ks_set *s)
{
    static const size_t equal_n[] = {1, 3, 25, 47, 100};
    uint64_t st = 0x5851f42d4c957f2du + (uint64_t)which;
    memset(s, 0, sizeof *s);
    if (which < 5) {
        s->n = equal_n[which];
        for (size_t i = 0; i < s->n; i++) {
            snprintf(s->srv[i].host, sizeof s->srv[i].host, "10.0.%zu.%zu", i / 200, i % 200 + 1);
            s->srv[i].port = which == 4 ? 11300 : 11211;
            s->srv[i].weight = 1;
        }
    } else if (which < 7) {
        s->n = which == 5 ? 37 : 100;
        for (size_t i = 0; i < s->n; i++) {
            snprintf(s->srv[i].host, sizeof s->srv[i].host, "cache-%llx.example",
                     (unsigned long long)(ks_rnd(&st) & 0xffffff));
            s->srv[i].port = ks_rnd(&st) % 3 == 0 ? 11211 : 1024 + (unsigned)(ks_rnd(&st) % 60000);
            s->srv[i].weight = (uint32_t)(ks_rnd(&st) % 10);
        }
    } else if (which == 7) {
        static const ks_server v6[6] = {{"::1", 11211, 1},         {"fe80::1", 11211, 2},
                                        {"2001:db8::5", 11300, 1}, {"192.168.1.1", 11211, 3},
                                        {"2001:db8::6", 11211, 1}, {"cache", 11212, 1}};
        s->n = 6;
        memcpy(s->srv, v6, sizeof v6);
    } else {
        s->n = 40;
        s->sort_hosts = 1;
        for (size_t i = 0; i < s->n; i++) {
            snprintf(s->srv[i].host, sizeof s->srv[i].host, "h%llu",
                     (unsigned long long)(ks_rnd(&st) % 20));
            s->srv[i].port = 11211 + (unsigned)i;
            s->srv[i].weight = 1 + (uint32_t)(ks_rnd(&st) % 4);
        }
    }
}

/* Key @p k of set @p which into @p key (>= 49 bytes); returns its length. Every 4th key is
 * binary (bytes 1..255). */
static inline size_t ks_key(int which, unsigned k, char *key)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789:_-";
    uint64_t st = ((uint64_t)which << 32) ^ k ^ 0x243f6a8885a308d3u;
    size_t len = 1 + ks_rnd(&st) % 48;
    for (size_t j = 0; j < len; j++)
        key[j] = k % 4 == 0 ? (char)(ks_rnd(&st) % 255 + 1) : alnum[ks_rnd(&st) % 39];
    return len;
}

/* The ring id of server @p i: host, host:port or [v6]:port (port 11211 written or not). */
static inline void ks_id(const ks_server *s, size_t i, char *id, size_t cap)
{
    int v6 = strchr(s->host, ':') != NULL;
    if (s->port == 11211 && i % 2 == 0)
        snprintf(id, cap, v6 ? "[%s]" : "%s", s->host);
    else
        snprintf(id, cap, v6 ? "[%s]:%u" : "%s:%u", s->host, s->port);
}

#endif
