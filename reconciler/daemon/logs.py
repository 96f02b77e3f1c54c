"""The daemon's log lines: text, JSON or logfmt, one event per line, and the rotating file of a background daemon.

Run events carry the run's `schedule` and `execution_id` as fields: keys of the JSON object, or
`key=value` pairs after the message in text. The daemon passes them with `extra=run_fields(...)`; lines
logged inside a run (upload, webhooks, retention) get them from `run_context`, which the worker thread
enters for the run's duration.

A background daemon (`daemon start` without `--foreground`) logs to logs/daemon.log through a
size-rotating handler (10 MiB, 5 old files kept, each 0600). Its stdout and stderr point at the same
file, so a crash before logging is set up, or a traceback a thread prints, is not lost; after each
rotation they are pointed at the new file.
"""
from __future__ import annotations

import contextlib
import contextvars
import io
import json
import logging
import logging.handlers
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ..base.masking import mask_text
from ..run.run_log import COMPONENTS
from ..store.paths import ensure_dir, file_mode

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
FIELDS = "sbsched_fields"       # the LogRecord attribute that carries an event's fields
_RUN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("sbsched_run", default=None)


def run_fields(schedule: str, execution_id: str, **more: Any) -> dict[str, Any]:
    """`extra=` for a run event: schedule and execution_id first, then `more` (status, reason, ...)."""
    return {FIELDS: {"schedule": schedule, "execution_id": execution_id, **more}}


@contextlib.contextmanager
def run_context(schedule: str, execution_id: str) -> Iterator[None]:
    """Lines logged in this block (this thread) carry the run's schedule and execution_id."""
    token = _RUN.set({"schedule": schedule, "execution_id": execution_id})
    try:
        yield
    finally:
        _RUN.reset(token)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    explicit = getattr(record, FIELDS, None)
    if explicit is not None:
        return explicit  # type: ignore[no-any-return]
    return _RUN.get() or {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        entry.update((k, v) for k, v in fields(record).items() if k not in entry)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return mask_text(json.dumps(entry, default=str))   # a presigned URL's signature never reaches a log


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = mask_text(super().format(record))   # a presigned URL's signature never reaches a log
        pairs = " ".join(f"{key}={_text_value(value)}" for key, value in fields(record).items() if value is not None)
        if not pairs:
            return line
        head, newline, rest = line.partition("\n")  # a traceback stays below the event's line
        return f"{head} {pairs}{newline}{rest}"


def _text_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c in text for c in ' "=\n\t') else text


class LogfmtFormatter(logging.Formatter):
    """`time=... level=error component=executor msg="..." schedule=... execution_id=...`: the lines
    troubleshoot's scheduler PRD greps for. `component` is the logger's last name (sbsched.executor:
    executor), troubleshoot's where it has another (delivery: uploader); a traceback goes in `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        name = record.name.rpartition(".")[2] if record.name != "sbsched" else "sbsched"
        pairs: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": {"warning": "warn", "critical": "error"}.get(record.levelname.lower(), record.levelname.lower()),
            "component": COMPONENTS.get(name, name), "msg": record.getMessage()}
        pairs.update((k, v) for k, v in fields(record).items() if k not in pairs and v is not None)
        if record.exc_info:
            pairs["exception"] = self.formatException(record.exc_info)
        return mask_text(" ".join(f"{key}={_text_value(value)}" for key, value in pairs.items()))


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter,
                                                  "logfmt": LogfmtFormatter}
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
          "error": logging.ERROR}


class RotatingLog(logging.handlers.RotatingFileHandler):
    """logs/daemon.log: rotated by size, every file 0600; with `capture_std`, fds 1 and 2 follow the
    current file."""

    def __init__(self, path: Path, *, capture_std: bool = False, max_bytes: int = MAX_BYTES,
                 backups: int = BACKUPS, owned: bool = True) -> None:
        ensure_dir(path.parent)
        self.capture_std = capture_std
        self.owned = owned   # False: a --log-file of the user's, whose mode is theirs if it exists
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._point_std()

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW
        try:
            fd = os.open(self.baseFilename, flags | os.O_CREAT | os.O_EXCL, file_mode())
        except FileExistsError:
            fd = os.open(self.baseFilename, flags)
            if not self.owned:
                return open(fd, "a", encoding=self.encoding, errors=self.errors)
        os.fchmod(fd, file_mode())   # made by us (whatever the umask left), or ours in the state dir
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def doRollover(self) -> None:
        super().doRollover()
        self._point_std()

    def _point_std(self) -> None:
        if self.capture_std and self.stream is not None:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(AttributeError, ValueError, OSError):
                    stream.flush()
            os.dup2(self.stream.fileno(), 1)
            os.dup2(self.stream.fileno(), 2)


def configure_logging(log_format: str, *, log_file: Path | None = None, level: str = "info",
                      owned: bool = True) -> None:
    """sbsched.* loggers at `level` to stderr, or to `log_file` (rotated, with stdout/stderr following
    it; `owned`: in the state dir, kept 0600). The loggers pass info on whatever `level` says, so that a
    run's own log (run_log) keeps its info lines when the daemon's log shows errors only."""
    handler: logging.Handler = (RotatingLog(log_file, capture_std=True, owned=owned) if log_file is not None
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(FORMATTERS[log_format]())
    handler.setLevel(LEVELS[level])
    root = logging.getLogger("sbsched")
    for old in root.handlers:
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(min(LEVELS[level], logging.INFO))
