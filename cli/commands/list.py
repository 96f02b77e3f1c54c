"""sbsched list [-l selector] [-f PATTERN] [--status S] [--show-disabled] [-o table|wide|json|yaml]."""
from __future__ import annotations

from typing import Any

from .. import render
from ..render_schedules import list_table
from ._common import store


def list_schedules(*, state_dir: str | None, selector: list[str], output: str, pattern: str | None = None,
                   status: str | None = None, show_disabled: bool = False) -> int:
    """Disabled and suspended schedules are left out unless `show_disabled`, as troubleshoot's
    `schedule list` leaves its disabled jobs out; a line on stderr says how many."""
    from reconciler.base.clock import SystemClock
    from reconciler.plan.inventory import disabled, list_items, parse_selector

    found = list_items(store(state_dir).read(), parse_selector(selector), SystemClock().now(), pattern=pattern,
                       status=status)
    items = found if show_disabled else [i for i in found if not disabled(i)]
    hidden = len(found) - len(items)
    if output not in ("table", "wide"):
        render.out(render.document({"items": items}, output))
    elif not items:
        render.err("No schedules found.")
    else:
        for i in items:
            if "scheduleError" in i["status"]:
                render.err(f"warning: schedule {i['name']!r} is not scheduled: {i['status']['scheduleError']}")
        render.out(list_table(items, wide=output == "wide"))
    if hidden:
        render.err(f"{hidden} disabled or suspended schedule(s) not shown: --show-disabled lists them")
    return 0


def _cron(spec: dict[str, Any]) -> str:
    """The CRON column: the cron, and/or the chain a schedule runs after ("after nightly (success)")."""
    after = render.after_text(spec)
    return " ".join(part for part in (spec.get("cron", ""), after and f"after {after}") if part)
