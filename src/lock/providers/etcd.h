/* Internals of the etcd provider shared with its tests: the provider state and its vtable steps,
 * callable directly on a `self`. Built only with libcurl and jansson. */
#ifndef OPENFAULT_SRC_LOCK_PROVIDERS_ETCD_H
#define OPENFAULT_SRC_LOCK_PROVIDERS_ETCD_H

#include <pthread.h>
#include <stdatomic.h>

#include <openfault/lock.h>
#include <openfault/lock_etcd.h>

#include "lock/providers/etcd_config.h"
#include "lock/providers/etcd_http.h"

#define OFI_ETCD_LEASE_BUCKETS 64

/* What this provider knows about a lease it granted for one owner token. */
typedef struct ofi_etcd_lease ofi_etcd_lease;

typedef struct ofi_etcd_provider {
    ofi_etcd_client client;
    pthread_mutex_t mu; /* guards the lease table */
    ofi_etcd_lease *leases[OFI_ETCD_LEASE_BUCKETS];
    size_t lease_count;
    uint64_t id_key;    /* secret per provider: lease ids are unpredictable and unique */
    atomic_uint_fast64_t id_seq;
} ofi_etcd_provider;

/* Wrap a new provider for @p cfg (moved into it on success) in the engine. */
int ofi_etcd_provider_create(ofi_etcd_config *cfg, of_lock_provider **out_provider);

/* The key of @p name: prefix ‖ name, base64 (free() it); NULL on no memory. */
char *ofi_etcd_key_b64(const ofi_etcd_provider *p, const void *name, size_t name_len);

/* Number of leases the provider is tracking (for tests). */
size_t ofi_etcd_lease_count(ofi_etcd_provider *p);

#endif
