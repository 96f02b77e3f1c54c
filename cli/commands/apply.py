"""sbsched apply -f FILE | PLAN: write the plan into the state."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import render
from ._common import store, valid_manifest

if TYPE_CHECKING:
    from reconciler.plan.plan import Plan


def apply(manifest: str, *, state_dir: str | None, output: str, dry_run: bool, allow_empty: bool,
          lock_timeout: float, command: str, saved: str | None = None) -> int:
    """`saved`: a plan written by `diff --out`, applied exactly (its manifest at `manifest`, or where it
    says), or refused with exit 1 naming what moved since it was made."""
    from reconciler.base.clock import SystemClock
    from reconciler.daemon.state_mirror import publish_quietly
    from reconciler.plan import apply as applying

    expect = None
    if saved is not None:
        from reconciler.plan import saved_plan
        from reconciler.plan.spec_snapshots import snapshot

        plan_file = saved_plan.load(saved)
        manifest = manifest or plan_file.manifest
        moved = saved_plan.moved_inputs(plan_file, manifest)
        if moved:
            raise saved_plan.stale(plan_file, moved)
        desired = snapshot(valid_manifest(manifest, state_dir=state_dir))
        saved_plan.verify_inputs(plan_file, desired)
        allow_empty = True   # a saved plan that deletes a whole set was made with --allow-empty: it says so itself

        def expect(plan: Plan) -> None:
            saved_plan.vet(plan_file, plan)
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
