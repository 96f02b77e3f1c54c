"""Loading analyzers from specs (kinds, wrappers, inline lists, errors) and `validate`'s `when` diagnostics."""
from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest

from reconciler.analyze import AnalyzerSpec, load_analyzers, when_diagnostics
from reconciler.troubleshoot.reader import SpecError
from reconciler.base.errors import SbschedError

from .conftest import SPECS


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def test_the_fixture_specs_load_with_their_kinds_in_order():
    specs = load_analyzers([str(SPECS / "e2e.yaml"), str(SPECS / "sample-supportbundle.yaml")])
    assert [s.kind for s in specs] == [
        "clusterVersion", "distribution", "textAnalyze", "textAnalyze", "nodeResources", "nodeResources",
        "nodeResources", "nodeResources", "nodeResources",
        # sample-supportbundle.yaml; its clusterVersion differs from e2e's, its `Said hi!` textAnalyze is e2e's
        "clusterVersion", "customResourceDefinition", "containerRuntime", "storageClass", "nodeResources",
        "nodeResources", "nodeResources", "ingress", "deploymentStatus"]
    assert all(not s.host for s in specs)
    assert specs[0].source.endswith("e2e.yaml") and specs[0].index == 0


def test_every_kind_of_spec_and_wrapper(tmp_path):
    secret_body = base64.b64encode(b"apiVersion: troubleshoot.sh/v1beta2\nkind: Preflight\nspec:\n"
                                   b"  analyzers:\n    - distribution: {outcomes: []}\n").decode()
    path = write(tmp_path, f"""
        apiVersion: troubleshoot.sh/v1beta2
        kind: Analyzer
        spec:
          analyzers: [{{clusterVersion: {{outcomes: []}}}}]
          hostAnalyzers: [{{cpu: {{outcomes: []}}}}]
        ---
        apiVersion: troubleshoot.sh/v1beta2
        kind: HostPreflight
        spec:
          analyzers: [{{memory: {{outcomes: []}}}}]
        ---
        apiVersion: v1
        kind: ConfigMap
        data:
          spec: |
            apiVersion: troubleshoot.sh/v1beta2
            kind: SupportBundle
            spec:
              analyzers: [{{nodeResources: {{outcomes: []}}}}]
        ---
        apiVersion: v1
        kind: Secret
        data:
          preflight: {secret_body}
        ---
        apiVersion: troubleshoot.sh/v1beta2
        kind: Collector
        spec:
          analyzers: [{{ingress: {{}}}}]
        """)
    specs = load_analyzers([path], inline=[{"event": {"reason": "OOMKilled"}}], inline_host=[{"time": {}}])
    assert [(s.kind, s.host, s.source == path) for s in specs] == [
        ("clusterVersion", False, True), ("nodeResources", False, True), ("distribution", False, True),
        ("event", False, False), ("cpu", True, True), ("memory", True, True), ("time", True, False)]


def test_identical_cluster_analyzers_run_once(tmp_path):
    spec = str(SPECS / "sample-analyzers.yaml")
    assert len(load_analyzers([spec, spec])) == 1


def test_a_malformed_entry_is_kept_and_named(tmp_path):
    path = write(tmp_path, """
        apiVersion: troubleshoot.sh/v1beta2
        kind: SupportBundle
        spec:
          analyzers: ["clusterVersion", {mysql: {collectorName: db}}]
        """)
    assert load_analyzers([path]) == [AnalyzerSpec("<malformed>", {}, False, path, 0),
                                      AnalyzerSpec("mysql", {"collectorName": "db"}, False, path, 1)]


@pytest.mark.parametrize("content, message", [
    (None, "spec file not found: "),
    ("kind: [", "is not valid YAML"),
    ("apiVersion: v1\nkind: Pod\n", "holds no SupportBundle, Analyzer, Preflight or HostPreflight "
                                   "(found no troubleshoot document)"),
    ("apiVersion: troubleshoot.sh/v1beta2\nkind: Redactor\n", "(found Redactor)"),
    (b"\xff\xfe", "is not UTF-8 text"),
])
def test_unusable_specs_are_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "spec.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SpecError) as caught:
        load_analyzers([str(path)])
    assert isinstance(caught.value, SbschedError) and caught.value.exit_code == 2
    assert message in caught.value.message and str(path) in caught.value.message
    assert "\n" not in caught.value.message


