"""Redactor specs: troubleshoot's fixtures load and take effect; regex, selector, yamlPath and fileSelector
behave as in troubleshoot; a spec that cannot be used is a one-line RedactorSpecError."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reconciler.redact import RedactorSpecError, load_redactor_specs, redact_tree

from ...conftest import FIXTURES

SPECS = FIXTURES / "redact"
MASK = "***HIDDEN***"


def spec(name: str) -> str:
    return str(SPECS / name)


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)


def read(root: Path, relative: str) -> str:
    return (root / relative).read_text()


@pytest.mark.parametrize("fixture, text, name", [
    ("e2e.yaml", "static", "redact-static-text"),
    ("labelled-redact-spec-1.yaml", "REDACT FIRST TEXT PLEASE", "redact-text-1"),     # ConfigMap data
    ("labelled-redact-spec-2.yaml", "REDACT SECOND TEXT PLEASE", "redact-text-2"),    # Secret stringData
    ("labelled-redact-spec-3.yaml", "REDACT FIRST TEXT PLEASE", "redact-text-3"),
    ("labelled-redact-spec-4.yaml", "REDACT SECOND TEXT PLEASE", "redact-text-4"),
    ("redactor-in-secret-data.yaml", "db-7.internal.example", "internal-hostnames"),  # Secret data, base64
])
def test_each_fixture_loads_and_takes_effect(tmp_path: Path, fixture: str, text: str, name: str) -> None:
    redactors = load_redactor_specs([spec(fixture)])
    assert [r.name for r in redactors] == [name]   # a spec under two ConfigMap keys runs once
    write(tmp_path, {"a/log.txt": f"before {text} after\n{text}\nnothing here\n"})
    report = redact_tree(tmp_path, builtin=False, redactors=redactors)
    assert read(tmp_path, "a/log.txt") == f"before {MASK} after\n{MASK}\nnothing here\n"
    assert report.to_json() == {"count": 2, "byRedactor": {name: 2}, "byFile": {"a/log.txt": 2}, "notScanned": {}}


def test_all_fixtures_load_together_in_order() -> None:
    names = [r.name for r in load_redactor_specs([spec("e2e.yaml"), spec("labelled-redact-spec-1.yaml"),
                                                  spec("custom-redactors.yaml")])]
    assert names == ["redact-static-text", "redact-text-1", "pins-after-marker", "session-ids", "config-values",
                     "unnamed-3"]


CONFIG_YAML = """\
# application settings
database:
  host: db.internal
  dsn: "host=db user=app password=dsn-secret"
users:
  - name: alice
    pin: 4711
  - name: bob
    pin: '1234'
replicas:
  - endpoint: https://replica-0.internal
  - endpoint: https://replica-1.internal
tls:
  cert: cert-body
  chain:
    - one
other: kept
"""
CONFIG_YAML_REDACTED = f"""\
# application settings
database:
  host: db.internal
  dsn: "{MASK}"
users:
  - name: alice
    pin: "{MASK}"
  - name: bob
    pin: "{MASK}"
replicas:
  - endpoint: "{MASK}"
  - endpoint: https://replica-1.internal
