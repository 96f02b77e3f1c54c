"""`daemon install --system`: the system-wide daemon as a systemd unit, for a host shared by a team.

The unit runs the daemon as root in the foreground on the system state dir (the system file's
storageConfig.baseDir, /var/lib/sbsched when it names none; a system file that does not exist yet is
written naming it, so that every user's `sbsched` finds the same state with no --state-dir). With
`allowedGroups`, the unit runs with that group and the state dir is made 2770 with it
(store/sharing.py). systemd enables and starts the unit when it runs this host (sd_booted's test:
/run/systemd/system exists); elsewhere (a container, a chroot) the unit is written and the caller says
that it could not be enabled: writing it is what was asked of sbsched, enabling it is the host's.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..base.errors import SbschedError, UsageError
from ..store.atomic import atomic_write
from ..store.config_files import system_path, system_state_dir
from ..store.paths import dir_mode, ensure_dir, shared_gid

UNIT = "sbsched.service"
UNIT_DIR = Path("/etc/systemd/system")
STATE_DIR = Path("/var/lib/sbsched")
SYSTEMD_RUNNING = Path("/run/systemd/system")


@dataclass(frozen=True)
class Installed:
    unit: Path
    state_dir: Path
    config_written: Path | None   # the system file, when this install wrote it
    enabled: bool
    not_enabled_why: str | None


def unit_text(*, command: list[str], state_dir: Path, group: str | None) -> str:
    """Pure: the unit. Root, so that host collectors read what they need; ProtectSystem=strict leaves it
    the state dir alone to write."""
    exec_start = " ".join([*command, "--state-dir", str(state_dir), "daemon", "start", "--foreground",
                           "--log-format", "json"])
    lines = ["# written by `sbsched daemon install --system`", "[Unit]",
             "Description=sbsched: scheduled Kubernetes support bundles (system-wide)",
             "After=network-online.target", "Wants=network-online.target", "", "[Service]", "Type=simple",
             *([f"Group={group}"] if group else []),
             f"ExecStart={exec_start}", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM",
             "TimeoutStopSec=120", "Restart=on-failure", "RestartSec=5s", f"UMask={'0007' if group else '0077'}",
             "NoNewPrivileges=true", "ProtectSystem=strict", f"ReadWritePaths={state_dir}", "PrivateTmp=true", "",
             "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def system_state_dir_or_default() -> tuple[Path, Path | None]:
    """(the system state dir, the system file to write naming it, or None: it names one already)."""
    named = system_state_dir()
    if named is not None:
        return Path(named), None
    path = system_path()
    return STATE_DIR, (None if path.exists() else path)


def install(*, command: list[str], group: str | None, unit_dir: Path = UNIT_DIR) -> Installed:
    state_dir, config = system_state_dir_or_default()
    if config is not None:
        _write(config, f"# written by `sbsched daemon install --system`\nstorageConfig:\n  baseDir: {state_dir}\n"
                       .encode(), mode=0o644, what="the system file")   # every user reads it: it holds no secret
    unit = unit_dir / UNIT
    _write(unit, unit_text(command=command, state_dir=state_dir, group=group).encode(), mode=0o644, what="the unit")
    why = _enable_problem()
    if why is None:
        for args in (["daemon-reload"], ["enable", "--now", UNIT]):
            done = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=120, check=False)
            if done.returncode != 0:
                raise SbschedError(f"wrote {unit}, but systemctl {' '.join(args)} failed: "
                                   f"{(done.stderr.strip().splitlines() or ['exit ' + str(done.returncode)])[-1]}")
    return Installed(unit=unit, state_dir=state_dir, config_written=config, enabled=why is None, not_enabled_why=why)


def make_state_dir(state_dir: Path, checked: Callable[[Path], Path]) -> int | None:
    """The system state dir, made: its parent passable by every member (as /var/lib is), the dir checked
    as every command checks it (`checked`: the caller's, which admits the user and returns the dir), then
    private, or 2770 with the shared group. That group's id, or None when the dir is not shared."""
    os.makedirs(state_dir.parent, mode=0o755, exist_ok=True)
    root = ensure_dir(checked(state_dir))
    gid = shared_gid()
    if gid is not None:
        os.chown(root, -1, gid)   # before the mode: a chown clears the setgid bit
        os.chmod(root, dir_mode())
    return gid


def _enable_problem() -> str | None:
    if shutil.which("systemctl") is None:
        return "systemctl not found"
    if not SYSTEMD_RUNNING.is_dir():
        return f"systemd is not running on this host ({SYSTEMD_RUNNING} does not exist)"
    return None


def _write(path: Path, data: bytes, *, mode: int, what: str) -> None:
    try:
        if not path.parent.is_dir():
            os.makedirs(path.parent, mode=0o755)
        atomic_write(path, data, mode=mode)
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {exc.strerror or exc}",
                         hint="run it as root: sudo sbsched daemon install --system") from None
