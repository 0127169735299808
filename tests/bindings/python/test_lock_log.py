"""The log hook of lock providers: set_log_hook / log= with a function or a logging.Logger,
levels, a raising hook, and a real line for a failed connect (RedisProvider on 127.0.0.1:1)."""
import logging
import threading
import unittest

import openfault


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class LogHookArguments(unittest.TestCase):
    def test_levels_and_types_are_checked(self):
        with openfault.LocalProvider() as p:
            for bad in ("loud", ""):
                with self.assertRaises(openfault.InvalidError):
                    p.set_log_hook(lambda lv, m: None, bad)
            with self.assertRaises(openfault.InvalidTypeError):
                p.set_log_hook(lambda lv, m: None, 2.5)
            with self.assertRaises(openfault.InvalidTypeError):
                p.set_log_hook("not callable")
            for ok in ("error", "WARNING", "info", "debug", logging.DEBUG, logging.CRITICAL):
                p.set_log_hook(lambda lv, m: None, ok)
            p.set_log_hook(None)

    def test_closed_provider_is_refused(self):
        p = openfault.LocalProvider()
        p.close()
        with self.assertRaises(openfault.InvalidError):
            p.set_log_hook(lambda lv, m: None)

    def test_local_provider_is_silent_when_healthy(self):
        lines = []
        with openfault.LocalProvider(log=lambda lv, m: lines.append((lv, m)),
                                     log_level="debug") as p:
            for _ in range(200):
                with p.lock("x", ttl=5):
                    pass
        self.assertEqual([l for l in lines if l[0] >= logging.INFO], [])


@unittest.skipUnless(openfault.redis_available(), "built without hiredis")
class FailedConnect(unittest.TestCase):
    URL = "redis://:marked-password-py@127.0.0.1:1?connect_timeout_ms=500"

    def test_hook_sees_the_address_and_cause(self):
        lines = []
        done = threading.Event()

        def hook(level, message):
            lines.append((level, message, threading.current_thread()))
            done.set()
        with openfault.RedisProvider(self.URL) as p:
            p.set_log_hook(hook, level="debug")
            with self.assertRaises(openfault.UnavailableError):
                p.acquire("job", ttl=5, wait=0)
        warn = [m for lv, m, _t in lines if lv == logging.WARNING and "connect failed" in m]
        self.assertEqual(len(warn), 1, lines)
        self.assertIn("redis 127.0.0.1:1", warn[0])
        self.assertIn("refused", warn[0])
        self.assertFalse(any("marked-password" in m for _lv, m, _t in lines))

    def test_logging_bridge(self):
        logger = logging.getLogger("openfault.test.bridge")
        cap = _Capture()
        logger.addHandler(cap)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            with openfault.RedisProvider(self.URL, log=logger, log_level=logging.DEBUG) as p:
                with self.assertRaises(openfault.UnavailableError):
                    p.acquire("job", ttl=5, wait=0)
            with openfault.RedisProvider(self.URL) as p:
                p.set_log_hook(openfault.log_to("openfault.test.bridge"), "warning")
                with self.assertRaises(openfault.UnavailableError):
                    p.acquire("job", ttl=5, wait=0)
        finally:
            logger.removeHandler(cap)
        got = [(r.levelno, r.getMessage()) for r in cap.records]
        self.assertEqual(len([g for g in got if g[0] == logging.WARNING
                              and "redis 127.0.0.1:1: connect failed" in g[1]]), 2, got)
        self.assertTrue(all(r.name == "openfault.test.bridge" for r in cap.records))

    def test_level_filters_lines(self):
        lines = []
        with openfault.RedisProvider(self.URL, log=lambda lv, m: lines.append(m),
                                     log_level="error") as p:
            with self.assertRaises(openfault.UnavailableError):
                p.acquire("job", ttl=5, wait=0)
        self.assertEqual(lines, [])  # the failed connect is a WARNING

    def test_raising_hook_does_not_crash(self):
        calls = []

        def hook(level, message):
            calls.append(message)
            raise RuntimeError("hook failure")
        with openfault.RedisProvider(self.URL, log=hook, log_level="debug") as p:
            for _ in range(3):
                with self.assertRaises(openfault.UnavailableError):
                    p.acquire("job", ttl=5, wait=0)
            self.assertGreaterEqual(len(calls), 1)
            self.assertEqual(p.log_hook_errors, len(calls))
            # replacing the hook while the provider lives keeps working
            p.set_log_hook(None)
            with self.assertRaises(openfault.UnavailableError):
                p.acquire("job", ttl=5, wait=0)


if __name__ == "__main__":
    unittest.main()
