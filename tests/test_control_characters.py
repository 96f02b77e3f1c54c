"""Property: a control character in any string of a manifest (every string field and map key the schema
names, found by walking the schema) is refused at that field. A trailing newline used to pass every
pattern (Python's `$` matches before a final "\\n"): schedule "abc\\n" made `bundles/abc\\n/`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import schemas
from reconciler.base.yamlio import format_path
from reconciler.manifest.load import load_manifest_text

Path_ = tuple[str | int, ...]
ROOT = schemas.load("schedules")
EXAMPLES = {"name": "a", "url": "s3://b/p/", "webhook": "https://127.0.0.1:9/x", "ageRecipients": "age1" + "q" * 58,
            "cron": "0 2 * * *", "timezone": "UTC"}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    return ROOT["$defs"][node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node


def _slots(node: dict[str, Any], path: Path_, seen: frozenset[str] = frozenset()) -> Iterator[tuple[Path_, str]]:
    """(path, "value" or "key") of every string the schema describes below `path`."""
    ref = node.get("$ref")
    if ref in seen:
        return
    node, seen = _resolve(node), seen | {ref} if ref else seen
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    if "string" in kinds:
        yield path, "value"
    for key, sub in (node.get("properties") or {}).items():
        yield from _slots(sub, (*path, key), seen)
    if isinstance(node.get("items"), dict):
        yield from _slots(node["items"], (*path, 0), seen)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _slots(node["additionalProperties"], (*path, "k"), seen)
        if "propertyNames" in node:
            yield path, "key"
    for branch in node.get("oneOf") or []:
        yield from _slots(branch, path, seen)


SLOTS = sorted(set(_slots(ROOT, ())), key=repr)


def _example(path: Path_) -> str:
    if path == ("metadata", "name"):
        return "s"
    named = [step for step in path if isinstance(step, str) and step in EXAMPLES]
    return EXAMPLES[named[-1]] if named else "x"


def _put(data: Any, path: Path_, value: Any) -> None:
    """Set `value` at `path`, creating the mappings and one-item lists on the way."""
    for step, following in zip(path, path[1:]):
        fresh: Any = [] if isinstance(following, int) else {}
        if isinstance(step, int):
            while len(data) <= step:
                data.append(fresh)
            data = data[step]
        else:
            data = data.setdefault(step, fresh)
    if isinstance(path[-1], int):
        data[:] = [value]
    else:
        data[path[-1]] = value


def _insert(text: str, char: str, where: str) -> str:
    return {"end": text + char, "start": char + text, "middle": text[:1] + char + text[1:]}[where]


def test_the_walk_finds_every_kind_of_string_field():
    paths = {format_path(p) for p, _ in SLOTS}
    for expected in ("metadata.name", "schedules[0].name", "schedules[0].cron", "schedules[0].upload.url",
                     "schedules[0].notify[0].webhook", "schedules[0].labels.k", "schedules[0].collect.specs[0]",
                     "schedules[0].upload.options.headers.k", "schedules[0].upload.credentials.accessKeyId.env",
                     "schedules[0].encrypt.ageRecipients[0]", "defaults.timezone"):
        assert expected in paths
    assert len(SLOTS) > 40


@settings(max_examples=400, deadline=None)
@given(slot=st.sampled_from(SLOTS), char=st.characters(categories=["Cc"]),
       where=st.sampled_from(["end", "end", "start", "middle"]))
def test_a_control_character_in_any_string_field_is_refused_at_that_field(tmp_path_factory, slot, char, where):
    path, kind = slot
    data: dict[str, Any] = {"apiVersion": "sbsched/v1", "kind": "ScheduleSet", "metadata": {"name": "s"},
                            "schedules": [{"name": "a", "cron": "0 2 * * *", "collect": {"cluster": False}}]}
    if kind == "key":
        _put(data, (*path, _insert("k", char, where)), _example((*path, "k")))
    else:
        _put(data, path, _insert(_example(path), char, where))
    manifest = tmp_path_factory.mktemp("m") / "m.yaml"
    result = load_manifest_text(json.dumps(data), str(manifest))   # JSON is YAML, its escapes reach every char
    assert not result.valid
    where_refused = {d.path for d in result.diagnostics}
    assert format_path(path) in where_refused, (format_path(path), repr(char), result.diagnostics)
    assert not Path(manifest.parent, "state").exists()


REPO = Path(__file__).resolve().parent.parent
# redaction rules (and jsonline.py, which fits their edits to a JSON line) run per line: `$` before its own "\n"
LINE_RULES = {"reconciler/redact/builtin.py", "reconciler/redact/jsonline.py"}


def _unescaped_dollar(pattern: str | bytes) -> bool:
    text = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    i, in_class = 0, False
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            return True
        i += 1
    return False


def test_no_regular_expression_in_the_code_ends_with_a_dollar_that_a_final_newline_passes():
    """`re` patterns of reconciler/ and cli/ match whole strings with fullmatch or `\\Z`, never `$`."""
    import ast

    found = []
    for source in sorted([*REPO.glob("reconciler/**/*.py"), *REPO.glob("cli/**/*.py")]):
        relative = source.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, (str, bytes)) and _unescaped_dollar(node.args[0].value)
                    and relative not in LINE_RULES):
                found.append(f"{relative}:{node.lineno}")
    assert not found, found
