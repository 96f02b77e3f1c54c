"""The fake API server's synthetic cluster, API Priority and Fairness's 429 and expiring continue tokens,
through the real `kubernetes` client (typed and dynamic)."""
from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest
from kubernetes.client import ApiClient, ApiException, CoreV1Api, CustomObjectsApi

from tests.fakes.kube_api import ClusterSize, FakeKubeApi

SIZE = ClusterSize(namespaces=5, pods=100, containers=2, log_lines=4, events=300, crds=3, custom_resources=30)


@pytest.fixture
def core(kubeconfig: Path) -> Iterator[CoreV1Api]:
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    configuration.retries = 0   # urllib3 would itself retry a 429 that has Retry-After
    api_client = ApiClient(configuration)
    yield CoreV1Api(api_client)
    api_client.close()


def test_every_list_of_the_synthetic_cluster_pages_in_key_order(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.synthesize(SIZE)
    seen, token, pages = [], None, 0
    while True:
        page = core.list_pod_for_all_namespaces(limit=30, _continue=token)
        seen += [(pod.metadata.namespace, pod.metadata.name) for pod in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 100 - len(seen)
    assert pages == 4 and len(seen) == 100 and seen == sorted(seen) and seen[0] == ("ns-00000", "pod-00000")
    assert len(core.list_namespaced_event("ns-00003").items) == 60
    assert len(core.list_namespace().items) >= 5


def test_selectors_get_and_logs_of_made_objects(kube: FakeKubeApi, core: CoreV1Api, kubeconfig: Path) -> None:
    kube.synthesize(SIZE)
    first = core.list_namespaced_pod("ns-00001", label_selector="app=app-3", limit=1)
    assert [p.metadata.name for p in first.items] == ["pod-00023"] and first.metadata._continue
    rest = core.list_namespaced_pod("ns-00001", label_selector="app=app-3", _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["pod-00033"] and not rest.metadata._continue
    pod = core.read_namespaced_pod("pod-00047", "ns-00002")
    assert [c.name for c in pod.spec.containers] == ["main", "sidecar"]
    assert core.read_namespaced_pod_log("pod-00047", "ns-00002", container="sidecar").splitlines()[3] == \
        "2026-01-01T00:00:03Z ns-00002/pod-00047/sidecar line 0003: synthetic log output"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("pod-00007", "ns-00002")   # a pod of ns-00000
    assert missing.value.status == 404
    widgets = CustomObjectsApi(core.api_client).list_cluster_custom_object("synthetic.example.com", "v1", "widget01s")
    assert len(widgets["items"]) == 10 and widgets["items"][0]["kind"] == "Widget01"


def test_the_same_cluster_is_made_every_time_and_never_held() -> None:
    from tests.fakes.kube_api.synthetic import Synthetic

    tracemalloc.start()
    big = Synthetic(ClusterSize())
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert held < 1_000_000   # 20,000 pods, 60,000 events, 2,000 widgets: under 1 MB until asked for
    pods = big.families[("", "pods")]
    assert len(pods) == 20_000 and len(big.families[("", "events")]) == 60_000
    assert sum(len(f) for (group, _), f in big.families.items() if group) == 2_000
    assert json.dumps(pods.object(12_345)) == json.dumps(Synthetic(ClusterSize()).families[("", "pods")].object(12_345))
    assert (big.log("ns-00499", "pod-19999", "main", False) or b"").count(b"\n") == 200
    assert big.log("ns-00498", "pod-19999", "main", False) is None


def test_an_expired_continue_token_is_410_gone(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.synthesize(SIZE)
    token = core.list_pod_for_all_namespaces(limit=10).metadata._continue
    kube.expire_continue()
    with pytest.raises(ApiException) as gone:
        core.list_pod_for_all_namespaces(limit=10, _continue=token)
    assert gone.value.status == 410 and json.loads(gone.value.body)["reason"] == "Expired"
    assert core.list_pod_for_all_namespaces(limit=10, _continue=token).items   # once only


def test_requests_over_max_in_flight_are_429_with_retry_after(kube: FakeKubeApi, core: CoreV1Api) -> None:
    kube.max_in_flight, kube.retry_after = 1, 7
    kube.slow("/api/v1/nodes", 0.5)
    holder = threading.Thread(target=core.list_node)
    holder.start()
    while not kube.requests:
        threading.Event().wait(0.005)
    with pytest.raises(ApiException) as refused:
        core.list_namespace()
    holder.join()
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "7"
    assert json.loads(refused.value.body)["details"] == {"retryAfterSeconds": 7}
    assert kube.throttled_count == 1 and [r.throttled for r in kube.received] == [False, True]
    assert core.list_namespace().items   # admitted again once the other is done
