"""Crash-safe file replacement: write a private temp file next to the target, fsync it, rename it over
the target, fsync the directory. A crash at any point leaves the old file or the new one, never a torn
one, and a failed write leaves no temp file behind. An exclusive write links the temp file into place
instead (link(2) fails when the name exists, as O_EXCL does): a name claimed whole, or not at all."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .paths import file_mode


@contextlib.contextmanager
def atomic_file(path: Path, *, mode: int | None = None, exclusive: bool = False) -> Iterator[IO[bytes]]:
    """A binary handle (`mode`, by default 0600, or 0660 in a shared state dir) whose content replaces `path` when the block ends
    without an error; `exclusive`: whose content becomes `path` only if nothing has that name yet
    (FileExistsError otherwise, and nothing is left behind)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode() if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write(path: Path, data: bytes, *, mode: int | None = None, exclusive: bool = False) -> None:
    with atomic_file(path, mode=mode, exclusive=exclusive) as handle:
        handle.write(data)
