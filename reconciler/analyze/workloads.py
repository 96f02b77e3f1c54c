"""deploymentStatus, statefulsetStatus, jobStatus and replicasetStatus over cluster-resources/<kind>/<ns>.json
(troubleshoot's deployment_status.go, statefulset_status.go, job_status.go, replicaset_status.go,
common_status.go).

With a `name`, one result for that object from the outcomes; without, one failing result per object in
the namespace(s) (all namespaces when none is given) that is not fully ready, and nothing for healthy ones.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from . import selectors, when
from .bundle_files import Bundle, list_items
from .common import FAIL, NONE, Analyzer, AnalyzerError, Icon, Result, outcomes, result, strings, text

_ICONS = "https://troubleshoot.sh/images/analyzer-icons/"
DEPLOYMENT_ICON = Icon("kubernetes_deployment_status", _ICONS + "deployment-status.svg?w=17&h=17")
STATEFULSET_ICON = Icon("kubernetes_statefulset_status", _ICONS + "statefulset-status.svg?w=23&h=14")


def _titler(label: str) -> Callable[[Mapping[str, Any]], str]:
    def title(p: Mapping[str, Any]) -> str:
        name, namespace = text(p, "name"), text(p, "namespace")
        if text(p, "checkName"):
            return text(p, "checkName")
        if name and namespace:
            return f"{namespace}/{name} {label} Status"
        return f"{name or namespace} {label} Status" if name or namespace else f"{label} Status"
    return title


def _objects(bundle: Bundle, folder: str, p: Mapping[str, Any], *, named: bool) -> list[dict[str, Any]]:
    """The objects in the analyzer's namespace files (or every namespace file)."""
    if named:
        patterns = [f"cluster-resources/{folder}/{text(p, 'namespace')}.json"]
    else:
        namespaces = ([text(p, "namespace")] if text(p, "namespace") else []) + strings(p, "namespaces")
        patterns = [f"cluster-resources/{folder}/{ns}.json" for ns in namespaces] or [f"cluster-resources/{folder}/*.json"]
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for pattern in patterns:
        for path, data in bundle.glob(pattern).items():
            if path in seen:
                continue
            seen.add(path)
            try:
                found += list_items(json.loads(data))
            except ValueError as exc:
                raise AnalyzerError(f"failed to unmarshal {folder} list: {exc}") from None
    return found


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((i for i in items if (i.get("metadata") or {}).get("name") == name), None)


