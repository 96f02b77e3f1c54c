"""Host analyzers over host-collectors/ files in the shapes troubleshoot's collectors write
(tests/fixtures/troubleshoot-shapes/host-collectors.json), and over what our own host collectors write on
this machine. Expectations from troubleshoot's host_*_test.go files (case names in the comments)."""
from __future__ import annotations

import pytest

from reconciler.collect import CollectContext, CollectorSpec, Output
from reconciler.collect.host import HOST_COLLECTORS

from .conftest import brief, outcomes, run

GI = 2 ** 30
CPU = "host-collectors/system/cpu.json"
MEMORY = "host-collectors/system/memory.json"
TIME = "host-collectors/system/time.json"
HOST_OS = "host-collectors/system/hostos_info.json"


def host(kind, params, root):
    return run(kind, params, root, host=True)


@pytest.mark.parametrize("cpu, spec_outcomes, expected", [
    # host_cpu_test.go: logical/physical counts, microarchitectures and flags
    ({"logicalCount": 4, "physicalCount": 2, "flags": [], "machineArch": "x86_64"},
     outcomes(("fail", "count < 2", "At least 2 CPU cores are required"), ("warn", "count < 6", "6 recommended"),
              ("pass", "", "enough")),
     ("warn", "Number of CPUs", "6 recommended")),
    ({"logicalCount": 8, "physicalCount": 4, "flags": [], "machineArch": "x86_64"},
     outcomes(("fail", "physical < 4", "need 4 physical cores"), ("pass", "logical >= 8", "8 threads")),
     ("pass", "Number of CPUs", "8 threads")),
    ({"logicalCount": 2, "physicalCount": 1, "flags": ["cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"],
      "machineArch": "x86_64"},
     outcomes(("fail", "supports x86-64-v2", "v2 is required"), ("pass", "", "ok")),
     ("pass", "Number of CPUs", "ok")),
    ({"logicalCount": 2, "physicalCount": 1, "flags": ["avx", "avx2"], "machineArch": "aarch64"},
     outcomes(("fail", "machineArch != x86_64", "x86_64 only"), ("pass", "hasFlags avx,avx2", "AVX2")),
     ("fail", "Number of CPUs", "x86_64 only")),
])
def test_cpu(bundle, cpu, spec_outcomes, expected):
    assert brief(host("cpu", {"outcomes": spec_outcomes}, bundle({CPU: cpu}))) == [expected]


@pytest.mark.parametrize("total, expected", [
    (8 * GI, ("pass", "Amount of Memory", "System has at least 4Gi of memory")),  # "Pass on memory available (local)"
    (2 * GI, ("fail", "Amount of Memory", "System requires at least 4Gi of memory")),
    (5 * GI, ("warn", "Amount of Memory", "System performs best with more than 6Gi of memory")),
])
def test_memory(bundle, total, expected):
    spec = {"outcomes": outcomes(("fail", "< 4Gi", "System requires at least 4Gi of memory"),
                                 ("warn", "<= 6Gi", "System performs best with more than 6Gi of memory"),
                                 ("pass", ">= 4Gi", "System has at least 4Gi of memory"))}
    assert brief(host("memory", spec, bundle({MEMORY: {"total": total}}))) == [expected]


def test_memory_of_remote_nodes(bundle):
    # host_memory_test.go "Fail on memory available (remote node)": per-node files and titles
    root = bundle({"host-collectors/system/node_list.json": {"nodes": ["node1", "node2"]},
                   "host-collectors/system/node1/memory.json": {"total": 8 * GI},
                   "host-collectors/system/node2/memory.json": {"total": 32 * GI}})
    spec = {"outcomes": outcomes(("fail", "< 16Gi", "System requires at least 16Gi of memory"),
                                 ("pass", "", "Memory is sufficient"))}
    assert brief(host("memory", spec, root)) == [
        ("fail", "Amount of Memory - Node node1", "System requires at least 16Gi of memory"),
        ("pass", "Amount of Memory - Node node2", "Memory is sufficient")]


