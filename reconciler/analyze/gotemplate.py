"""The part of Go's text/template that analyzer messages use: `{{ .Field.Sub }}` (and `{{ . }}`), with
`{{-`/`-}}` trimming, printed as Go's fmt prints values. Anything else in an action (functions,
pipelines, if/range) is a TemplateError, which each analyzer handles as troubleshoot handles a
template that fails. Pure.

Two kinds of data, as in Go:
- a Kubernetes object decoded into a Go struct (a Pod, an Event): fields are the Go names of the JSON
  keys (`.Status.Reason` reads `status.reason`; `.Name` and `.Namespace` come from `metadata`); a field
  the JSON lacks prints as the zero value, an empty string;
- a map (textAnalyze's regex groups, yamlCompare's document): keys are exact; a missing key prints
  `<no value>`.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_FIELD_PATH = re.compile(r"\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?")
_MISSING = object()


class TemplateError(ValueError):
    """The template uses something this subset does not evaluate, or cannot be evaluated on the data."""


class GoStruct:
    """A JSON object read as a Go struct: field `Foo` is key `foo` (or `FOO`-style initialisms such as
    `APIVersion` → `apiVersion`, `UID` → `uid`); `promoted` sub-objects lend their keys (embedded
    ObjectMeta/TypeMeta), as Go promotes embedded fields."""

    def __init__(self, data: Mapping[str, Any], promoted: tuple[str, ...] = ()) -> None:
        self.data = data
        self.promoted = promoted

    def field(self, name: str) -> Any:
        for source in (self.data, *(self.data.get(p) for p in self.promoted)):
            if not isinstance(source, Mapping):
                continue
            for key in _json_names(name):
                if key in source:
                    return source[key]
        return ""


def kubernetes_object(data: Mapping[str, Any]) -> GoStruct:
    """A Kubernetes object as Go holds it: ObjectMeta and TypeMeta fields promoted to the top."""
    return GoStruct(data, promoted=("metadata",))


def _json_names(go_name: str) -> list[str]:
    lowered = go_name[:1].lower() + go_name[1:]
    initialism = re.fullmatch(r"([A-Z]+)([A-Z][a-z].*)", go_name)   # APIVersion → apiVersion
    names = [go_name, lowered, go_name.lower()]
    if initialism:
        names.insert(1, initialism.group(1).lower() + initialism.group(2))
    return names


def go_format(value: Any) -> str:
    """fmt's %v for JSON-like values."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        text = repr(value)
        return re.sub(r"e([+-])?0*(\d\d)", lambda m: "e" + (m.group(1) or "+") + m.group(2), text)
    if isinstance(value, GoStruct):
        return "{" + " ".join(go_format(v) for v in value.data.values()) + "}"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_format(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    return str(value)


def _lookup(data: Any, path: str) -> Any:
    value = data
    for name in [p for p in path.split(".") if p]:
        if isinstance(value, GoStruct):
            value = value.field(name)
        elif isinstance(value, Mapping):
            value = value.get(name, _MISSING)
            if value is _MISSING:
                return _MISSING
        elif value == "" or value is None:
            raise TemplateError(f"can't evaluate field {name} in an empty value")
        else:
            raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
        if isinstance(value, Mapping) and not isinstance(value, GoStruct) and isinstance(data, GoStruct):
            value = GoStruct(value)   # nested structs of a struct stay structs (missing fields print empty)
    return value


def render(template: str, data: Any) -> str:
    """Render `template` against `data`; raises TemplateError for what this subset does not support."""
    out: list[str] = []
    pos = 0
    for match in _ACTION.finditer(template):
        before = template[pos:match.start()]
        out.append(before.rstrip() if match.group(1) else before)
        action = match.group(2).strip()
        if action.startswith("/*") and action.endswith("*/"):
            pass
        elif _FIELD_PATH.fullmatch(action):
            value = _lookup(data, action)
            out.append("<no value>" if value is _MISSING else go_format(value))
        else:
            raise TemplateError(f"unsupported template action {{{{{action}}}}}")
        pos = match.end()
        if match.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
    tail = template[pos:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    out.append(tail)
    return "".join(out)
