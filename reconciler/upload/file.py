"""file:///dir/...: copy the archive into a directory (a mounted share), atomically.

The copy is written to a hidden temp file beside the target, fsynced and renamed into place, so a
reader of the share never sees half a bundle and a failed copy leaves nothing. Files are 0600 and the
directories this creates 0700, like the state directory: a bundle is sensitive even when redacted.
A file URL has no object metadata; the execution record holds the sha256.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import UploadRequest
from .retry import UploadError, from_os_error
from ..store.atomic import atomic_file
from ..store.paths import ensure_dir

CHUNK = 1024 * 1024


def target_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise UploadError(f"{url}: file URLs name a local path (file:///dir/), not host {parts.netloc!r}",
                          transient=False)
    path = unquote(parts.path)
    if not path.startswith("/") or path.endswith("/"):
        raise UploadError(f"{url}: not an absolute file path", transient=False)
    return Path(path)


class FileUploader:
    def upload(self, request: UploadRequest) -> None:
        target = target_path(request.url)
        try:
            ensure_dir(target.parent)   # the missing directories 0700; the share keeps its mode
            with open(request.archive, "rb") as source, atomic_file(target) as sink:
                shutil.copyfileobj(source, sink, CHUNK)
        except OSError as exc:
            raise from_os_error(exc, what=f"file://{target}") from exc


def default() -> FileUploader:
    return FileUploader()


def fetch(request: UploadRequest, limit: int) -> bytes:
    """The file a file:// URL names (a published state mirror)."""
    target = target_path(request.url)
    try:
        with open(target, "rb") as source:
            return source.read(limit + 1)
    except OSError as exc:
        raise from_os_error(exc, what=f"file://{target}") from exc
