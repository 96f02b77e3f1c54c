"""deliver(): a finished run's bundle goes to each real destination, its record says how, failures keep the
bundle, webhooks hear of it, retention runs, and no secret ends up in any file or log line."""
from __future__ import annotations

import hashlib
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from reconciler.manifest.model import ScheduleSpec
from reconciler.run.delivery import deliver
from reconciler.run.settle import Results
from reconciler.store import executions
from reconciler.store.records import ExecutionRecord
from tests.delivery_fixtures import (RESET, gcs_client, gcs_emulator, gcs_env, http_sink, make_archive,  # noqa: F401
                                     moto_s3, new_bucket, new_gcs_bucket, s3_client, s3_env, sink)

NOW = datetime(2026, 3, 1, 2, 0, 30, tzinfo=timezone.utc)
MiB = 1024 * 1024


def spec(**fields: Any) -> ScheduleSpec:
    return ScheduleSpec.from_json({"cron": "0 2 * * *", "timezone": "UTC", **fields})


def finished_run(root: Path, *, size: int = 64 * 1024, when: datetime = NOW, status: str = "completed",
                 reason: str | None = None, schedule: str = "nightly") -> tuple[dict[str, Any], Path]:
    """A run as the executor leaves it before delivery: archive in bundles/<schedule>/, record on disk."""
    directory = root / "bundles" / schedule
    directory.mkdir(parents=True, exist_ok=True)
    archive, sha = make_archive(directory, size=size, name=f"support-bundle-{when.strftime('%Y-%m-%dT%H_%M_%S')}.tar.gz")
    slot = when.replace(second=0)
    record = executions.new_record(f"{schedule}-{slot.strftime('%Y%m%dT%H%M')}Z", schedule, "production",
                                   trigger="schedule", slot=slot, dispatched=slot, status=status)
    record.update(startTime=when.isoformat(), reason=reason,
                  bundle={"path": str(archive), "sizeBytes": size, "sha256": sha,
                          "collectors": {"succeeded": 1, "failed": 0, "skipped": 0}})
    executions.write(root, record)
    return record, archive


# What the stages returned for a run that finished_run left with this reason.
STAGES = {None: Results(), "timeout": Results(timed_out=True, timeout_seconds=1800, collection_seconds=1440),
          "shutdown": Results(cancelled="shutdown")}


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")


def run_delivery(root: Path, the_spec: ScheduleSpec, record: dict[str, Any], archive: Path, *,
                 previous: str | None = None, env: dict[str, str] | None = None, sleep=no_sleep,
                 now: datetime = NOW) -> dict[str, Any]:
    delivered = deliver(root, "production", "nightly", the_spec, ExecutionRecord.from_json(record), archive,
                        results=STAGES[record["reason"]], previous_status=previous,
                        env=env if env is not None else dict(os.environ), sleep=sleep, now=now)
    executions.write(root, delivered)  # as the executor does after delivery
    record.update(delivered.to_json())  # the tests read the record they made
    return record


def test_s3_the_record_has_the_final_url_and_the_object_matches_its_sha256(s3_env, state_dir):
    bucket = new_bucket(s3_env)
    record, archive = finished_run(state_dir)
    the_spec = spec(upload={"url": f"s3://{bucket}/bundles/", "options": {"endpointUrl": s3_env,
                                                                       "region": "us-east-1"}})

    run_delivery(state_dir, the_spec, record, archive)

    key = f"bundles/production/nightly/{archive.name}"
    upload = record["upload"]
    assert upload["url"] == f"s3://{bucket}/{key}"
    assert (upload["status"], upload["attempts"], upload["bytes"], upload["error"]) == ("uploaded", 1, 64 * 1024, None)
    assert upload["durationSeconds"] >= 0
    assert record["status"] == "completed"
    obj = s3_client(s3_env).get_object(Bucket=bucket, Key=key)
    assert hashlib.sha256(obj["Body"].read()).hexdigest() == record["bundle"]["sha256"]
    assert obj["Metadata"] == {"execution-id": record["id"], "sha256": record["bundle"]["sha256"]}


def test_gcs_the_record_has_the_final_url_and_the_object_matches_its_sha256(gcs_env, state_dir):
    bucket = new_gcs_bucket(gcs_env)
    record, archive = finished_run(state_dir)

    run_delivery(state_dir, spec(upload={"url": f"gs://{bucket}/"}), record, archive)

    key = f"production/nightly/{archive.name}"
    assert record["upload"]["url"] == f"gs://{bucket}/{key}" and record["upload"]["status"] == "uploaded"
    blob = gcs_client(gcs_env).bucket(bucket).get_blob(key)
    assert hashlib.sha256(blob.download_as_bytes()).hexdigest() == record["bundle"]["sha256"]
    assert blob.metadata == {"execution-id": record["id"], "sha256": record["bundle"]["sha256"]}


