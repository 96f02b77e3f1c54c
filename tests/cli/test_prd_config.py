"""The configuration files of troubleshoot's scheduler PRD: the system file under the user's, the flags over
both, the PRD's keys (with units), what cannot be honoured refused by name, and logfmt lines."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from reconciler.base.errors import UsageError
from reconciler.daemon import config as daemon_config
from reconciler.daemon.logs import LogfmtFormatter, run_fields
from reconciler.store import config_files, paths

from ..conftest import FIXTURES, run_sbsched, wait_until

PRD = FIXTURES / "prd"


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "etc" / "scheduler.yaml"
    path.parent.mkdir()
    monkeypatch.setenv(config_files.SYSTEM_ENV, str(path))
    return path


def test_the_prd_user_config_of_section_6_1_2_loads_as_written(tmp_path: Path):
    (tmp_path / "config.yaml").write_text((PRD / "config.yaml").read_text())
    assert daemon_config.resolve(tmp_path, {}).max_concurrent == 3
    defaults = daemon_config.schedule_defaults(tmp_path)
    assert defaults.spec == {"policy": {"timeoutSeconds": 1800}, "limits": {"maxBundleSizeBytes": 1_000_000_000}}


def test_the_prd_system_config_of_section_6_2_1_loads_and_moves_the_default_state_dir(
        tmp_path: Path, system: Path, monkeypatch: pytest.MonkeyPatch):
    system.write_text((PRD / "scheduler.yaml").read_text())
    settings = daemon_config.resolve(tmp_path, {})
    assert (settings.metrics_addr, settings.log_level) == ("127.0.0.1:9090", "info")
    defaults = daemon_config.schedule_defaults(tmp_path)
    assert defaults.spec == {"timezone": "America/New_York", "retention": {"maxAgeDays": 30}}
    assert defaults.max_schedules == 10
    monkeypatch.delenv(paths.ENV_VAR)
    assert paths.state_dir() == Path("/var/lib/troubleshoot/scheduler")
    assert paths.state_dir("elsewhere") == Path("elsewhere")


def test_the_user_file_wins_over_the_system_file_and_flags_over_both(tmp_path: Path, system: Path):
    system.write_text("defaultMaxConcurrent: 2\nlogLevel: warn\ndefaultTimezone: Asia/Tokyo\ncheckInterval: 5m\n")
    (tmp_path / "config.yaml").write_text("maxConcurrentJobs: 6\ndefaultTimezone: Europe/Paris\n")
    settings = daemon_config.resolve(tmp_path, {"logLevel": "debug", "maxConcurrent": None})
    assert (settings.max_concurrent, settings.log_level, settings.check_interval) == (6, "debug", 300.0)
    assert settings.source["maxConcurrent"] == str(tmp_path / "config.yaml")
    assert settings.source["checkInterval"] == str(system)
    assert daemon_config.schedule_defaults(tmp_path).spec == {"timezone": "Europe/Paris"}


@pytest.mark.parametrize("text, message", [
    ("storageBackend: database\n", "storageBackend: expected file (the only storage backend"),
    ("requireAuth: true\n", "requireAuth: not supported: a state dir is its owner's alone"),
    ("healthCheckPort: 8081\n", "healthCheckPort: not supported: /healthz and /readyz are served with /metrics"),
    ("maxBundleSize: 1 furlong\n", "maxBundleSize: expected a size (1GB, 500MiB"),
    ("defaultTimeout: soon\n", "defaultTimeout: expected a number of seconds (from 1 to 604800) or a duration"),
    ("defaultTimezone: Mars/Olympus\n", "defaultTimezone: expected an IANA time zone"),
    ("maxConcurrent: 2\ndefaultMaxConcurrent: 3\n", "defaultMaxConcurrent and maxConcurrent set the same thing"),
    ("storageConfig: {baseDir: /srv/sbsched}\n", "only the system file"),
    ("storageConfig: {backupEnabled: false}\n", "backupEnabled: true (state.json.backup is written"),
    ("logLevle: info\n", "unknown setting 'logLevle' (did you mean 'logLevel'?)"),
    ("defaultUploadConfig: {endpoint: 'https://127.0.0.1:9/up', credentials: {token: abc}}\n", "unknown key 'token'"),
    ("autoUploadEnabled: true\n", "no defaultUploadConfig"),
])
def test_what_cannot_be_honoured_is_an_error_naming_the_file_and_key(tmp_path: Path, text: str, message: str):
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(UsageError) as error:
        daemon_config.resolve(tmp_path, {})
        daemon_config.schedule_defaults(tmp_path)
    assert message in error.value.message or message in (error.value.hint or ""), error.value.message
    assert "abc" not in error.value.message


def test_the_default_upload_is_troubleshoots_upload_config_with_references_only(tmp_path: Path):
    (tmp_path / "config.yaml").write_text(
        "autoUploadEnabled: true\ndefaultUploadConfig:\n  endpoint: s3://bucket/bundles/\n"
        "  options: {region: us-west-2}\n  credentials: {accessKeyId: {env: AWS_KEY}}\n")
    assert daemon_config.schedule_defaults(tmp_path).upload == {
        "url": "s3://bucket/bundles/", "options": {"region": "us-west-2"}, "credentials": {"accessKeyId": {"env": "AWS_KEY"}}}
    (tmp_path / "config.yaml").write_text("autoUploadEnabled: false\ndefaultUploadConfig: {endpoint: 's3://b/'}\n")
    assert daemon_config.schedule_defaults(tmp_path).upload is None


def test_a_config_flag_file_holds_the_daemons_settings_only(tmp_path: Path):
    given = tmp_path / "daemon.yaml"
    given.write_text("maxConcurrentJobs: 5\nlogFormat: logfmt\n")
    settings = daemon_config.resolve(tmp_path, {"config": str(given)})
    assert (settings.max_concurrent, settings.log_format) == (5, "logfmt")
    given.write_text("defaultTimezone: UTC\n")
    with pytest.raises(UsageError, match="schedule defaults, which `sbsched apply` fills in"):
        daemon_config.resolve(tmp_path, {"config": str(given)})


def test_logfmt_lines_are_the_ones_the_prd_greps_for():
    record = logging.makeLogRecord({"name": "sbsched.executor", "levelno": logging.ERROR, "levelname": "ERROR",
                                    "msg": "nightly-20260601T0200Z: failed (timeout)",
                                    **run_fields("nightly", "nightly-20260601T0200Z", status="failed")})
    line = LogfmtFormatter().format(record)
    assert " level=error component=executor msg=\"nightly-20260601T0200Z: failed (timeout)\" schedule=nightly " \
           "execution_id=nightly-20260601T0200Z status=failed" in line and line.startswith("time=")
    upload = logging.makeLogRecord({"name": "sbsched.delivery", "levelno": logging.WARNING, "levelname": "WARNING",
                                    "msg": "upload to https://u:secret@127.0.0.1:9/x failed"})
    assert " level=warn component=uploader " in LogfmtFormatter().format(upload)
    assert "secret" not in LogfmtFormatter().format(upload)


def test_daemon_start_logs_where_log_file_says_at_its_level_and_restart_keeps_the_flags(state_dir: Path,
                                                                                        tmp_path: Path):
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    log = tmp_path / "logs-elsewhere" / "sbsched.log"
    started = run_sbsched("daemon", "start", "--log-file", str(log), "--log-format", "logfmt", "--log-level",
                          "debug", "--check-interval", "5", "--max-concurrent", "2", env=env)
    assert started.code == 0, started.err
    try:
        assert str(log) in started.out
        wait_until(lambda: log.exists() and "msg=\"serving" in log.read_text(), what="the serving line in --log-file")
        assert (log.stat().st_mode & 0o777) == 0o600
        assert not (state_dir / "logs" / "daemon.log").exists() or "serving" not in \
            (state_dir / "logs" / "daemon.log").read_text()
        recorded = json.loads((state_dir / "daemon.pid").read_text())["startedWith"]
        assert recorded == {"maxConcurrent": 2, "logFormat": "logfmt", "logLevel": "debug", "logFile": str(log),
                            "checkInterval": "5"}
        restarted = run_sbsched("daemon", "restart", env=env)
        assert restarted.code == 0, restarted.err
        assert json.loads((state_dir / "daemon.pid").read_text())["startedWith"] == recorded
    finally:
        assert run_sbsched("daemon", "stop", env=env).code == 0


def test_audit_log_enabled_false_writes_no_audit_lines(cli, write_manifest, state_dir: Path):
    manifest = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: prd}
        schedules: [{name: one, cron: "0 2 * * *"}]
    """)
    state_dir.mkdir(mode=0o700)
    (state_dir / "config.yaml").write_text("auditLogEnabled: false\n")
    assert cli("apply", "-f", str(manifest)).code == 0
    assert not (state_dir / "logs" / "audit.log").exists()
    (state_dir / "config.yaml").write_text("auditLogEnabled: true\n")
    assert cli("suspend", "one").code == 0
    assert '"event": "suspend"' in (state_dir / "logs" / "audit.log").read_text()


