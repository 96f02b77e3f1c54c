"""Child processes for host collectors.

Each child gets its own session (so its own process group). At the deadline, or when the runner
cancels, the whole group is killed; and when the leader exits on its own, whatever it left running
in the background is killed too, so nothing outlives its collector or keeps writing into a bundle
file after the collector returned. Output goes to files, never pipes: no pipe can fill and stall a
child, and memory stays flat whatever a command prints.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO, Mapping, Sequence

from .. import CollectContext, Skipped
from ..groups import ProcessGroups
from .limits import Deadline


@dataclass(frozen=True)
class Exit:
    code: int          # the exit status; negative: killed by that signal
    timed_out: bool    # killed at the deadline or on cancellation


def find(name: str, ctx: CollectContext) -> str:
    """The executable's path on the collector's PATH; a missing tool means the collector does not apply."""
    found = shutil.which(name, path=ctx.env.get("PATH", os.defpath))
    if found is None:
        raise Skipped(f"{name} is not installed on this host (not found on PATH)")
    return found


def run(argv: Sequence[str], deadline: Deadline, *, groups: ProcessGroups, stdout: IO[bytes], stderr: IO[bytes],
        env: Mapping[str, str] | None = None, cwd: str | None = None) -> Exit:
    """Run `argv` to its end or the deadline, registered with the run's `groups` meanwhile."""
    child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                             env=groups.environ(env), cwd=cwd, start_new_session=True)
    try:
        groups.started(child.pid)
        timed_out = _wait_for_exit(child.pid, deadline)
    finally:
        _kill_group(child.pid)
        child.wait()
        groups.ended(child.pid)
    return Exit(child.returncode, timed_out)


def capture(argv: Sequence[str], ctx: CollectContext, deadline: Deadline) -> tuple[int, bytes, bytes]:
    """(exit status, stdout, stderr) of a tool whose output is small and parsed whole."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        done = run(argv, deadline, groups=ctx.groups, stdout=out, stderr=err, env=ctx.env)
        if done.timed_out:
            deadline.check(os.path.basename(argv[0]))
        out.seek(0)
        err.seek(0)
        return done.code, out.read(), err.read()


def _wait_for_exit(pid: int, deadline: Deadline) -> bool:
    """True when the deadline came first. Polls without reaping (WNOWAIT), so the group keeps its id
    (no pid reuse) until it is killed; the pause grows from 1 ms so short commands return at once."""
    pause = 0.001
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if deadline.expired():
            return True
        deadline.wait(pause)
        pause = min(pause * 2, 0.05)
    return False


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone
