"""The scheduling decisions on a fake clock: catch-up, deadlines, jitter, suspend/resume, DST over a year."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from reconciler.manifest.normalize import fill_defaults
from reconciler.timing import cron, decisions

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def record(cron_expr="0 * * * *", tz="UTC", created=T0, **policy):
    spec = fill_defaults({"cron": cron_expr, "timezone": tz, "policy": policy})
    return {"set": "s", "spec": spec, "metadata": {"createdTime": created.isoformat()},
            "status": {"lastScheduleTime": None, "suspended": False, "active": []}}


def ran(rec, slot):
    rec["status"]["lastScheduleTime"] = slot.isoformat()


def test_nothing_is_due_before_the_first_slot_and_the_wake_is_that_slot():
    decision = decisions.decide("a", record(), T0 + timedelta(minutes=30))
    assert decision.due is None and decision.wake == T0 + timedelta(hours=1)


def test_the_slot_is_due_at_its_time_on_schedule():
    decision = decisions.decide("a", record(), T0 + timedelta(hours=1, milliseconds=100))
    assert decision.due.slot == T0 + timedelta(hours=1) and decision.due.trigger == "schedule"
    assert decision.due.id == "a-20260301T0100Z" and decision.wake == T0 + timedelta(hours=2)


def test_a_new_schedule_never_fires_for_slots_before_it_was_applied():
    applied = T0 + timedelta(hours=5, minutes=30)
    assert decisions.decide("a", record(created=applied), applied + timedelta(minutes=1)).due is None


def test_after_downtime_only_the_latest_missed_slot_runs_as_catch_up():
    rec = record()
    ran(rec, T0 + timedelta(hours=1))
    decision = decisions.decide("a", rec, T0 + timedelta(hours=7, minutes=20))
    assert decision.due.slot == T0 + timedelta(hours=7) and decision.due.trigger == "catch-up"
    assert decision.warning is None


def test_more_than_100_missed_slots_warn_and_still_pick_the_latest():
    rec = record("* * * * *")
    decision = decisions.decide("a", rec, T0 + timedelta(days=3, seconds=30))
    assert decision.due.slot == T0 + timedelta(days=3) and "more than 100" in decision.warning


def test_starting_deadline_drops_a_slot_that_is_too_old():
    rec = record(startingDeadlineSeconds=300)
    decision = decisions.decide("a", rec, T0 + timedelta(hours=1, minutes=6))
    assert decision.due is None and decision.missed[0][0] == T0 + timedelta(hours=1)
    assert "starting deadline (300s)" in decision.missed[0][1]
    assert decisions.decide("a", rec, T0 + timedelta(hours=1, minutes=4)).due is not None


def test_a_recorded_slot_is_never_started_again():
    decision = decisions.decide("a", record(), T0 + timedelta(hours=1, seconds=1), recorded=lambda due: due.id == "a-20260301T0100Z")
    assert decision.due is None and decision.wake == T0 + timedelta(hours=2)


@pytest.mark.parametrize("name", ["a", "nightly", "x" * 52])
def test_jitter_is_stable_bounded_and_never_reaches_the_next_slot(name):
    rec = record("*/5 * * * *", jitterSeconds=3600)
    slot = T0 + timedelta(minutes=5)
    start = decisions.run_time(name, rec["spec"], slot)
    assert slot <= start < slot + timedelta(minutes=5) and start == decisions.run_time(name, rec["spec"], slot)
    assert decisions.decide(name, rec, start - timedelta(milliseconds=1)).due is None
    assert decisions.decide(name, rec, start).due.slot == slot


def test_jitter_spreads_names():
    spec = record(jitterSeconds=600)["spec"]
    delays = {decisions.run_time(f"s{i}", spec, T0 + timedelta(hours=1)) for i in range(50)}
    assert len(delays) > 30


def test_suspended_schedules_fire_nothing_and_resume_starts_from_the_resume_time():
    rec = record()
    rec["status"]["suspended"] = True
    assert decisions.decide("a", rec, T0 + timedelta(hours=10)) == decisions.Decision()
    rec["status"]["suspended"] = False
    rec["status"]["resumedTime"] = (T0 + timedelta(hours=10, minutes=1)).isoformat()
    assert decisions.decide("a", rec, T0 + timedelta(hours=10, minutes=2)).due is None
    assert decisions.decide("a", rec, T0 + timedelta(hours=11, seconds=1)).due.slot == T0 + timedelta(hours=11)


def test_a_cron_change_counts_from_the_change():
    rec = record("0 * * * *")
    ran(rec, T0 + timedelta(hours=1))
    rec["spec"]["cron"] = "30 * * * *"
    rec["metadata"]["cronChangedTime"] = (T0 + timedelta(hours=1, minutes=40)).isoformat()
    assert decisions.decide("a", rec, T0 + timedelta(hours=1, minutes=45)).due is None
    assert decisions.decide("a", rec, T0 + timedelta(hours=2, minutes=30)).due.slot == T0 + timedelta(hours=2, minutes=30)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
@pytest.mark.parametrize("expr", ["30 2 * * *", "0 * * * *", "15 1 * * 0", "*/20 1-3 * * *"])
def test_a_simulated_year_fires_exactly_the_cron_slots_once(zone, expr):
    """Drive the decisions as the daemon would (wake at each wake time) through 2026, DST days included."""
    tz = ZoneInfo(zone)
    start = datetime(2026, 1, 1, tzinfo=tz)
    rec = record(expr, zone, created=start)
    now, fired = start, []
    end = datetime(2027, 1, 1, tzinfo=tz)
    while now < end:
        decision = decisions.decide("y", rec, now)
        if decision.due:
            fired.append(decision.due.slot)
            ran(rec, decision.due.slot)
            continue
        now = decision.wake
    expected = []
    for fire in cron.parse(expr).iter_after(start, tz):
        if fire >= end:
            break
        expected.append(fire)
    assert [f.timestamp() for f in fired] == [e.timestamp() for e in expected]  # instants, not wall times
    assert len({f.timestamp() for f in fired}) == len(fired)  # no slot twice


@pytest.mark.parametrize(("expr", "tz", "slot", "hours"), [
    ("0 * * * *", "UTC", datetime(2026, 3, 4, 10, tzinfo=UTC), 1),                 # regular: its period
    ("0 2 * * *", "UTC", datetime(2026, 3, 4, 2, tzinfo=UTC), 24),
    ("0 9-17 * * 1-5", "UTC", datetime(2026, 3, 2, 10, tzinfo=UTC), 64),           # Mon 10:00: the weekend
    ("0 9-17 * * 1-5", "UTC", datetime(2026, 3, 2, 11, tzinfo=UTC), 1),            # Mon 11:00: two 1 h gaps
    ("0 0 1 1 *", "UTC", datetime(2027, 1, 1, tzinfo=UTC), 365 * 24),
    # 02:30 falls in the spring-forward gap of 29 March: that run starts at 03:00, 23.5 h after the 28th's
    ("30 2 * * *", "Europe/Berlin", datetime(2026, 3, 30, 0, 30, tzinfo=UTC), 23.5),
    ("30 2 * * *", "Europe/Berlin", datetime(2026, 3, 31, 0, 30, tzinfo=UTC), 24),
])
def test_the_interval_before_a_slot_is_the_longer_of_the_two_gaps_that_lead_to_it(expr, tz, slot, hours):
    assert decisions.interval_before(expr, tz, slot) == timedelta(hours=hours)


def test_the_interval_looks_back_ten_years_at_most():
    assert decisions.interval_before("0 0 29 2 *", "UTC", datetime(2028, 2, 29, tzinfo=UTC)) == timedelta(days=1461)
    # 2104's previous 29 February is in 2096 (2100 is no leap year), the one before in 2092
    assert decisions.interval_before("0 0 29 2 *", "UTC", datetime(2104, 2, 29, tzinfo=UTC)) is None
