"""Pure: what a run's stages returned → the run's status, reason and error class, decided in one place.

The stages (the disk check, collection, redaction, analysis, the archive, encryption, delivery) each
report what happened to them as a value; `settle` reads those values and nothing else, so that every
rule of the record's `status`/`reason`/`error` (design §5) is in this file and tested as a table
(tests/reconciler/run/test_settle.py), and no stage writes them into the record itself. The executor
settles twice: once when the bundle is written (delivery only sends the bundle of a run worth it, see
`worth_sending`), and again with the upload's result, before the webhooks hear of the run.

The precedence, first match wins: skipped for low disk; a stage that raised; cancelled; too large;
timed out; analyzers failing under `failRun`; otherwise completed. A failed upload then turns a
completed run failed (reason `upload`, or `timeout` when it ran past the run's deadline), and a
cancelled upload fails any run with the cancel's reason.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..base.errors import PERMANENT, TRANSIENT, SbschedError, TransientError, error_class
from ..store.records import Error, ExecutionRecord

COMPLETED, FAILED, SKIPPED = "completed", "failed", "skipped"


@dataclass(frozen=True)
class Raised:
    """A stage raised. `reason` None: the reason the run had settled on already, else `spec` (a spec the
    run could not use, which retrying will not fix)."""

    reason: str | None
    error_class: str
    message: str


@dataclass(frozen=True)
class Uploaded:
    """The upload's result. `error_class` None: it arrived. When it gave up before its retries ran out:
    `cancelled_by` the run's cancel reason, or `past_deadline` for the run's deadline."""

    error_class: str | None = None
    message: str = ""
    attempts: int = 1
    cancelled_by: str | None = None
    past_deadline: bool = False


@dataclass(frozen=True)
class Results:
    """What the stages of one run returned, as far as it got (defaults: a stage that did not object)."""

    low_disk: str | None = None        # why the run was skipped before it started
    raised: Raised | None = None
    cancelled: str | None = None       # the cancel's reason, when the run was stopped while collecting
    too_large: str | None = None       # how limits.maxBundleSizeBytes was passed
    timed_out: bool = False            # collection ran out of its share of policy.timeoutSeconds
    timeout_seconds: int = 0           # policy.timeoutSeconds and collection's share, for the message
    collection_seconds: float = 0
    failed_analyzers: int = 0
    fail_run: bool = False             # analyze.failRun
    upload: Uploaded | None = None     # None: nothing was uploaded (no upload, or not worth sending)


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str | None = None
    error_class: str | None = None
    message: str | None = None

    def onto(self, record: ExecutionRecord) -> ExecutionRecord:
        """`record` with this outcome as its `status`, `reason` and `error` (design §5), nothing else."""
        error = None if self.error_class is None else Error.of(self.error_class, self.message)
        return replace(record, status=self.status, reason=self.reason, error=error)


def settle(results: Results) -> Outcome:
    """The run's outcome from its stages' results."""
    if results.low_disk is not None:
        return Outcome(SKIPPED, "low-disk", PERMANENT, results.low_disk)
    if results.raised is not None:
        raised = results.raised
        reason = raised.reason or settle(replace(results, raised=None, upload=None)).reason or "spec"
        return Outcome(FAILED, reason, raised.error_class, raised.message)
    collected = _collected(results)
    return collected if results.upload is None else _delivered(collected, results.upload, results.timeout_seconds)


def worth_sending(outcome: Outcome) -> bool:
    """Whether delivery uploads the bundle of a run that settled so: a completed one, and a partial one
    that is still wanted (timed out, too large)."""
    return outcome.status == COMPLETED or (outcome.status == FAILED
                                           and outcome.reason in ("timeout", "bundle-too-large"))


def raised(exc: BaseException) -> Raised:
    """A stage's exception as a result: its class is the error's type's (base/errors.py); an exception
    outside the tree is an I/O fault (disk full, a vanished file), worth a retry per the policy."""
    if isinstance(exc, TransientError):   # e.g. the API server is down
        return Raised(exc.reason, error_class(exc), str(exc))
    if isinstance(exc, SbschedError):
        return Raised(None, error_class(exc), str(exc))
    if isinstance(exc, Exception):
        return Raised("error", error_class(exc), f"{type(exc).__name__}: {exc}")
    return Raised("interrupted", error_class(exc), "the run was interrupted")


def _collected(results: Results) -> Outcome:
    if results.cancelled is not None:
        return Outcome(FAILED, results.cancelled, PERMANENT, f"the run was stopped: {results.cancelled}")
    if results.too_large is not None:   # permanent: the same specs would collect as much again
        return Outcome(FAILED, "bundle-too-large", PERMANENT, results.too_large)
    if results.timed_out:
        timeout, share = results.timeout_seconds, results.collection_seconds
        kept = "" if share == timeout else f": collection had {share:g}s of it, the rest is kept for the upload"
        return Outcome(FAILED, "timeout", PERMANENT,
                       f"the run exceeded policy.timeoutSeconds ({timeout}s{kept}); the bundle is partial")
    if results.fail_run and results.failed_analyzers:
        return Outcome(FAILED, "analysis", PERMANENT, f"{results.failed_analyzers} analyzer(s) failed "
                                                      "(analyze.failRun is true); see analysis.json")
    return Outcome(COMPLETED)


def _delivered(collected: Outcome, upload: Uploaded, timeout: int) -> Outcome:
    if upload.error_class is None:
        return collected
    if upload.cancelled_by is not None:
        return Outcome(FAILED, upload.cancelled_by, PERMANENT,
                       f"the run was stopped during its upload: {upload.cancelled_by}")
    if collected.status != COMPLETED:   # already failed (a partial bundle): the run's own reason stands
        return collected
    if upload.past_deadline:   # a slow server may recover
        return Outcome(FAILED, "timeout", TRANSIENT,
                       f"the upload did not finish within policy.timeoutSeconds ({timeout}s): {upload.message}")
    return Outcome(FAILED, "upload", upload.error_class,
                   f"upload failed after {upload.attempts} attempt(s): {upload.message}")
