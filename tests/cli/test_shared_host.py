"""A host shared by a team, with real accounts: `daemon install --system` writes the unit and makes the
system state dir its team's (2770, the first allowedGroups group); members apply, run and read history
as themselves, the files they make stay the group's and never anyone else's, every audit line names
the real user, and an outsider is refused with one line (exit 2). Needs root, useradd and setpriv (the
suite runs as root in CI); skipped cleanly elsewhere."""
from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from ..conftest import SBSCHED

TOOLS = ("useradd", "userdel", "groupadd", "groupdel", "setpriv")
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creates users and groups: needs root"),
    pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}"),
    pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="systemd runs here: install would enable it"),
]


@pytest.fixture
def team():
    """A group with one member and one account outside it, removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    group, member, outsider = f"sbops{tag}", f"sbmem{tag}", f"sbout{tag}"
    subprocess.run(["groupadd", group], check=True)
    try:
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-G", group, member], check=True)
        try:
            subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", outsider], check=True)
            try:
                yield group, member, outsider
            finally:
                subprocess.run(["userdel", outsider], check=True)
        finally:
            subprocess.run(["userdel", member], check=True)
    finally:
        subprocess.run(["groupdel", group], check=True)


@pytest.fixture
def host():
    """A directory every account can reach (the test's own, 0755), standing in for / of the host."""
    base = Path(tempfile.mkdtemp(prefix="sbsched-shared-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def sbsched(host: Path, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TROUBLESHOOT_SCHEDULER_DIR", "SUDO_USER")}
    env.update(SBSCHED_SYSTEM_CONFIG=str(host / "etc" / "scheduler.yaml"), HOME=str(host))
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user_gid(user)}", "--init-groups", "--"] if user else []
    return subprocess.run([*prefix, SBSCHED, *args], capture_output=True, text=True, env=env, cwd=host, timeout=120)


def user_gid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def test_a_team_shares_the_system_state_dir_and_outsiders_are_refused(team, host):
    group, member, outsider = team
    state = host / "var" / "lib" / "sbsched"
    (host / "etc").mkdir(mode=0o755)
    (host / "etc" / "scheduler.yaml").write_text(f"storageConfig: {{baseDir: {state}}}\nallowedGroups: [{group}]\n")
    (host / "etc" / "scheduler.yaml").chmod(0o644)
    (host / "schedules.yaml").write_text(
        "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: ops}\nschedules:\n"
        "  - {name: nightly, cron: '@daily', collect: {cluster: false, hostCollectors: [{hostOS: {}}]},\n"
        "     analyze: {enabled: false}}\n")
    (host / "schedules.yaml").chmod(0o644)

    installed = sbsched(host, "daemon", "install", "--system", "--unit-dir", str(host / "units"))
    assert installed.returncode == 0, installed.stderr
    assert "could not enable it: systemd is not running" in installed.stderr and "Traceback" not in installed.stderr
    assert len(installed.stderr.strip().splitlines()) == 1
    unit = (host / "units" / "sbsched.service").read_text()
    assert f"Group={group}" in unit and f"--state-dir {state} daemon start --foreground" in unit
    gid = grp.getgrnam(group).gr_gid
    assert (stat.S_IMODE(state.stat().st_mode), state.stat().st_gid) == (0o2770, gid)

    applied = sbsched(host, "apply", "-f", "schedules.yaml", user=member)
    assert applied.returncode == 0, applied.stderr
    ran = sbsched(host, "run", "nightly", user=member)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    history = sbsched(host, "history", "-o", "json", user=member)
    assert history.returncode == 0, history.stderr
    assert [item["status"] for item in json.loads(history.stdout)["items"]] == ["completed"]

    refused = sbsched(host, "list", user=outsider)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"sbsched: error: {outsider} may not use the shared state dir {state}")
    assert "Traceback" not in refused.stderr and refused.stdout == ""

    for path in [state, *state.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o007 == 0, f"{path} is {mode:04o}: readable by others"
        assert path.lstat().st_gid == gid, f"{path} is not group {group}'s"
    assert stat.S_IMODE((state / "state.json").stat().st_mode) == 0o660
    audit = [json.loads(line) for line in (state / "logs" / "audit.log").read_text().splitlines()]
    assert audit and {entry["user"] for entry in audit} == {member}, audit


def test_a_state_dir_the_system_file_does_not_name_stays_private(team, host, tmp_path):
    group, member, _ = team
    (host / "etc").mkdir(mode=0o755)
    (host / "etc" / "scheduler.yaml").write_text(
        f"storageConfig: {{baseDir: {host / 'shared'}}}\nallowedGroups: [{group}]\n")
    own = tmp_path / "mine"
    listed = sbsched(host, "--state-dir", str(own), "cleanup")
    assert listed.returncode == 0, listed.stderr
    assert stat.S_IMODE(own.stat().st_mode) == 0o700


def test_sharing_keys_outside_the_system_file_are_refused_in_one_line(host, tmp_path):
    own = tmp_path / "mine"
    own.mkdir(mode=0o700)
    (own / "state.json").write_text('{"serial": 0, "schedules": {}}')
    (own / "config.yaml").write_text("allowedGroups: [wheel]\n")
    started = sbsched(host, "--state-dir", str(own), "daemon", "start", "--foreground")
    assert started.returncode == 2
    assert "allowedGroups: only the system file" in started.stderr and "Traceback" not in started.stderr


def test_a_listed_user_outside_the_files_group_is_told_the_fix_and_a_group_is_required(team, host):
    group, _, outsider = team
    state = host / "state"
    (host / "etc").mkdir(mode=0o755)
    config = host / "etc" / "scheduler.yaml"
    config.write_text(f"storageConfig: {{baseDir: {state}}}\nallowedUsers: [{outsider}]\nallowedGroups: [{group}]\n")
    config.chmod(0o644)
    refused = sbsched(host, "list", user=outsider)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines()[0] == (f"sbsched: error: {outsider} is allowed to use {state} but is not a "
                                              f"member of group {group}, which its files belong to")
    assert f"usermod -aG {group} {outsider}" in refused.stderr and "Traceback" not in refused.stderr

    config.write_text(f"storageConfig: {{baseDir: {state}}}\nallowedUsers: [{outsider}]\n")
    alone = sbsched(host, "list")
    assert alone.returncode == 2 and "allowedUsers needs allowedGroups" in alone.stderr
    assert not state.exists()
