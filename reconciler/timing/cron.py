"""Cron expressions with cronie (Vixie cron) semantics, including its DST rules.

Why our own parser and matcher instead of croniter: croniter speaks a superset dialect and
gets exactly the parts we care about wrong.  ``croniter.expand`` accepts ``L``/``W``/``#``/``?``/
``H``, 6- and 7-field forms and wrap-around ranges (``50-10``), reads ``5-5`` and ``jan-jan``
as *every* value, and reports errors as "[expr] is not acceptable" without saying which field
is wrong; its iterator fires a repeated fixed time twice on the fall-back day.  Checking the
cronie grammar ourselves leaves nothing for ``expand`` to do (turning a validated ``a-b/s`` into
``range(a, b + 1, s)`` is one line), so this module does not import croniter at all.

Next-fire search works on *wall-clock* fields (year, month, day, hour, minute) with
precomputed "next allowed value" tables, jumping whole fields at a time like cronsim does,
and only touches the time zone once per candidate to decide what that wall time means:

* it exists once                      -> that instant;
* it exists twice (fall-back repeat)  -> fixed-time jobs take the first (fold=0) only,
  wildcard jobs take both;
* it does not exist (spring-forward)  -> fixed-time jobs run at the first real instant after
  the gap (several gap slots collapse into that one run); wildcard jobs skip it.

A job is "fixed-time" when neither its minute nor its hour field starts with ``*``; that is
cronie's MIN_STAR/HR_STAR distinction.  Instants are compared as POSIX timestamps, never as
aware datetimes sharing a tzinfo, because Python compares those by wall time and ignores
``fold``.  ``docs/cron.md`` states the semantics with examples.
"""

from __future__ import annotations

import calendar
import functools
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

__all__ = ["CronError", "CronExpr", "parse", "next_fires"]


class CronError(ValueError):
    """A cron expression we refuse; the message is one line, meant for the user."""


MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, low, high, names): a name's value is its index + low, as in cronie.
_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, _MONTH_NAMES),
    ("day-of-week", 0, 7, _DAY_NAMES),
)
# Feb counts 29 days: Feb 29 does fire, in leap years.
_MAX_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_TZ_PREFIX = re.compile(r"^(CRON_)?TZ=", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
_MINUTE = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1)


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...] | None) -> int:
    """One number or name of a field, range-checked so the message can name the field."""
    if _DIGITS.fullmatch(text):
        number = int(text)
        if not low <= number <= high:
            raise CronError(f"{name} value {number} out of range {low}-{high}")
        return number
    if names is not None and text.lower() in names:
        return names.index(text.lower()) + low
    if text == "":
        raise CronError(f"{name} field has an empty value")
    hint = f" (use {low}-{high} or {names[0]}..{names[-1]})" if names else f" (use {low}-{high})"
    raise CronError(f"{name} value {text!r} is not valid{hint}")


def _parse_field(
    text: str, name: str, low: int, high: int, names: tuple[str, ...] | None
) -> frozenset[int]:
    """cronie's grammar: a list of ``*`` | ``n`` | ``a-b``, the ranges optionally ``/step``.

    cronie rejects ``n/step`` (no range) and backwards ranges; so do we, with a hint,
    rather than guess what was meant the way cronsim and croniter do.
    """
    values: set[int] = set()
    for item in text.split(","):
        span, slash, step_text = item.partition("/")
        if span == "*":
            start, end = low, high
        else:
            first, dash, last = span.partition("-")
            start = _value(first, name, low, high, names)
            end = _value(last, name, low, high, names) if dash else start
            if start > end:
                hint = f" (Sunday is 0 here: write {start}-7)" if name == "day-of-week" and end == 0 else ""
                raise CronError(f"{name} range {span!r} is backwards: {start} > {end}{hint}")
            if slash and not dash:
                raise CronError(f"{name} step {item!r} needs a range or '*', e.g. {first}-{high}/{step_text}")
        step = 1
        if slash:
            if not _DIGITS.fullmatch(step_text):
                raise CronError(f"{name} step {step_text!r} is not a number")
            step = int(step_text)
            if step == 0:
                raise CronError(f"{name} step must be at least 1")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _next_table(allowed: frozenset[int], size: int) -> tuple[int, ...]:
    """``table[i]`` = smallest allowed value >= i, or -1; one slot past the end so i+1 is safe."""
    table = [-1] * (size + 1)
    nxt = -1
    for i in range(size - 1, -1, -1):
        if i in allowed:
            nxt = i
        table[i] = nxt
    return tuple(table)


