"""Loading libopenfault and mapping its status codes to Python exceptions.

The library is found through $OPENFAULT_LIBRARY (a path; meson's tests point it at the fresh
build), else the soname ``libopenfault.so.<soversion>`` through the dynamic loader's search, else
the usual install directories; otherwise importing openfault raises an ImportError that lists
what was tried.
"""
from __future__ import annotations

import builtins
import ctypes
import os
import sysconfig
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type

SOVERSION = 0
SONAME = "libopenfault.so.%d" % SOVERSION


def install_dirs() -> List[str]:
    """The directories searched after the dynamic loader: where `meson install` puts the
    library under the default prefixes (lib, lib/<multiarch>, lib64)."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    out = []
    for prefix in ("/usr/local", "/usr"):
        for sub in ("lib", "lib/" + multiarch if multiarch else "", "lib64"):
            if sub and prefix + "/" + sub not in out:
                out.append(prefix + "/" + sub)
    return out


def find_library(env: Optional[str], dirs: Sequence[str],
                 soname: str = SONAME) -> Tuple[ctypes.CDLL, ctypes.PyDLL]:
    """Load the library: @p env (the value of $OPENFAULT_LIBRARY) when set, and then nothing
    else (an explicit path that fails is an error, not a reason to load another copy); else the
    @p soname through the loader's search, then @p soname in each of @p dirs. Raises ImportError
    saying what was tried and how to fix it."""
    if env:
        tries = [("$OPENFAULT_LIBRARY=" + env, env)]
    else:
        tries = [(soname + " (the dynamic loader's search: LD_LIBRARY_PATH, RUNPATH, "
                  "ld.so.cache)", soname)]
        tries += [(os.path.join(d, soname), os.path.join(d, soname)) for d in dirs]
    failures = []
    for what, path in tries:
        if path != soname and not os.path.exists(path):
            failures.append("%s: no such file" % what)
            continue
        try:
            # Two views of the same dlopen() handle: `lib` releases the GIL around each call
            # (calls that may block: lock acquire/release, provider destroy); `plib` keeps it
            # (short calls on objects that need exclusive writers: bisect kernels, index, ring),
            # so Python threads are serialised there and a caller's buffer cannot be resized by
            # another thread during the call.
            return ctypes.CDLL(path), ctypes.PyDLL(path)
        except OSError as e:
            failures.append("%s: %s" % (what, e))
    fix = ("set OPENFAULT_LIBRARY to the full path of a working libopenfault.so"
           if env else
           "install libopenfault (`meson install -C build`, then `ldconfig`), or set "
           "OPENFAULT_LIBRARY to the full path of the library, e.g. "
           "OPENFAULT_LIBRARY=$PWD/build/libopenfault.so")
    raise ImportError("openfault: cannot load libopenfault. Tried:\n  " + "\n  ".join(failures)
                      + "\nTo fix it: " + fix, name="openfault")


lib, plib = find_library(os.environ.get("OPENFAULT_LIBRARY"), install_dirs())

lib.of_strerror.restype = ctypes.c_char_p
lib.of_strerror.argtypes = [ctypes.c_int]
lib.of_status_name.restype = ctypes.c_char_p
lib.of_status_name.argtypes = [ctypes.c_int]
lib.of_last_error_detail.restype = ctypes.c_char_p
lib.of_last_error_detail.argtypes = []
lib.of_version_string.restype = ctypes.c_char_p
lib.of_version_string.argtypes = []
lib.of_version_number.restype = ctypes.c_uint
lib.of_version_number.argtypes = []
lib.of_hash64.restype = ctypes.c_uint64
lib.of_hash64.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64]
lib.of_clock_monotonic_ns.restype = ctypes.c_int64
lib.of_clock_monotonic_ns.argtypes = []
lib.of_free.restype = None
lib.of_free.argtypes = [ctypes.c_void_p]
lib.of_name_max.restype = ctypes.c_size_t
lib.of_name_max.argtypes = []

INVALID = -1


class Error(Exception):
    """Every error the binding raises. ``status`` is the negative code, ``name`` its symbol
    (``"OF_ERR_BUSY"``), ``detail`` the library's detail text (may be empty); errors raised by a
    Lock also carry ``lock_name``. Misuse found in Python (a wrong type, a value out of range,
    a call on a closed object) raises InvalidError (``status`` -1), which is also a ValueError,
    or one of its subclasses that are also the builtin the standard library would raise."""

    lock_name: Optional[object] = None

    def __init__(self, status: int = INVALID, name: Optional[str] = None, detail: str = ""):
        self.status = status
        self.name = name if name is not None else lib.of_status_name(status).decode()
        self.detail = detail
        text = lib.of_strerror(status).decode()
        msg = "%s (%s)" % (text, self.name)
        if detail:
            msg += ": " + detail
        super().__init__(msg)

    def __str__(self) -> str:
        # The message, also where a builtin base (KeyError) would show its repr.
        return str(self.args[0]) if self.args else ""


class LockError(Error, ValueError):
    """A lock could not be taken, released, extended or asked about (redis-py's
    ``redis.exceptions.LockError``, which is also a ValueError). BusyError, TimeoutError and
    LockNotOwnedError are LockErrors; so is releasing or extending a Lock that holds nothing."""


class LockNotOwnedError(LockError):
    """The lock is no longer ours: its lease expired or was taken over (NotOwnerError), or the
    engine had already marked it lost (LostError). redis-py's ``LockNotOwnedError``."""


