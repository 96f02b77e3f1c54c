"""The daemon behind the PRD's recovery procedures: a retry it will not make ends failed, saying why;
`--recover` runs each schedule's cut-short latest run again as a new run linked to the old one; and
`--check-interval` bounds how long the loop sleeps."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

from reconciler.daemon.loop import Daemon
from reconciler.run import bundle
from reconciler.store import executions

from ...fakes.clock import FakeClock
from .test_loop import REGISTRY, T0, closed_gate, daemon, make, records, settle  # noqa: F401 (closed_gate)

FLAKY = """
    - name: r
      cron: "0 13 * * *"
      policy: {retries: 2, backoffSeconds: 10}
      collect: {hostCollectors: [{ok: {}}]}
"""


def failing_archive(monkeypatch) -> None:
    def full(staging, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle, "archive", full)


def test_a_retry_left_waiting_when_the_daemon_stops_ends_failed_saying_so(tmp_path, monkeypatch):
    failing_archive(monkeypatch)
    clock = FakeClock(T0)
    store, _ = make(tmp_path, FLAKY, clock)
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    assert records(store)[0]["status"] == "retrying"
    d.close()
    (record,) = records(store)
    assert record["status"] == "failed" and "nextAttemptTime" not in record
    assert record["error"]["message"].endswith("(not retried: the daemon stopped)")


def test_a_retrying_record_left_by_a_dead_daemon_is_settled_at_start(tmp_path, monkeypatch):
    failing_archive(monkeypatch)
    clock = FakeClock(T0)
    store, _ = make(tmp_path, FLAKY, clock)
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    d.retrying.clear()   # as if killed -9: close() never settles it
    d.close()
    assert records(store)[0]["status"] == "retrying"
    again = daemon(store, clock)
    (record,) = records(store)
    assert record["status"] == "failed" and "the daemon that was to retry it is gone" in record["error"]["message"]
    again.close()


def test_recover_runs_each_cut_short_latest_run_again_linked_to_it(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: cut, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}
        - {name: fine, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}
    """, clock)
    slot = datetime(2026, 6, 1, 13, 0, tzinfo=timezone.utc)
    for name, status, reason in (("cut", "failed", "shutdown"), ("fine", "completed", None)):
        record = executions.new_record(f"{name}-20260601T1300Z", name, "d", trigger="schedule", slot=slot,
                                       dispatched=slot, status=status)
        record.update(reason=reason, startTime=slot.isoformat(), endTime=slot.isoformat())
        executions.write(store.root, record)
    clock.set(datetime(2026, 6, 1, 13, 30, tzinfo=timezone.utc))
    d = daemon(store, clock, recover_runs=True)
    settle(d)
    d.close()
    new = [r for r in records(store) if r.get("recoveredFrom")]
    assert [(r["schedule"], r["trigger"], r["status"], r["recoveredFrom"]) for r in new] == [
        ("cut", "manual", "completed", "cut-20260601T1300Z")]
    assert new[0]["id"].startswith("cut-20260601T1330Z-manual-")


def test_check_interval_caps_the_sleep_when_nothing_is_due_for_hours(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: later, cron: "0 0 1 1 *", collect: {hostCollectors: [{ok: {}}]}}', clock)
    waits: list[float | None] = []

    class Recording(threading.Event):
        def wait(self, timeout=None):
            waits.append(timeout)
            return True

    d = Daemon(store, clock, registry=REGISTRY, max_sleep=5.0, wakeup=Recording())
    d.open()
    d.tick()   # places the schedule: due next January
    d._sleep_until_next(clock.now())
    d.close()
    assert waits == [5.0]
