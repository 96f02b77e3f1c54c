"""`validate`'s look at analyzers: every `when` that troubleshoot could not evaluate (or that can never
match), placed at FILE:LINE:COL from the YAML node marks (C-backed compose, no round-trip loader).

Specs wrapped in a ConfigMap/Secret are checked too; inside a literal block (`|`) the position is the
line in the file, elsewhere the position of the wrapping value.
"""
from __future__ import annotations

from typing import Any, Iterator

import yaml

from . import when
from ..base.yamlio import SafeLoader
from .spec import ANALYZER_KINDS, AnalyzerSpecError
from ..troubleshoot.specfiles import read_spec_text, wrapped_texts

Node = yaml.Node


def _get(node: Node, key: str) -> Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v if isinstance(v, yaml.Node) else None
    return None


def _scalar(node: Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) and node.value is not None else ""


def check_when(kind: str, host: bool, value: str, params: Any) -> None:
    """Raise WhenError when `value` is a `when` the analyzer `kind` cannot use."""
    w = value
    if kind == "tcpPortStatus" and host:
        if w and w not in when.TCP_STATUSES:
            raise when.WhenError(f"never matches: tcpPortStatus records one of {', '.join(when.TCP_STATUSES)}")
    elif kind == "http":
        if w and w != "error":
            when.http_condition(w)
            unknown = when.http_variables(w) - {"statusCode"}
            if unknown:
                raise when.WhenError(f"unknown parameter {sorted(unknown)[0]!r}: only statusCode is defined")
    elif kind in ("textAnalyze",) and _scalar(_get(params, "regexGroups")):
        when.check_regex_groups(w)
    elif kind in ("textAnalyze", "yamlCompare", "jsonCompare"):
        if w:
            when.parse_bool(w)
    elif host:
        _check_host(kind, w)
    else:
        _check_cluster(kind, w)


def _check_host(kind: str, w: str) -> None:
    if not w:
        return
    if kind == "cpu":
        when.host_cpu(w, 1, 1, [], "")
    elif kind == "memory":
        when.host_memory(w, 0)
    elif kind == "diskUsage":
        when.disk_usage(w, 1, 0)
    elif kind == "time":
        when.host_time(w, "", False, False)
    elif kind == "hostOS":
        when.host_os_range(w)


def _check_cluster(kind: str, w: str) -> None:
    if kind == "event":
        when.parse_bool(w)
    elif not w:
        return
    elif kind == "clusterVersion":
        when.cluster_version(w)
    elif kind == "nodeResources" and w.strip():
        when.node_resources(w)
    elif kind in ("deploymentStatus", "statefulsetStatus") and w != "absent":
        when.ready_replicas(w)
    elif kind == "jobStatus":
        when.counter(w, ("succeeded", "failed"))
    elif kind == "replicasetStatus":
        when.counter(w, ("ready", "available"))
    elif kind == "clusterPodStatuses":
        op, _ = when.pod_status(w)
        if op not in when.EQ + when.NE:
            raise when.WhenError(f"operator {op!r} never matches: use = or != (and Healthy, a phase or a reason)")
    elif kind == "containerRuntime":
        op, _ = when.container_runtime(w)
        if op not in when.EQ:
            raise when.WhenError(f"operator {op!r} never matches: use == with a runtime name")
    elif kind == "distribution":
        op, name = when.distribution(w)
        from .cluster import normalize_distribution   # only for distribution analyzers: cluster.py is heavy

        if normalize_distribution(name) is None:
            raise when.WhenError(f"unknown distribution {name!r}")
        if op not in when.EQ + when.NE:
            raise when.WhenError(f"operator {op!r} never matches: use == or !=")


def _lists(document: Node) -> Iterator[tuple[str, Node, bool]]:
    kind = _scalar(_get(document, "kind"))
    api = _scalar(_get(document, "apiVersion"))
    spec = _get(document, "spec")
    if kind not in ANALYZER_KINDS or not api.startswith(("troubleshoot.sh/", "troubleshoot.replicated.com/")):
        return
    if spec is None:
        return
    analyzers = _get(spec, "analyzers")
    if analyzers is not None:
        yield "analyzers", analyzers, kind == "HostPreflight"
    host_list = _get(spec, "hostAnalyzers")
    if host_list is not None and kind in ("SupportBundle", "Analyzer"):
        yield "hostAnalyzers", host_list, True


def _problems(document: Node) -> Iterator[tuple[Node, str, str]]:
    """(node, path, message) for each bad `when` of one troubleshoot document."""
    for list_name, items, host in _lists(document):
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
                    path = f"{list_name}[{i}].{kind}.outcomes[{j}].{severity}.when"
                    try:
                        check_when(kind, host, _scalar(when_node), params)
                    except when.WhenError as exc:
                        yield (when_node if when_node is not None else body), path, str(exc)
                    break


def when_diagnostics(spec_path: str) -> list[str]:
    """`FILE:LINE:COL: analyzers[i].<kind>.outcomes[j].<fail|warn|pass>.when: message` for every bad `when`.
    A file that is not YAML gives none (validate reports that on its own); one that cannot be read raises."""
    try:
        text = read_spec_text(spec_path)
    except FileNotFoundError:
        raise AnalyzerSpecError(f"spec file not found: {spec_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnalyzerSpecError(f"cannot read spec {spec_path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        documents = [d for d in yaml.compose_all(text, Loader=SafeLoader) if d is not None]
    except yaml.YAMLError:
        return []
    found: list[tuple[int, int, str]] = []
    for document in documents:
        for node, path, message in _problems(document):
            found.append((node.start_mark.line + 1, node.start_mark.column + 1, f"{path}: {message}"))
        for value, line0, col0, inner in wrapped_texts(document, text):
            try:
                inner_documents = [d for d in yaml.compose_all(inner, Loader=SafeLoader) if d is not None]
            except yaml.YAMLError:
                continue
            for inner_document in inner_documents:
                for node, path, message in _problems(inner_document):
                    if line0 >= 0:
                        line, column = line0 + node.start_mark.line + 1, col0 + node.start_mark.column + 1
                    else:
                        line, column = value.start_mark.line + 1, value.start_mark.column + 1
                    found.append((line, column, f"{path}: {message}"))
    return [f"{spec_path}:{line}:{column}: {rest}" for line, column, rest in sorted(found)]
