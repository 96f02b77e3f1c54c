"""Pure: the no-op plan of a set, made from the state's records one at a time (issue 23, large manifests).

A no-op `diff` or `apply` of 100,000 schedules held the whole parsed state.json (~120 MB of text, ~600 MiB
as dicts) beside the manifest only to find that nothing changed. Here each stored record is parsed,
compared with its desired spec and dropped, so only one is ever held; the state's basis is hashed as the
records stream by. Anything this path does not handle exactly as `make_plan` does (a create, update,
delete, conflict, a schedule written before spec snapshots, or a record out of shape or order) returns
None: the caller then plans from the whole state, which also raises the errors the full path raises.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping

from ..manifest.model import ScheduleSpec
from ..manifest.normalize import ScheduleSet
from ..store.state import STATE_VERSION
from .plan import Action, Change, Plan
from .spec_snapshots import is_legacy

_COMPACT = (",", ":")


def noop_plan(head: Mapping[str, Any], records: Iterable[tuple[str, bytes]], desired: ScheduleSet, *,
              with_basis: bool) -> Plan | None:
    """`head`: the state's keys but its schedules; `records`: (name, compact JSON) per stored schedule in
    name order, as `StateStore.iter_records` yields them. The plan equals `plan_for`'s when it is a no-op
    (`basis` as `state_basis` computes it, when `with_basis`), else None."""
    if not isinstance(head.get("serial"), int) or head.get("version", STATE_VERSION) != STATE_VERSION:
        return None
    basis = hashlib.sha256(b"{") if with_basis else None
    previous: str | None = None
    matched = 0
    for name, line in records:
        if previous is not None and not previous < name:
            return None                          # out of order: the basis would differ; read whole
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not (isinstance(record, dict) and isinstance(record.get("set"), str)
                and isinstance(record.get("spec"), dict)):
            return None
        if basis is not None:
            basis.update(f'{"," if previous is not None else ""}{json.dumps(name)}:'.encode("utf-8"))
            basis.update(json.dumps([record["set"], record["spec"]], sort_keys=True,
                                    separators=_COMPACT).encode("utf-8"))
        previous = name
        after = desired.schedules.get(name)
        if record["set"] != desired.name:
            if after is not None:
                return None                      # a conflict: the full path raises it
            continue
        if after is None or is_legacy(record["spec"]) or not _same(record["spec"], after):
            return None                          # a delete, an upgrade or an update
        matched += 1
    if matched != len(desired.schedules):
        return None                              # a create
    if basis is not None:
        basis.update(b"}")
    changes = tuple(Change(name, Action.NOOP, desired.schedules[name], desired.schedules[name])
                    for name in sorted(desired.schedules))
    return Plan(desired.name, changes, serial=head["serial"], empty_manifest=not desired.schedules,
                lineage=head.get("lineage"), inputs=desired.inputs,
                basis=basis.hexdigest() if basis is not None else None)


def _same(before: dict[str, Any], after: Mapping[str, Any]) -> bool:
    """As make_plan compares: stored specs are normalized already; refilled only to absorb newer defaults."""
    return before == after or ScheduleSpec.from_json(before).to_json() == after
