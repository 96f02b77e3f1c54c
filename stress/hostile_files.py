"""Hostile file systems (issue 17, "Files: only what sbsched created"): the real `sbsched` pointed at
files it did not create, every attack counted, every escape a failure.

An escape is any change outside what sbsched made (a mode, a byte, a file gone or added, measured by
walking the tree without following links), a command that does not refuse with exit 2 and one line
where it must, a traceback, or a loose mode left by a run. The attacks:
- foreign: a home-like tree (dotfiles, executables, its own `logs/`) as --state-dir or
  TROUBLESHOOT_SCHEDULER_DIR, for every kind of command; an empty sticky directory (/tmp) too;
- output: `run --output-dir` into an existing sticky 1777 directory and a 0755 one;
- links: each name of the state layout replaced by a symbolic link (to a directory holding an old
  bundle that retention would remove, or to a 0644 file), for run, cleanup, suspend and list;
- strays: someone's loose files beside and inside the layout, then every command that writes;
- umask 0: a run under umask 0 held mid-collection (a `cat FIFO` collector) while read-only commands
  run beside it: none may warn, staging must be private, and the archive's entries 0700/0600;
- daemon: links planted while a daemon serves (bundles/<schedule>, logs/audit.log), then a slot and a
  SIGTERM: its run and its stop line must not write through them.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tarfile
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .common import SBSCHED, Result, environment, one_line_error, records, sbsched, wait_until, workdir

OLD_BUNDLE = "support-bundle-2020-01-01T00_00_00.tar.gz"   # past every maxAgeDays: retention's first pick
LINKED = ("bundles", "bundles/alpha", "executions", "executions/{month}", "logs", "logs/audit.log",
          "logs/daemon.log", "state.json", "state.json.backup", "state.lock", "daemon.pid")
FOREIGN_COMMANDS = (("list",), ("status", "alpha"), ("history",), ("next", "alpha"), ("diff", "-f", "{m}"),
                    ("apply", "-f", "{m}"), ("run", "alpha"), ("cleanup",), ("suspend", "alpha"),
                    ("daemon", "status"), ("reconcile", "--once"))
LINK_COMMANDS = (("run", "alpha"), ("cleanup",), ("suspend", "alpha"), ("list",))
WRITERS = (("suspend", "alpha"), ("resume", "alpha"), ("run", "alpha"), ("cleanup",), ("apply", "-f", "{m}"))
READERS = (("list",), ("status", "alpha"), ("history",), ("daemon", "status"), ("diff", "-f", "{m}"))


def tree(root: Path) -> dict[str, str]:
    """path -> 'type mode digest' for root and all below it, links not followed."""
    found: dict[str, str] = {}
    paths = [root] + [Path(d) / n for d, dirs, files in os.walk(root) for n in dirs + files]
    for path in paths:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            what = "link " + os.readlink(path)
        elif stat.S_ISDIR(info.st_mode):
            what = "dir"
        else:
            what = "file " + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        found[str(path.relative_to(root))] = f"{what} {stat.S_IMODE(info.st_mode):04o}"
    return found


def _manifest(path: Path, gate: Path | None = None, cron: str = "@daily") -> Path:
    wait = f", {{run: {{collectorName: wait, command: cat, args: [{gate}]}}}}" if gate else ""
    path.write_text(textwrap.dedent(f"""\
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: files}}
        schedules:
          - name: alpha
            cron: "{cron}"
            policy: {{retries: 0, timeoutSeconds: 120}}
            collect: {{cluster: false, hostCollectors: [{{hostOS: {{}}}}, {{cpu: {{}}}}{wait}]}}
        """))
    return path


class Attacks:
    def __init__(self, result: Result, work: Path) -> None:
        self.result, self.work = result, work
        self.counts: dict[str, int] = {}

    def tried(self, group: str, what: str, problem: str | None) -> None:
        self.result.trials += 1
        self.counts[group] = self.counts.get(group, 0) + 1
        if problem:
            self.result.fail(f"{group}: {what}: {problem}")

    def state(self, name: str, **manifest: object) -> tuple[Path, dict[str, str], Path]:
        """A state dir with schedule alpha applied: (state dir, environment, manifest)."""
        base = self.work / name
        base.mkdir()
        env = environment(base / "state")
        path = _manifest(base / "schedules.yaml", **manifest)  # type: ignore[arg-type]
        applied = sbsched("apply", "-f", str(path), env=env)
        if applied.returncode != 0:
            raise RuntimeError(f"apply failed: {applied.stderr}")
        return base / "state", env, path


def _refused(proc: subprocess.CompletedProcess[str], expect: str) -> str | None:
    if proc.returncode != 2:
        return f"exit {proc.returncode}, want 2: {(proc.stderr or proc.stdout).strip()[:200]}"
    return one_line_error(proc.stderr) or (None if expect in proc.stderr else f"no {expect!r}: {proc.stderr.strip()}")


def _changed(before: dict[str, str], after: dict[str, str]) -> str | None:
    diff = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return None if not diff else f"changed: {', '.join(f'{k}: {before.get(k)} -> {after.get(k)}' for k in diff[:4])}"


def foreign(attacks: Attacks) -> None:
    home = attacks.work / "home-like"
    for name, mode, text in ((".bashrc", 0o644, "alias ll='ls -l'\n"), ("bin/tool", 0o755, "#!/bin/sh\n"),
                             ("logs/app.log", 0o644, "started\n"), ("Documents/notes.txt", 0o664, "mine\n")):
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
        (home / name).chmod(mode)
    for directory in (home, home / "bin", home / "logs", home / "Documents"):
        directory.chmod(0o755)
    manifest = _manifest(attacks.work / "foreign.yaml")
    env = environment(attacks.work / "unused-state")
    before = tree(home)
    for how in ("--state-dir", "TROUBLESHOOT_SCHEDULER_DIR"):
        for command in FOREIGN_COMMANDS:
            args = [a.format(m=manifest) for a in command]
            proc = (sbsched("--state-dir", str(home), *args, env=env) if how == "--state-dir"
                    else sbsched(*args, env={**env, "TROUBLESHOOT_SCHEDULER_DIR": str(home)}))
            attacks.tried("foreign", f"{how} {' '.join(command)}",
                          _refused(proc, "not an sbsched state dir") or _changed(before, tree(home)))
    shared = attacks.work / "sticky"
    shared.mkdir()
    shared.chmod(0o1777)
    for command in (("apply", "-f", str(manifest)), ("list",)):
        proc = sbsched("--state-dir", str(shared), *command, env=env)
        attacks.tried("foreign", f"empty sticky dir, {command[0]}",
                      _refused(proc, "shared directory") or _changed({".": "dir 1777"}, tree(shared)))


def output(attacks: Attacks) -> None:
    _, env, _ = attacks.state("output")
    for mode in (0o1777, 0o755):
        directory = attacks.work / f"out-{mode:o}"
        directory.mkdir()
        directory.chmod(mode)
        proc = sbsched("run", "alpha", "--output-dir", str(directory), env=env)
        bundles = list(directory.glob("support-bundle-*.tar.gz"))
        problem = (f"exit {proc.returncode}: {proc.stderr.strip()[:200]}" if proc.returncode != 0
                   else f"mode {stat.S_IMODE(directory.stat().st_mode):04o}, want {mode:04o}"
                   if stat.S_IMODE(directory.stat().st_mode) != mode
                   else f"{len(bundles)} bundles" if len(bundles) != 1
                   else f"bundle is {stat.S_IMODE(bundles[0].stat().st_mode):04o}"
                   if stat.S_IMODE(bundles[0].stat().st_mode) != 0o600 else None)
        attacks.tried("output", f"--output-dir {mode:04o}", problem)


def _targets(base: Path) -> dict[bool, Path]:
    """What a planted link points at, by whether it replaces a directory: a 0755 directory holding an old
    bundle (retention's first pick), or a 0644 file (where an audit line would land)."""
    folder, file = base / "outside-dir", base / "outside-file"
    folder.mkdir()
    (folder / OLD_BUNDLE).write_bytes(b"someone else's archive")
    file.write_text("someone else's file\n")
    folder.chmod(0o755)
    file.chmod(0o644)
    return {True: folder, False: file}


def links(attacks: Attacks) -> None:
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    for n, pattern in enumerate(LINKED):
        entry = pattern.format(month=month)
        state_dir, env, _ = attacks.state(f"link-{n}")
        ran = sbsched("run", "alpha", env=env)   # executions/<month>, bundles/alpha, logs/ exist now
        if ran.returncode != 0:
            attacks.tried("links", f"{entry}: setting up", f"run exited {ran.returncode}: {ran.stderr.strip()}")
            continue
        for name in ("logs/audit.log", "logs/daemon.log", "daemon.pid"):
            (state_dir / name).parent.mkdir(mode=0o700, exist_ok=True)
            (state_dir / name).touch(mode=0o600)
        link = state_dir / entry
        kept = state_dir.parent / "moved-aside"
        link.rename(kept)
        target = _targets(state_dir.parent)[kept.is_dir()]
        link.symlink_to(target)
        before = tree(target)
        for command in LINK_COMMANDS:
            proc = sbsched(*command, env=env)
            problem = _refused(proc, f"{entry} is a symbolic link") or _changed(before, tree(target))
            if not problem and not link.is_symlink():
                problem = "the link was replaced"
            attacks.tried("links", f"{entry}, {command[0]}", problem)


def strays(attacks: Attacks) -> None:
    state_dir, env, manifest = attacks.state("strays")
    sbsched("run", "alpha", env=env)
    stray_paths = ("notes.txt", "tools/sync.sh", "bundles/alpha/README", "executions/archive/old.txt",
                   "logs/other.log", "bundles/.hidden/x")
    for command in WRITERS:
        for name in stray_paths:
            path = state_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("not sbsched's\n")
            path.chmod(0o644)
        for directory in ("tools", "executions/archive", "bundles/.hidden"):
            (state_dir / directory).chmod(0o755)
        (state_dir / "state.json").chmod(0o644)
        (state_dir / "bundles" / "alpha").chmod(0o755)
        before = {k: v for k, v in tree(state_dir).items() if k in stray_paths or k.split("/")[0] == "tools"
                  or k.startswith(("executions/archive", "bundles/.hidden"))}
        proc = sbsched(*[a.format(m=manifest) for a in command], env=env)
        after = tree(state_dir)
        problem = (f"exit {proc.returncode}: {proc.stderr.strip()[:200]}" if proc.returncode != 0
                   else _changed(before, {k: after.get(k, "gone") for k in before})
                   or ("state.json not fixed" if not after["state.json"].endswith("0600") else None)
                   or ("bundles/alpha not fixed" if not after["bundles/alpha"].endswith("0700") else None))
        attacks.tried("strays", " ".join(command[:1]), problem)


def _release(gate: Path, run: subprocess.Popen[str]) -> None:
    def written() -> bool:
        try:
            fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:   # no reader yet
            return run.poll() is not None
        os.write(fd, b"go\n")
        os.close(fd)
        return True
    wait_until(written, timeout=60)


def _loose(root: Path) -> list[str]:
    return [f"{k} {v}" for k, v in tree(root).items()
            if not v.startswith("link") and not v.endswith("0700" if v.startswith("dir") else "0600")]


def umask_zero(attacks: Attacks) -> None:
    gate = attacks.work / "gate"
    os.mkfifo(gate)
    state_dir, env, manifest = attacks.state("umask", gate=gate)
    run = subprocess.Popen([SBSCHED, "run", "alpha"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, umask=0)
    bundles = state_dir / "bundles" / "alpha"
    try:
        if not wait_until(lambda: run.poll() is not None or bool(list(bundles.glob(".staging-*/*/host-collectors/*/*"))),
                          timeout=60) or run.poll() is not None:
            attacks.tried("umask 0", "the run held mid-collection", f"the run ended early: {run.communicate()}")
            return
        for command in READERS:
            proc = sbsched(*[a.format(m=manifest) for a in command], env=env)
            staging = next(iter(bundles.glob(".staging-*")), None)
            problem = (f"exit {proc.returncode}" if proc.returncode not in (0, 3)   # daemon status: 3, not running
                       else f"warned: {proc.stderr.strip()[:200]}" if "warning" in proc.stderr
                       else f"loose in staging: {_loose(staging)[:3]}" if staging and _loose(staging) else None)
            attacks.tried("umask 0", f"{command[0]} beside the run", problem)
    finally:
        _release(gate, run)
        run.communicate(timeout=120)
    archive = next(iter(bundles.glob("*.tar.gz")), None)
    if run.returncode != 0 or archive is None:
        attacks.tried("umask 0", "the archive", f"run exited {run.returncode}, archive {archive}")
        return
    with tarfile.open(archive) as tar:
        wrong = [f"{m.name} {m.mode:04o}" for m in tar.getmembers()
                 if not m.issym() and m.mode != (0o700 if m.isdir() else 0o600)]
    attacks.tried("umask 0", "the archive's entries", f"loose entries: {wrong[:3]}" if wrong else None)
    attacks.tried("umask 0", "the state dir after the run", f"loose: {_loose(state_dir)[:3]}" if _loose(state_dir)
                  else None)


def daemon(attacks: Attacks) -> None:
    state_dir, env, _ = attacks.state("daemon", cron="* * * * *")
    slot = (datetime.now(timezone.utc) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    offset = (slot - timedelta(seconds=4)).timestamp() - time.time()
    log = state_dir.parent / "daemon.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], stdout=handle, stderr=handle,
                                env={**env, "SBSCHED_CLOCK_OFFSET_SECONDS": f"{offset:.6f}"})
    try:
        if not wait_until(lambda: proc.poll() is not None or "serving" in log.read_text(errors="replace"), 30):
            attacks.tried("daemon", "start", f"no 'serving' line: {log.read_text(errors='replace')[-300:]}")
            return
        planted: list[tuple[str, Path, dict[str, str]]] = []
        for entry, directory in (("bundles/alpha", True), ("logs/audit.log", False)):
            path = state_dir / entry
            path.parent.mkdir(mode=0o700, exist_ok=True)
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            base = state_dir.parent / f"target-{entry.replace('/', '-')}"
            base.mkdir()
            target = _targets(base)[directory]
            path.symlink_to(target)
            planted.append((entry, target, tree(target)))
        run_id = f"alpha-{slot:%Y%m%dT%H%M}Z"

        def finished() -> bool:
            return any(r.get("id") == run_id and r.get("status") not in ("running", "pending")
                       for r in records(state_dir))

        ran = wait_until(finished, timeout=90)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        record = next((r for r in records(state_dir) if r.get("id") == run_id), {})
        message = str((record.get("error") or {}).get("message"))
        for entry, target, before in planted:
            problem = (("the slot never finished" if not ran else None)
                       or (f"the run was {record.get('status')}: {message}" if entry.startswith("bundles")
                           and "symbolic link" not in message else None)
                       or _changed(before, tree(target)))
            attacks.tried("daemon", f"{entry} linked while serving", problem)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run() -> Result:
    result = Result("hostile files")
    started = time.monotonic()
    attacks = Attacks(result, workdir("files"))
    for group in (foreign, output, links, strays, umask_zero, daemon):
        group(attacks)
    result.notes.append(", ".join(f"{group} {count}" for group, count in attacks.counts.items())
                        + f"; {len(result.failures)} escape(s)")
    result.details = {"attacks": attacks.counts, "escapes": len(result.failures)}
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run().to_json(), indent=2))
