"""`next`: fire times for an expression, with the user's input checked and errors made readable."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from . import cron
from ..base.errors import UsageError
from .zones import timezone_error


def fire_times(expr: str, zone: str, *, after: str | None, now: datetime, count: int) -> list[datetime]:
    """The next `count` fires strictly after `after` (ISO 8601; without an offset it is read in `zone`)."""
    if error := timezone_error(zone):
        raise UsageError(error)
    tz = ZoneInfo(zone)
    start = now
    if after is not None:
        try:
            start = datetime.fromisoformat(after)
        except ValueError:
            raise UsageError(f"--after {after!r} is not an ISO 8601 time", hint="e.g. 2026-03-08T00:00:00-05:00") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=tz)
    try:
        return cron.next_fires(expr, tz, start, count)
    except cron.CronError as exc:
        raise UsageError(f"invalid cron {expr!r}: {exc}") from None
    except OverflowError as exc:  # a sparse expression searched past year 9999
        raise UsageError(str(exc)) from None
