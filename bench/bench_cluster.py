"""Large clusters (issue 23): a full cluster collection against the fake API server's synthetic cluster
(tests/fakes/kube_api/synthetic.py: 500 namespaces, 20,000 pods of 2 containers logging 200 lines,
60,000 events, 2,000 custom resources of 20 CRDs) at 20 ms a request, ours beside troubleshoot's strategy.

A full collection is clusterInfo, clusterResources (events among its kinds) and the logs of every pod:
  - ours: our collectors as a run calls them, in a fresh process (its peak RSS is VmHWM, see
    bench_collect), once on the 1,000-pod cluster and once on the 20,000-pod one: the peak RSS growth
    between the two is the memory verdict;
  - troubleshoot's strategy: bench_collect's clusterResources baseline (one unpaginated LIST per kind per
    namespace, in turn), then its logs collector's order of work: one LIST of the pods, then each
    container's log and previous log, one after another. It is measured on the BASELINE_PODS cluster
    (on the full one it would take over half an hour) and scaled: its requests are a fixed part plus one
    LIST per namespaced kind per namespace plus two per container (`baseline_requests`), each taking the
    same round trip one after another, so its wall time is scaled by its request count; the table says
    "scaled". (Checked once against a full run on the 1,000-pod cluster: the requests predicted were
    exactly those made, docs/performance.md.)

The server runs in a process of its own and answers 429 with Retry-After: 1 beyond MAX_IN_FLIGHT
requests at once, as API Priority and Fairness does; ours runs more at once than that, so it is
throttled, and "no request lost" means every 429 was retried (the server's 429 count equals our
client's) and the bundle holds every pod, event, custom resource and container log.

    .venv/bin/python bench/bench_cluster.py [PODS ...]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from bench_cli import PYTHON, run_process, table  # noqa: E402
from bench_collect import FIXTURE, ServerProcess, _child_env, _environment, _status_kib  # noqa: E402

SIZES = (1_000, 20_000)          # pods; the others scale with them (ClusterSize.with_pods)
BASELINE_PODS = 200              # troubleshoot's strategy is measured on this cluster and scaled
LATENCY = 0.02
MAX_IN_FLIGHT = 14               # the server's concurrency, below our 16 connections: some 429s
SPEEDUP_TARGET = 20
RSS_GROWTH_TARGET_MIB = 64
TIMEOUT_S = 1800


def serve(pods: int) -> None:
    """`--serve PODS`: the synthetic cluster (beside the baseline bundle's). Prints its URL, then answers
    stdin lines `latency S`, `limit N` (0: none) and `count` with the request count, `throttled` with the
    429 count; stops at end of input."""
    _environment()
    from tests.fakes.kube_api import ClusterSize, FakeKubeApi

    with FakeKubeApi.from_archive(FIXTURE) as api:
        api.synthesize(ClusterSize.with_pods(pods))
        print(api.url, flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["latency"]:
                api.latency = float(words[1])
            elif words[:1] == ["limit"]:
                api.max_in_flight = int(words[1]) or None
            print(api.throttled_count if words[:1] == ["throttled"] else api.request_count, flush=True)


def _connect(url: str, out: Path) -> Any:
    from reconciler.collect.kube.client import ClusterSettings, open_cluster
    from tests.fakes.kubeconfig import write_kubeconfig

    out.mkdir(parents=True, exist_ok=True)
    return open_cluster(ClusterSettings(kubeconfig=str(write_kubeconfig(out.parent / f"{out.name}.kubeconfig", url))))


def ours(url: str, out: Path) -> None:
    """`--ours URL OUT`: clusterInfo, clusterResources and logs of every pod, as a run calls them."""
    _environment()
    from reconciler.collect import CollectContext, CollectorSpec, Output
    from reconciler.collect.kube import cluster_info, cluster_resources, logs

    kube = _connect(url, out)
    ctx = CollectContext(output=Output(out), timeout=TIMEOUT_S, kube=kube)
    ready = _status_kib("VmHWM")
    start = time.perf_counter()
    cluster_info(CollectorSpec("clusterInfo", {}, False), ctx)
    cluster_resources(CollectorSpec("clusterResources", {}, False), ctx)
    logs(CollectorSpec("logs", {"name": "all"}, False), ctx)
    print(json.dumps({"seconds": time.perf_counter() - start, "ready_hwm_kib": ready, "hwm_kib": _status_kib("VmHWM"),
                      "retried_429": kube.retried_429, "warnings": ctx.warnings[:5]}))


def troubleshoot(url: str, out: Path) -> None:
    """`--troubleshoot URL OUT`: troubleshoot's order of work, one request at a time."""
    _environment()
    from bench_collect import troubleshoot_strategy
    from reconciler.collect import Output
    from reconciler.collect.kube.client import ApiError
    from reconciler.collect.kube.logs import LogLimits, save_pod_logs

    kube = _connect(url, out)
    output = Output(out)
    start = time.perf_counter()
    output.write_json("cluster-info/cluster_version.json", kube.get("/version", timeout=TIMEOUT_S))
    troubleshoot_strategy(kube, output, TIMEOUT_S)
    for pod in kube.get("/api/v1/pods", timeout=TIMEOUT_S)["items"]:
        for container in pod["spec"]["containers"]:
            try:
                save_pod_logs(kube, output, pod["metadata"]["namespace"], pod["metadata"]["name"], container["name"],
                              limits=LogLimits(), timeout=TIMEOUT_S)
            except ApiError:
                pass
    print(json.dumps({"seconds": time.perf_counter() - start, "hwm_kib": _status_kib("VmHWM")}))


def _complete(out: Path, pods: int) -> list[str]:
    """What the bundle lacks of the synthetic cluster: every pod, event and widget, every container's log."""
    from tests.fakes.kube_api import ClusterSize

    size = ClusterSize.with_pods(pods)
    resources = out / "cluster-resources"

    def items(directory: str) -> int:
        return sum(len(json.loads(p.read_bytes())["items"] or []) for p in (resources / directory).glob("ns-*.json"))

    widgets = sum(len(json.loads(p.read_bytes())) for p in (resources / "custom-resources").glob("*/ns-*.json"))
    logs = sum(1 for _ in (resources / "pods" / "logs").glob("ns-*/*/*.log"))
    found = {"pods": items("pods"), "events": items("events"), "custom resources": widgets, "container logs": logs}
    wanted = {"pods": size.pods, "events": size.events, "custom resources": size.custom_resources,
              "container logs": size.pods * size.containers}
    return [f"{what}: {found[what]:,} of {wanted[what]:,}" for what in wanted if found[what] != wanted[what]]


def baseline_requests(pods: int, fixed: int) -> int:
    """The requests troubleshoot's strategy makes on the `pods` cluster: `fixed` (version, cluster-scoped
    kinds, the namespace and pod lists) plus one LIST per namespaced kind per namespace and, per container,
    its log and its previous log."""
    from reconciler.collect.kube.resources import NAMESPACED
    from tests.fakes.kube_api import ClusterSize

    size = ClusterSize.with_pods(pods)
    return fixed + len(NAMESPACED) * size.namespaces + 2 * size.pods * size.containers


def _measure(mode: str, pods: int, work: Path) -> dict[str, Any]:
    out = work / f"{mode}-{pods}"
    with ServerProcess(argv=[PYTHON, __file__, "--serve", str(pods)]) as server:
        server.command(f"latency {LATENCY}")
        server.command(f"limit {MAX_IN_FLIGHT}")
        before = server.command("count")
        result = work / f"{mode}-{pods}.json"
        run = run_process([PYTHON, __file__, f"--{mode}", server.url, str(out)], env=_child_env(), timeout=TIMEOUT_S,
                          stdout_path=result)
        figures: dict[str, Any] = json.loads(result.read_text()) if run.code == 0 else {"error": run.stderr_tail}
        figures.update(requests=server.command("count") - before, throttled=server.command("throttled"),
                       server_hwm_kib=server.peak_rss_kib(), cpu=run.cpu)
    if mode == "ours" and "error" not in figures:
        figures["missing"] = _complete(out, pods)
    _remove(out)
    return figures


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def main(sizes: tuple[int, ...] = SIZES) -> Counter[str]:
    from tests.fakes.kube_api import ClusterSize

    verdicts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="sbsched-bench-cluster-") as tmp:
        work = Path(tmp)
        baseline = _measure("troubleshoot", BASELINE_PODS, work)
        measured = {pods: _measure("ours", pods, work) for pods in sizes}
    rows = []
    failed = "error" in baseline
    base_seconds = float(baseline.get("seconds", 0))
    fixed = baseline["requests"] - baseline_requests(BASELINE_PODS, 0)
    rows.append([f"{BASELINE_PODS:,}", "troubleshoot's strategy", f"{baseline['requests']:,}", f"{base_seconds:.1f}",
                 f"{baseline['cpu']:.1f}", str(baseline["throttled"]), "-", "-", "-", "-"])
    for pods, figures in measured.items():
        failed = failed or "error" in figures or bool(figures.get("missing"))
        scale = baseline_requests(pods, fixed) / baseline["requests"]
        seconds = float(figures.get("seconds", 0))
        honoured = figures.get("retried_429") == figures["throttled"]
        rows.append([f"{pods:,}", "troubleshoot's strategy, scaled", f"~{baseline['requests'] * scale:,.0f}",
                     f"~{base_seconds * scale:,.0f}", "-", "-", "-", "-", "-", "-"])
        rows.append([f"{pods:,}", "ours", f"{figures['requests']:,}", f"{seconds:.1f}", f"{figures['cpu']:.1f}",
                     f"{figures['throttled']} ({'all' if honoured else 'NOT all'} retried)",
                     f"{base_seconds * scale / seconds:.0f}x" if seconds else "-",
                     f"{int(figures.get('hwm_kib', 0)) / 1024:.0f}", f"{figures['server_hwm_kib'] / 1024:.0f}",
                     "; ".join(figures.get("missing") or []) or ("complete" if "error" not in figures else "ERROR")])
        failed = failed or not honoured
    big, small = measured.get(max(sizes), {}), measured.get(min(sizes), {})
    growth = (int(big.get("hwm_kib", 0)) - int(small.get("hwm_kib", 0))) / 1024
    full = measured.get(max(sizes), {})
    scaled = base_seconds * baseline_requests(max(sizes), fixed) / baseline["requests"]
    speedup = scaled / float(full.get("seconds") or float("inf"))
    size = ClusterSize.with_pods(max(sizes))
    kinds = 1 + 22 + 11 + 1 + size.crds
    print(f"== Large clusters: clusterInfo + clusterResources + logs of every pod, fake API server at "
          f"{LATENCY * 1000:.0f} ms a request, 429 (Retry-After: 1) beyond {MAX_IN_FLIGHT} in flight")
    print(table(["pods", "strategy", "requests", "wall s", "cpu s", "429s", "speed-up", "peak RSS MiB",
                 "server MiB", "bundle"], rows, right=(2, 3, 4, 6, 7, 8)))
    for name, ok, line in [
            ("speed", speedup >= SPEEDUP_TARGET, f"{speedup:.0f}x troubleshoot's strategy (scaled) at {max(sizes):,} "
                                                  f"pods (target >= {SPEEDUP_TARGET}x)"),
            ("memory", growth <= RSS_GROWTH_TARGET_MIB, f"peak RSS growth {min(sizes):,} -> {max(sizes):,} pods: "
                                                        f"{growth:+.1f} MiB (target <= {RSS_GROWTH_TARGET_MIB} MiB)")]:
        outcome = "FAIL" if failed else ("PASS" if ok else "MISS")
        verdicts[outcome] += 1
        print(f"{name}: {line} -> {outcome}")
    if full:
        containers = size.pods * size.containers
        print(f"requests: {full['requests']:,} = {containers:,} container logs (no previous-log asks: every "
              f"container's status counts 0 restarts), LIST pages of ~{kinds} kinds ({size.pods // 500 + size.events // 500} "
              f"of pods and events at 500 a page), discovery, one rules review per namespace ({size.namespaces}) "
              "and the 429s' retries: O(kinds + pods), not O(kinds x namespaces)")
    print(f"(troubleshoot's strategy: measured on the {BASELINE_PODS}-pod cluster, {fixed} fixed requests, and "
          "scaled by its request count: one LIST per\n namespaced kind per namespace and two log requests per "
          "container, one after another; ours: our collectors called in a fresh\n process, without redaction "
          "or archiving)\n")
    return verdicts


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--ours"]:
        ours(sys.argv[2], Path(sys.argv[3]))
    elif sys.argv[1:2] == ["--troubleshoot"]:
        troubleshoot(sys.argv[2], Path(sys.argv[3]))
    else:
        main(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
