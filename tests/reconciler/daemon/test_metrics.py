"""Metrics fed by a daemon on a fake clock: what each run event counts, read back from the daemon's own
registry. Runs use the test collectors of test_daemon, so nothing waits on time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY as GLOBAL_REGISTRY
from prometheus_client import generate_latest

from reconciler.daemon.loop import Daemon
from reconciler.daemon.metrics import Metrics
from reconciler.store import executions
from reconciler.store.records import ExecutionRecord

from ...prometheus_tools import needs_promtool, promtool
from ...fakes.clock import FakeClock
from .test_loop import REGISTRY, T0, closed_gate, gate, held, make, records, settle, wait_done  # noqa: F401 (closed_gate: fixture)

P = "troubleshoot_scheduler"


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 6, 1, hour, minute, second, tzinfo=timezone.utc)


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(f"{P}_{name}", labels)


def test_runs_that_complete_fail_and_are_skipped_are_counted_with_their_durations_sizes_and_lateness(tmp_path):
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("uploads cannot make a directory under a file")
    clock = FakeClock(T0)
    store, _ = make(tmp_path, f"""
        - {{name: ok, cron: "0 * * * *", collect: {{hostCollectors: [{{ok: {{}}}}]}}}}
        - name: bad
          cron: "0 * * * *"
          policy: {{retries: 0}}
          upload: {{url: "file://{not_a_dir}/bundles/"}}
          collect: {{hostCollectors: [{{ok: {{}}}}]}}
        - {{name: held, cron: "0 * * * *", collect: {{hostCollectors: [{{blocked: {{}}}}]}}}}
    """, clock)
    metrics = Metrics()
    d = Daemon(store, clock, registry=REGISTRY, metrics=metrics)
    d.open()
    assert value(metrics, "jobs_total") == 3 and value(metrics, "jobs_active") == 0
    d.tick()
    for name in ("ok", "bad", "held"):
        assert value(metrics, "next_run_timestamp_seconds", schedule=name) == at(13).timestamp()

    clock.set(at(13, 0, 1))
    d.tick()
    wait_done(d, "ok-20260601T1300Z", "bad-20260601T1300Z")
    assert held.wait(10) and set(d.active) == {"held-20260601T1300Z"}
    assert value(metrics, "jobs_active") == 1
    clock.set(at(14, 0, 1))
    d.tick()  # held is still running at its 14:00 slot: Forbid skips it
    gate.set()
    settle(d)
    d.close()

    runs = records(store)
    assert sorted((r["schedule"], r["status"]) for r in runs) == [
        ("bad", "failed"), ("bad", "failed"), ("held", "completed"), ("held", "skipped"),
        ("ok", "completed"), ("ok", "completed")]
    assert value(metrics, "executions_total", schedule="ok", status="completed") == 2
    assert value(metrics, "executions_total", schedule="bad", status="failed") == 2
    assert value(metrics, "executions_total", schedule="held", status="completed") == 1
    assert value(metrics, "executions_total", schedule="held", status="skipped") == 1
    assert value(metrics, "upload_failures_total") == 2
    assert value(metrics, "jobs_active") == 0
    ran = [r for r in runs if r["status"] != "skipped"]
    assert value(metrics, "execution_duration_seconds_count") == 5
    assert value(metrics, "execution_duration_seconds_sum") == pytest.approx(sum(r["durationSeconds"] for r in ran))
    assert value(metrics, "bundle_size_bytes_count") == 5
    assert value(metrics, "bundle_size_bytes_sum") == sum(r["bundle"]["sizeBytes"] for r in ran)
    # every run started one (fake) second after its slot
    assert value(metrics, "schedule_lateness_seconds_count") == 5
    assert value(metrics, "schedule_lateness_seconds_sum") == 5.0
    assert value(metrics, "schedule_lateness_seconds_bucket", le="0.5") == 0
    assert value(metrics, "schedule_lateness_seconds_bucket", le="1.0") == 5
    for name in ("ok", "bad", "held"):
        assert value(metrics, "next_run_timestamp_seconds", schedule=name) == at(15).timestamp()
    last_ok = max(r["endTime"] for r in runs if r["schedule"] == "ok")
    assert value(metrics, "last_success_timestamp_seconds", schedule="ok") == datetime.fromisoformat(last_ok).timestamp()
    assert value(metrics, "last_success_timestamp_seconds", schedule="held") is not None
    assert value(metrics, "last_success_timestamp_seconds", schedule="bad") is None
    assert GLOBAL_REGISTRY.get_sample_value(f"{P}_jobs_total") is None, "the global registry stays untouched"


def test_a_restarted_daemon_takes_last_success_from_the_state_and_counts_interrupted_runs_as_failed(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    first = Daemon(store, clock, registry=REGISTRY)
    first.open()
    clock.set(at(13, 0, 1))
    first.tick()
    settle(first)
    first.close()
    success = store.read()["schedules"]["h"]["status"]["lastSuccessfulTime"]
    dead = {"id": "h-20260601T1400Z", "schedule": "h", "set": "d", "trigger": "schedule", "attempt": 1,
            "scheduledTime": at(14).isoformat(), "startTime": at(14, 0, 2).isoformat(), "status": "running",
            "reason": None, "runner": {"pid": 2**22 + 7, "host": "elsewhere"}}
    executions.write(store.root, dead)

    metrics = Metrics()
    second = Daemon(store, clock, registry=REGISTRY, metrics=metrics)
    second.open()
    second.close()
    assert value(metrics, "last_success_timestamp_seconds", schedule="h") == datetime.fromisoformat(success).timestamp()
    assert value(metrics, "executions_total", schedule="h", status="failed") == 1
    assert value(metrics, "schedule_lateness_seconds_sum") == 2.0
    assert value(metrics, "execution_duration_seconds_count") == 0


def test_deleted_and_suspended_schedules_lose_their_next_run_and_interval_series(tmp_path):
    from reconciler.plan.suspension import set_suspended

    from .test_loop import reapply

    clock = FakeClock(T0)
    body = '- {name: a, cron: "0 * * * *"}\n- {name: b, cron: "0 9-17 * * 1-5"}\n'
    store, path = make(tmp_path, body, clock)
    metrics = Metrics()
    d = Daemon(store, clock, registry=REGISTRY, metrics=metrics)
    d.open()
    d.tick()
    assert value(metrics, "next_run_timestamp_seconds", schedule="b") == at(13).timestamp()
    # T0 is a Monday at noon: b's next slot (13:00) follows two one-hour gaps, as a's does
    assert value(metrics, "schedule_interval_seconds", schedule="a") == \
        value(metrics, "schedule_interval_seconds", schedule="b") == 3600
    clock.set(at(13, 0, 1))
    d.tick()  # on time: the next slot is placed without the engine
    settle(d)
    assert value(metrics, "next_run_timestamp_seconds", schedule="a") == at(14).timestamp()
    assert value(metrics, "schedule_interval_seconds", schedule="a") == 3600
    set_suspended(store, "a", suspended=True, now=clock.now(), lock_timeout=1, command="test")
    clock.advance(seconds=1)
    d.tick()
    assert value(metrics, "next_run_timestamp_seconds", schedule="a") is None
    assert value(metrics, "schedule_interval_seconds", schedule="a") is None
    reapply(store, path, path.read_text().replace('  - {name: b, cron: "0 9-17 * * 1-5"}\n', ""), clock)
    clock.advance(seconds=1)
    d.tick()
    d.close()
    assert value(metrics, "jobs_total") == 1
    assert value(metrics, "next_run_timestamp_seconds", schedule="b") is None
    assert value(metrics, "schedule_interval_seconds", schedule="b") is None

def ended(fields: dict) -> ExecutionRecord:
    """A run's record as the daemon hands it over; its id and slot made up where the test does not need them."""
    return ExecutionRecord.from_json({"id": "a-1", "scheduledTime": "2026-06-01T13:00:00+00:00", **fields})


