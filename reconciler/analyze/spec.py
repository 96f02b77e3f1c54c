"""Which analyzers to run: troubleshoot spec files plus a schedule's inline lists.

Where troubleshoot keeps analyzers, by kind:
  SupportBundle, Analyzer   spec.analyzers (cluster) and spec.hostAnalyzers (host)
  Preflight                 spec.analyzers (cluster)
  HostPreflight             spec.analyzers (host)
A spec may be wrapped in a ConfigMap/Secret (troubleshoot's labelled specs). Cluster analyzers that are
exactly alike are run once, as troubleshoot's support-bundle does (DedupAnalyzers).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping

import yaml

from ..base.errors import SbschedError
from ..base.yamlio import SafeLoader
from .results import AnalyzerSpec
from ..troubleshoot.specfiles import read_spec_text, wrapped_documents

ANALYZER_KINDS = frozenset({"SupportBundle", "Analyzer", "Preflight", "HostPreflight"})
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


class AnalyzerSpecError(SbschedError):
    """A spec file that cannot be used for analysis; the message names the file."""


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


def analyzers_of(documents: Iterable[Any], source: str) -> list[AnalyzerSpec]:
    """The analyzers of already-parsed YAML documents, in order."""
    found: list[AnalyzerSpec] = []
    for document in documents:
        for inner in wrapped_documents(document):
            kind, spec = inner.get("kind"), inner.get("spec") or {}
            if not isinstance(kind, str) or kind not in ANALYZER_KINDS or not isinstance(spec, dict):
                continue
            found += entries(spec.get("analyzers"), host=kind == "HostPreflight", source=source)
            if kind in ("SupportBundle", "Analyzer"):
                found += entries(spec.get("hostAnalyzers"), host=True, source=source)
    return found


def read_spec(path: str, read: Callable[[str], str] = read_spec_text) -> list[Any]:
    try:
        return list(yaml.load_all(read(path), Loader=SafeLoader))
    except FileNotFoundError:
        raise AnalyzerSpecError(f"spec file not found: {path}") from None
    except IsADirectoryError:
        raise AnalyzerSpecError(f"spec {path} is a directory, not a file") from None
    except OSError as exc:
        raise AnalyzerSpecError(f"cannot read spec {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise AnalyzerSpecError(f"spec {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AnalyzerSpecError(f"spec {path}{where} is not valid YAML: {problem}") from None


def _identity(spec: AnalyzerSpec) -> str:
    return json.dumps({spec.kind: spec.params}, sort_keys=True, default=str)


def load_analyzers(spec_paths: Iterable[str], inline: Iterable[Mapping[str, Any]] = (),
                   inline_host: Iterable[Mapping[str, Any]] = (), *, strict: bool = True,
                   read: Callable[[str], str] = read_spec_text) -> list[AnalyzerSpec]:
    """Every analyzer of the spec files (in order), then the inline ones; cluster analyzers first, then host
    analyzers (troubleshoot runs them in that order); identical cluster analyzers once. `strict`: a file
    of no kind that carries analyzers is an error (`analyze --spec`); a schedule's specs may be collector-only.
    `read` gives a file's text (a run reads the applied snapshots)."""
    found: list[AnalyzerSpec] = []
    for path in spec_paths:
        documents = read_spec(path, read)
        kinds = {str(d.get("kind")) for doc in documents for d in wrapped_documents(doc)}
        if strict and not kinds & ANALYZER_KINDS:
            shown = ", ".join(sorted(kinds)) or "no troubleshoot document"
            raise AnalyzerSpecError(f"spec {path} holds no SupportBundle, Analyzer, Preflight or HostPreflight "
                                    f"(found {shown})")
        found += analyzers_of(documents, path)
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
