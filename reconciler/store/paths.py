"""Where the state lives, and the modes everything there gets: dir 0700, files 0600; in a state dir the
system file shares with a team (store/sharing.py), 2770 and 0660 with the team's group (setgid: what is
made in a directory takes its group), never readable by others."""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SHARED_DIR_MODE = 0o2770
SHARED_FILE_MODE = 0o660
ENV_VAR = "TROUBLESHOOT_SCHEDULER_DIR"


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--state-dir, else $TROUBLESHOOT_SCHEDULER_DIR, else the system file's storageConfig.baseDir (a
    service's /var/lib/...), else ~/.troubleshoot/scheduler (the troubleshoot default)."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    from .config_files import system_state_dir

    return Path(system_state_dir() or Path.home() / ".troubleshoot" / "scheduler")


class _Shared:
    """The group this process shares its state dir with; set once, at the start of a command, by
    `share_with_group` (the command's modes follow from the state dir it uses, not from each caller)."""

    gid: int | None = None


def share_with_group(gid: int | None) -> None:
    _Shared.gid = gid


def shared_gid() -> int | None:
    return _Shared.gid


def dir_mode() -> int:
    return DIR_MODE if _Shared.gid is None else SHARED_DIR_MODE


def file_mode() -> int:
    return FILE_MODE if _Shared.gid is None else SHARED_FILE_MODE


def ensure_dir(path: Path) -> Path:
    """Create `path` and each missing parent 0700 (2770 when shared) whatever the umask (mkdir(parents=True) gives parents
    the umask's mode, and the umask can take bits from any mode). A directory that exists is left as it
    is: it may be /tmp, a share, or someone's working directory, and only the state dir's permission
    check (store/permissions.py) tightens directories of sbsched's own layout."""
    missing = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        try:
            _new_dir(directory, dir_mode())
        except FileExistsError:
            continue   # made meanwhile by another process (a concurrent run): its mode is its maker's
    return path


def new_private_dir(path: Path) -> Path:
    """Create `path` 0700 (explicitly: not what the umask leaves); FileExistsError when the name is taken,
    so that a directory (or link) someone else put there first, e.g. in a shared --output-dir, is never
    written into."""
    return _new_dir(path, DIR_MODE)


def _new_dir(path: Path, mode: int) -> Path:
    path.mkdir(mode=mode & 0o777)
    path.chmod(mode)
    return path
