/* etcd provider configuration without a server: options, the strict URL parser, and what the
 * public functions answer in this build (the stub's OF_ERR_NOT_SUPPORTED without libcurl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openfault/openfault.h>

#include "lock/providers/etcd_config.h"

#ifndef OF_TEST_HAVE_ETCD
#error "OF_TEST_HAVE_ETCD must be 0 or 1"
#endif

static void etcd_options_init_defaults_and_abi(void **state)
{
    (void)state;
    of_lock_etcd_options o;
    assert_int_equal(of_lock_etcd_options_init(&o, sizeof o), OF_OK);
    assert_int_equal(o.struct_size, sizeof o);
    assert_string_equal(o.endpoints, "127.0.0.1:2379");
    assert_null(o.prefix);
    assert_null(o.user);
    assert_null(o.password);
    assert_int_equal(o.connect_timeout_ms, OF_LOCK_ETCD_DEFAULT_CONNECT_TIMEOUT_MS);
    assert_int_equal(o.command_timeout_ms, OF_LOCK_ETCD_DEFAULT_COMMAND_TIMEOUT_MS);
    assert_int_equal(of_lock_etcd_options_init(NULL, sizeof o), OF_ERR_INVALID);
    assert_int_equal(of_lock_etcd_options_init(&o, sizeof o + 4), OF_ERR_ABI);
    assert_int_equal(of_lock_etcd_options_init(&o, 8), OF_ERR_ABI);
    assert_int_equal(of_lock_etcd_options_size(), sizeof(of_lock_etcd_options));
}

static void etcd_options_parse_endpoints(void **state)
{
    (void)state;
    of_lock_etcd_options o;
    of_lock_etcd_options_init(&o, sizeof o);
    o.endpoints = "10.0.0.1,[::1]:2479,etcd-2.local:32379";
    o.prefix = "locks/";
    ofi_etcd_config c;
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_OK);
    assert_int_equal(c.ep_count, 3);
    assert_string_equal(c.eps[0].base_url, "http://10.0.0.1:2379");
    assert_string_equal(c.eps[1].base_url, "http://[::1]:2479");
    assert_string_equal(c.eps[1].host, "::1");
    assert_string_equal(c.eps[2].base_url, "http://etcd-2.local:32379");
    assert_int_equal(c.prefix_len, 6);
    assert_memory_equal(c.prefix, "locks/", 6);
    assert_null(c.user);
    ofi_etcd_config_free(&c);
    ofi_etcd_config_free(NULL);
}

static void etcd_options_bad_fields_are_invalid(void **state)
{
    (void)state;
    static const char *bad_eps[] = {"", ",", "a,", ",a", "a:0", "a:65536", "a:", "a:x", "a b",
                                    "[::1", "[zz]:1", "[]:1", "a:1:2",
                                    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"};
    ofi_etcd_config c;
    memset(&c, 0x5a, sizeof c);
    for (size_t i = 0; i < sizeof bad_eps / sizeof bad_eps[0]; i++) {
        of_lock_etcd_options o;
        of_lock_etcd_options_init(&o, sizeof o);
        o.endpoints = bad_eps[i];
        assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
        assert_true(strlen(of_last_error_detail()) > 0);
    }
    of_lock_etcd_options o;
    of_lock_etcd_options_init(&o, sizeof o);
    o.endpoints = NULL;
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    of_lock_etcd_options_init(&o, sizeof o);
    o.user = "root";
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    o.user = NULL;
    o.password = "hunter2";
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    assert_null(strstr(of_last_error_detail(), "hunter2"));
    o.password = NULL;
    o.user = "";
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    o.user = NULL;
    o.connect_timeout_ms = 0;
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    o.connect_timeout_ms = 1000;
    o.command_timeout_ms = 2147483648u;
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    o.command_timeout_ms = 1000;
    o.reserved0 = 1;
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    o.reserved0 = 0;
    char prefix[OF_LOCK_ETCD_PREFIX_MAX + 2];
    memset(prefix, 'p', sizeof prefix - 1);
    prefix[sizeof prefix - 1] = '\0';
    o.prefix = prefix;
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_INVALID);
    prefix[OF_LOCK_ETCD_PREFIX_MAX] = '\0';
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_OK);
    ofi_etcd_config_free(&c);
    o.struct_size = sizeof o + 8;
    assert_int_equal(ofi_etcd_config_from_options(&o, &c), OF_ERR_ABI);
    assert_int_equal(ofi_etcd_config_from_options(NULL, &c), OF_ERR_INVALID);
}

static void etcd_url_full_form(void **state)
{
    (void)state;
    ofi_etcd_config c;
    assert_int_equal(ofi_etcd_config_from_url("etcd://ro%40t:p%3Aw%2Fd@127.0.0.1:2379,127.0.0.1:"
                                              "22379/my%2Flocks/?connect_timeout_ms=250&command_"
                                              "timeout_ms=4000",
                                              &c),
                     OF_OK);
    assert_int_equal(c.ep_count, 2);
    assert_string_equal(c.eps[1].base_url, "http://127.0.0.1:22379");
    assert_string_equal(c.user, "ro@t");
    assert_string_equal(c.password, "p:w/d");
    assert_int_equal(c.prefix_len, 9);
    assert_memory_equal(c.prefix, "my/locks/", 9);
    assert_int_equal(c.connect_timeout_ms, 250);
    assert_int_equal(c.command_timeout_ms, 4000);
    ofi_etcd_config_free(&c);

    assert_int_equal(ofi_etcd_config_from_url("ETCD://[::1]", &c), OF_OK);
    assert_string_equal(c.eps[0].base_url, "http://[::1]:2379");
    assert_int_equal(c.prefix_len, 0);
    assert_int_equal(c.command_timeout_ms, OF_LOCK_ETCD_DEFAULT_COMMAND_TIMEOUT_MS);
    ofi_etcd_config_free(&c);
}

static void etcd_url_strict_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "redis://127.0.0.1",      "etcd://",
        "etcd://a,,b",            "etcd://a/?",
        "etcd://a?x=1",           "etcd://a?command_timeout_ms=1&command_timeout_ms=2",
        "etcd://a?command_timeout_ms=0", "etcd://a?command_timeout_ms=abc",
        "etcd://a?connect_timeout_ms=1&", "etcd://user@a",
        "etcd://:pw@a",           "etcd://u:@a",
        "etcd://u:p@",            "etcd://a/pre fix",
        "etcd://a/x%0",           "etcd://a/x%00y",
        "etcd://a/x%zz",          "etcd://a:99999",
    };
    ofi_etcd_config c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ofi_etcd_config_from_url(bad[i], &c);
        if (rc != OF_ERR_INVALID)
            fail_msg("'%s' gave %s", bad[i], of_status_name(rc));
        assert_true(strlen(of_last_error_detail()) > 0);
    }
    assert_int_equal(ofi_etcd_config_from_url("etcds://a", &c), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(ofi_etcd_config_from_url("https://a", &c), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(ofi_etcd_config_from_url(NULL, &c), OF_ERR_INVALID);
    /* The password is never quoted, also when it is what is wrong. */
    assert_int_equal(ofi_etcd_config_from_url("etcd://u:s3cr%zzet@a", &c), OF_ERR_INVALID);
    assert_null(strstr(of_last_error_detail(), "s3cr"));
    assert_int_equal(ofi_etcd_config_from_url("etcd://u:s3cret@a:0", &c), OF_ERR_INVALID);
    assert_null(strstr(of_last_error_detail(), "s3cret"));
}

