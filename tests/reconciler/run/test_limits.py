"""limits: {maxBundleSizeBytes, minFreeDiskBytes}. A run whose bundle would pass the size stops collecting,
keeps what it has and fails (bundle-too-large); one that would start with too little free disk is skipped
(low-disk); the metrics and the webhooks say so."""
from __future__ import annotations

import json
import tarfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.base.clock import SystemClock
from reconciler.collect import Budget, BundleTooLarge, GuardedOutput
from reconciler.daemon.metrics import Metrics
from reconciler.run.executor import RunOptions, execute, free_disk_bytes
from reconciler.store import executions
from reconciler.store.records import ExecutionRecord
from reconciler.store.state import StateStore
from tests.delivery_fixtures import http_sink, sink  # noqa: F401

MIB = 1024 * 1024


def apply(cli, write_manifest, body: str) -> None:
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: limited}}
        defaults:
          collect: {{cluster: false}}
        schedules:
{body}
    """)
    result = cli("apply", "-f", str(path))
    assert result.code == 0, result.err


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "big.bin"
    path.parent.mkdir()
    with open(path, "wb") as handle:
        for _ in range(8):
            handle.write(b"0123456789abcdef" * (MIB // 16))   # 8 MiB
    return path


def test_a_copy_past_the_size_limit_stops_keeps_what_it_has_and_fails(cli, write_manifest, state_dir, big_file,
                                                                      sink):  # noqa: F811
    apply(cli, write_manifest, f"""
          - name: big
            cron: "@daily"
            limits: {{maxBundleSizeBytes: {2 * MIB}}}
            notify: [{{webhook: "{sink.url}/hook", on: [failure]}}]
            collect:
              hostCollectors:
                - copy: {{collectorName: data, path: {big_file}}}
                - copy: {{collectorName: more, path: {big_file}}}
    """)
    record = execute(StateStore(state_dir), "big", SystemClock(), RunOptions(max_workers=1)).to_json()
    assert (record["status"], record["reason"], record["error"]["class"]) == ("failed", "bundle-too-large",
                                                                            "permanent")
    assert "limits.maxBundleSizeBytes (2,097,152 bytes)" in record["error"]["message"]
    with tarfile.open(record["bundle"]["path"]) as archive:
        sizes = {m.name.split("/", 1)[1]: m.size for m in archive.getmembers() if m.isfile()}
    assert sizes["host-collectors/data/big.bin"] == 2 * MIB               # the part that fit is kept
    assert "host-collectors/more/big.bin" not in sizes                     # the next collector never started
    assert "collector-errors/data-error.json" in sizes
    results = {r["name"]: r for r in record["bundle"]["collectorResults"]}
    assert results["data"]["status"] == "failed" and "maxBundleSizeBytes" in results["data"]["reason"]
    assert results["more"]["status"] in ("skipped", "failed")
    (hook,) = sink.wait_for(1)
    assert (hook.json()["status"], hook.json()["reason"]) == ("failed", "bundle-too-large")
    state = json.loads((state_dir / "state.json").read_text())["schedules"]["big"]["status"]
    assert state["lastResult"] == "failed"


def test_a_bundle_under_the_limit_completes(cli, write_manifest, state_dir, big_file):
    apply(cli, write_manifest, f"""
          - name: fits
            cron: "@daily"
            limits: {{maxBundleSizeBytes: {9 * MIB}}}
            collect:
              hostCollectors: [{{copy: {{collectorName: data, path: {big_file}}}}}]
    """)
    record = execute(StateStore(state_dir), "fits", SystemClock(), RunOptions()).to_json()
    assert (record["status"], record["reason"]) == ("completed", None)


def test_too_little_free_disk_skips_the_run_before_it_collects(cli, write_manifest, state_dir, sink):  # noqa: F811
    apply(cli, write_manifest, f"""
          - name: tight
            cron: "@daily"
            limits: {{minFreeDiskBytes: {100 * MIB}}}
            notify: [{{webhook: "{sink.url}/hook"}}]
            collect:
              hostCollectors: [{{cpu: {{}}}}]
    """)
    seen: list[Path] = []

    def reading(path: Path) -> int:
        seen.append(path)
        return 10 * MIB

    record = execute(StateStore(state_dir), "tight", SystemClock(), RunOptions(free_disk=reading)).to_json()
    assert (record["status"], record["reason"], record["startTime"], record["bundle"]) == ("skipped", "low-disk",
                                                                                         None, None)
    assert "only 10,485,760 bytes free" in record["error"]["message"]
    assert seen == [state_dir / "bundles" / "tight"]
    assert not (state_dir / "bundles" / "tight").exists()
    assert [r["id"] for r in executions.history(state_dir, "tight")] == [record["id"]]
    (hook,) = sink.wait_for(1)
    body = hook.json()
    assert (body["status"], body["reason"], body["event"]) == ("skipped", "low-disk", "failure")
    assert "was skipped (low-disk)" in body["text"]
    state = json.loads((state_dir / "state.json").read_text())["schedules"]["tight"]["status"]
    assert state["lastResult"] == "skipped" and state["active"] == []
    enough = execute(StateStore(state_dir), "tight", SystemClock(), RunOptions(free_disk=lambda _: 200 * MIB)).to_json()
    assert enough["status"] == "completed"


def test_the_cli_run_exits_1_on_a_low_disk_skip(cli, write_manifest, monkeypatch):
    apply(cli, write_manifest, """
          - name: tight
            cron: "@daily"
            limits: {minFreeDiskBytes: 1000}
            collect: {hostCollectors: [{cpu: {}}]}
    """)
    monkeypatch.setattr("reconciler.run.executor.free_disk_bytes", lambda path: 999)
    result = cli("run", "tight")
    assert result.code == 1 and "skipped (low-disk)" in result.out


def test_metrics_count_limit_hits_by_reason():
    metrics = Metrics()
    now = datetime(2026, 3, 1, tzinfo=timezone.utc).isoformat()
    for status, reason in (("failed", "bundle-too-large"), ("skipped", "low-disk"), ("skipped", "low-disk"),
                           ("failed", "timeout")):
        metrics.finished(ExecutionRecord.from_json({"id": "s-1", "schedule": "s", "status": status, "reason": reason,
                                                    "trigger": "schedule", "attempt": 1, "scheduledTime": now,
                                                    "startTime": now, "endTime": now, "durationSeconds": 1}))
    page = metrics.registry.get_sample_value
    assert page("troubleshoot_scheduler_resource_limit_hits_total", {"schedule": "s", "reason": "low-disk"}) == 2
    assert page("troubleshoot_scheduler_resource_limit_hits_total",
                {"schedule": "s", "reason": "bundle-too-large"}) == 1
    assert page("troubleshoot_scheduler_executions_total", {"schedule": "s", "status": "skipped"}) == 2


def test_the_budget_is_shared_and_the_write_that_passes_it_keeps_what_fits(tmp_path: Path):
    budget = Budget(10)
    one = GuardedOutput(tmp_path, threading.Event(), budget)
    two = GuardedOutput(tmp_path, threading.Event(), budget)
    with one.open("a.txt") as handle:
        handle.write(b"123456")
    with two.open("b.txt") as handle, pytest.raises(BundleTooLarge):
        handle.write(b"abcdef")
    assert (tmp_path / "b.txt").read_bytes() == b"abcd" and budget.exceeded.is_set()
    with pytest.raises(BundleTooLarge):
        one.open("c.txt")
    assert budget.measure(tmp_path) == 10


def test_free_disk_is_read_on_the_nearest_existing_directory(tmp_path: Path):
    assert free_disk_bytes(tmp_path / "not" / "yet" / "there") > 0
