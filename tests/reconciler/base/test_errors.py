"""One vocabulary for failure: every error family says by its type whether another attempt can help,
and `error_class` gives the execution record's `error.class` for any exception."""
from __future__ import annotations

import errno

import pytest

from reconciler.base.errors import (PERMANENT, TRANSIENT, LockTimeout, ManifestError, PermanentError, SbschedError,
                                    StateError, TransientError, error_class, status_is_transient)
from reconciler.collect.kube.client import ApiError, ClusterUnreachable, KubeconfigError
from reconciler.troubleshoot.reader import SpecError
from reconciler.redact import RedactorSpecError
from reconciler.run.encryption import EncryptionError
from reconciler.upload.credentials import CredentialError
from reconciler.upload.retry import UploadError, from_http_status, from_os_error

FAMILIES = [
    # the base of each class
    (TransientError("the API server is down"), TRANSIENT),
    (PermanentError("a spec the run cannot use"), PERMANENT),
    # the cluster
    (ClusterUnreachable("no answer"), TRANSIENT),
    (KubeconfigError("no such context"), PERMANENT),
    (ApiError(503, "etcd is down"), TRANSIENT),
    (ApiError(500, "internal"), TRANSIENT),
    (ApiError(429, "too many requests"), TRANSIENT),
    (ApiError(408, "request timeout"), TRANSIENT),
    (ApiError(403, "forbidden"), PERMANENT),
    (ApiError(404, "not found"), PERMANENT),
    (ApiError(409, "conflict"), PERMANENT),
    # uploads, and webhooks (their POST fails with the same errors)
    (UploadError("PUT u: connection failed", transient=True), TRANSIENT),
    (UploadError("PUT u: HTTP 403", transient=False), PERMANENT),
    (from_http_status(502, "Bad Gateway", {}, what="POST https://127.0.0.1:9/…"), TRANSIENT),
    (from_http_status(404, "Not Found", {}, what="POST https://127.0.0.1:9/…"), PERMANENT),
    (from_os_error(OSError(errno.ENOSPC, "No space left on device"), what="file"), TRANSIENT),
    (from_os_error(OSError(errno.EACCES, "Permission denied"), what="file"), PERMANENT),
    (CredentialError("upload.credentials.accessKeyId: env:AWS_KEY is not set"), PERMANENT),
    # spec files and the other errors a user can fix: the same input fails the same way
    (RedactorSpecError("r.yaml: no Redactor spec"), PERMANENT),
    (SpecError("sb.yaml: not a troubleshoot spec"), PERMANENT),
    (EncryptionError("not an age recipient"), PERMANENT),
    (ManifestError("invalid"), PERMANENT),
    (StateError("state.json is corrupt"), PERMANENT),
    (LockTimeout("held by pid 7"), PERMANENT),
    # outside the tree: what the place that caught it says, a retry by default (a run's I/O fault)
    (OSError(errno.ENOSPC, "No space left on device"), TRANSIENT),
    (KeyError("spec"), TRANSIENT),
    (KeyboardInterrupt(), TRANSIENT),
]


@pytest.mark.parametrize("error, expected", FAMILIES, ids=lambda value: type(value).__name__
                         if isinstance(value, BaseException) else str(value))
def test_every_error_family_has_one_class(error, expected):
    assert error_class(error) == expected


TYPED = (TransientError, PermanentError, ClusterUnreachable, KubeconfigError, ApiError, UploadError,
         CredentialError, RedactorSpecError)


@pytest.mark.parametrize("error, expected", [(e, c) for e, c in FAMILIES if isinstance(e, TYPED)],
                         ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value))
def test_retryability_is_a_type_and_the_family_keeps_exit_code_2(error, expected):
    assert isinstance(error, TransientError) is (expected == TRANSIENT)
    assert isinstance(error, PermanentError) is (expected == PERMANENT)
    assert isinstance(error, SbschedError) and error.exit_code == 2 and error.message


def test_an_exception_outside_the_tree_takes_the_class_the_catcher_gives_it():
    assert error_class(ValueError("a library's surprise"), unexpected=PERMANENT) == PERMANENT
    assert error_class(UploadError("x", transient=True), unexpected=PERMANENT) == TRANSIENT
    assert error_class(ManifestError("x"), unexpected=TRANSIENT) == PERMANENT


def test_each_family_keeps_its_own_type_and_what_it_carries():
    denied = ApiError(403, "pods is forbidden", "Forbidden")
    assert isinstance(denied, ApiError) and (denied.status, denied.message, str(denied)) == \
        (403, "pods is forbidden", "pods is forbidden")
    assert denied.forbidden and not ApiError(503, "down").forbidden and ApiError(404, "gone").not_found
    slow = UploadError("PUT u: HTTP 429", transient=True, retry_after=42)
    assert isinstance(slow, UploadError) and (slow.transient, slow.retry_after, slow.attempts) == (True, 42, 1)
    assert not CredentialError("x").transient and isinstance(CredentialError("x"), UploadError)


def test_an_upload_error_must_say_which_it_is():
    with pytest.raises(TypeError, match="transient"):
        UploadError("PUT u: what happened?")


@pytest.mark.parametrize("status, transient", [(500, True), (502, True), (503, True), (504, True), (599, True),
                                               (429, True), (408, True), (425, True), (400, False), (401, False),
                                               (403, False), (404, False), (409, False), (413, False)])
def test_http_statuses_have_one_class_for_uploads_webhooks_and_the_api_server(status, transient):
    assert status_is_transient(status) is transient
    assert error_class(ApiError(status, "m")) == error_class(from_http_status(status, "m", {}, what="PUT u"))
