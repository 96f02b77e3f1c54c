"""HTTP(S) uploads against a local sink: PUT, POST, presigned URLs, headers from references, TLS with a
private CA, and the faults of real servers (500s, resets, stalls, 403) with a fake clock."""
from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.upload import RetryPolicy, UploadRequest, upload
from reconciler.upload.credentials import Secrets
from reconciler.upload.http import HttpUploader
from tests.delivery_fixtures import RESET, Reply, Stall, http_sink, https_sink, make_archive, sink  # noqa: F401


def _req(archive: Path, url: str, env: dict[str, str] | None = None, **options: object) -> UploadRequest:
    return UploadRequest(archive, url, options=options, secrets=Secrets(env or {}))


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")


def test_put_sends_the_archive_as_the_body_with_its_length_and_no_content_type(sink, tmp_path):
    archive, sha = make_archive(tmp_path, size=200 * 1024)

    outcome = upload(_req(archive, f"{sink.url}/b/x.tar.gz"), RetryPolicy(), sleep=_no_sleep)

    assert outcome.status == "uploaded"
    (put,) = sink.requests
    assert (put.method, put.path, put.size, put.sha256) == ("PUT", "/b/x.tar.gz", 200 * 1024, sha)
    assert put.headers["Content-Length"] == str(200 * 1024)
    assert "Content-Type" not in put.headers


def test_post_sends_the_raw_archive_as_application_gzip(sink, tmp_path):
    archive, sha = make_archive(tmp_path, size=4096)

    upload(_req(archive, f"{sink.url}/upload", method="POST"), RetryPolicy(), sleep=_no_sleep)

    (post,) = sink.requests
    assert (post.method, post.headers["Content-Type"], post.sha256) == ("POST", "application/gzip", sha)


