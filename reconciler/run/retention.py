"""Retention: which of a schedule's runs (execution record + local bundle) to remove.

The planner, `plan_retention`, is pure: plain `Run` values and a `now` in, the deletions out, so that
its rules are tested as tables. `apply_retention` at the bottom is the thin shell that reads a
schedule's records and bundle files, plans, and deletes.

The rules, per schedule (`retention: {keepLast, keepFailed, maxAgeDays}`):
- A run is its execution record, its bundle and its token map (redaction_maps.py, when it has one);
  they are kept or removed together.
- "Newest" is by start time (then slot), never by id.
- `keepLast`: the newest N finished runs are kept, whatever their outcome.
- `keepFailed`: besides those, the newest M failed runs (counted over all runs, those inside `keepLast`
  included) are kept, so that a failure stays around to be looked at after later successes pushed it
  out of `keepLast`.
- `maxAgeDays`: a run older than this is removed even when the counts above would keep it; 0 = no limit.
- A run whose upload failed is never removed (its bundle exists nowhere else) unless `force`.
- Runs still `running`, `pending` or `retrying` are never touched, nor bundles without a record that are newer
  than the oldest such run (an archive whose record is being written).
- `skipped` runs (a record, never a bundle) do not count towards the limits; one is kept while it is
  newer than the oldest kept run, so that history stays contiguous, and up to `maxAgeDays`.
- A bundle file with no record counts as a run of unknown outcome, dated by its name. A record skipped
  for its shape (see executions) is no run, but the bundle it names is not a stray either: it stays.
- The run being delivered (`current`) is never removed by its own delivery, even with keepLast 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from ..manifest.model import Retention
from ..store.records import ExecutionRecord

ACTIVE = frozenset({"running", "pending", "retrying"})
UNKNOWN = "unknown"  # a bundle file without an execution record


@dataclass(frozen=True)
class Run:
    """One run as retention sees it. `record` and `bundle` are the paths it would delete (None: none).
    `time` is when it started (a skipped run, which never did: its slot), `slot` its scheduled time."""

    id: str
    time: datetime
    status: str
    slot: datetime | None = None
    upload_failed: bool = False
    record: str | None = None
    bundle: str | None = None
    redaction_map: str | None = None   # a tokenizing run's token map (redaction_maps.py): goes with the run


@dataclass(frozen=True)
class Deletion:
    run: Run
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.run.id, "status": self.run.status, "time": self.run.time.isoformat(),
                "record": self.run.record, "bundle": self.run.bundle,
                "redactionMap": self.run.redaction_map, "reason": self.reason}


def plan_retention(items: Iterable[Run], policy: Retention, now: datetime, *, force: bool = False) -> list[Deletion]:
    """The runs to remove, newest first, each with its reason. Runs are ranked by when they started, then
    by slot, never by id: a manual run's number says nothing of order, and the manual runs of one minute
    share their slot. Slots still decide where history must stay contiguous: a skipped run stays while
    its slot is not before the oldest kept run's (a run skipped for a late-running one is the newer of
    the two), and a bundle without a record is spared while it is not older than the oldest active run's
    slot (its name carries its start second, never before its slot). The id only breaks exact ties, so
    that the plan is the same every time."""
    runs = sorted(items, key=lambda r: (r.time, _slot(r), r.id), reverse=True)
    active = [r for r in runs if r.status in ACTIVE]
    oldest_active = min((_slot(r) for r in active), default=None)
    counted = [r for r in runs if r.status not in ACTIVE and r.status != "skipped"]
    keep = {r.id for r in counted[:policy.keep_last]}
    keep |= {r.id for r in [r for r in counted if r.status == "failed"][:policy.keep_failed]}
    oldest_kept = min((_slot(r) for r in counted if r.id in keep), default=None)
    cutoff = _cutoff(now, policy.max_age_days)
    out: list[Deletion] = []
    for run in runs:
        if run.status in ACTIVE:
            continue
        if run.record is None and oldest_active is not None and run.time >= oldest_active:
            continue  # maybe the archive of a run whose record is not written yet
        if run.upload_failed and not force:
            continue
        if cutoff is not None and run.time < cutoff:
            reason = f"older than maxAgeDays ({policy.max_age_days:g})"
        elif run.status == "skipped":
            if oldest_kept is not None and _slot(run) >= oldest_kept:
                continue
            reason = "skipped run older than every kept run"
        elif run.id in keep:
            continue
        else:
            reason = f"beyond keepLast ({policy.keep_last})" + \
                (f" and keepFailed ({policy.keep_failed})" if run.status == "failed" else "")
        out.append(Deletion(run, reason))
    return out


def _slot(run: Run) -> datetime:
    return run.slot or run.time


def held_back(items: Iterable[Run], policy: Retention, now: datetime) -> list[Deletion]:
    """Runs that would go but for their failed upload: what `--force` would add."""
    items = list(items)
    gone = {d.run.id for d in plan_retention(items, policy, now)}
    return [d for d in plan_retention(items, policy, now, force=True) if d.run.id not in gone]


def _cutoff(now: datetime, max_age_days: float) -> datetime | None:
    """Runs before this are too old; None: no age limit. The schema caps maxAgeDays, but a state applied by
    an older sbsched may hold any integer, and an age before year 1 keeps everything."""
    if max_age_days <= 0:
        return None
    try:
        return now - timedelta(days=max_age_days)
    except OverflowError:
        return None


_BUNDLE_TIME = re.compile(r"support-bundle-(\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2})(?:-\d+)?\.tar\.gz(?:\.age)?\Z")


def bundle_time(name: str) -> datetime | None:
    """The UTC time in a bundle's file name (support-bundle-YYYY-MM-DDTHH_MM_SS[-n].tar.gz)."""
    match = _BUNDLE_TIME.search(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H_%M_%S").replace(tzinfo=timezone.utc)


def run_of(record: ExecutionRecord, *, record_path: str | None, bundles_dir: Path) -> Run:
    """A record as retention sees it; its bundle counts only when it lies in bundles/<schedule>/ (a
    bundle written elsewhere with `run --output-dir` belongs to whoever asked for it there)."""
    slot = _time(record.scheduled_time)
    when = _time(record.start_time) or slot or datetime.min.replace(tzinfo=timezone.utc)
    path = _bundle_path(record)
    bundle = path if path and Path(path).parent == bundles_dir else None
    return Run(id=record.id, time=when, status=record.status, slot=slot,
               upload_failed=record.upload is not None and record.upload.status == "failed", record=record_path,
               bundle=bundle)


def _bundle_path(record: ExecutionRecord) -> str | None:
    return record.bundle.path if record.bundle is not None else None


def _time(stamp: Any) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


# -- the shell --------------------------------------------------------------------------------------------
def collect_runs(root: Path, schedule: str, *, current: ExecutionRecord | None = None) -> list[Run]:
    """The schedule's runs on disk: its execution records and the files in bundles/<schedule>/.
    `current` (the record of the run being delivered, not yet written) replaces its copy on disk."""
    from ..store import executions

    bundles_dir = root / "bundles" / schedule
    misshapen: list[dict[str, Any]] = []   # skipped by history, yet their bundles are not strays
    records = {r["id"]: ExecutionRecord.from_json(r) for r in executions.history(root, schedule, skipped=misshapen)}
    if current is not None:
        records[current.id] = current
    runs = [_with_map(root, run_of(r, record_path=str(executions.record_path(root, r)),
                                   bundles_dir=bundles_dir)) for r in records.values()]
    claimed: set[str | None] = {r.bundle for r in runs if r.bundle}
    claimed |= {_bundle_path(r) for r in records.values()}
    claimed |= {r["bundle"].get("path") for r in misshapen if isinstance(r.get("bundle"), dict)}
    if bundles_dir.is_dir():
        for path in sorted([*bundles_dir.glob("*.tar.gz"), *bundles_dir.glob("*.tar.gz.age")]):   # .age: encrypted
            if str(path) in claimed or path.name.startswith("."):
                continue
            when = bundle_time(path.name) or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            runs.append(Run(id=path.name.removesuffix(".age").removesuffix(".tar.gz"), time=when, status=UNKNOWN,
                            bundle=str(path)))
    return runs


def _with_map(root: Path, run: Run) -> Run:
    from dataclasses import replace

    from .redaction_maps import map_path

    found = map_path(root, run.id)
    return replace(run, redaction_map=str(found)) if found else run


def apply_retention(root: Path, schedule: str, retention: Retention, now: datetime, *,
                    force: bool = False, dry_run: bool = False,
                    current: ExecutionRecord | None = None) -> list[Deletion]:
    """Plan and (unless `dry_run`) delete; returns what was (or would be) removed. Files already gone
    (another process's retention) are not an error."""
    deletions = plan_retention(collect_runs(root, schedule, current=current), retention, now, force=force)
    if current is not None:  # the run being delivered stays until the next one: its record is written after
        deletions = [d for d in deletions if d.run.id != current.id]
    if not dry_run:
        remove(root, deletions)
    return deletions


def remove(root: Path, deletions: Iterable[Deletion]) -> None:
    """Delete each run's bundle and token map, then its record (a crash in between leaves a record
    naming a missing bundle, never an unlisted bundle or map). Files already gone (another process's
    retention) are fine. A symbolic link on the way (bundles/, bundles/<schedule>/, executions/...)
    refuses the delete (UnsafePath) instead of deleting from the link's target."""
    from ..store.nofollow import unlink_below

    for deletion in deletions:
        for path in (deletion.run.bundle, deletion.run.redaction_map, deletion.run.record):
            if path:
                unlink_below(root, path)
