/* Internal search kernels shared by the bisect module and the ring's point search. */
#ifndef OPENFAULT_SRC_BISECT_SEARCH_H
#define OPENFAULT_SRC_BISECT_SEARCH_H

#include <stddef.h>
#include <stdint.h>

/* First index i in [lo, hi) with a[i] >= x, or hi if none (Python bisect_left on a[lo:hi]).
 * The caller guarantees lo <= hi and a sorted ascending. */
static inline size_t ofi_lower_bound_u64(const uint64_t *a, size_t lo, size_t hi, uint64_t x)
{
    size_t n = hi - lo;
    const uint64_t *base = a + lo;
    while (n > 1) {
        size_t half = n / 2;
        base = (base[half - 1] < x) ? base + half : base;
        n -= half;
    }
    return (size_t)(base - a) + (n == 1 && *base < x);
}

#endif
