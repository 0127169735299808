/* Redlock configuration without servers (every build): options, the URL array and the comma
 * list, the count and duplicate checks, timeouts resolved per server, the drift allowance, and
 * details that never hold a byte of a credential. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openfault/openfault.h>

#include "common/clock.h"
#include "lock/providers/redlock_config.h"

static void expect_invalid(int rc, const char *needle)
{
    if (rc != OF_ERR_INVALID)
        fail_msg("want OF_ERR_INVALID, got %s (%s)", of_status_name(rc), of_last_error_detail());
    if (needle != NULL && strstr(of_last_error_detail(), needle) == NULL)
        fail_msg("detail '%s' lacks '%s'", of_last_error_detail(), needle);
}

static void options_init_defaults_and_abi(void **state)
{
    (void)state;
    of_lock_redlock_options o;
    memset(&o, 0x5a, sizeof o);
    assert_int_equal(of_lock_redlock_options_init(&o, sizeof o), OF_OK);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.connect_timeout_ms, OF_LOCK_REDLOCK_DEFAULT_CONNECT_TIMEOUT_MS);
    assert_int_equal(o.command_timeout_ms, OF_LOCK_REDLOCK_DEFAULT_COMMAND_TIMEOUT_MS);
    assert_int_equal(o.drift_ppm, 10000);
    assert_int_equal(o.drift_extra_ms, 2);
    assert_int_equal(o.reserved0, 0);
    assert_int_equal(of_lock_redlock_options_size(), sizeof o);
    assert_int_equal(of_lock_redlock_options_init(NULL, sizeof o), OF_ERR_INVALID);
    assert_int_equal(of_lock_redlock_options_init(&o, sizeof o + 4), OF_ERR_ABI);
    assert_int_equal(of_lock_redlock_options_init(&o, 4), OF_ERR_ABI);
}

static const char *const three[] = {"redis://127.0.0.1:7001", "redis://127.0.0.1:7002",
                                    "unix:///tmp/rl.sock"};

static void urls_parse_with_quorum_sizes(void **state)
{
    (void)state;
    ofi_redlock_config c;
    assert_int_equal(ofi_redlock_config_from_urls(three, 3, NULL, &c), OF_OK);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.servers[0].port, 7001);
    assert_string_equal(c.servers[2].unix_path, "/tmp/rl.sock");
    /* Redlock's own defaults, not the single-server provider's 1000 ms. */
    assert_int_equal(c.servers[1].connect_timeout_ms, 100);
    assert_int_equal(c.servers[1].command_timeout_ms, 100);
    ofi_redlock_config_free(&c);

    char urls[15][64];
    const char *list[16];
    for (int i = 0; i < 16; i++) {
        snprintf(urls[i % 15], sizeof urls[0], "redis://10.0.0.%d:6379", i + 1);
        list[i] = urls[i % 15];
    }
    for (size_t n = 3; n <= 15; n += 2) {
        assert_int_equal(ofi_redlock_config_from_urls(list, n, NULL, &c), OF_OK);
        assert_int_equal(c.count, n);
        ofi_redlock_config_free(&c);
    }
}

static void bad_counts_are_invalid_with_the_reason(void **state)
{
    (void)state;
    ofi_redlock_config c;
    memset(&c, 0x77, sizeof c);
    ofi_redlock_config before = c;
    char urls[16][64];
    const char *list[16];
    for (int i = 0; i < 16; i++) {
        snprintf(urls[i], sizeof urls[0], "redis://10.0.0.%d:6379", i + 1);
        list[i] = urls[i];
    }
    expect_invalid(ofi_redlock_config_from_urls(list, 0, NULL, &c), "at least 3");
    expect_invalid(ofi_redlock_config_from_urls(list, 1, NULL, &c), "at least 3");
    expect_invalid(ofi_redlock_config_from_urls(list, 2, NULL, &c), "at least 3");
    for (size_t n = 4; n <= 14; n += 2)
        expect_invalid(ofi_redlock_config_from_urls(list, n, NULL, &c), "odd number");
    expect_invalid(ofi_redlock_config_from_urls(list, 16, NULL, &c), "at most 15");
    /* On error the output is untouched. */
    assert_memory_equal(&c, &before, sizeof c);
    expect_invalid(ofi_redlock_config_from_urls(NULL, 3, NULL, &c), "urls");
    const char *with_null[3] = {three[0], NULL, three[2]};
    expect_invalid(ofi_redlock_config_from_urls(with_null, 3, NULL, &c), "server 2 of 3");
    assert_memory_equal(&c, &before, sizeof c);
}

