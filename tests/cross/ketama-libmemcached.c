/* The reference side of the cross-endian ketama check: Debian's libmemcached
 * (memcached_generate_hash, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, then MEMCACHED_BEHAVIOR_KETAMA)
 * on the build machine, for the
 * sets and keys of ketama-sets.h, in the format `vectors ketama` prints. libmemcached is not
 * installable for the big-endian target, so the target's output is compared with this one. */
#include <stdio.h>
#include <stdlib.h>

#include <libmemcached/memcached.h>

#include "ketama-sets.h"

int main(void)
{
    for (int mode = 0; mode < KS_MODES; mode++)
    for (int w = 0; w < KS_SETS; w++) {
        ks_set s;
        ks_make_set(w, &s);
        memcached_st *mc = memcached_create(NULL);
        if (mc == NULL ||
            (mode == KS_WEIGHTED &&
             memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS) ||
            (s.sort_hosts &&
             memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SORT_HOSTS, 1) != MEMCACHED_SUCCESS)) {
            fprintf(stderr, "libmemcached set-up failed\n");
            return 1;
        }
        for (size_t i = 0; i < s.n; i++)
            if (memcached_server_add_with_weight(mc, s.srv[i].host, (in_port_t)s.srv[i].port,
                                                 s.srv[i].weight) != MEMCACHED_SUCCESS) {
                fprintf(stderr, "set %d: adding server %zu failed\n", w, i);
                return 1;
            }
        /* Unweighted: set after the servers, as a server of weight > 1 added to a client already
         * in ketama mode turns weighted points on (libmemcached hosts.cc server_add). */
        if (mode == KS_UNWEIGHTED &&
            (memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA, 1) != MEMCACHED_SUCCESS ||
             memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) != 0)) {
            fprintf(stderr, "set %d: unweighted ketama set-up failed\n", w);
            return 1;
        }
        for (unsigned k = 0; k < KS_KEYS; k++) {
            char key[64];
            size_t len = ks_key(w, k, key);
            printf("%s %d %u %u\n", ks_mode_name[mode], w, k,
                   (unsigned)memcached_generate_hash(mc, key, len));
        }
        memcached_free(mc);
    }
    return 0;
}
