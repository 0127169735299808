"""Leased named locks with fencing tokens: LocalProvider (in-process) and RedisProvider.

Durations are float seconds (redis-py's habit): ``ttl`` > 0; ``wait=None`` waits forever,
``wait=0`` tries once, ``wait=2.5`` waits up to 2.5 s. ``valid_until`` is on the
``time.monotonic()`` clock (CLOCK_MONOTONIC, the library's clock).
"""
import atexit
import contextlib
import ctypes
import sys
import threading
import time
import weakref

from ._native import (LOCK_AUTO_RENEW, LOST_FN, Error, LockOptions, LockStats, LockToken,
                      as_bytes, check, error, last_detail, lib)

_TTL_MAX_MS = lib.of_lock_ttl_max()
_NOT_SUPPORTED = -15
_BUSY, _TIMEOUT, _UNAVAILABLE = -7, -8, -11
# A wait on the main thread is made of C waits this long at most: Python runs signal handlers
# (Ctrl-C) only between bytecodes, never inside a C call, so this bounds how late they run. The
# engine's backoff ceiling is 100 ms by default, so slicing adds about one attempt per slice.
_SLICE_MS = 100
# Bound as module globals: the release path below calls C with nothing in between.
_c_acquire = lib.of_lock_acquire
_c_release = lib.of_lock_release
_c_now_ns = lib.of_clock_monotonic_ns
_tls = threading.local()  # .lock: the Lock whose loss callback runs on this thread
# Providers still open at interpreter exit are closed while Python can still run callbacks (the
# engine's thread must not call into a finalizing interpreter).
_open_providers = weakref.WeakSet()


@atexit.register
def _close_open_providers():
    for p in list(_open_providers):
        try:
            p.close()
        except Exception:
            pass

CAP_TTL, CAP_EXTEND, CAP_FENCE, CAP_WAIT, CAP_SHARED = 1, 2, 4, 8, 16


def _error(status):
    """The Error instance for @p status without raising it (the loss callback's argument)."""
    try:
        check(status)
    except Error as e:
        return e
    return None


def _ttl_ms(ttl):
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError("ttl must be a number of seconds")
    ms = round(ttl * 1000)
    if not ttl > 0 or ms < 1 or ms > _TTL_MAX_MS:
        raise ValueError("ttl must be between 0.001 and %g seconds, got %r"
                         % (_TTL_MAX_MS / 1000, ttl))
    return ms


def _wait_ms(wait):
    if wait is None:
        return -1
    if isinstance(wait, bool) or not isinstance(wait, (int, float)):
        raise TypeError("wait must be None (forever) or a number of seconds")
    if not wait >= 0:
        raise ValueError("wait must be None (forever), 0 (try once) or > 0 seconds, got %r"
                         % (wait,))
    if wait == 0:
        return 0
    return min(max(1, round(wait * 1000)), (1 << 63) - 1)


class _Slot:
    """The C handle of one acquisition, and what must live exactly as long as it.

    The handle's out-parameter is ``out`` itself, created before of_lock_acquire() is called, so
    the instant C writes a handle, a ``_Slot`` that releases it owns it; no Python bytecode (where
    a signal handler may raise KeyboardInterrupt) runs in between. A slot with a handle is in its
    provider's ``_live`` set (released by close()), and its Lock releases it when finalised. The
    slot refers to neither, so an orphaned Lock is collected (and released) promptly."""

    __slots__ = ("out", "cb", "mu", "owner", "__weakref__")

    def __init__(self, owner):
        self.out = ctypes.c_void_p()  # the of_lock *, written by C; None when there is none
        self.cb = None                # the CFUNCTYPE of the loss callback while C may call it
        self.mu = threading.Lock()    # serialises calls on the handle
        self.owner = weakref.ref(owner)  # the Lock; dead once it was collected


