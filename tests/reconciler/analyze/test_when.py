"""The `when` syntax, table by table: every operator and every kind of value each analyzer takes.
Expectations come from troubleshoot's tests where noted (pkg/analyze/<file>_test.go, case name), else
from its code (pkg/analyze/<file>.go) and blang/semver's documented range syntax."""
from __future__ import annotations

from fractions import Fraction

import pytest

from reconciler.analyze import quantity, semver, when


# --- semver ranges (clusterVersion) ---------------------------------------------------------------

@pytest.mark.parametrize("expression, version, expected", [
    ("< 1.13.0", "1.12.5", True),            # cluster_version_test.go "fail": 1.12.5 against < 1.13.0
    ("< 1.15.0", "1.14.3", True),            # cluster_version_test.go "warn"
    ("< 1.13.0", "1.17.0", False),           # cluster_version_test.go "fallthrough"
    (">= 1.28.0", "1.28.0", True),
    (">=1.28.0", "1.27.9", False),
    ("> 1.28.0", "1.28.0", False),
    ("<= 1.28.0", "1.28.0", True),
    ("= 1.28.0", "1.28.0", True),
    ("== 1.28.0", "1.28.1", False),
    ("1.28.0", "1.28.0", True),               # no comparator: equal
    ("!= 1.28.0", "1.28.1", True),
    ("!1.28.0", "1.28.0", False),
    (">=1.20.0 <1.30.0", "1.25.3", True),     # AND: space separated
    (">=1.20.0 <1.30.0", "1.31.2", False),
    ("<1.16.0 || >=2.0.0", "2.1.0", True),    # OR
    ("<1.16.0 || >=2.0.0", "1.20.0", False),
    ("1.28.x", "1.28.7", True),               # wildcards
    ("1.28.x", "1.29.0", False),
    (">1.x", "2.0.0", True),
    ("<=1.28.x", "1.28.9", True),
    (">= 1.27.3", "1.27.3-gke.100", False),   # a pre-release sorts before its release
    (">= 1.27.3-0", "1.27.3-gke.100", True),
])
def test_semver_ranges(expression, version, expected):
    assert semver.parse_range(expression)(semver.parse(version)) is expected


@pytest.mark.parametrize("git_version, expected", [
    ("v1.31.2+k3s1", "1.31.2"),               # the fixture bundle's k3s (build metadata ignored)
    ("1.17.0", "1.17.0"),                     # cluster_version_test.go "valid version"
    ("v1.17.0", "1.17.0"),                    # "valid version with v prefix"
    ("v1.25.16-eks-8cb36c9", "1.25.16"),      # "EKS version"
])
def test_kubernetes_versions(git_version, expected):
    assert semver.parse_kubernetes(git_version).compare(semver.parse(expected)) == 0


@pytest.mark.parametrize("bad", ["v1.17", "1.17", "", "1.02.3", "1.2.3-01", "a.b.c"])
def test_kubernetes_versions_that_do_not_parse(bad):
    with pytest.raises(semver.SemverError):   # cluster_version_test.go "invalid version": v1.17
        semver.parse_kubernetes(bad)


@pytest.mark.parametrize("expression, message", [
    ("> 1.2", "Could not parse version '1.2' in '>1.2': No Major.Minor.Patch elements found"),
    ("~1.2.3", "Could not parse comparator '~' in '~1.2.3'"),
    ("latest", "Could not get version from string: 'latest'"),
    ("|| 1.2.3", "Invalid OR separator in '|| 1.2.3'"),
])
def test_bad_semver_ranges(expression, message):
    with pytest.raises(semver.SemverError, match="^" + message.replace("|", r"\|").replace(".", r"\.")):
        semver.parse_range(expression)


@pytest.mark.parametrize("text, expected", [("20.04", "20.4.0"), ("v8", "8.0.0"), ("7.9.2009", "7.9.2009")])
def test_tolerant_versions(text, expected):
    assert str(semver.parse_tolerant(text)) == expected


