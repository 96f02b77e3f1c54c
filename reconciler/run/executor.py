"""One execution of a schedule, end to end: load its specs, collect, redact, write the bundle, record.

Order matters for secrets: collectors write into a private staging directory (0700, files 0600,
made with those modes whatever the umask, and made anew: a name someone else took first in a shared
--output-dir fails the run rather than being written into), redaction rewrites it in place, and only
then is the archive written; the staging directory is removed whatever happens, without following a
link on the way. The run's `policy.timeoutSeconds` bounds the whole run, delivery included.
Collection gets all of it, or, when the schedule uploads, all but DELIVERY_SHARE of it; redaction and
the archive always follow, so a run that times out still leaves a (partial, redacted) bundle, and the
upload has what is left (at least that share, less the time redaction and the archive took).
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import bundle, redaction_maps, run_log
from ..base.clock import Clock
from ..base.errors import PERMANENT, SbschedError, TransientError, error_class
from ..collect import Budget, CollectorSpec, Output
from ..collect import spec as collect_spec
from ..collect.groups import ProcessGroups
from ..collect.runner import Outcome, Registry, run_collectors, runnable_specs
from ..plan import spec_snapshots
from ..plan.transitions import mark_finished, mark_started
from ..store import executions
from ..store.nofollow import real_directory, rmtree_below
from ..store.paths import ensure_dir, new_private_dir
from ..store.state import StateStore
from ..timing.decisions import slot_id

if TYPE_CHECKING:
    from ..collect.kube.client import Kube
    from ..redact import Redactor

DELIVERY_SHARE = 0.2   # of policy.timeoutSeconds, kept from collection for the upload of what was collected

log = logging.getLogger("sbsched.executor")


@dataclass
class RunOptions:
    trigger: str = "manual"                  # schedule | catch-up | manual
    scheduled_time: datetime | None = None   # the slot; None for a manual run (= now)
    dispatch_time: datetime | None = None
    attempt: int = 1
    output_dir: Path | None = None           # --output: where the archive goes instead of bundles/<schedule>/
    lock_timeout: float = 30.0
    registry: Registry | None = None         # collectors by kind; default: every built-in one
    max_workers: int = 4
    monotonic: Callable[[], float] = field(default=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)  # set to stop the run (Replace, shutdown)
    cancel_reason: str = "cancelled"
    load_entry: Callable[[], Mapping[str, Any]] | None = None  # the schedule's state entry, got in the run's
                                                               # thread; None: read it from the state
    status_sink: StatusSink | None = None    # how status changes reach state.json; None: write each now
    free_disk: Callable[[Path], int] | None = None  # free bytes where the bundle goes; None: the filesystem's
    recovered_from: str | None = None        # `recover`: the execution this run does again


StateChange = Callable[[dict[str, Any]], dict[str, Any]]
StatusSink = Callable[[StateChange], None]


def execute(store: StateStore, name: str, clock: Clock, options: RunOptions) -> dict[str, Any]:
    """Run schedule `name` once in the foreground; the finished execution record is returned, with the
    run's own log lines (run_log) in it."""
    with run_log.capture():
        return _execute(store, name, clock, options)


