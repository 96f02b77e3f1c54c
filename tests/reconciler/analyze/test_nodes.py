"""nodeResources over troubleshoot's pkg/analyze/files/nodes.json (7 nodes: 1 of 8 cores without an
instance type, 1 g-8vcpu-32gb, 3 s-2vcpu-4gb, 1 s-1vcpu-2gb, 1 x86_64 node with an nvidia.com/gpu) and over
the k3s fixture bundle. Expectations from node_resources_test.go (Test_analyzeNodeResources, case names in
the comments) unless noted."""
from __future__ import annotations

import copy
import json

import pytest

from reconciler.analyze.nodes import node_matches

from .conftest import ANALYZE_FILES, brief, outcomes, run

NODES = ANALYZE_FILES / "nodes.json"
NODE_ITEMS = json.loads(NODES.read_text())["items"]


@pytest.fixture
def nodes_bundle(bundle):
    return bundle({"cluster-resources/nodes.json": NODES})


def instance(kind):
    return {"selector": {"matchLabel": {"node.kubernetes.io/instance-type": kind}}}


@pytest.mark.parametrize("spec, expected", [
    ({"outcomes": outcomes(("fail", "min(podCapacity) < 1", "There exist nodes with no pod capacity"),
                           ("warn", "min(podCapacity) < 50", "There exist nodes with under 50 pod capacity"),
                           ("pass", "min(podCapacity) >= 50", "All nodes can host at least 50 pods"))},
     ("pass", "Node Resources", "All nodes can host at least 50 pods")),          # "at least one pod per node capacity"
    ({"outcomes": outcomes(("fail", "min(memoryCapacity) < 16Gi", "There exist nodes with under 16Gb of RAM"),
                           ("pass", "min(memoryCapacity) >= 16Gi", "All nodes have at least 16Gb of RAM"))},
     ("fail", "Node Resources", "There exist nodes with under 16Gb of RAM")),     # "at least 16GB ram"
    ({"filters": instance("g-8vcpu-32gb"),
      "outcomes": outcomes(("fail", "min(memoryCapacity) < 16Gi", "There exist nodes with under 16Gb of RAM"),
                           ("pass", "min(memoryCapacity) >= 16Gi", "All nodes have at least 16Gb of RAM"))},
     ("pass", "Node Resources", "All nodes have at least 16Gb of RAM")),          # "... in g-8vcpu-32gb nodes"
    ({"checkName": "quadcore",
      "outcomes": outcomes(("fail", "min(cpuCapacity) < 4", "There exist nodes with under 4 cores"),
                           ("pass", "min(cpuCapacity) >= 4", "All nodes have at least 4 cores"))},
     ("fail", "quadcore", "There exist nodes with under 4 cores")),               # "at least 4 cores in all nodes"
    ({"checkName": "bignode-exists",
      "outcomes": outcomes(("fail", "max(cpuCapacity) < 8", "There isn't a node with 8 or more cores"),
                           ("pass", "max(cpuCapacity) >= 8", "There is a node with at least 8 cores"))},
     ("pass", "bignode-exists", "There is a node with at least 8 cores")),        # "at least 8 cores in one node"
    ({"checkName": "amd64-exists", "filters": {"cpuArchitecture": "amd64"},
      "outcomes": outcomes(("fail", "max(cpuCapacity) < 8", "There isn't a node with 8 or more cores on "
                                                            "{{ .CPUArchitecture }} arch"),
                           ("pass", "max(cpuCapacity) >= 8", "There is a node with at least 8 cores on "
                                                             "{{ .CPUArchitecture }} arch"))},
     ("pass", "amd64-exists", "There is a node with at least 8 cores on amd64 arch")),  # "... with message templating"
    ({"checkName": "total-cpu",
      "outcomes": outcomes(("fail", "sum(cpuCapacity) < 6", "there are less than 6 total cores"),
                           ("pass", "sum(cpuCapacity) > 6", "there are more than 6 total cores"),
                           ("warn", "sum(cpuCapacity) = 6", "There are exactly 6 total cores"))},
     ("pass", "total-cpu", "there are more than 6 total cores")),                 # "unfiltered CPU totals"
    ({"checkName": "s-2vcpu-4gb total", "filters": instance("s-2vcpu-4gb"),
      "outcomes": outcomes(("fail", "sum(cpuCapacity) < 6", "there are less than 3 s-2vcpu-4gb nodes"),
                           ("fail", "sum(cpuCapacity) > 6", "there are more than 3 s-2vcpu-4gb nodes"),
                           ("pass", "sum(cpuCapacity) = 6", "There are exactly 3 s-2vcpu-4gb nodes"))},
     ("pass", "s-2vcpu-4gb total", "There are exactly 3 s-2vcpu-4gb nodes")),     # "6 cores in s-2vcpu-4gb nodes"
    ({"checkName": "memory filter", "filters": {"memoryCapacity": "8Gi"},
      "outcomes": outcomes(("fail", "sum(cpuCapacity) < 8", "less than 8 CPUs in nodes with {{ .MemoryCapacity }} "
                                                            "of ram"),
                           ("warn", "sum(cpuCapacity) = 8", "exactly 8 CPUs total in nodes with {{ .MemoryCapacity }} "
                                                            "of ram"),
                           ("pass", "sum(cpuCapacity) > 8", "more than 8 CPUs in nodes with {{ .MemoryCapacity }} "
                                                            "of ram"))},
     ("pass", "memory filter", "more than 8 CPUs in nodes with 8Gi of ram")),     # "... with message templating"
    ({"checkName": "arm64-exists", "filters": {"cpuArchitecture": "arm64"},
      "outcomes": outcomes(("fail", "count() < 3", "This application requires at least 3 nodes. "
                                                   "{{ .CPUArchitecture }}, it should only return the {{ .NodeCount }} "
                                                   "nodes that match that filter"),
                           ("pass", "count() >= 3", "There are {{ .NodeCount }} nodes that match that filter"))},
     ("fail", "arm64-exists", "This application requires at least 3 nodes. arm64, it should only return the 0 nodes "
                              "that match that filter")),                          # "at least 1 node on arm64 ..."
    ({"checkName": "amd64-exists", "filters": {"cpuArchitecture": "amd64", "cpuCapacity": "2"},
      "outcomes": outcomes(("fail", "count() < 3", "too few"),
                           ("pass", "count() >= 3", "There are {{ .NodeCount }} nodes that match that filter "
                                                    "{{ .CPUArchitecture }} and {{ .CPUCapacity }} CPU cores"))},
     ("pass", "amd64-exists", "There are 5 nodes that match that filter amd64 and 2 CPU cores")),  # "Only 5 Nodes ..."
    ({"checkName": "no outcome", "outcomes": outcomes(("pass", "sum(cpuCapacity) = 8", "exactly 8 CPUs total"))},
     ("none", "no outcome", "")),                                                  # "no pass or fail"
    ({"checkName": "GPU filter", "filters": {"resourceName": "nvidia.com/gpu", "resourceAllocatable": "1"},
      "outcomes": outcomes(("pass", "count() >= 1", "There is a node with at least 1 GPU"))},
     ("pass", "GPU filter", "There is a node with at least 1 GPU")),              # "1 GPU in nodes"
    ({"checkName": "GPU filter by ResourceCapacity", "filters": {"resourceName": "nvidia.com/gpu",
                                                                 "resourceCapacity": "1"},
      "outcomes": outcomes(("pass", "count() >= 1", "There is a node with at least 1 GPU"))},
     ("pass", "GPU filter by ResourceCapacity", "There is a node with at least 1 GPU")),
    ({"checkName": "GPU sum", "filters": {"resourceName": "nvidia.com/gpu", "resourceAllocatable": "1"},
      "outcomes": outcomes(("pass", "sum(resourceAllocatable) >= 1", "There is a node with at least 1 GPU"))},
     ("pass", "GPU sum", "There is a node with at least 1 GPU")),                 # "Sum 1 GPU in nodes"
    ({"checkName": "GPU Intel Count", "filters": {"resourceName": "gpu.intel.com/i915"},
      "outcomes": outcomes(("pass", "count() >= 1", "There is a node with at least 1 Intel GPU"),
                           ("fail", "", "There is no node with at least 1 Intel GPU"))},
     ("fail", "GPU Intel Count", "There is no node with at least 1 Intel GPU")),  # "Count 0 Intel GPU in nodes"
    # node_resources.go: countDistinct and nodeCondition
    ({"outcomes": outcomes(("warn", "countDistinct(node.kubernetes.io/instance-type) < 4", "few instance types"),
                           ("pass", "", "many instance types"))},
     ("warn", "Node Resources", "few instance types")),
    ({"outcomes": outcomes(("pass", "nodeCondition(Ready) == True", "a node is ready"), ("fail", "", "none ready"))},
     ("pass", "Node Resources", "a node is ready")),
    ({"outcomes": outcomes(("fail", "nodeCondition(MemoryPressure) == True", "memory pressure"),
                           ("pass", "", "no pressure"))},
     ("pass", "Node Resources", "no pressure")),
    ({"outcomes": outcomes(("fail", "min(cpuAllocatable) < 500m", "a node has under half a core"),
                           ("pass", "min(cpuAllocatable) >= 1", "every node has a core"))},
     ("pass", "Node Resources", "every node has a core")),
])
def test_node_resources(nodes_bundle, spec, expected):
    results = run("nodeResources", spec, nodes_bundle)
    assert brief(results) == [expected]
    assert results[0].icon_key == "kubernetes_node_resources"


