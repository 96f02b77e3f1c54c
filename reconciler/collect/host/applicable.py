"""Which host collectors a run will skip on this host, known before it runs, so that `sbsched validate`
can warn about them, and the reasons for the kinds sbsched does not run at all.

The checks are the cheap ones the collectors themselves make first (the OS, a tool on PATH, systemd
booted, the distribution); a collector can still be skipped for what only running it shows.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Mapping

from .. import CollectorSpec
from .packages import installed_distribution, unsupported

NOT_RUN_HERE: dict[str, str] = {
    "networkNamespaceConnectivity": "networkNamespaceConnectivity creates network namespaces, veth pairs and routes, "
                                    "which needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); sbsched does not change a "
                                    "host's network configuration",
}
_TOOLS = {"blockDevices": "lsblk", "journald": "journalctl", "hostServices": "systemctl",
          "filesystemPerformance": "fio"}


def linux_only(kind: str, platform: str) -> str | None:
    if platform.startswith("linux"):
        return None
    return f"host collector {kind!r} runs on Linux only (this host is {platform})"


def skip_reason_here(spec: CollectorSpec, env: Mapping[str, str], *, platform: str = sys.platform,
                     root: Path = Path("/")) -> str | None:
    """Why `spec` (a host collector) will be skipped on this host, or None when nothing says so yet.
    `root` is where /etc and /run are looked up (a test's directory)."""
    if reason := linux_only(spec.kind, platform):
        return reason
    if spec.kind in NOT_RUN_HERE:
        return NOT_RUN_HERE[spec.kind]
    tool = _TOOLS.get(spec.kind)
    if tool and shutil.which(tool, path=env.get("PATH", os.defpath)) is None:
        return f"{tool} is not installed on this host (not found on PATH)"
    if spec.kind == "hostServices" and not (root / "run/systemd/system").is_dir():
        return "this host is not booted with systemd (no /run/systemd/system), as in most containers"
    if spec.kind == "systemPackages":
        try:
            return unsupported(*installed_distribution(root / "etc"))
        except RuntimeError as exc:
            return str(exc)
    return None
