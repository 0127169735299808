"""Leased named locks with fencing tokens: LocalProvider (in-process), RedisProvider,
RedlockProvider (N independent Redis servers) and EtcdProvider.

Durations are float seconds (redis-py's habit): ``ttl`` (or ``timeout``) > 0; ``wait=None``
waits forever, ``wait=0`` tries once, ``wait=2.5`` waits up to 2.5 s. ``valid_until`` is on the
``time.monotonic()`` clock (CLOCK_MONOTONIC, the library's clock). The Lock also has redis-py's
surface (``timeout``, ``blocking``, ``blocking_timeout``, ``acquire() -> bool``, ``locked()``,
``owned()``, ``extend(additional_time, replace_ttl)``, ``reacquire()``): docs/python.md.
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import sys
import threading
import time
import weakref
from typing import (Any, Callable, ContextManager, Dict, Mapping, Optional, Set, Tuple, Union)

import logging

from ._native import (ERRORS, LOCK_AUTO_RENEW, LOG_FN, LOST_FN, Error, LockError, LockOptions,
                      LockStats, LockToken, ProviderConfig, as_bytes, check, error, invalid,
                      invalid_type, last_detail, lib, metrics_text)

_TTL_MAX_MS = lib.of_lock_ttl_max()
_INVALID, _NOT_SUPPORTED = -1, -15
_BUSY, _TIMEOUT, _NOT_OWNER, _LOST, _UNAVAILABLE = -7, -8, -9, -10, -11
_BusyError, _TimeoutError = ERRORS["BusyError"], ERRORS["TimeoutError"]
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
_open_providers: "weakref.WeakSet[LockProvider]" = weakref.WeakSet()


@atexit.register
def _close_open_providers() -> None:
    for p in list(_open_providers):
        try:
            p.close()
        except Exception:
            pass


CAP_TTL, CAP_EXTEND, CAP_FENCE, CAP_WAIT, CAP_SHARED = 1, 2, 4, 8, 16

# The library's log levels (OF_LOCK_LOG_*) and the logging module's.
_C_LEVEL_TO_PY = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
_LEVEL_NAMES = {"error": logging.ERROR, "warning": logging.WARNING, "warn": logging.WARNING,
                "info": logging.INFO, "debug": logging.DEBUG}


def _c_level(level: object) -> int:
    """OF_LOCK_LOG_* for a logging level (int, or "error"/"warning"/"info"/"debug")."""
    if isinstance(level, str):
        if level.lower() not in _LEVEL_NAMES:
            raise invalid("log level %r: use 'error', 'warning', 'info' or 'debug'" % level)
        level = _LEVEL_NAMES[level.lower()]
    if isinstance(level, bool) or not isinstance(level, int):
        raise invalid_type("log level must be a logging level or its name, not %s"
                           % type(level).__name__)
    if level > logging.WARNING:
        return 1
    if level > logging.INFO:
        return 2
    if level > logging.DEBUG:
        return 3
    return 4


def log_to(logger: Union[logging.Logger, str, None] = None) -> Callable[[int, str], None]:
    """A log hook for set_log_hook() that hands each line to @p logger (a logging.Logger, a
    logger name, or None for ``logging.getLogger("openfault")``) at the matching level."""
    if logger is None or isinstance(logger, str):
        logger = logging.getLogger(logger or "openfault")
    target = logger

    def hook(level: int, message: str) -> None:
        target.log(level, "%s", message)
    return hook


def _error(status: int) -> Optional[Error]:
    """The Error instance for @p status without raising it (the loss callback's argument)."""
    try:
        check(status)
    except Error as e:
        return e
    return None


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_type("%s must be a number of seconds, not %s"
                           % (what, type(value).__name__))
    return value


def _seconds(value: object, what: str) -> float:
    """A finite number of seconds >= 0."""
    v = _number(value, what)
    if not (v >= 0 and math.isfinite(v)):
        raise invalid("%s must be a finite number of seconds >= 0, got %r" % (what, value))
    return v


def _ttl_ms(ttl: object, what: str = "ttl") -> int:
    v = _number(ttl, what)
    ms = round(v * 1000) if math.isfinite(v) else 0
    if not v > 0 or ms < 1 or ms > _TTL_MAX_MS:
        raise invalid("%s must be between 0.001 and %g seconds, got %r"
                      % (what, _TTL_MAX_MS / 1000, ttl))
    return ms


def _wait_ms(wait: object, what: str = "wait") -> int:
    """-1 (forever) for None or infinity, 0 (one try), else milliseconds (at least 1)."""
    if wait is None:
        return -1
    v = _number(wait, what)
    if not v >= 0:
        raise invalid("%s must be None (forever), 0 (try once) or > 0 seconds, got %r"
                      % (what, wait))
    if v == 0:
        return 0
    if v == math.inf:
        return -1
    return min(max(1, round(v * 1000)), (1 << 63) - 1)


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


class _Default:
    """The default of a parameter that may not be combined with another one (ttl with timeout,
    wait with blocking/blocking_timeout): it tells "not given" from any value."""
    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()
_DEFAULT_TTL = 10.0
_PROBE_TTL = 1.0  # the lease of locked()'s probe: released at once, this only bounds a leftover


class Lock:
    """One named lock on a provider. Make it with ``provider.lock(...)`` (acquired on ``with``
    or ``acquire()``) or ``provider.acquire(...)`` (already held).

    Two spellings of the same options (one of each pair, not both):

    - ``ttl`` / ``timeout``: the lease in seconds (default 10). ``timeout=None`` is redis-py's
      lock that never expires: the longest lease the library has (``OF_LOCK_TTL_MAX``, about
      24.8 days) renewed automatically while this process lives (``auto_renew`` forced on).
    - ``wait`` / ``blocking`` + ``blocking_timeout``: how long an acquire waits. ``wait=None``
      (default) or ``blocking=True, blocking_timeout=None``: forever; ``wait=0`` or
      ``blocking=False``: one try; a number: at most that many seconds.

    ``sleep`` (redis-py's polling interval) is accepted and kept, but not used: the engine wakes
    a local waiter on release and paces Redis retries itself. ``thread_local`` is accepted and
    ignored: the acquisition belongs to this object, and any thread may release it (redis-py's
    ``thread_local=False``). With ``raise_on_release_error=False`` the end of a ``with`` block
    does not raise a LockError (a lock no longer owned, or already released) — as redis-py.

    A Lock that holds a handle releases it when it is closed by its provider, when ``release()``
    or ``with`` ends it, or when the object is garbage: no exception (KeyboardInterrupt included)
    leaves a lock that no object will release.

    Thread-safety: any thread may use it, one call at a time is serialised internally; the
    ``on_lost`` callback runs on the library's renewal thread and may call ``release()``.
    """

    name: Union[str, bytes]
    timeout: Optional[float]
    sleep: float
    blocking: bool
    blocking_timeout: Optional[float]
    thread_local: bool
    raise_on_release_error: bool
    lost_status: Optional[int]

    def __init__(self, provider: "LockProvider", name: Union[str, bytes], ttl: Any = DEFAULT,
                 wait: Any = DEFAULT, *, auto_renew: bool = False,
                 on_lost: Optional[Callable[["Lock", Optional[Error]], None]] = None,
                 timeout: Any = DEFAULT, sleep: float = 0.1, blocking: Any = DEFAULT,
                 blocking_timeout: Any = DEFAULT, thread_local: bool = True,
                 raise_on_release_error: bool = True) -> None:
        self._slot = _Slot(self)
        self._provider = provider
        self.name = name
        self._name_bytes = as_bytes(name)
        if ttl is not DEFAULT and timeout is not DEFAULT:
            raise invalid("give ttl or timeout (the same thing), not both")
        if timeout is None:
            self.timeout = None
            self._ttl_ms = _TTL_MAX_MS
            auto_renew = True
        else:
            given = timeout if timeout is not DEFAULT else ttl
            self._ttl_ms = _ttl_ms(_DEFAULT_TTL if given is DEFAULT else given,
                                   "timeout" if timeout is not DEFAULT else "ttl")
            self.timeout = _DEFAULT_TTL if given is DEFAULT else given
        if wait is not DEFAULT and (blocking is not DEFAULT or blocking_timeout is not DEFAULT):
            raise invalid("give wait, or blocking/blocking_timeout, not both")
        if wait is not DEFAULT:
            ms = _wait_ms(wait)
            self.blocking = ms != 0
            self.blocking_timeout = None if ms <= 0 else wait
        else:
            self.blocking = True if blocking is DEFAULT else bool(blocking)
            self.blocking_timeout = None if blocking_timeout is DEFAULT else blocking_timeout
            _wait_ms(self.blocking_timeout, "blocking_timeout")  # refused now, not at acquire
        self.sleep = _seconds(sleep, "sleep")
        self.thread_local = bool(thread_local)
        self.raise_on_release_error = bool(raise_on_release_error)
        self._auto_renew = bool(auto_renew)
        self._on_lost = on_lost
        self._mu = self._slot.mu
        self._release_requested = False
        self.lost_status = None  #: the status the loss callback reported, if it ran

    # -- state -----------------------------------------------------------------------------
    @property
    def ttl(self) -> float:
        """The lease in seconds this lock is taken (and reacquire()d) with."""
        return self._ttl_ms / 1000

    @property
    def acquired(self) -> bool:
        """True from a successful acquire until the handle is released (also after the lease
        ended: a lost lock still has to be released, which ``with`` and release() do)."""
        return self._slot.out.value is not None

    @property
    def held(self) -> bool:
        """True while the lease can be counted on: acquired, not marked lost by the engine, and
        its ``valid_until`` not yet passed (on the library's monotonic clock). Local knowledge:
        owned() asks the backend."""
        if self._current() is None:  # no wait for the mutex while another thread acquires
            return False
        with self._guard():
            h = self._current()
            return h is not None and not self._lost_handle(h)

    @property
    def lost(self) -> bool:
        """Whether the lease is over: the engine marked it lost (failed renewal or extend,
        NOT_OWNER answer) or its ``valid_until`` has passed. Raises LockError when not acquired."""
        with self._guard():
            return self._lost_handle(self._handle())

    @staticmethod
    def _lost_handle(h: int) -> bool:
        # valid_until first: once it passed, a later renewal cannot make the lease good again.
        return _c_now_ns() >= lib.of_lock_valid_until_ns(h) or bool(lib.of_lock_is_lost(h))

    def _current(self) -> Optional[int]:
        """The handle: the slot's, or inside this lock's loss callback the one C passed (a very
        short lease may be reported before of_lock_acquire() has returned it)."""
        if getattr(_tls, "lock", None) is self:
            return _tls.handle
        return self._slot.out.value

    def _named(self, e: Error) -> Error:
        e.lock_name = self.name
        return e

    def _not_held(self, what: str) -> LockError:
        # redis-py's wording, so that messages read the same after a switch.
        return self._named(LockError(_INVALID, None, "Cannot %s an unlocked lock (%r)"
                                     % (what, self.name)))

    def _check(self, rc: int) -> int:
        if rc < 0:
            raise self._named(error(rc, last_detail()))
        return rc

    def _handle(self) -> int:
        h = self._current()
        if h is None:
            raise self._named(LockError(_INVALID, None, "lock %r is not held" % (self.name,)))
        return h

    def _guard(self) -> ContextManager[Any]:
        """Serialise calls on the handle. Inside this lock's own loss callback the handle is
        alive until the callback returns (a release elsewhere waits for it), and the mutex may
        be held by a thread whose C call waits for the callback: don't take it there."""
        if getattr(_tls, "lock", None) is self:
            return contextlib.nullcontext()
        return self._mu

    @property
    def fence(self) -> int:
        """The fencing token of this acquisition (int, strictly increasing per name)."""
        out = ctypes.c_uint64()
        with self._guard():
            self._check(lib.of_lock_fence(self._handle(), ctypes.byref(out)))
        return out.value

    @property
    def valid_until(self) -> float:
        """End of the lease in seconds on the time.monotonic() clock (conservative)."""
        with self._guard():
            return lib.of_lock_valid_until_ns(self._handle()) / 1e9

    @property
    def token(self) -> str:
        """The 128-bit owner token as 32 hex digits."""
        t = LockToken()
        with self._guard():
            self._check(lib.of_lock_token_get(self._handle(), ctypes.byref(t)))
        return bytes(t.bytes).hex()

    # -- backend queries (redis-py) --------------------------------------------------------
    def locked(self) -> bool:
        """Whether anyone holds the name, this object included: answered by the backend. The C
        API has no query, so this is a try-once acquire of the name that, if it succeeds, is
        released at once (answer False). It is not atomic: the answer may be stale when you read
        it, and for that instant the name is held by the probe (another try-once acquire may
        then see it busy; the probe counts in stats())."""
        probe = Lock(self._provider, self.name, ttl=_PROBE_TTL, wait=0)
        try:
            probe._take(0)
        except _BusyError:
            return True
        probe.release()
        return False

    def owned(self) -> bool:
        """Whether this object holds the name now, answered by the backend: a compare-and-extend
        (the only ownership check the C API has) that sets the lease to what remains of it or,
        if that is shorter, to this lock's ttl. So it never shortens the lease below the ttl
        (each call may take the provider's clock-drift allowance off a longer one) and lengthens
        it at most to the ttl, as reacquire() would. False without asking when this object holds
        nothing or its lease is known to be over (``held`` is False); False when the backend
        says another token (or none) holds it. Raises UnavailableError / UnknownOutcomeError
        when the backend could not answer, NotSupportedError when the provider cannot extend."""
        if self._current() is None:
            return False
        with self._guard():
            h = self._current()
            if h is None or self._lost_handle(h):
                return False
            remaining = max(0, lib.of_lock_valid_until_ns(h) - _c_now_ns()) // 1000000
            try:
                rc = lib.of_lock_extend(h, min(_TTL_MAX_MS, max(remaining, self._ttl_ms)))
                if rc in (_NOT_OWNER, _LOST):
                    return False
                self._check(rc)
            finally:
                self._deferred_release_locked()
        return True

    # -- actions ---------------------------------------------------------------------------
    def acquire(self, sleep: Optional[float] = None, blocking: Optional[bool] = None,
                blocking_timeout: Optional[float] = None,
                token: Optional[Union[str, bytes]] = None) -> bool:
        """Take the lock (redis-py's signature): True once held, False when it stayed held by
        another owner for the whole wait (BUSY/TIMEOUT). ``blocking`` / ``blocking_timeout``
        default to this object's (``blocking_timeout=None`` there keeps the object's value, as
        in redis-py); ``sleep`` is checked and unused. ``token`` (a caller-chosen owner value)
        is not supported: the library makes the token, and fences rely on it.
        Raises UnavailableError (the backend was not reached), UnknownOutcomeError, AuthError,
        ... (openfault.Error subclasses), and LockError if this object already holds the lock
        (locks are not reentrant; redis-py would wait for itself). On the main thread the wait
        is interruptible: Ctrl-C raises KeyboardInterrupt within about 0.1 s, and the lock is
        then not held. ``provider.acquire()`` and ``with`` raise BusyError / TimeoutError
        instead of answering False."""
        if token is not None:
            raise self._named(error(_NOT_SUPPORTED, "acquire(token=...): the library makes the "
                                    "owner token (fences rely on it)"))
        if sleep is not None:
            _seconds(sleep, "sleep")
        wait_ms = self._wait_from(self.blocking if blocking is None else blocking,
                                  self.blocking_timeout if blocking_timeout is None
                                  else blocking_timeout)
        try:
            self._take(wait_ms)
        except (_BusyError, _TimeoutError):
            return False
        return True

    @staticmethod
    def _wait_from(blocking: object, blocking_timeout: Optional[float]) -> int:
        if not blocking:
            return 0
        return _wait_ms(blocking_timeout, "blocking_timeout")

    def _take(self, wait_ms: int) -> None:
        """Acquire waiting @p wait_ms (-1 forever); raises the Error of any failure."""
        slot = self._slot
        with self._mu:
            if slot.out.value is not None:
                raise self._named(LockError(_INVALID, None, "lock %r is already held by this "
                                            "object (locks are not reentrant)" % (self.name,)))
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
                rc, detail = self._acquire_into(slot, opts, wait_ms)
            except BaseException:
                # Interrupted (KeyboardInterrupt, a signal handler's exception), possibly right
                # after C took the lock: the caller never got it, so give it back now.
                if _slot_release(slot, live) is None:
                    live.discard(slot)
                raise
            if rc != 0:
                slot.cb = None
                live.discard(slot)
                raise self._named(error(rc, detail))
            # A loss reported before we got here (a very short lease) asked for a release.
            self._deferred_release_locked()

    def _acquire_into(self, slot: _Slot, opts: LockOptions, wait_ms: int) -> Tuple[int, str]:
        """Call of_lock_acquire() writing into @p slot. Returns (status, detail).

        The GIL is released during each C call (lib is a CDLL): other threads run meanwhile. On
        the main thread, where Python runs signal handlers, a wait is a series of C waits of at
        most _SLICE_MS each, so a handler runs between them; the caller's deadline stays
        "wait ms from now"."""
        prov = self._provider._handle()
        name = self._name_bytes
        args = (prov, name, len(name), ctypes.byref(opts), ctypes.byref(slot.out))
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

    def extend(self, additional_time: Optional[float] = None, replace_ttl: bool = False, *,
               ttl: Optional[float] = None) -> bool:
        """redis-py's extend: add @p additional_time seconds to what remains of the lease, or
        with ``replace_ttl=True`` set the lease to @p additional_time from now. ``extend()``
        (no argument) sets it to the lock's ttl from now, ``extend(ttl=x)`` to x from now.
        "What remains" is this side's conservative view (``valid_until``), so the new lease
        never ends later than the backend's old expiry plus @p additional_time. Returns True.
        Raises LockError for a lock this object does not hold or one made with
        ``timeout=None``; NotOwnerError / LostError (both LockNotOwnedError: the lease had
        expired or was taken over; the lock is then lost), UnknownOutcomeError, ...
        With ``auto_renew`` the next renewal sets the lease back to the ttl."""
        if self._current() is None:
            raise self._not_held("extend")
        if self.timeout is None:
            raise self._named(LockError(_INVALID, None, "Cannot extend a lock with no timeout "
                                        "(%r)" % (self.name,)))
        if ttl is not None and additional_time is not None:
            raise invalid("give additional_time or ttl, not both")
        add_ms = None
        if ttl is not None:
            ms = _ttl_ms(ttl)
        elif additional_time is None:
            ms = self._ttl_ms
        elif replace_ttl:
            ms = _ttl_ms(additional_time, "additional_time")
        else:
            add_ms = round(_seconds(additional_time, "additional_time") * 1000)
        with self._guard():
            h = self._handle()
            if add_ms is not None:
                remaining = max(0, lib.of_lock_valid_until_ns(h) - _c_now_ns()) // 1000000
                # A lease already over is refused by the engine (NOT_OWNER) whatever the length.
                ms = max(1, remaining + add_ms)
                if ms > _TTL_MAX_MS:
                    raise invalid("the extended lease (%d ms) is above the longest the library "
                                  "has (%d ms)" % (ms, _TTL_MAX_MS))
            try:
                self._check(lib.of_lock_extend(h, ms))
            finally:
                self._deferred_release_locked()
        return True

    def reacquire(self) -> bool:
        """redis-py's reacquire: set the lease back to the lock's ttl from now. Returns True.
        Raises LockError for a lock this object does not hold or one made with
        ``timeout=None``; LockNotOwnedError (NotOwnerError, LostError) when it is no longer
        ours."""
        if self._current() is None:
            raise self._not_held("reacquire")
        if self.timeout is None:
            raise self._named(LockError(_INVALID, None, "Cannot reacquire a lock with no "
                                        "timeout (%r)" % (self.name,)))
        with self._guard():
            try:
                self._check(lib.of_lock_extend(self._handle(), self._ttl_ms))
            finally:
                self._deferred_release_locked()
        return True

    def release(self) -> None:
        """Release the lock (the C handle is freed whatever the outcome).
        Raises LockError if this object holds nothing (never acquired, or already released),
        NotOwnerError (our lease had expired or was taken over) or LostError (already known
        lost) — both LockNotOwnedError —, UnknownOutcomeError / UnavailableError (a cleanup is
        queued). Called inside this lock's own on_lost callback, the release happens right
        after the callback returns."""
        if getattr(_tls, "lock", None) is self:
            self._release_requested = True
            return
        rc, pending = _release_uninterrupted(self._slot, self._provider._live)
        if pending is not None:
            raise pending
        if rc is None:
            raise self._not_held("release")
        self._check(rc)

    def _release_locked(self, raise_error: bool) -> Optional[int]:
        """Release with self._mu held (or inside the loss callback). Returns the status."""
        rc = _slot_release(self._slot, self._provider._live)
        if rc is None:
            if raise_error:
                raise self._not_held("release")
            return None
        if raise_error:
            self._check(rc)
        return rc

    def _deferred_release_locked(self) -> None:
        if self._release_requested and self._slot.out.value is not None:
            self._release_requested = False
            self._release_locked(raise_error=False)

    def _lost_callback(self, handle: int, status: int) -> None:
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

    def __enter__(self) -> "Lock":
        wait_ms = self._wait_from(self.blocking, self.blocking_timeout)
        had = self._slot.out.value  # read in C: no signal check before the acquire
        try:
            if had is None:
                self._take(wait_ms)  # BusyError / TimeoutError (LockErrors) when not acquired
        except BaseException:
            # An exception after the acquire succeeded but before we return (a signal handler)
            # would skip __exit__: release what this call took.
            if had is None:
                _release_uninterrupted(self._slot, self._provider._live)
            raise
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException],
                 tb: Any) -> bool:
        # The release first, and never skipped by an exception raised meanwhile.
        rc, pending = _release_uninterrupted(self._slot, self._provider._live)
        if pending is not None:
            raise pending
        if exc_type is not None:
            return False  # the block's exception is not masked by the release's
        if rc is None:
            # Released inside the block: by a loss callback (the loss is worth an exception),
            # by release() or by the provider's close() (redis-py raises there too).
            err: Optional[Error] = (self._named(error(self.lost_status, ""))
                                    if self.lost_status else self._not_held("release"))
        elif rc < 0:
            err = self._named(error(rc, last_detail()))  # a lease lost during the block
        else:
            err = None
        if err is not None and (self.raise_on_release_error or not isinstance(err, LockError)):
            raise err
        return False

    def __del__(self) -> None:
        try:
            _slot_release(self._slot, self._provider._live)
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._slot.out.value is None:
            state = "not held"
        else:
            state = "held" if self.held else "lost"
        return "<openfault.Lock %r %s>" % (self.name, state)


