/* CLOCK_MONOTONIC helpers: every deadline and valid_until in the library is on this clock. */
#ifndef OPENFAULT_SRC_COMMON_CLOCK_H
#define OPENFAULT_SRC_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

#define OFI_NS_PER_MS INT64_C(1000000)
#define OFI_NS_PER_SEC INT64_C(1000000000)

static inline int64_t ofi_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * OFI_NS_PER_SEC + ts.tv_nsec;
}

/* A monotonic reading that is never later than ofi_now_ns() (it is the last tick's timestamp of
 * the same clock), cheaper to read. Good as a conservative "send time" for lease validity. */
static inline int64_t ofi_now_coarse_ns(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (int64_t)ts.tv_sec * OFI_NS_PER_SEC + ts.tv_nsec;
#endif
    return ofi_now_ns();
}

/* Saturating a + b for times in ns (b may be negative): deadlines far away clamp to INT64_MAX,
 * which every wait treats as "forever", instead of wrapping into the past. */
static inline int64_t ofi_add_sat_ns(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* Saturating now + ms, for deadlines computed from user-supplied int64 milliseconds. */
int64_t ofi_deadline_after_ms(int64_t now_ns, int64_t ms);

/* Sleep until the absolute monotonic time @p until_ns (returns early only never; EINTR resumes). */
void ofi_sleep_until_ns(int64_t until_ns);

/* Fill a timespec for pthread_cond_timedwait on a condvar set to CLOCK_MONOTONIC. */
struct timespec ofi_timespec_from_ns(int64_t ns);

#endif
