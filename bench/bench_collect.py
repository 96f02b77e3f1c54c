"""Kubernetes collection: our clusterResources beside troubleshoot's strategy, and a large pod log streamed.

Why a side-by-side on the fake API server: troubleshoot's clusterResources issues one LIST per kind per
namespace, one after another, so its wall time is (kinds x namespaces) round trips; ours lists each kind
once cluster-wide with up to WORKERS requests in flight. The real baseline bundle (4 namespaces) is
scaled up with EXTRA_NAMESPACES namespaces holding a handful of objects each, so that the
per-namespace cost shows, and every strategy runs against the same server with a fixed latency added to
every request (design §8: 20 ms), then again without it (local speed).

  - ours, parallel: `cluster_resources` as it is;
  - ours, sequential: the same collector with its WORKERS forced to 1;
  - troubleshoot's strategy: `troubleshoot_strategy` below, one unpaginated LIST per kind per namespace,
    in turn, over `Kube.get`, writing the same List files as ours. It covers only the kinds table (plus
    namespaces), while ours also does discovery, CRDs and custom resources, `auth-cani-list` and
    image-pull secrets: the baseline is the cheaper job, so beating it is conservative.

The fake server runs in a process of its own (`--serve`, driven over its stdin: latency, request
count), so that its CPU does not share the collector's GIL (at 0 latency it would otherwise be half of
what is measured) and its memory is never counted as ours.

Streaming: a pod log of 10 MiB and of 100 MiB (64 KiB lines from a generator, never held by the
benchmark) is collected by our `logs` collector in a fresh process each (`--child`); its peak RSS must
not grow with the log. The peak is VmHWM from /proc/self/status, not ru_maxrss: on Linux a child's
ru_maxrss starts at the RSS of the process that spawned it, so under a large `make bench` process it
would show the parent's size and hide any growth. The server's own peak is printed too: it keeps the
last `tailLines` lines, as a tail must, i.e. the whole log here.

    .venv/bin/python bench/bench_collect.py [--namespaces N]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from bench_cli import PYTHON, run_process, table  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "troubleshoot" / "baseline-k3s-1.31.tar.gz"
EXTRA_NAMESPACES = 30
LATENCIES = (0.0, 0.02)          # seconds added to every request; the verdicts that matter are at 20 ms
LOG_SIZES_MB = (10, 100)         # MiB, in fact: 2**20 bytes each
LOG_LINE = 64 * 1024             # bytes per log line, newline included
LOG_MAX_BYTES = 200_000_000      # the collector's limits.maxBytes: above the largest log
RSS_GROWTH_TARGET_MIB = 20
TIMEOUT_S = 60
REPEATS = 3                      # runs per strategy, the median shown; one when the first is slow:
REPEAT_BELOW_S = 5.0             # troubleshoot's strategy at 20 ms takes ~20 s


def _environment() -> None:
    """Loopback only: a proxy from the environment must never see the fake server's traffic."""
    for key in ("NO_PROXY", "no_proxy"):
        os.environ[key] = "127.0.0.1,localhost"


# -- the cluster, scaled up ---------------------------------------------------------------------

def _labels(namespace: str, app: str) -> dict[str, Any]:
    return {"namespace": namespace, "labels": {"app": app}}