class LockProvider:
    """Base of LocalProvider and RedisProvider. close() (or ``with``) destroys the provider after
    releasing any lock still held through it. Thread-safety: safe from any thread."""

    def __init__(self, handle: int, log: Any = None, log_level: Any = "warning") -> None:
        self._h = handle
        # The _Slot of every handle taken through this provider and not yet released (with
        # the handle, not the Lock: an orphaned Lock is still collected and releases its slot).
        self._live: Set[_Slot] = set()
        # Every log trampoline ever handed to C, kept until the provider is destroyed: C copies
        # the hook under a lock and calls it after dropping it, so a replaced one may still run.
        self._log_cbs: list = []
        self.log_hook_errors = 0  # exceptions raised by the log hook (swallowed)
        _open_providers.add(self)
        if log is not None:
            try:
                self.set_log_hook(log, log_level)
            except BaseException:
                self.close()
                raise

    def set_log_hook(self, hook: Any, level: Any = "warning") -> None:
        """Deliver the library's log lines for this provider to @p hook: a function
        ``hook(level, message)`` (level is logging.ERROR / WARNING / INFO / DEBUG, message a
        str), a logging.Logger (each line goes to ``logger.log``), or None to stop logging.
        @p level: the most verbose level delivered (a logging level or "error", "warning",
        "info", "debug"). The hook runs on the thread that logs (the caller's, or the library's
        renewal thread), possibly concurrently; an exception it raises is swallowed (counted in
        ``log_hook_errors``). Resets the provider's other engine settings to their defaults."""
        h = self._handle()
        if isinstance(hook, logging.Logger):
            hook = log_to(hook)
        if hook is not None and not callable(hook):
            raise invalid_type("log hook must be callable, a logging.Logger or None, not %s"
                               % type(hook).__name__)
        c_level = _c_level(level)
        cfg = ProviderConfig()
        check(lib.of_lock_provider_config_init(ctypes.byref(cfg), ctypes.sizeof(cfg)))
        cb = None
        if hook is not None:
            cb = LOG_FN(self._make_log_trampoline(hook))
            cfg.log = ctypes.cast(cb, ctypes.c_void_p)
            cfg.log_level = c_level
            self._log_cbs.append(cb)
        check(lib.of_lock_provider_configure(h, ctypes.byref(cfg)))

    def _make_log_trampoline(self, hook: Callable[[int, str], None]):
        owner = weakref.ref(self)

        def trampoline(_ctx, level, msg):
            try:
                hook(_C_LEVEL_TO_PY.get(level, logging.DEBUG),
                     msg.decode("utf-8", "replace") if msg is not None else "")
            except BaseException:  # never into C: ctypes would only print it
                p = owner()
                if p is not None:
                    p.log_hook_errors += 1
        return trampoline

    def _handle(self) -> int:
        if not self._h:
            raise invalid("operation on a closed lock provider")
        return self._h

    @property
    def name(self) -> str:
        """The backend's name: "local", "redis", ..."""
        return lib.of_lock_provider_name(self._handle()).decode()

    @property
    def caps(self) -> int:
        """Capability bits (CAP_TTL | CAP_EXTEND | CAP_FENCE | CAP_WAIT | CAP_SHARED)."""
        return lib.of_lock_provider_caps(self._handle())

    def stats(self) -> Dict[str, int]:
        """The provider's counters as a dict (attempts, acquired, busy, timeouts, lost, ...)."""
        _sweep(self._live)
        s = LockStats()
        s.struct_size = ctypes.sizeof(s)
        check(lib.of_lock_provider_stats(self._handle(), ctypes.byref(s)))
        return {n: getattr(s, n) for n, _t in LockStats._fields_[2:]}

    def metrics(self, format: str = "prometheus", prefix: Optional[str] = None,
                labels: Optional[Mapping[str, str]] = None) -> str:
        """The provider's metrics as text (of_lock_provider_metrics): ``format="prometheus"``
        (text exposition format 0.0.4) or ``"json"`` (parse it with json.loads); every sample
        carries ``provider="<name>"``. @p prefix goes before every name (None: "openfault_");
        @p labels are constant labels, e.g. ``{"service": "x"}``. Bad names raise
        InvalidError."""
        _sweep(self._live)
        return metrics_text(lib.of_lock_provider_metrics, self._handle(), format, prefix, labels)

    def lock(self, name: Union[str, bytes], ttl: Any = DEFAULT, wait: Any = DEFAULT, *,
             auto_renew: bool = False,
             on_lost: Optional[Callable[[Lock, Optional[Error]], None]] = None,
             timeout: Any = DEFAULT, sleep: float = 0.1, blocking: Any = DEFAULT,
             blocking_timeout: Any = DEFAULT, thread_local: bool = True,
             raise_on_release_error: bool = True) -> Lock:
        """A Lock for @p name (str is UTF-8, bytes pass through), not yet acquired: use it in a
        ``with`` block or call acquire(). ``ttl=10`` (seconds) / ``wait=None`` (forever), or
        redis-py's ``timeout=``, ``blocking=``, ``blocking_timeout=``, ``sleep=`` (see Lock).
        @p on_lost(lock, error) is called on the library's thread when an auto-renewed lease is
        lost."""
        return Lock(self, name, ttl, wait, auto_renew=auto_renew, on_lost=on_lost,
                    timeout=timeout, sleep=sleep, blocking=blocking,
                    blocking_timeout=blocking_timeout, thread_local=thread_local,
                    raise_on_release_error=raise_on_release_error)

    def acquire(self, name: Union[str, bytes], ttl: Any = DEFAULT, wait: Any = DEFAULT, *,
                auto_renew: bool = False,
                on_lost: Optional[Callable[[Lock, Optional[Error]], None]] = None,
                timeout: Any = DEFAULT, blocking: Any = DEFAULT,
                blocking_timeout: Any = DEFAULT) -> Lock:
        """lock(...) taken now: a held Lock. Raises BusyError (one try, and held), TimeoutError
        (the wait passed while another owner held it), UnavailableError, ..."""
        lk = self.lock(name, ttl, wait, auto_renew=auto_renew, on_lost=on_lost, timeout=timeout,
                       blocking=blocking, blocking_timeout=blocking_timeout)
        lk._take(lk._wait_from(lk.blocking, lk.blocking_timeout))
        return lk

    def close(self) -> None:
        """Release every lock still held through this provider, then destroy it."""
        for slot in list(self._live):
            _release_uninterrupted(slot, self._live)
        h, self._h = self._h, None
        if h:
            _open_providers.discard(self)
            lib.of_lock_provider_destroy(h)
        self._log_cbs = []  # no C caller is left

    def __enter__(self) -> "LockProvider":
        return self

    def __exit__(self, *exc: object) -> bool:
        self.close()
        return False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class LocalProvider(LockProvider):
    """In-process named locks shared by this process's threads (leases, fences, waiters woken
    on release)."""

    def __init__(self, *, log: Any = None, log_level: Any = "warning") -> None:
        out = ctypes.c_void_p()
        check(lib.of_lock_local_create(ctypes.byref(out)))
        super().__init__(out.value, log, log_level)


