"""The state directory is private: the directory and every directory below it 0700, every file 0600.

Checked at the start of every command that touches the state dir (`check_state_dir`): by default what
is looser or otherwise off is fixed and one warning says so; with --strict-permissions (or
SBSCHED_STRICT_PERMISSIONS=1) the command refuses instead, so that an operator finds out who loosened
them. Symbolic links are neither followed nor changed (chmod on a link would change its target); the
state dir itself may be one, as a user's choice of where the state lives.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import SbschedError
from .paths import DIR_MODE, FILE_MODE

STRICT_ENV = "SBSCHED_STRICT_PERMISSIONS"


class LoosePermissions(SbschedError):
    """--strict-permissions and a path in the state dir is not 0700 (dirs) / 0600 (files)."""


@dataclass(frozen=True)
class Loose:
    path: Path
    mode: int        # the permission bits found
    want: int

    def describe(self, root: Path) -> str:
        name = "." if self.path == root else str(self.path.relative_to(root))
        return f"{name} is {self.mode:04o} (want {self.want:04o})"


def strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def find_loose(root: Path) -> list[Loose]:
    """Every directory (the root included) that is not 0700 and regular file that is not 0600, under
    `root`, without following symlinks. A missing root has nothing loose."""
    try:
        top = os.stat(root)
    except FileNotFoundError:
        return []
    found: list[Loose] = []
    if stat.S_ISDIR(top.st_mode):
        _check(root, top.st_mode, found)
        _walk(root, found)
    return found


def _walk(directory: Path, found: list[Loose]) -> None:
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return   # removed meanwhile (a run's staging dir, retention)
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            continue
        path = Path(entry.path)
        _check(path, info.st_mode, found)
        if stat.S_ISDIR(info.st_mode):
            _walk(path, found)


def _check(path: Path, mode: int, found: list[Loose]) -> None:
    want = DIR_MODE if stat.S_ISDIR(mode) else FILE_MODE if stat.S_ISREG(mode) else None
    if want is not None and stat.S_IMODE(mode) != want:
        found.append(Loose(path, stat.S_IMODE(mode), want))


def check_state_dir(root: Path, *, strict: bool) -> str | None:
    """Fix (or, strict, refuse) loose permissions under `root`; the one warning line to show, or None."""
    loose = find_loose(root)
    if not loose:
        return None
    first = loose[0].describe(root)
    more = f" and {len(loose) - 1} more" if len(loose) > 1 else ""
    if strict:
        raise LoosePermissions(f"refusing to use {root}: {first}{more}; the state dir must be 0700 and its files "
                               f"0600 (fix: chmod -R u=rwX,go= {root}, or run without --strict-permissions)")
    failed: list[Loose] = []
    for item in loose:
        try:
            os.chmod(item.path, item.want)   # never a symlink: those were passed over
        except FileNotFoundError:
            continue
        except OSError:
            failed.append(item)
    if failed:
        return (f"sbsched: warning: loose permissions in {root}: {first}{more}; could not fix "
                f"{failed[0].describe(root)}" + (f" and {len(failed) - 1} more" if len(failed) > 1 else "")
                + " (not the owner?)")
    return (f"sbsched: warning: fixed loose permissions in {root}: {first}{more}; the state dir is 0700 and "
            "its files 0600 now")
