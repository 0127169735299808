/**
 * @file openfault.h
 * @brief Umbrella header: `#include <openfault/openfault.h>` gives the whole public API.
 */
#ifndef OPENFAULT_OPENFAULT_H
#define OPENFAULT_OPENFAULT_H

#include <openfault/common.h>
#include <openfault/bisect.h>
#include <openfault/lock.h>
#include <openfault/lock_redis.h>
#include <openfault/lock_etcd.h>
#include <openfault/ring.h>

#endif /* OPENFAULT_OPENFAULT_H */