def test_schedule_defaults_of_the_config_files_sit_under_the_manifest_and_diff_shows_them(
        cli, write_manifest, state_dir: Path, system: Path):
    system.write_text("defaultTimezone: America/New_York\ndefaultRetentionDays: 7\nmaxBundleSize: 500MiB\n")
    state_dir.mkdir(mode=0o700)
    (state_dir / "config.yaml").write_text("defaultTimeout: 1h\nautoUploadEnabled: true\n"
                                           "defaultUploadConfig: {endpoint: 'file:///srv/bundles/'}\n")
    manifest = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: prd}
        defaults: {retention: {maxAgeDays: 14}}
        schedules:
          - {name: plain, cron: "0 2 * * *"}
          - {name: own, cron: "0 3 * * *", timezone: UTC, policy: {timeoutSeconds: 60}, upload: null}
    """)
    result = cli("diff", "-f", str(manifest), "-o", "json")
    assert result.code == 1, result.err
    after = {c["name"]: c["after"] for c in json.loads(result.out)["changes"]}
    assert after["plain"]["timezone"] == "America/New_York" and after["own"]["timezone"] == "UTC"
    assert after["plain"]["policy"]["timeoutSeconds"] == 3600 and after["own"]["policy"]["timeoutSeconds"] == 60
    assert after["plain"]["retention"]["maxAgeDays"] == 14   # the manifest's defaults: win over the files
    assert after["plain"]["limits"]["maxBundleSizeBytes"] == 500 * 2 ** 20
    assert after["plain"]["upload"]["url"] == "file:///srv/bundles/" and after["own"]["upload"] is None
    assert cli("apply", "-f", str(manifest)).code == 0
    assert cli("diff", "-f", str(manifest)).code == 0
    (state_dir / "config.yaml").write_text("defaultTimeout: 2h\n")   # the effective values changed: diff says so
    changed = cli("diff", "-f", str(manifest))
    assert changed.code == 1 and "policy.timeoutSeconds: 3600 -> 7200" in changed.out


def test_max_jobs_per_user_bounds_the_schedules_a_state_dir_holds(cli, write_manifest, state_dir: Path):
    state_dir.mkdir(mode=0o700)
    (state_dir / "config.yaml").write_text("maxJobsPerUser: 1\n")
    manifest = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: prd}
        schedules: [{name: a, cron: "0 2 * * *"}, {name: b, cron: "0 3 * * *"}]
    """)
    result = cli("apply", "-f", str(manifest))
    assert result.code == 2 and "more than maxJobsPerUser (1) allows" in result.err
    assert not (state_dir / "state.json").exists()


def test_daemon_status_watch_refreshes_with_memory_cpu_and_uptime(cli, state_dir: Path):
    from datetime import datetime, timezone

    from reconciler.store.pidfile import PidFile

    state_dir.mkdir(mode=0o700)
    pidfile = PidFile(state_dir)   # this test process plays the daemon: /proc has its memory and CPU
    pidfile.acquire(datetime.now(timezone.utc))
    try:
        result = cli("daemon", "status", "--watch", "--interval", "0.1", "--iterations", "2")
        as_json = json.loads(cli("daemon", "status", "-o", "json").out)
    finally:
        pidfile.release()
    assert result.code == 0, result.err
    assert result.out.count("sbsched daemon is running") == 2
    assert "on average since it started" in result.out and "since the last refresh" in result.out
    assert result.out.count("MiB resident") == 2 and "Up:        0m" in result.out
    assert as_json["rssBytes"] > 1_000_000 and as_json["cpuPercent"] >= 0 and as_json["uptimeSeconds"] >= 0
    stopped = cli("daemon", "status", "--watch", "--interval", "0.1", "--iterations", "2")
    assert stopped.code == 3 and stopped.out.count("not running") == 2
