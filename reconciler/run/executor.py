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
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import bundle, redaction_maps, run_log
from .settle import Results, raised, settle
from ..base.clock import Clock
from ..base.progress import BUNDLE_WRITTEN, REDACTION_FINISHED, REDACTION_STARTED, Progress, ProgressEvent, safe
from ..base.errors import SbschedError
from ..collect import Budget, CollectorSpec, Output
from ..collect import spec as collect_spec
from ..collect.groups import ProcessGroups
from ..collect.runner import Outcome, Registry, run_collectors, runnable_specs
from ..manifest.model import ScheduleSpec
from ..plan import spec_snapshots
from ..plan.transitions import mark_finished, mark_started
from ..store import executions
from ..store.nofollow import real_directory, rmtree_below
from ..store.paths import ensure_dir, new_private_dir
from ..store.records import After, Analysis, Bundle, ExecutionRecord, Redaction, Runner, new_record
from ..store.state import StateStore
from ..timing import dependencies
from ..timing.decisions import slot_id

if TYPE_CHECKING:
    from ..collect.kube.client import Kube
    from ..redact import Redactor
    from .discovery import Denial

CLUSTER_API_TIMEOUT = 30.0   # seconds for each request auto-discovery and loadClusterSpecs make
DELIVERY_SHARE = 0.2   # of policy.timeoutSeconds, kept from collection for the upload of what was collected

log = logging.getLogger("sbsched.executor")


@dataclass
class RunOptions:
    trigger: str = "manual"                  # schedule | catch-up | manual | dependency
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
    progress: Progress | None = None         # hears each step as it happens (base/progress.py): a live view
    after: Mapping[str, str] | None = None   # trigger dependency: {schedule, executionId, status} of the run
                                             # it follows; its id is `<schedule>-after-<executionId>`


StateChange = Callable[[dict[str, Any]], dict[str, Any]]
StatusSink = Callable[[StateChange], None]


def execute(store: StateStore, name: str, clock: Clock, options: RunOptions) -> ExecutionRecord:
    """Run schedule `name` once in the foreground; the finished execution record is returned, with the
    run's own log lines (run_log) in it."""
    with run_log.capture():
        return _execute(store, name, clock, options)


def _execute(store: StateStore, name: str, clock: Clock, options: RunOptions) -> ExecutionRecord:
    from ..plan.inventory import find

    entry = options.load_entry() if options.load_entry is not None else find(store.read(), name)
    spec, set_name = ScheduleSpec.from_json(entry["spec"]), entry["set"]
    sink = options.status_sink or (lambda change: write_now(store, change, now=clock.now(),
                                                            lock_timeout=options.lock_timeout))
    now, started = clock.now(), options.monotonic()
    slot = options.scheduled_time or now.replace(second=0, microsecond=0)
    given_id = dependencies.run_id(name, options.after["executionId"]) if options.after else slot_id(name, slot)
    # a manual run's id is given by its first write
    record = replace(new_record(given_id, name, set_name, trigger=options.trigger, slot=slot,
                                dispatched=options.dispatch_time or now, status="running", attempt=options.attempt),
                     recovered_from=options.recovered_from or None,
                     after=After(dict(options.after)) if options.after else None)
    previous = (entry.get("status") or {}).get("lastResult")
    low = _low_disk(spec, options.output_dir or store.root / "bundles" / name, options)
    if low is not None:   # skipped before it starts: nothing collected, nothing half-written
        skipped = Results(low_disk=low)
        record = replace(settle(skipped).onto(record), end_time=now.isoformat(), duration_seconds=0)
        run_log.note("warn", "executor", f"skipped: {low}")
        record = _write_first(store.root, replace(record, logs=run_log.snapshot()), options)
        sink(lambda s: mark_finished(s, name, record, now))
        from .delivery import deliver

        return deliver(store.root, set_name, name, spec, record, None, results=skipped, previous_status=previous,
                       now=now, sleep=options.cancel.wait)
    record = replace(record, start_time=now.isoformat(),
                     runner=Runner({"pid": os.getpid(), "host": socket.gethostname()}))
    draft = Draft(record)
    groups = ProcessGroups(functools.partial(_record_groups, store.root, draft))
    # its cookie, before any child can carry it
    draft.record = _write_first(store.root, replace(record, collector_processes=groups.to_json()), options)
    run_id = draft.record.id
    stages = [Results()]   # what the stages returned so far, for a stage that raises
    try:
        sink(lambda s: mark_started(s, name, run_id))  # inside: a full disk fails the run, never strands it `running`
        _pipeline(store.root, name, set_name, spec, draft, now, started, options, previous, groups, stages)
    except BaseException as exc:  # a spec, the API server, a full disk, an interrupt: settle says which
        draft.record = settle(replace(stages[-1], raised=raised(exc))).onto(draft.record)
        if not isinstance(exc, Exception):   # interrupted: recorded, never left `running`, then passed on
            raise
    finally:
        end = clock.now()
        record = replace(draft.record, collector_processes=None,   # killed when collection ended
                         end_time=end.isoformat(), duration_seconds=round(options.monotonic() - started, 3))
        failed = record.status == "failed"
        run_log.note("error" if failed else "info", "executor", record.status +
                     (f" ({record.reason}): {record.error.message if record.error else None}" if failed else "") +
                     f" in {record.duration_seconds:g}s")
        record = replace(record, logs=run_log.snapshot())
        try:
            executions.write(store.root, record)
        finally:  # even when the record cannot be rewritten (a full disk): the daemon's batched status
            sink(lambda s: mark_finished(s, name, record, end))  # write retries, so `active` is cleared
    return record


