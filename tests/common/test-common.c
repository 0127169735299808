/* Unit tests of src/common: status table, error detail, version, hash, clock, bytes, backoff, tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <openfault/openfault.h>

#include "common/backoff.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/token.h"

static void status_names_match_design_table(void **state)
{
    (void)state;
    static const struct {
        int value;
        const char *name;
    } table[] = {
        {0, "OF_OK"},
        {-1, "OF_ERR_INVALID"},
        {-2, "OF_ERR_NOMEM"},
        {-3, "OF_ERR_NOT_FOUND"},
        {-4, "OF_ERR_EXISTS"},
        {-5, "OF_ERR_EMPTY"},
        {-6, "OF_ERR_NOSPACE"},
        {-7, "OF_ERR_BUSY"},
        {-8, "OF_ERR_TIMEOUT"},
        {-9, "OF_ERR_NOT_OWNER"},
        {-10, "OF_ERR_LOST"},
        {-11, "OF_ERR_UNAVAILABLE"},
        {-12, "OF_ERR_UNKNOWN"},
        {-13, "OF_ERR_AUTH"},
        {-14, "OF_ERR_PROTOCOL"},
        {-15, "OF_ERR_NOT_SUPPORTED"},
        {-16, "OF_ERR_ABI"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(of_status_name(table[i].value), table[i].name);
        assert_non_null(of_strerror(table[i].value));
        assert_true(strlen(of_strerror(table[i].value)) > 0);
    }
    assert_int_equal(OF_ERR_INVALID, -1);
    assert_int_equal(OF_ERR_ABI, -16);
    assert_int_equal(OF_STATUS_MIN, -16);
}

static void status_unknown_values_get_static_text(void **state)
{
    (void)state;
    const int odd[] = {1, 42, -17, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_string_equal(of_strerror(odd[i]), "unknown status");
        assert_string_equal(of_status_name(odd[i]), "OF_ERR_?");
    }
}

static void version_matches_header(void **state)
{
    (void)state;
    assert_int_equal(of_version_number(), OF_VERSION_NUMBER);
    assert_string_equal(of_version_string(), OF_VERSION_STRING);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", OF_VERSION_MAJOR, OF_VERSION_MINOR,
             OF_VERSION_PATCH);
    assert_string_equal(of_version_string(), expect);
    assert_int_equal(of_name_max(), 1024);
}

static void *fail_on_other_thread(void *arg)
{
    (void)arg;
    ofi_fail(OF_ERR_AUTH, "other thread detail");
    return NULL;
}

static void error_detail_is_per_thread(void **state)
{
    (void)state;
    assert_int_equal(ofi_fail(OF_ERR_INVALID, "bad %s at %d", "char", 7), OF_ERR_INVALID);
    assert_string_equal(of_last_error_detail(), "bad char at 7");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fail_on_other_thread, NULL), 0);
    pthread_join(t, NULL);
    assert_string_equal(of_last_error_detail(), "bad char at 7");
    assert_int_equal(ofi_fail_plain(OF_ERR_NOMEM), OF_ERR_NOMEM);
    assert_string_equal(of_last_error_detail(), "");
}

static void error_detail_truncates_long_text(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ofi_fail(OF_ERR_PROTOCOL, "%s", big);
    size_t n = strlen(of_last_error_detail());
    assert_true(n > 100 && n < sizeof big);
}

static void hash64_is_xxh3_with_seed(void **state)
{
    (void)state;
    /* Pinned values: XXH3_64bits_withSeed as of xxHash 0.8 (the ring's determinism depends on it). */
    assert_true(of_hash64("", 0, 0) == UINT64_C(0x2d06800538d394c2));
    assert_true(of_hash64(NULL, 0, 0) == of_hash64("", 0, 0));
    assert_true(of_hash64(NULL, 5, 0) == of_hash64("", 0, 0));
    assert_true(of_hash64("abc", 3, 0) != of_hash64("abc", 3, 1));
    assert_true(of_hash64("abc", 3, 7) == of_hash64("abc", 3, 7));
}

static void clock_is_monotonic_and_deadlines_saturate(void **state)
{
    (void)state;
    int64_t a = of_clock_monotonic_ns();
    int64_t b = ofi_now_ns();
    assert_true(b >= a);
    assert_true(ofi_now_coarse_ns() <= ofi_now_ns());
    assert_true(ofi_deadline_after_ms(100, -1) == INT64_MAX);
    assert_true(ofi_deadline_after_ms(100, INT64_MAX) == INT64_MAX);
    assert_true(ofi_deadline_after_ms(100, 5) == 100 + 5 * OFI_NS_PER_MS);
    int64_t until = ofi_now_ns() + 2 * OFI_NS_PER_MS;
    ofi_sleep_until_ns(until);
    assert_true(ofi_now_ns() >= until);
}

static void bytes_are_little_endian_on_every_host(void **state)
{
    (void)state;
    uint8_t b[9] = {0};
    ofi_store_le64(b + 1, UINT64_C(0x0807060504030201)); /* unaligned on purpose */
    for (int i = 0; i < 8; i++)
        assert_int_equal(b[1 + i], i + 1);
    assert_true(ofi_load_le64(b + 1) == UINT64_C(0x0807060504030201));
    ofi_store_le32(b, 0xa1b2c3d4u);
    assert_int_equal(b[0], 0xd4);
    assert_int_equal(b[3], 0xa1);
    assert_true(ofi_load_le32(b) == 0xa1b2c3d4u);
}

