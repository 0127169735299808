"""RedlockProvider and EtcdProvider without a server: bad input and what every build answers.

Nothing connects until the first lock call, so the create functions' checks (an even count, a
duplicate server, a bad URL, ...) run here in the plain python-bindings test. In a build without
the backend the same calls raise NotSupportedError saying so; the binding's own checks (types,
ranges, NUL bytes) come first in every build. The lock behaviour on real servers is in
redlock_lock_test.py and etcd_lock_test.py."""
import unittest

import openfault

SECRET = "s3cret-PW-marker"
THREE = ["redis://127.0.0.1:7001", "redis://127.0.0.1:7002", "redis://127.0.0.1:7003"]


def assert_no_secret(test, exc):
    for text in (str(exc), repr(exc), exc.detail, repr(exc.args)):
        test.assertNotIn(SECRET, text)
        test.assertNotIn("s3cret", text)


class BindingChecksTest(unittest.TestCase):
    """Refused by the binding before C is called: the same in every build."""

    def test_redlock_urls_of_the_wrong_type(self):
        for bad in (None, 3, 2.5):
            with self.assertRaises(openfault.InvalidTypeError) as cm:
                openfault.RedlockProvider(bad)
            self.assertIn("urls must be", cm.exception.detail)
        with self.assertRaises(openfault.InvalidTypeError) as cm:
            openfault.RedlockProvider(THREE[:2] + [7])
        self.assertIn("server 3 of 3", cm.exception.detail)

    def test_nul_byte_and_lone_surrogate_are_refused_without_echo(self):
        pw_url = "redis://:%s@127.0.0.1:7003" % SECRET
        with self.assertRaises(openfault.InvalidError) as cm:
            openfault.RedlockProvider(THREE[:2] + [pw_url + "\0x"])
        self.assertIn("server 3 of 3 contains a NUL byte", cm.exception.detail)
        assert_no_secret(self, cm.exception)
        with self.assertRaises(openfault.InvalidError) as cm:
            openfault.RedlockProvider(",".join(THREE) + ",redis://:%s\udcff@h" % SECRET)
        self.assertIn("urls is not encodable", cm.exception.detail)
        assert_no_secret(self, cm.exception)
        self.assertIsNone(cm.exception.__cause__)
        self.assertIsNone(cm.exception.__context__)  # no UnicodeEncodeError holding the URL
        with self.assertRaises(openfault.InvalidError) as cm:
            openfault.EtcdProvider(b"etcd://root:%s@127.0.0.1:2379\0" % SECRET.encode())
        self.assertIn("url contains a NUL byte", cm.exception.detail)
        assert_no_secret(self, cm.exception)
        with self.assertRaises(openfault.InvalidTypeError):
            openfault.EtcdProvider(["etcd://127.0.0.1:2379"])

    def test_redlock_options_out_of_range(self):
        cases = [({"connect_timeout": 0}, openfault.InvalidError, "connect_timeout must be"),
                 ({"connect_timeout": 0.0001}, openfault.InvalidError, "connect_timeout"),
                 ({"command_timeout": -1}, openfault.InvalidError, "command_timeout must be"),
                 ({"command_timeout": 3e6}, openfault.InvalidError, "command_timeout"),
                 ({"command_timeout": float("nan")}, openfault.InvalidError, "command_timeout"),
                 ({"connect_timeout": "1"}, openfault.InvalidTypeError, "connect_timeout"),
                 ({"drift_ppm": 1000001}, openfault.InvalidError, "drift_ppm must be"),
                 ({"drift_ppm": -1}, openfault.InvalidError, "drift_ppm"),
                 ({"drift_ppm": 0.5}, openfault.InvalidTypeError, "drift_ppm must be an int"),
                 ({"drift_ppm": True}, openfault.InvalidTypeError, "drift_ppm"),
                 ({"drift_extra": -0.001}, openfault.InvalidError, "drift_extra must be"),
                 ({"drift_extra": float("inf")}, openfault.InvalidError, "drift_extra")]
        for kwargs, cls, text in cases:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(cls) as cm:
                    openfault.RedlockProvider(THREE, **kwargs)
                self.assertIn(text, cm.exception.detail)

    def test_availability_functions(self):
        self.assertIs(openfault.redlock_available(), openfault.redis_available())
        self.assertIsInstance(openfault.etcd_available(), bool)


@unittest.skipIf(openfault.redlock_available(), "built with hiredis")
class RedlockNotBuiltTest(unittest.TestCase):
    def test_redlock_not_supported_says_why(self):
        for urls in (THREE, ",".join(THREE)):
            with self.assertRaises(openfault.NotSupportedError) as cm:
                openfault.RedlockProvider(urls)
            self.assertIn("without hiredis", cm.exception.detail)


@unittest.skipIf(openfault.etcd_available(), "built with libcurl and jansson")
class EtcdNotBuiltTest(unittest.TestCase):
    def test_etcd_not_supported_says_why(self):
        with self.assertRaises(openfault.NotSupportedError) as cm:
            openfault.EtcdProvider("etcd://127.0.0.1:2379")
        self.assertIn("without libcurl and jansson", cm.exception.detail)


