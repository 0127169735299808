"""Loading libopenfault and mapping its status codes to Python exceptions.

The library is found through $OPENFAULT_LIBRARY (a path; meson's tests point it at the fresh
build), else the system's ``libopenfault.so.<soversion>``.
"""
import ctypes
import os

SOVERSION = 0


def _load():
    path = os.environ.get("OPENFAULT_LIBRARY") or "libopenfault.so.%d" % SOVERSION
    # Two views of the same dlopen() handle: `lib` releases the GIL around each call (calls that
    # may block: lock acquire/release, provider destroy); `plib` keeps it (short calls on objects
    # that need exclusive writers: bisect kernels, index, ring), so Python threads are serialised
    # there and a caller's buffer cannot be resized by another thread during the call.
    return ctypes.CDLL(path), ctypes.PyDLL(path)


lib, plib = _load()

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


class Error(Exception):
    """A libopenfault call failed. ``status`` is the negative code, ``name`` its symbol
    (``"OF_ERR_BUSY"``), ``detail`` the per-thread detail text (may be empty)."""

    def __init__(self, status, name, detail=""):
        self.status = status
        self.name = name
        self.detail = detail
        text = lib.of_strerror(status).decode()
        msg = "%s (%s)" % (text, name)
        if detail:
            msg += ": " + detail
        super().__init__(msg)


_by_status = {}


def _make_subclasses():
    names = {
        -1: "InvalidError", -2: "NoMemoryError", -3: "NotFoundError", -4: "ExistsError",
        -5: "EmptyError", -6: "NoSpaceError", -7: "BusyError", -8: "TimeoutError",
        -9: "NotOwnerError", -10: "LostError", -11: "UnavailableError", -12: "UnknownOutcomeError",
        -13: "AuthError", -14: "ProtocolError", -15: "NotSupportedError", -16: "AbiError",
    }
    out = {}
    for status, cls_name in names.items():
        cls = type(cls_name, (Error,), {"__doc__": lib.of_strerror(status).decode()})
        _by_status[status] = cls
        out[cls_name] = cls
    return out


ERRORS = _make_subclasses()


def error(status, detail=""):
    """The Error subclass instance for the negative @p status with @p detail (not raised)."""
    cls = _by_status.get(status, Error)
    return cls(status, lib.of_status_name(status).decode(), detail)


def last_detail():
    """The library's detail text for the last failed call on this OS thread."""
    return lib.of_last_error_detail().decode("utf-8", "replace")


def check(status):
    """Raise the Error subclass for a negative status; return it unchanged otherwise."""
    if status < 0:
        raise error(status, last_detail())
    return status


def as_bytes(value):
    """str is UTF-8 encoded; bytes-like objects pass through."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("expected str or bytes, got %s" % type(value).__name__)


# ---------------------------------------------------------------------------------------------
# Prototypes. Every signature is declared, so ctypes converts and range-checks arguments
# instead of guessing (a guessed int is 32 bits).
# ---------------------------------------------------------------------------------------------
_c = ctypes
_int, _sz, _u32, _u64, _i64 = _c.c_int, _c.c_size_t, _c.c_uint32, _c.c_uint64, _c.c_int64
_vp, _p_sz, _p_u64 = _c.c_void_p, _c.POINTER(_c.c_size_t), _c.POINTER(_c.c_uint64)


def _declare(dll, name, restype, *argtypes):
    fn = getattr(dll, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


def has(name):
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
LOCK_AUTO_RENEW = 1

_declare(lib, "of_lock_options_init", _int, _c.POINTER(LockOptions), _sz)
_declare(lib, "of_lock_options_size", _sz)
_declare(lib, "of_lock_stats_size", _sz)
_declare(lib, "of_lock_local_create", _int, _c.POINTER(_vp))
_declare(lib, "of_lock_provider_destroy", None, _vp)
_declare(lib, "of_lock_provider_name", _c.c_char_p, _vp)
_declare(lib, "of_lock_provider_caps", _u32, _vp)
_declare(lib, "of_lock_provider_stats", _int, _vp, _c.POINTER(LockStats))
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
