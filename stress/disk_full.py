"""A full disk while a bundle is written and while state.json is written.

The state dir lives on a small tmpfs (`mount -t tmpfs -o size=24m`, when this process may mount: root),
filled with a preallocated filler file to leave exactly the free space a trial wants. Where mounting is
not allowed, the same trials run with RLIMIT_FSIZE set in each child instead (a write past the limit
fails with EFBIG, "File too large"): the per-file limit sits between the collector files and the archive,
and below state.json. The scenario reports which one it used.

Every trial checks: the command exits 1 (the run failed) or 2 (an error) with one line on stderr and no
traceback; the run's record is `failed` with a reason and a message (or, when not one page was free to
rewrite it, is recovered as failed/interrupted by the next `reconcile --once`); state.json parses with
the applied specs (byte for byte the old file when its write failed); no staging dir, no temp file and
no archive that no completed record names is left. The daemon trials also check that its status
writes resume once the disk has room (state `active` empty, `lastResult` failed) after a SIGTERM drain.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from .common import (SBSCHED, Result, environment, iter_json_lines, one_line_error, read_json, records,
                     wait_until, workdir)

TMPFS_BYTES = 24 * 2**20
PAGE = 4096
NOISE_FILES = 8
NOISE_BYTES = 300_000            # random bytes per noise collector, base64'd: ~400 KB of incompressible text
UTC = timezone.utc
FAR_CRON = "0 3 29 2 *"          # next due in a leap year: `reconcile --once` never finds it due


def _manifest(path: Path, extra_schedules: int = 0) -> Path:
    noise = "".join(f"""
              - run: {{collectorName: noise-{i}, command: sh, args: ["-c", "head -c {NOISE_BYTES} /dev/urandom | base64"], timeout: 30s}}"""
                    for i in range(NOISE_FILES))
    extra = "".join(f"  - {{name: pad-{i:03d}, cron: \"{FAR_CRON}\", labels: {{team: padding, n: n{i}}}}}\n"
                    for i in range(extra_schedules))
    path.write_text(textwrap.dedent(f"""\
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: disk}}
        defaults:
          collect: {{cluster: false}}
          policy: {{retries: 0, timeoutSeconds: 120, concurrency: Allow}}
        schedules:
          - name: big
            cron: "{FAR_CRON}"
            collect:
              hostCollectors:{noise}
          - name: tick
            cron: "* * * * *"
            policy: {{startingDeadlineSeconds: 5}}
            collect:
              hostCollectors:{noise}
        """) + extra)
    return path


class Disk:
    """Where the state dir lives, and how a trial makes it full."""

    def __init__(self, work: Path) -> None:
        self.mount = work / "mnt"
        self.mount.mkdir()
        self.kind = "tmpfs"
        self.limit: int | None = None
        forced = os.environ.get("STRESS_DISK")
        mounted = forced != "rlimit" and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0700", "tmpfs", str(self.mount)],
            capture_output=True).returncode == 0
        if not mounted:
            self.kind = "RLIMIT_FSIZE"
        self.filler = self.mount / "filler"

    def close(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", "-l", str(self.mount)], capture_output=True)

    def available(self) -> int:
        st = os.statvfs(self.mount)
        return st.f_bavail * st.f_frsize

    def leave(self, free_bytes: int, *, limit: int | None = None) -> None:
        """tmpfs: fill until `free_bytes` remain. RLIMIT_FSIZE: children may write files up to `limit`."""
        self.release()
        if self.kind == "tmpfs":
            size = self.available() - free_bytes
            if size > 0:
                fd = os.open(self.filler, os.O_CREAT | os.O_WRONLY, 0o600)
                try:
                    os.posix_fallocate(fd, 0, size)
                finally:
                    os.close(fd)
        else:
            self.limit = limit if limit is not None else max(free_bytes, PAGE)

    def release(self) -> None:
        self.filler.unlink(missing_ok=True)
        self.limit = None

    def preexec(self) -> Callable[[], None] | None:
        if self.kind == "tmpfs" or self.limit is None:
            return None
        limit = self.limit

        def limited() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        return limited


class Scenario:
    def __init__(self, result: Result, work: Path, disk: Disk) -> None:
        self.result, self.work, self.disk = result, work, disk
        self.state_dir = disk.mount / "state"
        self.env = environment(self.state_dir)
        self.applied: dict[str, Any] = {}

    def sbsched(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SBSCHED, *args], env=env or self.env, capture_output=True, text=True, timeout=120,
                              preexec_fn=self.disk.preexec())

    def specs(self) -> dict[str, Any] | None:
        try:
            return {n: r["spec"] for n, r in read_json(self.state_dir / "state.json")["schedules"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def check_leftovers(self, label: str) -> None:
        named = {r["bundle"]["path"] for r in records(self.state_dir) if r.get("bundle")}
        archives = {str(p) for p in self.state_dir.glob("bundles/*/*.tar.gz")}
        stray = sorted(archives - named)
        temps = [str(p.relative_to(self.state_dir)) for p in self.state_dir.rglob(".*.tmp")]
        staging = [str(p.relative_to(self.state_dir)) for p in self.state_dir.glob("bundles/*/.staging-*")]
        for what, found in (("archives no record names", stray), ("temp files", temps), ("staging dirs", staging)):
            if found:
                self.result.fail(f"{label}: {what} left: {found[:2]}")

    def check_state(self, label: str, before: bytes | None = None, *, write_failed: bool = False) -> None:
        if self.specs() != self.applied:
            self.result.fail(f"{label}: state.json does not parse or its specs changed")
        elif write_failed and before is not None and (self.state_dir / "state.json").read_bytes() != before:
            self.result.fail(f"{label}: state.json changed although its write failed")

    def new_records(self, seen: set[str]) -> list[dict[str, Any]]:
        return [r for r in records(self.state_dir) if r.get("id") not in seen]


def _run_trial(s: Scenario, label: str, free: int, *, limit: int | None = None) -> str:
    """One `sbsched run big` with `free` bytes left; returns how it ended."""
    seen = {r.get("id") for r in records(s.state_dir)}
    s.disk.leave(free, limit=limit)
    proc = s.sbsched("run", "big", "-o", "json")
    s.disk.release()
    s.result.trials += 1
    problem = one_line_error(proc.stderr) if proc.returncode == 2 else None
    if proc.returncode not in (1, 2) or problem or "internal error" in proc.stderr:
        s.result.fail(f"{label}: exit {proc.returncode}, {problem or 'stderr'}: {proc.stderr.strip()[:200]}")
    fresh = s.new_records(seen)
    outcome = "no record"
    for record in fresh:
        if record.get("status") == "running":
            outcome = "record left running"
        elif record.get("status") != "failed" or not record.get("reason") or not (record.get("error") or {}).get("message"):
            s.result.fail(f"{label}: record {record.get('id')} is {record.get('status')} without reason/message")
        else:
            outcome = f"failed ({record['reason']}): {record['error']['message'][:60]}"
    s.check_state(label)   # a run writes status twice: the first may land, the second fail
    s.check_leftovers(label)
    return outcome


def _recover(s: Scenario, label: str) -> None:
    """With room again, `reconcile --once` marks what a failed write left `running` as failed/interrupted."""
    proc = s.sbsched("reconcile", "--once")
    if proc.returncode != 0:
        s.result.fail(f"{label}: reconcile --once after the disk was freed: exit {proc.returncode}: "
                      f"{proc.stderr.strip()[:200]}")
    running = [r["id"] for r in records(s.state_dir) if r.get("status") == "running"]
    if running:
        s.result.fail(f"{label}: still running after recovery: {running}")
    active = {n: r["status"]["active"] for n, r in read_json(s.state_dir / "state.json")["schedules"].items()
              if r["status"].get("active")}
    if active:
        s.result.fail(f"{label}: still listed as active after recovery: {active}")


def _apply_trials(s: Scenario, pages: range) -> list[str]:
    outcomes = []
    grown = _manifest(s.work / "grown.yaml", extra_schedules=250)
    for k in pages:
        label = f"apply, {k} page(s) free"
        before = (s.state_dir / "state.json").read_bytes()
        s.disk.leave(k * PAGE, limit=32 * 1024)
        proc = s.sbsched("apply", "-f", str(grown))
        s.disk.release()
        s.result.trials += 1
        if proc.returncode == 0:
            outcomes.append(f"{k}: applied")
            s.sbsched("apply", "-f", str(s.work / "schedules.yaml"))   # back to the plan the checks expect
            continue
        problem = one_line_error(proc.stderr)
        if proc.returncode != 2 or problem or "internal error" in proc.stderr:
            s.result.fail(f"{label}: exit {proc.returncode}, {problem}: {proc.stderr.strip()[:200]}")
        s.check_state(label, before, write_failed=True)
        s.check_leftovers(label)
        outcomes.append(f"{k}: exit 2, {proc.stderr.strip().splitlines()[-1][:60]}")
    return outcomes


def _daemon_trial(s: Scenario, label: str, free: int, *, limit: int | None = None) -> str:
    """A daemon whose slot comes while the disk is full; then the disk is freed and it is drained."""
    slot = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)
    last = read_json(s.state_dir / "state.json")["schedules"]["tick"]["status"].get("lastScheduleTime")
    if last:
        slot = max(slot, datetime.fromisoformat(last) + timedelta(minutes=1))
    offset = (slot - timedelta(seconds=1.5)).timestamp() - time.time()
    env = environment(s.state_dir, SBSCHED_CLOCK_OFFSET_SECONDS=f"{offset:.6f}")
    log = s.work / f"daemon-{label.replace(' ', '-')}.log"
    rid = f"tick-{slot:%Y%m%dT%H%MZ}"
    s.disk.leave(free, limit=limit)
    with open(log, "wb") as out:
        proc = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground", "--log-format", "json"], env=env,
                                stdout=out, stderr=out, preexec_fn=s.disk.preexec())
    s.result.trials += 1
    try:
        def ended() -> bool:
            if any(r.get("id") == rid and r.get("status") != "running" for r in records(s.state_dir)):
                return True
            return any(e.get("execution_id") == rid and e.get("level") == "error" for e in iter_json_lines(log))
        settled = wait_until(lambda: ended() or proc.poll() is not None, timeout=30)
        s.disk.release()
        if proc.poll() is not None:
            s.result.fail(f"{label}: the daemon exited ({proc.returncode}): {log.read_text()[-300:]}")
            return "daemon died"
        if not settled:
            s.result.fail(f"{label}: the slot's run did not end within 30 s")
        proc.terminate()   # the drain writes what the full disk held back
        proc.wait(timeout=60)
    finally:
        s.disk.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    record = next((r for r in records(s.state_dir) if r.get("id") == rid), None)
    status = read_json(s.state_dir / "state.json")["schedules"]["tick"]["status"]
    errors = [e["message"] for e in iter_json_lines(log) if e.get("level") == "error"]
    if status.get("active"):
        s.result.fail(f"{label}: after the drain, 'active' still lists {status['active']} (status writes lost)")
    s.check_state(label)
    s.check_leftovers(label)
    if record is None or record.get("status") == "running":
        # Not one page for the record itself: the daemon logged it; the next start settles it.
        outcome = "no record (not one page free for it)" if record is None else "record left running"
        _recover(s, label)
        return f"{outcome}; {len(errors)} logged error(s)"
    if record.get("status") != "failed" or not record.get("reason"):
        s.result.fail(f"{label}: the slot's record is {record.get('status')}, want failed with a reason")
    if status.get("lastScheduleTime") != slot.isoformat() or status.get("lastResult") != "failed":
        s.result.fail(f"{label}: status not written after the disk had room: lastScheduleTime "
                      f"{status.get('lastScheduleTime')}, lastResult {status.get('lastResult')}")
    return f"failed ({record.get('reason')}); {len(errors)} logged error(s)"


def run() -> Result:
    result = Result("disk full")
    started = time.monotonic()
    work = workdir("disk")
    disk = Disk(work)
    try:
        s = Scenario(result, work, disk)
        manifest = _manifest(work / "schedules.yaml")
        applied = s.sbsched("apply", "-f", str(manifest))
        if applied.returncode != 0:
            result.fail(f"setup apply: exit {applied.returncode}: {applied.stderr.strip()[:200]}")
            return result
        s.applied = s.specs() or {}
        baseline = s.sbsched("run", "big", "-o", "json")
        if baseline.returncode != 0:
            result.fail(f"baseline run: exit {baseline.returncode}: {baseline.stderr.strip()[:300]}")
            return result
        archive = json.loads(baseline.stdout)["bundle"]["sizeBytes"]
        staging = NOISE_FILES * (NOISE_BYTES * 4 // 3 + NOISE_BYTES // 76 + 1) + 64 * 1024
        outcomes: dict[str, Any] = {"filesystem": disk.kind, "archive bytes": archive}
        if disk.kind == "tmpfs":
            sweep = [("collector output", int(staging * f)) for f in (0.2, 0.6, 0.9)]
            sweep += [("bundle archive", staging + int(archive * f)) for f in (0.05, 0.3, 0.6, 0.9)]
            outcomes["run"] = {f"{what}, {free // 1024} KiB free": _run_trial(s, f"run, {what}, {free} B free", free)
                               for what, free in sweep}
            outcomes["run, state write"] = {
                f"{k} page(s) free": _run_trial(s, f"run, state write, {k} page(s) free", k * PAGE) for k in range(5)}
            _recover(s, "run, state write")
            outcomes["apply, state write"] = _apply_trials(s, range(4))
            outcomes["daemon"] = {"bundle archive full": _daemon_trial(s, "daemon bundle", staging + archive // 3)}
            outcomes["daemon"].update({f"state write, {k} page(s) free": _daemon_trial(s, f"daemon state {k}", k * PAGE)
                                       for k in (1, 2, 3, 5)})
        else:
            limit = archive // 2   # above each collector file, below the archive and state.json
            outcomes["run"] = {"bundle archive": _run_trial(s, "run, archive over the file size limit", 0, limit=limit)}
            outcomes["apply, state write"] = _apply_trials(s, range(1))
            outcomes["daemon"] = {"bundle archive": _daemon_trial(s, "daemon archive", 0, limit=limit)}
        _recover(s, "the end")
        result.details = outcomes
        result.notes.append(f"on {disk.kind}" + (f" ({TMPFS_BYTES // 2**20} MiB)" if disk.kind == "tmpfs" else ""))
        stranded = [v for group in outcomes.values() if isinstance(group, dict) for v in group.values()
                    if isinstance(v, str) and v.startswith("record left running")]
        if stranded:
            result.notes.append(f"{len(stranded)} run(s) with no page free to rewrite their record were left "
                                "`running` until the next reconcile/daemon start marked them interrupted")
    finally:
        disk.close()
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    print(json.dumps(run().to_json(), indent=2))
