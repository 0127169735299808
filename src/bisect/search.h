/* Internal search kernels shared by the bisect module and the ring's point search. */
#ifndef OPENFAULT_SRC_BISECT_SEARCH_H
#define OPENFAULT_SRC_BISECT_SEARCH_H

#include <stddef.h>
#include <stdint.h>

/* Windows larger than this many elements prefetch the two candidates of the step after next.
 * Below it the rest of the window is a few cache lines that the first probes already touched,
 * and the prefetch instructions would only cost issue slots. */
#define OFI_SEARCH_PREFETCH_MIN 32
/* Arrays up to this many elements (16 KiB) sit in L1/L2 after a few lookups: no prefetching. */
#define OFI_SEARCH_PREFETCH_FROM 2048

/* All ones when @p cond holds, else 0, as a value the optimiser cannot see through: clang 14
 * turns `x & -(a < b)` back into a conditional branch (notes/search-layouts.md), which costs a
 * misprediction per level on random keys. The empty asm only launders the register. */
static inline size_t ofi_mask_if(int cond)
{
    size_t m = (size_t)0 - (size_t)cond;
#if defined(__GNUC__)
    __asm__("" : "+r"(m));
#endif
    return m;
}

/* Branch-free binary search. Why this shape (notes/search-layouts.md): a conditional move alone
 * loses 2x to a branchy loop once the array leaves L2, because the CPU can no longer speculate
 * the next load; prefetching both possible probes of the *following* step restores that overlap
 * without the mispredictions. The select is a laundered mask (ofi_mask_if) so that neither gcc
 * nor clang turns it back into a branch. BEFORE(e, x) is "element e sorts before the answer". */
#define OFI_DEFINE_BOUND(name, T, BEFORE)                                                          \
    static inline size_t name(const T *a, size_t lo, size_t hi, T x)                              \
    {                                                                                              \
        size_t n = hi - lo;                                                                        \
        if (n == 0) /* before any pointer arithmetic: a may be NULL (nothing allocated yet) */     \
            return lo;                                                                             \
        const T *base = a + lo;                                                                    \
        while (n > OFI_SEARCH_PREFETCH_MIN && hi - lo > OFI_SEARCH_PREFETCH_FROM) {               \
            size_t half = n / 2;                                                                   \
            n -= half;                                                                             \
            size_t half1 = n / 2, half2 = (n - half1) / 2;                                         \
            __builtin_prefetch(base + half2 - 1);                                                  \
            __builtin_prefetch(base + half1 + half2 - 1);                                          \
            __builtin_prefetch(base + half + half2 - 1);                                           \
            __builtin_prefetch(base + half + half1 + half2 - 1);                                   \
            base += half & ofi_mask_if(BEFORE(base[half - 1], x));                                 \
        }                                                                                          \
        while (n > 1) {                                                                            \
            size_t half = n / 2;                                                                   \
            n -= half;                                                                             \
            base += half & ofi_mask_if(BEFORE(base[half - 1], x));                                 \
        }                                                                                          \
        return (size_t)(base - a) + (size_t)(BEFORE(*base, x));                                    \
    }

#define OFI_BEFORE_LT(e, x) ((e) < (x))
#define OFI_BEFORE_LE(e, x) ((e) <= (x))

/* First index i in [lo, hi) with a[i] >= x, or hi if none (Python bisect_left on a[lo:hi]).
 * The caller guarantees lo <= hi and a sorted ascending; a may be NULL when lo == hi. */
OFI_DEFINE_BOUND(ofi_lower_bound_u64, uint64_t, OFI_BEFORE_LT)

/* First index i in [lo, hi) with a[i] > x, or hi if none (Python bisect_right on a[lo:hi]). */
OFI_DEFINE_BOUND(ofi_upper_bound_u64, uint64_t, OFI_BEFORE_LE)

#endif
