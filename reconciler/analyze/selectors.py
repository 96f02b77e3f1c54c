"""Kubernetes label selectors: the string form (`app=web,tier!=db,env in (a,b),!legacy`, as
k8s.io/apimachinery labels.Parse reads it) and the structured form (matchLabels / matchExpressions). Pure."""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

Labels = Mapping[str, str]
Selector = Callable[[Labels], bool]

_SET = re.compile(r"\s*([^\s!=<>()]+)\s+(in|notin)\s+\(([^)]*)\)\s*")
_CMP = re.compile(r"\s*([^\s!=<>]+)\s*(==|=|!=|<|>)\s*([^\s=!<>]*)\s*")
_EXISTS = re.compile(r"\s*(!?)\s*([^\s!=<>()]+)\s*")


class SelectorError(ValueError):
    """Not a label selector."""


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def _requirement(part: str) -> Selector:
    match = _SET.fullmatch(part)
    if match:
        key, op = match.group(1), match.group(2)
        values = {v.strip() for v in match.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: key not in labels or labels[key] not in values
    match = _CMP.fullmatch(part)
    if match:
        key, op, value = match.groups()
        if op in ("=", "=="):
            return lambda labels: labels.get(key) == value
        if op == "!=":
            return lambda labels: labels.get(key) != value
        try:
            bound = int(value)
        except ValueError:
            raise SelectorError(f"for 'Gt', 'Lt' operators, the value must be an integer: {part!r}") from None

        def ordered(labels: Labels) -> bool:
            try:
                actual = int(labels[key])
            except (KeyError, ValueError):
                return False
            return actual > bound if op == ">" else actual < bound
        return ordered
    match = _EXISTS.fullmatch(part)
    if match:
        negate, key = match.group(1) == "!", match.group(2)
        return (lambda labels: key not in labels) if negate else (lambda labels: key in labels)
    raise SelectorError(f"unable to parse requirement: {part.strip()!r}")


def parse(text: str) -> Selector:
    """labels.Parse: requirements joined by commas, all of which must hold; empty selects everything."""
    requirements = [_requirement(p) for p in _split(text)]
    return lambda labels: all(r(labels) for r in requirements)


def structured(selector: Mapping[str, Any], labels_key: str = "matchLabels") -> Selector:
    """A LabelSelector: `matchLabels` (troubleshoot's nodeResources spells it `matchLabel`) and
    `matchExpressions` ({key, operator: In|NotIn|Exists|DoesNotExist, values})."""
    wanted = {str(k): str(v) for k, v in (selector.get(labels_key) or {}).items()}
    checks: list[Selector] = [lambda labels: all(labels.get(k) == v for k, v in wanted.items())]
    for expression in selector.get("matchExpressions") or []:
        checks.append(_expression(str(expression.get("key", "")), str(expression.get("operator", "")),
                                  {str(v) for v in expression.get("values") or []}))
    return lambda labels: all(c(labels) for c in checks)


def _expression(key: str, operator: str, values: set[str]) -> Selector:
    def check(labels: Labels) -> bool:
        if operator == "In":
            return key in labels and labels[key] in values
        if operator == "NotIn":
            return key not in labels or labels[key] not in values
        if operator == "Exists":
            return key in labels
        return key not in labels      # DoesNotExist
    if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
        raise SelectorError(f"{operator!r} is not a valid label selector operator")
    return check