/* A raw '/' or '?' in the password would end the authority early ("etcd://u:12/34@h/" reads as
 * host "u", port 12 and the prefix "34@h/"), so, as in the Redis parser, a raw '@' after the
 * first '/' or '?' is refused, naming where the authority starts and no byte of it; encoded
 * (%2F %3F %40), the same credentials and prefixes parse. */
static void etcd_url_raw_slash_in_password_is_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "etcd://u:12/34@127.0.0.1:2379/", /* was accepted: host u, port 12, prefix "34@..." */
        "etcd://u:pa/ss@127.0.0.1/",      /* was refused as a bad port */
        "etcd://u:12?34@127.0.0.1",       /* was refused as a bad query */
        "etcd://u:p/w@127.0.0.1,127.0.0.2",
        "etcd://127.0.0.1/pre@fix",       /* '@' in a prefix is written %40 */
    };
    ofi_etcd_config c;
    memset(&c, 0x5a, sizeof c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ofi_etcd_config_from_url(bad[i], &c);
        if (rc != OF_ERR_INVALID)
            fail_msg("'%s' gave %s", bad[i], of_status_name(rc));
        const char *d = of_last_error_detail();
        if (strstr(d, "offset 7: a raw '@' after the first '/' or '?'") == NULL)
            fail_msg("'%s': detail '%s'", bad[i], d);
        assert_non_null(strstr(d, "%2F"));
        assert_null(strstr(d, "34"));
        assert_null(strstr(d, "pa/ss"));
        assert_null(strstr(d, "127.0.0.1"));
    }
    assert_int_equal(ofi_etcd_config_from_url("etcd://u:12%2F34@127.0.0.1:2379/", &c), OF_OK);
    assert_string_equal(c.password, "12/34");
    assert_int_equal(c.ep_count, 1);
    assert_string_equal(c.eps[0].base_url, "http://127.0.0.1:2379");
    assert_int_equal(c.prefix_len, 0);
    ofi_etcd_config_free(&c);
    assert_int_equal(ofi_etcd_config_from_url("etcd://u:1%3F2%40@127.0.0.1/pre%40fix", &c), OF_OK);
    assert_string_equal(c.password, "1?2@");
    assert_int_equal(c.prefix_len, 7);
    assert_memory_equal(c.prefix, "pre@fix", 7);
    ofi_etcd_config_free(&c);
}

