"""Which delivery failures are worth another attempt, and the attempts themselves.

Retryability is a type (kopf's TemporaryError / PermanentError, base/errors.py): every uploader turns
what its library raised into a TransientUploadError or a PermanentUploadError, through the classifier of
its scheme below, and the retry loop reads nothing else. Transient: 5xx, 408/429, throttling (S3 `SlowDown`), timeouts, resets and
refused connections. Permanent: every other 4xx (403 bad credentials, 404 no such bucket), a missing
credential, a certificate that does not verify, a local file that cannot be read.

The waits are the one backoff policy's (base/backoff.py `RetryPolicy.delay`), with the server's
`Retry-After` when it gave one. `sleep` is injected, so tests drive a fake clock and never wait, and a
run passes its cancel event's `wait`: a wait that returns true was cut short by the cancel, and no
further attempt is made (`UploadError.stopped` says so). A deadline ends the retries the same way: no
wait is begun that would end past it.
"""
from __future__ import annotations

import errno
import time
from typing import Callable, Mapping, TypeVar

import tenacity

from ..base.backoff import RetryPolicy
from ..base.errors import (TRANSIENT, PermanentError, SbschedError, TransientError, error_class,
                           status_is_transient)

T = TypeVar("T")
Sleep = Callable[[float], object]   # a true result: the wait was interrupted (Event.wait), stop retrying
CANCELLED = "cancelled"   # UploadError.stopped: why retrying ended before the retries ran out
DEADLINE = "deadline"

# S3 error codes that mean "try again later" even when the status code does not say so.
S3_TRANSIENT_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                                "RequestTimeoutException", "InternalError", "ServiceUnavailable",
                                "RequestLimitExceeded", "TooManyRequestsException", "BandwidthLimitExceeded",
                                "PriorRequestNotComplete", "OperationAborted"})


class UploadError(SbschedError):
    """One failed delivery attempt (an upload's or a webhook's). What failed decides whether another
    attempt is made, so `UploadError(message, transient=...)` makes a TransientUploadError or a
    PermanentUploadError, as `OSError(errno.ENOENT, ...)` makes a FileNotFoundError. `attempts` is
    filled in by `call_with_retries` when it gives up; `stopped` is CANCELLED or DEADLINE when it gave up
    for that rather than because the retries ran out. Messages never carry a secret value."""

    def __new__(cls, message: str, *, transient: bool | None = None, retry_after: float | None = None,
                stopped: str | None = None) -> UploadError:
        if cls is not UploadError:
            return super().__new__(cls, message)
        if transient is None:
            raise TypeError("UploadError(message, transient=True | False): say whether a retry can help")
        return super().__new__(TransientUploadError if transient else PermanentUploadError, message)

    def __init__(self, message: str, *, transient: bool | None = None, retry_after: float | None = None,
                 stopped: str | None = None) -> None:
        super().__init__(message)   # `transient` was read by __new__: the type says it from here on
        self.retry_after = retry_after
        self.stopped = stopped
        self.attempts = 1

    @property
    def transient(self) -> bool:
        return error_class(self) == TRANSIENT


class TransientUploadError(UploadError, TransientError):
    """5xx, 408/429, throttling, timeouts, resets: the destination may take the next attempt."""


class PermanentUploadError(UploadError, PermanentError):
    """Any other 4xx, a missing credential, a certificate that does not verify: it would fail again."""


