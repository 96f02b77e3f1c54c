"""The error tree. Every error a user can cause is an SbschedError carrying its exit code, so the CLI has
one boundary that turns any of them into a one-line message (and never a traceback)."""
from __future__ import annotations

from dataclasses import dataclass


class SbschedError(Exception):
    """A failure with a user-facing one-line message; exit code 2 unless the contract says otherwise."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(SbschedError):
    """Bad flags or arguments that typer could not catch."""


class ManifestError(SbschedError):
    """The manifest cannot be read, or is invalid where a valid one is required (diff, apply)."""

    def __init__(self, message: str, *, diagnostics: tuple[Diagnostic, ...] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.diagnostics = diagnostics


class TransientError(SbschedError):
    """A failure worth retrying as it is (kopf's TemporaryError): an unreachable API server, a reset.
    A run that fails with one is retried per its policy; any other SbschedError is permanent."""

    reason = "error"   # the execution record's `reason`


class PermanentError(SbschedError):
    """A failure that another attempt would repeat (kopf's PermanentError): a spec the run cannot use,
    credentials refused. Every SbschedError that is not a TransientError is permanent; a family whose
    members can be either (an upload's, the API server's) derives one subclass from each base."""


TRANSIENT = "transient"   # the execution record's `error.class`, and all a retry loop reads
PERMANENT = "permanent"
# HTTP statuses that say "try again later", for uploads, webhooks and the Kubernetes API server alike.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def error_class(error: BaseException, *, unexpected: str = TRANSIENT) -> str:
    """TRANSIENT or PERMANENT: whether another attempt can help, read from the error's type alone. An
    exception outside the tree gets `unexpected`, since what it means depends on where it was caught
    (kopf's per-handler `errors=` mode): to a run, an I/O fault such as a full disk, worth a retry;
    to an upload, a library's surprise or a bug, which a retry would only repeat."""
    if isinstance(error, TransientError):
        return TRANSIENT
    return PERMANENT if isinstance(error, SbschedError) else unexpected


def status_is_transient(status: int) -> bool:
    return status in TRANSIENT_STATUS or status >= 500


class StateError(SbschedError):
    """state.json is unreadable or corrupt; it is never overwritten when this is raised."""


class LockTimeout(SbschedError):
    """Another sbsched process held the state lock for longer than --lock-timeout."""


class UnsafePath(SbschedError):
    """A path sbsched would use, change or delete is not one it made: a symbolic link or another type
    where its state layout has a file or directory, or a directory that is not a state dir."""


class LiteralSecrets(SbschedError):
    """`export kubernetes` would put a secret written literally into a ConfigMap (exit 1, as validate's
    "the manifest is not fit for this"); `apply --target kubernetes` turns it into an error (exit 2)."""

    exit_code = 1


class NotFound(SbschedError):
    """No schedule of that name."""


class ConflictError(SbschedError):
    """The plan would take a schedule that another set owns, or was made against an older state."""


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a manifest, placed at FILE:LINE:COL (1-based) and a JSON path like schedules[0].cron."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path or '<root>'}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"severity": self.severity, "path": self.path, "line": self.line, "column": self.column,
                "message": self.message}
