"""Removing files below a root without following a symbolic link on the way.

unlink(2) and rmtree resolve every component of a path but the last, so deleting
<state>/bundles/nightly/<bundle> would delete from wherever a link at `bundles` or `bundles/nightly`
points. Here each directory below `root` is opened with O_NOFOLLOW, one step at a time, and the last
step is unlinkat / rmtree(dir_fd=): a link anywhere below `root` refuses the delete. `root` itself is
followed: where the state dir (or an --output-dir) lives is the user's choice.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import Iterator, Sequence

from ..base.errors import UnsafePath
from .paths import ensure_dir

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_child(fd: int, name: str, *, shown: str) -> int:
    """A descriptor of directory `name` in directory `fd`; UnsafePath when it is a link (or no directory)."""
    try:
        return os.open(name, _DIRECTORY, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePath(f"{shown} is a symbolic link or not a directory; sbsched does not follow links inside "
                             "its directories") from None
        raise


@contextlib.contextmanager
def directory_fd(root: Path, parts: Sequence[str]) -> Iterator[int]:
    """A descriptor of the directory root/parts..., no part followed if it is a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for n, part in enumerate(parts):
            child = open_child(fd, part, shown=os.path.join(root, *parts[:n + 1]))
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def real_directory(root: Path, *parts: str) -> Path:
    """root/parts..., each missing directory created 0700; UnsafePath when a part is a link. Writers
    into the state layout call it, so that a link put there while a daemon runs is not written through."""
    path = ensure_dir(root.joinpath(*parts))
    with directory_fd(root, parts):
        return path


def _split(root: Path, path: str | os.PathLike[str]) -> tuple[tuple[str, ...], str]:
    """(the directories between root and path, path's name); UnsafePath when path is not below root."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        raise UnsafePath(f"{path} is not inside {root}; not removed") from None
    if not parts or any(part in (".", "..") for part in parts):
        raise UnsafePath(f"{path} is not a plain path inside {root}; not removed")
    return parts[:-1], parts[-1]


def unlink_below(root: Path, path: str | os.PathLike[str]) -> None:
    """Remove the file (or link) `path` below `root`; gone already is fine."""
    parents, name = _split(root, path)
    with contextlib.suppress(FileNotFoundError), directory_fd(root, parents) as fd:
        os.unlink(name, dir_fd=fd)


def rmtree_below(root: Path, path: str | os.PathLike[str]) -> None:
    """Remove the directory tree `path` below `root` (a link there is left, not followed); best effort."""
    parents, name = _split(root, path)
    with contextlib.suppress(FileNotFoundError), directory_fd(root, parents) as fd:
        shutil.rmtree(name, dir_fd=fd, ignore_errors=True)
