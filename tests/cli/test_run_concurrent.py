"""Many `sbsched run`s of one schedule: every run gets its own execution id and its own bundle, ids are
never reused after retention removed a run, and retention keeps the runs that started last. Real
`sbsched` processes started together, host collectors only."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ..conftest import SBSCHED


def _apply(cli, write_manifest, retention: str) -> None:
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: host}}
        defaults:
          collect: {{cluster: false, hostCollectors: [{{cpu: {{}}}}]}}
        schedules:
          - name: burst
            cron: "0 3 * * *"
            retention: {retention}
    """)
    assert cli("apply", "-f", str(path)).code == 0


def _runs_at_once(count: int) -> list[dict]:
    """`count` `sbsched run burst` processes started together; their printed records."""
    procs = [subprocess.Popen([SBSCHED, "run", "burst", "-o", "json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    records = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        records.append(json.loads(out))
    return records


def _on_disk(state_dir: Path) -> tuple[list[dict], list[str]]:
    records = [json.loads(p.read_text()) for p in sorted((state_dir / "executions").glob("*/*.json"))]
    return records, sorted(p.name for p in (state_dir / "bundles" / "burst").iterdir())


def test_eight_runs_started_at_once_leave_eight_records_and_eight_bundles(cli, write_manifest, state_dir):
    _apply(cli, write_manifest, "{keepLast: 100}")

    printed = _runs_at_once(8)

    ids = {r["id"] for r in printed}
    paths = {r["bundle"]["path"] for r in printed}
    assert len(ids) == 8 and len(paths) == 8
    records, bundles = _on_disk(state_dir)
    assert {r["id"] for r in records} == ids and all(r["status"] == "completed" for r in records)
    assert {str(state_dir / "bundles" / "burst" / name) for name in bundles} == paths   # none overwritten
    assert {r["bundle"]["sha256"] for r in records} == {r["bundle"]["sha256"] for r in printed}
    state = json.loads((state_dir / "state.json").read_text())["schedules"]["burst"]["status"]
    assert state["active"] == []


def test_ids_are_never_reused_and_retention_keeps_the_runs_that_started_last(cli, write_manifest, state_dir):
    _apply(cli, write_manifest, "{keepLast: 2, keepFailed: 0, maxAgeDays: 0}")

    printed = [json.loads(cli("run", "burst", "-o", "json").out) for _ in range(4)]

    assert len({r["id"] for r in printed}) == 4   # the 3rd and 4th runs did not take a removed run's id
    records, bundles = _on_disk(state_dir)
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in printed[-2:])
    assert bundles == sorted(Path(r["bundle"]["path"]).name for r in printed[-2:])
