"""A file that parsed as JSON or YAML before redaction parses after it, with the same structure: the same
keys in the same order, lists of the same length, only scalars changed (each to a string); a masked value
is a whole, properly escaped string, and keys are never masked."""
from __future__ import annotations

import itertools
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.redact import redact_tree

from ...conftest import FIXTURES

MASK = "***HIDDEN***"


def same_shape(before: Any, after: Any) -> bool:
    """The oracle: written apart from the engine's own check."""
    if isinstance(before, dict):
        return (isinstance(after, dict) and list(before) == list(after)
                and all(same_shape(before[k], after[k]) for k in before))
    if isinstance(before, list):
        return isinstance(after, list) and len(before) == len(after) and all(map(same_shape, before, after))
    return isinstance(after, str) or (type(before) is type(after) and repr(before) == repr(after))


def load(path: Path) -> list[Any]:
    text = path.read_text()
    return [json.loads(text)] if path.suffix == ".json" else list(yaml.safe_load_all(text))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "bundle").mkdir()
    return tmp_path / "bundle"


# --- the two shapes seen in real clusters -------------------------------------------------------------

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "spec": {"versions": [{
    "name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "authorization": {"type": "object", "properties": {"token": {"type": "string"},
                                                           "password": {"type": "string"}}},
        "proxyAuthorization": {"type": "object"}}}}}]}}


@pytest.mark.parametrize("name, text", [
    ("crd.json", json.dumps(CRD, indent=2)),
    ("crd-compact.json", json.dumps(CRD)),
    ("crd.yaml", yaml.safe_dump(CRD, sort_keys=False)),
    ("crd-flow.yaml", yaml.safe_dump(CRD, sort_keys=False, default_flow_style=True)),
])
def test_a_crd_property_named_authorization_whose_value_is_an_object_is_left_whole(
        root: Path, name: str, text: str) -> None:
    """`"authorization": {` became `"authorization": ***HIDDEN***` and the rest of the file no longer parsed."""
    (root / name).write_text(text)
    report = redact_tree(root)
    assert load(root / name) == [CRD] and report.count == 0


def test_an_api_error_quoting_a_secrets_name_stays_one_escaped_json_string(root: Path) -> None:
    """The mask went into the JSON string with raw quotes: `"error": "app-secret: "***HIDDEN***" \\"app-..."`."""
    message = ('secrets "app-secret" is forbidden: User "system:serviceaccount:default:sbsched" cannot get '
               'resource "secrets" in API group "" in the namespace "default"')
    record = {"collector": "secret/default/app-secret", "error": f"app-secret: {message}", "status": "failed",
              "warnings": [f"secret/app-secret: {message}", "password=abc\\\"def tail"]}
    (root / "collector-errors").mkdir()
    path = root / "collector-errors" / "app-secret-error.json"
    path.write_text(json.dumps(record, indent=2))
    redact_tree(root)
    [after] = load(path)
    assert same_shape(record, after) and after["collector"] == record["collector"]
    assert after["error"].endswith('"app-secret" is forbidden: User "system:serviceaccount:default:sbsched" '
                                   'cannot get resource "secrets" in API group "" in the namespace "default"')
    assert MASK in after["error"] and "abc" not in after["warnings"][1] and "def" not in after["warnings"][1]


def test_a_file_the_line_rules_would_break_is_redacted_value_by_value(root: Path) -> None:
    text = ("# settings\nservice:\n  password: two words\n  user: app\n  flow: {authorization: Basic abc=, n: 1}\n"
            "  note: 'password: x y'\n")
    (root / "settings.yaml").write_text(text)
    report = redact_tree(root)
    [after] = load(root / "settings.yaml")
    assert after == {"service": {"password": MASK, "user": "app", "flow": {"authorization": MASK, "n": 1},
                                 "note": f'password: "{MASK}" y'}}
    assert report.by_file == {"settings.yaml": 3}


# --- every document of troubleshoot's own bundles -------------------------------------------------------