# --- quantities -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2", 2), ("500m", Fraction(1, 2)), ("1.5", Fraction(3, 2)), ("100n", Fraction(1, 10_000_000)),
    ("10u", Fraction(1, 100_000)), ("1k", 1000), ("1M", 10 ** 6), ("2G", 2 * 10 ** 9), ("1T", 10 ** 12),
    ("1P", 10 ** 15), ("1E", 10 ** 18), ("10Ki", 10240), ("2Mi", 2 * 2 ** 20), ("2Gi", 2 * 2 ** 30),
    ("1Ti", 2 ** 40), ("1Pi", 2 ** 50), ("1Ei", 2 ** 60), ("1e3", 1000), ("5E-1", Fraction(1, 2)),
    ("16379772Ki", 16379772 * 1024), ("+1", 1), ("-1", -1), (".5", Fraction(1, 2)),
])
def test_quantities(text, expected):
    assert quantity.parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["2GB", "abc", "", "1 Gi", "Gi", "1K", "1.2.3"])
def test_bad_quantities(bad):
    with pytest.raises(quantity.QuantityError):
        quantity.parse_quantity(bad)


def test_a_fractional_byte_count_is_not_a_host_quantity():
    assert quantity.as_int64("8Gi") == 8 * 2 ** 30
    with pytest.raises(quantity.QuantityError):
        quantity.as_int64("500m")


# --- integer comparisons: deploymentStatus / statefulsetStatus, jobStatus, replicasetStatus -----------

@pytest.mark.parametrize("text, ready, expected", [
    ("= 1", 1, True), ("== 1", 1, True), ("=== 1", 2, False), ("< 1", 0, True), ("> 1", 1, False),
    ("<= 1", 1, True), (">= 2", 1, False), (" >= 2 ", 3, True),
])
def test_ready_replicas(text, ready, expected):
    op, value = when.ready_replicas(text)
    assert when.compare(op, ready, value) is expected


@pytest.mark.parametrize("text, message", [
    ("1", "unable to parse when range"),                     # common_status.go: two parts required
    ("<  1", "unable to parse when range"),                   # split on single spaces
    ("< one", 'failed to parse when value: strconv.Atoi: parsing "one": invalid syntax'),
    ("!= 1", "unknown comparator: '!='"),
])
def test_bad_ready_replicas(text, message):
    with pytest.raises(when.WhenError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        when.ready_replicas(text)


@pytest.mark.parametrize("text, fields, expected", [
    ("succeeded == 1", {"succeeded": 1, "failed": 0}, True),   # job_status_test.go "1/1, pass when = 1"
    ("succeeded < 2", {"succeeded": 1, "failed": 0}, True),    # "1/1, fail when < 2"
    ("failed > 0", {"succeeded": 0, "failed": 1}, True),       # "1/1, fail when failed > 0"
    ("ready == 1", {"ready": 0, "available": 0}, False),       # replicaset_status_test.go "fail because 0 ready"
    ("available < 2", {"ready": 1, "available": 1}, True),     # "fail because < 2 ready"
    ("available >= 1", {"ready": 1, "available": 1}, True),
    ("ready <= 0", {"ready": 1, "available": 1}, False),
])
def test_counters(text, fields, expected):
    field, op, value = when.counter(text, tuple(fields))
    assert when.compare(op, fields[field], value) is expected


@pytest.mark.parametrize("text, message", [
    ("succeeded 1", "unable to parse when range: succeeded 1"),
    ("running > 1", "unknown when value: running"),
    ("failed ~ 1", "unknown comparator: '~'"),
    ("failed > x", "failed to parse when value: x"),
])
def test_bad_counters(text, message):
    with pytest.raises(when.WhenError, match="^" + message):
        when.counter(text, ("succeeded", "failed"))


# --- nodeResources ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("= 1", when.NodeWhen("count", "", "=", 1)),                       # e2e.yaml: bare operator means count()
    ("count() = 1", when.NodeWhen("count", "", "=", 1)),
    ("count() < 3", when.NodeWhen("count", "", "<", 3)),
    ("sum(memoryCapacity) < 2Gi", when.NodeWhen("sum", "memoryCapacity", "<", "2Gi")),
    ("min(ephemeralStorageCapacity) < 40Gi", when.NodeWhen("min", "ephemeralStorageCapacity", "<", "40Gi")),
    ("max(cpuCapacity) >= 8", when.NodeWhen("max", "cpuCapacity", ">=", 8)),
    ("min(cpuAllocatable) == 1.5", when.NodeWhen("min", "cpuAllocatable", "==", "1.5")),
    ("sum(resourceAllocatable) >= 1", when.NodeWhen("sum", "resourceAllocatable", ">=", 1)),
    ("countDistinct(topology.kubernetes.io/zone) >= 3",
     when.NodeWhen("countDistinct", "topology.kubernetes.io/zone", ">=", 3)),
    ("nodeCondition(Ready) == True", when.NodeWhen("nodeCondition", "Ready", "==", "True")),
    ("  count()   >   2  ", when.NodeWhen("count", "", ">", 2)),          # strings.Fields: any spacing
])
def test_node_resources_whens(text, expected):
    assert when.node_resources(text) == expected


