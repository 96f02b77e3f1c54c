"""The host collector registry, and the shape checker the other test_host_* files use: troubleshoot's
output shapes (tests/fixtures/troubleshoot-shapes/host-collectors.json, derived from the Go structs
of pkg/collect) compared with what our collectors write."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from reconciler.collect import CollectContext, CollectorSpec, Output, Skipped
from reconciler.collect.host import HOST_COLLECTORS
from reconciler.collect.host.applicable import NOT_RUN_HERE

from ...conftest import FIXTURES

SHAPES = json.loads((FIXTURES / "troubleshoot-shapes" / "host-collectors.json").read_text())


def collect(kind: str, root: Path, *, ctx_timeout: float = 10, ctx_env: dict[str, str] | None = None,
            **params: Any) -> Output:
    """Run one registered host collector into `root`, as the runner would; `ctx_env` is the
    collector's environment (params may have an `env` of their own)."""
    output = Output(root)
    ctx = CollectContext(output=output, timeout=ctx_timeout, env=ctx_env if ctx_env is not None else dict(os.environ))
    HOST_COLLECTORS[kind](CollectorSpec(kind, params, True, "test"), ctx)
    return output


def load(root: Path, relative: str) -> Any:
    return json.loads((root / relative).read_text())


def assert_shape(value: Any, shape: Any, where: str = "$") -> None:
    """`value` has exactly the keys, and the types, troubleshoot's struct gives it."""
    if isinstance(shape, str):
        assert any(_is(value, kind) for kind in shape.split("|")), f"{where}: {value!r} is not {shape}"
    elif "list_of" in shape:
        if value is None and shape.get("nullable"):
            return
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for index, item in enumerate(value):
            assert_shape(item, shape["list_of"], f"{where}[{index}]")
    elif "map_of" in shape:
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        for key, item in value.items():
            assert_shape(item, shape["map_of"], f"{where}.{key}")
    else:
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        required = {key for key in shape if not key.endswith("?")}
        allowed = {key.rstrip("?") for key in shape}
        assert required <= value.keys() <= allowed, f"{where}: keys {sorted(value)}, want {sorted(shape)}"
        for key, item in value.items():
            assert_shape(item, shape.get(key, shape.get(key + "?")), f"{where}.{key}")


def assert_written(root: Path, kind: str, relative: str) -> Any:
    """The file at `relative` (troubleshoot's path for `kind`) exists, private, in troubleshoot's shape."""
    path = root / relative
    assert path.is_file(), f"{relative} not written; have {sorted(str(p.relative_to(root)) for p in root.rglob('*'))}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    value = load(root, relative)
    assert_shape(value, SHAPES[kind]["shape"])
    return value


def _is(value: Any, kind: str) -> bool:
    checks = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "any": lambda v: True,
        "list[str]": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        "map[str]": lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()),
    }
    return checks[kind](value)


def test_the_registry_holds_troubleshoots_host_collector_kinds_that_we_implement():
    assert set(HOST_COLLECTORS) - set(NOT_RUN_HERE) == {
        "cpu", "memory", "hostOS", "time", "ipv4Interfaces", "diskUsage", "blockDevices", "kernelModules", "sysctl",
        "hostServices", "run", "copy", "http", "tcpPortStatus", "tcpConnect", "certificate", "journald",
        "kernelConfigs", "cgroups", "systemPackages", "subnetAvailable", "udpPortStatus", "tcpLoadBalancer",
        "httpLoadBalancer", "dns", "certificatesCollection",
        "registryImages", "filesystemPerformance"}
    assert set(HOST_COLLECTORS) - set(NOT_RUN_HERE) <= set(SHAPES), "every kind that runs has a reference shape"


def test_the_kinds_sbsched_does_not_run_are_skipped_with_their_reason(tmp_path):
    assert set(NOT_RUN_HERE) <= set(HOST_COLLECTORS)
    for kind, reason in NOT_RUN_HERE.items():
        with pytest.raises(Skipped) as skipped:
            collect(kind, tmp_path / "out")
        assert str(skipped.value) == reason
    assert not (tmp_path / "out").exists()


def test_every_collector_is_skipped_off_linux(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.platform", "darwin")
    for kind in HOST_COLLECTORS:
        with pytest.raises(Skipped, match="Linux only"):
            collect(kind, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_shape_checker_rejects_extra_missing_and_mistyped_keys():
    shape = SHAPES["memory"]["shape"]
    assert_shape({"total": 1}, shape)
    for wrong in ({}, {"total": 1, "free": 2}, {"total": "1"}, {"total": True}):
        with pytest.raises(AssertionError):
            assert_shape(wrong, shape)
    assert_shape(None, SHAPES["hostServices"]["shape"])
    assert_shape({"error": {"message": "x"}}, SHAPES["http"]["shape"])
