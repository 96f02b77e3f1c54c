"""In-cluster collectors: troubleshoot's `spec.collectors`, read through the `kubernetes` client.

Each writes what troubleshoot's collector of that kind writes, at the same bundle paths, so sbctl
and troubleshoot's analyzers read our bundles unchanged (docs/collectors.md has the table). Kinds
not listed here (the database collectors, ceph, longhorn, registryImages, sonobuoy, ...) are
recorded by the runner as skipped. `data` and `http` need no API server; the others share the run's
one connection (`CollectContext.kube`).
"""
from __future__ import annotations

from .. import Collector
from .logs import logs
from .objects import cluster_info, config_map, secret, support_bundle_metadata
from .pods import copy_from_pod, exec_, run_pod
from .resources import cluster_resources
from .static import data, http

CLUSTER_COLLECTORS: dict[str, Collector] = {
    "clusterInfo": cluster_info,
    "clusterResources": cluster_resources,
    "logs": logs,
    "configMap": config_map,
    "secret": secret,
    "supportBundleMetadata": support_bundle_metadata,
    "exec": exec_,
    "copyFromPod": copy_from_pod,
    "runPod": run_pod,
    "data": data,
    "http": http,
}
OFFLINE_KINDS = frozenset({"data", "http"})   # need no API server
