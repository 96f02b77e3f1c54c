"""Politeness toward the API server: a client-side rate limit and the wait a 429 asks for.

The rate limit is client-go's flowcontrol token bucket: `burst` requests at once, then `qps` a second.
It is shared by every collector of a run (one `Kube`), so parallel collection cannot multiply it.

Why the defaults are above client-go's 5 QPS / burst 10: those date from before API Priority and
Fairness, for controllers that run forever, and turn a 20,000-pod collection (one log request per
container) into hours. APF, on by default since Kubernetes 1.20, protects the server by concurrency
(seats), not by rate, and says so with 429 + Retry-After, which we honour, and to which the requests
in flight are matched (ConcurrencyGate). Our concurrency is bounded anyway (`client.POOL_SIZE`
connections), so the bucket only matters on a fast link, where it keeps one
run from reading faster than DEFAULT_QPS: a rate a busy control plane serves (kube-scheduler alone is
allowed 50 QPS per client, and a cluster runs hundreds of clients) for the few minutes a large bundle
takes. Schedules that share a small control plane set `collect.apiRateLimit` lower.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

DEFAULT_QPS = 500.0
DEFAULT_BURST = 1000
MAX_RETRIES = 10          # client-go's rest.Request default: a 429 is retried up to 10 times
MAX_RETRY_AFTER = 60.0    # seconds: a longer Retry-After is waited this long, so one header cannot stall a run


class RateLimiter:
    """A token bucket: `wait()` returns once the caller may send (at once while tokens last). Callers
    reserve their slot under the lock and wait outside it, so the order of sends is the order of asking."""

    def __init__(self, qps: float = DEFAULT_QPS, burst: int = DEFAULT_BURST, *,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], object] = time.sleep) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"rate limit: qps must be > 0 and burst >= 1, not {qps} and {burst}")
        self.qps, self.burst = qps, burst
        self._monotonic, self._sleep = monotonic, sleep
        self._tokens = float(burst)
        self._last: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Take a token, waiting for it when the bucket is empty; the seconds waited."""
        with self._lock:
            now = self._monotonic()
            elapsed = 0.0 if self._last is None else max(0.0, now - self._last)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps) - 1
            self._last = now
            delay = -self._tokens / self.qps if self._tokens < 0 else 0.0
        if delay > 0:
            self._sleep(delay)
        return delay

    def pause(self, seconds: float) -> None:
        """Wait as a 429's Retry-After asks: one request's wait, the others go on."""
        self._sleep(seconds)


def retry_after(status: int, headers: Mapping[str, str]) -> float | None:
    """The seconds to wait before sending again a request answered so, or None: not to be retried. As
    client-go's checkWait, only an answer that carries Retry-After; unlike it, only a 429 (APF's refusal,
    made before the request was handled, so any verb is safe to send again), not a 5xx, after which a
    POST may have been handled. An HTTP date or garbage counts as 1 second."""
    value = headers.get("Retry-After")
    if status != 429 or value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if seconds == seconds else 1.0   # NaN: 1 s


class ConcurrencyGate:
    """Requests in flight at once, matched to what the API server admits. APF refuses a request beyond
    its seats with 429 at once, so a client that keeps more in flight than the seats is refused again
    and again, each refusal parking a sender for its Retry-After. A 429 answered while `n` were in
    flight says the server admits fewer than `n`: the limit drops to `n - 1` (never below 1). After a
    Retry-After's span without a refusal it rises by one, so a server that frees seats gets them used."""

    def __init__(self, most: int, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.most = self.limit = most
        self.in_flight = 0
        self._monotonic = monotonic
        self._probe_at = 0.0   # when the limit may rise again
        self._quiet = 0.0      # the span without a refusal that earns one more slot: the last Retry-After
        self._cond = threading.Condition()

    def enter(self) -> None:
        """Wait for a slot; every `enter` is paired with one `leave`."""
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1

    def leave(self, refused_for: float | None = None) -> None:
        """The request's answer is read; `refused_for`: it was a 429 asking to wait that long."""
        with self._cond:
            now = self._monotonic()
            if refused_for is not None:
                self.limit = max(1, min(self.limit, self.in_flight - 1))
                self._quiet = refused_for
                self._probe_at = now + refused_for
            elif self.limit < self.most and now >= self._probe_at:
                self.limit += 1
                self._probe_at = now + self._quiet
            self.in_flight -= 1
            self._cond.notify(max(0, self.limit - self.in_flight))   # a waiter a free slot, not every waiter
