"""`sbsched check NAME`: the RBAC preflight. Which Kubernetes access a schedule's collectors will ask
for, and which of it the API server will refuse, before any run.

`needed_access` derives the (verb, group, resource, namespace) accesses from the collector specs alone,
following what each in-cluster collector requests (reconciler/collect/kube): it is pure and tested
without a cluster. `review` asks the API server about each distinct access with a
SelfSubjectAccessReview, in parallel, through the run's own client and credentials: it can only tell
what these credentials may do, never grant anything.

Not derived (known only at run time): the objects of each custom resource definition that
clusterResources lists in its second wave, and discovery (`/api`, `/apis`) and `/version`, which are
non-resource URLs every authenticated user may read.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..base.errors import SbschedError
from ..collect import CollectorSpec
from ..collect.kube import OFFLINE_KINDS
from ..collect.kube.resources import CLUSTER_SCOPED, CRDS, NAMESPACED, NAMESPACES
from ..collect.kube.scope import OutOfScope, resolve, resolve_one

if TYPE_CHECKING:
    from ..collect.kube.client import Kube

WORKERS = 8
REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
ALL_NAMESPACES = ""   # an access across every namespace (a cluster-wide list), or a cluster-scoped one


@dataclass(frozen=True, order=True)
class Access:
    """One SelfSubjectAccessReview's resource attributes."""

    verb: str
    group: str
    resource: str
    namespace: str = ALL_NAMESPACES
    subresource: str = ""
    name: str = ""

    @property
    def display_resource(self) -> str:
        """kubectl's spelling: `deployments.apps`, `pods/log`, `secrets/NAME`."""
        text = self.resource + (f".{self.group}" if self.group else "")
        text += f"/{self.subresource}" if self.subresource else ""
        return text + (f" ({self.name})" if self.name else "")

    @property
    def display_namespace(self) -> str:
        return self.namespace or "<all>"

    def to_review(self) -> dict[str, Any]:
        attributes = {"verb": self.verb, "group": self.group, "resource": self.resource,
                      "namespace": self.namespace, "subresource": self.subresource, "name": self.name}
        return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {k: v for k, v in attributes.items() if v}}}

    def to_json(self) -> dict[str, str]:
        return {"verb": self.verb, "group": self.group, "resource": self.resource, "subresource": self.subresource,
                "namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class Need:
    """An access one collector of the schedule needs."""

    collector: str
    access: Access


@dataclass
class Derived:
    needs: list[Need] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (collector, why no access is needed)


def needed_access(specs: Iterable[CollectorSpec], *, namespaces: Sequence[str], default_namespace: str,
                  cluster: bool = True) -> Derived:
    """The accesses the schedule's in-cluster collectors need, within `namespaces` (the schedule's
    collect.namespaces; empty: every namespace); `default_namespace` is the kubeconfig context's, which
    single-object collectors use when their spec names none. Host collectors, excluded ones, those
    needing no API server and kinds sbsched does not run need nothing."""
    derived = Derived()
    limit = [str(n) for n in namespaces]
    for spec in in_cluster(specs, cluster=cluster):
        derive = _DERIVERS[spec.kind]
        label = spec.kind if spec.name == spec.kind else f"{spec.kind}/{spec.name}"
        try:
            accesses = derive(spec.params, limit, default_namespace)
        except OutOfScope as exc:
            derived.skipped.append((label, str(exc)))
            continue
        seen: set[Access] = set()
        for access in accesses:
            if access not in seen:
                seen.add(access)
                derived.needs.append(Need(label, access))
    return derived


def cluster_sourced(collect: Mapping[str, Any], own: Sequence[CollectorSpec], *, default_namespace: str) -> list[Need]:
    """The accesses `collect.loadClusterSpecs` (listing the labelled Secrets and ConfigMaps) and
    `collect.auto` (listing namespaces, then its foundational collectors') need. Without
    collect.namespaces the namespaces are known only at run time: the per-namespace accesses are asked
    at the cluster scope, the one grant that covers every namespace."""
    from ..collect.auto import ALL_KINDS_ACCESS, foundational

    if not collect["cluster"]:
        return []
    namespaces = [str(n) for n in collect["namespaces"]]
    where = namespaces or [ALL_NAMESPACES]
    needs = [Need("loadClusterSpecs", Access("list", "", plural, namespace))
             for plural in ("secrets", "configmaps") for namespace in where] if collect.get("loadClusterSpecs") else []
    if collect.get("auto"):
        needs += needed_access(foundational(namespaces, own), namespaces=namespaces,
                               default_namespace=default_namespace).needs
        if not namespaces:
            needs.append(Need("auto", Access("list", "", NAMESPACES.plural)))
            needs += [Need("auto", Access(verb, "", resource, subresource=sub)) for verb, resource, sub in ALL_KINDS_ACCESS]
    return needs


def in_cluster(specs: Iterable[CollectorSpec], *, cluster: bool = True) -> list[CollectorSpec]:
    """The collectors that will talk to the API server: in-cluster, not excluded, of a kind sbsched runs."""
    if not cluster:
        return []
    return [spec for spec in specs if not spec.host and spec.kind not in OFFLINE_KINDS and spec.kind in _DERIVERS
            and spec.params.get("exclude") not in (True, "true", "True")]


def _where(scope: list[str] | None) -> list[str]:
    return [ALL_NAMESPACES] if scope is None else scope


def _group(group_version: str) -> str:
    return group_version.rpartition("/")[0]


def _cluster_resources(params: Mapping[str, Any], limit: list[str], default_namespace: str) -> list[Access]:
    scope = resolve(params.get("namespaces"), limit)
    out: list[Access] = []
    if scope is None:
        out.append(Access("list", "", NAMESPACES.plural))
    else:   # each namespace is read by name; RBAC sees the namespace itself as the request's namespace
        out += [Access("get", "", NAMESPACES.plural, namespace, name=namespace) for namespace in scope]
    out.append(Access("list", _group(CRDS.group_version), CRDS.plural))
    for namespace in _where(scope):
        out += [Access("list", _group(kind.group_version), kind.plural, namespace) for kind in NAMESPACED]
        out.append(Access("list", "", "secrets", namespace))          # image pull secrets
    out += [Access("list", _group(kind.group_version), kind.plural) for kind in CLUSTER_SCOPED]
    out.append(Access("create", "authorization.k8s.io", "selfsubjectrulesreviews"))   # auth-cani-list
    out += [Access("get", "", "pods", namespace, subresource="log") for namespace in _where(scope)]  # failing pods
    return out


def _logs(params: Mapping[str, Any], limit: list[str], default_namespace: str) -> list[Access]:
    where = _where(resolve(params.get("namespace"), limit))
    return [Access("list", "", "pods", ns) for ns in where] + \
        [Access("get", "", "pods", ns, subresource="log") for ns in where]


def _exec(params: Mapping[str, Any], limit: list[str], default_namespace: str) -> list[Access]:
    where = _where(resolve(params.get("namespace"), limit))
    return [Access("list", "", "pods", ns) for ns in where] + \
        [Access("create", "", "pods", ns, subresource="exec") for ns in where]


def _object(plural: str) -> Any:
    def derive(params: Mapping[str, Any], limit: list[str], default_namespace: str) -> list[Access]:
        namespace = resolve_one(params.get("namespace"), limit, default_namespace)
        name = str(params.get("name") or "")
        return [Access("get", "", plural, namespace, name=name) if name else Access("list", "", plural, namespace)]
    return derive


def _run_pod(params: Mapping[str, Any], limit: list[str], default_namespace: str) -> list[Access]:
    namespace = resolve_one(params.get("namespace"), limit, default_namespace)
    return [Access("create", "", "pods", namespace), Access("get", "", "pods", namespace),
            Access("get", "", "pods", namespace, subresource="log"), Access("list", "", "events", namespace),
            Access("delete", "", "pods", namespace)]


def _support_bundle_metadata(params: Mapping[str, Any], limit: list[str], default_namespace: str) -> list[Access]:
    namespace = resolve_one(params.get("namespace"), limit, default_namespace)
    return [Access("get", "", "secrets", namespace, name="replicated-support-metadata")]


def _nothing(params: Mapping[str, Any], limit: list[str], default_namespace: str) -> list[Access]:
    return []   # clusterInfo: GET /version, a non-resource URL open to every authenticated user


_DERIVERS: dict[str, Any] = {
    "clusterInfo": _nothing,
    "clusterResources": _cluster_resources,
    "logs": _logs,
    "exec": _exec,
    "copyFromPod": _exec,
    "configMap": _object("configmaps"),
    "secret": _object("secrets"),
    "runPod": _run_pod,
    "supportBundleMetadata": _support_bundle_metadata,
}


# -- asking the API server ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    access: Access
    allowed: bool
    reason: str = ""
    error: str = ""     # the review itself failed (then `allowed` is False and means "unknown")


@dataclass
class Report:
    schedule: str
    server: str
    derived: Derived
    verdicts: dict[Access, Verdict]

    @property
    def denied(self) -> list[Need]:
        return [need for need in self.derived.needs
                if not self.verdicts[need.access].allowed and not self.verdicts[need.access].error]

    @property
    def errors(self) -> list[Verdict]:
        return [v for v in self.verdicts.values() if v.error]

    def answered(self) -> Report:
        """This report, when every review was made; else SbschedError naming the first that failed: the
        answer is unknown, which `check` must not report as allowed or denied."""
        if self.errors:
            first = self.errors[0]
            raise SbschedError(f"{len(self.errors)} access review(s) failed at {self.server}; first: "
                               f"{first.access.verb} {first.access.display_resource}: {first.error}")
        return self

    def to_json(self) -> dict[str, Any]:
        def row(need: Need) -> dict[str, Any]:
            verdict = self.verdicts[need.access]
            return {"collector": need.collector, **need.access.to_json(), "allowed": verdict.allowed,
                    "reason": verdict.reason, **({"error": verdict.error} if verdict.error else {})}
        return {"schedule": self.schedule, "server": self.server, "checked": len(self.verdicts),
                "allowed": sum(1 for v in self.verdicts.values() if v.allowed),
                "denied": [row(need) for need in self.denied],
                "errors": [{**v.access.to_json(), "error": v.error} for v in self.errors],
                "skipped": [{"collector": c, "reason": why} for c, why in self.derived.skipped],
                "items": [row(need) for need in self.derived.needs]}


def review(kube: Kube, accesses: Iterable[Access], *, timeout: float = 30.0,
           workers: int = WORKERS) -> dict[Access, Verdict]:
    """One SelfSubjectAccessReview per distinct access, `workers` at a time."""
    from ..collect.kube.client import ApiError

    distinct = sorted(set(accesses))

    def ask(access: Access) -> Verdict:
        try:
            answer = kube.post(REVIEW_PATH, access.to_review(), timeout=timeout)
        except ApiError as exc:
            return Verdict(access, False, error=f"HTTP {exc.status}: {exc.message}")
        status = (answer.get("status") if isinstance(answer, dict) else None) or {}
        if status.get("evaluationError") and not status.get("allowed"):
            reason = str(status.get("reason") or status["evaluationError"])
        else:
            reason = str(status.get("reason") or "")
        return Verdict(access, bool(status.get("allowed")), reason)

    if not distinct:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(distinct)), thread_name_prefix="sbsched-rbac") as pool:
        return {verdict.access: verdict for verdict in pool.map(ask, distinct)}


