"""How long to wait before trying again: one policy for a run's retries (daemon/loop.py), an upload's
(upload/retry.py) and a webhook's (run/notify.py).

After the n-th failed attempt the wait is `backoff_seconds × 2^(n-1)` plus up to half of
`backoff_seconds` at random, so that runs or uploads that failed together do not come back in step;
no wait is longer than `max_delay`, but a server that asks for longer with Retry-After gets it, up to
`max_delay`. The random source is a field, so tests pin the numbers with a seeded one; waiting is the
caller's business (a cancel event's wait, the daemon's heap of wake times), so nothing here sleeps or
reads a clock.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

FACTOR = 2.0
JITTER = 0.5        # of backoff_seconds, at most
MAX_DELAY = 300.0   # seconds: an upload's longest wait; a run's retries and webhooks set their own


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more attempts after the first (policy.retries), the first wait `backoff_seconds`
    (policy.backoffSeconds); `random` returns a float in [0, 1)."""

    retries: int = 2
    backoff_seconds: float = 30.0
    max_delay: float = MAX_DELAY
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def delay(self, failures: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait after `failures` failed attempts (1 for the first); `retry_after` is what the
        server asked for, if it did."""
        jitter = self.random() * self.backoff_seconds * JITTER
        try:
            wait = min(self.backoff_seconds * FACTOR ** (failures - 1) + jitter, self.max_delay)
        except OverflowError:   # 2.0 ** 1024 and up: far past any cap
            wait = self.max_delay
        return max(wait, min(retry_after, self.max_delay)) if retry_after else wait
