"""GCS against gcp-storage-emulator (a real process on loopback): resumable uploads above the threshold,
metadata, a missing bucket, and a service-account key whose token comes from a local sink."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

from reconciler.upload import RetryPolicy, UploadRequest, upload
from reconciler.upload.credentials import Secrets
from reconciler.upload.gcs import GcsUploader
from tests.delivery_fixtures import (Reply, gcs_client, gcs_emulator, gcs_env, http_sink, make_archive,  # noqa: F401
                                     new_gcs_bucket, sink)

MiB = 1024 * 1024


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request the Google client sends, as "METHOD url"."""
    seen: list[str] = []
    original = requests.Session.request

    def spy(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(f"{method} {url}")
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    return seen


def test_a_bundle_above_the_threshold_goes_up_resumably_in_chunks(gcs_env, tmp_path, sent):
    bucket = new_gcs_bucket(gcs_env)
    archive, sha = make_archive(tmp_path, size=3 * MiB)
    request = UploadRequest(archive, f"gs://{bucket}/p/b.tar.gz", metadata={"sha256": sha},
                            secrets=Secrets({"STORAGE_EMULATOR_HOST": gcs_env}))

    outcome = upload(request, RetryPolicy(), uploader=GcsUploader(resumable_threshold=MiB, chunk_size=MiB),
                     sleep=_no_sleep)

    assert outcome.status == "uploaded", outcome.error
    assert any("uploadType=resumable" in s for s in sent)
    assert sum(s.startswith("PUT ") for s in sent) >= 3  # 1 MiB chunks (and an empty last one)
    blob = gcs_client(gcs_env).bucket(bucket).get_blob("p/b.tar.gz")
    assert hashlib.sha256(blob.download_as_bytes()).hexdigest() == sha
    assert blob.metadata == {"sha256": sha}


def test_a_bundle_below_the_threshold_is_one_multipart_request(gcs_env, tmp_path, sent):
    bucket = new_gcs_bucket(gcs_env)
    archive, sha = make_archive(tmp_path, size=64 * 1024)
    request = UploadRequest(archive, f"gs://{bucket}/b.tar.gz", metadata={"execution-id": "n-1", "sha256": sha},
                            secrets=Secrets({"STORAGE_EMULATOR_HOST": gcs_env}))
    sent.clear()

    upload(request, RetryPolicy(), uploader=GcsUploader(resumable_threshold=MiB, chunk_size=MiB), sleep=_no_sleep)

    assert [s for s in sent if "upload" in s] and all("uploadType=multipart" in s for s in sent if "upload" in s)
    blob = gcs_client(gcs_env).bucket(bucket).get_blob("b.tar.gz")
    assert blob.metadata == {"execution-id": "n-1", "sha256": sha}
    assert blob.content_type == "application/gzip"


def test_a_missing_bucket_is_permanent_and_one_attempt(gcs_env, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    request = UploadRequest(archive, "gs://no-such-bucket/b.tar.gz", secrets=Secrets({"STORAGE_EMULATOR_HOST": gcs_env}))

    outcome = upload(request, RetryPolicy(retries=3), sleep=_no_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert "404" in outcome.error["message"]


def test_a_service_account_key_file_is_used_and_its_key_never_reported(gcs_env, tmp_path, sink, monkeypatch):
    import google.auth.credentials
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    # google-auth looks up a service account's "regional access boundary" at iamcredentials.googleapis.com
    # in the background; tests reach loopback only.
    monkeypatch.setattr(google.auth.credentials.CredentialsWithRegionalAccessBoundary, "_is_regional_access_boundary_lookup_required",
                        lambda self: False)
    bucket = new_gcs_bucket(gcs_env)
    archive, _ = make_archive(tmp_path, size=1024)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({"type": "service_account", "project_id": "p", "private_key_id": "k1",
                                    "private_key": pem, "client_email": "up@p.iam.gserviceaccount.com",
                                    "client_id": "1", "token_uri": f"{sink.url}/token"}))
    sink.respond(Reply(200, {"Content-Type": "application/json"},
                       json.dumps({"access_token": "ya29.planted-access-token", "expires_in": 3600}).encode()))
    request = UploadRequest(archive, f"gs://{bucket}/b.tar.gz", credentials={"serviceAccountFile": str(key_file)},
                            secrets=Secrets({"STORAGE_EMULATOR_HOST": gcs_env}))

    outcome = upload(request, RetryPolicy(), sleep=_no_sleep)

    assert outcome.status == "uploaded", outcome.error
    assert sink.requests[0].path == "/token" and b"assertion" in (sink.requests[0].body or b"")
    assert gcs_client(gcs_env).bucket(bucket).get_blob("b.tar.gz") is not None


def test_a_missing_service_account_file_names_the_path_and_is_permanent(gcs_env, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    request = UploadRequest(archive, "gs://b/k", credentials={"serviceAccountFile": str(tmp_path / "nope.json")},
                            secrets=Secrets({"STORAGE_EMULATOR_HOST": gcs_env}))

    outcome = upload(request, RetryPolicy(retries=3), sleep=_no_sleep)

    assert (outcome.attempts, outcome.error["class"]) == (1, "permanent")
    assert "nope.json" in outcome.error["message"]


def test_without_credentials_or_emulator_the_error_says_how_to_provide_them(tmp_path, monkeypatch):
    for var in ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    import google.auth._default

    monkeypatch.setattr(google.auth._default, "_get_gce_credentials", lambda *a, **k: (None, None))  # no metadata server
    archive, _ = make_archive(tmp_path, size=1024)

    outcome = upload(UploadRequest(archive, "gs://b/k", secrets=Secrets({})), RetryPolicy(retries=2), sleep=_no_sleep)

    assert (outcome.status, outcome.error["class"]) == ("failed", "permanent")
    assert "serviceAccountFile" in outcome.error["message"]


def test_a_5xx_from_the_server_is_transient(tmp_path, sink):
    archive, _ = make_archive(tmp_path, size=1024)
    sink.respond(503, Reply(200, {"Content-Type": "application/json"}, b'{"name": "k", "bucket": "b"}'))
    waits: list[float] = []

    outcome = upload(UploadRequest(archive, "gs://b/k", secrets=Secrets({"STORAGE_EMULATOR_HOST": sink.url})),
                     RetryPolicy(retries=1, backoff_seconds=1), sleep=waits.append)

    assert (outcome.status, outcome.attempts, len(waits)) == ("uploaded", 2, 1)
    assert Path(archive).exists()