def _execute(store: StateStore, name: str, clock: Clock, options: RunOptions) -> dict[str, Any]:
    from ..plan.inventory import find

    entry = options.load_entry() if options.load_entry is not None else find(store.read(), name)
    spec, set_name = entry["spec"], entry["set"]
    sink = options.status_sink or (lambda change: write_now(store, change, now=clock.now(),
                                                            lock_timeout=options.lock_timeout))
    now, started = clock.now(), options.monotonic()
    slot = options.scheduled_time or now.replace(second=0, microsecond=0)
    record = executions.new_record(slot_id(name, slot), name, set_name, trigger=options.trigger, slot=slot,
                                   dispatched=options.dispatch_time or now, status="running",
                                   attempt=options.attempt)   # a manual run's id is given by its first write
    if options.recovered_from:
        record["recoveredFrom"] = options.recovered_from
    previous = (entry.get("status") or {}).get("lastResult")
    low = _low_disk(spec, options.output_dir or store.root / "bundles" / name, options)
    if low is not None:   # skipped before it starts: nothing collected, nothing half-written
        record.update(status="skipped", reason="low-disk", endTime=now.isoformat(), durationSeconds=0,
                      error={"class": PERMANENT, "message": low})
        run_log.note("warn", "executor", f"skipped: {low}")
        record["logs"] = run_log.snapshot()
        _write_first(store.root, record, options)
        sink(lambda s: mark_finished(s, name, record, now))
        from .delivery import deliver

        deliver(store.root, set_name, name, spec, record, None, previous_status=previous, now=now,
                sleep=options.cancel.wait)
        return record
    record["startTime"] = now.isoformat()
    record["runner"] = {"pid": os.getpid(), "host": socket.gethostname()}
    groups = ProcessGroups(functools.partial(_record_groups, store.root, record))
    record["collectorProcesses"] = groups.to_json()   # its cookie, before any child can carry it
    _write_first(store.root, record, options)
    run_id = record["id"]
    try:
        sink(lambda s: mark_started(s, name, run_id))  # inside: a full disk fails the run, never strands it `running`
        _pipeline(store.root, name, set_name, spec, record, now, started, options, previous, groups)
    except TransientError as exc:  # e.g. the API server is down: the policy retries
        record.update(status="failed", reason=exc.reason, error=_error(exc, str(exc)))
    except SbschedError as exc:  # a spec the run cannot use: retrying will not help
        record.update(status="failed", reason=record["reason"] or "spec", error=_error(exc, str(exc)))
    except Exception as exc:  # an I/O fault (disk full, a vanished file): worth a retry, per the policy
        record.update(status="failed", reason="error", error=_error(exc, f"{type(exc).__name__}: {exc}"))
    except BaseException as exc:  # interrupted: recorded, never left `running`, then passed on
        record.update(status="failed", reason="interrupted", error=_error(exc, "the run was interrupted"))
        raise
    finally:
        end = clock.now()
        record.pop("collectorProcesses", None)   # killed when collection ended
        record["endTime"] = end.isoformat()
        record["durationSeconds"] = round(options.monotonic() - started, 3)
        run_log.note("error" if record["status"] == "failed" else "info", "executor",
                     f"{record['status']}" + (f" ({record['reason']}): {(record.get('error') or {}).get('message')}"
                                              if record["status"] == "failed" else "") +
                     f" in {record['durationSeconds']:g}s")
        record["logs"] = run_log.snapshot()
        try:
            executions.write(store.root, record)
        finally:  # even when the record cannot be rewritten (a full disk): the daemon's batched status
            sink(lambda s: mark_finished(s, name, record, end))  # write retries, so `active` is cleared
    return record


def _error(exc: BaseException, message: str) -> dict[str, str]:
    """The record's `error` for a run that raised: its class is the error's (base/errors.py)."""
    return {"class": error_class(exc), "message": message}


def _write_first(root: Path, record: dict[str, Any], options: RunOptions) -> None:
    """A slot's run keeps the slot's id (its retries rewrite the record); a manual run claims a new one."""
    if options.trigger == "manual":
        executions.create_manual(root, record, lock_timeout=options.lock_timeout)
    else:
        executions.write(root, record)


