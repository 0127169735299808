/* Shared lock steps (see lock-cases.h). */
#include "lock-cases.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

void test_lock_busy_rounds(of_lock_provider *p, const char *name, int rounds)
{
    size_t len = strlen(name);
    of_lock_options o;
    of_lock_options_init(&o, sizeof o);
    o.ttl_ms = 5000;
    for (int i = 0; i < rounds; i++) {
        of_lock *a = NULL, *b = NULL;
        assert_int_equal(of_lock_acquire(p, name, len, &o, &a), OF_OK);
        assert_int_equal(of_lock_acquire(p, name, len, &o, &b), OF_ERR_BUSY);
        assert_int_equal(of_lock_extend(a, 5000), OF_OK);
        assert_int_equal(of_lock_release(a), OF_OK);
    }
}
