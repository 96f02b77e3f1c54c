"""clusterVersion, containerRuntime, distribution, storageClass, customResourceDefinition, ingress, secret,
configMap and event over real files: troubleshoot's pkg/analyze/files (ANALYZE_FILES) and the k3s fixture
bundle. Each case names where its expectation comes from: a troubleshoot test (file and case name), or
troubleshoot's code when it has no test for the case."""
from __future__ import annotations

import json

import pytest

from .conftest import ANALYZE_FILES, brief, outcomes, run

NODES = ANALYZE_FILES / "nodes.json"   # 7 nodes: containerd and docker runtimes, DigitalOcean provider ids


def version_file(git_version: str) -> dict[str, object]:
    return {"info": {"major": "1", "gitVersion": git_version}, "string": git_version}


# --- clusterVersion -------------------------------------------------------------------------------

VERSION_OUTCOMES = outcomes(  # cluster_version_test.go's outcomes
    ("fail", "< 1.13.0", "Sentry requires at Kubernetes 1.13.0 or later, and recommends 1.15.0."),
    ("warn", "< 1.15.0", "Your cluster meets the minimum version of Kubernetes, but we recommend you update to "
                         "1.15.0 or later."),
    ("pass", "", "Your cluster meets the recommended and required versions of Kubernetes."))


@pytest.mark.parametrize("git_version, check, expected", [
    ("v1.12.5", "Check Fail", ("fail", "Check Fail", VERSION_OUTCOMES[0]["fail"]["message"])),    # case "fail"
    ("v1.14.3", "Check Warn", ("warn", "Check Warn", VERSION_OUTCOMES[1]["warn"]["message"])),    # case "warn"
    ("v1.17.0", "Check Pass", ("pass", "Check Pass", VERSION_OUTCOMES[2]["pass"]["message"])),    # "fallthrough"
    ("v1.25.16-eks-8cb36c9", "", ("pass", "Required Kubernetes Version",                          # "EKS version"
                                  VERSION_OUTCOMES[2]["pass"]["message"])),
])
def test_cluster_version(bundle, git_version, check, expected):
    root = bundle({"cluster-info/cluster_version.json": version_file(git_version)})
    results = run("clusterVersion", {"checkName": check, "outcomes": VERSION_OUTCOMES}, root)
    assert brief(results) == [expected]
    assert results[0].icon_key == "kubernetes_cluster_version"


def test_cluster_version_of_the_fixture_bundle(fixture_bundle):
    # cluster_version.go: the first matching outcome of v1.31.2+k3s1
    spec = {"outcomes": outcomes(("fail", "< 1.30.0", "too old"), ("warn", "< 1.32.0", "upgrade soon"),
                                 ("pass", ">= 1.32.0", "current"))}
    assert brief(run("clusterVersion", spec, fixture_bundle)) == [("warn", "Required Kubernetes Version",
                                                                   "upgrade soon")]


@pytest.mark.parametrize("files, message", [
    ({}, "failed to get contents of cluster_version.json: cluster-info/cluster_version.json: not found"),
    ({"cluster-info/cluster_version.json": version_file("v1.17")},   # cluster_version_test.go "invalid version"
     "failed to parse semver from cluster_version.json: No Major.Minor.Patch elements found"),
])
def test_cluster_version_errors_are_failing_results(bundle, files, message):
    [result] = run("clusterVersion", {"outcomes": VERSION_OUTCOMES}, bundle(files))
    assert (result.outcome, result.title, result.message, result.error) == (
        "fail", "Required Kubernetes Version", message, True)


# --- containerRuntime -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec_outcomes, expected", [
    # container_runtime_test.go "no containerd, when it's containerd": `!=` never matches, the fail decides
    (outcomes(("pass", "!= containerd", "pass"), ("fail", "", "containerd detected")),
     ("fail", "Container Runtime", "containerd detected")),
    # sample-supportbundle.yaml's outcomes: some nodes run docker
    (outcomes(("fail", "== docker", "The application does not support docker"),
              ("pass", "", "A supported container runtime was found")),
     ("fail", "Container Runtime", "The application does not support docker")),
    (outcomes(("warn", "= containerd", "containerd is here"), ("pass", "", "ok")),
     ("warn", "Container Runtime", "containerd is here")),
    (outcomes(("fail", "== cri-o", "no cri-o"), ("pass", "", "A supported container runtime was found")),
     ("pass", "Container Runtime", "A supported container runtime was found")),
])
def test_container_runtime(bundle, spec_outcomes, expected):
    root = bundle({"cluster-resources/nodes.json": NODES})
    assert brief(run("containerRuntime", {"outcomes": spec_outcomes}, root)) == [expected]


