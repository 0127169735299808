#!/usr/bin/env python3
"""The bisect kernels and the index, called through stdlib ctypes, against Python's own bisect.

The library under test is the one named by $OPENFAULT_LIBRARY (meson sets it to the freshly built
libopenfault.so). NaN is left out of the double comparisons: Python's answer there is unordered.
"""
import bisect
import ctypes as C
import math
import os
import random
import struct
import sys
import unittest

LIB = C.CDLL(os.environ["OPENFAULT_LIBRARY"])
OF_OK, OF_ERR_INVALID, OF_ERR_NOT_FOUND, OF_ERR_EMPTY, OF_ERR_NOSPACE = 0, -1, -3, -5, -6
SZ = C.c_size_t
U64, I64, F64 = C.c_uint64, C.c_int64, C.c_double
CMP_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.c_void_p)
VISIT_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_uint64, C.c_uint64)


class Cursor(C.Structure):
    _fields_ = [("next", SZ), ("end", SZ)]


def decl(name, args, res=C.c_int):
    f = getattr(LIB, name)
    f.argtypes = args
    f.restype = res
    return f


KERNEL_TYPES = {"u64": U64, "i64": I64, "f64": F64}
BISECT = {}
INSORT = {}
for t, ct in KERNEL_TYPES.items():
    for side in ("left", "right"):
        BISECT[t, side] = decl(f"of_bisect_{side}_{t}",
                               [C.POINTER(ct), SZ, ct, SZ, SZ, C.POINTER(SZ)])
        INSORT[t, side] = decl(f"of_insort_{side}_{t}",
                               [C.POINTER(ct), SZ, C.POINTER(SZ), ct, SZ, SZ, C.POINTER(SZ)])
BISECT_CMP = {s: decl(f"of_bisect_{s}_cmp", [C.c_void_p, SZ, SZ, C.c_void_p, CMP_FN, C.c_void_p,
                                              SZ, SZ, C.POINTER(SZ)]) for s in ("left", "right")}
INSORT_CMP = {s: decl(f"of_insort_{s}_cmp", [C.c_void_p, SZ, C.POINTER(SZ), SZ, C.c_void_p, CMP_FN,
                                              C.c_void_p, SZ, SZ, C.POINTER(SZ)])
              for s in ("left", "right")}
PY_BISECT = {"left": bisect.bisect_left, "right": bisect.bisect_right}
PY_INSORT = {"left": bisect.insort_left, "right": bisect.insort_right}

IDX = C.c_void_p
index_create = decl("of_index_create", [SZ, C.POINTER(IDX)])
index_destroy = decl("of_index_destroy", [IDX], None)
index_build = decl("of_index_build", [IDX, C.POINTER(U64), C.POINTER(U64), SZ])
index_insert_right = decl("of_index_insert_right", [IDX, U64, U64, C.POINTER(SZ)])
index_lower_bound = decl("of_index_lower_bound", [IDX, U64, C.POINTER(SZ)])
index_upper_bound = decl("of_index_upper_bound", [IDX, U64, C.POINTER(SZ)])
index_batch = decl("of_index_lower_bound_batch", [IDX, C.POINTER(U64), SZ, C.POINTER(SZ)])
index_select = decl("of_index_select", [IDX, SZ, C.POINTER(U64), C.POINTER(U64)])
index_size = decl("of_index_size", [IDX], SZ)
index_floor = decl("of_index_floor", [IDX, U64, C.POINTER(SZ), C.POINTER(U64), C.POINTER(U64)])
index_freeze = decl("of_index_freeze", [IDX, C.POINTER(C.c_void_p)])
frozen_destroy = decl("of_index_frozen_destroy", [C.c_void_p], None)
frozen_lower_bound = decl("of_index_frozen_lower_bound", [C.c_void_p, U64, C.POINTER(SZ)])
frozen_batch = decl("of_index_frozen_lower_bound_batch",
                    [C.c_void_p, C.POINTER(U64), SZ, C.POINTER(SZ)])
frozen_iterate = decl("of_index_frozen_iterate",
                      [C.c_void_p, U64, U64, VISIT_FN, C.c_void_p, C.POINTER(SZ)])
frozen_cursor_init = decl("of_index_frozen_cursor_init", [C.c_void_p, U64, U64, C.POINTER(Cursor)])
frozen_cursor_next = decl("of_index_frozen_cursor_next",
                          [C.c_void_p, C.POINTER(Cursor), C.POINTER(SZ), C.POINTER(U64),
                           C.POINTER(U64)])

SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256,
         257, 1023, 1024, 1025]
