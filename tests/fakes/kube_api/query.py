"""List options: label and field selectors with the apiserver's grammar, and limit/continue paging.

Label selectors take `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` and `!k`, ANDed by
commas. Field selectors take `path=v`, `path==v` and `path!=v` on any dotted field (`metadata.name`,
`involvedObject.name`, `status.phase`), a superset of the few fields each real kind supports."""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET = re.compile(r"^([^\s=!(),]+)\s+(in|notin)\s+\(([^()]*)\)$")
_EQUALITY = re.compile(r"^([^\s=!(),]+)\s*(==|!=|=)\s*([^\s=!(),]*)$")
_EXISTS = re.compile(r"^(!?)\s*([^\s=!(),]+)$")


def label_matcher(selector: str) -> Matcher:
    requirements = [_label_requirement(term.strip()) for term in _split_terms(selector) if term.strip()]
    return lambda obj: all(requirement(obj["metadata"].get("labels") or {}) for requirement in requirements)


def field_matcher(selector: str) -> Matcher:
    requirements = [_field_requirement(term.strip()) for term in selector.split(",") if term.strip()]
    return lambda obj: all(requirement(obj) for requirement in requirements)


def _split_terms(selector: str) -> list[str]:
    """Split on the commas outside parentheses (those inside separate an `in` set's values)."""
    terms, depth, start = [], 0, 0
    for index, char in enumerate(selector):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(selector[start:index])
            start = index + 1
    terms.append(selector[start:])
    return terms


def _label_requirement(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET.match(term):
        key, operator = match.group(1), match.group(2)
        values = {value.strip() for value in match.group(3).split(",")}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(term):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(term):
        negated, key = match.group(1) == "!", match.group(2)
        return lambda labels: (key in labels) != negated
    raise bad_request(f"unable to parse requirement: {term!r}")


def _field_requirement(term: str) -> Matcher:
    match = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", term)
    if match is None:
        raise bad_request(f"invalid field selector: {term!r}")
    path, operator, value = match.group(1).split("."), match.group(2), match.group(3)
    if operator == "!=":
        return lambda obj: _field(obj, path) != value
    return lambda obj: _field(obj, path) == value


def _field(obj: Any, path: list[str]) -> str:
    for step in path:
        obj = obj.get(step) if isinstance(obj, dict) else None
    if obj is None:
        return ""
    return str(obj).lower() if isinstance(obj, bool) else str(obj)


def encode_continue(resource_version: str, after: tuple[str, str]) -> str:
    """An opaque continue token: the key of the page's last item, as the apiserver's tokens carry."""
    token = json.dumps({"rv": resource_version, "after": list(after)})
    return base64.urlsafe_b64encode(token.encode()).decode()


def decode_continue(token: str) -> tuple[str, str]:
    try:
        namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
        return str(namespace), str(name)
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise bad_request(f"continue key is not valid: {error}") from error


def object_key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def page(items: list[dict[str, Any]], limit: int | None, token: str | None,
         resource_version: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of `items` (in key order) and the list metadata to answer it with."""
    if token:
        after = decode_continue(token)
        items = [item for item in items if object_key(item) > after]
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if limit and len(items) > limit:
        metadata["continue"] = encode_continue(resource_version, object_key(items[limit - 1]))
        metadata["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    return items, metadata
