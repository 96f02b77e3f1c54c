"""Each execution's own log (troubleshoot's `JobExecution.Logs`): what happened in that run, kept in its
execution record as `logs: [{timestamp, level, component, message}]` and shown by `history --logs`.

Two kinds of lines go in: those the executor adds itself (each stage, each collector that failed or was
skipped, with its error), and every line logged on an `sbsched.*` logger by the run's own thread while
it runs (delivery: upload attempts, webhooks, retention), caught by a handler that looks up the thread's
current run in a context variable. The daemon's log is not changed by either.

A record stays small whatever a run logs: at most MAX_LINES lines of at most MAX_MESSAGE characters;
past that, the last line says how many were left out.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from datetime import datetime, timezone
from typing import Any, Iterator

from ..base.masking import mask_text

COMPONENTS = {"delivery": "uploader"}   # troubleshoot's names where they differ (its PRD's log patterns)
MAX_LINES = 200
MAX_MESSAGE = 500
_CURRENT: contextvars.ContextVar[RunLog | None] = contextvars.ContextVar("sbsched_run_log", default=None)


class RunLog:
    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []
        self.dropped = 0

    def add(self, level: str, component: str, message: str, *, when: datetime | None = None) -> None:
        if len(self.entries) >= MAX_LINES - 1:
            self.dropped += 1
            return
        text = mask_text(message)
        self.entries.append({"timestamp": (when or datetime.now(timezone.utc)).isoformat(timespec="milliseconds"),
                             "level": level, "component": component,
                             "message": text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."})

    def to_json(self) -> list[dict[str, str]]:
        if not self.dropped:
            return list(self.entries)
        return [*self.entries, {"timestamp": self.entries[-1]["timestamp"], "level": "warn", "component": "executor",
                                "message": f"{self.dropped} more line(s) not kept (at most {MAX_LINES} per run)"}]


class _Handler(logging.Handler):
    """Hands each sbsched.* record to the run its thread is running, if any."""

    def emit(self, record: logging.LogRecord) -> None:
        current = _CURRENT.get()
        if current is None:
            return
        name = record.name.rpartition(".")[2]
        level = {"warning": "warn", "critical": "error"}.get(record.levelname.lower(), record.levelname.lower())
        current.add(level, COMPONENTS.get(name, name), record.getMessage(),
                    when=datetime.fromtimestamp(record.created, timezone.utc))


_HANDLER = _Handler(logging.INFO)


@contextlib.contextmanager
def capture() -> Iterator[RunLog]:
    """This thread's run log for the block: sbsched.* info lines and above logged here go into it."""
    logger = logging.getLogger("sbsched")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    if logger.getEffectiveLevel() > logging.INFO:   # a CLI run: its stderr handler keeps its own level
        logger.setLevel(logging.INFO)
    run_log = RunLog()
    token = _CURRENT.set(run_log)
    try:
        yield run_log
    finally:
        _CURRENT.reset(token)


def snapshot() -> list[dict[str, str]]:
    """The current run's lines so far (none: no run)."""
    current = _CURRENT.get()
    return current.to_json() if current is not None else []


def note(level: str, component: str, message: str) -> None:
    """A line for the run this thread is running (none: dropped), without going to the daemon's log."""
    current = _CURRENT.get()
    if current is not None:
        current.add(level, component, message)


def lines(entries: Any) -> list[str]:
    """A record's `logs` as text lines: TIME LEVEL COMPONENT MESSAGE."""
    return [f"{e.get('timestamp', '')}  {str(e.get('level', '')):5}  {str(e.get('component', '')):9}  "
            f"{e.get('message', '')}" for e in entries or [] if isinstance(e, dict)]
