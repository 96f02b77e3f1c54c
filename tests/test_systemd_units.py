"""Both shipped systemd units pass `systemd-analyze verify`, with the sbsched binary where an install
puts it (here: this venv's), and keep what each promises: the PRD's forking unit drives `daemon
start/reload/stop`; ours runs the daemon in the foreground, hardened, in a state dir systemd makes."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import SBSCHED
from .prometheus_tools import ROOT

UNITS = ROOT / "examples" / "systemd"
INSTALLED = {"sbsched.service": "/opt/sbsched/.venv/bin/sbsched",
             "troubleshoot-scheduler.service": "/usr/local/bin/sbsched"}
ANALYZE = shutil.which("systemd-analyze")


def settings(unit: str) -> dict[str, list[str]]:
    """`Section.Key` -> its values, in order (a key may repeat)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in (UNITS / unit).read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            found.setdefault(f"{section}.{key}", []).append(value)
    return found


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not found (Debian: apt-get install systemd)")
@pytest.mark.parametrize("unit", sorted(INSTALLED))
def test_the_unit_passes_systemd_analyze_verify_with_the_installed_binary(unit, tmp_path):
    text = (UNITS / unit).read_text()
    assert INSTALLED[unit] in text
    (tmp_path / unit).write_text(text.replace(INSTALLED[unit], SBSCHED))
    assert ANALYZE is not None
    verified = subprocess.run([ANALYZE, "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=60)
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, ""), "clean: no warning either"


def test_the_prds_unit_forks_with_daemon_start_and_reloads_and_stops_through_the_cli():
    unit = settings("troubleshoot-scheduler.service")
    binary = INSTALLED["troubleshoot-scheduler.service"]
    assert unit["Service.Type"] == ["forking"]
    assert (unit["Service.ExecStart"], unit["Service.ExecReload"], unit["Service.ExecStop"]) == \
        ([f"{binary} daemon start"], [f"{binary} daemon reload"], [f"{binary} daemon stop"])
    assert (unit["Service.Restart"], unit["Service.User"]) == (["always"], ["troubleshoot"])


def test_our_unit_runs_in_the_foreground_hardened():
    unit = settings("sbsched.service")
    assert unit["Service.Type"] == ["simple"]
    assert unit["Service.ExecStart"][0].startswith(f"{INSTALLED['sbsched.service']} daemon start --foreground")
    assert (unit["Service.NoNewPrivileges"], unit["Service.ProtectSystem"], unit["Service.UMask"]) == \
        (["true"], ["strict"], ["0077"])


@pytest.mark.parametrize("unit", sorted(INSTALLED))
def test_the_state_dir_is_one_systemd_makes_for_the_unit_private_and_writable(unit):
    """Under ProtectSystem=strict a ReadWritePaths= that does not exist yet fails the start, and the
    daemon could not make it; StateDirectory= makes it, owned by User= and 0700 as sbsched wants."""
    found = settings(unit)
    assert f"TROUBLESHOOT_SCHEDULER_DIR=/var/lib/{found['Service.StateDirectory'][0]}" in found["Service.Environment"]
    assert found["Service.StateDirectoryMode"] == ["0700"]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not found (Debian: apt-get install systemd)")
@pytest.mark.parametrize("group", [None, "root"])
def test_the_unit_daemon_install_system_writes_passes_systemd_analyze_verify(group, tmp_path):
    from pathlib import Path

    from reconciler.daemon.install import unit_text

    (tmp_path / "sbsched.service").write_text(unit_text(command=[SBSCHED], state_dir=Path("/var/lib/sbsched"),
                                                        group=group))
    assert ANALYZE is not None
    verified = subprocess.run([ANALYZE, "verify", str(tmp_path / "sbsched.service")], capture_output=True, text=True,
                              timeout=60)
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")
