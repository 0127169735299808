"""openfault.LocalProvider: fences, BUSY/TIMEOUT, release/extend, auto-renew, errors."""
import ctypes
import threading
import time
import unittest

import openfault
from openfault import _native

C = ctypes
_TRY = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p, C.c_uint32,
                   C.c_int64, C.POINTER(C.c_uint64), C.POINTER(C.c_int64),
                   C.POINTER(C.c_uint32))
_REL = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p, C.c_int64)
_EXT = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p, C.c_uint32,
                   C.c_int64, C.POINTER(C.c_int64))


class _Ops(C.Structure):
    """of_lock_provider_ops (lock.h), ABI 1."""
    _fields_ = [("abi_version", C.c_uint32), ("struct_size", C.c_uint32), ("name", C.c_char_p),
                ("caps", C.c_uint32), ("reserved0", C.c_uint32), ("try_acquire", _TRY),
                ("release", _REL), ("extend", _EXT), ("wait_release", C.c_void_p),
                ("destroy", C.c_void_p)]


class ScriptedProvider(openfault.LockProvider):
    """A provider written in Python through of_lock_provider_create(), whose extend can be made
    to answer NOT_OWNER: the only deterministic way to make the engine report a loss."""

    def __init__(self):
        self.owners, self.fence, self.fail_extend = {}, 0, False
        self.answer = None  # a function: the status try_acquire returns instead of working

        def try_acquire(_self, name, n, token, _ttl, _dl, out_fence, _vu, _retry):
            if self.answer is not None:
                return self.answer()
            key = C.string_at(name, n)
            if key in self.owners:
                return -7
            self.owners[key] = C.string_at(token, 16)
            self.fence += 1
            out_fence[0] = self.fence
            return 0

        def release(_self, name, n, token, _dl):
            key = C.string_at(name, n)
            if self.owners.get(key) != C.string_at(token, 16):
                return -9
            del self.owners[key]
            return 0

        def extend(_self, name, n, token, _ttl, _dl, _vu):
            if self.fail_extend or self.owners.get(C.string_at(name, n)) != C.string_at(token, 16):
                return -9
            return 0

        # C calls these until the provider is destroyed: they live as long as this object.
        self._fns = (_TRY(try_acquire), _REL(release), _EXT(extend))
        ops = _Ops(1, C.sizeof(_Ops), b"scripted", 1 | 2 | 4, 0, *self._fns, None, None)
        assert C.sizeof(_Ops) == _native.lib.of_lock_provider_ops_size()
        out = C.c_void_p()
        _native.check(create(C.byref(ops), None, C.byref(out)))
        super().__init__(out.value)


create = _native._declare(_native.lib, "of_lock_provider_create", C.c_int, C.c_void_p,
                          C.c_void_p, C.POINTER(C.c_void_p))
_native._declare(_native.lib, "of_lock_provider_ops_size", C.c_size_t)


def within_deadline(test, elapsed, wait):
    """Never before the deadline; by deadline + max(1 s, 100 %) (a hang, not a precise bound)."""
    test.assertGreaterEqual(elapsed, wait)
    test.assertLessEqual(elapsed, wait + max(1.0, wait))


