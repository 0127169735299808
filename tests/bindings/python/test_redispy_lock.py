"""redis-py's lock tests (redispy_lock_cases) on LocalProvider, and the backend-answered
queries (owned, extend, reacquire, release) on a provider whose state the test can change
behind the Lock's back."""
import time
import unittest

import openfault
from openfault import LockError, LockNotOwnedError
from redispy_lock_cases import RedisPyLockCases
from test_lock import ScriptedProvider


class LocalRedisPyLockTest(RedisPyLockCases, unittest.TestCase):
    def setUp(self):
        self.p = self.q = openfault.LocalProvider()  # one provider is one lock namespace
        super().setUp()

    def tearDown(self):
        self.p.close()

    def assert_holder(self, name, lock):
        probe = self.p.lock(name)
        self.assertIs(probe.locked(), lock is not None)
        if lock is not None:
            self.assertIs(lock.owned(), True)

    def remaining(self, lock):
        return lock.valid_until - time.monotonic()

    def set_remaining(self, lock, seconds):
        lock.extend(seconds, replace_ttl=True)

    def take_over(self, lock):
        # The in-process backend and the Lock cannot disagree: let the lease end, then take it.
        lock.extend(0.05, replace_ttl=True)
        time.sleep(0.1)
        other = self.p.acquire(lock.name, ttl=30, wait=0)
        return lambda: other.release()

    def hold_externally(self, name):
        other = self.p.acquire(name, ttl=30, wait=0)
        return lambda: other.release()


class BackendAnswersTest(unittest.TestCase):
    """owned(), extend(), reacquire() and release() ask the backend: here a scripted provider
    whose owner table is changed while the Lock still believes it holds the name."""

    def setUp(self):
        self.sp = ScriptedProvider()

    def tearDown(self):
        self.sp.close()

    def steal(self, name):
        self.sp.owners[name.encode()] = b"\xff" * 16

    def test_owned_is_the_backends_answer(self):
        lock = self.sp.lock("job", timeout=10)
        self.assertIs(lock.owned(), False)  # nothing held: not asked
        self.assertTrue(lock.acquire(blocking=False))
        self.assertIs(lock.owned(), True)
        self.assertTrue(lock.held)
        self.steal("job")
        self.assertTrue(lock.held)  # local knowledge still says so
        self.assertIs(lock.owned(), False)
        self.assertFalse(lock.held)  # the NOT_OWNER answer marked it lost
        with self.assertRaises(LockNotOwnedError):
            lock.release()

    def test_locked_is_the_backends_answer(self):
        lock = self.sp.lock("job")
        self.assertIs(lock.locked(), False)
        self.assertEqual(self.sp.owners, {})  # the probe was released
        self.steal("job")
        self.assertIs(lock.locked(), True)
        del self.sp.owners[b"job"]
        self.assertIs(lock.locked(), False)

    def test_extend_reacquire_release_no_longer_owned(self):
        for action in ("extend", "reacquire", "release"):
            lock = self.sp.lock("job", timeout=10)
            self.assertTrue(lock.acquire(blocking=False))
            self.steal("job")
            with self.assertRaises(LockNotOwnedError) as cm:
                if action == "extend":
                    lock.extend(5)
                elif action == "reacquire":
                    lock.reacquire()
                else:
                    lock.release()
            self.assertIsInstance(cm.exception, openfault.NotOwnerError)
            self.assertEqual(cm.exception.lock_name, "job")
            if lock.acquired:
                with self.assertRaises(openfault.LostError):
                    lock.release()
            del self.sp.owners[b"job"]

    def test_owned_false_when_the_backend_refuses_the_extend(self):
        lock = self.sp.lock("job", timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        self.sp.fail_extend = True  # the scripted extend answers NOT_OWNER
        self.assertIs(lock.owned(), False)
        self.sp.fail_extend = False
        with self.assertRaises(LockError):
            lock.release()


if __name__ == "__main__":
    unittest.main()
