"""logs: pod logs streamed to disk, several pods at once, never held whole in memory.

Paths are troubleshoot's (pkg/collect/logs.go): the file is
`cluster-resources/pods/logs/<ns>/<pod>/<container>.log` (and `-previous.log` when the container
restarted), with a symlink `<name>/<pod>/<container>.log` beside the collector's name; a pod's error
is `<name>/<pod>/<container>-errors.json`, a listing error `<name>/errors.json`.

Limits differ from troubleshoot in one way, on purpose: troubleshoot drops maxLines and maxBytes
when maxAge is set; here every limit given applies (the API server takes sinceSeconds, tailLines and
limitBytes together), and maxBytes is also enforced while streaming, so a server that ignores
limitBytes cannot grow a bundle past it. Defaults are troubleshoot's: 10,000 lines, 5 MB.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, TypeVar

from .. import CollectContext, CollectorSpec, Output
from ..runner import go_duration
from .client import POOL_SIZE, ApiError, Kube
from .scope import matching_pods

CHUNK = 1 << 16
# Containers streamed at once, a connection each: a 20,000-pod cluster is 40,000 log requests, and at 20 ms
# a round trip 4 at once cannot pass 200 a second (bench/bench_cluster.py).
WORKERS = POOL_SIZE
DEFAULT_MAX_LINES = 10_000
DEFAULT_MAX_BYTES = 5_000_000


@dataclass(frozen=True)
class LogLimits:
    max_lines: int | None = DEFAULT_MAX_LINES
    max_bytes: int | None = DEFAULT_MAX_BYTES
    max_age_seconds: int | None = None
    since_time: str | None = None

    @classmethod
    def from_spec(cls, limits: Any) -> LogLimits:
        """troubleshoot's `limits: {maxAge, maxLines, maxBytes, sinceTime}`; 0 or absent: the default."""
        limits = limits if isinstance(limits, Mapping) else {}
        age = go_duration(limits.get("maxAge")) if limits.get("maxAge") else None
        if limits.get("maxAge") and age is None:
            raise ValueError(f"limits.maxAge {limits['maxAge']!r} is not a duration like 720h")
        return cls(max_lines=_positive(limits.get("maxLines"), "maxLines") or DEFAULT_MAX_LINES,
                   max_bytes=_positive(limits.get("maxBytes"), "maxBytes") or DEFAULT_MAX_BYTES,
                   max_age_seconds=max(1, int(age)) if age else None,
                   since_time=str(limits["sinceTime"]) if limits.get("sinceTime") else None)

    def query(self) -> dict[str, Any]:
        return {"tailLines": self.max_lines, "limitBytes": self.max_bytes,
                "sinceSeconds": None if self.since_time else self.max_age_seconds, "sinceTime": self.since_time}


def _positive(value: Any, name: str) -> int | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"limits.{name} must be a positive integer, not {value!r}")
    return value


def logs(spec: CollectorSpec, ctx: CollectContext) -> None:
    kube, params = ctx.cluster(), spec.params
    limits = LogLimits.from_spec(params.get("limits"))
    name = str(params.get("name") or "")
    errors_at = f"{name or params.get('collectorName') or ''}/errors.json".lstrip("/")
    pods = matching_pods(kube, ctx, params, errors_file=errors_at)
    wanted = [str(c) for c in params.get("containerNames") or []]
    jobs = ((pod, container) for pod in pods for container in wanted or pod["containers"] + pod["initContainers"])
    timestamps = params.get("timestamps") in (True, "true")

    def fetch(job: tuple[dict[str, Any], str]) -> None:
        pod, container = job
        if ctx.cancelled.is_set():
            return
        try:
            save_pod_logs(kube, ctx.output, pod["namespace"], pod["name"], container, limits=limits,
                          timeout=ctx.timeout, link=f"{name}/{pod['name']}/{container}", timestamps=timestamps,
                          previous=container not in pod["neverRestarted"])
        except ApiError as exc:
            ctx.output.write_json(f"{name}/{pod['name']}/{container}-errors.json".lstrip("/"), [exc.message])

    for_each(fetch, jobs, WORKERS)


Job = TypeVar("Job")


def for_each(work: Callable[[Job], None], jobs: Iterable[Job], workers: int) -> None:
    """`work(job)` for every job on `workers` threads that take the next job when free: no future per
    job (tens of thousands of containers would cost tens of MiB of them). An exception a job raises is
    raised here once every worker has stopped."""
    source, lock = iter(jobs), threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                job = next(source, None)
            if job is None:
                return
            work(job)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sbsched-logs") as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()


def save_pod_logs(kube: Kube, output: Output, namespace: str, pod: str, container: str, *, limits: LogLimits,
                  timeout: float, link: str | None = None, timestamps: bool = False, follow: bool = False,
                  previous: bool = True) -> None:
    """The container's log, then its previous one if it restarted; ApiError if the current one fails.
    `link`: where troubleshoot puts a symlink to it (without `.log`), e.g. `<name>/<pod>/<container>`.
    `previous` False: the pod's status says the container never restarted, so no previous log is asked
    for (troubleshoot asks anyway: on a large cluster, half its log requests, each bound to fail)."""
    base = f"cluster-resources/pods/logs/{namespace}/{pod}/{container}"
    query = dict(limits.query(), container=container, timestamps=timestamps or None, follow=follow or None)
    _stream(kube, output, f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query, base + ".log",
            limits.max_bytes, timeout)
    links = [(base + ".log", ".log")]
    if previous:
        try:
            _stream(kube, output, f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
                    dict(query, previous=True, follow=None), base + "-previous.log", limits.max_bytes, timeout)
            links.append((base + "-previous.log", "-previous.log"))
        except ApiError:
            pass   # no previous container: troubleshoot ignores this too
    if link is not None:
        for target, suffix in links:
            output.link(f"{link}{suffix}".lstrip("/"), target)


def _stream(kube: Kube, output: Output, path: str, query: dict[str, Any], relative: str, max_bytes: int | None,
            timeout: float) -> None:
    with kube.request("GET", path, query, timeout=timeout, accept="*/*") as response:
        left = max_bytes if max_bytes else None
        with output.open(relative) as handle:
            for chunk in response.stream(CHUNK):
                if left is not None:
                    chunk = chunk[:left]
                    left -= len(chunk)
                handle.write(chunk)
                if left == 0:
                    break


def is_unhealthy(pod: Mapping[str, Any]) -> bool:
    """troubleshoot's k8sutil.IsPodUnhealthy, from kubectl's STATUS column: failed, pending or unknown;
    a container waiting or terminated other than Completed; or running with a container not ready."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase in ("Failed", "Pending", "Unknown"):
        return True
    if phase == "Succeeded" or status.get("reason") == "Completed":
        return False
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = container.get("state") or {}
        terminated = state.get("terminated")
        if state.get("waiting") or (terminated and terminated.get("reason") != "Completed"):
            return True
    return any(not c.get("ready") for c in status.get("containerStatuses") or [])
