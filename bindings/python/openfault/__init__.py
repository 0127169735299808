"""libopenfault for Python (standard-library ctypes only). Reference: docs/python.md.

- ``Ring``: consistent-hash ring (``add_node``, ``remove_node``, ``get``, ``get_n``, ``pin``).
- ``bisect_left`` / ``bisect_right`` / ``insort_left`` / ``insort_right``: the standard library's
  functions, answered in C for ``array.array('q'|'Q'|'d')`` and ``Index`` (zero-copy).
- ``Index`` / ``FrozenIndex``: sorted uint64 keys with uint64 payloads.
- ``LocalProvider`` / ``RedisProvider`` / ``RedlockProvider`` / ``EtcdProvider``: leased named
  locks with fencing tokens
  (``with provider.lock("name", ttl=10, wait=None): ...``), also with redis-py's Lock surface
  (``provider.lock("name", timeout=5, blocking_timeout=2)``, ``acquire() -> bool``, ``locked()``,
  ``owned()``, ``extend()``, ``reacquire()``).

The library is loaded from ``$OPENFAULT_LIBRARY``, else the soname ``libopenfault.so.0``, else
the usual install directories (an ImportError says what was tried). Every error the binding
raises is an ``openfault.Error`` (attributes ``status``, ``name``, ``detail``): one subclass per
status code (``BusyError``, ``TimeoutError`` — also the builtin TimeoutError —, ...),
``LockError`` / ``LockNotOwnedError`` (redis-py's names), and ``InvalidError`` (also a
ValueError) with ``InvalidTypeError`` (TypeError) and ``InvalidRangeError`` (OverflowError) for
misuse found before C is called.
"""
from __future__ import annotations

from typing import Union

from ._native import ERRORS as _ERRORS
from ._native import (AbiError, AuthError, BusyError, EmptyError, Error, ExistsError,
                      IndexRangeError, InvalidError, InvalidRangeError, InvalidTypeError,
                      LockError, LockNotOwnedError, LostError, NoMemoryError, NoSpaceError,
                      NotFoundError, NotOwnerError, NotSupportedError, ProtocolError,
                      TimeoutError, UnavailableError, UnknownOutcomeError, lib as _lib)
from ._bisect import bisect, bisect_left, bisect_right, insort, insort_left, insort_right
from ._index import FrozenIndex, Index
from ._ring import Ring, RingView
from ._lock import (CAP_EXTEND, CAP_FENCE, CAP_SHARED, CAP_TTL, CAP_WAIT, DEFAULT, LocalProvider,
                    Lock, LockProvider, RedisProvider, log_to, redis_available)
from ._lock import EtcdProvider, RedlockProvider, etcd_available, redlock_available

__all__ = ["Error", "LockError", "LockNotOwnedError", "InvalidTypeError", "InvalidRangeError",
           "IndexRangeError", "version", "hash64", "Ring", "RingView", "bisect", "bisect_left",
           "bisect_right", "insort", "insort_left", "insort_right", "Index", "FrozenIndex",
           "LockProvider", "LocalProvider", "RedisProvider", "Lock", "DEFAULT",
           "redis_available", "log_to", "CAP_TTL", "CAP_EXTEND", "CAP_FENCE", "CAP_WAIT",
           "CAP_SHARED", "RedlockProvider", "EtcdProvider", "redlock_available",
           "etcd_available"] + sorted(_ERRORS)

def version() -> str:
    """The library's version string, e.g. "0.1.0"."""
    return _lib.of_version_string().decode()


def hash64(data: Union[str, bytes], seed: int = 0) -> int:
    """XXH3_64bits_withSeed of bytes (str is UTF-8 encoded) — the ring's key hash."""
    from ._native import as_bytes
    from ._ring import _uint
    b = as_bytes(data)
    return _lib.of_hash64(b, len(b), _uint(seed, "seed", (1 << 64) - 1))
