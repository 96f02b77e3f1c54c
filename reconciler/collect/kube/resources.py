"""clusterResources: every kind troubleshoot collects, at troubleshoot's paths, listed in parallel.

The kinds, their API groups and their directory names follow troubleshoot's pkg/collect/
cluster_resources.go (and pkg/constants). What differs is how they are fetched: one cluster-wide
LIST per kind where RBAC allows (per namespace only where it does not, or when namespaces are
limited), with up to WORKERS requests in flight, instead of one LIST per kind per namespace in turn.
Errors are written where troubleshoot writes them (`<dir>-errors.json`); forbidden ones also become
the collector's warnings, so the run completes and says what it could not see.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, Sequence

from .. import CollectContext, CollectorSpec
from .client import ApiError, Kube
from .lists import Kind, Listed, array_file, errors_file, list_kind, pages, split_by_namespace
from .logs import LogLimits, is_unhealthy, save_pod_logs
from .scope import namespaces_in_scope

WORKERS = 8

NAMESPACED = (
    Kind("pods", "v1", "pods", "Pod", True),
    Kind("pod-disruption-budgets", "policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    Kind("services", "v1", "services", "Service", True),
    Kind("deployments", "apps/v1", "deployments", "Deployment", True),
    Kind("statefulsets", "apps/v1", "statefulsets", "StatefulSet", True),
    Kind("daemonsets", "apps/v1", "daemonsets", "DaemonSet", True),
    Kind("replicasets", "apps/v1", "replicasets", "ReplicaSet", True),
    Kind("jobs", "batch/v1", "jobs", "Job", True),
    Kind("cronjobs", "batch/v1", "cronjobs", "CronJob", True),
    Kind("ingress", "networking.k8s.io/v1", "ingresses", "Ingress", True),
    Kind("network-policy", "networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True),
    Kind("resource-quota", "v1", "resourcequotas", "ResourceQuota", True),
    Kind("limitranges", "v1", "limitranges", "LimitRange", True),
    Kind("events", "v1", "events", "Event", True),
    Kind("pvcs", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    Kind("roles", "rbac.authorization.k8s.io/v1", "roles", "Role", True),
    Kind("rolebindings", "rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    Kind("endpoints", "v1", "endpoints", "Endpoints", True),
    Kind("endpointslices", "discovery.k8s.io/v1", "endpointslices", "EndpointSlice", True),
    Kind("serviceaccounts", "v1", "serviceaccounts", "ServiceAccount", True),
    Kind("leases", "coordination.k8s.io/v1", "leases", "Lease", True),
    Kind("configmaps", "v1", "configmaps", "ConfigMap", True),
)
CLUSTER_SCOPED = (
    Kind("nodes", "v1", "nodes", "Node", False),
    Kind("pvs", "v1", "persistentvolumes", "PersistentVolume", False),
    Kind("storage-classes", "storage.k8s.io/v1", "storageclasses", "StorageClass", False),
    Kind("ingress-classes", "networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    Kind("priorityclasses", "scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False),
    Kind("clusterroles", "rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    Kind("clusterrolebindings", "rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Kind("volumeattachments", "storage.k8s.io/v1", "volumeattachments", "VolumeAttachment", False),
    Kind("certificatesigningrequests", "certificates.k8s.io/v1", "certificatesigningrequests",
         "CertificateSigningRequest", False),
    Kind("validating-webhook-configurations", "admissionregistration.k8s.io/v1", "validatingwebhookconfigurations",
         "ValidatingWebhookConfiguration", False),
    Kind("mutating-webhook-configurations", "admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations",
         "MutatingWebhookConfiguration", False),
)
NAMESPACES = Kind("namespaces", "v1", "namespaces", "Namespace", False)
CRDS = Kind("custom-resource-definitions", "apiextensions.k8s.io/v1", "customresourcedefinitions",
            "CustomResourceDefinition", False)
UNHEALTHY_POD_LOGS = LogLimits(max_lines=500, max_bytes=5_000_000)   # troubleshoot's, for failing pods


def cluster_resources(spec: CollectorSpec, ctx: CollectContext) -> None:
    kube = ctx.cluster()
    job = _Job(kube, ctx, namespaces_in_scope(spec.params.get("namespaces"), kube))
    namespaces = job.namespaces()
    unhealthy: list[dict[str, Any]] = []

    def watch_pods(pod: dict[str, Any]) -> None:
        if is_unhealthy(pod):
            unhealthy.append(pod)

    tasks: list[Callable[[], None]] = [job.discovery, job.custom_resource_definitions,
                                       partial(job.image_pull_secrets, namespaces)]
    tasks += [partial(job.kind, kind, namespaces, watch_pods if kind.directory == "pods" else None)
              for kind in NAMESPACED]
    tasks += [partial(job.kind, kind, namespaces) for kind in CLUSTER_SCOPED]
    tasks += [partial(job.rules_review, namespace) for namespace in namespaces]
    job.run(tasks)
    job.run([partial(job.custom_objects, crd) for crd in job.crds] +   # second wave: what the first found
            [partial(job.pod_logs, pod, container) for pod in unhealthy for container in _container_names(pod)])
    job.write_custom_resource_errors()
    job.write_errors()


class _Job:
    """One clusterResources collection: its tasks share the client, the output and the error tables."""

    def __init__(self, kube: Kube, ctx: CollectContext, scope: list[str] | None) -> None:
        self.kube, self.ctx, self.output, self.scope = kube, ctx, ctx.output, scope
        self.errors: dict[str, tuple[dict[str, str], bool]] = {}   # directory -> (errors, namespaced)
        self.crds: list[dict[str, Any]] = []
        self.cr_errors: dict[str, str] = {}                          # CRD name -> why its objects are missing

    def run(self, tasks: Sequence[Callable[[], None]]) -> None:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sbsched-kube") as pool:
            for future in [pool.submit(self._guarded, task) for task in tasks]:
                future.result()

    def _guarded(self, task: Callable[[], None]) -> None:
        if not self.ctx.cancelled.is_set():
            task()

    def namespaces(self) -> list[str]:
        """namespaces.json, and the names in scope: those limited to, or every one the cluster lists."""
        if self.scope is not None:
            found, errors = [], {}
            for name in self.scope:
                try:
                    found.append(self.kube.get(f"/api/v1/namespaces/{name}", timeout=self.ctx.timeout))
                except ApiError as exc:
                    errors[name] = exc.message
            self.output.write_json("cluster-resources/namespaces.json", found)  # troubleshoot: a bare array here
            self._errors("namespaces", errors, namespaced=False)
            return list(self.scope)
        names: list[str] = []
        listed = list_kind(self.kube, self.output, NAMESPACES, [], cluster_wide=True, timeout=self.ctx.timeout,
                           observe=lambda ns: names.append(str(ns["metadata"]["name"])))
        self._errors("namespaces", listed.errors, namespaced=False)
        self.ctx.warnings.extend(listed.restarts)
        if listed.errors:   # cannot list namespaces: still read the one the kubeconfig names
            names.append(self.kube.default_namespace)
        return names

    def kind(self, kind: Kind, namespaces: list[str],
             observe: Callable[[dict[str, Any]], None] | None = None) -> None:
        listed = list_kind(self.kube, self.output, kind, namespaces, cluster_wide=self.scope is None,
                           timeout=self.ctx.timeout, observe=observe)
        self._errors(kind.directory, listed.errors, namespaced=kind.namespaced)
        self.ctx.warnings.extend(listed.restarts)

    def custom_resource_definitions(self) -> None:
        """custom-resource-definitions.json; the CRDs found are listed for `custom_objects`."""
        listed = list_kind(self.kube, self.output, CRDS, [], cluster_wide=True, timeout=self.ctx.timeout,
                           observe=lambda crd: self.crds.append(_crd_summary(crd)))
        self._errors(CRDS.directory, listed.errors, namespaced=False)
        self.ctx.warnings.extend(listed.restarts)

    def custom_objects(self, crd: dict[str, Any]) -> None:
        """One CRD's objects in custom-resources/<crd name>/<ns>.json (or custom-resources/<crd name>.json
        when cluster-scoped), bare arrays as troubleshoot writes them."""
        try:
            self._custom_objects(crd, set(self.scope) if self.scope is not None else None)
        except ApiError as exc:
            self.cr_errors[crd["name"]] = exc.message

    def write_custom_resource_errors(self) -> None:
        if self.cr_errors:
            self.output.write_json("cluster-resources/custom-resources/custom-resources-errors.json",
                                   dict(sorted(self.cr_errors.items())))
            self._warn_forbidden("custom-resources", self.cr_errors)

    def _custom_objects(self, crd: dict[str, Any], wanted: set[str] | None) -> None:
        kind = Kind(f"custom-resources/{crd['name']}", f"{crd['group']}/{crd['version']}", crd["plural"],
                    crd["kind"], crd["namespaced"])
        listed = Listed()
        try:
            split_by_namespace(self.kube, self.output, kind, kind.path(), wanted if kind.namespaced else None, listed,
                               self.ctx.timeout, new_file=lambda handle, _version: array_file(handle, kind),
                               relative=lambda ns: f"cluster-resources/{kind.directory}/{ns}.json" if ns else
                               f"cluster-resources/{kind.directory}.json", write_empty=False)
        finally:
            self.ctx.warnings.extend(listed.restarts)

    def discovery(self) -> None:
        """groups.json ([]APIGroup, the core group first) and resources.json ([]APIResourceList)."""
        errors: list[str] = []
        groups: list[dict[str, Any]] = []
        try:
            core = self.kube.get("/api", timeout=self.ctx.timeout)
            versions = [{"groupVersion": v, "version": v} for v in core.get("versions") or []]
            groups.append({"name": "", "versions": versions, "preferredVersion": versions[0] if versions else {}})
            groups += self.kube.get("/apis", timeout=self.ctx.timeout).get("groups") or []
        except ApiError as exc:
            errors.append(exc.message)
        group_versions = [v["groupVersion"] for g in groups for v in g.get("versions") or []]
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="sbsched-discovery") as pool:
            found = list(pool.map(self._resources_of, group_versions))
        resources = []
        for result in found:
            if isinstance(result, str):
                errors.append(result)
            else:
                resources.append(result)
        self.output.write_json("cluster-resources/groups.json", groups)
        self.output.write_json("cluster-resources/resources.json", resources)
        if errors:
            self.output.write_json("cluster-resources/groups-resources-errors.json", errors)
            self._warn_forbidden("groups-resources", {str(i): e for i, e in enumerate(errors)})

    def _resources_of(self, group_version: str) -> dict[str, Any] | str:
        path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        try:
            found = self.kube.get(path, timeout=self.ctx.timeout)
        except ApiError as exc:
            return f"unable to retrieve the complete list of server APIs: {group_version}: {exc.message}"
        return {"groupVersion": group_version, "resources": found.get("resources") or []}

    def rules_review(self, namespace: str) -> None:
        """auth-cani-list/<ns>.json: what these credentials may do there, as `kubectl auth can-i --list`."""
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                "spec": {"namespace": namespace}}
        try:
            status = self.kube.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", body,
                                    timeout=self.ctx.timeout).get("status") or {}
        except ApiError as exc:
            self._merge_error("auth-cani-list", namespace, exc.message)
            return
        if status.get("incomplete"):
            self._merge_error("auth-cani-list", namespace, str(status.get("evaluationError") or "incomplete"))
        self.output.write_json(f"cluster-resources/auth-cani-list/{namespace}.json", _policy_rules(status))

    def image_pull_secrets(self, namespaces: list[str]) -> None:
        """image-pull-secrets/<ns>/<secret>.json: `{registry: username}` of each dockerconfigjson secret."""
        errors: dict[str, str] = {}
        query = {"fieldSelector": "type=kubernetes.io/dockerconfigjson"}
        wanted = set(namespaces)
        paths: list[tuple[str | None, str]] = [(None, "/api/v1/secrets")] if self.scope is None else []
        paths += [(ns, f"/api/v1/namespaces/{ns}/secrets") for ns in namespaces]
        listed = Listed()
        for namespace, path in paths:
            try:
                for page in pages(self.kube, path, query, timeout=self.ctx.timeout, listed=listed):
                    for secret in page.get("items") or []:
                        if secret["metadata"].get("namespace") in wanted:
                            self._pull_secret(secret, errors)
            except ApiError as exc:
                if namespace is not None:
                    errors[namespace] = exc.message
                elif not exc.forbidden:   # cluster-wide refused: try each namespace
                    errors[""] = exc.message
                    break
                continue
            if namespace is None:
                break
        self._errors("image-pull-secrets", errors, namespaced=True)
        self.ctx.warnings.extend(listed.restarts)

    def _pull_secret(self, secret: dict[str, Any], errors: dict[str, str]) -> None:
        if secret.get("type") != "kubernetes.io/dockerconfigjson":
            return
        namespace, name = str(secret["metadata"]["namespace"]), str(secret["metadata"]["name"])
        try:
            auths = json.loads(base64.b64decode((secret.get("data") or {}).get(".dockerconfigjson", ""))).get("auths")
            users = {registry: base64.b64decode(entry.get("auth", "")).decode("utf-8").split(":")[0]
                     for registry, entry in (auths or {}).items()}
        except (ValueError, binascii.Error, AttributeError) as exc:
            errors[f"{namespace}/{name}"] = str(exc)
            return
        for registry, user in users.items():   # troubleshoot keeps the last registry's entry
            self.output.write_text(f"cluster-resources/image-pull-secrets/{namespace}/{name}.json",
                                   json.dumps({registry: user}, separators=(",", ":")))

    def pod_logs(self, pod: dict[str, Any], container: str) -> None:
        """A failing pod's logs (500 lines, 5 MB), as troubleshoot adds them to clusterResources."""
        metadata = pod["metadata"]
        try:
            save_pod_logs(self.kube, self.output, metadata["namespace"], metadata["name"], container,
                          limits=UNHEALTHY_POD_LOGS, timeout=self.ctx.timeout)
        except ApiError as exc:
            self.output.write_text(f"cluster-resources/pods/logs/{metadata['namespace']}/{metadata['name']}/"
                                   f"{container}-logs-errors.log", exc.message)

    def _merge_error(self, directory: str, key: str, message: str) -> None:
        errors, _ = self.errors.setdefault(directory, ({}, True))
        errors[key] = message

    def _errors(self, directory: str, errors: dict[str, str], *, namespaced: bool) -> None:
        if errors:
            self.errors[directory] = (errors, namespaced)

    def write_errors(self) -> None:
        for directory, (errors, namespaced) in sorted(self.errors.items()):
            errors_file(self.output, directory, errors, namespaced=namespaced)
            self._warn_forbidden(directory, errors)

    def _warn_forbidden(self, directory: str, errors: dict[str, str]) -> None:
        for key, message in sorted(errors.items()):
            if "forbidden" in message:
                self.ctx.warnings.append(f"{directory}{f' ({key})' if key else ''}: {message}")


