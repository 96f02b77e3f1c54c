"""Locks that a stray `rm` cannot split: an exclusive flock on a directory.

A flock on a regular file guards its name only while the name still points at the locked inode: after
`rm state.lock` the next process creates a new file, locks that one, and two processes each hold "the"
lock (a red-team pass lost an apply this way, and ran a second daemon). A directory cannot be removed
while it holds files, and `rm` without -r refuses directories, so a flock on one holds for as long as
it is held. After the flock is taken, the path is checked to still name the locked directory (it may
have been renamed and replaced between the open and the flock); if not, the lock is taken again on
what the path names now. flock is per open file description, so two acquires in one process (threads)
exclude each other too; the descriptor is not inherited by child processes (collectors).
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

_BUSY = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES})


class DirLock:
    """An exclusive lock on the directory `path` (which must exist). `follow_symlinks`: whether `path`
    itself may be a symbolic link (the state dir may be, as the user's choice; nothing below it)."""

    def __init__(self, path: Path, *, follow_symlinks: bool = False) -> None:
        self.path = path
        self._flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
        self._follow = follow_symlinks
        self._fd: int | None = None

    def acquire(self, timeout: float, *, poll: float = 0.05) -> bool:
        """Take the lock, waiting up to `timeout` seconds; False when it stayed busy that long."""
        deadline = time.monotonic() + timeout
        while True:
            fd = os.open(self.path, self._flags)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in _BUSY:
                    raise
                if time.monotonic() >= deadline:
                    return False
                time.sleep(poll)
                continue
            if self._names(fd):
                self._fd = fd
                return True
            os.close(fd)   # the path names another directory now: lock that one

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)   # closing the only descriptor of its open file description drops the flock
            self._fd = None

    def held_elsewhere(self) -> bool:
        """True while another holder has it (a probe: taken and dropped at once when free)."""
        try:
            if not self.acquire(0):
                return True
        except FileNotFoundError:
            return False
        self.release()
        return False

    def _names(self, fd: int) -> bool:
        held = os.fstat(fd)
        try:
            named = os.stat(self.path, follow_symlinks=self._follow)
        except FileNotFoundError:
            return False
        return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)
