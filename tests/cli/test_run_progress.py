"""`sbsched run` on a terminal draws the run's progress (rich, on stderr) above the same summary as
ever; piped, or with --quiet, it prints the summary alone. The terminal is a real pseudo-terminal."""
from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

from tests.reconciler.run.test_progress import apply

from ..conftest import SBSCHED

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
PROGRESS = ("started", "redaction:", "bundle:", "uploading to")


def on_a_terminal(*args: str, timeout: float = 60.0) -> tuple[int, str]:
    """Run sbsched with stdout and stderr on one pseudo-terminal; (exit code, all it wrote)."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    child = subprocess.Popen([SBSCHED, *args], stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], deadline - time.monotonic())
            if not ready:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:   # EIO: the child is gone and the terminal closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            child.kill()
            raise AssertionError(f"sbsched {' '.join(args)} did not finish within {timeout}s")
    finally:
        os.close(controller)
    return child.wait(timeout=timeout), ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def summary_keys(text: str) -> list[str]:
    """The summary's field names, in order (its values, ids and times, differ from run to run)."""
    return [line.split(":")[0].strip() for line in text.splitlines() if re.match(r"^[A-Z][\w ]*:", line)]


def test_a_run_on_a_terminal_shows_each_step_then_the_usual_summary(cli, write_manifest, tmp_path):
    apply(cli, write_manifest, tmp_path)
    piped = subprocess.run([SBSCHED, "run", "nightly"], capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == "" and not any(word in piped.stdout for word in PROGRESS)

    code, shown = on_a_terminal("run", "nightly")
    assert code == 0, shown
    assert "▸ data (copy) started" in shown and "▸ hostOS (hostOS) started" in shown
    assert "✓ data (copy) succeeded in" in shown and "1,000 bytes" in shown
    assert "redaction: 0 value(s) masked" in shown and "bundle: " in shown
    assert "uploading to file://" in shown and "✓ uploaded " in shown
    assert summary_keys(shown) == summary_keys(piped.stdout) != []
    assert shown.index("✓ uploaded ") < shown.index(summary_keys(piped.stdout)[0] + ":")


def test_quiet_on_a_terminal_shows_the_summary_alone(cli, write_manifest, tmp_path):
    apply(cli, write_manifest, tmp_path)
    code, shown = on_a_terminal("run", "nightly", "--quiet")
    assert code == 0, shown
    assert not any(word in shown for word in PROGRESS), shown
    assert summary_keys(shown) != []
