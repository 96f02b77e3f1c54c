"""sbsched next NAME | --cron EXPR [--timezone TZ] [--after ISO] [-n N]."""
from __future__ import annotations

from .. import render
from ._common import store


def next_times(name: str | None, *, cron: str | None, timezone: str | None, after: str | None, count: int,
               state_dir: str | None) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.plan.views import next_times as fire_times

    for fire in fire_times(lambda: store(state_dir).read(), name, cron=cron, timezone=timezone, after=after, now=SystemClock().now(),
                           count=count):
        render.out(fire.isoformat())
    return 0
