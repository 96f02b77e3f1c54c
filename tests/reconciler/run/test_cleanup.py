"""`cleanup`'s use case without the command line: retention now, the audit line, the age override."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from reconciler.base.errors import NotFound, UsageError
from reconciler.run.cleanup import AUDIT_ITEMS, cleanup, older_than_days
from reconciler.store.state import StateStore
from tests.reconciler.manifests import applied
from tests.reconciler.run.test_retention import on_disk, write_history

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


@pytest.fixture()
def store(tmp_path: Path) -> StateStore:
    return applied(tmp_path, "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prod}\nschedules:\n"
                   "  - {name: nightly, cron: '0 2 * * *', collect: {cluster: false},\n"
                   "     retention: {keepLast: 10, keepFailed: 3, maxAgeDays: 20}}\n", NOW)


def _audit(store: StateStore) -> list[dict]:
    path = store.root / "logs" / "audit.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [entry for entry in map(json.loads, lines) if entry.get("event") == "cleanup"]


def test_a_dry_run_reports_what_would_go_and_changes_nothing(store: StateStore) -> None:
    write_history(store.root, "nightly", 100, now=NOW)
    result = cleanup(store, None, now=NOW, dry_run=True, force=False, command="test")
    assert result.summary == {"runs": 88, "bundles": 88, "records": 88, "bytes": 8800, "heldBack": 0,
                              "specSnapshots": 0}
    assert len(on_disk(store.root, "nightly")[0]) == 100 and _audit(store) == []


def test_cleanup_removes_per_the_policy_and_audits_a_bounded_list(store: StateStore) -> None:
    write_history(store.root, "nightly", AUDIT_ITEMS + 50, every=timedelta(minutes=30), now=NOW)
    result = cleanup(store, "nightly", now=NOW, dry_run=False, force=False, command="sbsched cleanup nightly",
                     repaired=[{"kind": "staging", "path": "/x"}])
    assert len(on_disk(store.root, "nightly")[1]) == AUDIT_ITEMS + 50 - result.summary["runs"]
    (entry,) = _audit(store)
    assert entry["summary"] == result.summary and entry["repaired"] == [
        {"kind": "staging", "path": "/x"}]
    assert entry["removed"][-1] == {"more": result.summary["runs"] - AUDIT_ITEMS}
    assert cleanup(store, "nightly", now=NOW, dry_run=False, force=False, command="again").summary["runs"] == 0
    assert len(_audit(store)) == 1   # nothing changed: no second line


def test_an_age_tightens_each_policy_and_bad_ages_are_usage_errors(store: StateStore) -> None:
    write_history(store.root, "nightly", 12, every=timedelta(days=1), now=NOW)
    assert older_than_days("2w") == 14 and older_than_days(None) is None
    by_policy = cleanup(store, None, now=NOW, dry_run=True, force=False, command="test")
    by_age = cleanup(store, None, now=NOW, dry_run=True, force=False, command="test", age_days=older_than_days("5d"))
    assert by_age.summary["runs"] > by_policy.summary["runs"]
    assert all(datetime.fromisoformat(r["time"]) < NOW - timedelta(days=5) for r in by_age.removed)
    for bad, message in (("0d", "positive age"), ("soon", "--older-than: ")):
        with pytest.raises(UsageError, match=message):
            older_than_days(bad)
    with pytest.raises(NotFound):
        cleanup(store, "nope", now=NOW, dry_run=True, force=False, command="test")
