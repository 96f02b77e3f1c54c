"""systemPackages: `dpkg -s` or `rpm -qi` for each package the spec lists for this distribution
(troubleshoot pkg/collect/host_system_package.go, SystemPackagesInfo), written to
host-collectors/system/{collectorName|packages}-packages.json.

troubleshoot fails on a distribution it has no package lists for; sbsched skips the collector
there with the reason (a Debian-based container, the exported CronJob's runner among them, is one).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .. import CollectContext, CollectorSpec, Skipped
from ..params import bundle_path, collector_name, texts
from .limits import Deadline
from .osinfo import os_release
from .proc import capture, find

# distribution ID -> (the tool, the spec keys whose lists apply, each with the major version it needs)
_LISTS: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "ubuntu": (["dpkg", "-s"], [("ubuntu", ""), ("ubuntu16", "16"), ("ubuntu18", "18"), ("ubuntu20", "20")]),
    "centos": (["rpm", "-qi"], [("centos", ""), ("centos7", "7"), ("centos8", "8"), ("centos8", "9")]),
    "rhel": (["rpm", "-qi"], [("rhel", ""), ("rhel7", "7"), ("rhel8", "8"), ("rhel9", "9")]),
    "ol": (["rpm", "-qi"], [("ol", ""), ("ol7", "7"), ("ol8", "8"), ("ol9", "9")]),
    "rocky": (["rpm", "-qi"], [("rocky", ""), ("rocky8", "8"), ("rocky9", "9")]),
    "amzn": (["rpm", "-qi"], [("amzn", ""), ("amzn2", "2")]),
}


def system_packages(spec: CollectorSpec, ctx: CollectContext, etc: Path = Path("/etc")) -> None:
    distribution, version = installed_distribution(etc)
    if reason := unsupported(distribution, version):
        raise Skipped(reason)
    tool, _ = _LISTS[distribution]
    packages = []
    for name in wanted_packages(distribution, version, spec.params):
        code, out, err = capture([find(tool[0], ctx), *tool[1:], name], ctx, Deadline(ctx))
        entry = {"name": name, "details": out.decode("utf-8", errors="replace"), "exitCode": str(code)}
        if err:
            entry["error"] = err.decode("utf-8", errors="replace")
        packages.append(entry)
    ctx.output.write_json(bundle_path("host-collectors/system", collector_name(spec, "packages") + "-packages.json"),
                          {"os": distribution, "osVersion": version, "packages": packages or None})


def wanted_packages(distribution: str, version: str, params: Mapping[str, Any]) -> list[str]:
    """The spec's lists for this distribution and, where the major version matches, its version's
    (troubleshoot reads centos8's list for CentOS 9; so does this)."""
    _, lists = _LISTS[distribution]
    return [name for key, major in lists if not major or version == major or version.startswith(major + ".")
            for name in texts(params, key) or []]


def unsupported(distribution: str, version: str) -> str | None:
    """Why systemPackages cannot run on this distribution, or None."""
    if distribution in _LISTS:
        return None
    return (f"systemPackages knows the package lists of {', '.join(_LISTS)} only (as troubleshoot); "
            f"this host is {distribution} {version}")


def installed_distribution(etc: Path) -> tuple[str, str]:
    """(ID, VERSION_ID) from os-release, else Amazon Linux's system-release, as troubleshoot reads them."""
    fields = os_release(etc)
    distribution, version = fields.get("ID", ""), fields.get("VERSION_ID", "")
    if not distribution:
        try:
            release = (etc / "system-release").read_text(encoding="utf-8", errors="replace")
        except OSError:
            release = ""
        if "Amazon Linux" in release:
            distribution, version = "amzn", release.split()[-1]
    if not distribution:
        raise RuntimeError("distribution id could not be detected or is unsupported.")
    if not version:
        raise RuntimeError("distribution version could not be detected or is unsupported.")
    return distribution, version
