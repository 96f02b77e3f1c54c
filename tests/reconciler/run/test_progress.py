"""A run tells a watcher what it does as it does it (base/progress.py): the collectors as they start and
end with the bytes each wrote, redaction, the archive and the upload; a watcher that breaks does not
break the run."""
from __future__ import annotations

import threading

from reconciler.base import progress as p
from reconciler.base.clock import SystemClock
from reconciler.run.executor import RunOptions, execute
from reconciler.store.state import StateStore


def apply(cli, write_manifest, tmp_path) -> None:
    """A schedule of two host collectors (one copies 1,000 bytes), one excluded, a file:// upload."""
    (tmp_path / "data.txt").write_text("x" * 1000)
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: watched}}
        schedules:
          - name: nightly
            cron: "@daily"
            analyze: {{enabled: false}}
            upload: {{url: "file://{tmp_path / 'uploads'}/"}}
            collect:
              cluster: false
              hostCollectors:
                - copy: {{collectorName: data, path: {tmp_path / 'data.txt'}}}
                - hostOS: {{}}
                - run: {{collectorName: excluded, command: "true", exclude: true}}
    """)
    assert cli("apply", "-f", str(path)).code == 0


def test_each_step_is_reported_in_order_with_the_bytes_written(cli, write_manifest, state_dir, tmp_path):
    apply(cli, write_manifest, tmp_path)
    events: list[p.ProgressEvent] = []
    lock = threading.Lock()

    def watch(event: p.ProgressEvent) -> None:
        with lock:   # collectors report from their own threads
            events.append(event)

    record = execute(StateStore(state_dir), "nightly", SystemClock(), RunOptions(progress=watch)).to_json()
    assert record["status"] == "completed", record.get("error")
    stages = [e.stage for e in events]
    assert stages[0] == p.COLLECTION_STARTED and events[0].total == 2   # the excluded one never runs
    started = {e.name for e in events if e.stage == p.COLLECTOR_STARTED}
    finished = {e.name: e for e in events if e.stage == p.COLLECTOR_FINISHED}
    assert started == {"data", "hostOS"} and set(finished) == {"data", "hostOS", "excluded"}
    order = [(e.stage, e.name) for e in events]
    for name in started:
        assert order.index((p.COLLECTOR_STARTED, name)) < order.index((p.COLLECTOR_FINISHED, name))
        assert finished[name].status == "succeeded" and finished[name].bytes > 0
    assert finished["data"].bytes == 1000
    assert (finished["excluded"].status, finished["excluded"].bytes) == ("skipped", 0)
    tail = [s for s in stages if s not in (p.COLLECTION_STARTED, p.COLLECTOR_STARTED, p.COLLECTOR_FINISHED)]
    assert tail == [p.REDACTION_STARTED, p.REDACTION_FINISHED, p.BUNDLE_WRITTEN, p.UPLOAD_STARTED,
                    p.UPLOAD_FINISHED]
    assert stages.index(p.REDACTION_STARTED) > max(i for i, s in enumerate(stages) if s == p.COLLECTOR_FINISHED)
    bundle = next(e for e in events if e.stage == p.BUNDLE_WRITTEN)
    assert (bundle.detail, bundle.bytes) == (record["bundle"]["path"], record["bundle"]["sizeBytes"])
    uploaded = events[-1]
    assert (uploaded.status, uploaded.bytes) == ("uploaded", record["bundle"]["sizeBytes"])


def test_a_watcher_that_raises_leaves_the_run_as_it_would_be(cli, write_manifest, state_dir, tmp_path):
    apply(cli, write_manifest, tmp_path)

    def broken(_event: p.ProgressEvent) -> None:
        raise OSError("the terminal went away")

    record = execute(StateStore(state_dir), "nightly", SystemClock(), RunOptions(progress=broken)).to_json()
    assert record["status"] == "completed" and record["upload"]["status"] == "uploaded"
