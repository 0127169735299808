"""openfault.RedisProvider on a private redis-server (loopback, free port, temp dir).

Run by meson (suite 'redis'/'ffi') only when redis-server was found and the library has the
Redis providers: $REDIS_SERVER names the binary, and its absence is a failure, not a skip.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import openfault


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A throw-away redis-server; stopped by its PID."""

    def __init__(self):
        binary = os.environ.get("REDIS_SERVER")
        if not binary:
            raise RuntimeError("REDIS_SERVER is not set (meson sets it when redis-server exists)")
        self.dir = tempfile.TemporaryDirectory(prefix="of-pyredis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir.name, "--daemonize", "no",
             "--logfile", os.path.join(self.dir.name, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start on port %d" % self.port)
            time.sleep(0.02)
        self.url = "redis://127.0.0.1:%d/0" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.dir.cleanup()


CHILD = r"""
import sys, openfault
p = openfault.RedisProvider(sys.argv[1])
with p.lock(sys.argv[2], ttl=10, wait=20) as lk:
    print(lk.fence)
p.close()
"""


class RedisLockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RedisServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.p = openfault.RedisProvider(self.server.url)
        self.q = openfault.RedisProvider(self.server.url)

    def tearDown(self):
        self.p.close()
        self.q.close()

    def test_redis_provider_properties(self):
        self.assertTrue(openfault.redis_available())
        self.assertEqual(self.p.name, "redis")
        self.assertTrue(self.p.caps & openfault.CAP_SHARED)
        self.assertTrue(self.p.caps & openfault.CAP_FENCE)

    def test_redis_busy_across_providers_and_fences_increase(self):
        fences = []
        for i in range(6):
            prov = self.p if i % 2 else self.q
            with prov.lock("py-job", ttl=5, wait=0) as lk:
                fences.append(lk.fence)
                other = self.q if prov is self.p else self.p
                with self.assertRaises(openfault.BusyError):
                    other.acquire("py-job", wait=0)
        self.assertTrue(all(a < b for a, b in zip(fences, fences[1:])), fences)

    def test_redis_lock_shared_with_another_process(self):
        held = self.p.acquire("py-proc", ttl=30)
        env = dict(os.environ)
        child = subprocess.Popen([sys.executable, "-c", CHILD, self.server.url, "py-proc"],
                                 stdout=subprocess.PIPE, env=env)
        time.sleep(0.3)
        self.assertIsNone(child.poll())  # it waits for us
        first = held.fence
        held.release()
        out, _ = child.communicate(timeout=30)
        self.assertEqual(child.returncode, 0)
        self.assertGreater(int(out), first)

    def test_redis_timeout_and_not_owner(self):
        held = self.p.acquire("py-t", ttl=30)
        start = time.monotonic()
        with self.assertRaises(openfault.TimeoutError):
            self.q.acquire("py-t", wait=0.3)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertLessEqual(elapsed, 1.3)
        held.release()
        old = self.p.acquire("py-exp", ttl=0.1)
        time.sleep(0.25)
        new = self.q.acquire("py-exp", ttl=10, wait=0)
        self.assertGreater(new.fence, old.fence)
        with self.assertRaises(openfault.NotOwnerError):
            old.release()
        with self.assertRaises(openfault.BusyError):
            self.p.acquire("py-exp", wait=0)  # the new owner's lease survived
        new.extend(20)
        new.release()

    def test_redis_unavailable_and_bad_url(self):
        dead = openfault.RedisProvider("redis://127.0.0.1:%d" % free_port())
        try:
            with self.assertRaises(openfault.UnavailableError):
                dead.acquire("x", wait=0)
        finally:
            dead.close()
        with self.assertRaises(openfault.InvalidError) as cm:
            openfault.RedisProvider("http://nope")
        self.assertNotEqual(cm.exception.detail, "")


if __name__ == "__main__":
    unittest.main()
