"""sbsched apply -f FILE: write the plan into the state."""
from __future__ import annotations

from .. import render
from ._common import store, valid_manifest


def apply(manifest: str, *, state_dir: str | None, output: str, dry_run: bool, allow_empty: bool,
          lock_timeout: float, command: str) -> int:
    from reconciler import apply as applying
    from reconciler.clock import SystemClock

    desired = valid_manifest(manifest, state_dir=state_dir)
    plan = applying.apply(store(state_dir, writes=not dry_run), desired, now=SystemClock().now(), dry_run=dry_run,
                          allow_empty=allow_empty, lock_timeout=lock_timeout, command=command,
                          on_wait=lambda holder: render.err(f"sbsched: waiting up to {lock_timeout:g}s for the state lock "
                                                            f"held by {holder}"))
    if output == "json":
        render.out(render.plan_json(plan))
    else:
        render.out(render.plan_text(plan, applied=not dry_run, dry_run=dry_run))
    return 0
