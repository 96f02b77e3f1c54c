"""Generate docs/manifest-reference.md from the JSON Schema, so the reference never drifts from what
`validate` enforces (tests/test_docs.py fails when the committed file is stale).

Run: .venv/bin/python tools/gen_manifest_reference.py > docs/manifest-reference.md
"""
from __future__ import annotations

import json
import sys
from typing import Any

from reconciler import schemas

HEADER = """# Manifest reference

<!-- Generated from schemas/schedules.schema.json by tools/gen_manifest_reference.py: do not edit. -->

A manifest is one YAML document, `apiVersion: sbsched/v1`, `kind: ScheduleSet`. Unknown keys are
errors. Every field below shows its default; `defaults:` takes the same fields as a schedule (but
`name` and `cron`) and is deep-merged under every schedule, whose own keys win. Each of `templates:` takes
the fields of `defaults:` too; a schedule's `template: NAME` is merged over `defaults:` and under its own
keys (`defaults` < template < schedule). Lists and `null` replace, mappings merge. Paths are relative to the manifest file. Every string field is one line without
control characters (a trailing newline included); every number has the range shown; the manifest may hold
at most 64 MiB of text once its YAML aliases are expanded.

Editors: add `# yaml-language-server: $schema=<path to>/schedules.schema.json` at the top of the
file for completion and inline errors.

| field | type | default | description |
|---|---|---|---|
"""


def main() -> None:
    root = schemas.load("schedules")
    rows: list[str] = []
    for key, sub in root["properties"].items():
        if key == "defaults":
            rows.append(_row("defaults", {"type": "object"}, root["$defs"]["defaults"]["description"]))
            continue
        _walk(root, key, sub, rows)   # `schedules` brings each schedule field as schedules[].<field>
    sys.stdout.write(HEADER + "\n".join(rows) + "\n")


def _walk(root: dict[str, Any], path: str, node: dict[str, Any], rows: list[str], *, required: bool = False) -> None:
    node = _deref(root, node)
    rows.append(_row(path, node, node.get("description", ""), required=required))
    for key, sub in (node.get("properties") or {}).items():
        _walk(root, f"{path}.{key}", sub, rows, required=key in node.get("required", []))
    items = node.get("items")
    if isinstance(items, dict) and "properties" in _deref(root, items):
        item = _deref(root, items)
        for key, sub in item["properties"].items():
            _walk(root, f"{path}[].{key}", sub, rows, required=key in item.get("required", []))


def _deref(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return root["$defs"][node["$ref"].rsplit("/", 1)[-1]]  # type: ignore[no-any-return]
    return node


def _row(path: str, node: dict[str, Any], description: str, *, required: bool = False) -> str:
    default = "*required*" if required else (f"`{json.dumps(node['default'])}`" if "default" in node else "")
    escaped = description.replace("|", "\\|")
    return f"| `{path}` | {_type(node)}{_range(node)} | {default} | {escaped} |"


def _range(node: dict[str, Any]) -> str:
    """Every number has a maximum (issue 17: 99999999999 days overflowed the date arithmetic)."""
    if "maximum" not in node:
        return ""
    return f", {node.get('minimum', 0):,} to {node['maximum']:,}"


def _type(node: dict[str, Any]) -> str:
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node or "x-message" in node and "type" not in node:
        return "string or reference"
    kind = node.get("type", "object" if "properties" in node else "")
    if kind == "object" and "env" in node.get("properties", {}):
        return "reference `{env}`/`{file}`"
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = node.get("items", {})
        return f"list of {items.get('type', 'object') if 'enum' not in items else 'enum'}"
    return str(kind)


if __name__ == "__main__":
    main()
