"""Execution records on disk: executions/YYYY-MM/<execution-id>.json, one file per run, written
atomically (0600) so a reader never sees half a record. Ids name the slot (design §5):
<schedule>-<YYYYMMDDTHHMM>Z for scheduled runs, plus -manual-<n> for manual ones."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from .engine import slot_id
from .paths import ensure_dir
from .files import atomic_write
from .masking import mask_data


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
    shown = mask_data(record)   # a URL quoted in an error keeps its query values out of the record
    atomic_write(path, (json.dumps(shown, indent=2, sort_keys=False) + "\n").encode("utf-8"))
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


def history(root: Path, schedule: str | None = None, *, limit: int | None = None, status: str | None = None,
            since: datetime | None = None) -> list[dict[str, Any]]:
    """Records newest first (by start, then scheduled time), optionally of one schedule, of one status,
    and started (skipped ones: scheduled) at or after `since`."""
    found = [r for r in _all(root, schedule) if (schedule is None or r.get("schedule") == schedule)
             and (status is None or r.get("status") == status) and (since is None or _after(r, since))]
    found.sort(key=lambda r: (r.get("startTime") or r.get("scheduledTime") or "", r.get("id", "")), reverse=True)
    return found[:limit] if limit is not None else found


def _after(record: dict[str, Any], since: datetime) -> bool:
    stamp = record.get("startTime") or record.get("scheduledTime")
    try:
        return isinstance(stamp, str) and datetime.fromisoformat(stamp) >= since
    except (TypeError, ValueError):
        return False


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: a duration back from `now` (`90m`, `2h`, `1h30m`, `7d`, `2w`) or an ISO 8601 date or
    time (without an offset: UTC); ValueError otherwise."""
    value = text.strip()
    parts = _DURATION.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        return now - timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: expected a duration (30m, 2h, 1h30m, 7d, 2w) or an ISO 8601 date or "
                         "time (2026-03-01, 2026-03-01T12:00:00+01:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def recent(root: Path, schedule: str, *, limit: int) -> list[dict[str, Any]]:
    return history(root, schedule, limit=limit)
