"""Pure: the objects an export renders against the objects the cluster holds → create / update /
delete / no-op per object, with the fields that change.

An update is judged on what the API server answers to a dry-run server-side apply of the desired object
(`previews`), compared with the live object, as `kubectl diff` does: the server's defaults, other
managers' fields and the fields sbsched stops setting are all accounted for by the server itself.
Metadata the server keeps (uid, resourceVersion, generation, managedFields, timestamps) and `status`
are not compared. Deletes are the live objects carrying this set's labels that the export no longer
renders: the inventory is the labels, as with `kubectl apply --prune -l`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..plan.plan import FORMAT_VERSION, Action, Changeset, FieldChange

SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
                   "deletionTimestamp", "deletionGracePeriodSeconds")
APPLY_ORDER = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "CronJob")


@dataclass(frozen=True, order=True)
class Ref:
    """One object's identity."""

    kind: str
    namespace: str   # "" when cluster-scoped
    name: str
    api_version: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Ref:
        metadata = obj.get("metadata") or {}
        return cls(str(obj.get("kind")), str(metadata.get("namespace") or ""), str(metadata.get("name")),
                   str(obj.get("apiVersion")))

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class ObjectChange:
    ref: Ref
    action: Action
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class ClusterPlan(Changeset):
    set_name: str
    server: str
    namespace: str
    changes: tuple[ObjectChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "set": self.set_name,
            "target": "kubernetes",
            "server": self.server,
            "namespace": self.namespace,
            "changes": [{**c.ref.to_json(), "action": c.action.value,
                         "fields": [f.to_json() for f in c.fields]}
                        for c in self.changes],
            "summary": self.summary,
        }


def make_plan(set_name: str, *, server: str, namespace: str, desired: Sequence[Mapping[str, Any]],
              owned: Iterable[Mapping[str, Any]], previews: Mapping[Ref, Mapping[str, Any]]) -> ClusterPlan:
    """`owned`: the live objects carrying this set's labels; `previews`: the dry-run apply answer for
    each desired object that exists (by Ref)."""
    live = {Ref.of(obj): obj for obj in owned}
    changes: list[ObjectChange] = []
    wanted = set()
    for obj in desired:
        ref = Ref.of(obj)
        wanted.add(ref)
        if ref not in live:
            changes.append(ObjectChange(ref, Action.CREATE))
            continue
        fields = tuple(compare(live[ref], previews[ref]))
        changes.append(ObjectChange(ref, Action.UPDATE if fields else Action.NOOP, fields))
    stale = sorted((ref for ref in live if ref not in wanted), key=_delete_order)
    changes += [ObjectChange(ref, Action.DELETE) for ref in stale]
    return ClusterPlan(set_name, server, namespace, tuple(changes))


def _delete_order(ref: Ref) -> tuple[int, Ref]:
    """CronJobs go first (nothing fires that reads a deleted ConfigMap), the ServiceAccount last."""
    rank = APPLY_ORDER.index(ref.kind) if ref.kind in APPLY_ORDER else -1
    return -rank, ref


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without what the server keeps for itself."""
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "status")}, "metadata": metadata}


def compare(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Field by field, in key order; lists of the same length item by item, else whole."""
    out: list[FieldChange] = []
    _walk(comparable(before), comparable(after), "", out)
    return out


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _join(prefix: str, key: str) -> str:
    step = key if _PLAIN_KEY.fullmatch(key) else f'["{key}"]'
    return f"{prefix}.{step}" if prefix and not step.startswith("[") else f"{prefix}{step}"


def _walk(before: Any, after: Any, path: str, out: list[FieldChange]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _walk(before.get(key), after.get(key), _join(path, str(key)), out)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (b, a) in enumerate(zip(before, after)):
            _walk(b, a, f"{path}[{index}]", out)
    else:
        out.append(FieldChange(path, before, after))
