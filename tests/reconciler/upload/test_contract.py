"""One upload contract, four real destinations: a directory, the HTTP sink, moto's S3 server and the
GCS emulator. Each uploads an archive through `upload()`, then reads the object back and checks its
sha256 against the archive's."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable

import pytest

from reconciler.upload import RetryPolicy, UploadRequest, object_url, upload, uploader_for
from reconciler.upload.credentials import Secrets
from tests.delivery_fixtures import (gcs_client, gcs_emulator, gcs_env, http_sink, make_archive, moto_s3,  # noqa: F401
                                     new_bucket, new_gcs_bucket, s3_client, s3_env, sink)

NO_WAIT = RetryPolicy(retries=2, backoff_seconds=1)


def _file(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], Callable[[str], bytes]]:
    root = tmp_path / "share"
    root.mkdir()
    return f"file://{root}/", {}, lambda url: Path(url.removeprefix("file://")).read_bytes()


def _http(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], Callable[[str], bytes]]:
    the_sink = request.getfixturevalue("sink")

    def fetch(url: str) -> bytes:
        (put,) = the_sink.requests
        return put.body  # type: ignore[no-any-return]

    return f"{the_sink.url}/uploads/", {}, fetch


def _s3(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], Callable[[str], bytes]]:
    endpoint = request.getfixturevalue("s3_env")
    bucket = new_bucket(endpoint)

    def fetch(url: str) -> bytes:
        key = url.removeprefix(f"s3://{bucket}/")
        return s3_client(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]

    return f"s3://{bucket}/bundles/", {"endpointUrl": endpoint, "region": "us-east-1"}, fetch


def _gcs(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], Callable[[str], bytes]]:
    endpoint = request.getfixturevalue("gcs_env")
    bucket = new_gcs_bucket(endpoint)

    def fetch(url: str) -> bytes:
        key = url.removeprefix(f"gs://{bucket}/")
        return gcs_client(endpoint).bucket(bucket).blob(key).download_as_bytes()  # type: ignore[no-any-return]

    return f"gs://{bucket}/bundles/", {}, fetch


DESTINATIONS = {"file": _file, "http": _http, "s3": _s3, "gcs": _gcs}


@pytest.mark.parametrize("scheme", sorted(DESTINATIONS))
def test_an_archive_uploaded_to_each_destination_reads_back_with_the_same_sha256(scheme, tmp_path, request):
    base, options, fetch = DESTINATIONS[scheme](tmp_path, request)
    archive, sha = make_archive(tmp_path, size=300 * 1024)
    url = object_url(base, "production", "nightly", archive.name)
    outcome = upload(UploadRequest(archive, url, options=options, metadata={"execution-id": "x-1", "sha256": sha},
                                   secrets=Secrets(dict(os.environ))), NO_WAIT, sleep=_no_sleep)

    assert outcome.status == "uploaded", outcome.error
    assert (outcome.attempts, outcome.bytes, outcome.error) == (1, 300 * 1024, None)
    assert outcome.url == url
    assert url.endswith("/production/nightly/" + archive.name)
    assert hashlib.sha256(fetch(url)).hexdigest() == sha


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected, asked to sleep {seconds}s")


def test_each_scheme_has_its_uploader_and_an_unknown_one_is_a_permanent_error():
    from reconciler.upload.retry import UploadError

    for url, kind in [("s3://b/k", "S3Uploader"), ("gs://b/k", "GcsUploader"), ("https://upload.example.com/p", "HttpUploader"),
                      ("http://upload.example.com/p", "HttpUploader"), ("file:///d/f", "FileUploader")]:
        assert type(uploader_for(url)).__name__ == kind
    with pytest.raises(UploadError) as caught:
        uploader_for("ftp://host/dir/")
    assert not caught.value.transient and "ftp://" in caught.value.message


def test_a_prefix_url_gets_set_schedule_and_file_name_and_any_other_url_is_used_as_is():
    assert object_url("s3://b/p/", "prod", "nightly", "x.tar.gz") == "s3://b/p/prod/nightly/x.tar.gz"
    assert object_url("s3://b/", "prod", "nightly", "x.tar.gz") == "s3://b/prod/nightly/x.tar.gz"
    assert object_url("s3://b/exact.tar.gz", "prod", "nightly", "x.tar.gz") == "s3://b/exact.tar.gz"
    presigned = "https://bucket.example.com/o?X-Amz-Signature=abc&Content-Type=application%2Ftar%2Bgzip"
    assert object_url(presigned, "prod", "nightly", "x.tar.gz") == presigned
