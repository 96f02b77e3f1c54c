"""Rounds of `sbsched run` on one schedule, 8 started together each round, with keepLast retention.

Counted over every run, each expected to stay 0: ids given twice, records lost (a run's record missing
or another run's in its place, its bundle still there), bundles overwritten (two runs naming one file,
or a file whose sha256 is not its record's), runs pruned wrongly (one of the newest `keepLast`
finished runs removed), and runs kept beyond `keepLast` once `sbsched cleanup` has settled the round
(retention runs at the end of each run, while the others of the round still run, so a round may end
with more; it must never end with fewer). Every run must complete (exit 0); nothing may stay in
`active`, no staging dir or temp file may be left.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .common import SBSCHED, Result, environment, leftovers, read_json, records, sbsched, workdir

CONCURRENT = 8
ROUNDS = 20
KEEP_LAST = 10   # more than a round: every run of a round is among the newest until the next round


def _manifest(path: Path) -> Path:
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: stress}\n"
                    "defaults: {collect: {cluster: false, hostCollectors: [{cpu: {}}, {memory: {}}]}}\n"
                    "schedules:\n  - name: burst\n    cron: \"0 3 * * *\"\n"
                    f"    retention: {{keepLast: {KEEP_LAST}, keepFailed: 0, maxAgeDays: 0}}\n")
    return path


def _round(env: dict[str, str], count: int) -> tuple[list[dict[str, Any]], list[str]]:
    """`count` runs started together: their printed records, and what went wrong with the processes."""
    procs = [subprocess.Popen([SBSCHED, "run", "burst", "-o", "json"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    printed, problems = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            problems.append(f"exit {proc.returncode}: {err.strip()[:300]}")
            continue
        printed.append(json.loads(out))
    return printed, problems


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def run(*, concurrent: int = CONCURRENT, rounds: int = ROUNDS) -> Result:
    result = Result("concurrent manual runs")
    started = time.monotonic()
    work = workdir("manual-runs")
    state_dir = work / "state"
    env = environment(state_dir)
    applied = sbsched("apply", "-f", str(_manifest(work / "m.yaml")), env=env)
    if applied.returncode != 0:
        result.fail(f"apply: exit {applied.returncode}: {applied.stderr.strip()[:300]}")
        return result
    counts = Counter({k: 0 for k in ("duplicate ids", "lost records", "overwritten bundles", "wrongly pruned",
                                     "kept beyond keepLast")})
    every: list[dict[str, Any]] = []
    seen: set[str] = set()
    bundles_dir = state_dir / "bundles" / "burst"
    for round_no in range(rounds):
        printed, problems = _round(env, concurrent)
        result.trials += concurrent
        for problem in problems:
            result.fail(f"round {round_no}: a run failed: {problem}")
        on_disk = {r.get("id"): r for r in records(state_dir)}
        names = Counter(r["bundle"]["path"] for r in printed)
        for record in printed:
            run_id, bundle = record["id"], Path(record["bundle"]["path"])
            if run_id in seen:
                counts["duplicate ids"] += 1
                result.fail(f"round {round_no}: {run_id} was given twice")
            seen.add(run_id)
            stored = on_disk.get(run_id)
            if stored is None or stored.get("startTime") != record["startTime"]:
                kind = "lost records" if stored is not None or bundle.exists() else "wrongly pruned"
                counts[kind] += 1
                result.fail(f"round {round_no}: {run_id}: {kind} (record {'of another run' if stored else 'gone'})")
            if names[str(bundle)] > 1 or (bundle.exists() and _sha256(bundle) != record["bundle"]["sha256"]):
                counts["overwritten bundles"] += 1
                result.fail(f"round {round_no}: {bundle.name} of {run_id} was written by another run too")
            elif not bundle.exists():
                counts["wrongly pruned"] += 1
                result.fail(f"round {round_no}: {bundle.name} of {run_id} was removed")
        every += printed
        cleanup = sbsched("cleanup", "burst", env=env)
        if cleanup.returncode != 0:
            result.fail(f"round {round_no}: cleanup: exit {cleanup.returncode}: {cleanup.stderr.strip()[:300]}")
        newest = sorted(every, key=lambda r: r["startTime"], reverse=True)[:KEEP_LAST]
        want_ids, want_bundles = {r["id"] for r in newest}, {Path(r["bundle"]["path"]).name for r in newest}
        have_ids = {r.get("id") for r in records(state_dir)}
        have_bundles = {p.name for p in bundles_dir.glob("*.tar.gz")}
        if want_ids - have_ids or want_bundles - have_bundles:
            counts["wrongly pruned"] += len(want_ids - have_ids)
            result.fail(f"round {round_no}: after cleanup, missing newest runs {sorted(want_ids - have_ids)} / "
                        f"bundles {sorted(want_bundles - have_bundles)}")
        if have_ids - want_ids or have_bundles - want_bundles:
            counts["kept beyond keepLast"] += len(have_ids - want_ids)
            result.fail(f"round {round_no}: after cleanup, older runs kept {sorted(have_ids - want_ids)} / "
                        f"bundles {sorted(have_bundles - want_bundles)}")
        active = read_json(state_dir / "state.json")["schedules"]["burst"]["status"]["active"]
        if active:
            result.fail(f"round {round_no}: still active after the round: {active}")
        left = leftovers(state_dir)
        if any(left.values()):
            result.fail(f"round {round_no}: left behind: {left}")
    seconds_apart = Counter(Path(r["bundle"]["path"]).name[len("support-bundle-"):][:19] for r in every)
    shared = sum(n for n in seconds_apart.values() if n > 1)
    result.details = {"concurrent": concurrent, "rounds": rounds, "runs": len(every), "keepLast": KEEP_LAST,
                      "runs sharing their start second": shared, **counts}
    result.notes.append(f"{len(every)} runs, {len(seen)} ids, {shared} started in a second shared with another; "
                        + ", ".join(f"{n} {k}" for k, n in counts.items()))
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    import sys

    print(json.dumps(run(rounds=int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS).to_json(), indent=2))
