"""Which analyzers to run: troubleshoot spec files (troubleshoot/reader.py says where each kind keeps
them) plus a schedule's inline lists. Cluster analyzers that are exactly alike are run once, as
troubleshoot's support-bundle does (DedupAnalyzers).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping

from .results import AnalyzerSpec
from ..troubleshoot.reader import ANALYZER_KINDS, SpecError, SpecFile, read_spec_file

_CLUSTER_ORDER = (
    "clusterVersion", "storageClass", "ingressClass", "customResourceDefinition", "ingress", "secret", "configMap",
    "imagePullSecret", "deploymentStatus", "statefulsetStatus", "jobStatus", "replicasetStatus",
    "clusterPodStatuses", "clusterContainerStatuses", "containerRuntime", "distribution", "nodeResources",
    "textAnalyze", "yamlCompare", "jsonCompare", "postgres", "mysql", "mssql", "redis", "clickhouse",
    "cephStatus", "velero", "longhorn", "registryImages", "weaveReport", "sysctl", "clusterResource",
    "certificates", "goldpinger", "event", "nodeMetrics", "http", "s3Status",
)
_HOST_ORDER = (
    "cpu", "memory", "tcpLoadBalancer", "httpLoadBalancer", "diskUsage", "tcpPortStatus", "udpPortStatus", "http",
    "time", "blockDevices", "systemPackages", "kernelModules", "tcpConnect", "ipv4Interfaces", "subnetAvailable",
    "subnetContainsIP", "filesystemPerformance", "certificate", "certificatesCollection", "hostServices", "hostOS",
    "textAnalyze", "kernelConfigs", "jsonCompare", "networkNamespaceConnectivity", "sysctl", "registryImages",
)


def entries(items: Any, *, host: bool, source: str) -> list[AnalyzerSpec]:
    """`[{kind: {params}}]` → AnalyzerSpecs. An entry naming several kinds is the first in troubleshoot's
    order (as its Go struct is read); an entry of another shape is kept as kind `<malformed>`."""
    order = _HOST_ORDER if host else _CLUSTER_ORDER
    found: list[AnalyzerSpec] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict) or not item:
            found.append(AnalyzerSpec("<malformed>", {}, host, source, i))
            continue
        keys = [k for k in item if item[k] is not None]
        known = [k for k in order if k in keys]
        kind = known[0] if known else str(keys[0] if keys else next(iter(item)))
        params = item.get(kind)
        found.append(AnalyzerSpec(kind, params if isinstance(params, dict) else {}, host, source, i))
    return found


def analyzers_of(spec_file: SpecFile) -> list[AnalyzerSpec]:
    """The analyzers of a parsed spec file, in order."""
    return [a for section in spec_file.analyzers
            for a in entries(section.items, host=section.host, source=spec_file.path)]


def _identity(spec: AnalyzerSpec) -> str:
    return json.dumps({spec.kind: spec.params}, sort_keys=True, default=str)


def load_analyzers(spec_paths: Iterable[str], inline: Iterable[Mapping[str, Any]] = (),
                   inline_host: Iterable[Mapping[str, Any]] = (), *, strict: bool = True,
                   read: Callable[[str], SpecFile] = read_spec_file) -> list[AnalyzerSpec]:
    """Every analyzer of the spec files (in order), then the inline ones; cluster analyzers first, then host
    analyzers (troubleshoot runs them in that order); identical cluster analyzers once. `strict`: a file
    of no kind that carries analyzers is an error (`analyze --spec`); a schedule's specs may be collector-only.
    `read` gives a file parsed (a run reads the applied snapshots, each once). Raises SpecError."""
    found: list[AnalyzerSpec] = []
    for path in spec_paths:
        spec_file = read(path)
        if strict and not spec_file.kinds & ANALYZER_KINDS:
            shown = ", ".join(sorted(spec_file.kinds)) or "no troubleshoot document"
            raise SpecError(f"spec {path} holds no SupportBundle, Analyzer, Preflight or HostPreflight "
                            f"(found {shown})")
        found += analyzers_of(spec_file)
    found += entries(list(inline), host=False, source="inline")
    found += entries(list(inline_host), host=True, source="inline")
    seen: set[str] = set()
    cluster: list[AnalyzerSpec] = []
    for spec in (s for s in found if not s.host):
        identity = _identity(spec)
        if identity not in seen:
            seen.add(identity)
            cluster.append(spec)
    return cluster + [s for s in found if s.host]