class RedisProvider(LockProvider):
    """Locks on one Redis server, from a URL such as ``redis://user:pass@host:6379/0`` or
    ``unix:///run/redis.sock`` (see docs/locks.md for every parameter). Nothing connects until
    the first lock call. Raises NotSupportedError when the library was built without hiredis."""

    def __init__(self, url: Union[str, bytes], *, log: Any = None,
                 log_level: Any = "warning") -> None:
        out = ctypes.c_void_p()
        check(lib.of_lock_redis_create_url(as_bytes(url), ctypes.byref(out)))
        super().__init__(out.value, log, log_level)


def redis_available() -> bool:
    """Whether the loaded library has the Redis providers."""
    return bool(lib.of_lock_redis_available())


# ---------------------------------------------------------------------------------------------
# Redlock (N independent Redis servers) and etcd. Kept in their own section: the prototypes and
# the one options struct they need are declared here, next to their only users.
# ---------------------------------------------------------------------------------------------
class RedlockOptions(ctypes.Structure):
    """struct of_lock_redlock_options (lock_redis.h): six uint32 members. The library's own
    size (of_lock_redlock_options_size) is checked before use: it may be larger (a newer
    library; it then takes our struct_size as an older caller's), never smaller."""
    _fields_ = [(n, ctypes.c_uint32) for n in ("struct_size", "connect_timeout_ms",
                                               "command_timeout_ms", "drift_ppm",
                                               "drift_extra_ms", "reserved0")]