def test_a_50_mb_bundle_goes_multipart_to_s3_and_resumable_to_gcs(s3_env, gcs_env, state_dir, monkeypatch):
    import requests

    record, archive = finished_run(state_dir, size=50 * MiB)
    bucket = new_bucket(s3_env)
    run_delivery(state_dir, spec(upload={"url": f"s3://{bucket}/", "options": {"endpointUrl": s3_env}}), record,
                 archive)
    head = s3_client(s3_env).head_object(Bucket=bucket, Key=f"production/nightly/{archive.name}")
    assert record["upload"]["status"] == "uploaded" and head["ETag"].strip('"').endswith("-7")  # 8 MiB parts

    sent: list[str] = []
    original = requests.Session.request
    monkeypatch.setattr(requests.Session, "request",
                        lambda self, method, url, *a, **k: sent.append(url) or original(self, method, url, *a, **k))
    gcs_bucket = new_gcs_bucket(gcs_env)
    run_delivery(state_dir, spec(upload={"url": f"gs://{gcs_bucket}/"}), record, archive)
    assert record["upload"]["status"] == "uploaded" and any("uploadType=resumable" in u for u in sent)
    blob = gcs_client(gcs_env).bucket(gcs_bucket).get_blob(f"production/nightly/{archive.name}")
    assert blob.size == 50 * MiB and blob.metadata["sha256"] == record["bundle"]["sha256"]


def test_a_directory_destination_gets_the_bundle(state_dir, tmp_path):
    share = tmp_path / "share"
    record, archive = finished_run(state_dir)

    run_delivery(state_dir, spec(upload={"url": f"file://{share}/"}), record, archive)

    copy = share / "production" / "nightly" / archive.name
    assert record["upload"]["url"] == f"file://{copy}"
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == record["bundle"]["sha256"]


def test_a_permanent_upload_failure_fails_the_run_with_reason_upload_and_keeps_the_bundle(sink, state_dir):
    sink.respond(403)
    record, archive = finished_run(state_dir)
    the_spec = spec(upload={"url": f"{sink.url}/put/"}, retention={"keepLast": 0, "keepFailed": 0, "maxAgeDays": 1})

    run_delivery(state_dir, the_spec, record, archive)

    assert (record["status"], record["reason"]) == ("failed", "upload")
    assert record["error"]["class"] == "permanent" and "HTTP 403" in record["error"]["message"]
    assert record["upload"]["status"] == "failed" and record["upload"]["attempts"] == 1
    assert archive.exists()
    # Later runs with a policy that keeps nothing still leave it alone.
    later, later_archive = finished_run(state_dir, when=NOW + timedelta(days=5))
    run_delivery(state_dir, spec(retention={"keepLast": 0, "keepFailed": 0, "maxAgeDays": 1}), later, later_archive,
                 now=NOW + timedelta(days=5))
    assert archive.exists()


def test_transient_failures_are_retried_per_policy_with_growing_waits(sink, state_dir):
    sink.respond(500, RESET, 200)
    record, archive = finished_run(state_dir)
    waits: list[float] = []

    run_delivery(state_dir, spec(upload={"url": f"{sink.url}/put/"}, policy={"retries": 3, "backoffSeconds": 5}),
                 record, archive, sleep=waits.append)

    assert record["status"] == "completed"
    assert (record["upload"]["status"], record["upload"]["attempts"]) == ("uploaded", 3)
    assert 5 <= waits[0] <= 7.5 and 10 <= waits[1] <= 12.5
    assert len(sink.requests) == 3


def test_when_retries_run_out_the_run_fails_with_a_transient_upload_error(sink, state_dir):
    sink.respond(503, 503)
    record, archive = finished_run(state_dir)

    run_delivery(state_dir, spec(upload={"url": f"{sink.url}/put/"}, policy={"retries": 1, "backoffSeconds": 1}),
                 record, archive, sleep=lambda s: None)

    assert (record["status"], record["reason"], record["error"]["class"]) == ("failed", "upload", "transient")
    assert record["upload"]["attempts"] == 2 and archive.exists()


def test_a_timed_out_run_still_uploads_its_partial_bundle_and_a_cancelled_one_does_not(sink, state_dir):
    record, archive = finished_run(state_dir, status="failed", reason="timeout")
    run_delivery(state_dir, spec(upload={"url": f"{sink.url}/put/"}), record, archive)
    assert record["upload"]["status"] == "uploaded" and record["reason"] == "timeout"

    stopped, stopped_archive = finished_run(state_dir, status="failed", reason="shutdown", when=NOW + timedelta(1))
    run_delivery(state_dir, spec(upload={"url": f"{sink.url}/put/"}), stopped, stopped_archive)
    assert stopped["upload"] is None and len(sink.requests) == 1


def test_without_upload_the_record_is_unchanged_and_retention_still_runs(state_dir):
    old, _ = finished_run(state_dir, when=NOW - timedelta(days=40))
    record, archive = finished_run(state_dir)

    run_delivery(state_dir, spec(), record, archive)

    assert record["upload"] is None and record["status"] == "completed"
    assert not Path(old["bundle"]["path"]).exists()   # 40 days > maxAgeDays 30
    assert not executions.record_path(state_dir, old).exists()
    assert archive.exists()


