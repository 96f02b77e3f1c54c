"""Cluster analyzers that look at one thing each: clusterVersion, containerRuntime, distribution,
storageClass, customResourceDefinition, ingress, secret, configMap and event. Semantics, titles, icons
and messages follow troubleshoot's pkg/analyze (cluster_version.go, container_runtime.go, distribution.go,
storage_class.go, crd.go, ingress.go, secret.go, configmap.go, event.go)."""
from __future__ import annotations

import json
import re
from typing import Any, Mapping
from urllib.parse import urlsplit

from . import semver, when
from .bundle_files import Bundle, NotCollected, list_items
from .common import FAIL, NONE, PASS, WARN, Analyzer, AnalyzerError, Icon, Result, first_match, outcomes, result, text
from .gotemplate import TemplateError, kubernetes_object, render

_ICONS = "https://troubleshoot.sh/images/analyzer-icons/"
NODES = "cluster-resources/nodes.json"


def _json(bundle: Bundle, path: str, what: str) -> Any:
    data = bundle.read(path)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise AnalyzerError(f"failed to unmarshal {what}: {exc}") from None


def nodes(bundle: Bundle) -> list[dict[str, Any]]:
    try:
        return list_items(_json(bundle, NODES, "node list"))
    except ValueError as exc:
        raise AnalyzerError(f"failed to unmarshal node list: {exc}") from None


# --- clusterVersion ----------------------------------------------------------------------------

def _cluster_version_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or "Required Kubernetes Version"


