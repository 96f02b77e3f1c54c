"""The RBAC preflight's derivation of needed access: pure, from collector specs, no network."""
from __future__ import annotations

import pytest

from reconciler.collect import CollectorSpec
from reconciler.collect.kube.resources import CLUSTER_SCOPED, NAMESPACED
from reconciler.run.rbac_check import Access, needed_access


def spec(kind: str, host: bool = False, **params) -> CollectorSpec:
    return CollectorSpec(kind, params, host, "inline")


def accesses(*specs: CollectorSpec, namespaces=(), default_namespace="default", cluster=True) -> set[tuple]:
    derived = needed_access(specs, namespaces=namespaces, default_namespace=default_namespace, cluster=cluster)
    return {(n.collector, n.access.verb, n.access.group, n.access.resource, n.access.subresource,
             n.access.namespace, n.access.name) for n in derived.needs}


def test_cluster_resources_cluster_wide_lists_every_kind_once_across_all_namespaces():
    derived = needed_access([spec("clusterResources")], namespaces=(), default_namespace="default")
    got = {n.access for n in derived.needs}
    assert len(got) == len(derived.needs)   # no duplicates within a collector
    for kind in NAMESPACED + CLUSTER_SCOPED:
        group = kind.group_version.rpartition("/")[0]
        assert Access("list", group, kind.plural, "") in got
    assert Access("list", "", "namespaces", "") in got
    assert Access("list", "apiextensions.k8s.io", "customresourcedefinitions", "") in got
    assert Access("create", "authorization.k8s.io", "selfsubjectrulesreviews", "") in got
    assert Access("list", "", "secrets", "") in got          # image pull secrets
    assert Access("list", "apps", "deployments", "") in got
    assert all(a.namespace == "" for a in got)


def test_cluster_resources_within_collect_namespaces_asks_per_namespace():
    derived = needed_access([spec("clusterResources")], namespaces=("prod", "web"), default_namespace="default")
    got = {n.access for n in derived.needs}
    assert Access("get", "", "namespaces", "prod", name="prod") in got
    assert Access("list", "", "namespaces", "") not in got
    for ns in ("prod", "web"):
        assert Access("list", "", "pods", ns) in got and Access("list", "", "secrets", ns) in got
        assert Access("list", "apps", "deployments", "") not in got
    assert Access("list", "", "nodes", "") in got            # cluster-scoped kinds stay cluster-wide
    # the collector's own namespaces are bounded by the schedule's
    own = needed_access([spec("clusterResources", namespaces=["web", "other"])], namespaces=("prod", "web"),
                        default_namespace="default")
    assert {a.access.namespace for a in own.needs} == {"", "web"}


def test_logs_exec_copy_config_secret_run_pod_and_metadata():
    got = accesses(spec("logs", name="app", namespace="prod", selector=["app=web"]),
                   spec("exec", collectorName="ps", namespace="prod", command=["ps"]),
                   spec("copyFromPod", namespace="prod", containerPath="/etc"),
                   spec("configMap", name="cfg", namespace="prod"),
                   spec("configMap", selector=["app=web"]),
                   spec("secret", name="creds", namespace="prod", key="password"),
                   spec("runPod", name="probe", namespace="jobs", podSpec={"containers": [{"name": "c"}]}),
                   spec("supportBundleMetadata", namespace="prod"),
                   spec("clusterInfo"), spec("data", name="x", data="y"), spec("http", get={"url": "http://x"}),
                   spec("cpu", host=True), spec("mysql", uri="x"),
                   default_namespace="ctx")
    assert got == {
        ("logs", "list", "", "pods", "", "prod", ""), ("logs", "get", "", "pods", "log", "prod", ""),
        ("exec/ps", "list", "", "pods", "", "prod", ""), ("exec/ps", "create", "", "pods", "exec", "prod", ""),
        ("copyFromPod", "list", "", "pods", "", "prod", ""),
        ("copyFromPod", "create", "", "pods", "exec", "prod", ""),
        ("configMap", "get", "", "configmaps", "", "prod", "cfg"),
        ("configMap", "list", "", "configmaps", "", "ctx", ""),     # no namespace: the context's
        ("secret", "get", "", "secrets", "", "prod", "creds"),
        ("runPod", "create", "", "pods", "", "jobs", ""), ("runPod", "get", "", "pods", "", "jobs", ""),
        ("runPod", "get", "", "pods", "log", "jobs", ""), ("runPod", "list", "", "events", "", "jobs", ""),
        ("runPod", "delete", "", "pods", "", "jobs", ""),
        ("supportBundleMetadata", "get", "", "secrets", "", "prod", "replicated-support-metadata"),
    }


def test_logs_without_a_namespace_read_every_allowed_namespace():
    assert accesses(spec("logs"), namespaces=("a", "b")) == {
        ("logs", verb, "", "pods", sub, ns, "") for verb, sub in (("list", ""), ("get", "log")) for ns in ("a", "b")}
    assert accesses(spec("logs")) == {("logs", "list", "", "pods", "", "", ""), ("logs", "get", "", "pods", "log", "", "")}


def test_what_the_run_would_skip_needs_nothing():
    derived = needed_access([spec("configMap", name="x", namespace="secret-ns"), spec("logs", namespace="other"),
                             spec("logs", exclude=True), spec("clusterResources", namespaces=["nope"])],
                            namespaces=("prod",), default_namespace="default")
    assert derived.needs == []
    assert [c for c, _ in derived.skipped] == ["configMap", "logs", "clusterResources"]
    assert "outside the schedule's collect.namespaces (prod)" in derived.skipped[0][1]
    assert accesses(spec("clusterResources"), cluster=False) == set()


def test_a_review_names_only_the_attributes_set():
    body = Access("create", "", "pods", "prod", subresource="exec").to_review()
    assert body["kind"] == "SelfSubjectAccessReview"
    assert body["spec"] == {"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": "prod",
                                                   "subresource": "exec"}}
    assert Access("list", "apps", "deployments").display_resource == "deployments.apps"
    assert Access("get", "", "pods", "x", subresource="log").display_resource == "pods/log"


def test_a_report_with_a_failed_review_is_no_answer() -> None:
    from reconciler.base.errors import SbschedError
    from reconciler.run.rbac_check import Derived, Need, Report, Verdict

    pods, secrets = Access("list", "", "pods", "default"), Access("get", "", "secrets", "default", name="db")
    needs = Derived([Need("logs", pods), Need("secret", secrets)])
    answered = Report("nightly", "https://127.0.0.1:9", needs, {pods: Verdict(pods, True), secrets: Verdict(secrets, False)})
    assert answered.answered() is answered and [n.collector for n in answered.denied] == ["secret"]
    failed = Report("nightly", "https://127.0.0.1:9", needs,
                    {pods: Verdict(pods, True), secrets: Verdict(secrets, False, error="timed out")})
    with pytest.raises(SbschedError, match="1 access review\\(s\\) failed at https://127.0.0.1:9; first: get "):
        failed.answered()
