"""A run's collector processes (collect/groups.py), on real processes: a run kills what its collectors
left when collection ends, and recovery kills what a killed run recorded (its groups, and whatever
carries its cookie), never a group whose id now belongs to someone else (another start time, another
boot)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from reconciler.collect.groups import COOKIE_ENV, Group, ProcessGroups, boot_id, kill_recorded

from ...conftest import wait_until


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _alive(pgid: int) -> bool:
    """Any process of the group that is not a zombie (init here does not reap orphans)."""
    return any((s := _stat(int(p))) is not None and int(s[2]) == pgid and s[0] != "Z"
               for p in os.listdir("/proc") if p.isdigit())


def _entry(*pids: int, ticks_off: int = 0, boot: str | None = None, cookie: str = "") -> dict:
    """A record's `collectorProcesses` for these group leaders."""
    groups = []
    for pid in pids:
        stat = _stat(pid)
        assert stat is not None
        groups.append(Group(pid, int(stat[19]) + ticks_off).to_json())
    return {"bootId": boot_id() if boot is None else boot, "cookie": cookie, "groups": groups}


@pytest.fixture
def group():
    """A shell leading its own session with a background sleep; it waits on stdin, so it exits when told.
    Whatever is left is killed by id at the end."""
    started: list[subprocess.Popen] = []

    def start(env: dict | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(["sh", "-c", "sleep 295.5 & read line"], stdin=subprocess.PIPE,
                                start_new_session=True, env=env)
        started.append(proc)
        wait_until(lambda: sum(1 for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p)))
                               and int(s[2]) == proc.pid) == 2, what="the group's two processes")
        return proc

    yield start
    for proc in started:
        if _alive(proc.pid):
            os.killpg(proc.pid, 9)
        proc.stdin.close()
        proc.wait()


def test_recovery_kills_a_recorded_group_whose_leader_still_has_its_start_time(group):
    proc = group()
    assert kill_recorded(_entry(proc.pid)) == [proc.pid]
    wait_until(lambda: not _alive(proc.pid), what="the group to die")


def test_a_reused_pid_or_another_boot_is_never_killed(group):
    proc = group()
    assert kill_recorded(_entry(proc.pid, ticks_off=1)) == []
    assert kill_recorded(_entry(proc.pid, boot="another-boot")) == []
    assert _alive(proc.pid)


def test_the_members_of_a_group_whose_leader_exited_are_killed(group):
    proc = group()
    entry = _entry(proc.pid)
    proc.stdin.close()
    proc.wait()          # the leader is gone and reaped; its background sleep keeps the group
    assert _alive(proc.pid)
    assert kill_recorded(entry) == [proc.pid]
    wait_until(lambda: not _alive(proc.pid), what="the group to die")


def test_a_child_forked_before_its_group_reached_the_record_is_found_by_the_runs_cookie(group):
    runs = ProcessGroups()
    unrecorded, other = group(runs.environ(None)), group(ProcessGroups().environ(None))
    assert kill_recorded({"bootId": boot_id(), "cookie": runs.cookie, "groups": []}) == [unrecorded.pid]
    wait_until(lambda: not _alive(unrecorded.pid), what="the cookie's carriers to die")
    assert _alive(other.pid)   # another run's cookie


def test_entries_that_are_not_a_runs_processes_are_ignored():
    assert kill_recorded(None) == []
    assert kill_recorded({"bootId": boot_id(), "cookie": "", "groups": [{"pgid": "1"}, "x",
                          {"pgid": 1, "startTicks": 0}, {"pgid": True, "startTicks": 1}]}) == []
    assert kill_recorded({"bootId": boot_id(), "cookie": "short", "groups": None}) == []


def test_a_run_lists_its_groups_while_collecting_and_kills_them_when_collection_ends(group):
    seen: list[list[int]] = []
    first, second = group(), group()
    with ProcessGroups(lambda entry: seen.append([g["pgid"] for g in entry["groups"]])) as groups:
        assert groups.environ({"A": "1"}) == {"A": "1", COOKIE_ENV: groups.cookie}
        groups.started(first.pid)
        groups.started(second.pid)
        groups.ended(first.pid)
    assert seen == [[first.pid], sorted([first.pid, second.pid]), [second.pid]]
    wait_until(lambda: not _alive(second.pid), what="the registered group to be killed at close")
    assert _alive(first.pid)   # `ended`: its collector had already killed and reaped it
    late = group()
    groups.started(late.pid)   # a collector the run gave up on starts a child after the end
    wait_until(lambda: not _alive(late.pid), what="a group started after close to be killed at once")
    assert seen[-1] == [second.pid]
