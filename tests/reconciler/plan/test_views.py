"""The read-only commands' documents without the command line: status, history, what recover may run."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from reconciler.base.errors import NotFound, UsageError
from reconciler.plan.views import dependents_to_run, history, next_times, recoverable, schedule_status, since_time
from reconciler.store import executions
from reconciler.store.state import StateStore
from tests.reconciler.manifests import applied

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


@pytest.fixture()
def store(tmp_path: Path) -> StateStore:
    state_store = applied(tmp_path, "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prod}\n"
                          "schedules:\n  - {name: nightly, cron: '0 2 * * *', collect: {cluster: false}}\n", NOW)
    for i, status in enumerate(("completed", "failed", "running")):
        slot = NOW - timedelta(days=i + 1)
        executions.write(state_store.root, executions.new_record(
            f"nightly-{slot:%Y%m%dT%H%M}Z", "nightly", "prod", trigger="schedule", slot=slot, dispatched=slot,
            status=status))
    return state_store


def test_status_is_the_list_item_with_spec_files_and_recent_runs(store: StateStore) -> None:
    view = schedule_status(store, "nightly", NOW)
    assert view["name"] == "nightly" and view["specFiles"] == []
    assert [r["status"] for r in view["recentRuns"]] == ["completed", "failed", "running"]
    with pytest.raises(NotFound, match="nightl"):
        schedule_status(store, "nightlx", NOW)


def test_history_lists_a_schedule_or_gives_one_execution_in_full(store: StateStore) -> None:
    assert [r["status"] for r in history(store, "nightly", limit=2).records] == ["completed", "failed"]
    assert [r["status"] for r in history(store, None, limit=9, status="failed").records] == ["failed"]
    one = history(store, "nightly-20260228T1200Z", limit=20)
    assert one.one is not None and one.records == [one.one] and one.one["status"] == "completed"
    since = since_time("36h", NOW)
    assert since == NOW - timedelta(hours=36) and len(history(store, None, limit=9, since=since).records) == 1
    with pytest.raises(NotFound):
        history(store, "nightlx", limit=1)
    with pytest.raises(UsageError):
        since_time("last tuesday", NOW)


def test_only_a_failed_or_skipped_run_of_a_schedule_still_there_is_recoverable(store: StateStore) -> None:
    assert recoverable(store, "nightly-20260227T1200Z")["status"] == "failed"
    with pytest.raises(UsageError, match="is completed: only a failed"):
        recoverable(store, "nightly-20260228T1200Z")
    with pytest.raises(NotFound, match="no execution 'nope'"):
        recoverable(store, "nope")


def test_next_gives_a_schedules_fire_times_or_a_cron_expressions(store: StateStore) -> None:
    assert [t.isoformat() for t in next_times(store.read, "nightly", cron=None, timezone=None, after=None, now=NOW,
                                              count=2)] == ["2026-03-02T02:00:00+00:00", "2026-03-03T02:00:00+00:00"]

    def unread() -> dict:
        raise AssertionError("a --cron needs no state")

    assert next_times(unread, None, cron="0 9 * * 1", timezone="Europe/Berlin", after="2026-03-01T00:00:00Z",
                      now=NOW, count=1)[0].isoformat() == "2026-03-02T09:00:00+01:00"
    for name, cron, zone in (("nightly", "0 2 * * *", None), (None, None, None), ("nightly", None, "UTC")):
        with pytest.raises(UsageError):
            next_times(store.read, name, cron=cron, timezone=zone, after=None, now=NOW, count=1)


def test_the_dependents_a_run_starts_are_those_asking_for_its_outcome_and_not_suspended() -> None:
    """Pure: `run --with-dependents` picks them as the daemon does."""
    def entry(after: list[dict[str, str]], *, suspend: bool = False, runtime: bool = False) -> dict[str, object]:
        return {"spec": {"after": after, "suspend": suspend}, "status": {"suspended": runtime}}

    state = {"schedules": {
        "up": {"spec": {"cron": "@daily"}, "status": {}},
        "on-success": entry([{"schedule": "up", "on": "success"}]),
        "on-failure": entry([{"schedule": "up", "on": "failure"}]),
        "on-any": entry([{"schedule": "up", "on": "completion"}]),
        "paused": entry([{"schedule": "up", "on": "completion"}], suspend=True),
        "paused-at-runtime": entry([{"schedule": "up", "on": "completion"}], runtime=True),
        "elsewhere": entry([{"schedule": "on-any", "on": "completion"}])}}

    assert dependents_to_run(state, "up", "completed") == ["on-any", "on-success"]
    assert dependents_to_run(state, "up", "failed") == ["on-any", "on-failure"]
    assert dependents_to_run(state, "elsewhere", "failed") == []
