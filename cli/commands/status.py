"""sbsched status NAME: spec, status and recent runs of one schedule."""
from __future__ import annotations

from .. import render
from ._common import store


def status(name: str, *, state_dir: str | None, output: str) -> int:
    from reconciler.clock import SystemClock
    from reconciler.executions import recent
    from reconciler.inventory import find, item

    state_store = store(state_dir)
    view = item(name, find(state_store.read(), name), SystemClock().now())
    view["recentRuns"] = recent(state_store.root, name, limit=5)
    if output != "table":
        render.out(render.document(view, output))
        return 0
    st, spec = view["status"], view["spec"]
    lines = [
        f"Name:                 {name}",
        f"Set:                  {view['set']}",
        *([f"Description:          {spec['description']}"] if spec.get("description") else []),
        f"Cron:                 {spec['cron']} ({spec['timezone']})",
        f"Suspended:            {str(bool(spec['suspend'])).lower()} (manifest), "
        f"{str(bool(st.get('suspended'))).lower()} (runtime)",
        f"Next run:             {st['nextRunTime'] or render.NONE}",
        *([f"Not scheduled:        {st['scheduleError']}"] if "scheduleError" in st else []),
        f"Last scheduled:       {st.get('lastScheduleTime') or render.NONE}",
        f"Last successful:      {st.get('lastSuccessfulTime') or render.NONE}",
        f"Last result:          {st.get('lastResult') or render.NONE}",
        f"Consecutive failures: {st.get('consecutiveFailures', 0)}",
        f"Run count:            {st.get('runCount', 0)}",
        f"Active:               {', '.join(st.get('active') or []) or render.NONE}",
        "Spec:",
        *("  " + line for line in render.to_yaml(spec).splitlines()),
        "Recent runs:",
    ]
    runs = view["recentRuns"]
    lines += [f"  {r.get('id')}  {r.get('status')}  {r.get('reason') or ''}".rstrip() for r in runs] or ["  " + render.NONE]
    render.out("\n".join(lines))
    return 0
