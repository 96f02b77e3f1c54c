"""Uploaders, one per URL scheme, behind one small interface (pre-commit's Language registry shape).

An `Uploader` makes ONE attempt to put a local archive at a final object URL and either returns or
raises `UploadError` (transient or permanent, see retry.py); `upload()` below adds the retries, the
timing and the record. Scheme modules import their cloud SDK at module level and are themselves
imported only when a URL of that scheme is uploaded, so `sbsched --help` never pays for boto3 or
google-cloud-storage.

| scheme        | module | object                                              |
|---------------|--------|-----------------------------------------------------|
| s3://         | s3     | boto3 upload_file (multipart above a threshold)     |
| gs://         | gcs    | google-cloud-storage (resumable above a threshold)  |
| http(s)://    | http   | PUT (default) or POST of the raw archive, streamed  |
| file://       | file   | an atomic copy (0600) into a directory              |
"""
from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from ..base.backoff import RetryPolicy
from ..base.errors import PERMANENT, error_class
from .credentials import Secrets
from .retry import Sleep, UploadError, call_with_retries

__all__ = ["SCHEMES", "Outcome", "RetryPolicy", "UploadError", "UploadRequest", "Uploader", "fetch", "object_url",
           "public_url", "scheme_of", "upload", "uploader_for"]

SCHEMES: dict[str, str] = {"s3": "s3", "gs": "gcs", "http": "http", "https": "http", "file": "file"}


@dataclass(frozen=True)
class UploadRequest:
    """What one attempt needs. `url` is the final object URL (prefixes already expanded); `metadata`
    goes onto the object where the scheme has object metadata (execution-id, sha256); `deadline` (a
    `time.monotonic()` time, None: none) is when every attempt, and the retries, must be over."""

    archive: Path
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=lambda: Secrets(os.environ))
    content_type: str = "application/gzip"
    deadline: float | None = None


class Uploader(Protocol):
    def upload(self, request: UploadRequest) -> None:
        """One attempt. Raises UploadError (transient or permanent) on failure, never anything else
        for a failure of the destination; must be safe to call again for a retry."""


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def uploader_for(url: str) -> Uploader:
    """The default uploader of `url`'s scheme, its module imported now (lazily, once)."""
    make: Callable[[], Uploader] = _scheme_module(url).default
    return make()


def fetch(request: UploadRequest, *, limit: int) -> bytes:
    """One download of the object at `request.url` (a published state mirror), at most `limit` + 1 bytes,
    through its scheme's module, with the request's options and credentials; UploadError when it fails."""
    download: Callable[[UploadRequest, int], bytes] = _scheme_module(request.url).fetch
    return download(request, limit)


def _scheme_module(url: str) -> Any:
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        raise UploadError(f"unsupported URL scheme {scheme + '://' if scheme else url!r}: "
                          "use s3://, gs://, https://, http:// or file://", transient=False)
    return importlib.import_module(f"{__name__}.{SCHEMES[scheme]}")


def object_url(url: str, set_name: str, schedule: str, file_name: str) -> str:
    """A URL ending in `/` is a prefix: the object is <prefix><set>/<schedule>/<file>; any other URL
    (a presigned one, or a full object name) is used as it is."""
    return f"{url}{set_name}/{schedule}/{file_name}" if url.endswith("/") else url


def bucket_and_key(url: str, *, noun: str) -> tuple[str, str]:
    """An object store's URL as (bucket, object name): `noun` names the second part as its store does
    ("key" for S3, "name" for GCS) in the one-line error for a URL without one."""
    parts = urlsplit(url)
    bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
    if not bucket or not key or key.endswith("/"):
        raise UploadError(f"{url}: {'an S3' if parts.scheme == 's3' else 'a GCS'} object URL needs a bucket and a "
                          f"{noun} ({parts.scheme}://bucket/{noun})", transient=False)
    return bucket, key


def public_url(url: str) -> str:
    """`url` as it may be recorded, logged and sent in webhooks: without a query string (a presigned
    URL's signature is a bearer credential) and without user info."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass
class Outcome:
    """The record's `upload` (design §2): {url, status, attempts, bytes, durationSeconds, error}; `stopped`
    (not recorded) says why a failed upload gave up early: retry.CANCELLED, retry.DEADLINE, or None."""

    url: str
    status: str
    attempts: int
    bytes: int
    duration_seconds: float
    error: dict[str, str] | None = None
    stopped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "attempts": self.attempts, "bytes": self.bytes,
                "durationSeconds": self.duration_seconds, "error": self.error}


def upload(request: UploadRequest, policy: RetryPolicy, *, uploader: Uploader | None = None,
           sleep: Sleep = time.sleep, monotonic: Callable[[], float] = time.monotonic,
           on_retry: Callable[[UploadError, int, float], None] | None = None) -> Outcome:
    """Upload with retries; never raises for a failed upload: the Outcome says what happened, its error
    message scrubbed of every secret resolved on the way."""
    started = monotonic()
    size = request.archive.stat().st_size if request.archive.exists() else 0
    shown = public_url(request.url)
    attempts = 0
    try:
        chosen = uploader or uploader_for(request.url)
        _, attempts = call_with_retries(lambda: chosen.upload(request), policy, sleep=sleep, on_retry=on_retry,
                                        deadline=request.deadline)
    except UploadError as exc:
        return Outcome(shown, "failed", max(attempts, exc.attempts), size, round(monotonic() - started, 3),
                       {"class": error_class(exc), "message": request.secrets.scrub(exc.message)}, exc.stopped)
    except Exception as exc:  # a bug or an unforeseen library error: recorded, not retried
        message = request.secrets.scrub(f"{shown}: {type(exc).__name__}: {exc}")
        return Outcome(shown, "failed", 1, size, round(monotonic() - started, 3),
                       {"class": error_class(exc, unexpected=PERMANENT), "message": message})
    return Outcome(shown, "uploaded", attempts, size, round(monotonic() - started, 3))
