/* Shows: of_bisect_left_u64, of_bisect_right_u64, of_insort_left_u64 (Python's bisect in C) */
#include <stdint.h>
#include <stdio.h>

#include <openfault/openfault.h>

#include "check.h"

int main(void)
{
    uint64_t a[8] = {10, 20, 20, 30}; /* sorted; capacity 8, 4 in use */
    size_t count = 4, capacity = 8;
    uint64_t x = 20;

    size_t pos;
    CHECK(of_bisect_left_u64(a, count, x, 0, count, &pos));   /* bisect.bisect_left(a, x) */
    printf("bisect_left(a, 20) = %zu\n", pos);
    size_t lo = 0, hi = 2;
    CHECK(of_bisect_right_u64(a, count, x, lo, hi, &pos));    /* bisect.bisect_right(a, x, lo, hi) */
    printf("bisect_right(a, 20, 0, 2) = %zu\n", pos);
    x = 25;
    CHECK(of_insort_left_u64(a, capacity, &count, x, 0, count, &pos)); /* bisect.insort_left */
    printf("insort_left(a, 25) at %zu:", pos);
    for (size_t i = 0; i < count; i++)
        printf(" %llu", (unsigned long long)a[i]);
    printf("\n");

    /* A full array is refused, not overrun: the caller owns the capacity. */
    count = capacity;
    int rc = of_insort_left_u64(a, capacity, &count, x, 0, count, &pos);
    printf("insort into a full array: %s\n", of_status_name(rc));
    return rc == OF_ERR_NOSPACE ? 0 : 1;
}
