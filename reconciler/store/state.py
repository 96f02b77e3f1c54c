"""state.json on disk: the one file every command reads and `apply` / the daemon write.

Crash safety: every write goes to a temp file in the same directory, is fsynced, then `os.replace`d
over state.json, and the directory is fsynced; a crash leaves the old or the new file, never a torn
one. The previous state.json is kept as state.json.backup. A corrupt state.json is never overwritten:
reading it raises StateError pointing at the backup.

Locking: a flock on the directory state.lock.d (dirlock: a stray `rm state.lock` cannot split it), then
filelock on state.lock, which sbsched versions before the directory lock take alone. The holder writes
who it is (pid, host, command, since) into state.lock, so a waiter that times out can say who holds it.
filelock 4 opens without O_TRUNC, so waiters do not wipe that record.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from .atomic import atomic_write
from ..base.errors import LockTimeout, StateError
from ..base.gcpause import paused_gc
from .dirlock import DirLock
from .identity import real_user
from .paths import ensure_dir, file_mode

STATE_VERSION = 1


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "serial": 0, "lineage": None, "schedules": {}}


class StateStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "state.json"
        self.backup_path = root / "state.json.backup"
        self.lock_path = root / "state.lock"
        self.lock_dir = root / "state.lock.d"
        self._held = False

    # -- reading -------------------------------------------------------------------------------
    def read(self) -> dict[str, Any]:
        """The current state; an empty one when none was written yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return empty_state()
        except OSError as exc:
            raise StateError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            with paused_gc():
                state = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._corrupt(f"not valid JSON ({exc})") from None
        problem = _shape_problem(state)
        if problem:
            raise self._corrupt(problem)
        return state  # type: ignore[no-any-return]

    def iter_records(self) -> Iterator[tuple[str, bytes]]:
        """(name, the record's compact JSON) per schedule, streamed line by line from the
        one-schedule-a-line layout `serialize` writes, so a reader that keeps only part of each record
        (the daemon) never holds the whole parsed state. Any other layout is read whole instead."""
        try:
            with open(self.path, "rb") as handle:
                if handle.readline().strip() == b"{":
                    yield from _record_lines(handle)
                    return
        except FileNotFoundError:
            return
        except ValueError:
            pass
        for name, record in self.read()["schedules"].items():  # raises StateError when corrupt
            yield name, json.dumps(record, separators=(",", ":")).encode("utf-8")

    def serial(self) -> int:
        """The state's serial (0 when there is no state yet), from the head lines `serialize` writes
        before the schedules, so asking at every daemon wake costs a few hundred bytes, not a parse."""
        head = self.head()
        if head is None or not isinstance(head.get("serial"), int):
            head = self.read()   # another layout (written by hand): read whole
        return int(head["serial"])

    def head(self) -> dict[str, Any] | None:
        """The state's keys but its schedules (version, serial, lineage), from the lines `serialize` writes
        before them; an empty state's when there is none yet; None when the file has another layout."""
        out: dict[str, Any] = {}
        try:
            with open(self.path, "rb") as handle:
                if handle.readline().strip() != b"{":
                    return None
                for line in handle:
                    if line.startswith(b'"schedules"'):
                        return out
                    key, sep, value = line.partition(b": ")
                    if not sep:
                        return None
                    out[json.loads(key)] = json.loads(value.rstrip().rstrip(b","))
        except FileNotFoundError:
            return {k: v for k, v in empty_state().items() if k != "schedules"}
        except ValueError:
            return None
        return None

    def _corrupt(self, why: str) -> StateError:
        hint = (f"the previous state is in {self.backup_path}: inspect it, then copy it over state.json"
                if self.backup_path.exists() else "no state.json.backup exists; restore state.json from a backup")
        return StateError(f"{self.path} is corrupt: {why}; it was left untouched", hint=hint)

    # -- locking -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, *, timeout: float, command: str, now: datetime,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold state.lock for a read-modify-write; LockTimeout names the holder after `timeout` s.
        `on_wait(holder)` is called once if the lock is busy, so a CLI can say what it waits for
        (as terraform's "Acquiring state lock" does) instead of hanging silently."""
        import filelock

        deadline = time.monotonic() + timeout
        guard = DirLock(ensure_dir(self.lock_dir))
        if not guard.acquire(0):
            if on_wait is not None:
                on_wait(self.holder())
            if not guard.acquire(timeout):
                raise self._timed_out(timeout)
        lock = filelock.FileLock(str(self.lock_path), mode=file_mode())
        try:
            lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        except filelock.Timeout:
            guard.release()
            raise self._timed_out(timeout) from None
        try:
            self._write_holder(command, now)
            self._held = True
            yield
        finally:
            self._held = False
            with contextlib.suppress(OSError):
                os.truncate(self.lock_path, 0)
            lock.release()
            guard.release()

    def _timed_out(self, timeout: float) -> LockTimeout:
        return LockTimeout(f"state is locked by {self.holder()}; gave up after {timeout:g}s",
                           hint="wait for it to finish, or raise --lock-timeout")

    def holder(self) -> str:
        """Who holds the lock, as recorded by the holder; best effort."""
        try:
            info = json.loads(self.lock_path.read_text(encoding="utf-8"))
            return (f"pid {info['pid']} on {info['host']} ({info['command']}) since {info['since']}")
        except (OSError, ValueError, KeyError, TypeError):
            return "another sbsched process (holder unknown)"

    def _write_holder(self, command: str, now: datetime) -> None:
        """Into state.lock, created again if a stray `rm` took it since it was locked (the lock is the
        directory's; this file only says who holds it)."""
        info = {"pid": os.getpid(), "host": socket.gethostname(), "user": real_user(), "command": command,
                "since": now.isoformat(timespec="seconds")}
        fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, file_mode())
        with open(fd, "w", encoding="utf-8") as handle:
            handle.truncate(0)
            handle.write(json.dumps(info))

    # -- writing -------------------------------------------------------------------------------
    def write(self, state: dict[str, Any]) -> None:
        """Replace state.json atomically, keeping the old one as state.json.backup. Requires the lock."""
        if not self._held:
            raise RuntimeError("StateStore.write() called without holding the lock")
        if state.get("lineage") is None:
            state["lineage"] = str(uuid.uuid4())
        data = serialize(state)
        with contextlib.suppress(FileNotFoundError):
            atomic_write(self.backup_path, self.path.read_bytes())
        atomic_write(self.path, data)