def free_disk_bytes(path: Path) -> int:
    """Free bytes, for an unprivileged writer, on the filesystem `path` (or its nearest existing parent) is on."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def _low_disk(spec: Mapping[str, Any], destination: Path, options: RunOptions) -> str | None:
    """Why the run must not start (limits.minFreeDiskBytes), or None."""
    minimum = (spec.get("limits") or {}).get("minFreeDiskBytes")
    if not minimum:
        return None
    free = (options.free_disk or free_disk_bytes)(destination)
    if free >= minimum:
        return None
    return (f"only {free:,} bytes free where the bundle goes ({destination}); limits.minFreeDiskBytes is "
            f"{minimum:,}: the run was skipped")


def write_now(store: StateStore, *changes: StateChange, now: datetime, lock_timeout: float,
              command: str = "sbsched run") -> tuple[int, int]:
    """Apply status changes to state.json in one locked write (serial + 1); returns the serial it read
    and the one it wrote, so a daemon can tell its own writes from everybody else's."""
    with store.locked(timeout=lock_timeout, command=command, now=now):
        state = store.read()
        before = state["serial"]
        for change in changes:
            state = change(state)
        state["serial"] = before + 1
        store.write(state)
        return before, before + 1


def _pipeline(root: Path, name: str, set_name: str, spec: Mapping[str, Any], record: dict[str, Any], now: datetime,
              started: float, options: RunOptions, previous: str | None, groups: ProcessGroups) -> None:
    """collect → redact → analyze → metadata → archive → deliver; fills the record's bundle, redaction,
    analysis, upload, status and reason. Every spec is loaded before anything is collected, so a bad one
    fails the run at once."""
    from ..analyze import analyze_dir, counts, dumps_analysis, load_analyzers
    from .delivery import deliver
    from ..redact import load_redactor_specs, redact_tree

    collect, analyze = spec["collect"], spec["analyze"]
    read = spec_snapshots.reader(root, spec)   # what was applied, whatever the files on disk say now
    specs = collect_spec.load(collect["specs"], inline_collectors=collect["collectors"],
                              inline_host_collectors=collect["hostCollectors"], read=read)
    redactors = load_redactor_specs(spec["redact"]["redactors"], read=read) if spec["redact"]["enabled"] else []
    analyzers = load_analyzers(collect["specs"], inline=analyze["analyzers"], inline_host=analyze["hostAnalyzers"],
                               strict=False, read=read) if analyze["enabled"] else []
    if spec.get("encrypt"):   # a recipient that cannot be used fails the run before collecting for nothing
        from .encryption import recipients_of

        recipients_of(spec["encrypt"]["ageRecipients"])
    child_env, credentials, credential_values = _credential_guard(spec)
    tokens = redaction_maps.start(root, name, spec["redact"], hidden=credential_values)
    registry = options.registry if options.registry is not None else _builtin_collectors()
    kube = _cluster(collect, runnable_specs(specs, registry, collect["cluster"]))
    if options.output_dir is None:
        destination_dir = real_directory(root, "bundles", name)
    else:   # the user's: created private if missing, never changed if it exists
        destination_dir = ensure_dir(options.output_dir)
    bundle_name, staging_parent = bundle.claim(destination_dir, now)
    staging = staging_parent / bundle_name
    limit = (spec.get("limits") or {}).get("maxBundleSizeBytes")
    budget = Budget(limit) if limit else None
    timeout = spec["policy"]["timeoutSeconds"]
    run_deadline = time.monotonic() + started + timeout - options.monotonic()   # in time.monotonic()'s terms
    try:
        output = Output(new_private_dir(staging))
        with groups:   # closed when collection ends: no collector's process outlives it
            outcomes, timed_out = run_collectors(
                specs, registry, output, deadline=started + _collection_seconds(spec), cluster=collect["cluster"],
                started=now, max_workers=options.max_workers, monotonic=options.monotonic, cancel=options.cancel,
                kube=kube, budget=budget, env=child_env, groups=groups)
        _note_collection(outcomes, timed_out)
        if budget is not None:
            budget.measure(staging)
        redaction_start = options.monotonic()
        report = redact_tree(staging, builtin=spec["redact"]["enabled"], redactors=[*redactors, credentials],
                             masker=tokens.tokenizer if tokens else None)
        if tokens is not None:
            tokens.locate(staging, report.by_file)
        redaction_ms = int((options.monotonic() - redaction_start) * 1000)
        run_log.note("info", "redactor", f"{report.count} value(s) masked in {len(report.by_file)} file(s)")
        results = analyze_dir(staging, analyzers)
        tally = counts(results)
        run_log.note("warn" if tally["fail"] else "info", "analyzer",
                     f"{len(results)} analyzer(s): {tally['pass']} pass, {tally['warn']} warn, {tally['fail']} fail")
        output.write_text("analysis.json", dumps_analysis(results))
        bundle.write_metadata(output, outcomes, redaction_ms=redaction_ms, analyzers=results,
                              duration_ms=int((options.monotonic() - started) * 1000))
        written = bundle.archive(staging, destination_dir / f"{bundle_name}.tar.gz")
        if spec.get("encrypt"):   # at rest only as <bundle>.tar.gz.age; the record and upload use that file
            from .encryption import encrypt_bundle

            written = encrypt_bundle(written.path, spec["encrypt"]["ageRecipients"])
    finally:
        rmtree_below(root if options.output_dir is None else destination_dir, staging_parent)
    run_log.note("info", "bundle", f"{written.path} ({written.size:,} bytes)")
    record["bundle"] = {"path": str(written.path), "sizeBytes": written.size, "sha256": written.sha256,
                        "collectors": _counts(outcomes), "collectorResults": [o.to_json() for o in outcomes]}
    record["redaction"] = report.to_json()
    if tokens is not None:   # only once the bundle is written: a map of no bundle would only keep secrets
        record["redaction"]["tokens"] = tokens.save(root, record["id"], name,
                                                    (spec.get("encrypt") or {}).get("ageRecipients"))
    record["warnings"] = sum(len(outcome.warnings) for outcome in outcomes)
    record["analysis"] = dict(counts(results), failing=[r.title for r in results if r.outcome == "fail"])
    too_large = None
    if budget is not None and (budget.exceeded.is_set() or written.size > budget.limit):
        too_large = (f"the bundle reached limits.maxBundleSizeBytes ({budget.limit:,} bytes): collection stopped "
                     f"at {budget.used:,} bytes collected and the bundle ({written.size:,} bytes) keeps what it has")
    _settle(record, spec, timed_out, options, too_large)
    deliver(root, set_name, name, spec, record, written.path, previous_status=previous, now=now,
            sleep=options.cancel.wait, stopped=lambda: options.cancel_reason if options.cancel.is_set() else None,
            deadline=run_deadline)