tls: "{MASK}"
other: kept
"""
CONFIG = {"database": {"host": "db.internal", "dsn": "secret-dsn"}, "users": [{"name": "alice", "pin": 4711}],
          "replicas": [{"endpoint": "https://replica-0.internal"}], "tls": {"cert": "body"}, "other": "kept"}
LOG = "BEGIN-CREDENTIALS\nuser=alice pin=4711\nuser=bob pin=1234\nsession id:deadbeef started\n"


def test_custom_fixture_regex_selector_yaml_path_and_file_selector(tmp_path: Path) -> None:
    redactors = load_redactor_specs([spec("custom-redactors.yaml")])
    write(tmp_path, {
        "logs/app.log": LOG,
        "logs/nested/deep.log": LOG,            # logs/** takes it, logs/*.log does not
        "config/app.yaml": CONFIG_YAML,
        "config/app.json": json.dumps(CONFIG, indent=2),
        "config/app.ini": "session id:0badf00d\n",
        "other/app.yaml": CONFIG_YAML,          # no fileSelector takes it
        "notes.txt": "customer: ACME Corporation\n",
    })

    report = redact_tree(tmp_path, builtin=False, redactors=redactors)

    # the selector line's next line is redacted; groups concatenated, `mask` masked (twice), `drop` dropped
    assert read(tmp_path, "logs/app.log") == (f"BEGIN-CREDENTIALS\nuser={MASK} pin={MASK}\nuser=bob pin=1234\n"
                                              f"session {MASK} started\n")
    assert read(tmp_path, "logs/nested/deep.log") == LOG.replace("id:deadbeef", MASK)
    assert read(tmp_path, "config/app.ini") == f"session {MASK}\n"
    assert read(tmp_path, "config/app.yaml") == CONFIG_YAML_REDACTED
    assert yaml.safe_load(read(tmp_path, "config/app.yaml"))["tls"] == MASK
    assert json.loads(read(tmp_path, "config/app.json")) == {
        "database": {"host": "db.internal", "dsn": MASK}, "users": [{"name": "alice", "pin": MASK}],
        "replicas": [{"endpoint": MASK}], "tls": MASK, "other": "kept"}
    assert read(tmp_path, "other/app.yaml") == CONFIG_YAML
    assert read(tmp_path, "notes.txt") == f"customer: {MASK}\n"
    assert report.by_redactor == {"pins-after-marker": 1, "session-ids": 3, "config-values": 9, "unnamed-3": 1}
    assert report.by_file == {"logs/app.log": 2, "logs/nested/deep.log": 1, "config/app.ini": 1,
                              "config/app.yaml": 5, "config/app.json": 4, "notes.txt": 1}


HEADER = "apiVersion: troubleshoot.sh/v1beta2\nkind: Redactor\nmetadata: {name: t}\nspec:\n  redactors:\n"


def redactor_file(tmp_path: Path, redactors: str) -> str:
    path = tmp_path / "redactor.yaml"
    path.write_text(HEADER + redactors)
    return str(path)


def test_troubleshoot_regex_semantics_ungrouped_text_is_dropped(tmp_path: Path) -> None:
    """troubleshoot's "no leading matching group" case (single_line_test.go): text of the match outside
    any group is not kept, and every match on the line is replaced."""
    path = redactor_file(tmp_path, "    - removals: {regex: [{redactor: '(?i)Pwd *= *(?P<mask>[^\\;]+)(;)'}]}\n")
    write(tmp_path, {"b/f": "pwd = abcdef;abcdef\nx pwd=1; PWD=2;\n"})
    redact_tree(tmp_path / "b", builtin=False, redactors=load_redactor_specs([path]))
    assert read(tmp_path, "b/f") == f"{MASK};abcdef\nx {MASK}; {MASK};\n"


def test_troubleshoots_own_go_regexes_translate(tmp_path: Path) -> None:
    """Its built-in MySQL DSN regex, verbatim: `mask` four times, `[\\w\\d\\S-_]`, a named `port` kept."""
    go = r"\b(?P<mask>[^:\"\/]*){1}(:)(?P<mask>[^:\"\/]*){1}(@tcp\()(?P<mask>[^:\"\/]*){1}(?P<port>:[\d]*)?(\)\/)(?P<mask>[\w\d\S-_]+){1}\b"
    path = redactor_file(tmp_path, f"    - removals: {{regex: [{{redactor: {json.dumps(go)}}}]}}\n")
    write(tmp_path, {"b/f": "dbuser:thisisasecret@tcp(dbserver.org:3309)/blog_production\n"})
    redact_tree(tmp_path / "b", builtin=False, redactors=load_redactor_specs([path]))
    assert read(tmp_path, "b/f") == f"{MASK}:{MASK}@tcp({MASK}:3309)/{MASK}\n"


@pytest.mark.parametrize("regex, line, expected", [
    (r"(?<key>token=)(?P<mask>\w+)\z", "token=abc", f"token={MASK}"),
    (r"(\QA.B\E)(?P<mask>\d+)", "A.B12 AxB34", f"A.B{MASK} AxB34"),
    (r"(x)(?P<drop>-)(?P<mask>[a-z]+)", "x-abc", f"x{MASK}"),
])
def test_go_syntax_python_lacks(tmp_path: Path, regex: str, line: str, expected: str) -> None:
    path = redactor_file(tmp_path, f"    - removals: {{regex: [{{redactor: {json.dumps(regex)}}}]}}\n")
    write(tmp_path, {"b/f": line + "\n"})
    redact_tree(tmp_path / "b", builtin=False, redactors=load_redactor_specs([path]))
    assert read(tmp_path, "b/f") == expected + "\n"


@pytest.mark.parametrize("glob, selected, not_selected", [
    ("/my/test/path/*", "/my/test/path/two", "/my/test/path/two/three"),   # troubleshoot's Test_redactMatchesPath
    ("/my/test/**", "/my/test/path/two", "/my/other"),
    ("logs/?.log", "logs/a.log", "logs/ab.log"),
    ("logs/[!a]*.log", "logs/b.log", "logs/a.log"),
    ("{a,b/c}/*.json", "b/c/x.json", "c/x.json"),
])
def test_file_globs_follow_gobwas(tmp_path: Path, glob: str, selected: str, not_selected: str) -> None:
    path = redactor_file(tmp_path, f"    - {{fileSelector: {{file: {json.dumps(glob)}}}, removals: {{values: [x]}}}}\n")
    [redactor] = load_redactor_specs([path])
    assert redactor.selects(selected) and not redactor.selects(not_selected)


def test_yaml_path_on_a_file_that_does_not_parse_is_skipped_quietly(tmp_path: Path) -> None:
    path = redactor_file(tmp_path, "    - removals: {yamlPath: [a.b]}\n")
    text = "a: [unclosed\n  b: 1\n"
    write(tmp_path, {"b/broken.yaml": text, "b/log.txt": "plain words\n"})
    report = redact_tree(tmp_path / "b", builtin=False, redactors=load_redactor_specs([path]))
    assert read(tmp_path, "b/broken.yaml") == text and report.count == 0


def test_yaml_path_applies_to_every_document(tmp_path: Path) -> None:
    path = redactor_file(tmp_path, "    - removals: {yamlPath: ['*.password']}\n")
    write(tmp_path, {"b/multi.yaml": "a:\n  password: one\n---\nb:\n  password: two\n  user: u\n"})
    redact_tree(tmp_path / "b", builtin=False, redactors=load_redactor_specs([path]))
    assert read(tmp_path, "b/multi.yaml") == f'a:\n  password: "{MASK}"\n---\nb:\n  password: "{MASK}"\n  user: u\n'


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("kind: [unclosed", "not valid YAML"),
    ("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec: {collectors: []}\n",
     "no Redactor spec (expected apiVersion troubleshoot.sh/v1beta2, kind Redactor, plain or in a "
     "ConfigMap/Secret); found kind SupportBundle"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "no Redactor spec"),
    (HEADER + "    - name: bad\n      removals: {regex: [{redactor: '(?P<mask>[a-z'}]}\n",
     "spec.redactors[0].removals.regex[0].redactor: invalid regex '(?P<mask>[a-z': unterminated character set"),
    (HEADER + "    - removals: {values: ['']}\n", "removals.values[0]: entries must be non-empty"),
    (HEADER + "    - fileSelector: {file: 'a/{b'}\n", "invalid file glob 'a/{b'"),
    (HEADER.replace("  redactors:\n", "  redactors: {name: x}\n"), "spec.redactors: must be a list"),
])
def test_a_bad_spec_is_a_one_line_error_naming_the_file(tmp_path: Path, content: str | None,
                                                         message: str) -> None:
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RedactorSpecError) as caught:
        load_redactor_specs([spec("e2e.yaml"), str(path)])
    text = str(caught.value)
    assert text.startswith(f"{path}:") and message in text and "\n" not in text
