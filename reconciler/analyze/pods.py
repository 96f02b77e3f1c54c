"""clusterPodStatuses: every pod of cluster-resources/pods/<ns>.json against the outcomes, one result per
pod that an outcome matches (troubleshoot's cluster_pod_statuses.go).

A pod's reason is kubectl's STATUS column (k8sutil.GetPodStatusReason: CrashLoopBackOff, OOMKilled,
Init:Error, Pending, ...) and its message the last termination message, the scheduling failure, or the
pod's Warning events joined by ". " (`None` when there is nothing). `Healthy` in a `when` means running
with every container ready, or completed.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from . import when
from .bundle_files import Bundle, list_items
from .common import Analyzer, AnalyzerError, Result, outcomes, result, strings, text
from .gotemplate import TemplateError, kubernetes_object, render

DEFAULT_TITLE = "Pod {{ .Namespace }}/{{ .Name }} status"
DEFAULT_MESSAGE = "Pod {{ .Namespace }}/{{ .Name }} status is {{ .Status.Reason }}. Message is: {{ .Status.Message }}"


def title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or "Cluster Pod Status"


def _native_sidecar(pod: Mapping[str, Any], index: int) -> bool:
    init = (pod.get("spec") or {}).get("initContainers") or []
    return index < len(init) and (init[index] or {}).get("restartPolicy") == "Always"


def status_reason(pod: Mapping[str, Any]) -> tuple[str, str]:
    """(reason, message) as kubectl prints a pod's STATUS, with the detail troubleshoot adds."""
    status = pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "")
    message = ""
    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, container in enumerate(init_statuses):
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                reason = (f"Init:Signal:{terminated['signal']}" if terminated.get("signal")
                          else f"Init:ExitCode:{terminated.get('exitCode', 0)}")
            else:
                reason = "Init:" + str(terminated["reason"])
            initializing = True
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
            initializing = True
        elif _native_sidecar(pod, i) and state.get("running") is not None:
            continue
        else:
            reason = f"Init:{i}/{len((pod.get('spec') or {}).get('initContainers') or [])}"
            initializing = True
        last = (container.get("lastState") or {}).get("terminated")
        if last and last.get("message"):
            message += str(last["message"])
        break
    if not initializing:
        has_running = False
        for container in reversed(status.get("containerStatuses") or []):
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            last = (container.get("lastState") or {}).get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
                if last is not None:
                    message += str(last["message"]) if last.get("message") else f"ExitCode:{last.get('exitCode', 0)}"
            elif terminated is not None and terminated.get("reason"):
                reason = str(terminated["reason"])
                message += f"ExitCode:{terminated.get('exitCode', 0)}"
            elif terminated is not None:
                reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                          else f"ExitCode:{terminated.get('exitCode', 0)}")
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
        conditions = status.get("conditions") or []
        if reason == "Completed" and has_running:
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            reason = "Running" if ready else "NotReady"
        for c in conditions:
            if c.get("type") == "PodScheduled" and c.get("status") == "False":
                message += str(c.get("message", ""))
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, message


def unhealthy(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") in ("Failed", "Pending", "Unknown"):
        return True
    reason, _ = status_reason(pod)
    if reason == "Completed":
        return False
    if reason != "Running":
        return True
    return any(not c.get("ready") for c in status.get("containerStatuses") or [])


class _Events:
    """Each namespace's events file, read once: the Warning messages by pod name, in file order."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.by_namespace: dict[str, dict[str, list[str]]] = {}

    def warnings(self, pod: Mapping[str, Any]) -> str:
        meta = pod.get("metadata") or {}
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        if namespace not in self.by_namespace:
            self.by_namespace[namespace] = self._load(namespace)
        return ". ".join(self.by_namespace[namespace].get(name, []))

    def _load(self, namespace: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for data in self.bundle.glob(f"cluster-resources/events/{namespace}.json").values():
            try:
                events = list_items(json.loads(data))
            except ValueError:
                continue                      # troubleshoot logs an unreadable events file and goes on
            for event in events:
                involved = event.get("involvedObject") or {}
                if (involved.get("kind") == "Pod" and involved.get("namespace") == namespace
                        and event.get("type") == "Warning" and event.get("message")):
                    found.setdefault(str(involved.get("name", "")), []).append(str(event["message"]))
        return found


def _pods(bundle: Bundle, namespaces: list[str]) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = []
    for path, data in bundle.glob("cluster-resources/pods/*.json").items():
        namespace = path.rsplit("/", 1)[-1][:-len(".json")]
        if namespaces and namespace not in namespaces:
            continue
        try:
            pods += list_items(json.loads(data))
        except ValueError as exc:
            raise AnalyzerError(f"failed to unmarshal pods list for namespace {namespace}: {exc}") from None
    return pods


def _matches(operator: str, reason: str, pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    if operator in when.EQ:
        return not unhealthy(pod) if reason == "Healthy" else reason in (status.get("phase"), status.get("reason"))
    if operator in when.NE:
        return unhealthy(pod) if reason == "Healthy" else reason not in (status.get("phase"), status.get("reason"))
    return False


def analyze(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    results: list[Result] = []
    events = _Events(bundle)
    for raw in _pods(bundle, strings(p, "namespaces")):
        pod = json.loads(json.dumps(raw))      # a copy: reason and message are filled in below
        status = pod.setdefault("status", {})
        if not isinstance(status, dict):
            status = pod["status"] = {}
        if not status.get("reason"):
            status["reason"], status["message"] = status_reason(pod)
        if not status.get("message"):
            status["message"] = events.warnings(pod)
        for o in outcomes(p):
            if o.when != "":
                try:
                    operator, reason = when.pod_status(o.when)
                except when.WhenError:
                    continue                   # troubleshoot logs a malformed `when` and tries the next outcome
                if not _matches(operator, reason, pod):
                    continue
            if not status.get("message"):
                status["message"] = "None"
            meta = pod.get("metadata") or {}
            obj = kubernetes_object(pod)
            try:
                rendered_title = render(text(p, "checkName") or DEFAULT_TITLE, obj)
                message = render(o.message or DEFAULT_MESSAGE, obj).strip()
            except TemplateError as exc:
                raise AnalyzerError(f"failed to render template: {exc}") from None
            involved = {"kind": "Pod", "namespace": str(meta.get("namespace", "")), "name": str(meta.get("name", "")),
                        "apiVersion": "v1"}
            results.append(result(rendered_title, o.outcome, message, o.uri, involved_object=involved))
            break
    return results


ANALYZERS = {"clusterPodStatuses": Analyzer(title, analyze)}
