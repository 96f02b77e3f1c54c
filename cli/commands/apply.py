"""sbsched apply -f FILE | PLAN: write the plan into the state."""
from __future__ import annotations

from .. import render
from ._common import store, valid_manifest


def apply(manifest: str, *, state_dir: str | None, output: str, dry_run: bool, allow_empty: bool,
          lock_timeout: float, command: str, saved: str | None = None) -> int:
    """`saved`: a plan written by `diff --out`, applied exactly (its manifest at `manifest`, or where it
    says), or refused with exit 1 naming what moved since it was made."""
    from reconciler.base.clock import SystemClock
    from reconciler.daemon.state_mirror import publish_quietly
    from reconciler.plan import apply as applying

    expect = None
    if saved is not None:
        from reconciler.plan.saved_plan import desired_of

        from ._common import config_defaults

        desired, expect = desired_of(saved, manifest or None, config=config_defaults(state_dir))
        allow_empty = True   # a saved plan that deletes a whole set was made with --allow-empty: it says so itself
    else:
        desired = valid_manifest(manifest, state_dir=state_dir)
    plan = applying.apply(store(state_dir, writes=not dry_run), desired, now=SystemClock().now(), dry_run=dry_run,
                          allow_empty=allow_empty, lock_timeout=lock_timeout, command=command, expect=expect,
                          with_basis=output == "json", after_write=publish_quietly,
                          on_wait=lambda holder: render.err(f"sbsched: waiting up to {lock_timeout:g}s for the state lock "
                                                            f"held by {holder}"))
    if output == "json":
        render.out(render.plan_json(plan))
    else:
        render.out(render.plan_text(plan, applied=not dry_run, dry_run=dry_run))
    return 0