static void etcd_public_functions_match_the_build(void **state)
{
    (void)state;
    assert_int_equal(of_lock_etcd_available(), OF_TEST_HAVE_ETCD);
    of_lock_provider *p = (of_lock_provider *)&p;
    of_lock_etcd_options o;
    of_lock_etcd_options_init(&o, sizeof o);
    o.endpoints = "a:0";
#if OF_TEST_HAVE_ETCD
    assert_int_equal(of_lock_etcd_create(&o, &p), OF_ERR_INVALID);
    assert_int_equal(of_lock_etcd_create_url("etcd://a:0", &p), OF_ERR_INVALID);
    assert_int_equal(of_lock_etcd_create_url("etcd://127.0.0.1:1", NULL), OF_ERR_INVALID);
    assert_int_equal(of_lock_etcd_create(NULL, &p), OF_ERR_INVALID);
#else
    assert_int_equal(of_lock_etcd_create(&o, &p), OF_ERR_NOT_SUPPORTED);
    assert_int_equal(of_lock_etcd_create_url("etcd://127.0.0.1", &p), OF_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(of_last_error_detail(), "without"));
#endif
    assert_ptr_equal(p, (of_lock_provider *)&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(etcd_options_init_defaults_and_abi),
        cmocka_unit_test(etcd_options_parse_endpoints),
        cmocka_unit_test(etcd_options_bad_fields_are_invalid),
        cmocka_unit_test(etcd_url_full_form),
        cmocka_unit_test(etcd_url_strict_errors),
        cmocka_unit_test(etcd_url_raw_slash_in_password_is_refused),
        cmocka_unit_test(etcd_public_functions_match_the_build),
    };
    return cmocka_run_group_tests_name("etcd-config", tests, NULL, NULL);
}
