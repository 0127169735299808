"""Interrupting lock acquisitions at many points: shared by test_lock_signals (LocalProvider)
and redis_lock_test (RedisProvider).

Two interrupt sources, so that KeyboardInterrupt lands both where the main thread runs bytecode
and where it sits in a C call:
- "timer": a one-shot kernel timer (setitimer, SIGALRM) fires at an exact delay whatever the GIL
  is doing; its handler raises KeyboardInterrupt as SIGINT's default handler does;
- "sigint": a thread sends a real SIGINT to the main thread (pthread_kill) after the delay (it
  runs when the main thread lets go of the GIL, typically while it waits in C).
Each source sends at most one interrupt per attempt and the harness knows whether it did, so
after an attempt no interrupt is left pending for the checks that follow.
"""
import signal
import threading
import time


class Interrupter:
    """Installs the handlers (main thread only); use as a context manager."""

    def __init__(self):
        self.handled = 0

    def _handler(self, _signum, _frame):
        self.handled += 1
        raise KeyboardInterrupt

    def __enter__(self):
        self._old = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGALRM)}
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        for s, h in self._old.items():
            signal.signal(s, h)
        return False

    def attempt(self, body, delay, source):
        """Run body() with one interrupt @p delay seconds after its start. Returns True if a
        KeyboardInterrupt escaped body() (or came right after it)."""
        st = {"before": self.handled, "expected": None, "sent": False, "cancelled": False,
              "gate": threading.Lock(), "sender": None, "source": source}
        main = threading.main_thread().ident

        def send():
            time.sleep(delay)
            with st["gate"]:
                if not st["cancelled"]:
                    st["sent"] = True
                    signal.pthread_kill(main, signal.SIGINT)

        interrupted = False
        try:
            try:
                if source == "timer":
                    signal.setitimer(signal.ITIMER_REAL, max(delay, 1e-6))
                else:
                    st["sender"] = threading.Thread(target=send, daemon=True)
                    st["sender"].start()
                body()
            finally:
                self._settle(st)
        except KeyboardInterrupt:
            interrupted = True
        for _ in range(3):  # _settle may itself be where the one interrupt landed
            try:
                self._settle(st)
                break
            except KeyboardInterrupt:
                interrupted = True
        return interrupted

    def _settle(self, st):
        """Cancel the interrupt if it was not sent yet; if it was, wait until its handler ran."""
        if st["expected"] is None:
            if st["source"] == "timer":
                remaining, _ = signal.setitimer(signal.ITIMER_REAL, 0)
                # Still armed (remaining > 0): cancelled before it fired.
                st["expected"] = 1 if remaining == 0 else 0
            else:
                with st["gate"]:
                    st["cancelled"] = True
                    st["expected"] = 1 if st["sent"] else 0
        if st["sender"] is not None:
            st["sender"].join(10)
        deadline = time.monotonic() + 10
        while self.handled - st["before"] < st["expected"] and time.monotonic() < deadline:
            time.sleep(0.0005)  # a pending handler runs (and raises) when this call returns
