"""Execution records on disk: executions/YYYY-MM/<execution-id>.json, one file per run, written
atomically (0600) so a reader never sees half a record. Ids name the slot (design §5):
<schedule>-<YYYYMMDDTHHMM>Z for scheduled runs, plus -manual-<n> for manual ones."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .engine import slot_id
from .paths import ensure_dir
from .files import atomic_write


def new_record(run_id: str, schedule: str, set_name: str, *, trigger: str, slot: datetime, dispatched: datetime,
               status: str, attempt: int = 1) -> dict[str, Any]:
    """An execution record with every key of the contract (design §5) present, values to be filled."""
    return {"id": run_id, "schedule": schedule, "set": set_name, "trigger": trigger,
            "scheduledTime": slot.isoformat(), "dispatchTime": dispatched.isoformat(), "startTime": None,
            "endTime": None, "durationSeconds": None, "status": status, "reason": None, "attempt": attempt,
            "bundle": None, "redaction": None, "warnings": 0, "analysis": {"pass": 0, "warn": 0, "fail": 0, "failing": []},
            "upload": None,
            "error": None}


def record_path(root: Path, record: dict[str, Any]) -> Path:
    month = datetime.fromisoformat(record["scheduledTime"]).astimezone(timezone.utc).strftime("%Y-%m")
    return root / "executions" / month / f"{record['id']}.json"


def manual_id(root: Path, schedule: str, requested: datetime) -> str:
    """The first free `<slot id>-manual-<n>` for a run requested at `requested`."""
    base = slot_id(schedule, requested)
    month = root / "executions" / requested.astimezone(timezone.utc).strftime("%Y-%m")
    n = 1
    while (month / f"{base}-manual-{n}.json").exists():
        n += 1
    return f"{base}-manual-{n}"


def write(root: Path, record: dict[str, Any]) -> Path:
    path = record_path(root, record)
    ensure_dir(path.parent)
    atomic_write(path, (json.dumps(record, indent=2, sort_keys=False) + "\n").encode("utf-8"))
    return path


def _all(root: Path, schedule: str | None = None) -> Iterator[dict[str, Any]]:
    base = root / "executions"
    if not base.is_dir():
        return
    pattern = "*.json" if schedule is None else f"{schedule}-*.json"  # ids start with the schedule
    for month in sorted(base.iterdir(), reverse=True):
        for path in month.glob(pattern):
            try:
                yield json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue


def history(root: Path, schedule: str | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Records newest first (by start, then scheduled time), optionally of one schedule."""
    found = [r for r in _all(root, schedule) if schedule is None or r.get("schedule") == schedule]
    found.sort(key=lambda r: (r.get("startTime") or r.get("scheduledTime") or "", r.get("id", "")), reverse=True)
    return found[:limit] if limit is not None else found


def recent(root: Path, schedule: str, *, limit: int) -> list[dict[str, Any]]:
    return history(root, schedule, limit=limit)
