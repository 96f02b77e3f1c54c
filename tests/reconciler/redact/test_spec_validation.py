"""Every field of a Redactor spec is checked when the spec is loaded, and a problem is placed at
FILE:LINE:COL: found by `make stress` (stress/fuzz.py), where a non-string `fileSelector.file` or a glob
that became an invalid regex raised inside the run (a transient failure, retried in vain)."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest

from reconciler.redact import RedactorSpecError, load_redactor_specs
from reconciler.redact.spec import redactor_spec_problems

HEADER = "apiVersion: troubleshoot.sh/v1beta2\nkind: Redactor\nmetadata: {name: t}\nspec:\n  redactors:\n"


def spec_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "redactor.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("redactor, where, message", [
    # the two fuzz cases of 2026-12-06
    ("    - fileSelector: {file: [e-1]}\n", "6:28: spec.redactors[0].fileSelector.file",
     "must be a string, got a list"),
    ("    - fileSelector: {file: 'logs/[e-1].log'}\n", "6:28: spec.redactors[0].fileSelector.file",
     "invalid file glob 'logs/[e-1].log': bad character range e-1"),
    # and every other field that was turned into a string or used as it came
    ("    - fileSelector: {files: [3]}\n", "6:30: spec.redactors[0].fileSelector.files[0]", "must be a string, got 3"),
    ("    - fileSelector: {files: ['a/[z-a]']}\n", "6:30: spec.redactors[0].fileSelector.files[0]",
     "invalid file glob 'a/[z-a]': bad character range z-a"),
    ("    - fileSelector: {files: logs/*}\n", "6:29: spec.redactors[0].fileSelector.files", "must be a list"),
    ("    - fileSelector: logs/*\n", "6:21: spec.redactors[0].fileSelector", "must be a mapping"),
    ("    - name: [a]\n", "6:13: spec.redactors[0].name", "must be a string, got a list"),
    ("    - removals: {yamlPath: [[a, b]]}\n", "6:29: spec.redactors[0].removals.yamlPath[0]",
     "must be a string, got a list"),
    ("    - removals: {yamlPath: ['']}\n", "6:29: spec.redactors[0].removals.yamlPath[0]", "must not be empty"),
    ("    - removals: {values: [{a: 1}]}\n", "6:27: spec.redactors[0].removals.values[0]",
     "must be a string, got a mapping"),
    ("    - removals: {regex: [{redactor: x, selector: [a]}]}\n",
     "6:50: spec.redactors[0].removals.regex[0].selector", "must be a string, got a list"),
    ("    - removals: {regex: [{selector: x}]}\n", "6:26: spec.redactors[0].removals.regex[0]",
     "`redactor` (a regex) is required"),
    ("    - removals: {regex: [{redactor: '(?P<mask>[a-z'}]}\n", "6:37: spec.redactors[0].removals.regex[0].redactor",
     "invalid regex '(?P<mask>[a-z': unterminated character set"),
    # a misspelt key would silently select every file, or remove nothing
    ("    - fileselector: {file: 'a/*'}\n      removals: {values: [x]}\n", "6:7: spec.redactors[0].fileselector",
     "unknown key 'fileselector' (did you mean 'fileSelector'?)"),
    ("    - removals: {regexes: [{redactor: x}]}\n", "6:18: spec.redactors[0].removals.regexes",
     "unknown key 'regexes' (did you mean 'regex'?)"),
    ("    - removals: {regex: [{redactor: x, selectr: y}]}\n", "6:40: spec.redactors[0].removals.regex[0].selectr",
     "unknown key 'selectr' (did you mean 'selector'?)"),
])
def test_a_bad_field_is_refused_at_load_and_placed(tmp_path: Path, redactor: str, where: str, message: str) -> None:
    path = spec_file(tmp_path, HEADER + redactor)
    with pytest.raises(RedactorSpecError) as caught:
        load_redactor_specs([path])
    assert str(caught.value) == f"{path}:{where}: {message}"
    assert redactor_spec_problems(path)[0].startswith(f"{path}:{where}: {message}")


def test_every_problem_is_listed_and_the_load_error_counts_the_rest(tmp_path: Path) -> None:
    path = spec_file(tmp_path, HEADER + "    - fileSelector: {file: 1}\n    - name: [x]\n      removals: {values: [true]}\n")
    problems = redactor_spec_problems(path)
    assert [p.split(": ")[1] for p in problems] == [
        "spec.redactors[0].fileSelector.file", "spec.redactors[1].name", "spec.redactors[1].removals.values[0]"]
    with pytest.raises(RedactorSpecError, match=r"\(and 2 more problems\)$"):
        load_redactor_specs([path])


def test_a_problem_inside_a_configmap_is_placed_in_the_file(tmp_path: Path) -> None:
    inner = HEADER + "    - fileSelector: {file: 'x/[e-1]'}\n"
    body = "".join(f"    {line}\n" for line in inner.splitlines())
    path = spec_file(tmp_path, f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: w}}\ndata:\n  redactor-spec: |\n{body}")
    assert redactor_spec_problems(path) == [
        f"{path}:11:32: spec.redactors[0].fileSelector.file: invalid file glob 'x/[e-1]': bad character range e-1"]


def test_a_problem_inside_base64_secret_data_is_placed_at_the_value(tmp_path: Path) -> None:
    inner = base64.b64encode((HEADER + "    - name: [x]\n").encode()).decode()
    path = spec_file(tmp_path, f"apiVersion: v1\nkind: Secret\nmetadata: {{name: w}}\ndata:\n  redactor-spec: {inner}\n")
    assert redactor_spec_problems(path) == [f"{path}:5:18: spec.redactors[0].name: must be a string, got a list"]


def test_a_good_spec_has_no_problems(tmp_path: Path) -> None:
    path = spec_file(tmp_path, HEADER + "    - name: ok\n      fileSelector: {file: 'logs/*', files: ['a/**']}\n"
                     "      removals: {values: [x, 4711], regex: [{redactor: '(a)(?P<mask>b)', selector: c}],"
                     " yamlPath: [a.b]}\n")
    assert redactor_spec_problems(path) == []
    assert [r.name for r in load_redactor_specs([path])] == ["ok"]
