"""The audit log names the real user: the account of the process's real uid, whatever LOGNAME or USER
say (any user can set those), or the sudo caller when root runs sbsched through sudo."""
from __future__ import annotations

import json
import os
import pwd


def apply_and_read_user(cli, write_manifest, state_dir) -> str:
    path = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: who}
        schedules:
          - {name: nightly, cron: "@daily", collect: {cluster: false, hostCollectors: [{hostOS: {}}]}}
    """)
    assert cli("apply", "-f", str(path)).code == 0
    line = (state_dir / "logs" / "audit.log").read_text(encoding="utf-8").splitlines()[-1]
    return str(json.loads(line)["user"])


def test_the_audit_user_is_the_real_uids_account_not_what_logname_or_user_say(cli, write_manifest, state_dir,
                                                                               monkeypatch):
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "mallory-not-real")
    monkeypatch.delenv("SUDO_USER", raising=False)
    assert apply_and_read_user(cli, write_manifest, state_dir) == pwd.getpwuid(os.getuid()).pw_name


def test_root_run_through_sudo_is_recorded_as_the_sudo_caller(cli, write_manifest, state_dir, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice-ops")
    expected = "alice-ops" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name   # only root's sudo counts
    assert apply_and_read_user(cli, write_manifest, state_dir) == expected
