"""Every number at its schema maximum works end to end: the maximums exist so that no date, delay or
sleep computed from a manifest overflows (issue 17: maxAgeDays 99999999999 broke every cleanup)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from reconciler import schemas
from reconciler.collect.runner import Registry
from reconciler.daemon.loop import Daemon
from reconciler.store.records import ExecutionRecord
from reconciler.manifest.load import load_manifest
from reconciler.plan.apply import apply
from reconciler.store.state import StateStore

from ..fakes.clock import FakeClock

T0 = datetime(2026, 6, 1, 12, 0, 30, tzinfo=timezone.utc)


def _maximum(section: str, key: str) -> int:
    return int(schemas.load("schedules")["$defs"][section]["properties"][key]["maximum"])


def _at_maximums() -> str:
    policy = {k: _maximum("policy", k) for k in ("startingDeadlineSeconds", "timeoutSeconds", "retries",
                                                  "backoffSeconds", "jitterSeconds")}
    retention = {k: _maximum("retention", k) for k in ("keepLast", "keepFailed", "maxAgeDays")}
    return ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: m}\nschedules:\n"
            f"  - {{name: big, cron: '0 13 * * *', collect: {{cluster: false, hostCollectors: [{{cpu: {{}}}}]}},\n"
            f"     policy: {policy},\n     retention: {retention},\n"
            f"     limits: {{maxBundleSizeBytes: {_maximum('limits', 'maxBundleSizeBytes')}, minFreeDiskBytes: 0}}}}\n")


def test_every_command_works_with_every_number_at_its_maximum(cli, tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(_at_maximums())
    for args in (["validate"], ["apply"]):
        result = cli(*args, "-f", str(manifest))
        assert result.code == 0, (args, result)
    for args in (["list"], ["next", "big", "-n", "3"], ["status", "big"], ["run", "big"], ["cleanup"],
                 ["history", "big"]):
        result = cli(*args)
        assert result.code == 0, (args, result)
        assert "internal error" not in result.err


def test_a_retry_after_the_most_retries_and_the_longest_backoff_waits_at_most_a_day(tmp_path):
    """backoffSeconds doubles each attempt: 86,400 x 2^99 seconds is past any date; each wait is capped."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text(_at_maximums())
    clock = FakeClock(T0)
    store = StateStore(tmp_path / "state")
    loaded = load_manifest(str(manifest))
    assert loaded.manifest is not None, loaded.diagnostics
    apply(store, loaded.manifest, now=clock.now())
    daemon = Daemon(store, clock, registry=Registry(host={}, cluster={}))
    daemon.open()
    try:
        record = {"id": "big-20260601T1300Z", "schedule": "big", "status": "failed", "trigger": "schedule",
                  "attempt": _maximum("policy", "retries"), "scheduledTime": "2026-06-01T13:00:00+00:00",
                  "error": {"class": "transient", "message": "disk full"}}
        daemon._maybe_retry(ExecutionRecord.from_json(record))
        wait = daemon._next_retry() - clock.now()
        assert timedelta(0) < wait <= timedelta(days=1)
    finally:
        daemon.close()
