// The baseline of bench-bisect: libstdc++ std::lower_bound over the same sorted array, inlined
// into its loop as a user would write it. The only C++ in the benchmark.
#include <algorithm>
#include <cstddef>
#include <cstdint>

extern "C" uint64_t ofb_std_lower_bound_sum(const uint64_t *a, size_t n, const uint64_t *queries,
                                            size_t count);

extern "C" uint64_t ofb_std_lower_bound_sum(const uint64_t *a, size_t n, const uint64_t *queries,
                                            size_t count)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += static_cast<uint64_t>(std::lower_bound(a, a + n, queries[i]) - a);
    return sum;
}
