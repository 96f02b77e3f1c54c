"""What a new user runs first must keep working: the example manifest and `make demo`'s script."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_example_manifest_is_valid(cli):
    result = cli("validate", "-f", str(ROOT / "examples" / "schedules.yaml"))
    assert (result.code, result.err) == (0, "")


def test_the_demo_applies_the_example_lists_it_and_runs_it_once(tmp_path):
    env = {**os.environ, "NO_COLOR": "1", "DEMO_DIR": str(tmp_path / "demo")}
    proc = subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], capture_output=True, text=True, env=env,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Applied set 'production': 3 created, 0 updated, 0 deleted, 0 unchanged." in proc.stdout
    assert "No changes: set 'production' is up to date (3 schedules)." in proc.stdout
    assert "NAME" in proc.stdout and "NEXT-RUN" in proc.stdout and "host-nightly" in proc.stdout
    bundle = proc.stdout.split("The bundle went to: ", 1)[1].splitlines()[0]
    assert Path(bundle).is_file() and Path(bundle).is_relative_to(tmp_path / "demo" / "state" / "bundles")
    uploaded = proc.stdout.split("and was uploaded to: file://", 1)[1].splitlines()[0]
    assert uploaded.startswith("/tmp/sbsched-demo/uploads/production/host-nightly/")
    assert Path(uploaded).read_bytes() == Path(bundle).read_bytes()
    assert "host-collectors/system/cpu.json" in proc.stdout
    assert "Execution demo-minutely-" in proc.stdout and ": completed" in proc.stdout.split("reconcile --once")[1]


def test_the_templates_and_dependencies_example_is_valid_and_lists_its_template(cli):
    path = str(ROOT / "examples" / "templates-and-dependencies.yaml")
    result = cli("validate", "-f", path)
    assert (result.code, result.err) == (0, "")
    assert cli("templates", "-f", path).out.splitlines()[1].split(None, 1) == [
        "host-deep", "host-after-nightly, host-nightly"]
