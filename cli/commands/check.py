"""sbsched check NAME: what the schedule's collectors will be denied (RBAC), before any run.
Exit 0 when everything is allowed, 1 when something is denied, 2 on an error."""
from __future__ import annotations

from .. import render
from ..render_analysis import access_text
from ._common import store


def check(name: str, *, state_dir: str | None, output: str) -> int:
    from reconciler.plan.inventory import find
    from reconciler.run.rbac_check import check_schedule

    state_store = store(state_dir)
    report = check_schedule(name, find(state_store.read(), name), state_store.root).answered()
    if output != "text":
        render.out(render.to_json(report.to_json()))
        return 1 if report.denied else 0
    render.out(access_text(name, report))
    for collector, why in report.derived.skipped:
        render.err(f"note: {collector} will be skipped: {why}")
    return 1 if report.denied else 0
