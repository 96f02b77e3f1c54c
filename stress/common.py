"""What the stress scenarios share: the real binary, isolated environments, waiting on conditions (never
on a sleep), reading a state dir the way a user would inspect it, and a child's own peak RSS."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SBSCHED = str(BIN / "sbsched")
PYTHON = sys.executable
PEAK = str(ROOT / "bench" / "peak.py")   # runs the CLI and writes its own VmHWM (KiB) to $BENCH_PEAK_FILE
LOOPBACK = "127.0.0.1,localhost,::1"


@dataclass
class Result:
    """One scenario's outcome: `failures` holds one line per failed trial (empty: green)."""

    name: str
    trials: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def pause(seconds: float) -> None:
    """A bounded pause in the harness itself (the product is never paused)."""
    threading.Event().wait(seconds)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        tick.wait(interval)


WORKDIRS: list[Path] = []   # removed by the runner after a green scenario, kept after a failure


def workdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"sbsched-stress-{prefix}-"))
    WORKDIRS.append(path)
    return path


def environment(state_dir: Path, **extra: str) -> dict[str, str]:
    """The user's environment with its own HOME, system temp dir (`leftovers` looks there) and state dir;
    loopback never through a proxy."""
    home = state_dir.parent / "home"
    home.mkdir(parents=True, exist_ok=True)
    _temp_of(state_dir).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBSCHED_", "TROUBLESHOOT_"))}
    env.update(HOME=str(home), TMPDIR=str(_temp_of(state_dir)), TROUBLESHOOT_SCHEDULER_DIR=str(state_dir),
               NO_PROXY=LOOPBACK, no_proxy=LOOPBACK, NO_COLOR="1")
    env.update(extra)
    return env


def sbsched(*args: str, env: dict[str, str], timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SBSCHED, *args], env=env, capture_output=True, text=True, timeout=timeout, **kw)


def kill9(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL and reap."""
    try:
        proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def specs_of(state: dict[str, Any]) -> dict[str, Any]:
    """schedule -> (set, normalized spec): what a plan decides; status is the daemon's."""
    return {name: (rec["set"], rec["spec"]) for name, rec in state["schedules"].items()}


def records(state_dir: Path) -> list[dict[str, Any]]:
    """Every execution record; a record that does not parse is returned as {'unparseable': path}."""
    out = []
    for path in sorted((state_dir / "executions").glob("*/*.json")):
        try:
            out.append(read_json(path))
        except (OSError, ValueError):
            out.append({"unparseable": str(path)})
    return out


def _temp_of(state_dir: Path) -> Path:
    return state_dir.parent / "tmp"


def leftovers(state_dir: Path) -> dict[str, list[str]]:
    """Debris a write can leave: atomic-write temp files and bundle staging dirs; and whatever is in the
    scenario's system temp dir, where no recovery can find it (a killed run's command dir stayed there)."""
    temps = [str(p.relative_to(state_dir)) for p in state_dir.rglob(".*.tmp")]
    staging = [str(p.relative_to(state_dir)) for p in state_dir.glob("bundles/*/.staging-*")]
    system = [p.name for p in _temp_of(state_dir).iterdir()] if _temp_of(state_dir).is_dir() else []
    return {"temp files": sorted(temps), "staging dirs": sorted(staging), "system temp": sorted(system)}


def iter_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


@dataclass
class Measured:
    code: int
    out: str
    err: str
    seconds: float
    peak_kib: int | None


def measured_cli(args: list[str], env: dict[str, str], timeout: float) -> Measured:
    """The CLI through bench/peak.py: the child's own VmHWM (wait4's ru_maxrss would start at ours)."""
    with tempfile.NamedTemporaryFile(prefix="sbsched-peak-", delete=False) as handle:
        peak_file = handle.name
    started = time.monotonic()
    try:
        proc = subprocess.run([PYTHON, PEAK, *args], env={**env, "BENCH_PEAK_FILE": peak_file},
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        seconds = time.monotonic() - started
        try:
            peak: int | None = int(Path(peak_file).read_text() or 0) or None
        except (OSError, ValueError):
            peak = None
        return Measured(proc.returncode, proc.stdout, proc.stderr, seconds, peak)
    except subprocess.TimeoutExpired as exc:
        return Measured(-1, "", f"timed out after {timeout:g}s: {exc}", time.monotonic() - started, None)
    finally:
        os.unlink(peak_file)


def one_line_error(stderr: str) -> str | None:
    """Why stderr is not the contract's 'one line, plus a hint' (None when it is)."""
    if "Traceback" in stderr:
        return "a traceback on stderr"
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "nothing on stderr"
    errors = [line for line in lines if not line.startswith(("hint:", "sbsched: warning"))]
    if len(errors) > 1 and not all(":" in line for line in errors):
        return f"{len(errors)} lines on stderr"
    return None
