"""Webhook notifications: the payload, the `on:` rules (recovered included), retries, and a dead webhook
that neither fails nor delays the caller."""
from __future__ import annotations

import dataclasses
import logging
import threading
from random import Random

import pytest

from reconciler.run import notify
from reconciler.store.records import ExecutionRecord
from tests.delivery_fixtures import RESET, Stall, free_port, http_sink, sink  # noqa: F401


def record(status: str = "failed", reason: str | None = "upload", **extra: object) -> ExecutionRecord:
    base = {"id": "nightly-20260301T0200Z", "schedule": "nightly", "set": "production", "status": status,
            "scheduledTime": "2026-03-01T02:00:00+00:00",
            "reason": reason, "analysis": {"pass": 3, "warn": 1, "fail": 2},
            "bundle": {"path": "/state/bundles/nightly/support-bundle-2026-03-01T02_00_00.tar.gz"},
            "upload": None, "error": {"class": "permanent", "message": "upload failed after 1 attempt(s): <403>"}
            if status == "failed" else None}
    base.update(extra)
    return ExecutionRecord.from_json(base)


@pytest.mark.parametrize("on, status, previous, expected", [
    (["failure"], "failed", None, "failure"),
    (["failure"], "completed", "failed", None),
    (["success"], "completed", None, "success"),
    (["success"], "completed", "failed", "success"),
    (["recovered"], "completed", "failed", "recovered"),
    (["recovered"], "completed", "completed", None),
    (["recovered"], "completed", None, None),
    (["success", "recovered"], "completed", "failed", "recovered"),   # one POST, the more specific event
    (["failure", "success", "recovered"], "skipped", "failed", None),
    (["failure"], "failed", "failed", "failure"),
])
def test_on_rules(on, status, previous, expected):
    assert notify.event_for(on, status, previous) == expected


def test_the_payload_has_the_documented_keys_and_a_slack_text():
    body = notify.payload(record(upload={"status": "uploaded", "url": "s3://b/production/nightly/x.tar.gz"}),
                          event="failure")

    assert set(body) == {"schedule", "set", "executionId", "status", "reason", "bundleUrl", "analysis", "text",
                         "event"}
    assert body["bundleUrl"] == "s3://b/production/nightly/x.tar.gz"
    assert body["analysis"] == {"pass": 3, "warn": 1, "fail": 2, "failing": []}
    assert body["text"] == (":x: sbsched: nightly (set production) failed (upload): upload "
                            "failed after 1 attempt(s): &lt;403&gt;. Execution nightly-20260301T0200Z. Bundle: "
                            "s3://b/production/nightly/x.tar.gz. Analysis: 3 pass, 1 warn, 2 fail.")


def test_without_an_upload_the_bundle_url_is_the_local_file():
    body = notify.payload(record(status="completed", reason=None), event="success")
    assert body["bundleUrl"] == "file:///state/bundles/nightly/support-bundle-2026-03-01T02_00_00.tar.gz"
    assert body["text"].startswith(":white_check_mark: sbsched: nightly (set production) completed.")


def test_a_webhook_receives_the_json_payload_with_headers_from_references(sink, tmp_path):
    hooks = [{"webhook": f"{sink.url}/hooks/T000/B000/secretpath", "on": ["failure"],
              "headers": {"Authorization": {"env": "HOOK_TOKEN"}, "X-Source": "sbsched"}}]

    (sent,) = notify.send(hooks, record(), previous_status="completed", env={"HOOK_TOKEN": "Bearer hook-secret"},
                          sleep=_no_sleep)

    assert sent.wait(10) and sent.status == "sent" and sent.attempts == 1
    (post,) = sink.wait_for(1)
    assert (post.method, post.path) == ("POST", "/hooks/T000/B000/secretpath")
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["Authorization"] == "Bearer hook-secret" and post.headers["X-Source"] == "sbsched"
    assert post.json() == notify.payload(record(), event="failure")
    assert "secretpath" not in sent.webhook


def test_a_recovered_run_notifies_recovered_listeners_only(sink):
    hooks = [{"webhook": f"{sink.url}/a", "on": ["recovered"]}, {"webhook": f"{sink.url}/b", "on": ["failure"]}]

    sent = notify.send(hooks, record(status="completed", reason=None), previous_status="failed", env={},
                       sleep=_no_sleep)

    assert [n.event for n in sent] == ["recovered"]
    assert sent[0].wait(10)
    assert [r.path for r in sink.requests] == ["/a"] and sink.requests[0].json()["event"] == "recovered"


