"""`validate`'s look at analyzers: every `when` that troubleshoot could not evaluate (or that can never
match), placed at FILE:LINE:COL from the YAML node marks (C-backed compose, no round-trip loader).

Specs wrapped in a ConfigMap/Secret are checked too; inside a literal block (`|`) the position is the
line in the file, elsewhere the position of the wrapping value.
"""
from __future__ import annotations

from typing import Callable, Iterator

import yaml

from . import when
from ..troubleshoot.reader import Document, SpecError, SpecFile, analyzer_sections, read_spec_file

Node = yaml.Node


def _get(node: Node | None, key: str) -> Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v if isinstance(v, yaml.Node) else None
    return None


def _scalar(node: Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) and node.value is not None else ""


Check = Callable[[str, "Node | None"], None]   # (the `when`, the analyzer's params node) -> raises WhenError


def check_when(kind: str, host: bool, value: str, params: Node | None) -> None:
    """Raise WhenError when `value` is a `when` the analyzer `kind` cannot use; kinds without a `when`
    of their own take any."""
    check = (HOST_WHEN if host else CLUSTER_WHEN).get(kind)
    if check is not None:
        check(value, params)


def _given(parse: Callable[[str], object]) -> Check:
    """The check of a `when` that may be left out (the outcome then applies unconditionally)."""
    def check(w: str, params: Node | None) -> None:
        if w:
            parse(w)
    return check


def _http(w: str, params: Node | None) -> None:
    if w and w != "error":
        when.http_condition(w)
        unknown = when.http_variables(w) - {"statusCode"}
        if unknown:
            raise when.WhenError(f"unknown parameter {sorted(unknown)[0]!r}: only statusCode is defined")


def _text_analyze(w: str, params: Node | None) -> None:
    if params is not None and _scalar(_get(params, "regexGroups")):
        when.check_regex_groups(w)
    elif w:
        when.parse_bool(w)


def _tcp_port_status(w: str, params: Node | None) -> None:
    if w and w not in when.TCP_STATUSES:
        raise when.WhenError(f"never matches: tcpPortStatus records one of {', '.join(when.TCP_STATUSES)}")


def _event(w: str, params: Node | None) -> None:
    when.parse_bool(w)   # even an empty one: an event analyzer's `when` is required, and "" is no bool


def _node_resources(w: str, params: Node | None) -> None:
    if w.strip():
        when.node_resources(w)


def _replicas(w: str, params: Node | None) -> None:
    if w and w != "absent":
        when.ready_replicas(w)


def _pod_statuses(w: str) -> None:
    op, _ = when.pod_status(w)
    if op not in when.EQ + when.NE:
        raise when.WhenError(f"operator {op!r} never matches: use = or != (and Healthy, a phase or a reason)")


def _container_runtime(w: str) -> None:
    op, _ = when.container_runtime(w)
    if op not in when.EQ:
        raise when.WhenError(f"operator {op!r} never matches: use == with a runtime name")


def _distribution(w: str) -> None:
    op, name = when.distribution(w)
    from .cluster import normalize_distribution   # only for distribution analyzers: cluster.py is heavy

    if normalize_distribution(name) is None:
        raise when.WhenError(f"unknown distribution {name!r}")
    if op not in when.EQ + when.NE:
        raise when.WhenError(f"operator {op!r} never matches: use == or !=")


_EITHER: dict[str, Check] = {"http": _http, "textAnalyze": _text_analyze, "yamlCompare": _given(when.parse_bool),
                             "jsonCompare": _given(when.parse_bool)}
HOST_WHEN: dict[str, Check] = {
    **_EITHER,
    "tcpPortStatus": _tcp_port_status,
    "cpu": _given(lambda w: when.host_cpu(w, 1, 1, [], "")),
    "memory": _given(lambda w: when.host_memory(w, 0)),
    "diskUsage": _given(lambda w: when.disk_usage(w, 1, 0)),
    "time": _given(lambda w: when.host_time(w, "", False, False)),
    "hostOS": _given(when.host_os_range),
}
CLUSTER_WHEN: dict[str, Check] = {
    **_EITHER,
    "event": _event,
    "clusterVersion": _given(when.cluster_version),
    "nodeResources": _node_resources,
    "deploymentStatus": _replicas,
    "statefulsetStatus": _replicas,
    "jobStatus": _given(lambda w: when.counter(w, ("succeeded", "failed"))),
    "replicasetStatus": _given(lambda w: when.counter(w, ("ready", "available"))),
    "clusterPodStatuses": _given(_pod_statuses),
    "containerRuntime": _given(_container_runtime),
    "distribution": _given(_distribution),
}


def _problems(document: Document) -> Iterator[tuple[Node, str, str]]:
    """(node, path, message) for each bad `when` of one troubleshoot document."""
    for section in analyzer_sections(document):
        items = _get(_get(document.node, "spec"), section.name)
        if not isinstance(items, yaml.SequenceNode):
            continue
        for i, entry in enumerate(items.value):
            if not isinstance(entry, yaml.MappingNode) or not entry.value:
                continue
            kind_node, params = entry.value[0]
            kind = _scalar(kind_node)
            outcomes = _get(params, "outcomes")
            if not isinstance(outcomes, yaml.SequenceNode):
                continue
            for j, outcome in enumerate(outcomes.value):
                for severity in ("fail", "warn", "pass"):
                    body = _get(outcome, severity)
                    if body is None:
                        continue
                    when_node = _get(body, "when")
                    path = f"{section.name}[{i}].{kind}.outcomes[{j}].{severity}.when"
                    try:
                        check_when(kind, section.host, _scalar(when_node), params)
                    except when.WhenError as exc:
                        yield (when_node if when_node is not None else body), path, str(exc)
                    break


def when_diagnostics(spec_path: str, *, read: Callable[[str], SpecFile] = read_spec_file) -> list[str]:
    """`FILE:LINE:COL: analyzers[i].<kind>.outcomes[j].<fail|warn|pass>.when: message` for every bad `when`.
    A file that is not YAML gives none (validate reports that on its own); one that cannot be read raises.
    `read`: the file validate parsed already."""
    try:
        spec_file = read(spec_path)
    except SpecError as exc:
        if exc.cause == "yaml":
            return []
        raise
    found: list[tuple[int, int, str]] = []
    for document in spec_file.documents:
        for node, path, message in _problems(document):
            line, column = document.place(node.start_mark.line, node.start_mark.column)
            found.append((line, column, f"{path}: {message}"))
    return [f"{spec_path}:{line}:{column}: {rest}" for line, column, rest in sorted(found)]