def _credential_guard(spec: Mapping[str, Any]) -> tuple[dict[str, str], Redactor, frozenset[str]]:
    """(the environment for the run's collectors, a redactor of the run's credentials, their values;
    a tokenizing run keeps those ***HIDDEN***, out of its map). The upload's and
    webhooks' references name variables of this process, which a `run` collector's child would inherit (and
    `command: env` would put into the bundle): those variables are left out, and every value the references
    resolve to is masked in the bundle wherever it turns up, whether or not `redact.enabled`."""
    from ..manifest.normalize import secret_references
    from ..redact import literal_redactor
    from ..upload.credentials import SHORTEST_MASKED, resolvable_values

    references = secret_references(spec)
    named = {str(ref["env"]) for _, ref in references if "env" in ref}
    child_env = {key: value for key, value in os.environ.items() if key not in named}
    values = resolvable_values(references, os.environ)
    return (child_env, literal_redactor("credentials", values, shortest=SHORTEST_MASKED),
            frozenset(value for value in values if len(value) >= SHORTEST_MASKED))


def _record_groups(root: Path, record: dict[str, Any], processes: dict[str, Any]) -> None:
    """The running record says how to find its collectors' processes: if this process is killed -9,
    recovery kills them from there. Called from collector threads, one at a time, while the main thread
    waits for collection; a write that fails leaves them to `ProcessGroups.close` alone."""
    record["collectorProcesses"] = processes
    try:
        executions.write(root, record)
    except OSError as exc:
        log.warning("%s: cannot record its collectors' processes: %s", record["id"], exc.strerror or exc)


