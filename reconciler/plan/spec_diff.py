"""Pure: what changed inside a troubleshoot spec file, item by item, for the plan's `fields`.

A reviewer needs more than "the file's digest changed": a collector that reads Secrets, added to a spec
file, is the change that matters. So both versions are read as troubleshoot documents (plain, or wrapped
in a ConfigMap/Secret as troubleshoot's labelled specs are) and their entries are compared by section,
kind and name: `collectors[secret/db-password]`, `hostAnalyzers[cpu/cpu-check]`, `redactors[static-text]`.
An entry's name is its `collectorName`, `checkName` or `name`; two entries of one kind without one are
told apart by their place (`logs#2`). Whatever else changed in the file (metadata, comments) shows only
as the digest's change, which is always listed.
"""
from __future__ import annotations

from typing import Any, Iterator

import yaml

from ..troubleshoot.specfiles import wrapped_documents
from ..base.yamlio import SafeLoader

SECTIONS = ("collectors", "hostCollectors", "analyzers", "hostAnalyzers", "redactors")
_NAME_KEYS = ("collectorName", "checkName", "name")

Field = tuple[str, Any, Any]   # (path, before, after), as the plan's FieldChange


def file_changes(path: str, before: bytes | None, after: bytes | None) -> list[Field]:
    """The entries of spec file `path` (its display path) added, removed or changed between two versions;
    [] when either version is unknown or not YAML (the digest's change still says the file changed)."""
    if before is None or after is None:
        return []
    old, new = entries(before), entries(after)
    if old is None or new is None:
        return []
    return [(f"specFiles[{path}].{key}", old.get(key), new.get(key)) for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key)]


def entries(data: bytes) -> dict[str, Any] | None:
    """`section[kind/name]` -> the entry's parameters, for every entry of every troubleshoot document."""
    try:
        documents = [inner for raw in yaml.load_all(data.decode("utf-8"), Loader=SafeLoader)
                     for inner in wrapped_documents(raw)]
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    found: dict[str, Any] = {}
    for section, kind, name, params in _items(documents):
        label = "/".join(part for part in (kind, name) if part) or "unnamed"
        key, n = f"{section}[{label}]", 1
        while key in found:
            n += 1
            key = f"{section}[{label}#{n}]"
        found[key] = params
    return found


def _items(documents: list[dict[str, Any]]) -> Iterator[tuple[str, str, str | None, Any]]:
    for document in documents:
        spec = document.get("spec")
        if not isinstance(spec, dict):
            continue
        for section in SECTIONS:
            listed = spec.get(section)
            for item in listed if isinstance(listed, list) else []:
                if section == "redactors":
                    yield section, "", _name(item), item   # one kind: the name says which
                elif isinstance(item, dict) and len(item) == 1:
                    kind, params = next(iter(item.items()))
                    yield section, str(kind), _name(params), params
                else:
                    yield section, "<malformed>", None, item


def _name(params: Any) -> str | None:
    if not isinstance(params, dict):
        return None
    return next((str(params[key]) for key in _NAME_KEYS if params.get(key)), None)
