"""openfault.RedisProvider on a private redis-server (loopback, free port, temp dir).

Run by meson (suite 'redis'/'ffi') only when redis-server was found and the library has the
Redis providers: $REDIS_SERVER names the binary, and its absence is a failure, not a skip.
"""
import gc
import os
import random
import subprocess
import sys
import threading
import time
import unittest

import openfault
from lock_case_helpers import check_unavailable_not_early
from redispy_lock_cases import RedisPyLockCases
from server_harness import RedisServer, Resp, free_port, lock_key
from sigint_harness import Interrupter


class TwoProvidersOnOneServer:
    """A private server for the class, two providers on it (two clients) for each test. A
    mixin ahead of unittest.TestCase (and of RedisPyLockCases, whose setUp needs the providers):
    each step calls on along the MRO."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = RedisServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        super().tearDownClass()

    def setUp(self):
        self.p = openfault.RedisProvider(self.server.url)
        self.q = openfault.RedisProvider(self.server.url)
        super().setUp()

    def tearDown(self):
        self.p.close()
        self.q.close()
        super().tearDown()


class RedisRedisPyLockTest(TwoProvidersOnOneServer, RedisPyLockCases, unittest.TestCase):
    """redis-py's lock tests on the Redis provider, checked with redis-py's own kind of look at
    the server (the key's value and PTTL), through two providers (two clients)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.r = Resp(cls.server.port)

    @classmethod
    def tearDownClass(cls):
        cls.r.close()
        super().tearDownClass()

    def assert_holder(self, name, lock):
        self.assertEqual(self.r("GET", lock_key(name)),
                         None if lock is None else lock.token.encode())

    def remaining(self, lock):
        ms = self.r("PTTL", lock_key(lock.name))
        self.assertGreater(ms, 0)
        return ms / 1000

    def set_remaining(self, lock, seconds):
        self.assertEqual(self.r("PEXPIRE", lock_key(lock.name), int(seconds * 1000)), 1)

    def take_over(self, lock):
        self.assertEqual(self.r("SET", lock_key(lock.name), "a"), "OK")  # as redis-py's tests
        return lambda: self.r("DEL", lock_key(lock.name))

    def hold_externally(self, name):
        self.assertEqual(self.r("SET", lock_key(name), "bar"), "OK")
        return lambda: self.r("DEL", lock_key(name))

    def test_lock_key_is_the_documented_one(self):
        # The hooks above read the provider's keys: make sure they are the right ones.
        with self.p.lock("a{b}%c", timeout=7) as lk:
            self.assertEqual(self.r("GET", "{a%7Bb%7D%25c}:lock"), lk.token.encode())


CHILD = r"""
import sys, openfault
p = openfault.RedisProvider(sys.argv[1])
with p.lock(sys.argv[2], ttl=10, wait=20) as lk:
    print(lk.fence)
p.close()
"""


class RedisLockTest(TwoProvidersOnOneServer, unittest.TestCase):

    def test_redis_provider_properties(self):
        self.assertTrue(openfault.redis_available())
        self.assertEqual(self.p.name, "redis")
        self.assertTrue(self.p.caps & openfault.CAP_SHARED)
        self.assertTrue(self.p.caps & openfault.CAP_FENCE)

    def test_redis_busy_across_providers_and_fences_increase(self):
        fences = []
        for i in range(6):
            prov = self.p if i % 2 else self.q
            with prov.lock("py-job", ttl=5, wait=0) as lk:
                fences.append(lk.fence)
                other = self.q if prov is self.p else self.p
                with self.assertRaises(openfault.BusyError):
                    other.acquire("py-job", wait=0)
        self.assertTrue(all(a < b for a, b in zip(fences, fences[1:])), fences)

    def test_redis_lock_shared_with_another_process(self):
        held = self.p.acquire("py-proc", ttl=30)
        env = dict(os.environ)
        child = subprocess.Popen([sys.executable, "-c", CHILD, self.server.url, "py-proc"],
                                 stdout=subprocess.PIPE, env=env)
        time.sleep(0.3)
        self.assertIsNone(child.poll())  # it waits for us
        first = held.fence
        held.release()
        out, _ = child.communicate(timeout=30)
        self.assertEqual(child.returncode, 0)
        self.assertGreater(int(out), first)

    def test_redis_timeout_and_not_owner(self):
        held = self.p.acquire("py-t", ttl=30)
        start = time.monotonic()
        with self.assertRaises(openfault.TimeoutError):
            self.q.acquire("py-t", wait=0.3)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertLessEqual(elapsed, 1.3)
        held.release()
        old = self.p.acquire("py-exp", ttl=0.1)
        time.sleep(0.25)
        new = self.q.acquire("py-exp", ttl=10, wait=0)
        self.assertGreater(new.fence, old.fence)
        with self.assertRaises(openfault.NotOwnerError):
            old.release()
        with self.assertRaises(openfault.BusyError):
            self.p.acquire("py-exp", wait=0)  # the new owner's lease survived
        new.extend(20)
        new.release()

    def test_redis_unavailable_and_bad_url(self):
        dead = openfault.RedisProvider("redis://127.0.0.1:%d" % free_port())
        try:
            _exc, elapsed = check_unavailable_not_early(self, dead)
            self.assertLessEqual(elapsed, 1.3)  # no hang
        finally:
            dead.close()
        with self.assertRaises(openfault.InvalidError) as cm:
            openfault.RedisProvider("http://nope")
        self.assertNotEqual(cm.exception.detail, "")

    def test_redis_lost_and_held_follow_valid_until(self):
        lk = self.p.acquire("py-vu", ttl=0.2)  # no auto-renew
        self.assertTrue(lk.held)
        self.assertFalse(lk.lost)
        while time.monotonic() < lk.valid_until:
            time.sleep(0.01)
        self.assertTrue(lk.lost)
        self.assertFalse(lk.held)
        self.assertTrue(lk.acquired)
        time.sleep(0.1)  # past the server's expiry too
        other = self.q.acquire("py-vu", ttl=10, wait=0)
        with self.assertRaises((openfault.NotOwnerError, openfault.LostError)):
            lk.release()
        self.assertFalse(lk.acquired)
        other.release()


class RedisSignalsTest(TwoProvidersOnOneServer, unittest.TestCase):
    """KeyboardInterrupt at many points of a Redis acquisition (see test_lock_signals)."""

    def setUp(self):
        super().setUp()
        self.rng = random.Random(11)
        self.gc_was = gc.isenabled()
        gc.disable()  # what releases an orphan must be its owner, not a later cycle collection

    def tearDown(self):
        if self.gc_was:
            gc.enable()
        super().tearDown()

    def assert_free(self, name, why):
        # Another owner on the same provider, and the other provider agrees. A step cut short
        # by the interrupt may have left an unknown outcome, whose release the engine has queued:
        # a short wait covers it, the 30 s lease of a real orphan does not.
        try:
            probe = self.p.acquire(name, ttl=30, wait=2)
        except openfault.TimeoutError:
            self.fail("lock left held after %s" % (why,))
        with self.assertRaises(openfault.BusyError):
            self.q.acquire(name, wait=0)
        probe.release()

    def body(self, name, wait, auto_renew):
        def run():
            with self.p.lock(name, ttl=30, wait=wait, auto_renew=auto_renew) as lk:
                assert lk.held
        return run

    def test_redis_sigint_during_handover_never_orphans(self):
        hits = 0
        with Interrupter() as intr:
            for i in range(80):
                source = "timer" if i % 3 else "sigint"
                holder = self.q.acquire("py-sig", ttl=30, wait=0)
                releaser = threading.Timer(self.rng.uniform(0, 0.005), holder.release)
                releaser.start()
                hits += intr.attempt(self.body("py-sig", None, i % 2 == 1),
                                     self.rng.uniform(0, 0.006), source)
                releaser.join(10)
                self.assert_free("py-sig", "iteration %d (%s)" % (i, source))
        self.assertGreater(hits, 0)

    def test_redis_sigint_on_a_free_lock_never_orphans(self):
        hits = 0
        with Interrupter() as intr:
            for i in range(150):
                source = "timer" if i % 3 else "sigint"
                wait = (None, 0, 2.0)[i % 3]
                hits += intr.attempt(self.body("py-sig-free", wait, i % 2 == 1),
                                     self.rng.uniform(0, 0.001), source)
                self.assert_free("py-sig-free", "iteration %d (%s, wait=%r)" % (i, source, wait))
        self.assertGreater(hits, 0)

    def test_redis_sigint_while_held_is_bounded(self):
        holder = self.q.acquire("py-sig-held", ttl=30, wait=0)
        safety = threading.Timer(6.0, holder.release)
        safety.start()
        try:
            with Interrupter() as intr:
                for i in range(8):
                    delay = self.rng.uniform(0, 0.2)
                    start = time.monotonic()
                    hit = intr.attempt(self.body("py-sig-held", (None, 30.0)[i % 2], i % 4 < 2),
                                       delay, "timer" if i % 2 else "sigint")
                    self.assertTrue(hit, "iteration %d: acquire returned while held" % i)
                    self.assertLessEqual(time.monotonic() - start, delay + 1.0, "iteration %d" % i)
                    with self.assertRaises(openfault.BusyError):
                        self.p.acquire("py-sig-held", wait=0)
        finally:
            safety.cancel()
        self.assertTrue(holder.held)
        holder.release()
        self.assert_free("py-sig-held", "the holder released")


if __name__ == "__main__":
    unittest.main()