class InvalidError(Error, ValueError):
    """Bad input: refused by the library (OF_ERR_INVALID) or by the binding before C was
    called; nothing changed."""


class InvalidTypeError(InvalidError, TypeError):
    """An argument of the wrong type (refused before C is called)."""


class InvalidRangeError(InvalidError, OverflowError):
    """An integer outside what the C type holds (e.g. a uint64 key below 0 or above 2**64-1);
    ctypes would otherwise wrap it silently."""


class IndexRangeError(Error, IndexError):
    """A position outside a sequence (Index, FrozenIndex)."""


# One class per status code; the docstring is the library's own text (of_strerror).
class NoMemoryError(Error, MemoryError): pass                   # noqa: E701
class NotFoundError(Error, KeyError): pass                      # noqa: E701
class ExistsError(Error): pass                                  # noqa: E701
class EmptyError(Error): pass                                   # noqa: E701
class NoSpaceError(Error): pass                                 # noqa: E701
class BusyError(LockError): pass                                # noqa: E701
class TimeoutError(LockError, builtins.TimeoutError): pass      # noqa: E701,A001
class NotOwnerError(LockNotOwnedError): pass                    # noqa: E701
class LostError(LockNotOwnedError): pass                        # noqa: E701
class UnavailableError(Error): pass                             # noqa: E701
class UnknownOutcomeError(Error): pass                          # noqa: E701
class AuthError(Error): pass                                    # noqa: E701
class ProtocolError(Error): pass                                # noqa: E701
class NotSupportedError(Error): pass                            # noqa: E701
class AbiError(Error): pass                                     # noqa: E701


_by_status: Dict[int, Type[Error]] = {
    -1: InvalidError, -2: NoMemoryError, -3: NotFoundError, -4: ExistsError, -5: EmptyError,
    -6: NoSpaceError, -7: BusyError, -8: TimeoutError, -9: NotOwnerError, -10: LostError,
    -11: UnavailableError, -12: UnknownOutcomeError, -13: AuthError, -14: ProtocolError,
    -15: NotSupportedError, -16: AbiError,
}
ERRORS: Dict[str, Type[Error]] = {cls.__name__: cls for cls in _by_status.values()}
for _status, _cls in _by_status.items():
    if _cls is not InvalidError:
        _cls.__doc__ = lib.of_strerror(_status).decode()
for _cls in [Error, LockError, LockNotOwnedError, InvalidTypeError, InvalidRangeError,
             IndexRangeError] + list(_by_status.values()):
    _cls.__module__ = "openfault"


def error(status: int, detail: str = "") -> Error:
    """The Error subclass instance for the negative @p status with @p detail (not raised)."""
    cls = _by_status.get(status, Error)
    return cls(status, lib.of_status_name(status).decode(), detail)


def invalid(detail: str) -> InvalidError:
    """The InvalidError for misuse found before calling C (not raised)."""
    return InvalidError(INVALID, None, detail)


def invalid_type(detail: str) -> InvalidTypeError:
    return InvalidTypeError(INVALID, None, detail)


def last_detail() -> str:
    """The library's detail text for the last failed call on this OS thread."""
    return lib.of_last_error_detail().decode("utf-8", "replace")


def check(status: int) -> int:
    """Raise the Error subclass for a negative status; return it unchanged otherwise."""
    if status < 0:
        raise error(status, last_detail())
    return status


