"""openfault.EtcdProvider on a private one-member etcd (loopback, free ports, temp dir).

Registered by meson in every build (suites 'ffi' and 'etcd'); run as a script, it exits 77
(meson's "skipped") when the library was built without the etcd provider or no etcd binary is
found ($ETCD_SERVER, else `etcd` on PATH). The member is started as
tests/lock-etcd/etcd-harness.c starts one, and stopped by its PID.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import openfault

PREFIX = "pylocks/"


def free_port():
    # Not 2379/2380: a system etcd may be about to take them.
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in (2379, 2380):
            return port


def etcd_binary():
    return os.environ.get("ETCD_SERVER") or shutil.which("etcd")


class EtcdServer:
    """A throw-away one-member etcd; stopped by its PID."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="of-pyetcd-")
        self.log = open(os.path.join(self.dir, "etcd.log"), "ab")
        self.proc = None
        self.token = None
        for _attempt in range(3):  # a free port can be taken between the probe and etcd's bind
            self.port, peer = free_port(), free_port()
            client, peer_url = "http://127.0.0.1:%d" % self.port, "http://127.0.0.1:%d" % peer
            self.proc = subprocess.Popen(
                [etcd_binary(), "--name", "py", "--data-dir",
                 os.path.join(self.dir, "data-%d" % _attempt),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                 "--initial-cluster", "py=" + peer_url, "--initial-cluster-state", "new",
                 "--heartbeat-interval", "50", "--election-timeout", "500",
                 "--unsafe-no-fsync"],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
            if self._wait_writable(20):
                self.url = "etcd://127.0.0.1:%d/%s" % (self.port, PREFIX)
                return
            self._kill()
        self.stop()
        raise RuntimeError("etcd did not start (see %s)" % self.dir)

    def _wait_writable(self, seconds):
        # A put goes through raft: it needs a leader.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.post("/v3/kv/put", {"key": b64("__harness__"), "value": b64("x")}, 1)
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def post(self, path, body, timeout=5):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path),
                                     data=json.dumps(body).encode(), method="POST")
        if self.token:
            req.add_header("Authorization", self.token)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def key(self, name):
        """The key's value (bytes) and lease ID (str), or (None, None): docs/etcd.md."""
        kvs = self.post("/v3/kv/range", {"key": b64(PREFIX + name)}).get("kvs") or []
        if not kvs:
            return None, None
        return base64.b64decode(kvs[0].get("value", "")), kvs[0].get("lease")

    def lapse(self, name):
        """End the lock's lease behind the provider's back (as an expiry would)."""
        _value, lease = self.key(name)
        assert lease is not None, "no lease on %r" % name
        self.post("/v3/lease/revoke", {"ID": lease})

    def enable_auth(self, password):
        self.post("/v3/auth/user/add", {"name": "root", "password": password})
        self.post("/v3/auth/user/grant", {"user": "root", "role": "root"})
        self.post("/v3/auth/enable", {})
        self.token = self.post("/v3/auth/authenticate",
                               {"name": "root", "password": password})["token"]

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self):
        self._kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtcdLockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = EtcdServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.p = openfault.EtcdProvider(self.server.url)
        self.q = openfault.EtcdProvider(self.server.url)

    def tearDown(self):
        self.p.close()
        self.q.close()

    def test_etcd_properties(self):
        self.assertTrue(openfault.etcd_available())
        self.assertEqual(self.p.name, "etcd")
        self.assertTrue(self.p.caps & openfault.CAP_WAIT)

    def test_etcd_acquire_release_busy_and_fences_increase(self):
        fences = []
        for i in range(6):
            prov, other = (self.p, self.q) if i % 2 else (self.q, self.p)
            with prov.lock("job", ttl=5, wait=0) as lk:
                self.assertEqual(self.server.key("job")[0], lk.token.encode())
                fences.append(lk.fence)
                with self.assertRaises(openfault.BusyError):
                    other.acquire("job", wait=0)
                self.assertFalse(other.lock("job", blocking=False).acquire())
            self.assertEqual(self.server.key("job"), (None, None))  # released: key deleted
        self.assertTrue(all(a < b for a, b in zip(fences, fences[1:])), fences)

    def test_etcd_timeout_and_wait_woken_by_release(self):
        held = self.p.acquire("t", ttl=30)
        start = time.monotonic()
        with self.assertRaises(openfault.TimeoutError):
            self.q.acquire("t", wait=0.3)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.3)  # not before its deadline
        self.assertLess(elapsed, 15)           # and no hang
        first = held.fence
        releaser = threading.Timer(0.2, held.release)
        releaser.start()
        try:
            lk = self.q.acquire("t", ttl=5, wait=20)  # the watch sees the deletion
        finally:
            releaser.join(10)
        self.assertGreater(lk.fence, first)
        lk.release()

    def test_etcd_extend(self):
        lk = self.p.acquire("ext", ttl=2)
        before = lk.valid_until
        self.assertTrue(lk.extend(ttl=20))  # another whole-second TTL: a new lease
        self.assertGreater(lk.valid_until, before)
        value, lease = self.server.key("ext")
        self.assertEqual(value, lk.token.encode())
        ttl = self.server.post("/v3/lease/timetolive", {"ID": lease})
        self.assertGreater(int(ttl["TTL"]), 2)
        self.assertTrue(lk.extend(5, replace_ttl=True))
        self.assertTrue(lk.owned())
        with self.assertRaises(openfault.BusyError):
            self.q.acquire("ext", wait=0)
        lk.release()

    def test_etcd_lost_when_the_lease_ends(self):
        lk = self.p.acquire("lost", ttl=10)
        self.server.lapse("lost")  # the key goes with its lease
        with self.assertRaises(openfault.LockNotOwnedError):
            lk.extend(10)
        self.assertTrue(lk.lost)
        self.assertFalse(lk.owned())
        other = self.q.acquire("lost", ttl=5, wait=0)
        self.assertGreater(other.fence, 0)
        with self.assertRaises(openfault.LockNotOwnedError):
            lk.release()
        self.assertFalse(lk.acquired)
        other.release()

    def test_etcd_auto_renew_reports_loss(self):
        lost = threading.Event()
        seen = []

        def on_lost(lock, err):
            seen.append(type(err).__name__ if err is not None else None)
            lost.set()
        lk = self.p.acquire("renew", ttl=2, auto_renew=True, on_lost=on_lost)
        self.server.lapse("renew")
        self.assertTrue(lost.wait(20), "the renewal never noticed the lost lease")
        self.assertTrue(lk.lost)
        self.assertTrue(seen and seen[0] in ("NotOwnerError", "LostError"), seen)
        with self.assertRaises(openfault.LockNotOwnedError):
            lk.release()

    def test_etcd_unavailable_and_no_hang(self):
        with openfault.EtcdProvider("etcd://127.0.0.1:%d/?connect_timeout_ms=200"
                                    % free_port()) as dead:
            with self.assertRaises(openfault.UnavailableError):
                dead.acquire("x", wait=0)
            start = time.monotonic()
            with self.assertRaises((openfault.UnavailableError, openfault.TimeoutError)):
                dead.acquire("x", wait=0.3)
            self.assertGreaterEqual(time.monotonic() - start, 0.3)
            self.assertLess(time.monotonic() - start, 15)

    def test_etcd_second_endpoint_used_when_first_is_down(self):
        url = "etcd://127.0.0.1:%d,127.0.0.1:%d/%s" % (free_port(), self.server.port, PREFIX)
        with openfault.EtcdProvider(url) as p:
            with p.lock("two", ttl=5, wait=0) as lk:
                self.assertEqual(self.server.key("two")[0], lk.token.encode())


