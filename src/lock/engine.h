/* Internal hooks of the lock engine for built-in providers and tests. */
#ifndef OPENFAULT_SRC_LOCK_ENGINE_H
#define OPENFAULT_SRC_LOCK_ENGINE_H

#include <openfault/lock.h>

/* The `self` a provider was created with. */
void *ofi_lock_provider_self(const of_lock_provider *provider);

/* Test hook: while paused, the renewal thread extends nothing (it still marks leases lost when
 * valid_until passes), so a test can let a lease run out under an auto-renewed handle. */
void ofi_lock_provider_pause_renewals(of_lock_provider *provider, int paused);

/* Number of unknown-outcome cleanups still queued (for tests). */
size_t ofi_lock_provider_cleanup_pending(of_lock_provider *provider);

#endif
