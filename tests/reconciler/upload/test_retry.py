"""Which failures are retried, how long the waits are, and how attempts are counted (a fake clock)."""
from __future__ import annotations

import errno
from random import Random

import pytest

from reconciler.upload.credentials import MASK, CredentialError, Secrets
from reconciler.upload.retry import (RetryPolicy, UploadError, call_with_retries, from_botocore, from_http_status,
                                     from_os_error, status_is_transient)


@pytest.mark.parametrize("status, transient", [(500, True), (502, True), (503, True), (504, True), (429, True),
                                               (408, True), (400, False), (401, False), (403, False),
                                               (404, False), (409, False), (413, False)])
def test_http_statuses_are_classified(status, transient):
    assert status_is_transient(status) is transient
    assert from_http_status(status, "x", {}, what="PUT u").transient is transient


@pytest.mark.parametrize("code, status, transient", [
    ("SlowDown", 503, True), ("InternalError", 500, True), ("RequestTimeout", 400, True), ("Throttling", 400, True),
    ("AccessDenied", 403, False), ("InvalidAccessKeyId", 403, False), ("SignatureDoesNotMatch", 403, False),
    ("NoSuchBucket", 404, False), ("ExpiredToken", 400, False)])
def test_s3_error_codes_are_classified_also_when_wrapped_by_upload_file(code, status, transient):
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                        "PutObject")
    try:
        try:
            raise error
        except ClientError as inner:
            raise S3UploadFailedError(f"Failed to upload: {inner}")
    except S3UploadFailedError as wrapped:
        classified = from_botocore(wrapped, what="s3://b/k")
    assert classified.transient is transient and code in classified.message


def test_botocore_connection_errors_are_transient_and_missing_credentials_permanent():
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, ReadTimeoutError

    assert from_botocore(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), what="u").transient
    assert from_botocore(ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), what="u").transient
    assert not from_botocore(NoCredentialsError(), what="u").transient


@pytest.mark.parametrize("number, transient", [(errno.EACCES, False), (errno.EROFS, False), (errno.ENOTDIR, False),
                                               (errno.ENOSPC, True), (errno.EIO, True), (errno.ESTALE, True)])
def test_local_file_errors_are_classified(number, transient):
    assert from_os_error(OSError(number, "x"), what="file").transient is transient


def test_transient_errors_are_retried_with_growing_jittered_waits_then_give_up_with_the_count():
    waits: list[float] = []
    calls = []

    def attempt() -> None:
        calls.append(1)
        raise UploadError("boom", transient=True)

    with pytest.raises(UploadError) as caught:
        call_with_retries(attempt, RetryPolicy(retries=4, backoff_seconds=10), sleep=waits.append)

    assert caught.value.attempts == 5 and len(calls) == 5
    for n, wait in enumerate(waits):
        assert 10 * 2 ** n <= wait <= 10 * 2 ** n + 5
    assert waits == sorted(waits)


def test_the_waits_are_the_backoff_policy_s_drawn_from_its_random_source():
    waits: list[float] = []

    def attempt() -> None:
        raise UploadError("boom", transient=True)

    with pytest.raises(UploadError):
        call_with_retries(attempt, RetryPolicy(retries=3, backoff_seconds=10, random=Random(19).random),
                          sleep=waits.append)
    assert waits == pytest.approx([13.385629, 23.924557, 42.602331])


def test_a_permanent_error_is_not_retried():
    waits: list[float] = []

    def attempt() -> None:
        raise UploadError("forbidden", transient=False)

    with pytest.raises(UploadError) as caught:
        call_with_retries(attempt, RetryPolicy(retries=4), sleep=waits.append)
    assert (caught.value.attempts, waits) == (1, [])


def test_success_after_failures_returns_the_result_and_the_attempt_count():
    outcomes = iter([UploadError("a", transient=True), UploadError("b", transient=True), "done"])
    told: list[tuple[int, float]] = []

    def attempt() -> str:
        result = next(outcomes)
        if isinstance(result, Exception):
            raise result
        return result

    result = call_with_retries(attempt, RetryPolicy(retries=5, backoff_seconds=1), sleep=lambda s: None,
                               on_retry=lambda error, n, delay: told.append((n, delay)))
    assert result == ("done", 3)
    assert [n for n, _ in told] == [1, 2]


def test_waits_are_capped_and_retry_after_is_honoured_up_to_the_cap():
    waits: list[float] = []

    def attempt() -> None:
        raise UploadError("slow down", transient=True, retry_after=10_000)

    with pytest.raises(UploadError):
        call_with_retries(attempt, RetryPolicy(retries=2, backoff_seconds=1, max_delay=60), sleep=waits.append)
    assert waits == [60, 60]


def test_a_bug_is_raised_at_once_not_retried():
    with pytest.raises(ZeroDivisionError):
        call_with_retries(lambda: 1 / 0, RetryPolicy(retries=3), sleep=lambda s: None)


def test_references_resolve_from_env_and_file_and_errors_name_the_reference_never_the_value(tmp_path):
    (tmp_path / "token").write_text("from-file-secret\n")
    secrets = Secrets({"TOKEN": "from-env-secret"})

    assert secrets.resolve({"env": "TOKEN"}, what="h") == "from-env-secret"
    assert secrets.resolve({"file": str(tmp_path / "token")}, what="h") == "from-file-secret"
    assert secrets.header("X", "literal", what="headers") == "literal"
    with pytest.raises(CredentialError, match="env:MISSING"):
        secrets.resolve({"env": "MISSING"}, what="upload.credentials.accessKeyId")
    with pytest.raises(CredentialError, match="file:.*nope"):
        secrets.resolve({"file": str(tmp_path / "nope")}, what="x")
    (tmp_path / "empty").write_text("")
    with pytest.raises(CredentialError, match="is empty"):
        secrets.resolve({"file": str(tmp_path / "empty")}, what="x")
    text = secrets.scrub("an error echoing from-env-secret and from-file-secret")
    assert "from-env-secret" not in text and "from-file-secret" not in text and text.count(MASK) == 2
