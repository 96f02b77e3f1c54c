"""sbsched next NAME | --cron EXPR [--timezone TZ] [--after ISO] [-n N]."""
from __future__ import annotations

from datetime import datetime

from .. import render
from ._common import store


def next_times(name: str | None, *, cron: str | None, timezone: str | None, after: str | None, count: int,
               state_dir: str | None) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.base.errors import UsageError
    from reconciler.timing.nexttimes import fire_times

    if (name is None) == (cron is None):
        raise UsageError("give either a schedule NAME or --cron EXPR", hint="sbsched next nightly, or "
                         "sbsched next --cron '0 2 * * *' --timezone Europe/Berlin")
    now = SystemClock().now()
    if name is not None:
        if timezone:
            raise UsageError("--timezone goes with --cron; a schedule has its own timezone")
        for fire in _schedule_times(name, after=after, now=now, count=count, state_dir=state_dir):
            render.out(fire.isoformat())
        return 0
    assert cron is not None
    for fire in fire_times(cron, timezone or "UTC", after=after, now=now, count=count):
        render.out(fire.isoformat())
    return 0


def _schedule_times(name: str, *, after: str | None, now: datetime, count: int, state_dir: str | None) -> list[datetime]:
    """A schedule's own fire times; one that runs `after:` others also says so on stderr, and one without
    a cron gets the fire times of the schedules with a cron up its chain (its runs start when theirs end)."""
    from reconciler.plan.inventory import find
    from reconciler.timing.dependencies import scheduled_upstreams
    from reconciler.timing.nexttimes import fire_times

    state = store(state_dir).read()
    spec = find(state, name)["spec"]
    chain = render.after_text(spec)
    if "cron" in spec:
        if chain:
            render.err(f"{name} also runs after {chain}")
        return fire_times(spec["cron"], spec.get("timezone", "UTC"), after=after, now=now, count=count)
    specs = {n: record["spec"] for n, record in state["schedules"].items()}
    roots = scheduled_upstreams(specs, name)
    render.err(f"{name} runs after {chain}" + (f"; the fire times of {', '.join(roots)} (its runs start when "
                                               "those runs end):" if roots else "; none of them has a cron"))
    times = [fire for root in roots for fire in fire_times(specs[root]["cron"], specs[root].get("timezone", "UTC"),
                                                           after=after, now=now, count=count)]
    return sorted(set(times))[:count]
