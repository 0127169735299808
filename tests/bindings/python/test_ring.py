"""openfault.Ring against a Python model of the native placement rule (docs/ring.md):
point i of node `id` = XXH3_64bits_withSeed(id || le32(i), seed) for i < weight * vnodes, key
hash = XXH3_64bits_withSeed(key, seed), owner = first point >= hash (wrapping), equal points
ordered by memcmp of ids, shorter first."""
import bisect as std
import random
import struct
import threading
import unittest

import openfault


def _libmemcached():
    """Debian's libmemcached through ctypes, or None: the reference for the ketama modes."""
    import ctypes
    try:
        lm = ctypes.CDLL("libmemcached.so.11")
    except OSError:
        return None
    vp = ctypes.c_void_p
    for name, res, args in (
            ("memcached_create", vp, [vp]), ("memcached_free", None, [vp]),
            ("memcached_behavior_set", ctypes.c_int, [vp, ctypes.c_int, ctypes.c_uint64]),
            ("memcached_server_add_with_weight", ctypes.c_int,
             [vp, ctypes.c_char_p, ctypes.c_ushort, ctypes.c_uint32]),
            ("memcached_generate_hash", ctypes.c_uint32, [vp, ctypes.c_char_p, ctypes.c_size_t])):
        fn = getattr(lm, name)
        fn.restype, fn.argtypes = res, args
    return lm


def as_bytes(v):
    return v.encode() if isinstance(v, str) else bytes(v)


class ModelRing:
    def __init__(self, vnodes, seed):
        self.vnodes, self.seed = vnodes, seed
        self.nodes = {}  # id bytes -> (node as added, weight)
        self.pins = {}   # key hash -> id bytes

    def points(self):
        pts = []
        for nid, (_node, w) in self.nodes.items():
            for i in range(w * self.vnodes):
                pts.append((openfault.hash64(nid + struct.pack("<I", i), self.seed), nid))
        # ties: memcmp of ids, shorter first == Python's bytes ordering
        pts.sort()
        return pts

    def walk(self, h):
        pts = self.points()
        hashes = [p for p, _ in pts]
        i = std.bisect_left(hashes, h)
        for j in range(len(pts)):
            yield pts[(i + j) % len(pts)][1]

    def get(self, key):
        h = openfault.hash64(key, self.seed)
        if h in self.pins:
            return self.nodes[self.pins[h]][0]
        return self.nodes[next(self.walk(h))][0]

    def get_n(self, key, n):
        h = openfault.hash64(key, self.seed)
        out = []
        if h in self.pins:
            out.append(self.pins[h])
        for nid in self.walk(h):
            if nid not in out:
                out.append(nid)
            if len(out) == n:
                break
        return [self.nodes[nid][0] for nid in out]


