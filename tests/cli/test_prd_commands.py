"""Every command line of troubleshoot's scheduler PRD (tests/fixtures/prd/commands.txt), with `sbsched` in
front, run in order against scratch state dirs, each one's effect checked."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from reconciler.store import executions

from ..conftest import FIXTURES, SBSCHED, Result, wait_until
from ..delivery_fixtures import s3_client

PRD = FIXTURES / "prd"
TOKEN = "prd-upload-token-7f3a9c"
SPEC = ("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nmetadata: {name: myapp}\n"
        "spec: {hostCollectors: [{hostOS: {}}]}\n")


@dataclass
class Line:
    section: str
    label: str
    command: str


def prd_lines() -> list[Line]:
    out, section = [], ""
    for raw in (PRD / "commands.txt").read_text().splitlines():
        if raw.startswith("## scratch "):
            section = raw.removeprefix("## scratch ").strip()
        elif raw.startswith("["):
            label, _, command = raw[1:].partition("] ")
            out.append(Line(section, label, command))
    return out


@dataclass
class Scratch:
    name: str
    work: Path
    state: Path
    notes: dict[str, Any] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        return yaml.safe_load((self.work / "schedules.yaml").read_text())

    def schedule(self, name: str) -> dict[str, Any]:
        return next(s for s in self.manifest()["schedules"] if s["name"] == name)

    def pid(self) -> dict[str, Any]:
        from reconciler.store.pidfile import PidFile

        return PidFile(self.state).running() or {}


# -- each section's setting up ----------------------------------------------------------------------------
def setup_create(s: Scratch) -> None:
    (s.work / "myapp.yaml").write_text(SPEC)
    (s.work / "daemon.yaml").write_text("logFormat: logfmt\ngrace: 5\n")
    s.notes.update(config=s.work / "daemon.yaml", log=s.work / "log" / "sbsched.log")


def setup_config(s: Scratch) -> None:
    s.state.mkdir(mode=0o700)
    shutil.copy(PRD / "config.yaml", s.state / "config.yaml")
    system = Path(os.environ["SBSCHED_SYSTEM_CONFIG"])   # this scratch's own (new_scratch)
    system.write_text((PRD / "scheduler.yaml").read_text().replace("metricsPort: 9090", "metricsPort: 0"))
    (s.work / "schedules.yaml").write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prd}\n"
                                           "schedules: [{name: nightly, cron: '0 2 * * *'}]\n")


def setup_recovery(s: Scratch, run: Callable[..., Result]) -> None:
    (s.work / "schedules.yaml").write_text(
        "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prd}\n"
        "defaults: {collect: {cluster: false, hostCollectors: [{hostOS: {}}]}}\n"
        "schedules: [{name: customer-job, cron: '0 2 1 1 *'}, {name: other-job, cron: '0 2 1 1 *'},\n"
        "            {name: idle-job, cron: '0 2 1 1 *'}]\n")
    assert run("apply", "-f", "schedules.yaml").code == 0
    slot = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
    for name, reason in (("customer-job", "interrupted"), ("other-job", "shutdown")):
        record = executions.new_record(f"{name}-{slot.strftime('%Y%m%dT%H%M')}Z", name, "prd", trigger="schedule",
                                       slot=slot, dispatched=slot, status="failed")
        record.update(reason=reason, startTime=slot.isoformat(), endTime=slot.isoformat())
        executions.write(s.state, record)
        s.notes[name] = record["id"]
    old = slot - timedelta(days=40)   # past --older-than 30d; of a schedule no run's retention touches
    record = executions.new_record(f"idle-job-{old.strftime('%Y%m%dT%H%M')}Z", "idle-job", "prd",
                                   trigger="schedule", slot=old, dispatched=old, status="completed")
    record.update(startTime=old.isoformat())
    executions.write(s.state, record)
    s.notes["old"] = record["id"]
    staging = s.state / "bundles" / "idle-job" / ".staging-support-bundle-2026-01-01T02_00_00"
    staging.mkdir(parents=True)
    os.utime(staging, (time.time() - 3600, time.time() - 3600))
    s.notes["staging"] = staging
    s.notes["execution_id"] = s.notes["customer-job"]


def setup_upload_enabled(s: Scratch) -> None:
    s.notes["uploads"] = s.work / "uploads"


# -- each line's check --------------------------------------------------------------------------------------
def ok(r: Result) -> None:
    assert r.code == 0, (r.out, r.err)


def check_daily_check(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("daily-check") == {"name": "daily-check", "cron": "0 2 * * *",
                                         "collect": {"namespaces": ["myapp"]}}
    assert "Next run: " in r.out and "sbsched daemon is not running" not in r.out
    assert "warning: the sbsched daemon is not running" in r.err


def check_frequent_check(s: Scratch, r: Result) -> None:
    ok(r)
    entry = s.schedule("frequent-check")
    assert entry["upload"] == {"url": "s3://bucket"}
    assert entry["collect"] == {"auto": True}   # --auto: troubleshoot's auto-discovery at each run


def check_weekly_deep(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("weekly-deep") == {"name": "weekly-deep", "cron": "0 0 * * 1", "collect": {"specs": ["myapp.yaml"]}}


def check_all_flags(s: Scratch, r: Result) -> None:
    ok(r)
    entry = s.schedule("tagged")
    assert (entry["timezone"], entry["suspend"], entry["description"]) == ("America/New_York", True, "Every 15 minutes")
    assert entry["labels"] == {"team": "ops", "tier": "1"} and entry["upload"]["options"] == {"region": "us-west-2"}


def check_apply(s: Scratch, r: Result) -> None:
    ok(r)
    assert "Applied set" in r.out


def table_names(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[1:]]


def check_list(s: Scratch, r: Result) -> None:
    ok(r)
    assert table_names(r.out) == ["daily-check", "frequent-check", "weekly-deep"]
    assert "1 disabled or suspended schedule(s) not shown" in r.err


def check_list_json(s: Scratch, r: Result) -> None:
    ok(r)
    assert [i["name"] for i in json.loads(r.out)["items"]] == ["daily-check", "frequent-check", "weekly-deep"]


def check_list_yaml(s: Scratch, r: Result) -> None:
    ok(r)
    assert [i["name"] for i in yaml.safe_load(r.out)["items"]] == ["daily-check", "frequent-check", "weekly-deep"]


def check_list_show_disabled(s: Scratch, r: Result) -> None:
    ok(r)
    assert table_names(r.out) == ["daily-check", "frequent-check", "tagged", "weekly-deep"]


def check_list_filter(s: Scratch, r: Result) -> None:
    ok(r)
    assert table_names(r.out) == ["daily-check", "frequent-check"]


def check_list_status(s: Scratch, r: Result) -> None:
    ok(r)
    assert table_names(r.out) == ["daily-check", "frequent-check", "weekly-deep"]


def check_daemon_start_flags(s: Scratch, r: Result) -> None:
    ok(r)
    log = s.notes["log"]
    assert str(log) in r.out
    wait_until(lambda: log.exists() and 'msg="serving' in log.read_text(), what="logfmt lines in --log-file")
    assert "max 3 concurrent runs" in log.read_text() and "component=daemon" in log.read_text()
    assert s.pid()["startedWith"] == {"maxConcurrent": 3, "logLevel": "debug", "logFile": str(log),
                                      "checkInterval": "60", "config": str(s.notes["config"])}


def check_daemon_status(s: Scratch, r: Result) -> None:
    ok(r)
    assert "sbsched daemon is running" in r.out and "MiB resident" in r.out and "Schedules: 4" in r.out


def check_daemon_reload(s: Scratch, r: Result) -> None:
    ok(r)
    assert "reloads the state" in r.out


def check_daemon_stop(s: Scratch, r: Result) -> None:
    ok(r)
    assert "sbsched daemon stopped" in r.out and s.notes["cli"]("daemon", "status").code == 3


def check_quickstart_create(s: Scratch, r: Result) -> None:
    ok(r)
    entry = s.schedule("daily-check")
    assert entry["collect"] == {"namespaces": ["myapp"], "auto": True}
    assert entry["upload"] == {"url": "s3://customer-troubleshoot-bucket"}


def check_quickstart_daemon_start(s: Scratch, r: Result) -> None:
    ok(r)
    assert "sbsched daemon started: pid " in r.out and s.pid()["pid"]


def check_quickstart_list(s: Scratch, r: Result) -> None:
    ok(r)
    assert table_names(r.out) == ["daily-check"] and "T02:00:00+00:00" in r.out


def check_quickstart_daemon_status(s: Scratch, r: Result) -> None:
    ok(r)
    assert "sbsched daemon is running" in r.out and "Next due:  daily-check at " in r.out


def check_quickstart_history(s: Scratch, r: Result) -> None:
    ok(r)
    assert r.err == "No executions found.\n"   # 2 AM has not come: nothing ran yet


def check_s3_create(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("customer-job")["upload"] == {
        "url": "s3://customer-bucket/diagnostics/", "options": {"region": "us-west-2", "serverSideEncryption": "AES256"}}


def check_s3_run(s: Scratch, r: Result) -> None:
    ok(r)
    (record,) = executions.history(s.state, "customer-job")
    key = record["upload"]["url"].removeprefix("s3://customer-bucket/")
    assert key.startswith("diagnostics/prd-s3/customer-job/support-bundle-")
    head = s3_client(os.environ["AWS_ENDPOINT_URL"]).head_object(Bucket="customer-bucket", Key=key)
    assert head["ServerSideEncryption"] == "AES256"


def check_gcs_create(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("customer-job")["upload"] == {
        "url": "gs://customer-bucket/troubleshoot/",
        "credentials": {"serviceAccountFile": "/path/to/customer-service-account.json"}}


def check_http_literal_token(s: Scratch, r: Result) -> None:
    assert r.code == 2 and TOKEN not in r.out + r.err
    assert "token-env=NAME" in r.err and not (s.work / "schedules.yaml").exists()


def check_http_token_reference(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("customer-job")["upload"]["options"] == {"bearerToken": {"env": "CUSTOMER_UPLOAD_TOKEN"}}


def check_http_run(s: Scratch, r: Result) -> None:
    ok(r)
    (request,) = s.notes["sink"].wait_for(1)
    assert request.path == "/upload" and request.headers["Authorization"] == f"Bearer {TOKEN}"
    (record,) = executions.history(s.state, "customer-job")
    assert TOKEN not in json.dumps(record)


def check_config_diff(s: Scratch, r: Result) -> None:
    assert r.code == 1, r.err   # changes to apply
    assert "+ nightly: create (cron '0 2 * * *', America/New_York)" in r.out


def check_system_config_start(s: Scratch, r: Result) -> None:
    ok(r)
    assert "metrics http://127.0.0.1:" in r.out
    log = s.state / "logs" / "daemon.log"
    wait_until(lambda: log.exists() and "max 3 concurrent runs" in log.read_text(), what="the daemon's settings")


def check_recover(s: Scratch, r: Result) -> None:
    ok(r)
    new = [x for x in executions.history(s.state, "customer-job") if x.get("recoveredFrom")]
    assert [(x["recoveredFrom"], x["status"]) for x in new] == [(s.notes["customer-job"], "completed")]


def check_restart_recover(s: Scratch, r: Result) -> None:
    ok(r)

    def rerun() -> list[dict[str, Any]]:
        return [x for x in executions.history(s.state, "other-job")
                if x.get("recoveredFrom") == s.notes["other-job"] and x["status"] == "completed"]

    wait_until(lambda: bool(rerun()), timeout=30, what="the daemon to run other-job again (--recover)")
    assert [x["recoveredFrom"] for x in executions.history(s.state, "customer-job") if x.get("recoveredFrom")] == \
        [s.notes["customer-job"]]   # its latest run is the recovery `recover` made: not run a third time


def check_cleanup_repair(s: Scratch, r: Result) -> None:
    ok(r)
    assert f"staging-dir: {s.notes['staging']}" in r.out and not s.notes["staging"].exists()
    assert s.notes["old"] in r.out and executions.find(s.state, s.notes["old"]) is None


def check_status_create(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("daily")["collect"]["namespaces"] == ["prod"]


def check_status_create_full(s: Scratch, r: Result) -> None:
    ok(r)
    entry = s.schedule("production-daily")
    assert entry["upload"] == {"url": "s3://customer-bucket/"} and "redact" not in entry and "analyze" not in entry


def check_status_list(s: Scratch, r: Result) -> None:
    ok(r)
    assert table_names(r.out) == ["daily", "production-daily"]


def check_status_modify(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("daily")["cron"] == "0 3 * * *" and "Applied set" in r.out


def check_status_disable(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("daily")["suspend"] is True


def check_status_enable(s: Scratch, r: Result) -> None:
    ok(r)
    assert s.schedule("daily")["suspend"] is False


def check_status_status(s: Scratch, r: Result) -> None:
    ok(r)
    assert "Cron:                 0 3 * * * (UTC)" in r.out and "Suspended:            false (manifest)" in r.out


def check_status_history(s: Scratch, r: Result) -> None:
    ok(r)
    assert r.err == "No executions found.\n"


def check_upload_enabled_unconfigured(s: Scratch, r: Result) -> None:
    assert r.code == 2 and "defaultUploadConfig" in r.err and not (s.work / "schedules.yaml").exists()
    s.state.mkdir(mode=0o700, exist_ok=True)
    (s.state / "config.yaml").write_text(f"autoUploadEnabled: true\n"
                                         f"defaultUploadConfig: {{endpoint: 'file://{s.notes['uploads']}/'}}\n")


def check_upload_enabled(s: Scratch, r: Result) -> None:
    ok(r)
    assert "upload" not in s.schedule("frequent-check") and "its upload: the default one" in r.out
    plan = json.loads(s.notes["cli"]("diff", "-f", "schedules.yaml", "-o", "json").out)
    assert plan["changes"][0]["after"]["upload"]["url"] == f"file://{s.notes['uploads']}/"


CHECKS: dict[str, Callable[[Scratch, Result], None]] = {
    name.removeprefix("check_").replace("_", "-"): fn for name, fn in globals().items() if name.startswith("check_")}
CHECKS["sbsched apply"] = CHECKS.pop("apply")
CHECKS["list-table"] = check_list
CHECKS.update({"systemd-reload": check_daemon_reload, "systemd-stop": check_daemon_stop,
               "system-config-stop": check_daemon_stop, "recovery-stop": check_daemon_stop})


def test_every_prd_command_line_has_a_check():
    labels = {line.label for line in prd_lines()} - {"daemon-start-foreground"}
    assert labels == set(CHECKS) - {"daemon-start-foreground"}, labels ^ set(CHECKS)
    assert len(prd_lines()) >= 50


def test_every_prd_command_line_works_with_sbsched_in_front(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            s3_env: str, sink: Any):
    s3 = s3_client(s3_env)
    if "customer-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="customer-bucket")
    monkeypatch.setenv("CUSTOMER_UPLOAD_TOKEN", TOKEN)
    scratches: dict[str, Scratch] = {}
    try:
        for line in prd_lines():
            if line.section not in scratches:
                scratches[line.section] = new_scratch(line.section, tmp_path, monkeypatch, sink, cli)
            scratch = scratches[line.section]
            command = expand(line.command, scratch, sink)
            argv = shlex.split(command)
            assert argv[0] == "sbsched", line
            if line.label == "daemon-start-foreground":
                run_in_foreground(argv[1:], scratch)
                continue
            result = cli(*argv[1:])
            CHECKS[line.label](scratch, result)
    finally:
        for scratch in scratches.values():
            if (scratch.state / "daemon.pid").exists():
                cli("--state-dir", str(scratch.state), "daemon", "stop", "--grace", "5")


def new_scratch(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: Any,
                cli: Callable[..., Result]) -> Scratch:
    """A working directory, state dir and system config file path of its own, the process in them."""
    work, state, etc = tmp_path / f"prd-{name}", tmp_path / f"state-{name}", tmp_path / f"etc-{name}"
    work.mkdir()
    etc.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TROUBLESHOOT_SCHEDULER_DIR", str(state))
    monkeypatch.setenv("SBSCHED_SYSTEM_CONFIG", str(etc / "scheduler.yaml"))
    scratch = Scratch(name, work, state, {"sink": sink, "cli": cli})
    setup = {"create": setup_create, "config": setup_config, "upload-enabled": setup_upload_enabled}.get(name)
    if setup is not None:
        setup(scratch)
    if name == "recovery":
        setup_recovery(scratch, cli)
    return scratch


def expand(command: str, scratch: Scratch, sink: Any) -> str:
    values = {"HTTP": sink.url, "CONFIG": str(scratch.notes.get("config")), "LOG": str(scratch.notes.get("log")),
              "EXECUTION_ID": str(scratch.notes.get("execution_id"))}
    command = re.sub(r"(?<!\$)\{([A-Z_]+)\}", lambda m: values[m[1]], command)
    return re.sub(r"\$\{([A-Z_]+)\}", lambda m: os.environ[m[1]], command)   # as the shell would


def run_in_foreground(args: list[str], scratch: Scratch) -> None:
    """`daemon start --foreground` stays attached: started as a process, checked, stopped with SIGTERM."""
    child = subprocess.Popen([SBSCHED, *args], env={**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(scratch.state)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: scratch.pid().get("pid") == child.pid,
                   timeout=20, what="the foreground daemon to hold daemon.pid")
    finally:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "serving" in err   # it logs to stderr in the foreground
