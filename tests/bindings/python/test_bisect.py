"""openfault.bisect_* against the standard library's bisect on random sorted inputs."""
import array
import bisect as std
import math
import random
import unittest
from unittest import mock

import openfault
from openfault import _bisect

FUNCS = [(openfault.bisect_left, std.bisect_left), (openfault.bisect_right, std.bisect_right)]
INSORTS = [(openfault.insort_left, std.insort_left), (openfault.insort_right, std.insort_right)]


def _bounds(rng, n):
    """lo/hi pairs, including the defaults and the edges."""
    out = [(0, None), (0, n), (n, n), (0, 0)]
    for _ in range(4):
        lo = rng.randint(0, n)
        out.append((lo, rng.randint(lo, n)))
    return out


class NoStdlib:
    """Makes any fall-back to the stdlib fail: proves the C kernels answered."""

    def __enter__(self):
        self.patch = mock.patch.object(_bisect, "_std", new=None)
        self.patch.start()

    def __exit__(self, *exc):
        self.patch.stop()


class CountingSeq:
    """A sequence that counts element reads: a per-call conversion would read all of them."""

    def __init__(self, data):
        self.data = data
        self.reads = 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        self.reads += 1
        return self.data[i]


class BisectTest(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(20261127)

    def check_same(self, a, xs, fast=True):
        n = len(a)
        for x in xs:
            for lo, hi in _bounds(self.rng, n):
                for ours, theirs in FUNCS:
                    want = theirs(a, x, lo, hi)
                    if fast:
                        with NoStdlib():
                            got = ours(a, x, lo, hi)
                    else:
                        got = ours(a, x, lo, hi)
                    self.assertEqual(got, want, (ours.__name__, a.typecode, x, lo, hi))
            # keyword and default forms
            self.assertEqual(openfault.bisect_left(a, x), std.bisect_left(a, x))
            self.assertEqual(openfault.bisect_right(a, x, hi=n), std.bisect_right(a, x, hi=n))

    def test_bisect_int64_array_matches_stdlib(self):
        for n in (0, 1, 2, 3, 7, 16, 100, 1000):
            vals = sorted(self.rng.randint(-50, 50) for _ in range(n))
            a = array.array("q", vals)
            xs = [self.rng.randint(-60, 60) for _ in range(20)] + [-(1 << 63), (1 << 63) - 1]
            self.check_same(a, xs)
        big = array.array("q", sorted(self.rng.randint(-(1 << 63), (1 << 63) - 1)
                                      for _ in range(500)))
        self.check_same(big, [self.rng.randint(-(1 << 63), (1 << 63) - 1) for _ in range(50)]
                        + list(big[:20]))

    def test_bisect_uint64_array_matches_stdlib(self):
        for n in (0, 1, 5, 64, 999):
            vals = sorted(self.rng.randrange(0, 1 << 64) for _ in range(n))
            vals += [vals[-1]] * 3 if vals else []
            a = array.array("Q", vals)
            xs = [self.rng.randrange(0, 1 << 64) for _ in range(20)] + vals[:10]
            xs += [0, (1 << 64) - 1]
            self.check_same(a, xs)

    def test_bisect_double_array_matches_stdlib(self):
        specials = [-math.inf, -1e308, -1.5, -0.0, 0.0, 5e-324, 1.0, 2.5, 1e308, math.inf]
        for n in (0, 1, 4, 33, 500):
            vals = sorted(self.rng.choice(specials + [self.rng.uniform(-10, 10)])
                          for _ in range(n))
            a = array.array("d", vals)
            xs = specials + [self.rng.uniform(-12, 12) for _ in range(10)] + [-3, 0, 2, True]
            self.check_same(a, xs)

    def test_bisect_values_outside_the_element_range(self):
        a = array.array("q", [-5, 0, 5])
        self.check_same(a, [-(1 << 70), 1 << 70, -(1 << 63) - 1, 1 << 63])
        u = array.array("Q", [0, 3, 1 << 63])
        self.check_same(u, [-1, -(1 << 80), 1 << 64, 1 << 90])

    def test_bisect_delegates_other_inputs_to_stdlib(self):
        d = array.array("d", [0.0, 9007199254740992.0, 9007199254740994.0])
        q = array.array("q", [1, 2, 3, 4])
        cases = [
            (d, (1 << 53) + 1),                # int beyond 2**53: exact compare, not a double
            (d, float("nan")),                 # NaN: Python's (unordered) answer
            (array.array("d", [1.0, 2.0, float("nan")]), 1.5),  # trailing NaN
            (q, 2.5), (q, 2.0),                # float in an int array
            (array.array("i", [1, 2, 3]), 2),  # a typecode without a kernel
            ([1, 2, 2, 3], 2), ((1, 2, 3), 2), ("abcd", "c"),
        ]
        for a, x in cases:
            for lo, hi in [(0, None), (1, len(a)), (0, 1)]:
                for ours, theirs in FUNCS:
                    self.assertEqual(ours(a, x, lo, hi), theirs(a, x, lo, hi), (a, x, lo, hi))
        # The stdlib's answers also for the bounds it treats specially.
        self.assertEqual(openfault.bisect_left(q, 3, 3, 1), std.bisect_left(q, 3, 3, 1))
        self.assertEqual(openfault.bisect_right(q, 9, 0, 2), std.bisect_right(q, 9, 0, 2))
        with self.assertRaises(ValueError):
            openfault.bisect_left(q, 1, -1)
        self.assertRaises(IndexError, std.bisect_left, q, 10, 0, 9)
        with self.assertRaises(IndexError):
            openfault.bisect_left(q, 10, 0, 9)
        with self.assertRaises(TypeError):
            openfault.bisect_left(q, "x")

    def test_bisect_key_matches_stdlib(self):
        recs = sorted(((self.rng.randint(0, 30), i) for i in range(60)))
        for x in range(-1, 32):
            self.assertEqual(openfault.bisect_left(recs, x, key=lambda r: r[0]),
                             std.bisect_left(recs, x, key=lambda r: r[0]))
            self.assertEqual(openfault.bisect_right(recs, x, 3, 40, key=lambda r: r[0]),
                             std.bisect_right(recs, x, 3, 40, key=lambda r: r[0]))
        a = array.array("q", sorted(self.rng.randint(0, 100) for _ in range(50)))
        self.assertEqual(openfault.bisect_left(a, -40, key=lambda v: -v),
                         std.bisect_left(a, -40, key=lambda v: -v))

    def test_bisect_never_converts_a_sequence(self):
        seq = CountingSeq(list(range(0, 200000, 2)))
        self.assertEqual(openfault.bisect_left(seq, 77777), std.bisect_left(seq.data, 77777))
        self.assertLessEqual(seq.reads, 20)

    def test_bisect_index_matches_stdlib(self):
        keys = [self.rng.randrange(0, 1000) for _ in range(300)]
        ix = openfault.Index(keys)
        ref = sorted(keys)
        frozen = ix.freeze()
        xs = [self.rng.randrange(-5, 1005) for _ in range(40)] + [-1, (1 << 64) - 1, 1 << 64]
        for x in xs:
            for lo, hi in _bounds(self.rng, len(ref)):
                for ours, theirs in FUNCS:
                    with NoStdlib():
                        self.assertEqual(ours(ix, x, lo, hi), theirs(ref, x, lo, hi))
                        self.assertEqual(ours(frozen, x, lo, hi), theirs(ref, x, lo, hi))
        # Outside the fast path, the stdlib reads the Index as a sequence.
        self.assertEqual(openfault.bisect_left(ix, 500.5), std.bisect_left(ref, 500.5))
        self.assertEqual(openfault.bisect_right(ix, 10, key=lambda k: k // 2),
                         std.bisect_right(ref, 10, key=lambda k: k // 2))

    def test_insort_matches_stdlib(self):
        for tc, gen in (("q", lambda: self.rng.randint(-20, 20)),
                        ("Q", lambda: self.rng.randint(0, 20)),
                        ("d", lambda: self.rng.choice([-0.0, 0.0, 1.5, -2.0, math.inf]))):
            for ours, theirs in INSORTS:
                a = array.array(tc)
                b = array.array(tc)
                for _ in range(200):
                    x = gen()
                    with NoStdlib():
                        ours(a, x)
                    theirs(b, x)
                # bit-for-bit, so -0.0 and 0.0 landed in the same places
                self.assertEqual(a.tobytes(), b.tobytes(), (tc, ours.__name__))
        lst, ref = [], []
        for _ in range(100):
            x = self.rng.randint(0, 9)
            openfault.insort_left(lst, x, key=None)
            std.insort_left(ref, x)
        self.assertEqual(lst, ref)
        with self.assertRaises(OverflowError):
            openfault.insort_left(array.array("Q", [1, 2]), -1)

    def test_insort_index(self):
        ix = openfault.Index()
        ref = []
        for _ in range(300):
            x = self.rng.randrange(0, 50)
            openfault.insort_right(ix, x)
            std.insort_right(ref, x)
        self.assertEqual(list(ix), ref)
        with self.assertRaises(ValueError):
            openfault.insort_left(ix, 40, 0, 1)  # would break the key order
        with self.assertRaises(OverflowError):
            openfault.insort_left(ix, -1)
        with self.assertRaises(TypeError):
            openfault.insort_left(ix, 2.5)
        self.assertEqual(list(ix), ref)


if __name__ == "__main__":
    unittest.main()