@pytest.mark.parametrize("text, message", [
    ("count() between 1", "unexpected conditional in nodeResources"),
    ("count()", "unable to parse nodeResources conditional"),
    ("avg(cpuCapacity) > 1", "unknown function avg()"),
    ("sum(gpus) > 1", "unknown property 'gpus' in sum()"),
    ("sum(memoryCapacity) < 2GB", "quantities must match"),
    ("count() > 2Gi", "count() compares with a whole number, not '2Gi'"),
    ("nodeCondition(Ready) < True", "nodeCondition function can only be compared using equals expression."),
    ("nodeCondition() == True", "value function parameter missing."),
])
def test_bad_node_resources_whens(text, message):
    with pytest.raises(when.WhenError) as caught:
        when.node_resources(text)
    assert str(caught.value).startswith(message)


# --- booleans, regex groups, pod statuses, runtimes, distributions ---------------------------------

@pytest.mark.parametrize("text, expected", [("true", True), ("True", True), ("TRUE", True), ("t", True), ("1", True),
                                            ("false", False), ("F", False), ("0", False)])
def test_booleans(text, expected):
    assert when.parse_bool(text) is expected


@pytest.mark.parametrize("bad", ["", "yes", "no", "tRUE"])
def test_bad_booleans(bad):
    with pytest.raises(when.WhenError, match=f'strconv.ParseBool: parsing "{bad}": invalid syntax'):
        when.parse_bool(bad)


@pytest.mark.parametrize("text, found, expected", [
    ("Replicas < 5", {"Replicas": "5"}, False),                  # e2e.yaml's Replica Count check
    ("Replicas < 5", {"Replicas": "3"}, True),
    ("val > 10", {"val": "12"}, True),                            # text_analyze_test.go "compare group with integer"
    ("val > 10", {"val": "10"}, False),
    ("Loss <= 5", {"Loss": "5"}, True), ("Loss >= 6", {"Loss": "5"}, False), ("Loss == 5", {"Loss": "5"}, True),
    ("Loss = 5", {"Loss": "x"}, False),                           # not a number: no match, no error
    ("Hostname = icecream", {"Hostname": "icecream"}, True),      # text_analyze_test.go "Hostname = icecream"
    ("Hostname === icecream", {"Hostname": "icecream"}, True),
    ('Warning == ""', {"Warning": ""}, True),                     # empty-string literal
    ("Warning == ''", {}, False),                                 # group not in the pattern: no match
    ("", {}, True),                                               # text_analyze_test.go "empty conditional"
])
def test_regex_group_whens(text, found, expected):
    assert when.regex_groups(text, found) is expected


@pytest.mark.parametrize("text, message", [
    ("Hostname > icecream", "unexpected operator '>' in regex comparator"),
    ("Replicas<5", "unable to parse regex conditional"),
])
def test_bad_regex_group_whens(text, message):
    with pytest.raises(when.WhenError, match=message):
        when.regex_groups(text, {"Hostname": "icecream", "Replicas": "2"})