class LocalLockTest(unittest.TestCase):
    def setUp(self):
        self.p = openfault.LocalProvider()

    def tearDown(self):
        self.p.close()

    def test_lock_provider_properties(self):
        self.assertEqual(self.p.name, "local")
        caps = self.p.caps
        for cap in (openfault.CAP_TTL, openfault.CAP_EXTEND, openfault.CAP_FENCE,
                    openfault.CAP_WAIT):
            self.assertTrue(caps & cap)

    def test_lock_with_block_and_fences_strictly_increase(self):
        fences = []
        for _ in range(5):
            with self.p.lock("job", ttl=5) as lk:
                self.assertTrue(lk.held)
                fences.append(lk.fence)
                self.assertGreater(lk.valid_until, time.monotonic())
                self.assertLessEqual(lk.valid_until, time.monotonic() + 5)
                self.assertEqual(len(lk.token), 32)
            self.assertFalse(lk.held)
        self.assertEqual(fences, sorted(set(fences)))
        stats = self.p.stats()
        self.assertEqual(stats["acquired"], 5)
        self.assertEqual(stats["released"], 5)

    def test_lock_threads_contend_with_increasing_fences(self):
        seen, inside, errors = [], [0], []
        guard = threading.Lock()

        def worker():
            try:
                for _ in range(50):
                    with self.p.lock(b"shared\x00name", ttl=10, wait=None) as lk:
                        with guard:
                            inside[0] += 1
                            self.assertEqual(inside[0], 1)
                            seen.append(lk.fence)
                        with guard:
                            inside[0] -= 1
            except Exception as e:  # surfaced below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(seen), 200)
        # appended under the lock itself, so the order is the acquisition order
        self.assertTrue(all(a < b for a, b in zip(seen, seen[1:])))

    def test_lock_busy_when_held_and_wait_zero(self):
        held = self.p.acquire("busy", ttl=10)
        with self.assertRaises(openfault.BusyError) as cm:
            self.p.acquire("busy", wait=0)
        e = cm.exception
        self.assertIsInstance(e, openfault.Error)
        self.assertEqual(e.status, -7)
        self.assertEqual(e.name, "OF_ERR_BUSY")
        # str and bytes name the same lock
        with self.assertRaises(openfault.BusyError):
            self.p.acquire(b"busy", wait=0)
        held.release()
        self.p.acquire(b"busy", wait=0).release()

    def test_lock_timeout_respects_the_deadline(self):
        held = self.p.acquire("t", ttl=30)
        start = time.monotonic()
        with self.assertRaises(openfault.TimeoutError):
            self.p.acquire("t", wait=0.2)
        within_deadline(self, time.monotonic() - start, 0.2)
        held.release()

    def test_lock_waiter_wakes_on_release(self):
        held = self.p.acquire("w", ttl=30)
        got = []

        def waiter():
            with self.p.lock("w", wait=20) as lk:
                got.append(lk.fence)

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.1)
        self.assertEqual(got, [])
        first = held.fence
        held.release()
        t.join(20)
        self.assertEqual(len(got), 1)
        self.assertGreater(got[0], first)

    def test_lock_expired_lease_taken_over_gives_not_owner(self):
        old = self.p.acquire("exp", ttl=0.05)
        time.sleep(0.1)
        new = self.p.acquire("exp", ttl=10, wait=0)
        self.assertGreater(new.fence, old.fence)
        with self.assertRaises(openfault.NotOwnerError):
            old.extend(1)
        with self.assertRaises(openfault.LostError):
            old.release()
        self.assertFalse(old.held)
        with self.assertRaises(openfault.BusyError):  # the new owner was not touched
            self.p.acquire("exp", wait=0)
        new.release()

    def test_lock_with_block_reports_a_lost_lease(self):
        with self.assertRaises(openfault.NotOwnerError):
            with self.p.lock("lost", ttl=0.05):
                time.sleep(0.1)
                self.p.acquire("lost", wait=0)  # takes the expired name over (held by provider)
        # an exception inside the block is not masked by the release
        with self.assertRaises(KeyError):
            with self.p.lock("lost2", ttl=0.05):
                time.sleep(0.1)
                self.p.acquire("lost2", wait=0)
                raise KeyError("inner")

    def test_lock_extend_moves_valid_until(self):
        lk = self.p.acquire("ext", ttl=0.5)
        before = lk.valid_until
        lk.extend(20)
        self.assertGreater(lk.valid_until, before + 10)
        time.sleep(0.6)  # beyond the first ttl: still ours
        with self.assertRaises(openfault.BusyError):
            self.p.acquire("ext", wait=0)
        self.assertFalse(lk.lost)
        lk.release()

    def test_lock_auto_renew_outlives_ttl(self):
        lost = []
        lk = self.p.acquire("renew", ttl=0.3, auto_renew=True,
                            on_lost=lambda l, e: lost.append(e))
        time.sleep(1.0)
        with self.assertRaises(openfault.BusyError):
            self.p.acquire("renew", wait=0)
        self.assertFalse(lk.lost)
        self.assertEqual(lost, [])
        self.assertGreaterEqual(self.p.stats()["extended"], 1)
        lk.release()

    def test_lock_on_lost_callback_may_release(self):
        sp = ScriptedProvider()
        try:
            called = threading.Event()
            seen = []

            def on_lost(lk, err):
                seen.append((threading.current_thread() is threading.main_thread(), err))
                seen.append((lk.lost, lk.fence))  # the handle is usable in the callback
                lk.release()  # allowed inside the callback: done right after it returns
                called.set()

            lk = sp.acquire("job", ttl=0.3, auto_renew=True, on_lost=on_lost)
            self.assertEqual(lk.fence, 1)
            sp.fail_extend = True
            self.assertTrue(called.wait(10))
            deadline = time.monotonic() + 10
            # acquired turns False as the release starts; the provider sees it when C returns
            while (lk.acquired or sp.owners) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertFalse(lk.acquired)
            self.assertEqual(len(seen), 2)
            self.assertEqual(seen[1], (True, 1))
            on_main, err = seen[0]
            self.assertFalse(on_main)  # the engine's thread
            self.assertIsInstance(err, openfault.NotOwnerError)
            self.assertEqual(lk.lost_status, -9)
            self.assertEqual(sp.owners, {})  # the release made in the callback reached it
            sp.fail_extend = False
            again = sp.acquire("job", wait=0)
            self.assertEqual(again.fence, 2)
            again.release()
        finally:
            sp.close()

    def test_lock_on_lost_while_main_thread_releases(self):
        sp = ScriptedProvider()
        try:
            entered, proceed, flags = threading.Event(), threading.Event(), []

            def on_lost(lk, _err):
                entered.set()
                proceed.wait(10)
                flags.append(lk.lost)  # the main thread is inside release(): no deadlock

            lk = sp.acquire("job2", ttl=0.3, auto_renew=True, on_lost=on_lost)
            sp.fail_extend = True
            self.assertTrue(entered.wait(10))
            threading.Timer(0.2, proceed.set).start()
            # waits (GIL released) for the callback, which does not need our mutex: no deadlock
            with self.assertRaises(openfault.LostError):
                lk.release()
            self.assertTrue(proceed.is_set())
            self.assertEqual(flags, [True])
            self.assertFalse(lk.acquired)
        finally:
            sp.close()

    def test_lock_lost_and_held_follow_valid_until(self):
        lk = self.p.acquire("vu", ttl=0.2)  # no auto-renew: nothing moves valid_until
        self.assertTrue(lk.held)
        self.assertFalse(lk.lost)
        self.assertIn("held", repr(lk))
        while time.monotonic() < lk.valid_until:
            time.sleep(0.01)
        # nobody asked the engine (no renewal, no extend), but the lease is over
        self.assertTrue(lk.lost)
        self.assertFalse(lk.held)
        self.assertTrue(lk.acquired)  # the handle must still be released
        self.assertIn("lost", repr(lk))
        with self.assertRaises((openfault.NotOwnerError, openfault.LostError)):
            lk.extend(10)  # the engine agrees: the lease passed
        self.assertTrue(lk.lost)
        with self.assertRaises(openfault.Error):
            lk.release()
        self.assertFalse(lk.acquired)
        self.assertFalse(lk.held)
        with self.assertRaises(ValueError):
            lk.lost  # not acquired: no lease to ask about

    def test_lock_sliced_wait_keeps_timeout_on_any_thread(self):
        held = self.p.acquire("slice", ttl=30)
        try:
            for wait in (0.05, 0.35):  # below and above one slice
                start = time.monotonic()
                with self.assertRaises(openfault.TimeoutError) as cm:
                    self.p.acquire("slice", wait=wait)
                within_deadline(self, time.monotonic() - start, wait)
                self.assertNotEqual(cm.exception.detail, "")
            out = []

            def in_thread():
                t0 = time.monotonic()
                try:
                    self.p.acquire("slice", wait=0.3)
                except openfault.TimeoutError:
                    out.append(time.monotonic() - t0)

            t = threading.Thread(target=in_thread)
            t.start()
            t.join(10)
            self.assertEqual(len(out), 1)
            within_deadline(self, out[0], 0.3)
            with self.assertRaises(openfault.BusyError):  # wait=0 is still one try
                self.p.acquire("slice", wait=0)
        finally:
            held.release()
        lk = self.p.acquire("slice", wait=0.35)  # free: no wait at all
        lk.release()

    def test_lock_sliced_wait_tells_timeout_from_unavailable(self):
        sp = ScriptedProvider()
        try:
            start = time.monotonic()
            # held (BUSY) during the first slice, then the backend goes away: the lock was seen
            # held during the wait, so this is a timeout.
            sp.answer = lambda: -7 if time.monotonic() - start < 0.15 else -11
            with self.assertRaises(openfault.TimeoutError):
                sp.acquire("job", wait=0.4)
            within_deadline(self, time.monotonic() - start, 0.4)
            sp.answer = lambda: -11
            with self.assertRaises(openfault.UnavailableError):
                sp.acquire("job", wait=0)
            start = time.monotonic()
            # Never reached: UNAVAILABLE from an engine that says so when no attempt reached the
            # backend, TIMEOUT from one that does not; never anything else, never early.
            with self.assertRaises((openfault.UnavailableError, openfault.TimeoutError)) as cm:
                sp.acquire("job", wait=0.3)
            within_deadline(self, time.monotonic() - start, 0.3)
            self.assertIn("300 ms", cm.exception.detail)
            sp.answer = lambda: -13  # any other error ends the wait at once
            start = time.monotonic()
            with self.assertRaises(openfault.AuthError):
                sp.acquire("job", wait=5)
            self.assertLess(time.monotonic() - start, 1.0)
            sp.answer = None
            sp.acquire("job", wait=0.3).release()
        finally:
            sp.close()

    def test_lock_bad_arguments(self):
        for kwargs in ({"ttl": 0}, {"ttl": -1}, {"ttl": 0.0001}, {"wait": -1}, {"ttl": 1e10}):
            with self.assertRaises(ValueError):
                self.p.lock("x", **kwargs)
        with self.assertRaises(TypeError):
            self.p.lock("x", ttl="10")
        with self.assertRaises(TypeError):
            self.p.lock(42)
        with self.assertRaises(openfault.InvalidError) as cm:
            self.p.acquire("")
        self.assertEqual(cm.exception.status, -1)
        with self.assertRaises(openfault.InvalidError):
            self.p.acquire("n" * 1025)
        lk = self.p.lock("x")
        with self.assertRaises(ValueError):
            lk.release()  # not held
        lk.acquire()
        with self.assertRaises(ValueError):
            lk.acquire()  # not reentrant on one object either
        lk.release()

    def test_lock_close_releases_held_locks(self):
        p = openfault.LocalProvider()
        lk = p.acquire("c", ttl=10)
        p.close()
        self.assertFalse(lk.held)
        with self.assertRaises(ValueError):
            p.acquire("c")

    def test_errors_have_a_subclass_per_status(self):
        names = {-1: "InvalidError", -7: "BusyError", -8: "TimeoutError", -9: "NotOwnerError",
                 -10: "LostError", -11: "UnavailableError", -12: "UnknownOutcomeError",
                 -15: "NotSupportedError", -16: "AbiError"}
        for status, name in names.items():
            cls = getattr(openfault, name)
            self.assertTrue(issubclass(cls, openfault.Error))
            e = cls(status, "X")
            self.assertEqual(e.status, status)


if __name__ == "__main__":
    unittest.main()