def test_container_runtime_without_nodes_fails(bundle):
    [result] = run("containerRuntime", {"outcomes": outcomes(("pass", "", "ok"))}, bundle({}))
    assert result.message == ("failed to get contents of nodes.json: cluster-resources/nodes.json: not found")


# --- distribution ---------------------------------------------------------------------------------

@pytest.mark.parametrize("spec_outcomes, expected", [
    # e2e.yaml on the k3s bundle
    (outcomes(("pass", "== k3s", "K3S is a supported distribution"),
              ("warn", "", "Unable to determine the distribution of Kubernetes")),
     ("pass", "Kubernetes Distribution", "K3S is a supported distribution")),
    # sample-analyzers.yaml on the k3s bundle: `!= openshift` fails first
    (outcomes(("fail", "= dockerdesktop", "docker for desktop is not allowed"),
              ("fail", "!= openshift", "this should fail on anything other than openshift"),
              ("warn", "!= eks", "YMMV on not eks"), ("pass", "", "good work")),
     ("fail", "Kubernetes Distribution", "this should fail on anything other than openshift")),
    (outcomes(("warn", "!= eks", "YMMV on not eks"), ("pass", "", "good work")),
     ("warn", "Kubernetes Distribution", "YMMV on not eks")),
    # distribution.go: nothing matched, unknown names reported
    (outcomes(("pass", "== openshift", "ok"), ("pass", "== k8s-the-hard-way", "ok")),
     ("warn", "Kubernetes Distribution", "- Unknown distribution: k8s-the-hard-way ")),
    (outcomes(("pass", "== gke", "ok")),
     ("warn", "Kubernetes Distribution", "None of the conditionals were met")),
])
def test_distribution_of_the_k3s_bundle(fixture_bundle, spec_outcomes, expected):
    assert brief(run("distribution", {"outcomes": spec_outcomes}, fixture_bundle)) == [expected]


def test_distribution_from_provider_ids(bundle):
    # distribution.go ParseNodesForProviders: providerID digitalocean:// marks DigitalOcean
    root = bundle({"cluster-resources/nodes.json": NODES})
    spec = {"checkName": "Cloud", "outcomes": outcomes(("pass", "digitalocean", "on DO"), ("fail", "", "where?"))}
    assert brief(run("distribution", spec, root)) == [("pass", "Cloud", "on DO")]


@pytest.mark.parametrize("labels, annotations, expected", [
    # distribution_test.go TestParseNodesForProviders "embedded-cluster" (k0s found too)
    ({"kots.io/embedded-cluster-role": "total-1", "node.k0sproject.io/role": "control-plane",
      "node-role.kubernetes.io/control-plane": "true"}, {}, {"embeddedCluster", "k0s"}),
    # "tanzu" (troubleshoot finds it but its `when` never matches it; sbsched does match)
    ({"run.tanzu.vmware.com/kubernetesDistributionVersion": "v1.27.11---vmware.1-fips.1-tkg.2"}, {}, {"tanzu"}),
    ({"kubernetes.azure.com/role": "agent"}, {}, {"aks"}),
    ({"minikube.k8s.io/version": "v1.30.1"}, {}, {"minikube"}),
    ({}, {"rke2.io/node-args": "[]"}, {"rke2"}),
    ({"microk8s.io/cluster": "true"}, {}, {"microk8s"}),
])
def test_providers_from_node_labels(labels, annotations, expected):
    from reconciler.analyze.cluster import detect_providers

    node = {"metadata": {"labels": labels, "annotations": annotations}, "spec": {}, "status": {}}
    assert detect_providers([node], []) == expected