def test_memory_when_a_remote_node_file_is_missing(bundle):
    root = bundle({"host-collectors/system/node_list.json": {"nodes": ["node1"]}})
    [result] = host("memory", {"outcomes": outcomes(("pass", "", "ok"))}, root)
    assert (result.outcome, result.message) == (
        "fail", "Analyzer Failed: analyze: failed to retrieve content for node node1: "
                "host-collectors/system/node1/memory.json: not found")


EPHEMERAL_OUTCOMES = outcomes(("fail", "total < 10Gi", "/var/lib/kubelet requires at least 10Gi"),
                              ("fail", "used/total >= 80%", "/var/lib/kubelet is more than 80% full"),
                              ("warn", "used >= 100Gi", "/var/lib/kubelet has more than 100Gi used"),
                              ("pass", "available > 10Gi", "/var/lib/kubelet has at least 10Gi available"))


@pytest.mark.parametrize("total, used, spec_outcomes, expected", [
    # host_disk_usage_test.go TestAnalyzeHostDiskUsage
    (10 * GI, 5 * GI, outcomes(("fail", "used/total >= 80%", "/var/lib/kubelet is more than 80% full"),
                               ("fail", "total <= 10Gi", "/var/lib/kubelet requires at least 10Gi")),
     ("fail", "/var/lib/kubelet requires at least 10Gi")),      # "Fail on insuffient total ephemeral disk space"
    (10 * GI, 8 * GI, EPHEMERAL_OUTCOMES, ("fail", "/var/lib/kubelet is more than 80% full")),  # "... percentage"
    (1024 * GI, 100 * GI, EPHEMERAL_OUTCOMES, ("warn", "/var/lib/kubelet has more than 100Gi used")),  # "Warn on high ..."
    (12 * GI, 1 * GI, EPHEMERAL_OUTCOMES, ("pass", "/var/lib/kubelet has at least 10Gi available")),  # "Pass on ..."
    (9 * GI, 1 * GI, outcomes(("warn", "available < 10Gi", "/var/lib/kubelet less than 10Gi available"),
                              ("warn", "available < 25Gi", "/var/lib/kubelet less than 25Gi available"),
                              ("pass", "", "/var/lib/kubelet passed")),
     ("warn", "/var/lib/kubelet less than 10Gi available")),    # "Pass with empty When and warning"
])
def test_disk_usage(bundle, total, used, spec_outcomes, expected):
    root = bundle({"host-collectors/diskUsage/ephemeral.json": {"total_bytes": total, "used_bytes": used}})
    results = host("diskUsage", {"collectorName": "ephemeral", "outcomes": spec_outcomes}, root)
    assert brief(results) == [(expected[0], "Disk Usage ephemeral", expected[1])]


@pytest.mark.parametrize("synchronized, active, expected", [   # host_time_test.go
    (True, True, ("pass", "System clock synchronized and NTP is active")),        # "ntp == synchronized+active"
    (False, False, ("fail", "System clock not synchronized")),                   # "ntp == unsynchronized+inactive"
    (False, True, ("warn", "System clock not yet synchronized")),                # "ntp == unsynchronized+active"
])
def test_time(bundle, synchronized, active, expected):
    root = bundle({TIME: {"timezone": "UTC", "ntp_synchronized": synchronized, "ntp_active": active}})
    spec = {"outcomes": outcomes(("fail", "ntp == unsynchronized+inactive", "System clock not synchronized"),
                                 ("warn", "ntp == unsynchronized+active", "System clock not yet synchronized"),
                                 ("pass", "ntp == synchronized+active", "System clock synchronized and NTP is active"))}
    assert brief(host("time", spec, root)) == [(expected[0], "Time", expected[1])]


