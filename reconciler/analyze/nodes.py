"""nodeResources: filter the nodes of cluster-resources/nodes.json, then compare count(), min(), max(),
sum(), countDistinct() or nodeCondition() with each outcome's `when` (troubleshoot's node_resources.go).
Messages are templates over the filters and `.NodeCount`."""
from __future__ import annotations

import json
from fractions import Fraction
from typing import Any, Mapping, Sequence

from . import selectors, when
from .bundle_files import Bundle, NotCollected, list_items
from .common import WARN, Analyzer, AnalyzerError, Icon, Result, flag, outcomes, result, text
from .gotemplate import TemplateError, render
from .quantity import QuantityError, parse_quantity

ICON = Icon("kubernetes_node_resources", "https://troubleshoot.sh/images/analyzer-icons/node-resources.svg?w=16&h=18")
_RESOURCE = {"cpu": "cpu", "memory": "memory", "pod": "pods", "ephemeralStorage": "ephemeral-storage"}
_FILTER_GO_NAMES = {
    "cpuArchitecture": "CPUArchitecture", "cpuCapacity": "CPUCapacity", "cpuAllocatable": "CPUAllocatable",
    "memoryCapacity": "MemoryCapacity", "memoryAllocatable": "MemoryAllocatable", "podCapacity": "PodCapacity",
    "podAllocatable": "PodAllocatable", "ephemeralStorageCapacity": "EphemeralStorageCapacity",
    "ephemeralStorageAllocatable": "EphemeralStorageAllocatable", "selector": "Selector",
    "resourceName": "ResourceName", "resourceAllocatable": "ResourceAllocatable",
    "resourceCapacity": "ResourceCapacity", "taint": "Taint",
}


def title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or "Node Resources"


def _quantity(resources: Mapping[str, Any], name: str, *, zero_if_missing: bool = True) -> Fraction | None:
    raw = (resources or {}).get(name)
    if raw is None:
        return Fraction(0) if zero_if_missing else None
    try:
        return parse_quantity(str(raw))
    except QuantityError:
        return Fraction(0) if zero_if_missing else None


def node_quantity(node: Mapping[str, Any], prop: str, resource_name: str) -> Fraction | None:
    """A node's value of a nodeResources property (cpuCapacity, memoryAllocatable, resourceCapacity, ...)."""
    status = node.get("status") or {}
    if prop in ("resourceCapacity", "resourceAllocatable"):
        side = status.get("capacity" if prop == "resourceCapacity" else "allocatable") or {}
        return _quantity(side, resource_name, zero_if_missing=False)
    for stem, resource in _RESOURCE.items():
        if prop == stem + "Capacity":
            return _quantity(status.get("capacity") or {}, resource)
        if prop == stem + "Allocatable":
            return _quantity(status.get("allocatable") or {}, resource)
    return None


def _minimum(filter_value: str, what: str) -> Fraction:
    try:
        return parse_quantity(filter_value)
    except QuantityError as exc:
        raise AnalyzerError(f"failed to check if node matches filter: failed to parse {what}: {exc}") from None