class EtcdAuthTest(unittest.TestCase):
    """A wrong password is AuthError, and no text the binding shows holds it."""

    PASSWORD = "py-root-pw-marker"

    @classmethod
    def setUpClass(cls):
        cls.server = EtcdServer()
        cls.server.enable_auth(cls.PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_etcd_auth_right_and_wrong_password(self):
        good = "etcd://root:%s@127.0.0.1:%d/%s" % (self.PASSWORD, self.server.port, PREFIX)
        with openfault.EtcdProvider(good) as p:
            with p.lock("auth", ttl=5, wait=0) as lk:
                self.assertGreater(lk.fence, 0)
        wrong = "etcd://root:wrong-%s@127.0.0.1:%d/%s" % (self.PASSWORD, self.server.port,
                                                          PREFIX)
        lines = []
        with openfault.EtcdProvider(wrong, log=lambda lv, m: lines.append(m),
                                    log_level="debug") as p:
            with self.assertRaises(openfault.AuthError) as cm:
                p.acquire("auth", wait=0)
            self.assertNotIn(self.PASSWORD, repr(p))
        for text in [str(cm.exception), repr(cm.exception), cm.exception.detail] + lines:
            self.assertNotIn(self.PASSWORD, text)


def main():
    if not openfault.etcd_available():
        print("SKIP: libopenfault was built without the etcd provider (libcurl and jansson)")
        return 77
    if not etcd_binary():
        print("SKIP: no etcd binary ($ETCD_SERVER unset and no etcd on PATH)")
        return 77
    prog = unittest.main(module=__name__, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
