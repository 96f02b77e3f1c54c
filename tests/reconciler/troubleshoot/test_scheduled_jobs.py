"""troubleshoot's scheduled jobs as schedules: the cron each becomes fires at exactly the wall times
troubleshoot's own matcher ran it (checked minute by minute against a port of pkg/schedule/daemon.go)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from reconciler.timing import cron
from reconciler.timing.hostzone import host_zone
from reconciler.troubleshoot.scheduled_jobs import Job, Unconvertible, convert, convert_cron, read_jobs


def troubleshoot_matches(field: str, value: int) -> bool:
    """pkg/schedule/daemon.go matchesCronField, ported independently of the module under test."""
    if field == "*":
        return True
    if field.startswith("*/"):
        try:
            interval = int(field[2:])
        except ValueError:
            return False
        return interval > 0 and value % interval == 0
    for item in field.split(","):
        try:
            if int(item.strip()) == value:
                return True
        except ValueError:
            pass
    return False


def troubleshoot_fires(expression: str, zone: str, start: datetime, days: int, limit: int) -> list[datetime]:
    """The first `limit` local wall times from `start` (a local midnight) on, within `days` days, at which
    troubleshoot's daemon (shouldJobRun, one check a minute) runs the job; for zones without DST."""
    minute, hour, dom, month, dow = expression.split()
    tz = ZoneInfo(zone)
    out: list[datetime] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if not (troubleshoot_matches(dom, day.day) and troubleshoot_matches(month, day.month)
                and troubleshoot_matches(dow, (day.weekday() + 1) % 7)):
            continue
        for h in (h for h in range(24) if troubleshoot_matches(hour, h)):
            for m in (m for m in range(60) if troubleshoot_matches(minute, m)):
                out.append(datetime(day.year, day.month, day.day, h, m, tzinfo=tz))
                if len(out) == limit:
                    return out
    return out


def cron_fires(expression: str, zone: str, start: datetime, end: datetime, limit: int) -> list[datetime]:
    out: list[datetime] = []
    for fire in cron.parse(expression).iter_after(start - timedelta(seconds=1), ZoneInfo(zone)):
        if fire >= end or len(out) == limit:
            return out
        out.append(fire)
    return out


@pytest.mark.parametrize("expression, expected, noted", [
    ("0 2 * * *", "0 2 * * *", False),
    ("*/15 * * * *", "*/15 * * * *", False),
    ("0 */6 * * *", "0 */6 * * *", False),
    ("0 2 */2 * *", "0 2 2-30/2 * *", True),
    ("0 2 * */3 *", "0 2 * 3-12/3 *", True),
    ("0 2 * * */2", "0 2 * * */2", False),
    ("0 2 1,15 * *", "0 2 1,15 * *", False),
    ("0 2 * * 0,7", "0 2 * * 0,7", False),
    ("*/40 * * * *", "*/40 * * * *", False),
    ("0 */5 */10 * *", "0 */5 10-30/10 * *", True),
    ("0 3 */2 * */2", "0 3 2-30/2 * */2", True),   # troubleshoot ANDs the day fields: a star keeps cron's AND
])
def test_expressions_are_kept_or_rewritten_to_fire_when_troubleshoot_did(expression, expected, noted):
    written, notes = convert_cron(expression)
    assert written == expected
    assert bool(notes) == noted


@pytest.mark.parametrize("expression", ["0 2 13 * 5", "0 3 */2 * 1"])
def test_both_day_fields_restricted_is_refused_as_cron_cannot_say_both(expression):
    with pytest.raises(Unconvertible, match="both day-of-month and day-of-week"):
        convert_cron(expression)


@pytest.mark.parametrize("expression, why", [
    ("@daily", "1 fields"),
    ("0 2 1-5 * *", "matches nothing"),
    ("0 2 * * 7", "matches nothing"),
    ("0 0 31 2 *", "never fires"),
    ("0 2 * * mon", "matches nothing"),
])
def test_jobs_that_never_ran_under_troubleshoot_are_not_converted(expression, why):
    with pytest.raises(Unconvertible, match=why):
        convert_cron(expression)


