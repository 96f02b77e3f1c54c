"""The post-run stage: upload the bundle, notify, apply retention. The executor calls `deliver` once per
run, after the archive is written and before the final record is.

What it gives the record:
- `upload` (design §2): `{url, status: uploaded|failed, attempts, bytes, durationSeconds, error}`,
  `url` the final object URL without query string or user info, `error` `{class, message}` or null.
  Left as it is (null) when the schedule has no `upload`, when there is no archive, or when the run
  did not get as far as a bundle worth sending (only `completed` runs and `failed` ones with reason
  `timeout` or `bundle-too-large`, whose partial bundle is still wanted, are uploaded).
- The run's `status`, `reason` and `error`, settled again (settle.py) with the upload's result: a
  completed run whose upload failed becomes failed, reason `upload` (or `timeout` past the run's
  deadline). The local bundle stays, and retention will not remove it (unless `cleanup --force`).
Nothing else: notifications go out on a background thread (their outcome is logged on
`sbsched.notify`), and retention's removals are logged on `sbsched.delivery`.

Secrets: references are resolved here, into memory, for this delivery only; every message that reaches
the record or a log passes through `Secrets.scrub`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping

from . import notify, retention
from .settle import Results, Uploaded, settle, worth_sending
from ..base.errors import error_class
from ..base.masking import mask_text
from ..base.progress import UPLOAD_FINISHED, UPLOAD_STARTED, Progress, ProgressEvent, ignore
from ..manifest.model import ScheduleSpec
from ..store.records import ExecutionRecord, Upload
from ..upload import RetryPolicy, UploadError, UploadRequest, object_url, upload
from ..upload.credentials import Secrets
from ..upload.retry import CANCELLED, DEADLINE, Sleep

log = logging.getLogger("sbsched.delivery")


def deliver(root: Path, set_name: str, schedule: str, spec: ScheduleSpec, record: ExecutionRecord,
            archive: Path | None, *, results: Results, previous_status: str | None,
            env: Mapping[str, str] = os.environ, sleep: Sleep = time.sleep,
            stopped: Callable[[], str | None] = lambda: None,
            deadline: float | None = None, now: datetime, progress: Progress = ignore) -> ExecutionRecord:
    """Upload (per `spec.upload`), notify (per the spec's `notify`), then apply `spec.retention` to the
    schedule's runs; returns `record` with the upload's result. `results` are what the run's stages returned, which
    settled its status so far. Never raises for a failed upload, webhook or deletion.
    A run passes its cancel event's `wait` as `sleep`, and as `stopped` why it was cancelled: an upload
    cut short by the cancel leaves the run failed with that reason, as a cancelled collection does.
    `deadline` (a `time.monotonic()` time) is the run's: an upload still going then is given up, and
    a completed run becomes failed, reason `timeout`, transient. `progress` hears the upload start and end."""
    if spec.upload is not None and archive is not None and archive.is_file() and worth_sending(settle(results)):
        record, uploaded = _upload(set_name, schedule, spec, record, archive, env=env, sleep=sleep, stopped=stopped,
                                   deadline=deadline, progress=progress)
        record = settle(replace(results, upload=uploaded)).onto(record)
    hooks = spec.document["notify"]
    if hooks:
        notify.send(hooks, record, previous_status=previous_status, env=env, sleep=sleep)
    try:
        removed = retention.apply_retention(root, schedule, spec.retention, now, current=record)
    except OSError as exc:
        log.warning("%s: retention for %s failed: %s", record.id, schedule, exc.strerror or exc)
        return record
    except Exception as exc:  # e.g. a hand-edited record with a bad time: the run itself is unaffected
        log.warning("%s: retention for %s failed: %s: %s", record.id, schedule, type(exc).__name__, exc)
        return record
    for deletion in removed:
        log.info("%s: retention removed %s (%s)", record.id, deletion.run.id, deletion.reason)
    return record


def _upload(set_name: str, schedule: str, spec: ScheduleSpec, record: ExecutionRecord, archive: Path, *,
            env: Mapping[str, str], sleep: Sleep, stopped: Callable[[], str | None],
            deadline: float | None, progress: Progress) -> tuple[ExecutionRecord, Uploaded]:
    """Upload the archive; the record with its `upload`, and the result that says how it went."""
    destination, policy = spec.upload, spec.policy
    assert destination is not None
    retry = RetryPolicy(retries=policy.retries, backoff_seconds=float(policy.backoff_seconds))
    secrets = Secrets(env)
    sha = (record.bundle.sha256 if record.bundle is not None else None) or _sha256(archive)
    request = UploadRequest(archive, object_url(destination.url, set_name, schedule, archive.name),
                            options=destination.options, credentials=destination.credentials,
                            metadata={"execution-id": record.id, "sha256": sha}, secrets=secrets,
                            deadline=deadline)

    def on_retry(error: UploadError, attempt: int, delay: float) -> None:
        log.warning("%s: upload attempt %d of %d failed (%s): %s; next in %.1fs", record.id, attempt,
                    retry.retries + 1, error_class(error), secrets.scrub(error.message), delay)

    progress(ProgressEvent(UPLOAD_STARTED, detail=secrets.scrub(mask_text(request.url))))
    outcome = upload(request, retry, sleep=sleep, on_retry=on_retry)
    record = replace(record, upload=Upload(outcome.to_json()))
    progress(ProgressEvent(UPLOAD_FINISHED, status=outcome.status, bytes=outcome.bytes,
                           detail=secrets.scrub(outcome.error["message"]) if outcome.error else None))
    if outcome.status == "uploaded":
        log.info("%s: uploaded %d bytes to %s in %.1fs (%d attempt(s))", record.id, outcome.bytes, outcome.url,
                 outcome.duration_seconds, outcome.attempts)
        return record, Uploaded(attempts=outcome.attempts)
    assert outcome.error is not None
    log.error("%s: upload to %s failed after %d attempt(s) (%s): %s; the bundle stays at %s", record.id,
              outcome.url, outcome.attempts, outcome.error["class"], outcome.error["message"], archive)
    return record, Uploaded(outcome.error["class"], outcome.error["message"], outcome.attempts,
                            cancelled_by=stopped() if outcome.stopped == CANCELLED else None,
                            past_deadline=outcome.stopped == DEADLINE)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
