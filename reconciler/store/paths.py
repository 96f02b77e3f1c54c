"""Where the state lives, and the modes everything there gets (dir 0700, files 0600)."""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
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


def ensure_dir(path: Path) -> Path:
    """Create `path` and each missing parent 0700 whatever the umask (mkdir(parents=True) gives parents
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
            new_private_dir(directory)
        except FileExistsError:
            continue   # made meanwhile by another process (a concurrent run): its mode is its maker's
    return path


def new_private_dir(path: Path) -> Path:
    """Create `path` 0700 (explicitly: not what the umask leaves); FileExistsError when the name is taken,
    so that a directory (or link) someone else put there first, e.g. in a shared --output-dir, is never
    written into."""
    path.mkdir(mode=DIR_MODE)
    path.chmod(DIR_MODE)
    return path
