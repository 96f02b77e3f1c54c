"""Debian's `prometheus` package (the `prometheus` server and `promtool`) for the operations tests.

CI installs it (.ci/run, as root on Debian); a developer gets it with `apt-get install prometheus`
(docs/operations.md). Where it cannot be had, the tests that need it skip with one line saying so.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
INSTALL_HINT = "install Debian's prometheus package (apt-get install prometheus): see docs/operations.md"

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason=f"promtool not found; {INSTALL_HINT}")
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None or PROMTOOL is None,
                                      reason=f"prometheus/promtool not found; {INSTALL_HINT}")


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT)
