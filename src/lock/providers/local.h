/* Internal hooks of the in-process provider (the public constructor is in lock.h). */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_LOCAL_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_LOCAL_H

#include <openfault/lock.h>

/* Test hook: make the current lease on @p name lapse now (as if its TTL had passed) and wake its
 * waiters, without touching the holder's handle. OF_OK, OF_ERR_NOT_FOUND when the name is not
 * held, OF_ERR_INVALID when @p provider is not a local provider. */
int ofi_lock_local_force_lapse(of_lock_provider *provider, const void *name, size_t name_len);

#endif
