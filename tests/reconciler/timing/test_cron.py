"""Tests for reconciler.timing.cron: golden tables, unit tests, and properties checked against cronsim.

cronsim 2.8 is the oracle.  Where it and our contract disagree, the contract wins and the
difference is written down in docs/cron.md ("Where cronsim differs"); here those cases are
(1) normalised away before asking cronsim (``a-a/s``), (2) filtered (cronsim fires that are not
strictly after the start), or (3) settled by ``_reference``, a literal minute-by-minute
reading of the rules, instead of by cronsim.
"""

from __future__ import annotations

import functools
import re
from dataclasses import FrozenInstanceError
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from cronsim import CronSim
from cronsim.cronsim import Field
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from reconciler.timing.cron import MACROS, CronError, CronExpr, next_fires, parse

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "cron"
UTC = timezone.utc
MINUTE = timedelta(minutes=1)
# Zones whose DST shift is not a whole hour, not on the hour, or at midnight: there cronsim's
# real-time hour/day stepping of wildcard jobs goes wrong on transition days (docs/cron.md).
CRONSIM_ROUGH_ZONES = {"Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago"}
DST_ZONES = [
    "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago",
]


# --- oracles ---------------------------------------------------------------------------------


def _for_cronsim(expr: str) -> str:
    """Our expression in the dialect cronsim reads the way cronie does.

    Macros are expanded (cronsim has none), and ``a-a/s`` becomes ``a``: cronie reads it as the
    single value a, cronsim as ``a-max/s``.
    """
    text = MACROS.get(expr.strip(), expr)
    fields = []
    for fld in text.split():
        items = []
        for item in fld.split(","):
            m = re.fullmatch(r"(\w+)-(\w+)/\d+", item)
            items.append(m.group(1) if m and m.group(1).lower() == m.group(2).lower() else item)
        fields.append(",".join(items))
    return " ".join(fields)


class _BoundedCronSim(CronSim):
    """cronsim with a step budget: in Chatham's 45-minute repeat its real-time stepping of
    wildcard jobs can go round in circles, inside one ``next()`` or across several."""

    budget = 20_000  # ordinary searches take a few hundred steps

    def tick(self, seconds: int = 1) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise _CronsimLost
        super().tick(seconds)


class _CronsimLost(Exception):
    pass


def _cronsim(expr: str, tz: ZoneInfo, after: datetime, n: int) -> list[str]:
    """cronsim's next ``n`` fires strictly after ``after`` (fewer if cronsim goes astray).

    cronsim runs fixed-time jobs on the naive wall time, so from the second pass of a repeated
    hour it can yield first-pass instants that are before ``after``; those are dropped.  If it
    goes backwards or runs out of steps (see ``_BoundedCronSim``), what it gave so far is kept.
    """
    out: list[str] = []
    previous = float("-inf")
    try:
        for fire in _BoundedCronSim(_for_cronsim(expr), after.astimezone(tz)):
            if fire.timestamp() <= previous:
                break
            previous = fire.timestamp()
            if fire.timestamp() > after.timestamp():
                out.append(fire.isoformat())
                if len(out) == n:
                    break
    except _CronsimLost:
        pass
    return out


def _reference(expr: str, tz: ZoneInfo, after: datetime, n: int, until: datetime | None = None) -> list[str]:
    """The rules read literally: walk the real minutes in UTC and look at each one's wall time.

    Simple on purpose and independent of reconciler.timing.cron's search (field sets come from cronsim's
    parser).  Fixed-time: the first pass of a wall time, plus one run at the first instant after a
    spring-forward gap that swallowed a matching wall time.  Wildcard: every real matching minute.
    """
    f = _for_cronsim(expr).upper().split()
    minutes, hours, days, months = (
        Field.MINUTE.parse(f[0]),
        Field.HOUR.parse(f[1]),
        Field.DAY.parse(f[2]),
        Field.MONTH.parse(f[3]),
    )
    weekdays = {d % 7 for d in Field.DOW.parse(f[4])}  # type: ignore[operator]
    day_and = f[2].startswith("*") or f[4].startswith("*")
    fixed = not f[0].startswith("*") and not f[1].startswith("*")

    def day_ok(w: datetime) -> bool:
        dom, dow = w.day in days, w.isoweekday() % 7 in weekdays
        return w.month in months and ((dom and dow) if day_and else (dom or dow))

    def ok(w: datetime) -> bool:
        return day_ok(w) and w.hour in hours and w.minute in minutes

    t = after.astimezone(UTC).replace(second=0, microsecond=0) + MINUTE
    out: list[str] = []
    while len(out) < n and (until is None or t <= until):
        local = t.astimezone(tz)
        wall = local.replace(tzinfo=None)
        fire = ok(wall) and (not fixed or local.fold == 0)
        before = (t - MINUTE).astimezone(tz)
        if fixed and not fire and local.utcoffset() > before.utcoffset():  # type: ignore[operator]
            w = before.replace(tzinfo=None) + MINUTE
            while w < wall and not fire:  # the wall times the jump swallowed
                fire = ok(w)
                w += MINUTE
        if fire:
            out.append(local.isoformat())
        # Hop over days and hours that cannot match, but never across an offset change: there
        # the walk goes minute by minute so that it lands on the jump itself.
        if not day_ok(wall):
            step = datetime.combine(wall.date() + timedelta(days=1), time()) - wall
        elif wall.hour not in hours:
            step = timedelta(minutes=60 - wall.minute)
        else:
            step = MINUTE
        if step > MINUTE and (t + step).astimezone(tz).utcoffset() != local.utcoffset():
            step = MINUTE
        t += step
    return out


