"""Checks that files a manifest references are troubleshoot specs of the right kind.

troubleshoot accepts a spec as a plain document (`apiVersion: troubleshoot.sh/v1beta2`, `kind:
SupportBundle`) or wrapped in a ConfigMap/Secret whose data values are such documents (its
"labelled specs"); both are accepted here.
"""
from __future__ import annotations

import base64
import binascii
import os
from typing import Any, Iterable

import yaml

COLLECT_KINDS = frozenset({"SupportBundle", "Collector", "HostCollector", "Preflight", "HostPreflight", "Analyzer"})
REDACT_KINDS = frozenset({"Redactor"})


def spec_kinds(text: str) -> set[str]:
    """The troubleshoot kinds defined in a YAML text (possibly multi-document); raises yaml.YAMLError."""
    kinds: set[str] = set()
    for doc in yaml.load_all(text, Loader=yaml.CSafeLoader):
        kinds |= _kinds_of(doc)
    return kinds


def _kinds_of(doc: Any) -> set[str]:
    if not isinstance(doc, dict):
        return set()
    api = str(doc.get("apiVersion", ""))
    if api.startswith("troubleshoot.sh/") or api.startswith("troubleshoot.replicated.com/"):
        return {str(doc.get("kind", ""))}
    if api == "v1" and doc.get("kind") in ("ConfigMap", "Secret"):
        return set().union(*(_kinds_in_text(v) for v in _wrapped_values(doc)))
    return set()


def _wrapped_values(doc: dict[str, Any]) -> Iterable[str]:
    for key in ("data", "stringData"):
        for value in (doc.get(key) or {}).values():
            if not isinstance(value, str):
                continue
            if key == "data" and doc.get("kind") == "Secret":
                try:
                    value = base64.b64decode(value, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    continue
            yield value


def _kinds_in_text(text: str) -> set[str]:
    try:
        return spec_kinds(text) if "troubleshoot" in text else set()
    except yaml.YAMLError:
        return set()


def check_file(path: str, wanted: frozenset[str]) -> str | None:
    """None when `path` holds at least one troubleshoot spec of a `wanted` kind; else why not."""
    shown = _shown(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return f"file not found: {shown}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read {shown}: {getattr(exc, 'strerror', None) or exc}"
    try:
        kinds = spec_kinds(text)
    except yaml.YAMLError:
        return f"{shown} is not valid YAML"
    if not kinds & wanted:
        found = f"; found kind {', '.join(sorted(kinds))}" if kinds else ""
        return (f"{shown} is not a troubleshoot spec: expected apiVersion troubleshoot.sh/v1beta2 with kind "
                f"{' or '.join(sorted(wanted, key=_KIND_ORDER.index))}{found}")
    return None


_KIND_ORDER = ("SupportBundle", "HostCollector", "Collector", "Preflight", "HostPreflight", "Analyzer", "Redactor")


def _shown(path: str) -> str:
    """Paths are absolute internally; show them relative to where the user stands when that is shorter."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
