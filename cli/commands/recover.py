"""sbsched recover --execution-id ID: run an interrupted or failed execution again, now, in the foreground,
as a new execution recorded `recoveredFrom` the old one (troubleshoot's PRD recovery procedure)."""
from __future__ import annotations

from .. import render
from ._common import store


def recover(execution_id: str, *, state_dir: str | None, output: str, lock_timeout: float) -> int:
    """Exit as `run` does (0 completed, 1 failed); 2 when there is nothing to recover."""
    from reconciler.base.errors import NotFound, UsageError
    from reconciler.store import executions

    from .run import run

    state_store = store(state_dir)
    record = executions.find(state_store.root, execution_id)
    if record is None:
        raise NotFound(f"no execution {execution_id!r}", hint="`sbsched history` lists them, newest first")
    if record["status"] not in ("failed", "skipped"):
        raise UsageError(f"execution {execution_id} is {record['status']}: only a failed (or interrupted) or "
                         "skipped execution is recovered")
    if record["schedule"] not in state_store.read()["schedules"]:
        raise NotFound(f"execution {execution_id}'s schedule {record['schedule']!r} is no longer in the state",
                       hint="apply a manifest that lists it, then recover")
    render.err(f"sbsched: running {record['schedule']} again for {execution_id} "
               f"({record['status']}{', ' + record['reason'] if record.get('reason') else ''})")
    return run(record["schedule"], state_dir=state_dir, output=output, output_dir=None, lock_timeout=lock_timeout,
               recovered_from=execution_id)
