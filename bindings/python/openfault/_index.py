"""openfault.Index and openfault.FrozenIndex: sorted uint64 keys with uint64 payloads."""
from __future__ import annotations

import array
import ctypes
from typing import Any, Iterable, Iterator, List, Optional, Tuple, Union

from ._native import (IndexRangeError, InvalidRangeError, check, error, invalid, invalid_type,
                      plib)

_U64_MAX = (1 << 64) - 1
_EMPTY, _NOT_FOUND = -5, -3


def _key(value, what="key"):
    """Validate a uint64 key: ctypes would silently wrap -1 to 2**64-1."""
    if type(value) is not int and type(value) is not bool:
        try:
            value = value.__index__()
        except AttributeError:
            raise invalid_type("%s must be an int, not %s" % (what, type(value).__name__)) from None
    if not 0 <= value <= _U64_MAX:
        raise InvalidRangeError(-1, None, "%s %d outside 0..2**64-1" % (what, value))
    return value


def _position(pos):
    """An int position (anything with __index__), as a list would take it."""
    if type(pos) is int:
        return pos
    try:
        return pos.__index__()
    except AttributeError:
        raise invalid_type("positions must be integers, not %s" % type(pos).__name__) from None


def _u64_buffer(values, what):
    """A uint64 C buffer holding @p values: array.array('Q') is used in place, anything else is
    copied once (with every value range-checked). Returns (address, count, keepalive)."""
    if type(values) is array.array and values.typecode == "Q":
        return values.buffer_info()[0], len(values), values
    vals = [_key(v, what) for v in values]
    buf = (ctypes.c_uint64 * len(vals))(*vals)
    return ctypes.addressof(buf), len(vals), buf


