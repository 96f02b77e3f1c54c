"""The fake Kubernetes API server, through the real `kubernetes` client and a generated kubeconfig:
what the client sends must be answered as a real apiserver answers it, from the bundle's content."""
from __future__ import annotations

import hashlib
import io
import json
import stat
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import urllib3
import websocket
from kubernetes.client import ApiClient, ApiException, CoreV1Api
from kubernetes.dynamic import DynamicClient
from kubernetes.stream import stream

from tests.fakes.kube_api import DEFAULT_USER, FakeKubeApi
from tests.fakes.kube_api.websocket import encode_frame, read_frame
from tests.fakes.kubeconfig import unreachable_url, write_kubeconfig
from tests.kube_fixtures import BASELINE_BUNDLE

# The bundle's pods, all in kube-system, by workload.
PODS = {"coredns": "coredns-56f6fc8fd7-p4x9z", "helm-install-traefik": "helm-install-traefik-5wnn9",
        "helm-install-traefik-crd": "helm-install-traefik-crd-nrgzd",
        "local-path-provisioner": "local-path-provisioner-5cf85fd84d-jntjc",
        "metrics-server": "metrics-server-5985cbc9d7-9jgk6", "svclb-traefik": "svclb-traefik-a6edc2ef-c2sjr",
        "traefik": "traefik-57b79cf995-qn4jm"}
COREDNS = PODS["coredns"]          # one container: coredns
SVCLB = PODS["svclb-traefik"]      # two containers: lb-tcp-80, lb-tcp-443


@pytest.fixture(scope="module")
def bundle_json() -> dict[str, Any]:
    """Every JSON document of the archive, by path under its top directory: the tests' oracle."""
    documents = {}
    with tarfile.open(BASELINE_BUNDLE) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.name.endswith(".json") else None
            if extracted is not None:
                documents[member.name.partition("/")[2]] = json.load(extracted)
    return documents


@pytest.fixture
def client(kubeconfig: Path) -> Iterator[ApiClient]:
    api_client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    yield api_client
    api_client.close()


@pytest.fixture
def core(client: ApiClient) -> CoreV1Api:
    return CoreV1Api(client)


def status_of(error: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    assert body["kind"] == "Status" and body["code"] == error.status
    return body


def raw_get(client: ApiClient, path: str, **query: str) -> tuple[int, bytes]:
    """GET a path as `ApiClient.call_api` sends any raw request."""
    response = client.call_api(*client.param_serialize("GET", path, query_params=list(query.items()),
                                                       auth_settings=["BearerToken"]))
    return response.status, response.read()


def names(items: list[Any]) -> list[str]:
    return [item.metadata.name for item in items]


EXEC_STREAMS = {"stdout": True, "stderr": True, "stdin": False, "tty": False}


def exec_in(core: CoreV1Api, command: list[str], pod: str = COREDNS, namespace: str = "kube-system",
            **options: Any) -> Any:
    """A finished exec session, as `stream(..., _preload_content=False)` gives it: read_stdout(),
    read_stderr(), returncode."""
    session = stream(core.connect_get_namespaced_pod_exec, pod, namespace, command=command,
                     _preload_content=False, **{**EXEC_STREAMS, **options})
    session.run_forever(timeout=5)
    return session


# Discovery and version.

def test_version_is_the_bundles(client: ApiClient, bundle_json: dict[str, Any]) -> None:
    version = kubernetes.client.VersionApi(client).get_code()
    info = bundle_json["cluster-info/cluster_version.json"]["info"]
    assert (version.git_version, version.major, version.minor) == (
        info["gitVersion"], info["major"], info["minor"]) == ("v1.31.2+k3s1", "1", "31")


def test_discovery_serves_groups_resources_and_crd_groups(client: ApiClient, tmp_path: Path) -> None:
    assert kubernetes.client.CoreApi(client).get_api_versions().versions == ["v1"]
    groups = {group.name: group for group in kubernetes.client.ApisApi(client).get_api_versions().groups}
    assert "" not in groups and groups["autoscaling"].preferred_version.version == "v2"
    assert {"helm.cattle.io", "k3s.cattle.io", "traefik.io"} <= set(groups)
    core_resources = {r.name: r for r in CoreV1Api(client).get_api_resources().resources}
    assert core_resources["pods"].namespaced and not core_resources["nodes"].namespaced
    assert "pods/log" in core_resources and "pods/exec" in core_resources
    status, body = raw_get(client, "/apis/helm.cattle.io/v1")
    assert status == 200
    assert {"helmcharts", "helmchartconfigs"} <= {r["name"] for r in json.loads(body)["resources"]}

    dynamic = DynamicClient(client, cache_file=str(tmp_path / "discovery.json"))
    helm_charts = dynamic.resources.get(api_version="helm.cattle.io/v1", kind="HelmChart")
    charts = helm_charts.get(namespace="kube-system")
    assert sorted(chart.metadata.name for chart in charts.items) == ["traefik", "traefik-crd"]
    assert len(dynamic.resources.get(api_version="v1", kind="Pod").get().items) == 7


def test_a_kind_no_discovery_lists_is_given_an_entry(kube: FakeKubeApi, client: ApiClient) -> None:
    kube.add({"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": "default"}})
    status, body = raw_get(client, "/apis/example.com/v1")
    [widget] = json.loads(body)["resources"]
    assert status == 200 and "list" in widget["verbs"]
    assert (widget["name"], widget["singularName"], widget["kind"], widget["namespaced"]) == (
        "widgets", "widget", "Widget", True)
    groups = kubernetes.client.ApisApi(client).get_api_versions().groups
    assert "example.com" in {group.name for group in groups}
    widgets = kubernetes.client.CustomObjectsApi(client).list_namespaced_custom_object(
        "example.com", "v1", "default", "widgets")
    assert widgets["kind"] == "WidgetList" and [w["metadata"]["name"] for w in widgets["items"]] == ["w"]


