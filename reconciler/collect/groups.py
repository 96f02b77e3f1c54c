"""The processes a run's collectors start, so that none outlives its run.

A run that ends, however it ends (done, timed out, cancelled, interrupted by a signal), kills its
collectors' groups when collection stops (`ProcessGroups.close`), before redaction reads the staging dir;
a collector thread the run gave up on that starts a child after that sees it killed at once.

A run whose process is killed -9 (`sbsched run`, or the daemon) cannot do that, so its running execution
record says how to find them (`collectorProcesses`), and recovery kills what is still alive:
- `groups`: each child leads its own session (host/proc.py), so its group id names everything it started.
  A pid is reused once its process and group are gone, so each entry also holds its leader's start time
  (/proc/<pid>/stat field 22), and the entry its boot: a group is killed only while provably the one
  recorded.
- `cookie`: a random value in every child's environment (SBSCHED_RUN_COOKIE), which their descendants
  inherit; recorded before the first child starts. It finds a child forked in the instant before its group
  reached the record (the write takes milliseconds), and descendants that left the group; a process that
  carries the cookie can only descend from this run (as Jenkins' ProcessTreeKiller finds a build's
  processes by its BUILD_ID cookie).
"""
from __future__ import annotations

import functools
import os
import secrets
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

COOKIE_ENV = "SBSCHED_RUN_COOKIE"
_START_FIELD = 22    # /proc/<pid>/stat: starttime, in clock ticks after boot
_SCANS = 5           # cookie carriers may fork while recovery looks: look again, this many times at most


@dataclass(frozen=True)
class Group:
    pgid: int
    start_ticks: int   # its leader's start time

    def to_json(self) -> dict[str, Any]:
        return {"pgid": self.pgid, "startTicks": self.start_ticks}

    @classmethod
    def from_json(cls, entry: object) -> Group | None:
        """None for an entry that is not one (a hand-edited record): nothing is killed for it."""
        if not isinstance(entry, Mapping):
            return None
        pgid, ticks = entry.get("pgid"), entry.get("startTicks")
        return cls(pgid, ticks) if type(pgid) is int and pgid > 1 and type(ticks) is int else None


class ProcessGroups:
    """One run's collector processes. The record holds `to_json()` before any child starts (its cookie);
    `on_change` gets it anew each time the live groups change while the run collects, under a lock, so
    never twice at once."""

    def __init__(self, on_change: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.cookie = secrets.token_hex(16)
        self._on_change = on_change
        self._groups: dict[int, Group] = {}
        self._closed = False
        self._lock = threading.Lock()

    def environ(self, env: Mapping[str, str] | None) -> dict[str, str]:
        """A child's environment: `env` (None: this process's) with the run's cookie."""
        return {**(os.environ if env is None else env), COOKIE_ENV: self.cookie}

    def started(self, pid: int) -> None:
        """Register the group `pid` leads (it must not be reaped yet); killed at once after `close`."""
        with self._lock:
            if self._closed:
                _killpg(pid)
                return
            stat = _stat(pid)
            if stat is None:
                return   # cannot be: an unreaped child keeps its /proc entry
            self._groups[pid] = Group(pid, stat[2])
            self._changed()

    def ended(self, pid: int) -> None:
        """The group was killed and its leader reaped: it no longer needs killing."""
        with self._lock:
            if self._groups.pop(pid, None) is not None and not self._closed:
                self._changed()

    def close(self) -> None:
        """Collection is over: kill every group still registered, and any started from now on."""
        with self._lock:
            self._closed = True
            for pid in self._groups:
                _killpg(pid)   # leaders not reaped yet (their collector threads do): the ids are still theirs

    def to_json(self) -> dict[str, Any]:
        return {"bootId": boot_id(), "cookie": self.cookie,
                "groups": [g.to_json() for g in sorted(self._groups.values(), key=lambda g: g.pgid)]}

    def __enter__(self) -> ProcessGroups:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.to_json())


def kill_recorded(entry: object) -> list[int]:
    """Kill what an interrupted run's `collectorProcesses` names and is still its own (nothing after a
    reboot); the process group ids killed."""
    if not isinstance(entry, Mapping) or entry.get("bootId") != boot_id() or not boot_id():
        return []
    killed = set()
    listed = entry.get("groups")
    for group in map(Group.from_json, listed if isinstance(listed, list) else []):
        if group is not None and _still_recorded(group):
            _killpg(group.pgid)
            killed.add(group.pgid)
    cookie = entry.get("cookie")
    if isinstance(cookie, str) and len(cookie) >= 16:
        marker = f"{COOKIE_ENV}={cookie}".encode()
        for _ in range(_SCANS):
            carriers = [pid for pid in _pids() if pid != os.getpid() and marker in _environ(pid)]
            for pid in carriers:
                stat = _stat(pid)
                _kill(pid)
                if stat is not None and stat[0] > 1:   # its group: led by the run's tree, like itself
                    _killpg(stat[0])
                    killed.add(stat[0])
            if not carriers:
                break
    return sorted(killed)


def _still_recorded(group: Group) -> bool:
    """Whether live processes of `group` are the recorded run's. The leader alive: its start time must
    match. The leader gone (it exited; its background children live on): a pid stays reserved while any
    process has it as its group or session id, so the members, sessions of their own led by that pid and
    started after the leader, are the recorded group's (a reused pid would need its new owner to have
    led a session and exited in turn)."""
    leader = _stat(group.pgid)
    if leader is not None:   # a zombie too: its id stays reserved, so its members are still the group
        return leader[2] == group.start_ticks
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None and stat[0] == stat[1] == group.pgid and stat[2] >= group.start_ticks \
                and stat[3] != "Z":
            return True
    return False


@functools.cache
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """(pgrp, session, start ticks, state) of a process; None when there is none. The command name (field
    2) may hold spaces and parentheses, so fields are counted after its last ')'."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()   # fields[0] is field 3 (state)
    try:
        return int(fields[2]), int(fields[3]), int(fields[_START_FIELD - 3]), fields[0]
    except (IndexError, ValueError):
        return None


def _environ(pid: int) -> list[bytes]:
    """The environment a process started with (empty for a zombie, or another user's process)."""
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass   # gone already, or not ours to signal
