"""openfault.Index / FrozenIndex against a plain Python model (a sorted list of entries)."""
import array
import bisect as std
import random
import unittest

import openfault


class Model:
    """Sorted (key, payload) entries, equal keys in insertion order."""

    def __init__(self):
        self.keys, self.payloads = [], []

    def insert(self, key, payload, right):
        pos = (std.bisect_right if right else std.bisect_left)(self.keys, key)
        self.keys.insert(pos, key)
        self.payloads.insert(pos, payload)
        return pos


class IndexTest(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(7)

    def assert_same(self, ix, m):
        self.assertEqual(len(ix), len(m.keys))
        self.assertEqual(list(ix.items()), list(zip(m.keys, m.payloads)))

    def test_index_random_operations_match_model(self):
        ix, m = openfault.Index(), Model()
        for step in range(2000):
            op = self.rng.random()
            key = self.rng.randrange(0, 64)
            if op < 0.45:
                right = self.rng.random() < 0.5
                fn = ix.insert_right if right else ix.insert_left
                self.assertEqual(fn(key, step), m.insert(key, step, right))
            elif op < 0.6:
                if key in m.keys:
                    i = m.keys.index(key)
                    self.assertEqual(ix.remove(key), m.payloads[i])
                    del m.keys[i], m.payloads[i]
                else:
                    with self.assertRaises(KeyError):
                        ix.remove(key)
            elif op < 0.65 and m.keys:
                pos = self.rng.randrange(len(m.keys))
                self.assertEqual(ix.pop(pos), (m.keys[pos], m.payloads[pos]))
                del m.keys[pos], m.payloads[pos]
            else:
                lb = std.bisect_left(m.keys, key)
                ub = std.bisect_right(m.keys, key)
                self.assertEqual(ix.lower_bound(key), lb)
                self.assertEqual(ix.upper_bound(key), ub)
                self.assertEqual(ix.rank(key), lb)
                self.assertEqual(ix.find(key), (lb, m.payloads[lb]) if lb < ub else None)
                self.assertEqual(key in ix, lb < ub)
                self.assertEqual(ix.floor(key), (ub - 1, m.keys[ub - 1], m.payloads[ub - 1])
                                 if ub > 0 else None)
                self.assertEqual(ix.ceiling(key), (lb, m.keys[lb], m.payloads[lb])
                                 if lb < len(m.keys) else None)
                if m.keys:
                    w = lb if lb < len(m.keys) else 0
                    self.assertEqual(ix.ceiling_wrap(key), (w, m.keys[w], m.payloads[w]))
                else:
                    self.assertIsNone(ix.ceiling_wrap(key))
                hi = key + self.rng.randrange(0, 20)
                self.assertEqual(ix.count_range(key, hi),
                                 std.bisect_left(m.keys, hi) - lb)
        self.assert_same(ix, m)
        self.assertEqual(ix[0], m.keys[0])
        self.assertEqual(ix[-1], m.keys[-1])
        self.assertEqual(ix[2:9:3], m.keys[2:9:3])
        with self.assertRaises(IndexError):
            ix[len(m.keys)]
        n_removed = m.keys.count(m.keys[0])
        self.assertEqual(ix.remove_all(m.keys[0]), n_removed)
        self.assertEqual(ix.remove_all(1 << 40), 0)
        ix.clear()
        self.assertEqual(len(ix), 0)
        self.assertFalse(ix)
        ix.close()

    def test_index_build_is_a_stable_argsort(self):
        keys = [self.rng.randrange(0, 1 << 64) for _ in range(500)] + [5, 5, 5]
        ix = openfault.Index(keys)
        want = sorted(range(len(keys)), key=lambda i: keys[i])  # sorted() is stable
        self.assertEqual([p for _k, p in ix.items()], want)
        # array.array('Q') inputs are read in place; payloads given explicitly
        ix.build(array.array("Q", [3, 1, 2]), [30, 10, 20])
        self.assertEqual(list(ix.items()), [(1, 10), (2, 20), (3, 30)])
        self.assertEqual(list(ix.items(2, 3)), [(2, 20)])
        with self.assertRaises(ValueError):
            ix.build([1, 2], [1])
        self.assertEqual(list(ix.items()), [(1, 10), (2, 20), (3, 30)])  # unchanged

    def test_index_rejects_keys_outside_uint64(self):
        ix = openfault.Index([1, 2])
        for bad in (-1, 1 << 64):
            with self.assertRaises(OverflowError):
                ix.insert_left(bad)
            with self.assertRaises(OverflowError):
                openfault.Index([bad])
        with self.assertRaises(TypeError):
            ix.lower_bound("1")
        self.assertNotIn(-1, ix)
        self.assertEqual(list(ix), [1, 2])

    def test_frozen_index_answers_as_the_index(self):
        keys = [self.rng.randrange(0, 5000) for _ in range(3000)]
        ix = openfault.Index(keys)
        fz = ix.freeze()
        self.assertEqual(len(fz), len(ix))
        probes = [self.rng.randrange(0, 5100) for _ in range(300)]
        for k in probes:
            self.assertEqual(fz.lower_bound(k), ix.lower_bound(k))
            self.assertEqual(fz.upper_bound(k), ix.upper_bound(k))
            self.assertEqual(fz.find(k), ix.find(k))
            self.assertEqual(fz.floor(k), ix.floor(k))
            self.assertEqual(fz.ceiling_wrap(k), ix.ceiling_wrap(k))
        self.assertEqual(fz.lower_bound_batch(probes), [ix.lower_bound(k) for k in probes])
        self.assertEqual(ix.lower_bound_batch(array.array("Q", probes)),
                         [ix.lower_bound(k) for k in probes])
        ix.insert_left(1)  # the frozen copy shares nothing with the index
        self.assertEqual(len(fz), len(keys))
        self.assertEqual(list(fz), sorted(keys))
        with self.assertRaises(TypeError):
            openfault.FrozenIndex()
        fz.close()
        with self.assertRaises(ValueError):
            len(fz)


if __name__ == "__main__":
    unittest.main()
