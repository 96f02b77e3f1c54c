"""Typed execution records (design §5): what one run did, as a frozen value read once from its JSON.

Why in store/: the record is written and listed here (executions.py), and run/ (which builds it),
plan/ (which settles a schedule's status from it) and daemon/ (which retries, counts and recovers
runs from it) all sit above store/, so this is the lowest layer every one of them can see.

The JSON on disk is the contract, so `to_json` gives back exactly what was read, byte for byte once
encoded, and a record built by the executor gives exactly the JSON it wrote as a dict before types:
- top-level keys keep the order they were read in (or, for a new record, the contract's order); a
  key set later is added after them, and an optional key (runner, after, logs, ...) set to None is
  left out, as it was popped before. A contract key an older record lacks stays missing unless set.
- keys this version does not know are kept, where they were.
- each part (bundle, upload, error, redaction, analysis, after, runner) keeps its JSON as it was
  written and types the keys readers use, the ones `executions.shape_problem` checks: a hand-edited
  or older part round-trips unchanged, and a reader never trips over a key nobody checked.
A record `shape_problem` rejects is never built: the listing skips it (and names it once) before.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Self

# the contract's keys of every record, in the order a new record has them (design §5)
CONTRACT = ("id", "schedule", "set", "trigger", "scheduledTime", "dispatchTime", "startTime", "endTime",
            "durationSeconds", "status", "reason", "attempt", "bundle", "redaction", "warnings", "analysis",
            "upload", "error")


@dataclass(frozen=True)
class _Part:
    """A nested object of the record: its JSON as written, the keys readers use typed below."""

    document: Mapping[str, Any]

    @classmethod
    def from_json(cls, value: Any) -> Self | None:
        """None stays None; anything else is kept as it is (shape_problem checked the keys typed here)."""
        return None if value is None else cls(value)

    def to_json(self) -> Any:
        return dict(self.document) if isinstance(self.document, Mapping) else self.document

    def _get(self, key: str) -> Any:
        return self.document.get(key) if isinstance(self.document, Mapping) else None

    def _text(self, key: str) -> str | None:
        value = self._get(key)
        return value if isinstance(value, str) else None

    def _int(self, key: str) -> int | None:
        value = self._get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class Bundle(_Part):
    """bundle: the archive a run wrote, `{path, sizeBytes, sha256, collectors, collectorResults}`."""

    @classmethod
    def of(cls, *, path: str, size_bytes: int, sha256: str, collectors: Mapping[str, int],
           collector_results: list[Any]) -> Bundle:
        return cls({"path": path, "sizeBytes": size_bytes, "sha256": sha256, "collectors": dict(collectors),
                    "collectorResults": collector_results})

    @property
    def path(self) -> str | None:
        return self._text("path")

    @property
    def sha256(self) -> str | None:
        return self._text("sha256")

    @property
    def size_bytes(self) -> int | None:
        return self._int("sizeBytes")


class Upload(_Part):
    """upload: `{url, status: uploaded|failed, attempts, bytes, durationSeconds, error}` (run/delivery.py)."""

    @property
    def url(self) -> str | None:
        return self._text("url")

    @property
    def status(self) -> str | None:
        return self._text("status")


class Error(_Part):
    """error: `{class: transient|permanent, message}`."""

    @classmethod
    def of(cls, error_class: str, message: str | None) -> Error:
        return cls({"class": error_class, "message": message})

    @property
    def error_class(self) -> str | None:
        return self._text("class")

    @property
    def message(self) -> str | None:
        return self._text("message")


class Redaction(_Part):
    """redaction: what redaction masked (redact/tree.py), and the token map's summary when it made one."""

    def with_tokens(self, tokens: Mapping[str, Any]) -> Redaction:
        return Redaction({**self.document, "tokens": tokens})


class Analysis(_Part):
    """analysis: `{pass, warn, fail, failing: [titles of the failing analyzers]}`."""

    @classmethod
    def of(cls, counts: Mapping[str, int], failing: list[str]) -> Analysis:
        return cls(dict(counts, failing=failing))

    def count(self, outcome: str) -> int:
        """How many analyzers ended `pass`, `warn` or `fail` (0 when the record does not say)."""
        return int(self._get(outcome) or 0)

    @property
    def failing(self) -> list[str]:
        return list(self._get("failing") or [])


