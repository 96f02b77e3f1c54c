"""A real background daemon with --metrics-addr, scraped over HTTP on 127.0.0.1 after runs complete,
fail (their upload fails) and are skipped; its health endpoints and `daemon status`; its JSON log.

No real minute boundary is waited for: the schedules' creation is moved two years back in state.json
(as if applied then, with the daemon down since), so the daemon starts each one's latest missed
slot as a catch-up run the moment it starts. A skip needs a second slot of a schedule whose run is
still going: the held schedule's cron is then changed in state.json (under the lock, as an apply
would, but without the cron-changed stamp), and a reload finds a new missed slot while its first run
waits on a FIFO that the test opens when it is done."""
from __future__ import annotations

import errno
import json
import os
import stat
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler.store.state import StateStore

from ..conftest import run_sbsched, wait_until

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
P = "troubleshoot_scheduler"


def history(env) -> list[dict]:
    return json.loads(run_sbsched("history", "-n", "100", "-o", "json", env=env).out)["items"]


def one(runs: list[dict], schedule: str, status: str) -> dict | None:
    found = [r for r in runs if r["schedule"] == schedule and r["status"] == status]
    return found[0] if len(found) == 1 else None


def scrape(address: str) -> dict[tuple[str, frozenset], float]:
    with NO_PROXY.open(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def get(address: str, path: str) -> tuple[int, dict]:
    try:
        with NO_PROXY.open(f"http://{address}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def edit_state(root, change) -> None:
    store = StateStore(root)
    with store.locked(timeout=10, command="test: edit state", now=datetime.now(timezone.utc)):
        state = store.read()
        for name, record in state["schedules"].items():
            change(name, record)
        state["serial"] += 1
        store.write(state)


def stamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def next_yearly(month_day: tuple[int, int], now: datetime) -> float:
    this_year = datetime(now.year, *month_day, tzinfo=timezone.utc)
    return (this_year if this_year > now else this_year.replace(year=now.year + 1)).timestamp()


def test_a_daemon_serves_every_metric_with_its_labels_and_values_and_healthy_probes(write_manifest, state_dir,
                                                                                    tmp_path):
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("an upload cannot make a directory under a file\n")
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    manifest = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: obs}}
        defaults:
          collect: {{cluster: false}}
          policy: {{concurrency: Forbid, retries: 0}}
        schedules:
          - name: good
            cron: "0 0 1 1 *"
            collect: {{hostCollectors: [{{cpu: {{}}}}]}}
          - name: broken
            cron: "0 0 1 1 *"
            upload: {{url: "file://{not_a_dir}/bundles/"}}
            collect: {{hostCollectors: [{{cpu: {{}}}}]}}
          - name: held
            cron: "0 0 1 1 *"
            collect: {{hostCollectors: [{{run: {{collectorName: wait, command: cat, args: ["{fifo}"], timeout: 2m}}}}]}}
    """)
    assert run_sbsched("apply", "-f", str(manifest), env=env).code == 0
    long_ago = (datetime.now(timezone.utc) - timedelta(days=800)).isoformat(timespec="seconds")
    edit_state(state_dir, lambda name, record: record["metadata"].update(createdTime=long_ago))

    started = run_sbsched("daemon", "start", "--metrics-addr", "127.0.0.1:0", "--log-format", "json", env=env)
    assert started.code == 0, started.err
    info = json.loads((state_dir / "daemon.pid").read_text())
    address = info["metrics"]
    assert address.startswith("127.0.0.1:") and address != "127.0.0.1:0"
    assert f"http://{address}/metrics" in started.out
    try:
        wait_until(lambda: (runs := history(env)) and one(runs, "good", "completed") and one(runs, "broken", "failed")
                   and one(runs, "held", "running"), timeout=60, what="the catch-up runs")
        edit_state(state_dir, lambda name, record: name == "held" and record["spec"].update(cron="0 0 2 1 *"))
        assert run_sbsched("daemon", "reload", env=env).code == 0
        wait_until(lambda: one(history(env), "held", "skipped"), timeout=30, what="the held schedule's skip")

        runs = history(env)
        good, broken, skipped = one(runs, "good", "completed"), one(runs, "broken", "failed"), one(runs, "held", "skipped")
        assert broken["upload"]["status"] == "failed" and skipped["reason"] == "concurrency"
        now = datetime.now(timezone.utc)
        m = scrape(address)

        def sample(name: str, **labels: str) -> float | None:
            return m.get((f"{P}_{name}", frozenset(labels.items())))

        assert sample("jobs") == sample("jobs_total") == 3
        assert sample("jobs_active") == 1
        counted = {labels: v for (name, labels), v in m.items() if name == f"{P}_executions_total" and v}
        assert counted == {frozenset({"schedule": "good", "status": "completed"}.items()): 1,
                           frozenset({"schedule": "broken", "status": "failed"}.items()): 1,
                           frozenset({"schedule": "held", "status": "skipped"}.items()): 1}
        assert sample("execution_duration_seconds_count") == 2
        assert sample("execution_duration_seconds_sum") == pytest.approx(good["durationSeconds"]
                                                                          + broken["durationSeconds"])
        assert sample("bundle_size_bytes_count") == 2
        assert sample("bundle_size_bytes_sum") == good["bundle"]["sizeBytes"] + broken["bundle"]["sizeBytes"]
        late = sum(stamp(r["startTime"]) - stamp(r["scheduledTime"]) for r in (good, broken))
        assert sample("schedule_lateness_seconds_count") == 2
        assert sample("schedule_lateness_seconds_sum") == pytest.approx(late)
        assert sample("schedule_lateness_seconds_bucket", le="+Inf") == 2
        assert sample("next_run_timestamp_seconds", schedule="good") == next_yearly((1, 1), now)
        assert sample("next_run_timestamp_seconds", schedule="broken") == next_yearly((1, 1), now)
        assert sample("next_run_timestamp_seconds", schedule="held") == next_yearly((1, 2), now)
        successes = {dict(labels)["schedule"]: v for (name, labels), v in m.items()
                     if name == f"{P}_last_success_timestamp_seconds"}
        assert successes == {"good": stamp(good["endTime"])}
        assert sample("upload_failures_total") == 1

        for path, checks in (("/healthz", {"process", "loop"}), ("/readyz", {"state", "lock", "loop"})):
            code, report = get(address, path)
            assert (code, report["status"], set(report["checks"])) == (200, "ok", checks), report
            assert all(c["status"] == "ok" for c in report["checks"].values())
        status = run_sbsched("daemon", "status", "-o", "json", env=env)
        view = json.loads(status.out)
        assert status.code == 0 and view["metrics"] == address
        assert (view["health"]["healthz"]["status"], view["health"]["readyz"]["status"]) == ("ok", "ok")
        text = run_sbsched("daemon", "status", env=env).out
        assert f"Metrics:   http://{address}/metrics" in text and "Ready:     ok (state ok; lock ok; loop ok" in text

        wait_until(lambda: _release(fifo), what="the held run's cat to open its FIFO")
        wait_until(lambda: one(history(env), "held", "completed"), timeout=30, what="the held run to complete")
        wait_until(lambda: scrape(address).get((f"{P}_jobs_active", frozenset())) == 0, what="no run in flight")
        m = scrape(address)
        held = one(history(env), "held", "completed")
        assert m[(f"{P}_executions_total", frozenset({"schedule": "held", "status": "completed"}.items()))] == 1
        assert m[(f"{P}_last_success_timestamp_seconds", frozenset({"schedule": "held"}.items()))] == \
            stamp(held["endTime"])
        assert m[(f"{P}_execution_duration_seconds_count", frozenset())] == 3
    finally:
        stopped = run_sbsched("daemon", "stop", "--grace", "5", env=env)
    assert stopped.code == 0

    log = state_dir / "logs" / "daemon.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    ids = {run["id"] for run in (good, broken, skipped, held)}
    about_runs = [line for line in lines if any(i in line["message"] for i in ids)]
    assert all(line.get("execution_id") in ids and line["execution_id"].startswith(line["schedule"] + "-")
               for line in about_runs), about_runs
    assert {line["execution_id"] for line in about_runs} == ids


def _release(fifo) -> bool:
    """Open the FIFO for writing once its reader (the held run's `cat`) has it open, and close it: EOF."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader yet
            return False
        raise
    os.close(fd)
    return True
