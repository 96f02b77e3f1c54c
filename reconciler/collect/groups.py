"""The process groups a run's collectors start, so that none outlives its run.

Each collector child leads its own session (host/proc.py), so a group id names everything it started.
While a run collects, its live groups are listed in its execution record (`processGroups`): a run whose
process is killed -9 (`sbsched run`, or the daemon) cannot kill them itself, and recovery kills what is
still alive from that list. A pid is reused once its process and group are gone, so each entry also holds
its leader's start time (/proc/<pid>/stat field 22) and the boot it belongs to: a group is killed only
while it is provably the one recorded. A run that ends, however it ends, kills its groups when collection
stops (`ProcessGroups.close`), before redaction reads the staging dir; a collector thread that starts a
child after that (one the run gave up on) sees its group killed at once.
"""
from __future__ import annotations

import functools
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

_START_FIELD = 22   # /proc/<pid>/stat: starttime, in clock ticks after boot


@dataclass(frozen=True)
class Group:
    pgid: int
    start_ticks: int   # its leader's start time
    boot_id: str       # the boot the ticks count from

    def to_json(self) -> dict[str, Any]:
        return {"pgid": self.pgid, "startTicks": self.start_ticks, "bootId": self.boot_id}

    @classmethod
    def from_json(cls, entry: object) -> Group | None:
        """None for an entry that is not one (a hand-edited record): nothing is killed for it."""
        if not isinstance(entry, Mapping):
            return None
        pgid, ticks, boot = entry.get("pgid"), entry.get("startTicks"), entry.get("bootId")
        if not (type(pgid) is int and pgid > 1 and type(ticks) is int and isinstance(boot, str)):
            return None
        return cls(pgid, ticks, boot)


class ProcessGroups:
    """One run's live collector groups. `on_change` gets the list each time it changes while the run
    collects (the executor writes it into the record), called under a lock, so never twice at once."""

    def __init__(self, on_change: Callable[[list[Group]], None] | None = None) -> None:
        self._on_change = on_change
        self._groups: dict[int, Group] = {}
        self._closed = False
        self._lock = threading.Lock()

    def started(self, pid: int) -> None:
        """Register the group `pid` leads (it must not be reaped yet); killed at once after `close`."""
        with self._lock:
            if self._closed:
                _killpg(pid)
                return
            group = _group_of(pid)
            if group is None:
                return   # gone already (its pid stays reserved until reaped: nothing to record)
            self._groups[pid] = group
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

    def __enter__(self) -> ProcessGroups:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(sorted(self._groups.values(), key=lambda g: g.pgid))


def kill_recorded(entries: object) -> list[int]:
    """Kill the groups an interrupted run recorded that are still the ones it started; their ids."""
    groups = [g for g in map(Group.from_json, entries if isinstance(entries, list) else []) if g is not None]
    if not groups:
        return []
    boot = boot_id()
    killed = []
    for group in groups:
        if group.boot_id == boot and _still_recorded(group):
            _killpg(group.pgid)
            killed.append(group.pgid)
    return killed


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


def _group_of(pid: int) -> Group | None:
    stat = _stat(pid)
    return Group(pid, stat[2], boot_id()) if stat is not None else None


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


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass   # gone already, or not ours to signal
