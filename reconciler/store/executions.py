"""Execution records on disk: executions/YYYY-MM/<execution-id>.json, one file per run, written
atomically (0600) so a reader never sees half a record. Ids name the slot (design §5):
<schedule>-<YYYYMMDDTHHMM>Z for scheduled runs, plus -manual-<n> for manual ones, where n counts the
schedule's manual runs for the life of the state dir (executions/manual-ids/<schedule> holds the last).

Readers (history, status, cleanup, retention, the daemon's recovery) get only records they can use:
one that is unreadable or has a field of the wrong type (a hand edit, a bad restore) is skipped and
named once per process in a warning on `sbsched.executions`, so it never breaks the listing of the
runs around it. It is left on disk as it is, for its owner to look at."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from dataclasses import replace
from typing import Any, Iterator, Mapping

from .atomic import atomic_write
from ..base.errors import LockTimeout
from ..base.masking import mask_data
from .nofollow import real_directory
from . import records
from .records import ExecutionRecord
from .paths import file_mode
from ..timing.decisions import slot_id

log = logging.getLogger("sbsched.executions")


def new_record(run_id: str, schedule: str, set_name: str, *, trigger: str, slot: datetime, dispatched: datetime,
               status: str, attempt: int = 1) -> dict[str, Any]:
    """records.new_record as JSON, for a writer that fills in a few keys and writes it (the daemon's
    record of a skipped slot)."""
    return records.new_record(run_id, schedule, set_name, trigger=trigger, slot=slot, dispatched=dispatched,
                              status=status, attempt=attempt).to_json()


def record_path(root: Path, record: ExecutionRecord | Mapping[str, Any]) -> Path:
    """Where a record lives: its slot's month, its id. Typed, or as JSON (the daemon's recovery and
    skipped slots, which rewrite records read from disk)."""
    run_id, slot = (record.id, record.scheduled_time) if isinstance(record, ExecutionRecord) \
        else (record["id"], record["scheduledTime"])
    month = datetime.fromisoformat(slot).astimezone(timezone.utc).strftime("%Y-%m")
    return root / "executions" / month / f"{run_id}.json"


def create_manual(root: Path, record: ExecutionRecord, *, lock_timeout: float) -> ExecutionRecord:
    """Give a manual run's record its id, `<slot id>-manual-<n>`, and write it. n is one more than the
    schedule's last manual run ever had, so an id is never given twice, not even after retention removed
    its record (a history, log line or upload naming the old run must not name a new one); the count is
    read and bumped under a lock on its file. The record is created exclusively, so two runs never share
    an id even without the count (lost, or a state dir older than it): an n whose record exists is passed
    over."""
    schedule = record.schedule
    base = slot_id(schedule, datetime.fromisoformat(record.scheduled_time))
    counter = real_directory(root, "executions", "manual-ids") / schedule
    with _locked(counter, lock_timeout):
        n = _last(counter)
        while True:
            n += 1
            record = replace(record, id=f"{base}-manual-{n}")
            path = record_path(root, record)
            real_directory(root, *path.parent.relative_to(root).parts)
            try:
                atomic_write(path, _encode(record), exclusive=True)
            except FileExistsError:
                continue
            with open(counter, "r+b") as handle:   # in place: the lock is on this inode
                handle.write(f"{n}\n".encode())
                handle.truncate()
                os.fsync(handle.fileno())
            return record


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    import filelock

    lock = filelock.FileLock(str(path), mode=file_mode())
    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        raise LockTimeout(f"{path} is locked by another run of this schedule; gave up after {timeout:g}s",
                          hint="raise --lock-timeout") from None
    try:
        yield
    finally:
        lock.release()


def _last(counter: Path) -> int:
    """The last n given; 0 when there is none yet, or when the file does not hold a count (the
    exclusive record write still keeps ids unique)."""
    try:
        return max(0, int(counter.read_bytes().strip() or 0))
    except ValueError:
        return 0


def write(root: Path, record: ExecutionRecord | Mapping[str, Any]) -> Path:
    path = record_path(root, record)
    real_directory(root, *path.parent.relative_to(root).parts)
    atomic_write(path, _encode(record))
    return path


def _encode(record: ExecutionRecord | Mapping[str, Any]) -> bytes:
    """The record as written: a URL quoted in an error keeps its query values and password out of it."""
    if isinstance(record, ExecutionRecord):
        record = record.to_json()
    return (json.dumps(mask_data(record), indent=2, sort_keys=False) + "\n").encode("utf-8")


_SLOT_IN_ID = re.compile(r"[a-z0-9.-]+-(\d{4})(\d\d)\d\dT\d{4}Z(?:-manual-\d+)?")


def find(root: Path, run_id: str) -> dict[str, Any] | None:
    """The record of execution `run_id`, or None; its id names its slot, hence its month's directory."""
    match = _SLOT_IN_ID.fullmatch(run_id)
    if match is None:
        return None
    try:
        record = json.loads((root / "executions" / f"{match[1]}-{match[2]}" / f"{run_id}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("id") == run_id and shape_problem(record) is None \
        else None


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


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: a duration back from `now` (`90m`, `2h`, `1h30m`, `7d`, `2w`) or an ISO 8601 date or
    time (without an offset: UTC); ValueError otherwise."""
    from ..base.units import parse_duration

    value = text.strip()
    if value and value[-1] in "smhdw" and value[0].isdigit():
        try:
            return now - timedelta(seconds=parse_duration(value))
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: expected a duration (30m, 2h, 1h30m, 7d, 2w) or an ISO 8601 date or "
                         "time (2026-03-01, 2026-03-01T12:00:00+01:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


CUT_SHORT = frozenset({"interrupted", "shutdown"})   # reasons of runs a crash or a stop ended early


def cut_short(record: dict[str, Any]) -> bool:
    """True for a failed run that its process's death or a shutdown ended, not its own work."""
    return record.get("status") == "failed" and record.get("reason") in CUT_SHORT


def recent(root: Path, schedule: str, *, limit: int) -> list[dict[str, Any]]:
    return history(root, schedule, limit=limit)
