"""The paths jsonCompare and yamlCompare take. Pure.

- `path` (troubleshoot's interfaceutils.GetAtPath): dot-separated keys, `[n]` for a list index:
  `spec.containers.[0].image`. A missing key gives null; indexing into a non-map is an error.
- `jsonPath` (kubectl's JSONPath, the subset specs use): `{$.a.b[0]}`, `{.items[*].metadata.name}`,
  `{$..bar}` (recursive), `['key']`, `[1:3]`, `[?(@.name == "x")]`. Missing keys give nothing, and the
  result is the list of matches.
"""
from __future__ import annotations

import operator
import re
from typing import Any, Callable

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


class PathError(ValueError):
    """A path that cannot be followed, or a JSONPath this subset does not read."""


def get_at_path(document: Any, path: str) -> Any:
    value = document
    for key in path.split("."):
        if key.startswith("[") and key.endswith("]"):
            try:
                index = int(key[1:-1])
            except ValueError:
                raise PathError(f"failed to get index value of {key}: failed to parse index {key[1:-1]}") from None
            if not isinstance(value, list):
                raise PathError(f"input is not an array: {value!r}")
            if not -len(value) <= index < len(value):
                raise PathError(f"index out of range [{index}] with length {len(value)}")
            value = value[index]
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            raise PathError(f"input is not a map, but rather a {type(value).__name__}: {value!r}")
    return value


Step = Callable[[list[Any]], list[Any]]
_NAME = r"[A-Za-z0-9_\-/$@]+"
_SEGMENT = re.compile(
    r"\.\.(?P<recursive>" + _NAME + r"|\*)"
    r"|\.(?P<child>" + _NAME + r"|\*)"
    r"|\[\s*(?P<quoted>'[^']*'|\"[^\"]*\")\s*\]"
    r"|\[\s*(?P<index>-?\d+)\s*\]"
    r"|\[\s*(?P<slice>-?\d*\s*:\s*-?\d*)\s*\]"
    r"|\[\s*(?P<star>\*)\s*\]"
    r"|\[\s*\?\(\s*@(?P<filter>(?:\.[A-Za-z0-9_\-]+)+)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?|true|false))?\s*\)\s*\]"
)


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _descendants(value: Any) -> list[Any]:
    found = [value]
    for child in _children(value):
        found += _descendants(child)
    return found


def _key(name: str) -> Step:
    if name == "*":
        return lambda values: [c for v in values for c in _children(v)]
    return lambda values: [v[name] for v in values if isinstance(v, dict) and name in v]


def _literal(text: str) -> Any:
    if text[:1] in ("'", '"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return float(text)


def _filter(path: str, op: str | None, literal: str | None) -> Step:
    keys = path.strip(".").split(".")

    def holds(item: Any) -> bool:
        value: Any = item
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return False
            value = value[key]
        if op is None:
            return True
        wanted = _literal(literal or "")
        if isinstance(wanted, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            actual: Any = float(value)
        else:
            actual = value
        try:
            return bool(_OPERATORS[op](actual, wanted))
        except TypeError:
            return False

    return lambda values: [item for v in values for item in _children(v) if holds(item)]


def _index(i: int) -> Step:
    return lambda values: [v[i] for v in values if isinstance(v, list) and -len(v) <= i < len(v)]


def _slice(start: int | None, stop: int | None) -> Step:
    return lambda values: [x for v in values if isinstance(v, list) for x in v[start:stop]]


def _compile(expression: str) -> list[Step]:
    steps: list[Step] = []
    pos = 1 if expression.startswith("$") else 0
    while pos < len(expression):
        match = _SEGMENT.match(expression, pos)
        if match is None:
            raise PathError(f"unrecognized JSONPath at {expression[pos:]!r}")
        groups = match.groupdict()
        if groups["recursive"] is not None:
            name = groups["recursive"]
            steps.append(lambda values: [d for v in values for d in _descendants(v)])
            steps.append(_key(name))
        elif groups["child"] is not None:
            steps.append(_key(groups["child"]))
        elif groups["quoted"] is not None:
            steps.append(_key(groups["quoted"][1:-1]))
        elif groups["index"] is not None:
            steps.append(_index(int(groups["index"])))
        elif groups["slice"] is not None:
            start_text, _, stop_text = groups["slice"].partition(":")
            steps.append(_slice(int(start_text) if start_text.strip() else None,
                                int(stop_text) if stop_text.strip() else None))
        elif groups["star"] is not None:
            steps.append(lambda values: [c for v in values for c in _children(v)])
        else:
            steps.append(_filter(groups["filter"], groups["op"], groups["value"]))
        pos = match.end()
    return steps


def json_path(document: Any, template: str) -> list[Any]:
    """Every value `template` (`{...}`, braces optional) selects in `document`."""
    expression = template.strip()
    if expression.startswith("{") and expression.endswith("}"):
        expression = expression[1:-1].strip()
    values = [document]
    for step in _compile(expression):
        values = step(values)
    return values
