"""S3 against moto's server (a real process on loopback): multipart, encryption, storage class, metadata,
credentials by reference or profile, and the errors that must not be retried."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.upload import RetryPolicy, UploadRequest, upload
from reconciler.upload.credentials import Secrets
from reconciler.upload.s3 import S3Uploader
from tests.delivery_fixtures import make_archive, moto_s3, new_bucket, s3_client, s3_env  # noqa: F401

MiB = 1024 * 1024


def _request(archive: Path, url: str, endpoint: str, env: dict[str, str] | None = None, **options: object
             ) -> UploadRequest:
    return UploadRequest(archive, url, options={"endpointUrl": endpoint, "region": "us-east-1", **options},
                         metadata={"execution-id": "nightly-20260102T0304Z", "sha256": "ab" * 32},
                         secrets=Secrets(env or {}))


def _sleeps() -> tuple[list[float], object]:
    waits: list[float] = []
    return waits, waits.append


def test_a_bundle_above_the_threshold_goes_multipart_and_reads_back_whole(s3_env, tmp_path):
    bucket = new_bucket(s3_env)
    archive, sha = make_archive(tmp_path, size=12 * MiB)
    uploader = S3Uploader(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)

    outcome = upload(_request(archive, f"s3://{bucket}/a/b.tar.gz", s3_env), RetryPolicy(), uploader=uploader,
                     sleep=_fail_sleep)

    assert outcome.status == "uploaded", outcome.error
    head = s3_client(s3_env).head_object(Bucket=bucket, Key="a/b.tar.gz")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 2 MiB
    assert head["ContentLength"] == 12 * MiB
    body = s3_client(s3_env).get_object(Bucket=bucket, Key="a/b.tar.gz")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha


def test_a_bundle_below_the_threshold_is_one_put(s3_env, tmp_path):
    bucket = new_bucket(s3_env)
    archive, _ = make_archive(tmp_path, size=1 * MiB)

    upload(_request(archive, f"s3://{bucket}/k.tar.gz", s3_env), RetryPolicy(),
           uploader=S3Uploader(multipart_threshold=5 * MiB), sleep=_fail_sleep)

    assert "-" not in s3_client(s3_env).head_object(Bucket=bucket, Key="k.tar.gz")["ETag"]


@pytest.mark.parametrize("multipart", [False, True])
def test_encryption_storage_class_content_type_and_metadata_are_on_the_object(s3_env, tmp_path, multipart):
    bucket = new_bucket(s3_env)
    archive, _ = make_archive(tmp_path, size=6 * MiB if multipart else 1024)
    request = _request(archive, f"s3://{bucket}/k.tar.gz", s3_env, storageClass="STANDARD_IA",
                       serverSideEncryption="aws:kms", kmsKeyId="alias/support-bundles")

    outcome = upload(request, RetryPolicy(), uploader=S3Uploader(multipart_threshold=5 * MiB), sleep=_fail_sleep)

    assert outcome.status == "uploaded", outcome.error
    head = s3_client(s3_env).head_object(Bucket=bucket, Key="k.tar.gz")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/support-bundles")
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["ContentType"] == "application/gzip"
    assert head["Metadata"] == {"execution-id": "nightly-20260102T0304Z", "sha256": "ab" * 32}


def test_aes256_encryption_is_on_the_object(s3_env, tmp_path):
    bucket = new_bucket(s3_env)
    archive, _ = make_archive(tmp_path, size=1024)

    upload(_request(archive, f"s3://{bucket}/k.tar.gz", s3_env, serverSideEncryption="AES256"), RetryPolicy(),
           sleep=_fail_sleep)

    assert s3_client(s3_env).head_object(Bucket=bucket, Key="k.tar.gz")["ServerSideEncryption"] == "AES256"


def test_a_missing_bucket_is_permanent_one_attempt_and_says_so(s3_env, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)

    outcome = upload(_request(archive, "s3://no-such-bucket-here/k.tar.gz", s3_env), RetryPolicy(retries=5),
                     sleep=_fail_sleep)

    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error is not None and outcome.error["class"] == "permanent"
    assert "NoSuchBucket" in outcome.error["message"]


def test_credentials_by_env_and_file_reference_are_used_and_never_reported(s3_env, tmp_path):
    bucket = new_bucket(s3_env)
    archive, _ = make_archive(tmp_path, size=1024)
    secret_file = tmp_path / "secret-key"
    secret_file.write_text("planted-secret-access-key-value\n")
    request = UploadRequest(archive, f"s3://{bucket}/k.tar.gz", options={"endpointUrl": s3_env},
                            credentials={"accessKeyId": {"env": "MY_KEY_ID"},
                                         "secretAccessKey": {"file": str(secret_file)},
                                         "sessionToken": {"env": "MY_TOKEN"}},
                            secrets=Secrets({"MY_KEY_ID": "AKIAPLANTEDKEYID0001", "MY_TOKEN": "planted-token"}))

    outcome = upload(request, RetryPolicy(), sleep=_fail_sleep)

    assert outcome.status == "uploaded", outcome.error
    assert "planted" not in repr(outcome.to_json())


def test_a_missing_credential_reference_is_permanent_and_names_the_reference(s3_env, tmp_path):
    archive, _ = make_archive(tmp_path, size=1024)
    request = UploadRequest(archive, "s3://b/k.tar.gz", options={"endpointUrl": s3_env},
                            credentials={"accessKeyId": {"env": "MY_KEY_ID"}, "secretAccessKey": {"env": "UNSET"}},
                            secrets=Secrets({"MY_KEY_ID": "AKIAPLANTEDKEYID0001"}))

    outcome = upload(request, RetryPolicy(retries=3), sleep=_fail_sleep)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 1, "permanent")
    assert "env:UNSET" in outcome.error["message"] and "secretAccessKey" in outcome.error["message"]


def test_a_named_profile_is_read_from_the_aws_config_files(s3_env, tmp_path, monkeypatch):
    bucket = new_bucket(s3_env)
    archive, _ = make_archive(tmp_path, size=1024)
    (tmp_path / "aws-credentials").write_text("[support]\naws_access_key_id = AKIAPROFILE\n"
                                              "aws_secret_access_key = from-profile\n")
    request = UploadRequest(archive, f"s3://{bucket}/k.tar.gz", options={"endpointUrl": s3_env},
                            credentials={"profile": "support"}, secrets=Secrets({}))
    assert upload(request, RetryPolicy(), sleep=_fail_sleep).status == "uploaded"

    missing = UploadRequest(archive, f"s3://{bucket}/k.tar.gz", options={"endpointUrl": s3_env},
                            credentials={"profile": "nope"}, secrets=Secrets({}))
    outcome = upload(missing, RetryPolicy(retries=3), sleep=_fail_sleep)
    assert (outcome.status, outcome.attempts) == ("failed", 1) and "nope" in outcome.error["message"]


def test_a_refused_connection_is_transient_and_retried_with_growing_waits(s3_env, tmp_path):
    from tests.delivery_fixtures import free_port

    archive, _ = make_archive(tmp_path, size=1024)
    waits: list[float] = []
    request = _request(archive, "s3://b/k.tar.gz", f"http://127.0.0.1:{free_port()}")

    outcome = upload(request, RetryPolicy(retries=2, backoff_seconds=2), sleep=waits.append)

    assert (outcome.status, outcome.attempts, outcome.error["class"]) == ("failed", 3, "transient")
    assert 2 <= waits[0] <= 3 and 4 <= waits[1] <= 5


def _fail_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected (asked to wait {seconds}s)")
