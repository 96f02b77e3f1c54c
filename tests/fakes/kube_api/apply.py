"""Server-side apply, simplified: what `PATCH` with `application/apply-patch+yaml` does to an object.

The applied object's fields are set on the live object (maps merge key by key; lists and scalars are
atomic and replaced), and the manager owns exactly the fields it applied, recorded in
`metadata.managedFields` as FieldsV1 (`{"f:spec": {"f:schedule": {}}}`). A field the manager applied
before and no longer applies is removed, unless another manager owns it. Ownership moves to the applier
(as with `force=true`): there are no conflicts. Not modelled: list merge keys (containers by name), the
`.` of a set, defaulting, and validation beyond the object's identity."""
from __future__ import annotations

import copy
from typing import Any

Path = tuple[str, ...]
IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
SERVER_SET = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")


def leaves(obj: Any, prefix: Path = ()) -> set[Path]:
    """The fields an applied object sets: a non-empty map is walked, anything else is one field."""
    if isinstance(obj, dict) and obj:
        found: set[Path] = set()
        for key, value in obj.items():
            found |= leaves(value, (*prefix, str(key)))
        return found
    return {prefix} if prefix else set()


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return root


def from_fields_v1(fields: Any, prefix: Path = ()) -> set[Path]:
    if not isinstance(fields, dict) or not fields:
        return {prefix} if prefix else set()
    found: set[Path] = set()
    for key, value in fields.items():
        if key.startswith("f:"):
            found |= from_fields_v1(value, (*prefix, key[2:]))
    return found


def _remove(obj: dict[str, Any], path: Path) -> None:
    parents = [obj]
    for key in path[:-1]:
        child = parents[-1].get(key)
        if not isinstance(child, dict):
            return
        parents.append(child)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 2, -1, -1):   # maps left empty by the removal go too
        if parents[depth + 1] == {}:
            parents[depth].pop(path[depth], None)


def _merge(live: dict[str, Any], applied: dict[str, Any]) -> None:
    for key, value in applied.items():
        if isinstance(value, dict) and value and isinstance(live.get(key), dict):
            _merge(live[key], value)
        else:
            live[key] = copy.deepcopy(value)


def apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str, now: str) -> dict[str, Any]:
    """The object after `manager` applies `applied` to `live` (None: it does not exist yet). The result
    equals `live` when the apply changes nothing (then `managedFields` keeps its time)."""
    result = copy.deepcopy(live) if live is not None else {}
    applied = copy.deepcopy(applied)
    for key in SERVER_SET:
        applied.get("metadata", {}).pop(key, None)
    entries = list((result.get("metadata") or {}).get("managedFields") or [])
    mine = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"), None)
    previous = from_fields_v1(mine.get("fieldsV1")) if mine else set()
    fields = leaves(applied) - IDENTITY
    others = [e for e in entries if e is not mine]
    owned_by_others: set[Path] = set()
    for entry in others:   # the applier takes what it applies (force): the others keep the rest
        kept = from_fields_v1(entry.get("fieldsV1")) - fields
        entry["fieldsV1"] = to_fields_v1(kept)
        owned_by_others |= kept
    for path in sorted(previous - fields - owned_by_others, key=len, reverse=True):
        _remove(result, path)
    _merge(result, applied)
    entry = {"manager": manager, "operation": "Apply", "apiVersion": applied.get("apiVersion"),
             "time": mine.get("time") if mine else now, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(fields)}
    kept = [entry if e is mine else e for e in entries if e is mine or e["fieldsV1"]]
    result.setdefault("metadata", {})["managedFields"] = kept if mine is not None else [*kept, entry]
    if live is not None and result != live:
        entry["time"] = now
    return result


def spec_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether metadata.generation moves: anything but metadata and status changed."""
    def body(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    return body(before) != body(after)
