"""Host analyzers over host-collectors/: cpu, memory, diskUsage, time, hostOS, tcpPortStatus, http,
udpPortStatus, tcpLoadBalancer, httpLoadBalancer and subnetAvailable (troubleshoot's host_cpu.go,
host_memory.go, host_disk_usage.go, host_time.go, host_os_info.go, host_tcpportstatus.go, host_http.go,
host_udpportstatus.go, host_tcploadbalancer.go, host_httploadbalancer.go, host_subnetavailable.go,
collected_contents.go, host_analyzer.go), plus the cluster `http` analyzer (http_analyze.go), which
reads the same response file shape.

Each reads the local collector file (host-collectors/system/cpu.json, ...), or, when there is none, the
per-node files of a remote collection listed in host-collectors/system/node_list.json, titled
"<title> - Node <name>". The first outcome whose `when` holds decides; no match gives no result, as in
troubleshoot. They only read files: nothing here opens a connection.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from . import when
from .bundle_files import Bundle, NotCollected
from .common import NONE, Analyzer, AnalyzerError, Result, outcomes, result, text

SYSTEM = "host-collectors/system"
NODE_LIST = "host-collectors/system/node_list.json"
Check = Callable[[str, Mapping[str, Any]], bool]


def collected(bundle: Bundle, local: str, base_dir: str, file_name: str) -> list[tuple[str, bytes]]:
    """[(node name or "", file contents)]: the local file, else one per node of node_list.json."""
    try:
        return [("", bundle.read(local))]
    except NotCollected:
        pass
    try:
        listing = bundle.read(NODE_LIST)
    except NotCollected:
        return []
    try:
        names = json.loads(listing).get("nodes") or []
    except (ValueError, AttributeError) as exc:
        raise AnalyzerError(f"failed to unmarshal node names: {exc}") from None
    found = []
    for node in names:
        try:
            found.append((str(node), bundle.read(f"{base_dir}/{node}/{file_name}")))
        except NotCollected as exc:
            raise AnalyzerError(f"failed to retrieve content for node {node}: {exc}") from None
    return found


def _decode(data: bytes, shape: str) -> Mapping[str, Any]:
    try:
        decoded = json.loads(data)
    except ValueError as exc:
        raise when.WhenError(f"failed to unmarshal data into {shape}: {exc}") from None
    if not isinstance(decoded, dict):
        raise when.WhenError(f"failed to unmarshal data into {shape}: not a JSON object")
    return decoded


def run_host(p: Mapping[str, Any], bundle: Bundle, *, title: str, local: str, base_dir: str, file_name: str,
             shape: str, check: Check, wrap: str) -> list[Result]:
    results: list[Result] = []
    for node, data in collected(bundle, local, base_dir, file_name):
        node_title = f"{title} - Node {node}" if node else title
        for o in outcomes(p):
            if o.when == "":
                hit = True
            else:
                try:
                    hit = check(o.when, _decode(data, shape))
                except when.WhenError as exc:
                    raise AnalyzerError(f"{wrap}: failed to evaluate outcomes: failed to compare {o.when}: {exc}") from None
            if hit:
                results.append(result(node_title, o.outcome, o.message, o.uri))
                break
    return results


def _int(info: Mapping[str, Any], key: str) -> int:
    value = info.get(key, 0)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _cpu(w: str, info: Mapping[str, Any]) -> bool:
    flags = [str(f) for f in info.get("flags") or []]
    return when.host_cpu(w, _int(info, "logicalCount"), _int(info, "physicalCount"), flags,
                         str(info.get("machineArch", "")))


def _os(w: str, info: Mapping[str, Any]) -> bool:
    platform, matches = when.host_os_range(w)
    kernel, os_platform = str(info.get("kernelVersion", "")), str(info.get("platform", ""))
    if platform == "kernelVersion" and matches(when.os_version(kernel)):
        return True
    pieces = platform.split("-")
    if len(pieces) == 3 and pieces[2] == "kernel":
        return platform == f"{os_platform}-{info.get('platformVersion', '')}-kernel" and \
            matches(when.os_version(kernel))
    if platform in (os_platform, str(info.get("platformFamily", ""))):
        return matches(when.os_version(str(info.get("platformVersion", ""))))
    return False


def http_check(w: str, info: Mapping[str, Any]) -> bool:
    response = info.get("response") if isinstance(info.get("response"), dict) else None
    status = _int(response, "status") if response is not None else None
    return when.http_condition(w)(status, info.get("error") is not None)


def _status_is(w: str, info: Mapping[str, Any]) -> bool:
    """A network or subnet check's outcome: its `when` is the status word the collector wrote."""
    return str(info.get("status", "")) == w


