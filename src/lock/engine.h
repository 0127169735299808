/* Internal hooks of the lock engine for the in-tree tests (providers use only <openfault/lock.h>:
 * of_lock_provider_self() and of_lock_provider_pause_renewals() are public). */
#ifndef OPENFAULT_SRC_LOCK_ENGINE_H
#define OPENFAULT_SRC_LOCK_ENGINE_H

#include <openfault/lock.h>

/* The `self` a provider was created with, whatever its implementation. */
void *ofi_lock_provider_self(const of_lock_provider *provider);

/* Number of unknown-outcome cleanups still queued (for tests). */
size_t ofi_lock_provider_cleanup_pending(of_lock_provider *provider);

/* For an in-process provider whose tokens never leave this process and are only compared for
 * equality (the local provider): from now on the engine passes it a cheap id, unique among this
 * provider's acquisitions, in place of the 128-bit token, and derives the unguessable token from
 * the same generator index only when of_lock_token_get() asks. Call before the first acquire. */
void ofi_lock_provider_use_private_tokens(of_lock_provider *provider);

#endif
