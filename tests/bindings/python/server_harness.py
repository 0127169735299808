"""Private servers for the binding tests: redis-server and etcd on 127.0.0.1, free ports, their
own temp dirs, stopped by PID (as tests/lock-redis/redis-harness.c and
tests/lock-etcd/etcd-harness.c start them for the C tests), and a minimal RESP client to look
at what a provider stored. Used by redis_lock_test, redlock_lock_test and etcd_lock_test.

redis-server is $REDIS_SERVER (meson sets it when it found one); etcd is $ETCD_SERVER, else
`etcd` on PATH.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request


def free_port():
    """A port the kernel just handed out for 127.0.0.1; never 2379/2380 (a system etcd may be
    about to take them) nor 6379 (a system redis-server's)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in (2379, 2380, 6379):
            return port


def _stop(proc):
    """SIGTERM, SIGKILL if it is still there 10 s later; reaped."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        _stop(self.proc)
        self.dir.cleanup()


def start_redis_servers(n=3):
    """@p n RedisServers; if one fails to start, the ones started are stopped."""
    servers = []
    try:
        for _ in range(n):
            servers.append(RedisServer())
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


class Resp:
    """A minimal RESP client for the checks redis-py's tests make with their own connection
    (GET, SET, PTTL, PEXPIRE, DEL on the provider's keys, docs/redis.md)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis-server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        raise RuntimeError("unexpected reply %r" % line)

    def __call__(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()


def lock_key(name):
    """The Redis provider's key for @p name without a prefix (docs/redis.md, "What is stored")."""
    e = name.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return "{%s}:lock" % e


def etcd_binary():
    return os.environ.get("ETCD_SERVER") or shutil.which("etcd")


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtcdServer:
    """A throw-away one-member etcd; stopped by its PID. @p prefix: the key prefix of
    self.url, under which key() and lapse() look."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.dir = tempfile.mkdtemp(prefix="of-pyetcd-")
        self.log = open(os.path.join(self.dir, "etcd.log"), "ab")
        self.proc = None
        self.token = None
        for attempt in range(3):  # a free port can be taken between the probe and etcd's bind
            self.port, peer = free_port(), free_port()
            client, peer_url = "http://127.0.0.1:%d" % self.port, "http://127.0.0.1:%d" % peer
            self.proc = subprocess.Popen(
                [etcd_binary(), "--name", "py", "--data-dir",
                 os.path.join(self.dir, "data-%d" % attempt),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                 "--initial-cluster", "py=" + peer_url, "--initial-cluster-state", "new",
                 "--heartbeat-interval", "50", "--election-timeout", "500",
                 "--unsafe-no-fsync"],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
            if self._wait_writable(20):
                self.url = "etcd://127.0.0.1:%d/%s" % (self.port, prefix)
                return
            _stop(self.proc)
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
        kvs = self.post("/v3/kv/range", {"key": b64(self.prefix + name)}).get("kvs") or []
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

    def stop(self):
        _stop(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_unless_skipped(module, skip_reason):
    """A test script's main(): 77 (meson's "skipped") after printing @p skip_reason when it is
    not None, else the unittest run of @p module: 0 when it passed, 1 when not."""
    if skip_reason is not None:
        print("SKIP: " + skip_reason)
        return 77
    prog = unittest.main(module=module, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1