@pytest.mark.parametrize("text, expected", [
    ("!= Healthy", ("!=", "Healthy")), ("== CrashLoopBackOff", ("==", "CrashLoopBackOff")),
    ("=== Pending", ("===", "Pending")), ("!== Healthy", ("!==", "Healthy")),
])
def test_pod_status_whens(text, expected):   # cluster_pod_statuses_test.go: != ==, ===, !== cases
    assert when.pod_status(text) == expected


@pytest.mark.parametrize("text, expected", [("= containerd", ("=", "containerd")), ("== docker", ("==", "docker"))])
def test_runtime_whens(text, expected):
    assert when.container_runtime(text) == expected


@pytest.mark.parametrize("text, expected", [("== k3s", ("==", "k3s")), ("!= eks", ("!=", "eks")),
                                            ("openshift", ("=", "openshift"))])
def test_distribution_whens(text, expected):
    assert when.distribution(text) == expected


# --- host analyzers -------------------------------------------------------------------------------

FLAGS = ["cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2", "cx16", "lahf_lm", "popcnt", "ssse3",
         "sse4_1", "sse4_2"]


@pytest.mark.parametrize("text, expected", [
    ("count < 2", False), ("count >= 4", True), ("< 5", True), ("logical == 4", True), ("physical != 2", False),
    ("physical <= 2", True), ("logical > 4", False), ("machineArch == x86_64", True), ("machineArch != arm64", True),
    ("supports x86-64", True), ("supports x86-64-v2", True), ("supports x86-64-v3", False),   # host_cpu_test.go
    ("hasFlags cmov,sse4_2", True), ("hasFlags avx2", False),
])
def test_host_cpu_whens(text, expected):
    assert when.host_cpu(text, logical=4, physical=2, flags=FLAGS, arch="x86_64") is expected


@pytest.mark.parametrize("text, message", [
    ("supports x86-64-v9", "troubleshoot does not yet support microarchitecture 'x86-64-v9'"),
    ("cores > 2", "unable to parse conditional"),
    ("count > two", "failed to parse"),
    ("machineArch > x86", "unknown operator"),
])
def test_bad_host_cpu_whens(text, message):
    with pytest.raises(when.WhenError, match=message):
        when.host_cpu(text, 4, 2, FLAGS, "x86_64")


GI8 = 8 * 2 ** 30


@pytest.mark.parametrize("text, total, expected", [
    ("< 16Gi", GI8, True), ("< 8Gi", GI8, False), ("<= 8Gi", GI8, True), ("<= 8Gi", 2 * GI8, False),
    ("== 8Gi", 2 * GI8, False), ("== 8Gi", GI8, True), ("== 8000000000", 8000000000, True),   # host_memory_test.go
    ("> 4G", GI8, True), (">= 8Gi", GI8, True), ("= 8Gi", GI8, True),
])
def test_host_memory_whens(text, total, expected):
    assert when.host_memory(text, total) is expected


@pytest.mark.parametrize("text, message", [
    ("<16Gi", "Expected 2 parts in conditional, got 1"), ("< 16GB", "could not parse quantity '16GB'"),
    ("!= 8Gi", "unsupported operator: '!='"), ("< -1", "desired value must be a positive integer, got -1"),
])
def test_bad_host_memory_whens(text, message):
    with pytest.raises(when.WhenError, match=message):
        when.host_memory(text, GI8)


GI = 2 ** 30


@pytest.mark.parametrize("text, expected", [
    ("total < 40Gi", False), ("total >= 100Gi", True), ("used > 60Gi", True), ("available < 20Gi", False),
    ("available == 25Gi", True), ("used/total > 70%", True), ("used/total < 0.8", True),
    ("available/total <= 25%", True), ("available/total > 0.3", False), ("Total = 100Gi", True),
])
def test_disk_usage_whens(text, expected):   # host_disk_usage_test.go: total/used/available, ratios as % or fraction
    assert when.disk_usage(text, total=100 * GI, used=75 * GI) is expected


@pytest.mark.parametrize("text, message", [
    ("total<40Gi", "conditional must have exactly 3 parts, got 1"),
    ("free < 1Gi", "unknown disk usage statistic 'free'"),
    ("used/total > lots", "parsed desired quantity"),
    ("total < 40GB", "could not parse quantity '40GB'"),
    ("total != 40Gi", "unknown operator"),
])
def test_bad_disk_usage_whens(text, message):
    with pytest.raises(when.WhenError, match=message):
        when.disk_usage(text, 100 * GI, 75 * GI)