@pytest.fixture(scope="module")
def troubleshoot_documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The k3s bundle unpacked beside the analyzer test files: every .json and .yaml they hold."""
    where = tmp_path_factory.mktemp("troubleshoot")
    with tarfile.open(FIXTURES / "troubleshoot" / "baseline-k3s-1.31.tar.gz") as bundle:
        bundle.extractall(where / "k3s", filter="data")
    shutil.copytree(FIXTURES / "troubleshoot" / "analyze-files", where / "analyze-files")
    return where


def documents_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".json", ".yaml") and p.is_file() and not p.is_symlink())


def test_every_troubleshoot_fixture_document_keeps_its_shape(troubleshoot_documents: Path, root: Path) -> None:
    shutil.copytree(troubleshoot_documents, root, dirs_exist_ok=True)
    files = documents_of(root)
    before = {path: load(path) for path in files}
    assert len(files) >= 130
    redact_tree(root)
    for path in files:
        assert same_shape(before[path], load(path)), path


# --- generated documents: secret-looking keys at every depth and in every position ---------------------

SECRET_KEYS = ["password", "apiKey", "DB_PASSWORD", "client_secret", "token", "aws_secret_access_key",
               "privateKey", "passwords", "Authorization"]
OTHER_KEYS = ["name", "value", "keepLast", "tokenizer", "passwordPolicy", "secretName", "type", "a", "key",
              "authorization", "data", "env", "", "x y", "with \"quote\"", "colon: yes", "-dash"]
AWKWARD = st.sampled_from(['a "quoted" word', "back\\slash", "colon: here", "{not json", "[1, 2",
                           "line\nbreak", MASK, '"***HIDDEN***"', "password=plain", "token: x", "#hash", "- dash",
                           "yes", "null", "12", "", " lead", "tail ", "é ünïcode", "\t"])
counter = itertools.count()


def planted() -> st.SearchStrategy[str]:
    """A unique secret (its `Zq<n>x` core must vanish), sometimes with characters that need escaping."""
    return st.builds(lambda suffix: f"Zq{next(counter)}x{suffix}",
                     st.sampled_from(["", "9f3A", '"q', "\\b", ":c", "@d", "/e+f="]))


def documents() -> st.SearchStrategy[Any]:
    leaves = st.one_of(AWKWARD, st.integers(-5, 10**6), st.booleans(), st.none(), st.floats(allow_nan=False,
                                                                                              allow_infinity=False))

    def grow(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        secret_value = st.one_of(planted(), st.lists(planted(), min_size=1, max_size=3))
        secret_pair = st.tuples(st.sampled_from(SECRET_KEYS), secret_value)
        other_pair = st.tuples(st.sampled_from(OTHER_KEYS), inner)
        mapping = st.lists(st.one_of(secret_pair, other_pair), max_size=5).map(dict)
        holding_json = mapping.map(lambda d: json.dumps(d))          # a string that holds a JSON document
        return st.one_of(mapping, st.lists(inner, max_size=4), holding_json)
    return st.recursive(leaves, grow, max_leaves=25).filter(lambda d: isinstance(d, (dict, list)))


def secrets_in(document: Any) -> set[str]:
    """The planted secrets' cores, including those inside strings that hold JSON."""
    found: set[str] = set()
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += item.values()
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            found.update(word.split("x", 1)[0] + "x" for word in item.split("Zq")[1:] if "x" in word)
    return {f"Zq{core}" for core in found}


FORMATS = {
    "compact.json": lambda d: json.dumps(d),
    "indented.json": lambda d: json.dumps(d, indent=2),
    "block.yaml": lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True),
    "flow.yaml": lambda d: yaml.safe_dump(d, sort_keys=False, default_flow_style=True, width=60),
}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=documents())
def test_generated_documents_keep_their_shape_and_lose_their_secrets(tmp_path_factory: pytest.TempPathFactory,
                                                                       document: Any) -> None:
    root = tmp_path_factory.mktemp("generated")
    for name, dump in FORMATS.items():
        (root / name).write_text(dump(document))
    redact_tree(root)
    for name in FORMATS:
        text = (root / name).read_text()
        [after] = load(root / name)
        assert same_shape(document, after), (name, text)
        leaked = {secret for secret in secrets_in(document) if secret in text}
        assert not leaked, (name, leaked, text)
