"""sbsched recover --execution-id ID: run an interrupted or failed execution again, now, in the foreground,
as a new execution recorded `recoveredFrom` the old one (troubleshoot's PRD recovery procedure)."""
from __future__ import annotations

from .. import render
from ._common import store


def recover(execution_id: str, *, state_dir: str | None, output: str, lock_timeout: float) -> int:
    """Exit as `run` does (0 completed, 1 failed); 2 when there is nothing to recover."""
    from reconciler.plan.views import recoverable

    from .run import run

    record = recoverable(store(state_dir), execution_id)
    render.err(f"sbsched: running {record['schedule']} again for {execution_id} "
               f"({record['status']}{', ' + record['reason'] if record.get('reason') else ''})")
    return run(record["schedule"], state_dir=state_dir, output=output, output_dir=None, lock_timeout=lock_timeout,
               recovered_from=execution_id)
