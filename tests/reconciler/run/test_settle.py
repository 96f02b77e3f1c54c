"""settle(): every rule of a run's status, reason and error class, from its stages' results alone (no disk)."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from reconciler.base.errors import PERMANENT, TRANSIENT, SbschedError, TransientError
from reconciler.collect.kube.client import ClusterUnreachable
from reconciler.run.settle import Outcome, Raised, Results, Uploaded, raised, settle, worth_sending
from reconciler.store.records import new_record

SLOT = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
TIMED = dict(timeout_seconds=1800, collection_seconds=1440.0)
UPLOADED = Uploaded()
REFUSED = Uploaded(PERMANENT, "403 Forbidden", attempts=1)
FLAKY = Uploaded(TRANSIENT, "503 Service Unavailable", attempts=3)
LATE = Uploaded(TRANSIENT, "timed out", attempts=2, past_deadline=True)
STOPPED = Uploaded(TRANSIENT, "the run was cancelled", attempts=1, cancelled_by="shutdown")


def outcome(results: Results) -> tuple[str, str | None, str | None]:
    settled = settle(results)
    return settled.status, settled.reason, settled.error_class


@pytest.mark.parametrize(("results", "expected"), [
    (Results(), ("completed", None, None)),
    (Results(low_disk="only 5 bytes free"), ("skipped", "low-disk", PERMANENT)),
    (Results(cancelled="replaced"), ("failed", "replaced", PERMANENT)),
    (Results(too_large="the bundle reached it"), ("failed", "bundle-too-large", PERMANENT)),
    (Results(timed_out=True, **TIMED), ("failed", "timeout", PERMANENT)),
    (Results(failed_analyzers=2, fail_run=True), ("failed", "analysis", PERMANENT)),
    (Results(failed_analyzers=2, fail_run=False), ("completed", None, None)),
    (Results(failed_analyzers=0, fail_run=True), ("completed", None, None)),
    (Results(raised=Raised("cluster-unreachable", TRANSIENT, "no answer")), ("failed", "cluster-unreachable", TRANSIENT)),
    (Results(raised=Raised(None, PERMANENT, "bad spec")), ("failed", "spec", PERMANENT)),
    (Results(timed_out=True, raised=Raised(None, PERMANENT, "bad spec"), **TIMED), ("failed", "timeout", PERMANENT)),
    (Results(raised=Raised("interrupted", PERMANENT, "the run was interrupted"), upload=UPLOADED),
     ("failed", "interrupted", PERMANENT)),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_stage_result_settles_the_run_so(results, expected):
    assert outcome(results) == expected


def test_the_first_objection_in_order_wins_for_every_combination_of_them():
    order = ["low_disk", "raised", "cancelled", "too_large", "timed_out", "analysis"]
    values = {"low_disk": dict(low_disk="low"), "raised": dict(raised=Raised("error", TRANSIENT, "io")),
              "cancelled": dict(cancelled="replaced"), "too_large": dict(too_large="big"),
              "timed_out": dict(timed_out=True, **TIMED), "analysis": dict(failed_analyzers=1, fail_run=True)}
    reasons = {"low_disk": "low-disk", "raised": "error", "cancelled": "replaced", "too_large": "bundle-too-large",
               "timed_out": "timeout", "analysis": "analysis"}
    for size in range(1, len(order) + 1):
        for chosen in itertools.combinations(order, size):
            fields = {k: v for name in chosen for k, v in values[name].items()}
            assert settle(Results(**fields)).reason == reasons[chosen[0]], chosen


def test_the_messages_say_what_was_passed_and_how_much_collection_had():
    assert settle(Results(timed_out=True, **TIMED)).message == (
        "the run exceeded policy.timeoutSeconds (1800s: collection had 1440s of it, the rest is kept for the "
        "upload); the bundle is partial")
    assert settle(Results(timed_out=True, timeout_seconds=60, collection_seconds=60.0)).message == (
        "the run exceeded policy.timeoutSeconds (60s); the bundle is partial")
    assert settle(Results(cancelled="shutdown")).message == "the run was stopped: shutdown"
    assert settle(Results(failed_analyzers=3, fail_run=True)).message == (
        "3 analyzer(s) failed (analyze.failRun is true); see analysis.json")


@pytest.mark.parametrize(("upload", "expected", "message"), [
    (UPLOADED, ("completed", None, None), None),
    (REFUSED, ("failed", "upload", PERMANENT), "upload failed after 1 attempt(s): 403 Forbidden"),
    (FLAKY, ("failed", "upload", TRANSIENT), "upload failed after 3 attempt(s): 503 Service Unavailable"),
    (LATE, ("failed", "timeout", TRANSIENT),
     "the upload did not finish within policy.timeoutSeconds (1800s): timed out"),
    (STOPPED, ("failed", "shutdown", PERMANENT), "the run was stopped during its upload: shutdown"),
])
def test_a_completed_runs_upload_result_settles_it_again(upload, expected, message):
    settled = settle(Results(upload=upload, **TIMED))
    assert (settled.status, settled.reason, settled.error_class) == expected
    assert settled.message == message


@pytest.mark.parametrize("upload", [UPLOADED, REFUSED, FLAKY, LATE])
@pytest.mark.parametrize("partial", [dict(timed_out=True), dict(too_large="big")])
def test_a_partial_bundles_upload_leaves_its_reason_unless_the_run_is_stopped_meanwhile(upload, partial):
    before = settle(Results(**partial, **TIMED))
    assert settle(Results(**partial, **TIMED, upload=upload)) == before
    assert outcome(Results(**partial, **TIMED, upload=STOPPED)) == ("failed", "shutdown", PERMANENT)


@pytest.mark.parametrize(("settled", "sent"), [
    (Outcome("completed"), True), (Outcome("failed", "timeout"), True), (Outcome("failed", "bundle-too-large"), True),
    (Outcome("failed", "analysis"), False), (Outcome("failed", "replaced"), False), (Outcome("skipped", "low-disk"), False),
    (Outcome("failed", "spec"), False),
])
def test_only_a_completed_or_a_still_wanted_partial_bundle_is_worth_sending(settled, sent):
    assert worth_sending(settled) is sent


def test_the_record_gets_status_reason_and_error_and_nothing_else():
    running = new_record("s-20260601T0200Z", "s", "d", trigger="schedule", slot=SLOT, dispatched=SLOT, status="running")
    failed = Outcome("failed", "upload", TRANSIENT, "503").onto(running)
    assert failed.to_json() == {**running.to_json(), "status": "failed", "reason": "upload",
                                "error": {"class": TRANSIENT, "message": "503"}}
    assert Outcome("completed").onto(failed).to_json() == {**running.to_json(), "status": "completed"}


def test_an_exception_becomes_a_result_classed_by_its_type():
    class Interrupted(BaseException):
        pass

    assert raised(TransientError("down")) == Raised("error", TRANSIENT, "down")
    assert raised(ClusterUnreachable("https://127.0.0.1:9: refused")).reason == ClusterUnreachable.reason
    assert raised(SbschedError("bad spec")) == Raised(None, PERMANENT, "bad spec")
    assert raised(OSError(28, "No space left on device")) == Raised(
        "error", TRANSIENT, "OSError: [Errno 28] No space left on device")
    assert raised(Interrupted()) == Raised("interrupted", TRANSIENT, "the run was interrupted")
    assert raised(KeyboardInterrupt()).reason == "interrupted"
