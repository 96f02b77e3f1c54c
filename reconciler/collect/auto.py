"""`collect.auto`: troubleshoot's auto-discovery, foundational part (pkg/collect/autodiscovery,
`Discoverer.generateFoundationalCollectors`), as collector specs. Pure: which namespaces to discover in
and which of these the credentials may run are decided by the run (reconciler/run/discovery.py).

Per troubleshoot: `clusterInfo` and `clusterResources` once, then per namespace the pods' logs
(`logs/<ns>`), its ConfigMaps with their data (`configmaps/<ns>`) and its Secrets without their values
(`secrets/<ns>`). Their ConfigMap/Secret collectors select `*`, which troubleshoot passes on as a label
selector that a real API server rejects; here `*` selects every object (reconciler/collect/kube/objects.py).
As troubleshoot's `AugmentWithFoundational` and `EnsureCollectorInList` do, the schedule's own collectors
win: a foundational one is dropped when the schedule already has one of its kind (clusterInfo,
clusterResources) or of its kind and collectorName (the namespaced ones).
"""
from __future__ import annotations

from typing import Sequence

from . import CollectorSpec

SOURCE = "auto"
ALL = "*"    # troubleshoot's selector for every object of a namespace
_ONCE = ("clusterInfo", "clusterResources")
# (verb, resource, subresource) the namespaced collectors ask in each namespace
ALL_KINDS_ACCESS = (("list", "pods", ""), ("get", "pods", "log"), ("list", "configmaps", ""), ("list", "secrets", ""))


def foundational(namespaces: Sequence[str], own: Sequence[CollectorSpec] = ()) -> list[CollectorSpec]:
    """The foundational collectors for `namespaces` (the schedule's, or every one the run could list),
    less those the schedule's `own` collectors already cover."""
    cluster = [CollectorSpec(kind, {}, False, SOURCE) for kind in _ONCE]   # bounded by collect.namespaces
    per_namespace = [spec for namespace in namespaces for spec in _namespaced(namespace)]
    have_kinds = {spec.kind for spec in own if not spec.host}
    have_names = {(spec.kind, spec.name) for spec in own if not spec.host}
    return [spec for spec in cluster if spec.kind not in have_kinds] + \
        [spec for spec in per_namespace if (spec.kind, spec.name) not in have_names]


def _namespaced(namespace: str) -> list[CollectorSpec]:
    return [CollectorSpec("logs", {"collectorName": f"logs/{namespace}", "namespace": namespace, "selector": []},
                          False, SOURCE),
            CollectorSpec("configMap", {"collectorName": f"configmaps/{namespace}", "namespace": namespace,
                                        "selector": [ALL], "includeAllData": True}, False, SOURCE),
            CollectorSpec("secret", {"collectorName": f"secrets/{namespace}", "namespace": namespace,
                                     "selector": [ALL], "includeValue": False, "includeAllData": False},
                          False, SOURCE)]
