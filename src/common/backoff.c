#include "common/backoff.h"

#include "common/clock.h"

uint64_t ofi_backoff_ceiling_ms(uint32_t base_ms, uint32_t cap_ms, uint32_t attempt)
{
    if (base_ms == 0)
        return 0;
    /* base_ms < 2^32, so shifts up to 31 stay below 2^63; beyond that the cap has long won. */
    uint32_t shift = attempt < 31 ? attempt : 31;
    uint64_t ceil_ms = (uint64_t)base_ms << shift;
    return ceil_ms < cap_ms ? ceil_ms : (cap_ms ? cap_ms : 1);
}

int64_t ofi_backoff_full_ns(uint64_t ceiling_ms, uint64_t *rng)
{
    uint64_t ceil_ns = ceiling_ms * (uint64_t)OFI_NS_PER_MS;
    return (int64_t)(ofi_splitmix64(rng) % (ceil_ns + 1));
}

int64_t ofi_backoff_equal_ns(uint64_t ceiling_ms, uint64_t *rng)
{
    uint64_t ceil_ns = ceiling_ms * (uint64_t)OFI_NS_PER_MS;
    return (int64_t)(ceil_ns / 2 + ofi_splitmix64(rng) % (ceil_ns / 2 + 1));
}
