"""openfault.RedlockProvider on three private redis-servers (loopback, free ports, temp dirs).

Registered by meson in every build (suites 'ffi' and 'redis'); run as a script, it exits 77
(meson's "skipped") when the library was built without hiredis or no redis-server is found
($REDIS_SERVER, else `redis-server` on PATH). The servers are server_harness.RedisServer
(stopped by PID); each server holds a Redlock lock under the single-server provider's keys (docs/redlock.md).
"""
import os
import shutil
import sys
import time
import unittest

import openfault
from lock_case_helpers import (assert_secret_hidden, check_auto_renew_reports_loss,
                               check_busy_and_fences_increase,
                               check_timeout_then_woken_by_release, check_unavailable_not_early)
from server_harness import (Resp, free_port, lock_key, run_unless_skipped,
                            start_redis_servers as start_servers)

if not os.environ.get("REDIS_SERVER") and shutil.which("redis-server"):
    os.environ["REDIS_SERVER"] = shutil.which("redis-server")


class RedlockLockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = start_servers()
        cls.urls = [s.url for s in cls.servers]
        cls.resp = [Resp(s.port) for s in cls.servers]

    @classmethod
    def tearDownClass(cls):
        for r in cls.resp:
            r.close()
        for s in cls.servers:
            s.stop()

    def setUp(self):
        # Timeouts well above the default 0.1 s: a loaded test machine must not turn a slow
        # reply into a failed step (the defaults are the library's business, tested there).
        self.p = openfault.RedlockProvider(self.urls, command_timeout=2)            # a list
        self.q = openfault.RedlockProvider(",".join(self.urls), command_timeout=2)  # one string

    def tearDown(self):
        self.p.close()
        self.q.close()

    def assert_quorum(self, name, lock):
        """A quorum (2 of 3) holds @p lock's token for @p name, or with None no longer holds
        the name. Not all 3: once the outcome is decided a round waits for a slow server only
        briefly (docs/redlock.md), so on a loaded machine one server may lag either way."""
        holders = [r("GET", lock_key(name)) for r in self.resp]
        if lock is None:
            self.assertLessEqual(sum(h is not None for h in holders), 1, holders)
        else:
            self.assertGreaterEqual(holders.count(lock.token.encode()), 2, holders)

    def test_redlock_properties(self):
        self.assertTrue(openfault.redlock_available())
        self.assertEqual(self.p.name, "redlock")
        self.assertTrue(self.p.caps & openfault.CAP_FENCE)
        self.assertFalse(self.p.caps & openfault.CAP_WAIT)
        self.assertEqual(repr(self.q), "<openfault.RedlockProvider 3 servers>")

    def test_redlock_acquire_release_busy_and_fences_increase(self):
        check_busy_and_fences_increase(
            self, self.p, self.q, "job", self.assert_quorum,
            lambda name: self.assert_quorum(name, None),
            while_held=lambda other: self.assertTrue(other.lock("job").locked()))

    def test_redlock_timeout(self):
        check_timeout_then_woken_by_release(self, self.p, self.q, "t")

    def test_redlock_extend(self):
        lk = self.p.acquire("ext", ttl=2)
        before = lk.valid_until
        self.assertTrue(lk.extend(ttl=20))
        self.assertGreater(lk.valid_until, before + 10)
        self.assertGreaterEqual(sum(r("PTTL", lock_key("ext")) > 10000 for r in self.resp), 2)
        self.assertTrue(lk.extend(5, replace_ttl=True))
        self.assertTrue(lk.owned())
        lk.release()

    def test_redlock_drift_options_reach_the_library(self):
        # valid_until = (time before the first send) + ttl - drift, drift = ttl * ppm / 10^6 +
        # extra (docs/redlock.md): the allowance shows in what remains of a fresh 10 s lease.
        for kwargs, low, high in (({}, 7.0, 10.0),
                                  ({"drift_ppm": 500000, "drift_extra": 0}, 2.0, 5.0),
                                  ({"drift_ppm": 0, "drift_extra": 2.5}, 4.5, 7.5)):
            with self.subTest(kwargs=kwargs):
                with openfault.RedlockProvider(self.urls, **kwargs) as prov:
                    with prov.lock("drift", ttl=10, wait=0) as lk:
                        remaining = lk.valid_until - time.monotonic()
                        self.assertGreater(remaining, low)
                        self.assertLessEqual(remaining, high)

    def test_redlock_lost_after_expiry(self):
        lk = self.p.acquire("vu", ttl=0.2)  # no auto-renew
        while time.monotonic() < lk.valid_until:
            time.sleep(0.01)
        self.assertTrue(lk.lost)
        self.assertFalse(lk.held)
        time.sleep(0.1)  # past the servers' expiry too
        other = self.q.acquire("vu", ttl=10, wait=0)
        self.assertGreater(other.fence, lk.fence)
        with self.assertRaises(openfault.LockNotOwnedError):
            lk.extend(5)
        with self.assertRaises(openfault.LockNotOwnedError):
            lk.release()
        self.assert_quorum("vu", other)
        other.release()

    def test_redlock_auto_renew_reports_loss_of_the_quorum(self):
        def take_away(name):
            for r in self.resp[:2]:  # another owner on 2 of 3: our quorum is gone
                self.assertEqual(r("SET", lock_key(name), "someone-else"), "OK")
        try:
            check_auto_renew_reports_loss(self, self.p, "renew", 1, take_away, "lost quorum")
        finally:
            for r in self.resp:
                r("DEL", lock_key("renew"))

    def test_redlock_refused_credentials_never_shown(self):
        secret = "py-redlock-pw-marker"
        urls = ["redis://:%s@127.0.0.1:%d" % (secret, s.port) for s in self.servers]
        lines = []
        with openfault.RedlockProvider(urls, log=lambda lv, m: lines.append(m),
                                       log_level="debug") as p:
            self.assertNotIn(secret, repr(p))
            # These servers have no password: AUTH is answered with an error reply.
            with self.assertRaises((openfault.AuthError, openfault.ProtocolError)) as cm:
                p.acquire("auth", wait=0)
        assert_secret_hidden(self, secret, cm.exception, lines)


