#include "common/clock.h"

#include <errno.h>

#include <openfault/common.h>

OF_API int64_t of_clock_monotonic_ns(void)
{
    return ofi_now_ns();
}

int64_t ofi_deadline_after_ms(int64_t now_ns, int64_t ms)
{
    if (ms < 0)
        return INT64_MAX;
    if (ms > (INT64_MAX - now_ns) / OFI_NS_PER_MS)
        return INT64_MAX;
    return now_ns + ms * OFI_NS_PER_MS;
}

struct timespec ofi_timespec_from_ns(int64_t ns)
{
    struct timespec ts;
    if (ns < 0)
        ns = 0;
    ts.tv_sec = (time_t)(ns / OFI_NS_PER_SEC);
    ts.tv_nsec = (long)(ns % OFI_NS_PER_SEC);
    return ts;
}

void ofi_sleep_until_ns(int64_t until_ns)
{
    struct timespec ts = ofi_timespec_from_ns(until_ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}
