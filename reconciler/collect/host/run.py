"""run: a command on the host, as troubleshoot's pkg/collect/host_run.go runs it (HostRunInfo).

Writes host-collectors/run-host/<name>.txt (stdout, streamed), <name>-stderr.txt (only when the
command wrote to stderr), <name>-info.json, and the files the command left in $TS_OUTPUT_DIR under
<name>/<outputDir>/. The command runs in a fresh temporary directory with `input` files in
$TS_INPUT_DIR. Differences, on purpose: the info's "env" lists what the spec set (env, inheritEnvs,
TS_* dirs), never the scheduler's own environment, which holds upload credentials; "outputDir" is
filled in (troubleshoot marshals it before setting it); an `env` value may contain "="; and a
command still running at its timeout is killed with its process group, its info says so (exit code
-1, as troubleshoot intends), and the collector fails.
"""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from .. import CollectContext, CollectorSpec, Output
from .copy import copy_tree
from .limits import Deadline, duration_param, stop_if_cancelled
from ..params import bundle_path, collector_name, flag, text, text_map, texts
from .proc import run as run_process

RUN_HOST_DIR = "host-collectors/run-host"
_GUARANTEED = ("PATH", "KUBECONFIG", "PWD")
_ERROR_TEXT_LIMIT = 64 * 1024


def run(spec: CollectorSpec, ctx: CollectContext) -> None:
    params = spec.params
    name = collector_name(spec, "run-host")
    command = text(params, "command")
    if not command:
        raise ValueError("exec: no command")
    seconds, limit = duration_param(params)
    output_dir = text(params, "outputDir")
    inputs = text_map(params, "input")
    _check_names(output_dir, inputs)
    inherit_all, chosen = _spec_env(params, ctx)
    argv = [_resolve(command, ctx), *(texts(params, "args") or [])]

    workdir = ctx.output.scratch(".run-")
    try:
        chosen += _prepare(Path(workdir), output_dir, inputs)
        env = {**(ctx.env if inherit_all else {}), **dict(entry.partition("=")[::2] for entry in chosen)}
        out_rel = bundle_path(RUN_HOST_DIR, name + ".txt")
        err_rel = bundle_path(RUN_HOST_DIR, name + "-stderr.txt")
        with ctx.output.open(out_rel) as out, ctx.output.open(err_rel) as err:
            done = run_process(argv, Deadline(ctx, seconds), groups=ctx.groups, stdout=out, stderr=err, env=env,
                               cwd=workdir)
        stop_if_cancelled(ctx)
        stderr = stderr_text(ctx.output, err_rel)
        if done.timed_out:
            exit_code, error = "-1", f"command timed out after {limit or f'{ctx.timeout:g}s'}"
        else:
            exit_code, error = exit_code_text(done.code), (stderr if done.code else "")
        ctx.output.write_json(bundle_path(RUN_HOST_DIR, name + "-info.json"),
                              run_info(" ".join(argv), exit_code, error, env=chosen, output_dir=output_dir))
        if output_dir:
            saved = bundle_path(RUN_HOST_DIR, name, output_dir)
            copy_tree(ctx.output, os.path.join(workdir, output_dir), saved, Deadline(ctx))
        if done.timed_out:
            raise TimeoutError(error)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_info(command: str, exit_code: str, error: str, *, env: list[str] | None,
             output_dir: str = "") -> dict[str, Any]:
    """troubleshoot's HostRunInfo, shared with journald's -info.json."""
    return {"command": command, "exitCode": exit_code, "error": error, "outputDir": output_dir, "input": "",
            "env": env}


def stderr_text(output: Output, relative: str) -> str:
    """What a command wrote to stderr (the start of it), removing the file when it stayed empty."""
    path = output.path(relative)
    if path.stat().st_size == 0:
        path.unlink()
        return ""
    with path.open("rb") as handle:
        return handle.read(_ERROR_TEXT_LIMIT).decode("utf-8", errors="replace")


def exit_code_text(code: int) -> str:
    """Go's "exit status N" without its prefix, or "signal: killed" for a child ended by a signal."""
    if code >= 0:
        return str(code)
    description = signal.strsignal(-code) or f"signal {-code}"
    return f"signal: {description[:1].lower()}{description[1:]}"


def _resolve(command: str, ctx: CollectContext) -> str:
    """A path to an existing file, made absolute (the command runs elsewhere); else looked up on PATH."""
    if os.path.exists(command):
        return os.path.abspath(command)
    if "/" in command or not (found := shutil.which(command, path=ctx.env.get("PATH", os.defpath))):
        raise FileNotFoundError(f'failed to run: exec: "{command}": executable file not found in $PATH')
    return found


def _spec_env(params: Mapping[str, Any], ctx: CollectContext) -> tuple[bool, list[str]]:
    """(whether the child inherits the whole environment, the KEY=value entries the spec chose)."""
    ignore = flag(params, "ignoreParentEnvs")
    inherit = texts(params, "inheritEnvs")
    chosen = []
    for key in [] if ignore else inherit or []:
        if key not in ctx.env:
            raise ValueError(f"failed to parse env variable: inherit env variable is not found: {key}")
        chosen.append(f"{key}={ctx.env[key]}")
    if ignore or inherit is not None:
        chosen += [f"{key}={ctx.env[key]}" for key in _GUARANTEED if key in ctx.env]
    for entry in texts(params, "env") or []:
        key, _, value = entry.partition("=")
        if not key or not value:
            raise ValueError(f"failed to parse env variable: env variable entry is missing '=' : {entry}")
        chosen.append(entry)
    return not ignore and inherit is None, chosen


def _check_names(output_dir: str, inputs: dict[str, str]) -> None:
    if output_dir and (PurePosixPath(output_dir).is_absolute() or ".." in PurePosixPath(output_dir).parts):
        raise ValueError(f"outputDir {output_dir!r} must be a relative path inside the work directory")
    for name in inputs:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"Input filename contains '/': {name!r}")


def _prepare(workdir: Path, output_dir: str, inputs: dict[str, str]) -> list[str]:
    """Create $TS_OUTPUT_DIR and $TS_INPUT_DIR (with the input files); their env entries."""
    extra = []
    if output_dir:
        (workdir / output_dir).mkdir(parents=True, exist_ok=True)
        extra.append(f"TS_OUTPUT_DIR={workdir / output_dir}")
    if inputs:
        (workdir / "input").mkdir()
        for name, content in inputs.items():
            (workdir / "input" / name).write_text(content, encoding="utf-8")
        extra.append(f"TS_INPUT_DIR={workdir / 'input'}")
    return extra
