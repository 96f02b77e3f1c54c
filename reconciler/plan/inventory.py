"""Pure views of the state for `list` and `status`: schedule items, label selectors, live next-run times."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from ..base.errors import NotFound, UsageError
from ..manifest.model import ScheduleSpec
from ..timing.decisions import record_problem
from .transitions import next_run_time

Selector = list[tuple[str, str, str | None]]  # (key, op, value): op is "=", "!=" or "exists"


def parse_selector(expressions: list[str]) -> Selector:
    """kubectl's equality-based selectors: `team=payments`, `tier!=batch`, `critical` (key exists)."""
    out: Selector = []
    for expression in expressions:
        for term in filter(None, (t.strip() for t in expression.split(","))):
            if "!=" in term:
                key, value = term.split("!=", 1)
                out.append((key.strip(), "!=", value.strip()))
            elif "=" in term:
                key, value = term.split("==", 1) if "==" in term else term.split("=", 1)
                out.append((key.strip(), "=", value.strip()))
            else:
                out.append((term, "exists", None))
            if not out[-1][0]:
                raise UsageError(f"invalid label selector {term!r}", hint="use key=value, key!=value or key")
    return out


def matches(labels: Mapping[str, str], selector: Selector) -> bool:
    for key, op, value in selector:
        if op == "exists" and key not in labels:
            return False
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
    return True


def item(name: str, record: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """{name, set, spec, status, metadata}: nextRunTime is computed from `now`, so it is right even
    when no daemon has run since the last apply."""
    spec = ScheduleSpec.from_json(record["spec"]).to_json()
    status = dict(record.get("status") or {})
    status["nextRunTime"] = next_run_time(spec, status, now)
    problem = record_problem(record)
    if problem is not None:   # the daemon skips it: say why wherever it is looked at
        status["scheduleError"] = problem
    return {"name": name, "set": record["set"], "spec": spec, "status": status,
            "metadata": record.get("metadata", {})}


def list_items(state: Mapping[str, Any], selector: Selector, now: datetime, *, pattern: str | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
    """The schedules whose labels match `selector`, whose name matches the glob `pattern` and whose
    `run_status` is `status` (None: any)."""
    from fnmatch import fnmatchcase

    found = [item(name, rec, now) for name, rec in sorted(state["schedules"].items())
             if matches(rec["spec"].get("labels") or {}, selector) and (pattern is None or fnmatchcase(name, pattern))]
    return [i for i in found if status is None or run_status(i) == status]


def run_status(view: Mapping[str, Any]) -> str:
    """A schedule as troubleshoot's job status: running while a run is active, else how its latest run
    ended, pending before its first (or after a skipped slot)."""
    status = view["status"]
    if status.get("active"):
        return "running"
    last = status.get("lastResult")
    return str(last) if last in ("completed", "failed") else "pending"


def disabled(view: Mapping[str, Any]) -> bool:
    """Fires nothing now: `suspend: true` in the manifest (sbsched disable) or paused (sbsched suspend)."""
    return bool(view["spec"].get("suspend") or view["status"].get("suspended"))


def find(state: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    try:
        return state["schedules"][name]  # type: ignore[no-any-return]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(state["schedules"]), n=1)
        raise NotFound(f"no schedule named {name!r}",
                       hint=f"did you mean {close[0]!r}?" if close else "`sbsched list` shows the schedules") from None