@pytest.mark.parametrize("spec, expected", [
    # sample-supportbundle.yaml's nodeResources analyzers on the single-node k3s cluster (4 cores, 72Gi disk)
    ({"checkName": "Must have at least 3 nodes in the cluster",
      "outcomes": outcomes(("fail", "count() < 3", "This application requires at least 3 nodes"),
                           ("warn", "count() < 5", "This application recommends at last 5 nodes."),
                           ("pass", "", "This cluster has enough nodes."))},
     ("fail", "Must have at least 3 nodes in the cluster", "This application requires at least 3 nodes")),
    ({"checkName": "Total CPU Cores in the cluster is 4 or greater",
      "outcomes": outcomes(("fail", "sum(cpuCapacity) < 4", "The cluster must contain at least 4 cores"),
                           ("pass", "", "There are at least 4 cores in the cluster"))},
     ("pass", "Total CPU Cores in the cluster is 4 or greater", "There are at least 4 cores in the cluster")),
    ({"checkName": "Each node must have at least 40 GB of ephemeral storage",
      "outcomes": outcomes(("fail", "min(ephemeralStorageCapacity) < 40Gi", "under 40"),
                           ("warn", "min(ephemeralStorageCapacity) < 100Gi", "Nodes in this cluster are recommended "
                                                                              "to have at least 100 GB of ephemeral "
                                                                              "storage."),
                           ("pass", "", "enough"))},
     ("warn", "Each node must have at least 40 GB of ephemeral storage",
      "Nodes in this cluster are recommended to have at least 100 GB of ephemeral storage.")),
])
def test_node_resources_of_the_k3s_bundle(fixture_bundle, spec, expected):
    assert brief(run("nodeResources", spec, fixture_bundle)) == [expected]