def _slot_release(slot, live):
    """Release the handle @p slot owns, if any: returns the C status, or None without a handle.

    CPython checks for pending signals (and switches threads) only at a function's start, on a
    backward jump and after a call returns, so an exception can come before the first line below
    (the handle stays owned) or after of_lock_release() returned (released, slot cleared), never
    between clearing the slot and releasing. Keep it that way: nothing may be added between."""
    h = slot.out.value
    if not h:
        return None
    slot.out.value = None
    rc = _c_release(h)
    slot.cb = None  # C no longer calls it
    live.discard(slot)
    return rc


def _release_uninterrupted(slot, live):
    """_slot_release() under the slot's mutex even while signal handlers raise: the release is
    never skipped. Returns (status or None, the first exception caught, to re-raise after)."""
    pending = None
    while True:
        try:
            with slot.mu:  # only a wait for the mutex can be interrupted; then we try again
                return _slot_release(slot, live), pending
        except BaseException as e:
            if pending is None:
                pending = e
            # An exception raised after the release returned: the slot is empty, the next round
            # returns at once.


def _sweep(live):
    """Release the handles whose Lock was collected without releasing them: only a signal
    handler raising as Lock.__del__ starts (before its first line) gets there; the provider
    then releases them on its next acquire, stats() or close()."""
    for slot in [s for s in live if s.owner() is None]:
        _release_uninterrupted(slot, live)


def _on_main_thread():
    return threading.current_thread() is threading.main_thread()


def _make_trampoline(wlock):
    """The loss callback for C: it holds the Lock weakly, so the callback (which lives in the
    slot, owned by the provider) does not keep an orphaned Lock from being finalised."""
    def trampoline(handle, status, _ctx):
        lk = wlock()
        if lk is not None:  # else its finaliser is releasing the handle
            lk._lost_callback(handle, status)
    return LOST_FN(trampoline)