@dataclass
class Draft:
    """The record as far as a run got: its stages replace it as they go (collector threads too, one at
    a time), so that what a stage that raised left is still written."""

    record: ExecutionRecord


def _write_first(root: Path, record: ExecutionRecord, options: RunOptions) -> ExecutionRecord:
    """A slot's run keeps the slot's id (its retries rewrite the record); a manual run claims a new one."""
    if options.trigger == "manual":
        return executions.create_manual(root, record, lock_timeout=options.lock_timeout)
    executions.write(root, record)
    return record


def free_disk_bytes(path: Path) -> int:
    """Free bytes, for an unprivileged writer, on the filesystem `path` (or its nearest existing parent) is on."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def _low_disk(spec: ScheduleSpec, destination: Path, options: RunOptions) -> str | None:
    """Why the run must not start (limits.minFreeDiskBytes), or None."""
    minimum = spec.limits.min_free_disk_bytes
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


def _pipeline(root: Path, name: str, set_name: str, spec: ScheduleSpec, draft: Draft, now: datetime,
              started: float, options: RunOptions, previous: str | None, groups: ProcessGroups,
              stages: list[Results]) -> None:
    """collect → redact → analyze → metadata → archive → deliver; gives the draft's record its bundle,
    redaction, analysis and upload, and appends to `stages` what the stages returned once the bundle is written
    (settle.py decides the record's status from them). Every spec is loaded before anything is collected,
    so a bad one fails the run at once."""
    from ..analyze import analyze_dir, counts, dumps_analysis, load_analyzers
    from .delivery import deliver
    from ..redact import load_redactor_specs, redact_tree

    collect, analyze, redact = spec.document["collect"], spec.document["analyze"], spec.document["redact"]
    read = spec_snapshots.reader(root, spec.document)   # what was applied, whatever the files on disk say now
    specs = collect_spec.load(collect["specs"], inline_collectors=collect["collectors"],
                              inline_host_collectors=collect["hostCollectors"], read=read)
    redactors = load_redactor_specs(redact["redactors"], read=read) if redact["enabled"] else []
    analyzers = load_analyzers(collect["specs"], inline=analyze["analyzers"], inline_host=analyze["hostAnalyzers"],
                               strict=False, read=read) if analyze["enabled"] else []
    if spec.age_recipients:   # a recipient that cannot be used fails the run before collecting for nothing
        from .encryption import recipients_of

        recipients_of(list(spec.age_recipients))
    child_env, credentials, credential_values = _credential_guard(spec.document)
    tokens = redaction_maps.start(root, name, redact, hidden=credential_values)
    registry = options.registry if options.registry is not None else _builtin_collectors()
    kube = _cluster(collect, runnable_specs(specs, registry, collect["cluster"]), options.cancel)
    refused = _from_cluster(kube, spec, draft, specs, redactors, analyzers, read) if kube is not None else []
    if options.output_dir is None:
        destination_dir = real_directory(root, "bundles", name)
    else:   # the user's: created private if missing, never changed if it exists
        destination_dir = ensure_dir(options.output_dir)
    bundle_name, staging_parent = bundle.claim(destination_dir, now)
    staging = staging_parent / bundle_name
    limit = spec.limits.max_bundle_size_bytes
    budget = Budget(limit) if limit else None
    timeout = spec.policy.timeout_seconds
    run_deadline = time.monotonic() + started + timeout - options.monotonic()   # in time.monotonic()'s terms
    report = safe(options.progress)
    try:
        output = Output(new_private_dir(staging))
        with groups:   # closed when collection ends: no collector's process outlives it
            outcomes, timed_out = run_collectors(
                specs, registry, output, deadline=started + _collection_seconds(spec), cluster=collect["cluster"],
                started=now, max_workers=options.max_workers, monotonic=options.monotonic, cancel=options.cancel,
                kube=kube, budget=budget, env=child_env, groups=groups, progress=report,
                refused=[(denial.spec, denial.reason) for denial in refused])
        _note_collection(outcomes, timed_out)
        if refused:
            from .discovery import write_skipped

            write_skipped(output, refused, now)
        if budget is not None:
            budget.measure(staging)
        redaction_start = options.monotonic()
        report(ProgressEvent(REDACTION_STARTED))
        redacted = redact_tree(staging, builtin=redact["enabled"], redactors=[*redactors, credentials],
                               masker=tokens.tokenizer if tokens else None)
        if tokens is not None:
            tokens.locate(staging, redacted.by_file)
        redaction_ms = int((options.monotonic() - redaction_start) * 1000)
        report(ProgressEvent(REDACTION_FINISHED, total=redacted.count, bytes=len(redacted.by_file),
                             duration_ms=redaction_ms))
        run_log.note("info", "redactor", f"{redacted.count} value(s) masked in {len(redacted.by_file)} file(s)")
        results = analyze_dir(staging, analyzers)
        tally = counts(results)
        run_log.note("warn" if tally["fail"] else "info", "analyzer",
                     f"{len(results)} analyzer(s): {tally['pass']} pass, {tally['warn']} warn, {tally['fail']} fail")
        output.write_text("analysis.json", dumps_analysis(results))
        bundle.write_metadata(output, outcomes, redaction_ms=redaction_ms, analyzers=results,
                              duration_ms=int((options.monotonic() - started) * 1000))
        written = bundle.archive(staging, destination_dir / f"{bundle_name}.tar.gz")
        if spec.age_recipients:   # at rest only as <bundle>.tar.gz.age; the record and upload use that file
            from .encryption import encrypt_bundle

            written = encrypt_bundle(written.path, list(spec.age_recipients))
    finally:
        rmtree_below(root if options.output_dir is None else destination_dir, staging_parent)
    run_log.note("info", "bundle", f"{written.path} ({written.size:,} bytes)")
    report(ProgressEvent(BUNDLE_WRITTEN, detail=str(written.path), bytes=written.size))
    redaction = Redaction(redacted.to_json())
    if tokens is not None:   # only once the bundle is written: a map of no bundle would only keep secrets
        redaction = redaction.with_tokens(tokens.save(root, draft.record.id, name, list(spec.age_recipients) or None))
    draft.record = replace(
        draft.record, redaction=redaction, warnings=sum(len(outcome.warnings) for outcome in outcomes),
        bundle=Bundle.of(path=str(written.path), size_bytes=written.size, sha256=written.sha256,
                         collectors=_counts(outcomes), collector_results=[o.to_json() for o in outcomes]),
        analysis=Analysis.of(counts(results), [r.title for r in results if r.outcome == "fail"]))
    too_large = None
    if budget is not None and (budget.exceeded.is_set() or written.size > budget.limit):
        too_large = (f"the bundle reached limits.maxBundleSizeBytes ({budget.limit:,} bytes): collection stopped "
                     f"at {budget.used:,} bytes collected and the bundle ({written.size:,} bytes) keeps what it has")
    stages.append(Results(cancelled=options.cancel_reason if options.cancel.is_set() else None,
                          too_large=too_large, timed_out=timed_out, timeout_seconds=spec.policy.timeout_seconds,
                          collection_seconds=_collection_seconds(spec), failed_analyzers=tally["fail"],
                          fail_run=analyze["failRun"]))
    draft.record = settle(stages[-1]).onto(draft.record)
    draft.record = deliver(root, set_name, name, spec, draft.record, written.path, results=stages[-1],
                           previous_status=previous, now=now, sleep=options.cancel.wait, deadline=run_deadline,
                           stopped=lambda: options.cancel_reason if options.cancel.is_set() else None,
                           progress=report)


def _from_cluster(kube: Kube, spec: ScheduleSpec, draft: Draft, specs: list[CollectorSpec],
                  redactors: list[Redactor], analyzers: list[Any], read: Callable[[str], Any]) -> list[Denial]:
    """What the cluster adds to the schedule's own collectors, redactors and analyzers (extended in
    place): the specs it holds (collect.loadClusterSpecs), then auto-discovery's collectors
    (collect.auto), both noted in the record; returns the discovered collectors RBAC refuses."""
    from ..analyze import load_analyzers
    from ..redact import load_redactor_specs
    from .cluster_specs import load_cluster_specs
    from .discovery import discover

    collect = spec.document["collect"]
    if collect.get("loadClusterSpecs"):
        found = load_cluster_specs(kube, timeout=CLUSTER_API_TIMEOUT)
        read = found.reader(read)
        paths = found.usable(read)
        specs += collect_spec.load(paths, read=read)
        for path in paths if spec.document["redact"]["enabled"] else []:
            try:
                redactors += load_redactor_specs([path], read=read) if read(path).redactors else []
            except SbschedError as exc:   # the cluster's spec, not the manifest's: noted, the run goes on
                found.errors.append(str(exc))
        analyzers += load_analyzers(paths, strict=False, read=read) if spec.document["analyze"]["enabled"] else []
        draft.record = replace(draft.record, cluster_specs=found.to_json())
        for problem in found.denied + found.errors:
            run_log.note("warn", "cluster-specs", problem)
    if not collect.get("auto"):
        return []
    discovery = discover(kube, specs, timeout=CLUSTER_API_TIMEOUT)
    specs += discovery.collectors
    draft.record = replace(draft.record, auto_discovery=discovery.to_json())
    for denial in discovery.denied:
        run_log.note("warn", "auto-discovery", f"{denial.spec.name} skipped: {denial.reason}")
    return discovery.denied


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


def _record_groups(root: Path, draft: Draft, processes: dict[str, Any]) -> None:
    """The running record says how to find its collectors' processes: if this process is killed -9,
    recovery kills them from there. Called from collector threads, one at a time, while the main thread
    waits for collection; a write that fails leaves them to `ProcessGroups.close` alone."""
    draft.record = replace(draft.record, collector_processes=processes)
    try:
        executions.write(root, draft.record)
    except OSError as exc:
        log.warning("%s: cannot record its collectors' processes: %s", draft.record.id, exc.strerror or exc)


def _collection_seconds(spec: ScheduleSpec) -> float:
    """How much of policy.timeoutSeconds collection may use: all of it, unless an upload must follow."""
    timeout = float(spec.policy.timeout_seconds)
    return timeout * (1 - DELIVERY_SHARE) if spec.upload is not None else timeout


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


def _cluster(collect: Mapping[str, Any], specs: list[CollectorSpec], cancel: threading.Event) -> Kube | None:
    """The run's API connection, checked before anything is collected (an unreachable server fails the
    run as transient, naming it); None when no collector that will run needs one and the schedule
    neither discovers collectors nor loads specs from the cluster."""
    from ..collect.kube import OFFLINE_KINDS

    from_cluster = collect["cluster"] and (collect.get("auto") or collect.get("loadClusterSpecs"))
    if not from_cluster and not any(not spec.host and spec.kind not in OFFLINE_KINDS for spec in specs):
        return None
    from ..collect.kube.client import ClusterSettings, open_cluster, rate_limit

    return open_cluster(ClusterSettings(collect["kubeconfig"], collect["context"], tuple(collect["namespaces"]),
                                        **rate_limit(collect)), cancel=cancel)
