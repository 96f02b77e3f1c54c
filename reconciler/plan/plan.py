"""Pure planning: stored state + a normalized ScheduleSet → a Plan of create / update / delete / no-op.

The plan is a value (terraform's shape): `diff` renders it, `apply` consumes it and nothing else.
Ownership is by inventory (flux's shape): a set deletes only the schedules the state says it owns;
a name owned by another set is a conflict, never a silent takeover.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, Sequence

from ..base.errors import ConflictError
from ..manifest.model import ScheduleSpec
from ..manifest.normalize import ScheduleSet
from .spec_diff import file_changes

FILES = "specFiles"   # a stored spec's {spec file path: sha256 of its snapshot} (spec_snapshots.py)

FORMAT_VERSION = "1.1"  # diff/apply -o json; bumped in the minor only when keys are added (1.1: serial,
                        # lineage, basis, inputs: what a saved plan is checked against)


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "no-op"


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Change:
    name: str
    action: Action
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    fields: tuple[FieldChange, ...] = ()


class _Changed(Protocol):
    @property
    def action(self) -> Action: ...


class Changeset:
    """What a schedule's plan and a cluster's plan both say of their changes."""
    changes: Sequence[_Changed]

    @property
    def has_changes(self) -> bool:
        return has_changes(self.changes)

    @property
    def summary(self) -> dict[str, int]:
        return summary(self.changes)


def has_changes(changes: Iterable[_Changed]) -> bool:
    """Any create, update or delete (a schedule's plan or a cluster's)."""
    return any(c.action is not Action.NOOP for c in changes)


def summary(changes: Iterable[_Changed]) -> dict[str, int]:
    """How many of each action, every action listed."""
    counts = {a.value: 0 for a in Action}
    for change in changes:
        counts[change.action.value] += 1
    return counts


@dataclass(frozen=True)
class Plan(Changeset):
    set_name: str
    changes: tuple[Change, ...]
    serial: int = 0                 # the state serial the plan was made against
    empty_manifest: bool = False    # `schedules:` listed nothing
    lineage: str | None = None
    basis: str | None = None        # digest of every stored schedule's set and spec (state.basis)
    inputs: Mapping[str, Any] | None = None   # the manifest's and spec files' digests (ScheduleSet.inputs)
    upgraded: tuple[str, ...] = ()  # no-op schedules whose stored form is upgraded by apply (spec_snapshots)


    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "set": self.set_name,
            "changes": [{"name": c.name, "action": c.action.value, "before": c.before, "after": c.after,
                         "fields": [f.to_json() for f in c.fields]}
                        for c in self.changes],
            "summary": self.summary,
            "serial": self.serial,
            "lineage": self.lineage,
            "basis": self.basis,
            "inputs": self.inputs,
        }


@dataclass(frozen=True)
class StoredSchedule:
    """What planning needs of a stored schedule."""

    set: str
    spec: Mapping[str, Any] = field(default_factory=dict)


def make_plan(stored: Mapping[str, StoredSchedule], desired: ScheduleSet, *, serial: int = 0,
              lineage: str | None = None, contents: Mapping[str, bytes] | None = None) -> Plan:
    """Compare normalized specs; field-level detail (deepdiff) only for the schedules that differ, and
    inside each changed spec file whose both versions are in `contents` (or the set's own contents)."""
    conflicts = sorted(f"{name!r} (owned by set {stored[name].set!r})" for name in desired.schedules
                       if name in stored and stored[name].set != desired.name)
    if conflicts:
        raise ConflictError(f"set {desired.name!r} lists schedules that another set owns: {', '.join(conflicts)}",
                            hint="schedule names are unique in the whole state dir; rename them, or delete them "
                                 "from the other set first")
    changes: list[Change] = []
    texts = {**(contents or {}), **(desired.contents or {})}
    for name, after in desired.schedules.items():
        if name not in stored:
            changes.append(Change(name, Action.CREATE, None, after))
            continue
        before = stored[name].spec
        if before != after:  # stored specs are normalized already; refill only to absorb newer defaults
            before = ScheduleSpec.from_json(before).to_json()
        if before == after:
            changes.append(Change(name, Action.NOOP, before, after))
        else:
            changes.append(Change(name, Action.UPDATE, before, after, field_changes(before, after, texts)))
    for name, record in stored.items():
        if record.set == desired.name and name not in desired.schedules:
            changes.append(Change(name, Action.DELETE, ScheduleSpec.from_json(record.spec).to_json(), None))
    changes.sort(key=lambda c: c.name)
    return Plan(desired.name, tuple(changes), serial=serial, empty_manifest=not desired.schedules, lineage=lineage,
                inputs=desired.inputs)


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any],
                  contents: Mapping[str, bytes] | None = None) -> tuple[FieldChange, ...]:
    """Leaf-level differences as dotted paths (`policy.timeoutSeconds`, `collect.specs[1]`); a spec file
    whose digest changed is `specFiles[<path>]`, followed by the entries that changed inside it."""
    from deepdiff import DeepDiff  # 0.2 s to import: only when something changed

    tree = DeepDiff({k: v for k, v in before.items() if k != FILES}, {k: v for k, v in after.items() if k != FILES},
                    view="tree", verbose_level=2)
    out: list[FieldChange] = []
    for report in tree.values():
        for level in report:
            steps = level.path(output_format="list")
            out.append(FieldChange(_dotted(steps), _value(level.t1), _value(level.t2)))
    old, new = before.get(FILES) or {}, after.get(FILES) or {}
    texts = contents or {}
    for path in sorted(old.keys() | new.keys()):
        if old.get(path) != new.get(path):
            out.append(FieldChange(f"{FILES}[{path}]", old.get(path), new.get(path)))
            out += [FieldChange(*change) for change in file_changes(path, texts.get(old.get(path) or ""),
                                                                    texts.get(new.get(path) or ""))]
    out.sort(key=lambda f: f.path)
    return tuple(out)


def _value(value: Any) -> Any:
    from deepdiff.helper import NotPresent

    return None if isinstance(value, NotPresent) else value


def _dotted(steps: list[Any]) -> str:
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out