class _IndexBase:
    """Read-only queries shared by Index and FrozenIndex (same C functions, two prefixes)."""
    _pre = None

    def _fn(self, name):
        return getattr(plib, "%s_%s" % (self._pre, name))

    def _handle(self):
        if not self._h:
            raise invalid("operation on a closed %s" % type(self).__name__)
        return self._h

    def __len__(self) -> int:
        return self._size(self._handle())

    def __bool__(self) -> bool:
        return len(self) != 0

    def __getitem__(self, pos: Union[int, slice]) -> Union[int, List[int]]:
        """The key at position @p pos (negative positions count from the end; slices give lists)."""
        if isinstance(pos, slice):
            return [self[i] for i in range(*pos.indices(len(self)))]
        return self.select(pos)[0]

    def __iter__(self) -> Iterator[int]:
        for key, _payload in self.items():
            yield key

    def __contains__(self, key: object) -> bool:
        if type(key) is not int or not 0 <= key <= _U64_MAX:
            return False
        return self.find(key) is not None

    def __repr__(self) -> str:
        return "<openfault.%s of %d entries>" % (type(self).__name__, len(self)) if self._h \
            else "<openfault.%s (closed)>" % type(self).__name__

    def _pos(self, name, key):
        out = ctypes.c_size_t()
        check(self._fn(name)(self._handle(), _key(key), ctypes.byref(out)))
        return out.value

    def lower_bound(self, key: int) -> int:
        """Position of the first entry with a key >= @p key (len(self) if none)."""
        return self._pos("lower_bound", key)

    def upper_bound(self, key: int) -> int:
        """Position of the first entry with a key > @p key (len(self) if none)."""
        return self._pos("upper_bound", key)

    def rank(self, key: int) -> int:
        """Number of keys < @p key."""
        return self._pos("rank", key)

    def lower_bound_batch(self, keys: Iterable[int]) -> List[int]:
        """lower_bound() of many keys in one call (their cache misses overlap): a list of
        positions. array.array('Q') input is read in place."""
        addr, n, keep = _u64_buffer(keys, "key")
        out = (ctypes.c_size_t * n)()
        check(self._fn("lower_bound_batch")(self._handle(), addr, n, out))
        del keep
        return list(out)

    def select(self, pos: int) -> Tuple[int, int]:
        """(key, payload) at position @p pos (0-based; negative counts from the end).
        Raises IndexError out of range."""
        h = self._handle()
        n = self._size(h)
        pos = _position(pos)
        if pos < 0:
            pos += n
        if not 0 <= pos < n:
            raise IndexRangeError(-1, None, "%s position out of range" % type(self).__name__)
        k, p = ctypes.c_uint64(), ctypes.c_uint64()
        check(self._fn("select")(h, pos, ctypes.byref(k), ctypes.byref(p)))
        return k.value, p.value

    def find(self, key: int) -> Optional[Tuple[int, int]]:
        """(position, payload) of the first entry with @p key, or None."""
        pos, p = ctypes.c_size_t(), ctypes.c_uint64()
        rc = self._fn("find")(self._handle(), _key(key), ctypes.byref(pos), ctypes.byref(p))
        if rc == _NOT_FOUND:
            return None
        check(rc)
        return pos.value, p.value

    def _neighbour(self, name, key):
        pos, k, p = ctypes.c_size_t(), ctypes.c_uint64(), ctypes.c_uint64()
        rc = self._fn(name)(self._handle(), _key(key), ctypes.byref(pos), ctypes.byref(k),
                            ctypes.byref(p))
        if rc in (_NOT_FOUND, _EMPTY):
            return None
        check(rc)
        return pos.value, k.value, p.value

    def floor(self, key: int) -> Optional[Tuple[int, int, int]]:
        """(position, key, payload) of the last entry with a key <= @p key, or None."""
        return self._neighbour("floor", key)

    def ceiling(self, key: int) -> Optional[Tuple[int, int, int]]:
        """(position, key, payload) of the first entry with a key >= @p key, or None."""
        return self._neighbour("ceiling", key)

    def ceiling_wrap(self, key: int) -> Optional[Tuple[int, int, int]]:
        """ceiling(), wrapping around to the first entry (a hash ring's lookup); None when
        empty."""
        return self._neighbour("ceiling_wrap", key)

    def count_range(self, lo: int, hi: int) -> int:
        """Number of entries with lo <= key < hi."""
        out = ctypes.c_size_t()
        check(self._fn("count_range")(self._handle(), _key(lo, "lo"), _key(hi, "hi"),
                                      ctypes.byref(out)))
        return out.value

    def items(self, lo: int = 0, hi: Optional[int] = None) -> Iterator[Tuple[int, int]]:
        """Iterate (key, payload) for lo <= key < hi (hi=None: to the end), in key order.
        Reads position by position, so an Index changed meanwhile may skip or repeat entries."""
        start = self.lower_bound(lo)
        end = len(self) if hi is None else self.lower_bound(hi)
        for pos in range(start, end):
            try:
                yield self.select(pos)
            except IndexError:
                return

    def _bisect(self, x, lo, hi, right):
        """Python-bisect answer for a sorted sequence of keys, or None to let the stdlib answer
        (inputs outside the fast path's exact domain)."""
        h = self._h
        if not h or (type(x) is not int and type(x) is not bool) or type(lo) is not int:
            return None
        n = self._size(h)
        if hi is None:
            hi = n
        elif type(hi) is not int:
            return None
        if not 0 <= lo <= hi <= n:
            return None
        if x < 0:
            return lo
        if x > _U64_MAX:
            return hi
        out = ctypes.c_size_t()
        check(self._fn("upper_bound" if right else "lower_bound")(h, x, ctypes.byref(out)))
        pos = out.value
        return lo if pos < lo else hi if pos > hi else pos