class RingTest(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(42)

    def test_ring_lookups_match_the_placement_rule(self):
        for seed in (0, 0x9E3779B97F4A7C15):
            ring = openfault.Ring(vnodes=8, seed=seed)
            model = ModelRing(8, seed)
            nodes = ["node-a", b"node-b", "n\u00e9-c", b"d\x00e", "x", "xy"]
            for i, node in enumerate(nodes):
                w = 1 + i % 3
                ring.add_node(node, weight=w)
                model.nodes[as_bytes(node)] = (node, w)
            keys = ["data%d" % i for i in range(300)] + [b"", b"\x00\xff", "\u2603"]
            for key in keys:
                got = ring.get(key)
                self.assertEqual(got, model.get(key))
                self.assertIs(type(got), type(model.get(key)))  # str stays str, bytes bytes
                self.assertEqual(ring.get_hash(openfault.hash64(key, seed)), got)
                self.assertEqual(ring.get_n(key, 3), model.get_n(key, 3))
            self.assertEqual(ring.get_n("k", len(nodes))[:2], ring.get_n("k", 2))  # prefix-stable

    def test_ring_add_remove_moves_only_affected_keys(self):
        ring = openfault.Ring(["n%d" % i for i in range(10)], vnodes=64)
        keys = ["key-%d" % i for i in range(3000)]
        before = {k: ring.get(k) for k in keys}
        gen = ring.generation
        ring.add_node("n10")
        self.assertEqual(ring.generation, gen + 1)
        after = {k: ring.get(k) for k in keys}
        moved = [k for k in keys if before[k] != after[k]]
        self.assertTrue(all(after[k] == "n10" for k in moved))
        self.assertGreater(len(moved), 0)
        self.assertLess(len(moved), len(keys) * 0.2)
        ring.remove_node("n10")
        self.assertEqual({k: ring.get(k) for k in keys}, before)

    def test_ring_pin_and_unpin(self):
        ring = openfault.Ring(["a", "b", "c"], vnodes=16)
        key = "data1"
        natural = ring.get(key)
        target = next(n for n in ("a", "b", "c") if n != natural)
        fp = ring.fingerprint
        ring.pin(key, target)
        self.assertEqual(ring.get(key), target)
        self.assertEqual(ring.get_hash(openfault.hash64(key)), target)
        self.assertEqual(ring.get_n(key, 2)[0], target)
        self.assertNotEqual(ring.fingerprint, fp)
        with self.assertRaises(openfault.ExistsError):
            ring.pin(key, natural)
        with self.assertRaises(openfault.NotFoundError):
            ring.pin("other", "zzz")
        ring.unpin(key)
        self.assertEqual(ring.get(key), natural)
        self.assertEqual(ring.fingerprint, fp)
        with self.assertRaises(openfault.NotFoundError):
            ring.unpin(key)
        ring.pin(key, target)
        ring.remove_node(target)  # drops its pins
        self.assertNotEqual(ring.get(key), target)

    def test_ring_errors_and_inspection(self):
        ring = openfault.Ring(vnodes=32)
        with self.assertRaises(openfault.EmptyError):
            ring.get("k")
        ring.add_node("a")
        ring.add_node(b"b", weight=3)
        with self.assertRaises(openfault.ExistsError):
            ring.add_node(b"a")  # str and bytes are the same id
        with self.assertRaises(openfault.NotFoundError):
            ring.remove_node("zz")
        with self.assertRaises(openfault.InvalidError):
            ring.add_node("")
        with self.assertRaises(ValueError):
            ring.add_node("w0", weight=0)
        with self.assertRaises(TypeError):
            ring.add_node(3)
        self.assertEqual(len(ring), 2)
        self.assertIn("a", ring)
        self.assertIn(b"b", ring)
        self.assertNotIn("c", ring)
        self.assertEqual(ring.nodes(), [("a", 1), (b"b", 3)])  # id order
        share_a, share_b = ring.ownership("a"), ring.ownership("b")
        self.assertAlmostEqual(share_a + share_b, 1.0, places=9)
        ring.set_weight("a", 3)
        self.assertEqual(dict(ring.nodes())["a"], 3)
        self.assertGreater(ring.memory_usage(), 0)
        other = openfault.Ring([b"b"], vnodes=32)
        other.set_weight(b"b", 3)
        other.add_node("a", weight=3)  # other insertion order, same membership
        self.assertEqual(other.fingerprint, ring.fingerprint)

    def test_ring_bounded_load(self):
        ring = openfault.Ring(["a", "b", "c", "d"], vnodes=32)
        key = "hot"
        pref = ring.get_n(key, 4)
        loads = {n: 0 for n in pref}
        self.assertEqual(ring.get_bounded(key, loads), pref[0])
        # total 12, capacity ceil(1.25 * 13 / 4) = 5: a first node at 5 is full
        loads = {pref[0]: 5, pref[1]: 5, pref[2]: 1, pref[3]: 1}
        self.assertEqual(ring.get_bounded(key, loads, c=1.25), pref[2])
        seen = []
        self.assertEqual(ring.get_bounded(key, lambda n: seen.append(n) or 0, total=0), pref[0])
        self.assertEqual(seen, [pref[0]])

        def boom(_node):
            raise RuntimeError("load source down")
        with self.assertRaises(RuntimeError):
            ring.get_bounded(key, boom, total=1)

    def test_ring_view_diff(self):
        ring = openfault.Ring(["a", "b", "c"], vnodes=16)
        old = ring.view()
        ring.add_node("d")
        new = ring.view()
        self.assertEqual(new.generation, old.generation + 1)
        ranges = old.diff(new)
        self.assertTrue(ranges)
        for first, last, before, after in ranges:
            self.assertLessEqual(first, last)
            self.assertEqual(after, "d")
            self.assertIn(before, ("a", "b", "c"))
            self.assertEqual(ring.get_hash(first), "d")
            self.assertEqual(ring.get_hash(last), "d")
        ring.remove_node("a")
        ranges = new.diff(ring.view())
        self.assertTrue(all(before == "a" for _f, _l, before, _a in ranges))
        self.assertEqual(old.diff(old), [])

    def test_ring_get_many_and_view_lookups_equal_get(self):
        rnd = random.Random(5)
        for ring in (openfault.Ring(["n%d" % i for i in range(20)], vnodes=64),
                     openfault.Ring([b"x", b"y"], vnodes=16),
                     openfault.Ring(["10.0.0.%d" % i for i in range(1, 9)], ketama=True)):
            keys = ["k%d" % rnd.getrandbits(32) for _ in range(200)] + [b"", "", b"\x00\xff"]
            want = [ring.get(k) for k in keys]
            self.assertEqual(ring.get_many(keys), want)
            self.assertEqual(ring.get_many(iter(keys)), want)
            self.assertEqual(ring.get_many([]), [])
            view = ring.view()
            self.assertEqual([view.get(k) for k in keys], want)
            self.assertEqual(view.get_many(keys), want)
            # the view keeps its version after a change
            first = ring.nodes()[0][0]
            ring.remove_node(first)
            self.assertEqual(view.get_many(keys), want)
            self.assertNotIn(first, ring.get_many(keys))
            view.release()
            with self.assertRaises(openfault.InvalidError):
                view.get("k")
        empty = openfault.Ring()
        with self.assertRaises(openfault.EmptyError):
            empty.get_many(["a"])
        with self.assertRaises(openfault.EmptyError):
            empty.get_many([])
        with self.assertRaises(openfault.EmptyError):
            empty.view().get_many(["a"])
        with self.assertRaises(openfault.EmptyError):
            empty.view().get("a")
        with self.assertRaises((TypeError, openfault.InvalidError)):
            openfault.Ring(["a"]).get_many([1])

    def test_ring_ketama_mode(self):
        ring = openfault.Ring(["10.0.0.1:11211", "10.0.0.2"], ketama=True)
        self.assertIn(ring.get("foo"), ("10.0.0.1:11211", "10.0.0.2"))
        self.assertIn("10.0.0.2:11211", ring)  # ketama ids compare as host and port
        with self.assertRaises(openfault.NotSupportedError):
            ring.pin("foo", "10.0.0.2")
        ring.remove_node("10.0.0.2:11211")
        self.assertEqual(ring.get("foo"), "10.0.0.1:11211")

    def test_ring_ketama_variants(self):
        servers = ["10.0.0.%d:%d" % (i, 11211 + i % 2) for i in range(1, 9)]
        w = openfault.Ring(servers, ketama=True)
        w2 = openfault.Ring(servers, ketama="weighted")
        u = openfault.Ring(servers, ketama="unweighted")
        uw = openfault.Ring(ketama="unweighted")
        for i, sv in enumerate(servers):
            uw.add_node(sv, weight=i % 4)   # weights are kept but do not place
        keys = ["key:%d" % i for i in range(2000)]
        self.assertEqual([w.get(k) for k in keys], [w2.get(k) for k in keys])
        self.assertEqual([u.get(k) for k in keys], [uw.get(k) for k in keys])
        moved = sum(w.get(k) != u.get(k) for k in keys)
        self.assertGreater(moved, 1000)
        self.assertEqual((w.ketama_variant, u.ketama_variant), ("weighted", "unweighted"))
        self.assertTrue(u.ketama)
        self.assertEqual(dict(uw.nodes())["10.0.0.3:11212"], 2)
        self.assertIn("unweighted ketama", repr(u))
        with self.assertRaises(openfault.NotSupportedError):
            u.pin("k", servers[0])
        with self.assertRaises(openfault.InvalidError):
            u.view().diff(w.view())   # different key hashes: nothing to compare
        for bad in ("Unweighted", "", "md5"):
            with self.assertRaises(openfault.InvalidError):
                openfault.Ring(ketama=bad)
        self.assertFalse(openfault.Ring(["a"], ketama=False).ketama)

    @unittest.skipUnless(_libmemcached(), "libmemcached.so.11 not installed")
    def test_ring_ketama_against_libmemcached(self):
        # The binding's rings against Debian's libmemcached itself (through ctypes): every key
        # to the same server index, weighted and unweighted, with weights, ports and IPv6.
        lm = _libmemcached()
        servers = [("10.0.0.1", 11211, 1), ("cache.example", 11300, 3), ("::1", 11211, 2),
                   ("2001:db8::7", 11212, 0), ("h\u00e9", 11211, 5)]
        rnd = random.Random(15)
        keys = [bytes(rnd.randrange(1, 256) for _ in range(rnd.randrange(1, 40)))
                for _ in range(3000)]
        # MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED = 16, MEMCACHED_BEHAVIOR_KETAMA = 3 (behavior.h)
        for variant, behavior in (("weighted", 16), ("unweighted", 3)):
            mc = lm.memcached_create(None)
            if variant == "weighted":
                self.assertEqual(lm.memcached_behavior_set(mc, behavior, 1), 0)
            for host, port, weight in servers:
                self.assertEqual(lm.memcached_server_add_with_weight(
                    mc, host.encode(), port, weight), 0)
            if variant == "unweighted":  # after the servers, or weight > 1 turns weighting on
                self.assertEqual(lm.memcached_behavior_set(mc, behavior, 1), 0)
            ring = openfault.Ring(ketama=variant)
            ids = []
            for host, port, weight in servers:
                ids.append(("[%s]:%d" if ":" in host else "%s:%d") % (host, port))
                ring.add_node(ids[-1], weight=weight)
            want = [lm.memcached_generate_hash(mc, k, len(k)) for k in keys]
            self.assertEqual([ids.index(ring.get(k)) for k in keys], want, variant)
            lm.memcached_free(mc)

    def test_ring_lookups_while_another_thread_changes_membership(self):
        ring = openfault.Ring(["s%d" % i for i in range(5)], vnodes=32)
        stop, errors = threading.Event(), []

        def writer():
            i = 0
            while not stop.is_set():
                ring.add_node("tmp%d" % i)
                ring.remove_node("tmp%d" % i)
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            for i in range(3000):
                node = ring.get("k%d" % i)
                if not (node.startswith("s") or node.startswith("tmp")):
                    errors.append(node)
        finally:
            stop.set()
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