@pytest.mark.parametrize("raw, expected", [  # distribution_test.go Test_mustNormalizeDistributionName
    ("microk8s", "microk8s"), ("MICROK8S", "microk8s"), (" microk8s ", "microk8s"), ("Docker-Desktop", "dockerDesktop"),
    ("embedded-cluster", "embeddedCluster"), ("k0s", "k0s"), ("kind", "kind"), ("k3s", "k3s"), ("ibm", "ibm"),
    ("ibmcloud", "ibm"), ("ibm cloud", "ibm"), ("gke", "gke"), ("aks", "aks"), ("eks", "eks"), ("oke", "oke"),
    ("rke2", "rke2"), ("dockerdesktop", "dockerDesktop"), ("docker desktop", "dockerDesktop"),
    ("docker-desktop", "dockerDesktop"), ("vanilla", None),
])
def test_distribution_names(raw, expected):
    from reconciler.analyze.cluster import normalize_distribution

    assert normalize_distribution(raw) == expected


# --- storageClass, customResourceDefinition, ingress ----------------------------------------------
# troubleshoot's storageClass, ingress, secret and configMap analyzers only pass or fail (no warn outcome).

@pytest.mark.parametrize("spec, expected", [
    # sample-supportbundle.yaml: k3s has no microk8s-hostpath class
    ({"checkName": "Required storage classes", "storageClassName": "microk8s-hostpath",
      "outcomes": outcomes(("fail", "", "The microk8s storage class thing was not found"),
                           ("pass", "", "All good on storage classes"))},
     ("fail", "Required storage classes", "The microk8s storage class thing was not found")),
    ({"storageClassName": "local-path", "outcomes": outcomes(("fail", "", "missing"), ("pass", "", "present"))},
     ("pass", "Storage class local-path", "present")),
    # storage_class.go: no name means the default class; default messages when no outcome gives one
    ({"outcomes": []}, ("pass", "Default Storage Class", "Default Storage Class found")),
])
def test_storage_class(fixture_bundle, spec, expected):
    assert brief(run("storageClass", spec, fixture_bundle)) == [expected]


def test_no_default_storage_class(bundle):
    # storage_class.go: "No Default Storage Class found"
    classes = {"kind": "StorageClassList", "items": [{"metadata": {"name": "slow", "annotations": {}}}]}
    root = bundle({"cluster-resources/storage-classes.json": classes})
    assert brief(run("storageClass", {}, root)) == [("fail", "Default Storage Class", "No Default Storage Class found")]


@pytest.mark.parametrize("name, spec_outcomes, expected", [
    # sample-supportbundle.yaml: no rook CRD on k3s
    ("rook", outcomes(("fail", "", "The Rook CRD was not found in the cluster."),
                      ("pass", "", "Rook is installed and available.")),
     ("fail", "Custom resource definition rook", "The Rook CRD was not found in the cluster.")),
    # crd_test.go "CRD exists and pass" / "CRD not exists and warn", with k3s CRD names
    ("helmcharts.helm.cattle.io", outcomes(("fail", "", "missing"), ("pass", "", "The HelmChart CRD is installed.")),
     ("pass", "Custom resource definition helmcharts.helm.cattle.io", "The HelmChart CRD is installed.")),
    ("podmonitors.monitoring.coreos.com",
     outcomes(("warn", "", "The Prometheus PodMonitor CRD was not found in the cluster."), ("pass", "", "ok")),
     ("warn", "Custom resource definition podmonitors.monitoring.coreos.com",
      "The Prometheus PodMonitor CRD was not found in the cluster.")),
])
def test_custom_resource_definition(fixture_bundle, name, spec_outcomes, expected):
    spec = {"customResourceDefinitionName": name, "outcomes": spec_outcomes}
    assert brief(run("customResourceDefinition", spec, fixture_bundle)) == [expected]


@pytest.mark.parametrize("namespace, name, expected", [
    # sample-supportbundle.yaml: the k3s bundle's default namespace has no ingress
    ("default", "connect-to-me", ("fail", "Ingress connect-to-me", "The ingress isn't ingressing")),
    ("kube-system", "connect-to-me", ("fail", "Ingress connect-to-me", "The ingress isn't ingressing")),
])
def test_ingress(fixture_bundle, namespace, name, expected):
    spec = {"namespace": namespace, "ingressName": name,
            "outcomes": outcomes(("fail", "", "The ingress isn't ingressing"), ("pass", "", "All systems ok on ingress"))}
    assert brief(run("ingress", spec, fixture_bundle)) == [expected]