class Index(_IndexBase):
    """Sorted uint64 keys with uint64 payloads (duplicates kept in insertion order), a Python
    sequence of its keys. bisect_left/right and insort_left/right of this package work on it
    directly, in C.

    Thread-safety: every call holds the GIL for its whole duration, so Python threads may share
    an Index freely.
    """
    _pre = "of_index"
    _size = staticmethod(plib.of_index_size)

    def __init__(self, keys: Optional[Iterable[int]] = None,
                 payloads: Optional[Iterable[int]] = None,
                 capacity: int = 0) -> None:
        """Create an index, optionally built from unsorted @p keys (payloads default to each
        key's input position, so the index doubles as an argsort)."""
        self._h = None
        h = ctypes.c_void_p()
        check(plib.of_index_create(_key(capacity, "capacity"), ctypes.byref(h)))
        self._h = h.value
        if keys is not None:
            self.build(keys, payloads)

    def close(self) -> None:
        """Free the C index now (also done when the object is collected)."""
        h, self._h = self._h, None
        if h:
            plib.of_index_destroy(h)

    def __del__(self):
        self.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def build(self, keys: Iterable[int], payloads: Optional[Iterable[int]] = None) -> None:
        """Replace the content with entries from unsorted @p keys (stable: equal keys keep their
        input order). array.array('Q') inputs are read in place."""
        kaddr, n, kkeep = _u64_buffer(keys, "key")
        paddr = None
        if payloads is not None:
            paddr, pn, pkeep = _u64_buffer(payloads, "payload")
            if pn != n:
                raise invalid("%d keys but %d payloads" % (n, pn))
        check(plib.of_index_build(self._handle(), kaddr, paddr, n))
        del kkeep

    def _insert(self, fn, key, payload):
        out = ctypes.c_size_t()
        check(fn(self._handle(), _key(key), _key(payload, "payload"), ctypes.byref(out)))
        return out.value

    def insert_left(self, key: int, payload: int = 0) -> int:
        """Insert before any equal keys; returns the new entry's position."""
        return self._insert(plib.of_index_insert_left, key, payload)

    def insert_right(self, key: int, payload: int = 0) -> int:
        """Insert after any equal keys; returns the new entry's position."""
        return self._insert(plib.of_index_insert_right, key, payload)

    add = insert_right

    def remove(self, key: int) -> int:
        """Remove the first entry with @p key and return its payload (KeyError if absent)."""
        p = ctypes.c_uint64()
        rc = plib.of_index_remove_one(self._handle(), _key(key), ctypes.byref(p))
        if rc == _NOT_FOUND:
            raise error(_NOT_FOUND, "key %d is not in the index" % key)
        check(rc)
        return p.value

    def remove_all(self, key: int) -> int:
        """Remove every entry with @p key; returns how many (0 if none)."""
        n = ctypes.c_size_t()
        rc = plib.of_index_remove_all(self._handle(), _key(key), ctypes.byref(n))
        if rc == _NOT_FOUND:
            return 0
        check(rc)
        return n.value

    def pop(self, pos: int = -1) -> Tuple[int, int]:
        """Remove and return (key, payload) at position @p pos (IndexError out of range)."""
        h = self._handle()
        n = plib.of_index_size(h)
        pos = _position(pos)
        if pos < 0:
            pos += n
        if not 0 <= pos < n:
            raise IndexRangeError(-1, None, "pop index out of range")
        k, p = ctypes.c_uint64(), ctypes.c_uint64()
        check(plib.of_index_remove_at(h, pos, ctypes.byref(k), ctypes.byref(p)))
        return k.value, p.value

    def clear(self) -> None:
        """Remove every entry."""
        plib.of_index_clear(self._handle())

    def freeze(self) -> "FrozenIndex":
        """An immutable, read-optimised copy (FrozenIndex) answering exactly as this index."""
        out = ctypes.c_void_p()
        check(plib.of_index_freeze(self._handle(), ctypes.byref(out)))
        return FrozenIndex._adopt(out.value)

    def _insort(self, x, lo, hi, right):
        """insort into the index: the position must be the one the key order gives."""
        pos = self._bisect(x, lo, hi, right)
        if pos is None:
            raise invalid_type("insort into an openfault.Index needs an int key in 0..2**64-1 and "
                            "0 <= lo <= hi <= len(index)")
        natural = (self.upper_bound if right else self.lower_bound)(x)
        if pos != natural:
            raise invalid("lo/hi would place key %d at %d, but an Index keeps key order (%d)"
                             % (x, pos, natural))
        (self.insert_right if right else self.insert_left)(x)


class FrozenIndex(_IndexBase):
    """Immutable read-optimised copy of an Index (Index.freeze()); same queries, same answers.
    Thread-safety: safe from any thread."""
    _pre = "of_index_frozen"
    _size = staticmethod(plib.of_index_frozen_size)

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise invalid_type("make a FrozenIndex with Index.freeze()")

    @classmethod
    def _adopt(cls, handle):
        self = object.__new__(cls)
        self._h = handle
        return self

    def close(self) -> None:
        """Free the C copy now (also done when the object is collected)."""
        h, self._h = getattr(self, "_h", None), None
        if h:
            plib.of_index_frozen_destroy(h)

    def __del__(self):
        self.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
