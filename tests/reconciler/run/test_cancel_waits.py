"""Every wait of a run ends at once when the run is cancelled (issue 16): the upload's retry backoff and
the webhooks' retries stop, and the run is recorded failed with the cancel reason, like a cancelled
collection. Real uploads to a sink on 127.0.0.1; the daemon on a fake clock."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.run import notify
from reconciler.store.records import ExecutionRecord
from reconciler.store.state import StateStore
from reconciler.upload.retry import RetryPolicy, UploadError, call_with_retries
from tests.delivery_fixtures import http_sink, sink  # noqa: F401

from ..daemon.test_loop import T0, daemon, make, records, settle
from ...fakes.clock import FakeClock


def uploading(tmp_path: Path, clock: FakeClock, url: str, policy: str, *, collectors: str = "[{ok: {}}]") -> StateStore:
    """The state with one schedule, `up`, due at 13:00, that collects with the test collectors and
    uploads to `url`/up/ under `policy` (a YAML flow mapping)."""
    store, _ = make(tmp_path, f"""
        - name: up
          cron: "0 13 * * *"
          collect: {{hostCollectors: {collectors}}}
          upload: {{url: "{url}/up/"}}
          policy: {policy}
    """, clock)
    return store


def test_a_sleep_that_reports_it_was_interrupted_stops_the_retries():
    cancel = threading.Event()
    calls = []

    def attempt() -> None:
        calls.append(1)
        cancel.set()   # the run is cancelled while this attempt fails
        raise UploadError("PUT u: HTTP 503 Service Unavailable", transient=True)

    with pytest.raises(UploadError) as caught:
        call_with_retries(attempt, RetryPolicy(retries=5, backoff_seconds=30), sleep=cancel.wait)

    assert len(calls) == 1 and caught.value.attempts == 1
    assert "HTTP 503" in caught.value.message and "cancelled" in caught.value.message


def test_a_cancelled_run_sends_one_webhook_attempt_and_no_retries(sink):
    sink.respond(503, 503, 503, 503)
    cancel = threading.Event()
    cancel.set()   # e.g. the daemon is stopping: the failure is still reported, once

    (sent,) = notify.send([{"webhook": f"{sink.url}/h", "on": ["failure"]}],
                          ExecutionRecord("r-1", "r", "2026-03-01T02:00:00+00:00", "failed", set="s",
                                          reason="shutdown"),
                          previous_status=None, env={}, sleep=cancel.wait, background=False)

    assert (sent.status, sent.attempts) == ("failed", 1) and len(sink.requests) == 1


def test_cancelling_a_run_in_its_upload_backoff_ends_it_at_once_failed_with_the_cancel_reason(tmp_path, sink):
    sink.respond(503, 503, 503, 503)
    clock = FakeClock(T0)
    store = uploading(tmp_path, clock, sink.url, "{retries: 3, backoffSeconds: 30}")
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    sink.wait_for(1)

    began = time.monotonic()
    d.cancel_all("shutdown")   # what `daemon stop` does once its --grace is over
    idle = threading.Thread(target=d.wait_idle, daemon=True)
    idle.start()
    idle.join(10)
    assert not idle.is_alive(), "the run sat out its 30 s upload backoff after it was cancelled"
    took = time.monotonic() - began
    settle(d)
    d.close()

    (record,) = records(store)
    assert (record["status"], record["reason"], record["error"]["class"]) == ("failed", "shutdown", "permanent")
    assert record["upload"]["status"] == "failed" and record["upload"]["attempts"] == 1
    assert len(sink.requests) == 1 and d._next_retry() is None
    assert store.read()["schedules"]["up"]["status"]["active"] == []
    assert took < 5