class Lock:
    """One named lock on a provider. Make it with ``provider.lock(...)`` (acquired on ``with``
    or ``acquire()``) or ``provider.acquire(...)`` (already held).

    A Lock that holds a handle releases it when it is closed by its provider, when ``release()``
    or ``with`` ends it, or when the object is garbage: no exception (KeyboardInterrupt included)
    leaves a lock that no object will release.

    Thread-safety: any thread may use it, one call at a time is serialised internally; the
    ``on_lost`` callback runs on the library's renewal thread and may call ``release()``.
    """

    def __init__(self, provider, name, ttl=10.0, wait=None, *, auto_renew=False, on_lost=None):
        self._slot = _Slot(self)
        self._provider = provider
        self.name = name
        self._name_bytes = as_bytes(name)
        self._ttl_ms = _ttl_ms(ttl)
        self._wait_ms = _wait_ms(wait)
        self._auto_renew = bool(auto_renew)
        self._on_lost = on_lost
        self._mu = self._slot.mu
        self._release_requested = False
        self.lost_status = None  #: the status the loss callback reported, if it ran

    # -- state -----------------------------------------------------------------------------
    @property
    def acquired(self):
        """True from a successful acquire until the handle is released (also after the lease
        ended: a lost lock still has to be released, which ``with`` and release() do)."""
        return self._slot.out.value is not None

    @property
    def held(self):
        """True while the lease can be counted on: acquired, not marked lost by the engine, and
        its ``valid_until`` not yet passed (on the library's monotonic clock)."""
        if self._current() is None:  # no wait for the mutex while another thread acquires
            return False
        with self._guard():
            h = self._current()
            return h is not None and not self._lost_handle(h)

    @property
    def lost(self):
        """Whether the lease is over: the engine marked it lost (failed renewal or extend,
        NOT_OWNER answer) or its ``valid_until`` has passed. Raises ValueError when not acquired."""
        with self._guard():
            return self._lost_handle(self._handle())

    @staticmethod
    def _lost_handle(h):
        # valid_until first: once it passed, a later renewal cannot make the lease good again.
        return _c_now_ns() >= lib.of_lock_valid_until_ns(h) or bool(lib.of_lock_is_lost(h))

    def _current(self):
        """The handle: the slot's, or inside this lock's loss callback the one C passed (a very
        short lease may be reported before of_lock_acquire() has returned it)."""
        if getattr(_tls, "lock", None) is self:
            return _tls.handle
        return self._slot.out.value

    def _handle(self):
        h = self._current()
        if h is None:
            raise ValueError("lock %r is not held" % (self.name,))
        return h

    def _guard(self):
        """Serialise calls on the handle. Inside this lock's own loss callback the handle is
        alive until the callback returns (a release elsewhere waits for it), and the mutex may
        be held by a thread whose C call waits for the callback: don't take it there."""
        if getattr(_tls, "lock", None) is self:
            return contextlib.nullcontext()
        return self._mu

    @property
    def fence(self):
        """The fencing token of this acquisition (int, strictly increasing per name)."""
        out = ctypes.c_uint64()
        with self._guard():
            check(lib.of_lock_fence(self._handle(), ctypes.byref(out)))
        return out.value

    @property
    def valid_until(self):
        """End of the lease in seconds on the time.monotonic() clock (conservative)."""
        with self._guard():
            return lib.of_lock_valid_until_ns(self._handle()) / 1e9

    @property
    def token(self):
        """The 128-bit owner token as 32 hex digits."""
        t = LockToken()
        with self._guard():
            check(lib.of_lock_token_get(self._handle(), ctypes.byref(t)))
        return bytes(t.bytes).hex()

    # -- actions ---------------------------------------------------------------------------
    def acquire(self):
        """Take the lock with this object's ttl and wait. Returns self.
        Raises BusyError (wait=0 and held), TimeoutError (wait > 0 passed while another owner
        held it), UnavailableError (the backend was not reached), UnknownOutcomeError, ...
        (openfault.Error subclasses). On the main thread the wait is interruptible: Ctrl-C
        raises KeyboardInterrupt within about 0.1 s, and the lock is then not held."""
        slot = self._slot
        with self._mu:
            if slot.out.value is not None:
                raise ValueError("lock %r is already held by this object" % (self.name,))
            opts = LockOptions()
            check(lib.of_lock_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
            opts.ttl_ms = self._ttl_ms
            cb = None
            if self._auto_renew:
                opts.flags = LOCK_AUTO_RENEW
                cb = _make_trampoline(weakref.ref(self))
                opts.on_lost = ctypes.cast(cb, ctypes.c_void_p)
            self._release_requested = False
            self.lost_status = None
            live = self._provider._live
            _sweep(live)
            slot.cb = cb  # C may call it until the handle is released: keep it alive
            live.add(slot)  # before C can write a handle into it
            try:
                rc, detail = self._acquire_into(slot, opts)
            except BaseException:
                # Interrupted (KeyboardInterrupt, a signal handler's exception), possibly right
                # after C took the lock: the caller never got it, so give it back now.
                if _slot_release(slot, live) is None:
                    live.discard(slot)
                raise
            if rc != 0:
                slot.cb = None
                live.discard(slot)
                raise error(rc, detail)
            # A loss reported before we got here (a very short lease) asked for a release.
            self._deferred_release_locked()
        return self

    def _acquire_into(self, slot, opts):
        """Call of_lock_acquire() writing into @p slot. Returns (status, detail).

        The GIL is released during each C call (lib is a CDLL): other threads run meanwhile. On
        the main thread, where Python runs signal handlers, a wait is a series of C waits of at
        most _SLICE_MS each, so a handler runs between them; the caller's deadline stays
        "wait ms from now"."""
        prov = self._provider._handle()
        name = self._name_bytes
        args = (prov, name, len(name), ctypes.byref(opts), ctypes.byref(slot.out))
        wait_ms = self._wait_ms
        if wait_ms == 0 or not _on_main_thread():
            opts.wait_ms = wait_ms
            rc = _c_acquire(*args)
            return rc, (last_detail() if rc else "")
        deadline = None if wait_ms < 0 else _c_now_ns() + wait_ms * 1000000
        reached = False  # some attempt got an answer from the backend (the lock was held)
        while True:
            now = _c_now_ns()
            piece = _SLICE_MS
            if deadline is not None:
                piece = max(1, min(piece, -((now - deadline) // 1000000)))  # ceil: never early
            opts.wait_ms = piece
            rc = _c_acquire(*args)
            if rc == 0:
                return 0, ""
            if rc not in (_BUSY, _TIMEOUT, _UNAVAILABLE):
                return rc, last_detail()  # UNKNOWN, AUTH, INVALID, ...: final
            detail = last_detail()
            if rc != _UNAVAILABLE:
                reached = True
            after = _c_now_ns()
            if deadline is not None and after >= deadline:
                # TIMEOUT if the lock was seen held during the wait, else the backend was never
                # reached: UNAVAILABLE; the detail keeps the last cause.
                return ((_TIMEOUT if reached else _UNAVAILABLE),
                        "no lock after %d ms; last: %s" % (wait_ms, detail))
            end = now + piece * 1000000
            if rc == _UNAVAILABLE and after < end:
                # An engine that reports UNAVAILABLE before the slice ended must not make us
                # spin on a backend that is down.
                time.sleep((min(end, deadline or end) - after) / 1e9)

    def extend(self, ttl=None):
        """Set the lease to @p ttl seconds from now (default: the acquire ttl).
        Raises NotOwnerError (expired or taken over; the lock is then lost), LostError,
        UnknownOutcomeError, NotSupportedError, ..."""
        ms = self._ttl_ms if ttl is None else _ttl_ms(ttl)
        with self._guard():
            try:
                check(lib.of_lock_extend(self._handle(), ms))
            finally:
                self._deferred_release_locked()

    def release(self):
        """Release the lock (the C handle is freed whatever the outcome).
        Raises NotOwnerError (our lease had expired or was taken over), LostError (already
        known lost), UnknownOutcomeError / UnavailableError (a cleanup is queued).
        Called inside this lock's own on_lost callback, the release happens right after the
        callback returns."""
        if getattr(_tls, "lock", None) is self:
            self._release_requested = True
            return
        rc, pending = _release_uninterrupted(self._slot, self._provider._live)
        if pending is not None:
            raise pending
        if rc is None:
            raise ValueError("lock %r is not held" % (self.name,))
        check(rc)

    def _release_locked(self, raise_error):
        """Release with self._mu held (or inside the loss callback). Returns the status."""
        rc = _slot_release(self._slot, self._provider._live)
        if rc is None:
            if raise_error:
                raise ValueError("lock %r is not held" % (self.name,))
            return None
        if raise_error:
            check(rc)
        return rc

    def _deferred_release_locked(self):
        if self._release_requested and self._slot.out.value is not None:
            self._release_requested = False
            self._release_locked(raise_error=False)

    def _lost_callback(self, handle, status):
        # On the engine's thread, with the GIL (ctypes takes it). Never block on self._mu here:
        # a thread holding it may be inside a C call that waits for this callback to return.
        self.lost_status = status
        if self._on_lost is not None:
            _tls.lock, _tls.handle = self, handle
            try:
                self._on_lost(self, _error(status))
            except BaseException:  # an exception cannot cross into C: report it like a thread
                sys.excepthook(*sys.exc_info())
            finally:
                _tls.lock = _tls.handle = None
        if self._release_requested and self._mu.acquire(blocking=False):
            try:
                # The library allows the loss callback to release its own handle.
                self._deferred_release_locked()
            finally:
                self._mu.release()
        # Otherwise the thread holding _mu releases after its own call returns.

    def __enter__(self):
        had = self._slot.out.value  # read in C: no signal check before the acquire
        try:
            if had is None:
                self.acquire()
        except BaseException:
            # An exception after acquire() succeeded but before we return (a signal handler)
            # would skip __exit__: release what this call took.
            if had is None:
                _release_uninterrupted(self._slot, self._provider._live)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        # The release first, and never skipped by an exception raised meanwhile.
        rc, pending = _release_uninterrupted(self._slot, self._provider._live)
        if pending is not None:
            raise pending
        if exc_type is None and rc is not None:
            check(rc)  # a lease lost during the block is worth an exception
        return False

    def __del__(self):
        try:
            _slot_release(self._slot, self._provider._live)
        except Exception:
            pass

    def __repr__(self):
        if self._slot.out.value is None:
            state = "not held"
        else:
            state = "held" if self.held else "lost"
        return "<openfault.Lock %r %s>" % (self.name, state)


class LockProvider:
    """Base of LocalProvider and RedisProvider. close() (or ``with``) destroys the provider after
    releasing any lock still held through it. Thread-safety: safe from any thread."""

    def __init__(self, handle):
        self._h = handle
        # The _Slot of every handle taken through this provider and not yet released (with
        # the handle, not the Lock: an orphaned Lock is still collected and releases its slot).
        self._live = set()
        _open_providers.add(self)

    def _handle(self):
        if not self._h:
            raise ValueError("operation on a closed lock provider")
        return self._h

    @property
    def name(self):
        """The backend's name: "local", "redis", ..."""
        return lib.of_lock_provider_name(self._handle()).decode()

    @property
    def caps(self):
        """Capability bits (CAP_TTL | CAP_EXTEND | CAP_FENCE | CAP_WAIT | CAP_SHARED)."""
        return lib.of_lock_provider_caps(self._handle())

    def stats(self):
        """The provider's counters as a dict (attempts, acquired, busy, timeouts, lost, ...)."""
        _sweep(self._live)
        s = LockStats()
        s.struct_size = ctypes.sizeof(s)
        check(lib.of_lock_provider_stats(self._handle(), ctypes.byref(s)))
        return {n: getattr(s, n) for n, _t in LockStats._fields_[2:]}

    def lock(self, name, ttl=10.0, wait=None, *, auto_renew=False, on_lost=None):
        """A Lock for @p name (str is UTF-8, bytes pass through), not yet acquired: use it in a
        ``with`` block or call acquire(). @p on_lost(lock, error) is called on the library's
        thread when an auto-renewed lease is lost."""
        return Lock(self, name, ttl, wait, auto_renew=auto_renew, on_lost=on_lost)

    def acquire(self, name, ttl=10.0, wait=None, *, auto_renew=False, on_lost=None):
        """lock(...).acquire(): a held Lock."""
        return self.lock(name, ttl, wait, auto_renew=auto_renew, on_lost=on_lost).acquire()

    def close(self):
        """Release every lock still held through this provider, then destroy it."""
        for slot in list(self._live):
            _release_uninterrupted(slot, self._live)
        h, self._h = self._h, None
        if h:
            _open_providers.discard(self)
            lib.of_lock_provider_destroy(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class LocalProvider(LockProvider):
    """In-process named locks shared by this process's threads (leases, fences, waiters woken
    on release)."""

    def __init__(self):
        out = ctypes.c_void_p()
        check(lib.of_lock_local_create(ctypes.byref(out)))
        super().__init__(out.value)


class RedisProvider(LockProvider):
    """Locks on one Redis server, from a URL such as ``redis://user:pass@host:6379/0`` or
    ``unix:///run/redis.sock`` (see docs/locks.md for every parameter). Nothing connects until
    the first lock call. Raises NotSupportedError when the library was built without hiredis."""

    def __init__(self, url):
        out = ctypes.c_void_p()
        check(lib.of_lock_redis_create_url(as_bytes(url), ctypes.byref(out)))
        super().__init__(out.value)


def redis_available():
    """Whether the loaded library has the Redis providers."""
    return bool(lib.of_lock_redis_available())