_p_vp = ctypes.POINTER(ctypes.c_void_p)
for _name, _res, _args in (
        ("of_lock_redlock_options_init", ctypes.c_int,
         [ctypes.POINTER(RedlockOptions), ctypes.c_size_t]),
        ("of_lock_redlock_options_size", ctypes.c_size_t, []),
        ("of_lock_redlock_create", ctypes.c_int,
         [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, ctypes.POINTER(RedlockOptions),
          _p_vp]),
        ("of_lock_redlock_create_list", ctypes.c_int,
         [ctypes.c_char_p, ctypes.POINTER(RedlockOptions), _p_vp]),
        ("of_lock_etcd_available", ctypes.c_int, []),
        ("of_lock_etcd_create_url", ctypes.c_int, [ctypes.c_char_p, _p_vp])):
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args

_MS_MAX = (1 << 31) - 1  # the C options' bound on every duration (2^31 - 1 ms)


def _url_bytes(value: object, what: str) -> bytes:
    """A URL (or URL list) as the NUL-terminated bytes C takes. The messages name @p what and
    never hold a byte of the value: a URL may carry a password."""
    if isinstance(value, str):
        try:
            b = value.encode("utf-8")
        except UnicodeEncodeError:
            b = None  # raised below, outside the handler: no chained error holding the value
        if b is None:
            raise invalid("%s is not encodable as UTF-8 (a lone surrogate)" % what)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
    else:
        raise invalid_type("%s must be str or bytes, not %s" % (what, type(value).__name__))
    if b"\0" in b:
        # ctypes would pass the bytes before it and drop the rest without a word.
        raise invalid("%s contains a NUL byte" % what)
    return b