static void duplicate_servers_are_invalid(void **state)
{
    (void)state;
    ofi_redlock_config c;
    const char *same_port[] = {"redis://10.0.0.1:6379", "redis://10.0.0.2:6379",
                               "redis://10.0.0.1:6379/3?prefix=x"};
    expect_invalid(ofi_redlock_config_from_urls(same_port, 3, NULL, &c),
                   "servers 1 and 3 are the same server");
    const char *default_port[] = {"redis://a.example", "redis://b.example",
                                  "redis://A.EXAMPLE:6379"};
    expect_invalid(ofi_redlock_config_from_urls(default_port, 3, NULL, &c),
                   "servers 1 and 3 are the same server");
    const char *same_sock[] = {"unix:///tmp/a.sock", "unix:///tmp/a.sock?db=2",
                               "redis://10.0.0.1"};
    expect_invalid(ofi_redlock_config_from_urls(same_sock, 3, NULL, &c), "socket path");
    const char *distinct[] = {"redis://10.0.0.1:6379", "redis://10.0.0.1:6380",
                              "unix:///tmp/a.sock"};
    assert_int_equal(ofi_redlock_config_from_urls(distinct, 3, NULL, &c), OF_OK);
    ofi_redlock_config_free(&c);
}

static void options_apply_unless_the_url_sets_its_own(void **state)
{
    (void)state;
    of_lock_redlock_options o;
    of_lock_redlock_options_init(&o, sizeof o);
    o.connect_timeout_ms = 33;
    o.command_timeout_ms = 44;
    o.drift_ppm = 20000;
    o.drift_extra_ms = 5;
    const char *urls[] = {"redis://h1?command_timeout_ms=7", "redis://h2?connect_timeout_ms=9",
                          "redis://h3"};
    ofi_redlock_config c;
    assert_int_equal(ofi_redlock_config_from_urls(urls, 3, &o, &c), OF_OK);
    assert_int_equal(c.servers[0].connect_timeout_ms, 33);
    assert_int_equal(c.servers[0].command_timeout_ms, 7);
    assert_int_equal(c.servers[1].connect_timeout_ms, 9);
    assert_int_equal(c.servers[1].command_timeout_ms, 44);
    assert_int_equal(c.servers[2].connect_timeout_ms, 33);
    assert_int_equal(c.servers[2].command_timeout_ms, 44);
    assert_int_equal(c.drift_ppm, 20000);
    assert_int_equal(c.drift_extra_ms, 5);
    ofi_redlock_config_free(&c);

    of_lock_redlock_options bad = o;
    bad.connect_timeout_ms = 0;
    expect_invalid(ofi_redlock_config_from_urls(urls, 3, &bad, &c), "connect_timeout_ms");
    bad = o;
    bad.command_timeout_ms = 0x80000000u;
    expect_invalid(ofi_redlock_config_from_urls(urls, 3, &bad, &c), "command_timeout_ms");
    bad = o;
    bad.drift_ppm = 1000001;
    expect_invalid(ofi_redlock_config_from_urls(urls, 3, &bad, &c), "drift_ppm");
    bad = o;
    bad.reserved0 = 1;
    expect_invalid(ofi_redlock_config_from_urls(urls, 3, &bad, &c), "reserved0");
    bad = o;
    bad.struct_size = 8;
    assert_int_equal(ofi_redlock_config_from_urls(urls, 3, &bad, &c), OF_ERR_ABI);
    bad.struct_size = sizeof bad + 8;
    assert_int_equal(ofi_redlock_config_from_urls(urls, 3, &bad, &c), OF_ERR_ABI);
}

static void drift_is_one_percent_plus_two_ms_by_default(void **state)
{
    (void)state;
    assert_true(ofi_redlock_drift_ns(10000, 2, 10000) == 102 * OFI_NS_PER_MS);
    assert_true(ofi_redlock_drift_ns(10000, 2, 30000) == 302 * OFI_NS_PER_MS);
    /* 1% of 1 ms is 10 us, exactly. */
    assert_true(ofi_redlock_drift_ns(10000, 0, 1) == 10000);
    assert_true(ofi_redlock_drift_ns(0, 0, 5000) == 0);
    assert_true(ofi_redlock_drift_ns(1000000, 0, OF_LOCK_TTL_MAX) ==
                (int64_t)OF_LOCK_TTL_MAX * OFI_NS_PER_MS);
}

