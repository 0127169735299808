/* Per-thread error detail (of_last_error_detail) and the helpers every module uses to fail. */
#ifndef OPENFAULT_SRC_COMMON_ERROR_H
#define OPENFAULT_SRC_COMMON_ERROR_H

#include <openfault/common.h>

#if defined(__GNUC__)
#define OFI_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))
#else
#define OFI_PRINTF(fmt_idx, first_arg)
#endif

/* Record detail for the calling thread's failed call and return @p status, so a failure reads
 * `return ofi_fail(OF_ERR_INVALID, "ttl %u out of range", ttl);`. Successful calls leave the
 * detail alone: it describes the last *failed* call, like dlerror(). */
int ofi_fail(int status, const char *fmt, ...) OFI_PRINTF(2, 3);

/* Same, without detail text (clears any older detail so it is never misattributed). */
int ofi_fail_plain(int status);

/* Copy of the calling thread's current detail, for code that must fail with it later. */
const char *ofi_error_detail(void);

#endif
