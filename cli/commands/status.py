"""sbsched status NAME: spec, status and recent runs of one schedule."""
from __future__ import annotations

from .. import render
from ._common import store


DRIFT = {"none": "as applied", "changed": "DRIFT: {file} changed since it was applied",
         "missing": "DRIFT: {file} is gone", "unknown": "applied from an unrecorded place"}


def status(name: str, *, state_dir: str | None, output: str) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.plan.inventory import find, item
    from reconciler.plan.spec_snapshots import drift
    from reconciler.store.executions import recent

    state_store = store(state_dir)
    record = find(state_store.read(), name)
    view = item(name, record, SystemClock().now())
    view["specFiles"] = drift(record)
    view["recentRuns"] = recent(state_store.root, name, limit=5)
    if output != "table":
        render.out(render.document(view, output))
        return 0
    st, spec = view["status"], view["spec"]
    lines = [
        f"Name:                 {name}",
        f"Set:                  {view['set']}",
        *([f"Description:          {spec['description']}"] if spec.get("description") else []),
        *([f"Template:             {spec['template']}"] if spec.get("template") else []),
        *([f"Cron:                 {spec['cron']} ({spec['timezone']})"] if "cron" in spec else []),
        *([f"Runs after:           {render.after_text(spec)}"] if spec.get("after") else []),
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
        *(["Spec files (runs use the applied snapshots):"] if view["specFiles"] else []),
        *(f"  {f['path']}  sha256 {f['sha256'][:12]}  {DRIFT[f['drift']].format(file=f['file'])}"
          for f in view["specFiles"]),
        "Recent runs:",
    ]
    runs = view["recentRuns"]
    lines += [f"  {r.get('id')}  {r.get('status')}  {r.get('reason') or ''}".rstrip() for r in runs] or ["  " + render.NONE]
    render.out("\n".join(lines))
    return 0
