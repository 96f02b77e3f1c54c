"""clusterPodStatuses over troubleshoot's pkg/analyze/files/pods and events: crash-looping, OOMKilled,
image-pull-failing, pending and failed-mount pods. Expectations from cluster_pod_statuses_test.go
(Test_ClusterPodStatuses, case names in the comments)."""
from __future__ import annotations

import pytest

from reconciler.analyze import analysis_json
from reconciler.analyze.pods import status_reason, unhealthy

from .conftest import ANALYZE_FILES, outcomes, run

PODS = ANALYZE_FILES / "pods"
EVENTS = ANALYZE_FILES / "events"
HEALTHY = ["default", "other"]
UNHEALTHY = ["default-unhealthy", "other-unhealthy"]
MESSAGE = "A Pod, {{ .Name }}, is unhealthy with a status of: {{ .Status.Reason }}. Message is: {{ .Status.Message }}"


def pod_files(*names: str, events: tuple[str, ...] = ()) -> dict[str, object]:
    found: dict[str, object] = {f"cluster-resources/pods/{n}.json": PODS / f"{n}.json" for n in names}
    found.update({f"cluster-resources/events/{n}.json": EVENTS / f"{n}.json" for n in events})
    return found


def table(results):
    return sorted((r.outcome, r.title, r.message, r.involved_object["namespace"], r.involved_object["name"])
                  for r in results)


@pytest.mark.parametrize("check, namespaces, files, spec_outcomes, expected", [
    ("pass_when_all_pods_are_healthy_in_specific_namespace", ["default"], HEALTHY + UNHEALTHY,
     outcomes(("warn", "!= Healthy", MESSAGE), ("pass", "", "All Pods are OK.")),
     [("pass", "All Pods are OK.", "default", "random-pod-75b66db9b9-nqhp8")]),
    ("pass_when_pods_are_healthy_in_all_namespaces", [], HEALTHY,
     outcomes(("warn", "!= Healthy", MESSAGE), ("pass", "", "All Pods are OK.")),
     [("pass", "All Pods are OK.", "default", "random-pod-75b66db9b9-nqhp8"),
      ("pass", "All Pods are OK.", "other", "other-pod-75b66db9b9-nqhp8")]),
    ("fail_when_pods_are_unhealthy_in_specific_namespace", ["default-unhealthy"], HEALTHY + UNHEALTHY,
     outcomes(("fail", "!= Healthy", "A pod is unhealthy"), ("pass", "", "All Pods are OK.")),
     [("fail", "A pod is unhealthy", "default-unhealthy", "random-pod-75b66db9b9-nqhp8")]),
    ("fail_when_pods_are_unhealthy_in_specific_namespace_using_double_ne", ["default-unhealthy"], HEALTHY + UNHEALTHY,
     outcomes(("fail", "!== Healthy", "A pod is unhealthy"), ("pass", "", "All Pods are OK.")),
     [("fail", "A pod is unhealthy", "default-unhealthy", "random-pod-75b66db9b9-nqhp8")]),
    ("fail_when_pods_are_unhealthy_in_all_namespaces", [], HEALTHY + UNHEALTHY,
     outcomes(("fail", "!= Healthy", "A pod is unhealthy"), ("pass", "", "All Pods are OK.")),
     [("fail", "A pod is unhealthy", "default-unhealthy", "random-pod-75b66db9b9-nqhp8"),
      ("fail", "A pod is unhealthy", "other-unhealthy", "other-pod-75b66db9b9-nqhp8"),
      ("pass", "All Pods are OK.", "default", "random-pod-75b66db9b9-nqhp8"),
      ("pass", "All Pods are OK.", "other", "other-pod-75b66db9b9-nqhp8")]),
    ("warn_when_pods_are_unhealthy_in_specific_namespace_using_double_equals", ["default-unhealthy"],
     HEALTHY + UNHEALTHY, outcomes(("warn", "== CrashLoopBackOff", "A pod is unhealthy."), ("pass", "", "All Pods are OK.")),
     [("warn", "A pod is unhealthy.", "default-unhealthy", "random-pod-75b66db9b9-nqhp8")]),
    ("warn_when_pods_are_unhealthy_in_specific_namespace_using_triple_equals", ["default-unhealthy"],
     HEALTHY + UNHEALTHY, outcomes(("warn", "=== CrashLoopBackOff", "A pod is unhealthy."), ("pass", "", "All Pods are OK.")),
     [("warn", "A pod is unhealthy.", "default-unhealthy", "random-pod-75b66db9b9-nqhp8")]),
])
def test_healthy_and_unhealthy_pods(bundle, check, namespaces, files, spec_outcomes, expected):
    root = bundle(pod_files(*files))
    results = run("clusterPodStatuses", {"checkName": check, "namespaces": namespaces, "outcomes": spec_outcomes}, root)
    assert table(results) == sorted((o, check, m, ns, n) for o, m, ns, n in expected)