def _settle(record: dict[str, Any], spec: Mapping[str, Any], timed_out: bool, options: RunOptions,
            too_large: str | None = None) -> None:
    """The run's status from how it ended: stopped, too large, timed out, an analyzer failing (with
    failRun), or done."""
    if options.cancel.is_set():
        record["status"], record["reason"] = "failed", options.cancel_reason
        record["error"] = {"class": PERMANENT, "message": f"the run was stopped: {options.cancel_reason}"}
    elif too_large:   # permanent: the same specs would collect as much again
        record["status"], record["reason"] = "failed", "bundle-too-large"
        record["error"] = {"class": PERMANENT, "message": too_large}
    elif timed_out:
        timeout, share = spec["policy"]["timeoutSeconds"], _collection_seconds(spec)
        kept = "" if share == timeout else f": collection had {share:g}s of it, the rest is kept for the upload"
        record["status"], record["reason"] = "failed", "timeout"
        record["error"] = {"class": PERMANENT, "message": f"the run exceeded policy.timeoutSeconds "
                                                           f"({timeout}s{kept}); the bundle is partial"}
    elif spec["analyze"]["failRun"] and record["analysis"]["fail"]:
        record["status"], record["reason"] = "failed", "analysis"
        record["error"] = {"class": PERMANENT, "message": f"{record['analysis']['fail']} analyzer(s) failed "
                                                           "(analyze.failRun is true); see analysis.json"}
    else:
        record["status"], record["reason"] = "completed", None


def _collection_seconds(spec: Mapping[str, Any]) -> float:
    """How much of policy.timeoutSeconds collection may use: all of it, unless an upload must follow."""
    timeout = float(spec["policy"]["timeoutSeconds"])
    return timeout * (1 - DELIVERY_SHARE) if (spec.get("upload") or {}).get("url") else timeout


def _note_collection(outcomes: list[Outcome], timed_out: bool) -> None:
    """The run's log: each collector that did not succeed, and why; then the tally."""
    for outcome in outcomes:
        if outcome.status != "succeeded":
            run_log.note("warn" if outcome.status == "skipped" else "error", "collector",
                         f"{outcome.spec.name} ({outcome.spec.kind}): {outcome.status}: {outcome.reason}")
        for warning in outcome.warnings:
            run_log.note("warn", "collector", f"{outcome.spec.name}: {warning}")
    tally = _counts(outcomes)
    run_log.note("info", "collector", f"{len(outcomes)} collector(s): {tally['succeeded']} succeeded, "
                 f"{tally['failed']} failed, {tally['skipped']} skipped" + (" (timed out)" if timed_out else ""))


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {"succeeded": 0, "failed": 0, "skipped": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return counts


def _builtin_collectors() -> Registry:
    from ..collect.host import HOST_COLLECTORS
    from ..collect.kube import CLUSTER_COLLECTORS

    return Registry(host=HOST_COLLECTORS, cluster=CLUSTER_COLLECTORS)


def _cluster(collect: Mapping[str, Any], specs: list[CollectorSpec]) -> Kube | None:
    """The run's API connection, checked before anything is collected (an unreachable server fails the
    run as transient, naming it); None when no collector that will run needs one."""
    from ..collect.kube import OFFLINE_KINDS

    if not any(not spec.host and spec.kind not in OFFLINE_KINDS for spec in specs):
        return None
    from ..collect.kube.client import ClusterSettings, open_cluster, rate_limit

    return open_cluster(ClusterSettings(collect["kubeconfig"], collect["context"], tuple(collect["namespaces"]),
                                        **rate_limit(collect)))
