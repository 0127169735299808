/* Per-thread error detail (of_last_error_detail) and the helpers every module uses to fail. */
#ifndef OPENFAULT_SRC_COMMON_ERROR_H
#define OPENFAULT_SRC_COMMON_ERROR_H

#include <openfault/common.h>

#if defined(__GNUC__)
#define OFI_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))
#else
#define OFI_PRINTF(fmt_idx, first_arg)
#endif

/* Identity, so that `ofi_fail(...);` used as a statement (its status ignored) draws no
 * unused-value warning. */
static inline int ofi_status(int status)
{
    return status;
}

/* Record printf-style detail for the calling thread's failed call (of_last_error_detail). */
void ofi_set_detail(const char *fmt, ...) OFI_PRINTF(1, 2);

/* Record detail for the calling thread's failed call and return @p status, so a failure reads
 * `return ofi_fail(OF_ERR_INVALID, "ttl %u out of range", ttl);`. Successful calls leave the
 * detail alone: it describes the last *failed* call, like dlerror(). A macro rather than a
 * function so that the returned status is visible at the call site: static analyzers then know
 * that a failing helper does not return OF_OK and stop following impossible "failed, yet
 * carried on" paths. @p status is evaluated once, after the detail is stored. */
#define ofi_fail(status, ...) (ofi_set_detail(__VA_ARGS__), ofi_status(status))

/* Record an empty detail for the calling thread's failed call, so an older one is never
 * misattributed. */
void ofi_clear_detail(void);

/* Same as ofi_fail, without detail text. */
#define ofi_fail_plain(status) (ofi_clear_detail(), ofi_status(status))

/* Copy of the calling thread's current detail, for code that must fail with it later. */
const char *ofi_error_detail(void);

#endif
