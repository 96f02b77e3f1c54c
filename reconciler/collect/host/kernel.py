"""kernelModules and sysctl.

kernelModules follows troubleshoot's pkg/collect/host_kernel_modules.go (KernelModuleInfo): every
module file under /lib/modules/<release> is `loadable`, then /proc/modules and modules.builtin
overlay what is loaded. Names are cut at the last dot as troubleshoot cuts them, so a compressed
module (foo.ko.xz) is listed as "foo.ko" there too. Unreadable directories are noted in
kernel_modules-stderr.txt and the walk goes on (troubleshoot fails the whole collector instead).

sysctl runs `sysctl -a` and parses `key = value` lines as pkg/collect/host_sysctl.go does; where
there is no sysctl (procps is missing from slim container images, the exported CronJob's runner
among them) it reads /proc/sys as sysctl -a would print it, unreadable keys noted in sysctl-stderr.txt.
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
from pathlib import Path
from typing import Any

from .. import CollectContext, CollectorSpec, Skipped
from .limits import Deadline
from .proc import capture, find

HOST_KERNEL_MODULES_PATH = "host-collectors/system/kernel_modules.json"
HOST_SYSCTL_PATH = "host-collectors/system/sysctl.json"
_STATES = {"Live": "loaded", "Loading": "loading", "Unloading": "unloading"}
_SYSCTL_LINE = re.compile(r"(\S+)\s*(=|:)\s*(.*)\Z")
_SYSCTL_HIDDEN = ("base_reachable_time", "retrans_time", "stat_refresh")   # procps leaves these out of -a


def kernel_modules(spec: CollectorSpec, ctx: CollectContext) -> None:
    modules, problems = modules_of(Path("/"), os.uname().release, Deadline(ctx))
    ctx.output.write_json(HOST_KERNEL_MODULES_PATH, modules)
    if problems:
        ctx.output.write_text(HOST_KERNEL_MODULES_PATH.removesuffix(".json") + "-stderr.txt",
                              "".join(f"{problem}\n" for problem in problems))


def sysctl(spec: CollectorSpec, ctx: CollectContext) -> None:
    try:
        tool = find("sysctl", ctx)
    except Skipped:
        values, problems = proc_sys(Path("/proc/sys"), Deadline(ctx))
        ctx.output.write_json(HOST_SYSCTL_PATH, values)
        if problems:
            ctx.output.write_text(HOST_SYSCTL_PATH.removesuffix(".json") + "-stderr.txt",
                                  "".join(f"{problem}\n" for problem in problems))
        return
    code, out, err = capture([tool, "-a"], ctx, Deadline(ctx))
    if code != 0:
        raise RuntimeError(f"failed to run sysctl exit-code={code} stderr={err.decode(errors='replace')}")
    values = {}
    for line in out.decode("utf-8", errors="replace").splitlines():
        if match := _SYSCTL_LINE.search(line):
            values[match.group(1)] = match.group(3)
    ctx.output.write_json(HOST_SYSCTL_PATH, values)
    if err:
        ctx.output.write_bytes(HOST_SYSCTL_PATH.removesuffix(".json") + "-stderr.txt", err)


def proc_sys(top: Path, deadline: Deadline) -> tuple[dict[str, str], list[str]]:
    """What `sysctl -a` parsed as troubleshoot parses it would give: each readable file under `top` by
    its dotted key (a dot in a name becomes "/", as sysctl shows it), its last line as the value;
    write-only and deprecated keys are left out, as sysctl leaves them out, and unreadable ones noted."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for directory, subdirs, files in os.walk(top):
        deadline.check("sysctl")
        subdirs.sort()
        for name in sorted(set(files) - set(_SYSCTL_HIDDEN)):
            path = os.path.join(directory, name)
            key = ".".join(part.replace(".", "/") for part in Path(path).relative_to(top).parts)
            try:
                if not os.stat(path).st_mode & stat.S_IRUSR:
                    continue
                with open(path, "rb") as handle:
                    lines = handle.read(1 << 16).decode("utf-8", errors="replace").splitlines()
            except OSError as exc:
                problems.append(f"sysctl: reading key \"{key}\": {exc.strerror or exc}")
                continue
            values[key] = lines[-1] if lines else ""
    return values, problems


def modules_of(root: Path, release: str, deadline: Deadline) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(modules by name, unreadable directories) of the system mounted at `root`."""
    top = _modules_dir(root, release)
    modules, problems = _loadable(top, deadline)
    loaded = _proc_modules(root)
    modules.update({name: info for name, info in _builtin(top).items() if name not in loaded})
    modules.update(loaded)
    return dict(sorted(modules.items())), problems


def _module(status: str, size: int = 0, instances: int = 0) -> dict[str, Any]:
    return {"size": size, "instances": instances, "status": status}


def _module_name(path: str) -> str:
    base = os.path.basename(path)
    return base[:base.rfind(".")] if "." in base else base


def _modules_dir(root: Path, release: str) -> Path | None:
    for modules in (root / "lib/modules" / release, root / "usr/lib/modules" / release):
        if modules.exists():
            return modules
    return None  # a container without the host's modules: nothing is loadable


def _loadable(top: Path | None, deadline: Deadline) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Regular files named *.ko* below the release's modules directory (as `find -type f` sees them)."""
    modules: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    pending = [str(top)] if top else []
    while pending:
        deadline.check("listing loadable kernel modules")
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False) and fnmatch.fnmatchcase(entry.name, "*.ko*"):
                        if name := _module_name(entry.name):
                            modules[name] = _module("loadable")
        except OSError as exc:
            problems.append(f"find: '{directory}': {exc.strerror}")
    return modules, problems


def _builtin(top: Path | None) -> dict[str, dict[str, Any]]:
    listing = top / "modules.builtin" if top else None
    if listing is None or not listing.exists():
        return {}
    lines = listing.read_text(encoding="utf-8", errors="replace").splitlines()
    names = (_module_name(line) for line in lines)
    return {name: _module("loaded") for name in names if name}


def _proc_modules(root: Path) -> dict[str, dict[str, Any]]:
    """Loaded modules; none when the kernel has no module support (no /proc/modules), where
    troubleshoot fails the collector instead."""
    modules: dict[str, dict[str, Any]] = {}
    try:
        listing = (root / "proc/modules").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return modules
    for line in listing.splitlines():
        fields = line.split(" ")
        if len(fields) < 5:
            continue
        size, instances = (int(value) if value.isdigit() else 0 for value in fields[1:3])
        modules[fields[0]] = _module(_STATES.get(fields[4], "unknown"), size, instances)
    return modules