U64_MAX = 2**64 - 1
F64_EDGES = [-math.inf, -1e308, -1.0, -0.0, 0.0, 5e-324, 1.0, 1e308, math.inf]


def draw(t, rng, small):
    if t == "u64":
        if rng.random() < 0.1:
            return rng.choice([0, 1, U64_MAX - 1, U64_MAX, 2**63])
        return rng.randrange(16) if small else rng.randrange(2**64)
    if t == "i64":
        if rng.random() < 0.1:
            return rng.choice([-2**63, -2**63 + 1, -1, 0, 2**63 - 1])
        return rng.randrange(-8, 8) if small else rng.randrange(-2**63, 2**63)
    if rng.random() < 0.2:
        return rng.choice(F64_EDGES)
    return rng.randrange(-8, 8) / 2 if small else struct.unpack(
        "<d", struct.pack("<q", rng.randrange(-2**62, 2**62)))[0]


class Kernels(unittest.TestCase):
    def test_kernels_match_python_bisect(self):
        rng = random.Random(1234)
        for t, ct in KERNEL_TYPES.items():
            for n in SIZES:
                for small in (False, True):
                    a = sorted(draw(t, rng, small) for _ in range(n))
                    arr = (ct * max(n, 1))(*a)
                    out = SZ(999)
                    for _ in range(40):
                        x = rng.choice(a) if a and rng.random() < 0.4 else draw(t, rng, small)
                        lo = rng.randrange(n + 1)
                        hi = rng.randrange(lo, n + 1)
                        if rng.random() < 0.5:
                            lo, hi = 0, n
                        for side in ("left", "right"):
                            rc = BISECT[t, side](arr, n, x, lo, hi, C.byref(out))
                            self.assertEqual(rc, OF_OK)
                            self.assertEqual(out.value, PY_BISECT[side](a, x, lo, hi),
                                             (t, n, side, x, lo, hi))

    def test_bad_bounds_are_errors_not_crashes(self):
        arr = (U64 * 3)(1, 2, 3)
        out = SZ(7)
        self.assertEqual(BISECT["u64", "left"](arr, 3, 2, 2, 1, C.byref(out)), OF_ERR_INVALID)
        self.assertEqual(BISECT["u64", "right"](arr, 3, 2, 0, 4, C.byref(out)), OF_ERR_INVALID)
        self.assertEqual(BISECT["f64", "left"](None, 2, 1.0, 0, 2, C.byref(out)), OF_ERR_INVALID)
        self.assertEqual(out.value, 7)

    def test_insort_matches_python_and_reports_full(self):
        rng = random.Random(99)
        for t, ct in KERNEL_TYPES.items():
            for side in ("left", "right"):
                cap = 300
                arr = (ct * cap)()
                count = SZ(0)
                ref = []
                for _ in range(cap):
                    x = draw(t, rng, True)
                    pos = SZ()
                    # A window that contains the insertion point keeps the list sorted (a
                    # narrower one is legal, as in Python, but would unsort it).
                    full = PY_BISECT[side](ref, x)
                    lo = rng.randrange(full + 1) if rng.random() < 0.3 else 0
                    hi = rng.randrange(full, len(ref) + 1) if rng.random() < 0.3 else len(ref)
                    expect = PY_BISECT[side](ref, x, lo, hi)
                    rc = INSORT[t, side](arr, cap, C.byref(count), x, lo, hi, C.byref(pos))
                    self.assertEqual(rc, OF_OK)
                    self.assertEqual(pos.value, expect, (t, side, x, lo, hi, ref))
                    ref.insert(expect, x)
                    self.assertEqual(count.value, len(ref))
                self.assertEqual(list(arr), ref)
                rc = INSORT[t, side](arr, cap, C.byref(count), draw(t, rng, True), 0, cap, None)
                self.assertEqual(rc, OF_ERR_NOSPACE)
                self.assertEqual(count.value, cap)
                self.assertEqual(list(arr), ref)

    def test_comparator_kernels_on_byte_strings(self):
        rng = random.Random(7)
        # Elements are indices into a Python list; the comparator compares the bytes they name.
        for n in (0, 1, 2, 17, 100):
            words = sorted(bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
                           for _ in range(n))
            table = list(words)

            @CMP_FN
            def cmp(ctx, key, elem):
                k = table[C.cast(key, C.POINTER(C.c_uint32)).contents.value]
                e = table[C.cast(elem, C.POINTER(C.c_uint32)).contents.value]
                return (k > e) - (k < e)

            arr = (C.c_uint32 * max(n, 1))(*range(n))
            for _ in range(30):
                key = bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
                table.append(key)
                kidx = C.c_uint32(len(table) - 1)
                out = SZ()
                for side in ("left", "right"):
                    rc = BISECT_CMP[side](arr, n, 4, C.byref(kidx), cmp, None, 0, n,
                                          C.byref(out))
                    self.assertEqual(rc, OF_OK)
                    self.assertEqual(out.value, PY_BISECT[side](words, key))
                table.pop()
            # insort_right through the comparator keeps the array sorted like Python's insort.
            cap = n + 20
            arr2 = (C.c_uint32 * cap)(*range(n))
            count = SZ(n)
            ref = list(words)
            for _ in range(20):
                key = bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
                table.append(key)
                kidx = C.c_uint32(len(table) - 1)
                rc = INSORT_CMP["right"](arr2, cap, C.byref(count), 4, C.byref(kidx), cmp, None, 0,
                                         count.value, None)
                self.assertEqual(rc, OF_OK)
                bisect.insort_right(ref, key)
            self.assertEqual([table[i] for i in arr2[:count.value]], ref)