def _cluster_version(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    icon = Icon("kubernetes_cluster_version", _ICONS + "kubernetes.svg?w=16&h=16")
    try:
        info = _json(bundle, "cluster-info/cluster_version.json", "cluster_version.json")
    except NotCollected as exc:
        raise AnalyzerError(f"failed to get contents of cluster_version.json: {exc}") from None
    git_version = info.get("string", "") if isinstance(info, dict) else ""
    try:
        version = semver.parse_kubernetes(str(git_version))
    except semver.SemverError as exc:
        raise AnalyzerError(f"failed to parse semver from cluster_version.json: {exc}") from None
    items = outcomes(p)
    for o in items:
        if any(e < o.index for e in items.empty):   # troubleshoot stops at an outcome with no fail/warn/pass
            raise AnalyzerError("empty outcome")
        try:
            hit = o.when == "" or when.cluster_version(o.when)(version)
        except when.WhenError as exc:
            raise AnalyzerError(str(exc)) from None
        if hit:
            return [result(_cluster_version_title(p), o.outcome, o.message, o.uri, icon)]
    if items.empty:
        raise AnalyzerError("empty outcome")
    return [result(_cluster_version_title(p), NONE, "", "", icon)]


# --- containerRuntime --------------------------------------------------------------------------

def _runtime_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or "Container Runtime"


def _container_runtime(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    icon = Icon("kubernetes_container_runtime", _ICONS + "container-runtime.svg?w=23&h=16")
    try:
        runtimes = [str(n.get("status", {}).get("nodeInfo", {}).get("containerRuntimeVersion", "")) for n in nodes(bundle)]
    except NotCollected as exc:
        raise AnalyzerError(f"failed to get contents of nodes.json: {exc}") from None

    def matches(o: Any) -> bool:
        op, name = when.container_runtime(o.when)
        return op in when.EQ and any(urlsplit(r).scheme == name for r in runtimes)

    return [first_match(outcomes(p), matches, _runtime_title(p), icon,
                        wrap="failed to compare runtime conditional: ")]


# --- distribution ------------------------------------------------------------------------------

DISTRIBUTIONS = {
    "microk8s": "microk8s", "dockerdesktop": "dockerDesktop", "docker desktop": "dockerDesktop", "eks": "eks",
    "gke": "gke", "digitalocean": "digitalOcean", "openshift": "openShift", "tanzu": "tanzu", "kurl": "kurl",
    "aks": "aks", "ibm": "ibm", "ibmcloud": "ibm", "ibm cloud": "ibm", "minikube": "minikube", "rke2": "rke2",
    "k3s": "k3s", "oke": "oke", "kind": "kind", "k0s": "k0s", "embeddedcluster": "embeddedCluster",
}
_LABEL_PROVIDERS = {"kubernetes.azure.com/role": "aks", "minikube.k8s.io/version": "minikube",
                    "oci.oraclecloud.com/fault-domain": "oke", "node.k0sproject.io/role": "k0s",
                    "kots.io/embedded-cluster-role": "embeddedCluster",
                    "run.tanzu.vmware.com/kubernetesDistributionVersion": "tanzu"}
_PROVIDER_IDS = {"digitalocean:": "digitalOcean", "aws:": "eks", "gce:": "gke", "ibm:": "ibm", "kind:": "kind"}


def normalize_distribution(name: str) -> str | None:
    return DISTRIBUTIONS.get(name.strip().lower().replace("-", ""))


def detect_providers(node_items: list[dict[str, Any]], api_groups: list[str]) -> set[str]:
    """troubleshoot's ParseNodesForProviders plus CheckApiResourcesForProviders."""
    found: set[str] = set()
    master = False
    for node in node_items:
        meta = node.get("metadata") or {}
        labels = meta.get("labels") or {}
        for key, value in labels.items():
            if key == "kurl.sh/cluster" and value == "true":
                found.add("kurl")
            elif key == "microk8s.io/cluster" and value == "true":
                found.add("microk8s")
            if key in ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"):
                master = True
            if key in ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type") and value == "k3s":
                found.add("k3s")
            if key in _LABEL_PROVIDERS:
                found.add(_LABEL_PROVIDERS[key])
        if "rke2.io/node-args" in (meta.get("annotations") or {}):
            found.add("rke2")
        if (node.get("status") or {}).get("nodeInfo", {}).get("osImage") == "Docker Desktop":
            found.add("dockerDesktop")
        provider_id = str((node.get("spec") or {}).get("providerID", ""))
        found.update(p for prefix, p in _PROVIDER_IDS.items() if provider_id.startswith(prefix))
    if master:
        found.discard("eks")   # EKS lists no control-plane nodes
    for group in api_groups:
        if group.startswith("apps.openshift.io/"):
            found.add("openShift")
            break
        if group.startswith("run.tanzu.vmware.com/"):
            found.add("tanzu")
            break
    return found


def _distribution_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or "Kubernetes Distribution"


def _distribution(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    icon = Icon("kubernetes_distribution", _ICONS + "distribution.svg?w=20&h=14")
    title = _distribution_title(p)
    try:
        node_items = nodes(bundle)
    except NotCollected as exc:
        raise AnalyzerError(f"failed to analyze distribution: failed to get contents of nodes.json: {exc}") from None
    groups: list[str] = []
    if bundle.exists("cluster-resources/resources.json"):   # troubleshoot 0.9.15 and older did not collect it
        resources = _json(bundle, "cluster-resources/resources.json", "api resource list")
        groups = [str(r.get("groupVersion", "")) for r in resources if isinstance(r, dict)] \
            if isinstance(resources, list) else []
    found = detect_providers(node_items, groups)
    unknown: list[str] = []

    def matches(o: Any) -> bool:
        op, name = when.distribution(o.when)
        normalized = normalize_distribution(name)
        if normalized is None:
            unknown.append(f"- Unknown distribution: {name} ")
            return False
        if op in when.EQ:
            return normalized in found
        if op in when.NE:
            return normalized not in found
        return False

    decided = first_match(outcomes(p), matches, title, icon,
                          wrap="failed to analyze distribution: failed to compare distribution conditional: ")
    if decided.outcome != NONE:
        return [decided]
    return [result(title, WARN, "".join(unknown) or "None of the conditionals were met", "", icon)]


# --- presence checks: storageClass, customResourceDefinition, ingress, secret, configMap -------

def _last(items: Any, outcome: str) -> tuple[str, str] | None:
    """troubleshoot's presence analyzers take the message of the last outcome of a kind; `when` is unused."""
    chosen = [o for o in items if o.outcome == outcome]
    return (chosen[-1].message, chosen[-1].uri) if chosen else None


def _storage_class_title(p: Mapping[str, Any]) -> str:
    name = text(p, "storageClassName")
    return text(p, "checkName") or (f"Storage class {name}" if name else "Default Storage Class")


def _storage_class(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    icon = Icon("kubernetes_storage_class", _ICONS + "storage-class.svg?w=12&h=12")
    wanted, title, items = text(p, "storageClassName"), _storage_class_title(p), outcomes(p)
    classes = list_items(_json(bundle, "cluster-resources/storage-classes.json", "storage class list"))
    for sc in classes:
        meta = sc.get("metadata") or {}
        is_default = (meta.get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
        if meta.get("name") == wanted or (not wanted and is_default):
            message, uri = _last(items, PASS) or ("", "")
            return [result(title, PASS, message or ("" if wanted else "Default Storage Class found"), uri, icon)]
    message, uri = _last(items, FAIL) or ("", "")
    return [result(title, FAIL, message or ("" if wanted else "No Default Storage Class found"), uri, icon)]


def _crd_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or f"Custom resource definition {text(p, 'customResourceDefinitionName')}"


def _crd(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    icon = Icon("kubernetes_custom_resource_definition", _ICONS + "custom-resource-definition.svg?w=13&h=16")
    title, items = _crd_title(p), outcomes(p)
    crds = list_items(_json(bundle, "cluster-resources/custom-resource-definitions.json", "crd list"))
    if any((c.get("metadata") or {}).get("name") == text(p, "customResourceDefinitionName") for c in crds):
        message, uri = _last(items, PASS) or ("", "")
        return [result(title, PASS, message, uri, icon)]
    outcome, message, uri = NONE, "", ""
    for o in items:                       # the last fail or warn outcome decides
        if o.outcome in (FAIL, WARN):
            outcome, message, uri = o.outcome, o.message, o.uri
    return [result(title, outcome, message, uri, icon)]


def _ingress_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or f"Ingress {text(p, 'ingressName')}"


def _ingress(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    icon = Icon("kubernetes_ingress", _ICONS + "ingress-controller.svg?w=20&h=13")
    title, items = _ingress_title(p), outcomes(p)
    found = list_items(_json(bundle, f"cluster-resources/ingress/{text(p, 'namespace')}.json", "ingress list"))
    if any((i.get("metadata") or {}).get("name") == text(p, "ingressName") for i in found):
        message, uri = _last(items, PASS) or ("", "")
        return [result(title, PASS, message, uri, icon)]
    message, uri = _last(items, FAIL) or ("", "")
    return [result(title, FAIL, message, uri, icon)]


def _presence(p: Mapping[str, Any], bundle: Bundle, *, folder: str, name_key: str, exists_key: str,
              title: str) -> list[Result]:
    icon = Icon("kubernetes_analyze_secret", _ICONS + "secret.svg?w=13&h=16")
    parts = [folder, text(p, "namespace"), text(p, name_key)] + ([text(p, "key")] if text(p, "key") else [])
    found = _json(bundle, "/".join(parts) + ".json", folder)
    found = found if isinstance(found, dict) else {}
    items = outcomes(p)
    missing = not found.get(exists_key) or (
        bool(text(p, "key")) and (found.get("key") != text(p, "key") or not found.get("keyExists")))
    if missing:
        fail = _last(items, FAIL)
        if fail is None:
            raise AnalyzerError(f"{folder[:-1]} {text(p, name_key)!r} is missing and the analyzer has no fail outcome")
        return [result(title, FAIL, fail[0], fail[1], icon)]
    message, uri = _last(items, PASS) or ("", "")
    return [result(title, PASS, message, uri, icon)]


def _secret_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or f"Secret {text(p, 'secretName')}"


def _configmap_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or f"ConfigMap {text(p, 'configMapName')}"


# --- event -------------------------------------------------------------------------------------

def _event_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or text(p, "collectorName") or "Event"


def find_event(events: list[dict[str, Any]], reason: str, kind: str, pattern: str) -> dict[str, Any] | None:
    """The first event with this reason (any case), kind (if given) and a message matching `pattern`."""
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error:
        return None                      # troubleshoot logs the bad regex and matches nothing
    for event in events:
        if str(event.get("reason", "")).lower() != reason.lower():
            continue
        if kind and str((event.get("involvedObject") or {}).get("kind", "")).lower() != kind.lower():
            continue
        if regex is None or regex.search(str(event.get("message", ""))):
            return event
    return None


def _decorate(message: str, event: dict[str, Any] | None) -> str:
    if event is None:
        return message
    try:
        return render(message, kubernetes_object(event)).strip()
    except TemplateError:
        involved = event.get("involvedObject") or {}
        return (f"Event matched. Reason: {event.get('reason', '')} Name: {involved.get('name', '')} "
                f"Message: {event.get('message', '')}")


def _event(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    icon = Icon("kubernetes_event", _ICONS + "kubernetes.svg?w=16&h=16")
    if not text(p, "reason"):
        raise AnalyzerError("reason is required")
    namespace = text(p, "namespace") or "default"
    path = f"cluster-resources/events/{namespace}.json"
    try:
        events = list_items(json.loads(bundle.read(path)))
    except NotCollected as exc:
        raise AnalyzerError(f"failed to read collected events for namespace: {namespace}: {exc}") from None
    except ValueError as exc:
        raise AnalyzerError(f"failed to read collected events: {exc}") from None
    event = find_event(events, text(p, "reason"), text(p, "kind"), text(p, "regex"))
    title = _event_title(p)
    for o in outcomes(p):
        try:
            wanted = when.parse_bool(o.when)
        except when.WhenError as exc:
            raise AnalyzerError(f"failed to parse when condition: {o.when}: {exc}") from None
        if wanted == (event is not None):
            return [result(title, o.outcome, _decorate(o.message, event), o.uri, icon)]
    return [result(title, NONE, "", "", icon)]


ANALYZERS = {
    "clusterVersion": Analyzer(_cluster_version_title, _cluster_version),
    "containerRuntime": Analyzer(_runtime_title, _container_runtime),
    "distribution": Analyzer(_distribution_title, _distribution),
    "storageClass": Analyzer(_storage_class_title, _storage_class),
    "customResourceDefinition": Analyzer(_crd_title, _crd),
    "ingress": Analyzer(_ingress_title, _ingress),
    "secret": Analyzer(_secret_title, lambda p, b: _presence(p, b, folder="secrets", name_key="secretName",
                                                             exists_key="secretExists", title=_secret_title(p))),
    "configMap": Analyzer(_configmap_title, lambda p, b: _presence(p, b, folder="configmaps",
                                                                   name_key="configMapName",
                                                                   exists_key="configMapExists",
                                                                   title=_configmap_title(p))),
    "event": Analyzer(_event_title, _event),
}
