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

from .yamlio import SafeLoader

COLLECT_KINDS = frozenset({"SupportBundle", "Collector", "HostCollector", "Preflight", "HostPreflight", "Analyzer"})
REDACT_KINDS = frozenset({"Redactor"})


def spec_kinds(text: str) -> set[str]:
    """The troubleshoot kinds defined in a YAML text (possibly multi-document); raises yaml.YAMLError."""
    return {str(doc.get("kind", "")) for raw in yaml.load_all(text, Loader=SafeLoader)
            for doc in wrapped_documents(raw)}


def wrapped_documents(doc: Any) -> list[dict[str, Any]]:
    """The troubleshoot documents in one parsed YAML document: itself, or those a ConfigMap/Secret wraps."""
    if not isinstance(doc, dict):
        return []
    api = str(doc.get("apiVersion", ""))
    if api.startswith(("troubleshoot.sh/", "troubleshoot.replicated.com/")):
        return [doc]
    if api == "v1" and doc.get("kind") in ("ConfigMap", "Secret"):
        return [inner for text in _wrapped_values(doc) if "troubleshoot" in text for inner in _parse_all(text)]
    return []


def _parse_all(text: str) -> list[dict[str, Any]]:
    try:
        return [d for raw in yaml.load_all(text, Loader=SafeLoader) for d in wrapped_documents(raw)]
    except yaml.YAMLError:
        return []


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


def check_file(path: str, wanted: frozenset[str]) -> str | None:
    """None when `path` holds at least one troubleshoot spec of a `wanted` kind; else why not."""
    displayed = shown(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return f"file not found: {displayed}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read {displayed}: {getattr(exc, 'strerror', None) or exc}"
    try:
        kinds = spec_kinds(text)
    except yaml.YAMLError:
        return f"{displayed} is not valid YAML"
    if not kinds & wanted:
        found = f"; found kind {', '.join(sorted(kinds))}" if kinds else ""
        return (f"{displayed} is not a troubleshoot spec: expected apiVersion troubleshoot.sh/v1beta2 with kind "
                f"{' or '.join(sorted(wanted, key=_KIND_ORDER.index))}{found}")
    return None


_KIND_ORDER = ("SupportBundle", "HostCollector", "Collector", "Preflight", "HostPreflight", "Analyzer", "Redactor")


def shown(path: str) -> str:
    """Paths are absolute internally; show them relative to where the user stands when that is shorter."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
