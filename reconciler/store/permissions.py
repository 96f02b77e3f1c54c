"""The state directory is private, and sbsched touches only what it made there.

`check_state_dir` runs at the start of every command that uses the state dir. It looks only at the
names of the state layout (store/layout.py), through directory descriptors opened with
O_NOFOLLOW, and:
- refuses (exit 2) a directory with no state.json that holds anything else (a home, /opt, a typo in
  --state-dir), or an empty one with the sticky bit (/tmp): making it private would lock others out;
- refuses (exit 2) a layout entry that is a symbolic link or of another type: writes and deletes would
  reach the link's target. The state dir itself may be a link, as a user's choice of where it lives;
- finds directories that are not 0700 and files that are not 0600 (in a state dir shared with a group:
  2770 and 0660, and that group; store/sharing.py). A command that writes fixes them,
  with one warning; a read-only one only reports them (it may run beside a run, as another account,
  or on a read-only copy, and is expected to change nothing); with --strict-permissions (or
  SBSCHED_STRICT_PERMISSIONS=1) every command refuses instead, so that an operator finds out who
  loosened them.
Anything with another name is someone else's: never changed, never entered. A run's staging dir is
the run's own (made private, removed at its end) and is not entered either.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import SbschedError, UnsafePath
from .layout import STATE_DIR, STATE_FILE, Role
from .nofollow import directory_fd, open_child
from .paths import dir_mode, file_mode, shared_gid

STRICT_ENV = "SBSCHED_STRICT_PERMISSIONS"


class LoosePermissions(SbschedError):
    """--strict-permissions and a path in the state dir is not 0700 (dirs) / 0600 (files)."""


@dataclass(frozen=True)
class Loose:
    parts: tuple[str, ...]   # the path below the state dir; () is the state dir itself
    mode: int                # the permission bits found
    want: int
    group: int | None = None   # the group it must have (a shared state dir), when it has another

    def describe(self) -> str:
        group = f", group {self.group}" if self.group is not None else ""
        return f"{'/'.join(self.parts) or '.'} is {self.mode:04o} (want {self.want:04o}{group})"


@dataclass
class Survey:
    has_state: bool = False
    sticky: bool = False
    foreign: list[str] = field(default_factory=list)   # top-level names that are not sbsched's
    unsafe: list[str] = field(default_factory=list)    # why a layout entry cannot be used
    loose: list[Loose] = field(default_factory=list)


def strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def survey(root: Path) -> Survey | None:
    """What the permission check needs to know about `root`; None when it does not exist. The layout
    below it is walked only when the directory is (or may become) a state dir."""
    try:
        top = os.stat(root)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        raise UnsafePath(f"{root} is not a directory; the state dir must be a directory (a missing one is created)")
    found = Survey(sticky=bool(top.st_mode & stat.S_ISVTX))
    _check(found, (), top, STATE_DIR)
    with directory_fd(root, ()) as fd:
        names = sorted(os.listdir(fd))
        found.has_state = STATE_FILE in names
        found.foreign = [name for name in names if STATE_DIR.child(name) is None]
        if found.has_state or not found.foreign:
            _walk(fd, (), names, STATE_DIR, found)
    return found


def _walk(fd: int, parts: tuple[str, ...], names: list[str], role: Role, found: Survey) -> None:
    for name in names:
        child = role.child(name)
        if child is None or child.directory is None:
            continue
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue   # removed meanwhile (a finished run's staging dir, retention)
        path = (*parts, name)
        if stat.S_ISLNK(info.st_mode):
            found.unsafe.append(f"{'/'.join(path)} is a symbolic link (to {os.readlink(name, dir_fd=fd)})")
        elif not (stat.S_ISDIR if child.directory else stat.S_ISREG)(info.st_mode):   # a FIFO state.json blocks
            found.unsafe.append(f"{'/'.join(path)} is not a {'directory' if child.directory else 'regular file'}")
        else:
            _check(found, path, info, child)
            if child.children:
                _enter(fd, path, child, found)


def _enter(fd: int, path: tuple[str, ...], role: Role, found: Survey) -> None:
    try:
        below = open_child(fd, path[-1], shown="/".join(path))
    except FileNotFoundError:
        return
    except UnsafePath:   # replaced by a link since it was looked at
        found.unsafe.append(f"{'/'.join(path)} is a symbolic link")
        return
    try:
        _walk(below, path, sorted(os.listdir(below)), role, found)
    finally:
        os.close(below)


def _check(found: Survey, path: tuple[str, ...], info: os.stat_result, role: Role) -> None:
    want = dir_mode() if role.directory else file_mode()
    gid = shared_gid()
    group = gid if gid is not None and info.st_gid != gid else None
    if role.checked and (stat.S_IMODE(info.st_mode) != want or group is not None):
        found.loose.append(Loose(path, stat.S_IMODE(info.st_mode), want, group))


def check_state_dir(root: Path, *, strict: bool, fix: bool) -> str | None:
    """Refuse what must not be used; fix (`fix`: the command writes) or report loose modes. Returns the
    one warning line to show, or None."""
    found = survey(root)
    if found is None:
        return None
    if not found.has_state and found.foreign:
        more = f" and {len(found.foreign) - 1} more" if len(found.foreign) > 1 else ""
        raise UnsafePath(f"{root}: not an sbsched state dir (no state.json) and not empty (it holds "
                         f"{found.foreign[0]!r}{more}); pass an empty or new directory as --state-dir")
    if not found.has_state and found.sticky:
        raise UnsafePath(f"{root}: a shared directory (sticky bit) with no state.json; sbsched makes its state dir "
                         "private: pass a directory of your own, empty or new, as --state-dir")
    if found.unsafe:
        more = f" and {len(found.unsafe) - 1} more" if len(found.unsafe) > 1 else ""
        raise UnsafePath(f"refusing to use {root}: {found.unsafe[0]}{more}; sbsched does not follow links or use "
                         "other file types in its state dir: put the directory or file itself there (the state dir "
                         "itself may be a link)")
    if not found.loose:
        return None
    first = found.loose[0].describe()
    more = f" and {len(found.loose) - 1} more" if len(found.loose) > 1 else ""
    if strict:
        raise LoosePermissions(f"refusing to use {root}: {first}{more}; the state dir must be {_modes()} (fix: any "
                               "sbsched command that writes, without --strict-permissions)")
    if not fix:
        return (f"sbsched: warning: loose permissions in {root}: {first}{more}; left as they are (a read-only "
                "command changes nothing): the next sbsched command that writes fixes them")
    failed = [item for item in found.loose if not _tighten(root, item)]
    if failed:
        return (f"sbsched: warning: loose permissions in {root}: {first}{more}; could not fix "
                f"{failed[0].describe()}" + (f" and {len(failed) - 1} more" if len(failed) > 1 else "")
                + " (not the owner?)")
    return f"sbsched: warning: fixed loose permissions in {root}: {first}{more}; the state dir is {_modes()} now"


def _modes() -> str:
    gid = shared_gid()
    return f"{dir_mode():04o} and its files {file_mode():04o}" + (f", group {gid}" if gid is not None else "")


def _tighten(root: Path, item: Loose) -> bool:
    """chmod one layout entry, reached without following links (one put there since the survey is left
    as it is and counts as not fixed); gone meanwhile counts as fixed."""
    try:
        if not item.parts:
            if item.group is not None:
                os.chown(root, -1, item.group)
            os.chmod(root, item.want)
            return True
        with directory_fd(root, item.parts[:-1]) as fd:
            if item.group is not None:   # before the mode: a chown clears the setgid bit
                os.chown(item.parts[-1], -1, item.group, dir_fd=fd, follow_symlinks=False)
            os.chmod(item.parts[-1], item.want, dir_fd=fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return True
    except (OSError, ValueError, NotImplementedError, UnsafePath):   # ValueError: the entry is a link now
        return False
