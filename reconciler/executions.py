"""Execution records on disk: executions/YYYY-MM/<execution-id>.json, one file per run."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def recent(root: Path, schedule: str, *, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` records of a schedule, newest first (ids sort by slot time within a schedule)."""
    base = root / "executions"
    if not base.is_dir():
        return []
    found: list[dict[str, Any]] = []
    for month in sorted(base.iterdir(), reverse=True):
        for path in sorted(month.glob(f"{schedule}-*.json"), reverse=True):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if record.get("schedule") == schedule:
                found.append(record)
        if len(found) >= limit:
            break
    found.sort(key=lambda r: r.get("scheduledTime") or "", reverse=True)
    return found[:limit]