# --- golden tables ---------------------------------------------------------------------------


def _golden_rows() -> list:
    """Rows ``expr | tz | after | fire, fire, ...``.

    A comment line starting with "# cronsim differs" marks the next row as a documented deviation.
    """
    rows = []
    for path in sorted(GOLDEN.glob("*.txt")):
        if path.name == "errors.txt":
            continue
        differs = False
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if line.startswith("#"):
                differs = differs or line.startswith("# cronsim differs")
                continue
            if not line.strip():
                continue
            expr, tz, after, expected = (part.strip() for part in line.split("|"))
            fires = [s.strip() for s in expected.split(",")]
            rows.append(pytest.param(expr, tz, after, fires, differs, id=f"{path.stem}:{lineno}:{expr}@{tz}"))
            differs = False
    return rows


def _error_rows() -> list:
    rows = []
    for lineno, line in enumerate((GOLDEN / "errors.txt").read_text().splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        expr, message = (part.strip() for part in line.split("|"))
        rows.append(pytest.param(expr, message, id=f"errors:{lineno}:{expr}"))
    return rows


GOLDEN_ROWS = _golden_rows()


def test_golden_tables_are_present() -> None:
    assert {p.stem for p in GOLDEN.glob("*.txt")} >= {
        "dom_dow_or", "sunday", "names", "macros", "dst_gap", "dst_repeat",
        "wildcard_hours", "lord_howe", "chatham", "errors",
    }  # fmt: skip
    assert len(GOLDEN_ROWS) > 80


@pytest.mark.parametrize(("expr", "tz", "after", "expected", "cronsim_differs"), GOLDEN_ROWS)
def test_golden(expr: str, tz: str, after: str, expected: list[str], cronsim_differs: bool) -> None:
    zone = ZoneInfo(tz)
    start = datetime.fromisoformat(after)
    ours = [d.isoformat() for d in next_fires(expr, zone, start, len(expected))]
    assert ours == expected
    assert _reference(expr, zone, start, len(expected)) == expected
    theirs = _cronsim(expr, zone, start, len(expected))
    if cronsim_differs:
        assert theirs != expected, "cronsim agrees now: drop the 'cronsim differs' notes (row, docs/cron.md)"
    else:
        assert theirs == expected


@pytest.mark.parametrize(("expr", "message"), _error_rows())
def test_errors(expr: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        parse(expr)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


# --- unit tests ------------------------------------------------------------------------------


def test_parse_is_cached_and_expr_is_frozen_and_hashable() -> None:
    expr = parse("*/5 9-17 * * mon-fri")
    assert parse("*/5 9-17 * * mon-fri") is expr
    assert expr.source == "*/5 9-17 * * mon-fri"
    assert {expr: 1}[parse("*/5 9-17 * * mon-fri")] == 1
    with pytest.raises(FrozenInstanceError):
        expr.source = "x"  # type: ignore[misc]
    assert isinstance(expr, CronExpr)


def test_parsed_flags() -> None:
    assert parse("0 0 1,15 * 5").day_and is False
    assert parse("0 0 */2 * 5").day_and is True
    assert parse("30 2 * * *").fixed_time is True
    assert parse("*/15 1 * * *").fixed_time is False
    assert parse("0 */2 * * *").fixed_time is False
    assert parse("@daily").fixed_time is True
    assert parse("@hourly").fixed_time is False
    assert parse("0 0 * * 7").weekdays == frozenset({0})
    assert parse("0 0 * * 5-7").weekdays == frozenset({0, 5, 6})


@pytest.mark.parametrize(
    "expr",
    [
        "*/5 * * * *", "0-30/7 1,5,9 * * *", "0 0 1-31/10 * *", "0 0 * jan-jun/2 *",
        "0 0 * * mon-fri", "0 0 * * 1,3-5",
    ],  # fmt: skip
)
def test_field_sets_agree_with_croniter_expand(expr: str) -> None:
    """Cross-check of plain field expansion; croniter's dialect only diverges on forms we reject or on a-a."""
    ours = parse(expr)
    expanded, _ = croniter.expand(expr)
    full = (range(60), range(24), range(1, 32), range(1, 13), range(7))
    for mine, theirs, all_values in zip(
        (ours.minutes, ours.hours, ours.days, ours.months, ours.weekdays), expanded, full
    ):
        assert mine == (frozenset(all_values) if theirs == ["*"] else frozenset(theirs))


def test_single_value_range_is_one_value_not_the_whole_field() -> None:
    # croniter.expand reads 5-5 as every day and cronsim reads 20-20/2 as 20-23/2; cronie: one value.
    assert parse("0 0 5-5 * *").days == frozenset({5})
    assert parse("0 20-20/2 * * *").hours == frozenset({20})


def test_next_after_needs_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse("* * * * *").next_after(datetime(2024, 1, 1), ZoneInfo("UTC"))


def test_result_is_in_requested_zone_and_strictly_after() -> None:
    tz = ZoneInfo("Europe/Berlin")
    after = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
    fire = parse("0 12 * * *").next_after(after, tz)
    assert fire.tzinfo is tz
    assert fire.isoformat() == "2024-06-02T12:00:00+02:00"
    # seconds and microseconds: the same minute is not "after"
    odd_start = datetime(2024, 1, 1, 10, 0, 30, 5, tzinfo=UTC)
    fire = parse("* * * * *").next_after(odd_start, ZoneInfo("UTC"))
    assert fire.isoformat() == "2024-01-01T10:01:00+00:00"


def test_next_fires_accepts_zone_name_or_zoneinfo() -> None:
    after = datetime(2023, 12, 31, 12, tzinfo=UTC)  # 21:00 in Tokyo
    by_name = next_fires("0 9 * * *", "Asia/Tokyo", after, 3)
    by_zone = next_fires("0 9 * * *", ZoneInfo("Asia/Tokyo"), after, 3)
    assert by_name == by_zone
    assert [d.isoformat() for d in by_name] == [
        "2024-01-01T09:00:00+09:00",
        "2024-01-02T09:00:00+09:00",
        "2024-01-03T09:00:00+09:00",
    ]
    assert next_fires("0 9 * * *", "UTC", after, 0) == []


def test_iter_after_is_strictly_increasing_through_a_year_of_transitions() -> None:
    for zone in DST_ZONES:
        tz = ZoneInfo(zone)
        fires = parse("*/20 0-3 * * *").iter_after(datetime(2024, 1, 1, tzinfo=UTC), tz)
        previous = 0.0
        for fire, _ in zip(fires, range(4500)):
            assert fire.timestamp() > previous
            previous = fire.timestamp()


def test_fixed_time_jobs_run_every_day_and_never_twice_for_one_slot() -> None:
    for zone in DST_ZONES:
        tz = ZoneInfo(zone)
        for expr in ("30 2 * * *", "0 0 * * *", "15 1 * * *", "50 2 * * *", "0,30 2 * * *"):
            runs = len(expr.split()[0].split(","))  # runs on an ordinary day
            per_day: dict = {}
            for fire in next_fires(expr, tz, datetime(2024, 1, 1, tzinfo=tz), 370 * runs):
                per_day[fire.date()] = per_day.get(fire.date(), 0) + 1
            # every calendar day gets its runs; a gap collapses that day's runs into one
            assert len(per_day) >= 365
            assert all(count in (1, runs) for count in per_day.values())


def test_far_future_and_sparse_expressions() -> None:
    assert next_fires("0 0 29 2 */7", "UTC", datetime(2033, 1, 1, tzinfo=UTC), 1)[0].isoformat() == (
        "2060-02-29T00:00:00+00:00"
    )
    with pytest.raises(OverflowError):
        parse("0 0 29 2 *").next_after(datetime(9997, 1, 1, tzinfo=UTC), ZoneInfo("UTC"))


DST_WINDOW_EXPRS = [
    "* * * * *", "*/7 * * * *", "0 * * * *", "30 * * * *", "45 * * * *", "*/15 1-3 * * *",
    "* 2 * * *", "0 */2 * * *", "0 0 * * *", "30 2 * * *", "15,45 1-3 * * *", "0 2,3 * * *",
    "40 2 * * *", "59 23 * * *", "0 1 * * 0", "0-59/10 0-4 * * *",
]  # fmt: skip


@pytest.mark.parametrize("zone", DST_ZONES)
@pytest.mark.parametrize("expr", DST_WINDOW_EXPRS)
def test_transition_days_match_reference(zone: str, expr: str) -> None:
    """Around every 2024 transition, the full window of fires equals the literal reading."""
    tz = ZoneInfo(zone)
    for transition in _transitions(zone):
        if datetime.fromtimestamp(transition, UTC).year != 2024:
            continue
        start = datetime.fromtimestamp(transition, UTC) - timedelta(hours=30)
        until = start + timedelta(hours=60)
        ours = []
        for fire in parse(expr).iter_after(start, tz):
            if fire.timestamp() > until.timestamp():
                break
            ours.append(fire.isoformat())
        assert ours == _reference(expr, tz, start, 10**6, until=until)


# --- property test against cronsim -----------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _transitions(zone: str) -> tuple[float, ...]:
    """UTC timestamps of offset changes in 2020-2030, found by a daily scan and bisection."""
    tz = ZoneInfo(zone)
    found = []
    t = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    while t < end:
        if datetime.fromtimestamp(t, tz).utcoffset() != datetime.fromtimestamp(t + 86400, tz).utcoffset():
            lo, hi = t, t + 86400
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.fromtimestamp(mid, tz).utcoffset() == datetime.fromtimestamp(lo, tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(float(hi))
        t += 86400
    return tuple(found)


def _field(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    value = st.integers(low, high).map(str)
    if names:
        value = value | st.sampled_from(names)

    def span(pair: tuple[int, int]) -> str:
        a, b = sorted(pair)
        return f"{a}-{b}"

    bounds = st.tuples(st.integers(low, high), st.integers(low, high))
    item = st.one_of(
        value,
        bounds.map(span),
        st.tuples(bounds.map(span), st.integers(1, high)).map(lambda t: f"{t[0]}/{t[1]}"),
        st.integers(1, high).map(lambda s: f"*/{s}"),
    )
    return st.one_of(st.just("*"), item, st.lists(item, min_size=2, max_size=4).map(",".join))


EXPRESSIONS = st.tuples(
    _field(0, 59),
    _field(0, 23),
    _field(1, 31),
    _field(1, 12, ("jan", "Feb", "MAR", "oct", "nov", "dec")),
    _field(0, 7, ("sun", "Mon", "FRI", "sat")),
).map(" ".join)
START_2020 = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
END_2030 = datetime(2030, 12, 31, tzinfo=UTC).timestamp()


@st.composite
def _zone_and_start(draw: st.DrawFn) -> tuple[str, datetime]:
    zone = draw(st.sampled_from(DST_ZONES))
    if draw(st.booleans()):  # near a transition, where the interesting cases are
        centre = draw(st.sampled_from(_transitions(zone)))
        ts = centre + draw(st.floats(-36 * 3600, 36 * 3600))
    else:
        ts = draw(st.floats(START_2020, END_2030))
    return zone, datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(draw(st.sampled_from([zone, "UTC"]))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=EXPRESSIONS, zone_start=_zone_and_start())
def test_next_five_fires_match_cronsim(expr: str, zone_start: tuple[str, datetime]) -> None:
    zone, after = zone_start
    try:
        parsed = parse(expr)
    except CronError as exc:
        assert str(exc).startswith("never fires")  # the generator only builds valid syntax
        reject()
    tz = ZoneInfo(zone)
    ours = [d.isoformat() for d in next_fires(expr, tz, after, 5)]
    assert ours == _reference(expr, tz, after, 5)
    theirs = _cronsim(expr, tz, after, 5)
    if ours != theirs:
        # The documented deviation: cronsim's real-time stepping of wildcard jobs on transition
        # days in zones with 30/45-minute or midnight transitions; the rules (above) decide.
        assert zone in CRONSIM_ROUGH_ZONES and not parsed.fixed_time, (ours, theirs)