class After(_Part):
    """after: the run a `dependency` run follows, `{schedule, executionId, status}`."""


class Runner(_Part):
    """runner: the process running it, `{pid, host}`: recovery tells a live run from a dead one by it."""


# JSON key → (field, part type or None for a JSON value kept as it is)
_KEYS: dict[str, tuple[str, type[_Part] | None]] = {
    "id": ("id", None), "schedule": ("schedule", None), "set": ("set", None), "trigger": ("trigger", None),
    "scheduledTime": ("scheduled_time", None), "dispatchTime": ("dispatch_time", None),
    "startTime": ("start_time", None), "endTime": ("end_time", None), "durationSeconds": ("duration_seconds", None),
    "status": ("status", None), "reason": ("reason", None), "attempt": ("attempt", None),
    "bundle": ("bundle", Bundle), "redaction": ("redaction", Redaction), "warnings": ("warnings", None),
    "analysis": ("analysis", Analysis), "upload": ("upload", Upload), "error": ("error", Error),
    "recoveredFrom": ("recovered_from", None), "after": ("after", After), "runner": ("runner", Runner),
    "collectorProcesses": ("collector_processes", None), "clusterSpecs": ("cluster_specs", None),
    "autoDiscovery": ("auto_discovery", None), "nextAttemptTime": ("next_attempt_time", None), "logs": ("logs", None),
}


@dataclass(frozen=True)
class ExecutionRecord:
    """One run's record. Times are kept as the ISO 8601 text stored (byte for byte); `keys` is the order
    of the keys present when read or created, `extra` the keys this version does not know."""

    id: str
    schedule: str
    scheduled_time: str
    status: str
    set: str | None = None
    trigger: str | None = None
    dispatch_time: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration_seconds: float | None = None
    reason: str | None = None
    attempt: int | None = None
    bundle: Bundle | None = None
    redaction: Redaction | None = None
    warnings: Any = None          # a count of collector warnings, as stored
    analysis: Analysis | None = None
    upload: Upload | None = None
    error: Error | None = None
    recovered_from: str | None = None   # `recover`: the execution this run does again
    after: After | None = None
    runner: Runner | None = None
    collector_processes: Any = None     # while collecting: how recovery finds its collectors' processes
    cluster_specs: Any = None
    auto_discovery: Any = None
    next_attempt_time: str | None = None   # status `retrying`: when the daemon tries again
    logs: Any = None
    keys: tuple[str, ...] = CONTRACT
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> ExecutionRecord:
        """From a record `executions.shape_problem` accepts (older and hand-edited ones included)."""
        values: dict[str, Any] = {}
        for key, value in record.items():
            name, part = _KEYS.get(key, (None, None))
            if name is not None:
                values[name] = part.from_json(value) if part is not None else value
        return cls(**values, keys=tuple(record), extra={k: v for k, v in record.items() if k not in _KEYS})

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, in the key order described above (executions.write masks and encodes it)."""
        out: dict[str, Any] = {}
        for key in (*self.keys, *(k for k in _KEYS if k not in self.keys)):
            if key in self.extra:
                out[key] = self.extra[key]
                continue
            if key not in _KEYS:
                continue
            value = getattr(self, _KEYS[key][0])
            if value is None and not (key in CONTRACT and key in self.keys):
                continue
            out[key] = value.to_json() if isinstance(value, _Part) else value
        return out

    @property
    def first_attempt(self) -> bool:
        """Attempt 1, or a record older than retries (no `attempt` at all; a null one is not)."""
        return self.attempt == 1 or (self.attempt is None and "attempt" not in self.keys)

    @property
    def error_class(self) -> str | None:
        return None if self.error is None else self.error.error_class


def new_record(run_id: str, schedule: str, set_name: str, *, trigger: str, slot: datetime, dispatched: datetime,
               status: str, attempt: int = 1) -> ExecutionRecord:
    """An execution record with every key of the contract (design §5) present, values to be filled."""
    return ExecutionRecord(run_id, schedule, slot.isoformat(), status, set=set_name, trigger=trigger,
                           dispatch_time=dispatched.isoformat(), attempt=attempt, warnings=0,
                           analysis=Analysis.of({"pass": 0, "warn": 0, "fail": 0}, []))

