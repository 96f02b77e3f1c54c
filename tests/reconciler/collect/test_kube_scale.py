"""Large clusters (issue 23): every LIST paginated, an expired continue token survived and noted in the
bundle, every 429 honoured after its Retry-After, and the client-side rate limit kept, all through the
real `kubernetes` client against the fake API server's synthetic cluster."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.collect import CollectContext, CollectorSpec, Output
from reconciler.collect.kube.client import ClusterSettings, Kube, TransientApiError, connect
from reconciler.collect.kube.lists import PAGE_SIZE, list_kind, pages
from reconciler.collect.kube.logs import logs
from reconciler.collect.kube.resources import NAMESPACED, cluster_resources
from reconciler.collect.kube.throttle import MAX_RETRIES, ConcurrencyGate, RateLimiter, retry_after
from tests.fakes.kube_api import ClusterSize, FakeKubeApi

PODS = next(kind for kind in NAMESPACED if kind.directory == "pods")
# 1,200 pods in 4 namespaces: three pages of PAGE_SIZE (500)
SMALL = ClusterSize(namespaces=4, pods=1_200, containers=2, log_lines=3, events=40, crds=2, custom_resources=8)


def _kube(kubeconfig: Path, **limiter: Any) -> Kube:
    kube = connect(ClusterSettings(str(kubeconfig)))
    if limiter:
        kube.limiter = RateLimiter(**limiter)
    return kube


def _pod_items(out: Path) -> list[str]:
    names = []
    for path in sorted((out / "cluster-resources" / "pods").glob("*.json")):
        names += [f"{path.stem}/{item['metadata']['name']}" for item in json.loads(path.read_text())["items"] or []]
    return names


def _pod_lists(kube: FakeKubeApi) -> list[dict[str, list[str]]]:
    return [r.query for r in kube.requests if r.path == "/api/v1/pods"]


def test_a_cluster_wide_list_is_read_page_by_page_into_per_namespace_files(kube, kubeconfig, tmp_path):
    kube.synthesize(SMALL)
    listed = list_kind(_kube(kubeconfig), Output(tmp_path), PODS, [f"ns-{i:05d}" for i in range(4)], cluster_wide=True)

    names = _pod_items(tmp_path)
    assert len(names) == len(set(names)) == 1_200 and names == sorted(names)
    queries = _pod_lists(kube)
    assert [q["limit"] for q in queries] == [[str(PAGE_SIZE)]] * 3
    assert ["continue" in q for q in queries] == [False, True, True]
    assert listed.requests == 3 and listed.restarts == []


def test_an_expired_continue_token_restarts_the_list_once_and_the_bundle_says_so(kube, kubeconfig, tmp_path):
    kube.synthesize(SMALL)
    kube.expire_continue(1)
    ctx = CollectContext(Output(tmp_path), timeout=30, kube=_kube(kubeconfig))

    cluster_resources(CollectorSpec("clusterResources", {}, False), ctx)

    names = _pod_items(tmp_path)
    assert len(names) == len(set(names)) == 1_200   # each pod once: nothing written twice
    assert ["continue" in q for q in _pod_lists(kube)] == [False, True, False, True, True]
    [note] = [w for w in ctx.warnings if "continue token expired" in w]
    assert note.startswith("LIST /api/v1/pods: ") and "ns-00001/pod-00499" in note
    assert not (tmp_path / "cluster-resources" / "pods-errors.json").exists()


def test_a_second_expiry_is_the_lists_error(kube, kubeconfig, tmp_path):
    kube.synthesize(SMALL)
    kube.expire_continue(2)
    listed = list_kind(_kube(kubeconfig), Output(tmp_path), PODS, ["ns-00000"], cluster_wide=True)
    assert "too old to display a consistent list" in listed.errors[""] and len(listed.restarts) == 1


def test_a_429_is_sent_again_after_its_retry_after_and_nothing_is_lost(kube, kubeconfig):
    kube.max_in_flight, kube.retry_after = 1, 1
    kube.slow("/api/v1/namespaces/default/configmaps", 0.5)
    client = _kube(kubeconfig)
    holder = threading.Thread(target=client.get, args=("/api/v1/namespaces/default/configmaps",))
    holder.start()
    deadline = time.monotonic() + 10
    while kube.request_count < 1 and time.monotonic() < deadline:   # the slow request is in flight
        threading.Event().wait(0.005)

    assert client.get("/api/v1/namespaces")["items"]   # refused once, then answered
    holder.join()

    namespaces = [r for r in kube.received if r.request.path == "/api/v1/namespaces"]
    assert [r.throttled for r in namespaces] == [True, False]
    assert namespaces[1].at - namespaces[0].at >= 1.0       # Retry-After: 1 honoured
    assert client.retried_429 == kube.throttled_count == 1


def test_a_429_is_retried_as_client_go_does_then_fails_transient(kube, kubeconfig):
    kube.max_in_flight = 0   # every request refused
    waits: list[float] = []
    client = _kube(kubeconfig, sleep=waits.append)

    with pytest.raises(TransientApiError, match="Too many requests"):
        client.get("/api/v1/namespaces")

    assert kube.throttled_count == MAX_RETRIES + 1 and waits == [1.0] * MAX_RETRIES


@pytest.mark.parametrize("status, headers, expected", [
    (429, {"Retry-After": "3"}, 3.0), (429, {"Retry-After": "3600"}, 60.0), (429, {"Retry-After": "soon"}, 1.0),
    (429, {}, None), (503, {"Retry-After": "1"}, None), (200, {"Retry-After": "1"}, None)])
def test_only_a_429_with_retry_after_is_sent_again(status, headers, expected):
    assert retry_after(status, headers) == expected


class _FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limit_lets_a_burst_through_then_qps_a_second():
    clock = _FakeTime()
    limiter = RateLimiter(10, 5, monotonic=lambda: clock.now, sleep=clock.sleep)

    waits = [limiter.wait() for _ in range(25)]

    assert waits[:5] == [0.0] * 5 and all(w > 0 for w in waits[5:])
    assert clock.now - 100.0 == pytest.approx(2.0)   # 20 more after the burst of 5, at 10 a second
    clock.now += 10   # idle: the bucket refills up to the burst, no further
    assert [limiter.wait() for _ in range(6)][:5] == [0.0] * 5 and clock.slept[-1] == pytest.approx(0.1)


def test_the_rate_limit_holds_across_threads_as_the_server_sees_it(kube, kubeconfig):
    qps, burst, count = 40.0, 5, 45
    client = _kube(kubeconfig, qps=qps, burst=burst)
    threads = [threading.Thread(target=lambda: [client.get("/version") for _ in range(count // 5)]) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    times = sorted(r.at for r in kube.received)
    assert len(times) == count
    for i, start in enumerate(times):   # any window holds at most a burst plus qps per second of it
        for j in range(i, len(times)):
            assert j - i + 1 <= burst + qps * (times[j] - start) + 1
    assert times[-1] - times[0] >= (count - burst) / qps * 0.9


def test_logs_of_every_pod_stream_from_the_synthetic_cluster(kube, kubeconfig, tmp_path):
    kube.synthesize(ClusterSize(namespaces=4, pods=40, containers=2, log_lines=3, events=4, crds=0, custom_resources=0))
    ctx = CollectContext(Output(tmp_path), timeout=60, kube=_kube(kubeconfig))

    logs(CollectorSpec("logs", {"name": "all", "limits": {"maxLines": 1000}}, False), ctx)

    written = sorted(tmp_path.glob("cluster-resources/pods/logs/*/*/*.log"))
    assert len(written) == 40 * 2
    assert written[0].read_text().splitlines()[0].endswith("ns-00000/pod-00000/main line 0000: synthetic log output")
    assert not ctx.warnings
    # one request per container: their status counts 0 restarts, so there is no previous log to ask for
    assert len([r for r in kube.requests if r.path.endswith("/log")]) == 80
    assert not [r for r in kube.requests if "previous" in r.query]


def test_one_link_made_from_many_threads_at_once_never_fails(tmp_path):
    """Pods of one name in several namespaces link the same `<name>/<pod>/<container>.log` at once."""
    output = Output(tmp_path)
    for i in range(8):
        output.write_text(f"cluster-resources/pods/logs/ns-{i}/web-0/main.log", f"ns-{i}\n")
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def link(i: int) -> None:
        start.wait()
        try:
            for _ in range(200):
                output.link("all/web-0/main.log", f"cluster-resources/pods/logs/ns-{i}/web-0/main.log")
        except OSError as error:
            failures.append(error)

    threads = [threading.Thread(target=link, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert (tmp_path / "all/web-0/main.log").read_text().startswith("ns-")
    assert sorted(p.name for p in (tmp_path / "all/web-0").iterdir()) == ["main.log"]


def test_a_run_pods_events_are_read_page_by_page(kube, kubeconfig, tmp_path):
    from reconciler.collect.kube.pods import run_pod

    for i in range(PAGE_SIZE + 20):   # a pod that restarted in a loop: more events than a page holds
        kube.add({"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"hi.{i:04d}", "namespace": "default"},
                  "involvedObject": {"kind": "Pod", "name": "hi", "namespace": "default"}, "reason": "BackOff"})
    ctx = CollectContext(Output(tmp_path), timeout=30, kube=_kube(kubeconfig))

    run_pod(CollectorSpec("runPod", {"collectorName": "hi", "podSpec": {"containers": [
        {"name": "hi", "image": "alpine:3", "command": ["echo", "hi"]}]}}, False), ctx)

    events = json.loads((tmp_path / "hi" / "hi-events.json").read_text())
    assert events["kind"] == "EventList" and len(events["items"]) == PAGE_SIZE + 20
    assert "continue" not in events["metadata"]
    assert [q.get("limit") for q in (r.query for r in kube.requests if r.path.endswith("/events"))] == \
        [[str(PAGE_SIZE)]] * 2


def test_a_cancelled_run_stops_waiting_out_a_retry_after_and_sends_nothing_more(kube, kubeconfig):
    """A Retry-After of a minute must not hold a cancelled run (SIGTERM, Replace, deadline) that long."""
    kube.max_in_flight, kube.retry_after = 0, 60   # every request refused, each asking for a minute
    cancel = threading.Event()
    client = connect(ClusterSettings(str(kubeconfig)), cancel=cancel)
    failed: list[BaseException] = []

    def get() -> None:
        try:
            client.get("/api/v1/namespaces")
        except BaseException as exc:   # noqa: BLE001 - the test reads it
            failed.append(exc)

    worker = threading.Thread(target=get)
    worker.start()
    deadline = time.monotonic() + 10
    while kube.throttled_count < 1 and time.monotonic() < deadline:   # refused once: now waiting its minute
        threading.Event().wait(0.005)
    cancel.set()
    worker.join(timeout=10)

    assert not worker.is_alive() and kube.throttled_count == 1
    assert failed and isinstance(failed[0], TransientApiError) and "cancelled" in str(failed[0])


def test_requests_carry_the_credential_without_rebuilding_the_clients_configuration(kube, kubeconfig):
    """The `kubernetes` client re-runs its token hook (which re-sets host and TLS settings) and its
    request plumbing on every request: on a 40,000-request collection that was the client's CPU."""
    client = _kube(kubeconfig)
    configuration = client.api_client.configuration
    token, calls = configuration.get_api_key_with_prefix, []   # runs the token hook first
    configuration.get_api_key_with_prefix = lambda *args, **kwargs: (calls.append(args), token(*args, **kwargs))[1]

    for _ in range(50):
        client.get("/version")

    assert len(calls) <= 1
    assert [r.authorization for r in kube.received] == ["Bearer fake-token"] * 50


