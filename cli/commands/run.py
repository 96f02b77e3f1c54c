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
        recovered_from: str | None = None, quiet: bool = False) -> int:
    """Exit 128+N after signal N (SIGTERM, SIGINT, SIGHUP), as a shell reports a command it killed. On a
    terminal, unless `quiet`, the run's progress is drawn on stderr as it goes (cli/progress.py)."""
    from reconciler.base.clock import SystemClock
    from reconciler.run.executor import RunOptions, execute

    from ..progress import live

    options = RunOptions(output_dir=Path(output_dir).resolve() if output_dir else None, lock_timeout=lock_timeout,
                         recovered_from=recovered_from)
    with _cancelled_by_signals(options) as received, live(quiet=quiet) as view:
        options.progress = view
        record = execute(store(state_dir, writes=True), name, SystemClock(), options)
    code = _show(record, output)
    if received:
        render.err(f"sbsched: interrupted by {signal.Signals(received[0]).name}")
        return 128 + received[0]
    return code


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

    previous = {sig: signal.signal(sig, cancel) for sig in STOP_SIGNALS}
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
