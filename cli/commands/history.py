"""sbsched history [NAME] [-n N]: executions, newest first."""
from __future__ import annotations

from .. import render
from ._common import store


def history(name: str | None, *, state_dir: str | None, limit: int, output: str) -> int:
    from reconciler import executions

    state_store = store(state_dir)
    if name is not None:
        from reconciler.inventory import find

        if name not in state_store.read()["schedules"] and not executions.history(state_store.root, name, limit=1):
            find(state_store.read(), name)  # raises NotFound with a suggestion
    records = executions.history(state_store.root, name, limit=limit)
    if output != "table":
        render.out(render.document({"items": records}, output))
        return 0
    if not records:
        render.err("No executions found.")
        return 0
    rows = [(r["id"], r["schedule"], r["trigger"], r["status"], r.get("reason") or "", r.get("startTime") or "",
             f"{r['durationSeconds']:.1f}s" if r.get("durationSeconds") is not None else "",
             (r.get("bundle") or {}).get("path") or render.NONE) for r in records]
    render.out(render.table(["ID", "SCHEDULE", "TRIGGER", "STATUS", "REASON", "STARTED", "DURATION", "BUNDLE"], rows))
    return 0
