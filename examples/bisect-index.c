/* Shows: of_index_create, of_index_build, of_index_insert_right, of_index_lower_bound,
 *        of_index_ceiling_wrap, of_index_freeze, of_index_frozen_lower_bound */
#include <stdint.h>
#include <stdio.h>

#include <openfault/openfault.h>

#include "check.h"

int main(void)
{
    const uint64_t keys[] = {50, 10, 40, 30}; /* unsorted input */
    size_t n = 4;
    uint64_t h = 45;

    of_index *ix = NULL;
    CHECK(of_index_create(0, &ix));
    CHECK(of_index_build(ix, keys, NULL, n));   /* payloads NULL: payload = input position (argsort) */
    CHECK(of_index_insert_right(ix, 42, 7, NULL));
    size_t pos;
    CHECK(of_index_lower_bound(ix, 40, &pos));    /* number of keys < 40 */
    printf("keys below 40: %zu\n", pos);
    uint64_t key, payload;
    CHECK(of_index_ceiling_wrap(ix, h, NULL, &key, &payload)); /* first key >= h, else the first key */
    printf("ceiling_wrap(45) = key %llu, payload %llu\n", (unsigned long long)key,
           (unsigned long long)payload);
    CHECK(of_index_ceiling_wrap(ix, 60, NULL, &key, &payload));
    printf("ceiling_wrap(60) = key %llu (wrapped)\n", (unsigned long long)key);

    /* A frozen copy answers the same questions from a read-optimised layout. */
    of_index_frozen *frozen = NULL;
    CHECK(of_index_freeze(ix, &frozen));
    size_t frozen_pos;
    CHECK(of_index_frozen_lower_bound(frozen, 40, &frozen_pos));
    printf("frozen keys below 40: %zu\n", frozen_pos);

    of_index_frozen_destroy(frozen);
    of_index_destroy(ix);
    return frozen_pos == pos ? 0 : 1;
}
