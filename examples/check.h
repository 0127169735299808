/* The error check every example shares: print the call, the status and its detail, then exit.
 * Examples stay short by stopping at the first failure; a service would recover instead. */
#ifndef OPENFAULT_EXAMPLES_CHECK_H
#define OPENFAULT_EXAMPLES_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include <openfault/openfault.h>

#define CHECK(call)                                                                              \
    do {                                                                                         \
        int check_rc_ = (call);                                                                  \
        if (check_rc_ != OF_OK) {                                                                \
            fprintf(stderr, "%s:%d: %s: %s (%s) %s\n", __FILE__, __LINE__, #call,                \
                    of_strerror(check_rc_), of_status_name(check_rc_), of_last_error_detail());  \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

#endif