def test_ingress_found(bundle, fixture_bundle):
    listing = json.loads((fixture_bundle / "cluster-resources/ingress/default.json").read_text())
    listing["items"] = [{"metadata": {"name": "web", "namespace": "default"}}]
    root = bundle({"cluster-resources/ingress/default.json": listing})
    spec = {"namespace": "default", "ingressName": "web", "outcomes": outcomes(("fail", "", "no"), ("pass", "", "yes"))}
    assert brief(run("ingress", spec, root)) == [("pass", "Ingress web", "yes")]


def test_ingress_of_an_uncollected_namespace_fails(fixture_bundle):
    spec = {"namespace": "nowhere", "ingressName": "web", "outcomes": outcomes(("pass", "", "yes"))}
    [result] = run("ingress", spec, fixture_bundle)
    assert (result.outcome, result.message) == ("fail", "cluster-resources/ingress/nowhere.json: not found")


# --- secret, configMap ------------------------------------------------------------------------------

SECRET_OUTCOMES = outcomes(("fail", "", "Not found"), ("pass", "", "Found"))
KEY_OUTCOMES = outcomes(("fail", "", "Key not found"), ("pass", "", "Key found"))


@pytest.mark.parametrize("check, key, found, spec_outcomes, expected", [
    # secret_test.go "found", "not found", "key found", "key not found"
    ("", "", {"secretExists": True}, SECRET_OUTCOMES, ("pass", "Secret test-secret", "Found")),
    ("test secret analyzer", "", {"secretExists": False}, SECRET_OUTCOMES,
     ("fail", "test secret analyzer", "Not found")),
    ("test secret analyzer", "test-key", {"key": "test-key", "secretExists": True, "keyExists": True}, KEY_OUTCOMES,
     ("pass", "test secret analyzer", "Key found")),
    ("test secret analyzer", "test-key", {"key": "test-key", "secretExists": True, "keyExists": False}, KEY_OUTCOMES,
     ("fail", "test secret analyzer", "Key not found")),
])
def test_secret(bundle, check, key, found, spec_outcomes, expected):
    path = "secrets/default/test-secret" + (f"/{key}" if key else "") + ".json"
    root = bundle({path: {"namespace": "default", "name": "test-secret", "key": key, **found}})
    spec = {"checkName": check, "namespace": "default", "secretName": "test-secret", "key": key,
            "outcomes": spec_outcomes}
    assert brief(run("secret", spec, root)) == [expected]


def test_secret_and_configmap_of_the_fixture_bundle(fixture_bundle):
    # the k3s bundle's secret and configMap collectors recorded that neither exists
    secret = {"namespace": "default", "secretName": "example-secret", "outcomes": SECRET_OUTCOMES}
    configmap = {"namespace": "default", "configMapName": "example-configmap", "outcomes": SECRET_OUTCOMES}
    assert brief(run("secret", secret, fixture_bundle)) == [("fail", "Secret example-secret", "Not found")]
    assert brief(run("configMap", configmap, fixture_bundle)) == [("fail", "ConfigMap example-configmap", "Not found")]


@pytest.mark.parametrize("check, key, found, spec_outcomes, expected", [
    # configmap_test.go "found", "not found", "key found", "key not found"
    ("", "", {"configMapExists": True}, SECRET_OUTCOMES, ("pass", "ConfigMap test-configmap", "Found")),
    ("test configmap analyzer", "", {"configMapExists": False}, SECRET_OUTCOMES,
     ("fail", "test configmap analyzer", "Not found")),
    ("test configmap analyzer", "test-key", {"key": "test-key", "configMapExists": True, "keyExists": True},
     KEY_OUTCOMES, ("pass", "test configmap analyzer", "Key found")),
    ("test configmap analyzer", "test-key", {"key": "test-key", "configMapExists": True, "keyExists": False},
     KEY_OUTCOMES, ("fail", "test configmap analyzer", "Key not found")),
])
def test_configmap(bundle, check, key, found, spec_outcomes, expected):
    path = "configmaps/default/test-configmap" + (f"/{key}" if key else "") + ".json"
    root = bundle({path: {"namespace": "default", "name": "test-configmap", "key": key, **found}})
    spec = {"checkName": check, "namespace": "default", "configMapName": "test-configmap", "key": key,
            "outcomes": spec_outcomes}
    assert brief(run("configMap", spec, root)) == [expected]