def _titled(default: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda p: text(p, "checkName") or default


def _collector_file(kind: str, default_name: str) -> Callable[[Mapping[str, Any]], tuple[str, str, str]]:
    def paths(p: Mapping[str, Any]) -> tuple[str, str, str]:
        name = text(p, "collectorName") or default_name
        return f"host-collectors/{kind}/{name}.json", f"host-collectors/{kind}", f"{name}.json"
    return paths


def _system(file_name: str) -> Callable[[Mapping[str, Any]], tuple[str, str, str]]:
    return lambda p: (f"{SYSTEM}/{file_name}", SYSTEM, file_name)


def _host_analyzer(title: Callable[[Mapping[str, Any]], str],
                   paths: Callable[[Mapping[str, Any]], tuple[str, str, str]], shape: str, check: Check,
                   wrap: str) -> Analyzer:
    def run(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
        local, base_dir, file_name = paths(p)
        return run_host(p, bundle, title=title(p), local=local, base_dir=base_dir, file_name=file_name,
                        shape=shape, check=check, wrap=wrap)
    return Analyzer(title, run)


def _cluster_http_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or text(p, "collectorName")


def _cluster_http(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    file_name = (text(p, "collectorName") or "result") + ".json"
    try:
        info = json.loads(bundle.read(file_name))
    except NotCollected as exc:
        raise AnalyzerError(f"failed to get collected file: {exc}") from None
    except ValueError as exc:
        raise AnalyzerError(f"failed to unmarshal http result: {exc}") from None
    info = info if isinstance(info, dict) else {}
    title = _cluster_http_title(p)
    for o in outcomes(p):
        try:
            hit = o.when == "" or http_check(o.when, info)
        except when.WhenError as exc:
            raise AnalyzerError(f"failed to compare {o.when}: {exc}") from None
        if hit:
            return [result(title, o.outcome, o.message, o.uri)]
    return [result(title, NONE)]


HOST_ANALYZERS = {
    "cpu": _host_analyzer(_titled("Number of CPUs"), _system("cpu.json"), "CPUInfo", _cpu,
                          "failed to analyze OS version"),
    "memory": _host_analyzer(_titled("Amount of Memory"), _system("memory.json"), "MemoryInfo",
                             lambda w, i: when.host_memory(w, _int(i, "total")), "failed to analyze OS version"),
    "diskUsage": _host_analyzer(lambda p: text(p, "checkName") or f"Disk Usage {text(p, 'collectorName')}",
                                _collector_file("diskUsage", "diskUsage"), "DiskUsageInfo",
                                lambda w, i: when.disk_usage(w, _int(i, "total_bytes"), _int(i, "used_bytes")),
                                "failed to analyze disk usage"),
    "time": _host_analyzer(_titled("Time"), _system("time.json"), "TimeInfo",
                           lambda w, i: when.host_time(w, str(i.get("timezone", "")), i.get("ntp_synchronized") is True,
                                                       i.get("ntp_active") is True),
                           "failed to analyze OS version"),
    "hostOS": _host_analyzer(_titled("Host OS Info"), _system("hostos_info.json"), "HostOSInfo", _os,
                             "failed to analyze OS version"),
    "tcpPortStatus": _host_analyzer(_titled("TCP Port Status"), _collector_file("tcpPortStatus", "tcpPortStatus"),
                                    "NetworkStatusResult", _status_is, "failed to analyze tcp port status"),
    "http": _host_analyzer(_titled("HTTP Request"), _collector_file("http", "result"), "httpResult", http_check,
                           "failed to analyze http request"),
    **{kind: _host_analyzer(_titled(title), _collector_file(kind, default), shape,
                            _status_is, wrap)
       for kind, title, default, shape, wrap in (   # the status is the outcome's `when`, as in troubleshoot
           ("udpPortStatus", "UDP Port Status", "udpPortStatus", "NetworkStatusResult",
            "failed to analyze udp port status"),
           ("tcpLoadBalancer", "TCP Load Balancer", "tcpLoadBalancer", "NetworkStatusResult",
            "failed to analyze TCP Load Balancer"),
           ("httpLoadBalancer", "HTTP Load Balancer", "httpLoadBalancer", "NetworkStatusResult",
            "failed to analyze HTTP Load Balancer"),
           ("subnetAvailable", "Subnet Available", "result", "subnetAvailable result",
            "failed to analyze HTTP Load Balancer"))},   # troubleshoot's wording for subnetAvailable too
}
ANALYZERS = {"http": Analyzer(_cluster_http_title, _cluster_http)}