def test_time_zone(bundle):
    root = bundle({TIME: {"timezone": "Europe/Paris", "ntp_synchronized": True, "ntp_active": True}})
    spec = {"outcomes": outcomes(("warn", "timezone != UTC", "hosts should run in UTC"), ("pass", "", "UTC"))}
    assert brief(host("time", spec, root)) == [("warn", "Time", "hosts should run in UTC")]


UBUNTU = {"name": "node-1", "kernelVersion": "5.15.0-1051-azure", "platformVersion": "22.04", "platform": "ubuntu",
          "platformFamily": "debian"}


@pytest.mark.parametrize("spec_outcomes, expected", [   # host_os_info_test.go: platform, ranges, kernel
    (outcomes(("pass", "ubuntu >= 20.04", "supported ubuntu"), ("fail", "", "unsupported")),
     ("pass", "Host OS Info", "supported ubuntu")),
    (outcomes(("fail", "ubuntu < 22.04 || >= 24.04", "untested ubuntu"), ("pass", "", "ok")),
     ("pass", "Host OS Info", "ok")),
    (outcomes(("fail", "centos >= 7", "centos"), ("warn", "ubuntu = 22.04", "22.04 is old"), ("pass", "", "ok")),
     ("warn", "Host OS Info", "22.04 is old")),
    (outcomes(("fail", "kernelVersion < 5.15", "kernel too old"), ("pass", "kernelVersion >= 5.15", "kernel ok")),
     ("pass", "Host OS Info", "kernel ok")),
    (outcomes(("fail", "ubuntu-22.04-kernel < 6.0", "22.04 needs the HWE kernel"), ("pass", "", "ok")),
     ("fail", "Host OS Info", "22.04 needs the HWE kernel")),
])
def test_host_os(bundle, spec_outcomes, expected):
    assert brief(host("hostOS", {"outcomes": spec_outcomes}, bundle({HOST_OS: UBUNTU}))) == [expected]


@pytest.mark.parametrize("status, spec_outcomes, expected", [  # host_tcpportstatus_test.go
    ("connected", outcomes(("pass", "connected", "Port 6443 is open"), ("warn", "", "Unexpected port status")),
     ("pass", "Kubernetes API TCP Port Status", "Port 6443 is open")),             # "pass expect single result"
    ("connected", outcomes(("pass", "foo", "Port 6443 is open"), ("warn", "", "Unexpected port status")),
     ("warn", "Kubernetes API TCP Port Status", "Unexpected port status")),        # "get warn if no match"
    ("connection-refused", outcomes(("fail", "connection-refused", "Nothing listens on 6443"), ("pass", "", "ok")),
     ("fail", "Kubernetes API TCP Port Status", "Nothing listens on 6443")),
])
def test_tcp_port_status(bundle, status, spec_outcomes, expected):
    root = bundle({"host-collectors/tcpPortStatus/kubernetes-api.json": {"status": status, "message": ""}})
    spec = {"checkName": "Kubernetes API TCP Port Status", "collectorName": "kubernetes-api", "outcomes": spec_outcomes}
    assert brief(host("tcpPortStatus", spec, root)) == [expected]


HTTP_OUTCOMES = outcomes(("fail", "error", "Failed to reach replicated.registry.com"),
                         ("warn", "statusCode == 204", "No content"),
                         ("pass", "statusCode == 200", "Successfully reached registry"))


