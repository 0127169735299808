"""bisect_left / bisect_right / insort_left / insort_right with the standard library's signature
and answers, computed in libopenfault's C kernels where that is exact and zero-copy:

- ``array.array`` of typecode ``'q'``, ``'Q'`` or ``'d'`` (searched in place, through the
  buffer's address; the GIL stays held, so no other thread can resize it during the call);
- ``openfault.Index`` / ``openfault.FrozenIndex``.

Everything else — lists, other typecodes, ``key=``, values of another type (a float searched in
an int array, an int beyond 2**53 in a double array), NaN, bounds the stdlib would reject or
treat specially — is handed to the standard ``bisect`` module unchanged, so the answer (or the
exception) is always the stdlib's. A list is never converted.

As with the stdlib, the sequence must be sorted; on unsorted input the answers are unspecified.
For double arrays "sorted" means NaNs, if any, only at the end: an array whose last element in
[lo, hi) is NaN goes to the stdlib.
"""
from __future__ import annotations

import array
import bisect as _std
import ctypes
from typing import Any, Callable, MutableSequence, Optional, Sequence

from ._index import FrozenIndex, Index
from ._native import check, invalid_type, plib

_I64_MIN, _I64_MAX, _U64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
_F64_EXACT = 1 << 53  # every int of at most this magnitude converts to a double exactly

_KERNELS = {
    "q": (plib.of_bisect_left_i64, plib.of_bisect_right_i64),
    "Q": (plib.of_bisect_left_u64, plib.of_bisect_right_u64),
    "d": (plib.of_bisect_left_f64, plib.of_bisect_right_f64),
}


def _array(a, x, lo, hi, right):
    """The exact answer for an array.array, or None to let the stdlib answer."""
    fns = _KERNELS.get(a.typecode)
    if fns is None or type(lo) is not int:
        return None
    n = len(a)
    if hi is None:
        hi = n
    elif type(hi) is not int:
        return None
    if not 0 <= lo <= hi <= n:
        return None
    tx = type(x)
    tc = a.typecode
    if tc == "d":
        if tx is float:
            if x != x:
                return None
        elif tx is int or tx is bool:
            if not -_F64_EXACT <= x <= _F64_EXACT:
                return None
            x = float(x)
        else:
            return None
        if hi > lo and a[hi - 1] != a[hi - 1]:
            return None
    else:
        if tx is not int and tx is not bool:
            return None
        # Beyond the element type's range every element compares the same way to x.
        if x < (_I64_MIN if tc == "q" else 0):
            return lo
        if x > (_I64_MAX if tc == "q" else _U64_MAX):
            return hi
    out = ctypes.c_size_t()
    check(fns[right](a.buffer_info()[0], n, x, lo, hi, ctypes.byref(out)))
    return out.value


def _fast(a, x, lo, hi, right):
    t = type(a)
    if t is array.array:
        return _array(a, x, lo, hi, right)
    if t is Index or t is FrozenIndex:
        return a._bisect(x, lo, hi, right)
    return None


def bisect_left(a: Sequence[Any], x: Any, lo: int = 0, hi: Optional[int] = None, *,
                key: Optional[Callable[[Any], Any]] = None) -> int:
    """As bisect.bisect_left: the first position i in [lo, hi) with a[i] >= x, else hi."""
    if key is None:
        r = _fast(a, x, lo, hi, 0)
        if r is not None:
            return r
    return _std.bisect_left(a, x, lo, hi, key=key)


def bisect_right(a: Sequence[Any], x: Any, lo: int = 0, hi: Optional[int] = None, *,
                 key: Optional[Callable[[Any], Any]] = None) -> int:
    """As bisect.bisect_right: the first position i in [lo, hi) with a[i] > x, else hi."""
    if key is None:
        r = _fast(a, x, lo, hi, 1)
        if r is not None:
            return r
    return _std.bisect_right(a, x, lo, hi, key=key)


bisect = bisect_right


def _insort(a, x, lo, hi, key, right):
    if type(a) is Index:
        if key is not None:
            raise invalid_type("insort into an openfault.Index takes no key=")
        a._insort(x, lo, hi, right)
        return
    if key is None and type(a) is array.array:
        pos = _array(a, x, lo, hi, right)
        if pos is not None:
            a.insert(pos, x)  # what the stdlib does for any non-list sequence
            return
    (_std.insort_right if right else _std.insort_left)(a, x, lo, hi, key=key)


def insort_left(a: MutableSequence[Any], x: Any, lo: int = 0, hi: Optional[int] = None, *,
                key: Optional[Callable[[Any], Any]] = None) -> None:
    """As bisect.insort_left: insert x before any equal elements. For an openfault.Index the
    entry gets payload 0 and lo/hi may not move it away from its key-order position."""
    _insort(a, x, lo, hi, key, 0)


def insort_right(a: MutableSequence[Any], x: Any, lo: int = 0, hi: Optional[int] = None, *,
                 key: Optional[Callable[[Any], Any]] = None) -> None:
    """As bisect.insort_right: insert x after any equal elements."""
    _insort(a, x, lo, hi, key, 1)


insort = insort_right
