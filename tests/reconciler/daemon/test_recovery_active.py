"""Found by `make stress` (stress/kill9.py): a run's record becomes final on disk before the daemon's
batched status write (0.2 s later) removes it from its schedule's `active`; a kill -9 in between left the
id in `active` forever (and lastResult stale), because recovery only looked at records still `running`.
Recovery now settles every `active` id whose run has ended from its record."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from reconciler.store import executions

from .test_loop import FakeClock, T0, daemon, make, records


def _listed_active(store, clock, *ids):
    state = store.read()
    state["schedules"]["h"]["status"]["active"] = list(ids)
    with store.locked(timeout=1, command="test", now=clock.now()):
        store.write(state)


def _record(run_id: str, slot: str, status: str, **more):
    return {"id": run_id, "schedule": "h", "set": "d", "trigger": "schedule", "scheduledTime": slot,
            "startTime": slot, "endTime": slot, "status": status, "reason": None, "attempt": 1,
            "runner": {"pid": 2**22 + 7, "host": os.uname().nodename}, **more}


def test_an_active_id_whose_record_completed_is_settled_at_start(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    done = _record("h-20260601T1100Z", "2026-06-01T11:00:00+00:00", "completed")
    executions.write(store.root, done)
    _listed_active(store, clock, done["id"])
    d = daemon(store, clock)
    d.close()
    status = store.read()["schedules"]["h"]["status"]
    assert status["active"] == []
    assert status["lastResult"] == "completed"
    assert status["lastSuccessfulTime"] == done["endTime"]
    assert status["lastScheduleTime"] == done["scheduledTime"]
    assert [r["status"] for r in records(store)] == ["completed"]   # the record itself is left alone


def test_an_active_id_without_any_record_is_dropped_and_a_live_run_is_kept(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    live = _record("h-20260601T1100Z-manual-1", "2026-06-01T11:00:00+00:00", "running",
                   trigger="manual", runner={"pid": os.getppid(), "host": os.uname().nodename})
    executions.write(store.root, live)
    _listed_active(store, clock, "h-20260601T1000Z", live["id"])
    d = daemon(store, clock)
    d.close()
    assert store.read()["schedules"]["h"]["status"]["active"] == [live["id"]]


def test_recovery_reads_the_state_one_record_at_a_time(tmp_path, monkeypatch):
    """The settling above first parsed the whole state.json at every start: with 10,000 schedules the
    idle daemon's peak RSS went from 58 to 107 MiB (make bench). The daemon never holds the parsed state."""
    from reconciler.store.state import StateStore

    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)

    def whole_state(self):
        raise AssertionError("the daemon parsed the whole state.json")

    monkeypatch.setattr(StateStore, "read", whole_state)
    d = daemon(store, clock)
    d.close()
