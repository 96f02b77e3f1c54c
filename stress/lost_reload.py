"""200 applies alternating two manifests while 60 schedules' runs write status about every second.

A real daemon serves /metrics on loopback. Both manifests have 60 schedules firing every minute, spread
over the minute by jitter, so their runs end, and the daemon writes their status, about once a second.
Manifest A adds ten more (deleted by B) and ten that fire every minute (moved by B to a yearly cron).
Every other pair of applies is made without the signal that `apply` sends the daemon (as when the daemon
runs as another user, or the state is on storage shared with another host): the daemon must then find
the change on its own at its next wake, which a status write is likely to precede. After each apply (the quiet point),
the daemon's plan as /metrics shows it must equal the applied manifest within QUIET_S: exactly the
applied schedules have a next-run series, and the moved ones run next within a minute under A and in
more than a day under B. A miss is an apply the daemon did not plan from: before the fix, a status
write landing after the apply carried the daemon's "my own write" stamp and hid the apply.
"""
from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from .common import Result, environment, sbsched, wait_until, workdir

APPLIES = 200


def _one_per_second() -> list[str]:
    """60 names whose jitter (59 s at most) starts one of them in each second of the minute: the daemon
    then wakes every second, so an unsignalled change is due to be found within a second or two."""
    from reconciler.timing.decisions import jitter

    names: dict[int, str] = {}
    n = 0
    while len(names) < 60:
        name = f"s{n:03d}"
        names.setdefault(int(jitter(name, 59).total_seconds()), name)
        n += 1
    return [names[second] for second in range(60)]


STABLE = _one_per_second()                   # every minute in both manifests
MOVED = [f"m{i}" for i in range(10)]         # cron "* * * * *" under A, "0 0 1 1 *" under B
DELETED = [f"d{i}" for i in range(10)]       # absent under B
QUIET_S = 5.0
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _manifest(path: Path, variant: str) -> Path:
    rows = [f"  - {{name: {name}, cron: \"* * * * *\"}}\n" for name in STABLE]
    rows += [f"  - {{name: {name}, cron: \"{'0 0 1 1 *' if variant == 'B' else '* * * * *'}\"}}\n" for name in MOVED]
    rows += [f"  - {{name: {name}, cron: \"* * * * *\"}}\n" for name in DELETED if variant == "A"]
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: reload}\n"
                    "defaults:\n  collect: {cluster: false, hostCollectors: [{cpu: {}}]}\n"
                    "  policy: {jitterSeconds: 59, retries: 0}\n  retention: {keepLast: 1}\n"
                    "schedules:\n" + "".join(rows))
    return path


def _plan(address: str) -> tuple[set[str], dict[str, float]]:
    """(schedules with a next-run series, their next-run times) as the daemon serves them."""
    with NO_PROXY.open(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    times = {}
    for line in text.splitlines():
        if line.startswith("troubleshoot_scheduler_next_run_timestamp_seconds{"):
            name = line.split('schedule="', 1)[1].split('"', 1)[0]
            times[name] = float(line.rsplit(" ", 1)[1])
    return set(times), times


def _matches(address: str, variant: str) -> bool:
    names, times = _plan(address)
    expected = set(STABLE + MOVED + (DELETED if variant == "A" else []))
    if names != expected:
        return False
    horizon = time.time() + (86_400 if variant == "B" else 120)
    moved = [times[name] for name in MOVED]
    return all(t > horizon for t in moved) if variant == "B" else all(t < horizon for t in moved)


def run(*, applies: int = APPLIES) -> Result:
    result = Result("lost reload")
    work = workdir("reload")
    state_dir = work / "state"
    env = environment(state_dir)
    manifests = {v: _manifest(work / f"{v}.yaml", v) for v in "AB"}
    first = sbsched("apply", "-f", str(manifests["A"]), env=env)
    if first.returncode != 0:
        result.fail(f"the first apply: exit {first.returncode}: {first.stderr.strip()[:200]}")
        return result
    started = sbsched("daemon", "start", "--metrics-addr", "127.0.0.1:0", "--max-concurrent", "8", env=env)
    if started.returncode != 0:
        result.fail(f"daemon start: exit {started.returncode}: {started.stderr.strip()[:200]}")
        return result
    address = json.loads((state_dir / "daemon.pid").read_text())["metrics"]
    quiet: list[float] = []
    try:
        # Schedules created now start at the next minute; from the first run on, the daemon wakes every second.
        if not wait_until(lambda: _runs_ended(address) > 0, timeout=75, interval=0.2):
            result.fail("no run ended within 75 s of the daemon's start")
            return result
        runs_before = _runs_ended(address)
        for n in range(applies):
            variant = "B" if n % 2 == 0 else "A"
            result.trials += 1
            if n % 4 < 2:
                applied = sbsched("apply", "-f", str(manifests[variant]), env=env)
                if applied.returncode != 0:
                    result.fail(f"apply {n}: exit {applied.returncode}: {applied.stderr.strip()[:200]}")
                    continue
            else:
                _apply_unsignalled(state_dir, manifests[variant])
            begun = time.monotonic()
            if not wait_until(lambda: _matches(address, variant), timeout=QUIET_S, interval=0.05):
                result.fail(f"apply {n} (manifest {variant}): the daemon's plan still differs after {QUIET_S:g} s")
            quiet.append(time.monotonic() - begun)
        runs_ended = _runs_ended(address) - runs_before
    finally:
        sbsched("daemon", "stop", env=env)
    quiet.sort()
    result.details.update({"applies": applies, "schedules writing status": len(STABLE), "runs ended meanwhile": runs_ended,
                           "plan caught up p50 ms": round(quiet[len(quiet) // 2] * 1000),
                           "plan caught up max ms": round(quiet[-1] * 1000)})
    result.notes.append(f"{applies} applies, {runs_ended} runs ended (each a status write) in between, "
                        f"plan caught up in p50 {result.details['plan caught up p50 ms']} ms, "
                        f"max {result.details['plan caught up max ms']} ms")
    return result


def _apply_unsignalled(state_dir: Path, manifest: Path) -> None:
    """`sbsched apply` in this process, its signal to the daemon lost."""
    from datetime import datetime, timezone
    from unittest import mock

    from reconciler.manifest.load import load_manifest
    from reconciler.plan.apply import apply
    from reconciler.store import pidfile
    from reconciler.store.state import StateStore

    loaded = load_manifest(str(manifest))
    assert loaded.manifest is not None, loaded.diagnostics
    with mock.patch.object(pidfile, "signal_daemon", lambda root, sig: None):
        apply(StateStore(state_dir), loaded.manifest, now=datetime.now(timezone.utc), command="stress: apply, unsignalled")


def _runs_ended(address: str) -> int:
    """Runs the daemon finished so far (troubleshoot_scheduler_executions_total, all labels)."""
    with NO_PROXY.open(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("troubleshoot_scheduler_executions_total{")))
