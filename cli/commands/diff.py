"""sbsched diff -f FILE: the plan; exit 0 clean, 1 changes, 2 error."""
from __future__ import annotations

from .. import render
from ._common import store, valid_manifest


def diff(manifest: str, *, state_dir: str | None, output: str, allow_empty: bool) -> int:
    from reconciler.state import plan_against

    desired = valid_manifest(manifest, state_dir=state_dir)
    plan = plan_against(store(state_dir).read(), desired, allow_empty=allow_empty)
    render.out(render.plan_json(plan) if output == "json" else render.plan_text(plan))
    return 1 if plan.has_changes else 0
