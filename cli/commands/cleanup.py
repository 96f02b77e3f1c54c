"""sbsched cleanup [NAME] [--dry-run] [--force] [--older-than DURATION] [--repair]: apply retention now, to one
schedule or to all (reconciler/run/cleanup.py); with --repair, first put right what crashes left
(reconciler/daemon/repair.py)."""
from __future__ import annotations

from .. import render
from ..render_schedules import cleanup_text
from ._common import store


def cleanup(name: str | None, *, state_dir: str | None, dry_run: bool, force: bool, output: str,
            command: str = "sbsched cleanup", older_than: str | None = None, repair: bool = False) -> int:
    """`older_than`: also remove runs older than this (30d, 12h), whatever each schedule's maxAgeDays."""
    from reconciler.base.clock import SystemClock
    from reconciler.base.errors import UsageError
    from reconciler.run.cleanup import cleanup as clean, older_than_days

    age_days = older_than_days(older_than)
    if repair and dry_run:
        raise UsageError("--repair changes what crashes left; it has no dry run", hint="run it without --dry-run")
    state_store = store(state_dir, writes=not dry_run)
    repaired: list[dict[str, str]] = []
    if repair:
        from reconciler.daemon.repair import repair as put_right

        repaired = put_right(state_store.root)
    result = clean(state_store, name, now=SystemClock().now(), dry_run=dry_run, force=force, command=command,
                   age_days=age_days, repaired=repaired)
    if output != "text":
        render.out(render.document({"dryRun": dry_run, "force": force, "items": result.removed,
                                    "heldBack": result.held_back, "summary": result.summary,
                                    **({"repaired": result.repaired} if repair else {})}, output))
    else:
        render.out(cleanup_text(result, dry_run=dry_run, repair=repair))
    return 0
