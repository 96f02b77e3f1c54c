"""Delivery has a deadline (issue 16): a server that trickles its answer a byte at a time, which no
per-read timeout ever trips, cannot hold an upload attempt, a webhook or a run past its deadline; the
run's policy.timeoutSeconds covers collection and delivery, and a collection that times out leaves a
share of it for uploading the partial bundle. Real servers on 127.0.0.1."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from reconciler.collect.runner import Registry
from reconciler.run import notify
from reconciler.run.executor import RunOptions, execute
from reconciler.store.records import ExecutionRecord
from reconciler.upload import RetryPolicy, UploadRequest, upload
from reconciler.upload.credentials import Secrets
from reconciler.upload.retry import DEADLINE, UploadError, call_with_retries
from tests.delivery_fixtures import Stall, Trickle, http_sink, make_archive, sink  # noqa: F401

from ..daemon.test_loop import REGISTRY
from ...fakes.clock import FakeClock
from .test_cancel_waits import uploading

T0 = datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc)
SLACK = 1.5   # seconds past a deadline that a loaded 2-core machine may take to notice and record it


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")


def test_a_run_whose_upload_server_trickles_its_answer_fails_at_its_timeout_as_a_transient_timeout(tmp_path, sink):
    sink.respond(Trickle(0.25))   # a 200, 38 bytes at 4 a second: ~10 s, and every read gets its byte in time
    clock = FakeClock(T0)
    store = uploading(tmp_path, clock, sink.url, "{timeoutSeconds: 2, retries: 2, backoffSeconds: 1}")

    began = time.monotonic()
    record = execute(store, "up", clock, RunOptions(registry=REGISTRY)).to_json()
    took = time.monotonic() - began

    assert (record["status"], record["reason"], record["error"]["class"]) == ("failed", "timeout", "transient")
    assert "policy.timeoutSeconds (2s)" in record["error"]["message"]
    assert record["upload"]["status"] == "failed" and record["upload"]["attempts"] == 1
    assert record["durationSeconds"] < 2 + SLACK and took < 2 + SLACK
    assert record["bundle"]["path"]   # the bundle stays, for the retry or for support


def test_an_upload_attempt_ends_at_its_deadline_however_the_server_trickles(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=4096)
    sink.respond(Trickle(0.25))
    began = time.monotonic()

    outcome = upload(UploadRequest(archive, f"{sink.url}/k", deadline=began + 1), RetryPolicy(retries=3),
                     sleep=_no_sleep)

    assert (outcome.status, outcome.error["class"], outcome.stopped) == ("failed", "transient", DEADLINE)
    assert time.monotonic() - began < 1 + SLACK


def test_gcs_uploads_end_at_their_deadline_too(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=4096)
    sink.respond(Trickle(0.25))
    began = time.monotonic()
    request = UploadRequest(archive, "gs://bucket/x.tar.gz", secrets=Secrets({"STORAGE_EMULATOR_HOST": sink.url}),
                            deadline=began + 1)

    outcome = upload(request, RetryPolicy(retries=3), sleep=_no_sleep)

    assert (outcome.status, outcome.stopped) == ("failed", DEADLINE)
    assert time.monotonic() - began < 1 + SLACK


def test_s3_attempts_wait_no_longer_than_the_deadline_for_a_stalled_endpoint(sink, tmp_path, fake_aws):
    archive, _ = make_archive(tmp_path, size=4096)
    sink.respond(Stall(30))
    began = time.monotonic()

    outcome = upload(UploadRequest(archive, "s3://bucket/key", options={"endpointUrl": sink.url}, deadline=began + 1),
                     RetryPolicy(retries=3), sleep=_no_sleep)

    assert (outcome.status, outcome.stopped) == ("failed", DEADLINE)
    assert time.monotonic() - began < 1 + SLACK


def test_a_retry_wait_that_would_pass_the_deadline_is_not_waited(sink):
    now = [100.0]
    waits: list[float] = []

    def attempt() -> None:
        raise UploadError("PUT u: HTTP 503 Service Unavailable", transient=True)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with pytest.raises(UploadError) as caught:
        call_with_retries(attempt, RetryPolicy(retries=5, backoff_seconds=10), sleep=sleep, deadline=125.0,
                          monotonic=lambda: now[0])

    assert len(waits) == 1 and caught.value.attempts == 2   # 10-15 s fits, the next 20-25 s would not
    assert caught.value.stopped == DEADLINE and caught.value.transient and "HTTP 503" in caught.value.message


def test_a_webhook_post_has_a_deadline_on_the_whole_exchange(sink, monkeypatch):
    monkeypatch.setattr(notify, "DEADLINE_SECONDS", 1.0)
    sink.respond(Trickle(0.25), 200)
    waits: list[float] = []
    began = time.monotonic()

    (sent,) = notify.send([{"webhook": f"{sink.url}/h", "on": ["failure"]}],
                          ExecutionRecord("r-1", "r", "2026-03-01T02:00:00+00:00", "failed", set="s", reason="error"),
                          previous_status=None, env={}, sleep=waits.append, background=False)

    assert (sent.status, sent.attempts, len(waits)) == ("sent", 2, 1)
    assert time.monotonic() - began < 1 + SLACK


def test_a_collection_that_times_out_leaves_a_share_of_the_timeout_to_upload_its_partial_bundle(tmp_path, sink):
    sink.respond(Stall(0.5))   # an upload that takes half a second
    clock = FakeClock(T0)
    store = uploading(tmp_path, clock, sink.url, "{timeoutSeconds: 5}", collectors="[{ok: {}}, {blocked: {}}]")

    cut_after: list[float] = []

    def blocked(spec, ctx):   # holds collection open until the run cuts it, and says when that was
        began = time.monotonic()
        ctx.cancelled.wait(30)
        cut_after.append(time.monotonic() - began)

    record = execute(store, "up", clock, RunOptions(registry=Registry(host={**REGISTRY.host, "blocked": blocked},
                                                                      cluster={}))).to_json()

    assert (record["status"], record["reason"], record["error"]["class"]) == ("failed", "timeout", "permanent")
    assert record["upload"]["status"] == "uploaded"
    # Collection is cut at 80 % of the 5 s (4 s), not at 5 s with the upload on top; measured on the
    # collector itself, so the load of a shared machine on redaction and the archive does not count.
    assert 3.5 < cut_after[0] < 4.6, f"collection was cut after {cut_after[0]:.2f}s"
    assert record["durationSeconds"] < 5 + SLACK
