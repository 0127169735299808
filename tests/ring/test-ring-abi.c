/* The options ABI seen from a later library: src/ring/ring.c built against a ring.h whose
 * of_ring_options has one more member (grown/openfault), called by a program built against the
 * first layout. That program must keep working; a struct larger than the library knows, or
 * smaller than the first layout, is OF_ERR_ABI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openfault/ring.h>

/* of_ring_options as the first release declared it. */
typedef struct options_v1 {
    uint32_t struct_size;
    uint32_t algorithm;
    uint32_t vnodes;
    uint32_t flags;
    uint64_t seed;
} options_v1;

_Static_assert(sizeof(of_ring_options) > sizeof(options_v1),
               "the grown ring.h must add a member (is the ABI 1 marker still in ring.h?)");
_Static_assert(offsetof(of_ring_options, seed) == offsetof(options_v1, seed),
               "members above the marker keep their places");

/* An old caller: its struct, exactly sizeof(options_v1) bytes on the heap so that ASan sees any
 * read or write past it. */
static void old_caller_init_and_create(void **state)
{
    (void)state;
    options_v1 *o = malloc(sizeof *o);
    assert_non_null(o);
    assert_int_equal(of_ring_options_init((of_ring_options *)o, sizeof *o), OF_OK);
    assert_int_equal(o->struct_size, sizeof *o);
    assert_int_equal(o->algorithm, OF_RING_NATIVE);
    assert_int_equal(o->vnodes, OF_RING_DEFAULT_VNODES);
    o->vnodes = 16;
    of_ring *r = NULL;
    assert_int_equal(of_ring_create((const of_ring_options *)o, &r), OF_OK);
    assert_int_equal(of_ring_add(r, "a", 1, 1, 7), OF_OK);
    uint64_t tag = 0;
    assert_int_equal(of_ring_lookup(r, "k", 1, &tag, NULL, 0, NULL), OF_OK);
    assert_int_equal(tag, 7);
    of_ring_destroy(r);
    free(o);
}

static void current_caller(void **state)
{
    (void)state;
    of_ring_options o;
    assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
    of_ring *r = NULL;
    assert_int_equal(of_ring_create(&o, &r), OF_OK);
    of_ring_destroy(r);
    assert_int_equal(of_ring_options_size(), sizeof(of_ring_options));
}

static void sizes_outside_the_range(void **state)
{
    (void)state;
    unsigned char buf[sizeof(of_ring_options) + 16];
    const size_t bad[] = {0, 4, offsetof(options_v1, seed), sizeof(options_v1) - 1,
                          sizeof(of_ring_options) + 1, sizeof(of_ring_options) + 8};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(buf, 0xa5, sizeof buf);
        assert_int_equal(of_ring_options_init((of_ring_options *)(void *)buf, bad[i]),
                         OF_ERR_ABI);
        assert_int_equal(buf[0], 0xa5); /* refused: nothing written */
        of_ring_options o;
        assert_int_equal(of_ring_options_init(&o, sizeof o), OF_OK);
        o.struct_size = (uint32_t)bad[i];
        of_ring *r = NULL;
        assert_int_equal(of_ring_create(&o, &r), OF_ERR_ABI);
        assert_null(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_caller_init_and_create),
        cmocka_unit_test(current_caller),
        cmocka_unit_test(sizes_outside_the_range),
    };
    return cmocka_run_group_tests_name("ring-abi", tests, NULL, NULL);
}