BAD_WHENS = """\
apiVersion: troubleshoot.sh/v1beta2
kind: SupportBundle
spec:
  analyzers:
    - clusterVersion:
        outcomes:
          - fail:
              when: "< 1.20"
          - pass:
              when: ">= 1.20.0"
    - nodeResources:
        outcomes:
          - fail:
              when: "sum(memoryCapacity) < 2GB"
          - warn:
              when: "count() between 3"
          - pass:
              message: fine
    - deploymentStatus:
        name: api
        outcomes:
          - fail: {when: "< one"}
          - warn: {when: "absent"}
    - textAnalyze:
        regexGroups: '(?P<Replicas>\\d+)'
        outcomes:
          - fail:
              when: "Replicas ~ 5"
    - textAnalyze:
        regex: hi
        outcomes:
          - pass: {when: "yes"}
    - distribution:
        outcomes:
          - pass: {when: "== k8s-the-hard-way"}
    - event:
        reason: OOMKilled
        outcomes:
          - fail: {message: no when}
    - weaveReport:
        outcomes:
          - fail: {when: "anything"}
  hostAnalyzers:
    - memory:
        outcomes:
          - fail: {when: "< 8 Gi"}
    - tcpPortStatus:
        outcomes:
          - fail: {when: "connection-refused"}
          - warn: {when: "refused"}
    - http:
        outcomes:
          - fail: {when: "status == 500"}
"""


def test_bad_whens_are_reported_with_file_line_and_column(tmp_path):
    path = write(tmp_path, BAD_WHENS)
    assert when_diagnostics(path) == [
        f"{path}:8:21: analyzers[0].clusterVersion.outcomes[0].fail.when: failed to parse semver range: "
        "Could not parse version '1.20' in '<1.20': No Major.Minor.Patch elements found",
        f"{path}:14:21: analyzers[1].nodeResources.outcomes[0].fail.when: quantities must match the regular "
        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': '2GB'",
        f"{path}:16:21: analyzers[1].nodeResources.outcomes[1].warn.when: unexpected conditional in nodeResources",
        f"{path}:22:26: analyzers[2].deploymentStatus.outcomes[0].fail.when: failed to parse when value: "
        'strconv.Atoi: parsing "one": invalid syntax',
        f"{path}:28:21: analyzers[3].textAnalyze.outcomes[0].fail.when: operator '~' never matches; "
        "use one of = == === < > <= >=",
        f"{path}:32:26: analyzers[4].textAnalyze.outcomes[0].pass.when: "
        'strconv.ParseBool: parsing "yes": invalid syntax',
        f"{path}:35:26: analyzers[5].distribution.outcomes[0].pass.when: unknown distribution 'k8s-the-hard-way'",
        # no `when` at all: placed at the outcome
        f"{path}:39:19: analyzers[6].event.outcomes[0].fail.when: "
        'strconv.ParseBool: parsing "": invalid syntax',
        # analyzers sbsched skips (weaveReport) are not checked
        f"{path}:46:26: hostAnalyzers[0].memory.outcomes[0].fail.when: Expected 2 parts in conditional, got 3",
        f"{path}:50:26: hostAnalyzers[1].tcpPortStatus.outcomes[1].warn.when: never matches: tcpPortStatus "
        "records one of connected, connection-refused, connection-timeout, address-in-use, error, "
        "bind-permission-denied, invalid-address",
        f"{path}:53:26: hostAnalyzers[2].http.outcomes[0].fail.when: unknown parameter 'status': "
        "only statusCode is defined",
    ]


def test_the_fixture_specs_have_no_bad_when():
    for spec in SPECS.glob("*.yaml"):
        assert when_diagnostics(str(spec)) == [], spec


def test_whens_inside_a_wrapping_configmap_are_placed_in_the_file(tmp_path):
    path = write(tmp_path, """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: preflight}
        data:
          spec.yaml: |
            apiVersion: troubleshoot.sh/v1beta2
            kind: Preflight
            spec:
              analyzers:
                - clusterVersion:
                    outcomes:
                      - fail:
                          when: "<= 1.x.2"
        """)
    assert when_diagnostics(path) == [
        f"{path}:13:25: analyzers[0].clusterVersion.outcomes[0].fail.when: failed to parse semver range: "
        "Could not parse version '1.x.2' in '<=1.x.2'"]


def test_a_file_that_is_not_yaml_has_no_when_diagnostics_and_a_missing_one_is_an_error(tmp_path):
    assert when_diagnostics(write(tmp_path, "kind: [")) == []
    with pytest.raises(SpecError, match="spec file not found"):
        when_diagnostics(str(tmp_path / "missing.yaml"))
