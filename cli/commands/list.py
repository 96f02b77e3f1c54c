"""sbsched list [-l selector] [-o table|json|yaml]."""
from __future__ import annotations

from .. import render
from ._common import store


def list_schedules(*, state_dir: str | None, selector: list[str], output: str) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.plan.inventory import list_items, parse_selector

    items = list_items(store(state_dir).read(), parse_selector(selector), SystemClock().now())
    if output != "table":
        render.out(render.document({"items": items}, output))
        return 0
    if not items:
        render.err("No schedules found.")
        return 0
    for i in items:
        if "scheduleError" in i["status"]:
            render.err(f"warning: schedule {i['name']!r} is not scheduled: {i['status']['scheduleError']}")
    rows = [(i["name"], i["set"], i["spec"]["cron"], i["spec"]["timezone"],
             str(bool(i["spec"]["suspend"] or i["status"].get("suspended"))).lower(),
             "error" if "scheduleError" in i["status"] else i["status"]["nextRunTime"] or render.NONE, i["status"].get("lastScheduleTime") or render.NONE,
             i["status"].get("lastResult") or render.NONE) for i in items]
    render.out(render.table(["NAME", "SET", "CRON", "TIMEZONE", "SUSPENDED", "NEXT-RUN", "LAST-RUN", "LAST-RESULT"],
                            rows))
    return 0
