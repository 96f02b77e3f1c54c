"""Manual execution ids: counted per schedule for the life of the state dir, never given twice (not
after their record is removed, not to runs claiming at the same instant), claimed by an exclusive write."""
from __future__ import annotations

import json
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.base.errors import LockTimeout
from reconciler.store import executions, records

SLOT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def claim(root: Path, schedule: str = "burst", slot: datetime = SLOT) -> dict:
    record = records.new_record("placeholder", schedule, "prod", trigger="manual", slot=slot, dispatched=slot,
                                status="running")
    record = executions.create_manual(root, record, lock_timeout=5)
    path = executions.record_path(root, record)
    assert json.loads(path.read_text()) == record.to_json()
    return record.to_json()


def test_manual_ids_count_up_per_schedule_and_past_removed_records(tmp_path):
    ids = [claim(tmp_path)["id"] for _ in range(3)]
    assert ids == [f"burst-20260301T1200Z-manual-{n}" for n in (1, 2, 3)]
    for record_file in (tmp_path / "executions" / "2026-03").glob("*.json"):
        record_file.unlink()   # retention removed them all
    assert claim(tmp_path)["id"] == "burst-20260301T1200Z-manual-4"
    assert claim(tmp_path, slot=SLOT.replace(minute=1))["id"] == "burst-20260301T1201Z-manual-5"
    assert claim(tmp_path, "other")["id"] == "other-20260301T1200Z-manual-1"
    counter = tmp_path / "executions" / "manual-ids" / "burst"
    assert counter.read_text() == "5\n" and stat.S_IMODE(counter.stat().st_mode) == 0o600


@pytest.mark.parametrize("counter_text", [None, b"", b"not a number\n", b"1\n"])
def test_without_a_usable_count_a_record_that_exists_is_passed_over_never_overwritten(tmp_path, counter_text):
    taken = claim(tmp_path)
    taken_path = executions.record_path(tmp_path, taken)
    counter = tmp_path / "executions" / "manual-ids" / "burst"
    if counter_text is None:
        counter.unlink()   # lost, or a state dir from before the count
    else:
        counter.write_bytes(counter_text)
    record = claim(tmp_path)
    assert record["id"] == "burst-20260301T1200Z-manual-2"
    assert json.loads(taken_path.read_text()) == taken
    assert counter.read_text() == "2\n"
    assert not list(taken_path.parent.glob(".*.tmp"))


def test_runs_claiming_at_the_same_instant_get_distinct_ids_and_records(tmp_path):
    count = 16
    start = threading.Barrier(count)

    def one(_: int) -> str:
        start.wait()
        return claim(tmp_path)["id"]

    with ThreadPoolExecutor(count) as pool:
        ids = list(pool.map(one, range(count)))
    assert sorted(ids) == sorted(f"burst-20260301T1200Z-manual-{n}" for n in range(1, count + 1))
    assert len(list((tmp_path / "executions" / "2026-03").glob("*.json"))) == count


def test_a_count_held_locked_past_the_lock_timeout_is_a_clear_error(tmp_path):
    import filelock

    claim(tmp_path)
    record = records.new_record("placeholder", "burst", "prod", trigger="manual", slot=SLOT, dispatched=SLOT,
                                status="running")
    with filelock.FileLock(str(tmp_path / "executions" / "manual-ids" / "burst")):
        with pytest.raises(LockTimeout, match="gave up after 0.1s") as caught:
            executions.create_manual(tmp_path, record, lock_timeout=0.1)
    assert caught.value.exit_code == 2
    assert len(list((tmp_path / "executions" / "2026-03").glob("*.json"))) == 1
