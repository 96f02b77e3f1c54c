"""The API calls of `apply/diff --target kubernetes`: what this set owns in the cluster (label-selected
lists), what applying would make of each object (a dry-run server-side apply), the apply itself
(`PATCH application/apply-patch+yaml`, field manager `sbsched`, `force=true`) and the prune (DELETE).

An object of a desired name that exists without this set's labels is never taken over: planning stops
with a conflict naming it (exit 2), as a schedule owned by another set does in the state."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TypeVar

from . import names
from ..base.errors import ConflictError, SbschedError
from .plan import APPLY_ORDER, ClusterPlan, Ref, make_plan
from ..plan.plan import Action

if TYPE_CHECKING:
    from ..collect.kube.client import Kube

WORKERS = 8
TIMEOUT = 30.0
APPLY_PATCH = "application/apply-patch+yaml"
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str
    namespaced: bool


KINDS = {k.kind: k for k in (
    Kind("v1", "ServiceAccount", "serviceaccounts", True),
    Kind("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    Kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    Kind("rbac.authorization.k8s.io/v1", "Role", "roles", True),
    Kind("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", True),
    Kind("v1", "ConfigMap", "configmaps", True),
    Kind("batch/v1", "CronJob", "cronjobs", True),
)}
assert tuple(KINDS) == APPLY_ORDER


class ClusterError(SbschedError):
    """The API server refused a request of the apply or its plan."""


def collection_path(kind: Kind, namespace: str | None) -> str:
    base = f"/api/{kind.api_version}" if "/" not in kind.api_version else f"/apis/{kind.api_version}"
    return f"{base}/namespaces/{namespace}/{kind.plural}" if namespace else f"{base}/{kind.plural}"


def object_path(ref: Ref) -> str:
    kind = KINDS[ref.kind]
    return f"{collection_path(kind, ref.namespace if kind.namespaced else None)}/{ref.name}"


def plan(kube: Kube, set_name: str, namespace: str, desired: Sequence[Mapping[str, Any]]) -> ClusterPlan:
    """The plan against the cluster, made with reads and dry-run applies only."""
    namespaces = {namespace} | {Ref.of(obj).namespace for obj in desired if Ref.of(obj).namespace}
    owned = list_owned(kube, set_name, sorted(namespaces))
    owned_refs = {Ref.of(obj) for obj in owned}
    missing = [Ref.of(obj) for obj in desired if Ref.of(obj) not in owned_refs]
    conflicts = [(ref, found) for ref, found in zip(missing, _parallel(lambda ref: _get(kube, ref), missing)) if found]
    if conflicts:
        lines = [f"{ref} exists and is {_owner(found)}" for ref, found in conflicts]
        raise ConflictError(f"set {set_name!r} would take over objects it does not own: " + "; ".join(lines),
                            hint="rename the schedule, or delete or relabel the object, first")
    existing = [obj for obj in desired if Ref.of(obj) in owned_refs]
    previews = dict(zip((Ref.of(obj) for obj in existing),
                        _parallel(lambda obj: server_side_apply(kube, obj, dry_run=True), existing)))
    return make_plan(set_name, server=kube.server, namespace=namespace, desired=desired, owned=owned,
                     previews=previews)


def execute(kube: Kube, cluster_plan: ClusterPlan, desired: Sequence[Mapping[str, Any]]) -> None:
    """Apply what is created or updated, kind by kind in APPLY_ORDER (a CronJob after its ConfigMap and
    ServiceAccount), then delete what is pruned, CronJobs first."""
    actions = {change.ref: change.action for change in cluster_plan.changes}
    for kind in APPLY_ORDER:
        batch = [obj for obj in desired if obj["kind"] == kind and actions[Ref.of(obj)] in (Action.CREATE, Action.UPDATE)]
        _parallel(lambda obj: server_side_apply(kube, obj, dry_run=False), batch)
    for change in cluster_plan.changes:   # already in delete order
        if change.action is Action.DELETE:
            delete(kube, change.ref)


def list_owned(kube: Kube, set_name: str, namespaces: Iterable[str]) -> list[dict[str, Any]]:
    """Every object of the kinds sbsched renders that carries this set's labels. Namespaced kinds are
    listed across all namespaces; where that is forbidden, in each of `namespaces`."""
    from ..collect.kube.client import ApiError

    selector = names.prune_selector(set_name)
    spots = list(namespaces)

    def of_kind(kind: Kind) -> list[dict[str, Any]]:
        try:
            return _list(kube, collection_path(kind, None), selector, kind)
        except ApiError as exc:
            if not (exc.forbidden and kind.namespaced):
                raise _refused(f"list {kind.plural}", exc) from None
        found = []
        for namespace in spots:
            try:
                found += _list(kube, collection_path(kind, namespace), selector, kind)
            except ApiError as exc:
                raise _refused(f"list {kind.plural} in {namespace}", exc) from None
        return found

    listed = _parallel(of_kind, list(KINDS.values()))
    return [obj for objects in listed for obj in objects if names.owned_by(obj, set_name)]


def _list(kube: Kube, path: str, selector: str, kind: Kind) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = kube.get(path, {"labelSelector": selector, "limit": 500, "continue": token}, timeout=TIMEOUT)
        for item in page.get("items") or []:   # items of a typed list may come without apiVersion and kind
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.kind)
            items.append(item)
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def _get(kube: Kube, ref: Ref) -> dict[str, Any] | None:
    from ..collect.kube.client import ApiError

    try:
        found: dict[str, Any] = kube.get(object_path(ref), timeout=TIMEOUT)
        return found
    except ApiError as exc:
        if exc.not_found:
            return None
        raise _refused(f"get {ref}", exc) from None


def server_side_apply(kube: Kube, obj: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
    from ..collect.kube.client import ApiError

    ref = Ref.of(obj)
    query = {"fieldManager": names.MANAGER, "force": True, "dryRun": "All" if dry_run else None}
    try:
        with kube.request("PATCH", object_path(ref), query, body=obj, timeout=TIMEOUT,
                          content_type=APPLY_PATCH) as response:
            answer: dict[str, Any] = json.loads(response.data)
            return answer
    except ApiError as exc:
        raise _refused(f"apply {ref}" + (" (dry run)" if dry_run else ""), exc) from None


def delete(kube: Kube, ref: Ref) -> None:
    """Delete with background propagation, so a CronJob's Jobs and their pods go too."""
    from ..collect.kube.client import ApiError

    try:
        with kube.request("DELETE", object_path(ref), {"propagationPolicy": "Background"},
                          timeout=TIMEOUT) as response:
            response.data   # read it: the pooled connection must not keep an unread answer
    except ApiError as exc:
        if not exc.not_found:   # already gone is what a delete wants
            raise _refused(f"delete {ref}", exc) from None


def _owner(obj: Mapping[str, Any]) -> str:
    labels = names.labels_of(obj)
    if labels.get(names.MANAGED_BY) == names.MANAGER and labels.get(names.SET_LABEL):
        return f"owned by set {labels[names.SET_LABEL]!r}"
    return f"not managed by sbsched (no {names.MANAGED_BY}={names.MANAGER}, {names.SET_LABEL} labels)"


def _refused(what: str, exc: Any) -> ClusterError:
    return ClusterError(f"{what}: the API server answered HTTP {exc.status}: {exc.message}")


def _parallel(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items)), thread_name_prefix="sbsched-k8s") as pool:
        return list(pool.map(work, items))
