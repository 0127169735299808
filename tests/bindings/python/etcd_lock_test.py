"""openfault.EtcdProvider on a private one-member etcd (loopback, free ports, temp dir).

Registered by meson in every build (suites 'ffi' and 'etcd'); run as a script, it exits 77
(meson's "skipped") when the library was built without the etcd provider or no etcd binary is
found ($ETCD_SERVER, else `etcd` on PATH). The member is server_harness.EtcdServer (started as
tests/lock-etcd/etcd-harness.c starts one, stopped by its PID).
"""
import sys
import unittest

import openfault
from lock_case_helpers import (assert_secret_hidden, check_auto_renew_reports_loss,
                               check_busy_and_fences_increase,
                               check_timeout_then_woken_by_release, check_unavailable_not_early)
from server_harness import EtcdServer, etcd_binary, free_port, run_unless_skipped

PREFIX = "pylocks/"


class EtcdLockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = EtcdServer(PREFIX)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.p = openfault.EtcdProvider(self.server.url)
        self.q = openfault.EtcdProvider(self.server.url)

    def tearDown(self):
        self.p.close()
        self.q.close()

    def test_etcd_properties(self):
        self.assertTrue(openfault.etcd_available())
        self.assertEqual(self.p.name, "etcd")
        self.assertTrue(self.p.caps & openfault.CAP_WAIT)

    def test_etcd_acquire_release_busy_and_fences_increase(self):
        def holds(name, lk):
            self.assertEqual(self.server.key(name)[0], lk.token.encode())

        def released(name):
            self.assertEqual(self.server.key(name), (None, None))  # released: key deleted
        check_busy_and_fences_increase(self, self.p, self.q, "job", holds, released)

    def test_etcd_timeout_and_wait_woken_by_release(self):
        # the waiter is woken by its watch seeing the deletion
        check_timeout_then_woken_by_release(self, self.p, self.q, "t")

    def test_etcd_extend(self):
        lk = self.p.acquire("ext", ttl=2)
        before = lk.valid_until
        self.assertTrue(lk.extend(ttl=20))  # another whole-second TTL: a new lease
        self.assertGreater(lk.valid_until, before)
        value, lease = self.server.key("ext")
        self.assertEqual(value, lk.token.encode())
        ttl = self.server.post("/v3/lease/timetolive", {"ID": lease})
        self.assertGreater(int(ttl["TTL"]), 2)
        self.assertTrue(lk.extend(5, replace_ttl=True))
        self.assertTrue(lk.owned())
        with self.assertRaises(openfault.BusyError):
            self.q.acquire("ext", wait=0)
        lk.release()

    def test_etcd_lost_when_the_lease_ends(self):
        lk = self.p.acquire("lost", ttl=10)
        self.server.lapse("lost")  # the key goes with its lease
        with self.assertRaises(openfault.LockNotOwnedError):
            lk.extend(10)
        self.assertTrue(lk.lost)
        self.assertFalse(lk.owned())
        other = self.q.acquire("lost", ttl=5, wait=0)
        self.assertGreater(other.fence, 0)
        with self.assertRaises(openfault.LockNotOwnedError):
            lk.release()
        self.assertFalse(lk.acquired)
        other.release()

    def test_etcd_auto_renew_reports_loss(self):
        check_auto_renew_reports_loss(self, self.p, "renew", 2, self.server.lapse, "lost lease")

    def test_etcd_unavailable_and_no_hang(self):
        with openfault.EtcdProvider("etcd://127.0.0.1:%d/?connect_timeout_ms=200"
                                    % free_port()) as dead:
            _exc, elapsed = check_unavailable_not_early(self, dead)
            self.assertLess(elapsed, 15)

    def test_etcd_second_endpoint_used_when_first_is_down(self):
        url = "etcd://127.0.0.1:%d,127.0.0.1:%d/%s" % (free_port(), self.server.port, PREFIX)
        with openfault.EtcdProvider(url) as p:
            with p.lock("two", ttl=5, wait=0) as lk:
                self.assertEqual(self.server.key("two")[0], lk.token.encode())


class EtcdAuthTest(unittest.TestCase):
    """A wrong password is AuthError, and no text the binding shows holds it."""

    PASSWORD = "py-root-pw-marker"

    @classmethod
    def setUpClass(cls):
        cls.server = EtcdServer(PREFIX)
        cls.server.enable_auth(cls.PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_etcd_auth_right_and_wrong_password(self):
        good = "etcd://root:%s@127.0.0.1:%d/%s" % (self.PASSWORD, self.server.port, PREFIX)
        with openfault.EtcdProvider(good) as p:
            with p.lock("auth", ttl=5, wait=0) as lk:
                self.assertGreater(lk.fence, 0)
        wrong = "etcd://root:wrong-%s@127.0.0.1:%d/%s" % (self.PASSWORD, self.server.port,
                                                          PREFIX)
        lines = []
        with openfault.EtcdProvider(wrong, log=lambda lv, m: lines.append(m),
                                    log_level="debug") as p:
            with self.assertRaises(openfault.AuthError) as cm:
                p.acquire("auth", wait=0)
            self.assertNotIn(self.PASSWORD, repr(p))
        assert_secret_hidden(self, self.PASSWORD, cm.exception, lines)


def main():
    if not openfault.etcd_available():
        skip = "libopenfault was built without the etcd provider (libcurl and jansson)"
    elif not etcd_binary():
        skip = "no etcd binary ($ETCD_SERVER unset and no etcd on PATH)"
    else:
        skip = None
    return run_unless_skipped(__name__, skip)


if __name__ == "__main__":
    sys.exit(main())
