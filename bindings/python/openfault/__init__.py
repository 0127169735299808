"""libopenfault for Python (standard-library ctypes only).

- ``Ring``: consistent-hash ring (``add_node``, ``remove_node``, ``get``, ``get_n``, ``pin``).
- ``bisect_left`` / ``bisect_right`` / ``insort_left`` / ``insort_right``: the standard library's
  functions, answered in C for ``array.array('q'|'Q'|'d')`` and ``Index`` (zero-copy).
- ``Index`` / ``FrozenIndex``: sorted uint64 keys with uint64 payloads.
- ``LocalProvider`` / ``RedisProvider``: leased named locks with fencing tokens
  (``with provider.lock("name", ttl=10, wait=None): ...``).

The library is loaded from ``$OPENFAULT_LIBRARY`` or else ``libopenfault.so.<soversion>``.
Errors raise ``openfault.Error`` (attributes ``status``, ``name``, ``detail``) or one of its
subclasses, one per status code (``openfault.BusyError``, ``openfault.TimeoutError``, ...).
"""
from ._native import ERRORS as _ERRORS
from ._native import Error, lib as _lib
from ._bisect import bisect, bisect_left, bisect_right, insort, insort_left, insort_right
from ._index import FrozenIndex, Index
from ._ring import Ring, RingView
from ._lock import (CAP_EXTEND, CAP_FENCE, CAP_SHARED, CAP_TTL, CAP_WAIT, LocalProvider, Lock,
                    LockProvider, RedisProvider, redis_available)

globals().update(_ERRORS)

__all__ = ["Error", "version", "hash64", "Ring", "RingView", "bisect", "bisect_left",
           "bisect_right", "insort", "insort_left", "insort_right", "Index", "FrozenIndex",
           "LockProvider", "LocalProvider", "RedisProvider", "Lock", "redis_available",
           "CAP_TTL", "CAP_EXTEND", "CAP_FENCE", "CAP_WAIT", "CAP_SHARED"] + sorted(_ERRORS)


def version():
    """The library's version string, e.g. "0.1.0"."""
    return _lib.of_version_string().decode()


def hash64(data, seed=0):
    """XXH3_64bits_withSeed of bytes (str is UTF-8 encoded) — the ring's key hash."""
    from ._native import as_bytes
    b = as_bytes(data)
    return _lib.of_hash64(b, len(b), seed)