def test_a_presigned_url_with_content_type_tar_gzip_sends_it_as_the_header_and_keeps_the_query(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    url = f"{sink.url}/bucket/key.tar.gz?X-Amz-Signature=s3cr3tsig&Content-Type=application%2Ftar%2Bgzip"

    outcome = upload(_req(archive, url), RetryPolicy(), sleep=_no_sleep)

    (put,) = sink.requests
    assert put.headers["Content-Type"] == "application/tar+gzip"
    assert "X-Amz-Signature=s3cr3tsig" in put.query
    assert outcome.url == f"{sink.url}/bucket/key.tar.gz"  # the signature is a credential: never recorded


def test_a_presigned_url_with_another_content_type_is_refused_before_sending_anything(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)

    outcome = upload(_req(archive, f"{sink.url}/k?Content-Type=text%2Fplain"), RetryPolicy(retries=3),
                     sleep=_no_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert "text/plain" in outcome.error["message"] and not sink.requests


def test_headers_take_literal_values_and_env_and_file_references(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    token_file = tmp_path / "token"
    token_file.write_text("file-token-value\n")
    headers = {"Authorization": {"env": "UPLOAD_TOKEN"}, "X-Api-Key": {"file": str(token_file)}, "X-Team": "sre"}

    upload(_req(archive, f"{sink.url}/k", {"UPLOAD_TOKEN": "Bearer env-token-value"}, headers=headers),
           RetryPolicy(), sleep=_no_sleep)

    (put,) = sink.requests
    assert put.headers["Authorization"] == "Bearer env-token-value"
    assert put.headers["X-Api-Key"] == "file-token-value"
    assert put.headers["X-Team"] == "sre"


def test_500s_then_success_retries_with_growing_waits_on_a_fake_clock(sink, tmp_path):
    archive, sha = make_archive(tmp_path, size=64 * 1024)
    sink.respond(500, 503, 200)
    waits: list[float] = []

    outcome = upload(_req(archive, f"{sink.url}/k"), RetryPolicy(retries=3, backoff_seconds=10), sleep=waits.append)

    assert (outcome.status, outcome.attempts) == ("uploaded", 3)
    assert len(sink.requests) == 3 and all(r.sha256 == sha for r in sink.requests)  # each attempt sends it all
    assert 10 <= waits[0] <= 15 and 20 <= waits[1] <= 25


def test_a_connection_reset_is_retried(sink, tmp_path):
    archive, sha = make_archive(tmp_path, size=64 * 1024)
    sink.respond(RESET, 200)
    waits: list[float] = []

    outcome = upload(_req(archive, f"{sink.url}/k"), RetryPolicy(retries=2, backoff_seconds=1), sleep=waits.append)

    assert (outcome.status, outcome.attempts, len(waits)) == ("uploaded", 2, 1)


def test_a_stalled_server_times_out_and_the_next_attempt_succeeds(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(Stall(10), 200)
    waits: list[float] = []

    outcome = upload(_req(archive, f"{sink.url}/k"), RetryPolicy(retries=2, backoff_seconds=1),
                     uploader=HttpUploader(timeout=(2.0, 0.3)), sleep=waits.append)

    assert (outcome.status, outcome.attempts, len(waits)) == ("uploaded", 2, 1)


def test_retries_run_out_on_a_server_that_keeps_failing_and_the_error_is_transient(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(502, 502, 502, 502)
    waits: list[float] = []

    outcome = upload(_req(archive, f"{sink.url}/k"), RetryPolicy(retries=2, backoff_seconds=1), sleep=waits.append)

    assert (outcome.status, outcome.attempts, len(waits)) == ("failed", 3, 2)
    assert outcome.error == {"class": "transient", "message": f"PUT {sink.url}/k: HTTP 502 Bad Gateway"}


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_4xx_is_permanent_one_attempt_and_a_clear_error(sink, tmp_path, status):
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(status)

    outcome = upload(_req(archive, f"{sink.url}/k"), RetryPolicy(retries=5), sleep=_no_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert f"HTTP {status}" in outcome.error["message"] and len(sink.requests) == 1
    if status == 403:
        assert "credentials rejected" in outcome.error["message"]


def test_429_honours_retry_after_when_longer_than_the_backoff(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(Reply(429, {"Retry-After": "42"}), 200)
    waits: list[float] = []

    outcome = upload(_req(archive, f"{sink.url}/k"), RetryPolicy(retries=1, backoff_seconds=1), sleep=waits.append)

    assert outcome.status == "uploaded" and waits == [42.0]


def test_https_verifies_against_options_ca_file(https_sink, tmp_path):
    https_sink.reset()
    archive, sha = make_archive(tmp_path, size=1024)

    outcome = upload(_req(archive, f"{https_sink.url}/k", caFile=str(https_sink.ca_file)), RetryPolicy(),
                     sleep=_no_sleep)

    assert outcome.status == "uploaded", outcome.error
    assert https_sink.requests[0].sha256 == sha


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_https_honours_the_ca_bundle_environment_variables(https_sink, tmp_path, variable):
    https_sink.reset()
    archive, _ = make_archive(tmp_path, size=1024)

    outcome = upload(_req(archive, f"{https_sink.url}/k", {variable: str(https_sink.ca_file)}), RetryPolicy(),
                     sleep=_no_sleep)

    assert outcome.status == "uploaded", outcome.error


def test_an_unverifiable_certificate_is_permanent(https_sink, tmp_path):
    https_sink.reset()
    archive, _ = make_archive(tmp_path, size=1024)

    outcome = upload(_req(archive, f"{https_sink.url}/k"), RetryPolicy(retries=3), sleep=_no_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert "TLS" in outcome.error["message"]


def test_the_body_is_streamed_from_the_file_not_read_whole(sink, tmp_path, monkeypatch):
    import io

    from reconciler.upload import http as http_module

    archive, sha = make_archive(tmp_path, size=3 * 1024 * 1024)
    reads: list[int] = []

    class Spy(io.BufferedReader):
        def read(self, size: int | None = -1) -> bytes:
            reads.append(-1 if size is None else size)
            return super().read(size)

    monkeypatch.setattr(http_module, "open", lambda path, mode="r": Spy(io.FileIO(path, "rb")), raising=False)
    upload(_req(archive, f"{sink.url}/k"), RetryPolicy(), sleep=_no_sleep)

    assert sink.requests[0].sha256 == sha
    assert reads and all(0 < size <= 1024 * 1024 for size in reads)


def test_user_info_in_the_url_is_never_recorded(sink, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(403)
    url = f"http://uploader:pa55word-in-url@127.0.0.1:{sink.url.rsplit(':', 1)[1]}/k"

    outcome = upload(_req(archive, url), RetryPolicy(), sleep=_no_sleep)

    assert "pa55word" not in repr(outcome.to_json()) and "uploader" not in outcome.url
