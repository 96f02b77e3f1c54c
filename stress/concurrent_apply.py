"""20 `sbsched apply`s of different manifests of one set, started together against one state dir.

Each must exit 0 (applied) or 2 with the lock-timeout message (a few are given a short --lock-timeout,
so both outcomes happen); the final state's specs must equal exactly one manifest's plan; the audit log
must hold exactly one line per apply that changed the state, each naming its own process. Run in
rounds; each round starts from the state the previous one left.
"""
from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path
from typing import Any

from .common import (SBSCHED, Result, environment, iter_json_lines, read_json, sbsched, specs_of, workdir)

CONCURRENT = 20
ROUNDS = 3
SCHEDULES = 60


def _manifest(path: Path, variant: int) -> Path:
    rows = "".join(f"  - {{name: job-{i:02d}, cron: \"{(i + variant) % 60} {variant % 24} * * *\", "
                   f"labels: {{variant: v{variant}}}, policy: {{timeoutSeconds: {300 + variant}}}}}\n"
                   for i in range(SCHEDULES - variant % 5))   # the plans differ in names too
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: team}\n"
                    "defaults: {collect: {cluster: false, hostCollectors: [{cpu: {}}]}}\nschedules:\n" + rows)
    return path


def run(rng: random.Random, *, concurrent: int = CONCURRENT, rounds: int = ROUNDS) -> Result:
    result = Result("concurrent apply")
    started = time.monotonic()
    work = workdir("concurrent")
    state_dir = work / "state"
    env = environment(state_dir)
    expected: dict[int, dict[str, Any]] = {}
    variants = list(range(concurrent * rounds))
    manifests = {v: _manifest(work / f"m-{v:03d}.yaml", v) for v in variants}
    # What each manifest's plan is, alone: the normalized specs its apply would store (in process).
    from reconciler.manifest.load import load_manifest

    for v in variants:
        loaded = load_manifest(str(manifests[v]))
        if loaded.manifest is None:
            result.fail(f"manifest {v} is invalid: {loaded.diagnostics[:1]}")
            return result
        expected[v] = json.loads(json.dumps({name: (loaded.manifest.name, spec)
                                             for name, spec in loaded.manifest.schedules.items()}))
    timeouts = applied_total = 0
    for round_no in range(rounds):
        batch = variants[round_no * concurrent:(round_no + 1) * concurrent]
        audit_before = len(list(iter_json_lines(state_dir / "logs" / "audit.log")))
        procs = []
        for v in batch:
            lock_timeout = rng.choice(["0", "0.05", "30", "30", "30"])
            procs.append((v, lock_timeout, subprocess.Popen(
                [SBSCHED, "apply", "-f", str(manifests[v]), "--lock-timeout", lock_timeout, "-o", "json"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        applied: dict[int, int] = {}   # variant -> pid
        for v, lock_timeout, proc in procs:
            out, err = proc.communicate(timeout=120)
            result.trials += 1
            if proc.returncode == 0:
                summary = json.loads(out)["summary"]
                if any(summary.get(k) for k in ("create", "update", "delete")):
                    applied[v] = proc.pid
            elif proc.returncode == 2 and "locked by" in err and "gave up after" in err:
                timeouts += 1
                if "Traceback" in err or len([ln for ln in err.splitlines() if not ln.startswith(
                        ("hint:", "sbsched: waiting"))]) != 1:
                    result.fail(f"round {round_no}, manifest {v}: lock timeout message is not one line: {err!r}")
            else:
                result.fail(f"round {round_no}, manifest {v} (--lock-timeout {lock_timeout}): exit {proc.returncode}: "
                            f"{err.strip()[:300]}")
        applied_total += len(applied)
        final = json.loads(json.dumps(specs_of(read_json(state_dir / "state.json"))))
        matches = [v for v in batch if expected[v] == final]
        if len(matches) != 1 and len({json.dumps(expected[v], sort_keys=True) for v in matches}) != 1:
            result.fail(f"round {round_no}: the final state equals {len(matches)} of the manifests (want exactly one)")
        lines = list(iter_json_lines(state_dir / "logs" / "audit.log"))[audit_before:]
        if len(lines) != len(applied):
            result.fail(f"round {round_no}: {len(lines)} audit line(s) for {len(applied)} applies that changed the state")
        if sorted(line.get("pid") for line in lines) != sorted(applied.values()):
            result.fail(f"round {round_no}: the audit lines' pids are not those of the applies that changed the state")
        serials = [line.get("serialAfter") for line in lines]
        if serials != sorted(serials) or len(set(serials)) != len(serials):
            result.fail(f"round {round_no}: audit serials are not strictly increasing: {serials}")
    result.details = {"concurrent": concurrent, "rounds": rounds, "applied": applied_total, "lock timeouts": timeouts}
    result.notes.append(f"{applied_total} applied, {timeouts} timed out cleanly (exit 2)")
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    print(json.dumps(run(random.Random(1)).to_json(), indent=2))
