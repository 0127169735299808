/* Shows: of_ring_options_init, of_ring_create, of_ring_add, of_ring_lookup, of_ring_lookup_n */
#include <stdio.h>

#include <openfault/openfault.h>

#include "check.h"

int main(void)
{
    of_ring_options opts;
    CHECK(of_ring_options_init(&opts, sizeof opts)); /* native mode, 1024 vnodes, seed 0 */
    of_ring *ring = NULL;
    CHECK(of_ring_create(&opts, &ring));
    CHECK(of_ring_add(ring, "cache-a", 7, 1, /*tag*/ 0));
    CHECK(of_ring_add(ring, "cache-b", 7, 2, /*tag*/ 1)); /* twice the share of cache-a */
    CHECK(of_ring_add(ring, "cache-c", 7, 1, /*tag*/ 2));

    /* The tag is whatever the caller chose at add time: here an index into its own table. */
    uint64_t tag;
    CHECK(of_ring_lookup(ring, "user:42", 7, &tag, NULL, 0, NULL));
    printf("user:42 -> tag %llu\n", (unsigned long long)tag);

    /* Or the node's id, copied into a caller buffer. */
    char id[64];
    size_t id_len;
    CHECK(of_ring_lookup(ring, "user:42", 7, NULL, id, sizeof id, &id_len));
    printf("user:42 -> %.*s\n", (int)id_len, id);

    /* Two distinct nodes in clockwise order: where the key and its replica live. */
    uint64_t replicas[2];
    CHECK(of_ring_lookup_n(ring, "user:42", 7, 2, replicas));
    printf("user:42 replicas: tags %llu, %llu\n", (unsigned long long)replicas[0],
           (unsigned long long)replicas[1]);

    of_ring_destroy(ring);
    return 0;
}
