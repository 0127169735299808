"""KeyboardInterrupt at any point of a lock acquisition never leaves an orphaned lock, and a
wait (also wait=None) is interrupted by SIGINT within a bounded time. LocalProvider; the Redis
provider gets the same treatment in redis_lock_test."""
import gc
import random
import threading
import time
import unittest

import openfault
from sigint_harness import Interrupter

NAME = "sig-job"


def take(p, wait, auto_renew):
    def body():
        with p.lock(NAME, ttl=30, wait=wait, auto_renew=auto_renew) as lk:
            assert lk.held
    return body


class SignalsTest(unittest.TestCase):
    def setUp(self):
        self.p = openfault.LocalProvider()
        self.rng = random.Random(11)
        self.gc_was = gc.isenabled()
        gc.disable()  # what releases an orphan must be its owner, not a later cycle collection

    def tearDown(self):
        if self.gc_was:
            gc.enable()
        self.p.close()

    def assert_free(self, why):
        try:
            probe = self.p.acquire(NAME, ttl=30, wait=0)
        except openfault.BusyError:
            self.fail("lock left held after %s" % (why,))
        probe.release()

    def test_sigint_during_handover_never_orphans(self):
        # The lock is held and released by another thread while we wait in C: an interrupt that
        # arrives during the wait is seen right after C has taken the lock.
        counts = {"timer": 0, "sigint": 0}
        n = 300
        with Interrupter() as intr:
            for i in range(n):
                source = "timer" if i % 3 else "sigint"
                delay = self.rng.uniform(0, 0.003)
                hold_for = self.rng.uniform(0, 0.003)
                holder = self.p.acquire(NAME, ttl=30, wait=0)
                releaser = threading.Timer(hold_for, holder.release)
                releaser.start()
                hit = intr.attempt(take(self.p, None, i % 2 == 1), delay, source)
                releaser.join(10)
                counts[source] += hit
                self.assert_free("iteration %d (%s at %.4f s, handover at %.4f s)"
                                 % (i, source, delay, hold_for))
        self.assertGreater(counts["timer"], 0, counts)
        self.assertGreater(counts["sigint"], 0, counts)

    def test_sigint_on_a_free_lock_never_orphans(self):
        hits = 0
        with Interrupter() as intr:
            for i in range(300):
                source = "timer" if i % 3 else "sigint"
                wait = (None, 0, 2.0)[i % 3]
                delay = self.rng.uniform(0, 0.0005 if source == "timer" else 0.002)
                hits += intr.attempt(take(self.p, wait, i % 2 == 1), delay, source)
                self.assert_free("iteration %d (%s at %.5f s, wait=%r)" % (i, source, delay, wait))
        self.assertGreater(hits, 0)

    def test_sigint_while_held_interrupts_and_leaves_the_holder(self):
        holder = self.p.acquire(NAME, ttl=30, wait=0)
        # If an interrupt were ignored until the lock is free, this bounds the test's wait.
        safety = threading.Timer(5.0, holder.release)
        safety.start()
        try:
            with Interrupter() as intr:
                for i in range(20):
                    source = "timer" if i % 2 else "sigint"
                    delay = self.rng.uniform(0, 0.005)
                    start = time.monotonic()
                    hit = intr.attempt(take(self.p, (None, 30.0)[i % 2], i % 4 < 2), delay,
                                       source)
                    elapsed = time.monotonic() - start
                    self.assertTrue(hit, "iteration %d: acquire returned while held" % i)
                    self.assertLessEqual(elapsed, delay + 1.0, "iteration %d" % i)
                    with self.assertRaises(openfault.BusyError):  # the holder still holds it
                        self.p.acquire(NAME, wait=0)
        finally:
            safety.cancel()
        self.assertTrue(holder.held)
        holder.release()
        self.assert_free("the holder released")

    def test_sigint_interrupts_a_wait_forever_within_a_bound(self):
        holder = self.p.acquire(NAME, ttl=30, wait=0)
        safety = threading.Timer(5.0, holder.release)
        safety.start()
        sent = []
        try:
            with Interrupter():
                def send():
                    time.sleep(0.2)
                    sent.append(time.monotonic())
                    import signal
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                threading.Thread(target=send, daemon=True).start()
                start = time.monotonic()
                with self.assertRaises(KeyboardInterrupt):
                    with self.p.lock(NAME, ttl=30, wait=None):
                        pass
                end = time.monotonic()
        finally:
            safety.cancel()
        self.assertEqual(len(sent), 1)
        self.assertGreaterEqual(end - start, 0.2)
        self.assertLessEqual(end - sent[0], 1.0)  # no hang: bound, not a precise figure
        self.assertTrue(holder.held)
        holder.release()
        self.assert_free("the holder released")

    def test_orphaned_lock_object_is_released_when_dropped(self):
        # An interrupt that hits the caller right after acquire() returned leaves a Lock whose
        # only reference is the one the caller dropped: it must give the lock back, also with
        # auto-renew (the renewal thread must not keep it alive).
        for auto_renew in (False, True):
            lk = self.p.acquire(NAME, ttl=30, wait=0, auto_renew=auto_renew)
            self.assertTrue(lk.held)
            del lk
            self.assert_free("dropping the Lock (auto_renew=%r)" % auto_renew)


if __name__ == "__main__":
    unittest.main()