class RedlockQuorumTest(unittest.TestCase):
    """Servers stopped under a provider: a minority down still acquires, a majority down is
    UnavailableError (never BUSY). Fresh servers for each test."""

    def setUp(self):
        self.servers = start_servers()
        self.urls = [s.url for s in self.servers]
        self.p = openfault.RedlockProvider(self.urls, connect_timeout=0.2, command_timeout=2)

    def tearDown(self):
        self.p.close()
        for s in self.servers:
            s.stop()

    def test_redlock_one_of_three_stopped_still_acquires(self):
        first = self.p.acquire("q", ttl=5, wait=0)  # every server reached: pooled connections
        f0 = first.fence
        first.release()
        self.servers[0].stop()
        lk = self.p.acquire("q", ttl=5, wait=0)
        self.assertGreater(lk.fence, f0)
        live = [Resp(s.port) for s in self.servers[1:]]
        try:
            self.assertEqual([r("GET", lock_key("q")) for r in live], [lk.token.encode()] * 2)
        finally:
            for r in live:
                r.close()
        with openfault.RedlockProvider(self.urls, connect_timeout=0.2,
                                       command_timeout=2) as other:
            with self.assertRaises(openfault.BusyError):  # both live servers say it is held
                other.acquire("q", wait=0)
        self.assertTrue(lk.extend(10))
        lk.release()

    def test_redlock_two_of_three_stopped_is_unavailable(self):
        with self.p.lock("q", ttl=5, wait=0):
            pass
        self.servers[0].stop()
        self.servers[1].stop()
        for prov in (self.p, openfault.RedlockProvider(self.urls, connect_timeout=0.2)):
            with prov:
                exc, elapsed = check_unavailable_not_early(self, prov, "q")
                self.assertNotEqual(exc.detail, "")
                self.assertLess(elapsed, 15)

    def test_redlock_dead_servers_only(self):
        urls = ["redis://127.0.0.1:%d" % free_port() for _ in range(3)]
        with openfault.RedlockProvider(urls, connect_timeout=0.2) as dead:
            with self.assertRaises(openfault.UnavailableError):
                dead.acquire("x", wait=0)


def main():
    if not openfault.redlock_available():
        skip = "libopenfault was built without hiredis (no Redlock provider)"
    elif not os.environ.get("REDIS_SERVER"):
        skip = "no redis-server ($REDIS_SERVER unset and no redis-server on PATH)"
    else:
        skip = None
    return run_unless_skipped(__name__, skip)


if __name__ == "__main__":
    sys.exit(main())
