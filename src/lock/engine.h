/* Internal hooks of the lock engine for the in-tree tests (providers use only <openfault/lock.h>:
 * of_lock_provider_self() and of_lock_provider_pause_renewals() are public). */
#ifndef OPENFAULT_SRC_LOCK_ENGINE_H
#define OPENFAULT_SRC_LOCK_ENGINE_H

#include <openfault/lock.h>

/* The `self` a provider was created with, whatever its implementation. */
void *ofi_lock_provider_self(const of_lock_provider *provider);

/* Number of unknown-outcome cleanups still queued (for tests). */
size_t ofi_lock_provider_cleanup_pending(of_lock_provider *provider);

#endif
