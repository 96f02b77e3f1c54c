"""Credentials and bundles go only to the origin the user named (issue 17): a redirect is followed only
when it is a 307/308 to the same scheme, host and port; any other is a permanent failure naming the
Location, and nothing reaches the other origin. Real sinks on two ports of 127.0.0.1."""
from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.run import notify
from reconciler.store.records import ExecutionRecord
from reconciler.upload import RetryPolicy, UploadRequest, upload
from reconciler.upload.credentials import Secrets
from tests.delivery_fixtures import (Reply, elsewhere, elsewhere_sink, http_sink, https_sink,  # noqa: F401
                                     make_archive, sink)

TOKEN = "planted-upload-header-token"
HOOK_KEY = "planted-webhook-key"


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")


def _put(archive: Path, url: str, **options: object):
    request = UploadRequest(archive, url, options={"headers": {"X-Up": {"env": "UP_TOKEN"}}, **options},
                            secrets=Secrets({"UP_TOKEN": TOKEN}))
    return upload(request, RetryPolicy(retries=2, backoff_seconds=1), sleep=_no_sleep)


def test_an_upload_redirected_to_another_port_is_refused_and_nothing_reaches_it(sink, elsewhere, tmp_path):
    archive, _ = make_archive(tmp_path, size=4096)
    sink.respond(Reply(307, {"Location": f"{elsewhere.url}/stolen?sig=abc"}))

    outcome = _put(archive, f"{sink.url}/up/x.tar.gz")

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert f"{elsewhere.url}/stolen" in outcome.error["message"] and "sig=abc" not in outcome.error["message"]
    assert "refused" in outcome.error["message"]
    assert elsewhere.requests == []
    assert sink.requests[0].headers.get("X-Up") == TOKEN   # the origin named did get it


def test_a_webhook_redirected_to_another_port_is_refused_and_its_key_stays_home(sink, elsewhere):
    sink.respond(Reply(308, {"Location": f"{elsewhere.url}/collect"}))

    (sent,) = notify.send([{"webhook": f"{sink.url}/hooks/secretpath", "on": ["failure"],
                            "headers": {"X-Hook-Key": {"env": "HOOK_KEY"}}}],
                          ExecutionRecord("r-1", "r", "2026-03-01T02:00:00+00:00", "failed", set="s", reason="upload"),
                          previous_status=None, env={"HOOK_KEY": HOOK_KEY}, sleep=_no_sleep, background=False)

    assert (sent.status, sent.attempts) == ("failed", 1)
    assert elsewhere.url in sent.error and "refused" in sent.error and "secretpath" not in sent.error
    assert elsewhere.requests == []


def test_https_redirected_to_http_on_the_same_host_and_port_is_refused(https_sink, elsewhere, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    https_sink.reset().respond(Reply(307, {"Location": https_sink.url.replace("https://", "http://") + "/plain"}))
    try:
        outcome = _put(archive, f"{https_sink.url}/up/x.tar.gz", caFile=str(https_sink.ca_file))
    finally:
        https_sink.reset()

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert "http://127.0.0.1" in outcome.error["message"] and "refused" in outcome.error["message"]


def test_a_307_to_the_same_origin_is_followed_with_the_method_body_and_headers(sink, tmp_path):
    archive, sha = make_archive(tmp_path, size=4096)
    sink.respond(Reply(307, {"Location": "/moved/x.tar.gz"}), 200)

    outcome = _put(archive, f"{sink.url}/up/x.tar.gz")

    assert (outcome.status, outcome.attempts) == ("uploaded", 1)
    moved = sink.requests[1]
    assert (moved.method, moved.path, moved.sha256, moved.headers.get("X-Up")) == ("PUT", "/moved/x.tar.gz", sha, TOKEN)


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_the_upload_into_a_get_is_refused_even_to_the_same_origin(sink, tmp_path, status):
    """requests re-sends a PUT answered 302/303 (and a POST answered 301) as a GET without the body: a
    200 to that GET was recorded as an upload, though nothing was stored."""
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(Reply(status, {"Location": "/elsewhere"}))

    outcome = _put(archive, f"{sink.url}/up/x.tar.gz", method="POST")

    assert (outcome.status, outcome.error["class"]) == ("failed", "permanent")
    assert f"HTTP {status}" in outcome.error["message"] and f"{sink.url}/elsewhere" in outcome.error["message"]
    assert [r.method for r in sink.requests] == ["POST"]


def test_a_redirect_loop_on_the_same_origin_ends_after_a_few_hops(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(*[Reply(307, {"Location": "/again"})] * 20)

    outcome = _put(archive, f"{sink.url}/up/x.tar.gz")

    assert (outcome.status, outcome.error["class"]) == ("failed", "permanent")
    assert "redirects" in outcome.error["message"] and len(sink.requests) <= 6


def test_gcs_uploads_are_not_redirected_to_another_origin(sink, elsewhere, tmp_path):
    """google-cloud-storage talks through requests, which followed a 307 and re-sent the bundle to the
    other origin (it dropped only Authorization)."""
    archive, _ = make_archive(tmp_path, size=4096)
    sink.respond(Reply(307, {"Location": f"{elsewhere.url}/upload"}))
    request = UploadRequest(archive, "gs://bucket/production/nightly/x.tar.gz",
                            secrets=Secrets({"STORAGE_EMULATOR_HOST": sink.url}))

    outcome = upload(request, RetryPolicy(retries=2, backoff_seconds=1), sleep=_no_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert f"{elsewhere.url}/upload" in outcome.error["message"]
    assert elsewhere.requests == []


def test_s3_uploads_are_not_redirected_to_another_origin(sink, elsewhere, tmp_path, fake_aws):
    """A guard, not a fix: botocore follows no HTTP redirect itself (its S3 region redirector re-signs for
    the bucket's region at the configured endpoint), so the signed request never leaves the origin."""
    archive, _ = make_archive(tmp_path, size=4096)
    sink.respond(Reply(307, {"Location": f"{elsewhere.url}/stolen"}))

    outcome = upload(UploadRequest(archive, "s3://bucket/key", options={"endpointUrl": sink.url}),
                     RetryPolicy(retries=0), sleep=_no_sleep)

    assert outcome.status == "failed" and elsewhere.requests == []