def test_concurrency_comes_down_to_what_the_server_admits_so_few_requests_are_refused(kube, kubeconfig):
    """APF refuses beyond its seats with 429: 16 senders against 3 seats must not be refused again and
    again (each refusal parks a sender for its Retry-After), yet every request is answered."""
    kube.max_in_flight, kube.retry_after, kube.latency = 3, 1, 0.02
    client = _kube(kubeconfig)
    answered: list[int] = []

    def send() -> None:
        for _ in range(20):
            answered.append(len(client.get("/api/v1/namespaces")["items"]))

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answered) == 320 and all(answered)
    assert client.retried_429 == kube.throttled_count <= 22, kube.throttled_count


def test_the_concurrency_limit_rises_again_one_slot_per_quiet_retry_after():
    clock = _FakeTime()
    gate = ConcurrencyGate(8, monotonic=lambda: clock.now)
    for _ in range(6):
        gate.enter()
    gate.leave(refused_for=2.0)   # refused with 6 in flight: the server admits at most 5
    assert gate.limit == 5

    gate.leave()                  # answered within the Retry-After: no rise
    clock.now += 2.0
    gate.leave()                  # quiet for a Retry-After: one more, then another quiet span for the next
    gate.leave()
    assert gate.limit == 6 and gate.in_flight == 2
    clock.now += 2.0
    gate.leave()
    assert gate.limit == 7


