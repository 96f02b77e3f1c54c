"""sbsched next NAME | --cron EXPR [--timezone TZ] [--after ISO] [-n N]."""
from __future__ import annotations

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
    if name is not None:
        from reconciler.plan.inventory import find

        if timezone:
            raise UsageError("--timezone goes with --cron; a schedule has its own timezone")
        spec = find(store(state_dir).read(), name)["spec"]
        cron, timezone = spec["cron"], spec.get("timezone", "UTC")
    assert cron is not None
    for fire in fire_times(cron, timezone or "UTC", after=after, now=SystemClock().now(), count=count):
        render.out(fire.isoformat())
    return 0