def call_with_retries(attempt: Callable[[], T], policy: RetryPolicy, *, sleep: Sleep = time.sleep,
                      on_retry: Callable[[UploadError, int, float], None] | None = None,
                      deadline: float | None = None, monotonic: Callable[[], float] = time.monotonic) -> tuple[T, int]:
    """Call `attempt` until it returns, raises a permanent UploadError, or runs out of retries; returns
    (result, attempts made). The UploadError that ends it is raised with `.attempts` set; any other
    exception is raised at once (a bug is not retried). `on_retry(error, attempt, delay)` is told
    before each wait. A wait that reports it was interrupted ends the loop with the last error; so does
    `deadline` (a `monotonic()` time): no wait or attempt starts that would end past it, and a transient
    failure once it has passed is the deadline's doing (`stopped` DEADLINE, still transient)."""
    count = 0
    last: UploadError | None = None

    def out_of_time() -> bool:
        return deadline is not None and monotonic() >= deadline

    def counted() -> T:
        nonlocal count, last
        if out_of_time():
            before = f"{last.message}; " if last is not None else ""
            raise UploadError(f"{before}the deadline passed before attempt {count + 1} could start", transient=True,
                              stopped=DEADLINE)
        count += 1
        try:
            return attempt()
        except UploadError as error:
            last = error
            if error.transient and error.stopped is None and out_of_time():
                raise UploadError(f"{error.message}; the deadline has passed", transient=True,
                                  stopped=DEADLINE) from error
            raise

    def pause(seconds: float) -> None:
        if sleep(seconds):
            raise _Interrupted(CANCELLED)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        assert state.outcome is not None and state.next_action is not None
        if deadline is not None and monotonic() + state.next_action.sleep >= deadline:
            raise _Interrupted(DEADLINE)   # before on_retry, which would announce a wait that never comes
        if on_retry is not None:
            error = state.outcome.exception()
            assert isinstance(error, UploadError)
            on_retry(error, state.attempt_number, state.next_action.sleep)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return policy.delay(state.attempt_number, retry_after=getattr(error, "retry_after", None))

    retrying = tenacity.Retrying(
        sleep=pause, reraise=True, stop=tenacity.stop_after_attempt(policy.retries + 1),
        wait=wait, before_sleep=before_sleep,
        retry=tenacity.retry_if_exception(lambda e: isinstance(e, UploadError) and error_class(e) == TRANSIENT
                                          and not e.stopped))
    try:
        return retrying(counted), count
    except UploadError as error:
        error.attempts = count
        raise
    except _Interrupted as interrupted:
        assert last is not None
        why = interrupted.args[0]
        stopped = UploadError(f"{last.message}; no more attempts: " + (
            "the run was cancelled" if why == CANCELLED else "the next one would end past the deadline"),
            transient=last.transient, stopped=why)
        stopped.attempts = count
        raise stopped from last


class _Interrupted(Exception):
    """A retry wait was cut short or not begun, CANCELLED or DEADLINE (raised through tenacity, which has
    no other way out of its loop)."""


# -- classifiers, one per scheme ----------------------------------------------------------------------
def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header given as a number (an HTTP date is ignored)."""
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def from_http_status(status: int, reason: str, headers: Mapping[str, str], *, what: str) -> UploadError:
    hint = {401: " (credentials rejected)", 403: " (credentials rejected or not allowed)",
            404: " (no such bucket or path)"}.get(status, "")
    return UploadError(f"{what}: HTTP {status} {reason}{hint}".rstrip(), transient=status_is_transient(status),
                       retry_after=retry_after(headers))


def from_requests(exc: BaseException, *, what: str) -> UploadError:
    """A `requests` exception: TLS failures are permanent, every other connection fault is transient."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        # Not str(exc): urllib3's text repeats the request path, which for a presigned URL holds its signature.
        import ssl

        cause = _find(exc, ssl.SSLError)
        detail = (getattr(cause, "verify_message", None) or getattr(cause, "reason", None)) if cause else None
        return UploadError(f"{what}: TLS verification failed ({detail or type(exc).__name__})", transient=False)
    if isinstance(exc, requests.exceptions.Timeout):
        return UploadError(f"{what}: timed out ({type(exc).__name__})", transient=True)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return UploadError(f"{what}: connection failed ({_connection_cause(exc)})", transient=True)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return UploadError(f"{what}: invalid URL", transient=False)
    if isinstance(exc, requests.exceptions.TooManyRedirects):   # an OSError, but no fault of the network
        return UploadError(f"{what}: redirected in a loop ({_first_line(exc)})", transient=False)
    return from_os_error(exc, what=what) if isinstance(exc, OSError) else \
        UploadError(f"{what}: {type(exc).__name__}: {_first_line(exc)}", transient=False)