def node_matches(node: Mapping[str, Any], filters: Mapping[str, Any] | None) -> bool:
    """All filters hold: a resource the node has (at least resourceCapacity/resourceAllocatable), labels,
    a taint (same key and effect), the architecture, and minimum capacities/allocatables."""
    if not filters:
        return True
    status = node.get("status") or {}
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    resource_name = text(filters, "resourceName")
    if resource_name:
        if resource_name not in capacity and resource_name not in allocatable:
            return False
        for key, side, what in (("resourceCapacity", capacity, "resource capacity"),
                                ("resourceAllocatable", allocatable, "resource allocatable")):
            if text(filters, key) and (_quantity(side, resource_name) or 0) < _minimum(text(filters, key), what):
                return False
    selector = filters.get("selector")
    if isinstance(selector, Mapping):
        try:
            matcher = selectors.structured(selector, labels_key="matchLabel")
        except selectors.SelectorError as exc:
            raise AnalyzerError(f"failed to check if node matches filter: failed to create label selector: "
                                f"{exc}") from None
        if not matcher({str(k): str(v) for k, v in ((node.get("metadata") or {}).get("labels") or {}).items()}):
            return False
    taint = filters.get("taint")
    if isinstance(taint, Mapping):
        taints = (node.get("spec") or {}).get("taints") or []
        if not any(t.get("key") == taint.get("key") and (t.get("effect") or "") == (taint.get("effect") or "")
                   for t in taints if isinstance(t, Mapping)):
            return False
    arch = text(filters, "cpuArchitecture")
    if arch and str((status.get("nodeInfo") or {}).get("architecture", "")).lower() != arch.lower():
        return False
    for stem, resource in _RESOURCE.items():
        label = "ephemeralstorage" if stem == "ephemeralStorage" else stem
        for suffix, side in (("Capacity", capacity), ("Allocatable", allocatable)):
            wanted = text(filters, stem + suffix)
            if wanted and (_quantity(side, resource) or 0) < _minimum(wanted, f"{label} {suffix.lower()}"):
                return False
    return True


def _holds(cond: when.NodeWhen, matching: Sequence[Mapping[str, Any]], resource_name: str) -> bool:
    if cond.function == "nodeCondition":
        return any(str(c.get("type")) == cond.argument and str(c.get("status")) == cond.desired
                   for node in matching for c in (node.get("status") or {}).get("conditions") or [])
    if cond.function == "count":
        return when.compare(cond.op, len(matching), cond.desired)
    if cond.function == "countDistinct":
        labels = {((n.get("metadata") or {}).get("labels") or {}).get(cond.argument) for n in matching}
        return when.compare(cond.op, len(labels - {None}), cond.desired)
    values = [q for q in (node_quantity(n, cond.argument, resource_name) for n in matching) if q is not None]
    if cond.function == "sum":
        actual = sum(values, Fraction(0))
    elif not values:
        raise when.WhenError(f"no matching node has {cond.argument}, so {cond.function}() has no value")
    else:
        actual = min(values) if cond.function == "min" else max(values)
    desired = Fraction(cond.desired) if isinstance(cond.desired, int) else parse_quantity(cond.desired)
    return when.compare(cond.op, actual, desired)


def analyze(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    name = title(p)
    try:
        data = bundle.read("cluster-resources/nodes.json")
    except NotCollected:
        if flag(p, "ignoreIfNoFiles"):
            return []
        return [result(name, WARN, "No node resources were collected, unable to analyze node resources", "", ICON)]
    try:
        node_items = list_items(json.loads(data))
    except ValueError as exc:
        raise AnalyzerError(f"failed to unmarshal node list: {exc}") from None
    filters = p.get("filters") if isinstance(p.get("filters"), Mapping) else None
    matching = [n for n in node_items if node_matches(n, filters)]
    resource_name = text(filters, "resourceName") if filters else ""
    context: dict[str, Any] = {"NodeCount": len(matching)}
    if filters is not None:
        context.update({go: filters.get(key, "") for key, go in _FILTER_GO_NAMES.items()})
    for o in outcomes(p):
        try:
            hit = o.when.strip() == "" or _holds(when.node_resources(o.when), matching, resource_name)
        except (when.WhenError, QuantityError) as exc:
            raise AnalyzerError(f'failed to parse when: failed to evaluate "{o.when}": {exc}') from None
        if hit:
            try:
                message = render(o.message, context)
            except TemplateError as exc:
                raise AnalyzerError(f"failed to render message template: {exc}") from None
            return [result(name, o.outcome, message, o.uri, ICON)]
    return [result(name, "none", "", "", ICON)]


ANALYZERS = {"nodeResources": Analyzer(title, analyze)}