static void comma_list_parses_like_the_array(void **state)
{
    (void)state;
    ofi_redlock_config c;
    assert_int_equal(ofi_redlock_config_from_list(
                         "redis://127.0.0.1:7001,redis://127.0.0.1:7002,unix:///tmp/rl.sock", NULL,
                         &c),
                     OF_OK);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.servers[1].port, 7002);
    assert_string_equal(c.servers[2].unix_path, "/tmp/rl.sock");
    ofi_redlock_config_free(&c);
    /* A comma inside a URL is %2C. */
    assert_int_equal(
        ofi_redlock_config_from_list("redis://:pa%2Css@h1,redis://h2?prefix=a%2Cb,redis://h3",
                                     NULL, &c),
        OF_OK);
    assert_string_equal(c.servers[0].password, "pa,ss");
    assert_string_equal(c.servers[1].prefix, "a,b");
    ofi_redlock_config_free(&c);

    expect_invalid(ofi_redlock_config_from_list("redis://h1,redis://h2", NULL, &c), "at least 3");
    expect_invalid(ofi_redlock_config_from_list("redis://h1,redis://h2,redis://h3,redis://h4",
                                                NULL, &c),
                   "odd number");
    expect_invalid(ofi_redlock_config_from_list("redis://h1,,redis://h3", NULL, &c),
                   "item 2 of 3 is empty");
    expect_invalid(ofi_redlock_config_from_list("redis://h1,redis://h2,", NULL, &c),
                   "item 3 of 3 is empty");
    expect_invalid(ofi_redlock_config_from_list("redis://h1, redis://h2,redis://h3", NULL, &c),
                   "white space");
    expect_invalid(ofi_redlock_config_from_list("redis://h1,redis://h2,redis://h1", NULL, &c),
                   "same server");
    /* Without credentials the parser's detail is passed on, naming the item. */
    expect_invalid(ofi_redlock_config_from_list("redis://h1,redis://h2:99999,redis://h3", NULL,
                                                &c),
                   "server 2 of 3: bad redis URL at offset");
    expect_invalid(ofi_redlock_config_from_list(NULL, NULL, &c), "list");
    char *huge = malloc(OFI_REDLOCK_LIST_MAX + 2);
    assert_non_null(huge);
    memset(huge, 'a', OFI_REDLOCK_LIST_MAX + 1);
    huge[OFI_REDLOCK_LIST_MAX + 1] = '\0';
    expect_invalid(ofi_redlock_config_from_list(huge, NULL, &c), "longer than");
    free(huge);
    assert_int_equal(ofi_redlock_config_from_list("rediss://h1,redis://h2,redis://h3", NULL, &c),
                     OF_ERR_NOT_SUPPORTED);
}

/* A raw ',' in a password splits it; the detail must hold no byte of it, nor an offset. */
static void raw_comma_in_password_never_leaks_it(void **state)
{
    (void)state;
    ofi_redlock_config c;
    const char *lists[] = {
        "redis://user:s3cr,etpw@h1,redis://h2,redis://h3,redis://h4",
        "redis://:hunter,2@h1:6379,redis://h2,redis://h3,redis://h4",
        "redis://h1,redis://u:Zq9,Xw7@h2,redis://h3,redis://h4",
    };
    const char *secrets[][3] = {{"s3cr", "etpw", "user"}, {"hunter", "2@h1", "6379"},
                                {"Zq9", "Xw7", "u:"}};
    for (size_t i = 0; i < 3; i++) {
        int rc = ofi_redlock_config_from_list(lists[i], NULL, &c);
        assert_int_equal(rc, OF_ERR_INVALID);
        const char *d = of_last_error_detail();
        for (int k = 0; k < 3; k++)
            if (strstr(d, secrets[i][k]) != NULL)
                fail_msg("detail '%s' holds '%s'", d, secrets[i][k]);
        assert_null(strstr(d, "offset"));
        assert_non_null(strstr(d, "%2C"));
    }
    /* Through the array form too: the Redis parser's guarantee holds per server. */
    const char *urls[] = {"redis://h1", "redis://u:pw#x@h2", "redis://h3"};
    assert_int_equal(ofi_redlock_config_from_urls(urls, 3, NULL, &c), OF_ERR_INVALID);
    assert_null(strstr(of_last_error_detail(), "pw#x"));
    assert_non_null(strstr(of_last_error_detail(), "server 2 of 3"));
}

static void public_create_checks_arguments(void **state)
{
    (void)state;
    of_lock_provider *p = (of_lock_provider *)&p;
    int want = of_lock_redis_available() ? OF_ERR_INVALID : OF_ERR_NOT_SUPPORTED;
    assert_int_equal(of_lock_redlock_create(three, 2, NULL, &p), want);
    assert_int_equal(of_lock_redlock_create(three, 3, NULL, NULL), want);
    assert_int_equal(of_lock_redlock_create_list("redis://a,redis://b", NULL, &p), want);
    assert_int_equal(of_lock_redlock_create_list(NULL, NULL, &p), want);
    assert_ptr_equal(p, (of_lock_provider *)&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_init_defaults_and_abi),
        cmocka_unit_test(urls_parse_with_quorum_sizes),
        cmocka_unit_test(bad_counts_are_invalid_with_the_reason),
        cmocka_unit_test(duplicate_servers_are_invalid),
        cmocka_unit_test(options_apply_unless_the_url_sets_its_own),
        cmocka_unit_test(drift_is_one_percent_plus_two_ms_by_default),
        cmocka_unit_test(comma_list_parses_like_the_array),
        cmocka_unit_test(raw_comma_in_password_never_leaks_it),
        cmocka_unit_test(public_create_checks_arguments),
    };
    return cmocka_run_group_tests_name("redlock-config", tests, NULL, NULL);
}
