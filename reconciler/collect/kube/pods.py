"""exec, copyFromPod and runPod: collectors that act inside the cluster, at troubleshoot's paths.

exec and copyFromPod run a command in a pod over the API server's exec WebSocket
(`v4.channel.k8s.io`, the `kubernetes` client's own ws_client). The client's `stream()` helper
swaps `call_api` on the shared ApiClient while it runs, which races with the other collectors using
it, so the request is built with `param_serialize` and handed to `ws_client.websocket_call` directly.
runPod creates a pod, waits for it to run, streams its log, saves its status (spec stripped, as
troubleshoot does: env and commands may hold secrets) and events, and deletes it whatever happened.
"""
from __future__ import annotations

import os
import tarfile
import tempfile
import time
from pathlib import PurePosixPath
from typing import IO, Any

from .. import CollectContext, CollectorSpec, Output
from .client import ApiError, Kube
from .lists import whole_list
from .logs import LogLimits, save_pod_logs
from .scope import matching_pods, one_namespace

POLL_SECONDS = 1.0   # troubleshoot polls a run pod's phase once a second


def exec_(spec: CollectorSpec, ctx: CollectContext) -> None:
    """The command in the first matching pod: `<name>/<ns>/<pod>/<collectorName|container>-stdout.txt`,
    `-stderr.txt`, `-errors.json`."""
    kube, params = ctx.cluster(), spec.params
    pods = _runnable_pods(kube, ctx, params)
    if not pods:
        return
    pod = pods[0]
    container = str(params.get("containerName") or pod["containers"][0])
    prefix = str(params.get("collectorName") or container)
    base = f"{params.get('name') or ''}/{pod['namespace']}/{pod['name']}/{prefix}".lstrip("/")
    command = [str(c) for c in (params.get("command") or []) + (params.get("args") or [])]
    with tempfile.TemporaryFile() as stdout:
        stderr, error = run_in_pod(kube, pod["namespace"], pod["name"], container, command, stdout, ctx.timeout)
        if stdout.tell():
            stdout.seek(0)
            _copy_to(ctx.output, f"{base}-stdout.txt", stdout)
    if stderr:
        ctx.output.write_bytes(f"{base}-stderr.txt", stderr)
    if error:
        ctx.output.write_json(f"{base}-errors.json", [error])


def copy_from_pod(spec: CollectorSpec, ctx: CollectContext) -> None:
    """`containerPath` from each matching pod, unpacked under `<name>/<ns>/<pod>/<containerName>/`."""
    kube, params = ctx.cluster(), spec.params
    source = str(params.get("containerPath") or "")
    if not source:
        raise ValueError("containerPath is required")
    parent, base = os.path.dirname(source.rstrip("/")) or "/", os.path.basename(source.rstrip("/"))
    for pod in _runnable_pods(kube, ctx, params):
        if ctx.cancelled.is_set():
            return
        container = str(params.get("containerName") or pod["containers"][0])
        sub = "/".join(p for p in (str(params.get("name") or ""), pod["namespace"], pod["name"],
                                   str(params.get("containerName") or "")) if p)
        with tempfile.TemporaryFile() as archive:
            stderr, error = run_in_pod(kube, pod["namespace"], pod["name"], container,
                                       ["tar", "-C", parent, "-cf", "-", base], archive, ctx.timeout)
            if not error:
                archive.seek(0)
                error = _unpack(archive, ctx.output, f"{sub}/{parent.strip('/')}".rstrip("/"))
        if error:
            problems = {f"{source}/error": error, **({f"{source}/stderr": stderr.decode("utf-8", "replace")}
                                                     if stderr else {})}
            ctx.output.write_json(f"{sub}/{source.strip('/')}-errors.json", problems)


