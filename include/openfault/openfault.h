/**
 * @file openfault.h
 * @brief Umbrella header: `#include <openfault/openfault.h>` gives the whole public API.
 */
#ifndef OPENFAULT_OPENFAULT_H
#define OPENFAULT_OPENFAULT_H

#include <openfault/common.h>

#endif /* OPENFAULT_OPENFAULT_H */
