"""Execution records as readers get them: a record of the wrong shape is skipped and named once, in the
shell (history, retention) and in the daemon's recovery."""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.manifest.model import Retention
from reconciler.run import retention
from reconciler.store import executions

from ..daemon.test_loop import FakeClock, T0, daemon, make

SLOT = datetime(2026, 6, 1, 11, tzinfo=timezone.utc)


def record(**changes: object) -> dict:
    made = executions.new_record("h-20260601T1100Z", "h", "d", trigger="schedule", slot=SLOT, dispatched=SLOT,
                                 status="completed")
    made.update(startTime=SLOT.isoformat(), endTime=SLOT.isoformat(), durationSeconds=1.5,
                bundle={"path": "/b/x.tar.gz", "sizeBytes": 1, "sha256": "00", "collectors": {}},
                upload={"url": "s3://b/k", "status": "uploaded", "attempts": 1, "error": None},
                runner={"pid": 1, "host": "h"}, error={"class": "transient", "message": "m"})
    made.update(changes)
    return made


def test_a_record_as_written_has_the_shape_readers_need():
    assert executions.shape_problem(record()) is None
    assert executions.shape_problem(executions.new_record("h-1", "h", "d", trigger="manual", slot=SLOT,
                                                          dispatched=SLOT, status="pending")) is None


@pytest.mark.parametrize("changes, problem", [
    ({"startTime": 5}, "startTime is 5, not an ISO 8601 time with an offset or null"),
    ({"startTime": "2026-06-01T11:00:00"}, "startTime is '2026-06-01T11:00:00', not an ISO 8601 time with an "
                                          "offset or null"),
    ({"endTime": "yesterday"}, "endTime is 'yesterday', not an ISO 8601 time with an offset or null"),
    ({"scheduledTime": None}, "scheduledTime is missing, not an ISO 8601 time with an offset"),
    ({"bundle": "x"}, "bundle is 'x', not an object or null"),
    ({"bundle": {"path": 7}}, "bundle.path is 7, not a string or null"),
    ({"status": 3}, "status is 3, not a string"),
    ({"id": None}, "id is missing, not a string"),
    ({"schedule": ["h"]}, "schedule is ['h'], not a string"),
    ({"trigger": {}}, "trigger is {}, not a string or null"),
    ({"durationSeconds": "fast"}, "durationSeconds is 'fast', not a number or null"),
    ({"durationSeconds": True}, "durationSeconds is True, not a number or null"),
    ({"attempt": 1.5}, "attempt is 1.5, not an integer or null"),
    ({"upload": []}, "upload is [], not an object or null"),
    ({"upload": {"status": 1}}, "upload.status is 1, not a string or null"),
    ({"error": "boom"}, "error is 'boom', not an object or null"),
    ({"runner": {"pid": "12"}}, "runner.pid is '12', not an integer or null"),
    ({"analysis": {"fail": "x" * 50}}, "analysis.fail is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..., not an integer "
                                       "or null"),
])
def test_a_field_of_the_wrong_type_is_named_with_what_readers_expect(changes, problem):
    assert executions.shape_problem(record(**changes)) == problem


def test_a_record_that_is_no_object_is_named_too():
    assert executions.shape_problem([1, 2]) == "not a JSON object but [1, 2]"


def test_history_skips_it_and_warns_once_per_process(tmp_path, caplog):
    good = record()
    executions.write(tmp_path, good)
    bad = executions.write(tmp_path, record(id="h-20260601T1200Z", scheduledTime="2026-06-01T12:00:00+00:00",
                                            startTime=5))
    caplog.set_level(logging.WARNING, logger="sbsched.executions")

    for _ in range(3):
        assert [r["id"] for r in executions.history(tmp_path)] == [good["id"]]

    assert caplog.messages == [f"skipped execution record {bad}: startTime is 5, not an ISO 8601 time with an "
                               "offset or null"]


def test_retention_keeps_counting_past_a_record_of_the_wrong_shape_and_leaves_its_bundle(tmp_path):
    from ..run.test_retention import NOW, on_disk, write_history

    runs = write_history(tmp_path, "nightly", 4)
    path = executions.record_path(tmp_path, runs[1])
    path.write_text(json.dumps({**runs[1], "startTime": 5}))

    removed = retention.apply_retention(tmp_path, "nightly", Retention(1, 0, 0), NOW)

    assert [d.run.id for d in removed] == [runs[2]["id"], runs[3]["id"]]
    kept_records, kept_bundles = on_disk(tmp_path, "nightly")
    assert kept_records == {runs[0]["id"], runs[1]["id"]}   # the bad record is left as it is, and the bundle
    assert kept_bundles == {Path(runs[0]["bundle"]["path"]).name, Path(runs[1]["bundle"]["path"]).name}  # it names


def test_daemon_recovery_settles_the_dead_runs_around_a_record_of_the_wrong_shape(tmp_path, caplog):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    dead = record(status="running", endTime=None, error=None,
                  runner={"pid": 2**22 + 7, "host": os.uname().nodename})
    executions.write(store.root, dead)
    bad = executions.write(store.root, record(id="h-20260601T1000Z", scheduledTime="2026-06-01T10:00:00+00:00",
                                              status=None))
    caplog.set_level(logging.WARNING, logger="sbsched")

    d = daemon(store, clock)
    d.close()

    settled = json.loads(executions.record_path(store.root, dead).read_text())
    assert (settled["status"], settled["reason"]) == ("failed", "interrupted")
    assert store.read()["schedules"]["h"]["status"]["lastResult"] == "failed"
    assert sum(str(bad) in m for m in caplog.messages) == 1
