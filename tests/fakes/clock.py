"""A clock the test moves: `now()` and `monotonic()` return what the test set; nothing reads real time."""
from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.current = start
        self.elapsed = 0.0   # monotonic seconds since start: moved with the wall time, never back

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.elapsed

    def set(self, moment: datetime) -> None:
        """Jump to `moment`; going back steps the wall time only, as an NTP step leaves a monotonic clock."""
        self.elapsed += max(0.0, (moment - self.current).total_seconds())
        self.current = moment

    def advance(self, **delta: float) -> datetime:
        self.set(self.current + timedelta(**delta))
        return self.current
