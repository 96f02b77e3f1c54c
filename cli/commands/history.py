"""sbsched history [NAME|EXECUTION_ID] [--status S] [--since DURATION|DATE] [--limit N]: executions, newest
first; given an execution id, that execution in full."""
from __future__ import annotations

from typing import Any

from .. import render
from ._common import store


def history(name: str | None, *, state_dir: str | None, limit: int, output: str, status: str | None = None,
            since: str | None = None, logs: bool = False) -> int:
    """`logs`: each execution's own log lines below the table (JSON and YAML always carry them)."""
    from reconciler.base.clock import SystemClock
    from reconciler.base.errors import UsageError
    from reconciler.store import executions

    try:
        after = executions.parse_since(since, SystemClock().now()) if since else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    state_store = store(state_dir)
    if name is not None and name not in state_store.read()["schedules"]:
        one = executions.find(state_store.root, name)   # `history ID`: that execution, in full
        if one is not None:
            shown = render.execution_text(one) if output == "table" else render.document({"items": [one]}, output)
            render.out(shown)
            if logs and output == "table":
                render.out(_logs_text(one))
            return 0
        if not executions.history(state_store.root, name, limit=1):
            from reconciler.plan.inventory import find

            find(state_store.read(), name)  # raises NotFound with a suggestion
    records = executions.history(state_store.root, name, limit=limit, status=status, since=after)
    if output != "table":
        render.out(render.document({"items": records}, output))
        return 0
    if not records:
        render.err("No executions found.")
        return 0
    rows = [(r["id"], r["schedule"], r["trigger"], r["status"], _reason(r), r.get("startTime") or "",
             f"{r['durationSeconds']:.1f}s" if r.get("durationSeconds") is not None else "",
             (r.get("bundle") or {}).get("path") or render.NONE) for r in records]
    render.out(render.table(["ID", "SCHEDULE", "TRIGGER", "STATUS", "REASON", "STARTED", "DURATION", "BUNDLE"], rows))
    if logs:
        render.out("\n".join(_logs_text(r) for r in records))
    return 0


def _reason(record: dict[str, Any]) -> str:
    """Why it ended so; for a run waiting in backoff, also when it tries again."""
    reason = record.get("reason") or ""
    if record.get("status") == "retrying" and record.get("nextAttemptTime"):
        return f"{reason}, next attempt {record['nextAttemptTime']}".lstrip(", ")
    return reason


def _logs_text(record: dict[str, Any]) -> str:
    from reconciler.run.run_log import lines

    shown = lines(record.get("logs")) or ["(no log lines: recorded by an sbsched without run logs)"]
    return "\n".join([f"--- {record['id']} ({record['status']})", *("  " + line for line in shown)]) + "\n"
