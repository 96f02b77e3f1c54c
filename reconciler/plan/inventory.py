"""Pure views of the state for `list` and `status`: schedule items, label selectors, live next-run times."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from ..base.errors import NotFound, UsageError
from ..manifest.normalize import fill_defaults
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
    spec = fill_defaults(record["spec"])
    status = dict(record.get("status") or {})
    status["nextRunTime"] = next_run_time(spec, status, now)
    problem = record_problem(record)
    if problem is not None:   # the daemon skips it: say why wherever it is looked at
        status["scheduleError"] = problem
    return {"name": name, "set": record["set"], "spec": spec, "status": status,
            "metadata": record.get("metadata", {})}


def list_items(state: Mapping[str, Any], selector: Selector, now: datetime) -> list[dict[str, Any]]:
    return [item(name, rec, now) for name, rec in sorted(state["schedules"].items())
            if matches(rec["spec"].get("labels") or {}, selector)]


def find(state: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    try:
        return state["schedules"][name]  # type: ignore[no-any-return]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(state["schedules"]), n=1)
        raise NotFound(f"no schedule named {name!r}",
                       hint=f"did you mean {close[0]!r}?" if close else "`sbsched list` shows the schedules") from None
