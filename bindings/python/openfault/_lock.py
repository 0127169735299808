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
import weakref

from ._native import (LOCK_AUTO_RENEW, LOST_FN, Error, LockOptions, LockStats, LockToken,
                      as_bytes, check, lib)

_TTL_MAX_MS = lib.of_lock_ttl_max()
_NOT_SUPPORTED = -15
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


class Lock:
    """One named lock on a provider. Make it with ``provider.lock(...)`` (acquired on ``with``
    or ``acquire()``) or ``provider.acquire(...)`` (already held).

    Thread-safety: any thread may use it, one call at a time is serialised internally; the
    ``on_lost`` callback runs on the library's renewal thread and may call ``release()``.
    """

    def __init__(self, provider, name, ttl=10.0, wait=None, *, auto_renew=False, on_lost=None):
        self._provider = provider
        self.name = name
        self._name_bytes = as_bytes(name)
        self._ttl_ms = _ttl_ms(ttl)
        self._wait_ms = _wait_ms(wait)
        self._auto_renew = bool(auto_renew)
        self._on_lost = on_lost
        self._mu = threading.Lock()
        self._h = None
        self._cb = None
        self._release_requested = False
        self.lost_status = None  #: the status the loss callback reported, if it ran

    # -- state -----------------------------------------------------------------------------
    @property
    def held(self):
        """True between a successful acquire and release (also when the lease was lost)."""
        return self._h is not None

    def _handle(self):
        h = self._h
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
    def lost(self):
        """Whether the lease is known lost (failed renewal or extend, NOT_OWNER answer)."""
        with self._guard():
            return bool(lib.of_lock_is_lost(self._handle()))

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
        Raises BusyError (wait=0 and held), TimeoutError (wait > 0 passed), UnavailableError,
        UnknownOutcomeError, ... (openfault.Error subclasses)."""
        with self._mu:
            if self._h is not None:
                raise ValueError("lock %r is already held by this object" % (self.name,))
            opts = LockOptions()
            check(lib.of_lock_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
            opts.ttl_ms = self._ttl_ms
            opts.wait_ms = self._wait_ms
            cb = None
            if self._auto_renew:
                opts.flags = LOCK_AUTO_RENEW
                cb = LOST_FN(self._lost_trampoline)
                opts.on_lost = ctypes.cast(cb, ctypes.c_void_p)
            out = ctypes.c_void_p()
            name = self._name_bytes
            self._release_requested = False
            self.lost_status = None
            self._cb = cb  # C may call it until the handle is released: keep it alive
            # The GIL is released for the call (lib is a CDLL): other threads run while we wait.
            rc = lib.of_lock_acquire(self._provider._handle(), name, len(name),
                                     ctypes.byref(opts), ctypes.byref(out))
            if rc != 0:
                self._cb = None
                check(rc)
            self._h = out.value
            self._provider._held.add(self)
            # A loss reported before we got here (a very short lease) asked for a release.
            self._deferred_release_locked()
        return self

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
        with self._mu:
            self._release_locked(raise_error=True)

    def _release_locked(self, raise_error):
        h = self._h
        if h is None:
            if raise_error:
                raise ValueError("lock %r is not held" % (self.name,))
            return None
        # Waits (GIL released) for a running renewal or loss callback of this handle; the
        # handle stays in self._h meanwhile so that callback can still read it.
        try:
            rc = lib.of_lock_release(h)
        finally:
            self._h = None
        self._cb = None
        self._provider._held.discard(self)
        if raise_error:
            check(rc)
        return rc

    def _deferred_release_locked(self):
        if self._release_requested and self._h is not None:
            self._release_requested = False
            self._release_locked(raise_error=False)

    def _lost_trampoline(self, _handle, status, _ctx):
        # On the engine's thread, with the GIL (ctypes takes it). Never block on self._mu here:
        # a thread holding it may be inside a C call that waits for this callback to return.
        self.lost_status = status
        if self._h is None:  # reported before acquire() stored the handle (a tiny lease)
            self._h = _handle
        if self._on_lost is not None:
            _tls.lock = self
            try:
                self._on_lost(self, _error(status))
            except BaseException:  # an exception cannot cross into C: report it like a thread
                sys.excepthook(*sys.exc_info())
            finally:
                _tls.lock = None
        if self._release_requested and self._mu.acquire(blocking=False):
            try:
                # The library allows the loss callback to release its own handle.
                self._deferred_release_locked()
            finally:
                self._mu.release()
        # Otherwise the thread holding _mu releases after its own call returns.

    def __enter__(self):
        if self._h is None:
            self.acquire()
        return self

    def __exit__(self, exc_type, exc, tb):
        with self._mu:
            rc = self._release_locked(raise_error=False)
        if exc_type is None and rc is not None:
            check(rc)  # a lease lost during the block is worth an exception
        return False

    def __del__(self):
        try:
            if self._h is not None:
                with self._mu:
                    self._release_locked(raise_error=False)
        except Exception:
            pass

    def __repr__(self):
        return "<openfault.Lock %r %s>" % (self.name, "held" if self._h else "not held")


class LockProvider:
    """Base of LocalProvider and RedisProvider. close() (or ``with``) destroys the provider after
    releasing any lock still held through it. Thread-safety: safe from any thread."""

    def __init__(self, handle):
        self._h = handle
        self._held = set()  # locks held through this provider, released by close()
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
        for lk in list(self._held):
            with lk._mu:
                lk._release_locked(raise_error=False)
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
