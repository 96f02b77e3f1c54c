"""filesystemPerformance: fio's write latency benchmark in `directory`, as troubleshoot runs it
(pkg/collect/host_filesystem_performance*.go): `fio --rw=write --ioengine=sync --fdatasync=1
--directory=D --size=S --bs=B --name=fsperf --runtime=R --output-format=json`, its JSON written to
host-collectors/filesystemPerformance/<collectorName|filesystemPerformance>.json (the keys of
troubleshoot's FioResult) and its stderr beside it as -stderr.txt.

Needs fio on PATH (skipped otherwise, with the reason). `directory` is created 0700 when missing;
fio's work file (fsperf.0.0) is removed afterwards when the run created it. The background IOPS
load troubleshoot can add (`enableBackgroundIOPS`) is not generated: such a spec fails, saying so.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from .. import CollectContext, CollectorSpec
from ...base.units import parse_size
from .limits import Deadline, duration_param, stop_if_cancelled
from ..params import bundle_path, collector_name, flag, integer, text
from .proc import capture, find

DEFAULT_TIMEOUT = 60.0        # troubleshoot's
DEFAULT_RUNTIME = "120"       # seconds; fio stops earlier once `size` is written
_JOB = "fsperf"
_FIO_RESULT_KEYS = ("fio version", "timestamp", "timestamp_ms", "time", "global options", "jobs", "disk_util")


def filesystem_performance(spec: CollectorSpec, ctx: CollectContext) -> None:
    params = spec.params
    if flag(params, "enableBackgroundIOPS"):
        raise ValueError("filesystemPerformance: enableBackgroundIOPS is not supported by sbsched")
    argv = [find("fio", ctx), *fio_options(params)]
    directory = Path(text(params, "directory"))
    seconds, _ = duration_param(params)
    work_file = directory / f"{_JOB}.0.0"
    ours = not os.path.lexists(work_file)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    try:
        code, out, err = capture(argv, ctx, Deadline(ctx, DEFAULT_TIMEOUT if seconds is None else seconds))
    finally:
        if ours and os.path.lexists(work_file):
            os.unlink(work_file)
    stop_if_cancelled(ctx)
    name = bundle_path("host-collectors/filesystemPerformance", collector_name(spec, "filesystemPerformance"))
    if err:
        ctx.output.write_bytes(name + "-stderr.txt", err)
    if code == 1:
        raise RuntimeError(f"failed to collect fio results: fio failed; permission denied opening {directory}.  "
                           "ensure this collector runs as root")
    if code != 0:
        raise RuntimeError(f"failed to collect fio results: fio failed with exit status {code}")
    try:
        result = json.loads(out)
    except ValueError as exc:
        raise RuntimeError(f"failed to collect fio results: failed to unmarshal fio result: {exc}") from None
    ctx.output.write_json(name + ".json", {key: result[key] for key in _FIO_RESULT_KEYS
                                           if isinstance(result, dict) and result.get(key)})


def fio_options(params: Mapping[str, Any]) -> list[str]:
    """fio's options for the spec, in troubleshoot's order (its FioJobOptions fields, zero ones left out)."""
    directory = text(params, "directory")
    if not directory:
        raise ValueError("failed to parse collector options: Directory is required to collect filesystem "
                         "performance info")
    operation = integer(params, "operationSize") or 1024
    size_text = text(params, "fileSize")
    size = parse_size(size_text) if size_text else 10 * 1024 * 1024
    if size <= 0:
        raise ValueError(f'failed to parse collector options: fileSize "{size_text}" must be greater than 0')
    runtime = _runtime(DEFAULT_RUNTIME if params.get("runTime") is None else params["runTime"])
    options = ["--rw=write", "--ioengine=sync", "--fdatasync=1", f"--directory={directory}", f"--size={size}",
               f"--bs={operation}", f"--name={_JOB}"]
    return options + ([f"--runtime={runtime}"] if runtime else []) + ["--output-format=json"]


def _runtime(value: object) -> str:
    """troubleshoot's getFioRuntime: absent is 120, "" or <= 0 turns the limit off."""
    if value == "":
        return ""
    try:
        seconds = int(str(value))
    except ValueError:
        raise ValueError(f'failed to parse collector options: failed to parse runTime "{value}"') from None
    return str(value) if seconds > 0 else ""
