"""journald: `journalctl` with troubleshoot's options (pkg/collect/host_journald.go), its output
streamed to host-collectors/journald/<collectorName>.txt, with <collectorName>-info.json (the run
collector's HostRunInfo shape) and <collectorName>-stderr.txt when journalctl complained.

collectorName is required, as in troubleshoot; the timeout defaults to 30s. At the timeout
journalctl is killed, what it wrote so far is kept, the info says exit code 124 (as troubleshoot
intends), and the collector fails.
"""
from __future__ import annotations

from typing import Any, Mapping

from .. import CollectContext, CollectorSpec
from .limits import Deadline, duration_param, stop_if_cancelled
from ..params import bundle_path, flag, integer, text, texts
from .proc import find
from .proc import run as run_process
from .run import run_info, stderr_text

HOST_JOURNALD_DIR = "host-collectors/journald"
DEFAULT_TIMEOUT = 30.0   # seconds, troubleshoot's default


def journald(spec: CollectorSpec, ctx: CollectContext) -> None:
    params = spec.params
    name = text(params, "collectorName")
    if not name:
        raise ValueError("collector name is required")
    seconds, limit = duration_param(params)
    if seconds is None:
        seconds, limit = DEFAULT_TIMEOUT, "30s"
    argv = [find("journalctl", ctx), *journalctl_options(params)]
    out_rel = bundle_path(HOST_JOURNALD_DIR, name + ".txt")
    err_rel = bundle_path(HOST_JOURNALD_DIR, name + "-stderr.txt")
    with ctx.output.open(out_rel) as out, ctx.output.open(err_rel) as err:
        done = run_process(argv, Deadline(ctx, seconds), groups=ctx.groups, stdout=out, stderr=err, env=ctx.env)
    stop_if_cancelled(ctx)
    stderr = stderr_text(ctx.output, err_rel)
    if done.timed_out:
        exit_code, error = "124", f"command timed out after {limit}"
    else:
        # Go's ExitCode(): the status, or -1 for a child ended by a signal
        exit_code, error = str(max(done.code, -1)), (stderr if done.code else "")
    ctx.output.write_json(bundle_path(HOST_JOURNALD_DIR, name + "-info.json"),
                          run_info(" ".join(argv), exit_code, error, env=None))
    if done.timed_out:
        raise TimeoutError(error)


def journalctl_options(params: Mapping[str, Any]) -> list[str]:
    options = []
    if flag(params, "system"):
        options.append("--system")
    if flag(params, "dmesg"):
        options.append("--dmesg")
    for unit in texts(params, "units") or []:
        options += ["-u", unit]
    for key, option in (("since", "--since"), ("until", "--until"), ("output", "--output")):
        if value := text(params, key):
            options += [option, value]
    if (lines := integer(params, "lines")) > 0:
        options += ["-n", str(lines)]
    if flag(params, "reverse"):
        options.append("--reverse")
    if flag(params, "utc"):
        options.append("--utc")
    return [*options, "--no-pager"]
