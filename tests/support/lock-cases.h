/* Lock steps several provider tests drive the same way, checked with cmocka's assertions (so a
 * failure fails the calling test case). Link cmocka to use them. */
#ifndef OPENFAULT_TESTS_LOCK_CASES_H
#define OPENFAULT_TESTS_LOCK_CASES_H

#include <openfault/lock.h>

/* @p rounds times on @p name, TTL 5 s: acquire (OF_OK), a second acquire finds it held
 * (OF_ERR_BUSY), extend by 5 s (OF_OK), release (OF_OK). A healthy provider's busy path. */
void test_lock_busy_rounds(of_lock_provider *p, const char *name, int rounds);

#endif
