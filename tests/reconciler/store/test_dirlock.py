"""The directory lock under state.lock.d and the daemon's: one holder, and never a lock on a directory
the path no longer names."""
from __future__ import annotations

import errno
import os

import pytest

from reconciler.store import dirlock
from reconciler.store.dirlock import DirLock


def test_one_holder_at_a_time_even_within_one_process(tmp_path):
    first, second = DirLock(tmp_path), DirLock(tmp_path)
    assert first.acquire(0)
    assert not second.acquire(0) and second.held_elsewhere()
    first.release()
    assert not second.held_elsewhere() and second.acquire(0)
    second.release()


def test_removing_files_beside_or_in_it_does_not_split_it(tmp_path):
    (tmp_path / "state.lock").write_text("holder")
    first = DirLock(tmp_path)
    assert first.acquire(0)
    (tmp_path / "state.lock").unlink()
    assert DirLock(tmp_path).held_elsewhere()
    first.release()


def test_a_directory_replaced_between_the_open_and_the_flock_is_locked_afresh(tmp_path, monkeypatch):
    """The race the check after the flock is for: the path renamed away and made again in between."""
    path = tmp_path / "state.lock.d"
    path.mkdir()
    real_flock, replaced = dirlock.fcntl.flock, []

    def replace_first_time(fd: int, operation: int) -> None:
        if not replaced:
            replaced.append(os.fstat(fd).st_ino)
            path.rename(tmp_path / "old")
            path.mkdir()
        real_flock(fd, operation)

    monkeypatch.setattr(dirlock.fcntl, "flock", replace_first_time)
    lock = DirLock(path)
    assert lock.acquire(0)
    monkeypatch.setattr(dirlock.fcntl, "flock", real_flock)

    assert replaced and DirLock(path).held_elsewhere()          # the directory the path names now is held
    assert not DirLock(tmp_path / "old").held_elsewhere()       # the one it named when opened is not
    lock.release()


def test_a_link_in_place_of_a_lock_directory_is_refused_unless_allowed(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OSError) as refused:
        DirLock(tmp_path / "link").acquire(0)
    assert refused.value.errno in (errno.ELOOP, errno.ENOTDIR)
    allowed = DirLock(tmp_path / "link", follow_symlinks=True)
    assert allowed.acquire(0) and DirLock(target).held_elsewhere()
    allowed.release()