@pytest.mark.parametrize("collected, spec_outcomes, expected", [   # host_http_test.go
    ({"error": {"message": "i/o timeout"}}, HTTP_OUTCOMES,
     ("fail", "Failed to reach replicated.registry.com")),                          # "error"
    ({"response": {"status": 200, "body": "", "headers": {}}}, HTTP_OUTCOMES,
     ("pass", "Successfully reached registry")),                                    # "200"
    ({"response": {"status": 204, "body": "", "headers": {}}}, HTTP_OUTCOMES, ("warn", "No content")),
    ({"response": {"status": 200, "body": "", "headers": {}}},
     outcomes(("pass", "statusCode == 200", "passed"), ("fail", "", "default")), ("pass", "passed")),  # "skip default"
    ({"response": {"status": 201, "body": "", "headers": {}}},
     outcomes(("pass", "statusCode != 200", "passed"), ("fail", "", "default")), ("pass", "passed")),  # "!= compare"
    ({"response": {"status": 201, "body": "", "headers": {}}},
     outcomes(("fail", "statusCode >= 300 || statusCode < 200", "expected 2xx status code"), ("pass", "", "default")),
     ("pass", "default")),                                                          # "Looking for 2xx status codes"
    ({"response": {"status": 300, "body": "", "headers": {}}},
     outcomes(("fail", "statusCode >= 300 || statusCode < 200", "expected 2xx status code"), ("pass", "", "default")),
     ("fail", "expected 2xx status code")),                                         # "... does not match"
])
def test_host_http(bundle, collected, spec_outcomes, expected):
    root = bundle({"host-collectors/http/registry.json": collected})
    results = host("http", {"collectorName": "registry", "outcomes": spec_outcomes}, root)
    assert brief(results) == [(expected[0], "HTTP Request", expected[1])]


def test_host_http_bad_operator_fails_the_analyzer(bundle):
    # host_http_test.go "invalid compare operator": an error, which HostAnalyze reports as a failed analyzer
    root = bundle({"host-collectors/http/result.json": {"response": {"status": 200}}})
    [result] = host("http", {"outcomes": outcomes(("pass", "statusCode #$ 200", "passed"), ("fail", "", "default"))},
                    root)
    assert result.outcome == "fail" and result.error
    assert result.message.startswith("Analyzer Failed: analyze: failed to analyze http request: failed to evaluate "
                                     "outcomes: failed to compare statusCode #$ 200: failed to create evaluable "
                                     "expression")


@pytest.mark.parametrize("collected, expected", [
    ({"error": {"message": 'Get "https://example.com": dial tcp: i/o timeout'}}, ("fail", "unreachable")),
    ({"response": {"status": 503, "body": "", "headers": {}}}, ("warn", "degraded")),
    ({"response": {"status": 200, "body": "", "headers": {}}}, ("pass", "reachable")),
])
def test_cluster_http(bundle, collected, expected):
    # http_analyze.go: <collectorName>.json at the top of the bundle, titled by the collector
    spec = {"collectorName": "healthz",
            "outcomes": outcomes(("fail", "error", "unreachable"), ("warn", "statusCode >= 500", "degraded"),
                                 ("pass", "statusCode == 200", "reachable"))}
    assert brief(run("http", spec, bundle({"healthz.json": collected}))) == [(expected[0], "healthz", expected[1])]


def test_cluster_http_reads_the_collector_file_at_the_top(fixture_bundle):
    # http_analyze.go: the k3s bundle's http collector `http-get-example` got a 200 from google.com
    spec = {"collectorName": "http-get-example",
            "outcomes": outcomes(("fail", "error", "unreachable"), ("pass", "statusCode == 200", "reachable"))}
    assert brief(run("http", spec, fixture_bundle)) == [("pass", "http-get-example", "reachable")]


@pytest.mark.parametrize("regex, spec_outcomes, expected", [
    # host_text_analyze.go: textAnalyze with the host title default
    ("load average", outcomes(("pass", "", "load reported"), ("fail", "", "no load")), ("pass", "load reported")),
    ("oom-killer", outcomes(("pass", "", "no OOM"), ("fail", "", "OOM kills")), ("fail", "OOM kills")),
    ("oom-killer", outcomes(("pass", "", "no OOM"), ("warn", "", "look at OOM")), ("warn", "look at OOM")),
])
def test_host_text_analyze(bundle, regex, spec_outcomes, expected):
    root = bundle({"host-collectors/run-host/uptime.txt": "up 3 days, load average: 0.52\n"})
    spec = {"collectorName": "host-collectors/run-host", "fileName": "uptime.txt", "regex": regex,
            "outcomes": spec_outcomes}
    assert brief(host("textAnalyze", spec, root)) == [(expected[0], "Regular Expression", expected[1])]