def test_a_lists_next_page_is_on_its_way_while_the_current_one_is_written(kube, kubeconfig):
    """Pages follow each other by their continue token; without asking for the next while one is
    written, a 60,000-event list is 120 round trips plus 120 pages' writing, one after the other."""
    kube.synthesize(SMALL)
    listing = pages(_kube(kubeconfig), "/api/v1/pods", timeout=30)
    seen = []
    for page in listing:   # "written" only once the next page has been asked for
        deadline = time.monotonic() + 5
        while len(_pod_lists(kube)) <= len(seen) + 1 and page["metadata"].get("continue") and time.monotonic() < deadline:
            threading.Event().wait(0.005)
        seen.append(len(_pod_lists(kube)))

    assert seen == [2, 3, 3]   # the second page asked for while the first was written, the third during the second


def test_logs_start_with_the_pod_lists_first_page_not_after_its_last(kube, kubeconfig, tmp_path):
    """40 pages of pods on a 20,000-pod cluster: the log requests need not wait for all of them."""
    kube.synthesize(ClusterSize(namespaces=2, pods=1_200, containers=1, log_lines=1, events=0, crds=0,
                                custom_resources=0))
    kube.slow("/api/v1/pods", 0.3)   # the cluster-wide pod list, not the namespaced log requests
    ctx = CollectContext(Output(tmp_path), timeout=60, kube=_kube(kubeconfig))

    logs(CollectorSpec("logs", {"name": "all"}, False), ctx)

    paths = [r.path for r in kube.requests]
    last_page = max(i for i, path in enumerate(paths) if path == "/api/v1/pods")
    assert paths.index(next(p for p in paths if p.endswith("/log"))) < last_page
    assert len(list(tmp_path.glob("cluster-resources/pods/logs/*/*/*.log"))) == 1_200
