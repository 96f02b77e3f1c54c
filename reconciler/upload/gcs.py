"""gs://bucket/key: google-cloud-storage; a resumable upload in `chunk_size` pieces above `resumable_threshold`.

Credentials: application default credentials when empty (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
file, the metadata server), or `{serviceAccountFile: PATH}` (a service-account JSON key). With
`STORAGE_EMULATOR_HOST` set (in the environment the delivery is given), the client talks to that
emulator, anonymously unless a service-account file is named. The object gets metadata `execution-id`
and `sha256` and Content-Type application/gzip.

The library's own retries are switched off (`retry=None`): our loop counts and classifies attempts.
Its requests session follows only same-origin 307/308 redirects (exchange.py): left as it was, it
re-sent the bundle to whatever origin a 307 named; and the request's deadline bounds the whole exchange.
"""
from __future__ import annotations

from typing import Any

from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import storage

from . import UploadRequest, bucket_and_key, public_url
from .exchange import Watchdog, guard
from .retry import UploadError, from_google

MiB = 1024 * 1024
RESUMABLE_THRESHOLD = 8 * MiB   # the library's own switch from one multipart request to a resumable session
CHUNK_SIZE = 32 * MiB           # a multiple of 256 KiB, as the API requires
LIBRARY_MULTIPART_MAX = 8 * MiB  # google.cloud.storage.blob._MAX_MULTIPART_SIZE
SCOPES = ["https://www.googleapis.com/auth/devstorage.read_write"]


class GcsUploader:
    def __init__(self, *, resumable_threshold: int = RESUMABLE_THRESHOLD, chunk_size: int = CHUNK_SIZE,
                 timeout: tuple[float, float] = (10.0, 120.0)) -> None:
        if chunk_size % (256 * 1024):
            raise ValueError("chunk_size must be a multiple of 256 KiB")
        self.resumable_threshold = resumable_threshold
        self.chunk_size = chunk_size
        self.timeout = timeout

    def upload(self, request: UploadRequest) -> None:
        bucket_name, key = bucket_and_key(request.url, noun="name")
        what = public_url(request.url)
        with Watchdog(request.deadline) as watchdog:
            try:
                size = request.archive.stat().st_size
                client = _client(request)
                guard(client._http, what=what, show=public_url, watchdog=watchdog)
                chunked = self.chunk_size if size > self.resumable_threshold else None
                blob = client.bucket(bucket_name).blob(key, chunk_size=chunked)
                blob.metadata = dict(request.metadata)
                # The library goes resumable only above its own 8 MiB, whatever chunk_size says; below that a
                # size it is not told (None) makes it stream resumably too.
                told = None if chunked and size <= LIBRARY_MULTIPART_MAX else size
                with open(request.archive, "rb") as stream:
                    blob.upload_from_file(stream, size=told, content_type=request.content_type, retry=None,
                                          timeout=self.timeout)
            except UploadError:
                raise
            except Exception as exc:
                raise watchdog.error(what) or from_google(exc, what=what) from exc


def fetch(request: UploadRequest, limit: int) -> bytes:
    """The object a gs:// URL names (a published state mirror), with the request's credentials."""
    bucket_name, key = bucket_and_key(request.url, noun="name")
    what = public_url(request.url)
    try:
        client = _client(request)
        guard(client._http, what=what, show=public_url)
        data: bytes = client.bucket(bucket_name).blob(key).download_as_bytes(end=limit, retry=None,
                                                                              timeout=GcsUploader().timeout)
        return data
    except UploadError:
        raise
    except Exception as exc:
        raise from_google(exc, what=what) from exc


def _client(request: UploadRequest) -> storage.Client:
    env = request.secrets.env
    emulator = env.get("STORAGE_EMULATOR_HOST")
    credentials: Credentials | None = None
    project: str | None = None
    sa_file = request.credentials.get("serviceAccountFile")
    if sa_file:
        credentials, project = _service_account(str(sa_file))
    options: dict[str, Any] = {}
    if emulator:
        options["api_endpoint"] = emulator if "://" in emulator else f"http://{emulator}"
        credentials = credentials or AnonymousCredentials()  # type: ignore[no-untyped-call]
    elif credentials is None:
        import google.auth

        credentials, project = google.auth.default(scopes=SCOPES)
    client = storage.Client(project=project or "<none>", credentials=credentials, client_options=options or None)
    # The library fetches each bucket's metadata in a background thread for its telemetry: one more
    # request per upload that needs storage.buckets.get, which an upload-only account may lack.
    if getattr(client, "_bucket_metadata_cache", None) is not None:
        client._bucket_metadata_cache = None
    return client


def _service_account(path: str) -> tuple[Credentials, str | None]:
    from google.oauth2 import service_account

    try:
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            path, scopes=SCOPES)
    except FileNotFoundError:
        raise UploadError(f"upload.credentials.serviceAccountFile: {path} does not exist", transient=False) from None
    except OSError as exc:
        raise UploadError(f"upload.credentials.serviceAccountFile: {path} cannot be read ({exc.strerror})",
                          transient=False) from None
    except (ValueError, KeyError):
        raise UploadError(f"upload.credentials.serviceAccountFile: {path} is not a service-account JSON key",
                          transient=False) from None
    return credentials, credentials.project_id


def default() -> GcsUploader:
    return GcsUploader()