def _record_lines(handle: Any) -> Iterator[tuple[str, bytes]]:
    """Raises ValueError when the file is not in that layout (a re-read of the whole file follows;
    records yielded before are yielded again, which readers keying by name absorb)."""
    inside = False
    for line in handle:
        if not inside:
            inside = line.startswith(b'"schedules": {')
            if inside and line.rstrip().endswith(b"{}"):
                return
            continue
        if line.startswith(b"}"):
            return
        name, sep, rest = line.partition(b": ")
        if not sep:
            raise ValueError("not the one-schedule-a-line layout")
        yield json.loads(name), rest.rstrip().rstrip(b",")
    raise ValueError("no schedules line: not the one-schedule-a-line layout")


def serialize(state: dict[str, Any]) -> bytes:
    """JSON with one schedule per line: diffable and greppable, yet written by the C encoder (an
    indented dump falls back to the pure-Python encoder, ~10x slower on 10,000 schedules)."""
    head = {k: v for k, v in sorted(state.items()) if k != "schedules"}
    lines = [json.dumps(name) + ": " + json.dumps(record, sort_keys=True, separators=(",", ":"))
             for name, record in sorted(state["schedules"].items())]
    body = "{\n" + "".join(f"{json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
    body += '"schedules": {' + ("\n" + ",\n".join(lines) + "\n" if lines else "") + "}\n}\n"
    return body.encode("utf-8")


def append_line(path: Path, line: str) -> None:
    """Append one line (audit log) with O_APPEND so concurrent writers never interleave within a line;
    a link in its place is refused (O_NOFOLLOW), not appended to."""
    ensure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, file_mode())
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _shape_problem(state: Any) -> str | None:
    if not isinstance(state, dict):
        return "the top level is not an object"
    if not isinstance(state.get("schedules"), dict) or not isinstance(state.get("serial"), int):
        return "missing 'schedules' or 'serial'"
    if state.get("version", STATE_VERSION) > STATE_VERSION:
        return f"written by a newer sbsched (state version {state['version']}); upgrade sbsched"
    for name, record in state["schedules"].items():
        if not (isinstance(record, dict) and isinstance(record.get("set"), str) and isinstance(record.get("spec"), dict)):
            return f"schedule {name!r} has no set or spec"
    return None
