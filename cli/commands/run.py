"""sbsched run NAME | --from-configmap NS/NAME: one execution now, in the foreground; exit 0 completed, 1 failed
(`run NAME`: 128+N when signal N stopped it)."""
from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .. import render
from ._common import store

if TYPE_CHECKING:
    from reconciler.run.executor import RunOptions

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run(name: str, *, state_dir: str | None, output: str, output_dir: str | None, lock_timeout: float,
        recovered_from: str | None = None, quiet: bool = False, with_dependents: bool = False) -> int:
    """Exit 128+N after signal N (SIGTERM, SIGINT, SIGHUP), as a shell reports a command it killed. On a
    terminal, unless `quiet`, each run's progress is drawn on stderr as it goes (cli/progress.py).
    `with_dependents`: then the schedules `after:` it, as the daemon would start them, one at a time
    (`-o json|yaml`: `{"items": [...]}`, the run first); exit 1 when any of them failed."""
    from reconciler.base.clock import SystemClock
    from reconciler.plan.views import dependents_to_run
    from reconciler.run.executor import RunOptions, execute

    from ..progress import live

    state_store = store(state_dir, writes=True)
    directory = Path(output_dir).resolve() if output_dir else None
    options = RunOptions(output_dir=directory, lock_timeout=lock_timeout, recovered_from=recovered_from)
    done: list[dict[str, Any]] = []
    todo = [(name, options)]
    while todo:
        schedule, options = todo.pop(0)
        with _cancelled_by_signals(options) as received, live(quiet=quiet) as view:
            options.progress = view
            record = execute(state_store, schedule, SystemClock(), options).to_json()   # shown as JSON
        done.append(record)
        if received:
            _show_all(done, output, chain=with_dependents)
            render.err(f"sbsched: interrupted by {signal.Signals(received[0]).name}")
            return 128 + received[0]
        if with_dependents:
            followed = {"schedule": schedule, "executionId": record["id"], "status": record["status"]}
            todo += [(dependent, RunOptions(output_dir=directory, lock_timeout=lock_timeout, trigger="dependency",
                                            after=followed))
                     for dependent in dependents_to_run(state_store.read(), schedule, record["status"])]
    return _show_all(done, output, chain=with_dependents)


def _show_all(records: list[dict[str, Any]], output: str, *, chain: bool) -> int:
    if not chain:
        return _show(records[0], output)
    if output != "text":
        from reconciler.base.masking import mask_data

        render.out(render.document({"items": [mask_data(r) for r in records]}, output))
        return 0 if all(r["status"] == "completed" for r in records) else 1
    return max(_show(record, output) for record in records)


@contextlib.contextmanager
def _cancelled_by_signals(options: RunOptions) -> Iterator[list[int]]:
    """While the run runs, SIGTERM, SIGINT and SIGHUP cancel it as `daemon stop` cancels the daemon's
    runs (collectors' process groups killed, the unredacted staging dir removed, recorded failed with
    reason `interrupted`, `active` cleared) instead of ending the process mid-write. Yields the signals
    received; a second one changes nothing (the clean-up is short, and a kill -9 is settled by recovery)."""
    received: list[int] = []

    def cancel(signum: int, _frame: object) -> None:
        received.append(signum)
        options.cancel_reason = "interrupted"
        options.cancel.set()

    # A signal ignored when sbsched started stays ignored, as in any Unix tool: `nohup sbsched run X`
    # (SIGHUP) or `sbsched run X &` in a script (SIGINT) asked for the run to outlive them.
    caught = [sig for sig in STOP_SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, cancel) for sig in caught}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_from_configmap(reference: str, *, output: str, output_dir: str | None, job_name: str | None) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.k8s.runner import default_output_dir, run_from_configmap as execute

    directory = Path(output_dir).resolve() if output_dir else default_output_dir()
    return _show(execute(reference, SystemClock(), output_dir=directory, job_name=job_name), output)


def _show(record: dict[str, Any], output: str) -> int:
    from reconciler.base.masking import mask_data

    record = mask_data(record)   # as executions.write stored it
    if output != "text":
        render.out(render.document(record, output))
    else:
        render.out(render.execution_text(record))
    return 0 if record["status"] == "completed" else 1