def _running_pod(namespace: str, name: str, app: str) -> dict[str, Any]:
    """A healthy pod (Running, ready): clusterResources fetches logs only of unhealthy ones."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **_labels(namespace, app)},
            "spec": {"containers": [{"name": "main", "image": "registry.example.com/app:1.0"}],
                     "nodeName": "node-1"},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "main", "ready": True, "restartCount": 0, "image": "registry.example.com/app:1.0",
                 "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]}}


def scale_up(api: Any, count: int) -> None:
    """`count` more namespaces, each with 3 pods, 2 configmaps, 2 services and a deployment."""
    for i in range(count):
        ns = f"bench-{i:03d}"
        api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                 "status": {"phase": "Active"}})
        for p in range(3):
            api.add(_running_pod(ns, f"web-{p}", "web"))
        for c in range(2):
            api.add({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"config-{c}", "namespace": ns},
                     "data": {"app.properties": f"replicas=3\nindex={c}\n"}})
        for s in ("web", "web-headless"):
            api.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": s, **_labels(ns, "web")},
                     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
        api.add({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "web", **_labels(ns, "web")},
                 "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                          "template": {"metadata": {"labels": {"app": "web"}},
                                       "spec": {"containers": [{"name": "main", "image": "app:1.0"}]}}},
                 "status": {"replicas": 3, "readyReplicas": 3}})


# -- the strategies -----------------------------------------------------------------------------

def troubleshoot_strategy(kube: Any, output: Any, timeout: float) -> None:
    """troubleshoot's clusterResources order of work: list the namespaces, then for each kind one LIST
    per namespace (one per cluster-scoped kind), each whole (no paging) and one after another, into the
    same `cluster-resources/<dir>/<ns>.json` List files ours writes. Errors are skipped (none here)."""
    from reconciler.collect.kube.client import ApiError
    from reconciler.collect.kube.lists import list_file
    from reconciler.collect.kube.resources import CLUSTER_SCOPED, NAMESPACED, NAMESPACES

    def write(kind: Any, namespace: str | None) -> list[dict[str, Any]]:
        try:
            found = kube.get(kind.path(namespace), timeout=timeout)
        except ApiError:
            return []
        relative = f"cluster-resources/{kind.directory}/{namespace}.json" if namespace else \
            f"cluster-resources/{kind.directory}.json"
        version = str((found.get("metadata") or {}).get("resourceVersion") or "")
        writer = list_file(output.open(relative), kind, version)
        items = found.get("items") or []
        for item in items:
            writer.add(item)
        writer.close()
        return items

    namespaces = [str(ns["metadata"]["name"]) for ns in write(NAMESPACES, None)]
    for kind in NAMESPACED:
        for namespace in namespaces:
            write(kind, namespace)
    for kind in CLUSTER_SCOPED:
        write(kind, None)


def _ours(workers: int | None) -> Callable[[Any, Any, float], None]:
    def run(kube: Any, output: Any, timeout: float) -> None:
        from reconciler.collect import CollectContext, CollectorSpec
        from reconciler.collect.kube import resources

        saved = resources.WORKERS
        if workers is not None:
            resources.WORKERS = workers
        try:
            ctx = CollectContext(output=output, timeout=timeout, kube=kube)
            resources.cluster_resources(CollectorSpec("clusterResources", {}, False), ctx)
        finally:
            resources.WORKERS = saved
    return run


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _collection() -> Counter[str]:
    from reconciler.collect import Output
    from reconciler.collect.kube.client import ClusterSettings, open_cluster
    from reconciler.collect.kube.resources import NAMESPACED, WORKERS
    from tests.fakes.kubeconfig import write_kubeconfig

    verdicts: Counter[str] = Counter()
    strategies = [(f"ours, parallel ({WORKERS} workers)", _ours(None)),
                  ("ours, sequential (1 worker)", _ours(1)),
                  ("troubleshoot: LIST per kind per ns", troubleshoot_strategy)]
    rows: list[list[str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sbsched-bench-collect-") as tmp, \
            ServerProcess(extra_namespaces=EXTRA_NAMESPACES) as server:
        work = Path(tmp)
        kubeconfig = write_kubeconfig(work / "kubeconfig", server.url)
        kube = open_cluster(ClusterSettings(kubeconfig=str(kubeconfig)))
        namespaces = len(kube.get("/api/v1/namespaces")["items"])
        _ours(None)(kube, Output(work / "warm-up"), TIMEOUT_S)   # imports, connections: not measured
        for latency in LATENCIES:
            server.command(f"latency {latency}")
            measured: dict[str, tuple[int, float, float, dict[str, Path]]] = {}
            for name, strategy in strategies:
                runs: list[tuple[int, float, float, dict[str, Path]]] = []
                while not runs or (len(runs) < REPEATS and runs[0][1] < REPEAT_BELOW_S):
                    out = work / f"run-{len(measured)}-{latency}-{len(runs)}"
                    before = server.command("count")
                    start, cpu = time.perf_counter(), time.process_time()
                    strategy(kube, Output(out), TIMEOUT_S)
                    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                    runs.append((server.command("count") - before, wall, cpu, _files(out)))
                runs.sort(key=lambda run: run[1])
                measured[name] = runs[len(runs) // 2]   # the median run by wall time
            (ours_req, ours_wall, _, ours_files), (_, seq_wall, _, _), (ts_req, ts_wall, _, ts_files) = \
                measured.values()
            missing = sorted(ts_files.keys() - ours_files.keys())
            differing = sorted(f for f in ts_files.keys() & ours_files.keys()
                               if ts_files[f].read_bytes() != ours_files[f].read_bytes())
            beats_ts = ours_wall < ts_wall and ours_req < ts_req
            beats_seq = ours_wall < seq_wall
            timed = latency > 0   # at 0 latency the figures are printed, without a verdict
            outcome = "FAIL" if missing else ("PASS" if beats_ts and beats_seq else "MISS")
            if timed:
                verdicts[outcome] += 1
            for name, (requests, wall, cpu, files) in measured.items():
                rows.append([f"{latency * 1000:.0f} ms", name, str(requests), f"{wall:.2f}", f"{cpu:.2f}",
                             f"{ts_wall / wall:.1f}x" if wall else "-", str(len(files)),
                             outcome if timed and name.startswith("ours, parallel") else "-"])
            notes.append(f"{latency * 1000:.0f} ms: ours (parallel) is {ts_wall / ours_wall:.1f}x as fast as "
                         f"troubleshoot's strategy with {ts_req / max(ours_req, 1):.1f}x fewer requests "
                         f"({ours_req} vs {ts_req}), and {seq_wall / ours_wall:.1f}x as fast as ours "
                         "sequential" + (f" -> {outcome}" if timed else " (no target at 0 ms)"))
            if missing:
                notes.append(f"  FAIL: ours did not write {len(missing)} of the baseline's files, "
                             f"e.g. {missing[:3]}")
            else:
                notes.append(f"  ours wrote all {len(ts_files)} of the baseline's files, "
                             f"{len(ts_files) - len(differing)} byte-identical"
                             + (f", {len(differing)} different (e.g. {differing[:2]})" if differing else ""))
    print(f"== Collection: clusterResources on the fake API server ({namespaces} namespaces: the k3s "
          f"baseline bundle's 4 + {EXTRA_NAMESPACES} with 3 pods, 2 configmaps, 2 services and a deployment "
          "each)")
    print(table(["latency", "strategy", "requests", "wall s", "cpu s", "speed-up", "files", "verdict"], rows,
                right=(2, 3, 4, 5, 6)))
    print("\n".join(notes))
    print("(target at 20 ms: ours parallel faster than troubleshoot's strategy with fewer requests, and\n"
          " faster than ours sequential. speed-up: troubleshoot's strategy's wall time over the row's.\n"
          " cpu s: this process only; the server runs in another. Besides the baseline's kinds, ours\n"
          " collects discovery, CRDs and custom resources, image-pull secrets and auth-cani-list: one\n"
          f" SelfSubjectRulesReview per namespace ({namespaces} of its requests), so its request count\n"
          f" grows by 1 per namespace, the baseline's by {len(NAMESPACED)})\n")
    return verdicts


# -- a large pod log, streamed ------------------------------------------------------------------

def _pod_name(size_mb: int) -> str:
    return f"log-{size_mb}mb"


def log_source(size_mb: int) -> Callable[[], Iterator[bytes]]:
    """`size_mb` MiB of 64 KiB lines, produced one line at a time."""
    filler = b"x" * LOG_LINE

    def lines() -> Iterator[bytes]:
        for i in range(size_mb * 2**20 // LOG_LINE):
            head = b"2024-01-01T00:00:00Z line %010d " % i
            yield head + filler[:LOG_LINE - len(head) - 1] + b"\n"
    return lines


def serve(extra_namespaces: int, log_sizes: list[int]) -> None:
    """`--serve`: the fake API server (the baseline bundle, `extra_namespaces` more, one pod per log size).
    Prints its URL, then answers stdin lines `latency SECONDS` and `count` with the request count so far;
    stops at end of input."""
    _environment()
    from tests.fakes.kube_api import FakeKubeApi

    with FakeKubeApi.from_archive(FIXTURE) as api:
        scale_up(api, extra_namespaces)
        for size in log_sizes:
            api.add(_running_pod("default", _pod_name(size), _pod_name(size)))
            api.set_log("default", _pod_name(size), "main", log_source(size))
        print(api.url, flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["latency"]:
                api.latency = float(words[1])   # not api.reset(): that would also drop what was added
            print(api.request_count, flush=True)


class ServerProcess:
    """`--serve` in a child process, for as long as the `with` block lasts."""

    def __init__(self, extra_namespaces: int = 0, log_sizes: tuple[int, ...] = (), argv: list[str] | None = None) -> None:
        """`argv`: another server command speaking the same protocol (bench_cluster's synthetic cluster)."""
        self.argv = argv or [PYTHON, __file__, "--serve", str(extra_namespaces), *map(str, log_sizes)]
        self.url = ""

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=_child_env())
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.__exit__()
            raise RuntimeError(f"the fake API server process did not start (it printed {self.url!r})")
        return self

    def command(self, line: str) -> int:
        """Send one command; the server's request count."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def peak_rss_kib(self) -> int:
        return _status_kib("VmHWM", self.proc.pid)

    def __exit__(self, *exc_info: object) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _child_env() -> dict[str, str]:
    return dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")


def _status_kib(field: str, pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(url: str, size_mb: int, out: Path) -> None:
    """`--child`: our logs collector on one pod, in this fresh process; prints JSON figures."""
    _environment()
    from reconciler.collect import CollectContext, CollectorSpec, Output
    from reconciler.collect.kube.client import ClusterSettings, open_cluster
    from reconciler.collect.kube.logs import logs
    from tests.fakes.kubeconfig import write_kubeconfig

    kubeconfig = write_kubeconfig(out.parent / f"kubeconfig-{size_mb}", url)
    kube = open_cluster(ClusterSettings(kubeconfig=str(kubeconfig)))
    params = {"name": "big", "namespace": "default", "selector": [f"app={_pod_name(size_mb)}"],
              "limits": {"maxBytes": LOG_MAX_BYTES}}
    ctx = CollectContext(output=Output(out), timeout=TIMEOUT_S, kube=kube)
    ready_hwm = _status_kib("VmHWM")
    start = time.perf_counter()
    logs(CollectorSpec("logs", params, False), ctx)
    seconds = time.perf_counter() - start
    log = out / f"cluster-resources/pods/logs/default/{_pod_name(size_mb)}/main.log"
    print(json.dumps({"seconds": seconds, "bytes": log.stat().st_size if log.exists() else 0,
                      "ready_hwm_kib": ready_hwm, "hwm_kib": _status_kib("VmHWM")}))


def _streaming() -> Counter[str]:
    verdicts: Counter[str] = Counter()
    rows: list[list[str]] = []
    peaks: dict[int, int] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="sbsched-bench-logs-") as tmp, \
            ServerProcess(log_sizes=LOG_SIZES_MB) as server:
        work = Path(tmp)
        for size in LOG_SIZES_MB:
            result = work / f"child-{size}.json"
            run = run_process([PYTHON, __file__, "--child", server.url, str(size), str(work / f"out-{size}")],
                              env=_child_env(), timeout=TIMEOUT_S, stdout_path=result)
            figures = json.loads(result.read_text()) if run.code == 0 else {}
            expected = size * 2**20
            if figures.get("bytes") != expected:
                failed = True
                print(f"logs collector, {size} MiB log: exit {run.code}, wrote {figures.get('bytes')} of "
                      f"{expected} bytes\n{run.stderr_tail}")
            peaks[size] = int(figures.get("hwm_kib", 0))
            seconds = float(figures.get("seconds") or 0)
            rows.append([f"{size} MiB", str(run.code), f"{figures.get('bytes', 0) / 2**20:.1f}",
                         f"{seconds:.2f}",
                         f"{expected / 1e6 / seconds:.0f}" if seconds else "-",
                         f"{int(figures.get('ready_hwm_kib', 0)) / 1024:.1f}", f"{peaks[size] / 1024:.1f}",
                         f"{run.wall:.2f}"])
        server_peak = server.peak_rss_kib()
    growth = (peaks[LOG_SIZES_MB[-1]] - peaks[LOG_SIZES_MB[0]]) / 1024
    outcome = "FAIL" if failed else ("PASS" if growth < RSS_GROWTH_TARGET_MIB else "MISS")
    verdicts[outcome] += 1
    print(f"== Streaming: one pod log through our logs collector (limits.maxBytes {LOG_MAX_BYTES:,}, "
          f"{LOG_LINE // 1024} KiB lines), a fresh process per size, the fake server in another")
    print(table(["log", "exit", "written MiB", "collect s", "MB/s", "RSS ready MiB", "peak RSS MiB",
                 "process wall s"], rows, right=(2, 3, 4, 5, 6, 7)))
    print(f"peak RSS (VmHWM) growth from {LOG_SIZES_MB[0]} MiB to {LOG_SIZES_MB[-1]} MiB of log: "
          f"{growth:+.1f} MiB (target < {RSS_GROWTH_TARGET_MIB} MiB: streaming) -> {outcome}")
    print("(RSS ready: after imports and connecting, before collecting. The fake server's process peaked\n"
          f" at {server_peak / 1024:.0f} MiB: the collector always sends tailLines (10,000 by default),\n"
          " and a tail is only known at the end of the log, so the server holds all of it before sending\n"
          " its first byte)\n")
    return verdicts


def main() -> Counter[str]:
    _environment()
    verdicts = _collection()
    verdicts.update(_streaming())
    return verdicts


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), [int(size) for size in sys.argv[3:]])
    elif sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    else:
        if sys.argv[1:2] == ["--namespaces"]:
            EXTRA_NAMESPACES = int(sys.argv[2])
        main()
