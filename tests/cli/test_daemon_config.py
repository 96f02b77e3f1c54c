"""<state-dir>/config.yaml (maxConcurrent, metricsAddr, logFormat, grace) under the flags, and
`daemon restart`: stop, then start with the same flags and the file read anew."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.base.errors import UsageError
from reconciler.daemon import config as daemon_config

from ..conftest import run_sbsched


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path: Path):
    (tmp_path / "config.yaml").write_text("maxConcurrent: 8\nlogFormat: json\ngrace: 5\n")
    settings = daemon_config.resolve(tmp_path, {"maxConcurrent": 2, "logFormat": None, "metricsAddr": None})
    assert (settings.max_concurrent, settings.log_format, settings.grace, settings.metrics_addr) == (2, "json", 5.0,
                                                                                                   None)
    mine = str(tmp_path / "config.yaml")
    assert settings.source == {"maxConcurrent": "flag", "metricsAddr": "default", "logFormat": mine, "grace": mine,
                               "logLevel": "default", "logFile": "default", "checkInterval": "default"}
    assert daemon_config.resolve(tmp_path / "none", {}).max_concurrent == 4


@pytest.mark.parametrize("text, message", [
    ("maxConcurent: 3\n", "unknown setting 'maxConcurent' (did you mean 'maxConcurrent'?)"),
    ("maxConcurrent: 0\n", "maxConcurrent: expected an integer from 1 to 256"),
    ("logFormat: xml\n", "logFormat: expected text or json"),
    ("grace: -1\n", "grace: expected a number of seconds"),
    ("metricsAddr: 'host:port'\n", "expected HOST:PORT"),
    ("[1, 2]\n", "expected a mapping"),
    ("maxConcurrent: [\n", "config.yaml:"),
])
def test_a_bad_file_is_an_error_naming_it(tmp_path: Path, text: str, message: str):
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(UsageError, match=None) as error:
        daemon_config.resolve(tmp_path, {})
    assert message in error.value.message and str(tmp_path / "config.yaml") in error.value.message


def test_reconcile_once_and_daemon_start_refuse_a_bad_file_with_exit_2(cli, state_dir: Path):
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (state_dir / "config.yaml").write_text("maxConcurrent: lots\n")
    for args in (["reconcile", "--once"], ["daemon", "start"], ["daemon", "restart"]):
        result = cli(*args)
        assert result.code == 2 and "maxConcurrent: expected an integer" in result.err, args


def test_restart_keeps_the_start_flags_and_reads_the_file_anew(state_dir: Path):
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    started = run_sbsched("daemon", "start", "--max-concurrent", "3", env=env)
    assert started.code == 0, started.err
    first = json.loads((state_dir / "daemon.pid").read_text())
    try:
        assert first["startedWith"] == {"maxConcurrent": 3}
        (state_dir / "config.yaml").write_text("logFormat: json\nmaxConcurrent: 9\ngrace: 5\n")
        restarted = run_sbsched("daemon", "restart", env=env)
        assert restarted.code == 0, restarted.err
        assert f"stopped (was pid {first['pid']})" in restarted.out and "started" in restarted.out
        second = json.loads((state_dir / "daemon.pid").read_text())
        assert second["pid"] != first["pid"] and second["startedWith"] == {"maxConcurrent": 3}
        log = (state_dir / "logs" / "daemon.log").read_text()
        last = [line for line in log.splitlines() if "serving" in line][-1]
        assert json.loads(last)["message"].endswith("(pid %d, max 3 concurrent runs)" % second["pid"])
    finally:
        assert run_sbsched("daemon", "stop", env=env).code == 0
    assert run_sbsched("daemon", "status", env=env).code == 3


def test_restart_of_a_stopped_daemon_starts_it(state_dir: Path):
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    try:
        result = run_sbsched("daemon", "restart", "--log-format", "json", env=env)
        assert result.code == 0 and "daemon stopped" not in result.out, result.err
        assert json.loads((state_dir / "daemon.pid").read_text())["startedWith"] == {"logFormat": "json"}
    finally:
        run_sbsched("daemon", "stop", env=env)
