"""kernelConfigs and cgroups: how the kernel was built and which control groups it offers
(troubleshoot pkg/collect/host_kernel_configs.go KConfigs, host_cgroup.go and host_cgroup_linux.go
cgroupsResult). Both only read files, so both work in a container as well as on a host.
"""
from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any, Iterable

from .. import CollectContext, CollectorSpec
from ..params import text

HOST_KERNEL_CONFIGS_PATH = "host-collectors/system/kernel-configs.json"
HOST_CGROUPS_PATH = "host-collectors/system/cgroups.json"
_KCONFIG_LINE = re.compile(r"(CONFIG_[A-Z0-9_]+)=([ynm])")
_CGROUP_ROOT = "/sys/fs/cgroup"


def kernel_configs(spec: CollectorSpec, ctx: CollectContext) -> None:
    release = os.uname().release
    for path in kernel_config_paths(release):
        try:
            with open(path, "rb") as handle:   # a few hundred KiB at most
                data = handle.read()
        except FileNotFoundError:
            continue
        data = gzip.decompress(data) if path.endswith(".gz") else data
        ctx.output.write_json(HOST_KERNEL_CONFIGS_PATH, parse_kconfigs(data.decode("utf-8", errors="replace").splitlines()))
        return
    raise RuntimeError(f'failed to load kernel configs: no kernel config files found for kernel release "{release}"')


def kernel_config_paths(release: str) -> list[str]:
    """Where distributions keep the running kernel's config, in troubleshoot's order."""
    return ["/proc/config.gz", f"/boot/config-{release}", f"/usr/src/linux-{release}/.config",
            "/usr/src/linux/.config", f"/usr/lib/modules/{release}/config", f"/usr/lib/ostree-boot/config-{release}",
            f"/usr/lib/kernel/config-{release}", f"/usr/src/linux-headers-{release}/.config",
            f"/lib/modules/{release}/build/.config"]


def parse_kconfigs(lines: Iterable[str]) -> dict[str, str]:
    """Built in (y), module (m) or left out (n); string and number options are not kept."""
    return {match[1]: match[2] for line in lines if (match := _KCONFIG_LINE.fullmatch(line))}


def cgroups(spec: CollectorSpec, ctx: CollectContext) -> None:
    mount_point = text(spec.params, "mountPoint") or _CGROUP_ROOT
    fs_type = mount_type(Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace"), mount_point)
    ctx.output.write_json(HOST_CGROUPS_PATH, cgroups_result(mount_point, fs_type))


def cgroups_result(mount_point: str, fs_type: str | None) -> dict[str, Any]:
    """What troubleshoot's discoverConfiguration reports for the file system at `mount_point`.

    troubleshoot probes the v2 devices controller by attaching an eBPF program to a cgroup it
    creates; sbsched creates no cgroups, so it reports devices as troubleshoot does when that probe
    is not permitted (listed), and freezer when the cgroup it runs in has cgroup.freeze."""
    v1: dict[str, Any] = {"enabled": False, "mountPoint": "", "controllers": []}
    v2: dict[str, Any] = {"enabled": False, "mountPoint": "", "controllers": []}
    if fs_type == "cgroup2":
        names = Path(mount_point, "cgroup.controllers").read_text(encoding="ascii", errors="replace").split()
        names += ["cpuacct"] if "cpu" in names else []
        names += ["freezer"] if _own_cgroup(mount_point).joinpath("cgroup.freeze").exists() else []
        v2 = {"enabled": True, "mountPoint": mount_point, "controllers": sorted(names + ["devices"])}
    elif fs_type in ("cgroup", "tmpfs"):
        v1 = {"enabled": True, "mountPoint": mount_point,
              "controllers": sorted(v1_controllers(Path("/proc/cgroups").read_text(encoding="ascii")))}
    elif fs_type is not None:
        raise RuntimeError(f'unexpected file system type of "{mount_point}": {fs_type}')
    every = sorted(set(v1["controllers"]) | set(v2["controllers"]))
    return {"cgroup-enabled": bool(v1["enabled"] or v2["enabled"]), "cgroup-v1": v1, "cgroup-v2": v2,
            "allControllers": every or None}   # Go marshals the nil slice of no controllers as null


def v1_controllers(proc_cgroups: str) -> list[str]:
    """/proc/cgroups rows whose `enabled` column is not 0."""
    return [parts[0] for line in proc_cgroups.splitlines()
            if line and not line.startswith("#") and len(parts := line.split()) >= 4 and parts[3] != "0"]


def mount_type(mountinfo: str, path: str) -> str | None:
    """The type of the file system holding `path` (its longest mount point prefix in mountinfo, as
    statfs would see it); None when the path does not exist (troubleshoot reports nothing then)."""
    if not os.path.exists(path):
        return None
    target = os.path.realpath(path)
    best, best_type = "", None
    for line in mountinfo.splitlines():
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        point = parts[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, rest.split()[0]
    return best_type


def _own_cgroup(mount_point: str) -> Path:
    for line in Path("/proc/self/cgroup").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("0::"):
            return Path(mount_point, line[3:].lstrip("/"))
    return Path(mount_point)