class Index(unittest.TestCase):
    def test_index_and_frozen_match_python_bisect(self):
        rng = random.Random(5)
        for n in (0, 1, 2, 15, 16, 17, 1000, 5000):
            keys = [rng.choice([0, U64_MAX, rng.randrange(50), rng.randrange(2**64)])
                    for _ in range(n)]
            idx = IDX()
            self.assertEqual(index_create(0, C.byref(idx)), OF_OK)
            karr = (U64 * max(n, 1))(*keys)
            self.assertEqual(index_build(idx, karr, None, n), OF_OK)
            self.assertEqual(index_size(idx), n)
            ref = sorted(keys)
            # Stable argsort: payload = input position.
            k, p = U64(), U64()
            order = sorted(range(n), key=lambda i: keys[i])
            for i in range(n):
                self.assertEqual(index_select(idx, i, C.byref(k), C.byref(p)), OF_OK)
                self.assertEqual((k.value, p.value), (ref[i], order[i]))
            fz = C.c_void_p()
            self.assertEqual(index_freeze(idx, C.byref(fz)), OF_OK)
            qs = [rng.choice(ref) if ref and rng.random() < 0.5 else rng.randrange(2**64)
                  for _ in range(200)] + [0, U64_MAX]
            qarr = (U64 * len(qs))(*qs)
            out1 = (SZ * len(qs))()
            out2 = (SZ * len(qs))()
            self.assertEqual(index_batch(idx, qarr, len(qs), out1), OF_OK)
            self.assertEqual(frozen_batch(fz, qarr, len(qs), out2), OF_OK)
            pos = SZ()
            for i, x in enumerate(qs):
                lb = bisect.bisect_left(ref, x)
                self.assertEqual(index_lower_bound(idx, x, C.byref(pos)), OF_OK)
                self.assertEqual(pos.value, lb)
                self.assertEqual(frozen_lower_bound(fz, x, C.byref(pos)), OF_OK)
                self.assertEqual(pos.value, lb)
                self.assertEqual(index_upper_bound(idx, x, C.byref(pos)), OF_OK)
                self.assertEqual(pos.value, bisect.bisect_right(ref, x))
                self.assertEqual((out1[i], out2[i]), (lb, lb))
                rc = index_floor(idx, x, C.byref(pos), C.byref(k), None)
                ub = bisect.bisect_right(ref, x)
                if n == 0:
                    self.assertEqual(rc, OF_ERR_EMPTY)
                elif ub == 0:
                    self.assertEqual(rc, OF_ERR_NOT_FOUND)
                else:
                    self.assertEqual((rc, pos.value, k.value), (OF_OK, ub - 1, ref[ub - 1]))
            # Iteration by callback and by cursor over [lo, hi).
            lo, hi = sorted([rng.randrange(2**64), rng.randrange(2**64)])
            if n and rng.random() < 0.5:
                lo = ref[0]
            seen = []

            @VISIT_FN
            def visit(ctx, key, payload):
                seen.append(key)
                return 0

            visited = SZ()
            self.assertEqual(frozen_iterate(fz, lo, hi, visit, None, C.byref(visited)), OF_OK)
            expect = ref[bisect.bisect_left(ref, lo):bisect.bisect_left(ref, hi)]
            self.assertEqual(seen, expect)
            self.assertEqual(visited.value, len(expect))
            cur = Cursor()
            self.assertEqual(frozen_cursor_init(fz, lo, hi, C.byref(cur)), OF_OK)
            walked = []
            while frozen_cursor_next(fz, C.byref(cur), None, C.byref(k), None) == OF_OK:
                walked.append(k.value)
            self.assertEqual(walked, expect)
            frozen_destroy(fz)
            index_destroy(idx)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
