"""Troubleshoot spec files on disk: bounded reads, the kinds each manifest section wants, wrapped specs
(reader.py parses them, and its check_file says whether a file a manifest references is a spec of the
right kind).

troubleshoot accepts a spec as a plain document (`apiVersion: troubleshoot.sh/v1beta2`, `kind:
SupportBundle`) or wrapped in a ConfigMap/Secret whose data values are such documents (its
"labelled specs"); both are accepted here.
"""
from __future__ import annotations

import base64
import binascii
import errno
import os
import stat
from typing import Any, Iterable, Iterator

import yaml

from ..base.yamlio import SafeLoader

MAX_SPEC_BYTES = 64 * 1024 * 1024   # as for manifests: a spec file is a few KB; /dev/zero is not one

COLLECT_KINDS = frozenset({"SupportBundle", "Collector", "HostCollector", "Preflight", "HostPreflight", "Analyzer"})
REDACT_KINDS = frozenset({"Redactor"})


def read_spec_text(path: str) -> str:
    """A spec file's text, as `open(path, encoding="utf-8").read()` would give it, but only from a regular
    file of at most MAX_SPEC_BYTES: a manifest naming /dev/zero, a FIFO or a huge file as a spec made
    validate (and a daemon run) read until memory ran out, or block. Raises OSError / UnicodeDecodeError."""
    return read_spec_bytes(path).decode("utf-8")


def read_spec_bytes(path: str) -> bytes:
    """`read_spec_text`'s bytes, undecoded: what a spec snapshot keeps. Raises OSError."""
    try:
        info = os.stat(path)
    except ValueError:  # a NUL character in the path: open() and stat() raise ValueError, not OSError
        raise OSError(errno.EINVAL, "not a valid path (it holds a NUL character)", path) from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file", path)
    with open(path, "rb") as handle:
        raw = handle.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise OSError(errno.EFBIG, f"over the {MAX_SPEC_BYTES // 2**20} MiB spec file limit", path)
    return raw


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


def wrapped_texts(document: yaml.Node, text: str) -> Iterator[tuple[yaml.Node, int, int, str]]:
    """The texts a ConfigMap/Secret node wraps, for placing what is inside them: (value node, line offset,
    column offset, inner text). In a literal block (`|`) the inner text's line L, column C is the file's
    line offset + L, column offset + C; elsewhere (-1, -1) the value node itself is the place."""
    fields = _scalar_fields(document)
    if fields.get("apiVersion") != "v1" or fields.get("kind") not in ("ConfigMap", "Secret"):
        return
    secret = fields.get("kind") == "Secret"
    lines = text.splitlines()
    for key in ("data", "stringData"):
        data = _node_fields(document).get(key)
        if not isinstance(data, yaml.MappingNode):
            continue
        for _, value in data.value:
            if not isinstance(value, yaml.ScalarNode):
                continue
            inner = str(value.value)
            if secret and key == "data":
                try:
                    inner = base64.b64decode(inner, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    continue
                yield value, -1, -1, inner
            elif value.style == "|" and value.start_mark.line + 1 < len(lines):
                body_line = value.start_mark.line + 1
                indent = len(lines[body_line]) - len(lines[body_line].lstrip(" "))
                yield value, body_line, indent, inner
            else:
                yield value, -1, -1, inner


def _node_fields(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _scalar_fields(node: yaml.Node) -> dict[str, str]:
    return {k: str(v.value) for k, v in _node_fields(node).items() if isinstance(v, yaml.ScalarNode)}


def shown(path: str) -> str:
    """Paths are absolute internally; show them relative to where the user stands when that is shorter."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
