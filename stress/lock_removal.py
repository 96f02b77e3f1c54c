"""Lock and pid files deleted under load: no apply is lost, no second daemon starts.

Each round starts a daemon (`daemon start --foreground`), waits until it holds the state dir, then
starts a thread that deletes state.lock and daemon.pid every few milliseconds, and meanwhile starts
`sbsched apply`s of different sets (each creating its own schedule) and a few more daemons, all at once.
Afterwards every apply must have exited 0 and its schedule must be in state.json (a lost apply is one
that said it applied but is not there), every extra daemon must have exited 2 "already serves" (a
double daemon is one that started), the first daemon must still run, get its daemon.pid back, and stop
on `daemon stop`. Before the directory locks, the applies lost changes and the extra daemons started.
"""
from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from .common import SBSCHED, Result, environment, kill9, read_json, sbsched, wait_until, workdir

ROUNDS = 5
APPLIES = 8
DAEMONS = 2
DELETE_EVERY_S = 0.003


def _manifest(path: Path, set_name: str, schedule: str) -> Path:
    path.write_text(f"apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {{name: {set_name}}}\n"
                    f"defaults: {{collect: {{cluster: false, hostCollectors: [{{cpu: {{}}}}]}}}}\nschedules:\n"
                    f"  - {{name: {schedule}, cron: \"0 3 * * *\"}}\n")
    return path


def _pid_in(path: Path) -> Any:
    try:
        return read_json(path).get("pid")
    except (OSError, ValueError, AttributeError):
        return None


class _Deleter(threading.Thread):
    """Deletes `paths` every few milliseconds until stopped; counts the deletions that hit a file."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(name="stress-deleter", daemon=True)
        self.paths, self.stopped, self.deleted = paths, threading.Event(), 0

    def run(self) -> None:
        while not self.stopped.wait(DELETE_EVERY_S):
            for path in self.paths:
                try:
                    path.unlink()
                    self.deleted += 1
                except FileNotFoundError:
                    pass


def run(rng: random.Random, *, rounds: int = ROUNDS, applies: int = APPLIES, daemons: int = DAEMONS) -> Result:
    result = Result("lock-file-removal")
    work = workdir("lock-removal")
    state_dir = work / "state"
    env = environment(state_dir)
    lost = doubles = deletions = 0
    for round_no in range(rounds):
        with open(work / f"daemon-{round_no}.log", "w") as log:
            first = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], env=env, stdout=log, stderr=log)
        contenders: list[subprocess.Popen[str]] = []
        deleter = _Deleter([state_dir / "state.lock", state_dir / "daemon.pid"])
        try:
            if not wait_until(lambda: _pid_in(state_dir / "daemon.pid") == first.pid, timeout=60):
                result.fail(f"round {round_no}: the first daemon did not start")
                continue
            deleter.start()
            kinds = ["apply"] * applies + ["daemon"] * daemons
            rng.shuffle(kinds)   # the extra daemons start among the applies, at random places
            procs: list[tuple[str, subprocess.Popen[str]]] = []
            for kind in kinds:
                if kind == "daemon":
                    contenders.append(subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], env=env,
                                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                    continue
                name = f"r{round_no}-a{len(procs)}"
                path = _manifest(work / f"{name}.yaml", f"set-{len(procs)}", name)
                procs.append((name, subprocess.Popen([SBSCHED, "apply", "-f", str(path), "--lock-timeout", "60"],
                                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                     text=True)))
            applied = []
            for name, proc in procs:
                _, err = proc.communicate(timeout=120)
                result.trials += 1
                if proc.returncode == 0:
                    applied.append(name)
                else:
                    result.fail(f"round {round_no}: apply of {name} exited {proc.returncode}: {err.strip()[:200]}")
            deadline = time.monotonic() + 45   # a contender gives up after 1 s, once it has started up
            for proc in contenders:
                result.trials += 1
                try:
                    _, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    doubles += 1
                    result.fail(f"round {round_no}: a second daemon (pid {proc.pid}) started beside {first.pid}")
                    continue
                if proc.returncode != 2 or "already serves this state dir" not in err:
                    doubles += 1
                    result.fail(f"round {round_no}: a second daemon exited {proc.returncode}: {err.strip()[:200]}")
            deleter.stopped.set()
            deleter.join()
            deletions += deleter.deleted
            final = read_json(state_dir / "state.json")["schedules"]
            missing = [name for name in applied if name not in final]
            lost += len(missing)
            if missing:
                result.fail(f"round {round_no}: {len(missing)} of {len(applied)} applies lost: {missing}")
            if first.poll() is not None:
                result.fail(f"round {round_no}: the first daemon exited ({first.returncode})")
            elif not wait_until(lambda: _pid_in(state_dir / "daemon.pid") == first.pid, timeout=10):
                result.fail(f"round {round_no}: the daemon did not write daemon.pid again")
            stopped = sbsched("daemon", "stop", "--grace", "10", env=env)
            if stopped.returncode != 0 or f"was pid {first.pid}" not in stopped.stdout:
                result.fail(f"round {round_no}: daemon stop did not stop {first.pid}: {stopped.stdout.strip()} "
                            f"{stopped.stderr.strip()[:200]}")
            try:
                if first.wait(timeout=30) != 0:
                    result.fail(f"round {round_no}: the first daemon exited {first.returncode} on stop")
            except subprocess.TimeoutExpired:
                result.fail(f"round {round_no}: the first daemon still runs after daemon stop")
        finally:
            deleter.stopped.set()
            for proc in [first, *contenders]:
                if proc.poll() is None:
                    kill9(proc)
    result.details = {"rounds": rounds, "applies per round": applies, "extra daemons per round": daemons,
                      "lost applies": lost, "double daemons": doubles, "files deleted": deletions,
                      "delete every seconds": DELETE_EVERY_S}
    result.notes.append(f"{lost} lost applies, {doubles} double daemons; {deletions} lock/pid files deleted")
    return result


if __name__ == "__main__":
    print(json.dumps(run(random.Random(1)).to_json(), indent=2))