def test_manual_runs_and_retries_have_no_lateness_and_skips_no_duration():
    metrics = Metrics()
    slot = at(13)
    base = {"schedule": "s", "scheduledTime": slot.isoformat(), "startTime": (slot + timedelta(seconds=3)).isoformat(),
            "endTime": (slot + timedelta(seconds=9)).isoformat(), "durationSeconds": 6.0, "bundle": {"sizeBytes": 10},
            "upload": {"status": "uploaded"}}
    metrics.finished(ended({**base, "trigger": "manual", "attempt": 1, "status": "completed"}))
    metrics.finished(ended({**base, "trigger": "schedule", "attempt": 2, "status": "completed"}))
    metrics.finished(ended({**base, "trigger": "catch-up", "attempt": 1, "status": "completed"}))
    metrics.finished(ended({**base, "trigger": "schedule", "attempt": 1, "status": "skipped", "startTime": None,
                      "durationSeconds": 0, "bundle": None, "upload": None}))
    assert value(metrics, "schedule_lateness_seconds_count") == 1
    assert value(metrics, "schedule_lateness_seconds_sum") == 3.0
    assert value(metrics, "execution_duration_seconds_count") == 3
    assert value(metrics, "executions_total", schedule="s", status="completed") == 3
    assert value(metrics, "executions_total", schedule="s", status="skipped") == 1
    assert value(metrics, "upload_failures_total") == 0


@needs_promtool
def test_the_exposition_passes_promtool_lint_and_keeps_the_prd_name_beside_the_lint_clean_one():
    metrics = Metrics()
    metrics.loaded({"a": "2026-06-01T13:00:00+00:00", "b": None})
    metrics.finished(ended({"schedule": "a", "status": "failed", "reason": "bundle-too-large", "durationSeconds": 2.0,
                            "bundle": {"sizeBytes": 2048}, "upload": {"status": "failed"}}))
    metrics.unscheduled("b")
    text = generate_latest(metrics.registry).decode()
    checked = promtool("check", "metrics", stdin=text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert value(metrics, "jobs") == 2 and value(metrics, "jobs_total") == 2
    assert f"# TYPE {P}_jobs gauge" in text and f"# TYPE {P}_jobs_total untyped" in text


def test_every_schedule_starts_with_zeroed_counters_so_that_its_first_failure_is_an_increase():
    """Prometheus' increase() cannot see a series whose first scrape already reads 1: without the
    zeros, a schedule's first failure (or limit hit) would never fire the alerts built on them."""
    metrics = Metrics()
    metrics.loaded({"a": None, "b": "2026-06-01T13:00:00+00:00"})
    for name in ("a", "b"):
        for status in ("completed", "failed"):
            assert value(metrics, "executions_total", schedule=name, status=status) == 0
        assert value(metrics, "executions_total", schedule=name, status="skipped") is None, "rare, alerted on by none"
        for reason in ("bundle-too-large", "low-disk"):
            assert value(metrics, "resource_limit_hits_total", schedule=name, reason=reason) == 0
    metrics.finished(ended({"schedule": "a", "status": "failed"}))
    metrics.loaded({"a": None})
    assert value(metrics, "executions_total", schedule="a", status="failed") == 1, "a reload keeps the counts"