@pytest.mark.parametrize("case, namespace, events, message", [
    ("show_message_of_pending_pods_with_wrong_node_affinity", "message-pending-node-affinity", (),
     "A Pod, kotsadm-b6cb54c8f-zgzrn, is unhealthy with a status of: Pending. Message is: 0/1 nodes are available: "
     "1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not "
     "helpful for scheduling."),
    ("show_message_of_container_creating_pod_with_failed_mount", "message-container-creating-failed-mount",
     ("message-container-creating-failed-mount",),
     "A Pod, troubleshoot-copyfromhost-4m79m-psdjm, is unhealthy with a status of: ContainerCreating. Message is: "
     "MountVolume.SetUp failed for volume \"host\" : hostPath type check failed: /var/lib/collectd is not a directory. "
     "Unable to attach or mount volumes: unmounted volumes=[host], unattached volumes=[host kube-api-access-xddvj]: "
     "timed out waiting for the condition"),
    ("show_message_of_pod_crashloop_backoff", "message-pod-crashloop-backoff", (),
     "A Pod, init-demo, is unhealthy with a status of: CrashLoopBackOff. Message is: failed to create shim task: OCI "
     "runtime create failed: runc create failed: unable to start container process: exec: \"wge\": executable file "
     "not found in $PATH: unknown"),
    ("show_message_of_init_pod_crashloop_backoff", "message-pod-init-crashloop-backoff",
     ("message-pod-init-crashloop-backoff",),
     "A Pod, init-demo2, is unhealthy with a status of: Init:RunContainerError. Message is: failed to create shim "
     "task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"wge\": "
     "executable file not found in $PATH: unknown"),
    ("show_message_of_pending_pod_resource", "message-pending-pod-resources", (),
     "A Pod, pending-pod-resources-5fddcf7688-djjfc, is unhealthy with a status of: Pending. Message is: 0/1 nodes "
     "are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims "
     "found for incoming pod."),
    ("show_message_of_oom_killed_pod", "message-oomkill-pod", (),
     "A Pod, oom-kill-job3-gbb89, is unhealthy with a status of: OOMKilled. Message is: ExitCode:137"),
    ("show_message_of_image_pull_fail", "message-image-pull-fail", ("message-image-pull-fail",),
     "A Pod, no-image-deployment-849c4c4958-rxqmt, is unhealthy with a status of: ErrImagePull. Message is: Failed "
     "to pull image \"noimage.com/no-such-image\": rpc error: code = Unknown desc = Error response from daemon: Get "
     "\"https://noimage.com/v2/\": x509: certificate is not valid for any names, but wanted to match noimage.com. "
     "Error: ErrImagePull. Error: ImagePullBackOff"),
    ("show_none_message_of_no_events_pod", "message-image-pull-fail", (),
     "A Pod, no-image-deployment-849c4c4958-rxqmt, is unhealthy with a status of: ErrImagePull. Message is: None"),
])
def test_messages_of_unhealthy_pods(bundle, case, namespace, events, message):
    root = bundle(pod_files(namespace, events=events))
    spec = {"checkName": case, "namespaces": [namespace], "outcomes": outcomes(("warn", "!= Healthy", MESSAGE))}
    [result] = run("clusterPodStatuses", spec, root)
    assert (result.outcome, result.title, result.message) == ("warn", case, message)


def test_default_title_and_message_and_the_involved_object(bundle):
    # cluster_pod_statuses.go: "Pod {{ .Namespace }}/{{ .Name }} status" and its default message
    root = bundle(pod_files("message-oomkill-pod"))
    [result] = run("clusterPodStatuses", {"outcomes": outcomes(("fail", "= OOMKilled", ""))}, root)
    assert (result.title, result.message) == (
        "Pod message-oomkill-pod/oom-kill-job3-gbb89 status",
        "Pod message-oomkill-pod/oom-kill-job3-gbb89 status is OOMKilled. Message is: ExitCode:137")
    [entry] = analysis_json([result])
    assert entry["involvedObject"] == {"kind": "Pod", "namespace": "message-oomkill-pod",
                                       "name": "oom-kill-job3-gbb89", "apiVersion": "v1"}
    assert entry["name"] == "pod.message.oomkill.pod.oom.kill.job3.gbb89.status"


def test_phases_match_too_and_unmatched_pods_give_nothing(bundle):
    root = bundle(pod_files(*HEALTHY, *UNHEALTHY))
    spec = {"checkName": "running", "outcomes": outcomes(("pass", "= Running", "{{ .Name }} runs"))}
    assert sorted(r.message for r in run("clusterPodStatuses", spec, root)) == [
        "other-pod-75b66db9b9-nqhp8 runs", "random-pod-75b66db9b9-nqhp8 runs"]


def test_a_malformed_when_is_skipped_as_troubleshoot_does(bundle):
    root = bundle(pod_files("default"))
    spec = {"outcomes": outcomes(("fail", "Healthy", "never"), ("pass", "", "ok"))}
    assert [r.message for r in run("clusterPodStatuses", spec, root)] == ["ok"]


@pytest.mark.parametrize("name, reason, is_unhealthy", [   # k8sutil GetPodStatusReason / IsPodUnhealthy
    ("default", "Running", False), ("default-unhealthy", "CrashLoopBackOff", True),
    ("message-oomkill-pod", "OOMKilled", True), ("message-pending-node-affinity", "Pending", True),
    ("message-pod-init-crashloop-backoff", "Init:RunContainerError", True),
    ("message-container-creating-failed-mount", "ContainerCreating", True),
])
def test_pod_status_reasons(name, reason, is_unhealthy):
    import json

    [pod] = json.loads((PODS / f"{name}.json").read_text())["items"]
    assert status_reason(pod)[0] == reason
    assert unhealthy(pod) is is_unhealthy


def test_completed_and_terminating_pods():
    completed = {"status": {"phase": "Succeeded", "containerStatuses": [
        {"ready": False, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}}
    assert status_reason(completed) == ("Completed", "ExitCode:0") and not unhealthy(completed)
    deleting = {"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "status": {"phase": "Running"}}
    assert status_reason(deleting)[0] == "Terminating"
