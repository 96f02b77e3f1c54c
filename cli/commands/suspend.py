"""sbsched suspend NAME / resume NAME: a runtime pause recorded in status, like `flux suspend`."""
from __future__ import annotations

from .. import render
from ._common import store


def set_suspended(name: str, *, suspended: bool, state_dir: str | None, lock_timeout: float, command: str) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.plan.suspension import set_suspended as change

    changed = change(store(state_dir, writes=True), name, suspended=suspended, now=SystemClock().now(),
                     lock_timeout=lock_timeout, command=command)
    word = "suspended" if suspended else "resumed"
    render.out(f"schedule {name!r} {word}" if changed else f"schedule {name!r} was already {word}")
    return 0