def run_pod(spec: CollectorSpec, ctx: CollectContext) -> None:
    """`<name>/<name>.json` (the pod, spec stripped), `<name>/<name>-events.json`, and its log."""
    kube, params = ctx.cluster(), spec.params
    namespace = one_namespace(params.get("namespace"), kube)
    name = str(params.get("collectorName") or params.get("name") or "run-pod")
    out_name = str(params.get("name") or name)
    pod_spec = params.get("podSpec")
    if not isinstance(pod_spec, dict) or not pod_spec.get("containers"):
        raise ValueError("podSpec with at least one container is required")
    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"troubleshoot-role": "run-collector"},
                         **({"annotations": params["annotations"]} if params.get("annotations") else {})},
            "spec": {"restartPolicy": "Never", **pod_spec}}
    base = f"/api/v1/namespaces/{namespace}/pods"
    created = kube.post(base, body, timeout=ctx.timeout)
    pod = str(created["metadata"]["name"])
    try:
        _wait_started(kube, ctx, f"{base}/{pod}")
        save_pod_logs(kube, ctx.output, namespace, pod, str(pod_spec["containers"][0]["name"]),
                      limits=LogLimits(), timeout=ctx.timeout, link=f"{params.get('name') or ''}/{pod}",
                      follow=True)
        status = kube.get(f"{base}/{pod}", timeout=ctx.timeout)
        status["spec"] = {}
        events = whole_list(kube, f"/api/v1/namespaces/{namespace}/events",
                            {"fieldSelector": f"involvedObject.name={pod}"}, timeout=ctx.timeout)
        ctx.output.write_json(f"{out_name}/{out_name}.json", status)
        ctx.output.write_json(f"{out_name}/{out_name}-events.json", events)
    finally:
        try:
            kube.delete(f"{base}/{pod}", timeout=ctx.timeout)
        except ApiError:
            pass   # already gone


def _wait_started(kube: Kube, ctx: CollectContext, path: str) -> None:
    """Until the pod runs or ends; an image that cannot be pulled ends the wait, as in troubleshoot."""
    while True:
        status = kube.get(path, timeout=ctx.timeout).get("status") or {}
        if status.get("phase") in ("Running", "Succeeded", "Failed"):
            return
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in ("ImagePullBackOff", "ErrImagePull"):
                raise RuntimeError(f"run pod aborted after getting pod status '{waiting['reason']}'")
        if ctx.cancelled.wait(POLL_SECONDS):
            raise RuntimeError("the run stopped while the pod was starting")


def run_in_pod(kube: Kube, namespace: str, pod: str, container: str, command: list[str], stdout: IO[bytes],
               timeout: float) -> tuple[bytes, str | None]:
    """Run `command` in the container, stdout streamed into `stdout`; (stderr, error or None)."""
    from kubernetes.stream import ws_client

    query = [("command", part) for part in command] + [("container", container), ("stderr", "true"),
                                                       ("stdin", "false"), ("stdout", "true"), ("tty", "false")]
    _, url, headers, _, _ = kube.api_client.param_serialize("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/exec",
                                                            query_params=query, header_params={},
                                                            auth_settings=["BearerToken"])
    try:
        client = ws_client.websocket_call(  # type: ignore[no-untyped-call]
            kube.api_client.configuration, "GET", url, headers=headers, _preload_content=False, binary=True)
    except Exception as exc:   # the client raises ApiException for a refused upgrade (403, 404)
        return b"", str(getattr(exc, "body", None) or exc)
    stderr = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while client.is_open() and time.monotonic() < deadline:
            client.update(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            stdout.write(client.read_channel(ws_client.STDOUT_CHANNEL))
            stderr += client.read_channel(ws_client.STDERR_CHANNEL)
        stdout.write(client.read_channel(ws_client.STDOUT_CHANNEL))
        stderr += client.read_channel(ws_client.STDERR_CHANNEL)
        if client.is_open():
            return bytes(stderr), f"timed out after {timeout:g}s"
        code = client.returncode
    finally:
        client.close()
    return bytes(stderr), None if code == 0 else f"command terminated with exit code {code}"


def _runnable_pods(kube: Kube, ctx: CollectContext, params: Any) -> list[dict[str, Any]]:
    errors_file = f"{params.get('name') or params.get('collectorName') or ''}-errors.json".lstrip("-")
    return [pod for pod in matching_pods(kube, ctx, params, errors_file=errors_file) if pod["containers"]]


def _copy_to(output: Output, relative: str, source: IO[bytes]) -> None:
    with output.open(relative) as handle:
        while chunk := source.read(1 << 16):
            handle.write(chunk)


def _unpack(archive: IO[bytes], output: Output, destination: str) -> str | None:
    """Regular files and directories of a tar stream into the bundle; nothing may land outside it."""
    try:
        with tarfile.open(fileobj=archive, mode="r|*") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if not member.isfile() or PurePosixPath(member.name).is_absolute() or ".." in parts:
                    continue
                extracted = tar.extractfile(member)
                if extracted is not None:
                    _copy_to(output, f"{destination}/{member.name}".lstrip("/"), extracted)
    except tarfile.TarError as exc:
        return f"failed to read header from tar: {exc}"
    return None
