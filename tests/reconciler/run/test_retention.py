"""Retention: the pure planner as tables, then the shell over a synthetic history of 100 runs on disk."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from reconciler.base.errors import UnsafePath
from reconciler.manifest.model import Retention
from reconciler.run.retention import UNKNOWN, Run, apply_retention, bundle_time, held_back, plan_retention
from reconciler.store.records import ExecutionRecord

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def runs(pattern: str, *, days_apart: float = 0.01, upload_failed: str = "") -> list[Run]:
    """One letter per run, newest first: c completed, f failed, s skipped, r running, u bundle without
    record. Run i is named r<i>; `upload_failed` lists the indexes whose upload failed."""
    out = []
    status = {"c": "completed", "f": "failed", "s": "skipped", "r": "running", "u": "unknown"}
    for i, letter in enumerate(pattern):
        out.append(Run(id=f"r{i}", time=NOW - timedelta(days=i * days_apart), status=status[letter],
                       upload_failed=str(i) in upload_failed.split(","),
                       record=None if letter == "u" else f"rec{i}", bundle=None if letter == "s" else f"b{i}"))
    return out


def deleted(items: list[Run], policy: Retention, **kw: object) -> list[str]:
    return [d.run.id for d in plan_retention(items, policy, NOW, **kw)]  # type: ignore[arg-type]


@pytest.mark.parametrize("pattern, keep_last, keep_failed, expected", [
    ("ccccc", 3, 0, ["r3", "r4"]),
    ("ccccc", 5, 0, []),
    ("ccccc", 0, 0, ["r0", "r1", "r2", "r3", "r4"]),
    ("cfcfcf", 2, 0, ["r2", "r3", "r4", "r5"]),
    ("cfcfcf", 2, 1, ["r2", "r3", "r4", "r5"]),    # the newest failure (r1) is inside keepLast already
    ("cfcfcf", 2, 2, ["r2", "r4", "r5"]),
    ("cfcfcf", 2, 5, ["r2", "r4"]),
    ("ffffcc", 2, 3, ["r3", "r4", "r5"]),          # the failures inside keepLast count towards keepFailed
    ("cucuc", 3, 0, ["r3", "r4"]),                 # bundles without a record count as runs
])
def test_keep_last_and_keep_failed(pattern, keep_last, keep_failed, expected):
    assert deleted(runs(pattern), Retention(keep_last, keep_failed, 0)) == expected


def test_max_age_removes_old_runs_even_inside_the_counts_and_zero_means_no_limit():
    items = runs("cccccc", days_apart=10)  # 0, 10, ... 50 days old
    assert deleted(items, Retention(10, 10, 30)) == ["r4", "r5"]   # 40 and 50 days old
    assert deleted(items, Retention(10, 10, 0)) == []
    assert deleted(items, Retention(2, 0, 30)) == ["r2", "r3", "r4", "r5"]
    reasons = {d.run.id: d.reason for d in plan_retention(items, Retention(2, 0, 30), NOW)}
    assert reasons["r2"].startswith("beyond keepLast") and reasons["r5"].startswith("older than maxAgeDays")


def test_a_run_whose_upload_failed_is_never_selected_unless_forced():
    items = runs("ccfcc", upload_failed="2,4")
    assert deleted(items, Retention(1, 0, 0)) == ["r1", "r3"]
    assert deleted(items, Retention(1, 0, 0), force=True) == ["r1", "r2", "r3", "r4"]
    assert [d.run.id for d in held_back(items, Retention(1, 0, 0), NOW)] == ["r2", "r4"]


def test_active_runs_and_record_less_bundles_newer_than_them_are_never_touched():
    items = runs("ucrcc")  # r0 is an archive whose record is not written yet; r2 is running
    assert deleted(items, Retention(0, 0, 0)) == ["r1", "r3", "r4"]


def test_skipped_runs_do_not_count_and_go_once_older_than_every_kept_run():
    items = runs("cscscsc")
    assert deleted(items, Retention(2, 0, 0)) == ["r3", "r4", "r5", "r6"]   # r1 (between kept runs) stays


def test_bundle_names_carry_their_utc_time():
    assert bundle_time("support-bundle-2026-01-02T03_04_05.tar.gz") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert bundle_time("support-bundle-2026-01-02T03_04_05-2.tar.gz") == datetime(2026, 1, 2, 3, 4, 5,
                                                                                 tzinfo=timezone.utc)
    assert bundle_time("other.tar.gz") is None


# -- the shell, over files ------------------------------------------------------------------------------
def write_history(root: Path, schedule: str, count: int, *, every: timedelta = timedelta(hours=6),
                  failed_every: int = 7, upload_failed: set[int] = frozenset(), now: datetime = NOW) -> list[dict]:
    """`count` runs, newest first, each with a record and a bundle in bundles/<schedule>/."""
    from reconciler.store import executions

    records = []
    for i in range(count):
        start = now - every * i
        name = f"support-bundle-{start.strftime('%Y-%m-%dT%H_%M_%S')}.tar.gz"
        bundle = root / "bundles" / schedule / name
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundle.write_bytes(b"x" * 100)
        record = executions.new_record(f"{schedule}-{start.strftime('%Y%m%dT%H%M')}Z", schedule, "prod",
                                       trigger="schedule", slot=start, dispatched=start, status="completed")
        record.update(startTime=start.isoformat(), bundle={"path": str(bundle), "sizeBytes": 100, "sha256": "0"})
        if i % failed_every == failed_every - 1:
            record.update(status="failed", reason="timeout")
        if i in upload_failed:
            record.update(status="failed", reason="upload", upload={"url": "s3://b/k", "status": "failed",
                                                                     "attempts": 3, "bytes": 100,
                                                                     "durationSeconds": 1, "error": None})
        executions.write(root, record)
        records.append(record)
    return records


def on_disk(root: Path, schedule: str) -> tuple[set[str], set[str]]:
    records = {p.stem for p in (root / "executions").rglob("*.json")}
    bundles = {p.name for p in (root / "bundles" / schedule).glob("*.tar.gz")}
    return records, bundles


def test_a_history_of_100_runs_is_cut_to_the_policy_and_the_dry_run_deletes_nothing(tmp_path):
    records = write_history(tmp_path, "nightly", 100, upload_failed={60})
    policy = Retention(10, 3, 20)

    planned = apply_retention(tmp_path, "nightly", policy, NOW, dry_run=True)
    assert len(on_disk(tmp_path, "nightly")[0]) == 100  # nothing deleted

    removed = apply_retention(tmp_path, "nightly", policy, NOW)
    assert [d.run.id for d in removed] == [d.run.id for d in planned]
    kept_records, kept_bundles = on_disk(tmp_path, "nightly")
    newest10 = {r["id"] for r in records[:10]}
    newest_failed = [r["id"] for r in records if r["status"] == "failed" and r["reason"] == "timeout"][:3]
    assert kept_records == newest10 | set(newest_failed) | {records[60]["id"]}  # + the failed upload, 15 days old
    assert len(kept_records) == 13
    assert len(kept_bundles) == len(kept_records)
    assert apply_retention(tmp_path, "nightly", policy, NOW) == []  # idempotent


def test_max_age_applies_to_the_history_on_disk(tmp_path):
    write_history(tmp_path, "nightly", 100, every=timedelta(days=1))

    apply_retention(tmp_path, "nightly", Retention(100, 0, 30), NOW)

    assert len(on_disk(tmp_path, "nightly")[0]) == 31  # today and 30 days back


def test_bundles_without_records_and_bundles_elsewhere_are_handled(tmp_path):
    from reconciler.store import executions

    records = write_history(tmp_path, "nightly", 3)
    stray = tmp_path / "bundles" / "nightly" / "support-bundle-2025-01-01T00_00_00.tar.gz"
    stray.write_bytes(b"old")
    elsewhere = tmp_path / "elsewhere.tar.gz"
    elsewhere.write_bytes(b"mine")
    manual = dict(records[-1], id="nightly-20250101T0000Z-manual-1", startTime="2025-01-01T00:00:00+00:00",
                  scheduledTime="2025-01-01T00:00:00+00:00", bundle={"path": str(elsewhere)})
    executions.write(tmp_path, manual)

    removed = apply_retention(tmp_path, "nightly", Retention(3, 0, 0), NOW)

    assert {d.run.id for d in removed} == {"support-bundle-2025-01-01T00_00_00", "nightly-20250101T0000Z-manual-1"}
    assert not stray.exists() and elsewhere.exists()  # a bundle written with --output-dir is the user's


def test_the_run_being_delivered_is_kept_even_with_keep_last_zero(tmp_path):
    records = write_history(tmp_path, "nightly", 3)
    current = dict(records[0])

    removed = apply_retention(tmp_path, "nightly", Retention(0, 0, 0), NOW,
                              current=ExecutionRecord.from_json(current))

    assert {d.run.id for d in removed} == {records[1]["id"], records[2]["id"]}
    assert Path(current["bundle"]["path"]).exists()
    assert json.loads(Path(
        tmp_path / "executions" / NOW.strftime("%Y-%m") / f"{current['id']}.json").read_text())["id"] == current["id"]


def test_runs_of_one_slot_are_ranked_by_start_time_never_by_id(tmp_path):
    """Four manual runs in one minute share a slot; the newest must stay whatever its id says."""
    from reconciler.store import executions

    slot = NOW.replace(second=0)
    started = {"burst-20260301T1200Z-manual-9": 1, "burst-20260301T1200Z-manual-10": 2,
               "burst-20260301T1200Z-manual-2": 3, "burst-20260301T1200Z-manual-1": 4}
    for run_id, second in started.items():
        record = executions.new_record(run_id, "burst", "prod", trigger="manual", slot=slot, dispatched=slot,
                                       status="completed")
        record.update(startTime=slot.replace(second=second).isoformat())
        executions.write(tmp_path, record)

    removed = apply_retention(tmp_path, "burst", Retention(2, 0, 0), NOW)

    assert [d.run.id for d in removed] == ["burst-20260301T1200Z-manual-10", "burst-20260301T1200Z-manual-9"]


def test_slots_keep_history_contiguous_and_spare_the_archive_of_a_run_still_running():
    late = Run(id="h-1300", time=NOW.replace(hour=14, second=5), slot=NOW.replace(hour=13), status="completed",
               record="r1", bundle="b1")
    skipped = Run(id="h-1400", time=NOW.replace(hour=14), slot=NOW.replace(hour=14), status="skipped", record="r2")
    older = Run(id="h-1200", time=NOW.replace(hour=12), slot=NOW.replace(hour=12), status="completed",
                record="r0", bundle="b0")
    assert deleted([late, skipped, older], Retention(1, 0, 0)) == ["h-1200"]   # skipped while h-1300 ran late

    running = Run(id="h-manual", time=NOW.replace(minute=1, second=7, microsecond=500_000),
                  slot=NOW.replace(minute=1), status="running", record="r3")
    archive = Run(id="support-bundle-2026-03-01T12_01_07", time=NOW.replace(minute=1, second=7), status=UNKNOWN,
                  bundle="b3")   # its record still says running, without the bundle
    assert deleted([running, archive, older], Retention(0, 0, 0)) == ["h-1200"]
@pytest.mark.parametrize("link", ["bundles", "bundles/nightly", "executions", "executions/2026-03"])
def test_retention_never_deletes_through_a_symbolic_link(tmp_path, link):
    """A link planted in the layout while a daemon runs (the command-start check refuses one found
    earlier): the delete is refused, and the files at the link's target stay."""
    root = tmp_path / "state"
    write_history(root, "nightly", 3, every=timedelta(days=40))
    elsewhere = tmp_path / "elsewhere"
    (root / link).rename(elsewhere)
    (root / link).symlink_to(elsewhere)
    there = sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*"))

    with pytest.raises(UnsafePath, match=f"{link} is a symbolic link"):
        apply_retention(root, "nightly", Retention(0, 0, 1), NOW)

    assert sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*")) == there