def test_no_collected_data_gives_no_result(bundle):
    # collected_contents.go / HostAnalyze: nothing collected, nothing matched, nothing returned
    assert host("cpu", {"outcomes": outcomes(("pass", "", "ok"))}, bundle({})) == []


@pytest.mark.parametrize("kind, path, data, when, message", [
    ("cpu", CPU, {"logicalCount": 2}, "cores > 1", "failed to analyze OS version: failed to evaluate outcomes: "
                                                  "failed to compare cores > 1: unable to parse conditional"),
    ("memory", MEMORY, "not json", "< 1Gi", "failed to analyze OS version: failed to evaluate outcomes: failed to "
                                            "compare < 1Gi: failed to unmarshal data into MemoryInfo: "),
    ("diskUsage", "host-collectors/diskUsage/diskUsage.json", {"total_bytes": 1, "used_bytes": 0}, "free < 1Gi",
     "failed to analyze disk usage: failed to evaluate outcomes: failed to compare free < 1Gi: "
     "unknown disk usage statistic 'free'"),
])
def test_host_analyzer_errors_are_failed_results(bundle, kind, path, data, when, message):
    [result] = host(kind, {"outcomes": outcomes(("fail", when, "x"), ("pass", "", "ok"))}, bundle({path: data}))
    assert result.outcome == "fail" and result.error
    assert result.message.startswith("Analyzer Failed: analyze: " + message)


def test_the_analyzers_read_what_our_host_collectors_write(tmp_path, bundle):
    root = bundle({})
    ctx = CollectContext(output=Output(root), timeout=10, env={})
    for kind, params in (("cpu", {}), ("memory", {}), ("hostOS", {}), ("diskUsage", {"path": str(tmp_path)})):
        HOST_COLLECTORS[kind](CollectorSpec(kind, params, True, "test"), ctx)
    checks = [("cpu", "count >= 1"), ("memory", ">= 1Mi"), ("diskUsage", "total > 0"), ("hostOS", "kernelVersion >= 1")]
    for kind, when in checks:
        results = host(kind, {"outcomes": outcomes(("pass", when, f"{kind} read"), ("fail", "", "not read"))}, root)
        assert [(r.outcome, r.message) for r in results] == [("pass", f"{kind} read")], kind


def test_the_network_and_subnet_analyzers_read_what_our_collectors_write(tmp_path, bundle):
    """udpPortStatus, tcpLoadBalancer, httpLoadBalancer and subnetAvailable: the status is the `when`."""
    import socket

    from ..collect.test_host_more_kinds import free_port

    root = bundle({})
    ctx = CollectContext(output=Output(root), timeout=10, env={})
    tcp, web = free_port(), free_port()
    for kind, params in (("udpPortStatus", {"port": free_port(socket.SOCK_DGRAM)}),
                         ("tcpLoadBalancer", {"port": tcp, "address": f"127.0.0.1:{tcp}"}),
                         ("httpLoadBalancer", {"port": web, "address": f"http://127.0.0.1:{web}/"}),
                         ("subnetAvailable", {"CIDRRangeAlloc": "10.0.0.0/8", "desiredCIDR": 30})):
        HOST_COLLECTORS[kind](CollectorSpec(kind, params, True, "test"), ctx)
    for kind, status, title in (("udpPortStatus", "connected", "UDP Port Status"),
                                ("tcpLoadBalancer", "connected", "TCP Load Balancer"),
                                ("httpLoadBalancer", "connected", "HTTP Load Balancer"),
                                ("subnetAvailable", "a-subnet-is-available", "Subnet Available")):
        spec = {"outcomes": outcomes(("fail", "address-in-use", "taken"), ("pass", status, "fine"))}
        assert brief(host(kind, spec, root)) == [("pass", title, "fine")], kind
