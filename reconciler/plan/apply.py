"""Apply: plan under the lock, refuse what must be refused, write the new state, audit it.

The plan is made under the lock from the state it will replace, so a concurrent apply can never be
overwritten by a plan computed against an older serial. The transitions themselves are pure
(`plan/transitions.py`); this module is the shell around them.
"""
from __future__ import annotations

import signal
from datetime import datetime
from typing import Callable

from ..manifest.normalize import ScheduleSet
from .plan import Plan
from ..store.audit import audit
from ..store.state import StateStore
from .transitions import next_state, plan_against


def apply(store: StateStore, desired: ScheduleSet, *, now: datetime, dry_run: bool = False,
          allow_empty: bool = False, lock_timeout: float = 30.0, command: str = "sbsched apply",
          on_wait: Callable[[str], None] | None = None) -> Plan:
    """Plan and, unless dry-run or no-op, write. A no-op apply does not touch state.json at all."""
    if dry_run:
        return plan_against(store.read(), desired, allow_empty=allow_empty)
    with store.locked(timeout=lock_timeout, command=command, now=now, on_wait=on_wait):
        state = store.read()
        plan = plan_against(state, desired, allow_empty=allow_empty)
        if not plan.has_changes:
            return plan
        new = next_state(state, plan, now)
        store.write(new)
        audit(store.root / "logs" / "audit.log", now=now, command=command, event="apply",
              details={"set": plan.set_name, "summary": plan.summary, "serialBefore": state["serial"],
                       "serialAfter": new["serial"], "manifest": desired.source})
    from ..store.pidfile import signal_daemon

    signal_daemon(store.root, signal.SIGUSR1)  # a running daemon looks at the new state now
    return plan
