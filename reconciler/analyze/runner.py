"""Running analyzers over a bundle directory or archive: dispatch by kind, exclusion, and the rule that one
analyzer's problem never stops the others.

- An analyzer that cannot run becomes a failing result with the reason as its message, titled as the
  analyzer: for cluster analyzers the message is the error (as troubleshoot's preflight reports it), for
  host analyzers `Analyzer Failed: analyze: <error>` (troubleshoot's HostAnalyze).
- A kind sbsched does not implement becomes a `skipped` result, listed, never dropped.
- `exclude: true` leaves the analyzer out, as troubleshoot does.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import cluster, host, nodes, pods, text, workloads
from .archive import BundleError, bundle_root, extract
from .bundle_files import Bundle, NotCollected
from .common import Analyzer, AnalyzerError, flag
from .results import FAIL, SKIPPED, AnalyzerSpec, Result
from .when import WhenError, parse_bool

CLUSTER: dict[str, Analyzer] = {**cluster.ANALYZERS, **nodes.ANALYZERS, **workloads.ANALYZERS, **pods.ANALYZERS,
                                **text.ANALYZERS, **host.ANALYZERS}
HOST: dict[str, Analyzer] = {**host.HOST_ANALYZERS, **text.HOST_ANALYZERS}

# troubleshoot analyzers that sbsched lists as skipped
NOT_IMPLEMENTED_CLUSTER = frozenset({
    "ingressClass", "imagePullSecret", "clusterContainerStatuses", "postgres", "mysql", "mssql", "redis",
    "clickhouse", "cephStatus", "velero", "longhorn", "registryImages", "weaveReport", "sysctl", "clusterResource",
    "certificates", "goldpinger", "nodeMetrics", "s3Status"})
NOT_IMPLEMENTED_HOST = frozenset({
    "tcpLoadBalancer", "httpLoadBalancer", "udpPortStatus", "blockDevices", "systemPackages", "kernelModules",
    "tcpConnect", "ipv4Interfaces", "subnetAvailable", "subnetContainsIP", "filesystemPerformance", "certificate",
    "certificatesCollection", "hostServices", "kernelConfigs", "networkNamespaceConnectivity", "sysctl",
    "registryImages"})


def _excluded(params: Mapping[str, Any], host_analyzer: bool) -> bool:
    value = params.get("exclude")
    if value is None or isinstance(value, bool):
        return bool(value)
    if str(value) == "":
        return False
    try:
        return parse_bool(str(value))
    except WhenError as exc:
        if host_analyzer:          # troubleshoot ignores a malformed host `exclude`
            return False
        raise AnalyzerError(f"failed to parse bool string: {exc}") from None


def _skipped(spec: AnalyzerSpec, params: Mapping[str, Any]) -> Result:
    title = str(params.get("checkName") or spec.kind)
    side = "host analyzer" if spec.host else "analyzer"
    known = NOT_IMPLEMENTED_HOST if spec.host else NOT_IMPLEMENTED_CLUSTER
    reason = "is not supported by sbsched" if spec.kind in known else "is not a troubleshoot " + side + " kind"
    return Result(title=title, outcome=SKIPPED, message=f"skipped: the {side} {spec.kind!r} {reason}",
                  kind=spec.kind, host=spec.host)


def run_analyzer(spec: AnalyzerSpec, bundle: Bundle) -> list[Result]:
    """One analyzer's results; never raises for the analyzer's own problems."""
    params: Mapping[str, Any] = spec.params if isinstance(spec.params, Mapping) else {}
    analyzer = (HOST if spec.host else CLUSTER).get(spec.kind)
    if analyzer is None:
        return [_skipped(spec, params)]
    try:
        if _excluded(params, spec.host):
            return []
        results = analyzer.run(params, bundle)
    except Exception as exc:   # one analyzer's failure is its result, never the run's
        return [_failure(spec, analyzer, params, exc)]
    strict = flag(params, "strict")
    return [r.with_(kind=spec.kind, host=spec.host, strict=strict) for r in results]


def _failure(spec: AnalyzerSpec, analyzer: Analyzer, params: Mapping[str, Any], exc: Exception) -> Result:
    if isinstance(exc, (AnalyzerError, NotCollected)):
        reason = str(exc)
    elif isinstance(exc, (ValueError, OSError)):
        reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = f"internal error: {type(exc).__name__}: {exc}"
    try:
        title = analyzer.title(params)
    except Exception:
        title = spec.kind
    message = f"Analyzer Failed: analyze: {reason}" if spec.host else reason
    return Result(title=title, outcome=FAIL, message=message, kind=spec.kind, host=spec.host, error=True,
                  strict=flag(params, "strict"))


def analyze_dir(bundle_root_dir: Path, analyzers: Sequence[AnalyzerSpec]) -> list[Result]:
    """Run `analyzers` over an extracted bundle (its top directory): cluster analyzers, then host ones."""
    root = Path(bundle_root_dir)
    if not root.is_dir():
        raise BundleError(f"bundle directory not found: {root}")
    bundle = Bundle(root)
    ordered = [a for a in analyzers if not a.host] + [a for a in analyzers if a.host]
    return [r for spec in ordered for r in run_analyzer(spec, bundle)]


def analyze_archive(archive: Path, analyzers: Sequence[AnalyzerSpec]) -> list[Result]:
    """Unpack a .tar.gz bundle into a private temporary directory, analyze it, remove the directory.
    A directory is analyzed in place."""
    path = Path(archive)
    if path.is_dir():
        return analyze_dir(bundle_root(path), analyzers)
    with tempfile.TemporaryDirectory(prefix="sbsched-analyze-") as scratch:   # mkdtemp: mode 0700
        destination = Path(scratch)
        extract(path, destination)
        return analyze_dir(bundle_root(destination), analyzers)