def test_missing_secret_without_a_fail_outcome_is_an_error(bundle):
    root = bundle({"secrets/default/s.json": {"secretExists": False}})
    [result] = run("secret", {"namespace": "default", "secretName": "s", "outcomes": outcomes(("pass", "", "ok"))},
                   root)
    assert result.error and result.message == "secret 's' is missing and the analyzer has no fail outcome"


# --- event --------------------------------------------------------------------------------------------

IMAGE_PULL_EVENTS = ANALYZE_FILES / "events" / "message-image-pull-fail.json"


@pytest.mark.parametrize("spec, expected", [
    # event_test.go "fail when OOMKilled event is present" (its template, on a real BackoffLimitExceeded event)
    ({"collectorName": "event-collector-1", "kind": "Job", "reason": "BackoffLimitExceeded",
      "outcomes": outcomes(("fail", "true", "Detect {{ .Reason }} event with {{ .InvolvedObject.Kind }}-"
                                            "{{ .InvolvedObject.Name }} with message {{ .Message }}"),
                           ("pass", "false", "No BackoffLimitExceeded event detected"))},
     ("fail", "event-collector-1", "Detect BackoffLimitExceeded event with Job-oom-kill-job3 with message "
                                   "Job has reached the specified backoff limit")),
    # event_test.go "pass when no FailedMount event is present"
    ({"collectorName": "event-collector-2", "kind": "Pod", "reason": "FailedMount",
      "outcomes": outcomes(("pass", "false", "No FailedMount event detected"))},
     ("pass", "event-collector-2", "No FailedMount event detected")),
    # event.go: reason matched case-insensitively, message by regex
    ({"checkName": "Image pulls", "reason": "failed", "regex": "ErrImagePull$",
      "outcomes": outcomes(("warn", "true", "{{ .InvolvedObject.Name }}: {{ .Message }}"), ("pass", "false", "ok"))},
     ("warn", "Image pulls", "no-image-deployment-849c4c4958-rxqmt: Error: ErrImagePull")),
    # event.go decorateMessage: a template it cannot render gives the matched event instead
    ({"reason": "BackoffLimitExceeded", "outcomes": outcomes(("fail", "true", "{{ .Message | upper }}"))},
     ("fail", "Event", "Event matched. Reason: BackoffLimitExceeded Name: oom-kill-job3 Message: "
                       "Job has reached the specified backoff limit")),
    # no outcome for "no match": a result without an outcome, as troubleshoot returns it
    ({"reason": "Evicted", "outcomes": outcomes(("fail", "true", "evicted"))}, ("none", "Event", "")),
])
def test_event(bundle, spec, expected):
    root = bundle({"cluster-resources/events/default.json": IMAGE_PULL_EVENTS})
    assert brief(run("event", spec, root)) == [expected]


@pytest.mark.parametrize("spec, message", [
    ({"collectorName": "event-collector-0", "kind": "Pod", "outcomes": outcomes(("fail", "true", "test"))},
     "reason is required"),                                           # event_test.go "reason is required"
    ({"reason": "Failed", "namespace": "other", "outcomes": outcomes(("fail", "true", "x"))},
     "failed to read collected events for namespace: other: cluster-resources/events/other.json: not found"),
    ({"reason": "Failed", "outcomes": outcomes(("fail", "", "x"))},
     'failed to parse when condition: : strconv.ParseBool: parsing "": invalid syntax'),
])
def test_event_errors(bundle, spec, message):
    root = bundle({"cluster-resources/events/default.json": IMAGE_PULL_EVENTS})
    [result] = run("event", spec, root)
    assert (result.outcome, result.message, result.error) == ("fail", message, True)
