"""Schedules `after:` another run when its run ends that way: the loop on a fake clock, real runs."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ...fakes.clock import FakeClock
from .test_loop import T0, closed_gate, daemon, gate, make, records, settle, wait_done  # noqa: F401 (fixture)


def test_b_runs_after_a_succeeds_and_records_trigger_dependency_and_the_run_it_followed(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: a, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}
        - {name: b, after: [{schedule: a}], collect: {hostCollectors: [{ok: {}}]}}
        - {name: c, after: [{schedule: b, on: completion}], collect: {hostCollectors: [{ok: {}}]}}
        - {name: on-failure, after: [{schedule: a, on: failure}], collect: {hostCollectors: [{ok: {}}]}}
    """, clock)
    d = daemon(store, clock)
    assert d.tick() == datetime(2026, 6, 1, 13, 0, tzinfo=timezone.utc)   # b, c, on-failure: no wake of their own
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    settle(d)
    runs = {r["schedule"]: r for r in records(store)}
    assert sorted(runs) == ["a", "b", "c"]
    assert (runs["a"]["trigger"], runs["a"]["status"]) == ("schedule", "completed")
    b = runs["b"]
    assert (b["id"], b["trigger"], b["status"]) == ("b-after-a-20260601T1300Z", "dependency", "completed")
    assert b["after"] == {"schedule": "a", "executionId": "a-20260601T1300Z", "status": "completed"}
    assert runs["c"]["after"]["executionId"] == "b-after-a-20260601T1300Z"
    status = store.read()["schedules"]["b"]["status"]
    assert status["lastResult"] == "completed" and status["active"] == []
    assert status["lastScheduleTime"] is None and status["nextRunTime"] is None   # no cron: no slot moved
    d.tick()
    settle(d)
    assert len(records(store)) == 3   # one upstream run, one run of each dependent
    d.close()


def test_a_suspended_dependent_does_not_run(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: a, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}
        - {name: b, suspend: true, after: [{schedule: a}], collect: {hostCollectors: [{ok: {}}]}}
    """, clock)
    d = daemon(store, clock)
    d.tick()
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    settle(d)
    assert [r["schedule"] for r in records(store)] == ["a"]
    d.close()


def test_on_failure_runs_once_after_the_last_retry_and_on_success_does_not(tmp_path, monkeypatch):
    from reconciler.run import bundle

    real_archive = bundle.archive

    def full_disk_for_a(staging, destination):
        if f"{tmp_path}/state/bundles/a/" in str(destination):
            raise OSError(28, "No space left on device")   # transient: the policy retries it
        return real_archive(staging, destination)

    monkeypatch.setattr(bundle, "archive", full_disk_for_a)
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: a, cron: "0 13 * * *", policy: {retries: 1, backoffSeconds: 10}, collect: {hostCollectors: [{ok: {}}]}}
        - {name: b, after: [{schedule: a}], collect: {hostCollectors: [{ok: {}}]}}
        - {name: page, after: [{schedule: a, on: failure}], collect: {hostCollectors: [{ok: {}}]}}
    """, clock)
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    assert [(r["schedule"], r["status"]) for r in records(store)] == [("a", "retrying")]   # not ended yet
    clock.set(d._next_retry())
    d.tick()
    settle(d)
    d.close()
    runs = {r["schedule"]: r for r in records(store)}
    assert sorted(runs) == ["a", "page"]
    assert (runs["a"]["status"], runs["a"]["attempt"]) == ("failed", 2)
    assert runs["page"]["after"] == {"schedule": "a", "executionId": "a-20260601T1300Z", "status": "failed"}


def test_reconcile_once_waits_for_the_runs_after_those_it_started(tmp_path):
    from reconciler.daemon.loop import Daemon

    from .test_loop import REGISTRY

    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: a, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}
        - {name: b, after: [{schedule: a}], collect: {hostCollectors: [{ok: {}}]}}
    """, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    finished = Daemon(store, clock, registry=REGISTRY, once=True).run()
    assert sorted((r["schedule"], r["status"]) for r in finished) == [("a", "completed"), ("b", "completed")]


def test_a_dependency_run_counts_no_lateness_it_has_no_slot():
    from reconciler.daemon.metrics import lateness
    from reconciler.store.records import ExecutionRecord

    started = {"id": "b-1", "schedule": "b", "status": "completed", "attempt": 1,
               "scheduledTime": "2026-06-01T13:00:00+00:00", "startTime": "2026-06-01T13:00:09+00:00"}
    assert lateness(ExecutionRecord.from_json({**started, "trigger": "schedule"})) == 9
    assert lateness(ExecutionRecord.from_json({**started, "trigger": "dependency"})) is None


@pytest.mark.parametrize(("policy", "expected"), [
    # its own slot's run still going: the dependency run is skipped, and says so in a record, as a slot's would
    ("Forbid", [("b-20260601T1300Z", "schedule", "completed", None),
                ("b-after-a-20260601T1300Z", "dependency", "skipped", "concurrency")]),
    ("Replace", [("b-20260601T1300Z", "schedule", "failed", "replaced by b-after-a-20260601T1300Z"),
                 ("b-after-a-20260601T1300Z", "dependency", "completed", None)]),
])
@pytest.mark.usefixtures("closed_gate")
def test_a_dependent_still_running_follows_its_concurrency_policy_and_leaves_a_record(tmp_path, policy, expected):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, f"""
        - {{name: a, cron: "0 * * * *", collect: {{hostCollectors: [{{ok: {{}}}}]}}}}
        - name: b
          cron: "0 * * * *"
          after: [{{schedule: a}}]
          policy: {{concurrency: {policy}}}
          collect: {{hostCollectors: [{{blocked: {{}}}}]}}
    """, clock)
    d = daemon(store, clock)
    d.tick()
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    wait_done(d, "a-20260601T1300Z")   # its dependents were started (or skipped) before its run was done with
    gate.set()
    settle(d)
    d.close()
    runs = [(r["id"], r["trigger"], r["status"], r["reason"]) for r in records(store) if r["schedule"] == "b"]
    assert sorted(runs) == expected
    skipped = [r for r in records(store) if r["status"] == "skipped"]
    assert all(r["after"] == {"schedule": "a", "executionId": "a-20260601T1300Z", "status": "completed"}
               and "b-20260601T1300Z" in r["error"]["message"] for r in skipped)
