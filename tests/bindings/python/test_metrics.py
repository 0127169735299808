"""Ring.metrics(), Ring.stats() and LockProvider.metrics(): the library's exposition through
the binding (text as written, JSON parsed by the caller), figures that move, bad arguments."""
import json
import unittest

import openfault


def samples(text):
    """{metric name with labels: value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


class RingMetricsTest(unittest.TestCase):
    def test_prometheus_and_json_agree_and_move(self):
        r = openfault.Ring(["a", "b", "c"], vnodes=64)
        text = r.metrics(labels={"service": "x"})
        self.assertIsInstance(text, str)
        got = samples(text)
        self.assertEqual(got['openfault_ring_nodes{service="x"}'], 3)
        self.assertEqual(got['openfault_ring_points{service="x"}'], 192)
        self.assertEqual(
            got['openfault_ring_membership_changes_total{service="x",change="add"}'], 3)
        r.add_node("d", weight=2)
        r.remove_node("a")
        r.set_weight("b", 3)
        doc = json.loads(r.metrics("json", prefix="app_"))
        fams = {f["name"]: f for f in doc["metrics"]}
        self.assertEqual(fams["app_ring_nodes"]["samples"][0]["value"], 3)
        changes = {s["labels"]["change"]: s["value"]
                   for s in fams["app_ring_membership_changes_total"]["samples"]}
        self.assertEqual(changes, {"add": 4, "remove": 1, "weight": 1})
        st = r.stats()
        self.assertEqual(st["nodes"], 3)
        self.assertEqual(st["generation"], r.generation)
        self.assertEqual(st["fingerprint"], r.fingerprint)
        self.assertEqual(st["algorithm"], "native")
        # summed from the compact layout's kept bits: within 2^-29 of the exact ownership
        self.assertAlmostEqual(st["busiest_share"], max(r.ownership(n) for n in ("b", "c", "d")),
                               delta=2.0 ** -29)
        self.assertEqual(fams["app_ring_last_change_moved_share"]["samples"][0]["value"],
                         st["last_moved_share"])
        self.assertTrue(0 < st["last_moved_share"] < 1)

    def test_ketama(self):
        r = openfault.Ring(["10.0.0.1:11211", "10.0.0.2"], ketama=True)
        self.assertIn('algorithm="ketama"', r.metrics())
        self.assertEqual(r.stats()["algorithm"], "ketama")
        u = openfault.Ring(["10.0.0.1:11211", "10.0.0.2"], ketama="unweighted")
        self.assertIn('algorithm="ketama_unweighted"', u.metrics())
        self.assertEqual(u.stats()["algorithm"], "ketama_unweighted")

    def test_bad_arguments(self):
        r = openfault.Ring(["a"])
        with self.assertRaises(openfault.InvalidError):
            r.metrics("xml")
        with self.assertRaises(openfault.InvalidError):
            r.metrics(prefix="9bad")
        with self.assertRaises(openfault.InvalidError):
            r.metrics(labels={"change": "x"})
        with self.assertRaises(openfault.InvalidError):
            r.metrics(labels={"service": 1})
        with self.assertRaises(openfault.InvalidError):
            r.metrics(labels=[("service", "x")])
        r.close()
        with self.assertRaises(openfault.InvalidError):
            r.metrics()


class LockMetricsTest(unittest.TestCase):
    def test_local_provider(self):
        with openfault.LocalProvider() as p:
            with p.lock("job", ttl=10):
                text = p.metrics(labels={"service": "x"})
                got = samples(text)
                self.assertEqual(got['openfault_lock_held{provider="local",service="x"}'], 1)
            doc = json.loads(p.metrics(format="json"))
            fams = {f["name"]: f for f in doc["metrics"]}
            self.assertEqual(fams["openfault_lock_acquisitions_total"]["samples"][0]["value"], 1)
            self.assertEqual(fams["openfault_lock_held"]["samples"][0]["value"], 0)
            with self.assertRaises(openfault.InvalidError):
                p.metrics(labels={"provider": "x"})
            with self.assertRaises(openfault.InvalidError):
                p.metrics(format=1)


if __name__ == "__main__":
    unittest.main()
