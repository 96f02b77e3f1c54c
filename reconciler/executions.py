"""Execution records on disk: executions/YYYY-MM/<execution-id>.json, one file per run, written
atomically (0600) so a reader never sees half a record. Ids name the slot (design §5):
<schedule>-<YYYYMMDDTHHMM>Z for scheduled runs, plus -manual-<n> for manual ones.

Readers (history, status, cleanup, retention, the daemon's recovery) get only records they can use:
one that is unreadable or has a field of the wrong type (a hand edit, a bad restore) is skipped and
named once per process in a warning on `sbsched.executions`, so it never breaks the listing of the
runs around it. It is left on disk as it is, for its owner to look at."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from .engine import slot_id
from .paths import ensure_dir
from .files import atomic_write

log = logging.getLogger("sbsched.executions")

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


def _all(root: Path, schedule: str | None = None, *,
         skipped: list[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Every usable record (of `schedule`); misshapen ones that are at least objects go to `skipped`."""
    base = root / "executions"
    if not base.is_dir():
        return
    pattern = "*.json" if schedule is None else f"{schedule}-*.json"  # ids start with the schedule
    for month in sorted(base.iterdir(), reverse=True):
        for path in month.glob(pattern):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue  # removed since listed (retention in another process)
            except OSError as exc:
                _skip(path, f"unreadable ({exc.strerror or exc})")
                continue
            except ValueError as exc:
                _skip(path, f"not valid JSON ({exc})")
                continue
            problem = shape_problem(record)
            if problem is None:
                yield record
                continue
            _skip(path, problem)
            if skipped is not None and isinstance(record, dict):
                skipped.append(record)


_named: set[tuple[Path, str]] = set()   # (record, problem) already warned about by this process


def _skip(path: Path, problem: str) -> None:
    """Name a skipped record once: a daemon reads records after every run, and cleanup once per schedule."""
    if (path, problem) not in _named:
        _named.add((path, problem))
        log.warning("skipped execution record %s: %s", path, problem)


_STRINGS = ("id", "schedule", "status")                   # every reader keys, filters or sorts by these
_OPTIONAL_STRINGS = ("set", "trigger", "reason")
_OPTIONAL_TIMES = ("dispatchTime", "startTime", "endTime")  # scheduledTime is required: it places the file
_OBJECTS: dict[str, dict[str, type]] = {                  # each optional; the keys readers use, each optional
    "bundle": {"path": str, "sizeBytes": int, "sha256": str}, "upload": {"url": str, "status": str},
    "error": {"class": str, "message": str}, "runner": {"pid": int, "host": str},
    "analysis": {"pass": int, "warn": int, "fail": int}, "redaction": {}}
_KINDS = {str: "a string", int: "an integer", float: "a number", dict: "an object"}


def shape_problem(record: Any) -> str | None:
    """Why `record` is not an execution record readers can use (design §5), or None. Pure. Only the
    fields readers sort, compare, format or follow are checked, each against the type they assume."""
    if not isinstance(record, dict):
        return f"not a JSON object but {_shown(record)}"
    for key in _STRINGS:
        if not isinstance(record.get(key), str):
            return _wrong(key, record.get(key), str)
    for key in _OPTIONAL_STRINGS:
        if not _is(record.get(key), str, optional=True):
            return _wrong(key, record.get(key), str, optional=True)
    for key in ("scheduledTime", *_OPTIONAL_TIMES):
        if not _is_time(record.get(key), optional=key != "scheduledTime"):
            return f"{key} is {_shown(record.get(key))}, not an ISO 8601 time with an offset" + \
                ("" if key == "scheduledTime" else " or null")
    for key, kind in (("durationSeconds", float), ("attempt", int)):
        if not _is(record.get(key), kind, optional=True):
            return _wrong(key, record.get(key), kind, optional=True)
    for key, fields in _OBJECTS.items():
        value = record.get(key)
        if not _is(value, dict, optional=True):
            return _wrong(key, value, dict, optional=True)
        for field, expected in fields.items():
            if value and not _is(value.get(field), expected, optional=True):
                return _wrong(f"{key}.{field}", value.get(field), expected, optional=True)
    return None


def _is(value: Any, kind: type, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    if isinstance(value, bool):   # JSON true is no count; Python would take it for 1
        return False
    return isinstance(value, (int, float) if kind is float else kind)


def _is_time(value: Any, *, optional: bool) -> bool:
    if value is None:
        return optional
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _wrong(key: str, value: Any, kind: type, *, optional: bool = False) -> str:
    return f"{key} is {_shown(value)}, not {_KINDS[kind]}" + (" or null" if optional else "")


def _shown(value: Any) -> str:
    text = "missing" if value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def history(root: Path, schedule: str | None = None, *, limit: int | None = None, status: str | None = None,
            since: datetime | None = None, skipped: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Records newest first (by start, then scheduled time), optionally of one schedule, of one status,
    and started (skipped ones: scheduled) at or after `since`. Records of the wrong shape are left out
    (and, as parsed, appended to `skipped` when given)."""
    found = [r for r in _all(root, schedule, skipped=skipped) if (schedule is None or r.get("schedule") == schedule)
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