static void backoff_stays_within_its_bounds(void **state)
{
    (void)state;
    assert_true(ofi_backoff_ceiling_ms(5, 250, 0) == 5);
    assert_true(ofi_backoff_ceiling_ms(5, 250, 3) == 40);
    assert_true(ofi_backoff_ceiling_ms(5, 250, 6) == 250);
    assert_true(ofi_backoff_ceiling_ms(UINT32_MAX, UINT32_MAX, UINT32_MAX) == UINT32_MAX);
    assert_true(ofi_backoff_ceiling_ms(0, 250, 4) == 0);
    uint64_t rng = 42;
    int saw_low = 0, saw_high = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t full = ofi_backoff_full_ns(10, &rng);
        assert_true(full >= 0 && full <= 10 * OFI_NS_PER_MS);
        int64_t equal = ofi_backoff_equal_ns(10, &rng);
        assert_true(equal >= 5 * OFI_NS_PER_MS && equal <= 10 * OFI_NS_PER_MS);
        saw_low |= full < 1 * OFI_NS_PER_MS;
        saw_high |= full > 9 * OFI_NS_PER_MS;
    }
    assert_true(saw_low && saw_high); /* spread over the whole range, not stuck at one end */
    assert_true(ofi_backoff_full_ns(0, &rng) == 0);
    assert_true(ofi_add_sat_ns(INT64_MAX - 1, 5) == INT64_MAX);
    assert_true(ofi_add_sat_ns(INT64_MIN + 1, -5) == INT64_MIN);
    assert_true(ofi_add_sat_ns(7, -5) == 2);
}

static void siphash_matches_reference_vectors(void **state)
{
    (void)state;
    /* Key 00..0f; vectors from the SipHash reference implementation (vectors.h). */
    const uint64_t k0 = UINT64_C(0x0706050403020100), k1 = UINT64_C(0x0f0e0d0c0b0a0908);
    uint8_t msg[15], out[16];
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    ofi_siphash(msg, 15, k0, k1, out, 8);
    const uint8_t sip64_15[8] = {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1};
    assert_memory_equal(out, sip64_15, 8);
    ofi_siphash(msg, 0, k0, k1, out, 16);
    const uint8_t sip128_0[16] = {0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
                                  0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93};
    assert_memory_equal(out, sip128_0, 16);
}

static void token_generator_gives_distinct_tokens(void **state)
{
    (void)state;
    ofi_token_gen g1, g2;
    assert_int_equal(ofi_token_gen_init(&g1), OF_OK);
    assert_int_equal(ofi_token_gen_init(&g2), OF_OK);
    ofi_token prev = ofi_token_next(&g1);
    ofi_token other = ofi_token_next(&g2);
    assert_false(ofi_token_equal(prev, other)); /* independent keys */
    for (int i = 0; i < 10000; i++) {
        ofi_token t = ofi_token_next(&g1);
        assert_false(ofi_token_equal(t, prev));
        prev = t;
    }
    /* The specialised token path equals generic SipHash-2-4-128 of le64(counter). */
    ofi_token_gen g3;
    assert_int_equal(ofi_token_gen_init(&g3), OF_OK);
    for (uint64_t n = 0; n < 3; n++) {
        ofi_token fast = ofi_token_next(&g3);
        uint8_t msg[8], out[16];
        for (int i = 0; i < 8; i++)
            msg[i] = (uint8_t)(n >> (8 * i));
        ofi_siphash(msg, 8, g3.k0, g3.k1, out, 16);
        uint64_t lo = 0, hi = 0;
        for (int i = 7; i >= 0; i--) {
            hi = (hi << 8) | out[i];
            lo = (lo << 8) | out[8 + i];
        }
        assert_true(fast.hi == hi && fast.lo == lo);
    }
}

static void token_randomness_failure_is_an_error(void **state)
{
    (void)state;
    uint8_t buf[16] = {0};
    assert_int_equal(ofi_os_random(buf, sizeof buf, 1, NULL), OF_OK);
    assert_int_equal(ofi_os_random(buf, sizeof buf, 0, "/dev/urandom"), OF_OK);
    assert_int_equal(ofi_os_random(buf, sizeof buf, 0, "/nonexistent/random"), OF_ERR_UNAVAILABLE);
    assert_non_null(strstr(of_last_error_detail(), "no OS randomness"));
    assert_int_equal(ofi_os_random(buf, sizeof buf, 0, NULL), OF_ERR_UNAVAILABLE);
    /* A short file is not enough randomness either. */
    assert_int_equal(ofi_os_random(buf, sizeof buf, 0, "/dev/null"), OF_ERR_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_names_match_design_table),
        cmocka_unit_test(status_unknown_values_get_static_text),
        cmocka_unit_test(version_matches_header),
        cmocka_unit_test(error_detail_is_per_thread),
        cmocka_unit_test(error_detail_truncates_long_text),
        cmocka_unit_test(hash64_is_xxh3_with_seed),
        cmocka_unit_test(clock_is_monotonic_and_deadlines_saturate),
        cmocka_unit_test(bytes_are_little_endian_on_every_host),
        cmocka_unit_test(backoff_stays_within_its_bounds),
        cmocka_unit_test(siphash_matches_reference_vectors),
        cmocka_unit_test(token_generator_gives_distinct_tokens),
        cmocka_unit_test(token_randomness_failure_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
