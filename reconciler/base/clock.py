"""The one place that reads wall time. Everything else takes a Clock (or a `now`) as an argument, so
tests drive time instead of waiting for it.

Testing hook, off unless set: `SBSCHED_CLOCK_OFFSET_SECONDS` (a number, may be negative) shifts what
SystemClock.now() returns by that many seconds, so a harness can bring the real `sbsched` processes to a
cron slot without waiting for a real minute (`make stress`, docs/reliability.md). monotonic() is never
shifted. Leave it unset in production: every time sbsched records would be off by the offset.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from .errors import UsageError

OFFSET_ENV = "SBSCHED_CLOCK_OFFSET_SECONDS"


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC datetime."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps, for durations and timeouts."""


class SystemClock:
    def __init__(self) -> None:
        self.offset = _offset_from_env()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


def _offset_from_env() -> timedelta:
    raw = os.environ.get(OFFSET_ENV)
    if not raw:
        return timedelta(0)
    try:
        return timedelta(seconds=float(raw))
    except (ValueError, OverflowError):
        raise UsageError(f"{OFFSET_ENV}={raw!r} is not a number of seconds") from None