@dataclass(frozen=True)
class CronExpr:
    """A parsed expression: the expanded sets plus the two flags cronie derives from the text.

    ``day_and``: day-of-month AND day-of-week must both match, because one of those fields
    starts with ``*`` (cronie's DOM_STAR/DOW_STAR); otherwise either may match (OR).
    ``fixed_time``: neither minute nor hour starts with ``*``, which selects the DST rules.
    """

    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0..6, Sunday = 0 (7 folded into 0)
    day_and: bool
    fixed_time: bool
    _next_minute: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _next_hour: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _month_list: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _days_cache: dict[tuple[int, int], tuple[int, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_next_minute", _next_table(self.minutes, 60))
        object.__setattr__(self, "_next_hour", _next_table(self.hours, 24))
        object.__setattr__(self, "_month_list", tuple(sorted(self.months)))

    def _days_of(self, year: int, month: int) -> tuple[int, ...]:
        """Matching days of one month, memoised: the day rule is the only costly test."""
        key = (year, month)
        days = self._days_cache.get(key)
        if days is None:
            first_weekday, length = calendar.monthrange(year, month)  # Monday = 0
            sunday_based = (first_weekday + 1) % 7
            found = []
            for day in range(1, length + 1):
                dom = day in self.days
                dow = (sunday_based + day - 1) % 7 in self.weekdays
                if (dom and dow) if self.day_and else (dom or dow):
                    found.append(day)
            days = tuple(found)
            if len(self._days_cache) > 600:  # bounded: a schedule only moves forward
                self._days_cache.clear()
            self._days_cache[key] = days
        return days

    def _next_wall(self, y: int, mo: int, d: int, h: int, mi: int) -> tuple[int, int, int, int, int]:
        """First matching wall time >= the given one (d/h/mi may overflow by one; handled)."""
        months = self._month_list
        while True:
            if mo not in self.months:
                i = bisect_left(months, mo)
                if i == len(months):
                    y, mo = y + 1, months[0]
                else:
                    mo = months[i]
                d, h, mi = 1, 0, 0
            if y > 9999:
                raise OverflowError(f"{self.source!r} has no fire time before year 10000")
            days = self._days_of(y, mo)
            i = bisect_left(days, d)
            if i == len(days):
                y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
                d, h, mi = 1, 0, 0
                continue
            if days[i] != d:
                d, h, mi = days[i], 0, 0
            hour = self._next_hour[h]
            if hour < 0:
                d, h, mi = d + 1, 0, 0
                continue
            if hour != h:
                h, mi = hour, 0
            minute = self._next_minute[mi]
            if minute < 0:
                h, mi = h + 1, 0
                continue
            return y, mo, d, h, minute

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime:
        """First fire strictly after ``after`` (any aware datetime), as an aware datetime in ``tz``."""
        if after.tzinfo is None or after.utcoffset() is None:
            raise ValueError("next_after needs a timezone-aware datetime")
        after_ts = after.timestamp()
        local = after.astimezone(tz)
        wall = local.replace(tzinfo=None, second=0, microsecond=0) + _MINUTE
        if not self.fixed_time and local.fold == 0:
            # Inside the first pass of a repeated hour, the *second* pass of earlier wall
            # times is still ahead of us: start the wall scan one repeat-length earlier.
            repeat = _offset(local) - _offset(local.replace(fold=1))
            if repeat > timedelta(0):
                wall = (local.replace(tzinfo=None) - repeat).replace(second=0, microsecond=0)
        best: datetime | None = None  # a second-pass (fold=1) candidate found on the way
        best_ts = 0.0
        y, mo, d, h, mi = wall.year, wall.month, wall.day, wall.hour, wall.minute
        while True:
            y, mo, d, h, mi = self._next_wall(y, mo, d, h, mi)
            cand = datetime(y, mo, d, h, mi, tzinfo=tz)
            off0 = _offset(cand)
            off1 = _offset(cand.replace(fold=1))
            if off0 == off1 or off0 > off1:  # exists (once, or twice)
                ts = cand.timestamp()
                if ts > after_ts:
                    return best if best is not None and best_ts < ts else cand
                if off0 != off1 and not self.fixed_time and best is None:
                    second = cand.replace(fold=1)
                    if second.timestamp() > after_ts:
                        best, best_ts = second, second.timestamp()
            else:  # in a spring-forward gap: this wall time never happens
                jump = _gap_end(cand.replace(tzinfo=None), tz, off0, off1)
                if self.fixed_time:
                    if jump.timestamp() > after_ts:
                        return jump
                else:
                    resume = jump.replace(tzinfo=None)
                    if resume.second or resume.microsecond:
                        resume = resume.replace(second=0, microsecond=0) + _MINUTE
                    y, mo, d, h, mi = resume.year, resume.month, resume.day, resume.hour, resume.minute
                    continue
            mi += 1

    def iter_after(self, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Endless, strictly increasing fires after ``after``; each step is one ``next_after``."""
        while True:
            after = self.next_after(after, tz)
            yield after


def _offset(moment: datetime) -> timedelta:
    """utcoffset() of an aware datetime (never None here; typed so for the callers)."""
    offset = moment.utcoffset()
    assert offset is not None
    return offset


def _gap_end(wall: datetime, tz: ZoneInfo, before: timedelta, after: timedelta) -> datetime:
    """The instant a spring-forward jump lands on, for a wall time ``wall`` inside the gap.

    zoneinfo does not expose transitions, so bisect the UTC seconds between the two
    readings of ``wall``: ``wall - after`` is still on the old offset, ``wall - before`` on
    the new one.  Rare (a few times a year per job), so clarity beats speed here.
    """
    lo = (wall - after - _EPOCH) // timedelta(seconds=1)
    hi = (wall - before - _EPOCH) // timedelta(seconds=1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, tz)


@functools.lru_cache(maxsize=65536)  # a large manifest has thousands of distinct expressions; each is ~1 KiB
def parse(expr: str) -> CronExpr:
    """Parse and validate once; cached because every manifest reload re-reads the same strings."""
    tokens = expr.split()
    if not tokens:
        raise CronError("empty cron expression")
    for token in tokens:
        if _TZ_PREFIX.match(token):
            raise CronError(f"put the zone in `timezone:`, not in cron (found {token!r})")
    if tokens[0].startswith("@"):
        macro = tokens[0]
        if macro == "@reboot":
            raise CronError("@reboot is not supported: it has no fire times")
        if macro not in MACROS:  # matched case-sensitively, as cronie does
            raise CronError(f"unknown macro {tokens[0]!r}; expected one of {', '.join(MACROS)}")
        if len(tokens) > 1:
            raise CronError(f"{tokens[0]} takes no fields, got extra {' '.join(tokens[1:])!r}")
        tokens = MACROS[macro].split()
    if len(tokens) != 5:
        hint = " (seconds and years fields are not supported)" if len(tokens) in (6, 7) else ""
        fields = "minute hour day-of-month month day-of-week"
        raise CronError(f"expected 5 fields, got {len(tokens)}: {fields}{hint}")
    minutes, hours, days, months, weekdays = (
        _parse_field(token, *spec) for token, spec in zip(tokens, _FIELDS)
    )
    if 7 in weekdays:
        weekdays = (weekdays - {7}) | {0}
    day_and = tokens[2].startswith("*") or tokens[4].startswith("*")
    if day_and and not any(d <= _MAX_DAYS[m] for m in months for d in days):
        # Every (month, day) pair that exists falls on every weekday over the years, so only
        # the pairs decide.  In OR mode the weekday alone always fires.
        raise CronError(f"never fires: day-of-month {tokens[2]!r} does not occur in month {tokens[3]!r}")
    return CronExpr(
        source=expr,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=weekdays,
        day_and=day_and,
        fixed_time=not tokens[0].startswith("*") and not tokens[1].startswith("*"),
    )


def next_fires(expr: str, tz: str | ZoneInfo, after: datetime, n: int) -> list[datetime]:
    """The next ``n`` fires of ``expr`` in zone ``tz`` strictly after ``after``."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    fires = parse(expr).iter_after(after, zone)
    return [next(fires) for _ in range(n)]
