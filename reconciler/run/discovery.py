"""`collect.auto` at run time: which namespaces to discover in, and which foundational collectors
(reconciler/collect/auto.py) these credentials may run, as troubleshoot's auto-discovery decides them
(`Discoverer.getTargetNamespaces`, `applyRBACFiltering`).

Namespaces: the schedule's `collect.namespaces`, else every namespace the API lists, else (listing them
is refused) the kubeconfig context's, where troubleshoot falls back to `default`.
RBAC: each namespaced collector's accesses (the ones `sbsched check` derives for it) are asked with a
SelfSubjectAccessReview; one refused skips the collector, never the run. A review that itself fails
lets the collector run, as troubleshoot's checker does (its own 403s are then recorded as usual).
`clusterInfo` and `clusterResources` are never filtered: the first reads `/version`, open to every
authenticated user, and troubleshoot's collection never skips the second for RBAC (it records what it
could not list). What was refused goes into the bundle's `skipped-collectors.json`, troubleshoot's file
for skipped collectors, with troubleshoot's RBACError wording, and into the execution record.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from ..collect import CollectorSpec, Output
from ..collect.auto import foundational
from .rbac_check import ALL_NAMESPACES, Access, Verdict, needed_access, review

if TYPE_CHECKING:
    from ..collect.kube.client import Kube

RBAC_REASON = "insufficient RBAC permissions"   # troubleshoot's SkippedCollector reason
SKIPPED_FILE = "skipped-collectors.json"
_ALWAYS = frozenset({"clusterInfo", "clusterResources"})


@dataclass(frozen=True)
class Denial:
    spec: CollectorSpec
    errors: tuple[str, ...]   # one per refused access, troubleshoot's RBACError text

    @property
    def reason(self) -> str:
        return f"{RBAC_REASON}: {'; '.join(self.errors)}"


@dataclass
class Discovery:
    namespaces: list[str]
    source: str                                    # where the namespaces came from
    collectors: list[CollectorSpec] = field(default_factory=list)   # what will run
    denied: list[Denial] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"namespaces": self.namespaces, "namespacesFrom": self.source,
                "collectors": [spec.name for spec in self.collectors],
                "denied": [{"collector": d.spec.name, "kind": d.spec.kind, "errors": list(d.errors)}
                           for d in self.denied]}


def discover(kube: Kube, own: Sequence[CollectorSpec], *, timeout: float) -> Discovery:
    """The foundational collectors for this run, split into those that run and those refused."""
    namespaces, source = namespaces_of(kube, timeout)
    found = Discovery(namespaces, source)
    candidates = foundational(namespaces, own)
    checked = [spec for spec in candidates if spec.kind not in _ALWAYS]
    needs = {id(spec): [need.access for need in needed_access(
        [spec], namespaces=kube.namespaces, default_namespace=kube.default_namespace).needs] for spec in checked}
    verdicts = _reviewed({access for accesses in needs.values() for access in accesses}, kube, timeout)
    for spec in candidates:
        refused = [access for access in needs.get(id(spec), [])
                   if not verdicts[access].allowed and not verdicts[access].error]
        if refused:
            found.denied.append(Denial(spec, tuple(rbac_error(spec.name, access) for access in refused)))
        else:
            found.collectors.append(spec)
    return found


def _reviewed(accesses: set[Access], kube: Kube, timeout: float) -> dict[Access, Verdict]:
    """A verdict for each access, asked first at the cluster scope: RBAC only grants, so one allowed
    there is allowed in every namespace, and a cluster with thousands of namespaces costs a handful of
    reviews, not thousands. Only what the cluster scope refuses is asked namespace by namespace."""
    wide = {access: replace(access, namespace=ALL_NAMESPACES, name="") for access in accesses}
    verdicts = review(kube, set(wide.values()), timeout=timeout)
    verdicts.update(review(kube, [access for access in accesses
                                  if access not in verdicts and not verdicts[wide[access]].allowed], timeout=timeout))
    return {access: verdicts[access] if access in verdicts else verdicts[wide[access]] for access in accesses}


def rbac_error(title: str, access: Access) -> str:
    """troubleshoot's RBACError.Error()."""
    resource = access.resource + (f"/{access.subresource}" if access.subresource else "")
    where = f'in the "{access.namespace}" namespace' if access.namespace else "at the cluster scope"
    return f'cannot collect {title}: action "{access.verb}" is not allowed on resource "{resource}" {where}'


def write_skipped(output: Output, denied: Sequence[Denial], started: datetime) -> None:
    """skipped-collectors.json, troubleshoot's shape (collect.SkippedCollector)."""
    stamp = started.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    output.write_json(SKIPPED_FILE, [{"collector": d.spec.name, "reason": RBAC_REASON, "errors": list(d.errors),
                                      "timestamp": stamp} for d in denied])


def namespaces_of(kube: Kube, timeout: float) -> tuple[list[str], str]:
    """(the namespaces a run looks in when the schedule names none, where that list came from)."""
    from ..collect.kube.client import ApiError
    from ..collect.kube.lists import pages

    if kube.namespaces:
        return list(kube.namespaces), "collect.namespaces"
    try:
        names = [str(item["metadata"]["name"]) for page in pages(kube, "/api/v1/namespaces", timeout=timeout)
                 for item in page.get("items") or []]
    except ApiError as exc:
        return [kube.default_namespace], f"the kubeconfig context's namespace (listing namespaces: {exc.message})"
    return sorted(names), "listed"