def test_a_crd_serves_its_objects_in_every_served_version(kube: FakeKubeApi, client: ApiClient) -> None:
    kube.add({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
              "metadata": {"name": "gadgets.example.org"},
              "spec": {"group": "example.org", "scope": "Cluster",
                       "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                       "versions": [{"name": "v1", "served": True}, {"name": "v2", "served": True},
                                    {"name": "v0", "served": False}]}})
    kube.add({"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}})
    objects = kubernetes.client.CustomObjectsApi(client)
    for version in ("v1", "v2"):
        gadget = objects.get_cluster_custom_object("example.org", version, "gadgets", "g")
        assert gadget["apiVersion"] == f"example.org/{version}"
    with pytest.raises(ApiException) as missing:
        objects.list_cluster_custom_object("example.org", "v0", "gadgets")
    assert missing.value.status == 404


# Lists, gets, selectors, paging.

@pytest.mark.parametrize("directory, all_namespaces, in_namespace", [
    ("pods", "list_pod_for_all_namespaces", "list_namespaced_pod"),
    ("configmaps", "list_config_map_for_all_namespaces", "list_namespaced_config_map"),
    ("events", "list_event_for_all_namespaces", "list_namespaced_event"),
    ("serviceaccounts", "list_service_account_for_all_namespaces", "list_namespaced_service_account"),
])
def test_lists_hold_what_the_bundle_holds(core: CoreV1Api, bundle_json: dict[str, Any], directory: str,
                                          all_namespaces: str, in_namespace: str) -> None:
    per_namespace = {path.split("/")[2].removesuffix(".json"): len(document["items"] or [])
                     for path, document in bundle_json.items()
                     if path.startswith(f"cluster-resources/{directory}/")}
    everything = getattr(core, all_namespaces)()
    assert len(everything.items) == sum(per_namespace.values()) > 0
    for namespace, count in per_namespace.items():
        assert len(getattr(core, in_namespace)(namespace).items) == count
    assert len(getattr(core, in_namespace)("no-such-namespace").items) == 0


def test_lists_keep_kind_and_api_version_on_items(client: ApiClient) -> None:
    status, body = raw_get(client, "/apis/apps/v1/deployments")
    deployments = json.loads(body)
    assert status == 200
    assert (deployments["kind"], deployments["apiVersion"]) == ("DeploymentList", "apps/v1")
    assert deployments["metadata"]["resourceVersion"]
    assert {(d["apiVersion"], d["kind"]) for d in deployments["items"]} == {("apps/v1", "Deployment")}
    assert len(deployments["items"]) == 4


def test_cluster_scoped_lists_and_gets(core: CoreV1Api, client: ApiClient,
                                       bundle_json: dict[str, Any]) -> None:
    nodes = bundle_json["cluster-resources/nodes.json"]["items"]
    assert names(core.list_node().items) == [node["metadata"]["name"] for node in nodes] == ["primary-node"]
    assert core.read_namespace("kube-system").metadata.name == "kube-system"
    storage = kubernetes.client.StorageV1Api(client)
    assert names(storage.list_storage_class().items) == ["local-path"]
    assert len(kubernetes.client.RbacAuthorizationV1Api(client).list_cluster_role().items) == len(
        bundle_json["cluster-resources/clusterroles.json"]["items"])


def test_get_by_name_and_a_real_not_found(core: CoreV1Api, client: ApiClient) -> None:
    pod = core.read_namespaced_pod(COREDNS, "kube-system")
    assert pod.metadata.name == COREDNS and pod.spec.containers[0].name == "coredns"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod(COREDNS, "default")
    assert missing.value.status == 404
    assert status_of(missing.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'pods "{COREDNS}" not found', "reason": "NotFound",
        "details": {"name": COREDNS, "kind": "pods"}, "code": 404}
    with pytest.raises(ApiException) as grouped:
        kubernetes.client.AppsV1Api(client).read_namespaced_deployment("nope", "kube-system")
    assert status_of(grouped.value)["message"] == 'deployments.apps "nope" not found'
    assert raw_get(client, "/api/v1/nosuchresources")[0] == 404


@pytest.mark.parametrize("selector, expected", [
    ("k8s-app=kube-dns", {"coredns"}),
    ("k8s-app==kube-dns", {"coredns"}),
    ("k8s-app!=kube-dns", {"helm-install-traefik", "helm-install-traefik-crd", "local-path-provisioner",
                           "metrics-server", "svclb-traefik", "traefik"}),
    ("k8s-app in (kube-dns, metrics-server)", {"coredns", "metrics-server"}),
    ("k8s-app notin (kube-dns,metrics-server)", {"helm-install-traefik", "helm-install-traefik-crd",
                                                 "local-path-provisioner", "svclb-traefik", "traefik"}),
    ("job-name", {"helm-install-traefik", "helm-install-traefik-crd"}),
    ("!pod-template-hash", {"helm-install-traefik", "helm-install-traefik-crd", "svclb-traefik"}),
    ("pod-template-hash,k8s-app notin (kube-dns)", {"local-path-provisioner", "metrics-server", "traefik"}),
    ("app.kubernetes.io/name=traefik,app.kubernetes.io/managed-by=Helm", {"traefik"}),
])
def test_label_selectors(core: CoreV1Api, selector: str, expected: set[str]) -> None:
    found = core.list_pod_for_all_namespaces(label_selector=selector).items
    assert sorted(names(found)) == sorted(PODS[workload] for workload in expected)


def test_an_unparseable_label_selector_is_a_bad_request(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as bad:
        core.list_pod_for_all_namespaces(label_selector="a in (b")
    assert bad.value.status == 400 and status_of(bad.value)["reason"] == "BadRequest"


def test_field_selectors(core: CoreV1Api) -> None:
    by_name = core.list_pod_for_all_namespaces(field_selector=f"metadata.name={COREDNS}")
    assert names(by_name.items) == [COREDNS]
    configmaps = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace!=kube-system")
    assert {c.metadata.namespace for c in configmaps.items} == {"default", "kube-node-lease", "kube-public"}
    events = core.list_namespaced_event("default", field_selector="involvedObject.name=primary-node").items
    assert events and {e.involved_object.name for e in events} == {"primary-node"}
    in_default = "status.phase==Running,metadata.namespace=default"
    assert core.list_pod_for_all_namespaces(field_selector=in_default).items == []
    assert len(core.list_pod_for_all_namespaces(field_selector="status.phase=Running").items) == 5


def test_limit_and_continue_walk_every_page(core: CoreV1Api) -> None:
    everything = names(core.list_service_account_for_all_namespaces().items)
    pages, token = [], None
    while True:
        page = core.list_service_account_for_all_namespaces(limit=2, _continue=token)
        pages.append(names(page.items))
        token = page.metadata._continue
        if not token:
            assert page.metadata.remaining_item_count is None
            break
        assert page.metadata.remaining_item_count == len(everything) - 2 * len(pages)
    assert all(len(chunk) == 2 for chunk in pages[:-1]) and len(pages) == (len(everything) + 1) // 2
    assert [name for chunk in pages for name in chunk] == everything
    with pytest.raises(ApiException) as bad:
        core.list_service_account_for_all_namespaces(limit=2, _continue="not a token")
    assert bad.value.status == 400


def test_custom_resources_by_group_version_plural(client: ApiClient, bundle_json: dict[str, Any]) -> None:
    objects = kubernetes.client.CustomObjectsApi(client)
    addons = objects.list_namespaced_custom_object("k3s.cattle.io", "v1", "kube-system", "addons")
    assert addons["kind"] == "AddonList" and len(addons["items"]) == len(
        bundle_json["cluster-resources/custom-resources/addons.k3s.cattle.io/kube-system.json"])
    routes = objects.list_cluster_custom_object("traefik.io", "v1alpha1", "ingressroutes")["items"]
    assert [(r["kind"], r["metadata"]["namespace"]) for r in routes] == [("IngressRoute", "kube-system")]
    old_group = objects.list_cluster_custom_object("traefik.containo.us", "v1alpha1", "ingressroutes")
    assert old_group["items"] == []
    assert objects.get_namespaced_custom_object("helm.cattle.io", "v1", "kube-system", "helmcharts",
                                                "traefik")["kind"] == "HelmChart"


def test_objects_added_and_removed_at_runtime_until_reset(kube: FakeKubeApi, core: CoreV1Api) -> None:
    stored = kube.add({"apiVersion": "v1", "kind": "Secret", "data": {"password": "aHVudGVyMg=="},
                       "metadata": {"name": "planted", "namespace": "default"}})
    assert stored["metadata"]["uid"] and stored["metadata"]["resourceVersion"]
    assert core.read_namespaced_secret("planted", "default").data == {"password": "aHVudGVyMg=="}
    assert names(core.list_namespaced_secret("default").items) == ["planted"]
    kube.remove("Secret", "default", "planted")
    assert core.list_namespaced_secret("default").items == []
    with pytest.raises(KeyError):
        kube.remove("Secret", "default", "planted")
    kube.remove("ConfigMap", "kube-system", "coredns")
    kube.remove("Node", None, "primary-node")
    assert core.list_node().items == []
    kube.reset()
    assert names(core.list_node().items) == ["primary-node"]
    assert core.read_namespaced_config_map("coredns", "kube-system").metadata.name == "coredns"


# Logs.

def test_logs_from_the_bundle(core: CoreV1Api) -> None:
    assert core.read_namespaced_pod_log("run-example", "default", follow=False) == "hello from run\n"
    assert core.read_namespaced_pod_log("run-pod-example", "default", container="example") == (
        "hello from runPod\n")
    assert core.read_namespaced_pod_log(COREDNS, "kube-system") == ""   # a pod the bundle has no log of


def test_tail_lines_and_limit_bytes_are_applied_by_the_server(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.set_log("kube-system", COREDNS, "coredns", "".join(f"line {n}\n" for n in range(1, 101)))
    assert core.read_namespaced_pod_log(COREDNS, "kube-system", tail_lines=3) == (
        "line 98\nline 99\nline 100\n")
    assert core.read_namespaced_pod_log(COREDNS, "kube-system", limit_bytes=10) == "line 1\nlin"
    assert core.read_namespaced_pod_log(COREDNS, "kube-system", tail_lines=2, limit_bytes=9) == "line 99\nl"
    assert core.read_namespaced_pod_log(COREDNS, "kube-system", tail_lines=0) == ""


def test_since_keeps_recent_and_undated_lines(kube: FakeKubeApi, core: CoreV1Api, client: ApiClient) -> None:
    kube.set_log("kube-system", COREDNS, "coredns",
                 "2020-01-01T00:00:00Z old\nno timestamp\n2999-01-01T00:00:00.123456789Z future\n")
    assert core.read_namespaced_pod_log(COREDNS, "kube-system", since_seconds=3600) == (
        "no timestamp\n2999-01-01T00:00:00.123456789Z future\n")
    # sinceTime is not in the Python client's signature (the Go client sends it): a raw request.
    status, body = raw_get(client, f"/api/v1/namespaces/kube-system/pods/{COREDNS}/log",
                           sinceTime="2019-12-31T23:00:00-02:00")
    assert status == 200 and body == b"no timestamp\n2999-01-01T00:00:00.123456789Z future\n"
    stamped = core.read_namespaced_pod_log(COREDNS, "kube-system", timestamps=True).splitlines()
    assert stamped[0] == "2020-01-01T00:00:00Z old" and stamped[1].endswith("Z no timestamp")


def test_previous_logs_and_container_errors(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.set_log("kube-system", SVCLB, "lb-tcp-80", b"now\n")
    kube.set_log("kube-system", SVCLB, "lb-tcp-80", b"before the crash\n", previous=True)
    assert core.read_namespaced_pod_log(SVCLB, "kube-system", container="lb-tcp-80") == "now\n"
    assert core.read_namespaced_pod_log(SVCLB, "kube-system", container="lb-tcp-80", previous=True) == (
        "before the crash\n")
    cases = [
        ({"container": "lb-tcp-443", "previous": True},
         f'previous terminated container "lb-tcp-443" in pod "{SVCLB}" not found'),
        ({"container": "nginx"}, f"container nginx is not valid for pod {SVCLB}"),
        ({}, f"a container name must be specified for pod {SVCLB}, choose one of: [lb-tcp-80 lb-tcp-443]"),
    ]
    for options, message in cases:
        with pytest.raises(ApiException) as bad:
            core.read_namespaced_pod_log(SVCLB, "kube-system", **options)
        assert (bad.value.status, status_of(bad.value)["message"]) == (400, message)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod_log("no-such-pod", "kube-system")
    assert status_of(missing.value)["message"] == 'pods "no-such-pod" not found'


def test_a_10_mb_iterator_log_streams_chunked(kube: FakeKubeApi, core: CoreV1Api) -> None:
    line = b"x" * 99 + b"\n"
    lines = 100_000
    served: list[int] = []

    def source() -> Iterator[bytes]:
        served.append(1)
        for _ in range(lines // 1000):
            yield line * 1000

    kube.set_log("kube-system", COREDNS, "coredns", source)
    response = core.read_namespaced_pod_log(COREDNS, "kube-system", _preload_content=False)
    assert response.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in response.headers
    digest, size, reads = hashlib.sha256(), 0, 0
    for chunk in response.stream(256 * 1024):
        digest.update(chunk)
        size += len(chunk)
        reads += 1
    assert size == len(line) * lines == 10_000_000 and reads > 1
    assert digest.hexdigest() == hashlib.sha256(line * lines).hexdigest()
    assert core.read_namespaced_pod_log(COREDNS, "kube-system", tail_lines=2) == (line * 2).decode()
    assert len(core.read_namespaced_pod_log(COREDNS, "kube-system", limit_bytes=250)) == 250
    assert len(served) == 3   # the callable is asked anew for each request


# RBAC.

def test_forbid_answers_the_real_403_and_leaves_the_rest(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.forbid("secrets")
    with pytest.raises(ApiException) as everywhere:
        core.list_secret_for_all_namespaces()
    assert everywhere.value.status == 403
    assert status_of(everywhere.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'secrets is forbidden: User "{DEFAULT_USER}" cannot list resource "secrets" '
                   'in API group "" at the cluster scope',
        "reason": "Forbidden", "details": {"kind": "secrets"}, "code": 403}
    with pytest.raises(ApiException) as in_default:
        core.list_namespaced_secret("default")
    assert status_of(in_default.value)["message"] == (
        f'secrets is forbidden: User "{DEFAULT_USER}" cannot list resource "secrets" in API group "" '
        'in the namespace "default"')
    kube.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"}})
    assert core.read_namespaced_secret("s", "default").metadata.name == "s"   # get is another verb
    assert len(core.list_config_map_for_all_namespaces().items) == 11
    kube.forbid("secrets", verb="get")
    with pytest.raises(ApiException) as get:
        core.read_namespaced_secret("s", "default")
    assert status_of(get.value)["message"].startswith('secrets "s" is forbidden: User') and \
        status_of(get.value)["details"] == {"name": "s", "kind": "secrets"}


def test_forbid_in_one_namespace_and_cluster_scoped(kube: FakeKubeApi, core: CoreV1Api,
                                                    client: ApiClient) -> None:
    kube.forbid("pods", namespace="kube-system")
    kube.forbid("nodes")
    kube.forbid("deployments")
    assert core.list_namespaced_pod("default").items == []
    refused_calls = [lambda: core.list_namespaced_pod("kube-system"), core.list_pod_for_all_namespaces,
                     core.list_node, kubernetes.client.AppsV1Api(client).list_deployment_for_all_namespaces]
    for call in refused_calls:
        with pytest.raises(ApiException) as refused:
            call()
        assert refused.value.status == 403
    assert status_of(refused.value)["message"].startswith("deployments.apps is forbidden: ")
    assert status_of(refused.value)["details"] == {"group": "apps", "kind": "deployments"}
    assert core.read_node("primary-node").metadata.name == "primary-node"


def test_rules_review_reflects_what_is_forbidden(kube: FakeKubeApi, client: ApiClient) -> None:
    authorization = kubernetes.client.AuthorizationV1Api(client)

    def rules(namespace: str) -> list[Any]:
        review = kubernetes.client.V1SelfSubjectRulesReview(
            spec=kubernetes.client.V1SelfSubjectRulesReviewSpec(namespace=namespace))
        status = authorization.create_self_subject_rules_review(review).status
        assert not status.incomplete and status.non_resource_rules
        return list(status.resource_rules)

    everything = [rule for rule in rules("default") if rule.resources == ["*"]]
    assert [(r.verbs, r.api_groups) for r in everything] == [(["*"], ["*"])]

    kube.forbid("secrets", namespace="default")
    assert any(rule.resources == ["*"] for rule in rules("kube-system"))
    kube.forbid("pods/log", verb="get")
    default = rules("default")
    assert not any(rule.resources == ["*"] for rule in default)
    secrets = [rule for rule in default if "secrets" in rule.resources and rule.api_groups == [""]]
    assert len(secrets) == 1 and "get" in secrets[0].verbs and "list" not in secrets[0].verbs
    assert not any("pods/log" in rule.resources for rule in default)
    pods = [rule for rule in default if "pods" in rule.resources and rule.api_groups == [""]]
    assert {"get", "list", "watch"} <= set(pods[0].verbs)

    def allowed(namespace: str, verb: str, resource: str, subresource: str | None = None) -> bool:
        attributes = kubernetes.client.V1ResourceAttributes(namespace=namespace, verb=verb, resource=resource,
                                                            subresource=subresource)
        review = kubernetes.client.V1SelfSubjectAccessReview(
            spec=kubernetes.client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes))
        return bool(authorization.create_self_subject_access_review(review).status.allowed)

    assert not allowed("default", "list", "secrets") and allowed("kube-system", "list", "secrets")
    assert not allowed("kube-system", "get", "pods", "log") and allowed("kube-system", "get", "pods")


# runPod.

def test_a_created_pod_runs_at_once_then_is_read_logged_deleted(kube: FakeKubeApi, core: CoreV1Api) -> None:
    pod = kubernetes.client.V1Pod(
        metadata=kubernetes.client.V1ObjectMeta(generate_name="run-pod-", labels={"app": "probe"}),
        spec=kubernetes.client.V1PodSpec(restart_policy="Never", containers=[kubernetes.client.V1Container(
            name="probe", image="busybox:1", command=["echo", "hello"], args=["from", "the pod"])]))
    created = core.create_namespaced_pod("default", pod)
    name = created.metadata.name
    assert name.startswith("run-pod-") and len(name) == len("run-pod-") + 5 and created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    read = core.read_namespaced_pod(name, "default")
    assert read.status.phase == "Succeeded"
    assert read.status.container_statuses[0].state.terminated.exit_code == 0
    assert core.read_namespaced_pod_log(name, "default") == "hello from the pod\n"
    assert names(core.list_namespaced_pod("default", label_selector="app=probe").items) == [name]
    with pytest.raises(ApiException) as conflict:
        core.create_namespaced_pod("default", {**created.to_dict(), "status": None})
    assert (conflict.value.status, status_of(conflict.value)["reason"]) == (409, "AlreadyExists")
    assert core.delete_namespaced_pod(name, "default").metadata.name == name
    for call in (core.read_namespaced_pod, core.read_namespaced_pod_log):
        with pytest.raises(ApiException) as gone:
            call(name, "default")
        assert gone.value.status == 404


def test_the_pod_runner_decides_logs_and_exit_codes(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.pod_runner = lambda pod: {"main": (b"boom\n", 3)}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "failing"},
           "spec": {"containers": [{"name": "main", "image": "busybox:1"}]}}
    assert core.create_namespaced_pod("default", pod).status.phase == "Failed"
    terminated = core.read_namespaced_pod("failing", "default").status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (3, "Error")
    assert core.read_namespaced_pod_log("failing", "default") == "boom\n"
    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_pod("nowhere", pod)
    assert status_of(no_namespace.value)["message"] == 'namespaces "nowhere" not found'


# exec.

def test_exec_gives_stdout_stderr_and_exit_code(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.set_file("kube-system", COREDNS, "coredns", "/etc/coredns/Corefile", b".:53 {\n    errors\n}\n")
    output = stream(core.connect_get_namespaced_pod_exec, COREDNS, "kube-system",
                    command=["cat", "/etc/coredns/Corefile"], **EXEC_STREAMS)
    assert output == ".:53 {\n    errors\n}\n"

    missing = exec_in(core, ["cat", "/etc/missing"])
    assert (missing.read_stdout(), missing.read_stderr(), missing.returncode) == (
        "", "cat: /etc/missing: No such file or directory\n", 1)
    assert exec_in(core, ["echo", "a", "b"]).read_stdout() == "a b\n"

    kube.exec_handler = lambda namespace, pod, container, command: (b"out\n", b"err\n", 2)
    failing = exec_in(core, ["sh", "-c", "exit 2"], pod=SVCLB, container="lb-tcp-443")
    assert (failing.read_stdout(), failing.read_stderr(), failing.returncode) == ("out\n", "err\n", 2)


def test_exec_output_larger_than_a_frame(kube: FakeKubeApi, core: CoreV1Api) -> None:
    big = bytes(range(256)) * 1024   # 256 KiB: several frames, with 64-bit lengths
    kube.exec_handler = lambda namespace, pod, container, command: (big, b"", 0)
    session = exec_in(core, ["cat", "/big"], binary=True)
    assert session.read_stdout() == big and session.returncode == 0


def test_exec_tar_of_registered_files_as_copy_from_pod_runs_it(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.set_file("kube-system", COREDNS, "coredns", "/var/log/app/a.log", b"alpha\n")
    kube.set_file("kube-system", COREDNS, "coredns", "/var/log/app/sub/b.log", b"beta\n")
    kube.set_file("kube-system", COREDNS, "coredns", "/var/log/other.log", b"not copied\n")

    def tar_members(command: list[str]) -> dict[str, bytes | None]:
        output = stream(core.connect_get_namespaced_pod_exec, COREDNS, "kube-system", command=command,
                        binary=True, **{**EXEC_STREAMS, "stderr": False})
        with tarfile.open(fileobj=io.BytesIO(output)) as archive:
            return {m.name: archive.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
                    for m in archive.getmembers()}

    copied = {"app": None, "app/a.log": b"alpha\n", "app/sub": None, "app/sub/b.log": b"beta\n"}
    assert tar_members(["tar", "-C", "/var/log", "-cf", "-", "app"]) == copied
    assert tar_members(["tar", "cf", "-", "/var/log/app"]) == {f"var/log/{name}": content
                                                               for name, content in copied.items()}
    missing = exec_in(core, ["tar", "cf", "-", "/x"])
    assert missing.returncode == 2
    assert "tar: /x: Cannot stat: No such file or directory" in missing.read_stderr()


def test_exec_refusals(kube: FakeKubeApi, core: CoreV1Api) -> None:
    unknown = exec_in(core, ["kubectl", "version"])
    assert (unknown.read_stderr(), unknown.returncode) == ("kubectl: command not found\n", 127)
    # An error answers the handshake; the WebSocket client reports it as status 0, the answer in `reason`.
    kube.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "done", "namespace": "default"},
              "spec": {"containers": [{"name": "main", "image": "busybox:1"}]},
              "status": {"phase": "Succeeded"}})
    with pytest.raises(ApiException) as completed:
        exec_in(core, ["echo"], pod="done", namespace="default")
    assert completed.value.status == 0 and "Handshake status 400 Bad Request" in completed.value.reason
    assert "cannot exec into a container in a completed pod; current phase is Succeeded" in (
        completed.value.reason)
    kube.forbid("pods/exec", verb="create")
    with pytest.raises(ApiException) as refused:
        exec_in(core, ["echo"])
    assert "Handshake status 403 Forbidden" in refused.value.reason
    assert 'cannot create resource \\"pods/exec\\" in API group \\"\\" in the namespace' in (
        refused.value.reason)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 100_000])
def test_websocket_frames_the_client_masks_are_read_back(size: int) -> None:
    payload = bytes(index % 251 for index in range(size))
    framed = websocket.ABNF.create_frame(payload, websocket.ABNF.OPCODE_BINARY).format()   # masked
    assert read_frame(io.BytesIO(framed)) == (websocket.ABNF.OPCODE_BINARY, payload)
    assert read_frame(io.BytesIO(framed[:-1])) is None   # cut short: the peer is gone
    header = encode_frame(websocket.ABNF.OPCODE_BINARY, payload)[:2]
    assert header[0] == 0x82 and not header[1] & 0x80   # final, binary, unmasked


# Transport: latency, slow paths, the request log, reachability.

def test_latency_delays_every_request(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.latency = 0.02
    started = time.monotonic()
    for _ in range(5):
        core.list_namespace()
    assert time.monotonic() - started >= 0.02 * 5
    kube.latency = 0
    kube.slow("/api/v1/nodes", 0.15)
    started = time.monotonic()
    core.list_namespace()
    fast = time.monotonic() - started
    core.list_node()
    assert time.monotonic() - started - fast >= 0.15 > fast


def test_the_request_log(kube: FakeKubeApi, core: CoreV1Api) -> None:
    core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns", limit=5)
    core.read_namespaced_pod_log(COREDNS, "kube-system", tail_lines=1)
    assert kube.request_count == 2
    assert kube.requests == [
        ("GET", "/api/v1/namespaces/kube-system/pods",
         {"labelSelector": ["k8s-app=kube-dns"], "limit": ["5"]}),
        ("GET", f"/api/v1/namespaces/kube-system/pods/{COREDNS}/log", {"tailLines": ["1"]}),
    ]
    kube.reset()
    assert kube.request_count == 0 and kube.requests == []


def test_an_unreachable_server_fails_to_connect(tmp_path: Path) -> None:
    url = unreachable_url()
    assert url.startswith("http://127.0.0.1:")
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
    api_client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    api_client.configuration.retries = 0
    with pytest.raises(urllib3.exceptions.HTTPError):
        CoreV1Api(api_client).list_namespace(_request_timeout=5)


def test_the_kubeconfig_is_private_and_names_its_context(kubeconfig: Path, kube: FakeKubeApi) -> None:
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    _, active = kubernetes.config.list_kube_config_contexts(config_file=str(kubeconfig))
    assert active["name"] == "fake" and active["context"]["namespace"] == "default"
    kubeconfig.chmod(0o644)
    again = write_kubeconfig(kubeconfig, kube.url, context="other", namespace="kube-system", token="t")
    assert stat.S_IMODE(again.stat().st_mode) == 0o600
    assert kubernetes.config.list_kube_config_contexts(config_file=str(again))[1]["context"]["namespace"] == \
        "kube-system"


def test_a_server_from_an_extracted_directory(tmp_path: Path) -> None:
    with tarfile.open(BASELINE_BUNDLE) as tar:
        tar.extractall(tmp_path, filter="data")
    with FakeKubeApi.from_directory(tmp_path) as api:
        api_client = kubernetes.config.new_client_from_config(
            config_file=str(write_kubeconfig(tmp_path / "kubeconfig", api.url)))
        assert len(CoreV1Api(api_client).list_pod_for_all_namespaces().items) == 7
        api_client.close()
