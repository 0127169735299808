"""redis-py's tests/test_lock.py, ported to openfault's redis-py-compatible Lock surface.

Every case of redis-py's lock tests that has a counterpart here, written anew for this binding
(named as there, so the two lists can be compared). The mixin runs against any provider; the
subclass supplies the backend's view through a few hooks:

- ``self.p``, ``self.q``: providers on the same backend (the same object for LocalProvider);
- ``assert_holder(name, lock)``: the backend says @p lock (or nobody, for None) holds @p name;
- ``remaining(lock)``: the lease left on the backend, in seconds;
- ``set_remaining(lock, seconds)``: shorten the backend's lease (redis-py: ``r.pexpire``);
- ``take_over(lock)``: make another owner hold the name (redis-py: ``r.set("foo", "a")``);
- ``hold_externally(name)``: make the name held by someone else, returning what undoes it.

Timing checks only say "not before the deadline" and "no hang" (deadline + max(1 s, 100 %)).
"""
import threading
import time

import openfault
from openfault import LockError, LockNotOwnedError

# timeout=None: the longest lease the library has, renewed (redis-py: a key without expiry).
NO_EXPIRY_FLOOR = 24 * 86400.0


class RedisPyLockCases:
    def setUp(self):
        super().setUp()
        self.foo = "foo:" + self._testMethodName

    def get_lock(self, name, **kwargs):
        return self.p.lock(name, **kwargs)

    def other_lock(self, name, **kwargs):
        return self.q.lock(name, **kwargs)

    def within_deadline(self, elapsed, wait):
        self.assertGreaterEqual(elapsed, wait)
        self.assertLessEqual(elapsed, wait + max(1.0, wait))

    # -- redis-py: TestLock ----------------------------------------------------------------
    def test_lock(self):
        lock = self.get_lock(self.foo, timeout=None)
        self.assertIs(lock.acquire(blocking=False), True)
        self.assert_holder(self.foo, lock)
        self.assertGreater(self.remaining(lock), NO_EXPIRY_FLOOR)  # redis-py: ttl == -1
        lock.release()
        self.assert_holder(self.foo, None)

    def test_lock_token(self):
        # No counterpart for a caller-chosen token: the library makes it (fences rely on it).
        lock = self.get_lock(self.foo)
        with self.assertRaises(openfault.NotSupportedError):
            lock.acquire(blocking=False, token="test")
        self.assertFalse(lock.acquired)
        self.assertIs(lock.acquire(blocking=False), True)
        self.assertEqual(len(lock.token), 32)
        lock.release()

    def test_locked(self):
        lock = self.get_lock(self.foo)
        self.assertIs(lock.locked(), False)
        lock.acquire(blocking=False)
        self.assertIs(lock.locked(), True)
        lock2 = self.other_lock(self.foo)
        self.assertIs(lock2.locked(), True)
        lock.release()
        self.assertIs(lock.locked(), False)
        self.assertIs(lock2.locked(), False)
        # locked() probes without keeping anything: the name is free for a one-try acquire
        self.assertIs(lock2.acquire(blocking=False), True)
        lock2.release()

    def test_owned(self):
        lock = self.get_lock(self.foo)
        self.assertIs(lock.owned(), False)
        lock.acquire(blocking=False)
        self.assertIs(lock.owned(), True)
        lock.release()
        self.assertIs(lock.owned(), False)

        lock2 = self.other_lock(self.foo)
        self.assertIs(lock.owned(), False)
        self.assertIs(lock2.owned(), False)
        lock2.acquire(blocking=False)
        self.assertIs(lock.owned(), False)
        self.assertIs(lock2.owned(), True)
        lock2.release()
        self.assertIs(lock.owned(), False)
        self.assertIs(lock2.owned(), False)

    def test_owned_asks_the_backend(self):
        # redis-py compares the server's value with the token; here the local state still says
        # held, and only the backend knows the name was taken over.
        lock = self.get_lock(self.foo, timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        undo = self.take_over(lock)
        try:
            self.assertIs(lock.owned(), False)
            self.assertIs(lock.held, False)  # the backend's answer marked the handle lost
        finally:
            undo()
        with self.assertRaises(LockNotOwnedError):
            lock.release()

    def test_owned_keeps_the_lease(self):
        # owned() extends by what remains (at least the ttl): it never shortens the lease.
        lock = self.get_lock(self.foo, timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        self.assertTrue(lock.extend(20))
        for _ in range(20):
            self.assertIs(lock.owned(), True)
        self.assertGreater(self.remaining(lock), 10)
        lock.release()

    def test_competing_locks(self):
        lock1 = self.get_lock(self.foo)
        lock2 = self.other_lock(self.foo)
        self.assertIs(lock1.acquire(blocking=False), True)
        self.assertIs(lock2.acquire(blocking=False), False)
        lock1.release()
        self.assertIs(lock2.acquire(blocking=False), True)
        self.assertIs(lock1.acquire(blocking=False), False)
        lock2.release()

    def test_timeout(self):
        lock1 = self.get_lock(self.foo, timeout=10)
        lock2 = self.get_lock(self.foo + ":bar", timeout=None)
        self.assertTrue(lock1.acquire())
        self.assertTrue(lock2.acquire())
        self.assertTrue(8 < self.remaining(lock1) <= 10, self.remaining(lock1))
        self.assertGreater(self.remaining(lock2), NO_EXPIRY_FLOOR)
        lock1.release()
        lock2.release()

    def test_float_timeout(self):
        lock = self.get_lock(self.foo, timeout=9.5)
        self.assertTrue(lock.acquire(blocking=False))
        self.assertTrue(8 < self.remaining(lock) <= 9.5, self.remaining(lock))
        lock.release()

    def test_blocking(self):
        lock = self.get_lock(self.foo, blocking=False)
        self.assertFalse(lock.blocking)
        lock_2 = self.get_lock(self.foo)
        self.assertTrue(lock_2.blocking)

    def test_blocking_timeout(self):
        lock1 = self.get_lock(self.foo)
        self.assertTrue(lock1.acquire(blocking=False))
        bt = 0.4
        sleep = 0.05
        lock2 = self.other_lock(self.foo, sleep=sleep, blocking_timeout=bt)
        self.assertEqual((lock2.sleep, lock2.blocking_timeout), (sleep, bt))
        start = time.monotonic()
        self.assertIs(lock2.acquire(), False)
        self.within_deadline(time.monotonic() - start, bt)
        # acquire(blocking_timeout=) overrides the object's
        start = time.monotonic()
        self.assertIs(lock2.acquire(blocking_timeout=0.2), False)
        self.within_deadline(time.monotonic() - start, 0.2)
        lock1.release()

    def test_blocking_acquire_gets_the_released_lock(self):
        lock1 = self.get_lock(self.foo)
        self.assertTrue(lock1.acquire(blocking=False))
        threading.Timer(0.2, lock1.release).start()
        lock2 = self.other_lock(self.foo, blocking_timeout=20)
        start = time.monotonic()
        self.assertIs(lock2.acquire(), True)
        self.assertLess(time.monotonic() - start, 10)
        lock2.release()

    def test_context_manager(self):
        # blocking_timeout prevents a deadlock if the lock can't be acquired for some reason
        with self.get_lock(self.foo, blocking_timeout=0.2) as lock:
            self.assert_holder(self.foo, lock)
        self.assert_holder(self.foo, None)

    def test_context_manager_blocking_timeout(self):
        with self.get_lock(self.foo, blocking=False):
            bt = 0.4
            sleep = 0.05
            lock2 = self.other_lock(self.foo, sleep=sleep, blocking_timeout=bt)
            start = time.monotonic()
            self.assertIs(lock2.acquire(), False)
            self.within_deadline(time.monotonic() - start, bt)

    def test_context_manager_raises_when_locked_not_acquired(self):
        undo = self.hold_externally(self.foo)
        try:
            with self.assertRaises(LockError):
                with self.get_lock(self.foo, blocking_timeout=0.1):
                    self.fail("entered the block of a lock held elsewhere")
            with self.assertRaises(LockError):
                with self.get_lock(self.foo, blocking=False):
                    self.fail("entered the block of a lock held elsewhere")
        finally:
            undo()

    def test_context_manager_not_raise_on_release_lock_not_owned_error(self):
        try:
            with self.get_lock(self.foo, timeout=0.1, raise_on_release_error=False):
                time.sleep(0.15)
        except LockNotOwnedError:
            self.fail("LockNotOwnedError should not have been raised")
        with self.assertRaises(LockNotOwnedError):
            with self.get_lock(self.foo, timeout=0.1, raise_on_release_error=True):
                time.sleep(0.15)

    def test_context_manager_not_raise_on_release_lock_error(self):
        try:
            with self.get_lock(self.foo, timeout=0.1, raise_on_release_error=False) as lock:
                lock.release()
        except LockError:
            self.fail("LockError should not have been raised")
        with self.assertRaises(LockError):
            with self.get_lock(self.foo, timeout=0.1, raise_on_release_error=True) as lock:
                lock.release()

    def test_high_sleep_small_blocking_timeout(self):
        lock1 = self.get_lock(self.foo)
        self.assertTrue(lock1.acquire(blocking=False))
        sleep = 60
        bt = 1
        lock2 = self.other_lock(self.foo, sleep=sleep, blocking_timeout=bt)
        start = time.monotonic()
        self.assertIs(lock2.acquire(), False)
        # redis-py gives up at once (its next poll would be after the timeout); sleep is not
        # used here, so the wait is the blocking_timeout, and never the sleep.
        self.within_deadline(time.monotonic() - start, bt)
        lock1.release()

    def test_releasing_unlocked_lock_raises_error(self):
        lock = self.get_lock(self.foo)
        with self.assertRaises(LockError):
            lock.release()

    def test_releasing_lock_no_longer_owned_raises_error(self):
        lock = self.get_lock(self.foo)
        lock.acquire(blocking=False)
        undo = self.take_over(lock)
        try:
            with self.assertRaises(LockNotOwnedError):
                lock.release()
            # even though we errored, the handle is gone
            self.assertFalse(lock.acquired)
            self.assertIs(lock.owned(), False)
        finally:
            undo()

    def test_extend_lock(self):
        lock = self.get_lock(self.foo, timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        self.assertTrue(8 < self.remaining(lock) <= 10)
        self.assertIs(lock.extend(10), True)
        self.assertTrue(16 < self.remaining(lock) <= 20, self.remaining(lock))
        lock.release()

    def test_extend_lock_replace_ttl(self):
        lock = self.get_lock(self.foo, timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        self.assertTrue(8 < self.remaining(lock) <= 10)
        self.assertIs(lock.extend(10, replace_ttl=True), True)
        self.assertTrue(8 < self.remaining(lock) <= 10, self.remaining(lock))
        lock.release()

    def test_extend_lock_float(self):
        lock = self.get_lock(self.foo, timeout=10.5)
        self.assertTrue(lock.acquire(blocking=False))
        self.assertTrue(8 < self.remaining(lock) <= 10.5)
        self.assertIs(lock.extend(10.5), True)
        self.assertTrue(16 < self.remaining(lock) <= 21, self.remaining(lock))
        lock.release()

    def test_extending_unlocked_lock_raises_error(self):
        lock = self.get_lock(self.foo, timeout=10)
        with self.assertRaises(LockError):
            lock.extend(10)

    def test_extending_lock_with_no_timeout_raises_error(self):
        lock = self.get_lock(self.foo, timeout=None)
        self.assertTrue(lock.acquire(blocking=False))
        with self.assertRaises(LockError):
            lock.extend(10)
        lock.release()

    def test_extending_lock_no_longer_owned_raises_error(self):
        lock = self.get_lock(self.foo, timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        undo = self.take_over(lock)
        try:
            with self.assertRaises(LockNotOwnedError):
                lock.extend(10)
        finally:
            undo()
        with self.assertRaises(LockNotOwnedError):
            lock.release()

    def test_reacquire_lock(self):
        lock = self.get_lock(self.foo, timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        self.set_remaining(lock, 5)
        self.assertLessEqual(self.remaining(lock), 5)
        self.assertIs(lock.reacquire(), True)
        self.assertTrue(8 < self.remaining(lock) <= 10, self.remaining(lock))
        lock.release()

    def test_reacquiring_unlocked_lock_raises_error(self):
        lock = self.get_lock(self.foo, timeout=10)
        with self.assertRaises(LockError):
            lock.reacquire()

    def test_reacquiring_lock_with_no_timeout_raises_error(self):
        lock = self.get_lock(self.foo, timeout=None)
        self.assertTrue(lock.acquire(blocking=False))
        with self.assertRaises(LockError):
            lock.reacquire()
        lock.release()

    def test_reacquiring_lock_no_longer_owned_raises_error(self):
        lock = self.get_lock(self.foo, timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        undo = self.take_over(lock)
        try:
            with self.assertRaises(LockNotOwnedError):
                lock.reacquire()
        finally:
            undo()
        with self.assertRaises(LockNotOwnedError):
            lock.release()

    def test_lock_error_gives_correct_lock_name(self):
        undo = self.hold_externally(self.foo)
        try:
            with self.assertRaises(LockError) as cm:
                with self.get_lock(self.foo, blocking_timeout=0.1):
                    pass
            self.assertEqual(cm.exception.lock_name, self.foo)
        finally:
            undo()

    # -- redis-py: exception hierarchy ------------------------------------------------------
    def test_lock_exceptions_hierarchy(self):
        self.assertTrue(issubclass(LockNotOwnedError, LockError))
        self.assertTrue(issubclass(LockError, ValueError))  # as redis.exceptions.LockError
        self.assertTrue(issubclass(LockError, openfault.Error))
        for name in ("NotOwnerError", "LostError"):
            self.assertTrue(issubclass(getattr(openfault, name), LockNotOwnedError))
        for name in ("BusyError", "TimeoutError"):
            self.assertTrue(issubclass(getattr(openfault, name), LockError))
        self.assertTrue(issubclass(openfault.TimeoutError, TimeoutError))

    # -- redis-py: thread_local (accepted: the acquisition belongs to the object) -----------
    def test_lock_thread_local_false(self):
        lock = self.get_lock(self.foo, timeout=10, thread_local=False)
        self.assertTrue(lock.acquire(blocking=False))
        t = threading.Thread(target=lock.release)
        t.start()
        t.join(10)
        self.assertFalse(lock.acquired)
        self.assert_holder(self.foo, None)

    # -- the existing spellings still work next to redis-py's --------------------------------
    def test_lock_ttl_and_wait_spellings_still_raise(self):
        lock1 = self.get_lock(self.foo, ttl=10, wait=0)
        self.assertEqual((lock1.timeout, lock1.blocking, lock1.blocking_timeout), (10, False, None))
        self.assertTrue(lock1.acquire())
        with self.assertRaises(openfault.BusyError):
            self.q.acquire(self.foo, wait=0)
        start = time.monotonic()
        with self.assertRaises(openfault.TimeoutError):
            self.q.acquire(self.foo, wait=0.2)
        self.within_deadline(time.monotonic() - start, 0.2)
        with self.assertRaises(openfault.BusyError):
            with self.other_lock(self.foo, wait=0):
                pass
        self.assertGreater(lock1.fence, 0)
        lock1.release()
        with self.assertRaises(openfault.InvalidError):
            self.get_lock(self.foo, ttl=5, timeout=5)
        with self.assertRaises(openfault.InvalidError):
            self.get_lock(self.foo, wait=1, blocking_timeout=1)
        with self.assertRaises(openfault.InvalidError):
            self.get_lock(self.foo, blocking_timeout=-1)
        with self.assertRaises(openfault.InvalidTypeError):
            self.get_lock(self.foo, timeout="5")
