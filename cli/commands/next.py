"""sbsched next NAME | --cron EXPR [--timezone TZ] [--after ISO] [-n N]."""
from __future__ import annotations

from typing import Any

from .. import render
from ._common import store


def next_times(name: str | None, *, cron: str | None, timezone: str | None, after: str | None, count: int,
               state_dir: str | None) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.plan.views import next_times as fire_times

    read: dict[str, Any] = {}

    def state() -> Any:
        read["state"] = store(state_dir).read()
        return read["state"]

    times = fire_times(state, name, cron=cron, timezone=timezone, after=after, now=SystemClock().now(), count=count)
    if name is not None:
        _chain_note(read["state"], name)
    for fire in times:
        render.out(fire.isoformat())
    return 0


def _chain_note(state: dict[str, Any], name: str) -> None:
    """On stderr: a schedule that runs `after:` others says so, and one without a cron whose times these are."""
    from reconciler.timing.dependencies import scheduled_upstreams

    spec = state["schedules"][name]["spec"]
    chain = render.after_text(spec)
    if "cron" in spec:
        if chain:
            render.err(f"{name} also runs after {chain}")
        return
    roots = scheduled_upstreams({n: record["spec"] for n, record in state["schedules"].items()}, name)
    render.err(f"{name} runs after {chain}" + (f"; the fire times of {', '.join(roots)} (its runs start when "
                                               "those runs end):" if roots else "; none of them has a cron"))
