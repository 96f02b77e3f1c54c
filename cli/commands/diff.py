"""sbsched diff -f FILE: the plan; exit 0 clean, 1 changes, 2 error."""
from __future__ import annotations

from .. import render
from ._common import store, valid_manifest


def diff(manifest: str, *, state_dir: str | None, output: str, allow_empty: bool, state: str | None = None,
         out: str | None = None) -> int:
    """Against the local state, or (`state`: a URL or path) against a published state mirror, read
    without a lock and without touching the local state dir. `out`: the plan is also saved there, for
    `apply PLAN` to apply exactly."""
    from reconciler.plan.apply import planned
    from reconciler.plan.spec_snapshots import snapshot

    desired = snapshot(valid_manifest(manifest, state_dir=state_dir))
    if state is not None:
        from reconciler.daemon.state_mirror import plan_against_mirror

        plan = plan_against_mirror(state, desired, allow_empty=allow_empty)
    else:
        plan = planned(store(state_dir), desired, allow_empty=allow_empty,
                       with_basis=output == "json" or out is not None)
    if out is not None:
        from reconciler.plan.saved_plan import save

        save(out, plan)
    render.out(render.plan_json(plan) if output == "json" else render.plan_text(plan))
    return 1 if plan.has_changes else 0