def test_no_nodes_collected(bundle):
    # node_resources.go: a warning when nodes.json is missing, nothing with ignoreIfNoFiles
    spec = {"outcomes": outcomes(("pass", "", "fine"))}
    assert brief(run("nodeResources", spec, bundle({}))) == [
        ("warn", "Node Resources", "No node resources were collected, unable to analyze node resources")]
    assert run("nodeResources", {**spec, "ignoreIfNoFiles": True}, bundle({})) == []


@pytest.mark.parametrize("when, message", [
    ("min(memoryCapacity) > 2GB", 'failed to parse when: failed to evaluate "min(memoryCapacity) > 2GB": '
                                  "quantities must match the regular expression"),
    ("count() != 1", 'failed to parse when: failed to evaluate "count() != 1": unexpected conditional in nodeResources'),
])
def test_bad_whens_fail_the_analyzer(nodes_bundle, when, message):
    [result] = run("nodeResources", {"outcomes": outcomes(("fail", when, "x"), ("pass", "", "ok"))}, nodes_bundle)
    assert result.outcome == "fail" and result.error and result.message.startswith(message)


def test_min_over_no_matching_node_is_an_error(nodes_bundle):
    spec = {"filters": {"cpuArchitecture": "s390x"}, "outcomes": outcomes(("fail", "min(cpuCapacity) < 2", "x"))}
    [result] = run("nodeResources", spec, nodes_bundle)
    assert result.error and "no matching node has cpuCapacity" in result.message