@pytest.mark.parametrize("text, expected", [
    ("timezone == UTC", True), ("timezone != UTC", False), ("timezone = Europe/Paris", False),
    ("ntp == synchronized+active", True), ("ntp == unsynchronized+inactive", False),
    ("ntp = synchronized+inactive", False), ("ntp === unsynchronized+active", False),
])
def test_host_time_whens(text, expected):   # host_time_test.go
    assert when.host_time(text, "UTC", synchronized=True, active=True) is expected


@pytest.mark.parametrize("text, message", [
    ("ntp != synchronized+active", 'Only supported operator is "=="'),
    ("timezone > UTC", 'Only supported operators are "==" and "!="'),
    ("ntp == synced", "Unknown status 'synced'"),
    ("clock == ok", "Unknown keyword: clock"),
    ("ntp ==", "Expected exactly 3 parts, got 2"),
])
def test_bad_host_time_whens(text, message):
    with pytest.raises(when.WhenError, match=message):
        when.host_time(text, "UTC", True, True)


UBUNTU = {"platform": "ubuntu", "platformFamily": "debian", "platformVersion": "22.04",
          "kernelVersion": "5.15.0-1051-azure"}


@pytest.mark.parametrize("text, version_key, expected", [
    ("ubuntu >= 20.04", "platformVersion", True),             # host_os_info_test.go: platform and version
    ("ubuntu == 20.04", "platformVersion", False),
    ("ubuntu >= 20.04 && < 24.04", "platformVersion", True),
    ("ubuntu < 20.04 || >= 22.04", "platformVersion", True),
    ("debian >= 11", "platformVersion", True),                # platformFamily matches too
    ("kernelVersion >= 5.10", "kernelVersion", True),
    ("kernelVersion < 5.15", "kernelVersion", False),
])
def test_host_os_whens(text, version_key, expected):
    platform, matches = when.host_os_range(text)
    version = when.os_version(UBUNTU[version_key])
    assert matches(version) is expected
    assert platform == text.split(" ")[0]


@pytest.mark.parametrize("text, message", [
    ("ubuntu >=", "when condition must have at least 3 parts"),
    ("ubuntu >= 20.04 &&", "when condition must have a multiple of 3 parts"),
    ("ubuntu >= 20.04 and < 24.04", "invalid conditional, expected either && or ||, got 'and'"),
    ("ubuntu >= jammy", "failed to parse version"),
])
def test_bad_host_os_whens(text, message):
    with pytest.raises(when.WhenError, match=message):
        when.host_os_range(text)


@pytest.mark.parametrize("text, status, had_error, expected", [
    ("error", None, True, True),                               # host_http_test.go: `error`
    ("error", 200, False, False),
    ("statusCode == 200", 200, False, True),
    ("statusCode = 200", 200, False, True),                    # ` = ` is read as ` == `
    ("statusCode === 204", 200, False, False),
    ("statusCode != 200", 500, False, True),
    ("statusCode >= 300 || statusCode < 200", 404, False, True),
    ("statusCode >= 200 && statusCode < 300", 204, False, True),
    ("!(statusCode == 200)", 200, False, False),
    ("statusCode <= 299", 200, False, True),
    ("statusCode > 499", 500, False, True),
    ("statusCode == 200", None, True, False),                 # no response: never matches
])
def test_http_whens(text, status, had_error, expected):
    assert when.http_condition(text)(status, had_error) is expected


@pytest.mark.parametrize("text, message", [
    ("statusCode #$ 200", "failed to create evaluable expression"),    # host_http_test.go "#$" case
    ("(statusCode == 200", "unbalanced parenthesis"),
])
def test_bad_http_whens(text, message):
    with pytest.raises(when.WhenError, match=message):
        when.http_condition(text)


def test_an_unknown_http_parameter_fails_when_evaluated():
    with pytest.raises(when.WhenError, match="No parameter 'status' found."):
        when.http_condition("status == 200")(200, False)
