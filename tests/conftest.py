"""Shared fixtures: every test gets its own HOME and state dir, so nothing can touch a real
~/.troubleshoot/scheduler, and loopback traffic never goes through a proxy."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import settings

# CI replays the same examples every run (a red CI must mean a change broke something); locally,
# property tests explore new random examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = ["tests.kube_fixtures", "tests.delivery_fixtures"]

FIXTURES = Path(__file__).parent / "fixtures"
SBSCHED = str(Path(sys.executable).parent / "sbsched")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TROUBLESHOOT_SCHEDULER_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SBSCHED_SYSTEM_CONFIG", str(tmp_path / "etc" / "scheduler.yaml"))   # never the host's
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost,::1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path / "state"


@pytest.fixture
def state_dir(isolated_env: Path) -> Path:
    return isolated_env


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the CLI in-process (fast): the same entry point as the console script."""
    from cli.main import run

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def run_sbsched(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 60) -> Result:
    """Run the installed `sbsched` binary, as a user would."""
    proc = subprocess.run([SBSCHED, *args], capture_output=True, text=True, env=env or os.environ.copy(), cwd=cwd,
                          timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def write_manifest(tmp_path: Path) -> Callable[..., Path]:
    """Write a manifest (dedented) next to a copy of the example specs; returns its path."""
    work = tmp_path / "repo"
    specs = work / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    for spec in (FIXTURES / "specs").glob("*.yaml"):
        shutil.copy(spec, specs / spec.name)

    def write(text: str, name: str = "schedules.yaml") -> Path:
        path = work / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0, interval: float = 0.05,
               what: str = "condition") -> None:
    """A bounded poll: checks `predicate` every `interval` seconds (a real sleep between checks) and fails
    the test if it does not hold within `timeout`. Only for state another process changes (a child's
    files, its /proc entry, a daemon's records), which offers nothing to wait on; code running in the
    test's own process sets events (a run's `done`, a collector's gate): wait on those instead."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
