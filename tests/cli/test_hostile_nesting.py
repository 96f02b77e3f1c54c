"""Found by `make stress` (stress/hostile.py): a manifest nested some 30,000+ levels deep crashed
`sbsched validate` with SIGSEGV. libyaml's composer recurses in C, so the builder's depth check came
too late; and libyaml's scanner slows down quadratically with flow depth (100,000 `[` took ~35 s
before the crash). The loader now counts depth as the composer descends and stops at the limit.

Each case runs the real binary in a child process: a regression would kill pytest itself otherwise."""
from __future__ import annotations

import subprocess
import time

import pytest

from ..conftest import SBSCHED

DEPTH = 100_000


@pytest.mark.parametrize("shape, text", [
    ("flow sequences", "[" * DEPTH + "]" * DEPTH + "\n"),
    ("flow mappings", "{a: " * DEPTH + "}" * DEPTH + "\n"),
    ("block sequences on one line", "- " * DEPTH + "x\n"),
])
def test_very_deep_nesting_is_refused_quickly_without_a_crash(tmp_path, shape, text):
    manifest = tmp_path / "deep.yaml"
    manifest.write_text(text)
    started = time.monotonic()
    proc = subprocess.run([SBSCHED, "validate", "-f", str(manifest)], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, (shape, proc.returncode, proc.stderr[-500:])
    assert "nesting deeper than 64 levels" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 10, f"{shape}: {elapsed:.1f}s"