def _ms_text(ms: int) -> str:
    """Milliseconds as seconds, exact and short: 1 -> "0.001", 0 -> "0" (not %g's 2.14748e+06)."""
    return ("%.3f" % (ms / 1000)).rstrip("0").rstrip(".")


def _ms_option(value: object, what: str, low_ms: int) -> int:
    """Seconds (int or float) as milliseconds in low_ms..2^31-1, refused with @p what named."""
    v = _number(value, what)
    ms = round(v * 1000) if math.isfinite(v) else -1
    if not low_ms <= ms <= _MS_MAX:
        raise invalid("%s must be between %s and %s seconds, got %r"
                      % (what, _ms_text(low_ms), _ms_text(_MS_MAX), value))
    return ms


class RedlockProvider(LockProvider):
    """Locks over N independent Redis servers (Redlock; odd N, 3 to 15; docs/redlock.md): a
    lock is granted by a majority, so it keeps working while a minority is down.

    @p urls: a list (or tuple, any iterable) of server URLs in RedisProvider's grammar, or one
    string of them separated by commas (a comma inside a URL, e.g. in a password, written
    ``%2C``; no spaces). ``connect_timeout`` / ``command_timeout`` (seconds, default 0.1 each,
    per server; a URL's own ``connect_timeout_ms`` / ``command_timeout_ms`` wins), ``drift_ppm``
    (default 10000 = 1 % of the TTL) and ``drift_extra`` (seconds, default 0.002): None keeps
    the library's default. Nothing connects until the first lock call. Raises InvalidError
    (with the server's position and the reason in ``detail``, never a byte of a credential)
    for an even count, fewer than 3 or more than 15 servers, the same server twice, a bad URL
    or option; NotSupportedError when the library was built without hiredis."""

    def __init__(self, urls: Any, *, connect_timeout: Optional[float] = None,
                 command_timeout: Optional[float] = None, drift_ppm: Optional[int] = None,
                 drift_extra: Optional[float] = None, log: Any = None,
                 log_level: Any = "warning") -> None:
        size = lib.of_lock_redlock_options_size()
        if ctypes.sizeof(RedlockOptions) > size:
            raise error(-16, "of_lock_redlock_options is %d bytes in this library, the binding "
                        "needs %d: the library is older than the binding"
                        % (size, ctypes.sizeof(RedlockOptions)))
        opts = RedlockOptions()
        check(lib.of_lock_redlock_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
        if connect_timeout is not None:
            opts.connect_timeout_ms = _ms_option(connect_timeout, "connect_timeout", 1)
        if command_timeout is not None:
            opts.command_timeout_ms = _ms_option(command_timeout, "command_timeout", 1)
        if drift_ppm is not None:
            if isinstance(drift_ppm, bool) or not isinstance(drift_ppm, int):
                raise invalid_type("drift_ppm must be an int, not %s" % type(drift_ppm).__name__)
            if not 0 <= drift_ppm <= 1000000:
                raise invalid("drift_ppm must be between 0 and 1000000, got %d" % drift_ppm)
            opts.drift_ppm = drift_ppm
        if drift_extra is not None:
            opts.drift_extra_ms = _ms_option(drift_extra, "drift_extra", 0)
        out = ctypes.c_void_p()
        if isinstance(urls, (str, bytes, bytearray, memoryview)):
            lst = _url_bytes(urls, "urls")
            self._servers = lst.count(b",") + 1  # a comma inside a URL is written %2C
            check(lib.of_lock_redlock_create_list(lst, ctypes.byref(opts), ctypes.byref(out)))
        else:
            try:
                items = list(urls)
            except TypeError:
                raise invalid_type("urls must be a list of URLs or one comma-separated string, "
                                   "not %s" % type(urls).__name__) from None
            # Positions counted from 1, as the library's detail counts them.
            enc = [_url_bytes(u, "server %d of %d" % (i + 1, len(items)))
                   for i, u in enumerate(items)]
            self._servers = len(enc)
            arr = (ctypes.c_char_p * max(1, len(enc)))(*enc)
            check(lib.of_lock_redlock_create(arr, len(enc), ctypes.byref(opts),
                                             ctypes.byref(out)))
        super().__init__(out.value, log, log_level)

    def __repr__(self) -> str:
        # Never the URLs: they may carry passwords.
        return "<openfault.RedlockProvider %d servers%s>" % (
            self._servers, "" if self._h else ", closed")


class EtcdProvider(LockProvider):
    """Locks on an etcd v3 cluster (3.4 or later, plain HTTP to its JSON gateway), fenced by
    the key's create revision (docs/etcd.md), from a URL such as
    ``etcd://user:pass@10.0.0.1:2379,10.0.0.2:2379/locks/?command_timeout_ms=2000``. Nothing
    connects until the first lock call; a wait is a watch on the key (CAP_WAIT). Leases are
    whole seconds on the server (a ttl is rounded up, and etcd raises it to its minimum): the
    library's ``valid_until`` stays the requested ttl. Raises InvalidError (the byte offset in
    ``detail``; the password never) for a bad URL, NotSupportedError for ``etcds://`` /
    ``https://`` (no TLS) or when the library was built without libcurl and jansson."""

    def __init__(self, url: Union[str, bytes], *, log: Any = None,
                 log_level: Any = "warning") -> None:
        out = ctypes.c_void_p()
        check(lib.of_lock_etcd_create_url(_url_bytes(url, "url"), ctypes.byref(out)))
        super().__init__(out.value, log, log_level)

    def __repr__(self) -> str:
        # Never the URL: it may carry a password.
        return "<openfault.EtcdProvider%s>" % ("" if self._h else " closed")


def redlock_available() -> bool:
    """Whether the loaded library has the Redlock provider (it comes with the Redis one)."""
    return bool(lib.of_lock_redis_available())


def etcd_available() -> bool:
    """Whether the loaded library has the etcd provider (libcurl and jansson)."""
    return bool(lib.of_lock_etcd_available())
