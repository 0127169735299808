#include "common/hash.h"

#include <openfault/common.h>

OF_API uint64_t of_hash64(const void *data, size_t len, uint64_t seed)
{
    if (data == NULL)
        len = 0; /* documented: NULL hashes as the empty input rather than crashing */
    return ofi_hash64(data, len, seed);
}
