"""sbsched history [NAME|EXECUTION_ID] [--status S] [--since DURATION|DATE] [--limit N]: executions, newest
first; given an execution id, that execution in full."""
from __future__ import annotations

from .. import render
from ..render_schedules import history_table, logs_text
from ._common import store


def history(name: str | None, *, state_dir: str | None, limit: int, output: str, status: str | None = None,
            since: str | None = None, logs: bool = False) -> int:
    """`logs`: each execution's own log lines below the table (JSON and YAML always carry them)."""
    from reconciler.base.clock import SystemClock
    from reconciler.plan.views import history as executions, since_time

    after = since_time(since, SystemClock().now())
    found = executions(store(state_dir), name, limit=limit, status=status, since=after)
    if output != "table":
        render.out(render.document({"items": found.records}, output))
    elif found.one is not None:
        render.out(render.execution_text(found.one))
        if logs:
            render.out(logs_text(found.one))
    elif not found.records:
        render.err("No executions found.")
    else:
        render.out(history_table(found.records))
        if logs:
            render.out("\n".join(logs_text(r) for r in found.records))
    return 0
