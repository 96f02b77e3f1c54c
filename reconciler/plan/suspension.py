"""suspend / resume: a runtime pause in status (the manifest's `suspend` is the declarative one).
Resuming records `resumedTime`, from which the scheduling decisions count, so slots that passed while suspended
never run: resume never floods."""
from __future__ import annotations

import signal
from datetime import datetime

from .inventory import find
from ..store.audit import audit
from ..store.state import StateStore


def set_suspended(store: StateStore, name: str, *, suspended: bool, now: datetime, lock_timeout: float,
                  command: str) -> bool:
    """True when the state changed; the daemon, if any, is told to look again."""
    with store.locked(timeout=lock_timeout, command=command, now=now):
        state = store.read()
        status = find(state, name).setdefault("status", {})  # type: ignore[attr-defined]
        if bool(status.get("suspended")) == suspended:
            return False
        status["suspended"] = suspended
        if not suspended:
            status["resumedTime"] = now.isoformat()
        serial = state["serial"]
        state["serial"] = serial + 1
        store.write(state)
        audit(store.root / "logs" / "audit.log", now=now, command=command,
              event="suspend" if suspended else "resume",
              details={"schedule": name, "serialBefore": serial, "serialAfter": serial + 1})
    from ..store.pidfile import signal_daemon

    signal_daemon(store.root, signal.SIGUSR1)
    return True