def as_bytes(value: object) -> bytes:
    """str is UTF-8 encoded; bytes-like objects pass through."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as e:  # a lone surrogate
            raise invalid("not encodable as UTF-8: %s" % e) from None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise invalid_type("expected str or bytes, got %s" % type(value).__name__)


# ---------------------------------------------------------------------------------------------
# Prototypes. Every signature is declared, so ctypes converts and range-checks arguments
# instead of guessing (a guessed int is 32 bits).
# ---------------------------------------------------------------------------------------------
_c = ctypes
_int, _sz, _u32, _u64, _i64 = _c.c_int, _c.c_size_t, _c.c_uint32, _c.c_uint64, _c.c_int64
_vp, _p_sz, _p_u64 = _c.c_void_p, _c.POINTER(_c.c_size_t), _c.POINTER(_c.c_uint64)


def _declare(dll: ctypes.CDLL, name: str, restype: object, *argtypes: object) -> object:
    fn = getattr(dll, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


def has(name: str) -> bool:
    """Whether the loaded library exports @p name (a module still being written may not)."""
    try:
        getattr(lib, name)
        return True
    except AttributeError:
        return False


# Bisect kernels: arrays are passed as addresses (zero-copy), the GIL stays held.
for _t, _ct in (("u64", _c.c_uint64), ("i64", _c.c_int64), ("f64", _c.c_double)):
    for _side in ("left", "right"):
        _declare(plib, "of_bisect_%s_%s" % (_side, _t), _int, _vp, _sz, _ct, _sz, _sz, _p_sz)

# The index.
_declare(plib, "of_index_create", _int, _sz, _c.POINTER(_vp))
_declare(plib, "of_index_destroy", None, _vp)
_declare(plib, "of_index_build", _int, _vp, _vp, _vp, _sz)
_declare(plib, "of_index_insert_left", _int, _vp, _u64, _u64, _p_sz)
_declare(plib, "of_index_insert_right", _int, _vp, _u64, _u64, _p_sz)
_declare(plib, "of_index_remove_one", _int, _vp, _u64, _p_u64)
_declare(plib, "of_index_remove_all", _int, _vp, _u64, _p_sz)
_declare(plib, "of_index_remove_at", _int, _vp, _sz, _p_u64, _p_u64)
_declare(plib, "of_index_clear", None, _vp)
_declare(plib, "of_index_freeze", _int, _vp, _c.POINTER(_vp))
for _pre in ("of_index", "of_index_frozen"):
    _declare(plib, _pre + "_size", _sz, _vp)
    _declare(plib, _pre + "_lower_bound", _int, _vp, _u64, _p_sz)
    _declare(plib, _pre + "_upper_bound", _int, _vp, _u64, _p_sz)
    _declare(plib, _pre + "_lower_bound_batch", _int, _vp, _vp, _sz, _vp)
    _declare(plib, _pre + "_rank", _int, _vp, _u64, _p_sz)
    _declare(plib, _pre + "_select", _int, _vp, _sz, _p_u64, _p_u64)
    _declare(plib, _pre + "_find", _int, _vp, _u64, _p_sz, _p_u64)
    for _q in ("floor", "ceiling", "ceiling_wrap"):
        _declare(plib, "%s_%s" % (_pre, _q), _int, _vp, _u64, _p_sz, _p_u64, _p_u64)
    _declare(plib, _pre + "_count_range", _int, _vp, _u64, _u64, _p_sz)
_declare(plib, "of_index_frozen_destroy", None, _vp)


# Locks: these may block (acquire waits, release/extend talk to a server), so they go through
# `lib`, which releases the GIL for the call.
class LockOptions(_c.Structure):
    """struct of_lock_options (lock.h)."""
    _fields_ = [
        ("struct_size", _u32), ("ttl_ms", _u32), ("wait_ms", _i64), ("flags", _u32),
        ("reserved0", _u32), ("on_lost", _vp), ("on_lost_ctx", _vp),
    ]


class LockStats(_c.Structure):
    """struct of_lock_stats (lock.h)."""
    _fields_ = [("struct_size", _u32), ("reserved0", _u32)] + [
        (n, _u64) for n in ("attempts", "acquired", "busy", "timeouts", "lost", "errors", "wait_ns",
                            "released", "extended", "cleanups_queued", "cleanups_done",
                            "cleanups_dropped")]


class LockToken(_c.Structure):
    """struct of_lock_token (lock.h)."""
    _fields_ = [("bytes", _c.c_uint8 * 16)]


# void (*of_lock_lost_fn)(of_lock *lock, int status, void *ctx)
LOST_FN = _c.CFUNCTYPE(None, _vp, _int, _vp)


class ProviderConfig(_c.Structure):
    """struct of_lock_provider_config (lock.h)."""
    _fields_ = [("struct_size", _u32), ("step_timeout_ms", _u32), ("backoff_base_ms", _u32),
                ("backoff_cap_ms", _u32), ("log", _vp), ("log_ctx", _vp), ("log_level", _c.c_int32),
                ("reserved0", _u32)]


# void (*of_lock_log_fn)(void *ctx, int level, const char *msg)
LOG_FN = _c.CFUNCTYPE(None, _vp, _int, _c.c_char_p)
LOCK_AUTO_RENEW = 1

_declare(lib, "of_lock_options_init", _int, _c.POINTER(LockOptions), _sz)
_declare(lib, "of_lock_options_size", _sz)
_declare(lib, "of_lock_stats_size", _sz)
_declare(lib, "of_lock_local_create", _int, _c.POINTER(_vp))
_declare(lib, "of_lock_provider_destroy", None, _vp)
_declare(lib, "of_lock_provider_name", _c.c_char_p, _vp)
_declare(lib, "of_lock_provider_caps", _u32, _vp)
_declare(lib, "of_lock_provider_stats", _int, _vp, _c.POINTER(LockStats))
_declare(lib, "of_lock_provider_config_init", _int, _c.POINTER(ProviderConfig), _sz)
_declare(lib, "of_lock_provider_configure", _int, _vp, _c.POINTER(ProviderConfig))
_declare(lib, "of_lock_acquire", _int, _vp, _vp, _sz, _c.POINTER(LockOptions), _c.POINTER(_vp))
_declare(lib, "of_lock_release", _int, _vp)
_declare(lib, "of_lock_extend", _int, _vp, _u32)
_declare(lib, "of_lock_fence", _int, _vp, _p_u64)
_declare(lib, "of_lock_valid_until_ns", _i64, _vp)
_declare(lib, "of_lock_is_lost", _int, _vp)
_declare(lib, "of_lock_token_get", _int, _vp, _c.POINTER(LockToken))
_declare(lib, "of_lock_ttl_max", _u32)
_declare(lib, "of_lock_redis_available", _int)
_declare(lib, "of_lock_redis_create_url", _int, _c.c_char_p, _c.POINTER(_vp))

if _c.sizeof(LockOptions) > lib.of_lock_options_size():
    raise ImportError("libopenfault is older than these bindings (of_lock_options is %d bytes, "
                      "expected at least %d)" % (lib.of_lock_options_size(),
                                                 _c.sizeof(LockOptions)))


# ---------------------------------------------------------------------------------------------
# Metrics exposition (of_lock_provider_metrics, of_ring_metrics): one helper for both
# ---------------------------------------------------------------------------------------------
METRICS_FORMATS = {"prometheus": 1, "json": 2}  # OF_METRICS_PROMETHEUS, OF_METRICS_JSON
_METRICS_ARGS = (_vp, _int, _c.c_char_p, _c.POINTER(_c.c_char_p), _c.c_char_p, _sz, _p_sz)
_declare(lib, "of_lock_provider_metrics", _int, *_METRICS_ARGS)


def metrics_text(fn: Any, handle: int, format: str, prefix: Optional[str],
                 labels: Optional[Mapping[str, str]]) -> str:
    """The text @p fn (an of_*_metrics call declared with _METRICS_ARGS) writes for @p handle:
    sized by a first call, then written (again if the figures grew in between)."""
    if format not in METRICS_FORMATS:
        raise invalid('format must be "prometheus" or "json", not %r' % (format,))
    if prefix is not None and not isinstance(prefix, str):
        raise invalid_type("prefix must be a str or None, not %s" % type(prefix).__name__)
    c_prefix = as_bytes(prefix) if prefix is not None else None
    c_labels = None
    if labels is not None:
        if not isinstance(labels, Mapping):
            raise invalid_type("labels must be a mapping of str to str, not %s"
                               % type(labels).__name__)
        flat = []
        for k, v in labels.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise invalid_type("labels must map str to str")
            flat += [as_bytes(k), as_bytes(v)]
        c_labels = (_c.c_char_p * (len(flat) + 1))(*flat, None)
    need = _c.c_size_t(0)
    rc = fn(handle, METRICS_FORMATS[format], c_prefix, c_labels, None, 0, _c.byref(need))
    while True:
        if rc != -6:  # OF_ERR_NOSPACE is the expected answer to the sizing call
            check(rc)
        buf = _c.create_string_buffer(need.value + 1)
        rc = fn(handle, METRICS_FORMATS[format], c_prefix, c_labels, buf, len(buf),
                _c.byref(need))
        if rc == 0:
            return buf.raw[:need.value].decode("utf-8")