def _container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    return [str(c["name"]) for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]


def _crd_summary(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd.get("spec") or {}
    versions = [v["name"] for v in spec.get("versions") or [] if v.get("served", True)]
    return {"name": crd["metadata"]["name"], "group": spec.get("group", ""), "plural": spec["names"]["plural"],
            "kind": spec["names"]["kind"], "namespaced": spec.get("scope") == "Namespaced",
            "version": max(versions, key=kube_version_priority) if versions else spec.get("version", "v1")}


_VERSION = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?")


def kube_version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version order: GA > beta > alpha, higher numbers first, anything else last."""
    match = _VERSION.fullmatch(version)
    if not match:
        return (0, 0, 0)
    major, stage, minor = match.groups()
    return (1, {"alpha": 1, "beta": 2, None: 3}[stage], int(major) * 1000 + int(minor or 0))


def _policy_rules(status: dict[str, Any]) -> list[dict[str, Any]]:
    """SubjectRulesReviewStatus → []rbacv1.PolicyRule, kubectl's conversion (omitempty fields dropped)."""
    rules = []
    for rule in status.get("resourceRules") or []:
        rules.append({"verbs": rule.get("verbs") or [],
                      **{k: rule[k] for k in ("apiGroups", "resources", "resourceNames") if rule.get(k)}})
    for rule in status.get("nonResourceRules") or []:
        rules.append({"verbs": rule.get("verbs") or [],
                      **({"nonResourceURLs": rule["nonResourceURLs"]} if rule.get("nonResourceURLs") else {})})
    return rules

