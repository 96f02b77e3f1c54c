"""s3://bucket/key: boto3's managed transfer, multipart above `multipart_threshold`.

Options: `region`, `endpointUrl` (MinIO, Ceph, R2, moto), `storageClass`, `serverSideEncryption`
(`AES256` or `aws:kms`, with `kmsKeyId`). Credentials: boto3's default chain when empty (environment,
shared files, SSO, instance roles), `{profile: NAME}` for a named profile, or `{accessKeyId: REF,
secretAccessKey: REF, sessionToken: REF}` with references resolved now. The object gets metadata
`execution-id` and `sha256` (x-amz-meta-*) and Content-Type application/gzip.

botocore's own retries are switched off (one HTTP attempt per call): our retry loop counts and
classifies attempts, and two nested retry loops would multiply the waits. A failed multipart upload
is aborted by boto3, so no orphaned parts are left to pay for.

botocore keeps its connections to itself, so the request's deadline caps its connect and read timeouts
(no single wait outlasts it) but cannot end an endpoint that trickles its answer; and botocore follows
no HTTP redirect to another origin (its S3 region redirector re-signs for the configured endpoint).
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from . import UploadRequest, bucket_and_key, public_url
from .retry import UploadError, from_botocore

MiB = 1024 * 1024
MULTIPART_THRESHOLD = 8 * MiB  # boto3's defaults, so that we match `aws s3 cp` / upload_file throughput
MULTIPART_CHUNKSIZE = 8 * MiB
MAX_CONCURRENCY = 10


class S3Uploader:
    def __init__(self, *, multipart_threshold: int = MULTIPART_THRESHOLD,
                 multipart_chunksize: int = MULTIPART_CHUNKSIZE, max_concurrency: int = MAX_CONCURRENCY,
                 connect_timeout: float = 10.0, read_timeout: float = 120.0) -> None:
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold,
                                       multipart_chunksize=multipart_chunksize, max_concurrency=max_concurrency)
        self.client_config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                    connect_timeout=connect_timeout, read_timeout=read_timeout)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout

    def upload(self, request: UploadRequest) -> None:
        bucket, key = bucket_and_key(request.url, noun="key")
        what = public_url(request.url)
        config = self.client_config
        if request.deadline is not None:   # botocore's timeouts are per read: no wait outlasts the deadline
            left = max(0.1, request.deadline - time.monotonic())
            config = config.merge(Config(connect_timeout=min(self.connect_timeout, left),
                                         read_timeout=min(self.read_timeout, left)))
        try:
            client = _client(request, config)
            client.upload_file(str(request.archive), bucket, key, ExtraArgs=extra_args(request),
                               Config=self.transfer)
        except UploadError:
            raise
        except Exception as exc:
            raise from_botocore(exc, what=what) from exc


def extra_args(request: UploadRequest) -> dict[str, Any]:
    options = request.options
    extra: dict[str, Any] = {"Metadata": dict(request.metadata), "ContentType": request.content_type}
    if options.get("storageClass"):
        extra["StorageClass"] = options["storageClass"]
    if options.get("serverSideEncryption"):
        extra["ServerSideEncryption"] = options["serverSideEncryption"]
        if options.get("kmsKeyId"):
            extra["SSEKMSKeyId"] = options["kmsKeyId"]
    elif options.get("kmsKeyId"):
        raise UploadError("upload.options.kmsKeyId needs serverSideEncryption: aws:kms", transient=False)
    return extra


_LOCK = threading.Lock()   # boto3 sessions are not thread-safe, and the daemon uploads from several threads
_SESSIONS: dict[tuple[Any, ...], boto3.session.Session] = {}
_LOADER: Any = None


def _client(request: UploadRequest, config: Config) -> Any:
    options = request.options
    with _LOCK:
        return _session(request).client("s3", region_name=options.get("region"),
                                        endpoint_url=options.get("endpointUrl"), config=config)


def _session(request: UploadRequest) -> boto3.session.Session:
    """A session for the request's credentials. A new one re-parses botocore's S3 model (~70 ms, which
    is most of a small upload), so sessions of the default chain or a profile are kept per process,
    keyed by the AWS_* environment that shapes them (their credentials still refresh themselves), and
    every session shares one botocore loader. Explicit references are resolved anew each time."""
    creds = request.credentials
    explicit = any(creds.get(k) for k in ("accessKeyId", "secretAccessKey", "sessionToken"))
    if not explicit:
        key = (str(creds.get("profile") or ""), tuple(sorted((k, v) for k, v in os.environ.items()
                                                              if k.startswith("AWS_"))))
        if key not in _SESSIONS:
            _SESSIONS[key] = _new_session(profile_name=key[0] or None)
        return _SESSIONS[key]
    if not (creds.get("accessKeyId") and creds.get("secretAccessKey")):
        raise UploadError("upload.credentials: accessKeyId and secretAccessKey go together", transient=False)
    secrets = request.secrets
    token = creds.get("sessionToken")
    return _new_session(
        aws_access_key_id=secrets.resolve(creds["accessKeyId"], what="upload.credentials.accessKeyId"),
        aws_secret_access_key=secrets.resolve(creds["secretAccessKey"], what="upload.credentials.secretAccessKey"),
        aws_session_token=secrets.resolve(token, what="upload.credentials.sessionToken") if token else None)


def _new_session(**kwargs: Any) -> boto3.session.Session:
    import botocore.session

    global _LOADER
    core = botocore.session.Session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core, **kwargs)


def default() -> S3Uploader:
    return S3Uploader()


def fetch(request: UploadRequest, limit: int) -> bytes:
    """The object an s3:// URL names (a published state mirror), with the request's options and credentials."""
    bucket, key = bucket_and_key(request.url, noun="key")
    try:
        response = _client(request, S3Uploader().client_config).get_object(Bucket=bucket, Key=key)
        with response["Body"] as body:
            data: bytes = body.read(limit + 1)
            return data
    except UploadError:
        raise
    except Exception as exc:
        raise from_botocore(exc, what=public_url(request.url)) from exc
