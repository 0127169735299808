"""Lock cases that read the same on several providers (redis_lock_test, redlock_lock_test,
etcd_lock_test): each takes the TestCase whose assertions it makes, and the providers."""
import threading
import time

import openfault


def check_busy_and_fences_increase(tc, p, q, name, holds, released, while_held=None):
    """Six rounds, alternating between providers @p p and @p q: the holder's lock is what
    @p holds(name, lock) sees on the server, the other provider finds it busy (also through
    lock(blocking=False)), @p while_held(other) checks more, and after the release
    @p released(name) sees it gone. Fences strictly increase."""
    fences = []
    for i in range(6):
        prov, other = (p, q) if i % 2 else (q, p)
        with prov.lock(name, ttl=5, wait=0) as lk:
            holds(name, lk)
            fences.append(lk.fence)
            with tc.assertRaises(openfault.BusyError):
                other.acquire(name, wait=0)
            tc.assertFalse(other.lock(name, blocking=False).acquire())
            if while_held is not None:
                while_held(other)
        released(name)
    tc.assertTrue(all(a < b for a, b in zip(fences, fences[1:])), fences)


def check_timeout_then_woken_by_release(tc, p, q, name):
    """A wait on a held lock times out, not before its deadline and without a hang; a wait
    that the holder's release ends takes it with a higher fence."""
    held = p.acquire(name, ttl=30)
    start = time.monotonic()
    with tc.assertRaises(openfault.TimeoutError):
        q.acquire(name, wait=0.3)
    elapsed = time.monotonic() - start
    tc.assertGreaterEqual(elapsed, 0.3)  # not before its deadline
    tc.assertLess(elapsed, 15)           # and no hang
    first = held.fence
    releaser = threading.Timer(0.2, held.release)
    releaser.start()
    try:
        lk = q.acquire(name, ttl=5, wait=20)
    finally:
        releaser.join(10)
    tc.assertGreater(lk.fence, first)
    lk.release()


def check_unavailable_not_early(tc, dead, name="x"):
    """@p dead reaches no backend: a try is UnavailableError; a 0.3 s wait ends with
    UnavailableError (an engine that reports that no attempt reached the backend) or
    TimeoutError (one that does not), not before 0.3 s. Returns the try's exception and the
    wait's duration, whose upper bound (no hang) the caller checks."""
    with tc.assertRaises(openfault.UnavailableError) as cm:
        dead.acquire(name, wait=0)
    start = time.monotonic()
    with tc.assertRaises((openfault.UnavailableError, openfault.TimeoutError)):
        dead.acquire(name, wait=0.3)
    elapsed = time.monotonic() - start
    tc.assertGreaterEqual(elapsed, 0.3)
    return cm.exception, elapsed


def check_auto_renew_reports_loss(tc, p, name, ttl, take_away, what):
    """An auto-renewed lock whose hold @p take_away(name) ends behind its back: the renewal
    notices (on_lost within 20 s, with NotOwnerError or LostError), the lock says lost, and its
    release is LockNotOwnedError. @p what names the loss in the failure message."""
    lost = threading.Event()
    seen = []

    def on_lost(lock, err):
        seen.append(type(err).__name__ if err is not None else None)
        lost.set()
    lk = p.acquire(name, ttl=ttl, auto_renew=True, on_lost=on_lost)
    take_away(name)
    tc.assertTrue(lost.wait(20), "the renewal never noticed the %s" % what)
    tc.assertTrue(lk.lost)
    tc.assertTrue(seen and seen[0] in ("NotOwnerError", "LostError"), seen)
    with tc.assertRaises(openfault.LockNotOwnedError):
        lk.release()


def assert_secret_hidden(tc, secret, exc, lines):
    """@p secret in none of the exception's texts nor the log @p lines."""
    for text in [str(exc), repr(exc), exc.detail] + lines:
        tc.assertNotIn(secret, text)