def from_botocore(exc: BaseException, *, what: str) -> UploadError:
    """boto3 / botocore: error codes and status codes of S3, plus botocore's connection errors. boto3's
    upload_file wraps a ClientError in S3UploadFailedError, so the chain is searched for the cause."""
    from botocore import exceptions as bx

    cause = _find(exc, bx.ClientError) or exc
    if isinstance(cause, bx.ClientError):
        error = cause.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        transient = code in S3_TRANSIENT_CODES or status_is_transient(status)
        message = str(error.get("Message") or "").strip()
        return UploadError(f"{what}: {code or status}{': ' + message if message else ''}", transient=transient)
    transient_types = (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ReadTimeoutError,
                       bx.ConnectTimeoutError, bx.ResponseStreamingError, bx.IncompleteReadError)
    if isinstance(cause, transient_types) or _find(exc, ConnectionError) is not None:
        return UploadError(f"{what}: connection failed ({type(cause).__name__})", transient=True)
    if isinstance(cause, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound,
                          bx.NoRegionError, bx.ParamValidationError)):
        return UploadError(f"{what}: {cause}", transient=False)
    if isinstance(cause, OSError):
        return from_os_error(cause, what=what)
    return UploadError(f"{what}: {type(cause).__name__}: {_first_line(cause)}", transient=False)


def from_google(exc: BaseException, *, what: str) -> UploadError:
    """google-cloud-storage: api_core's HTTP exceptions, resumable-media's InvalidResponse, google-auth's
    credential errors, and the requests exceptions underneath them."""
    import requests
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax

    if isinstance(exc, gx.GoogleAPICallError):
        status = int(exc.code or 0)
        return UploadError(f"{what}: HTTP {status} {_first_line(exc.message)}",
                           transient=status_is_transient(status) or isinstance(exc, gx.RetryError))
    if isinstance(exc, ax.DefaultCredentialsError):
        return UploadError(f"{what}: no Google credentials found (application default credentials); "
                           "set upload.credentials.serviceAccountFile or GOOGLE_APPLICATION_CREDENTIALS",
                           transient=False)
    if isinstance(exc, ax.RefreshError):
        transient = bool(getattr(exc, "retryable", False))
        return UploadError(f"{what}: could not get an access token ({_first_line(exc)})", transient=transient)
    if isinstance(exc, ax.TransportError):
        return UploadError(f"{what}: connection failed ({type(exc).__name__})", transient=True)
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    if isinstance(code, int):  # google.resumable_media.InvalidResponse
        return UploadError(f"{what}: HTTP {code}", transient=status_is_transient(code))
    if isinstance(exc, requests.exceptions.RequestException):
        return from_requests(exc, what=what)
    if isinstance(exc, OSError):
        return from_os_error(exc, what=what)
    return UploadError(f"{what}: {type(exc).__name__}: {_first_line(exc)}", transient=False)


_PERMANENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
                               errno.EISDIR, errno.EEXIST, errno.EINVAL})


def from_os_error(exc: OSError, *, what: str) -> UploadError:
    """Local file systems: no permission, read-only, a path that cannot exist are permanent; a full
    disk, an I/O error or a stale NFS handle may clear up."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return UploadError(f"{what}: connection failed ({type(exc).__name__})", transient=True)
    transient = exc.errno not in _PERMANENT_ERRNOS
    reason = exc.strerror or type(exc).__name__
    return UploadError(f"{what}: {reason}", transient=transient)


def _find(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _connection_cause(exc: BaseException) -> str:
    root = _find(exc, (ConnectionResetError, ConnectionRefusedError, ConnectionAbortedError, BrokenPipeError,
                       TimeoutError))
    return type(root).__name__ if root is not None else type(exc).__name__


def _first_line(exc: BaseException | str) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""
