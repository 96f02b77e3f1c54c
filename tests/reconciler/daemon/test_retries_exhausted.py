"""A transient failure that used up its retries is still recorded as what it was, `error.class:
transient`; the upload's own retries are what stop the daemon from running the slot again."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from .test_loop import FakeClock, T0, daemon, make, records, settle


def test_sbsched_run_records_an_upload_that_failed_transiently_every_attempt_as_transient(cli, write_manifest,
                                                                                           sink):
    sink.respond(503, 503)
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: s}}
        schedules:
          - name: shipped
            cron: "@daily"
            policy: {{retries: 1, backoffSeconds: 0}}
            collect: {{cluster: false, hostCollectors: [{{hostOS: {{}}}}]}}
            upload: {{url: "{sink.url}/put/"}}
    """)
    assert cli("apply", "-f", str(path)).code == 0

    result = cli("run", "shipped", "-o", "json")

    record = json.loads(result.out)
    assert result.code == 1 and (record["status"], record["reason"]) == ("failed", "upload")
    assert record["error"]["class"] == "transient" and record["upload"]["attempts"] == 2
    assert "503" in record["error"]["message"]


def test_the_daemon_records_it_transient_and_does_not_collect_the_slot_again(tmp_path, sink):
    sink.respond(503, 503)
    clock = FakeClock(T0)
    store, _ = make(tmp_path, f"""
        - name: shipped
          cron: "0 13 * * *"
          policy: {{retries: 1, backoffSeconds: 0}}
          collect: {{hostCollectors: [{{ok: {{}}}}]}}
          upload: {{url: "{sink.url}/put/"}}
    """, clock)
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))

    d.tick()
    settle(d)

    (record,) = records(store)
    assert (record["status"], record["reason"], record["attempt"]) == ("failed", "upload", 1)
    assert record["error"]["class"] == "transient"
    assert d._next_retry() is None and len(sink.requests) == 2   # the upload's 2 attempts were the retries
    d.close()