def _meta(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def _status(obj: Mapping[str, Any], key: str) -> int:
    value = (obj.get("status") or {}).get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0


def common_status(items: Any, name: str, icon: Icon, ready: int, exists: bool, kind: str) -> Result:
    """The outcome loop of deploymentStatus/statefulsetStatus: `absent`, `<op> N` on ready replicas."""
    title = f"{name} Status"
    for o in items:
        if not exists and o.when != "absent":
            return result(title, FAIL, f'The {kind} "{name}" was not found', o.uri, icon)
        if o.when == "absent":
            if not exists:
                return result(title, o.outcome, o.message, o.uri, icon)
            continue
        if o.when == "":
            return result(title, o.outcome, o.message, o.uri, icon)
        try:
            op, value = when.ready_replicas(o.when)
        except when.WhenError as exc:
            raise AnalyzerError(f"failed to process status: failed to parse {o.outcome} range: {exc}") from None
        if when.compare(op, ready, value):
            return result(title, o.outcome, o.message, o.uri, icon)
    return result(title, NONE, "", "", icon)


def _deployment(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    name = text(p, "name")
    items = _objects(bundle, "deployments", p, named=bool(name))
    if name:
        found = _named(items, name)
        ready = _status(found, "readyReplicas") if found else 0
        return [common_status(outcomes(p), name, DEPLOYMENT_ICON, ready, found is not None, "deployment")]
    results = []
    for d in items:
        if _status(d, "replicas") != _status(d, "availableReplicas"):
            ns, n = _meta(d)
            results.append(result(f"{ns}/{n} Deployment Status", FAIL, f"The deployment {ns}/{n} has "
                                  f"{_status(d, 'readyReplicas')}/{_status(d, 'replicas')} replicas", "",
                                  DEPLOYMENT_ICON))
    return results


def _statefulset_default(s: Mapping[str, Any]) -> Result | None:
    if _status(s, "replicas") == _status(s, "readyReplicas"):
        return None
    ns, n = _meta(s)
    return result(f"{ns}/{n} Statefulset Status", FAIL, f"The statefulset {ns}/{n} has "
                  f"{_status(s, 'readyReplicas')}/{_status(s, 'replicas')} replicas", "", STATEFULSET_ICON)


def _statefulset(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    name = text(p, "name")
    items = _objects(bundle, "statefulsets", p, named=bool(name))
    if not name:
        return [r for r in map(_statefulset_default, items) if r is not None]
    found = _named(items, name)
    if outcomes(p).items:
        ready = _status(found, "readyReplicas") if found else 0
        return [common_status(outcomes(p), name, STATEFULSET_ICON, ready, found is not None, "statefulset")]
    if found is None:
        return [result(f"{name} Status", FAIL, f'The statefulset "{name}" was not found', "", STATEFULSET_ICON)]
    default = _statefulset_default(found)
    return [default] if default else []


def _counted(items: Any, title: str, fields: Mapping[str, int]) -> Result:
    """jobStatus / replicasetStatus outcomes: `<field> <op> N`, first match wins."""
    for o in items:
        if o.when == "":
            return result(title, o.outcome, o.message, o.uri, DEPLOYMENT_ICON)
        try:
            field, op, value = when.counter(o.when, tuple(fields))
        except when.WhenError as exc:
            raise AnalyzerError(f"failed to process status: failed to parse {o.outcome} range: {exc}") from None
        if when.compare(op, fields[field], value):
            return result(title, o.outcome, o.message, o.uri, DEPLOYMENT_ICON)
    return result(title, NONE, "", "", DEPLOYMENT_ICON)


def _job_default(job: Mapping[str, Any]) -> Result | None:
    completions = (job.get("spec") or {}).get("completions")
    succeeded, failed = _status(job, "succeeded"), _status(job, "failed")
    if completions is None and succeeded > 1:
        return None
    if completions is not None and completions == succeeded:
        return None
    if failed == 0:
        return None
    ns, n = _meta(job)
    return result(f"{ns}/{n} Job Status", FAIL, f"The job {ns}/{n} is not complete", "", DEPLOYMENT_ICON)


def _job(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    name = text(p, "name")
    items = _objects(bundle, "jobs", p, named=bool(name))
    if not name:
        return [r for r in map(_job_default, items) if r is not None]
    job = _named(items, name)
    if job is None:
        return [result(f"{name} Job Status", FAIL, f'The job "{name}" was not found', "", DEPLOYMENT_ICON)]
    if outcomes(p).items:
        fields = {"succeeded": _status(job, "succeeded"), "failed": _status(job, "failed")}
        return [_counted(outcomes(p), f"{name} Status", fields)]
    default = _job_default(job)
    return [default] if default else []


def _replicaset_default(rs: Mapping[str, Any]) -> Result | None:
    wanted = (rs.get("spec") or {}).get("replicas")
    available = _status(rs, "availableReplicas")
    if (wanted is None and available == 1) or (wanted is not None and wanted == available):
        return None
    ns, n = _meta(rs)
    return result(f"{ns}/{n} ReplicaSet Status", FAIL, f"The replicaset {ns}/{n} is not ready", "", DEPLOYMENT_ICON)


def _replicaset_outcome(p: Mapping[str, Any], rs: Mapping[str, Any]) -> Result | None:
    if not outcomes(p).items:
        return _replicaset_default(rs)
    fields = {"ready": _status(rs, "readyReplicas"), "available": _status(rs, "availableReplicas")}
    return _counted(outcomes(p), f"{_meta(rs)[1]} Status", fields)


def _replicaset(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    name = text(p, "name")
    items = _objects(bundle, "replicasets", p, named=bool(name))
    if name:
        rs = _named(items, name)
        if rs is None:
            return [result(f"{name} ReplicaSet Status", FAIL, f'The replicaset "{name}" was not found', "",
                           DEPLOYMENT_ICON)]
        found = _replicaset_outcome(p, rs)
        return [found] if found else []
    try:
        selector = selectors.parse(",".join(strings(p, "selector")))
    except selectors.SelectorError as exc:
        raise AnalyzerError(f"failed to parse selector: {exc}") from None
    results = []
    for rs in items:
        labels = {str(k): str(v) for k, v in ((rs.get("metadata") or {}).get("labels") or {}).items()}
        if selector(labels):
            found = _replicaset_outcome(p, rs)
            if found:
                results.append(found)
    return results


ANALYZERS = {
    "deploymentStatus": Analyzer(_titler("Deployment"), _deployment),
    "statefulsetStatus": Analyzer(_titler("Statefulset"), _statefulset),
    "jobStatus": Analyzer(_titler("Job"), _job),
    "replicasetStatus": Analyzer(_titler("ReplicaSet"), _replicaset),
}