def check_schedule(name: str, entry: Mapping[str, Any], root: Path) -> Report:
    """Load the schedule's collectors as a run does (from the applied snapshots of state dir `root`),
    connect as a run does, and review each access."""
    from ..collect import spec as collect_spec
    from ..collect.kube.client import ClusterSettings, open_cluster, rate_limit
    from ..manifest.model import ScheduleSpec
    from ..plan.spec_snapshots import reader

    collect = ScheduleSpec.from_json(entry["spec"]).document["collect"]
    specs = collect_spec.load(collect["specs"], inline_collectors=collect["collectors"],
                              inline_host_collectors=collect["hostCollectors"], read=reader(root, entry["spec"]))
    namespaces = tuple(collect["namespaces"])
    if not in_cluster(specs, cluster=collect["cluster"]) and not cluster_sourced(collect, specs,
                                                                                  default_namespace="default"):
        return Report(name, "", Derived(), {})
    kube = open_cluster(ClusterSettings(collect["kubeconfig"], collect["context"], namespaces, **rate_limit(collect)))
    derived = needed_access(specs, namespaces=namespaces, default_namespace=kube.default_namespace,
                            cluster=collect["cluster"])
    derived.needs += cluster_sourced(collect, specs, default_namespace=kube.default_namespace)
    return Report(name, kube.server, derived, review(kube, (need.access for need in derived.needs)))