def test_5xx_and_resets_are_retried_with_growing_waits_then_delivered(sink):
    sink.respond(500, RESET, 503)
    waits: list[float] = []

    (sent,) = notify.send([{"webhook": f"{sink.url}/h", "on": ["failure"]}], record(), previous_status=None, env={},
                          sleep=waits.append)

    assert sent.wait(10) and (sent.status, sent.attempts) == ("sent", 4)
    assert len(waits) == 3 and waits == sorted(waits)


def test_a_4xx_is_not_retried_and_the_failure_is_logged_without_the_url_path(sink, caplog):
    caplog.set_level(logging.INFO, logger="sbsched.notify")
    sink.respond(404)

    (sent,) = notify.send([{"webhook": f"{sink.url}/hooks/secretpath", "on": ["failure"]}], record(),
                          previous_status=None, env={}, sleep=_no_sleep)

    assert sent.wait(10) and (sent.status, sent.attempts) == ("failed", 1)
    assert "HTTP 404" in sent.error
    assert "secretpath" not in caplog.text and "failed after 1 attempt" in caplog.text


def test_a_dead_webhook_neither_raises_nor_delays_the_caller(sink):
    """A webhook that stalls: send() returns at once; the POST gives up in the background."""
    sink.respond(Stall(30), Stall(30), Stall(30), Stall(30))
    gate = threading.Event()
    waits: list[float] = []

    def slow_sleep(seconds: float) -> None:
        waits.append(seconds)
        gate.wait(5)  # the background thread waits on the test, not on the clock

    returned = threading.Event()
    result: list = []

    def caller() -> None:
        result.extend(notify.send([{"webhook": f"{sink.url}/h", "on": ["failure"]}], record(), previous_status=None,
                                  env={}, sleep=slow_sleep))
        returned.set()

    threading.Thread(target=caller).start()
    assert returned.wait(2), "send() blocked on a stalled webhook"
    assert result[0].status == "pending"
    sink.reset()
    gate.set()
    assert result[0].wait(30)


def test_a_refused_connection_fails_after_the_retries_and_is_recorded(caplog):
    caplog.set_level(logging.WARNING, logger="sbsched.notify")
    waits: list[float] = []

    (sent,) = notify.send([{"webhook": f"http://127.0.0.1:{free_port()}/h", "on": ["failure"]}], record(),
                          previous_status=None, env={}, sleep=waits.append)

    assert sent.wait(30)
    assert (sent.status, sent.attempts, len(waits)) == ("failed", notify.RETRY.retries + 1, notify.RETRY.retries)
    assert "connection failed" in sent.error


def test_webhook_retries_wait_as_the_one_backoff_policy_says(sink, monkeypatch):
    sink.respond(503, 503, 200)
    monkeypatch.setattr(notify, "RETRY", dataclasses.replace(notify.RETRY, random=Random(19).random))
    waits: list[float] = []

    (sent,) = notify.send([{"webhook": f"{sink.url}/h", "on": ["failure"]}], record(), previous_status=None, env={},
                          sleep=waits.append)

    assert sent.wait(30) and (sent.status, sent.attempts) == ("sent", 3)
    assert waits == pytest.approx([2 + 0.677126, 4 + 0.784911])   # 2 s doubling, up to 1 s of jitter


def test_a_missing_header_reference_fails_the_notification_naming_the_reference(sink):
    (sent,) = notify.send([{"webhook": f"{sink.url}/h", "on": ["failure"],
                            "headers": {"Authorization": {"env": "NOT_SET"}}}], record(), previous_status=None,
                          env={}, sleep=_no_sleep)

    assert sent.wait(10) and sent.status == "failed" and "env:NOT_SET" in sent.error
    assert not sink.requests


def test_skipped_runs_and_unmatched_rules_send_nothing(sink):
    assert notify.send([{"webhook": f"{sink.url}/h", "on": ["failure", "success"]}], record(status="skipped"),
                       previous_status=None, env={}, sleep=_no_sleep) == []


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")