@unittest.skipUnless(openfault.redlock_available(), "built without hiredis")
class RedlockBadInputTest(unittest.TestCase):
    """The library's checks, seen through the binding: InvalidError with the reason."""

    def refused(self, urls, *texts):
        with self.assertRaises(openfault.InvalidError) as cm:
            openfault.RedlockProvider(urls)
        e = cm.exception
        self.assertEqual((e.status, e.name), (-1, "OF_ERR_INVALID"))
        for t in texts:
            self.assertIn(t, e.detail)
        assert_no_secret(self, e)
        return e

    def test_redlock_count_must_be_odd_3_to_15(self):
        for n in (0, 1, 2, 4, 16, 17):
            urls = ["redis://127.0.0.1:%d" % (7000 + i) for i in range(n)]
            with self.subTest(n=n):
                e = self.refused(urls)
                self.assertNotEqual(e.detail, "")
                if n:
                    self.refused(",".join(urls))

    def test_redlock_duplicate_server(self):
        e = self.refused(["redis://127.0.0.1:7001", "redis://127.0.0.1:7002/3",
                          "redis://127.0.0.1:7001/5"])
        self.assertRegex(e.detail, "(?i)same|duplicate|twice")
        e2 = self.refused("redis://LocalHost:7001,redis://127.0.0.1:7002,redis://localhost:7001")
        self.assertRegex(e2.detail, "(?i)same|duplicate|twice")

    def test_redlock_bad_url_names_its_position(self):
        e = self.refused(THREE[:1] + ["http://127.0.0.1:7002"] + THREE[2:])
        self.assertIn("server 2 of 3", e.detail)
        e = self.refused(",".join(THREE) + ",,redis://127.0.0.1:7005")  # 5 items, one empty
        self.assertIn("empty", e.detail)

    def test_redlock_bad_item_with_credentials_is_not_echoed(self):
        # A raw comma inside a password splits the item: the detail must not tell where.
        pw = "redis://:%s,pwrest-Z9@127.0.0.1:7003" % SECRET
        e = self.refused(",".join(THREE[:2] + [pw, "redis://127.0.0.1:7004"]))  # 5 items
        self.assertNotIn("pwrest", e.detail)
        self.assertIn("item 3 of 5", e.detail)
        self.assertNotIn("offset", e.detail)  # the position only: offsets would tell the comma
        e = self.refused(THREE[:2] + ["redis://:%s@127.0.0.1:7003?bogus=1" % SECRET])
        self.assertIn("server 3 of 3", e.detail)

    def test_redlock_comma_in_password_is_percent_encoded(self):
        pw = "redis://:%s%%2Ctail@127.0.0.1:7003" % SECRET
        with openfault.RedlockProvider(",".join(THREE[:2] + [pw])) as p:
            self.assertEqual(p.name, "redlock")
            self.assertNotIn(SECRET, repr(p))
            self.assertIn("3 servers", repr(p))
        self.assertIn("closed", repr(p))

    def test_redlock_rediss_is_not_supported(self):
        with self.assertRaises(openfault.NotSupportedError):
            openfault.RedlockProvider(THREE[:2] + ["rediss://127.0.0.1:7003"])

    def test_redlock_provider_surface(self):
        with openfault.RedlockProvider(tuple(THREE), connect_timeout=0.05,
                                       command_timeout=0.05, drift_ppm=0,
                                       drift_extra=0) as p:
            self.assertEqual(p.name, "redlock")
            for cap in (openfault.CAP_TTL, openfault.CAP_EXTEND, openfault.CAP_FENCE,
                        openfault.CAP_SHARED):
                self.assertTrue(p.caps & cap)
            self.assertIsInstance(p, openfault.LockProvider)
            self.assertEqual(p.stats()["attempts"], 0)  # nothing connected yet
        with self.assertRaises(openfault.InvalidError):
            p.lock("x").acquire()  # closed


@unittest.skipUnless(openfault.etcd_available(), "built without libcurl and jansson")
class EtcdBadInputTest(unittest.TestCase):
    def test_etcd_bad_urls(self):
        for url in ("etcd://", "http://127.0.0.1:2379", "etcd://127.0.0.1:2379?bogus=1",
                    "etcd://127.0.0.1:99999", "etcd://127.0.0.1:2379,",
                    "etcd://root:%s@127.0.0.1:2379?connect_timeout_ms=0" % SECRET,
                    "etcd://root:%s@/x" % SECRET):
            with self.subTest(url=url.replace(SECRET, "***")):
                with self.assertRaises(openfault.InvalidError) as cm:
                    openfault.EtcdProvider(url)
                self.assertNotEqual(cm.exception.detail, "")
                assert_no_secret(self, cm.exception)

    def test_etcd_tls_is_not_supported(self):
        for url in ("etcds://127.0.0.1:2379", "https://127.0.0.1:2379"):
            with self.assertRaises(openfault.NotSupportedError):
                openfault.EtcdProvider(url)

    def test_etcd_provider_surface(self):
        url = "etcd://root:%s@127.0.0.1:2379,127.0.0.1:2380/locks/" % SECRET
        with openfault.EtcdProvider(url) as p:
            self.assertEqual(p.name, "etcd")
            for cap in (openfault.CAP_TTL, openfault.CAP_EXTEND, openfault.CAP_FENCE,
                        openfault.CAP_WAIT, openfault.CAP_SHARED):
                self.assertTrue(p.caps & cap)
            self.assertNotIn(SECRET, repr(p))
        self.assertIn("closed", repr(p))


if __name__ == "__main__":
    unittest.main()