FIELD = {
    "minute": st.one_of(st.just("*"), st.integers(1, 70).map(lambda n: f"*/{n}"),
                        st.lists(st.integers(0, 59), min_size=1, max_size=4).map(lambda v: ",".join(map(str, v)))),
    "hour": st.one_of(st.just("*"), st.integers(1, 30).map(lambda n: f"*/{n}"),
                      st.lists(st.integers(0, 23), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v)))),
    "dom": st.one_of(st.just("*"), st.just("*"), st.integers(1, 16).map(lambda n: f"*/{n}"),
                     st.lists(st.integers(1, 31), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v)))),
    "month": st.one_of(st.just("*"), st.just("*"), st.integers(1, 6).map(lambda n: f"*/{n}"),
                       st.lists(st.integers(1, 12), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v)))),
    "dow": st.one_of(st.just("*"), st.just("*"), st.integers(1, 8).map(lambda n: f"*/{n}"),
                     st.lists(st.integers(0, 6), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v)))),
}


@settings(max_examples=60, deadline=None)
@given(st.tuples(FIELD["minute"], FIELD["hour"], FIELD["dom"], FIELD["month"], FIELD["dow"]))
def test_every_convertible_expression_fires_at_exactly_troubleshoots_minutes(fields):
    """Over two years (a leap day included) in a zone without DST, the first 3,000 fires."""
    expression = " ".join(fields)
    try:
        written, _ = convert_cron(expression)
    except Unconvertible:
        return
    start = datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    expected = troubleshoot_fires(expression, "Asia/Tokyo", start, 731, 3000)
    assert cron_fires(written, "Asia/Tokyo", start, start + timedelta(days=731), 3000) == expected


def test_names_become_unique_dns_labels_with_a_note_each():
    jobs = [Job(id="job-1", name="Daily Check", schedule="0 2 * * *"),
            Job(id="job-2", name="daily_check", schedule="0 3 * * *"),
            Job(id="job-3", name="ok", schedule="0 4 * * *"),
            Job(id="job-4", name="日本", schedule="0 5 * * *")]
    converted, left_out = convert(jobs, timezone="UTC", taken={"ok"})
    assert [c.name for c in converted] == ["daily-check", "daily-check-2", "ok-2", "job-job-4"]
    assert all(c.notes[0].startswith("name ") for c in converted) and not left_out


def test_upload_auto_and_disabled_jobs_are_mapped_with_notes():
    jobs = [Job(id="a", name="a", schedule="0 2 * * *", upload="s3://bucket/prefix/", namespace="prod"),
            Job(id="b", name="b", schedule="0 2 * * *", upload="enabled", auto=True, enabled=False)]
    a, b = convert(jobs, timezone="UTC", taken=set())[0]
    assert (a.upload, a.namespaces, a.suspend, a.notes) == ("s3://bucket/prefix/", ["prod"], False, [])
    assert (b.upload, b.suspend) == (None, True)
    assert any("vendor portal" in n for n in b.notes)
    assert (a.auto, b.auto) == (False, True)   # troubleshoot's auto-discovery is collect.auto
    assert not any("not supported" in n for n in b.notes)


def test_job_files_are_read_oldest_first_and_non_jobs_are_reported(tmp_path):
    (tmp_path / "job-2.json").write_text(json.dumps({"id": "job-2", "name": "late", "schedule": "0 2 * * *",
                                                     "created": "2026-02-02T00:00:00Z"}))
    (tmp_path / "job-1.json").write_text(json.dumps({"id": "job-1", "name": "early", "schedule": "0 2 * * *",
                                                     "created": "2026-02-01T00:00:00+01:00",
                                                     "lastRun": "0001-01-01T00:00:00Z"}))
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("ignored")
    jobs, bad = read_jobs(str(tmp_path))
    assert [j.name for j in jobs] == ["early", "late"] and jobs[0].last_run is None
    assert sorted(p.rsplit("/", 1)[1] for p, _ in bad) == ["broken.json", "list.json"]


@pytest.mark.parametrize("env, expected", [
    ({"TZ": "America/New_York"}, "America/New_York"),
    ({"TZ": ":Europe/Berlin"}, "Europe/Berlin"),
    ({"TZ": ""}, "UTC"),
    ({"TZ": "/usr/share/zoneinfo/Asia/Tokyo"}, "Asia/Tokyo"),
])
def test_the_host_zone_is_read_as_go_reads_time_local(env, expected):
    assert host_zone(env) == expected


def test_without_tz_the_zone_comes_from_the_localtime_link_then_etc_timezone(tmp_path):
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Europe/Paris")
    assert host_zone({}, localtime=str(link)) == "Europe/Paris"
    copied = tmp_path / "copied"
    copied.write_bytes(b"TZif")
    named = tmp_path / "timezone"
    named.write_text("Asia/Kolkata\n")
    assert host_zone({}, localtime=str(copied), timezone_file=str(named)) == "Asia/Kolkata"
    assert host_zone({}, localtime=str(copied), timezone_file=str(tmp_path / "none")) is None
