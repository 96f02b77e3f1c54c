"""Where the state lives, and the modes everything there gets (dir 0700, files 0600)."""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
ENV_VAR = "TROUBLESHOOT_SCHEDULER_DIR"


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--state-dir, else $TROUBLESHOOT_SCHEDULER_DIR, else ~/.troubleshoot/scheduler (the troubleshoot default)."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".troubleshoot" / "scheduler"


def ensure_dir(path: Path) -> Path:
    """Create `path` and each missing parent 0700 (mkdir(parents=True) gives parents the umask's mode);
    tighten `path` if it exists looser."""
    missing = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(DIR_MODE)
    return path