TAINTED = {"metadata": {"name": "n", "labels": {"label": "value"}},
           "spec": {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                               {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
                               {"key": "node.kubernetes.io/memory-pressure", "effect": "PreferNoSchedule"}]},
           "status": {"capacity": {"cpu": "2", "memory": "4Gi"}, "allocatable": {"cpu": "2", "memory": "3Gi"},
                      "nodeInfo": {"architecture": "amd64"}}}


@pytest.mark.parametrize("filters, expected", [   # node_resources_test.go Test_nodeMatchesFilters (case names)
    ({}, True),                                                                  # "true when empty filters"
    (None, True),                                                                # "true while nil/missing filters"
    ({"memoryAllocatable": "16Gi"}, False),                  # "false when allocatable memory is too high"
    ({"cpuArchitecture": "amd64"}, True),                    # "true when cpu arch is amd64"
    ({"cpuArchitecture": "arm64"}, False),                   # "false when cpu arch is not amd64"
    ({"memoryAllocatable": "2Gi"}, True),                    # "true when allocatable memory is available"
    ({"selector": {"matchLabel": {"label2": "value"}}}, False),       # "false when the label does not exist"
    ({"selector": {"matchLabel": {"label": "other"}}}, False),        # "false when the label value differs"
    ({"selector": {"matchLabel": {"label": "value"}}}, True),         # "true when the label key and value match"
    ({"selector": {"matchExpressions": [{"key": "label", "operator": "In", "values": ["value"]}]}}, True),
    ({"selector": {"matchExpressions": [{"key": "label", "operator": "In", "values": ["x"]}]}}, False),
    ({"selector": {"matchExpressions": [{"key": "label", "operator": "NotIn", "values": ["x"]}]}}, True),
    ({"selector": {"matchExpressions": [{"key": "label", "operator": "NotIn", "values": ["value"]}]}}, False),
    ({"selector": {"matchExpressions": [{"key": "label", "operator": "Exists"}]}}, True),
    ({"selector": {"matchExpressions": [{"key": "label2", "operator": "Exists"}]}}, False),
    ({"selector": {"matchExpressions": [{"key": "label2", "operator": "DoesNotExist"}]}}, True),
    ({"selector": {"matchExpressions": [{"key": "label", "operator": "DoesNotExist"}]}}, False),
    ({"taint": {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}}, True),   # "true when taint exists"
    ({"taint": {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}}, True),      # "... with value match"
    ({"taint": {"key": "different-key", "effect": "NoSchedule"}}, False),    # "false when taint key does not exist"
    ({"taint": {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}}, False),   # "... effect does not match"
    ({"taint": {"key": "dedicated", "value": "cpu", "effect": "NoSchedule"}}, True),      # value is not compared
    ({"taint": {"key": "node.kubernetes.io/memory-pressure", "effect": "PreferNoSchedule"}}, True),
    ({"resourceName": "nvidia.com/gpu"}, False),
])
def test_node_filters(filters, expected):
    assert node_matches(TAINTED, filters) is expected


def test_untainted_node_and_gpu_filters():
    plain = copy.deepcopy(TAINTED)
    plain["spec"] = {}
    assert node_matches(plain, {}) is True                                   # "... no taints but no taint filter"
    assert node_matches(plain, {"taint": {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}}) is False
    gpu_node = next(n for n in NODE_ITEMS if "nvidia.com/gpu" in n["status"]["capacity"])
    assert node_matches(gpu_node, {"resourceName": "nvidia.com/gpu", "resourceAllocatable": "1"}) is True
    assert node_matches(gpu_node, {"resourceName": "nvidia.com/gpu", "resourceCapacity": "2"}) is False
    assert node_matches(gpu_node, {"resourceName": "gpu.intel.com/i915"}) is False  # "false when no gpu is available"