def test_a_failed_upload_notifies_failure_webhooks_with_the_reason(sink, state_dir):
    sink.respond(403)
    record, archive = finished_run(state_dir)
    the_spec = spec(upload={"url": f"{sink.url}/put/"}, notify=[{"webhook": f"{sink.url}/hook", "on": ["failure"]}])

    run_delivery(state_dir, the_spec, record, archive)

    hook = sink.wait_for(2)[1]
    assert hook.path == "/hook"
    body = hook.json()
    assert (body["status"], body["reason"], body["event"]) == ("failed", "upload", "failure")
    assert body["bundleUrl"] == f"file://{archive}"
    assert body["executionId"] == record["id"] and body["set"] == "production"


def test_a_completed_run_after_a_failed_one_notifies_recovered(sink, state_dir):
    record, archive = finished_run(state_dir)
    the_spec = spec(upload={"url": f"{sink.url}/put/"},
                    notify=[{"webhook": f"{sink.url}/hook", "on": ["failure", "recovered"]}])

    run_delivery(state_dir, the_spec, record, archive, previous="failed")

    body = sink.wait_for(2)[1].json()
    assert body["event"] == "recovered" and body["bundleUrl"] == f"{sink.url}/put/production/nightly/{archive.name}"


def test_a_dead_webhook_does_not_fail_or_delay_delivery(state_dir):
    import threading

    from reconciler.run import notify
    from tests.delivery_fixtures import free_port

    record, archive = finished_run(state_dir)
    the_spec = spec(notify=[{"webhook": f"http://127.0.0.1:{free_port()}/hook", "on": ["success"]}])
    gate = threading.Event()  # the webhook's retry waits on this, not on a clock: a minute unless released

    run_delivery(state_dir, the_spec, record, archive, sleep=lambda seconds: gate.wait(60))

    assert record["status"] == "completed"  # returned while the webhook is still being retried
    gate.set()
    notify.drain(timeout=30)


SECRETS = {"access_key": "AKIAPLANTED0000SECRET", "secret_key": "planted/secret+access/key=value",
           "token": "planted-session-token-value", "http": "Bearer planted-http-bearer-value",
           "hook": "planted-webhook-header-value"}


def test_secret_values_from_references_appear_in_no_file_and_no_log_line(s3_env, sink, state_dir, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="sbsched")
    secret_file = tmp_path / "secrets" / "http-token"
    secret_file.parent.mkdir()
    secret_file.write_text(SECRETS["http"] + "\n")
    env = dict(os.environ, UP_KEY_ID=SECRETS["access_key"], UP_SECRET=SECRETS["secret_key"], UP_TOKEN=SECRETS["token"],
               HOOK_TOKEN=SECRETS["hook"])
    bucket = new_bucket(s3_env)
    s3_spec = spec(upload={"url": f"s3://{bucket}/", "options": {"endpointUrl": s3_env},
                           "credentials": {"accessKeyId": {"env": "UP_KEY_ID"}, "secretAccessKey": {"env": "UP_SECRET"},
                                           "sessionToken": {"env": "UP_TOKEN"}}},
                   notify=[{"webhook": f"{sink.url}/hook", "on": ["success", "failure"],
                            "headers": {"X-Token": {"env": "HOOK_TOKEN"}}}])
    http_spec = spec(upload={"url": f"{sink.url}/put/", "options": {"headers": {"Authorization": {"file": str(secret_file)}}}},
                     policy={"retries": 1, "backoffSeconds": 1},
                     notify=[{"webhook": f"{sink.url}/hook", "on": ["failure"], "headers": {"X-Token": {"env": "HOOK_TOKEN"}}}])
    first, first_archive = finished_run(state_dir)
    run_delivery(state_dir, s3_spec, first, first_archive, env=env)
    sink.wait_for(1)  # the s3 run's webhook
    sink.respond(500, 403)  # a transient, then a permanent upload failure
    second, second_archive = finished_run(state_dir, when=NOW + timedelta(hours=1))
    run_delivery(state_dir, http_spec, second, second_archive, env=env, sleep=lambda s: None)
    received = sink.wait_for(4)

    assert first["upload"]["status"] == "uploaded" and second["reason"] == "upload"
    assert any(r.headers.get("Authorization") == SECRETS["http"] for r in received)   # they were used...
    assert any(r.headers.get("X-Token") == SECRETS["hook"] for r in received)
    written = [p for p in state_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in written)
    for path in written:                                                              # ...and never kept
        data = path.read_bytes()
        for name, value in SECRETS.items():
            assert value.encode() not in data, f"{name} leaked into {path}"
    for name, value in SECRETS.items():
        assert value not in caplog.text, f"{name} leaked into the log"
    assert "upload attempt 1 of 2 failed" in caplog.text  # the logs did say what happened
