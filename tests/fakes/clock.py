"""A clock the test moves: `now()` returns what the test set; nothing waits on real time."""
from __future__ import annotations

import time
from datetime import datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return time.monotonic()

    def set(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current
