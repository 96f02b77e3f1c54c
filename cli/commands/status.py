"""sbsched status NAME: spec, status and recent runs of one schedule."""
from __future__ import annotations

from .. import render
from ..render_schedules import status_text
from ._common import store


def status(name: str, *, state_dir: str | None, output: str) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.plan.views import schedule_status

    view = schedule_status(store(state_dir), name, SystemClock().now())
    render.out(render.document(view, output) if output != "table" else status_text(name, view))
    return 0
